// calib_curves.c: constant thresholds per layer (calibrate.h,
// ll_calib_curves). With the thresholds sorted, a tile's first negligible
// step is a non-increasing staircase over the levels: it steps down at the
// record lows of its history (the runs whose level is below every earlier
// one). Each record adds the tile to a difference array over levels at its
// start step; a prefix sum over levels then gives, per row, the mark-step
// histogram of every level at once.
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"

void ll_calib_curves_free(ll_calib_curves *c) {
    if (!c) return;
    free(c->skipped);
    free(c->err);
    free(c->err_sum);
    memset(c, 0, sizeof *c);
}

// One row: difference arrays over levels, prefix over levels, then per level
// the per-step totals (as in ll_calib_evaluate).
static void row_curves(const ll_calib_table *t, size_t row, const float *lut, int32_t *dc, double *dd,
                       double *sk_acc, double *em_acc, double *es_acc) {
    int T = t->steps, G = t->grid.n;
    memset(dc, 0, sizeof(int32_t) * G * T);
    memset(dd, 0, sizeof(double) * G * T);
    const uint32_t *cc = t->const_count + row * G;
    const float *cb = t->const_bound + row * G;
    for (int v = 0; v < G; v++) {  // a constant level v: marked at step 0 for every g >= v
        dc[v * T] += (int32_t)cc[v];
        dd[v * T] += cb[v];
    }
    const uint8_t *p = t->runs + t->row_off[row];
    for (uint32_t i = 0; i < t->row_multi[row]; i++) {
        int n = p[0], low = G;
        const uint8_t *r = p + 1;
        for (int k = 0; k < n && r[0] < T - 1; k++, r += 3) {
            if (r[1] >= low) continue;
            // levels r[1] .. low-1 first become negligible at this run's start
            float b = lut[r[2]];
            dc[r[1] * T + r[0]]++;
            dd[r[1] * T + r[0]] += b;
            if (low < G) {
                dc[low * T + r[0]]--;
                dd[low * T + r[0]] -= b;
            }
            low = r[1];
        }
        p += 1 + 3 * n;
    }
    int qt = (int)(row % t->q_tiles);
    double fl = 4.0 * ll_q_tile_rows(&t->shape, &t->tiling, qt) * (double)t->tiling.block_n * t->shape.D;
    for (int g = 0; g < G; g++) {
        int32_t *c = dc + (size_t)g * T;
        double *d = dd + (size_t)g * T;
        if (g > 0)
            for (int s = 0; s < T; s++) {
                c[s] += c[s - T];
                d[s] += d[s - T];
            }
        double skipped = 0, e = 0;
        size_t o = (size_t)(g + 1) * T;
        for (int s = 1; s < T; s++) {
            skipped += c[s - 1];
            e += d[s - 1];
            sk_acc[o + s] += skipped * fl;
            if (e > em_acc[o + s]) em_acc[o + s] = e;
            es_acc[o + s] += e;
        }
    }
}

ll_status ll_calib_curves_build(const ll_calib_table *t, ll_calib_curves *out, ll_error *err) {
    memset(out, 0, sizeof *out);
    double t0 = ll_now_seconds();
    int T = t->steps, L = t->layers, G = t->grid.n;
    size_t per_layer = (size_t)(G + 1) * T, cells = per_layer * L;
    size_t rows_per_layer = (size_t)t->B * t->H * t->q_tiles;
    int n_threads = omp_get_max_threads();
    out->steps = T;
    out->layers = L;
    out->G = G;
    out->dense_layer = t->dense_flops_step / L;
    out->rows_per_layer = (double)rows_per_layer;
    out->skipped = calloc(cells, sizeof(double));
    out->err = calloc(cells, sizeof(double));
    out->err_sum = calloc(cells, sizeof(double));
    double *acc = calloc((size_t)n_threads * cells * 3, sizeof(double));
    if (!out->skipped || !out->err || !out->err_sum || !acc) {
        free(acc);
        ll_calib_curves_free(out);
        return ll_fail(err, LL_ERR_NOMEM, "curves: out of memory");
    }
    float lut[256];
    for (int i = 0; i < 256; i++) lut[i] = ll_calib_bound_value((uint8_t)i);
#pragma omp parallel
    {
        double *a = acc + (size_t)omp_get_thread_num() * cells * 3;
        int32_t *dc = malloc(sizeof(int32_t) * G * T);
        double *dd = malloc(sizeof(double) * G * T);
#pragma omp for schedule(dynamic, 16)
        for (size_t row = 0; row < t->n_rows; row++) {
            size_t l = row / rows_per_layer;
            row_curves(t, row, lut, dc, dd, a + l * per_layer, a + cells + l * per_layer,
                       a + 2 * cells + l * per_layer);
        }
        free(dc);
        free(dd);
    }
    for (int th = 0; th < n_threads; th++) {
        const double *a = acc + (size_t)th * cells * 3;
        for (size_t i = 0; i < cells; i++) {
            out->skipped[i] += a[i];
            if (a[cells + i] > out->err[i]) out->err[i] = a[cells + i];
            out->err_sum[i] += a[2 * cells + i];
        }
    }
    free(acc);
    out->build_seconds = ll_now_seconds() - t0;
    return LL_OK;
}

ll_status ll_calib_curves_combine(const ll_calib_curves *c, const int *levels, ll_calib_result *out, ll_error *err) {
    for (int l = 0; l < c->layers; l++)
        if (levels[l] < -1 || levels[l] >= c->G)
            return ll_fail(err, LL_ERR_INVALID, "curves: level %d of layer %d outside -1..%d", levels[l], l, c->G - 1);
    LL_TRY(ll_calib_result_alloc(out, c->steps, c->layers, err));
    int T = c->steps, L = c->layers;
    double total = 0;
    for (int s = 0; s < T; s++) {
        double sk = 0, em = 0, es = 0;
        for (int l = 0; l < L; l++) {
            size_t i = ((size_t)l * (c->G + 1) + (levels[l] + 1)) * T + s;
            out->layer_step_skipped[(size_t)l * T + s] = c->skipped[i] / c->dense_layer;
            out->layer_step_err[(size_t)l * T + s] = c->err[i];
            sk += c->skipped[i];
            if (c->err[i] > em) em = c->err[i];
            es += c->err_sum[i];
        }
        out->step_skipped[s] = sk / (c->dense_layer * L);
        out->step_err[s] = em;
        out->step_err_mean[s] = es / (c->rows_per_layer * L);
        total += sk;
        if (em > out->err_max) out->err_max = em;
        out->err_acc += em;
    }
    out->skipped_ratio = total / (c->dense_layer * L * T);
    return LL_OK;
}
