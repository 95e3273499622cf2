// test_skip_list.c: the skip-list layout and both readings of `end`:
// full lists, the row checker on every kind of broken row, validation
// messages, keep -> row -> keep (identity under exclusive, keep plus the
// first tile of every skipped run below a kept range under production)
// exhaustively for small K and on random rows, the fit rule (rows that need
// more entries than a row holds) against a brute-force choice, and a 60-step
// chain of read/write rows through the list writer (no drift).
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "skip_list.h"
#include "test_suites.h"
#include "test_util.h"

static const ll_list_encoding ENCODINGS[2] = {LL_END_EXCLUSIVE, LL_END_INCLUSIVE_PRODUCTION};

static int rows_equal(const int32_t *a, const int32_t *b) {
    return a[0] == b[0] && memcmp(a + 1, b + 1, sizeof(int32_t) * (size_t)a[0]) == 0;
}

static void test_encoding_names(void) {
    ll_list_encoding e = LL_END_INCLUSIVE_PRODUCTION;
    ll_error err;
    CU_ASSERT_STRING_EQUAL(ll_list_encoding_name(LL_END_EXCLUSIVE), "exclusive");
    CU_ASSERT_STRING_EQUAL(ll_list_encoding_name(LL_END_INCLUSIVE_PRODUCTION), "production");
    CU_ASSERT_EQUAL(ll_list_encoding_parse("exclusive", &e, &err), LL_OK);
    CU_ASSERT_EQUAL(e, LL_END_EXCLUSIVE);
    CU_ASSERT_EQUAL(ll_list_encoding_parse("production", &e, &err), LL_OK);
    CU_ASSERT_EQUAL(e, LL_END_INCLUSIVE_PRODUCTION);
    const char *bad[] = {"", "Exclusive", "production ", "inclusive", "excl"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        e = LL_END_EXCLUSIVE;
        CU_ASSERT_EQUAL(ll_list_encoding_parse(bad[i], &e, &err), LL_ERR_INVALID);
        CU_ASSERT_EQUAL(err.code, LL_ERR_INVALID);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, quoted));
    }
    CU_ASSERT_EQUAL(ll_list_encoding_parse(NULL, &e, &err), LL_ERR_INVALID);
}

static void test_alloc_full_copy(void) {
    ll_error err;
    ll_skip_list l, c;
    CU_ASSERT_EQUAL(ll_skip_list_alloc(&l, 0, 1, 1, 4, LL_END_EXCLUSIVE, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "B=0"));
    CU_ASSERT_PTR_NULL(l.data);
    CU_ASSERT_EQUAL(ll_skip_list_alloc(&l, 1, 1, 1, -3, LL_END_EXCLUSIVE, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_skip_list_alloc(&l, 1, 1, 1, 4, (ll_list_encoding)7, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "encoding"));

    for (int e = 0; e < 2; e++) {
        int K = 9;
        CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 2, 3, 4, K, ENCODINGS[e], &err), LL_OK);
        CU_ASSERT_EQUAL(ll_skip_list_rows(&l), 24u);
        // fresh rows are empty (len 0) and valid
        CU_ASSERT_EQUAL(ll_skip_list_validate(&l, "fresh", &err), LL_OK);
        CU_ASSERT_EQUAL(ll_skip_list_row_kept(ll_skip_list_row(&l, 1, 2, 3), K, ENCODINGS[e]), 0);
        ll_skip_list_fill_full(&l);
        CU_ASSERT_EQUAL(ll_skip_list_validate(&l, "full", &err), LL_OK);
        for (int b = 0; b < 2; b++)
            for (int h = 0; h < 3; h++)
                for (int qt = 0; qt < 4; qt++) {
                    int32_t *row = ll_skip_list_row(&l, b, h, qt);
                    CU_ASSERT_EQUAL(row[0], 2);
                    CU_ASSERT_EQUAL(row[1], K - 1);
                    CU_ASSERT_EQUAL(row[2], e == 0 ? -1 : 0);
                    CU_ASSERT_EQUAL(ll_skip_list_row_kept(row, K, ENCODINGS[e]), K);
                }
        // row addressing: consecutive rows are K + 1 ints apart, qt fastest
        CU_ASSERT_EQUAL(ll_skip_list_row(&l, 1, 0, 0) - l.data, (ptrdiff_t)(3 * 4 * (K + 1)));
        CU_ASSERT_EQUAL(ll_skip_list_row(&l, 0, 1, 2) - l.data, (ptrdiff_t)(6 * (K + 1)));

        CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&c, 2, 3, 4, K, ENCODINGS[e], &err), LL_OK);
        ll_skip_list_row(&l, 1, 1, 1)[0] = 0;
        ll_skip_list_copy(&c, &l);
        CU_ASSERT_EQUAL(memcmp(c.data, l.data, sizeof(int32_t) * 24 * (K + 1)), 0);
        ll_skip_list_row(&l, 1, 1, 1)[0] = 2;  // a deep copy: c unchanged
        CU_ASSERT_EQUAL(ll_skip_list_row(&c, 1, 1, 1)[0], 0);
        ll_skip_list_free(&c);
        ll_skip_list_free(&l);
        CU_ASSERT_PTR_NULL(l.data);
        ll_skip_list_free(&l);  // twice is harmless
    }
}

// One key tile: the row holds 2 ints, the full list needs 3. fill_full must
// not write past the row, and the result must be rejected, not read.
static void test_one_key_tile(void) {
    ll_error err;
    for (int e = 0; e < 2; e++) {
        ll_skip_list l;
        CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 1, 1, 3, 1, ENCODINGS[e], &err), LL_OK);
        CU_ASSERT_EQUAL(ll_skip_list_row_len(1), 2);
        ll_skip_list_row(&l, 0, 0, 2)[0] = 0;
        ll_skip_list_row(&l, 0, 0, 2)[1] = 12345;
        ll_skip_list_fill_full(&l);
        CU_ASSERT_EQUAL(ll_skip_list_row(&l, 0, 0, 0)[0], 2);
        CU_ASSERT_EQUAL(ll_skip_list_row(&l, 0, 0, 0)[1], 0);
        CU_ASSERT_EQUAL(ll_skip_list_validate(&l, "one tile", &err), LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "len 2 > k_tiles 1"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "row (b=0, h=0, qtile=0)"));
        // keep = {0}: the empty row fits and is exact
        uint8_t keep = 0, back = 1;
        int32_t row[3] = {99, 99, -777};
        ll_skip_list_row_from_keep(&keep, 1, ENCODINGS[e], row);
        CU_ASSERT_EQUAL(row[0], 0);
        CU_ASSERT_EQUAL(row[2], -777);
        CU_ASSERT_EQUAL(ll_skip_list_row_to_keep(row, 1, ENCODINGS[e], &back), 0);
        CU_ASSERT_EQUAL(back, 0);
        // keep = {1}: no fitting row computes it; the row written is rejected
        keep = 1;
        CU_ASSERT_EQUAL(ll_skip_list_row_from_keep(&keep, 1, ENCODINGS[e], row), -1);
        CU_ASSERT_EQUAL(row[2], -777);  // nothing past the row's two ints
        char why[128];
        CU_ASSERT_EQUAL(ll_skip_list_check_row(row, 1, ENCODINGS[e], why, sizeof why), LL_ERR_INVALID);
        CU_ASSERT_EQUAL(ll_skip_list_keep_entries(&keep, 1), 2);
        ll_skip_list_free(&l);
    }
}

// Hand-written valid rows of K = 8.
static void test_check_row_valid(void) {
    char why[256];
    const int K = 8;
    const int32_t excl[][9] = {
        {0},
        {2, 7, -1},
        {2, 0, -1},                 // only tile 0
        {2, 7, 6},                  // only tile 7
        {4, 7, 5, 5, -1},           // touching ranges: 7,6 then 5..0
        {6, 7, 6, 5, 3, 1, 0},      // 7 | 5,4 | 1
        {8, 7, 6, 5, 4, 3, 2, 1, 0}, // 7 | 5 | 3 | 1: K entries, the most a row holds
    };
    for (size_t i = 0; i < sizeof excl / sizeof *excl; i++) {
        ll_status st = ll_skip_list_check_row(excl[i], K, LL_END_EXCLUSIVE, why, sizeof why);
        CU_ASSERT_EQUAL(st, LL_OK);
        if (st != LL_OK) fprintf(stderr, "\nexclusive row %zu: %s\n", i, why);
    }
    const int32_t prod[][9] = {
        {0},
        {2, 7, 0},
        {2, 0, 0},                  // only tile 0: start == end
        {2, 7, 7},
        {4, 7, 6, 5, 0},
        {8, 7, 7, 5, 5, 3, 3, 1, 0},
    };
    for (size_t i = 0; i < sizeof prod / sizeof *prod; i++) {
        ll_status st = ll_skip_list_check_row(prod[i], K, LL_END_INCLUSIVE_PRODUCTION, why, sizeof why);
        CU_ASSERT_EQUAL(st, LL_OK);
        if (st != LL_OK) fprintf(stderr, "\nproduction row %zu: %s\n", i, why);
    }
    // the two readings of the same entries
    uint8_t keep[8];
    CU_ASSERT_EQUAL(ll_skip_list_row_to_keep(excl[5], K, LL_END_EXCLUSIVE, keep), 4);
    const uint8_t want_excl[8] = {0, 1, 0, 0, 1, 1, 0, 1};
    CU_ASSERT_EQUAL(memcmp(keep, want_excl, 8), 0);
    CU_ASSERT_EQUAL(ll_skip_list_row_to_keep(excl[5], K, LL_END_INCLUSIVE_PRODUCTION, keep), 7);
    const uint8_t want_prod[8] = {1, 1, 0, 1, 1, 1, 1, 1};
    CU_ASSERT_EQUAL(memcmp(keep, want_prod, 8), 0);
    CU_ASSERT_EQUAL(ll_skip_list_row_kept(excl[5], K, LL_END_EXCLUSIVE), 4);
    CU_ASSERT_EQUAL(ll_skip_list_row_kept(excl[5], K, LL_END_INCLUSIVE_PRODUCTION), 7);
}

typedef struct {
    ll_list_encoding enc;
    int32_t row[10];
    const char *reason;  // a substring the message must hold
} bad_row;

// Every kind of broken row, K = 8 (rows have 9 ints).
static const bad_row BAD_ROWS[] = {
    {LL_END_EXCLUSIVE, {-2}, "negative"},
    {LL_END_EXCLUSIVE, {1, 7}, "odd"},
    {LL_END_EXCLUSIVE, {3, 7, -1, 5}, "odd"},
    {LL_END_EXCLUSIVE, {10, 7, 6, 5, 4, 3, 2, 1, 0, 0}, "len 10 > k_tiles 8"},
    {LL_END_EXCLUSIVE, {2, 8, -1}, "start 8 is outside [0, 7]"},
    {LL_END_EXCLUSIVE, {2, -1, -1}, "start -1 is outside"},
    {LL_END_EXCLUSIVE, {2, 5, -2}, "end -2 < -1"},
    {LL_END_EXCLUSIVE, {2, 5, 5}, "empty or ascending"},
    {LL_END_EXCLUSIVE, {2, 3, 5}, "empty or ascending"},
    {LL_END_EXCLUSIVE, {4, 7, 4, 5, -1}, "overlaps"},      // 7..5 then 5..0: tile 5 twice
    {LL_END_EXCLUSIVE, {4, 3, 1, 7, 5}, "overlaps"},       // ascending ranges
    {LL_END_EXCLUSIVE, {4, 7, 2, 7, 2}, "overlaps"},       // the same range twice
    {LL_END_EXCLUSIVE, {6, 7, 6, 4, 2, 3, -1}, "range 2"}, // the third range is the bad one
    {LL_END_INCLUSIVE_PRODUCTION, {2, 7, -1}, "end -1 < 0"},
    {LL_END_INCLUSIVE_PRODUCTION, {2, 3, 4}, "empty or ascending"},
    {LL_END_INCLUSIVE_PRODUCTION, {4, 7, 5, 5, 0}, "overlaps"},  // start == previous end: tile 5 twice
    {LL_END_INCLUSIVE_PRODUCTION, {4, 2, 0, 7, 4}, "overlaps"},
    {LL_END_INCLUSIVE_PRODUCTION, {2, 9, 0}, "outside"},
    {LL_END_INCLUSIVE_PRODUCTION, {5, 7, 0, 1, 0, 0}, "odd"},
};

static void test_check_row_broken(void) {
    char why[256];
    for (size_t i = 0; i < sizeof BAD_ROWS / sizeof *BAD_ROWS; i++) {
        strcpy(why, "(unset)");
        ll_status st = ll_skip_list_check_row(BAD_ROWS[i].row, 8, BAD_ROWS[i].enc, why, sizeof why);
        CU_ASSERT_EQUAL(st, LL_ERR_INVALID);
        int has = strstr(why, BAD_ROWS[i].reason) != NULL;
        CU_ASSERT_TRUE(has);
        if (st != LL_ERR_INVALID || !has) fprintf(stderr, "\nbad row %zu: got '%s'\n", i, why);
    }
}

// Each broken row planted in an otherwise full list: validation names the
// list, the row (b, h, qtile) and the reason.
static void test_validate_names_row(void) {
    ll_error err;
    for (size_t i = 0; i < sizeof BAD_ROWS / sizeof *BAD_ROWS; i++) {
        ll_skip_list l;
        CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&l, 2, 3, 5, 8, BAD_ROWS[i].enc, &err), LL_OK);
        ll_skip_list_fill_full(&l);
        CU_ASSERT_EQUAL(ll_skip_list_validate(&l, "planted", &err), LL_OK);
        int b = (int)(i % 2), h = (int)(i % 3), qt = (int)(i % 5);
        int32_t *row = ll_skip_list_row(&l, b, h, qt);
        memcpy(row, BAD_ROWS[i].row, sizeof(int32_t) * 9);
        ll_error_clear(&err);
        CU_ASSERT_EQUAL(ll_skip_list_validate(&l, "my read list", &err), LL_ERR_INVALID);
        CU_ASSERT_EQUAL(err.code, LL_ERR_INVALID);
        char where[64];
        snprintf(where, sizeof where, "row (b=%d, h=%d, qtile=%d)", b, h, qt);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "my read list"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, where));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, BAD_ROWS[i].reason));
        ll_skip_list_free(&l);
    }
    ll_skip_list none = {0};
    CU_ASSERT_EQUAL(ll_skip_list_validate(&none, "empty struct", &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "empty struct"));
}

// The edge cases of keep -> row, with the rows written out by hand.
static void test_from_keep_cases(void) {
    typedef struct {
        int K;
        uint8_t keep[8];
        int32_t excl[9], prod[9];
    } keep_case;
    const keep_case cases[] = {
        {1, {0}, {0}, {0}},
        {2, {1, 1}, {2, 1, -1}, {2, 1, 0}},
        {2, {0, 0}, {0}, {0}},
        {2, {1, 0}, {2, 0, -1}, {2, 0, 0}},          // tile K-1 skipped
        {2, {0, 1}, {2, 1, 0}, {2, 1, 0}},           // tile 0 skipped: production computes it again
        {5, {1, 1, 1, 1, 1}, {2, 4, -1}, {2, 4, 0}}, // all kept: the full list
        {6, {0, 1, 0, 1, 0, 1}, {6, 5, 4, 3, 2, 1, 0}, {6, 5, 4, 3, 2, 1, 0}},  // alternating
        {6, {1, 0, 1, 0, 1, 0}, {6, 4, 3, 2, 1, 0, -1}, {6, 4, 3, 2, 1, 0, 0}},
        {8, {1, 1, 0, 0, 0, 1, 1, 0}, {4, 6, 4, 1, -1}, {4, 6, 4, 1, 0}},
        {8, {0, 0, 0, 1, 1, 1, 1, 1}, {2, 7, 2}, {2, 7, 2}},
        {8, {1, 0, 0, 0, 0, 0, 0, 0}, {2, 0, -1}, {2, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const keep_case *c = &cases[i];
        for (int e = 0; e < 2; e++) {
            int32_t row[10];
            for (int j = 0; j < 10; j++) row[j] = -555;
            ll_skip_list_row_from_keep(c->keep, c->K, ENCODINGS[e], row);
            const int32_t *want = e == 0 ? c->excl : c->prod;
            int same = rows_equal(row, want);
            CU_ASSERT_TRUE(same);
            if (!same) fprintf(stderr, "\nkeep case %zu (%s): len %d, want %d\n", i, ll_list_encoding_name(ENCODINGS[e]), row[0], want[0]);
            CU_ASSERT_EQUAL(row[c->K + 1], -555);
        }
    }
    // the production reading of {0, 1}: tile 0 computed again, exclusive exact
    uint8_t keep[2] = {0, 1}, back[2];
    int32_t row[3];
    ll_skip_list_row_from_keep(keep, 2, LL_END_INCLUSIVE_PRODUCTION, row);
    CU_ASSERT_EQUAL(ll_skip_list_row_to_keep(row, 2, LL_END_INCLUSIVE_PRODUCTION, back), 2);
    ll_skip_list_row_from_keep(keep, 2, LL_END_EXCLUSIVE, row);
    CU_ASSERT_EQUAL(ll_skip_list_row_to_keep(row, 2, LL_END_EXCLUSIVE, back), 1);
    CU_ASSERT_EQUAL(back[0], 0);
    CU_ASSERT_EQUAL(back[1], 1);
}

// Checks one keep row in both encodings against the brute-force definitions
// in test_util.h. Returns the number of failed checks.
static int check_keep_round_trip(const uint8_t *keep, int K) {
    int32_t *row = malloc(sizeof(int32_t) * (size_t)(K + 2));
    int32_t *want = malloc(sizeof(int32_t) * (size_t)(2 * K + 2));
    uint8_t *back = malloc((size_t)K), *expect = malloc((size_t)K);
    int fails = 0, fits = tu_keep_fits(keep, K);
    char why[256];
    for (int e = 0; e < 2; e++) {
        ll_list_encoding enc = ENCODINGS[e];
        row[K + 1] = -555;  // a canary right past the row
        ll_skip_list_row_from_keep(keep, K, enc, row);
        fails += row[K + 1] != -555;
        int len = tu_expected_row(keep, K, enc, want);
        fails += ll_skip_list_keep_entries(keep, K) != len;
        if (!fits) continue;  // the unfit rows have their own test
        fails += !rows_equal(row, want);
        fails += ll_skip_list_check_row(row, K, enc, why, sizeof why) != LL_OK;
        int n = ll_skip_list_row_to_keep(row, K, enc, back);
        fails += ll_skip_list_row_kept(row, K, enc) != n;
        int n_expect = 0;
        if (enc == LL_END_EXCLUSIVE) {
            memcpy(expect, keep, (size_t)K);
            for (int kt = 0; kt < K; kt++) n_expect += keep[kt] != 0;
        } else {
            n_expect = tu_production_reading(keep, K, expect);
        }
        fails += n != n_expect;
        for (int kt = 0; kt < K; kt++) fails += (back[kt] != 0) != (expect[kt] != 0);
    }
    free(row);
    free(want);
    free(back);
    free(expect);
    return fails;
}

// Every keep row of K = 1 .. 12 tiles.
static void test_from_keep_exhaustive(void) {
    uint8_t keep[12];
    int fails = 0;
    for (int K = 1; K <= 12; K++)
        for (int m = 0; m < (1 << K); m++) {
            for (int kt = 0; kt < K; kt++) keep[kt] = (uint8_t)((m >> kt) & 1);
            int f = check_keep_round_trip(keep, K);
            if (f && !fails) fprintf(stderr, "\nK=%d pattern 0x%x: %d failed checks\n", K, m, f);
            fails += f;
        }
    CU_ASSERT_EQUAL(fails, 0);
}

// Random rows of up to 700 tiles (Wan 720p has 430 key tiles at 176 wide).
static void test_from_keep_random(void) {
    ll_rng rng;
    ll_rng_seed(&rng, 20240611);
    uint8_t keep[700];
    int fails = 0;
    for (int iter = 0; iter < 3000; iter++) {
        int K = iter % 3 == 0 ? ll_rng_int(&rng, 1, 16) : ll_rng_int(&rng, 1, 700);
        tu_random_keep(&rng, keep, K);
        // the named edge cases on top of the random pattern
        if (iter % 7 == 1) keep[0] = 0;
        if (iter % 7 == 2) keep[K - 1] = 0;
        if (iter % 7 == 3) keep[0] = keep[K - 1] = 1;
        int f = check_keep_round_trip(keep, K);
        if (f && !fails) fprintf(stderr, "\nrandom iter %d K=%d: %d failed checks\n", iter, K, f);
        fails += f;
    }
    CU_ASSERT_EQUAL(fails, 0);
}

// Odd K >= 3 with tiles 0, 2, ..., K-1 kept: K + 1 entries, one more than a
// row holds. The fit rule merges the first of the equal one-tile gaps: tile
// K-2 is computed too, in both encodings (production: then every tile).
static void test_from_keep_unfit(void) {
    for (int K = 3; K <= 101; K += 2) {
        uint8_t *keep = malloc((size_t)K), *fitted = malloc((size_t)K), *back = malloc((size_t)K);
        uint8_t *expect = malloc((size_t)K);
        int32_t *row = malloc(sizeof(int32_t) * (size_t)(K + 2));
        for (int kt = 0; kt < K; kt++) keep[kt] = (uint8_t)(kt % 2 == 0);
        memcpy(fitted, keep, (size_t)K);
        fitted[K - 2] = 1;
        CU_ASSERT_EQUAL(ll_skip_list_keep_entries(keep, K), K + 1);
        CU_ASSERT_FALSE(tu_keep_fits(keep, K));
        char why[256];
        for (int e = 0; e < 2; e++) {
            row[K + 1] = -555;
            CU_ASSERT_EQUAL(ll_skip_list_row_from_keep(keep, K, ENCODINGS[e], row), 1);
            CU_ASSERT_EQUAL(row[K + 1], -555);
            CU_ASSERT_EQUAL(row[0], K - 1);
            CU_ASSERT_EQUAL(ll_skip_list_check_row(row, K, ENCODINGS[e], why, sizeof why), LL_OK);
            int n = ll_skip_list_row_to_keep(row, K, ENCODINGS[e], back);
            if (ENCODINGS[e] == LL_END_EXCLUSIVE) {
                CU_ASSERT_EQUAL(n, (K + 1) / 2 + 1);
                CU_ASSERT_EQUAL(memcmp(back, fitted, (size_t)K), 0);
            } else {
                CU_ASSERT_EQUAL(n, tu_production_reading(fitted, K, expect));
                CU_ASSERT_EQUAL(memcmp(back, expect, (size_t)K), 0);
            }
        }
        free(keep);
        free(fitted);
        free(back);
        free(expect);
        free(row);
    }
    // the same pattern with one more dropped tile fits and is exact
    uint8_t keep[7] = {1, 0, 1, 0, 1, 0, 0}, back[7];
    int32_t row[9];
    CU_ASSERT_EQUAL(ll_skip_list_row_from_keep(keep, 7, LL_END_EXCLUSIVE, row), 0);
    CU_ASSERT_EQUAL(row[0], 6);
    ll_skip_list_row_to_keep(row, 7, LL_END_EXCLUSIVE, back);
    CU_ASSERT_EQUAL(memcmp(back, keep, 7), 0);
}

// The fit rule on hand-made entries: the smallest gap first, the first of
// equal ones, several merges; a single range cannot be fitted.
static void test_fit_cases(void) {
    // touching exclusive ranges (11,8) (8,5) (5,2) (2,-1), middle tile of each dropped:
    // 16 entries; the gaps of 0 at the range boundaries go first, two of them
    int32_t e[16] = {11, 10, 9, 8, 8, 7, 6, 5, 5, 4, 3, 2, 2, 1, 0, -1};
    const int32_t want[12] = {11, 10, 9, 7, 6, 4, 3, 2, 2, 1, 0, -1};
    int n = 16;
    CU_ASSERT_EQUAL(ll_list_fit(e, &n, 12), 2);
    CU_ASSERT_EQUAL(n, 12);
    CU_ASSERT_EQUAL(memcmp(e, want, sizeof want), 0);
    CU_ASSERT_EQUAL(ll_list_fit(e, &n, 13), 0);  // fits already: untouched
    CU_ASSERT_EQUAL(n, 12);
    // gaps 3, 1, 2, 1: the first gap of 1 (between ranges 1 and 2), then the second
    int32_t f[10] = {20, 17, 14, 13, 12, 10, 8, 7, 6, -1};
    n = 10;
    CU_ASSERT_EQUAL(ll_list_fit(f, &n, 7), 2);
    const int32_t want_f[6] = {20, 17, 14, 10, 8, -1};
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT_EQUAL(memcmp(f, want_f, sizeof want_f), 0);
    // one range and no room for it
    int32_t g[2] = {0, -1};
    n = 2;
    CU_ASSERT_EQUAL(ll_list_fit(g, &n, 1), -1);
    // the writer: [len, entries] of the fitted row, which may be its own staging array
    int32_t stage[17] = {0};
    ll_list_writer w;
    ll_list_writer_begin(&w, stage + 1);
    for (int kt = 4; kt >= 0; kt--) ll_list_writer_tile(&w, kt, kt % 2 == 0);
    ll_list_writer_range_end(&w, -1);
    CU_ASSERT_EQUAL(ll_list_writer_finish(&w, stage, 5), 1);
    const int32_t want_row[5] = {4, 4, 1, 0, -1};
    CU_ASSERT_EQUAL(memcmp(stage, want_row, sizeof want_row), 0);
}

// The fit rule against a brute-force choice on random writes: random valid
// read rows (touching ranges included), random keep decisions, the writer's
// entries; the fitted row must be valid, compute every kept tile, and add
// exactly the tiles of the m smallest gaps (m = merges needed), as choosing
// the m cheapest boundaries by sorting says.
static int cmp_gap(const void *a, const void *b) {
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void test_fit_random(void) {
    ll_rng rng;
    ll_rng_seed(&rng, 4711);
    int fails = 0, fitted = 0, multi = 0;
    for (int it = 0; it < 20000; it++) {
        int K = ll_rng_int(&rng, 2, it % 4 ? 24 : 300);
        ll_list_encoding enc = ENCODINGS[it % 2];
        int excl = enc == LL_END_EXCLUSIVE;
        // a random valid read row: ranges of 1-5 tiles walking down, touching (exclusive:
        // start = the previous end) or with gaps between them
        int32_t *read = malloc(sizeof(int32_t) * (size_t)(K + 1));
        int top = K - 1, len = 0;
        while (top >= 0 && len + 2 <= K) {
            int last = top - ll_rng_int(&rng, 0, 4);
            if (last < 0) last = 0;
            read[1 + len++] = top;
            read[1 + len++] = excl ? last - 1 : last;
            int touch = excl && ll_rng_int(&rng, 0, 1);
            top = touch ? last - 1 : last - 1 - ll_rng_int(&rng, 0, 3);
        }
        read[0] = len;
        char why[256];
        if (ll_skip_list_check_row(read, K, enc, why, sizeof why) != LL_OK) {
            if (!fails) fprintf(stderr, "\nfit random %d: bad test row: %s\n", it, why);
            fails++;
            free(read);
            continue;
        }
        int max_entries = ll_list_writer_max_entries(K);
        int32_t *stage = malloc(sizeof(int32_t) * (size_t)(max_entries + 1));
        int32_t *entries = malloc(sizeof(int32_t) * (size_t)max_entries);
        uint8_t *kept = calloc((size_t)K, 1), *back = malloc((size_t)K);
        double p_keep = ll_rng_u01(&rng);
        int alternate = it % 3 == 0;  // keep, drop, keep, ... in every range: the most runs a row can have
        ll_list_writer w;
        ll_list_writer_begin(&w, stage + 1);
        for (int i = 0; i < len; i += 2) {
            for (int kt = read[1 + i]; kt >= ll_range_last(read[2 + i], enc); kt--) {
                int keep = alternate ? (read[1 + i] - kt) % 2 == 0 : ll_rng_u01(&rng) < p_keep;
                kept[kt] = (uint8_t)keep;
                ll_list_writer_tile(&w, kt, keep);
            }
            ll_list_writer_range_end(&w, read[2 + i]);
        }
        int n = w.n;
        fails += n > max_entries;
        memcpy(entries, stage + 1, sizeof(int32_t) * (size_t)n);
        int merges = ll_list_writer_finish(&w, stage, K);
        int want_merges = n > K ? (n - (K & ~1)) / 2 : 0;
        fails += merges != want_merges;
        fitted += merges > 0;
        multi += merges > 1;
        fails += ll_skip_list_check_row(stage, K, enc, why, sizeof why) != LL_OK;
        fails += stage[0] > K;
        // every kept tile still computed; the extra tiles are the m cheapest gaps' tiles
        int got_total = ll_skip_list_row_to_keep(stage, K, enc, back), extra = 0;
        for (int kt = 0; kt < K; kt++) fails += kept[kt] && !back[kt];
        int plain_total = 0;  // the unfitted entries' reading (a row longer than k_tiles, read as is)
        for (int i = 0; i + 1 < n; i += 2) plain_total += entries[i] - ll_range_last(entries[i + 1], enc) + 1;
        int64_t *gaps = malloc(sizeof(int64_t) * (size_t)(n / 2 + 1));
        for (int i = 0; i + 1 < n / 2; i++) gaps[i] = ((int64_t)(entries[2 * i + 1] - entries[2 * i + 2]) << 20) | i;
        if (n / 2 > 1) qsort(gaps, (size_t)(n / 2 - 1), sizeof *gaps, cmp_gap);
        for (int m = 0; m < want_merges; m++) extra += (int)(gaps[m] >> 20) - (excl ? 0 : 1);
        fails += got_total != plain_total + extra;
        // and exactly those boundaries are gone
        if (merges > 0) {
            uint8_t *gone = calloc((size_t)(n / 2 + 1), 1);
            for (int m = 0; m < want_merges; m++) gone[gaps[m] & 0xfffff] = 1;
            int j = 1, same = 1;
            for (int i = 0; i < n / 2; i++) {
                if (i == 0 || !gone[i - 1]) same &= stage[j++] == entries[2 * i];
                if (i == n / 2 - 1 || !gone[i]) same &= stage[j++] == entries[2 * i + 1];
            }
            fails += !same || j != stage[0] + 1;
            free(gone);
        }
        if (fails && fails < 3) fprintf(stderr, "\nfit random %d: K=%d n=%d merges %d\n", it, K, n, merges);
        free(gaps); free(read); free(stage); free(entries); free(kept); free(back);
    }
    CU_ASSERT_EQUAL(fails, 0);
    CU_ASSERT(fitted > 1000);  // the rule really ran (1566 rows with this seed)
    CU_ASSERT(multi > 200);    // with several merges in a row (438)
}

// A chain of steps as the kernels run it: each step walks the read row
// (ranges in order, each from start down to ll_range_last(end)), decides
// keep for every visited tile (dropping ever more), and records the
// decisions with ll_list_writer; the written row is the next step's read
// row. Checked every step against a brute-force reading:
//   exclusive:  next reading == visited tiles kept;
//   production: next reading == visited tiles kept, plus every dropped tile
//               visited right after a kept one within the same read range;
// and always: the row is valid, the reading shrinks (skips only accumulate).
// A row that needs the fit rule (rare) computes every kept tile and a few
// more (test_fit_random checks which).
static void test_writer_chain(void) {
    ll_rng rng;
    ll_rng_seed(&rng, 777);
    int fails = 0, fitted = 0, rows_checked = 0;
    for (int trial = 0; trial < 200; trial++) {
        int K = ll_rng_int(&rng, 2, 200);
        ll_list_encoding enc = ENCODINGS[trial % 2];
        int32_t *read = malloc(sizeof(int32_t) * (size_t)(K + 1));
        int32_t *scratch = malloc(sizeof(int32_t) * (size_t)(ll_list_writer_max_entries(K) + 1));
        uint8_t *now = malloc((size_t)K), *expect = malloc((size_t)K), *back = malloc((size_t)K);
        read[0] = 2;
        read[1] = K - 1;
        read[2] = enc == LL_END_EXCLUSIVE ? -1 : 0;
        double p_drop = 0.02 + 0.1 * ll_rng_u01(&rng);
        for (int step = 0; step < 60; step++) {
            ll_skip_list_row_to_keep(read, K, enc, now);
            memset(expect, 0, (size_t)K);
            ll_list_writer w;
            ll_list_writer_begin(&w, scratch + 1);
            for (int i = 0; i < read[0]; i += 2) {
                int prev_kept = 0;  // within this read range
                for (int kt = read[1 + i]; kt >= ll_range_last(read[2 + i], enc); kt--) {
                    int keep = ll_rng_u01(&rng) >= p_drop;
                    ll_list_writer_tile(&w, kt, keep);
                    expect[kt] = (uint8_t)(keep || (enc == LL_END_INCLUSIVE_PRODUCTION && prev_kept));
                    prev_kept = keep;
                }
                ll_list_writer_range_end(&w, read[2 + i]);
            }
            int merges = ll_list_writer_finish(&w, scratch, K);
            fails += merges < 0;
            fitted += merges > 0;
            memcpy(read, scratch, sizeof(int32_t) * (size_t)(scratch[0] + 1));
            char why[256];
            rows_checked++;
            if (ll_skip_list_check_row(read, K, enc, why, sizeof why) != LL_OK) {
                if (!fails) fprintf(stderr, "\nchain trial %d step %d: %s\n", trial, step, why);
                fails++;
                break;
            }
            ll_skip_list_row_to_keep(read, K, enc, back);
            for (int kt = 0; kt < K; kt++) {
                if (merges > 0) {
                    fails += expect[kt] && !back[kt];  // fitted: every kept tile still computed
                    continue;
                }
                fails += back[kt] != expect[kt];
                fails += back[kt] && !now[kt];  // never computes a tile the last step did not
            }
        }
        free(read);
        free(scratch);
        free(now);
        free(expect);
        free(back);
    }
    CU_ASSERT_EQUAL(fails, 0);
    CU_ASSERT(rows_checked > 5000);  // the chains really ran
    CU_ASSERT(fitted < 20);          // the fit rule is the exception
}

int register_skip_list_suite(void) {
    CU_pSuite s = CU_add_suite("skip_list", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "encoding names and parsing", test_encoding_names) ||
        !CU_add_test(s, "alloc, full lists, copy", test_alloc_full_copy) ||
        !CU_add_test(s, "one key tile: the full list does not fit", test_one_key_tile) ||
        !CU_add_test(s, "valid rows and their two readings", test_check_row_valid) ||
        !CU_add_test(s, "every kind of broken row is rejected with its reason", test_check_row_broken) ||
        !CU_add_test(s, "validation names the list, the row and the reason", test_validate_names_row) ||
        !CU_add_test(s, "keep -> row: hand-written edge cases", test_from_keep_cases) ||
        !CU_add_test(s, "keep -> row -> keep: every pattern of K <= 12", test_from_keep_exhaustive) ||
        !CU_add_test(s, "keep -> row -> keep: random rows up to 700 tiles", test_from_keep_random) ||
        !CU_add_test(s, "keep rows that need the fit rule", test_from_keep_unfit) ||
        !CU_add_test(s, "fit rule: hand-made entries", test_fit_cases) ||
        !CU_add_test(s, "fit rule: random writes against a brute-force choice", test_fit_random) ||
        !CU_add_test(s, "60-step writer chains: valid rows, exact readings, no drift", test_writer_chain))
        return CU_get_error();
    return CUE_SUCCESS;
}
