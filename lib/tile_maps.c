// tile_maps.c: tile-level attention maps of a dense call (see tile_maps.h).
// Two passes over each query tile's scores, so nothing N x N is stored:
//   1. every key tile: each row's final maximum M_r and its log-sum-exp;
//   2. every key tile again: max_log2 and mass from M_r and lse_r (and the
//      full probabilities when asked).
// Scores come from the reference's fp32 score loop, so pass 2 sees the very
// scores pass 1 saw: the tile holding a row's maximum gets max_log2 exactly 0.
// Sums and exponentials are in double.
#include "tile_maps.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"

ll_status ll_tile_map_alloc(ll_tile_map *m, int B, int H, int q_tiles, int k_tiles, ll_error *err) {
    memset(m, 0, sizeof *m);
    if (B < 1 || H < 1 || q_tiles < 1 || k_tiles < 1)
        return ll_fail(err, LL_ERR_INVALID, "tile map: dimensions B=%d H=%d q_tiles=%d k_tiles=%d must all be >= 1",
                       B, H, q_tiles, k_tiles);
    size_t n = (size_t)B * H * q_tiles * k_tiles;
    m->max_log2 = malloc(sizeof(float) * n);
    m->mass = malloc(sizeof(float) * n);
    if (!m->max_log2 || !m->mass) {
        ll_tile_map_free(m);
        return ll_fail(err, LL_ERR_NOMEM, "tile map: out of memory for %zu tiles", n);
    }
    m->B = B;
    m->H = H;
    m->q_tiles = q_tiles;
    m->k_tiles = k_tiles;
    return LL_OK;
}

void ll_tile_map_free(ll_tile_map *m) {
    if (!m) return;
    free(m->max_log2);
    free(m->mass);
    memset(m, 0, sizeof *m);
}

static ll_status validate_call(const ll_attn_params *p, const uint16_t *q, const uint16_t *k,
                               const ll_tile_map *out, const float *full_probs, ll_error *err) {
    if (!p) return ll_fail(err, LL_ERR_INVALID, "tile map: no parameters");
    LL_TRY(ll_shape_validate(&p->shape, "tile map", err));
    LL_TRY(ll_tiling_validate(&p->tiling, err));
    if (!(p->softmax_scale >= 0) || isinf(p->softmax_scale))
        return ll_fail(err, LL_ERR_INVALID, "tile map: softmax_scale %g must be finite and >= 0 (0: 1/sqrt(D))",
                       (double)p->softmax_scale);
    if (!q || !k) return ll_fail(err, LL_ERR_INVALID, "tile map: %s is NULL", !q ? "Q" : "K");
    if (!out || !out->max_log2 || !out->mass) return ll_fail(err, LL_ERR_INVALID, "tile map: output map not allocated");
    const ll_shape *s = &p->shape;
    int qts = ll_q_tiles(s, &p->tiling), kts = ll_k_tiles(s, &p->tiling);
    if (out->B != s->B || out->H != s->H || out->q_tiles != qts || out->k_tiles != kts)
        return ll_fail(err, LL_ERR_INVALID,
                       "tile map: output dimensions B=%d H=%d q_tiles=%d k_tiles=%d do not match the call "
                       "(B=%d H=%d q_tiles=%d k_tiles=%d)",
                       out->B, out->H, out->q_tiles, out->k_tiles, s->B, s->H, qts, kts);
    if (full_probs && s->N > LL_FULL_MAP_MAX_N)
        return ll_fail(err, LL_ERR_INVALID, "tile map: full probability maps need N <= %d (N=%d)", LL_FULL_MAP_MAX_N,
                       s->N);
    LL_TRY(ll_check_finite(s, q, "Q", err));
    LL_TRY(ll_check_finite(s, k, "K", err));
    return LL_OK;
}

typedef struct {
    float *qs, *s;        // [block_m][D] queries, [block_m][bn8] scores
    double *row_max, *lse;  // [block_m]
} workspace;

static void one_query_tile(const ll_attn_params *p, const uint16_t *q, const float *kt, int b, int h, int qt,
                           workspace *w, ll_tile_map *out, float *full_probs) {
    const ll_shape *s = &p->shape;
    const ll_tiling *t = &p->tiling;
    int D = s->D, n_pad = ll_ref_padded_n(s->N), bn8 = (t->block_n + 7) & ~7;
    int rows = ll_q_tile_rows(s, t, qt), k_tiles = ll_k_tiles(s, t);
    double scale = ll_softmax_scale(p), log2e = 1.4426950408889634;
    ll_ref_load_queries(s, t, q, b, h, qt, w->qs);

    // Pass 1: final row maximum and log-sum-exp (online, in the kernel's order).
    for (int r = 0; r < rows; r++) {
        w->row_max[r] = -INFINITY;
        w->lse[r] = 0.0;  // running sum of exp(scale * (s - row_max)) until the end of the pass
    }
    for (int kti = k_tiles - 1; kti >= 0; kti--) {
        int cols = ll_k_tile_cols(s, t, kti);
        ll_ref_tile_scores(w->qs, rows, kt, n_pad, D, kti * t->block_n, cols, w->s, bn8);
        for (int r = 0; r < rows; r++) {
            const float *sr = w->s + (size_t)r * bn8;
            double m = w->row_max[r];
            for (int j = 0; j < cols; j++) m = fmax(m, sr[j]);
            double sum = w->lse[r] * exp((w->row_max[r] - m) * scale);
            for (int j = 0; j < cols; j++) sum += exp((sr[j] - m) * scale);
            w->row_max[r] = m;
            w->lse[r] = sum;
        }
    }
    for (int r = 0; r < rows; r++) w->lse[r] = w->row_max[r] * scale + log(w->lse[r]);

    // Pass 2: per-tile statistics.
    for (int kti = 0; kti < k_tiles; kti++) {
        int cols = ll_k_tile_cols(s, t, kti), col0 = kti * t->block_n;
        ll_ref_tile_scores(w->qs, rows, kt, n_pad, D, col0, cols, w->s, bn8);
        double max_log2 = -INFINITY, mass = 0.0;
        for (int r = 0; r < rows; r++) {
            const float *sr = w->s + (size_t)r * bn8;
            double smax = -INFINITY, rmass = 0.0;
            float *prow = NULL;
            if (full_probs) {
                size_t n = (size_t)qt * t->block_m + r;
                prow = full_probs + (((size_t)b * s->H + h) * s->N + n) * s->N + col0;
            }
            for (int j = 0; j < cols; j++) {
                double pj = exp(sr[j] * scale - w->lse[r]);
                smax = fmax(smax, sr[j]);
                rmass += pj;
                if (prow) prow[j] = (float)pj;
            }
            max_log2 = fmax(max_log2, (smax - w->row_max[r]) * scale * log2e);
            mass = fmax(mass, rmass);
        }
        size_t i = ll_tile_map_index(out, b, h, qt, kti);
        out->max_log2[i] = (float)max_log2;
        out->mass[i] = (float)fmin(mass, 1.0);  // rounding may exceed 1 by an ulp
    }
}

ll_status ll_tile_map_compute(const ll_attn_params *p, const uint16_t *q, const uint16_t *k, ll_tile_map *out,
                              float *full_probs, ll_error *err) {
    LL_TRY(validate_call(p, q, k, out, full_probs, err));
    const ll_shape *s = &p->shape;
    const ll_tiling *t = &p->tiling;
    int q_tiles = ll_q_tiles(s, t), n_pad = ll_ref_padded_n(s->N), bn8 = (t->block_n + 7) & ~7;
    int n_threads = omp_get_max_threads();
    if (n_threads > q_tiles) n_threads = q_tiles;

    float *kt = malloc(sizeof(float) * (size_t)s->D * n_pad);
    workspace *ws = calloc((size_t)n_threads, sizeof *ws);
    int ok = kt && ws;
    for (int i = 0; ok && i < n_threads; i++) {
        ws[i].qs = malloc(sizeof(float) * (size_t)t->block_m * s->D);
        ws[i].s = malloc(sizeof(float) * (size_t)t->block_m * bn8);
        ws[i].row_max = malloc(sizeof(double) * (size_t)t->block_m);
        ws[i].lse = malloc(sizeof(double) * (size_t)t->block_m);
        ok = ws[i].qs && ws[i].s && ws[i].row_max && ws[i].lse;
    }
    if (ok) {
#pragma omp parallel num_threads(n_threads)
        {
            workspace *w = &ws[omp_get_thread_num()];
            for (int bh = 0; bh < s->B * s->H; bh++) {
                int b = bh / s->H, h = bh % s->H;
#pragma omp for schedule(static)
                for (int n = 0; n < n_pad; n++) ll_ref_load_keys_t(s, k, b, h, n, n + 1, kt);
#pragma omp for schedule(dynamic, 1)
                for (int qt = 0; qt < q_tiles; qt++) one_query_tile(p, q, kt, b, h, qt, w, out, full_probs);
            }
        }
    }
    for (int i = 0; ws && i < n_threads; i++) {
        free(ws[i].qs);
        free(ws[i].s);
        free(ws[i].row_max);
        free(ws[i].lse);
    }
    free(ws);
    free(kt);
    if (!ok)
        return ll_fail(err, LL_ERR_NOMEM, "tile map: out of memory for N=%d D=%d scratch (%d threads)", s->N, s->D,
                       n_threads);
    return LL_OK;
}
