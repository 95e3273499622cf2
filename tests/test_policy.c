// test_policy.c: each policy's decisions on small cases, driven through the
// CPU backend on inputs whose attention is local (so negligible tiles exist):
// lite skips accumulate and never shrink; warmup is dense for k steps;
// refresh resets every R; static freezes; dynamic probes then replays; the
// oracle equals the thresholded dense map; windows keep the diagonal.
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "dtype.h"
#include "policy.h"
#include "rng.h"
#include "skip_mask.h"
#include "test_suites.h"
#include "tile_overrides.h"

// 256 tokens on a 4 x 8 x 8 grid, 2 heads, D = 64, 32 x 32 tiles: 8 x 8 tiles.
enum { N_TOK = 256, FRAMES = 4, HEIGHT = 8, WIDTH = 8, HEADS = 2, DIM = 64, TILE = 32, KT = N_TOK / TILE };

typedef struct {
    ll_shape shape;
    ll_tiling tiling;
    ll_backend *be;
    uint16_t *q, *k, *v;
    ll_tile_map map;
    ll_attn_params params;
} fixture;

// Q and K share a positional code whose dot product peaks at equal
// positions, so far tiles are negligible; a step-dependent noise moves the
// scores a little from step to step, as denoising does.
static void fill_inputs(fixture *f, int step, int layer) {
    for (int n = 0; n < N_TOK; n++)
        for (int h = 0; h < HEADS; h++)
            for (int d = 0; d < DIM; d++) {
                size_t i = ((size_t)n * HEADS + h) * DIM + d;
                double w = pow(0.5, (d / 2) * 8.0 / DIM) * 0.6;
                double code = 2.0 * ((d & 1) ? sin(n * w) : cos(n * w));
                float nq = ll_normal(ll_hash4(11 + step, layer, i, 1)) * 0.3f;
                float nk = ll_normal(ll_hash4(11 + step, layer, i, 2)) * 0.3f;
                f->q[i] = ll_float_to_bf16((float)code + nq);
                f->k[i] = ll_float_to_bf16((float)code + nk);
                f->v[i] = ll_float_to_bf16(ll_normal(ll_hash4(5, layer, i, 3)));
            }
}

static void fixture_init(fixture *f) {
    memset(f, 0, sizeof *f);
    f->shape = (ll_shape){1, N_TOK, HEADS, DIM, LL_BF16};
    f->tiling = (ll_tiling){TILE, TILE};
    ll_backend_options o = {.want = LL_BACKEND_CPU, .tiling_mode = 2, .tiling = f->tiling};
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_backend_create(&o, &f->shape, &f->be, &err), LL_OK);
    size_t n = ll_shape_elems(&f->shape);
    f->q = malloc(n * 2);
    f->k = malloc(n * 2);
    f->v = malloc(n * 2);
    CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&f->map, 1, HEADS, KT, KT, &err), LL_OK);
    f->params = (ll_attn_params){.shape = f->shape, .tiling = f->tiling, .threshold = -INFINITY};
}

static void fixture_free(fixture *f) {
    ll_backend_destroy(f->be);
    free(f->q);
    free(f->k);
    free(f->v);
    ll_tile_map_free(&f->map);
}

static void load(fixture *f, int step, int layer) {
    ll_error err;
    fill_inputs(f, step, layer);
    CU_ASSERT_EQUAL_FATAL(ll_backend_set_inputs(f->be, f->q, f->k, f->v, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(ll_backend_tile_map(f->be, &f->params, &f->map, &err), LL_OK);
}

static ll_policy_setup setup_for(const fixture *f, int steps, int layers, const uint8_t *flags) {
    ll_policy_setup s = {.shape = f->shape, .tiling = f->tiling, .steps = steps, .layers = layers,
                         .frames = FRAMES, .height = HEIGHT, .width = WIDTH, .encoding = LL_END_EXCLUSIVE,
                         .key_tile_flags = flags};
    return s;
}

static void make_policy(const char *json, const ll_policy_setup *s, ll_policy *p) {
    cJSON *obj = cJSON_Parse(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
    ll_error err;
    ll_error_clear(&err);
    ll_status st = ll_policy_create(obj, "test", s, p, &err);
    if (st != LL_OK) fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, LL_OK);
    cJSON_Delete(obj);
}

// Runs one (step, layer) of a policy: its passes on the backend. *last is
// the measured (last) call; *passes how many passes ran.
static void run_call(fixture *f, ll_policy *p, int step, int layer, ll_policy_call *last, int *passes) {
    ll_policy_ctx ctx = {.step = step, .layer = layer, .pass = 0, .dense_map = &f->map};
    ll_error err;
    int again;
    do {
        CU_ASSERT_EQUAL_FATAL(ll_policy_decide(p, &ctx, last, &err), LL_OK);
        ll_attn_params prm = f->params;
        prm.threshold = last->write ? last->threshold : -INFINITY;
        ll_backend_timing t;
        CU_ASSERT_EQUAL_FATAL(ll_backend_forward(f->be, &prm, last->read, last->write, &t, &err), LL_OK);
        CU_ASSERT_EQUAL_FATAL(ll_policy_after_call(p, &ctx, last, &again, &err), LL_OK);
        ctx.pass++;
    } while (again && ctx.pass < 8);
    if (passes) *passes = ctx.pass;
}

// keep[b=0, h, qt, kt] of a list (NULL: dense, all kept) into out[HEADS*KT*KT].
static void list_keep(const ll_skip_list *l, uint8_t *out) {
    for (int h = 0; h < HEADS; h++)
        for (int qt = 0; qt < KT; qt++) {
            uint8_t *row = out + ((size_t)h * KT + qt) * KT;
            if (!l) memset(row, 1, KT);
            else ll_skip_list_row_to_keep(ll_skip_list_row(l, 0, h, qt), KT, l->encoding, row);
        }
}

static int count_skipped(const uint8_t *keep) {
    int n = 0;
    for (int i = 0; i < HEADS * KT * KT; i++) n += !keep[i];
    return n;
}

// ---------------------------------------------------------------------------

static void test_registry(void) {
    CU_ASSERT_EQUAL(ll_policy_kind_count(), 10);
    const char *kinds[] = {"dense", "lite", "lite_schedule", "warmup", "refresh", "static", "dynamic",
                           "oracle", "window", "radial"};
    for (int i = 0; i < 10; i++) {
        const ll_policy_ops *ops = ll_policy_find(kinds[i]);
        CU_ASSERT_PTR_NOT_NULL(ops);
        if (ops) CU_ASSERT_PTR_NOT_NULL(ops->summary);
    }
    CU_ASSERT_PTR_NULL(ll_policy_find("nope"));
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 4, 1, NULL);
    ll_policy p;
    make_policy("{\"name\": \"l8\", \"kind\": \"lite\", \"threshold\": -8}", &s, &p);
    ll_trace_policy d = ll_policy_describe(&p);
    CU_ASSERT_STRING_EQUAL(d.name, "l8");
    CU_ASSERT_STRING_EQUAL(d.kind, "lite");
    CU_ASSERT_STRING_EQUAL(d.params_json, "{\"threshold\":-8}");
    ll_policy_destroy(&p);
    // A window policy needs the token grid.
    s.frames = 0;
    cJSON *obj = cJSON_Parse("{\"name\": \"w\", \"kind\": \"window\", \"frame_window\": 1, \"height_window\": 1, "
                             "\"width_window\": 1}");
    ll_error err;
    CU_ASSERT_EQUAL(ll_policy_create(obj, "exp.json: policies[0]", &s, &p, &err), LL_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "grid"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "policies[0] (w)"));
    cJSON_Delete(obj);
    fixture_free(&f);
}

static void test_dense(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 2, 1, NULL);
    ll_policy p;
    make_policy("{\"name\": \"d\", \"kind\": \"dense\"}", &s, &p);
    ll_error err;
    load(&f, 0, 0);
    CU_ASSERT_EQUAL(ll_policy_begin_step(&p, 0, &err), LL_OK);
    ll_policy_call c;
    int passes;
    run_call(&f, &p, 0, 0, &c, &passes);
    CU_ASSERT_PTR_NULL(c.read);
    CU_ASSERT_PTR_NULL(c.write);
    CU_ASSERT_TRUE(isnan(c.threshold));
    CU_ASSERT_EQUAL(passes, 1);
    CU_ASSERT_PTR_NULL(ll_policy_checkpoint(&p, 0));
    ll_policy_destroy(&p);
    fixture_free(&f);
}

// Lite: step 0 reads the full list; the skipped set of each layer only
// grows. Under both list encodings (the production reading computes the
// first tile of every skipped run again, yet never brings a skip back).
static void lite_accumulates(ll_list_encoding enc) {
    fixture f;
    fixture_init(&f);
    enum { STEPS = 5, LAYERS = 2 };
    ll_policy_setup s = setup_for(&f, STEPS, LAYERS, NULL);
    s.encoding = enc;
    ll_policy p;
    make_policy("{\"name\": \"l\", \"kind\": \"lite\", \"threshold\": -8}", &s, &p);
    uint8_t prev[LAYERS][HEADS * KT * KT], cur[HEADS * KT * KT], wrote[HEADS * KT * KT];
    ll_error err;
    int grew = 0;
    for (int step = 0; step < STEPS; step++) {
        CU_ASSERT_EQUAL(ll_policy_begin_step(&p, step, &err), LL_OK);
        for (int l = 0; l < LAYERS; l++) {
            load(&f, step, l);
            ll_policy_call c;
            run_call(&f, &p, step, l, &c, NULL);
            CU_ASSERT_PTR_NOT_NULL_FATAL(c.read);
            CU_ASSERT_PTR_NOT_NULL_FATAL(c.write);
            CU_ASSERT_EQUAL(c.read->encoding, enc);
            CU_ASSERT_EQUAL(c.threshold, -8.0f);
            list_keep(c.read, cur);
            list_keep(c.write, wrote);
            if (step == 0) CU_ASSERT_EQUAL(count_skipped(cur), 0);
            for (int i = 0; i < HEADS * KT * KT; i++) {
                if (step > 0 && !prev[l][i]) CU_ASSERT_EQUAL(cur[i], 0);  // a skip is never undone
                if (!cur[i]) CU_ASSERT_EQUAL(wrote[i], 0);                // what was not read is not written
            }
            if (step > 0 && count_skipped(cur) > count_skipped(prev[l])) grew = 1;
            memcpy(prev[l], cur, sizeof cur);
            // The checkpoint is what the next call of this layer reads: the list just written.
            list_keep(ll_policy_checkpoint(&p, l), cur);
            CU_ASSERT_EQUAL(memcmp(cur, wrote, sizeof cur), 0);
        }
    }
    CU_ASSERT_TRUE(grew);
    CU_ASSERT(count_skipped(prev[0]) > 0);
    CU_ASSERT(count_skipped(prev[0]) < HEADS * KT * KT);
    ll_policy_destroy(&p);
    fixture_free(&f);
}

static void test_lite_accumulates(void) { lite_accumulates(LL_END_EXCLUSIVE); }
static void test_lite_accumulates_production(void) { lite_accumulates(LL_END_INCLUSIVE_PRODUCTION); }

static void test_warmup(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 5, 1, NULL);
    ll_policy p;
    make_policy("{\"name\": \"w\", \"kind\": \"warmup\", \"threshold\": -8, \"warmup_steps\": 2}", &s, &p);
    ll_error err;
    uint8_t keep[HEADS * KT * KT];
    for (int step = 0; step < 5; step++) {
        CU_ASSERT_EQUAL(ll_policy_begin_step(&p, step, &err), LL_OK);
        load(&f, step, 0);
        ll_policy_call c;
        run_call(&f, &p, step, 0, &c, NULL);
        if (step < 2) {
            CU_ASSERT_PTR_NULL(c.read);
            CU_ASSERT_PTR_NULL(c.write);
            CU_ASSERT_TRUE(isnan(c.threshold));
        } else {
            CU_ASSERT_PTR_NOT_NULL_FATAL(c.read);
            CU_ASSERT_PTR_NOT_NULL(c.write);
            list_keep(c.read, keep);
            if (step == 2) CU_ASSERT_EQUAL(count_skipped(keep), 0);  // starts from full lists
            if (step == 4) CU_ASSERT(count_skipped(keep) > 0);
        }
    }
    ll_policy_destroy(&p);
    fixture_free(&f);
}

static void test_refresh(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 6, 1, NULL);
    ll_policy p;
    make_policy("{\"name\": \"r\", \"kind\": \"refresh\", \"threshold\": -8, \"refresh_every\": 2}", &s, &p);
    ll_error err;
    uint8_t keep[HEADS * KT * KT];
    for (int step = 0; step < 6; step++) {
        CU_ASSERT_EQUAL(ll_policy_begin_step(&p, step, &err), LL_OK);
        load(&f, step, 0);
        ll_policy_call c;
        run_call(&f, &p, step, 0, &c, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c.read);
        list_keep(c.read, keep);
        if (step % 2 == 0) CU_ASSERT_EQUAL(count_skipped(keep), 0);  // reset at 0, 2, 4
        if (step % 2 == 1) CU_ASSERT(count_skipped(keep) > 0);      // skips from the step before
    }
    ll_policy_destroy(&p);
    fixture_free(&f);
}

static void test_static_freezes(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 6, 1, NULL);
    ll_policy p;
    make_policy("{\"name\": \"s\", \"kind\": \"static\", \"threshold\": -8, \"profile_steps\": 2}", &s, &p);
    ll_error err;
    uint8_t frozen[HEADS * KT * KT], keep[HEADS * KT * KT];
    for (int step = 0; step < 6; step++) {
        CU_ASSERT_EQUAL(ll_policy_begin_step(&p, step, &err), LL_OK);
        load(&f, step, 0);
        ll_policy_call c;
        run_call(&f, &p, step, 0, &c, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c.read);
        if (step < 2) {
            CU_ASSERT_PTR_NOT_NULL(c.write);  // profiling: LiteAttention
        } else {
            CU_ASSERT_PTR_NULL(c.write);  // frozen: criterion off
            list_keep(c.read, keep);
            if (step == 2) {
                memcpy(frozen, keep, sizeof keep);
                CU_ASSERT(count_skipped(frozen) > 0);
            }
            CU_ASSERT_EQUAL(memcmp(keep, frozen, sizeof keep), 0);
        }
    }
    ll_policy_destroy(&p);
    fixture_free(&f);
}

static void test_dynamic(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 3, 1, NULL);
    ll_policy p;
    make_policy("{\"name\": \"dy\", \"kind\": \"dynamic\", \"threshold\": -8}", &s, &p);
    ll_error err;
    uint8_t keep[HEADS * KT * KT], probe[HEADS * KT * KT];
    for (int step = 0; step < 3; step++) {
        CU_ASSERT_EQUAL(ll_policy_begin_step(&p, step, &err), LL_OK);
        load(&f, step, 0);
        ll_policy_ctx ctx = {.step = step, .layer = 0, .pass = 0, .dense_map = &f.map};
        ll_policy_call c;
        CU_ASSERT_EQUAL(ll_policy_decide(&p, &ctx, &c, &err), LL_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c.read);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c.write);
        list_keep(c.read, keep);
        CU_ASSERT_EQUAL(count_skipped(keep), 0);  // every step starts from the full list
        ll_attn_params prm = f.params;
        prm.threshold = c.threshold;
        ll_backend_timing t;
        CU_ASSERT_EQUAL(ll_backend_forward(f.be, &prm, c.read, c.write, &t, &err), LL_OK);
        list_keep(c.write, probe);
        int again;
        CU_ASSERT_EQUAL(ll_policy_after_call(&p, &ctx, &c, &again, &err), LL_OK);
        CU_ASSERT_EQUAL(again, 1);
        ctx.pass = 1;
        CU_ASSERT_EQUAL(ll_policy_decide(&p, &ctx, &c, &err), LL_OK);
        CU_ASSERT_PTR_NULL(c.write);
        list_keep(c.read, keep);
        CU_ASSERT_EQUAL(memcmp(keep, probe, sizeof keep), 0);  // replays this step's mask
        CU_ASSERT(count_skipped(keep) > 0);
        CU_ASSERT_EQUAL(ll_policy_after_call(&p, &ctx, &c, &again, &err), LL_OK);
        CU_ASSERT_EQUAL(again, 0);
    }
    CU_ASSERT_PTR_NULL(ll_policy_checkpoint(&p, 0));
    ll_policy_destroy(&p);
    fixture_free(&f);
}

static void test_oracle(void) {
    fixture f;
    fixture_init(&f);
    // Key tile 7 (tokens 224..255) is must-skip, key tile 3 holds a must-do token.
    uint8_t flags[KT] = {0};
    ll_token_range skip = {224, 256}, doit = {100, 101};
    ll_overrides ov = {&doit, 1, &skip, 1};
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_key_tile_flags(N_TOK, TILE, &ov, flags, &err), LL_OK);
    ll_policy_setup s = setup_for(&f, 2, 1, flags);
    ll_policy p, all;
    make_policy("{\"name\": \"o\", \"kind\": \"oracle\", \"threshold\": -6}", &s, &p);
    make_policy("{\"name\": \"o2\", \"kind\": \"oracle\", \"threshold\": \"-inf\"}", &s, &all);
    CU_ASSERT_TRUE(p.ops->needs_tile_map);
    uint8_t keep[HEADS * KT * KT];
    int skipped_free = 0;
    for (int step = 0; step < 2; step++) {
        load(&f, step, 0);
        ll_policy_call c;
        run_call(&f, &p, step, 0, &c, NULL);
        CU_ASSERT_PTR_NULL(c.write);
        CU_ASSERT_EQUAL(c.threshold, -6.0f);
        list_keep(c.read, keep);
        for (int h = 0; h < HEADS; h++)
            for (int qt = 0; qt < KT; qt++)
                for (int kt = 0; kt < KT; kt++) {
                    int want = f.map.max_log2[ll_tile_map_index(&f.map, 0, h, qt, kt)] > -6.0f;
                    if (kt == 3) want = 1;
                    if (kt == 7) want = 0;
                    if (kt != 3 && kt != 7 && !want) skipped_free++;
                    CU_ASSERT_EQUAL(keep[((size_t)h * KT + qt) * KT + kt], want);
                }
        run_call(&f, &all, step, 0, &c, NULL);
        list_keep(c.read, keep);
        CU_ASSERT_EQUAL(count_skipped(keep), HEADS * KT);  // only the must-skip column
    }
    CU_ASSERT(skipped_free > 0);
    ll_policy_destroy(&p);
    ll_policy_destroy(&all);
    fixture_free(&f);
}

// Frames hold 64 tokens = 2 key tiles; query tile qt lies in frame qt / 2.
static void test_window(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 1, 1, NULL);
    ll_policy same_frame, near, tight;
    make_policy("{\"name\": \"a\", \"kind\": \"window\", \"frame_window\": 0, \"height_window\": 8, \"width_window\": 8}",
                &s, &same_frame);
    make_policy("{\"name\": \"b\", \"kind\": \"window\", \"frame_window\": 1, \"height_window\": 8, \"width_window\": 8}",
                &s, &near);
    make_policy("{\"name\": \"c\", \"kind\": \"window\", \"frame_window\": 0, \"height_window\": 0, \"width_window\": 0}",
                &s, &tight);
    load(&f, 0, 0);
    uint8_t a[HEADS * KT * KT], b[HEADS * KT * KT], c[HEADS * KT * KT];
    ll_policy_call call;
    run_call(&f, &same_frame, 0, 0, &call, NULL);
    CU_ASSERT_PTR_NULL(call.write);
    list_keep(call.read, a);
    run_call(&f, &near, 0, 0, &call, NULL);
    list_keep(call.read, b);
    run_call(&f, &tight, 0, 0, &call, NULL);
    list_keep(call.read, c);
    for (int h = 0; h < HEADS; h++)
        for (int qt = 0; qt < KT; qt++)
            for (int kt = 0; kt < KT; kt++) {
                size_t i = ((size_t)h * KT + qt) * KT + kt;
                int df = abs(qt / 2 - kt / 2);
                CU_ASSERT_EQUAL(a[i], df == 0);
                CU_ASSERT_EQUAL(b[i], df <= 1);
                CU_ASSERT_EQUAL(c[i], qt == kt);  // a zero window keeps exactly the diagonal
            }
    ll_policy_destroy(&same_frame);
    ll_policy_destroy(&near);
    ll_policy_destroy(&tight);
    fixture_free(&f);
}

// Frames of S = 64 tokens (two key tiles each: in-frame tokens 0..31 and
// 32..63). With decay 0.01 every band beyond the dense frames is
// floor(0.64 / 2^k) = 0 tokens: only the same in-frame positions.
static void test_radial(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 1, 1, NULL);
    ll_policy p, nosink;
    make_policy("{\"name\": \"r\", \"kind\": \"radial\", \"dense_frames\": 1, \"decay\": 0.01}", &s, &p);
    make_policy("{\"name\": \"r2\", \"kind\": \"radial\", \"dense_frames\": 0, \"decay\": 0.01, \"sink_frame\": false}",
                &s, &nosink);
    load(&f, 0, 0);
    uint8_t k1[HEADS * KT * KT], k2[HEADS * KT * KT];
    ll_policy_call call;
    run_call(&f, &p, 0, 0, &call, NULL);
    CU_ASSERT_PTR_NULL(call.write);
    list_keep(call.read, k1);
    run_call(&f, &nosink, 0, 0, &call, NULL);
    list_keep(call.read, k2);
    for (int h = 0; h < HEADS; h++)
        for (int qt = 0; qt < KT; qt++) {
            const uint8_t *r1 = k1 + ((size_t)h * KT + qt) * KT, *r2 = k2 + ((size_t)h * KT + qt) * KT;
            CU_ASSERT_EQUAL(r1[qt], 1);  // diagonal
            CU_ASSERT_EQUAL(r2[qt], 1);
            CU_ASSERT_EQUAL(r1[0], 1);  // frame 0 is the sink
            CU_ASSERT_EQUAL(r1[1], 1);
            for (int kt = 0; kt < KT; kt++) {
                int d = abs(qt / 2 - kt / 2), same_pos = qt % 2 == kt % 2;
                CU_ASSERT_EQUAL(r1[kt], d <= 1 || kt / 2 == 0 || same_pos);
                CU_ASSERT_EQUAL(r2[kt], d == 0 || same_pos);
            }
        }
    ll_policy_destroy(&p);
    ll_policy_destroy(&nosink);
    fixture_free(&f);
}

static void test_schedule(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 3, 1, NULL);
    cJSON *obj = cJSON_Parse("{\"name\": \"s\", \"kind\": \"lite_schedule\", \"thresholds\": [-12, -6]}");
    ll_policy p;
    ll_error err;
    CU_ASSERT_EQUAL(ll_policy_create(obj, "exp.json: policies[0]", &s, &p, &err), LL_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "thresholds"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "3 steps"));
    cJSON_Delete(obj);
    make_policy("{\"name\": \"s\", \"kind\": \"lite_schedule\", \"thresholds\": [-12, -6, \"-inf\"]}", &s, &p);
    const float want[3] = {-12.0f, -6.0f, -INFINITY};
    for (int step = 0; step < 3; step++) {
        CU_ASSERT_EQUAL(ll_policy_begin_step(&p, step, &err), LL_OK);
        load(&f, step, 0);
        ll_policy_call c;
        run_call(&f, &p, step, 0, &c, NULL);
        CU_ASSERT_EQUAL(c.threshold, want[step]);
    }
    ll_policy_destroy(&p);
    fixture_free(&f);
}

// A policy restored from a checkpoint decides exactly as the original does.
static void test_restore(void) {
    fixture f;
    fixture_init(&f);
    ll_policy_setup s = setup_for(&f, 5, 2, NULL);
    const char *json = "{\"name\": \"l\", \"kind\": \"refresh\", \"threshold\": -8, \"refresh_every\": 4}";
    ll_policy a, b;
    make_policy(json, &s, &a);
    make_policy(json, &s, &b);
    ll_error err;
    for (int step = 0; step < 3; step++) {
        CU_ASSERT_EQUAL(ll_policy_begin_step(&a, step, &err), LL_OK);
        for (int l = 0; l < 2; l++) {
            load(&f, step, l);
            ll_policy_call c;
            run_call(&f, &a, step, l, &c, NULL);
        }
    }
    for (int l = 0; l < 2; l++) CU_ASSERT_EQUAL(ll_policy_restore(&b, l, ll_policy_checkpoint(&a, l), &err), LL_OK);
    uint8_t ka[HEADS * KT * KT], kb[HEADS * KT * KT];
    for (int step = 3; step < 5; step++) {
        CU_ASSERT_EQUAL(ll_policy_begin_step(&a, step, &err), LL_OK);
        CU_ASSERT_EQUAL(ll_policy_begin_step(&b, step, &err), LL_OK);
        for (int l = 0; l < 2; l++) {
            load(&f, step, l);
            ll_policy_call ca, cb;
            run_call(&f, &a, step, l, &ca, NULL);
            list_keep(ca.read, ka);
            run_call(&f, &b, step, l, &cb, NULL);
            list_keep(cb.read, kb);
            CU_ASSERT_EQUAL(memcmp(ka, kb, sizeof ka), 0);
            if (step == 3) CU_ASSERT(count_skipped(ka) > 0);
        }
    }
    // A checkpoint of other dimensions is refused.
    ll_skip_list wrong;
    CU_ASSERT_EQUAL_FATAL(ll_skip_list_alloc(&wrong, 1, HEADS, KT, KT + 1, LL_END_EXCLUSIVE, &err), LL_OK);
    ll_skip_list_fill_full(&wrong);
    CU_ASSERT_NOT_EQUAL(ll_policy_restore(&b, 0, &wrong, &err), LL_OK);
    ll_skip_list_free(&wrong);
    ll_policy_destroy(&a);
    ll_policy_destroy(&b);
    fixture_free(&f);
}

int register_policy_suite(void) {
    CU_pSuite s = CU_add_suite("policy", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "registry, description, grid check", test_registry) || !CU_add_test(s, "dense", test_dense) ||
        !CU_add_test(s, "lite: skips accumulate, never shrink", test_lite_accumulates) ||
        !CU_add_test(s, "lite, production encoding: skips accumulate", test_lite_accumulates_production) ||
        !CU_add_test(s, "warmup: dense for k steps", test_warmup) ||
        !CU_add_test(s, "refresh: reset every R steps", test_refresh) ||
        !CU_add_test(s, "static: mask frozen after profiling", test_static_freezes) ||
        !CU_add_test(s, "dynamic: probe then replay, no propagation", test_dynamic) ||
        !CU_add_test(s, "oracle equals the thresholded map", test_oracle) ||
        !CU_add_test(s, "window keeps the diagonal and its frames", test_window) ||
        !CU_add_test(s, "radial: sink, dense neighbours, narrowing band", test_radial) ||
        !CU_add_test(s, "lite_schedule: one threshold per step", test_schedule) ||
        !CU_add_test(s, "restore from a checkpoint", test_restore))
        return CU_get_error();
    return CUE_SUCCESS;
}
