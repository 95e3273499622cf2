// gpu_test.c: GPU tests of the LiteAttention kernels against the CPU
// reference (the oracle: same tiles, same visiting order, same criterion).
//   ./build/gpu_test            every test on the portable kernel, then the timings
//   ./build/gpu_test --kernel hopper   the same tests on the Hopper kernel
//   ./build/gpu_test --small    small shapes only
//   ./build/gpu_test --tiny     a handful of cases, one of each kind (for compute-sanitizer)
//   ./build/gpu_test --no-bench / --bench-only
// (Earlier kernel versions check themselves: `make dev-kernels`, kernels/dev/.)
// What is checked:
//   - O and LSE vs the fp64 reference: relative L2 of O < 1e-2 (bf16) and
//     < 2e-3 (fp16), LSE max abs error < 1e-3, every element written (O and
//     LSE are poisoned with 0xFF bytes = NaN before each call);
//   - write lists identical to the reference's, except tiles whose criterion
//     lies within 1e-3 (log2 units) of the threshold (counted and printed);
//   - 20-step chains with evolving lists (thresholds -6, -10; both encodings);
//   - dense mode == skip mode at threshold -inf, bit for bit;
//   - exact ties (a repeated key tile: criterion exactly 0) marked at
//     threshold 0 and kept just below it; a NaN criterion never marks;
//   - must-do / must-skip at D = 64, 96, 128 with N not a multiple of the tile;
//   - corrupt read lists reported, never walked; rows that need more entries
//     than a row holds fitted as the reference fits them, and counted;
//   - the GPU tile maps;
//   - API misuse answered with clear errors.
#include "gpu_test.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "rng.h"
#include "skip_decision.h"
#include "skip_list.h"
#include "tile_maps.h"
#include "tile_overrides.h"

int gt_passed = 0, gt_failed = 0;
ll_kernel_variant gt_kernel = LL_KERNEL_PORTABLE;

ll_kernel_variant gt_variant_for(const ll_shape *s) {
    ll_kernel_variant got;
    ll_tiling t;
    ll_error err;
    if (gt_kernel == LL_KERNEL_HOPPER && ll_cuda_pick(s, LL_KERNEL_HOPPER, &got, &t, &err) == LL_OK) return got;
    return LL_KERNEL_PORTABLE;
}

// Tolerances. Output rounding to bf16 alone has relative error up to 2^-9
// (8-bit significand, round to nearest) per element, so about 2^-9 = 2.0e-3
// in relative L2; P is rounded to bf16 before P V as well, which can add as
// much again in the worst case: ~4e-3 for bf16, and 1e-2 leaves room for the
// fp32 accumulation and the approximate exp2. fp16 has a 11-bit significand:
// 2^-12 = 2.4e-4 per rounding, ~5e-4 for the two, 2e-3 bound.
static const double TOL_BF16 = 1e-2, TOL_FP16 = 2e-3, TOL_LSE = 1e-3;
static const float TIE_WINDOW = 1e-3f;  // log2 units

static double o_tolerance(ll_dtype t) { return t == LL_FP16 ? TOL_FP16 : TOL_BF16; }

// ---------------------------------------------------------------------------
// Inputs

void gt_make_inputs(const ll_shape *s, gt_input_kind kind, uint64_t seed, int step, uint16_t *q, uint16_t *k,
                    uint16_t *v) {
    const int n_clusters = 6, run = 96;  // runs of 96 tokens share one of 6 directions
    const double strength = 9.0 + 0.25 * step, fresh = 0.3, keep = sqrt(1.0 - fresh * fresh);
    size_t n = ll_shape_elems(s);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        size_t rest = i;
        int d = (int)(rest % (size_t)s->D); rest /= (size_t)s->D;
        int h = (int)(rest % (size_t)s->H); rest /= (size_t)s->H;
        int tok = (int)(rest % (size_t)s->N);
        float x[3];
        for (int t = 0; t < 3; t++) {
            double base = ll_normal(ll_hash4(seed, (uint64_t)t, i, 0));
            if (kind == GT_RANDOM) {
                x[t] = (float)base;
                continue;
            }
            // slowly evolving noise: most of it fixed, a part fresh each step
            double noise = keep * base + fresh * ll_normal(ll_hash4(seed ^ 0x5bd1e995u, (uint64_t)t, i, (uint64_t)step + 1));
            int cluster = ((tok + 37 * h) / run) % n_clusters;
            double dir = (t < 2 && d / 8 == cluster) ? strength / sqrt(8.0) : 0.0;
            x[t] = (float)(dir + noise);
        }
        q[i] = ll_float_to_half(s->dtype, x[0]);
        k[i] = ll_float_to_half(s->dtype, x[1]);
        v[i] = ll_float_to_half(s->dtype, x[2]);
    }
}

// ---------------------------------------------------------------------------
// Device buffers of one call

typedef struct {
    uint16_t *q, *k, *v, *o;
    float *lse;
    int32_t *read, *write;
    uint8_t *flags;
    int *fitted;  // the kernel's count of write-list rows that needed the fit rule
} dev_call;

static void dev_call_free(dev_call *d) {
    ll_cuda_free(d->q); ll_cuda_free(d->k); ll_cuda_free(d->v); ll_cuda_free(d->o);
    ll_cuda_free(d->lse); ll_cuda_free(d->read); ll_cuda_free(d->write); ll_cuda_free(d->flags);
    ll_cuda_free(d->fitted);
    memset(d, 0, sizeof *d);
}

static ll_status dev_call_alloc(dev_call *d, const ll_shape *s, const ll_tiling *t, const uint16_t *q,
                                const uint16_t *k, const uint16_t *v, ll_error *err) {
    memset(d, 0, sizeof *d);
    size_t bytes = ll_shape_elems(s) * sizeof(uint16_t);
    size_t list_bytes = (size_t)s->B * s->H * ll_q_tiles(s, t) * ll_skip_list_row_len(ll_k_tiles(s, t)) * sizeof(int32_t);
    LL_TRY(ll_cuda_malloc((void **)&d->q, bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&d->k, bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&d->v, bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&d->o, bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&d->lse, (size_t)s->B * s->H * s->N * sizeof(float), err));
    LL_TRY(ll_cuda_malloc((void **)&d->read, list_bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&d->write, list_bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&d->flags, (size_t)ll_k_tiles(s, t), err));
    LL_TRY(ll_cuda_malloc((void **)&d->fitted, sizeof(int), err));
    LL_TRY(ll_cuda_upload(d->q, q, bytes, err));
    LL_TRY(ll_cuda_upload(d->k, k, bytes, err));
    LL_TRY(ll_cuda_upload(d->v, v, bytes, err));
    return LL_OK;
}

// Host copies of one GPU call's results.
typedef struct {
    uint16_t *o;
    float *lse;
    ll_skip_list write;  // valid when the call had a write list
    int fitted_rows;     // of the write list: rows that needed the fit rule
} gpu_result;

static void gpu_result_free(gpu_result *r) {
    free(r->o);
    free(r->lse);
    ll_skip_list_free(&r->write);
    memset(r, 0, sizeof *r);
}

// Poisons O, LSE (and the write list), runs one forward call, downloads.
// read: host list or NULL (dense); flags: host bytes or NULL.
static ll_status gpu_call(const ll_attn_params *p, dev_call *d, const ll_skip_list *read, const uint8_t *flags,
                          gpu_result *r, ll_error *err) {
    const ll_shape *s = &p->shape;
    size_t bytes = ll_shape_elems(s) * sizeof(uint16_t), lse_bytes = (size_t)s->B * s->H * s->N * sizeof(float);
    memset(r, 0, sizeof *r);
    r->o = malloc(bytes);
    r->lse = malloc(lse_bytes);
    if (!r->o || !r->lse) return ll_fail(err, LL_ERR_NOMEM, "gpu_call: host memory");
    LL_TRY(ll_cuda_memset(d->o, 0xff, bytes, err));
    LL_TRY(ll_cuda_memset(d->lse, 0xff, lse_bytes, err));
    ll_cuda_args a = {.q = d->q, .k = d->k, .v = d->v, .o = d->o, .lse = d->lse};
    if (read) {
        size_t lb = ll_skip_list_rows(read) * (size_t)ll_skip_list_row_len(read->k_tiles) * sizeof(int32_t);
        LL_TRY(ll_cuda_upload(d->read, read->data, lb, err));
        LL_TRY(ll_cuda_memset(d->write, 0xff, lb, err));
        a.read_list = d->read;
        a.write_list = d->write;
        a.encoding = read->encoding;
        a.fitted_rows = d->fitted;
        LL_TRY(ll_cuda_memset(d->fitted, 0, sizeof(int), err));
        if (flags) {
            LL_TRY(ll_cuda_upload(d->flags, flags, (size_t)read->k_tiles, err));
            a.key_tile_flags = d->flags;
        }
    }
    LL_TRY(ll_cuda_forward(gt_variant_for(&p->shape), p, &a, err));
    LL_TRY(ll_cuda_sync(err));
    LL_TRY(ll_cuda_download(r->o, d->o, bytes, err));
    LL_TRY(ll_cuda_download(r->lse, d->lse, lse_bytes, err));
    if (read) {
        LL_TRY(ll_skip_list_alloc(&r->write, read->B, read->H, read->q_tiles, read->k_tiles, read->encoding, err));
        size_t lb = ll_skip_list_rows(read) * (size_t)ll_skip_list_row_len(read->k_tiles) * sizeof(int32_t);
        LL_TRY(ll_cuda_download(r->write.data, d->write, lb, err));
        LL_TRY(ll_cuda_download(&r->fitted_rows, d->fitted, sizeof(int), err));
    }
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Comparisons

static int is_nan16(ll_dtype t, uint16_t x) {
    return t == LL_FP16 ? ((x & 0x7c00u) == 0x7c00u && (x & 0x3ffu)) : ((x & 0x7f80u) == 0x7f80u && (x & 0x7fu));
}

typedef struct {
    double rel_l2, lse_err;
    size_t o_unwritten, lse_unwritten;
} out_errors;

static out_errors compare_outputs(const ll_shape *s, const uint16_t *o, const float *lse, const float *o_ref,
                                  const float *lse_ref) {
    out_errors e = {0};
    double num = 0, den = 0;
    size_t n = ll_shape_elems(s);
    for (size_t i = 0; i < n; i++) {
        if (is_nan16(s->dtype, o[i])) {
            e.o_unwritten++;
            continue;
        }
        double diff = (double)ll_half_to_float(s->dtype, o[i]) - o_ref[i];
        num += diff * diff;
        den += (double)o_ref[i] * o_ref[i];
    }
    e.rel_l2 = den > 0 ? sqrt(num / den) : sqrt(num);
    size_t nl = (size_t)s->B * s->H * s->N;
    for (size_t i = 0; i < nl; i++) {
        if (isnan(lse[i])) {
            e.lse_unwritten++;
            continue;
        }
        if (isinf(lse_ref[i]) || isinf(lse[i])) {
            if (lse[i] != lse_ref[i]) e.lse_err = INFINITY;
            continue;
        }
        double d = fabs((double)lse[i] - lse_ref[i]);
        if (d > e.lse_err) e.lse_err = d;
    }
    return e;
}

static void check_outputs(const char *what, const ll_shape *s, const gpu_result *g, const float *o_ref,
                          const float *lse_ref) {
    out_errors e = compare_outputs(s, g->o, g->lse, o_ref, lse_ref);
    GT_CHECK(e.o_unwritten == 0 && e.lse_unwritten == 0, "%s: %zu O and %zu LSE elements never written", what,
             e.o_unwritten, e.lse_unwritten);
    GT_CHECK(e.rel_l2 < o_tolerance(s->dtype), "%s: O relative L2 %.3g >= %.1g", what, e.rel_l2,
             o_tolerance(s->dtype));
    GT_CHECK(e.lse_err < TOL_LSE, "%s: LSE max abs error %.3g >= %.1g", what, e.lse_err, TOL_LSE);
    printf("    %-58s O relL2 %.2e  LSE err %.2e\n", what, e.rel_l2, e.lse_err);
}

// The list writer replayed on the host over a read row with the reference's
// decisions (from its crit values), except the tie tiles selected by `flip`,
// whose decision is inverted; the row fitted as the writer fits it. out needs
// 2 * k_tiles + 4 ints.
static void replay_row(const int32_t *rr, int k_tiles, ll_list_encoding enc, const uint8_t *flags,
                       const float *crit_row, float thr, const int *ties, int n_ties, unsigned flip, int32_t *out) {
    ll_list_writer w;
    ll_list_writer_begin(&w, out + 1);
    int computed = 0;
    for (int i = 0; i < rr[0]; i += 2) {
        int32_t start = rr[1 + i], end = rr[2 + i];
        for (int kt = start; kt >= ll_range_last(end, enc); kt--) {
            uint8_t f = flags ? flags[kt] : (uint8_t)LL_TILE_FREE;
            if (f == LL_TILE_MUST_SKIP) {
                ll_list_writer_tile(&w, kt, 0);
                continue;
            }
            int keep = ll_tile_keep(computed, f == LL_TILE_MUST_DO, ll_crit_negligible(crit_row[kt], thr));
            for (int t = 0; t < n_ties; t++)
                if (ties[t] == kt && ((flip >> t) & 1u)) keep = !keep;
            computed++;
            ll_list_writer_tile(&w, kt, keep);
        }
        ll_list_writer_range_end(&w, end);
    }
    ll_list_writer_finish(&w, out, k_tiles);
}

static int rows_equal(const int32_t *a, const int32_t *b) {
    if (a[0] != b[0]) return 0;
    return memcmp(a + 1, b + 1, sizeof(int32_t) * (size_t)a[0]) == 0;
}

// Same entries in every row (slots past a row's length are not part of it).
static int lists_equal(const ll_skip_list *a, const ll_skip_list *b) {
    if (a->B != b->B || a->H != b->H || a->q_tiles != b->q_tiles || a->k_tiles != b->k_tiles) return 0;
    for (size_t r = 0; r < ll_skip_list_rows(a); r++) {
        const int32_t *ra = a->data + r * (size_t)ll_skip_list_row_len(a->k_tiles);
        const int32_t *rb = b->data + r * (size_t)ll_skip_list_row_len(b->k_tiles);
        if (ra[0] < 0 || ra[0] > a->k_tiles || !rows_equal(ra, rb)) return 0;
    }
    return 1;
}

typedef struct {
    long rows, equal, tie_rows, tie_tiles, mismatched, replay_bad;
} list_stats;

// Compares the GPU's write list with the reference's row by row; a row that
// differs is accepted when flipping the decisions of some tie tiles (crit
// within TIE_WINDOW of the threshold) reproduces it exactly.
static list_stats compare_lists(const ll_skip_list *read, const ll_skip_list *gpu, const ll_skip_list *ref,
                                const float *crit, const uint8_t *flags, float thr) {
    list_stats st = {0};
    int K = read->k_tiles;
    int32_t *scratch = malloc(sizeof(int32_t) * (size_t)(2 * K + 4));
    int *ties = malloc(sizeof(int) * (size_t)K);
    for (int b = 0; b < read->B; b++)
        for (int h = 0; h < read->H; h++)
            for (int qt = 0; qt < read->q_tiles; qt++) {
                st.rows++;
                const int32_t *rr = ll_skip_list_row(read, b, h, qt);
                const int32_t *gr = ll_skip_list_row(gpu, b, h, qt), *fr = ll_skip_list_row(ref, b, h, qt);
                const float *cr = crit + (((size_t)b * read->H + h) * read->q_tiles + qt) * (size_t)K;
                replay_row(rr, K, read->encoding, flags, cr, thr, NULL, 0, 0, scratch);
                if (!rows_equal(scratch, fr)) st.replay_bad++;  // the replay must reproduce the reference
                if (rows_equal(gr, fr)) {
                    st.equal++;
                    continue;
                }
                int n_ties = 0;
                for (int kt = 0; kt < K; kt++)
                    if (!isnan(cr[kt]) && fabsf(cr[kt] - thr) <= TIE_WINDOW) ties[n_ties++] = kt;
                int ok = 0;
                if (n_ties <= 12)
                    for (unsigned flip = 1; !ok && flip < (1u << n_ties); flip++) {
                        replay_row(rr, K, read->encoding, flags, cr, thr, ties, n_ties, flip, scratch);
                        if (rows_equal(scratch, gr)) {
                            ok = 1;
                            st.tie_tiles += __builtin_popcount(flip);
                        }
                    }
                if (ok) {
                    st.tie_rows++;
                } else {
                    if (st.mismatched < 3)
                        printf("      row (b=%d h=%d qt=%d) differs: gpu len %d, reference len %d, %d tie tiles\n", b,
                               h, qt, gr[0], fr[0], n_ties);
                    st.mismatched++;
                }
            }
    free(scratch);
    free(ties);
    return st;
}

static void check_lists(const char *what, const ll_skip_list *read, const ll_skip_list *gpu,
                        const ll_skip_list *ref, const float *crit, const uint8_t *flags, float thr,
                        long *tie_total) {
    ll_error err;
    GT_CHECK(ll_skip_list_validate(gpu, "GPU write list", &err) == LL_OK, "%s: %s", what, err.msg);
    list_stats st = compare_lists(read, gpu, ref, crit, flags, thr);
    GT_CHECK(st.replay_bad == 0, "%s: host replay of the writer disagrees with the reference on %ld rows", what,
             st.replay_bad);
    GT_CHECK(st.mismatched == 0, "%s: %ld of %ld write-list rows differ beyond ties", what, st.mismatched, st.rows);
    long kept = 0, total = 0;
    for (int b = 0; b < gpu->B; b++)
        for (int h = 0; h < gpu->H; h++)
            for (int qt = 0; qt < gpu->q_tiles; qt++) {
                kept += ll_skip_list_row_kept(ll_skip_list_row(gpu, b, h, qt), gpu->k_tiles, gpu->encoding);
                total += gpu->k_tiles;
            }
    printf("    %-58s lists: %ld rows, %ld equal, %ld tie rows (%ld tie tiles), kept %.3f\n", what, st.rows,
           st.equal, st.tie_rows, st.tie_tiles, total ? (double)kept / total : 0.0);
    if (tie_total) *tie_total += st.tie_tiles;
}

// ---------------------------------------------------------------------------
// One case: inputs, GPU call and reference call, compared.

typedef struct {
    ll_shape shape;
    gt_input_kind kind;
    uint64_t seed;
    int skip;  // 0: dense
    float threshold;
    ll_list_encoding enc;
    const uint8_t *flags;  // host key-tile flags or NULL
} case_cfg;

static long g_ties = 0;

static void run_case(const case_cfg *c) {
    ll_error err;
    ll_error_clear(&err);
    const ll_shape *s = &c->shape;
    char what[160];
    snprintf(what, sizeof what, "D=%d %s N=%d B=%d H=%d %s", s->D, ll_dtype_name(s->dtype), s->N, s->B, s->H,
             c->skip ? "skip" : "dense");
    if (c->skip)
        snprintf(what + strlen(what), sizeof what - strlen(what), " thr=%g %s%s", (double)c->threshold,
                 ll_list_encoding_name(c->enc), c->flags ? " flags" : "");
    ll_kernel_variant got;
    ll_attn_params p = {.shape = *s, .threshold = c->threshold, .key_tile_flags = c->flags};
    GT_OK(ll_cuda_pick(s, gt_variant_for(s), &got, &p.tiling, &err), &err);
    size_t n = ll_shape_elems(s), nl = (size_t)s->B * s->H * s->N;
    int qts = ll_q_tiles(s, &p.tiling), kts = ll_k_tiles(s, &p.tiling);
    uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2);
    float *o_ref = malloc(n * sizeof(float)), *lse_ref = malloc(nl * sizeof(float));
    float *crit = malloc(sizeof(float) * (size_t)s->B * s->H * qts * kts);
    ll_skip_list read = {0}, ref_write = {0};
    gpu_result g = {0};
    dev_call d = {0};
    gt_make_inputs(s, c->kind, c->seed, 0, q, k, v);
    if (c->skip && ll_skip_list_row_len(kts) < 3) {
        // One key tile: a row of k_tiles + 1 = 2 ints (skip_list.h) cannot hold the full list
        // [2, start, end] (skip_list.h's layout), so skip mode must refuse.
        dev_call d1;
        ll_status st = dev_call_alloc(&d1, s, &p.tiling, q, k, v, &err);
        ll_cuda_args a = {.q = d1.q, .k = d1.k, .v = d1.v, .o = d1.o, .read_list = d1.read, .write_list = d1.write};
        if (st == LL_OK) st = ll_cuda_forward(gt_variant_for(s), &p, &a, &err);
        GT_CHECK(st == LL_ERR_INVALID && strstr(err.msg, "cannot hold"), "%s: single key tile must be refused in skip "
                 "mode: %s", what, err.msg);
        printf("    %-58s refused as expected (one key tile: the row layout cannot hold a full list)\n", what);
        dev_call_free(&d1);
        free(q); free(k); free(v); free(o_ref); free(lse_ref); free(crit);
        return;
    }
    if (c->skip) {
        GT_OK(ll_skip_list_alloc(&read, s->B, s->H, qts, kts, c->enc, &err), &err);
        GT_OK(ll_skip_list_alloc(&ref_write, s->B, s->H, qts, kts, c->enc, &err), &err);
        ll_skip_list_fill_full(&read);
    }
    ll_status st = dev_call_alloc(&d, s, &p.tiling, q, k, v, &err);
    if (st == LL_OK) st = gpu_call(&p, &d, c->skip ? &read : NULL, c->flags, &g, &err);
    GT_CHECK(st == LL_OK, "%s: GPU call failed: %s", what, err.msg);
    ll_reference_options opt = {.use_fp64 = 1, .check_inputs = 1};
    int ref_fitted = 0;
    ll_status rs = ll_reference_forward(&p, &opt, q, k, v, c->skip ? &read : NULL, c->skip ? &ref_write : NULL,
                                        o_ref, lse_ref, c->skip ? crit : NULL, &ref_fitted, &err);
    GT_CHECK(rs == LL_OK, "%s: reference failed: %s", what, err.msg);
    if (st == LL_OK && rs == LL_OK) {
        check_outputs(what, s, &g, o_ref, lse_ref);
        long ties_before = g_ties;
        if (c->skip) check_lists(what, &read, &g.write, &ref_write, crit, c->flags, c->threshold, &g_ties);
        GT_CHECK(g.fitted_rows == ref_fitted || g_ties > ties_before,
                 "%s: %d rows fitted by the kernel, %d by the reference", what, g.fitted_rows, ref_fitted);
        // overrides: must-do always in a written list, must-skip never (the cases' must-skip tile is the
        // first visited, never inside a gap the fit rule merges)
        if (c->skip && c->flags) {
            long bad = 0;
            uint8_t *keep = malloc((size_t)kts);
            for (size_t r = 0; r < ll_skip_list_rows(&g.write); r++) {
                ll_skip_list_row_to_keep(g.write.data + r * (size_t)ll_skip_list_row_len(kts), kts, c->enc, keep);
                for (int kt = 0; kt < kts; kt++) {
                    if (c->flags[kt] == LL_TILE_MUST_DO && !keep[kt]) bad++;
                    // production reading: the first dropped tile below a range is computed again
                    if (c->flags[kt] == LL_TILE_MUST_SKIP && keep[kt] && c->enc == LL_END_EXCLUSIVE) bad++;
                }
            }
            free(keep);
            GT_CHECK(bad == 0, "%s: %ld must-do tiles dropped or must-skip tiles kept", what, bad);
        }
    }
    dev_call_free(&d);
    gpu_result_free(&g);
    ll_skip_list_free(&read);
    ll_skip_list_free(&ref_write);
    free(q); free(k); free(v); free(o_ref); free(lse_ref); free(crit);
}

// ---------------------------------------------------------------------------
// Tests

static void test_dense_and_skip(int small) {
    printf("dense and single-step skip vs the fp64 reference\n");
    const int Ds[] = {64, 96, 128};
    const int big_N[] = {1, 127, 128, 129, 1000, 4096}, small_N[] = {1, 129, 200};
    const int *Ns = small ? small_N : big_N;
    int nN = small ? 3 : 6;
    for (int di = 0; di < 3; di++)
        for (int dt = 0; dt < 2; dt++)
            for (int ni = 0; ni < nN; ni++) {
                int N = Ns[ni];
                // B and H vary with the case; large N keeps few heads (CPU time of the reference)
                int B = N <= 1000 ? 2 : 1, H = N <= 200 ? 8 : N <= 1000 ? 3 : 2;
                if (small && dt == 1 && di != 2) continue;  // fp16 only at D=128 in --small
                case_cfg c = {.shape = {B, N, H, Ds[di], dt ? LL_FP16 : LL_BF16}, .kind = GT_RANDOM,
                              .seed = 1000u + (uint64_t)(di * 100 + dt * 10 + ni), .threshold = -INFINITY};
                run_case(&c);
                c.kind = GT_CLUSTERED;
                c.skip = 1;
                c.threshold = (ni & 1) ? -6.0f : -10.0f;
                c.enc = (ni + dt) & 1 ? LL_END_INCLUSIVE_PRODUCTION : LL_END_EXCLUSIVE;
                run_case(&c);
            }
}

// One skip-mode case with must-do tokens in the middle and must-skip padding
// at the end that covers the partial last tile and part of the one before it.
static void run_override_case(const ll_shape *s, ll_list_encoding enc, uint64_t seed) {
    ll_kernel_variant got;
    ll_tiling t;
    ll_error err;
    GT_OK(ll_cuda_pick(s, gt_variant_for(s), &got, &t, &err), &err);
    int kts = ll_k_tiles(s, &t);
    ll_token_range must_do = {s->N / 3, s->N / 3 + 10}, must_skip = {s->N - t.block_n - 20, s->N};
    ll_overrides ov = {.must_do = &must_do, .n_must_do = 1, .must_skip = &must_skip, .n_must_skip = 1};
    uint8_t *flags = malloc((size_t)kts);
    GT_OK(ll_key_tile_flags(s->N, t.block_n, &ov, flags, &err), &err);
    int n_do = 0, n_skip = 0;
    for (int kt = 0; kt < kts; kt++) {
        n_do += flags[kt] == LL_TILE_MUST_DO;
        n_skip += flags[kt] == LL_TILE_MUST_SKIP;
    }
    GT_CHECK(n_do >= 1 && n_skip >= 1, "override flags: %d must-do, %d must-skip tiles", n_do, n_skip);
    case_cfg c = {.shape = *s, .kind = GT_CLUSTERED, .seed = seed, .skip = 1, .threshold = -6.0f, .enc = enc,
                  .flags = flags};
    run_case(&c);
    free(flags);
}

static void test_overrides(int small) {
    printf("must-do / must-skip key tiles (N not a multiple of the tile)\n");
    const int Ds[] = {64, 96, 128};
    for (int di = 0; di < 3; di++)
        for (int e = 0; e < 2; e++) {
            ll_shape s = {1, small ? 300 : 1000, 2, Ds[di], di == 1 ? LL_FP16 : LL_BF16};
            run_override_case(&s, e ? LL_END_INCLUSIVE_PRODUCTION : LL_END_EXCLUSIVE, 77u + (uint64_t)di);
        }
}

// Dense mode and skip mode at threshold -inf over full lists visit the same
// tiles in the same order: identical bits.
static void test_dense_equals_skip_inf(void) {
    printf("dense == skip at threshold -inf\n");
    const int Ds[] = {64, 96, 128};
    for (int di = 0; di < 3; di++) {
        ll_shape s = {2, 700, 3, Ds[di], di == 2 ? LL_FP16 : LL_BF16};
        ll_error err;
        ll_kernel_variant got;
        ll_attn_params p = {.shape = s, .threshold = -INFINITY};
        GT_OK(ll_cuda_pick(&s, gt_variant_for(&s), &got, &p.tiling, &err), &err);
        size_t n = ll_shape_elems(&s), nl = (size_t)s.B * s.H * s.N;
        uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2);
        gt_make_inputs(&s, GT_CLUSTERED, 31u + (uint64_t)di, 0, q, k, v);
        ll_skip_list read = {0};
        GT_OK(ll_skip_list_alloc(&read, s.B, s.H, ll_q_tiles(&s, &p.tiling), ll_k_tiles(&s, &p.tiling),
                                 LL_END_EXCLUSIVE, &err), &err);
        ll_skip_list_fill_full(&read);
        dev_call d;
        gpu_result dense = {0}, skip = {0};
        ll_status st = dev_call_alloc(&d, &s, &p.tiling, q, k, v, &err);
        if (st == LL_OK) st = gpu_call(&p, &d, NULL, NULL, &dense, &err);
        if (st == LL_OK) st = gpu_call(&p, &d, &read, NULL, &skip, &err);
        GT_CHECK(st == LL_OK, "dense vs skip D=%d: %s", s.D, err.msg);
        if (st == LL_OK) {
            GT_CHECK(memcmp(dense.o, skip.o, n * 2) == 0, "D=%d: dense and skip(-inf) O differ", s.D);
            GT_CHECK(memcmp(dense.lse, skip.lse, nl * sizeof(float)) == 0, "D=%d: dense and skip(-inf) LSE differ", s.D);
            GT_CHECK(lists_equal(&skip.write, &read), "D=%d: threshold -inf must write the full list back", s.D);
        }
        dev_call_free(&d);
        gpu_result_free(&dense);
        gpu_result_free(&skip);
        ll_skip_list_free(&read);
        free(q); free(k); free(v);
    }
}

// 20 steps: each step's read list is the previous step's write list, inputs
// sharpen step by step. GPU and reference read the same list each step; a row
// that differs only at tie tiles is accepted and both continue from the GPU's.
static void test_chains(int small) {
    printf("chained steps with evolving lists\n");
    const float thresholds[] = {-6.0f, -10.0f};
    int steps = small ? 3 : 20;
    for (int e = 0; e < 2; e++)
        for (int ti = 0; ti < 2; ti++) {
            ll_shape s = {1, small ? 300 : 1600, 2, e ? 64 : 128, ti ? LL_FP16 : LL_BF16};
            ll_error err;
            ll_kernel_variant got;
            ll_attn_params p = {.shape = s, .threshold = thresholds[ti]};
            GT_OK(ll_cuda_pick(&s, gt_variant_for(&s), &got, &p.tiling, &err), &err);
            ll_list_encoding enc = e ? LL_END_INCLUSIVE_PRODUCTION : LL_END_EXCLUSIVE;
            int qts = ll_q_tiles(&s, &p.tiling), kts = ll_k_tiles(&s, &p.tiling);
            size_t n = ll_shape_elems(&s), nl = (size_t)s.B * s.H * s.N;
            uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2);
            float *o_ref = malloc(n * sizeof(float)), *lse_ref = malloc(nl * sizeof(float));
            float *crit = malloc(sizeof(float) * (size_t)s.B * s.H * qts * kts);
            ll_skip_list read = {0}, ref_write = {0};
            GT_OK(ll_skip_list_alloc(&read, s.B, s.H, qts, kts, enc, &err), &err);
            GT_OK(ll_skip_list_alloc(&ref_write, s.B, s.H, qts, kts, enc, &err), &err);
            ll_skip_list_fill_full(&read);
            long ties_before = g_ties;
            int failed_before = gt_failed;
            dev_call d = {0};
            for (int step = 0; step < steps; step++) {
                char what[128];
                snprintf(what, sizeof what, "chain D=%d %s thr=%g %s step %d", s.D, ll_dtype_name(s.dtype),
                         (double)p.threshold, ll_list_encoding_name(enc), step);
                gt_make_inputs(&s, GT_CLUSTERED, 4242u, step, q, k, v);
                ll_status st = LL_OK;
                if (step == 0) {
                    st = dev_call_alloc(&d, &s, &p.tiling, q, k, v, &err);
                } else {
                    st = ll_cuda_upload(d.q, q, n * 2, &err);
                    if (st == LL_OK) st = ll_cuda_upload(d.k, k, n * 2, &err);
                    if (st == LL_OK) st = ll_cuda_upload(d.v, v, n * 2, &err);
                }
                gpu_result g = {0};
                if (st == LL_OK) st = gpu_call(&p, &d, &read, NULL, &g, &err);
                GT_CHECK(st == LL_OK, "%s: GPU call failed: %s", what, err.msg);
                ll_reference_options opt = {.use_fp64 = 1, .check_inputs = 0};
                ll_status rs = ll_reference_forward(&p, &opt, q, k, v, &read, &ref_write, o_ref, lse_ref, crit, NULL, &err);
                GT_CHECK(rs == LL_OK, "%s: reference failed: %s", what, err.msg);
                if (st != LL_OK || rs != LL_OK) {
                    gpu_result_free(&g);
                    break;
                }
                int quiet = step % 5 != 4 && step != steps - 1;  // print every 5th step
                out_errors oe = compare_outputs(&s, g.o, g.lse, o_ref, lse_ref);
                GT_CHECK(oe.o_unwritten == 0 && oe.lse_unwritten == 0, "%s: unwritten outputs", what);
                GT_CHECK(oe.rel_l2 < o_tolerance(s.dtype) && oe.lse_err < TOL_LSE, "%s: O relL2 %.3g LSE err %.3g",
                         what, oe.rel_l2, oe.lse_err);
                if (quiet) {
                    ll_error verr;
                    GT_CHECK(ll_skip_list_validate(&g.write, "GPU write list", &verr) == LL_OK, "%s: %s", what,
                             verr.msg);
                    list_stats ls = compare_lists(&read, &g.write, &ref_write, crit, NULL, p.threshold);
                    GT_CHECK(ls.mismatched == 0 && ls.replay_bad == 0, "%s: %ld rows differ beyond ties", what,
                             ls.mismatched);
                    g_ties += ls.tie_tiles;
                } else {
                    printf("    %-58s O relL2 %.2e  LSE err %.2e\n", what, oe.rel_l2, oe.lse_err);
                    check_lists(what, &read, &g.write, &ref_write, crit, NULL, p.threshold, &g_ties);
                }
                ll_skip_list_copy(&read, &g.write);
                gpu_result_free(&g);
            }
            printf("    chain summary: %d steps, %ld tie tiles, %s\n", steps, g_ties - ties_before,
                   gt_failed == failed_before ? "identical to the reference chain (up to ties)" : "FAILED");
            dev_call_free(&d);
            ll_skip_list_free(&read);
            ll_skip_list_free(&ref_write);
            free(q); free(k); free(v); free(o_ref); free(lse_ref); free(crit);
        }
}

// Rows (of an exclusive-encoded list) that compute key tile kt.
static long rows_keeping(const ll_skip_list *l, int kt) {
    uint8_t *keep = malloc((size_t)l->k_tiles);
    long n = 0;
    for (size_t r = 0; r < ll_skip_list_rows(l); r++) {
        ll_skip_list_row_to_keep(l->data + r * (size_t)ll_skip_list_row_len(l->k_tiles), l->k_tiles, l->encoding, keep);
        n += keep[kt];
    }
    free(keep);
    return n;
}

// lib/skip_decision.h's tie and NaN rules with the kernel's own tiles (4 key
// tiles): key tile 2 is an exact copy of key tile 3, the first visited, so
// its criterion is exactly 0 in every row: threshold 0 marks it everywhere
// (crit <= threshold; '<' would keep it), the float just below 0 nowhere, as
// in the reference. Then query row 0 = (1e38, 0, ...) and key dim 0 = 8 at the
// first token of tiles 3 and 2 (0.5 elsewhere): row 0's scores there overflow
// fp32 to +inf, its term at tile 2 is inf - inf = NaN, and a NaN criterion
// never marks: query tile 0 keeps tile 2, the other query tiles mark it.
static void test_exact_ties(void) {
    printf("exact ties and NaN criteria (lib/skip_decision.h)\n");
    const int Ds[] = {64, 128};
    for (int di = 0; di < 2; di++) {
        ll_shape s = {1, 0, 2, Ds[di], LL_BF16};
        ll_error err;
        ll_kernel_variant got;
        ll_attn_params p = {.threshold = 0.0f};
        s.N = 1000;  // any N: only the tiling is wanted
        GT_OK(ll_cuda_pick(&s, gt_variant_for(&s), &got, &p.tiling, &err), &err);
        const int bn = p.tiling.block_n;
        s.N = 4 * bn;
        p.shape = s;
        int qts = ll_q_tiles(&s, &p.tiling), kts = ll_k_tiles(&s, &p.tiling);
        size_t n = ll_shape_elems(&s), token = (size_t)s.H * s.D;
        uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2);
        float *o_ref = malloc(n * sizeof(float)), *crit = malloc(sizeof(float) * (size_t)s.H * qts * kts);
        gt_make_inputs(&s, GT_RANDOM, 606u + (uint64_t)di, 0, q, k, v);
        memcpy(k + 2 * (size_t)bn * token, k + 3 * (size_t)bn * token, sizeof(uint16_t) * token * bn);
        ll_skip_list read = {0}, ref = {0};
        GT_OK(ll_skip_list_alloc(&read, 1, s.H, qts, kts, LL_END_EXCLUSIVE, &err), &err);
        GT_OK(ll_skip_list_alloc(&ref, 1, s.H, qts, kts, LL_END_EXCLUSIVE, &err), &err);
        ll_skip_list_fill_full(&read);
        ll_reference_options opt = {.use_fp64 = 0, .check_inputs = 1};
        dev_call d;
        ll_status st = dev_call_alloc(&d, &s, &p.tiling, q, k, v, &err);
        GT_CHECK(st == LL_OK, "ties D=%d: %s", s.D, err.msg);
        const float thresholds[] = {0.0f, nextafterf(0.0f, -1.0f)};
        for (int ti = 0; ti < 2 && st == LL_OK; ti++) {
            p.threshold = thresholds[ti];
            gpu_result g = {0};
            st = gpu_call(&p, &d, &read, NULL, &g, &err);
            GT_CHECK(st == LL_OK, "ties D=%d: GPU call failed: %s", s.D, err.msg);
            GT_OK(ll_reference_forward(&p, &opt, q, k, v, &read, &ref, o_ref, NULL, crit, NULL, &err), &err);
            long rows = (long)ll_skip_list_rows(&read), zeros = 0;
            for (long r = 0; r < rows; r++) zeros += crit[r * kts + 2] == 0.0f;
            GT_CHECK(zeros == rows, "ties D=%d: the reference's criterion of the copied tile is 0 in %ld of %ld rows",
                     s.D, zeros, rows);
            long want = ti == 0 ? 0 : rows;
            GT_CHECK(rows_keeping(&ref, 2) == want, "ties D=%d thr=%g: the reference keeps the tie in %ld of %ld rows",
                     s.D, (double)p.threshold, rows_keeping(&ref, 2), rows);
            if (st == LL_OK) {
                GT_CHECK(rows_keeping(&g.write, 2) == want && rows_keeping(&g.write, 3) == rows,
                         "ties D=%d thr=%g: the kernel keeps the tie in %ld of %ld rows (want %ld)", s.D,
                         (double)p.threshold, rows_keeping(&g.write, 2), rows, want);
                printf("    D=%d %s threshold %-13g tie tile kept in %ld of %ld rows (reference %ld)\n", s.D,
                       ll_cuda_kernel_name(got), (double)p.threshold, rows_keeping(&g.write, 2), rows,
                       rows_keeping(&ref, 2));
            }
            gpu_result_free(&g);
        }
        // the NaN criterion
        for (size_t t = 0; t < (size_t)s.N; t++)
            for (int h = 0; h < s.H; h++) {
                size_t i = (t * s.H + h) * s.D;
                k[i] = ll_float_to_half(LL_BF16, t == 3 * (size_t)bn || t == 2 * (size_t)bn ? 8.0f : 0.5f);
                if (t == 0)
                    for (int dd = 0; dd < s.D; dd++) q[i + dd] = ll_float_to_half(LL_BF16, dd == 0 ? 1e38f : 0.0f);
            }
        p.threshold = 0.0f;
        if (st == LL_OK) st = ll_cuda_upload(d.q, q, n * 2, &err);
        if (st == LL_OK) st = ll_cuda_upload(d.k, k, n * 2, &err);
        gpu_result g = {0};
        if (st == LL_OK) st = gpu_call(&p, &d, &read, NULL, &g, &err);
        GT_CHECK(st == LL_OK, "NaN criterion D=%d: GPU call failed: %s", s.D, err.msg);
        GT_OK(ll_reference_forward(&p, &opt, q, k, v, &read, &ref, o_ref, NULL, crit, NULL, &err), &err);
        if (st == LL_OK) {
            uint8_t keep_g[4], keep_r[4];
            long bad = 0;
            for (int h = 0; h < s.H; h++)
                for (int qt = 0; qt < qts; qt++) {
                    ll_skip_list_row_to_keep(ll_skip_list_row(&g.write, 0, h, qt), kts, LL_END_EXCLUSIVE, keep_g);
                    ll_skip_list_row_to_keep(ll_skip_list_row(&ref, 0, h, qt), kts, LL_END_EXCLUSIVE, keep_r);
                    float c = crit[((size_t)h * qts + qt) * kts + 2];
                    int want = qt == 0;  // NaN in query tile 0, exactly 0 elsewhere
                    bad += (want ? !isnan(c) : c != 0.0f) || keep_r[2] != want || keep_g[2] != want;
                }
            GT_CHECK(bad == 0, "NaN criterion D=%d: %ld rows decide tile 2 otherwise than 'a NaN never marks'", s.D,
                     bad);
            printf("    D=%d %s NaN criterion in query tile 0: %s\n", s.D, ll_cuda_kernel_name(got),
                   bad ? "MISDECIDED" : "kept, other query tiles marked, as the reference");
        }
        gpu_result_free(&g);
        dev_call_free(&d);
        ll_skip_list_free(&read);
        ll_skip_list_free(&ref);
        free(q); free(k); free(v); free(o_ref); free(crit);
    }
}

// Corrupt read lists are reported at sync and never walked.
static void test_device_list_errors(void) {
    printf("device-side list errors\n");
    ll_shape s = {1, 300, 2, 64, LL_BF16};
    ll_error err;
    ll_kernel_variant got;
    ll_attn_params p = {.shape = s, .threshold = -6.0f};
    GT_OK(ll_cuda_pick(&s, gt_variant_for(&s), &got, &p.tiling, &err), &err);
    int qts = ll_q_tiles(&s, &p.tiling), kts = ll_k_tiles(&s, &p.tiling);
    size_t n = ll_shape_elems(&s);
    uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2);
    gt_make_inputs(&s, GT_RANDOM, 5u, 0, q, k, v);
    ll_skip_list read = {0};
    GT_OK(ll_skip_list_alloc(&read, s.B, s.H, qts, kts, LL_END_EXCLUSIVE, &err), &err);
    dev_call d;
    GT_OK(dev_call_alloc(&d, &s, &p.tiling, q, k, v, &err), &err);

    const char *names[] = {"odd length", "start past the last tile", "ranges not descending"};
    for (int bad = 0; bad < 3; bad++) {
        ll_skip_list_fill_full(&read);
        int32_t *row = ll_skip_list_row(&read, 0, 1, qts - 1);
        if (bad == 0) row[0] = 1;
        if (bad == 1) row[1] = kts;
        if (bad == 2 && kts >= 3) {
            row[0] = 4; row[1] = 0; row[2] = -1; row[3] = kts - 1; row[4] = 1;
        }
        size_t lb = ll_skip_list_rows(&read) * (size_t)ll_skip_list_row_len(kts) * 4;
        ll_cuda_args a = {.q = d.q, .k = d.k, .v = d.v, .o = d.o, .lse = d.lse, .read_list = d.read,
                          .write_list = d.write, .encoding = LL_END_EXCLUSIVE};
        GT_OK(ll_cuda_upload(d.read, read.data, lb, &err), &err);
        GT_OK(ll_cuda_forward(gt_variant_for(&s), &p, &a, &err), &err);
        ll_error_clear(&err);
        ll_status st = ll_cuda_sync(&err);
        GT_CHECK(st == LL_ERR_INVALID && strstr(err.msg, "read list") && strstr(err.msg, "qtile"),
                 "corrupt read list (%s) not reported: %s / %s", names[bad], ll_status_name(st), err.msg);
        printf("    %s -> %s\n", names[bad], err.msg);
        GT_CHECK(ll_cuda_sync(&err) == LL_OK, "the device error must be reported once: %s", err.msg);
    }

    dev_call_free(&d);
    ll_skip_list_free(&read);
    free(q); free(k); free(v);
}

// Write-list rows that need more entries than a row holds are fitted by the
// fit rule (lib/skip_list.h), by the kernel exactly as by the reference, and
// counted; the call succeeds. Threshold -inf, so the must-skip flags alone
// decide:
//   odd k_tiles, every odd key tile must-skip, one full read range: runs at
//     K-1, K-3, ..., 0 need K + 1 entries; one merge (the highest gap);
//   read ranges of three tiles touching each other (exclusive: start = the
//     previous end), the middle tile of each must-skip: two runs per range,
//     4 entries per 3 tiles; the gaps of 0 between ranges merge first,
//     several per row.
static void test_fitted_rows(void) {
    printf("write-list rows fitted to the layout (the fit rule)\n");
    for (int pattern = 0; pattern < 2; pattern++) {
        ll_error err;
        ll_kernel_variant got;
        ll_shape s = {1, 1000, 2, 64, LL_BF16};
        ll_attn_params p = {.threshold = -INFINITY};
        GT_OK(ll_cuda_pick(&s, gt_variant_for(&s), &got, &p.tiling, &err), &err);
        const int bn = p.tiling.block_n;
        s.N = pattern == 0 ? 5 * bn - 20 : 12 * bn;  // 5 key tiles, the last partial; 12 key tiles
        p.shape = s;
        int qts = ll_q_tiles(&s, &p.tiling), kts = ll_k_tiles(&s, &p.tiling);
        size_t n = ll_shape_elems(&s);
        uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2);
        float *o_ref = malloc(n * sizeof(float));
        uint8_t *flags = calloc((size_t)kts, 1);
        gt_make_inputs(&s, GT_RANDOM, 91u + (uint64_t)pattern, 0, q, k, v);
        ll_skip_list read = {0}, ref = {0};
        GT_OK(ll_skip_list_alloc(&read, 1, s.H, qts, kts, LL_END_EXCLUSIVE, &err), &err);
        GT_OK(ll_skip_list_alloc(&ref, 1, s.H, qts, kts, LL_END_EXCLUSIVE, &err), &err);
        if (pattern == 0) {
            for (int kt = 1; kt < kts; kt += 2) flags[kt] = LL_TILE_MUST_SKIP;
            ll_skip_list_fill_full(&read);
        } else {
            for (size_t r = 0; r < ll_skip_list_rows(&read); r++) {
                int32_t *row = read.data + r * (size_t)ll_skip_list_row_len(kts);
                row[0] = 0;
                for (int start = kts - 1; start >= 2; start -= 3) {
                    row[++row[0]] = start;
                    row[++row[0]] = start - 3;
                    flags[start - 1] = LL_TILE_MUST_SKIP;
                }
            }
        }
        GT_OK(ll_skip_list_validate(&read, "fit-rule read list", &err), &err);
        p.key_tile_flags = flags;
        int ref_fitted = -1;
        GT_OK(ll_reference_forward(&p, NULL, q, k, v, &read, &ref, o_ref, NULL, NULL, &ref_fitted, &err), &err);
        dev_call d;
        gpu_result g = {0};
        ll_status st = dev_call_alloc(&d, &s, &p.tiling, q, k, v, &err);
        if (st == LL_OK) st = gpu_call(&p, &d, &read, flags, &g, &err);
        GT_CHECK(st == LL_OK, "fit rule, pattern %d: the call must succeed: %s", pattern, err.msg);
        long rows = (long)ll_skip_list_rows(&read);
        GT_CHECK(ref_fitted == rows, "fit rule, pattern %d: the reference fitted %d of %ld rows", pattern, ref_fitted,
                 rows);
        if (st == LL_OK) {
            GT_CHECK(lists_equal(&g.write, &ref), "fit rule, pattern %d: the kernel's rows differ from the reference's",
                     pattern);
            GT_CHECK(g.fitted_rows == ref_fitted, "fit rule, pattern %d: the kernel counted %d fitted rows, the "
                     "reference %d", pattern, g.fitted_rows, ref_fitted);
            GT_CHECK(ll_skip_list_validate(&g.write, "GPU write list", &err) == LL_OK, "%s", err.msg);
            const int32_t *r0 = ll_skip_list_row(&g.write, 0, 0, 0);
            printf("    %s k_tiles=%d pattern %d: %d of %ld rows fitted (reference %d), row 0 = [%d:", ll_cuda_kernel_name(got),
                   kts, pattern, g.fitted_rows, rows, ref_fitted, r0[0]);
            for (int i = 1; i <= r0[0] && i <= kts; i++) printf(" %d", r0[i]);
            printf("]\n");
        }
        gpu_result_free(&g);
        dev_call_free(&d);
        ll_skip_list_free(&read);
        ll_skip_list_free(&ref);
        free(q); free(k); free(v); free(o_ref); free(flags);
    }
}

// Misuse of the API: each answered with LL_ERR_INVALID and a message.
static void test_api_errors(void) {
    printf("API misuse\n");
    ll_error err;
    ll_shape s = {1, 256, 2, 64, LL_BF16};
    ll_kernel_variant got;
    ll_tiling t;
    // auto takes the Hopper kernel on compute capability 9.0 for D = 64 and 128
    int major = 0, minor = 0;
    GT_OK(ll_cuda_probe(NULL, 0, &major, &minor, &err), &err);
    GT_OK(ll_cuda_pick(&s, LL_KERNEL_AUTO, &got, &t, &err), &err);
    GT_CHECK(got == (major == 9 ? LL_KERNEL_HOPPER : LL_KERNEL_PORTABLE), "auto picks %s on sm_%d%d",
             ll_kernel_variant_name(got), major, minor);
    ll_shape d96 = s;
    d96.D = 96;
    GT_OK(ll_cuda_pick(&d96, LL_KERNEL_AUTO, &got, &t, &err), &err);
    GT_CHECK(got == LL_KERNEL_PORTABLE, "auto picks portable for D=96");
    GT_CHECK(ll_cuda_pick(&d96, LL_KERNEL_HOPPER, &got, &t, &err) == LL_ERR_INVALID, "hopper at D=96 must be refused");
    ll_status hs = ll_cuda_pick(&s, LL_KERNEL_HOPPER, &got, &t, &err);
    GT_CHECK(major == 9 ? hs == LL_OK : hs == LL_ERR_INVALID, "hopper on sm_%d%d: %s", major, minor,
             ll_status_name(hs));
    ll_shape bad = s;
    bad.D = 80;
    GT_CHECK(ll_cuda_pick(&bad, LL_KERNEL_AUTO, &got, &t, &err) == LL_ERR_INVALID, "D=80 must be refused");
    const ll_kernel_variant variant = gt_variant_for(&s);
    const ll_kernel_variant other = variant == LL_KERNEL_HOPPER ? LL_KERNEL_PORTABLE : LL_KERNEL_HOPPER;
    GT_OK(ll_cuda_pick(&s, variant, &got, &t, &err), &err);
    size_t n = ll_shape_elems(&s);
    uint16_t *dq = NULL, *do_ = NULL;
    int32_t *dl = NULL;
    GT_OK(ll_cuda_malloc((void **)&dq, n * 2, &err), &err);
    GT_OK(ll_cuda_malloc((void **)&do_, n * 2, &err), &err);
    GT_OK(ll_cuda_malloc((void **)&dl, 4096, &err), &err);
    ll_attn_params p = {.shape = s, .tiling = t, .threshold = -6.0f};
    ll_cuda_args a = {.q = dq, .k = dq, .v = dq, .o = do_};
    struct {
        const char *name;
        ll_attn_params p;
        ll_cuda_args a;
    } cases[8];
    int nc = 0;
    cases[nc].name = "wrong tiling"; cases[nc].p = p; cases[nc].a = a; cases[nc].p.tiling.block_n = t.block_n == 64 ? 128 : 64; nc++;
    cases[nc].name = "NaN threshold"; cases[nc].p = p; cases[nc].a = a; cases[nc].p.threshold = NAN; nc++;
    cases[nc].name = "NULL V"; cases[nc].p = p; cases[nc].a = a; cases[nc].a.v = NULL; nc++;
    cases[nc].name = "misaligned K"; cases[nc].p = p; cases[nc].a = a; cases[nc].a.k = dq + 1; nc++;
    cases[nc].name = "write list without read list"; cases[nc].p = p; cases[nc].a = a; cases[nc].a.write_list = dl; nc++;
    cases[nc].name = "read list == write list"; cases[nc].p = p; cases[nc].a = a; cases[nc].a.read_list = dl;
    cases[nc].a.write_list = dl; nc++;
    cases[nc].name = "negative scale"; cases[nc].p = p; cases[nc].a = a; cases[nc].p.softmax_scale = -1.0f; nc++;
    for (int i = 0; i < nc; i++) {
        ll_error_clear(&err);
        ll_status st = ll_cuda_forward(variant, &cases[i].p, &cases[i].a, &err);
        GT_CHECK(st == LL_ERR_INVALID && err.msg[0], "%s: expected LL_ERR_INVALID, got %s", cases[i].name,
                 ll_status_name(st));
    }
    GT_CHECK(ll_cuda_forward(other, &p, &a, &err) == LL_ERR_INVALID, "%s forward with the %s tiling must be refused",
             ll_kernel_variant_name(other), ll_kernel_variant_name(variant));
    ll_cuda_free(dq);
    ll_cuda_free(do_);
    ll_cuda_free(dl);
}

// --tiny: one small case of each kind, for compute-sanitizer: dense, skip in
// both encodings (partial last tiles), D = 96 (the portable kernel also under
// --kernel hopper), must-do / must-skip.
static void test_tiny_cases(void) {
    printf("one small case of each kind\n");
    case_cfg c = {.shape = {2, 200, 2, 64, LL_BF16}, .kind = GT_CLUSTERED, .seed = 5u, .threshold = -INFINITY};
    run_case(&c);
    c.skip = 1;
    c.threshold = -6.0f;
    c.enc = LL_END_EXCLUSIVE;
    run_case(&c);
    case_cfg d = {.shape = {1, 300, 2, 128, LL_FP16}, .kind = GT_CLUSTERED, .seed = 6u, .skip = 1,
                  .threshold = -10.0f, .enc = LL_END_INCLUSIVE_PRODUCTION};
    run_case(&d);
    case_cfg e = {.shape = {1, 129, 2, 96, LL_BF16}, .kind = GT_CLUSTERED, .seed = 7u, .skip = 1,
                  .threshold = -6.0f, .enc = LL_END_EXCLUSIVE};
    run_case(&e);
    ll_shape s = {1, 300, 2, 64, LL_BF16};
    run_override_case(&s, LL_END_EXCLUSIVE, 8u);
}

// GPU tile maps vs ll_tile_map_compute.
static void test_tile_maps(int small) {
    printf("GPU tile maps vs the CPU tile maps\n");
    const int Ds[] = {64, 96, 128};
    for (int di = 0; di < 3; di++) {
        ll_shape s = {1, small ? 200 : 1000 + 37 * di, 2, Ds[di], di == 1 ? LL_FP16 : LL_BF16};
        ll_error err;
        ll_kernel_variant got;
        ll_attn_params p = {.shape = s};
        GT_OK(ll_cuda_pick(&s, gt_variant_for(&s), &got, &p.tiling, &err), &err);
        int qts = ll_q_tiles(&s, &p.tiling), kts = ll_k_tiles(&s, &p.tiling);
        size_t n = ll_shape_elems(&s);
        uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2);
        gt_make_inputs(&s, GT_CLUSTERED, 11u + (uint64_t)di, 0, q, k, v);
        ll_tile_map cpu = {0}, gpu = {0};
        GT_OK(ll_tile_map_alloc(&cpu, s.B, s.H, qts, kts, &err), &err);
        GT_OK(ll_tile_map_alloc(&gpu, s.B, s.H, qts, kts, &err), &err);
        GT_OK(ll_tile_map_compute(&p, q, k, &cpu, NULL, &err), &err);
        dev_call d;
        ll_status st = dev_call_alloc(&d, &s, &p.tiling, q, k, v, &err);
        if (st == LL_OK) st = ll_cuda_tile_map(&p, d.q, d.k, &gpu, &err);
        GT_CHECK(st == LL_OK, "GPU tile map D=%d: %s", s.D, err.msg);
        if (st == LL_OK) {
            size_t nt = (size_t)s.B * s.H * qts * kts;
            double max_err = 0, mass_err = 0;
            long zeros_gpu = 0, zeros_cpu = 0;
            for (size_t i = 0; i < nt; i++) {
                double e1 = fabs((double)gpu.max_log2[i] - cpu.max_log2[i]);
                double e2 = fabs((double)gpu.mass[i] - cpu.mass[i]);
                if (!(e1 <= max_err)) max_err = e1;
                if (!(e2 <= mass_err)) mass_err = e2;
                zeros_gpu += gpu.max_log2[i] == 0.0f;
                zeros_cpu += cpu.max_log2[i] == 0.0f;
            }
            GT_CHECK(max_err < 1e-3, "D=%d: max_log2 max abs error %.3g", s.D, max_err);
            GT_CHECK(mass_err < 2e-4, "D=%d: mass max abs error %.3g", s.D, mass_err);
            // every (b, h, qtile) has at least one tile holding its rows' maximum
            GT_CHECK(zeros_gpu >= (long)s.B * s.H * qts, "D=%d: only %ld tiles with max_log2 = 0", s.D, zeros_gpu);
            printf("    D=%d %s N=%d: max_log2 err %.2e, mass err %.2e, zero tiles gpu %ld cpu %ld\n", s.D,
                   ll_dtype_name(s.dtype), s.N, max_err, mass_err, zeros_gpu, zeros_cpu);
        }
        dev_call_free(&d);
        ll_tile_map_free(&cpu);
        ll_tile_map_free(&gpu);
        free(q); free(k); free(v);
    }
}

// N = 32760 at D = 128 (B = 1, H = 2): dense output of sampled query tiles
// against an fp64 row oracle, so the CPU stays quick; the skip-mode list of
// the same call against the fp32 reference (the kernels' own arithmetic).
static void test_large(void) {
    printf("large N (sampled query tiles)\n");
    ll_shape s = {1, 32760, 2, 128, LL_BF16};
    ll_error err;
    ll_kernel_variant got;
    ll_attn_params p = {.shape = s, .threshold = -10.0f};
    GT_OK(ll_cuda_pick(&s, gt_variant_for(&s), &got, &p.tiling, &err), &err);
    int qts = ll_q_tiles(&s, &p.tiling), kts = ll_k_tiles(&s, &p.tiling);
    size_t n = ll_shape_elems(&s), nl = (size_t)s.B * s.H * s.N;
    uint16_t *q = malloc(n * 2), *k = malloc(n * 2), *v = malloc(n * 2);
    gt_make_inputs(&s, GT_CLUSTERED, 123u, 0, q, k, v);
    dev_call d;
    gpu_result dense = {0}, skip = {0};
    ll_skip_list read = {0}, ref_write = {0};
    GT_OK(ll_skip_list_alloc(&read, s.B, s.H, qts, kts, LL_END_EXCLUSIVE, &err), &err);
    GT_OK(ll_skip_list_alloc(&ref_write, s.B, s.H, qts, kts, LL_END_EXCLUSIVE, &err), &err);
    ll_skip_list_fill_full(&read);
    ll_status st = dev_call_alloc(&d, &s, &p.tiling, q, k, v, &err);
    if (st == LL_OK) st = gpu_call(&p, &d, NULL, NULL, &dense, &err);
    if (st == LL_OK) st = gpu_call(&p, &d, &read, NULL, &skip, &err);
    GT_CHECK(st == LL_OK, "large: GPU calls failed: %s", err.msg);
    if (st == LL_OK) {
        // fp64 oracle for every row of 4 sampled query tiles of each head
        const int sample[] = {0, qts / 3, (2 * qts) / 3, qts - 1};
        int D = s.D;
        double scale = 1.0 / sqrt((double)D), num = 0, den = 0, lse_err = 0;
        long unwritten = 0;
        float *kf = malloc(sizeof(float) * (size_t)s.N * D), *vf = malloc(sizeof(float) * (size_t)s.N * D);
        for (int h = 0; h < s.H; h++) {
#pragma omp parallel for schedule(static)
            for (int j = 0; j < s.N; j++)
                for (int d2 = 0; d2 < D; d2++) {
                    kf[(size_t)j * D + d2] = ll_half_to_float(s.dtype, k[((size_t)j * s.H + h) * D + d2]);
                    vf[(size_t)j * D + d2] = ll_half_to_float(s.dtype, v[((size_t)j * s.H + h) * D + d2]);
                }
            for (int si = 0; si < 4; si++) {
                int r0 = sample[si] * p.tiling.block_m, r1 = r0 + p.tiling.block_m;
                if (r1 > s.N) r1 = s.N;
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : num, den, unwritten) reduction(max : lse_err)
                for (int r = r0; r < r1; r++) {
                    double *sc = malloc(sizeof(double) * (size_t)s.N), acc[128] = {0}, qf[128];
                    const uint16_t *qr = q + ((size_t)r * s.H + h) * D;
                    for (int d2 = 0; d2 < D; d2++) qf[d2] = ll_half_to_float(s.dtype, qr[d2]);
                    double m = -INFINITY, l = 0;
                    for (int j = 0; j < s.N; j++) {
                        const float *kr = kf + (size_t)j * D;
                        double dot = 0;
                        for (int d2 = 0; d2 < D; d2++) dot += qf[d2] * kr[d2];
                        sc[j] = dot;
                        if (dot > m) m = dot;
                    }
                    for (int j = 0; j < s.N; j++) {
                        double pj = exp((sc[j] - m) * scale);
                        l += pj;
                        const float *vr = vf + (size_t)j * D;
                        for (int d2 = 0; d2 < D; d2++) acc[d2] += pj * vr[d2];
                    }
                    const uint16_t *orow = dense.o + ((size_t)r * s.H + h) * D;
                    for (int d2 = 0; d2 < D; d2++) {
                        if (is_nan16(s.dtype, orow[d2])) {
                            unwritten++;
                            continue;
                        }
                        double ref = acc[d2] / l, diff = ll_half_to_float(s.dtype, orow[d2]) - ref;
                        num += diff * diff;
                        den += ref * ref;
                    }
                    double e = fabs(dense.lse[(size_t)h * s.N + r] - (m * scale + log(l)));
                    if (!(e <= lse_err)) lse_err = e;
                    free(sc);
                }
            }
        }
        free(kf);
        free(vf);
        double rel = sqrt(num / den);
        GT_CHECK(unwritten == 0, "large dense: %ld sampled O elements unwritten", unwritten);
        GT_CHECK(rel < TOL_BF16, "large dense: sampled O relative L2 %.3g", rel);
        GT_CHECK(lse_err < TOL_LSE, "large dense: sampled LSE error %.3g", lse_err);
        printf("    D=128 bf16 N=32760 dense, 4 query tiles x 2 heads vs fp64 rows: O relL2 %.2e  LSE err %.2e\n", rel,
               lse_err);
        // skip mode, full list at -10, against the fp32 reference
        float *o_ref = malloc(n * sizeof(float)), *lse_ref = malloc(nl * sizeof(float));
        float *crit = malloc(sizeof(float) * (size_t)s.B * s.H * qts * kts);
        ll_reference_options opt = {.use_fp64 = 0, .check_inputs = 0};
        double t0 = ll_now_seconds();
        ll_status rs = ll_reference_forward(&p, &opt, q, k, v, &read, &ref_write, o_ref, lse_ref, crit, NULL, &err);
        GT_CHECK(rs == LL_OK, "large: fp32 reference failed: %s", err.msg);
        if (rs == LL_OK) {
            printf("    (fp32 reference took %.1f s)\n", ll_now_seconds() - t0);
            check_outputs("D=128 bf16 N=32760 skip thr=-10 exclusive (fp32 ref)", &s, &skip, o_ref, lse_ref);
            check_lists("D=128 bf16 N=32760 skip thr=-10 exclusive (fp32 ref)", &read, &skip.write, &ref_write, crit,
                        NULL, p.threshold, &g_ties);
        }
        free(o_ref);
        free(lse_ref);
        free(crit);
    }
    dev_call_free(&d);
    gpu_result_free(&dense);
    gpu_result_free(&skip);
    ll_skip_list_free(&read);
    ll_skip_list_free(&ref_write);
    free(q); free(k); free(v);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);  // line by line, so a killed run still leaves its log
    int small = 0, tiny = 0, bench = 1, tests = 1;
    static const struct option opts[] = {{"small", no_argument, NULL, 's'},
                                         {"tiny", no_argument, NULL, 't'},
                                         {"no-bench", no_argument, NULL, 'n'},
                                         {"bench-only", no_argument, NULL, 'b'},
                                         {"kernel", required_argument, NULL, 'k'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (ch) {
        case 's': small = 1; bench = 0; break;
        case 't': tiny = small = 1; bench = 0; break;
        case 'n': bench = 0; break;
        case 'b': tests = 0; break;
        case 'k':
            if (strcmp(optarg, "portable") == 0) gt_kernel = LL_KERNEL_PORTABLE;
            else if (strcmp(optarg, "hopper") == 0) gt_kernel = LL_KERNEL_HOPPER;
            else {
                printf("gpu_test: --kernel takes portable or hopper, not '%s'\n", optarg);
                return 2;
            }
            break;
        default:
            printf("usage: gpu_test [--small | --tiny] [--no-bench] [--bench-only] [--kernel portable|hopper]\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    if (optind < argc) {
        printf("gpu_test: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    char name[256];
    int major = 0, minor = 0;
    ll_error err;
    ll_status st = ll_cuda_probe(name, sizeof name, &major, &minor, &err);
    if (st != LL_OK) {
        printf("%s\n0 passed, 1 failed\n", err.msg);
        return ll_exit_code(st);
    }
    printf("GPU: %s (sm_%d%d); under test: the %s kernel (%s)%s\n", name, major, minor,
           ll_kernel_variant_name(gt_kernel), ll_cuda_kernel_name(gt_kernel),
           gt_kernel == LL_KERNEL_HOPPER ? ", D=96 cases on the portable kernel" : "");
    double t0 = ll_now_seconds();
    if (tests && tiny) {
        test_api_errors();
        test_device_list_errors();
        test_exact_ties();
        test_fitted_rows();
        test_tiny_cases();
        printf("tests took %.1f s\n", ll_now_seconds() - t0);
    } else if (tests) {
        test_api_errors();
        test_device_list_errors();
        test_exact_ties();
        test_fitted_rows();
        test_dense_and_skip(small);
        test_overrides(small);
        test_dense_equals_skip_inf();
        test_chains(small);
        test_tile_maps(small);
        if (!small) test_large();
        printf("tie tiles (criterion within %.0e of the threshold, decided differently): %ld\n", (double)TIE_WINDOW,
               g_ties);
        printf("tests took %.1f s\n", ll_now_seconds() - t0);
    }
    if (bench) gt_run_bench(1);
    printf("%d passed, %d failed\n", gt_passed, gt_failed);
    return gt_failed ? 1 : 0;
}
