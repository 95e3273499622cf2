// test_tile_overrides.c: must-do (outward) / must-skip (inward) key-tile
// flags against a per-token brute force, at the key-tile widths of the
// production kernel (192 for D=64, 144 for D=96, 176 for D=128) and at 64
// and 128, with N not a multiple of the tile; hand-made edge cases (ranges
// that touch, a partial last tile); rejected ranges; "a:b,c:d" parsing.
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "test_suites.h"
#include "tile_overrides.h"
#include "tiling.h"

// Per-token brute force: mark every token of every range, then look at each
// tile's tokens [t0, min(t0 + block_n, N)).
static void brute_flags(int N, int block_n, const ll_overrides *ov, uint8_t *flags) {
    uint8_t *tok = calloc((size_t)N, 1);  // bit 0: must-do, bit 1: must-skip
    for (int i = 0; i < ov->n_must_do; i++)
        for (int64_t n = ov->must_do[i].begin; n < ov->must_do[i].end; n++) tok[n] |= 1;
    for (int i = 0; i < ov->n_must_skip; i++)
        for (int64_t n = ov->must_skip[i].begin; n < ov->must_skip[i].end; n++) tok[n] |= 2;
    for (int kt = 0; kt * block_n < N; kt++) {
        int any_do = 0, all_skip = 1;
        for (int n = kt * block_n; n < (kt + 1) * block_n && n < N; n++) {
            any_do |= tok[n] & 1;
            all_skip &= (tok[n] >> 1) & 1;
        }
        flags[kt] = any_do ? LL_TILE_MUST_DO : all_skip ? LL_TILE_MUST_SKIP : LL_TILE_FREE;
    }
    free(tok);
}

typedef struct {
    ll_token_range r[512];
    int n;
} range_set;

static void add_range(range_set *s, int64_t b, int64_t e) {
    if (s->n < 512 && b < e) s->r[s->n++] = (ll_token_range){b, e};
}

// Adds [b, e) as 1 to 3 pieces that touch or overlap each other, so that
// only their union covers the segment.
static void add_pieces(ll_rng *rng, range_set *s, int64_t b, int64_t e) {
    int how = ll_rng_int(rng, 0, 2);
    if (how == 0 || e - b < 2) {
        add_range(s, b, e);
    } else if (how == 1) {  // two touching pieces
        int64_t mid = b + 1 + (int64_t)(ll_rng_next(rng) % (uint64_t)(e - b - 1));
        add_range(s, b, mid);
        add_range(s, mid, e);
    } else {  // two overlapping pieces
        int64_t m1 = b + 1 + (int64_t)(ll_rng_next(rng) % (uint64_t)(e - b - 1));
        int64_t m2 = b + (int64_t)(ll_rng_next(rng) % (uint64_t)(m1 - b));
        add_range(s, b, m1);
        add_range(s, m2, e);
    }
}

static void shuffle(ll_rng *rng, range_set *s) {
    for (int i = s->n - 1; i > 0; i--) {
        int j = ll_rng_int(rng, 0, i);
        ll_token_range t = s->r[i];
        s->r[i] = s->r[j];
        s->r[j] = t;
    }
}

// Random overrides over N tokens: segments labelled free / must-do /
// must-skip, their bounds often snapped to tile bounds or one token off
// them, so that exactly covered tiles, tiles short of one token and the
// partial last tile all occur.
static void random_overrides(ll_rng *rng, int N, int block_n, range_set *dos, range_set *skips) {
    dos->n = skips->n = 0;
    int64_t at = 0;
    while (at < N && dos->n < 500 && skips->n < 500) {
        int64_t len;
        int shape = ll_rng_int(rng, 0, 4);
        if (shape == 0) len = ll_rng_int(rng, 1, 3);
        else if (shape == 1) len = ll_rng_int(rng, 1, 3 * block_n);
        else len = block_n + ll_rng_int(rng, -1, 1) + (int64_t)block_n * ll_rng_int(rng, 0, 2);
        int64_t end = at + len;
        if (ll_rng_int(rng, 0, 2) == 0) {  // snap to a tile bound, or one token off it
            end = (end / block_n) * block_n + ll_rng_int(rng, -1, 1);
            if (end <= at) end = at + 1;
        }
        if (end > N || ll_rng_int(rng, 0, 15) == 0) end = N;  // sometimes run to the last token
        double u = ll_rng_u01(rng);
        if (u < 0.15) {
            add_pieces(rng, dos, at, end);
        } else if (u < 0.6) {
            add_pieces(rng, skips, at, end);
        }
        at = end;
    }
    shuffle(rng, dos);
    shuffle(rng, skips);
}

static void test_random_vs_brute_force(void) {
    const int widths[] = {ll_tiling_production(64).block_n, ll_tiling_production(96).block_n,
                          ll_tiling_production(128).block_n, 64, 128};
    CU_ASSERT_EQUAL(widths[0], 192);
    CU_ASSERT_EQUAL(widths[1], 144);
    CU_ASSERT_EQUAL(widths[2], 176);
    ll_rng rng;
    ll_rng_seed(&rng, 424242);
    static range_set dos, skips;
    int mismatches = 0, tiles = 0, seen[3] = {0, 0, 0}, partial_skipped = 0;
    for (size_t w = 0; w < sizeof widths / sizeof *widths; w++) {
        int bn = widths[w];
        for (int iter = 0; iter < 300; iter++) {
            int N;
            if (iter == 0) N = 75600;
            else if (iter == 1) N = 32760;
            else N = ll_rng_int(&rng, 1, 12 * bn);
            if (iter > 1 && N % bn == 0) N -= ll_rng_int(&rng, 1, bn - 1);  // N >= bn here
            random_overrides(&rng, N, bn, &dos, &skips);
            ll_overrides ov = {dos.r, dos.n, skips.r, skips.n};
            int kts = ll_ceil_div(N, bn);
            uint8_t *got = malloc((size_t)kts + 1), *want = malloc((size_t)kts);
            got[kts] = 0xAB;
            ll_error err;
            ll_status st = ll_key_tile_flags(N, bn, &ov, got, &err);
            CU_ASSERT_EQUAL(st, LL_OK);
            if (st != LL_OK) fprintf(stderr, "\nN=%d block_n=%d: %s\n", N, bn, err.msg);
            CU_ASSERT_EQUAL(got[kts], 0xAB);
            brute_flags(N, bn, &ov, want);
            for (int kt = 0; kt < kts; kt++) {
                if (got[kt] != want[kt] && !mismatches)
                    fprintf(stderr, "\nN=%d block_n=%d tile %d: got %d, want %d\n", N, bn, kt, got[kt], want[kt]);
                mismatches += got[kt] != want[kt];
                if (want[kt] <= 2) seen[want[kt]]++;
            }
            if (N % bn && want[kts - 1] == LL_TILE_MUST_SKIP) partial_skipped++;
            tiles += kts;
            free(got);
            free(want);
        }
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    // the cases the test is about really occurred
    CU_ASSERT(seen[LL_TILE_FREE] > 100 && seen[LL_TILE_MUST_DO] > 100 && seen[LL_TILE_MUST_SKIP] > 100);
    CU_ASSERT(partial_skipped > 10);
    CU_ASSERT(tiles > 5000);
}

static void flags_of(int N, int bn, const ll_token_range *d, int nd, const ll_token_range *s, int ns, uint8_t *out) {
    ll_overrides ov = {d, nd, s, ns};
    ll_error err;
    CU_ASSERT_EQUAL(ll_key_tile_flags(N, bn, &ov, out, &err), LL_OK);
}

// N = 200, 64-token tiles: tiles 0..2 full, tile 3 holds tokens 192..199.
static void test_edge_cases(void) {
    enum { F = LL_TILE_FREE, D = LL_TILE_MUST_DO, S = LL_TILE_MUST_SKIP };
    uint8_t f[5];
    struct {
        ll_token_range d[2], s[3];
        int nd, ns;
        uint8_t want[4];
    } cases[] = {
        {.s = {{64, 128}}, .ns = 1, .want = {F, S, F, F}},                       // exactly tile 1
        {.s = {{64, 127}}, .ns = 1, .want = {F, F, F, F}},                       // one token short
        {.s = {{65, 128}}, .ns = 1, .want = {F, F, F, F}},
        {.s = {{64, 100}, {100, 128}}, .ns = 2, .want = {F, S, F, F}},           // touching pieces
        {.s = {{100, 128}, {64, 100}}, .ns = 2, .want = {F, S, F, F}},           // in any order
        {.s = {{64, 110}, {90, 128}}, .ns = 2, .want = {F, S, F, F}},            // overlapping pieces
        {.s = {{64, 99}, {100, 128}}, .ns = 2, .want = {F, F, F, F}},            // a one-token hole
        {.s = {{192, 200}}, .ns = 1, .want = {F, F, F, S}},                      // partial last tile
        {.s = {{190, 200}}, .ns = 1, .want = {F, F, F, S}},
        {.s = {{193, 200}}, .ns = 1, .want = {F, F, F, F}},
        {.s = {{0, 200}}, .ns = 1, .want = {S, S, S, S}},
        {.s = {{0, 64}, {64, 128}, {128, 200}}, .ns = 3, .want = {S, S, S, S}},
        {.d = {{63, 64}}, .nd = 1, .want = {D, F, F, F}},                         // outward: one token
        {.d = {{64, 65}}, .nd = 1, .want = {F, D, F, F}},
        {.d = {{63, 65}}, .nd = 1, .want = {D, D, F, F}},
        {.d = {{199, 200}}, .nd = 1, .want = {F, F, F, D}},
        {.d = {{0, 200}}, .nd = 1, .want = {D, D, D, D}},
        {.d = {{0, 1}}, .nd = 1, .s = {{1, 64}}, .ns = 1, .want = {D, F, F, F}}, // touching do / skip
        {.d = {{10, 20}}, .nd = 1, .s = {{64, 200}}, .ns = 1, .want = {D, S, S, S}},
        {.d = {{0, 30}, {20, 40}}, .nd = 2, .want = {D, F, F, F}},                // must-do ranges may overlap
        {.d = {{127, 128}}, .nd = 1, .s = {{64, 127}, {128, 192}}, .ns = 2, .want = {F, D, S, F}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memset(f, 0xEE, sizeof f);
        flags_of(200, 64, cases[i].d, cases[i].nd, cases[i].s, cases[i].ns, f);
        int same = memcmp(f, cases[i].want, 4) == 0;
        CU_ASSERT_TRUE(same);
        if (!same) fprintf(stderr, "\nedge case %zu: got %d %d %d %d\n", i, f[0], f[1], f[2], f[3]);
        CU_ASSERT_EQUAL(f[4], 0xEE);
    }
    // no overrides: every tile free
    ll_error err;
    memset(f, 0xEE, sizeof f);
    CU_ASSERT_EQUAL(ll_key_tile_flags(200, 64, NULL, f, &err), LL_OK);
    CU_ASSERT(f[0] == F && f[1] == F && f[2] == F && f[3] == F && f[4] == 0xEE);
    // one token, one tile
    ll_token_range all = {0, 1};
    flags_of(1, 176, NULL, 0, &all, 1, f);
    CU_ASSERT_EQUAL(f[0], S);
}

static void test_rejected(void) {
    uint8_t f[8];
    ll_error err;
    struct {
        ll_token_range d, s;
        int nd, ns;
        const char *reason;
    } cases[] = {
        {.d = {5, 5}, .nd = 1, .reason = "must-do range 0 [5, 5) is empty or reversed"},
        {.d = {7, 3}, .nd = 1, .reason = "empty or reversed"},
        {.s = {-1, 4}, .ns = 1, .reason = "must-skip range 0 [-1, 4) is outside the 200 tokens"},
        {.s = {190, 201}, .ns = 1, .reason = "outside"},
        {.d = {200, 201}, .nd = 1, .reason = "outside"},
        {.d = {0, 10}, .nd = 1, .s = {9, 20}, .ns = 1, .reason = "must-do range 0 [0, 10) overlaps must-skip range 0 [9, 20)"},
        {.d = {50, 60}, .nd = 1, .s = {0, 200}, .ns = 1, .reason = "overlaps"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        ll_overrides ov = {&cases[i].d, cases[i].nd, &cases[i].s, cases[i].ns};
        ll_error_clear(&err);
        CU_ASSERT_EQUAL(ll_key_tile_flags(200, 64, &ov, f, &err), LL_ERR_INVALID);
        int has = strstr(err.msg, cases[i].reason) != NULL;
        CU_ASSERT_TRUE(has);
        if (!has) fprintf(stderr, "\nrejected case %zu: '%s'\n", i, err.msg);
    }
    ll_token_range r = {0, 10};
    ll_overrides neg = {&r, -1, NULL, 0}, null_arr = {NULL, 0, NULL, 2};
    CU_ASSERT_EQUAL(ll_key_tile_flags(200, 64, &neg, f, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "negative"));
    CU_ASSERT_EQUAL(ll_key_tile_flags(200, 64, &null_arr, f, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no array"));
    CU_ASSERT_EQUAL(ll_key_tile_flags(0, 64, NULL, f, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_key_tile_flags(200, 0, NULL, f, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_key_tile_flags(200, 64, NULL, NULL, &err), LL_ERR_INVALID);
}

static void test_parse(void) {
    ll_token_range *r = NULL;
    int n = -1;
    ll_error err;
    CU_ASSERT_EQUAL(ll_token_ranges_parse("0:10,20:30", &r, &n, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT(r[0].begin == 0 && r[0].end == 10 && r[1].begin == 20 && r[1].end == 30);
    free(r);
    CU_ASSERT_EQUAL(ll_token_ranges_parse(" 75000 : 75600 ", &r, &n, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT(r[0].begin == 75000 && r[0].end == 75600);
    free(r);
    CU_ASSERT_EQUAL(ll_token_ranges_parse("5000000000:5000000001", &r, &n, &err), LL_OK);  // 64-bit
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_EQUAL(r[0].begin, 5000000000ll);
    free(r);
    static ll_token_range stale;  // *out must be reset on every path
    const char *empty[] = {"", "   ", NULL};
    for (int i = 0; i < 3; i++) {
        r = &stale;
        n = -1;
        CU_ASSERT_EQUAL(ll_token_ranges_parse(empty[i], &r, &n, &err), LL_OK);
        CU_ASSERT_EQUAL(n, 0);
        CU_ASSERT_PTR_NULL(r);
    }
    struct {
        const char *s, *reason;
    } bad[] = {
        {"1:2,", "token range 1 ''"},
        {",1:2", "token range 0 ''"},
        {"1:2,,3:4", "token range 1"},
        {"12", "missing ':'"},
        {"a:b", "non-negative integers"},
        {"1:2:3", "unexpected ':3'"},
        {"1:", "token range 0 '1:'"},
        {":2", "token range 0 ':2'"},
        {"-1:5", "non-negative"},
        {"+1:5", "non-negative"},
        {"5:5", "empty or reversed"},
        {"7:3", "empty or reversed"},
        {"1:99999999999999999999", "out of range"},
        {"1:2x", "unexpected 'x'"},
        {"0x10:20", "missing ':'"},
        {"1.5:3", "missing ':'"},
        {"1 2:3", "missing ':'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = &stale;
        n = -1;
        ll_error_clear(&err);
        CU_ASSERT_EQUAL(ll_token_ranges_parse(bad[i].s, &r, &n, &err), LL_ERR_INVALID);
        CU_ASSERT_PTR_NULL(r);
        CU_ASSERT_EQUAL(n, 0);
        int has = strstr(err.msg, bad[i].reason) != NULL && strstr(err.msg, bad[i].s) != NULL;
        CU_ASSERT_TRUE(has);
        if (!has) fprintf(stderr, "\nparse '%s': '%s'\n", bad[i].s, err.msg);
    }
    // parsed ranges feed the flags directly
    CU_ASSERT_EQUAL(ll_token_ranges_parse("64:100,100:128", &r, &n, &err), LL_OK);
    uint8_t f[4];
    flags_of(200, 64, NULL, 0, r, n, f);
    CU_ASSERT_EQUAL(f[1], LL_TILE_MUST_SKIP);
    free(r);
}

int register_tile_overrides_suite(void) {
    CU_pSuite s = CU_add_suite("tile_overrides", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "random ranges vs per-token brute force at 192, 144, 176, 64, 128", test_random_vs_brute_force) ||
        !CU_add_test(s, "edge cases: exact, touching, overlapping, partial last tile", test_edge_cases) ||
        !CU_add_test(s, "rejected ranges name the range and the reason", test_rejected) ||
        !CU_add_test(s, "\"a:b,c:d\" parsing, strict", test_parse))
        return CU_get_error();
    return CUE_SUCCESS;
}
