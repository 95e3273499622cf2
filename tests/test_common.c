// test_common.c: the error record (ll_fail formatting and truncation, status
// names, process exit codes, LL_TRY), dtype names and parsing, shape checks,
// and the host bf16 / fp16 conversions of lib/dtype.h: every one of the
// 65536 words decoded against a formula and re-encoded unchanged (NaN stays
// NaN, signed zeros, subnormals, Inf), and float -> 16 bit rounding against
// a straightforward nearest-value search on random floats and exact ties.
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dtype.h"
#include "rng.h"
#include "test_suites.h"

static void test_fail_format(void) {
    ll_error err;
    ll_error_clear(&err);
    CU_ASSERT_EQUAL(err.code, LL_OK);
    CU_ASSERT_STRING_EQUAL(err.msg, "");
    CU_ASSERT_EQUAL(ll_fail(&err, LL_ERR_IO, "%s: cannot open (%d)", "trace.h5", 2), LL_ERR_IO);
    CU_ASSERT_EQUAL(err.code, LL_ERR_IO);
    CU_ASSERT_STRING_EQUAL(err.msg, "trace.h5: cannot open (2)");
    CU_ASSERT_EQUAL(ll_fail(NULL, LL_ERR_INVALID, "dropped %d", 1), LL_ERR_INVALID);  // NULL err is allowed
    ll_error_clear(NULL);
    // a message longer than the record is cut, still terminated
    char long_arg[3000];
    memset(long_arg, 'x', sizeof long_arg - 1);
    long_arg[sizeof long_arg - 1] = '\0';
    CU_ASSERT_EQUAL(ll_fail(&err, LL_ERR_FORMAT, "file %s", long_arg), LL_ERR_FORMAT);
    CU_ASSERT_EQUAL(strlen(err.msg), sizeof err.msg - 1);
    CU_ASSERT_EQUAL(strncmp(err.msg, "file xxx", 8), 0);
    ll_error_clear(&err);
    CU_ASSERT_EQUAL(err.code, LL_OK);
    CU_ASSERT_EQUAL(err.msg[0], '\0');
}

static ll_status fails_with(ll_status s, ll_error *err) {
    return s == LL_OK ? LL_OK : ll_fail(err, s, "inner failure %d", (int)s);
}
static int after_try;
static ll_status outer(ll_status s, ll_error *err) {
    after_try = 0;
    LL_TRY(fails_with(s, err));
    after_try = 1;
    return LL_OK;
}

static void test_status_and_exit_codes(void) {
    // README table: 0 ok, 2 usage, 3 invalid input, 4 I/O, 5 corrupt file,
    // 6 out of memory, 7 no GPU, 8 CUDA, 9 internal.
    const ll_status all[] = {LL_OK, LL_ERR_USAGE, LL_ERR_INVALID, LL_ERR_IO, LL_ERR_FORMAT,
                             LL_ERR_NOMEM, LL_ERR_NO_GPU, LL_ERR_CUDA, LL_ERR_INTERNAL};
    const int exit_codes[] = {0, 2, 3, 4, 5, 6, 7, 8, 9};
    const char *names[] = {"ok", "usage error", "invalid input", "I/O error", "corrupt or foreign file",
                           "out of memory", "no usable GPU", "CUDA error", "internal error"};
    for (int i = 0; i < 9; i++) {
        CU_ASSERT_EQUAL(ll_exit_code(all[i]), exit_codes[i]);
        CU_ASSERT_STRING_EQUAL(ll_status_name(all[i]), names[i]);
    }
    CU_ASSERT_STRING_EQUAL(ll_status_name((ll_status)42), "unknown error");
    ll_error err;
    ll_error_clear(&err);
    CU_ASSERT_EQUAL(outer(LL_ERR_NOMEM, &err), LL_ERR_NOMEM);
    CU_ASSERT_EQUAL(after_try, 0);
    CU_ASSERT_STRING_EQUAL(err.msg, "inner failure 5");
    CU_ASSERT_EQUAL(outer(LL_OK, &err), LL_OK);
    CU_ASSERT_EQUAL(after_try, 1);
}

static void test_dtype_and_shape(void) {
    ll_dtype t = LL_FP16;
    ll_error err;
    CU_ASSERT_STRING_EQUAL(ll_dtype_name(LL_BF16), "bf16");
    CU_ASSERT_STRING_EQUAL(ll_dtype_name(LL_FP16), "fp16");
    CU_ASSERT_EQUAL(ll_dtype_parse("bf16", &t, &err), LL_OK);
    CU_ASSERT_EQUAL(t, LL_BF16);
    CU_ASSERT_EQUAL(ll_dtype_parse("fp16", &t, &err), LL_OK);
    CU_ASSERT_EQUAL(t, LL_FP16);
    const char *bad[] = {"BF16", "fp32", "", "bf16 ", "half"};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(ll_dtype_parse(bad[i], &t, &err), LL_ERR_INVALID);
        char quoted[32];
        snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, quoted));
    }
    CU_ASSERT_EQUAL(ll_dtype_parse(NULL, &t, &err), LL_ERR_INVALID);

    const ll_shape good[] = {{1, 1, 1, 64, LL_BF16}, {2, 75600, 40, 128, LL_BF16}, {1, 129, 3, 96, LL_FP16}};
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(ll_shape_validate(&good[i], "good", &err), LL_OK);
    struct {
        ll_shape s;
        const char *reason;
    } bad_shapes[] = {
        {{0, 10, 1, 64, LL_BF16}, "B=0"},
        {{1, 0, 1, 64, LL_BF16}, "N=0"},
        {{1, 10, -2, 64, LL_BF16}, "H=-2"},
        {{1, 10, 1, 80, LL_BF16}, "D=80"},
        {{1, 10, 1, 256, LL_BF16}, "D=256"},
        {{1, 10, 1, 0, LL_BF16}, "D=0"},
        {{1, 10, 1, 64, (ll_dtype)3}, "dtype code 3"},
    };
    for (size_t i = 0; i < sizeof bad_shapes / sizeof *bad_shapes; i++) {
        ll_error_clear(&err);
        CU_ASSERT_EQUAL(ll_shape_validate(&bad_shapes[i].s, "my tensor", &err), LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "my tensor"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad_shapes[i].reason));
    }
    ll_shape s = {2, 5, 3, 64, LL_BF16};
    CU_ASSERT_EQUAL(ll_shape_elems(&s), 1920u);
    CU_ASSERT_EQUAL(ll_ceil_div(1, 64), 1);
    CU_ASSERT_EQUAL(ll_ceil_div(64, 64), 1);
    CU_ASSERT_EQUAL(ll_ceil_div(65, 64), 2);
    CU_ASSERT_EQUAL(ll_ceil_div(75600, 176), 430);
    double t0 = ll_now_seconds(), t1 = ll_now_seconds();
    CU_ASSERT(t0 > 0 && t1 >= t0);  // monotonic clock: never goes back
}

// ---------------------------------------------------------------------------
// 16-bit formats. A format: exponent bits, mantissa bits; value of a
// positive word from the textbook formula (no special case for the
// all-ones exponent, which gives the overflow point 2^(emax+1) for Inf).

typedef struct {
    int exp_bits, man_bits;
    uint16_t inf;  // positive Inf word
} format16;
static const format16 BF16 = {8, 7, 0x7f80}, FP16 = {5, 10, 0x7c00};

static double formula_value(const format16 *f, uint16_t w) {
    int bias = (1 << (f->exp_bits - 1)) - 1;
    int e = (w >> f->man_bits) & ((1 << f->exp_bits) - 1);
    int m = w & ((1 << f->man_bits) - 1);
    double v = e == 0 ? ldexp((double)m, 1 - bias - f->man_bits)
                      : ldexp((double)(m + (1 << f->man_bits)), e - bias - f->man_bits);
    return (w & 0x8000) ? -v : v;
}

static int is_nan_word(const format16 *f, uint16_t w) { return (w & 0x7fff) > f->inf; }

static float decode(const format16 *f, uint16_t w) { return f == &BF16 ? ll_bf16_to_float(w) : ll_fp16_to_float(w); }
static uint16_t encode(const format16 *f, float x) { return f == &BF16 ? ll_float_to_bf16(x) : ll_float_to_fp16(x); }

static void check_all_words(const format16 *f) {
    int bad_decode = 0, bad_round_trip = 0, bad_nan = 0, subnormals = 0;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t w = (uint16_t)i;
        float x = decode(f, w);
        if (is_nan_word(f, w)) {
            bad_nan += !isnan(x);
            uint16_t back = encode(f, x);
            bad_nan += !is_nan_word(f, back) || (back & 0x8000) != (w & 0x8000);
            continue;
        }
        if ((w & 0x7fff) == f->inf) {
            bad_decode += !(isinf(x) && (signbit(x) != 0) == ((w & 0x8000) != 0));
        } else {
            bad_decode += (double)x != formula_value(f, w) || (signbit(x) != 0) != ((w & 0x8000) != 0);
            subnormals += (w & 0x7fff) != 0 && ((w & 0x7fff) >> f->man_bits) == 0;
        }
        uint16_t back = encode(f, x);
        if (back != w && !bad_round_trip) fprintf(stderr, "\nword 0x%04x -> %g -> 0x%04x\n", w, (double)x, back);
        bad_round_trip += back != w;
    }
    CU_ASSERT_EQUAL(bad_decode, 0);
    CU_ASSERT_EQUAL(bad_round_trip, 0);
    CU_ASSERT_EQUAL(bad_nan, 0);
    CU_ASSERT_EQUAL(subnormals, 2 * ((1 << f->man_bits) - 1));  // both signs
}

static void test_bf16_all_words(void) { check_all_words(&BF16); }
static void test_fp16_all_words(void) { check_all_words(&FP16); }

// Reference rounding: the nearest of the two neighbouring words by value,
// ties to the even word; Inf counts as the value 2^(emax+1), so IEEE
// overflow (at or beyond max finite + half an ulp) falls out of the same rule.
static uint16_t reference_round(const format16 *f, float x) {
    uint16_t sign = signbit(x) ? 0x8000 : 0;
    double a = fabs((double)x);
    if (a >= formula_value(f, f->inf)) return sign | f->inf;
    int lo = 0, hi = f->inf;  // value(lo) <= a < value(hi)
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (formula_value(f, (uint16_t)mid) <= a) lo = mid;
        else hi = mid;
    }
    double dlo = a - formula_value(f, (uint16_t)lo), dhi = formula_value(f, (uint16_t)hi) - a;
    int pick = dlo < dhi ? lo : dhi < dlo ? hi : ((lo & 1) ? hi : lo);
    return sign | (uint16_t)pick;
}

static void check_rounding(const format16 *f, uint64_t seed) {
    ll_rng rng;
    ll_rng_seed(&rng, seed);
    int bad = 0, ties = 0, n = 0;
    for (int i = 0; i < 300000; i++) {
        float x;
        int kind = i % 4;
        if (kind == 0) {  // any bit pattern: every float exponent, subnormals, NaN
            uint32_t u = (uint32_t)ll_rng_next(&rng);
            memcpy(&x, &u, 4);
        } else if (kind == 1) {  // ordinary magnitudes, as in activations
            x = (float)(ll_rng_normal(&rng) * ldexp(1.0, ll_rng_int(&rng, -30, 20)));
        } else {  // exact ties between two neighbouring words, and one float ulp either side
            uint16_t w = (uint16_t)ll_rng_int(&rng, 0, f->inf - 1);
            double mid = 0.5 * (formula_value(f, w) + formula_value(f, (uint16_t)(w + 1)));
            x = (float)mid;
            ties += (double)x == mid;
            int side = ll_rng_int(&rng, 0, 3);
            if (side == 1) x = nextafterf(x, INFINITY);
            if (side == 2) x = nextafterf(x, 0.0f);
            if (ll_rng_int(&rng, 0, 1)) x = -x;
        }
        if (isnan(x)) {
            bad += !is_nan_word(f, encode(f, x));
            continue;
        }
        uint16_t got = encode(f, x), want = reference_round(f, x);
        if (got != want && !bad)
            fprintf(stderr, "\n%s: %a -> 0x%04x, want 0x%04x\n", f == &BF16 ? "bf16" : "fp16", (double)x, got, want);
        bad += got != want;
        n++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(ties > 100000);  // the midpoints really were exact ties
    CU_ASSERT(n > 290000);
    // a few by hand
    if (f == &BF16) {
        CU_ASSERT_EQUAL(ll_float_to_bf16(1.0f), 0x3f80);
        CU_ASSERT_EQUAL(ll_float_to_bf16(1.00390625f), 0x3f80);   // 1 + 2^-8: tie, down to even
        CU_ASSERT_EQUAL(ll_float_to_bf16(1.01171875f), 0x3f82);   // 1 + 3*2^-8: tie, up to even
        CU_ASSERT_EQUAL(ll_float_to_bf16(-0.0f), 0x8000);
        CU_ASSERT_EQUAL(ll_float_to_bf16(3.4e38f), 0x7f80);       // beyond max bf16 + half ulp: Inf
    } else {
        CU_ASSERT_EQUAL(ll_float_to_fp16(1.0f), 0x3c00);
        CU_ASSERT_EQUAL(ll_float_to_fp16(65504.0f), 0x7bff);
        CU_ASSERT_EQUAL(ll_float_to_fp16(65519.0f), 0x7bff);
        CU_ASSERT_EQUAL(ll_float_to_fp16(65520.0f), 0x7c00);      // tie at the top: to Inf
        CU_ASSERT_EQUAL(ll_float_to_fp16(ldexpf(1.0f, -24)), 0x0001);
        CU_ASSERT_EQUAL(ll_float_to_fp16(ldexpf(1.0f, -25)), 0x0000);  // half the smallest subnormal: to even 0
        CU_ASSERT_EQUAL(ll_float_to_fp16(ldexpf(3.0f, -25)), 0x0002);  // 1.5 subnormal steps: to even 2
        CU_ASSERT_EQUAL(ll_float_to_fp16(-0.0f), 0x8000);
    }
    CU_ASSERT_EQUAL(ll_float_to_half(LL_FP16, 2.0f), ll_float_to_fp16(2.0f));
    CU_ASSERT_EQUAL(ll_float_to_half(LL_BF16, 2.0f), ll_float_to_bf16(2.0f));
    CU_ASSERT_EQUAL(ll_half_to_float(LL_FP16, 0x4000), 2.0f);
    CU_ASSERT_EQUAL(ll_half_to_float(LL_BF16, 0x4000), 2.0f);
}

static void test_bf16_rounding(void) { check_rounding(&BF16, 16); }
static void test_fp16_rounding(void) { check_rounding(&FP16, 17); }

int register_common_suite(void) {
    CU_pSuite s = CU_add_suite("common", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "ll_fail formatting, truncation, clear", test_fail_format) ||
        !CU_add_test(s, "status names, exit codes, LL_TRY", test_status_and_exit_codes) ||
        !CU_add_test(s, "dtype names and parsing, shape checks", test_dtype_and_shape) ||
        !CU_add_test(s, "bf16: all 65536 words decode and round-trip", test_bf16_all_words) ||
        !CU_add_test(s, "fp16: all 65536 words decode and round-trip", test_fp16_all_words) ||
        !CU_add_test(s, "float -> bf16 rounds to nearest even (random floats, exact ties)", test_bf16_rounding) ||
        !CU_add_test(s, "float -> fp16 rounds to nearest even (random floats, exact ties)", test_fp16_rounding))
        return CU_get_error();
    return CUE_SUCCESS;
}
