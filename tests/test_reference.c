// test_reference.c: the CPU reference LiteAttention against a naive
// full-softmax computation in double, and its skip-list semantics: list
// reproduction at threshold -inf, write list within the read list, must-do /
// must-skip overrides, the skip error bound, the criterion against a
// brute-force recomputation, 20-step chains in both encodings, bad input.
// Random inputs with fixed seeds; small sizes.
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "reference_attention.h"
#include "rng.h"
#include "skip_decision.h"
#include "skip_list.h"
#include "test_suites.h"
#include "tile_overrides.h"

static const double LOG2E = 1.4426950408889634;

// ---------------------------------------------------------------------------
// Inputs

// [B, N, H, D] words of sigma * N(0, 1) (+ eps * a second draw when eps > 0,
// a small step-to-step perturbation for chains).
static uint16_t *random_tensor(const ll_shape *s, uint64_t seed, float sigma, uint64_t seed2, float eps) {
    size_t n = ll_shape_elems(s);
    uint16_t *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        float f = sigma * ll_normal(ll_hash4(seed, i, 1, 2));
        if (eps > 0) f += eps * ll_normal(ll_hash4(seed2, i, 3, 4));
        x[i] = ll_float_to_half(s->dtype, f);
    }
    return x;
}

typedef struct {
    ll_shape s;
    uint16_t *q, *k, *v;
} qkv;

// Q is scaled up so that scores spread over several log2 units and tiles
// really become negligible.
static void qkv_make(qkv *x, int B, int N, int H, int D, ll_dtype dt, uint64_t seed, float q_sigma) {
    x->s = (ll_shape){B, N, H, D, dt};
    x->q = random_tensor(&x->s, seed, q_sigma, 0, 0);
    x->k = random_tensor(&x->s, seed + 1, 1.0f, 0, 0);
    x->v = random_tensor(&x->s, seed + 2, 1.0f, 0, 0);
}

// Attention with locality, as in video DiTs: the first 2F dims of Q and K
// carry cos/sin of the token position at F frequencies (amplitude a), so
// q_n . k_m ~ a^2 * sum_f cos(w_f (n - m)) peaks at n = m and far-away key
// tiles become negligible; the other dims are N(0, 1) noise. eps/seed2 add a
// small drift (chains).
enum { LOCAL_FREQS = 4 };
static uint16_t *local_tensor(const ll_shape *s, uint64_t seed, float a, uint64_t seed2, float eps) {
    uint16_t *x = random_tensor(s, seed, 1.0f, seed2, eps);
    for (int b = 0; b < s->B; b++)
        for (int n = 0; n < s->N; n++)
            for (int h = 0; h < s->H; h++)
                for (int f = 0; f < LOCAL_FREQS; f++) {
                    double w = 3.141592653589793 / s->N * (1 << f) * (1 + 0.1 * h);
                    size_t i = (((size_t)b * s->N + n) * s->H + h) * s->D + 2 * f;
                    float jitter = eps > 0 ? eps * ll_normal(ll_hash4(seed2, i, 7, 8)) : 0.0f;
                    x[i] = ll_float_to_half(s->dtype, a * (float)cos(w * n) + jitter);
                    x[i + 1] = ll_float_to_half(s->dtype, a * (float)sin(w * n) + jitter);
                }
    return x;
}

static void qkv_make_local(qkv *x, int B, int N, int H, int D, ll_dtype dt, uint64_t seed, float a) {
    x->s = (ll_shape){B, N, H, D, dt};
    x->q = local_tensor(&x->s, seed, a, 0, 0);
    x->k = local_tensor(&x->s, seed + 1, a, 0, 0);
    x->v = random_tensor(&x->s, seed + 2, 1.0f, 0, 0);
}

static void qkv_free(qkv *x) {
    free(x->q);
    free(x->k);
    free(x->v);
}

static ll_attn_params params(const ll_shape *s, int bm, int bn, float threshold) {
    ll_attn_params p = {.shape = *s, .tiling = {bm, bn}, .softmax_scale = 0, .threshold = threshold,
                        .key_tile_flags = NULL};
    return p;
}

static size_t tile_index(const ll_shape *s, const ll_tiling *t, int b, int h, int qt, int kt) {
    return (((size_t)b * s->H + h) * ll_q_tiles(s, t) + qt) * (size_t)ll_k_tiles(s, t) + kt;
}

// ---------------------------------------------------------------------------
// Naive attention in double: full softmax per row over the key columns whose
// tile is kept for the row's query tile (keep NULL: every column), o [B,N,H,D],
// lse [B,H,N]. A row with no kept column gets O = 0 and LSE = -inf.
// probs (optional) [B,H,N,N]: softmax over ALL columns (for masses).
static double *to_double(const ll_shape *s, const uint16_t *x) {
    size_t n = ll_shape_elems(s);
    double *y = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) y[i] = ll_half_to_float(s->dtype, x[i]);
    return y;
}

static void naive_attention(const ll_shape *s, const ll_tiling *t, const uint16_t *q16, const uint16_t *k16,
                            const uint16_t *v16, double scale, const uint8_t *keep, double *o, double *lse,
                            double *probs) {
    int N = s->N, H = s->H, D = s->D;
    double *q = to_double(s, q16), *k = to_double(s, k16), *v = to_double(s, v16);
    double *sc = malloc(sizeof(double) * N);
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < H; h++)
            for (int n = 0; n < N; n++) {
                const double *qr = q + (((size_t)b * N + n) * H + h) * D;
                double mx = -INFINITY, mx_all = -INFINITY;
                int qt = n / t->block_m;
                for (int m = 0; m < N; m++) {
                    const double *kr = k + (((size_t)b * N + m) * H + h) * D;
                    double dot = 0;
                    for (int d = 0; d < D; d++) dot += qr[d] * kr[d];
                    sc[m] = dot;
                    mx_all = fmax(mx_all, dot);
                    if (!keep || keep[tile_index(s, t, b, h, qt, m / t->block_n)]) mx = fmax(mx, dot);
                }
                if (probs) {
                    double sum = 0;
                    for (int m = 0; m < N; m++) sum += exp((sc[m] - mx_all) * scale);
                    for (int m = 0; m < N; m++)
                        probs[(((size_t)b * H + h) * N + n) * N + m] = exp((sc[m] - mx_all) * scale) / sum;
                }
                double *orow = o + (((size_t)b * N + n) * H + h) * D, sum = 0;
                for (int d = 0; d < D; d++) orow[d] = 0;
                for (int m = 0; m < N; m++) {
                    if (keep && !keep[tile_index(s, t, b, h, qt, m / t->block_n)]) continue;
                    double pm = exp((sc[m] - mx) * scale);
                    sum += pm;
                    const double *vr = v + (((size_t)b * N + m) * H + h) * D;
                    for (int d = 0; d < D; d++) orow[d] += pm * vr[d];
                }
                if (sum > 0)
                    for (int d = 0; d < D; d++) orow[d] /= sum;
                lse[((size_t)b * H + h) * N + n] = sum > 0 ? mx * scale + log(sum) : -INFINITY;
            }
    free(sc);
    free(q);
    free(k);
    free(v);
}

// ||a - ref|| / ||ref|| over n values (finite entries; -inf must match exactly).
static double rel_l2(const float *a, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isinf(ref[i])) {
            if (a[i] != ref[i]) return INFINITY;
            continue;
        }
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

// ---------------------------------------------------------------------------
// Lists

// A random valid row keeping each tile with probability p_keep: maximal runs
// of kept tiles become ranges (lowest runs dropped while they would not fit
// the row). keep_out gets the tiles the row computes.
static void random_row(ll_rng *r, int k_tiles, ll_list_encoding enc, double p_keep, int32_t *row,
                       uint8_t *keep_out) {
    uint8_t *keep = keep_out;
    for (int kt = 0; kt < k_tiles; kt++) keep[kt] = ll_rng_u01(r) < p_keep;
    for (;;) {
        int idx = 1;
        for (int kt = k_tiles - 1; kt >= 0;) {
            if (!keep[kt]) { kt--; continue; }
            int hi = kt;
            while (kt >= 0 && keep[kt]) kt--;
            int lo = kt + 1;
            if (idx + 2 > ll_skip_list_row_len(k_tiles)) {  // no room: drop this and every lower run
                for (int j = lo; j >= 0; j--) keep[j] = 0;
                break;
            }
            row[idx++] = hi;
            row[idx++] = enc == LL_END_EXCLUSIVE ? lo - 1 : lo;
        }
        row[0] = idx - 1;
        return;
    }
}

static void random_list(ll_skip_list *l, uint64_t seed, double p_keep, uint8_t *keep /* [rows][k_tiles] */) {
    ll_rng r;
    ll_rng_seed(&r, seed);
    size_t rows = ll_skip_list_rows(l);
    for (size_t i = 0; i < rows; i++)
        random_row(&r, l->k_tiles, l->encoding, p_keep, l->data + i * ll_skip_list_row_len(l->k_tiles), keep + i * l->k_tiles);
}

static int row_equal(const int32_t *a, const int32_t *b) {
    return a[0] == b[0] && memcmp(a, b, sizeof(int32_t) * (size_t)(a[0] + 1)) == 0;
}

// ---------------------------------------------------------------------------
// Dense mode against the naive computation

// Every element within half a float ulp of the double value, plus 1e-13 of
// the tensor's scale: what an fp64 computation stored as float must reach
// (fp32 arithmetic misses it by several ulps).
static int correctly_rounded(const float *a, const double *ref, size_t n, double *worst_ulps) {
    double scale = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(ref[i])) scale = fmax(scale, fabs(ref[i]));
    int ok = 1;
    *worst_ulps = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(ref[i])) {
            ok &= a[i] == ref[i];
            continue;
        }
        double err = fabs((double)a[i] - ref[i]), half_ulp = ldexp(fabs(ref[i]), -24);
        ok &= err <= half_ulp + 1e-13 * scale;
        if (half_ulp > 0) *worst_ulps = fmax(*worst_ulps, err / (2 * half_ulp));
    }
    return ok;
}

// fp32 mode: relative L2 error below 1e-5 for O and LSE. fp64 mode: O and LSE
// are float outputs, so a relative L2 of 1e-12 cannot be seen through them;
// instead every element must be the correctly rounded double value.
static void check_dense_case(const qkv *x, const ll_tiling *tiles, int n_tilings, const char *label) {
    const ll_shape *s = &x->s;
    size_t no = ll_shape_elems(s), nl = (size_t)s->B * s->H * s->N;
    double *o_ref = malloc(no * sizeof(double)), *lse_ref = malloc(nl * sizeof(double));
    float *o = malloc(no * sizeof(float)), *lse = malloc(nl * sizeof(float));
    ll_attn_params p0 = params(s, 64, 64, -INFINITY);
    naive_attention(s, &p0.tiling, x->q, x->k, x->v, ll_softmax_scale(&p0), NULL, o_ref, lse_ref, NULL);
    for (int ti = 0; ti < n_tilings; ti++)
        for (int fp64 = 0; fp64 <= 1; fp64++) {
            ll_attn_params p = params(s, tiles[ti].block_m, tiles[ti].block_n, -INFINITY);
            ll_reference_options opt = {.use_fp64 = fp64, .n_threads = 0, .check_inputs = 1};
            ll_error err;
            ll_status st = ll_reference_forward(&p, &opt, x->q, x->k, x->v, NULL, NULL, o, lse, NULL, NULL, &err);
            CU_ASSERT_EQUAL_FATAL(st, LL_OK);
            double eo = rel_l2(o, o_ref, no), el = rel_l2(lse, lse_ref, nl), uo = 0, ul = 0;
            int ok = fp64 ? correctly_rounded(o, o_ref, no, &uo) && correctly_rounded(lse, lse_ref, nl, &ul)
                          : eo < 1e-5 && el < 1e-5;
            if (!ok)
                fprintf(stderr, "\n  %s tile %dx%d fp64=%d: rel L2 O %.3g LSE %.3g, worst ulps O %.3g LSE %.3g\n",
                        label, tiles[ti].block_m, tiles[ti].block_n, fp64, eo, el, uo, ul);
            CU_ASSERT(ok);
        }
    free(o_ref);
    free(lse_ref);
    free(o);
    free(lse);
}

static void test_dense_matches_naive(void) {
    static const ll_tiling tiles[] = {{64, 64}, {128, 176}, {16, 32}};
    static const int Ns[] = {1, 5, 127, 129, 300};
    static const int Ds[] = {64, 96, 128};
    int case_no = 0;
    for (int di = 0; di < 3; di++)
        for (int ni = 0; ni < 5; ni++)
            for (int dt = 0; dt <= 1; dt++, case_no++) {
                int N = Ns[ni];
                int B = N <= 129 ? 2 : 1, H = N <= 129 ? 3 : 2;  // keep the suite quick
                qkv x;
                qkv_make(&x, B, N, H, Ds[di], dt ? LL_FP16 : LL_BF16, 1000 + case_no, 1.0f);
                char label[96];
                snprintf(label, sizeof label, "B=%d N=%d H=%d D=%d %s", B, N, H, Ds[di], dt ? "fp16" : "bf16");
                check_dense_case(&x, tiles, 3, label);
                qkv_free(&x);
            }
}

// Thread count does not change a single bit (each query tile is one work item).
static void test_threads_bitwise_equal(void) {
    qkv x;
    qkv_make(&x, 2, 200, 2, 96, LL_FP16, 5, 2.0f);
    size_t no = ll_shape_elems(&x.s), nl = (size_t)x.s.B * x.s.H * x.s.N;
    float *o1 = malloc(no * 4), *o2 = malloc(no * 4), *l1 = malloc(nl * 4), *l2 = malloc(nl * 4);
    ll_attn_params p = params(&x.s, 16, 32, -2.0f);
    ll_skip_list r, w1, w2;
    ll_error err;
    int qts = ll_q_tiles(&x.s, &p.tiling), kts = ll_k_tiles(&x.s, &p.tiling);
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&r, 2, 2, qts, kts, LL_END_EXCLUSIVE, &err), LL_OK);
    ll_skip_list_alloc(&w1, 2, 2, qts, kts, LL_END_EXCLUSIVE, &err);
    ll_skip_list_alloc(&w2, 2, 2, qts, kts, LL_END_EXCLUSIVE, &err);
    ll_skip_list_fill_full(&r);
    ll_reference_options o_1 = {.n_threads = 1, .check_inputs = 1}, o_2 = {.n_threads = 2, .check_inputs = 1};
    CU_ASSERT_EQUAL(ll_reference_forward(&p, &o_1, x.q, x.k, x.v, &r, &w1, o1, l1, NULL, NULL, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_reference_forward(&p, &o_2, x.q, x.k, x.v, &r, &w2, o2, l2, NULL, NULL, &err), LL_OK);
    CU_ASSERT(memcmp(o1, o2, no * 4) == 0);
    CU_ASSERT(memcmp(l1, l2, nl * 4) == 0);
    CU_ASSERT(memcmp(w1.data, w2.data, ll_skip_list_rows(&r) * ll_skip_list_row_len(kts) * sizeof(int32_t)) == 0);
    ll_skip_list_free(&r);
    ll_skip_list_free(&w1);
    ll_skip_list_free(&w2);
    free(o1); free(o2); free(l1); free(l2);
    qkv_free(&x);
}

// ---------------------------------------------------------------------------
// Lists

// One call with a read list; returns the status. o/lse/crit sized by caller.
static ll_status run_list(const ll_attn_params *p, int fp64, const qkv *x, const ll_skip_list *r, ll_skip_list *w,
                          float *o, float *lse, float *crit) {
    ll_reference_options opt = {.use_fp64 = fp64, .n_threads = 0, .check_inputs = 1};
    ll_error err;
    ll_status st = ll_reference_forward(p, &opt, x->q, x->k, x->v, r, w, o, lse, crit, NULL, &err);
    if (st != LL_OK) fprintf(stderr, "\n  reference: %s\n", err.msg);
    return st;
}

// Threshold -inf marks nothing: the write list is the read list, entry for
// entry (full lists stay full, random lists are reproduced), and the output
// equals the naive computation over the read list's tiles.
static void test_minus_inf_reproduces_read_list(void) {
    static const struct { int N, D, bm, bn; } cases[] = {
        {300, 64, 64, 64}, {257, 96, 16, 32}, {129, 128, 32, 16}, {500, 64, 128, 176}};
    for (int ci = 0; ci < 4; ci++)
        for (int enc = 0; enc <= 1; enc++)
            for (int full = 0; full <= 1; full++) {
                qkv x;
                qkv_make(&x, 1, cases[ci].N, 2, cases[ci].D, enc ? LL_FP16 : LL_BF16, 300 + ci, 3.0f);
                ll_attn_params p = params(&x.s, cases[ci].bm, cases[ci].bn, -INFINITY);
                int qts = ll_q_tiles(&x.s, &p.tiling), kts = ll_k_tiles(&x.s, &p.tiling);
                ll_skip_list r, w;
                ll_error err;
                CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&r, 1, 2, qts, kts, enc, &err), LL_OK);
                CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&w, 1, 2, qts, kts, enc, &err), LL_OK);
                uint8_t *keep = malloc(ll_skip_list_rows(&r) * kts);
                if (full) {
                    ll_skip_list_fill_full(&r);
                    memset(keep, 1, ll_skip_list_rows(&r) * kts);
                } else {
                    random_list(&r, 40 + ci, 0.6, keep);
                }
                size_t no = ll_shape_elems(&x.s), nl = (size_t)x.s.H * x.s.N;
                float *o = malloc(no * 4), *lse = malloc(nl * 4);
                double *o_ref = malloc(no * 8), *lse_ref = malloc(nl * 8);
                CU_ASSERT_EQUAL_FATAL(run_list(&p, 0, &x, &r, &w, o, lse, NULL), LL_OK);
                int same = 1;
                for (size_t i = 0; i < ll_skip_list_rows(&r); i++)
                    same &= row_equal(r.data + i * ll_skip_list_row_len(kts), w.data + i * ll_skip_list_row_len(kts));
                CU_ASSERT(same);
                naive_attention(&x.s, &p.tiling, x.q, x.k, x.v, ll_softmax_scale(&p), keep, o_ref, lse_ref, NULL);
                CU_ASSERT(rel_l2(o, o_ref, no) < 1e-5);
                CU_ASSERT(rel_l2(lse, lse_ref, nl) < 1e-5);
                free(keep); free(o); free(lse); free(o_ref); free(lse_ref);
                ll_skip_list_free(&r);
                ll_skip_list_free(&w);
                qkv_free(&x);
            }
}

// Random read lists and thresholds: every tile the write list computes is one
// the read list computed (both encodings, both precisions), except in rows
// the fit rule widened (skip_list.h), which may compute the tiles of a merged
// gap too; the call never fails for lack of room.
static void test_write_subset_of_read(void) {
    ll_rng rng;
    ll_rng_seed(&rng, 99);
    int marked_total = 0;
    for (int it = 0; it < 24; it++) {
        int D = (int[]){64, 96, 128}[it % 3];
        int N = ll_rng_int(&rng, 40, 400);
        ll_list_encoding enc = (ll_list_encoding)(it & 1);
        qkv x;
        qkv_make_local(&x, 1, N, 2, D, (it >> 1) & 1 ? LL_FP16 : LL_BF16, 500 + it, 4.0f);
        float thr = (float)(-8.0 * ll_rng_u01(&rng));
        ll_attn_params p = params(&x.s, 16 * ll_rng_int(&rng, 1, 4), 16 * ll_rng_int(&rng, 1, 4), thr);
        int qts = ll_q_tiles(&x.s, &p.tiling), kts = ll_k_tiles(&x.s, &p.tiling);
        ll_skip_list r, w;
        ll_error err;
        ll_skip_list_alloc(&r, 1, 2, qts, kts, enc, &err);
        ll_skip_list_alloc(&w, 1, 2, qts, kts, enc, &err);
        uint8_t *keep = malloc(ll_skip_list_rows(&r) * kts), *kr = malloc(kts), *kw = malloc(kts);
        random_list(&r, 700 + it, 0.75, keep);
        float *o = malloc(ll_shape_elems(&x.s) * 4);
        ll_reference_options opt = {.use_fp64 = it % 4 == 3, .check_inputs = 1};
        int fitted = -1, outside = 0;
        CU_ASSERT_EQUAL(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &r, &w, o, NULL, NULL, &fitted, &err), LL_OK);
        CU_ASSERT(fitted >= 0);
        for (size_t i = 0; i < ll_skip_list_rows(&r); i++) {
            const int32_t *rw = w.data + i * ll_skip_list_row_len(kts);
            char why[128];
            CU_ASSERT_EQUAL(ll_skip_list_check_row(rw, kts, enc, why, sizeof why), LL_OK);
            int nr = ll_skip_list_row_to_keep(r.data + i * ll_skip_list_row_len(kts), kts, enc, kr);
            int nw = ll_skip_list_row_to_keep(rw, kts, enc, kw), subset = 1;
            for (int kt = 0; kt < kts; kt++) subset &= !kw[kt] || kr[kt];
            outside += !subset;
            marked_total += nr - nw;
        }
        CU_ASSERT(outside <= fitted);  // only a fitted row may compute what the read row did not
        free(keep); free(kr); free(kw); free(o);
        ll_skip_list_free(&r);
        ll_skip_list_free(&w);
        qkv_free(&x);
    }
    CU_ASSERT(marked_total > 0);  // the thresholds really dropped tiles
}

// The writer can need more entries than a row holds: ranges alternating
// with single dropped tiles, e.g. 3 key tiles kept, dropped (must-skip),
// kept need [2, 1, 0, -1] (4 entries). The fit rule merges the two ranges:
// [2, 2, -1], which computes the must-skip tile's slot too (it stays
// must-skip, so it is never computed); every row is counted as fitted.
static void test_write_row_capacity(void) {
    qkv x;
    qkv_make(&x, 1, 40, 1, 64, LL_BF16, 11, 1.0f);  // 3 key tiles of 16, the last partial
    ll_attn_params p = params(&x.s, 16, 16, -INFINITY);
    uint8_t flags[3] = {LL_TILE_MUST_DO, LL_TILE_MUST_SKIP, LL_TILE_FREE};
    p.key_tile_flags = flags;
    int qts = ll_q_tiles(&x.s, &p.tiling), kts = ll_k_tiles(&x.s, &p.tiling);
    CU_ASSERT_EQUAL_FATAL(kts, 3);
    for (int e = 0; e < 2; e++) {
        ll_list_encoding enc = (ll_list_encoding)e;
        ll_skip_list r, w;
        ll_error err;
        ll_skip_list_alloc(&r, 1, 1, qts, kts, enc, &err);
        ll_skip_list_alloc(&w, 1, 1, qts, kts, enc, &err);
        ll_skip_list_fill_full(&r);
        float *o = malloc(ll_shape_elems(&x.s) * 4);
        int fitted = -1;
        CU_ASSERT_EQUAL(ll_reference_forward(&p, NULL, x.q, x.k, x.v, &r, &w, o, NULL, NULL, &fitted, &err), LL_OK);
        CU_ASSERT_EQUAL(fitted, qts);
        for (int qt = 0; qt < qts; qt++) {
            const int32_t *row = ll_skip_list_row(&w, 0, 0, qt);
            CU_ASSERT(row[0] == 2 && row[1] == 2 && row[2] == (enc == LL_END_EXCLUSIVE ? -1 : 0));
        }
        free(o);
        ll_skip_list_free(&r);
        ll_skip_list_free(&w);
    }
    qkv_free(&x);
}

// ---------------------------------------------------------------------------
// Must-do / must-skip

// must-do tokens [0, 20) (text), must-skip the tail (padding) and one middle
// tile-aligned stretch; threshold +inf marks every free tile it can.
static void test_overrides(void) {
    static const int Ds[] = {64, 96, 128};
    for (int di = 0; di < 3; di++)
        for (int enc = 0; enc <= 1; enc++) {
            int N = 301, bm = 64, bn = 48;  // 301 = 6 * 48 + 13: partial last tile
            qkv x;
            qkv_make(&x, 1, N, 2, Ds[di], LL_BF16, 900 + di, 2.0f);
            ll_attn_params p = params(&x.s, bm, bn, INFINITY);
            int qts = ll_q_tiles(&x.s, &p.tiling), kts = ll_k_tiles(&x.s, &p.tiling);
            ll_token_range must_do[] = {{0, 20}, {150, 151}};
            ll_token_range must_skip[] = {{96, 144}, {280, 301}};  // tile 2 and the partial tile 6
            ll_overrides ov = {must_do, 2, must_skip, 2};
            uint8_t *flags = malloc(kts);
            ll_error err;
            CU_ASSERT_EQUAL_FATAL(ll_key_tile_flags(N, bn, &ov, flags, &err), LL_OK);
            CU_ASSERT_EQUAL(flags[0], LL_TILE_MUST_DO);
            CU_ASSERT_EQUAL(flags[3], LL_TILE_MUST_DO);
            CU_ASSERT_EQUAL(flags[2], LL_TILE_MUST_SKIP);
            CU_ASSERT_EQUAL(flags[6], LL_TILE_MUST_SKIP);
            CU_ASSERT_EQUAL(flags[5], LL_TILE_FREE);
            p.key_tile_flags = flags;

            ll_skip_list r, w;
            ll_skip_list_alloc(&r, 1, 2, qts, kts, enc, &err);
            ll_skip_list_alloc(&w, 1, 2, qts, kts, enc, &err);
            ll_skip_list_fill_full(&r);
            size_t no = ll_shape_elems(&x.s), nl = (size_t)x.s.H * N, nc = (size_t)2 * qts * kts;
            float *o = malloc(no * 4), *lse = malloc(nl * 4), *crit = malloc(nc * 4);
            double *o_ref = malloc(no * 8), *lse_ref = malloc(nl * 8);
            CU_ASSERT_EQUAL_FATAL(run_list(&p, 0, &x, &r, &w, o, lse, crit), LL_OK);

            // The output is the dense one without the must-skip key columns:
            // negligible tiles still count at the step they are marked.
            uint8_t *keep = malloc(nc), *kw = malloc(kts);
            for (size_t i = 0; i < nc; i++) keep[i] = flags[i % kts] != LL_TILE_MUST_SKIP;
            naive_attention(&x.s, &p.tiling, x.q, x.k, x.v, ll_softmax_scale(&p), keep, o_ref, lse_ref, NULL);
            CU_ASSERT(rel_l2(o, o_ref, no) < 1e-5);
            CU_ASSERT(rel_l2(lse, lse_ref, nl) < 1e-5);

            for (int h = 0; h < 2; h++)
                for (int qt = 0; qt < qts; qt++) {
                    const float *cr = crit + tile_index(&x.s, &p.tiling, 0, h, qt, 0);
                    ll_skip_list_row_to_keep(ll_skip_list_row(&w, 0, h, qt), kts, enc, kw);
                    // Tiles visited from K-1 down: 6 is must-skip, 5 is the first computed.
                    for (int kt = 0; kt < kts; kt++) {
                        if (flags[kt] == LL_TILE_MUST_SKIP) {
                            CU_ASSERT(isnan(cr[kt]));  // never computed
                            // (the production reading may list it as a range's end; flags still win)
                            if (enc == LL_END_EXCLUSIVE) CU_ASSERT_EQUAL(kw[kt], 0);
                        } else if (kt == 5) {
                            CU_ASSERT(isnan(cr[kt]));  // first computed: no criterion
                            CU_ASSERT_EQUAL(kw[kt], 1);
                        } else {
                            CU_ASSERT(!isnan(cr[kt]));
                            // +inf marks every free tile; must-do tiles are never marked.
                            if (enc == LL_END_EXCLUSIVE || flags[kt] == LL_TILE_MUST_DO)
                                CU_ASSERT_EQUAL(kw[kt], flags[kt] == LL_TILE_MUST_DO);
                        }
                    }
                }
            free(flags); free(o); free(lse); free(crit); free(o_ref); free(lse_ref); free(keep); free(kw);
            ll_skip_list_free(&r);
            ll_skip_list_free(&w);
            qkv_free(&x);
        }
}

// ---------------------------------------------------------------------------
// The skip error bound.
//
// Row r, dense softmax weights p_c (sum 1); the skipped columns S carry mass
// eps = sum_{c in S} p_c < 1. The skipped output renormalises the rest:
//   O_skip = sum_{c not in S} p_c v_c / (1 - eps),  O_dense = sum_c p_c v_c,
//   O_skip - O_dense = eps/(1 - eps) * sum_{c not in S} p_c v_c - sum_{c in S} p_c v_c,
// and since sum_{c not in S} p_c = 1 - eps, each component obeys
//   |O_skip - O_dense| <= eps * max|V| + eps * max|V| = 2 * eps * max|V|.
static void test_skip_error_bound(void) {
    int rows_checked = 0, rows_tight = 0;
    for (int it = 0; it < 6; it++) {
        int D = (int[]){64, 96, 128}[it % 3];
        qkv x;
        qkv_make_local(&x, 1, 250 + 17 * it, 2, D, it & 1 ? LL_FP16 : LL_BF16, 1200 + it, 3.0f);
        ll_attn_params p = params(&x.s, 32, 48, -INFINITY);
        const ll_shape *s = &x.s;
        int qts = ll_q_tiles(s, &p.tiling), kts = ll_k_tiles(s, &p.tiling);
        ll_skip_list r;
        ll_error err;
        ll_skip_list_alloc(&r, 1, 2, qts, kts, (ll_list_encoding)(it & 1), &err);
        size_t nc = ll_skip_list_rows(&r) * kts, no = ll_shape_elems(s), nl = (size_t)s->H * s->N;
        uint8_t *keep = malloc(nc);
        random_list(&r, 1300 + it, 0.7, keep);
        float *o = malloc(no * 4), *lse = malloc(nl * 4);
        double *o_dense = malloc(no * 8), *lse_d = malloc(nl * 8), *probs = malloc((size_t)s->H * s->N * s->N * 8);
        CU_ASSERT_EQUAL_FATAL(run_list(&p, 1, &x, &r, NULL, o, lse, NULL), LL_OK);
        naive_attention(s, &p.tiling, x.q, x.k, x.v, ll_softmax_scale(&p), NULL, o_dense, lse_d, probs);
        double vmax = 0;
        for (size_t i = 0; i < no; i++) vmax = fmax(vmax, fabs(ll_half_to_float(s->dtype, x.v[i])));
        int ok = 1;
        for (int h = 0; h < s->H; h++)
            for (int n = 0; n < s->N; n++) {
                int qt = n / p.tiling.block_m;
                double eps = 0;
                for (int m = 0; m < s->N; m++)
                    if (!keep[tile_index(s, &p.tiling, 0, h, qt, m / p.tiling.block_n)])
                        eps += probs[((size_t)h * s->N + n) * s->N + m];
                if (eps >= 1 - 1e-12) continue;  // nothing computed: no bound to state
                double bound = 2 * eps * vmax, diff = 0;
                for (int d = 0; d < D; d++) {
                    size_t i = ((size_t)n * s->H + h) * D + d;
                    diff = fmax(diff, fabs((double)o[i] - o_dense[i]));
                }
                // fp64 mode: the only slack is the float store of O.
                if (diff > bound + 1e-6 * vmax) {
                    if (ok) fprintf(stderr, "\n  row h=%d n=%d: |dO| %.3g > bound %.3g\n", h, n, diff, bound);
                    ok = 0;
                }
                rows_checked++;
                rows_tight += diff > 0.05 * bound;
            }
        CU_ASSERT(ok);
        free(keep); free(o); free(lse); free(o_dense); free(lse_d); free(probs);
        ll_skip_list_free(&r);
        qkv_free(&x);
    }
    CU_ASSERT(rows_checked > 1000);
    CU_ASSERT(rows_tight > 0);  // the bound is not vacuous on these inputs
}

// ---------------------------------------------------------------------------
// Criterion consistency

// Brute force: per query tile, visit the read list's tiles in order (skipping
// must-skip), keep the running row max in double, and evaluate the criterion.
// Checks crit (fp64 mode: 1e-9 relative; fp32: 2e-3 log2 units) and, under the
// exclusive encoding, that the write list drops exactly the tiles whose
// criterion is <= threshold (ties within the tolerance are not judged).
static void check_criterion(const qkv *x, const ll_attn_params *p, const ll_skip_list *r, const ll_skip_list *w,
                            const float *crit, int fp64, int *n_marked, int *n_measured) {
    const ll_shape *s = &x->s;
    const ll_tiling *t = &p->tiling;
    int kts = ll_k_tiles(s, t), D = s->D;
    double scale = ll_softmax_scale(p);
    double *m = malloc(sizeof(double) * t->block_m), *qd = to_double(s, x->q), *kd = to_double(s, x->k);
    uint8_t *visited = malloc(kts), *kw = malloc(kts);
    int bad_crit = 0, bad_decision = 0, bad_unvisited = 0;
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < s->H; h++)
            for (int qt = 0; qt < ll_q_tiles(s, t); qt++) {
                const int32_t *rr = ll_skip_list_row(r, b, h, qt);
                const float *cr = crit + tile_index(s, t, b, h, qt, 0);
                int rows = ll_q_tile_rows(s, t, qt), computed = 0;
                for (int i = 0; i < t->block_m; i++) m[i] = -INFINITY;
                memset(visited, 0, kts);
                if (w) ll_skip_list_row_to_keep(ll_skip_list_row(w, b, h, qt), kts, r->encoding, kw);
                for (int e = 0; e < rr[0]; e += 2)
                    for (int kt = rr[1 + e]; kt >= ll_range_last(rr[2 + e], r->encoding); kt--) {
                        uint8_t f = p->key_tile_flags ? p->key_tile_flags[kt] : 0;
                        if (f == LL_TILE_MUST_SKIP) continue;
                        visited[kt] = 1;
                        double cmax = -INFINITY;
                        for (int i = 0; i < rows; i++) {
                            size_t n = (size_t)qt * t->block_m + i;
                            const double *qr = qd + (((size_t)b * s->N + n) * s->H + h) * D;
                            double smax = -INFINITY;
                            for (int c = 0; c < ll_k_tile_cols(s, t, kt); c++) {
                                size_t mcol = (size_t)kt * t->block_n + c;
                                const double *kr = kd + (((size_t)b * s->N + mcol) * s->H + h) * D;
                                double dot = 0;
                                for (int d = 0; d < D; d++) dot += qr[d] * kr[d];
                                smax = fmax(smax, dot);
                            }
                            cmax = fmax(cmax, (smax - m[i]) * scale * LOG2E);
                            m[i] = fmax(m[i], smax);
                        }
                        if (computed == 0) {
                            bad_crit += !isnan(cr[kt]);  // first tile: never evaluated
                            if (w) bad_decision += !kw[kt];
                        } else {
                            double tol = fp64 ? 1e-6 * fmax(1.0, fabs(cmax)) : 2e-3;
                            if (!(fabs(cr[kt] - cmax) <= tol)) {
                                if (!bad_crit)
                                    fprintf(stderr, "\n  crit (b%d h%d q%d k%d) %.9g vs brute force %.9g\n", b, h,
                                            qt, kt, cr[kt], cmax);
                                bad_crit++;
                            }
                            (*n_measured)++;
                            int marked = f != LL_TILE_MUST_DO && cmax <= p->threshold;
                            *n_marked += marked;
                            if (w && r->encoding == LL_END_EXCLUSIVE && fabs(cmax - p->threshold) > tol)
                                bad_decision += kw[kt] != !marked;
                        }
                        computed++;
                    }
                for (int kt = 0; kt < kts; kt++) bad_unvisited += !visited[kt] && !isnan(cr[kt]);
            }
    CU_ASSERT_EQUAL(bad_crit, 0);
    CU_ASSERT_EQUAL(bad_decision, 0);
    CU_ASSERT_EQUAL(bad_unvisited, 0);
    free(m);
    free(qd);
    free(kd);
    free(visited);
    free(kw);
}

static void test_criterion_brute_force(void) {
    int n_marked = 0, n_measured = 0;
    for (int it = 0; it < 8; it++) {
        int D = (int[]){64, 96, 128}[it % 3], fp64 = it & 1;
        ll_list_encoding enc = (ll_list_encoding)((it >> 1) & 1);
        qkv x;
        qkv_make_local(&x, 1 + (it & 1), 150 + 31 * it, 2, D, it & 2 ? LL_FP16 : LL_BF16, 1500 + it, 4.0f);
        ll_attn_params p = params(&x.s, 32, 16 * (1 + it % 3), -1.0f - (float)it);
        uint8_t flags[64] = {0};
        int qts = ll_q_tiles(&x.s, &p.tiling), kts = ll_k_tiles(&x.s, &p.tiling);
        if (it >= 4) {  // with overrides: one must-do and one must-skip tile
            flags[1] = LL_TILE_MUST_DO;
            flags[kts / 2] = LL_TILE_MUST_SKIP;
            p.key_tile_flags = flags;
        }
        ll_skip_list r, w;
        ll_error err;
        ll_skip_list_alloc(&r, x.s.B, 2, qts, kts, enc, &err);
        ll_skip_list_alloc(&w, x.s.B, 2, qts, kts, enc, &err);
        uint8_t *keep = malloc(ll_skip_list_rows(&r) * kts);
        if (it % 3 == 0)
            ll_skip_list_fill_full(&r);
        else
            random_list(&r, 1600 + it, 0.8, keep);
        float *o = malloc(ll_shape_elems(&x.s) * 4), *crit = malloc(ll_skip_list_rows(&r) * kts * 4);
        if (run_list(&p, fp64, &x, &r, &w, o, NULL, crit) == LL_OK)
            check_criterion(&x, &p, &r, &w, crit, fp64, &n_marked, &n_measured);
        else
            CU_FAIL("reference call failed");
        free(keep); free(o); free(crit);
        ll_skip_list_free(&r);
        ll_skip_list_free(&w);
        qkv_free(&x);
    }
    CU_ASSERT(n_marked > 0);
    CU_ASSERT(n_marked < n_measured);
}

// ---------------------------------------------------------------------------
// The tie and NaN rules (lib/skip_decision.h)

// Key tile `to` becomes an exact copy of key tile `from` (block_n tokens, every head).
static void copy_key_tile(qkv *x, int block_n, int from, int to) {
    size_t token = (size_t)x->s.H * x->s.D;
    for (int b = 0; b < x->s.B; b++)
        memcpy(x->k + ((size_t)b * x->s.N + (size_t)to * block_n) * token,
               x->k + ((size_t)b * x->s.N + (size_t)from * block_n) * token, sizeof(uint16_t) * token * block_n);
}

// Kept fraction of key tile kt over every row of an exclusive-encoded list.
static double tile_kept(const ll_skip_list *w, int kt) {
    uint8_t *keep = malloc((size_t)w->k_tiles);
    long kept = 0;
    for (size_t r = 0; r < ll_skip_list_rows(w); r++) {
        ll_skip_list_row_to_keep(w->data + r * ll_skip_list_row_len(w->k_tiles), w->k_tiles, w->encoding, keep);
        kept += keep[kt];
    }
    free(keep);
    return (double)kept / (double)ll_skip_list_rows(w);
}

// One skip call over full exclusive lists with its write list and criteria.
typedef struct {
    ll_skip_list r, w;
    float *o, *crit;
    int qts, kts;
} full_list_call;

static void full_list_call_open(full_list_call *c, const qkv *x, const ll_attn_params *p) {
    ll_error err;
    c->qts = ll_q_tiles(&x->s, &p->tiling);
    c->kts = ll_k_tiles(&x->s, &p->tiling);
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&c->r, x->s.B, x->s.H, c->qts, c->kts, LL_END_EXCLUSIVE, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&c->w, x->s.B, x->s.H, c->qts, c->kts, LL_END_EXCLUSIVE, &err), LL_OK);
    ll_skip_list_fill_full(&c->r);
    c->o = malloc(ll_shape_elems(&x->s) * 4);
    c->crit = malloc(ll_skip_list_rows(&c->r) * c->kts * 4);
}

static void full_list_call_close(full_list_call *c) {
    free(c->o);
    free(c->crit);
    ll_skip_list_free(&c->r);
    ll_skip_list_free(&c->w);
}

// Key tile 2 an exact copy of key tile 3, the first one visited: at tile 2
// every row's maximum equals its running maximum, so the criterion is exactly
// 0 (both precisions). Threshold 0 marks it (crit <= threshold; '<' would
// keep it); the float just below 0 does not.
static void test_exact_tie(void) {
    for (int fp64 = 0; fp64 <= 1; fp64++) {
        qkv x;
        qkv_make(&x, 1, 128, 2, 64, LL_BF16, 4242, 3.0f);  // 4 key tiles of 32
        copy_key_tile(&x, 32, 3, 2);
        ll_attn_params p = params(&x.s, 32, 32, 0.0f);
        full_list_call c;
        full_list_call_open(&c, &x, &p);
        CU_ASSERT_EQUAL_FATAL(run_list(&p, fp64, &x, &c.r, &c.w, c.o, NULL, c.crit), LL_OK);
        int exact = 1;
        for (size_t row = 0; row < ll_skip_list_rows(&c.r); row++) exact &= c.crit[row * c.kts + 2] == 0.0f;
        CU_ASSERT(exact);
        CU_ASSERT_EQUAL(tile_kept(&c.w, 3), 1.0);  // the first computed tile
        CU_ASSERT_EQUAL(tile_kept(&c.w, 2), 0.0);  // the tie: negligible
        p.threshold = nextafterf(0.0f, -1.0f);
        CU_ASSERT_EQUAL_FATAL(run_list(&p, fp64, &x, &c.r, &c.w, c.o, NULL, c.crit), LL_OK);
        CU_ASSERT_EQUAL(tile_kept(&c.w, 2), 1.0);
        full_list_call_close(&c);
        qkv_free(&x);
    }
}

// A NaN row term makes the criterion NaN, and a NaN criterion never marks a
// tile. Query row 0 is (1e38, 0, ...) and key dim 0 is 0.5, except 8 at the
// first token of tile 3 and of its copy, tile 2: row 0's scores there
// overflow fp32 to +inf, so its term at tile 2 is inf - inf. Query tile 0
// keeps tile 2 at threshold 0 (its other rows alone give exactly 0; fmaxf
// would drop the NaN and mark it); the other query tiles mark it.
static void test_nan_criterion_keeps(void) {
    qkv x;
    qkv_make(&x, 1, 128, 2, 64, LL_BF16, 4343, 3.0f);
    for (int n = 0; n < x.s.N; n++)
        for (int h = 0; h < x.s.H; h++) {
            size_t i = ((size_t)n * x.s.H + h) * x.s.D;
            x.k[i] = ll_float_to_half(LL_BF16, n == 96 ? 8.0f : 0.5f);
            if (n == 0)
                for (int d = 0; d < x.s.D; d++) x.q[i + d] = ll_float_to_half(LL_BF16, d == 0 ? 1e38f : 0.0f);
        }
    copy_key_tile(&x, 32, 3, 2);
    ll_attn_params p = params(&x.s, 32, 32, 0.0f);
    full_list_call c;
    full_list_call_open(&c, &x, &p);
    CU_ASSERT_EQUAL_FATAL(run_list(&p, 0, &x, &c.r, &c.w, c.o, NULL, c.crit), LL_OK);
    uint8_t keep[4];
    for (int h = 0; h < 2; h++)
        for (int qt = 0; qt < c.qts; qt++) {
            ll_skip_list_row_to_keep(ll_skip_list_row(&c.w, 0, h, qt), c.kts, LL_END_EXCLUSIVE, keep);
            float crit = c.crit[((size_t)h * c.qts + qt) * c.kts + 2];
            if (qt == 0) {
                CU_ASSERT(isnan(crit));
                CU_ASSERT_EQUAL(keep[2], 1);
            } else {
                CU_ASSERT_EQUAL(crit, 0.0f);
                CU_ASSERT_EQUAL(keep[2], 0);
            }
        }
    full_list_call_close(&c);
    qkv_free(&x);
}

// The shared rule itself, as the kernels compile it too.
static void test_decision_functions(void) {
    CU_ASSERT_TRUE(ll_crit_negligible(0.0f, 0.0f));
    CU_ASSERT_FALSE(ll_crit_negligible(0.0f, nextafterf(0.0f, -1.0f)));
    CU_ASSERT_FALSE(ll_crit_negligible(NAN, 0.0f));
    CU_ASSERT_FALSE(ll_crit_negligible(NAN, INFINITY));
    CU_ASSERT_TRUE(ll_crit_negligible(-INFINITY, -INFINITY));
    CU_ASSERT_TRUE(ll_crit_negligible64(-1.0, -1.0));
    CU_ASSERT_FALSE(ll_crit_negligible64(NAN, 0.0));
    CU_ASSERT(isnan(ll_crit_max(NAN, 1.0f)) && isnan(ll_crit_max(1.0f, NAN)));
    CU_ASSERT(isnan(ll_crit_max(-INFINITY, NAN)));
    CU_ASSERT_EQUAL(ll_crit_max(-2.0f, 3.0f), 3.0f);
    CU_ASSERT_EQUAL(ll_crit_max(3.0f, -2.0f), 3.0f);
    CU_ASSERT(isnan(ll_crit_max64(NAN, 1.0)) && ll_crit_max64(1.0, 2.0) == 2.0);
    CU_ASSERT_TRUE(ll_tile_keep(0, 0, 1));  // the first computed tile, negligible or not
    CU_ASSERT_TRUE(ll_tile_keep(3, 1, 1));  // must-do
    CU_ASSERT_FALSE(ll_tile_keep(3, 0, 1));
    CU_ASSERT_TRUE(ll_tile_keep(3, 0, 0));
}

// Dense mode: no criterion at all.
static void test_dense_no_criterion(void) {
    qkv x;
    qkv_make(&x, 1, 100, 1, 64, LL_BF16, 3, 3.0f);
    ll_attn_params p = params(&x.s, 32, 32, 0.0f);
    int n = ll_q_tiles(&x.s, &p.tiling) * ll_k_tiles(&x.s, &p.tiling);
    float *o = malloc(ll_shape_elems(&x.s) * 4), *crit = malloc(n * 4);
    ll_error err;
    CU_ASSERT_EQUAL(ll_reference_forward(&p, NULL, x.q, x.k, x.v, NULL, NULL, o, NULL, crit, NULL, &err), LL_OK);
    int all_nan = 1;
    for (int i = 0; i < n; i++) all_nan &= isnan(crit[i]);
    CU_ASSERT(all_nan);
    free(o);
    free(crit);
    qkv_free(&x);
}

// An empty row computes nothing: O = 0 and LSE = -inf for its rows.
static void test_empty_row(void) {
    qkv x;
    qkv_make(&x, 1, 70, 1, 64, LL_FP16, 4, 1.0f);
    ll_attn_params p = params(&x.s, 32, 32, -3.0f);
    int qts = ll_q_tiles(&x.s, &p.tiling), kts = ll_k_tiles(&x.s, &p.tiling);
    ll_skip_list r, w;
    ll_error err;
    ll_skip_list_alloc(&r, 1, 1, qts, kts, LL_END_EXCLUSIVE, &err);
    ll_skip_list_alloc(&w, 1, 1, qts, kts, LL_END_EXCLUSIVE, &err);
    ll_skip_list_fill_full(&r);
    ll_skip_list_row(&r, 0, 0, 1)[0] = 0;  // query tile 1: nothing
    float *o = malloc(ll_shape_elems(&x.s) * 4), *lse = malloc(70 * 4);
    CU_ASSERT_EQUAL_FATAL(run_list(&p, 0, &x, &r, &w, o, lse, NULL), LL_OK);
    int ok = 1;
    for (int n = 32; n < 64; n++) {
        ok &= isinf(lse[n]) && lse[n] < 0;
        for (int d = 0; d < 64; d++) ok &= o[(size_t)n * 64 + d] == 0.0f;
    }
    CU_ASSERT(ok);
    CU_ASSERT(isfinite(lse[0]) && isfinite(lse[69]));
    CU_ASSERT_EQUAL(ll_skip_list_row(&w, 0, 0, 1)[0], 0);
    free(o);
    free(lse);
    ll_skip_list_free(&r);
    ll_skip_list_free(&w);
    qkv_free(&x);
}

// ---------------------------------------------------------------------------
// 20-step chains: each write list is the next step's read list, inputs drift
// a little from step to step (as between denoising steps).
//   exclusive: the computed set only shrinks, a dropped tile never returns;
//   production: step t+1 computes exactly the tiles step t kept plus, below
//   each kept tile, the first tile of the skipped run that follows it in the
//   same read range (the tile the writer records as the range's end).
static void run_chain(ll_list_encoding enc, int D, uint64_t seed, int *dropped_total) {
    ll_shape s = {1, 260, 2, D, LL_BF16};
    ll_attn_params p = params(&s, 32, 32, -4.0f);
    int qts = ll_q_tiles(&s, &p.tiling), kts = ll_k_tiles(&s, &p.tiling);
    ll_skip_list lists[2];
    ll_error err;
    ll_skip_list_alloc(&lists[0], 1, 2, qts, kts, enc, &err);
    ll_skip_list_alloc(&lists[1], 1, 2, qts, kts, enc, &err);
    ll_skip_list_fill_full(&lists[0]);
    size_t rows = ll_skip_list_rows(&lists[0]), no = ll_shape_elems(&s);
    uint8_t *expect = malloc(rows * kts), *kr = malloc(kts), *kept = malloc(kts), *gone = calloc(rows * kts, 1);
    float *o = malloc(no * 4), *crit = malloc(rows * kts * 4);
    int have_expect = 0, bad_shrink = 0, bad_expect = 0, bad_readd = 0, overflowed = 0;
    for (int step = 0; step < 20; step++) {
        qkv x = {.s = s};
        x.q = local_tensor(&s, seed, 4.0f, seed + 100 + step, 0.1f);
        x.k = local_tensor(&s, seed + 1, 4.0f, seed + 200 + step, 0.1f);
        x.v = random_tensor(&s, seed + 2, 1.0f, seed + 300 + step, 0.05f);
        ll_skip_list *r = &lists[step & 1], *w = &lists[(step + 1) & 1];
        ll_status st = run_list(&p, 0, &x, r, w, o, NULL, crit);
        qkv_free(&x);
        if (st != LL_OK) { overflowed = 1; break; }
        for (size_t i = 0; i < rows; i++) {
            const int32_t *rr = r->data + i * ll_skip_list_row_len(kts);
            ll_skip_list_row_to_keep(rr, kts, enc, kr);
            if (have_expect)
                for (int kt = 0; kt < kts; kt++) bad_expect += kr[kt] != expect[i * kts + kt];
            if (enc == LL_END_EXCLUSIVE)  // a tile dropped at any earlier step never comes back
                for (int kt = 0; kt < kts; kt++) bad_readd += kr[kt] && gone[i * kts + kt];
            // What this step keeps, from its own criterion values.
            memset(kept, 0, kts);
            for (int kt = 0; kt < kts; kt++) {
                float c = crit[i * kts + kt];
                kept[kt] = kr[kt] && !(c <= p.threshold);  // NaN (first tile) is kept
                *dropped_total += kr[kt] && !kept[kt];
                if (kr[kt] && !kept[kt]) gone[i * kts + kt] = 1;
            }
            uint8_t *ex = expect + i * kts;
            memcpy(ex, kept, kts);
            if (enc == LL_END_INCLUSIVE_PRODUCTION)
                for (int e = 0; e < rr[0]; e += 2)
                    for (int kt = rr[1 + e] - 1; kt >= ll_range_last(rr[2 + e], enc); kt--)
                        if (!kept[kt] && kept[kt + 1]) ex[kt] = 1;
            for (int kt = 0; kt < kts; kt++) bad_shrink += enc == LL_END_EXCLUSIVE && ex[kt] && !kr[kt];
        }
        have_expect = 1;
    }
    CU_ASSERT_FALSE(overflowed);
    CU_ASSERT_EQUAL(bad_shrink, 0);
    CU_ASSERT_EQUAL(bad_expect, 0);
    CU_ASSERT_EQUAL(bad_readd, 0);
    free(gone);
    free(expect); free(kr); free(kept); free(o); free(crit);
    ll_skip_list_free(&lists[0]);
    ll_skip_list_free(&lists[1]);
}

static void test_chain_20_steps(void) {
    for (int enc = 0; enc <= 1; enc++) {
        int dropped = 0;
        run_chain((ll_list_encoding)enc, enc ? 96 : 64, 2000 + enc, &dropped);
        CU_ASSERT(dropped > 0);
    }
}

// ---------------------------------------------------------------------------
// Bad input: a clear status and message, never a crash.

static void expect_fail(ll_status st, const ll_error *err, const char *needle) {
    CU_ASSERT_EQUAL(st, LL_ERR_INVALID);
    if (st == LL_OK) return;
    if (!strstr(err->msg, needle)) fprintf(stderr, "\n  message '%s' lacks '%s'\n", err->msg, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(err->msg, needle));
}

static void test_bad_input(void) {
    qkv x;
    qkv_make(&x, 1, 100, 2, 64, LL_BF16, 8, 1.0f);
    float *o = malloc(ll_shape_elems(&x.s) * 4);
    ll_error err;
    ll_attn_params p = params(&x.s, 32, 32, -5.0f);
    ll_reference_options opt = {.check_inputs = 1};
    int qts = ll_q_tiles(&x.s, &p.tiling), kts = ll_k_tiles(&x.s, &p.tiling);

    ll_attn_params bad = p;
    bad.shape.N = 0;
    expect_fail(ll_reference_forward(&bad, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err, "N=0");
    bad = p;
    bad.shape.D = 80;
    expect_fail(ll_reference_forward(&bad, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err, "D=80");
    bad = p;
    bad.tiling.block_n = 20;
    CU_ASSERT_NOT_EQUAL(ll_reference_forward(&bad, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), LL_OK);
    bad = p;
    bad.threshold = NAN;
    expect_fail(ll_reference_forward(&bad, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err, "threshold");
    bad = p;
    bad.softmax_scale = -1.0f;
    expect_fail(ll_reference_forward(&bad, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err,
                "softmax_scale");
    expect_fail(ll_reference_forward(&p, &opt, NULL, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err, "Q");
    uint8_t flags[4] = {0, 7, 0, 0};
    bad = p;
    bad.key_tile_flags = flags;
    expect_fail(ll_reference_forward(&bad, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err,
                "key_tile_flags[1]");

    // NaN in Q at (b=0, n=37, h=1, d=5), Inf in V at (0, 99, 0, 63).
    size_t iq = ((size_t)37 * 2 + 1) * 64 + 5, iv = ((size_t)99 * 2 + 0) * 64 + 63;
    uint16_t saved = x.q[iq];
    x.q[iq] = ll_float_to_bf16(NAN);
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err,
                "Q: NaN at (b=0, n=37, h=1, d=5)");
    opt.check_inputs = 0;  // the caller vouches for the inputs: no scan
    CU_ASSERT_EQUAL(ll_reference_forward(&p, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), LL_OK);
    opt.check_inputs = 1;
    x.q[iq] = saved;
    x.v[iv] = ll_float_to_bf16(INFINITY);
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err,
                "V: +Inf at (b=0, n=99, h=0, d=63)");
    expect_fail(ll_reference_forward(&p, NULL, x.q, x.k, x.v, NULL, NULL, o, NULL, NULL, NULL, &err), &err, "V: +Inf");
    x.v[iv] = ll_float_to_bf16(1.0f);

    ll_skip_list r, w, w_dims, w_enc;
    ll_skip_list_alloc(&r, 1, 2, qts, kts, LL_END_EXCLUSIVE, &err);
    ll_skip_list_alloc(&w, 1, 2, qts, kts, LL_END_EXCLUSIVE, &err);
    ll_skip_list_alloc(&w_dims, 1, 2, qts, kts + 1, LL_END_EXCLUSIVE, &err);
    ll_skip_list_alloc(&w_enc, 1, 2, qts, kts, LL_END_INCLUSIVE_PRODUCTION, &err);
    ll_skip_list_fill_full(&r);
    CU_ASSERT_EQUAL(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &r, &w, o, NULL, NULL, NULL, &err), LL_OK);
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &r, &w_dims, o, NULL, NULL, NULL, &err), &err,
                "write list: dimensions");
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &r, &w_enc, o, NULL, NULL, NULL, &err), &err,
                "write list: encoding");
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &r, &r, o, NULL, NULL, NULL, &err), &err, "write list");
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, NULL, &w, o, NULL, NULL, NULL, &err), &err, "dense mode");
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &w_dims, NULL, o, NULL, NULL, NULL, &err), &err,
                "read list: dimensions");
    // Corrupt read lists: odd length, ascending ranges, out of bounds.
    int32_t *row = ll_skip_list_row(&r, 0, 1, 2);
    row[0] = 1;
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &r, &w, o, NULL, NULL, NULL, &err), &err, "read list");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "h=1"));
    row[0] = 4; row[1] = 0; row[2] = -1; row[3] = 3; row[4] = 1;
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &r, &w, o, NULL, NULL, NULL, &err), &err, "read list");
    row[0] = 2; row[1] = kts; row[2] = -1;
    expect_fail(ll_reference_forward(&p, &opt, x.q, x.k, x.v, &r, &w, o, NULL, NULL, NULL, &err), &err, "read list");
    ll_skip_list_free(&r);
    ll_skip_list_free(&w);
    ll_skip_list_free(&w_dims);
    ll_skip_list_free(&w_enc);
    free(o);
    qkv_free(&x);
}

int register_reference_suite(void) {
    CU_pSuite s = CU_add_suite("reference", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "dense matches naive softmax (D, N, dtype, tiling, fp32/fp64)", test_dense_matches_naive) ||
        !CU_add_test(s, "thread count changes no bit", test_threads_bitwise_equal) ||
        !CU_add_test(s, "threshold -inf reproduces the read list", test_minus_inf_reproduces_read_list) ||
        !CU_add_test(s, "write list within the read list", test_write_subset_of_read) ||
        !CU_add_test(s, "write row longer than the layout: fitted and counted", test_write_row_capacity) ||
        !CU_add_test(s, "must-do never marked, must-skip never computed", test_overrides) ||
        !CU_add_test(s, "skip error <= 2 * skipped mass * max|V|", test_skip_error_bound) ||
        !CU_add_test(s, "criterion equals brute force", test_criterion_brute_force) ||
        !CU_add_test(s, "exact tie at threshold 0 is negligible", test_exact_tie) ||
        !CU_add_test(s, "a NaN criterion keeps the tile", test_nan_criterion_keeps) ||
        !CU_add_test(s, "decision functions", test_decision_functions) ||
        !CU_add_test(s, "dense mode evaluates no criterion", test_dense_no_criterion) ||
        !CU_add_test(s, "empty row: O = 0, LSE = -inf", test_empty_row) ||
        !CU_add_test(s, "20-step chains in both encodings", test_chain_20_steps) ||
        !CU_add_test(s, "bad input: clear errors", test_bad_input))
        return CU_get_error();
    return CUE_SUCCESS;
}
