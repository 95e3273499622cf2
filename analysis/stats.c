// stats.c: least-squares line and Pareto front (stats.h).
#include "stats.h"

#include <math.h>

int ll_fit_line(const double *x, const double *y, size_t n, ll_line_fit *fit) {
    // Two passes (means first) to keep the sums well conditioned.
    double sx = 0, sy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            sx += x[i];
            sy += y[i];
            m++;
        }
    fit->n = m;
    fit->slope = fit->intercept = fit->r2 = NAN;
    if (m < 2) return -1;
    double mx = sx / m, my = sy / m, sxx = 0, sxy = 0, syy = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && isfinite(y[i])) {
            double dx = x[i] - mx, dy = y[i] - my;
            sxx += dx * dx;
            sxy += dx * dy;
            syy += dy * dy;
        }
    if (!(sxx > 0)) return -1;
    fit->slope = sxy / sxx;
    fit->intercept = my - fit->slope * mx;
    if (syy > 0) {
        double ss_res = 0;
        for (size_t i = 0; i < n; i++)
            if (isfinite(x[i]) && isfinite(y[i])) {
                double r = y[i] - (fit->intercept + fit->slope * x[i]);
                ss_res += r * r;
            }
        fit->r2 = 1.0 - ss_res / syy;
    }
    return 0;
}

size_t ll_pareto_front(const double *gain, const double *cost, size_t n, int *on_front) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        on_front[i] = isfinite(gain[i]) && isfinite(cost[i]);
        for (size_t j = 0; j < n && on_front[i]; j++) {
            if (j == i || !isfinite(gain[j]) || !isfinite(cost[j])) continue;
            if (gain[j] >= gain[i] && cost[j] <= cost[i] && (gain[j] > gain[i] || cost[j] < cost[i])) on_front[i] = 0;
        }
        count += (size_t)on_front[i];
    }
    return count;
}
