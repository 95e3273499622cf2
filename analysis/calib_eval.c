// calib_eval.c: what schedules do over a trajectory (calibrate.h).
//   ll_calib_evaluate: many schedules at once over the screening table
//       (bound error flavour). Per schedule and layer a table
//       next[v][t] = the first step >= t whose level is >= v turns each run
//       of a tile's history into one lookup: the run (start, end, level)
//       marks the tile at next[level][start] if that is < end. Rows are
//       processed in blocks that stay in cache while every schedule walks them.
//       From 8 schedules on, they go 32 at a time: the tables are interleaved
//       ([level][step][schedule]) so that one run of a tile is checked for 32
//       schedules with a few vector instructions (AVX2 where the CPU has it).
//   ll_calib_simulate: one schedule over the float maps, step by step, with
//       the exact per-step masses (exact error flavour): the reference the
//       table is tested against.
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"

// FLOPs of one markable tile of query tile qt (only the last key tile is
// partial, and it is never marked).
static inline double tile_flops(const ll_shape *s, const ll_tiling *t, int qt) {
    return 4.0 * ll_q_tile_rows(s, t, qt) * (double)t->block_n * s->D;
}

static ll_status check_schedule(const ll_calib_table *t, const ll_calib_schedule *s, int idx, ll_error *err) {
    if (!s->levels || s->steps != t->steps || s->layers != t->layers)
        return ll_fail(err, LL_ERR_INVALID, "schedule %d: %d steps x %d layers, the maps have %d x %d", idx, s->steps,
                       s->layers, t->steps, t->layers);
    for (int i = 0; i < s->steps * s->layers; i++)
        if (s->levels[i] < -1 || s->levels[i] >= t->grid.n)
            return ll_fail(err, LL_ERR_INVALID, "schedule %d: level %d at step %d layer %d outside -1..%d", idx,
                           s->levels[i], i % s->steps, i / s->steps, t->grid.n - 1);
    return LL_OK;
}

// next[v][t] for one layer of one schedule; marks at the last step change
// nothing, so the "never" value is steps - 1.
static void build_next(const int8_t *levels, int T, int G, uint8_t *next) {
    for (int v = 0; v <= G; v++) {
        uint8_t nx = (uint8_t)(T - 1);
        for (int s = T - 1; s >= 0; s--) {
            if (s < T - 1 && v < G && levels[s] >= v) nx = (uint8_t)s;
            next[v * T + s] = nx;
        }
    }
}

typedef struct {
    double *skipped;  // [L][T] skipped FLOPs
    double *err_max;  // [L][T]
    double *err_sum;  // [L][T]
} accum;

// One row under one schedule: the mark-step histogram (cnt: tiles, delta:
// their mass bounds, index steps-1 collecting the tiles never marked).
static void row_marks(const ll_calib_table *t, size_t row, const uint8_t *next, const float *lut, uint32_t *cnt,
                      double *delta) {
    int T = t->steps, G = t->grid.n;
    memset(cnt, 0, sizeof(uint32_t) * T);
    memset(delta, 0, sizeof(double) * T);
    const uint32_t *cc = t->const_count + row * G;
    const float *cb = t->const_bound + row * G;
    for (int v = 0; v < G; v++) {
        if (!cc[v]) continue;
        int f = next[v * T];
        cnt[f] += cc[v];
        delta[f] += cb[v];
    }
    const uint8_t *p = t->runs + t->row_off[row];
    for (uint32_t i = 0; i < t->row_multi[row]; i++) {
        int n = p[0];
        const uint8_t *r = p + 1;
        for (int k = 0; k < n; k++, r += 3) {
            int end = k + 1 < n ? r[3] : T;
            int f = next[r[1] * T + r[0]];
            if (f < end) {
                cnt[f]++;
                delta[f] += lut[r[2]];
                break;
            }
        }
        p += 1 + 3 * n;
    }
}

// The same for a group of 32 schedules: next is [G+1][T][32], cnt and delta
// [32][T]. The loops over the group have no branches, so they vectorise.
#define GROUP 32
__attribute__((target_clones("avx2", "default"))) static void row_marks_group(const ll_calib_table *t, size_t row,
                                                                               const uint8_t *next, const float *lut,
                                                                               uint32_t *cnt, double *delta) {
    int T = t->steps, G = t->grid.n;
    memset(cnt, 0, sizeof(uint32_t) * T * GROUP);
    memset(delta, 0, sizeof(double) * T * GROUP);
    const uint32_t *cc = t->const_count + row * G;
    const float *cb = t->const_bound + row * G;
    for (int v = 0; v < G; v++) {
        if (!cc[v]) continue;
        const uint8_t *f = next + (size_t)v * T * GROUP;
        for (int c = 0; c < GROUP; c++) {
            cnt[c * T + f[c]] += cc[v];
            delta[c * T + f[c]] += cb[v];
        }
    }
    uint8_t f[GROUP], code[GROUP], done[GROUP];
    const uint8_t *p = t->runs + t->row_off[row];
    for (uint32_t i = 0; i < t->row_multi[row]; i++) {
        int n = p[0];
        const uint8_t *r = p + 1;
        for (int c = 0; c < GROUP; c++) {
            f[c] = (uint8_t)(T - 1);
            code[c] = 0;
            done[c] = 0;
        }
        for (int k = 0; k < n; k++, r += 3) {
            uint8_t end = (uint8_t)(k + 1 < n ? r[3] : T), rc = r[2];
            const uint8_t *cand = next + ((size_t)r[1] * T + r[0]) * GROUP;
            for (int c = 0; c < GROUP; c++) {
                uint8_t hit = (uint8_t)((cand[c] < end ? 0xff : 0) & ~done[c]);
                f[c] = (uint8_t)((f[c] & ~hit) | (cand[c] & hit));
                code[c] = (uint8_t)((code[c] & ~hit) | (rc & hit));
                done[c] |= hit;
            }
            uint64_t w[GROUP / 8];
            memcpy(w, done, sizeof w);
            uint64_t all = ~0ull;
            for (int q = 0; q < GROUP / 8; q++) all &= w[q];
            if (all == ~0ull) break;  // marked under every schedule of the group
        }
        for (int c = 0; c < GROUP; c++) {  // unmarked: f = steps-1, a bin no step reads
            cnt[c * T + f[c]]++;
            delta[c * T + f[c]] += lut[code[c]];
        }
        p += 1 + 3 * n;
    }
}

// Adds one row's per-step totals to a schedule's accumulators.
static void row_totals(const ll_calib_table *t, size_t row, const uint32_t *cnt, const double *delta, accum *a) {
    int T = t->steps;
    int layer = (int)(row / ((size_t)t->B * t->H * t->q_tiles));
    int qt = (int)(row % t->q_tiles);
    double fl = tile_flops(&t->shape, &t->tiling, qt);
    double skipped = 0, e = 0;
    double *sk = a->skipped + (size_t)layer * T, *em = a->err_max + (size_t)layer * T,
           *es = a->err_sum + (size_t)layer * T;
    for (int s = 1; s < T; s++) {
        skipped += cnt[s - 1];
        e += delta[s - 1];
        sk[s] += skipped * fl;
        if (e > em[s]) em[s] = e;
        es[s] += e;
    }
}

static void finish_result(const ll_calib_table *t, const double *sk, const double *em, const double *es,
                          ll_calib_result *r) {
    int T = t->steps, L = t->layers;
    double dense_layer = t->dense_flops_step / L;
    double rows_per_layer = (double)t->B * t->H * t->q_tiles;
    double total = 0;
    r->err_max = r->err_acc = 0;
    for (int s = 0; s < T; s++) {
        double step_sk = 0, step_em = 0, step_es = 0;
        for (int l = 0; l < L; l++) {
            size_t i = (size_t)l * T + s;
            r->layer_step_skipped[i] = sk[i] / dense_layer;
            r->layer_step_err[i] = em[i];
            step_sk += sk[i];
            if (em[i] > step_em) step_em = em[i];
            step_es += es[i];
        }
        r->step_skipped[s] = step_sk / t->dense_flops_step;
        r->step_err[s] = step_em;
        r->step_err_mean[s] = step_es / (rows_per_layer * L);
        total += step_sk;
        if (step_em > r->err_max) r->err_max = step_em;
        r->err_acc += step_em;
    }
    r->skipped_ratio = total / (t->dense_flops_step * T);
}

ll_status ll_calib_evaluate(const ll_calib_table *t, const ll_calib_schedule *schedules, int n,
                            ll_calib_result *results, ll_error *err) {
    if (n < 1) return ll_fail(err, LL_ERR_INVALID, "evaluate: no schedule given");
    for (int c = 0; c < n; c++) LL_TRY(check_schedule(t, &schedules[c], c, err));
    int T = t->steps, L = t->layers, G = t->grid.n;
    size_t per_next = (size_t)(G + 1) * T, cells = (size_t)L * T;
    uint8_t *next = malloc(per_next * L * n);
    int n_threads = omp_get_max_threads();
    double *acc = calloc((size_t)n_threads * n * cells * 3, sizeof(double));
    if (!next || !acc) {
        free(next);
        free(acc);
        return ll_fail(err, LL_ERR_NOMEM, "evaluate: out of memory for %d schedules", n);
    }
    for (int c = 0; c < n; c++)
        for (int l = 0; l < L; l++)
            build_next(schedules[c].levels + (size_t)l * T, T, G, next + ((size_t)c * L + l) * per_next);
    // Groups of 32 (the last padded with its first schedule) in the
    // interleaved layout, from 8 schedules on.
    int n_groups = n >= 8 ? (n + GROUP - 1) / GROUP : 0;
    uint8_t *inter = n_groups ? malloc(per_next * GROUP * L * n_groups) : NULL;
    if (n_groups && !inter) {
        free(next);
        free(acc);
        return ll_fail(err, LL_ERR_NOMEM, "evaluate: out of memory for %d schedules", n);
    }
    for (int g = 0; g < n_groups; g++)
        for (int l = 0; l < L; l++)
            for (size_t i = 0; i < per_next; i++)
                for (int k = 0; k < GROUP; k++) {
                    int c = g * GROUP + k < n ? g * GROUP + k : g * GROUP;
                    inter[(((size_t)g * L + l) * per_next + i) * GROUP + k] = next[((size_t)c * L + l) * per_next + i];
                }
    float lut[256];
    for (int i = 0; i < 256; i++) lut[i] = ll_calib_bound_value((uint8_t)i);

    // Blocks of rows small enough to stay in cache while all schedules walk them.
    const size_t block = 16;
    size_t n_blocks = (t->n_rows + block - 1) / block;
    size_t rows_per_layer = (size_t)t->B * t->H * t->q_tiles;
#pragma omp parallel
    {
        int tid = omp_get_thread_num();
        uint32_t *cnt = malloc(sizeof(uint32_t) * T * GROUP);
        double *delta = malloc(sizeof(double) * T * GROUP);
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < n_blocks; b++) {
            size_t r0 = b * block, r1 = r0 + block < t->n_rows ? r0 + block : t->n_rows;
            for (int g = 0; g < n_groups; g++) {
                for (size_t row = r0; row < r1; row++) {
                    int layer = (int)(row / rows_per_layer);
                    row_marks_group(t, row, inter + ((size_t)g * L + layer) * per_next * GROUP, lut, cnt, delta);
                    for (int k = 0; k < GROUP && g * GROUP + k < n; k++) {
                        double *base = acc + ((size_t)tid * n + g * GROUP + k) * cells * 3;
                        accum a = {base, base + cells, base + 2 * cells};
                        row_totals(t, row, cnt + (size_t)k * T, delta + (size_t)k * T, &a);
                    }
                }
            }
            for (int c = 0; c < n && !n_groups; c++) {
                double *base = acc + ((size_t)tid * n + c) * cells * 3;
                accum a = {base, base + cells, base + 2 * cells};
                for (size_t row = r0; row < r1; row++) {
                    int layer = (int)(row / rows_per_layer);
                    row_marks(t, row, next + ((size_t)c * L + layer) * per_next, lut, cnt, delta);
                    row_totals(t, row, cnt, delta, &a);
                }
            }
        }
        free(cnt);
        free(delta);
    }
    free(inter);
    ll_status st = LL_OK;
    for (int c = 0; c < n && st == LL_OK; c++) {
        double *sk = acc + (size_t)c * cells * 3, *em = sk + cells, *es = em + cells;
        for (int th = 1; th < n_threads; th++) {
            double *o = acc + ((size_t)th * n + c) * cells * 3;
            for (size_t i = 0; i < cells; i++) {
                sk[i] += o[i];
                if (o[cells + i] > em[i]) em[i] = o[cells + i];
                es[i] += o[2 * cells + i];
            }
        }
        st = ll_calib_result_alloc(&results[c], T, L, err);
        if (st == LL_OK) finish_result(t, sk, em, es, &results[c]);
    }
    free(next);
    free(acc);
    return st;
}

// ---------------------------------------------------------------------------
// Direct simulation over the float maps.

ll_status ll_calib_simulate(ll_map_source *src, const float *thresholds, ll_calib_result *out, ll_error *err) {
    memset(out, 0, sizeof *out);
    if (!src || !src->read) return ll_fail(err, LL_ERR_INVALID, "simulate: no map source");
    int T = src->steps, L = src->layers, KM = src->k_tiles - 1;
    for (int i = 0; i < T * L; i++)
        if (isnan(thresholds[i]) || thresholds[i] > 0)
            return ll_fail(err, LL_ERR_INVALID, "simulate: threshold %g at step %d layer %d must be <= 0 (or -inf)",
                           (double)thresholds[i], i % T, i / T);
    size_t rows_per_layer = (size_t)src->B * src->H * src->q_tiles;
    size_t n_tiles = rows_per_layer * L * (size_t)(KM > 0 ? KM : 0);
    uint8_t *marked = calloc(n_tiles ? n_tiles : 1, 1);
    double *sk = calloc((size_t)L * T * 3, sizeof(double));
    if (!marked || !sk) {
        free(marked);
        free(sk);
        return ll_fail(err, LL_ERR_NOMEM, "simulate: out of memory for %zu tiles", n_tiles);
    }
    double *em = sk + (size_t)L * T, *es = em + (size_t)L * T;
    ll_status st = LL_OK;
    for (int s = 0; s < T && st == LL_OK; s++) {
        for (int l = 0; l < L && st == LL_OK; l++) {
            ll_map_view v;
            if ((st = src->read(src, s, l, &v, err)) != LL_OK) break;
            if ((st = ll_map_view_check(src, s, l, &v, err)) != LL_OK) break;
            float tau = thresholds[(size_t)l * T + s];
            int can_mark = s < T - 1 && tau > -INFINITY;  // -inf marks nothing, even -inf tiles
            double skipped = 0, emax = 0, esum = 0;
#pragma omp parallel for schedule(static) reduction(+ : skipped, esum) reduction(max : emax)
            for (size_t lr = 0; lr < rows_per_layer; lr++) {
                const float *x = v.max_log2 + lr * src->k_tiles, *m = v.mass + lr * src->k_tiles;
                uint8_t *mk = marked + ((size_t)l * rows_per_layer + lr) * KM;
                double e = 0;
                long n_skipped = 0;
                for (int kt = 0; kt < KM; kt++) {
                    if (mk[kt]) {
                        e += m[kt];
                        n_skipped++;
                    } else if (can_mark && x[kt] <= tau) {
                        mk[kt] = 1;
                    }
                }
                skipped += n_skipped * tile_flops(&src->shape, &src->tiling, (int)(lr % src->q_tiles));
                if (e > emax) emax = e;
                esum += e;
            }
            size_t i = (size_t)l * T + s;
            sk[i] = skipped;
            em[i] = emax;
            es[i] = esum;
        }
    }
    if (st == LL_OK) st = ll_calib_result_alloc(out, T, L, err);
    if (st == LL_OK) {
        ll_calib_table shape_only = {0};  // finish_result needs only the dimensions
        shape_only.steps = T;
        shape_only.layers = L;
        shape_only.B = src->B;
        shape_only.H = src->H;
        shape_only.q_tiles = src->q_tiles;
        shape_only.dense_flops_step = 4.0 * src->B * src->H * (double)src->shape.N * src->shape.N * src->shape.D * L;
        finish_result(&shape_only, sk, em, es, out);
    }
    free(marked);
    free(sk);
    return st;
}
