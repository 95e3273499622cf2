// test_capture.c: the HDF5 capture format (traces/capture.h): write -> read
// round trips bit-exact in bf16 and fp16 over several shapes (N not a
// multiple of any tile, N = 1, B > 1); the writer's argument checks; NaN and
// Inf in Q, K or V refused on write and reported on read; and every kind of
// bad file (truncated at many offsets, a dataset missing, of the wrong type,
// rank or shape, inconsistent attributes, a foreign HDF5 file, a non-HDF5
// file, an empty, missing or directory path) refused with the right status
// and a message naming the file and the problem, never a crash. A writer
// killed midway leaves a partial file with its finished steps only. Damaged
// files are made through the HDF5 API directly (tests/test_files.h).
#include <CUnit/CUnit.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "rng.h"
#include "test_files.h"
#include "test_suites.h"

static char dir[128];

static void path_of(char *out, size_t len, const char *name) { tf_path(out, len, dir, name); }

static int suite_init(void) {
    tf_h5_quiet();
    return tf_dir_make(dir, sizeof dir, "capture");
}

static int suite_clean(void) { return tf_dir_remove(dir); }

// ---------------------------------------------------------------------------
// Data

static ll_capture_meta meta_of(int B, int N, int H, int D, ll_dtype t, int steps, int layers) {
    ll_capture_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.model, sizeof m.model, "test-model");
    snprintf(m.source, sizeof m.source, "captured");
    m.shape = (ll_shape){B, N, H, D, t};
    m.steps = steps;
    m.layers = layers;
    m.softmax_scale = 0.125f;
    m.seed = 42;
    return m;
}

static int word_finite(ll_dtype t, uint16_t w) {
    return t == LL_FP16 ? (w & 0x7c00u) != 0x7c00u : (w & 0x7f80u) != 0x7f80u;
}

// Finite words of every kind from a seed: random bit patterns (exponents
// that would be Inf/NaN folded back), with signed zeros, subnormals and the
// largest finite values mixed in, so a round trip that converts anything
// shows.
static void fill_words(ll_dtype t, uint16_t *x, size_t n, uint64_t seed) {
    const uint16_t special_bf16[] = {0x0000, 0x8000, 0x0001, 0x8001, 0x7f7f, 0xff7f, 0x0080, 0x3f80};
    const uint16_t special_fp16[] = {0x0000, 0x8000, 0x0001, 0x8001, 0x7bff, 0xfbff, 0x0400, 0x3c00};
    ll_rng r;
    ll_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        uint16_t w = (uint16_t)ll_rng_next(&r);
        if (!word_finite(t, w)) w ^= 0x4000;  // clears the top exponent bit (bf16 and fp16)
        if (i % 97 == 0) w = (t == LL_FP16 ? special_fp16 : special_bf16)[(i / 97) % 8];
        x[i] = w;
    }
}

static uint64_t words_seed(int tensor, int step, int layer) { return ll_hash4(7, (uint64_t)tensor, (uint64_t)step, (uint64_t)layer); }

// Writes a complete capture whose words come from fill_words.
static ll_status write_capture(const char *path, const ll_capture_meta *m, ll_error *err) {
    size_t n = ll_shape_elems(&m->shape);
    uint16_t *x[3] = {malloc(n * 2), malloc(n * 2), malloc(n * 2)};
    ll_capture_writer *w = NULL;
    ll_status st = ll_capture_create(path, m, &w, err);
    for (int s = 0; st == LL_OK && s < m->steps; s++)
        for (int l = 0; st == LL_OK && l < m->layers; l++) {
            for (int i = 0; i < 3; i++) fill_words(m->shape.dtype, x[i], n, words_seed(i, s, l));
            st = ll_capture_write(w, s, l, x[0], x[1], x[2], err);
        }
    if (w) {
        if (st == LL_OK) st = ll_capture_close(w, err);
        else ll_capture_abort(w);
    }
    for (int i = 0; i < 3; i++) free(x[i]);
    return st;
}

// The small capture most damage tests start from: 2 steps x 2 layers of
// [1, 37, 2, 64] bf16.
static void make_valid(const char *name, char *path, size_t len) {
    path_of(path, len, name);
    ll_capture_meta m = meta_of(1, 37, 2, 64, LL_BF16, 2, 2);
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(write_capture(path, &m, &err), LL_OK);
}

// A capture open must fail with `code` and a message naming the file and
// holding `needle`; prints the message otherwise. The validator must agree.
static void expect_refused(const char *path, ll_status code, const char *needle) {
    ll_capture_reader *r = NULL;
    ll_capture_meta m;
    ll_error err;
    ll_error_clear(&err);
    ll_status s = ll_capture_open(path, 1, &r, &m, &err);
    int ok = s == code && strstr(err.msg, path) && (!needle || strstr(err.msg, needle)) && !r;
    CU_ASSERT_TRUE(ok);
    if (!ok) fprintf(stderr, "\n  %s: status %d (want %d), message '%s' (want '%s')\n", path, s, code, err.msg, needle);
    if (r) ll_capture_close_reader(r);
    ll_error_clear(&err);
    CU_ASSERT_EQUAL(ll_capture_validate_file(path, 1, NULL, &err), code);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
}

// ---------------------------------------------------------------------------
// Round trips

static void check_round_trip(int B, int N, int H, int D, ll_dtype t, int steps, int layers, int frames, int height,
                             int width) {
    char path[512], partial[600];
    path_of(path, sizeof path, "rt.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    ll_capture_meta m = meta_of(B, N, H, D, t, steps, layers);
    m.frames = frames;
    m.height = height;
    m.width = width;
    m.seed = 0xfedcba9876543210ull;  // all 64 bits survive
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(write_capture(path, &m, &err), LL_OK);
    CU_ASSERT_FALSE(tf_exists(partial));

    ll_capture_reader *r;
    ll_capture_meta got;
    CU_ASSERT_EQUAL_FATAL(ll_capture_open(path, 0, &r, &got, &err), LL_OK);
    CU_ASSERT_STRING_EQUAL(got.model, "test-model");
    CU_ASSERT_STRING_EQUAL(got.source, "captured");
    CU_ASSERT_TRUE(got.shape.B == B && got.shape.N == N && got.shape.H == H && got.shape.D == D &&
                   got.shape.dtype == t);
    CU_ASSERT_TRUE(got.steps == steps && got.layers == layers);
    CU_ASSERT_TRUE(got.frames == frames && got.height == height && got.width == width);
    CU_ASSERT_EQUAL(got.softmax_scale, 0.125f);
    CU_ASSERT_EQUAL(got.seed, m.seed);
    CU_ASSERT_EQUAL(got.complete, 1);
    CU_ASSERT_EQUAL(got.steps_written, steps);

    size_t n = ll_shape_elems(&m.shape);
    uint16_t *want = malloc(n * 2), *x[3] = {malloc(n * 2), malloc(n * 2), malloc(n * 2)};
    int same = 1;
    for (int s = 0; s < steps; s++)
        for (int l = 0; l < layers; l++) {
            CU_ASSERT_EQUAL(ll_capture_read(r, s, l, x[0], x[1], x[2], 1, &err), LL_OK);
            for (int i = 0; i < 3; i++) {
                fill_words(t, want, n, words_seed(i, s, l));
                same &= memcmp(want, x[i], n * 2) == 0;
            }
        }
    CU_ASSERT_TRUE(same);
    // Any tensor alone: K only of the last call.
    memset(x[1], 0, n * 2);
    CU_ASSERT_EQUAL(ll_capture_read(r, steps - 1, layers - 1, NULL, x[1], NULL, 1, &err), LL_OK);
    fill_words(t, want, n, words_seed(1, steps - 1, layers - 1));
    CU_ASSERT_EQUAL(memcmp(want, x[1], n * 2), 0);
    // Outside the file: a clear refusal.
    CU_ASSERT_EQUAL(ll_capture_read(r, steps, 0, x[0], NULL, NULL, 1, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_EQUAL(ll_capture_read(r, 0, -1, x[0], NULL, NULL, 1, &err), LL_ERR_INVALID);
    ll_capture_close_reader(r);
    free(want);
    for (int i = 0; i < 3; i++) free(x[i]);

    char *report = NULL;
    size_t report_len = 0;
    FILE *f = open_memstream(&report, &report_len);
    CU_ASSERT_EQUAL(ll_capture_validate_file(path, 0, f, &err), LL_OK);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(report, "OK"));
    free(report);
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
    unlink(path);
}

static void test_round_trip(void) {
    for (int t = 0; t < 2; t++) {
        ll_dtype dt = t ? LL_FP16 : LL_BF16;
        check_round_trip(1, 37, 2, 64, dt, 2, 3, 0, 0, 0);     // prime N, grid unknown
        check_round_trip(2, 130, 3, 96, dt, 3, 1, 2, 5, 13);  // B > 1, N = 2*5*13
        check_round_trip(1, 201, 1, 128, dt, 1, 2, 3, 67, 1);
        check_round_trip(3, 1, 2, 64, dt, 1, 1, 1, 1, 1);     // one token
    }
    // The file is plain HDF5: h5dump parses it where it is installed.
    if (access("/usr/bin/h5dump", X_OK) == 0) {
        char path[512], cmd[700];
        make_valid("dump.h5", path, sizeof path);
        snprintf(cmd, sizeof cmd, "/usr/bin/h5dump -H '%s' > /dev/null 2>&1", path);
        CU_ASSERT_EQUAL(system(cmd), 0);
        unlink(path);
    }
}

// ---------------------------------------------------------------------------
// The writer's checks

static void test_writer_rejects(void) {
    char path[512], partial[600];
    path_of(path, sizeof path, "w.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    ll_capture_writer *w = NULL;
    ll_error err;
    const ll_capture_meta good = meta_of(1, 37, 2, 64, LL_BF16, 2, 2);
    struct {
        const char *why, *needle;
        ll_capture_meta m;
    } bad[] = {
        {"D=80", "head dim D=80", good}, {"N=0", "N", good},        {"H=0", "H", good},       {"steps=0", "steps", good},
        {"layers=0", "layers", good}, {"grid", "grid", good}, {"scale", "softmax_scale", good},
        {"model", "model", good},
    };
    bad[0].m.shape.D = 80;
    bad[1].m.shape.N = 0;
    bad[2].m.shape.H = 0;
    bad[3].m.steps = 0;
    bad[4].m.layers = 0;
    bad[5].m.frames = 2, bad[5].m.height = 3, bad[5].m.width = 7;  // 42 != 37
    bad[6].m.softmax_scale = -1;
    bad[7].m.model[0] = '\0';
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ll_error_clear(&err);
        ll_status s = ll_capture_create(path, &bad[i].m, &w, &err);
        CU_ASSERT_EQUAL(s, LL_ERR_INVALID);
        CU_ASSERT_PTR_NULL(w);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].needle));
        if (s != LL_ERR_INVALID || !strstr(err.msg, bad[i].needle))
            fprintf(stderr, "\n  bad meta '%s': status %d, '%s'\n", bad[i].why, s, err.msg);
        CU_ASSERT_FALSE(tf_exists(partial) || tf_exists(path));
    }
    CU_ASSERT_EQUAL(ll_capture_create("", &good, &w, &err), LL_ERR_USAGE);
    CU_ASSERT_EQUAL(ll_capture_create("/nonexistent-dir/c.h5", &good, &w, &err), LL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent-dir/c.h5"));

    // Order, range and missing tensors.
    size_t n = ll_shape_elems(&good.shape);
    uint16_t *x = calloc(n, 2);
    CU_ASSERT_EQUAL_FATAL(ll_capture_create(path, &good, &w, &err), LL_OK);
    CU_ASSERT_TRUE(tf_exists(partial) && !tf_exists(path));
    CU_ASSERT_EQUAL(ll_capture_write(w, 0, 1, x, x, x, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "out of order"));
    CU_ASSERT_EQUAL(ll_capture_write(w, 1, 0, x, x, x, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_capture_write(w, 0, 0, x, NULL, x, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no k"));
    CU_ASSERT_EQUAL(ll_capture_write(w, 0, 0, x, x, x, &err), LL_OK);  // refusals leave the writer usable
    CU_ASSERT_EQUAL(ll_capture_write(w, 0, 1, x, x, x, &err), LL_OK);
    // Closing with a step missing: refused, nothing at <path>, the partial file says incomplete.
    CU_ASSERT_EQUAL(ll_capture_close(w, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "1 of 2 steps"));
    CU_ASSERT_FALSE(tf_exists(path));
    ll_capture_reader *r;
    ll_capture_meta m;
    CU_ASSERT_EQUAL(ll_capture_open(partial, 0, &r, &m, &err), LL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "incomplete"));
    CU_ASSERT_EQUAL_FATAL(ll_capture_open(partial, 1, &r, &m, &err), LL_OK);
    CU_ASSERT_EQUAL(m.complete, 0);
    CU_ASSERT_EQUAL(m.steps_written, 1);
    ll_capture_close_reader(r);
    unlink(partial);

    // Every step written: a further one is refused.
    ll_capture_meta one = meta_of(1, 37, 2, 64, LL_BF16, 1, 1);
    CU_ASSERT_EQUAL_FATAL(ll_capture_create(path, &one, &w, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_capture_write(w, 0, 0, x, x, x, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_capture_write(w, 1, 0, x, x, x, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_capture_close(w, &err), LL_OK);
    CU_ASSERT_TRUE(tf_exists(path) && !tf_exists(partial));
    // Aborting leaves nothing.
    CU_ASSERT_EQUAL_FATAL(ll_capture_create(path, &good, &w, &err), LL_OK);
    ll_capture_abort(w);
    CU_ASSERT_FALSE(tf_exists(partial));
    free(x);
    unlink(path);
}

// ---------------------------------------------------------------------------
// NaN and Inf

static const char *const TENSOR[3] = {"q", "k", "v"};

static void test_not_finite_on_write(void) {
    const uint16_t bad_bf16[] = {0x7fc0, 0x7f81, 0xffc0, 0x7f80, 0xff80};  // NaNs (quiet, signalling, negative), +-Inf
    const uint16_t bad_fp16[] = {0x7e00, 0x7c01, 0xfe00, 0x7c00, 0xfc00};
    char path[512], partial[600];
    path_of(path, sizeof path, "nan_w.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    for (int t = 0; t < 2; t++) {
        ll_dtype dt = t ? LL_FP16 : LL_BF16;
        ll_capture_meta m = meta_of(1, 37, 2, 64, dt, 1, 1);
        size_t n = ll_shape_elems(&m.shape);
        uint16_t *x[3] = {malloc(n * 2), malloc(n * 2), malloc(n * 2)};
        for (int i = 0; i < 3; i++) fill_words(dt, x[i], n, words_seed(i, 0, 0));
        ll_capture_writer *w;
        ll_error err;
        CU_ASSERT_EQUAL_FATAL(ll_capture_create(path, &m, &w, &err), LL_OK);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 5; j++) {
                // Token 5, head 1, dim 3.
                size_t at = ((size_t)5 * 2 + 1) * 64 + 3;
                uint16_t keep = x[i][at];
                x[i][at] = t ? bad_fp16[j] : bad_bf16[j];
                ll_error_clear(&err);
                CU_ASSERT_EQUAL(ll_capture_write(w, 0, 0, x[0], x[1], x[2], &err), LL_ERR_INVALID);
                char want[64];
                snprintf(want, sizeof want, "%s of step 0 layer 0", TENSOR[i]);
                CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, partial));
                CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
                CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "non-finite"));
                CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "n=5 h=1 d=3"));
                x[i][at] = keep;
            }
        // The clean call still goes in and the file reads back.
        CU_ASSERT_EQUAL(ll_capture_write(w, 0, 0, x[0], x[1], x[2], &err), LL_OK);
        CU_ASSERT_EQUAL(ll_capture_close(w, &err), LL_OK);
        CU_ASSERT_EQUAL(ll_capture_validate_file(path, 0, NULL, &err), LL_OK);
        for (int i = 0; i < 3; i++) free(x[i]);
        unlink(path);
    }
}

static void test_not_finite_in_file(void) {
    char path[512];
    const uint16_t word[3] = {0x7fc0, 0x7f80, 0xff80};  // NaN in Q, +Inf in K, -Inf in V (bf16)
    for (int i = 0; i < 3; i++) {
        make_valid("nan_r.h5", path, sizeof path);
        // [steps, layers, B, N, H, D]: step 1, layer 0, token 7, head 1, dim 3.
        hsize_t at[6] = {1, 0, 0, 7, 1, 3};
        char where[8];
        snprintf(where, sizeof where, "/%s", TENSOR[i]);
        CU_ASSERT_EQUAL_FATAL(tf_h5_poke(path, where, at, H5T_NATIVE_UINT16, &word[i]), 0);
        ll_capture_reader *r;
        ll_capture_meta m;
        ll_error err;
        CU_ASSERT_EQUAL_FATAL(ll_capture_open(path, 0, &r, &m, &err), LL_OK);  // the metadata is fine
        size_t n = ll_shape_elems(&m.shape);
        uint16_t *x[3] = {malloc(n * 2), malloc(n * 2), malloc(n * 2)};
        CU_ASSERT_EQUAL(ll_capture_read(r, 0, 0, x[0], x[1], x[2], 1, &err), LL_OK);
        CU_ASSERT_EQUAL(ll_capture_read(r, 1, 1, x[0], x[1], x[2], 1, &err), LL_OK);
        ll_error_clear(&err);
        CU_ASSERT_EQUAL(ll_capture_read(r, 1, 0, x[0], x[1], x[2], 1, &err), LL_ERR_INVALID);
        char want[64];
        snprintf(want, sizeof want, "%s of step 1 layer 0", TENSOR[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "n=7 h=1 d=3"));
        // Unchecked, the word reads back as stored.
        CU_ASSERT_EQUAL(ll_capture_read(r, 1, 0, x[0], x[1], x[2], 0, &err), LL_OK);
        CU_ASSERT_EQUAL(x[i][((size_t)7 * 2 + 1) * 64 + 3], word[i]);
        ll_capture_close_reader(r);
        for (int j = 0; j < 3; j++) free(x[j]);
        // The validator reports it, naming the file.
        char *report = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&report, &len);
        ll_error_clear(&err);
        CU_ASSERT_EQUAL(ll_capture_validate_file(path, 0, f, &err), LL_ERR_FORMAT);
        fclose(f);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "non-finite"));
        CU_ASSERT_PTR_NOT_NULL(strstr(report, "INVALID"));
        CU_ASSERT_PTR_NOT_NULL(strstr(report, want));
        free(report);
        unlink(path);
    }
}

// ---------------------------------------------------------------------------
// Damaged and foreign files

static void test_truncated(void) {
    char valid[512], cut[512];
    make_valid("trunc_src.h5", valid, sizeof valid);
    path_of(cut, sizeof cut, "trunc.h5");
    size_t n = 0;
    char *bytes = tf_read_all(valid, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    const size_t offsets[] = {1, 7, 8, 16, 64, 200, 512, 1024, 2048, 4096, n / 4, n / 3, n / 2, 2 * n / 3,
                              n - 4096, n - 1024, n - 100, n - 8, n - 1};
    int fds = tf_open_fds();
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        if (offsets[i] >= n) continue;
        CU_ASSERT_EQUAL_FATAL(tf_write_bytes(cut, bytes, offsets[i]), 0);
        ll_error err;
        ll_error_clear(&err);
        ll_status s = ll_capture_validate_file(cut, 1, NULL, &err);
        CU_ASSERT_EQUAL(s, LL_ERR_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cut));
        if (s != LL_ERR_FORMAT) fprintf(stderr, "\n  cut at %zu of %zu: status %d '%s'\n", offsets[i], n, s, err.msg);
        ll_capture_reader *r = NULL;
        ll_capture_meta m;
        if (ll_capture_open(cut, 1, &r, &m, &err) == LL_OK) ll_capture_close_reader(r);
    }
    CU_ASSERT_EQUAL(tf_open_fds(), fds);
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
    free(bytes);
    unlink(valid);
    unlink(cut);
}

static void test_missing_dataset(void) {
    char path[512];
    for (int i = 0; i < 3; i++) {
        make_valid("missing.h5", path, sizeof path);
        char where[8], want[32];
        snprintf(where, sizeof where, "/%s", TENSOR[i]);
        snprintf(want, sizeof want, "dataset /%s is missing", TENSOR[i]);
        CU_ASSERT_EQUAL_FATAL(tf_h5_delete(path, where), 0);
        expect_refused(path, LL_ERR_FORMAT, want);
        unlink(path);
    }
}

static void test_wrong_datasets(void) {
    char path[512];
    hsize_t dims[6] = {2, 2, 1, 37, 2, 64};
    hsize_t more_tokens[6] = {2, 2, 1, 38, 2, 64};
    struct {
        const char *name;
        hid_t type;
        int rank;
        const hsize_t *dims;
        const char *dtype, *needle;
    } cases[] = {
        {"/v", H5T_IEEE_F32LE, 6, dims, "bf16", "4-byte float elements"},
        {"/q", H5T_STD_U8LE, 6, dims, "bf16", "1-byte integer elements"},
        {"/k", H5T_STD_I64LE, 6, dims, "bf16", "8-byte integer elements"},
        {"/k", H5T_STD_U16LE, 5, dims, "bf16", "/k has shape [2, 2, 1, 37, 2]"},
        {"/q", H5T_STD_U16LE, 6, more_tokens, "bf16", "/q has shape [2, 2, 1, 38, 2, 64]"},
        {"/q", H5T_STD_U16LE, 1, dims, "bf16", "/q has shape [2]"},
        {"/v", H5T_STD_U16LE, 6, dims, "fp16", "/v has dtype 'fp16'"},
        {"/v", H5T_STD_U16LE, 6, dims, NULL, "attribute 'dtype' is missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_valid("wrong.h5", path, sizeof path);
        CU_ASSERT_EQUAL_FATAL(tf_h5_replace(path, cases[i].name, cases[i].type, cases[i].rank, cases[i].dims,
                                            cases[i].dtype), 0);
        expect_refused(path, LL_ERR_FORMAT, cases[i].needle);
        unlink(path);
    }
    // A 16-bit float dataset is how h5py stores numpy float16: fine for fp16
    // captures, not for bf16 ones.
    hid_t f16 = H5Tcopy(H5T_IEEE_F32LE);
    CU_ASSERT_TRUE_FATAL(f16 >= 0 && H5Tset_fields(f16, 15, 10, 5, 0, 10) >= 0 && H5Tset_precision(f16, 16) >= 0 &&
                         H5Tset_size(f16, 2) >= 0 && H5Tset_ebias(f16, 15) >= 0);
    make_valid("wrong.h5", path, sizeof path);
    CU_ASSERT_EQUAL_FATAL(tf_h5_replace(path, "/q", f16, 6, dims, "bf16"), 0);
    expect_refused(path, LL_ERR_FORMAT, "2-byte float elements");
    unlink(path);
    H5Tclose(f16);
}

static void test_wrong_attributes(void) {
    char path[512];
    struct {
        const char *name;
        int is_str;
        const char *s;
        int32_t v;
        const char *needle;
    } cases[] = {
        {"N", 0, NULL, 38, "/q has shape [2, 2, 1, 37, 2, 64], the attributes say"},  // dims mismatch
        {"H", 0, NULL, 3, "the attributes say"},
        {"steps", 0, NULL, 3, "marked complete but steps_written=2 of 3"},
        {"D", 0, NULL, 80, "head dim D=80"},
        {"N", 0, NULL, 0, "attribute 'N' = 0 is out of range"},
        {"B", 0, NULL, -1, "attribute 'B'"},
        {"dtype", 1, "fp32", 0, "attribute 'dtype'"},
        {"dtype", 1, "fp16", 0, "/q has dtype 'bf16', the file says 'fp16'"},
        {"height", 0, NULL, 7, "token grid"},
        {"frames", 0, NULL, 1, "token grid"},
        {"steps_written", 0, NULL, 3, "steps_written=3 exceeds steps=2"},
        {"steps_written", 0, NULL, 1, "marked complete but steps_written=1"},
        {"complete", 0, NULL, 2, "'complete'"},
        {"format_version", 0, NULL, 2, "newer"},
        {"format_version", 0, NULL, 0, "format_version"},
        {"format", 1, "litelab-trace", 0, "not a litelab capture"},
        {"format", 0, NULL, 1, "attribute 'format' is an integer, expected a string"},
        {"softmax_scale", 1, "0.125", 0, "attribute 'softmax_scale' is a string, expected a number"},
        {"model", 0, NULL, 5, "attribute 'model' is an integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        make_valid("attr.h5", path, sizeof path);
        int r = cases[i].is_str ? tf_h5_set_str(path, "/", cases[i].name, cases[i].s)
                                : tf_h5_set_int(path, "/", cases[i].name, cases[i].v);
        CU_ASSERT_EQUAL_FATAL(r, 0);
        expect_refused(path, LL_ERR_FORMAT, cases[i].needle);
        unlink(path);
    }
    const char *required[] = {"format", "seed", "model", "layers", "width", "softmax_scale", "complete"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        make_valid("attr.h5", path, sizeof path);
        CU_ASSERT_EQUAL_FATAL(tf_h5_delete_attr(path, "/", required[i]), 0);
        char want[64];
        if (!strcmp(required[i], "format")) snprintf(want, sizeof want, "not a litelab capture");
        else snprintf(want, sizeof want, "attribute '%s' is missing", required[i]);
        expect_refused(path, LL_ERR_FORMAT, want);
        unlink(path);
    }
}

static void test_foreign_and_not_hdf5(void) {
    char path[512];
    path_of(path, sizeof path, "foreign.h5");
    CU_ASSERT_EQUAL_FATAL(tf_h5_foreign(path), 0);
    expect_refused(path, LL_ERR_FORMAT, "not a litelab capture");
    path_of(path, sizeof path, "text.h5");
    CU_ASSERT_EQUAL_FATAL(tf_write_text(path, "step,layer,q\n0,0,1.5\n"), 0);
    expect_refused(path, LL_ERR_FORMAT, "not an HDF5 file");
    path_of(path, sizeof path, "empty.h5");
    CU_ASSERT_EQUAL_FATAL(tf_write_bytes(path, "", 0), 0);
    expect_refused(path, LL_ERR_FORMAT, "not an HDF5 file");
    // Random bytes, and the HDF5 signature followed by zeros.
    char junk[8192];
    ll_rng r;
    ll_rng_seed(&r, 5);
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)ll_rng_next(&r);
    path_of(path, sizeof path, "random.h5");
    CU_ASSERT_EQUAL_FATAL(tf_write_bytes(path, junk, sizeof junk), 0);
    expect_refused(path, LL_ERR_FORMAT, "HDF5");
    memset(junk, 0, sizeof junk);
    memcpy(junk, "\x89HDF\r\n\x1a\n", 8);
    path_of(path, sizeof path, "signature.h5");
    CU_ASSERT_EQUAL_FATAL(tf_write_bytes(path, junk, sizeof junk), 0);
    expect_refused(path, LL_ERR_FORMAT, "HDF5");
    // Missing file and a directory: I/O errors.
    path_of(path, sizeof path, "no_such_file.h5");
    expect_refused(path, LL_ERR_IO, "No such file");
    path_of(path, sizeof path, "a_directory.h5");
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0700), 0);
    expect_refused(path, LL_ERR_IO, "directory");
    rmdir(path);
    ll_capture_reader *rd;
    ll_error err;
    CU_ASSERT_EQUAL(ll_capture_open(NULL, 0, &rd, NULL, &err), LL_ERR_USAGE);
}

// ---------------------------------------------------------------------------
// Crash safety

static void test_killed_writer(void) {
    char path[512], partial[600];
    path_of(path, sizeof path, "killed.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    ll_capture_meta m = meta_of(1, 37, 2, 64, LL_FP16, 3, 2);
    size_t n = ll_shape_elems(&m.shape);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {  // step 0 whole, step 1 half, then killed without any cleanup
        tf_child_setup();
        uint16_t *x[3] = {malloc(n * 2), malloc(n * 2), malloc(n * 2)};
        ll_capture_writer *w;
        ll_error err;
        if (ll_capture_create(path, &m, &w, &err) != LL_OK) _exit(1);
        for (int c = 0; c < 3; c++) {
            int s = c / 2, l = c % 2;
            for (int i = 0; i < 3; i++) fill_words(m.shape.dtype, x[i], n, words_seed(i, s, l));
            if (ll_capture_write(w, s, l, x[0], x[1], x[2], &err) != LL_OK) _exit(1);
        }
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    int status;
    CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT_TRUE_FATAL(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CU_ASSERT_FALSE(tf_exists(path));  // nothing that looks complete
    CU_ASSERT_TRUE_FATAL(tf_exists(partial));

    ll_capture_reader *r;
    ll_capture_meta got;
    ll_error err;
    CU_ASSERT_EQUAL(ll_capture_open(partial, 0, &r, &got, &err), LL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "incomplete capture (1 of 3 steps"));
    CU_ASSERT_EQUAL_FATAL(ll_capture_open(partial, 1, &r, &got, &err), LL_OK);
    CU_ASSERT_EQUAL(got.complete, 0);
    CU_ASSERT_EQUAL(got.steps_written, 1);
    uint16_t *x = malloc(n * 2), *want = malloc(n * 2);
    for (int l = 0; l < 2; l++)
        for (int i = 0; i < 3; i++) {
            uint16_t *dst[3] = {NULL, NULL, NULL};
            dst[i] = x;
            CU_ASSERT_EQUAL(ll_capture_read(r, 0, l, dst[0], dst[1], dst[2], 1, &err), LL_OK);
            fill_words(m.shape.dtype, want, n, words_seed(i, 0, l));
            CU_ASSERT_EQUAL(memcmp(x, want, n * 2), 0);
        }
    // The unfinished step is not part of the file.
    CU_ASSERT_EQUAL(ll_capture_read(r, 1, 0, x, NULL, NULL, 1, &err), LL_ERR_INVALID);
    ll_capture_close_reader(r);
    free(x);
    free(want);
    CU_ASSERT_EQUAL(ll_capture_validate_file(partial, 0, NULL, &err), LL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "incomplete"));
    CU_ASSERT_EQUAL(ll_capture_validate_file(partial, 1, NULL, &err), LL_OK);
    unlink(partial);
}

// A second writer of the same output while the first is live is refused and
// leaves the live writer's .partial alone: in this process, and from another
// one (the litelab binary), where HDF5 would truncate the file before it
// finds the lock.
static void test_second_writer(void) {
    char path[512], partial[600], out[600], errs[600];
    path_of(path, sizeof path, "busy.h5");
    path_of(out, sizeof out, "busy.out");
    path_of(errs, sizeof errs, "busy.err");
    snprintf(partial, sizeof partial, "%s.partial", path);
    ll_capture_meta m = meta_of(1, 37, 2, 64, LL_BF16, 2, 1);
    size_t n = ll_shape_elems(&m.shape);
    uint16_t *x[3] = {malloc(n * 2), malloc(n * 2), malloc(n * 2)};
    ll_capture_writer *w, *w2 = NULL;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_capture_create(path, &m, &w, &err), LL_OK);
    for (int i = 0; i < 3; i++) fill_words(m.shape.dtype, x[i], n, words_seed(i, 0, 0));
    CU_ASSERT_EQUAL(ll_capture_write(w, 0, 0, x[0], x[1], x[2], &err), LL_OK);
    long size = tf_size(partial);
    CU_ASSERT_TRUE(size > 0);
    CU_ASSERT_EQUAL(ll_capture_create(path, &m, &w2, &err), LL_ERR_IO);
    CU_ASSERT_PTR_NULL(w2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "another process has the file open"));
    CU_ASSERT_EQUAL(tf_size(partial), size);
    const char *args[] = {"synth", "--preset", "tiny", "-q", "-o", path, NULL};
    CU_ASSERT_EQUAL(tf_run_cli(args, out, errs), 4);
    CU_ASSERT_TRUE(tf_contains(errs, "another process has the file open"));
    CU_ASSERT_EQUAL(tf_size(partial), size);
    for (int i = 0; i < 3; i++) fill_words(m.shape.dtype, x[i], n, words_seed(i, 1, 0));
    CU_ASSERT_EQUAL(ll_capture_write(w, 1, 0, x[0], x[1], x[2], &err), LL_OK);
    CU_ASSERT_EQUAL(ll_capture_close(w, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_capture_validate_file(path, 0, NULL, &err), LL_OK);
    CU_ASSERT_FALSE(tf_exists(partial));
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
    for (int i = 0; i < 3; i++) free(x[i]);
    unlink(path);
    unlink(out);
    unlink(errs);
}

// ---------------------------------------------------------------------------
// Fuzz: damaged copies of a small capture

static int fuzz_check(const char *path, char *why, size_t len) {
    int fds = tf_open_fds();
    ll_error err;
    ll_error_clear(&err);
    ll_status s = ll_capture_validate_file(path, 1, NULL, &err);
    ll_capture_reader *r = NULL;
    ll_capture_meta m;
    ll_error e2;
    if (ll_capture_open(path, 1, &r, &m, &e2) == LL_OK) {
        size_t n = ll_shape_elems(&m.shape);
        uint16_t *x = n <= (1u << 20) ? malloc(n * 2) : NULL;
        for (int st = 0; x && st < m.steps_written; st++)
            for (int l = 0; l < m.layers; l++) ll_capture_read(r, st, l, x, x, x, 1, &e2);
        free(x);
        ll_capture_close_reader(r);
    }
    if (tf_open_fds() != fds || tf_h5_open_files() != 0) {
        snprintf(why, len, "handles left open (%d -> %d descriptors, %ld HDF5 files)", fds, tf_open_fds(),
                 tf_h5_open_files());
        return -1;
    }
    if (s == LL_OK) return 1;
    if ((s != LL_ERR_FORMAT && s != LL_ERR_IO) || !strstr(err.msg, path)) {
        snprintf(why, len, "status %d, message '%s'", s, err.msg);
        return -1;
    }
    return 0;
}

static void test_fuzz(void) {
    char valid[512], scratch[512];
    path_of(valid, sizeof valid, "fuzz_src.h5");
    path_of(scratch, sizeof scratch, "fuzz.h5");
    ll_capture_meta m = meta_of(1, 37, 2, 64, LL_BF16, 2, 1);
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(write_capture(valid, &m, &err), LL_OK);
    tf_fuzz_result res;
    int status = tf_fuzz(valid, scratch, 150, 11, 30, fuzz_check, &res);
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    CU_ASSERT_TRUE(clean);
    if (!clean) fprintf(stderr, "\n  fuzz child died (status %d) in case %d (%s)\n", status, res.current, res.what);
    CU_ASSERT_EQUAL(res.cases, 150);
    CU_ASSERT_EQUAL(res.bad, 0);
    if (res.bad) fprintf(stderr, "\n  %d bad cases; first: %s\n", res.bad, res.why);
    CU_ASSERT_TRUE(res.rejected > 0);
    unlink(valid);
    unlink(scratch);
}

int register_capture_suite(void) {
    CU_pSuite s = CU_add_suite("capture", suite_init, suite_clean);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "round trip bit-exact: bf16, fp16, odd shapes", test_round_trip) ||
        !CU_add_test(s, "writer rejects bad metadata, order and ranges", test_writer_rejects) ||
        !CU_add_test(s, "NaN / Inf in Q, K, V refused on write", test_not_finite_on_write) ||
        !CU_add_test(s, "NaN / Inf in a file reported on read and validate", test_not_finite_in_file) ||
        !CU_add_test(s, "truncated at many offsets", test_truncated) ||
        !CU_add_test(s, "missing datasets", test_missing_dataset) ||
        !CU_add_test(s, "datasets of the wrong type, rank or shape", test_wrong_datasets) ||
        !CU_add_test(s, "inconsistent or missing attributes", test_wrong_attributes) ||
        !CU_add_test(s, "foreign HDF5, non-HDF5, empty, missing, directory", test_foreign_and_not_hdf5) ||
        !CU_add_test(s, "killed writer leaves a partial file of finished steps", test_killed_writer) ||
        !CU_add_test(s, "a second writer leaves a live writer's partial file alone", test_second_writer) ||
        !CU_add_test(s, "fuzz: damaged copies refused cleanly", test_fuzz))
        return CU_get_error();
    return CUE_SUCCESS;
}
