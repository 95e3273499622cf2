// stats.h: the small statistics the report needs: an ordinary least-squares
// line and the Pareto front of (speedup, error) points.
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t n;          // points used (non-finite pairs are skipped)
    double slope, intercept;
    double r2;         // coefficient of determination; NAN when y has no variance
} ll_line_fit;

// y = intercept + slope * x over the finite pairs. Returns 0 on success, -1
// when fewer than two usable points or x has no spread (fit->n still set).
int ll_fit_line(const double *x, const double *y, size_t n, ll_line_fit *fit);

// Points better in both: larger `gain` (speedup) and smaller `cost` (error).
// on_front[i] = 1 when no other point has gain >= and cost <= with one of
// them strict; non-finite points are never on the front. Returns the count.
size_t ll_pareto_front(const double *gain, const double *cost, size_t n, int *on_front);

#ifdef __cplusplus
}
#endif
