// test_synth.c: the synthetic trajectory generator (lib/synth.h):
// determinism (same seed, same bits; another seed, other bits), the same
// bits for 1 and 2 OpenMP threads, any (step, layer) generated alone equal
// to the same one generated in sequence, finite words in both dtypes, the
// documented presets, the properties its header claims (attention sharpens
// over the steps: mean row entropy falls from the first step to the last;
// negligible tiles persist from one step to the next; head characters are a
// fixed mix over heads and layers, and a sink head does attend to frame 0),
// argument errors, and the capture `litelab synth` writes reading back as
// exactly what the generator makes.
#include <CUnit/CUnit.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "synth.h"
#include "test_files.h"
#include "test_suites.h"
#include "tile_maps.h"

static char dir[128];

static int suite_init(void) {
    tf_h5_quiet();
    return tf_dir_make(dir, sizeof dir, "synth");
}

static int suite_clean(void) { return tf_dir_remove(dir); }

static int verbose(void) { return getenv("LITELAB_TEST_VERBOSE") != NULL; }

static ll_synth_config preset(const char *name) {
    ll_synth_config c;
    ll_error err;
    CU_ASSERT_EQUAL(ll_synth_preset(name, &c, &err), LL_OK);
    return c;
}

typedef struct {
    size_t n;
    uint16_t *q, *k, *v;
} qkv;

static void qkv_alloc(qkv *x, const ll_synth_config *c) {
    ll_shape s = {c->B, ll_synth_tokens(c), c->H, c->D, c->dtype};
    x->n = ll_shape_elems(&s);
    x->q = malloc(x->n * 2);
    x->k = malloc(x->n * 2);
    x->v = malloc(x->n * 2);
}

static void qkv_free(qkv *x) {
    free(x->q);
    free(x->k);
    free(x->v);
}

static int qkv_same(const qkv *a, const qkv *b) {
    return a->n == b->n && !memcmp(a->q, b->q, a->n * 2) && !memcmp(a->k, b->k, a->n * 2) &&
           !memcmp(a->v, b->v, a->n * 2);
}

static ll_status generate(const ll_synth_config *c, int step, int layer, qkv *x) {
    ll_error err;
    ll_status s = ll_synth_generate(c, step, layer, x->q, x->k, x->v, &err);
    if (s != LL_OK) fprintf(stderr, "\n  %s\n", err.msg);
    return s;
}

// ---------------------------------------------------------------------------
// Bits

static void test_presets(void) {
    ll_synth_config c = preset("tiny");
    CU_ASSERT_TRUE(c.frames == 4 && c.height == 6 && c.width == 8 && c.H == 2 && c.D == 64 && c.steps == 4 &&
                   c.layers == 2 && c.B == 1);
    c = preset("small");
    CU_ASSERT_TRUE(ll_synth_tokens(&c) == 2048 && c.H == 4 && c.D == 64 && c.steps == 10);
    c = preset("wan480p");
    CU_ASSERT_TRUE(ll_synth_tokens(&c) == 32760 && c.H == 40 && c.D == 128 && c.steps == 50 && c.layers == 40);
    c = preset("wan720p");
    CU_ASSERT_TRUE(ll_synth_tokens(&c) == 75600 && c.H == 40 && c.D == 128 && c.steps == 50);
    ll_error err;
    CU_ASSERT_EQUAL(ll_synth_validate(&c, &err), LL_OK);
}

static void test_determinism(void) {
    ll_synth_config c = preset("tiny");
    qkv a, b;
    qkv_alloc(&a, &c);
    qkv_alloc(&b, &c);
    CU_ASSERT_EQUAL_FATAL(generate(&c, 2, 1, &a), LL_OK);
    CU_ASSERT_EQUAL_FATAL(generate(&c, 2, 1, &b), LL_OK);
    CU_ASSERT_TRUE(qkv_same(&a, &b));
    // Another seed: other words nearly everywhere.
    ll_synth_config c2 = c;
    c2.seed = c.seed + 1;
    CU_ASSERT_EQUAL_FATAL(generate(&c2, 2, 1, &b), LL_OK);
    size_t differ[3] = {0, 0, 0};
    for (size_t i = 0; i < a.n; i++) {
        differ[0] += a.q[i] != b.q[i];
        differ[1] += a.k[i] != b.k[i];
        differ[2] += a.v[i] != b.v[i];
    }
    for (int t = 0; t < 3; t++) CU_ASSERT_TRUE(differ[t] > a.n * 9 / 10);
    // Other steps and layers differ too.
    CU_ASSERT_EQUAL_FATAL(generate(&c, 3, 1, &b), LL_OK);
    CU_ASSERT_FALSE(qkv_same(&a, &b));
    CU_ASSERT_EQUAL_FATAL(generate(&c, 2, 0, &b), LL_OK);
    CU_ASSERT_FALSE(qkv_same(&a, &b));
    qkv_free(&a);
    qkv_free(&b);
}

static void test_thread_count(void) {
    // fp16, D = 96, B = 2, 3 heads, odd grid: more than the tiny preset covers.
    ll_synth_config c = preset("tiny");
    c.B = 2;
    c.H = 3;
    c.D = 96;
    c.dtype = LL_FP16;
    c.frames = 3, c.height = 5, c.width = 7;
    c.seed = 77;
    int saved = omp_get_max_threads();
    qkv one, two;
    qkv_alloc(&one, &c);
    qkv_alloc(&two, &c);
    omp_set_num_threads(1);
    CU_ASSERT_EQUAL(generate(&c, 1, 1, &one), LL_OK);
    omp_set_num_threads(2);
    CU_ASSERT_EQUAL(generate(&c, 1, 1, &two), LL_OK);
    omp_set_num_threads(saved);
    CU_ASSERT_TRUE(qkv_same(&one, &two));
    qkv_free(&one);
    qkv_free(&two);
}

static void test_alone_equals_sequence(void) {
    ll_synth_config c = preset("tiny");
    c.seed = 5;
    int calls = c.steps * c.layers;
    qkv *seq = calloc((size_t)calls, sizeof *seq);
    for (int s = 0; s < c.steps; s++)
        for (int l = 0; l < c.layers; l++) {
            qkv_alloc(&seq[s * c.layers + l], &c);
            CU_ASSERT_EQUAL(generate(&c, s, l, &seq[s * c.layers + l]), LL_OK);
        }
    // Each call alone, in reverse order, and Q / K / V one at a time.
    qkv x;
    qkv_alloc(&x, &c);
    int same = 0, same_parts = 0;
    ll_error err;
    for (int i = calls - 1; i >= 0; i--) {
        memset(x.q, 0, x.n * 2);
        CU_ASSERT_EQUAL(generate(&c, i / c.layers, i % c.layers, &x), LL_OK);
        same += qkv_same(&x, &seq[i]);
        memset(x.q, 0, x.n * 2);
        memset(x.k, 0, x.n * 2);
        memset(x.v, 0, x.n * 2);
        CU_ASSERT_EQUAL(ll_synth_generate(&c, i / c.layers, i % c.layers, NULL, x.k, NULL, &err), LL_OK);
        CU_ASSERT_EQUAL(ll_synth_generate(&c, i / c.layers, i % c.layers, x.q, NULL, NULL, &err), LL_OK);
        CU_ASSERT_EQUAL(ll_synth_generate(&c, i / c.layers, i % c.layers, NULL, NULL, x.v, &err), LL_OK);
        same_parts += qkv_same(&x, &seq[i]);
    }
    CU_ASSERT_EQUAL(same, calls);
    CU_ASSERT_EQUAL(same_parts, calls);
    qkv_free(&x);
    for (int i = 0; i < calls; i++) qkv_free(&seq[i]);
    free(seq);
}

static void test_finite(void) {
    for (int t = 0; t < 2; t++) {
        ll_synth_config c = preset("tiny");
        c.dtype = t ? LL_FP16 : LL_BF16;
        c.D = t ? 128 : 64;
        qkv x;
        qkv_alloc(&x, &c);
        size_t bad = 0, zero = 0;
        for (int s = 0; s < c.steps; s += c.steps - 1)
            for (int l = 0; l < c.layers; l++) {
                CU_ASSERT_EQUAL(generate(&c, s, l, &x), LL_OK);
                const uint16_t *w[3] = {x.q, x.k, x.v};
                for (int j = 0; j < 3; j++)
                    for (size_t i = 0; i < x.n; i++) {
                        uint16_t e = t ? (w[j][i] & 0x7c00u) : (w[j][i] & 0x7f80u);
                        bad += e == (t ? 0x7c00u : 0x7f80u);
                        zero += (w[j][i] & 0x7fffu) == 0;
                    }
            }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT_TRUE(zero < x.n / 100);  // real values, not an empty buffer
        qkv_free(&x);
    }
}

// ---------------------------------------------------------------------------
// What it models

// Attention probabilities [B, H, N, N] of one call (full map, the default scale).
static float *probabilities(const ll_synth_config *c, int step, int layer, ll_tile_map *map, int block) {
    ll_shape s = {c->B, ll_synth_tokens(c), c->H, c->D, c->dtype};
    ll_attn_params p = {.shape = s, .tiling = {block, block}, .softmax_scale = 0, .threshold = -INFINITY};
    qkv x;
    qkv_alloc(&x, c);
    float *probs = malloc(sizeof(float) * (size_t)s.B * s.H * s.N * s.N);
    ll_error err;
    CU_ASSERT_EQUAL(generate(c, step, layer, &x), LL_OK);
    CU_ASSERT_EQUAL(ll_tile_map_compute(&p, x.q, x.k, map, probs, &err), LL_OK);
    qkv_free(&x);
    return probs;
}

// Mean row entropy (nats) of head h (all heads when h < 0).
static double mean_entropy(const float *probs, const ll_synth_config *c, int h) {
    int N = ll_synth_tokens(c);
    double sum = 0;
    long rows = 0;
    for (int b = 0; b < c->B; b++)
        for (int hh = 0; hh < c->H; hh++) {
            if (h >= 0 && hh != h) continue;
            for (int n = 0; n < N; n++, rows++) {
                const float *p = probs + (((size_t)b * c->H + hh) * N + n) * N;
                for (int m = 0; m < N; m++)
                    if (p[m] > 0) sum -= p[m] * log(p[m]);
            }
        }
    return sum / rows;
}

static void test_sharpens(void) {
    // The tiny preset, with 8 heads so every head character is in it.
    ll_synth_config c = preset("tiny");
    c.H = 8;
    c.steps = 6;
    ll_tile_map map = {0};
    ll_error err;
    int N = ll_synth_tokens(&c), qt = ll_ceil_div(N, 32);
    CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&map, c.B, c.H, qt, qt, &err), LL_OK);
    for (int l = 0; l < c.layers; l++) {
        double e[6];
        for (int s = 0; s < c.steps; s++) {
            float *probs = probabilities(&c, s, l, &map, 32);
            e[s] = mean_entropy(probs, &c, -1);
            free(probs);
        }
        if (verbose())
            fprintf(stderr, "\n  layer %d mean row entropy by step: %.3f %.3f %.3f %.3f %.3f %.3f (uniform %.3f)", l,
                    e[0], e[1], e[2], e[3], e[4], e[5], log((double)N));
        // Falls from first to last by a clear margin, and never rises much on the way.
        CU_ASSERT_TRUE(e[c.steps - 1] < 0.8 * e[0]);
        for (int s = 1; s < c.steps; s++) CU_ASSERT_TRUE(e[s] < e[s - 1] + 0.05);
        CU_ASSERT_TRUE(e[0] < log((double)N));  // not uniform even at the first step
    }
    ll_tile_map_free(&map);
}

static void test_negligible_tiles_persist(void) {
    // 512 tokens on a 4 x 8 x 16 grid, 8 heads, 8 steps; 32 x 32 tiles; the
    // threshold of the notes' example (-10 log2 units).
    ll_synth_config c = preset("tiny");
    c.H = 8;
    c.steps = 8;
    c.layers = 1;
    c.frames = 4, c.height = 8, c.width = 16;
    int N = ll_synth_tokens(&c), t = ll_ceil_div(N, 32);
    size_t cells = (size_t)c.B * c.H * t * t;
    ll_shape s = {c.B, N, c.H, c.D, c.dtype};
    ll_attn_params p = {.shape = s, .tiling = {32, 32}, .softmax_scale = 0, .threshold = -INFINITY};
    ll_tile_map map = {0};
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&map, c.B, c.H, t, t, &err), LL_OK);
    uint8_t *prev = calloc(cells, 1), *cur = calloc(cells, 1);
    qkv x;
    qkv_alloc(&x, &c);
    long negl_prev = 0, stayed = 0, first = 0, last = 0;
    for (int step = 0; step < c.steps; step++) {
        CU_ASSERT_EQUAL_FATAL(generate(&c, step, 0, &x), LL_OK);
        CU_ASSERT_EQUAL_FATAL(ll_tile_map_compute(&p, x.q, x.k, &map, NULL, &err), LL_OK);
        long n = 0;
        for (size_t i = 0; i < cells; i++) {
            cur[i] = map.max_log2[i] <= -10.0f;
            n += cur[i];
            if (step > 0 && prev[i]) {
                negl_prev++;
                stayed += cur[i];
            }
        }
        if (verbose()) fprintf(stderr, "%s%ld", step ? " " : "\n  negligible per step:", n);
        if (step == 0) first = n;
        if (step == c.steps - 1) last = n;
        uint8_t *tmp = prev;
        prev = cur;
        cur = tmp;
    }
    double persist = negl_prev ? (double)stayed / negl_prev : 0;
    if (verbose())
        fprintf(stderr, "\n  negligible tiles: %ld of %zu at the first step, %ld at the last; %.4f stay negligible",
                first, cells, last, persist);
    CU_ASSERT_TRUE(persist > 0.95);
    CU_ASSERT_TRUE(negl_prev > (long)cells && last > (long)cells / 10);  // not vacuous
    CU_ASSERT_TRUE(last > first);  // and they grow as attention sharpens
    qkv_free(&x);
    free(prev);
    free(cur);
    ll_tile_map_free(&map);
}

static void test_head_kinds(void) {
    ll_synth_config c = preset("wan480p");
    ll_synth_config other = c;
    other.seed = 999;
    other.H = 8;
    int counts[4] = {0}, differ = 0, seed_free = 1;
    for (int l = 0; l < c.layers; l++)
        for (int h = 0; h < c.H; h++) {
            ll_head_kind k = ll_synth_head_kind(&c, l, h);
            CU_ASSERT_TRUE_FATAL(k >= LL_HEAD_SPATIAL && k <= LL_HEAD_DIFFUSE);
            counts[k]++;
            seed_free &= ll_synth_head_kind(&other, l, h) == k;  // the seed does not pick characters
            if (l > 0) differ += ll_synth_head_kind(&c, l - 1, h) != k;
        }
    CU_ASSERT_TRUE(seed_free);
    // 40 layers x 40 heads of a pattern of 8: 3/8 spatial, 3/8 temporal, 1/8 sink, 1/8 diffuse.
    CU_ASSERT_EQUAL(counts[LL_HEAD_SPATIAL], 600);
    CU_ASSERT_EQUAL(counts[LL_HEAD_TEMPORAL], 600);
    CU_ASSERT_EQUAL(counts[LL_HEAD_SINK], 200);
    CU_ASSERT_EQUAL(counts[LL_HEAD_DIFFUSE], 200);
    CU_ASSERT_TRUE(differ >= 39 * 40 / 2);  // neighbouring layers differ in half their heads
    for (int l = 1; l < c.layers; l++) {
        int d = 0;
        for (int h = 0; h < 8; h++) d += ll_synth_head_kind(&c, l, h) != ll_synth_head_kind(&c, l - 1, h);
        CU_ASSERT_TRUE(d > 0);
    }
    // Every 8 consecutive heads of a layer hold all four characters.
    for (int l = 0; l < 3; l++) {
        int seen[4] = {0};
        for (int h = 0; h < 8; h++) seen[ll_synth_head_kind(&c, l, h)] = 1;
        CU_ASSERT_TRUE(seen[0] && seen[1] && seen[2] && seen[3]);
    }
    CU_ASSERT_STRING_EQUAL(ll_head_kind_name(LL_HEAD_SPATIAL), "spatial");
    CU_ASSERT_STRING_EQUAL(ll_head_kind_name(LL_HEAD_TEMPORAL), "temporal");
    CU_ASSERT_STRING_EQUAL(ll_head_kind_name(LL_HEAD_SINK), "sink");
    CU_ASSERT_STRING_EQUAL(ll_head_kind_name(LL_HEAD_DIFFUSE), "diffuse");
}

// The characters show in the attention: at the last step a sink head puts
// more mass on frame 0 than a spatial head, and a diffuse head's rows have
// the highest entropy.
static void test_head_characters(void) {
    ll_synth_config c = preset("tiny");
    c.H = 8;
    int N = ll_synth_tokens(&c), per_frame = c.height * c.width, qt = ll_ceil_div(N, 32);
    ll_tile_map map = {0};
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&map, c.B, c.H, qt, qt, &err), LL_OK);
    float *probs = probabilities(&c, c.steps - 1, 0, &map, 32);
    double frame0[8], ent[8];
    for (int h = 0; h < 8; h++) {
        double m = 0;
        for (int n = per_frame; n < N; n++)  // queries outside frame 0
            for (int k = 0; k < per_frame; k++) m += probs[((size_t)h * N + n) * N + k];
        frame0[h] = m / (N - per_frame);
        ent[h] = mean_entropy(probs, &c, h);
    }
    int sink = -1, spatial = -1, diffuse = -1;
    for (int h = 0; h < 8; h++) {
        ll_head_kind k = ll_synth_head_kind(&c, 0, h);
        if (k == LL_HEAD_SINK) sink = h;
        if (k == LL_HEAD_SPATIAL && spatial < 0) spatial = h;
        if (k == LL_HEAD_DIFFUSE) diffuse = h;
    }
    CU_ASSERT_TRUE_FATAL(sink >= 0 && spatial >= 0 && diffuse >= 0);
    if (verbose())
        fprintf(stderr, "\n  frame-0 mass: sink %.3f spatial %.3f; entropy: diffuse %.3f spatial %.3f sink %.3f",
                frame0[sink], frame0[spatial], ent[diffuse], ent[spatial], ent[sink]);
    CU_ASSERT_TRUE(frame0[sink] > 2 * frame0[spatial]);
    for (int h = 0; h < 8; h++)
        if (h != diffuse) CU_ASSERT_TRUE(ent[diffuse] > ent[h]);
    free(probs);
    ll_tile_map_free(&map);
}

// ---------------------------------------------------------------------------
// Errors and the CLI

static void test_argument_errors(void) {
    ll_synth_config c;
    ll_error err;
    CU_ASSERT_EQUAL(ll_synth_preset("huge", &c, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'huge'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tiny"));
    CU_ASSERT_EQUAL(ll_synth_preset(NULL, &c, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_synth_validate(NULL, &err), LL_ERR_INVALID);
    const ll_synth_config tiny = preset("tiny");
    struct {
        const char *needle;
        ll_synth_config c;
    } bad[] = {
        {"steps=0", tiny}, {"layers=0", tiny}, {"grid 0x6x8", tiny}, {"grid 4x6x-2", tiny}, {"D=80", tiny},
        {"H=0", tiny},     {"B=5000", tiny},   {"too many tokens", tiny}, {"dtype", tiny},
    };
    bad[0].c.steps = 0;
    bad[1].c.layers = 0;
    bad[2].c.frames = 0;
    bad[3].c.width = -2;
    bad[4].c.D = 80;
    bad[5].c.H = 0;
    bad[6].c.B = 5000;
    bad[7].c.frames = 100000, bad[7].c.height = 100000;
    bad[8].c.dtype = (ll_dtype)9;
    size_t n = ll_shape_elems(&(ll_shape){1, 192, 2, 64, LL_BF16});
    uint16_t *x = malloc(n * 2);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ll_error_clear(&err);
        ll_status s = ll_synth_validate(&bad[i].c, &err);
        CU_ASSERT_EQUAL(s, LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].needle));
        if (s != LL_ERR_INVALID || !strstr(err.msg, bad[i].needle))
            fprintf(stderr, "\n  bad config %zu: status %d '%s'\n", i, s, err.msg);
        CU_ASSERT_EQUAL(ll_synth_generate(&bad[i].c, 0, 0, x, x, x, &err), LL_ERR_INVALID);
    }
    const int calls[][2] = {{-1, 0}, {4, 0}, {0, -1}, {0, 2}};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(ll_synth_generate(&tiny, calls[i][0], calls[i][1], x, x, x, &err), LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "out of range"));
    }
    free(x);
}

// `litelab synth` writes a capture whose every call is the generator's, bit for bit.
static void check_cli_capture(const char *const *args, const char *path, ll_synth_config c) {
    char out[512], errp[512];
    tf_path(out, sizeof out, dir, "out.txt");
    tf_path(errp, sizeof errp, dir, "err.txt");
    int rc = tf_run_cli(args, out, errp);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    ll_capture_reader *r;
    ll_capture_meta m;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_capture_open(path, 0, &r, &m, &err), LL_OK);
    CU_ASSERT_STRING_EQUAL(m.model, "synthetic-video-dit");
    CU_ASSERT_STRING_EQUAL(m.source, "synthetic");
    CU_ASSERT_EQUAL(m.seed, c.seed);
    CU_ASSERT_TRUE(m.shape.B == c.B && m.shape.N == ll_synth_tokens(&c) && m.shape.H == c.H && m.shape.D == c.D &&
                   m.shape.dtype == c.dtype);
    CU_ASSERT_TRUE(m.steps == c.steps && m.layers == c.layers && m.frames == c.frames && m.height == c.height &&
                   m.width == c.width);
    CU_ASSERT_EQUAL(m.softmax_scale, 1.0f / sqrtf((float)c.D));
    qkv want, got;
    qkv_alloc(&want, &c);
    qkv_alloc(&got, &c);
    int same = 0;
    for (int s = 0; s < c.steps; s++)
        for (int l = 0; l < c.layers; l++) {
            CU_ASSERT_EQUAL(generate(&c, s, l, &want), LL_OK);
            CU_ASSERT_EQUAL(ll_capture_read(r, s, l, got.q, got.k, got.v, 1, &err), LL_OK);
            same += qkv_same(&want, &got);
        }
    CU_ASSERT_EQUAL(same, c.steps * c.layers);
    qkv_free(&want);
    qkv_free(&got);
    ll_capture_close_reader(r);
    CU_ASSERT_EQUAL(ll_capture_validate_file(path, 0, NULL, &err), LL_OK);
}

static void test_cli_writes_capture(void) {
    char path[512];
    tf_path(path, sizeof path, dir, "synth.h5");
    const char *tiny[] = {"synth", "--preset", "tiny", "--seed", "5", "-o", path, "--quiet", NULL};
    ll_synth_config c = preset("tiny");
    c.seed = 5;
    check_cli_capture(tiny, path, c);
    unlink(path);
    const char *custom[] = {"synth", "-p", "tiny", "--steps", "2", "--layers", "3", "--heads", "3", "--dim", "96",
                            "--grid", "3x5x7", "--dtype", "fp16", "--batch", "2", "-o", path, "-q", NULL};
    c.seed = 1;  // the default
    c.steps = 2, c.layers = 3, c.H = 3, c.D = 96, c.frames = 3, c.height = 5, c.width = 7, c.dtype = LL_FP16, c.B = 2;
    check_cli_capture(custom, path, c);
    unlink(path);
}

int register_synth_suite(void) {
    CU_pSuite s = CU_add_suite("synth", suite_init, suite_clean);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "presets as documented", test_presets) ||
        !CU_add_test(s, "same seed same bits, other seed other bits", test_determinism) ||
        !CU_add_test(s, "1 and 2 threads give the same bits", test_thread_count) ||
        !CU_add_test(s, "any call alone equals it in sequence", test_alone_equals_sequence) ||
        !CU_add_test(s, "finite words in bf16 and fp16", test_finite) ||
        !CU_add_test(s, "attention sharpens over the steps", test_sharpens) ||
        !CU_add_test(s, "negligible tiles persist from step to step", test_negligible_tiles_persist) ||
        !CU_add_test(s, "head characters: a fixed mix", test_head_kinds) ||
        !CU_add_test(s, "head characters show in the attention", test_head_characters) ||
        !CU_add_test(s, "argument errors rejected", test_argument_errors) ||
        !CU_add_test(s, "litelab synth writes the generator's capture", test_cli_writes_capture))
        return CU_get_error();
    return CUE_SUCCESS;
}
