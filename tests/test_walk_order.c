// test_walk_order.c: the reference visiting sequences of lib/walk_order.h.
#include <CUnit/CUnit.h>
#include <string.h>

#include "test_suites.h"
#include "walk_order.h"

static void test_names(void) {
    for (int i = 0; i < LL_WALK_ORDERS; i++) {
        ll_walk_order w;
        CU_ASSERT_EQUAL(ll_walk_order_parse(ll_walk_order_name((ll_walk_order)i), &w, NULL), LL_OK);
        CU_ASSERT_EQUAL(w, i);
    }
    ll_walk_order w;
    ll_error e;
    CU_ASSERT_EQUAL(ll_walk_order_parse("sideways", &w, &e), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(e.msg, "sideways"));
    CU_ASSERT_EQUAL(ll_walk_order_parse(NULL, &w, NULL), LL_ERR_INVALID);
}

static void test_descending_and_alternating(void) {
    ll_shape s = {1, 7 * 64, 1, 64, LL_BF16};
    ll_tiling t = {64, 64};
    uint8_t keep[7] = {1, 0, 1, 1, 0, 1, 1};
    int order[7];
    const int down[5] = {6, 5, 3, 2, 0}, up[5] = {0, 2, 3, 5, 6};
    CU_ASSERT_EQUAL(ll_walk_sequence(LL_WALK_DESCENDING, 1, &s, &t, 3, keep, 7, order), 5);
    CU_ASSERT_EQUAL(memcmp(order, down, sizeof down), 0);
    CU_ASSERT_EQUAL(ll_walk_sequence(LL_WALK_ALTERNATING, 0, &s, &t, 3, keep, 7, order), 5);
    CU_ASSERT_EQUAL(memcmp(order, down, sizeof down), 0);
    CU_ASSERT_EQUAL(ll_walk_sequence(LL_WALK_ALTERNATING, 3, &s, &t, 3, keep, 7, order), 5);
    CU_ASSERT_EQUAL(memcmp(order, up, sizeof up), 0);
}

static void test_diagonal_out(void) {
    // Query tiles of 128 rows over key tiles of 64 columns: query tile 1 covers tokens
    // 128..255, centre 191, key tile 2.
    ll_shape s = {1, 6 * 64, 1, 64, LL_BF16};
    ll_tiling t = {128, 64};
    CU_ASSERT_EQUAL(ll_walk_diagonal_tile(&s, &t, 1), 2);
    uint8_t all[6] = {1, 1, 1, 1, 1, 1};
    int order[6];
    const int want[6] = {2, 3, 1, 4, 0, 5};
    CU_ASSERT_EQUAL(ll_walk_sequence(LL_WALK_DIAGONAL_OUT, 0, &s, &t, 1, all, 6, order), 6);
    CU_ASSERT_EQUAL(memcmp(order, want, sizeof want), 0);
    // Tiles not listed are not visited; the first visited is the nearest listed one.
    uint8_t keep[6] = {1, 0, 0, 1, 1, 0};
    const int want2[3] = {3, 4, 0};
    CU_ASSERT_EQUAL(ll_walk_sequence(LL_WALK_DIAGONAL_OUT, 0, &s, &t, 1, keep, 6, order), 3);
    CU_ASSERT_EQUAL(memcmp(order, want2, sizeof want2), 0);
    // A partial last query tile: its centre is its own rows' centre.
    ll_shape odd = {1, 300, 1, 64, LL_BF16};
    ll_tiling t2 = {128, 64};
    CU_ASSERT_EQUAL(ll_walk_diagonal_tile(&odd, &t2, 2), (256 + (44 - 1) / 2) / 64);
    // Every order visits every listed tile exactly once.
    for (int w = 0; w < LL_WALK_ORDERS; w++)
        for (int qt = 0; qt < 3; qt++) {
            int seen[6] = {0};
            int n = ll_walk_sequence((ll_walk_order)w, qt, &s, &t, qt < 3 ? qt : 0, all, 6, order);
            CU_ASSERT_EQUAL(n, 6);
            for (int i = 0; i < n; i++) seen[order[i]]++;
            for (int kt = 0; kt < 6; kt++) CU_ASSERT_EQUAL(seen[kt], 1);
        }
}

int register_walk_order_suite(void) {
    CU_pSuite s = CU_add_suite("walk_order", NULL, NULL);
    if (!s) return -1;
    if (!CU_add_test(s, "names parse back; unknown names fail naming them", test_names) ||
        !CU_add_test(s, "descending; alternating flips with the call index", test_descending_and_alternating) ||
        !CU_add_test(s, "diagonal outward: start at the centre token's tile, nearest first", test_diagonal_out))
        return -1;
    return 0;
}
