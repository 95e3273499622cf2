// test_skip_mask.c: the bit mask (row padding to 64-bit words, set/get,
// counting that ignores padding bits) and its conversions to and from skip
// lists in both encodings, against bit-by-bit brute force.
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skip_mask.h"
#include "test_suites.h"
#include "test_util.h"

static const ll_list_encoding ENCODINGS[2] = {LL_END_EXCLUSIVE, LL_END_INCLUSIVE_PRODUCTION};
// Key-tile counts around the word boundaries.
static const int K_VALUES[] = {1, 2, 7, 63, 64, 65, 128, 130};
enum { N_K = sizeof K_VALUES / sizeof K_VALUES[0] };

static void test_alloc_and_bits(void) {
    ll_error err;
    ll_skip_mask m;
    CU_ASSERT_EQUAL(ll_skip_mask_alloc(&m, 1, 0, 1, 4, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "H=0"));
    CU_ASSERT_PTR_NULL(m.bits);
    CU_ASSERT_EQUAL(ll_skip_mask_alloc(&m, 1, 1, 1, 0, &err), LL_ERR_INVALID);
    const int words[N_K] = {1, 1, 1, 1, 1, 2, 2, 3};
    for (int i = 0; i < N_K; i++) {
        int K = K_VALUES[i];
        CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 2, 3, 4, K, &err), LL_OK);
        CU_ASSERT_EQUAL(m.words_per_row, words[i]);
        CU_ASSERT_EQUAL(ll_skip_mask_count_skipped(&m), 0u);  // fresh masks skip nothing
        // set bits by brute force from a hash; get and count agree
        uint64_t want = 0;
        for (int b = 0; b < 2; b++)
            for (int h = 0; h < 3; h++)
                for (int qt = 0; qt < 4; qt++)
                    for (int kt = 0; kt < K; kt++) {
                        int on = (int)(ll_hash4(99, (uint64_t)(((b * 3 + h) * 4 + qt)), (uint64_t)kt, 0) & 1);
                        ll_skip_mask_set(&m, b, h, qt, kt, on);
                        want += (uint64_t)on;
                    }
        CU_ASSERT_EQUAL(ll_skip_mask_count_skipped(&m), want);
        int mismatches = 0;
        for (int b = 0; b < 2; b++)
            for (int h = 0; h < 3; h++)
                for (int qt = 0; qt < 4; qt++)
                    for (int kt = 0; kt < K; kt++) {
                        int on = (int)(ll_hash4(99, (uint64_t)(((b * 3 + h) * 4 + qt)), (uint64_t)kt, 0) & 1);
                        mismatches += ll_skip_mask_get(&m, b, h, qt, kt) != on;
                    }
        CU_ASSERT_EQUAL(mismatches, 0);
        // clearing one bit, setting it twice
        ll_skip_mask_set(&m, 1, 2, 3, K - 1, 1);
        ll_skip_mask_set(&m, 1, 2, 3, K - 1, 1);
        CU_ASSERT_EQUAL(ll_skip_mask_get(&m, 1, 2, 3, K - 1), 1);
        uint64_t before = ll_skip_mask_count_skipped(&m);
        ll_skip_mask_set(&m, 1, 2, 3, K - 1, 0);
        CU_ASSERT_EQUAL(ll_skip_mask_get(&m, 1, 2, 3, K - 1), 0);
        CU_ASSERT_EQUAL(ll_skip_mask_count_skipped(&m), before - 1);
        // padding bits past k_tiles are not skipped tiles
        if (K % 64) {
            before = ll_skip_mask_count_skipped(&m);
            ll_skip_mask_row(&m, 0, 0, 0)[m.words_per_row - 1] |= (uint64_t)1 << 63;
            CU_ASSERT_EQUAL(ll_skip_mask_count_skipped(&m), before);
        }
        ll_skip_mask_clear(&m);
        CU_ASSERT_EQUAL(ll_skip_mask_count_skipped(&m), 0u);
        ll_skip_mask_free(&m);
        CU_ASSERT_PTR_NULL(m.bits);
    }
}

// mask_from_list sets exactly the tiles the list's reading does not compute.
static void test_mask_from_list(void) {
    ll_error err;
    for (int i = 1; i < N_K; i++) {  // K = 1 has no valid non-empty list
        int K = K_VALUES[i];
        for (int e = 0; e < 2; e++) {
            ll_skip_list l;
            ll_skip_mask m;
            CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 2, 2, 3, K, ENCODINGS[e], &err), LL_OK);
            CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 2, 2, 3, K, &err), LL_OK);
            tu_random_list(&l, 1000 + (uint64_t)(K * 2 + e));
            tu_random_mask(&m, 0.5, 5);  // stale bits that must be overwritten
            CU_ASSERT_EQUAL_FATAL(ll_skip_mask_from_list(&m, &l, &err), LL_OK);
            uint8_t *keep = malloc((size_t)K);
            int mismatches = 0;
            uint64_t kept_total = 0;
            for (int b = 0; b < 2; b++)
                for (int h = 0; h < 2; h++)
                    for (int qt = 0; qt < 3; qt++) {
                        kept_total += (uint64_t)ll_skip_list_row_to_keep(ll_skip_list_row(&l, b, h, qt), K,
                                                                        ENCODINGS[e], keep);
                        for (int kt = 0; kt < K; kt++) mismatches += ll_skip_mask_get(&m, b, h, qt, kt) == keep[kt];
                    }
            CU_ASSERT_EQUAL(mismatches, 0);
            CU_ASSERT_EQUAL(ll_skip_mask_count_skipped(&m), (uint64_t)(2 * 2 * 3 * K) - kept_total);
            free(keep);
            ll_skip_mask_free(&m);
            ll_skip_list_free(&l);
        }
    }
}

// list_from_mask: exclusive rows read back as the mask's complement exactly;
// production rows are what its writer stores (compared with the rows built
// from the runs directly).
static void test_list_from_mask(void) {
    ll_error err;
    for (int i = 1; i < N_K; i++) {
        int K = K_VALUES[i];
        for (int e = 0; e < 2; e++) {
            ll_skip_list l;
            ll_skip_mask m, back;
            CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 3, 5, K, ENCODINGS[e], &err), LL_OK);
            CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 1, 3, 5, K, &err), LL_OK);
            CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&back, 1, 3, 5, K, &err), LL_OK);
            // masks that fit: each row a random fitting keep row
            ll_rng rng;
            ll_rng_seed(&rng, 31 + (uint64_t)K);
            uint8_t *keep = malloc((size_t)K);
            int32_t *want = malloc(sizeof(int32_t) * (size_t)(2 * K + 2));
            for (int h = 0; h < 3; h++)
                for (int qt = 0; qt < 5; qt++) {
                    tu_random_fitting_keep(&rng, keep, K);
                    for (int kt = 0; kt < K; kt++) ll_skip_mask_set(&m, 0, h, qt, kt, !keep[kt]);
                }
            CU_ASSERT_EQUAL_FATAL(ll_skip_list_from_mask(&l, &m, &err), LL_OK);
            CU_ASSERT_EQUAL(ll_skip_list_validate(&l, "from mask", &err), LL_OK);
            int bad_rows = 0;
            for (int h = 0; h < 3; h++)
                for (int qt = 0; qt < 5; qt++) {
                    for (int kt = 0; kt < K; kt++) keep[kt] = !ll_skip_mask_get(&m, 0, h, qt, kt);
                    tu_expected_row(keep, K, ENCODINGS[e], want);
                    const int32_t *row = ll_skip_list_row(&l, 0, h, qt);
                    bad_rows += row[0] != want[0] || memcmp(row + 1, want + 1, sizeof(int32_t) * (size_t)want[0]);
                }
            CU_ASSERT_EQUAL(bad_rows, 0);
            CU_ASSERT_EQUAL_FATAL(ll_skip_mask_from_list(&back, &l, &err), LL_OK);
            if (ENCODINGS[e] == LL_END_EXCLUSIVE) {
                CU_ASSERT_EQUAL(memcmp(back.bits, m.bits, sizeof(uint64_t) * 15 * (size_t)m.words_per_row), 0);
            } else {  // the production reading computes more: back's skips are a subset of m's
                int extra = 0;
                for (int w = 0; w < 15 * m.words_per_row; w++) extra += (back.bits[w] & ~m.bits[w]) != 0;
                CU_ASSERT_EQUAL(extra, 0);
            }
            free(keep);
            free(want);
            ll_skip_mask_free(&back);
            ll_skip_mask_free(&m);
            ll_skip_list_free(&l);
        }
    }
}

static void test_conversion_errors(void) {
    ll_error err;
    ll_skip_list l;
    ll_skip_mask m;
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 2, 3, 7, LL_END_EXCLUSIVE, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 1, 2, 3, 8, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_skip_mask_from_list(&m, &l, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "k_tiles=8"));
    CU_ASSERT_EQUAL(ll_skip_list_from_mask(&l, &m, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "differ"));
    ll_skip_mask_free(&m);

    // a broken list row is refused, named
    CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 1, 2, 3, 7, &err), LL_OK);
    ll_skip_list_fill_full(&l);
    ll_skip_list_row(&l, 0, 1, 2)[0] = 3;
    CU_ASSERT_EQUAL(ll_skip_mask_from_list(&m, &l, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "row (b=0, h=1, qtile=2)"));

    // K = 7, tiles 0, 2, 4, 6 kept: 8 entries do not fit; exclusive refuses
    // (naming the row), production writes the fitted row (skip_list.h's fit
    // rule), which reads as every tile, as the writer's entries would.
    ll_skip_mask_clear(&m);
    for (int kt = 1; kt < 7; kt += 2) ll_skip_mask_set(&m, 0, 1, 1, kt, 1);
    CU_ASSERT_EQUAL(ll_skip_list_from_mask(&l, &m, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "row (b=0, h=1, qtile=1)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "4 separate runs"));
    ll_skip_list_free(&l);
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 2, 3, 7, LL_END_INCLUSIVE_PRODUCTION, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_skip_list_from_mask(&l, &m, &err), LL_OK);
    const int32_t *row = ll_skip_list_row(&l, 0, 1, 1);
    CU_ASSERT(row[0] == 6 && row[1] == 6 && row[2] == 3 && row[3] == 2 && row[4] == 1 && row[5] == 0 && row[6] == 0);
    CU_ASSERT_EQUAL(ll_skip_list_row_kept(row, 7, LL_END_INCLUSIVE_PRODUCTION), 7);
    ll_skip_list_free(&l);
    ll_skip_mask_free(&m);

    // one key tile: a kept tile cannot be listed in either encoding
    for (int e = 0; e < 2; e++) {
        CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 1, 2, 1, ENCODINGS[e], &err), LL_OK);
        CU_ASSERT_EQUAL_FATAL(ll_skip_mask_alloc(&m, 1, 1, 2, 1, &err), LL_OK);
        ll_skip_mask_set(&m, 0, 0, 0, 0, 1);  // row 0 skips its tile: fits; row 1 keeps it: does not
        CU_ASSERT_EQUAL(ll_skip_list_from_mask(&l, &m, &err), LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "row (b=0, h=0, qtile=1)"));
        ll_skip_mask_set(&m, 0, 0, 1, 0, 1);
        CU_ASSERT_EQUAL(ll_skip_list_from_mask(&l, &m, &err), LL_OK);
        CU_ASSERT_EQUAL(ll_skip_list_row(&l, 0, 0, 1)[0], 0);
        ll_skip_list_free(&l);
        ll_skip_mask_free(&m);
    }
}

int register_skip_mask_suite(void) {
    CU_pSuite s = CU_add_suite("skip_mask", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "alloc, set/get, count (padding ignored), clear", test_alloc_and_bits) ||
        !CU_add_test(s, "mask from list: complement of the reading, both encodings", test_mask_from_list) ||
        !CU_add_test(s, "list from mask: the writer's rows, exact round trip under exclusive", test_list_from_mask) ||
        !CU_add_test(s, "conversion errors: dimensions, broken rows, rows that do not fit", test_conversion_errors))
        return CU_get_error();
    return CUE_SUCCESS;
}
