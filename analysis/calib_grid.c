// calib_grid.c: the threshold grid, schedules, results and mass-bound codes
// of the calibration (calibrate.h).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"

ll_status ll_calib_grid_uniform(ll_calib_grid *g, float lo, float hi, float step, ll_error *err) {
    memset(g, 0, sizeof *g);
    if (!isfinite(lo) || !isfinite(hi) || !isfinite(step))
        return ll_fail(err, LL_ERR_INVALID, "threshold grid: lo, hi and step must be finite numbers");
    if (hi > 0 || lo >= hi || step <= 0)
        return ll_fail(err, LL_ERR_INVALID, "threshold grid: need lo < hi <= 0 and step > 0 (got lo=%g hi=%g step=%g)",
                       (double)lo, (double)hi, (double)step);
    double n = floor((double)(hi - lo) / step + 1e-6) + 1;
    if (n > LL_CALIB_MAX_LEVELS)
        return ll_fail(err, LL_ERR_INVALID, "threshold grid: %.0f levels from %g to %g by %g; at most %d allowed",
                       n, (double)lo, (double)hi, (double)step, LL_CALIB_MAX_LEVELS);
    g->n = (int)n;
    for (int i = 0; i < g->n; i++) g->t[i] = (float)((double)lo + (double)i * step);
    return LL_OK;
}

int ll_calib_grid_level(const ll_calib_grid *g, float x) {
    // Number of thresholds below x: binary search for the first t[i] >= x.
    int lo = 0, hi = g->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g->t[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int ll_calib_grid_floor(const ll_calib_grid *g, float tau) {
    int level = -1;
    for (int i = 0; i < g->n; i++)
        if (g->t[i] <= tau) level = i;
    return level;
}

float ll_calib_grid_threshold(const ll_calib_grid *g, int level) {
    if (level < 0) return -INFINITY;
    return g->t[level < g->n ? level : g->n - 1];
}

// Bound codes: code c stands for 2^(-c/8), written as 2^(-(c%8)/8) * 2^-(c/8)
// so that decoding is exact and cheap; c = floor(-8 log2 m), so the decoded
// value is never below m. Masses under the last code's value (and 0: a
// skipped tile always holds some positive mass) get the last code.
#define LL_BOUND_CODES 255
static const float eighth_octaves[8] = {1.0f,        0.91700404f, 0.84089642f, 0.77110541f,
                                        0.70710678f, 0.64841978f, 0.59460356f, 0.54525387f};

float ll_calib_bound_value(uint8_t code) {
    uint32_t bits = (uint32_t)(127 - (code >> 3)) << 23;  // 2^-(code/8), a normal float for every code
    float octave;
    memcpy(&octave, &bits, sizeof octave);
    return eighth_octaves[code & 7] * octave;
}

uint8_t ll_calib_bound_code(float mass) {
    if (!(mass > 0)) return LL_BOUND_CODES - 1;
    if (mass >= 1.0f) return 0;
    int e;
    float mant = frexpf(mass, &e);  // mass = mant * 2^e, mant in [0.5, 1)
    int j = 0;                      // the largest j <= 8 with mant <= 2^(-j/8)
    while (j < 7 && mant <= eighth_octaves[j + 1]) j++;
    if (j == 7 && mant <= 0.5f) j = 8;
    int c = -8 * e + j;
    if (c > LL_BOUND_CODES - 1) return LL_BOUND_CODES - 1;
    if (c < 0) c = 0;
    // Rounding in the constants: settle on exactly floor(-8 log2 m).
    while (c > 0 && ll_calib_bound_value((uint8_t)c) < mass) c--;
    while (c < LL_BOUND_CODES - 1 && ll_calib_bound_value((uint8_t)(c + 1)) >= mass) c++;
    return (uint8_t)c;
}

ll_status ll_calib_schedule_alloc(ll_calib_schedule *s, int steps, int layers, ll_error *err) {
    memset(s, 0, sizeof *s);
    if (steps < 1 || layers < 1)
        return ll_fail(err, LL_ERR_INVALID, "schedule: steps=%d layers=%d must be >= 1", steps, layers);
    s->levels = malloc((size_t)steps * layers);
    if (!s->levels) return ll_fail(err, LL_ERR_NOMEM, "schedule: out of memory");
    s->steps = steps;
    s->layers = layers;
    memset(s->levels, -1, (size_t)steps * layers);
    return LL_OK;
}

void ll_calib_schedule_free(ll_calib_schedule *s) {
    if (!s) return;
    free(s->levels);
    memset(s, 0, sizeof *s);
}

void ll_calib_schedule_constant(ll_calib_schedule *s, int level) {
    memset(s->levels, level < 0 ? -1 : level, (size_t)s->steps * s->layers);
}

ll_status ll_calib_result_alloc(ll_calib_result *r, int steps, int layers, ll_error *err) {
    memset(r, 0, sizeof *r);
    r->steps = steps;
    r->layers = layers;
    r->step_skipped = calloc((size_t)steps, sizeof(double));
    r->step_err = calloc((size_t)steps, sizeof(double));
    r->step_err_mean = calloc((size_t)steps, sizeof(double));
    r->layer_step_skipped = calloc((size_t)steps * layers, sizeof(double));
    r->layer_step_err = calloc((size_t)steps * layers, sizeof(double));
    if (!r->step_skipped || !r->step_err || !r->step_err_mean || !r->layer_step_skipped || !r->layer_step_err) {
        ll_calib_result_free(r);
        return ll_fail(err, LL_ERR_NOMEM, "calibration result: out of memory");
    }
    return LL_OK;
}

void ll_calib_result_free(ll_calib_result *r) {
    if (!r) return;
    free(r->step_skipped);
    free(r->step_err);
    free(r->step_err_mean);
    free(r->layer_step_skipped);
    free(r->layer_step_err);
    memset(r, 0, sizeof *r);
}
