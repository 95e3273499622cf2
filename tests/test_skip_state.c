// test_skip_state.c: per-layer double-buffered skip lists: buffers alternate
// per layer and independently across layers over several steps, a written
// list is the next call's read list, reset refills everything, disabled
// state hands out no lists, threshold and argument checks.
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "skip_state.h"
#include "test_suites.h"

static const ll_shape SHAPE = {1, 1000, 2, 64, LL_BF16};
static const ll_tiling TILING = {64, 128};  // 16 query tiles, 8 key tiles (the last 104 wide)

static int list_is_full(const ll_skip_list *l) {
    size_t rows = ll_skip_list_rows(l), stride = (size_t)ll_skip_list_row_len(l->k_tiles);
    int32_t end = l->encoding == LL_END_EXCLUSIVE ? -1 : 0;
    for (size_t r = 0; r < rows; r++) {
        const int32_t *row = l->data + r * stride;
        if (row[0] != 2 || row[1] != l->k_tiles - 1 || row[2] != end) return 0;
    }
    return 1;
}

// Writes into every row of l the single range (start, end) with start = tag % K:
// a recognisable, valid list (under both encodings, end = 0 reads tile 0..start
// under production and 1..start under exclusive).
static void write_tag(ll_skip_list *l, int tag) {
    size_t rows = ll_skip_list_rows(l), stride = (size_t)ll_skip_list_row_len(l->k_tiles);
    for (size_t r = 0; r < rows; r++) {
        int32_t *row = l->data + r * stride;
        row[0] = 2;
        row[1] = 1 + tag % (l->k_tiles - 1);
        row[2] = 0;
    }
}

static int read_tag(const ll_skip_list *l) { return l->data[1]; }

static void test_init_and_errors(void) {
    ll_skip_state st;
    ll_error err;
    for (int e = 0; e < 2; e++) {
        ll_list_encoding enc = e ? LL_END_INCLUSIVE_PRODUCTION : LL_END_EXCLUSIVE;
        CU_ASSERT_EQUAL_FATAL(ll_skip_state_init(&st, 3, &SHAPE, &TILING, enc, -10.0f, 1, &err), LL_OK);
        CU_ASSERT_EQUAL(st.n_layers, 3);
        CU_ASSERT_EQUAL(st.encoding, enc);
        CU_ASSERT_EQUAL(st.threshold, -10.0f);
        for (int i = 0; i < 6; i++) {
            CU_ASSERT_EQUAL(st.lists[i].B, 1);
            CU_ASSERT_EQUAL(st.lists[i].H, 2);
            CU_ASSERT_EQUAL(st.lists[i].q_tiles, 16);
            CU_ASSERT_EQUAL(st.lists[i].k_tiles, 8);
            CU_ASSERT_EQUAL(st.lists[i].encoding, enc);
            CU_ASSERT_TRUE(list_is_full(&st.lists[i]));
            CU_ASSERT_EQUAL(ll_skip_list_validate(&st.lists[i], "state list", &err), LL_OK);
        }
        for (int l = 0; l < 3; l++) {
            CU_ASSERT_EQUAL(st.read_index[l], 0);
            CU_ASSERT_EQUAL(st.steps[l], 0);
            CU_ASSERT_DOUBLE_EQUAL(ll_skip_state_kept_fraction(&st, l), 1.0, 0.0);
        }
        ll_skip_state_free(&st);
        CU_ASSERT_PTR_NULL(st.lists);
        ll_skip_state_free(&st);  // twice is harmless
    }
    // -inf is a valid threshold (marks nothing); 0 too
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &SHAPE, &TILING, LL_END_EXCLUSIVE, -INFINITY, 1, &err), LL_OK);
    ll_skip_state_free(&st);
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &SHAPE, &TILING, LL_END_EXCLUSIVE, 0.0f, 1, &err), LL_OK);
    ll_skip_state_free(&st);

    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &SHAPE, &TILING, LL_END_EXCLUSIVE, 0.5f, 1, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "threshold"));
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &SHAPE, &TILING, LL_END_EXCLUSIVE, NAN, 1, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &SHAPE, &TILING, LL_END_EXCLUSIVE, INFINITY, 1, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 0, &SHAPE, &TILING, LL_END_EXCLUSIVE, -5.0f, 1, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "n_layers=0"));
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &SHAPE, &TILING, (ll_list_encoding)5, -5.0f, 1, &err), LL_ERR_INVALID);
    ll_shape bad = SHAPE;
    bad.D = 100;
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &bad, &TILING, LL_END_EXCLUSIVE, -5.0f, 1, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "D=100"));
    ll_tiling bt = {64, 100};
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &SHAPE, &bt, LL_END_EXCLUSIVE, -5.0f, 1, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "block_n=100"));
    // one key tile: the list layout cannot hold the full list
    ll_shape small = SHAPE;
    small.N = 100;
    CU_ASSERT_EQUAL(ll_skip_state_init(&st, 1, &small, &TILING, LL_END_EXCLUSIVE, -5.0f, 1, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot hold"));
    CU_ASSERT_PTR_NULL(st.lists);
}

// Three layers called in the order a model calls them, but layer 2 only
// every other step: each layer's buffers alternate on its own calls, what a
// call writes is what that layer's next call reads, and layers never share
// a buffer.
static void test_alternation(void) {
    ll_skip_state st;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_skip_state_init(&st, 3, &SHAPE, &TILING, LL_END_INCLUSIVE_PRODUCTION, -8.0f, 1, &err),
                          LL_OK);
    int expected_tag[3] = {-1, -1, -1};  // -1: the layer's next read list is full
    long calls[3] = {0, 0, 0};
    for (int step = 0; step < 7; step++)
        for (int layer = 0; layer < 3; layer++) {
            if (layer == 2 && step % 2) continue;
            ll_skip_list *read, *write;
            CU_ASSERT_EQUAL_FATAL(ll_skip_state_lists(&st, layer, &read, &write, &err), LL_OK);
            CU_ASSERT_PTR_NOT_NULL_FATAL(read);
            CU_ASSERT_PTR_NOT_NULL_FATAL(write);
            CU_ASSERT_PTR_NOT_EQUAL(read, write);
            // the pair is the layer's own, and the read side alternates per call
            CU_ASSERT_PTR_EQUAL(read, &st.lists[2 * layer + (int)(calls[layer] % 2)]);
            CU_ASSERT_PTR_EQUAL(write, &st.lists[2 * layer + 1 - (int)(calls[layer] % 2)]);
            if (expected_tag[layer] < 0) {
                CU_ASSERT_TRUE(list_is_full(read));
            } else {
                CU_ASSERT_EQUAL(read_tag(read), 1 + expected_tag[layer] % 7);
            }
            int tag = step * 3 + layer;
            write_tag(write, tag);
            ll_skip_state_advance(&st, layer);
            calls[layer]++;
            expected_tag[layer] = tag;
            CU_ASSERT_EQUAL(st.steps[layer], calls[layer]);
            // kept fraction of the list just written (start = 1 + tag % 7, end 0, production: tiles 0..start)
            CU_ASSERT_DOUBLE_EQUAL(ll_skip_state_kept_fraction(&st, layer), (2.0 + tag % 7) / 8.0, 1e-12);
        }
    CU_ASSERT_EQUAL(calls[0], 7);
    CU_ASSERT_EQUAL(calls[2], 4);
    CU_ASSERT_EQUAL(st.read_index[0], 1);
    CU_ASSERT_EQUAL(st.read_index[2], 0);

    // reset: every list full again, every layer reads buffer 0 next
    ll_skip_state_reset(&st);
    for (int i = 0; i < 6; i++) CU_ASSERT_TRUE(list_is_full(&st.lists[i]));
    for (int layer = 0; layer < 3; layer++) {
        CU_ASSERT_EQUAL(st.read_index[layer], 0);
        CU_ASSERT_EQUAL(st.steps[layer], 0);
        CU_ASSERT_DOUBLE_EQUAL(ll_skip_state_kept_fraction(&st, layer), 1.0, 0.0);
        ll_skip_list *read, *write;
        CU_ASSERT_EQUAL(ll_skip_state_lists(&st, layer, &read, &write, &err), LL_OK);
        CU_ASSERT_PTR_EQUAL(read, &st.lists[2 * layer]);
    }
    ll_skip_state_free(&st);
}

// Disabled: no lists, dense calls; advancing counts the call without
// swapping, so re-enabling reads the list the last enabled call wrote.
static void test_disable(void) {
    ll_skip_state st;
    ll_error err;
    ll_skip_list *read, *write;
    CU_ASSERT_EQUAL_FATAL(ll_skip_state_init(&st, 2, &SHAPE, &TILING, LL_END_EXCLUSIVE, -8.0f, 0, &err), LL_OK);
    CU_ASSERT_EQUAL(st.enabled, 0);
    read = write = (ll_skip_list *)&st;
    CU_ASSERT_EQUAL(ll_skip_state_lists(&st, 1, &read, &write, &err), LL_OK);
    CU_ASSERT_PTR_NULL(read);
    CU_ASSERT_PTR_NULL(write);
    CU_ASSERT_DOUBLE_EQUAL(ll_skip_state_kept_fraction(&st, 1), 1.0, 0.0);

    ll_skip_state_enable(&st, 1);
    CU_ASSERT_EQUAL(ll_skip_state_lists(&st, 0, &read, &write, &err), LL_OK);
    write_tag(write, 4);  // start 5, end 0: exclusive computes tiles 1..5
    ll_skip_state_advance(&st, 0);
    CU_ASSERT_DOUBLE_EQUAL(ll_skip_state_kept_fraction(&st, 0), 5.0 / 8.0, 1e-12);
    ll_skip_state_enable(&st, 0);
    CU_ASSERT_DOUBLE_EQUAL(ll_skip_state_kept_fraction(&st, 0), 1.0, 0.0);
    ll_skip_state_advance(&st, 0);
    ll_skip_state_advance(&st, 0);
    ll_skip_state_advance(&st, 0);
    CU_ASSERT_EQUAL(st.steps[0], 4);
    ll_skip_state_enable(&st, 7);  // any non-zero enables
    CU_ASSERT_EQUAL(st.enabled, 1);
    CU_ASSERT_EQUAL(ll_skip_state_lists(&st, 0, &read, &write, &err), LL_OK);
    CU_ASSERT_PTR_EQUAL(read, &st.lists[1]);
    CU_ASSERT_EQUAL(read_tag(read), 5);
    CU_ASSERT_TRUE(list_is_full(&st.lists[2]));  // layer 1 untouched
    CU_ASSERT_TRUE(list_is_full(&st.lists[3]));
    ll_skip_state_free(&st);
}

static void test_threshold_and_layers(void) {
    ll_skip_state st;
    ll_error err;
    ll_skip_list *read, *write;
    CU_ASSERT_EQUAL_FATAL(ll_skip_state_init(&st, 2, &SHAPE, &TILING, LL_END_EXCLUSIVE, -8.0f, 1, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_skip_state_set_threshold(&st, -3.0f, &err), LL_OK);
    CU_ASSERT_EQUAL(st.threshold, -3.0f);
    CU_ASSERT_EQUAL(ll_skip_state_set_threshold(&st, -INFINITY, &err), LL_OK);
    CU_ASSERT_TRUE(isinf(st.threshold) && st.threshold < 0);
    CU_ASSERT_EQUAL(ll_skip_state_set_threshold(&st, 0.0f, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_skip_state_set_threshold(&st, 1e-6f, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "<= 0"));
    CU_ASSERT_EQUAL(st.threshold, 0.0f);  // unchanged by a refused value
    CU_ASSERT_EQUAL(ll_skip_state_set_threshold(&st, NAN, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "NaN"));
    CU_ASSERT_EQUAL(st.threshold, 0.0f);

    CU_ASSERT_EQUAL(ll_skip_state_lists(&st, 2, &read, &write, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "layer 2"));
    CU_ASSERT_PTR_NULL(read);
    CU_ASSERT_EQUAL(ll_skip_state_lists(&st, -1, &read, &write, &err), LL_ERR_INVALID);
    ll_skip_state_advance(&st, 5);  // out of range: ignored
    ll_skip_state_advance(&st, -1);
    CU_ASSERT(st.read_index[0] == 0 && st.read_index[1] == 0);
    CU_ASSERT_TRUE(isnan(ll_skip_state_kept_fraction(&st, 2)));
    ll_skip_state_free(&st);
}

int register_skip_state_suite(void) {
    CU_pSuite s = CU_add_suite("skip_state", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "init: full lists, dimensions, argument checks", test_init_and_errors) ||
        !CU_add_test(s, "per-layer alternation over 7 steps, reset", test_alternation) ||
        !CU_add_test(s, "disabled: no lists, no swap; re-enable reads the last write", test_disable) ||
        !CU_add_test(s, "threshold checks, layer range", test_threshold_and_layers))
        return CU_get_error();
    return CUE_SUCCESS;
}
