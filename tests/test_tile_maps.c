// test_tile_maps.c: tile-level attention maps against a brute-force double
// computation, their ranges (mass in [0, 1], max_log2 <= 0 with a 0 in every
// query tile), the full probability maps, and bad input.
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "rng.h"
#include "test_suites.h"
#include "tile_maps.h"

static uint16_t *random_tensor(const ll_shape *s, uint64_t seed, float sigma) {
    size_t n = ll_shape_elems(s);
    uint16_t *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = ll_float_to_half(s->dtype, sigma * ll_normal(ll_hash4(seed, i, 5, 6)));
    return x;
}

// Brute force in double: scores, each row's max and LSE, then per tile
// max_log2 = max_r max_c (s_rc - M_r) * scale * log2(e) and
// mass = max_r sum_c p_rc; probs [B, H, N, N] when not NULL.
static void brute_force(const ll_shape *s, const ll_tiling *t, const uint16_t *q, const uint16_t *k, double scale,
                        double *max_log2, double *mass, double *probs) {
    int N = s->N, H = s->H, D = s->D, qts = ll_q_tiles(s, t), kts = ll_k_tiles(s, t);
    double *sc = malloc(sizeof(double) * N);
    for (size_t i = 0; i < (size_t)s->B * H * qts * kts; i++) {
        max_log2[i] = -INFINITY;
        mass[i] = 0;
    }
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < H; h++)
            for (int n = 0; n < N; n++) {
                double mx = -INFINITY, sum = 0;
                for (int m = 0; m < N; m++) {
                    double dot = 0;
                    for (int d = 0; d < D; d++)
                        dot += (double)ll_half_to_float(s->dtype, q[(((size_t)b * N + n) * H + h) * D + d]) *
                               ll_half_to_float(s->dtype, k[(((size_t)b * N + m) * H + h) * D + d]);
                    sc[m] = dot;
                    mx = fmax(mx, dot);
                }
                for (int m = 0; m < N; m++) sum += exp((sc[m] - mx) * scale);
                size_t base = (((size_t)b * H + h) * qts + n / t->block_m) * kts;
                for (int kt = 0; kt < kts; kt++) {
                    double tm = -INFINITY, tmass = 0;
                    for (int c = 0; c < ll_k_tile_cols(s, t, kt); c++) {
                        int m = kt * t->block_n + c;
                        double pm = exp((sc[m] - mx) * scale) / sum;
                        tm = fmax(tm, sc[m]);
                        tmass += pm;
                        if (probs) probs[(((size_t)b * H + h) * N + n) * N + m] = pm;
                    }
                    max_log2[base + kt] = fmax(max_log2[base + kt], (tm - mx) * scale * 1.4426950408889634);
                    mass[base + kt] = fmax(mass[base + kt], tmass);
                }
            }
    free(sc);
}

static void test_matches_brute_force(void) {
    static const struct { int B, N, H, D, bm, bn; ll_dtype dt; } cases[] = {
        {1, 1, 1, 64, 16, 16, LL_BF16},   {2, 130, 2, 96, 32, 48, LL_FP16}, {1, 300, 3, 128, 64, 64, LL_BF16},
        {1, 257, 1, 64, 128, 176, LL_FP16}, {2, 77, 2, 128, 16, 32, LL_BF16},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        ll_shape s = {cases[ci].B, cases[ci].N, cases[ci].H, cases[ci].D, cases[ci].dt};
        ll_attn_params p = {.shape = s, .tiling = {cases[ci].bm, cases[ci].bn}, .softmax_scale = ci == 2 ? 0.2f : 0};
        uint16_t *q = random_tensor(&s, 10 + ci, 2.5f), *k = random_tensor(&s, 20 + ci, 1.0f);
        int qts = ll_q_tiles(&s, &p.tiling), kts = ll_k_tiles(&s, &p.tiling);
        size_t nt = (size_t)s.B * s.H * qts * kts, np = (size_t)s.B * s.H * s.N * s.N;
        ll_tile_map m;
        ll_error err;
        CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&m, s.B, s.H, qts, kts, &err), LL_OK);
        float *probs = malloc(np * sizeof(float));
        CU_ASSERT_EQUAL_FATAL(ll_tile_map_compute(&p, q, k, &m, probs, &err), LL_OK);
        double *bf_max = malloc(nt * 8), *bf_mass = malloc(nt * 8), *bf_probs = malloc(np * 8);
        brute_force(&s, &p.tiling, q, k, ll_softmax_scale(&p), bf_max, bf_mass, bf_probs);

        // fp32 scores: |s| is a few tens here, so the log2 values carry ~1e-4 of
        // rounding; masses and probabilities are compared absolutely.
        double worst_max = 0, worst_mass = 0, worst_p = 0;
        int in_range = 1;
        for (size_t i = 0; i < nt; i++) {
            worst_max = fmax(worst_max, fabs(m.max_log2[i] - bf_max[i]));
            worst_mass = fmax(worst_mass, fabs(m.mass[i] - bf_mass[i]));
            in_range &= m.mass[i] >= 0 && m.mass[i] <= 1 && m.max_log2[i] <= 0;
        }
        for (size_t i = 0; i < np; i++) worst_p = fmax(worst_p, fabs(probs[i] - bf_probs[i]));
        if (worst_max > 2e-3 || worst_mass > 1e-5 || worst_p > 1e-5)
            fprintf(stderr, "\n  case %zu: max_log2 %.3g mass %.3g probs %.3g\n", ci, worst_max, worst_mass, worst_p);
        CU_ASSERT(worst_max < 2e-3);
        CU_ASSERT(worst_mass < 1e-5);
        CU_ASSERT(worst_p < 1e-5);
        CU_ASSERT(in_range);

        // Each query tile: some row's maximum lies in some tile, exactly 0 there.
        int zero_everywhere = 1;
        for (size_t row = 0; row < (size_t)s.B * s.H * qts; row++) {
            float best = -INFINITY;
            for (int kt = 0; kt < kts; kt++) best = fmaxf(best, m.max_log2[row * kts + kt]);
            zero_everywhere &= best == 0.0f;
        }
        CU_ASSERT(zero_everywhere);
        // Full maps: each row sums to 1.
        double worst_sum = 0;
        for (size_t r = 0; r < (size_t)s.B * s.H * s.N; r++) {
            double sum = 0;
            for (int c = 0; c < s.N; c++) sum += probs[r * s.N + c];
            worst_sum = fmax(worst_sum, fabs(sum - 1));
        }
        CU_ASSERT(worst_sum < 1e-5);
        // Without the full map the tile statistics are the same.
        ll_tile_map m2;
        ll_tile_map_alloc(&m2, s.B, s.H, qts, kts, &err);
        CU_ASSERT_EQUAL(ll_tile_map_compute(&p, q, k, &m2, NULL, &err), LL_OK);
        CU_ASSERT(memcmp(m.max_log2, m2.max_log2, nt * 4) == 0 && memcmp(m.mass, m2.mass, nt * 4) == 0);
        ll_tile_map_free(&m2);
        ll_tile_map_free(&m);
        free(probs); free(bf_max); free(bf_mass); free(bf_probs); free(q); free(k);
    }
}

static void test_bad_input(void) {
    ll_shape s = {1, 100, 2, 64, LL_BF16};
    ll_attn_params p = {.shape = s, .tiling = {32, 32}};
    uint16_t *q = random_tensor(&s, 1, 1.0f), *k = random_tensor(&s, 2, 1.0f);
    ll_tile_map m, wrong;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&m, 1, 2, 4, 4, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_tile_map_compute(&p, q, k, &m, NULL, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_tile_map_alloc(&wrong, 1, 0, 4, 4, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&wrong, 1, 2, 4, 5, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_tile_map_compute(&p, q, k, &wrong, NULL, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tile map: output dimensions"));
    ll_tile_map_free(&wrong);

    ll_attn_params bad = p;
    bad.shape.D = 80;
    CU_ASSERT_EQUAL(ll_tile_map_compute(&bad, q, k, &m, NULL, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "D=80"));
    bad = p;
    bad.softmax_scale = NAN;
    CU_ASSERT_EQUAL(ll_tile_map_compute(&bad, q, k, &m, NULL, &err), LL_ERR_INVALID);
    k[((size_t)42 * 2 + 1) * 64 + 7] = ll_float_to_bf16(-INFINITY);
    CU_ASSERT_EQUAL(ll_tile_map_compute(&p, q, k, &m, NULL, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "K: -Inf at (b=0, n=42, h=1, d=7)"));
    CU_ASSERT_EQUAL(ll_tile_map_compute(&p, NULL, k, &m, NULL, &err), LL_ERR_INVALID);
    ll_tile_map_free(&m);
    free(q);
    free(k);

    // Full maps only up to LL_FULL_MAP_MAX_N tokens.
    ll_shape big = {1, LL_FULL_MAP_MAX_N + 1, 1, 64, LL_BF16};
    ll_attn_params pb = {.shape = big, .tiling = {128, 128}};
    int qts = ll_q_tiles(&big, &pb.tiling), kts = ll_k_tiles(&big, &pb.tiling);
    uint16_t *zq = calloc(ll_shape_elems(&big), 2), *zk = calloc(ll_shape_elems(&big), 2);
    float dummy;
    CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&m, 1, 1, qts, kts, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_tile_map_compute(&pb, zq, zk, &m, &dummy, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "full probability maps"));
    ll_tile_map_free(&m);
    free(zq);
    free(zk);
}

int register_tile_maps_suite(void) {
    CU_pSuite s = CU_add_suite("tile_maps", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "tile maps match brute force, ranges, full maps", test_matches_brute_force) ||
        !CU_add_test(s, "bad input: clear errors", test_bad_input))
        return CU_get_error();
    return CUE_SUCCESS;
}
