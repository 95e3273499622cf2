// test_flops.c: FLOP accounting. Dense == 4*B*H*N*N*D == the sum over all
// tiles (partial last tiles counted exactly) on odd N; list- and mask-based
// counts agree with each other and with a per-tile brute-force sum; executed
// + skipped == dense; bad dimensions are refused.
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flops.h"
#include "test_suites.h"
#include "test_util.h"

static const ll_list_encoding ENCODINGS[2] = {LL_END_EXCLUSIVE, LL_END_INCLUSIVE_PRODUCTION};

// Sum of ll_flops_tile over every tile of one (b, h).
static uint64_t tile_sum(const ll_shape *s, const ll_tiling *t) {
    uint64_t sum = 0;
    for (int qt = 0; qt < ll_q_tiles(s, t); qt++)
        for (int kt = 0; kt < ll_k_tiles(s, t); kt++) sum += ll_flops_tile(s, t, qt, kt);
    return sum;
}

static void test_dense(void) {
    // Figures worked out by hand (python): Wan2.1 720p, one head dim 64 token, small odd shapes.
    ll_shape wan = {1, 75600, 40, 128, LL_BF16};
    CU_ASSERT_EQUAL(ll_flops_dense(&wan), 117050572800000ull);
    ll_shape one = {1, 1, 1, 64, LL_BF16};
    CU_ASSERT_EQUAL(ll_flops_dense(&one), 256u);
    ll_shape small = {2, 127, 3, 96, LL_FP16};
    CU_ASSERT_EQUAL(ll_flops_dense(&small), 37161216u);

    // dense == sum over tiles for odd N at the production and square tilings
    const int Ns[] = {1, 15, 127, 128, 129, 1000, 4097, 32760, 75600};
    const int Ds[] = {64, 96, 128};
    int checked = 0;
    for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++)
        for (size_t j = 0; j < sizeof Ds / sizeof *Ds; j++) {
            ll_shape s = {1, Ns[i], 1, Ds[j], LL_BF16};
            ll_tiling tilings[3] = {ll_tiling_production(Ds[j]), {64, 64}, {128, 128}};
            for (int k = 0; k < 3; k++) {
                uint64_t want = 4ull * (uint64_t)Ns[i] * (uint64_t)Ns[i] * (uint64_t)Ds[j];
                CU_ASSERT_EQUAL(ll_flops_dense(&s), want);
                CU_ASSERT_EQUAL(tile_sum(&s, &tilings[k]), want);
                checked++;
            }
        }
    CU_ASSERT_EQUAL(checked, 81);

    // partial tiles: N = 129 with 128x128 tiles has a 1x1 corner tile
    ll_shape s = {1, 129, 1, 64, LL_BF16};
    ll_tiling t = {128, 128};
    CU_ASSERT_EQUAL(ll_flops_tile(&s, &t, 0, 0), 4ull * 128 * 128 * 64);
    CU_ASSERT_EQUAL(ll_flops_tile(&s, &t, 0, 1), 4ull * 128 * 1 * 64);
    CU_ASSERT_EQUAL(ll_flops_tile(&s, &t, 1, 0), 4ull * 1 * 128 * 64);
    CU_ASSERT_EQUAL(ll_flops_tile(&s, &t, 1, 1), 4ull * 1 * 1 * 64);
    // Wan 720p at 128x176: the last tiles are 80 rows and 96 columns
    ll_tiling prod = ll_tiling_production(128);
    CU_ASSERT_EQUAL(ll_flops_tile(&wan, &prod, 590, 429), 4ull * 80 * 96 * 128);
}

// Brute-force executed FLOPs of a list: ll_flops_tile over every kept tile.
static uint64_t brute_executed(const ll_shape *s, const ll_tiling *t, const ll_skip_list *l, uint64_t *tiles) {
    uint8_t *keep = malloc((size_t)l->k_tiles);
    uint64_t sum = 0;
    *tiles = 0;
    for (int b = 0; b < l->B; b++)
        for (int h = 0; h < l->H; h++)
            for (int qt = 0; qt < l->q_tiles; qt++) {
                ll_skip_list_row_to_keep(ll_skip_list_row(l, b, h, qt), l->k_tiles, l->encoding, keep);
                for (int kt = 0; kt < l->k_tiles; kt++)
                    if (keep[kt]) {
                        sum += ll_flops_tile(s, t, qt, kt);
                        (*tiles)++;
                    }
            }
    free(keep);
    return sum;
}

static void test_list_and_mask(void) {
    ll_error err;
    const int Ns[] = {129, 300, 1000, 1023, 2049};
    const int Ds[] = {64, 96, 128};
    int cases = 0;
    for (size_t i = 0; i < sizeof Ns / sizeof *Ns; i++)
        for (size_t j = 0; j < sizeof Ds / sizeof *Ds; j++)
            for (int e = 0; e < 2; e++) {
                ll_shape s = {2, Ns[i], 3, Ds[j], LL_BF16};
                ll_tiling t = (i + j) % 2 ? ll_tiling_production(Ds[j]) : (ll_tiling){64, 48};
                int qts = ll_q_tiles(&s, &t), kts = ll_k_tiles(&s, &t);
                if (kts < 2) continue;
                ll_skip_list l;
                ll_skip_mask m;
                ll_flops fl, fm;
                CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 2, 3, qts, kts, ENCODINGS[e], &err), LL_OK);
                CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 2, 3, qts, kts, &err), LL_OK);

                // full list: executed == dense
                ll_skip_list_fill_full(&l);
                CU_ASSERT_EQUAL_FATAL(ll_flops_from_list(&s, &t, &l, &fl, &err), LL_OK);
                CU_ASSERT_EQUAL(fl.executed, ll_flops_dense(&s));
                CU_ASSERT_EQUAL(fl.skipped, 0u);
                CU_ASSERT_EQUAL(fl.tiles_kept, fl.tiles_total);
                CU_ASSERT_EQUAL(fl.tiles_total, (uint64_t)6 * qts * kts);
                CU_ASSERT_DOUBLE_EQUAL(ll_flops_skipped_ratio(&fl), 0.0, 0.0);

                // random lists: list == mask == brute force; executed + skipped == dense
                tu_random_list(&l, 4000 + (uint64_t)cases);
                CU_ASSERT_EQUAL_FATAL(ll_flops_from_list(&s, &t, &l, &fl, &err), LL_OK);
                CU_ASSERT_EQUAL_FATAL(ll_skip_mask_from_list(&m, &l, &err), LL_OK);
                CU_ASSERT_EQUAL_FATAL(ll_flops_from_mask(&s, &t, &m, &fm, &err), LL_OK);
                uint64_t tiles;
                uint64_t want = brute_executed(&s, &t, &l, &tiles);
                CU_ASSERT_EQUAL(fl.executed, want);
                CU_ASSERT_EQUAL(fm.executed, want);
                CU_ASSERT_EQUAL(fl.tiles_kept, tiles);
                CU_ASSERT_EQUAL(fm.tiles_kept, tiles);
                CU_ASSERT_EQUAL(fl.dense, ll_flops_dense(&s));
                CU_ASSERT_EQUAL(fm.dense, ll_flops_dense(&s));
                CU_ASSERT_EQUAL(fl.executed + fl.skipped, fl.dense);
                CU_ASSERT_EQUAL(fm.executed + fm.skipped, fm.dense);
                CU_ASSERT_EQUAL(fm.tiles_total, fl.tiles_total);
                CU_ASSERT_EQUAL(fm.tiles_total - fm.tiles_kept, ll_skip_mask_count_skipped(&m));
                CU_ASSERT_DOUBLE_EQUAL(ll_flops_skipped_ratio(&fl), (double)fl.skipped / (double)fl.dense, 1e-15);

                // every tile skipped: nothing executed
                memset(l.data, 0, sizeof(int32_t) * ll_skip_list_rows(&l) * (size_t)(kts + 1));
                CU_ASSERT_EQUAL_FATAL(ll_flops_from_list(&s, &t, &l, &fl, &err), LL_OK);
                CU_ASSERT_EQUAL(fl.executed, 0u);
                CU_ASSERT_EQUAL(fl.skipped, fl.dense);
                CU_ASSERT_EQUAL(fl.tiles_kept, 0u);
                CU_ASSERT_DOUBLE_EQUAL(ll_flops_skipped_ratio(&fl), 1.0, 0.0);
                ll_skip_mask_free(&m);
                ll_skip_list_free(&l);
                cases++;
            }
    CU_ASSERT(cases >= 25);
}

// Only the last (partial) key tile kept, or only the last query tile's
// rows: the exact widths, not whole tiles.
static void test_partial_tiles(void) {
    ll_error err;
    ll_shape s = {1, 1000, 2, 128, LL_BF16};
    ll_tiling t = ll_tiling_production(128);  // 128 x 176: 8 query tiles (last 104 rows), 6 key tiles (last 120 cols)
    ll_skip_list l;
    ll_skip_mask m;
    ll_flops f;
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 2, 8, 6, LL_END_EXCLUSIVE, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 1, 2, 8, 6, &err), LL_OK);
    for (size_t r = 0; r < ll_skip_list_rows(&l); r++) {  // only key tile 5
        int32_t *row = l.data + r * 7;
        row[0] = 2;
        row[1] = 5;
        row[2] = 4;
    }
    CU_ASSERT_EQUAL_FATAL(ll_flops_from_list(&s, &t, &l, &f, &err), LL_OK);
    CU_ASSERT_EQUAL(f.executed, 2ull * 4 * 1000 * 120 * 128);  // all 1000 rows x 120 columns, 2 heads
    CU_ASSERT_EQUAL_FATAL(ll_skip_mask_from_list(&m, &l, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(ll_flops_from_mask(&s, &t, &m, &f, &err), LL_OK);
    CU_ASSERT_EQUAL(f.executed, 2ull * 4 * 1000 * 120 * 128);
    ll_skip_mask_clear(&m);  // every tile of every query tile but the last skipped
    for (int h = 0; h < 2; h++)
        for (int qt = 0; qt < 7; qt++)
            for (int kt = 0; kt < 6; kt++) ll_skip_mask_set(&m, 0, h, qt, kt, 1);
    CU_ASSERT_EQUAL_FATAL(ll_flops_from_mask(&s, &t, &m, &f, &err), LL_OK);
    CU_ASSERT_EQUAL(f.executed, 2ull * 4 * 104 * 1000 * 128);
    CU_ASSERT_EQUAL(f.tiles_kept, 12u);
    ll_skip_list_free(&l);
    ll_skip_mask_free(&m);
}

static void test_errors(void) {
    ll_error err;
    ll_shape s = {1, 500, 2, 64, LL_BF16};
    ll_tiling t = {64, 64};  // 8 x 8 tiles
    ll_skip_list l;
    ll_skip_mask m;
    ll_flops f;
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 2, 8, 7, LL_END_EXCLUSIVE, &err), LL_OK);
    ll_skip_list_fill_full(&l);
    CU_ASSERT_EQUAL(ll_flops_from_list(&s, &t, &l, &f, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "k_tiles=7"));
    ll_skip_list_free(&l);
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 2, 8, 8, LL_END_EXCLUSIVE, &err), LL_OK);
    ll_skip_list_fill_full(&l);
    ll_skip_list_row(&l, 0, 1, 4)[2] = 9;  // empty range
    CU_ASSERT_EQUAL(ll_flops_from_list(&s, &t, &l, &f, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "row (b=0, h=1, qtile=4)"));
    ll_shape bad = s;
    bad.D = 80;
    CU_ASSERT_EQUAL(ll_flops_from_list(&bad, &t, &l, &f, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "D=80"));
    ll_tiling bt = {64, 40};
    CU_ASSERT_EQUAL(ll_flops_from_list(&s, &bt, &l, &f, &err), LL_ERR_INVALID);
    ll_skip_list_free(&l);
    CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 1, 3, 8, 8, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_flops_from_mask(&s, &t, &m, &f, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "H=3"));
    ll_skip_mask_free(&m);
}

int register_flops_suite(void) {
    CU_pSuite s = CU_add_suite("flops", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "dense == 4BHNND == sum over tiles, odd N", test_dense) ||
        !CU_add_test(s, "list == mask == brute force; executed + skipped == dense", test_list_and_mask) ||
        !CU_add_test(s, "partial last tiles counted with their real size", test_partial_tiles) ||
        !CU_add_test(s, "mismatched dimensions, broken lists, bad shapes", test_errors))
        return CU_get_error();
    return CUE_SUCCESS;
}
