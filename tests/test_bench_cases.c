// test_bench_cases.c: the benchmark's host side: option lists, shape
// presets, random and banded masks (properties over random shapes with
// fixed seeds), and the short GPU name.
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cases.h"
#include "rng.h"
#include "skip_list.h"
#include "test_suites.h"

static void test_shapes_parse(void) {
    ll_bench_shape sh[LL_BENCH_MAX_ITEMS];
    int n = 0;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_bench_shapes_parse("wan720,wan480,h24d64,2x8x1000x96", LL_FP16, sh,
                                                LL_BENCH_MAX_ITEMS, &n, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT(sh[0].shape.B == 1 && sh[0].shape.H == 40 && sh[0].shape.N == 75600 && sh[0].shape.D == 128);
    CU_ASSERT(sh[1].shape.B == 1 && sh[1].shape.H == 40 && sh[1].shape.N == 32760 && sh[1].shape.D == 128);
    CU_ASSERT(sh[2].shape.B == 1 && sh[2].shape.H == 24 && sh[2].shape.N == 32760 && sh[2].shape.D == 64);
    CU_ASSERT(sh[3].shape.B == 2 && sh[3].shape.H == 8 && sh[3].shape.N == 1000 && sh[3].shape.D == 96);
    CU_ASSERT_STRING_EQUAL(sh[0].name, "wan720");
    CU_ASSERT_STRING_EQUAL(sh[3].name, "2x8x1000x96");
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(sh[i].shape.dtype, LL_FP16);

    static const char *bad[] = {"", "wan720,", ",wan480", "1x2x3", "1x2x3x4x5", "1x0x100x128", "1x2x100x80",
                                "ax2x100x128", "1x2x-100x128", "1x2x100x128 ", "wan1080", "1x2x100x0x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CU_ASSERT_EQUAL(ll_bench_shapes_parse(bad[i], LL_BF16, sh, LL_BENCH_MAX_ITEMS, &n, &err), LL_ERR_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--shapes"));
    }
    CU_ASSERT_EQUAL(ll_bench_shapes_parse("wan480,wan480,wan480", LL_BF16, sh, 2, &n, &err), LL_ERR_USAGE);
}

static void test_fractions_and_masks_parse(void) {
    double f[LL_BENCH_MAX_ITEMS];
    int n = 0;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_bench_fractions_parse("1,0.75,0.5,0.25,0.1", f, LL_BENCH_MAX_ITEMS, &n, &err), LL_OK);
    CU_ASSERT_EQUAL(n, 5);
    CU_ASSERT_DOUBLE_EQUAL(f[0], 1.0, 0.0);
    CU_ASSERT_DOUBLE_EQUAL(f[4], 0.1, 1e-15);
    static const char *bad[] = {"0", "-0.5", "1.0001", "nan", "inf", "0.5x", "abc", "", "0.5,", "1e-400"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CU_ASSERT_EQUAL(ll_bench_fractions_parse(bad[i], f, LL_BENCH_MAX_ITEMS, &n, &err), LL_ERR_USAGE);

    ll_bench_mask m[LL_BENCH_MAX_ITEMS];
    CU_ASSERT_EQUAL_FATAL(ll_bench_masks_parse("banded,random", m, LL_BENCH_MAX_ITEMS, &n, &err), LL_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(m[0], LL_BENCH_MASK_BANDED);
    CU_ASSERT_EQUAL(m[1], LL_BENCH_MASK_RANDOM);
    CU_ASSERT_STRING_EQUAL(ll_bench_mask_name(m[0]), "banded");
    CU_ASSERT_STRING_EQUAL(ll_bench_mask_name(LL_BENCH_MASK_FULL), "full");
    CU_ASSERT_EQUAL(ll_bench_masks_parse("random,random", m, LL_BENCH_MAX_ITEMS, &n, &err), LL_ERR_USAGE);
    CU_ASSERT_EQUAL(ll_bench_masks_parse("full", m, LL_BENCH_MAX_ITEMS, &n, &err), LL_ERR_USAGE);
    CU_ASSERT_EQUAL(ll_bench_masks_parse("Random", m, LL_BENCH_MAX_ITEMS, &n, &err), LL_ERR_USAGE);
}

static void test_gpu_short_name(void) {
    static const struct {
        const char *full, *want;
    } cases[] = {
        {"NVIDIA H100 80GB HBM3", "h100"},  {"NVIDIA H200", "h200"},
        {"NVIDIA A100-SXM4-80GB", "a100"},  {"NVIDIA GeForce RTX 4090", "rtx4090"},
        {"Tesla V100-SXM2-16GB", "v100"},   {"NVIDIA RTX A6000", "rtxa6000"},
        {"NVIDIA L40S", "l40s"},            {"", "gpu"},
        {"NVIDIA", "gpu"},                  {"  NVIDIA   H100  ", "h100"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ll_gpu_short_name(cases[i].full, out, sizeof out);
        CU_ASSERT_STRING_EQUAL(out, cases[i].want);
    }
    char tiny[4];
    ll_gpu_short_name("NVIDIA H100 80GB", tiny, sizeof tiny);
    CU_ASSERT_STRING_EQUAL(tiny, "h10");  // truncated, still terminated
}

// A random shape small enough for the CPU, tiles like the kernels'.
static void random_case(ll_rng *rng, ll_shape *s, ll_tiling *t) {
    static const int dims[] = {64, 96, 128};
    *s = (ll_shape){.B = ll_rng_int(rng, 1, 2), .N = ll_rng_int(rng, 1, 3000), .H = ll_rng_int(rng, 1, 3),
                    .D = dims[ll_rng_int(rng, 0, 2)], .dtype = LL_BF16};
    t->block_m = 16 * ll_rng_int(rng, 1, 12);
    t->block_n = 16 * ll_rng_int(rng, 1, 12);
    if (ll_k_tiles(s, t) < 2) s->N = t->block_n + ll_rng_int(rng, 1, 100);  // a list row needs 2 key tiles
}

static void test_random_mask(void) {
    ll_rng rng;
    ll_rng_seed(&rng, 20240611);
    static const double fractions[] = {1.0, 0.75, 0.5, 0.25, 0.1, 0.01};
    for (int iter = 0; iter < 40; iter++) {
        ll_shape s;
        ll_tiling t;
        random_case(&rng, &s, &t);
        ll_list_encoding enc = iter % 2 ? LL_END_INCLUSIVE_PRODUCTION : LL_END_EXCLUSIVE;
        int qt_n = ll_q_tiles(&s, &t), kt_n = ll_k_tiles(&s, &t);
        ll_skip_list a, b;
        ll_error err;
        CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&a, s.B, s.H, qt_n, kt_n, enc, &err), LL_OK);
        CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&b, s.B, s.H, qt_n, kt_n, enc, &err), LL_OK);
        uint8_t *keep = malloc((size_t)kt_n);
        for (size_t fi = 0; fi < sizeof fractions / sizeof *fractions; fi++) {
            double f = fractions[fi];
            CU_ASSERT_EQUAL_FATAL(ll_bench_mask_build(&a, &s, &t, LL_BENCH_MASK_RANDOM, f, 7, &err), LL_OK);
            ll_status valid = ll_skip_list_validate(&a, "random mask", &err);
            CU_ASSERT_EQUAL(valid, LL_OK);
            if (valid != LL_OK) fprintf(stderr, "\n%s\n", err.msg);
            int want = (int)lround(f * kt_n);
            if (want < 1) want = 1;
            int distinct_rows = 0;
            for (int bb = 0; bb < s.B; bb++)
                for (int h = 0; h < s.H; h++)
                    for (int qt = 0; qt < qt_n; qt++) {
                        const int32_t *row = ll_skip_list_row(&a, bb, h, qt);
                        if (enc == LL_END_EXCLUSIVE) {  // exact count; the production reading adds tiles
                            CU_ASSERT_EQUAL(ll_skip_list_row_to_keep(row, kt_n, enc, keep), want);
                        } else {
                            CU_ASSERT(ll_skip_list_row_to_keep(row, kt_n, enc, keep) >= want);
                        }
                        if (memcmp(row, ll_skip_list_row(&a, 0, 0, 0), sizeof(int32_t) * (size_t)(kt_n + 1)))
                            distinct_rows++;
                    }
            // Rows draw their own subsets: with enough tiles to choose from, they differ.
            if (want < kt_n && kt_n >= 8 && s.B * s.H * qt_n >= 4) CU_ASSERT(distinct_rows > 0);
            // Same seed, same mask; another seed, another mask (when there is a choice).
            CU_ASSERT_EQUAL(ll_bench_mask_build(&b, &s, &t, LL_BENCH_MASK_RANDOM, f, 7, &err), LL_OK);
            CU_ASSERT_EQUAL(memcmp(a.data, b.data, ll_skip_list_rows(&a) * (kt_n + 1) * sizeof(int32_t)), 0);
            CU_ASSERT_EQUAL(ll_bench_mask_build(&b, &s, &t, LL_BENCH_MASK_RANDOM, f, 8, &err), LL_OK);
            if (want < kt_n && kt_n >= 16)
                CU_ASSERT_NOT_EQUAL(memcmp(a.data, b.data, ll_skip_list_rows(&a) * (kt_n + 1) * sizeof(int32_t)), 0);
        }
        free(keep);
        ll_skip_list_free(&a);
        ll_skip_list_free(&b);
    }
}

static long band_kept_total(const ll_shape *s, const ll_tiling *t, int w) {
    long kept = 0;
    for (int qt = 0; qt < ll_q_tiles(s, t); qt++) {
        int lo, hi;
        ll_bench_band_tiles(s, t, qt, w, &lo, &hi);
        kept += hi - lo + 1;
    }
    return kept;
}

static void test_banded_mask(void) {
    ll_rng rng;
    ll_rng_seed(&rng, 99);
    static const double fractions[] = {1.0, 0.75, 0.5, 0.25, 0.1};
    for (int iter = 0; iter < 40; iter++) {
        ll_shape s;
        ll_tiling t;
        random_case(&rng, &s, &t);
        int qt_n = ll_q_tiles(&s, &t), kt_n = ll_k_tiles(&s, &t);
        long total = (long)qt_n * kt_n;
        ll_skip_list l;
        ll_error err;
        CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, s.B, s.H, qt_n, kt_n, LL_END_EXCLUSIVE, &err), LL_OK);
        uint8_t *keep = malloc((size_t)kt_n);
        int prev_w = -1;
        for (int fi = (int)(sizeof fractions / sizeof *fractions) - 1; fi >= 0; fi--) {  // growing fractions
            double f = fractions[fi];
            int w = ll_bench_band_half_width(&s, &t, f);
            CU_ASSERT(w >= 0 && w <= s.N);
            CU_ASSERT(w >= prev_w);  // a larger fraction never narrows the band
            prev_w = w;
            // Closest achievable fraction, and the narrowest band giving it.
            double got = (double)band_kept_total(&s, &t, w) / total;
            if (w > 0) {
                CU_ASSERT(band_kept_total(&s, &t, w - 1) < band_kept_total(&s, &t, w));
                double below = (double)band_kept_total(&s, &t, w - 1) / total;
                CU_ASSERT(fabs(got - f) <= fabs(below - f) + 1e-12);
            }
            if (w < s.N) {
                double above = (double)band_kept_total(&s, &t, w + 1) / total;
                CU_ASSERT(fabs(got - f) <= fabs(above - f) + 1e-12);
            }
            if (f == 1.0) CU_ASSERT_EQUAL(band_kept_total(&s, &t, w), total);

            CU_ASSERT_EQUAL_FATAL(ll_bench_mask_build(&l, &s, &t, LL_BENCH_MASK_BANDED, f, 1, &err), LL_OK);
            ll_status valid = ll_skip_list_validate(&l, "banded mask", &err);
            CU_ASSERT_EQUAL(valid, LL_OK);
            if (valid != LL_OK) fprintf(stderr, "\n%s\n", err.msg);
            long kept = 0;
            for (int h = 0; h < s.H; h++)
                for (int qt = 0; qt < qt_n; qt++) {
                    int n = ll_skip_list_row_to_keep(ll_skip_list_row(&l, s.B - 1, h, qt), kt_n, LL_END_EXCLUSIVE,
                                                     keep);
                    kept += n;
                    // One contiguous window holding the query tile's centre token...
                    int centre = qt * t.block_m + (ll_q_tile_rows(&s, &t, qt) - 1) / 2;
                    CU_ASSERT(keep[centre / t.block_n]);
                    int lo = kt_n, hi = -1;
                    for (int kt = 0; kt < kt_n; kt++)
                        if (keep[kt]) {
                            if (kt < lo) lo = kt;
                            hi = kt;
                        }
                    CU_ASSERT_EQUAL(hi - lo + 1, n);
                    // ...whose ends are the tiles the half-width reaches, by token distance.
                    CU_ASSERT(lo == 0 || (long)(lo * t.block_n) - 1 < centre - w);
                    CU_ASSERT((long)lo * t.block_n + ll_k_tile_cols(&s, &t, lo) - 1 >= centre - w);
                    CU_ASSERT(hi == kt_n - 1 || (long)(hi + 1) * t.block_n > centre + w);
                    CU_ASSERT((long)hi * t.block_n <= centre + w);
                }
            CU_ASSERT_EQUAL(kept, (long)s.H * band_kept_total(&s, &t, w));
        }
        free(keep);
        ll_skip_list_free(&l);
    }
}

static void test_full_and_bad_input(void) {
    ll_shape s = {.B = 1, .N = 1000, .H = 2, .D = 64, .dtype = LL_BF16};
    ll_tiling t = {128, 176};
    ll_skip_list l;
    ll_error err;
    int qt_n = ll_q_tiles(&s, &t), kt_n = ll_k_tiles(&s, &t);
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 2, qt_n, kt_n, LL_END_EXCLUSIVE, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_bench_mask_build(&l, &s, &t, LL_BENCH_MASK_FULL, 1.0, 0, &err), LL_OK);
    for (int h = 0; h < 2; h++)
        for (int qt = 0; qt < qt_n; qt++)
            CU_ASSERT_EQUAL(ll_skip_list_row_kept(ll_skip_list_row(&l, 0, h, qt), kt_n, LL_END_EXCLUSIVE), kt_n);
    CU_ASSERT_EQUAL(ll_bench_mask_build(&l, &s, &t, LL_BENCH_MASK_RANDOM, 0.0, 0, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_bench_mask_build(&l, &s, &t, LL_BENCH_MASK_RANDOM, NAN, 0, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_bench_mask_build(&l, &s, &t, LL_BENCH_MASK_RANDOM, 1.5, 0, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_bench_mask_build(&l, &s, &t, (ll_bench_mask)7, 0.5, 0, &err), LL_ERR_INVALID);
    ll_shape other = s;
    other.N = 2000;  // more tiles than the list has
    CU_ASSERT_EQUAL(ll_bench_mask_build(&l, &other, &t, LL_BENCH_MASK_BANDED, 0.5, 0, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "do not match"));
    ll_skip_list_free(&l);

    // One key tile: a list row (2 int32) cannot hold even the full range.
    s.N = 100;
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 2, 1, 1, LL_END_EXCLUSIVE, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_bench_mask_build(&l, &s, &t, LL_BENCH_MASK_FULL, 1.0, 0, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "row (b=0, h=0, qtile=0)"));
    ll_skip_list_free(&l);
}

// Three key tiles and two kept: {2, 0} alternates beyond a row's room, so
// every row must come out as {2, 1} or {1, 0}.
static void test_random_mask_fits_rows(void) {
    ll_shape s = {.B = 1, .N = 3 * 64, .H = 4, .D = 64, .dtype = LL_BF16};
    ll_tiling t = {16, 64};
    ll_skip_list l;
    ll_error err;
    int qt_n = ll_q_tiles(&s, &t);
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 4, qt_n, 3, LL_END_EXCLUSIVE, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(ll_bench_mask_build(&l, &s, &t, LL_BENCH_MASK_RANDOM, 0.67, 3, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_skip_list_validate(&l, "random mask, 3 key tiles", &err), LL_OK);
    uint8_t keep[3];
    int seen_high = 0, seen_low = 0;
    for (int h = 0; h < 4; h++)
        for (int qt = 0; qt < qt_n; qt++) {
            CU_ASSERT_EQUAL(ll_skip_list_row_to_keep(ll_skip_list_row(&l, 0, h, qt), 3, LL_END_EXCLUSIVE, keep), 2);
            CU_ASSERT_EQUAL(keep[1], 1);
            seen_high += keep[2];
            seen_low += keep[0];
        }
    CU_ASSERT(seen_high > 0 && seen_low > 0);  // both allowed subsets occur
    ll_skip_list_free(&l);
}

int register_bench_cases_suite(void) {
    CU_pSuite s = CU_add_suite("bench_cases", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "shape presets and BxHxNxD", test_shapes_parse) ||
        !CU_add_test(s, "kept fractions and mask names", test_fractions_and_masks_parse) ||
        !CU_add_test(s, "short GPU names", test_gpu_short_name) ||
        !CU_add_test(s, "random masks: per-row counts, seeds", test_random_mask) ||
        !CU_add_test(s, "banded masks: window, closest fraction", test_banded_mask) ||
        !CU_add_test(s, "full mask and bad input", test_full_and_bad_input) ||
        !CU_add_test(s, "random masks fit list rows", test_random_mask_fits_rows))
        return CU_get_error();
    return CUE_SUCCESS;
}
