// test_trace.c: the HDF5 experiment trace (traces/trace.h): round trip of
// metadata, provenance, policies, call rows, skip masks, tile maps and
// checkpoints; the writer's argument checks; crash safety (a trace abandoned
// or killed midway is readable, marked incomplete, holds every finished step
// and nothing of the unfinished one; resuming it gives the rows of an
// uninterrupted run; nothing half-written ever sits at the final path); the
// validator on corrupted rows, maps, masks, checkpoints (invalid skip lists)
// and attributes; and a fuzz of the reader and validator with a fixed seed:
// damaged copies of a small trace must be read or refused with a message,
// never crash, hang or leave files open. Damage is made through the HDF5 API
// directly (tests/test_files.h).
#include <CUnit/CUnit.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flops.h"
#include "test_files.h"
#include "test_suites.h"
#include "test_util.h"
#include "trace.h"

enum { STEPS = 4, LAYERS = 2, N_POL = 3 };

static char dir[128];
static const char *CONFIG = "{\"name\": \"trace-test\", \"policies\": [{\"name\": \"dense\", \"kind\": \"dense\"}]}";

static void path_of(char *out, size_t len, const char *name) { tf_path(out, len, dir, name); }

static int suite_init(void) {
    tf_h5_quiet();
    return tf_dir_make(dir, sizeof dir, "trace");
}

static int suite_clean(void) { return tf_dir_remove(dir); }

// ---------------------------------------------------------------------------
// What the test traces hold: [1, 100, 2, 64] bf16 on 32x32 tiles (4 x 4 tiles,
// the last ones partial), 4 steps x 2 layers, three policies.

static ll_trace_meta meta_small(void) {
    ll_trace_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.backend, sizeof m.backend, "cpu");
    snprintf(m.kernel, sizeof m.kernel, "cpu-reference");
    snprintf(m.cuda_version, sizeof m.cuda_version, "12.4");
    m.sm_clock_mhz = 1980;
    m.mem_clock_mhz = 2619;
    snprintf(m.counters_status, sizeof m.counters_status, "unavailable: test");
    m.config_json = CONFIG;
    snprintf(m.experiment, sizeof m.experiment, "trace-test");
    snprintf(m.trajectory, sizeof m.trajectory, "synthetic preset=tiny seed=1");
    m.shape = (ll_shape){1, 100, 2, 64, LL_BF16};
    m.steps = STEPS;
    m.layers = LAYERS;
    m.frames = 1;
    m.height = 10;
    m.width = 10;
    m.tiling = (ll_tiling){32, 32};
    m.encoding = LL_END_EXCLUSIVE;
    m.softmax_scale = 0.125f;
    return m;
}

static const ll_trace_policy POLICIES[N_POL] = {
    {"dense", "dense", "{}"},
    {"lite_t-5", "lite", "{\"threshold\": -5}"},
    {"orc", "oracle", "{\"threshold\": -5}"},
};

// The list policy p reads at (step, layer): full for dense, else random.
static void list_of(ll_skip_list *l, int p, int step, int layer) {
    if (p == 0) ll_skip_list_fill_full(l);
    else tu_random_list(l, ll_hash4(99, (uint64_t)p, (uint64_t)step, (uint64_t)layer));
}

// FLOPs of head h of a list (a [B=1, H=1] view of its rows).
static void head_flops(const ll_trace_meta *m, const ll_skip_list *l, int h, ll_flops *f) {
    ll_shape one = m->shape;
    one.H = 1;
    ll_skip_list view = *l;
    view.H = 1;
    view.data = ll_skip_list_row(l, 0, h, 0);
    ll_error err;
    CU_ASSERT_EQUAL(ll_flops_from_list(&one, &m->tiling, &view, f, &err), LL_OK);
}

// The rows of one (policy, step, layer): the layer's, and for policy 1 one per head.
static int rows_of(const ll_trace_meta *m, int p, int step, int layer, const ll_skip_list *l, ll_trace_call *out) {
    ll_flops f;
    ll_error err;
    CU_ASSERT_EQUAL(ll_flops_from_list(&m->shape, &m->tiling, l, &f, &err), LL_OK);
    ll_trace_call c = {
        .policy = p, .step = step, .layer = layer, .head = -1, .threshold = p ? -5.0f : NAN, .gpu_ms = NAN,
        .host_ms = 1.5 + p + 0.1 * step, .n_kernels = 1, .tiles_total = f.tiles_total, .tiles_kept = f.tiles_kept,
        .flops_dense = f.dense, .flops_executed = f.executed, .tensor_work_ratio = NAN, .rel_l2 = 0.01 * step,
        .max_abs = 0.25, .cosine = 0.999, .worst_row_rel_l2 = 0.05, .skipped_mass = 0.001 * layer,
    };
    int n = 0;
    out[n++] = c;
    for (int h = 0; p == 1 && h < m->shape.H; h++) {
        head_flops(m, l, h, &f);
        ll_trace_call hc = c;
        hc.head = h;
        hc.host_ms = NAN;
        hc.n_kernels = 0;
        hc.tiles_total = f.tiles_total;
        hc.tiles_kept = f.tiles_kept;
        hc.flops_dense = f.dense;
        hc.flops_executed = f.executed;
        hc.rel_l2 = 0.02 * h;
        out[n++] = hc;
    }
    return n;
}

// Tile map of (step, layer) recorded at steps 0 and 3 of layer 0: values
// that survive a float round trip exactly.
static int has_map(int step, int layer) { return layer == 0 && (step == 0 || step == 3); }
static int has_mask(int p, int layer) { return p > 0 && layer == 1; }

static void map_of(ll_tile_map *m, int step, int layer) {
    size_t n = (size_t)m->B * m->H * m->q_tiles * m->k_tiles;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = ll_hash4(5, (uint64_t)step, (uint64_t)layer, i);
        m->max_log2[i] = -(float)(h % 4000) / 128.0f;
        m->mass[i] = (float)((h >> 20) % 1025) / 1024.0f;
    }
}

typedef enum { END_FINISH, END_ABANDON, END_KILL } trace_end;

typedef struct {
    ll_skip_list list;
    ll_skip_mask mask;
    ll_tile_map map;
} scratch;

static void scratch_alloc(scratch *s, const ll_trace_meta *m) {
    int qt = ll_q_tiles(&m->shape, &m->tiling), kt = ll_k_tiles(&m->shape, &m->tiling);
    ll_error err;
    memset(s, 0, sizeof *s);
    CU_ASSERT_EQUAL(ll_skip_list_alloc(&s->list, m->shape.B, m->shape.H, qt, kt, m->encoding, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_skip_mask_alloc(&s->mask, m->shape.B, m->shape.H, qt, kt, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_tile_map_alloc(&s->map, m->shape.B, m->shape.H, qt, kt, &err), LL_OK);
}

static void scratch_free(scratch *s) {
    ll_skip_list_free(&s->list);
    ll_skip_mask_free(&s->mask);
    ll_tile_map_free(&s->map);
}

// Everything of one step: rows, masks, maps, checkpoints (the list each
// policy reads next); ends the step when `end`. 0 on success.
static int write_step(ll_trace_writer *w, const ll_trace_meta *m, scratch *s, int step, int end) {
    ll_error err;
    ll_trace_call rows[8];
    for (int l = 0; l < LAYERS; l++) {
        if (has_map(step, l)) {
            map_of(&s->map, step, l);
            if (ll_trace_add_map(w, step, l, &s->map, &err) != LL_OK) return -1;
        }
        for (int p = 0; p < N_POL; p++) {
            list_of(&s->list, p, step, l);
            int n = rows_of(m, p, step, l, &s->list, rows);
            for (int i = 0; i < n; i++)
                if (ll_trace_add_call(w, &rows[i], &err) != LL_OK) return -1;
            if (has_mask(p, l)) {
                if (ll_skip_mask_from_list(&s->mask, &s->list, &err) != LL_OK ||
                    ll_trace_add_mask(w, p, step, l, &s->mask, &err) != LL_OK)
                    return -1;
            }
        }
    }
    for (int p = 1; p < N_POL; p++)
        for (int l = 0; l < LAYERS; l++) {
            list_of(&s->list, p, step + 1, l);
            if (ll_trace_save_state(w, p, l, &s->list, &err) != LL_OK) return -1;
        }
    if (end && ll_trace_end_step(w, step, &err) != LL_OK) {
        fprintf(stderr, "\n  %s\n", err.msg);
        return -1;
    }
    return 0;
}

// Writes `durable` whole steps, then (when partial_step) rows, masks, maps
// and checkpoints of the next step without ending it, and ends as asked.
// END_KILL runs in a child that SIGKILLs itself; returns 0 on success.
static int write_trace(const char *path, int durable, int partial_step, trace_end how) {
    if (how == END_KILL) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0) {
            tf_child_setup();
            if (write_trace(path, durable, partial_step, END_ABANDON) == 0) kill(getpid(), SIGKILL);
            _exit(1);
        }
        int status;
        if (waitpid(pid, &status, 0) != pid) return -1;
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
    }
    ll_trace_meta m = meta_small();
    ll_trace_writer *w;
    ll_error err;
    if (ll_trace_create(path, &m, POLICIES, N_POL, &w, &err) != LL_OK) {
        fprintf(stderr, "\n  %s\n", err.msg);
        return -1;
    }
    scratch s;
    scratch_alloc(&s, &m);
    int r = 0;
    for (int step = 0; r == 0 && step < durable; step++) r = write_step(w, &m, &s, step, 1);
    if (r == 0 && partial_step && durable < STEPS) r = write_step(w, &m, &s, durable, 0);
    scratch_free(&s);
    if (how == END_FINISH && r == 0) {
        if (ll_trace_finish(w, &err) != LL_OK) {
            fprintf(stderr, "\n  %s\n", err.msg);
            return -1;
        }
        return 0;
    }
    ll_trace_abandon(w);
    return r;
}

static int same_double(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

static int same_row(const ll_trace_call *a, const ll_trace_call *b) {
    return a->policy == b->policy && a->step == b->step && a->layer == b->layer && a->head == b->head &&
           same_double(a->threshold, b->threshold) && same_double(a->gpu_ms, b->gpu_ms) &&
           same_double(a->host_ms, b->host_ms) && a->n_kernels == b->n_kernels && a->tiles_total == b->tiles_total &&
           a->tiles_kept == b->tiles_kept && a->flops_dense == b->flops_dense &&
           a->flops_executed == b->flops_executed && same_double(a->tensor_work_ratio, b->tensor_work_ratio) &&
           same_double(a->rel_l2, b->rel_l2) && same_double(a->max_abs, b->max_abs) &&
           same_double(a->cosine, b->cosine) && same_double(a->worst_row_rel_l2, b->worst_row_rel_l2) &&
           same_double(a->skipped_mass, b->skipped_mass);
}

// Same rows: the length and the entries it covers (the rest of a row is unused).
static int same_list(const ll_skip_list *a, const ll_skip_list *b) {
    for (size_t r = 0; r < ll_skip_list_rows(a); r++) {
        const int32_t *x = a->data + r * (size_t)(a->k_tiles + 1), *y = b->data + r * (size_t)(b->k_tiles + 1);
        if (x[0] != y[0] || x[0] < 0 || x[0] > a->k_tiles || memcmp(x + 1, y + 1, sizeof(int32_t) * (size_t)x[0]))
            return 0;
    }
    return 1;
}

// Checks a trace holds exactly the first `steps` steps as write_step makes them.
static void check_contents(const char *path, int allow_partial, int steps, int complete) {
    ll_trace_reader *r;
    ll_trace_meta m, want = meta_small();
    ll_error err;
    ll_error_clear(&err);
    ll_status st = ll_trace_open(path, allow_partial, &r, &m, &err);
    if (st != LL_OK) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, LL_OK);
    CU_ASSERT_EQUAL(m.complete, complete);
    CU_ASSERT_EQUAL(m.steps_done, steps);
    CU_ASSERT_STRING_EQUAL(m.backend, want.backend);
    CU_ASSERT_STRING_EQUAL(m.kernel, want.kernel);
    CU_ASSERT_STRING_EQUAL(m.gpu_name, "");
    CU_ASSERT_STRING_EQUAL(m.cuda_version, "12.4");
    CU_ASSERT_TRUE(m.sm_clock_mhz == 1980 && m.mem_clock_mhz == 2619);
    CU_ASSERT_STRING_EQUAL(m.counters_status, want.counters_status);
    CU_ASSERT_STRING_EQUAL(m.experiment, want.experiment);
    CU_ASSERT_STRING_EQUAL(m.trajectory, want.trajectory);
    CU_ASSERT_TRUE(m.shape.B == 1 && m.shape.N == 100 && m.shape.H == 2 && m.shape.D == 64 && m.shape.dtype == LL_BF16);
    CU_ASSERT_TRUE(m.steps == STEPS && m.layers == LAYERS && m.frames == 1 && m.height == 10 && m.width == 10);
    CU_ASSERT_TRUE(m.tiling.block_m == 32 && m.tiling.block_n == 32 && m.encoding == LL_END_EXCLUSIVE);
    CU_ASSERT_EQUAL(m.softmax_scale, 0.125f);
    CU_ASSERT_STRING_EQUAL(m.toolkit_version, LITELAB_VERSION);
    CU_ASSERT_TRUE(m.git_commit[0] != '\0' && m.created[0] != '\0');
    CU_ASSERT_STRING_EQUAL(ll_trace_config_json(r), CONFIG);

    ll_trace_policy *pol;
    int np;
    CU_ASSERT_EQUAL_FATAL(ll_trace_read_policies(r, &pol, &np, &err), LL_OK);
    CU_ASSERT_EQUAL(np, N_POL);
    for (int i = 0; i < np && i < N_POL; i++)
        CU_ASSERT_TRUE(!strcmp(pol[i].name, POLICIES[i].name) && !strcmp(pol[i].kind, POLICIES[i].kind) &&
                       !strcmp(pol[i].params_json, POLICIES[i].params_json));
    free(pol);

    // Rows in the order written.
    ll_trace_call *rows;
    size_t n;
    CU_ASSERT_EQUAL_FATAL(ll_trace_read_calls(r, &rows, &n, &err), LL_OK);
    scratch s;
    scratch_alloc(&s, &m);
    size_t k = 0, same = 0;
    ll_trace_call want_rows[8];
    for (int step = 0; step < steps; step++)
        for (int l = 0; l < LAYERS; l++)
            for (int p = 0; p < N_POL; p++) {
                list_of(&s.list, p, step, l);
                int c = rows_of(&m, p, step, l, &s.list, want_rows);
                for (int i = 0; i < c; i++, k++) same += k < n && same_row(&rows[k], &want_rows[i]);
            }
    CU_ASSERT_EQUAL(n, k);
    CU_ASSERT_EQUAL(same, k);
    free(rows);

    // Masks: policies 1 and 2 at layer 1, every durable step, bit for bit.
    int *t, nt;
    CU_ASSERT_EQUAL_FATAL(ll_trace_list_masks(r, &t, &nt, &err), LL_OK);
    CU_ASSERT_EQUAL(nt, 2 * steps);
    for (int i = 0; i < nt; i++) {
        int p = t[3 * i], step = t[3 * i + 1], l = t[3 * i + 2];
        CU_ASSERT_TRUE(has_mask(p, l) && step < steps);
        ll_skip_mask got = {0};
        CU_ASSERT_EQUAL_FATAL(ll_trace_read_mask(r, p, step, l, &got, &err), LL_OK);
        list_of(&s.list, p, step, l);
        CU_ASSERT_EQUAL(ll_skip_mask_from_list(&s.mask, &s.list, &err), LL_OK);
        CU_ASSERT_EQUAL(memcmp(got.bits, s.mask.bits, ll_skip_list_rows(&s.list) * (size_t)got.words_per_row * 8), 0);
        ll_skip_mask_free(&got);
    }
    free(t);
    CU_ASSERT_EQUAL(ll_trace_read_mask(r, 0, 0, 1, &s.mask, &err), LL_ERR_INVALID);  // dense recorded none
    // Maps: (0, 0) and (3, 0) where durable.
    int *pairs, npairs;
    CU_ASSERT_EQUAL_FATAL(ll_trace_list_maps(r, &pairs, &npairs, &err), LL_OK);
    CU_ASSERT_EQUAL(npairs, (steps > 0) + (steps > 3));
    for (int i = 0; i < npairs; i++) {
        CU_ASSERT_TRUE(has_map(pairs[2 * i], pairs[2 * i + 1]));
        ll_tile_map got = {0};
        CU_ASSERT_EQUAL_FATAL(ll_trace_read_map(r, pairs[2 * i], pairs[2 * i + 1], &got, &err), LL_OK);
        map_of(&s.map, pairs[2 * i], pairs[2 * i + 1]);
        size_t cells = (size_t)got.B * got.H * got.q_tiles * got.k_tiles;
        CU_ASSERT_EQUAL(memcmp(got.max_log2, s.map.max_log2, cells * 4), 0);
        CU_ASSERT_EQUAL(memcmp(got.mass, s.map.mass, cells * 4), 0);
        ll_tile_map_free(&got);
    }
    free(pairs);
    scratch_free(&s);
    ll_trace_close(r);
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
}

// validate: its status, message (naming the file) and report.
static ll_status validate(const char *path, int allow_partial, char *report, size_t len, ll_error *err) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    ll_error_clear(err);
    ll_status s = ll_trace_validate_file(path, allow_partial, f, err);
    fclose(f);
    snprintf(report, len, "%s", buf ? buf : "");
    free(buf);
    return s;
}

// ---------------------------------------------------------------------------
// Round trip

static void test_round_trip(void) {
    char path[512], partial[600], report[8192];
    path_of(path, sizeof path, "rt.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    CU_ASSERT_EQUAL_FATAL(write_trace(path, STEPS, 0, END_FINISH), 0);
    CU_ASSERT_TRUE(tf_exists(path) && !tf_exists(partial));
    check_contents(path, 0, STEPS, 1);
    ll_error err;
    CU_ASSERT_EQUAL(validate(path, 0, report, sizeof report, &err), LL_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(report, "OK"));
    CU_ASSERT_PTR_NOT_NULL(strstr(report, "3 policies"));
    CU_ASSERT_PTR_NOT_NULL(strstr(report, "8 masks, 2 maps, 4 checkpoints"));
    ll_file_kind kind;
    CU_ASSERT_EQUAL(ll_file_kind_detect(path, &kind, &err), LL_OK);
    CU_ASSERT_EQUAL(kind, LL_FILE_TRACE);
    // The file is plain HDF5: h5dump parses it where it is installed.
    if (access("/usr/bin/h5dump", X_OK) == 0) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "/usr/bin/h5dump -H '%s' > /dev/null 2>&1", path);
        CU_ASSERT_EQUAL(system(cmd), 0);
    }
    unlink(path);
}

// ---------------------------------------------------------------------------
// The writer's checks

static void test_writer_rejects(void) {
    char path[512], partial[600];
    path_of(path, sizeof path, "w.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    ll_trace_writer *w = NULL;
    ll_error err;
    ll_trace_meta bad[6];
    const char *needle[6] = {"D", "tiling", "steps", "grid", "softmax_scale", "encoding"};
    for (int i = 0; i < 6; i++) bad[i] = meta_small();
    bad[0].shape.D = 80;
    bad[1].tiling.block_m = 20;
    bad[2].steps = 0;
    bad[3].width = 11;
    bad[4].softmax_scale = NAN;
    bad[5].encoding = (ll_list_encoding)7;
    for (int i = 0; i < 6; i++) {
        ll_error_clear(&err);
        CU_ASSERT_EQUAL(ll_trace_create(path, &bad[i], POLICIES, N_POL, &w, &err), LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle[i]));
        CU_ASSERT_PTR_NULL(w);
    }
    ll_trace_meta m = meta_small();
    ll_trace_policy twice[2] = {POLICIES[0], POLICIES[0]}, slash[1] = {{"a/b", "lite", "{}"}},
                    nokind[1] = {{"x", "", "{}"}};
    CU_ASSERT_EQUAL(ll_trace_create(path, &m, POLICIES, 0, &w, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_trace_create(path, &m, twice, 2, &w, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "used twice"));
    CU_ASSERT_EQUAL(ll_trace_create(path, &m, slash, 1, &w, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "a/b"));
    CU_ASSERT_EQUAL(ll_trace_create(path, &m, nokind, 1, &w, &err), LL_ERR_INVALID);
    CU_ASSERT_FALSE(tf_exists(path) || tf_exists(partial));
    CU_ASSERT_EQUAL(ll_trace_create("/nonexistent-dir/t.h5", &m, POLICIES, N_POL, &w, &err), LL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent-dir/t.h5"));

    CU_ASSERT_EQUAL_FATAL(ll_trace_create(path, &m, POLICIES, N_POL, &w, &err), LL_OK);
    scratch s;
    scratch_alloc(&s, &m);
    ll_skip_list_fill_full(&s.list);
    ll_trace_call rows[8];
    rows_of(&m, 0, 0, 0, &s.list, rows);
    // Each broken field of a valid row is refused, naming the row.
    struct {
        const char *needle;
        ll_trace_call c;
    } cases[] = {
        {"policy 3 out of range", rows[0]}, {"step 1 written while step 0", rows[0]},
        {"layer 2 out of range", rows[0]},  {"head 2 out of range", rows[0]},
        {"tiles_total", rows[0]},           {"tiles_kept 33 > tiles_total 32", rows[0]},
        {"flops_dense", rows[0]},           {"does not fit", rows[0]},
        {"negative runtime", rows[0]},      {"cosine", rows[0]},
        {"skipped_mass", rows[0]},          {"n_kernels", rows[0]},
    };
    cases[0].c.policy = 3;
    cases[1].c.step = 1;
    cases[2].c.layer = 2;
    cases[3].c.head = 2;
    cases[4].c.tiles_total++;
    cases[5].c.tiles_kept = cases[5].c.tiles_total + 1;
    cases[6].c.flops_dense--;
    cases[7].c.tiles_kept = 1;  // 1 tile cannot cost all the FLOPs
    cases[8].c.host_ms = -1;
    cases[9].c.cosine = 1.5;
    cases[10].c.skipped_mass = -0.5;
    cases[11].c.n_kernels = -1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ll_error_clear(&err);
        ll_status st = ll_trace_add_call(w, &cases[i].c, &err);
        CU_ASSERT_EQUAL(st, LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, partial));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].needle));
        if (st != LL_ERR_INVALID || !strstr(err.msg, cases[i].needle))
            fprintf(stderr, "\n  row case %zu: status %d, '%s'\n", i, st, err.msg);
    }
    CU_ASSERT_EQUAL(ll_trace_add_call(w, NULL, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_trace_add_call(w, &rows[0], &err), LL_OK);  // refusals leave the writer usable
    // Masks, maps and checkpoints of the wrong size, policy or step.
    ll_skip_mask small = {0};
    CU_ASSERT_EQUAL(ll_skip_mask_alloc(&small, 1, 2, 3, 4, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_trace_add_mask(w, 1, 0, 0, &small, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "1x2x3x4"));
    ll_skip_mask_free(&small);
    CU_ASSERT_EQUAL(ll_trace_add_mask(w, 5, 0, 0, &s.mask, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_trace_add_mask(w, 1, 1, 0, &s.mask, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_trace_add_mask(w, 1, 0, 0, &s.mask, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_trace_add_mask(w, 1, 0, 0, &s.mask, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "recorded already"));
    ll_tile_map tiny = {0};
    CU_ASSERT_EQUAL(ll_tile_map_alloc(&tiny, 1, 1, 4, 4, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_trace_add_map(w, 0, 0, &tiny, &err), LL_ERR_INVALID);
    ll_tile_map_free(&tiny);
    map_of(&s.map, 0, 0);
    CU_ASSERT_EQUAL(ll_trace_add_map(w, 0, 0, &s.map, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_trace_add_map(w, 0, 0, &s.map, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_trace_save_state(w, 1, 2, &s.list, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_trace_load_state(w, 1, 0, &s.list, &err), LL_ERR_INVALID);  // no durable step yet
    CU_ASSERT_EQUAL(ll_trace_end_step(w, 1, &err), LL_ERR_INVALID);
    // Finishing with rows of an unended step: refused, nothing at <path>, no file left open.
    CU_ASSERT_EQUAL(ll_trace_finish(w, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not ended"));
    CU_ASSERT_FALSE(tf_exists(path));
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
    ll_trace_reader *r;
    ll_trace_meta got;
    CU_ASSERT_EQUAL(ll_trace_open(partial, 0, &r, &got, &err), LL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "incomplete trace (0 of 4 steps"));
    scratch_free(&s);
    unlink(partial);
}

// A checkpoint is a skip list the next run reads: an invalid one is refused
// when written, and a damaged one is caught on resume (below).
static void test_invalid_checkpoint_refused(void) {
    char path[512], partial[600];
    path_of(path, sizeof path, "cp.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    ll_trace_meta m = meta_small();
    ll_trace_writer *w;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_trace_create(path, &m, POLICIES, N_POL, &w, &err), LL_OK);
    scratch s;
    scratch_alloc(&s, &m);
    const int32_t broken[][5] = {
        {3, 3, -1, 0, 0},  // odd length
        {2, 4, -1, 0, 0},  // start beyond the last tile
        {2, 1, 2, 0, 0},   // ascending range
        {4, 3, 1, 2, -1},  // overlapping ranges
        {6, 3, 2, 1, 0},   // more entries than the row holds
    };
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        ll_skip_list_fill_full(&s.list);
        memcpy(ll_skip_list_row(&s.list, 0, 1, 2), broken[i], sizeof broken[i]);
        ll_error_clear(&err);
        ll_status st = ll_trace_save_state(w, 1, 0, &s.list, &err);
        CU_ASSERT_EQUAL(st, LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, partial));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "row (b=0, h=1, qtile=2)"));
        if (st != LL_ERR_INVALID) fprintf(stderr, "\n  broken list %zu: status %d '%s'\n", i, st, err.msg);
    }
    ll_skip_list_fill_full(&s.list);
    CU_ASSERT_EQUAL(ll_trace_save_state(w, 1, 0, &s.list, &err), LL_OK);
    scratch_free(&s);
    ll_trace_abandon(w);
    unlink(partial);
}

// ---------------------------------------------------------------------------
// Crash safety

// A trace left at `durable` steps with the next one begun: readable as
// partial, marked incomplete, exactly the durable steps; the validator calls
// it incomplete unless partial traces are allowed.
static void check_partial(const char *path, int durable) {
    char partial[600], report[8192];
    snprintf(partial, sizeof partial, "%s.partial", path);
    CU_ASSERT_FALSE(tf_exists(path));
    CU_ASSERT_TRUE_FATAL(tf_exists(partial));
    ll_trace_reader *r;
    ll_trace_meta m;
    ll_error err;
    CU_ASSERT_EQUAL(ll_trace_open(partial, 0, &r, &m, &err), LL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "incomplete trace"));
    check_contents(partial, 1, durable, 0);
    CU_ASSERT_EQUAL(validate(partial, 0, report, sizeof report, &err), LL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "incomplete"));
    CU_ASSERT_PTR_NOT_NULL(strstr(report, "INCOMPLETE"));
    CU_ASSERT_EQUAL(validate(partial, 1, report, sizeof report, &err), LL_OK);
    if (err.code != LL_OK) fprintf(stderr, "\n  %s\n%s\n", err.msg, report);
}

// Resumes a partial trace of `durable` steps, checks the checkpoint of its
// last durable step, writes the rest and finishes: the same as one run.
static void resume_and_finish(const char *path, int durable) {
    ll_trace_writer *w;
    int done = -1;
    ll_error err;
    ll_error_clear(&err);
    ll_status st = ll_trace_resume(path, POLICIES, N_POL, &w, &done, &err);
    if (st != LL_OK) fprintf(stderr, "\n  %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, LL_OK);
    CU_ASSERT_EQUAL(done, durable);
    ll_trace_meta m = meta_small();
    scratch s;
    scratch_alloc(&s, &m);
    if (durable > 0) {
        ll_skip_list want;
        CU_ASSERT_EQUAL(ll_skip_list_alloc(&want, 1, 2, s.list.q_tiles, s.list.k_tiles, LL_END_EXCLUSIVE, &err), LL_OK);
        for (int p = 1; p < N_POL; p++)
            for (int l = 0; l < LAYERS; l++) {
                CU_ASSERT_EQUAL(ll_trace_load_state(w, p, l, &s.list, &err), LL_OK);
                list_of(&want, p, durable, l);
                CU_ASSERT_TRUE(same_list(&want, &s.list));
            }
        ll_skip_list_free(&want);
    }
    int ok = 1;
    for (int step = durable; ok && step < STEPS; step++) ok = write_step(w, &m, &s, step, 1) == 0;
    CU_ASSERT_TRUE(ok);
    scratch_free(&s);
    CU_ASSERT_EQUAL(ll_trace_finish(w, &err), LL_OK);
    check_contents(path, 0, STEPS, 1);
}

static void test_abandoned(void) {
    char path[512];
    path_of(path, sizeof path, "abandoned.h5");
    CU_ASSERT_EQUAL_FATAL(write_trace(path, 2, 1, END_ABANDON), 0);
    check_partial(path, 2);
    resume_and_finish(path, 2);
    // A complete trace has nothing to resume; policies must match.
    ll_trace_writer *w;
    int done;
    ll_error err;
    CU_ASSERT_EQUAL(ll_trace_resume(path, POLICIES, N_POL, &w, &done, &err), LL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "nothing to resume"));
    unlink(path);
    CU_ASSERT_EQUAL_FATAL(write_trace(path, 1, 0, END_ABANDON), 0);
    ll_trace_policy other[N_POL] = {POLICIES[0], POLICIES[1], {"orc", "oracle", "{\"threshold\": -7}"}};
    CU_ASSERT_EQUAL(ll_trace_resume(path, other, N_POL, &w, &done, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "-7"));
    CU_ASSERT_EQUAL(ll_trace_resume(path, POLICIES, 2, &w, &done, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
    char partial[600];
    snprintf(partial, sizeof partial, "%s.partial", path);
    unlink(partial);
}

static void test_killed(void) {
    char path[512], partial[600];
    path_of(path, sizeof path, "killed.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    // Killed mid-step (after 0, 1 and 3 durable steps), and after the last
    // step but before finishing: readable, incomplete, resumable.
    const int durable[] = {0, 1, 3, STEPS};
    for (size_t i = 0; i < sizeof durable / sizeof durable[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(write_trace(path, durable[i], 1, END_KILL), 0);
        check_partial(path, durable[i]);
        resume_and_finish(path, durable[i]);
        CU_ASSERT_FALSE(tf_exists(partial));
        unlink(path);
    }
}

// A second writer of the same output while the first is live is refused and
// leaves the live writer's .partial alone: in this process, and from another
// one (litelab run), where HDF5 would truncate the file before it finds the
// lock.
static void test_second_writer(void) {
    char path[512], partial[600], json[512], out[600], errs[600];
    path_of(path, sizeof path, "busy.h5");
    path_of(json, sizeof json, "busy.json");
    path_of(out, sizeof out, "busy.out");
    path_of(errs, sizeof errs, "busy.err");
    snprintf(partial, sizeof partial, "%s.partial", path);
    CU_ASSERT_EQUAL_FATAL(tf_write_text(json, "{\"trajectory\": {\"synthetic\": \"tiny\"}, \"backend\": \"cpu\", "
                                              "\"tiling\": {\"block_m\": 64, \"block_n\": 32}, "
                                              "\"policies\": [{\"name\": \"dense\", \"kind\": \"dense\"}]}"),
                          0);
    ll_trace_meta m = meta_small();
    ll_trace_writer *w, *w2 = NULL;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_trace_create(path, &m, POLICIES, N_POL, &w, &err), LL_OK);
    scratch s;
    scratch_alloc(&s, &m);
    CU_ASSERT_EQUAL(write_step(w, &m, &s, 0, 1), 0);
    long size = tf_size(partial);
    CU_ASSERT_TRUE(size > 0);
    CU_ASSERT_EQUAL(ll_trace_create(path, &m, POLICIES, N_POL, &w2, &err), LL_ERR_IO);
    CU_ASSERT_PTR_NULL(w2);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "another process has the file open"));
    CU_ASSERT_EQUAL(tf_size(partial), size);
    const char *args[] = {"run", json, "-q", "-o", path, NULL};
    CU_ASSERT_EQUAL(tf_run_cli(args, out, errs), 4);
    CU_ASSERT_TRUE(tf_contains(errs, "another process has the file open"));
    CU_ASSERT_EQUAL(tf_size(partial), size);
    for (int step = 1; step < STEPS; step++) CU_ASSERT_EQUAL(write_step(w, &m, &s, step, 1), 0);
    scratch_free(&s);
    CU_ASSERT_EQUAL(ll_trace_finish(w, &err), LL_OK);
    check_contents(path, 0, STEPS, 1);
    CU_ASSERT_FALSE(tf_exists(partial));
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
    unlink(path);
    unlink(json);
    unlink(out);
    unlink(errs);
}

// ---------------------------------------------------------------------------
// The validator on damaged files

// The C struct of a row as an HDF5 compound, built here from the field names
// of traces/FORMAT.md (independently of traces/), to rewrite rows in place.
static hid_t row_type(void) {
    hid_t t = H5Tcreate(H5T_COMPOUND, sizeof(ll_trace_call));
#define F(name, type) H5Tinsert(t, #name, offsetof(ll_trace_call, name), type)
    F(policy, H5T_NATIVE_INT32);
    F(step, H5T_NATIVE_INT32);
    F(layer, H5T_NATIVE_INT32);
    F(head, H5T_NATIVE_INT32);
    F(threshold, H5T_NATIVE_FLOAT);
    F(gpu_ms, H5T_NATIVE_DOUBLE);
    F(host_ms, H5T_NATIVE_DOUBLE);
    F(n_kernels, H5T_NATIVE_INT32);
    F(tiles_total, H5T_NATIVE_UINT64);
    F(tiles_kept, H5T_NATIVE_UINT64);
    F(flops_dense, H5T_NATIVE_UINT64);
    F(flops_executed, H5T_NATIVE_UINT64);
    F(tensor_work_ratio, H5T_NATIVE_DOUBLE);
    F(rel_l2, H5T_NATIVE_DOUBLE);
    F(max_abs, H5T_NATIVE_DOUBLE);
    F(cosine, H5T_NATIVE_DOUBLE);
    F(worst_row_rel_l2, H5T_NATIVE_DOUBLE);
    F(skipped_mass, H5T_NATIVE_DOUBLE);
#undef F
    return t;
}

typedef void (*row_edit)(ll_trace_call *rows, size_t n);

// Reads /calls, applies edit, writes it back.
static int edit_rows(const char *path, row_edit edit) {
    hid_t f = tf_h5_open_rw(path);
    if (f < 0) return -1;
    hid_t d = H5Dopen2(f, "calls", H5P_DEFAULT), t = row_type(), s = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    ll_trace_call *rows = n > 0 ? calloc((size_t)n, sizeof *rows) : NULL;
    herr_t r = rows ? H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) : -1;
    if (r >= 0) {
        edit(rows, (size_t)n);
        r = H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows);
    }
    free(rows);
    if (s >= 0) H5Sclose(s);
    H5Tclose(t);
    if (d >= 0) H5Dclose(d);
    return H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}

// Rows in write order: step 0 layer 0 is dense (row 0), lite (1, heads 2 and 3),
// orc (4); row 5 is dense at step 0 layer 1.
static void e_policy(ll_trace_call *r, size_t n) { (void)n; r[5].policy = 7; }
static void e_step(ll_trace_call *r, size_t n) { r[n - 1].step = STEPS; }
static void e_layer(ll_trace_call *r, size_t n) { (void)n; r[5].layer = -1; }
static void e_head(ll_trace_call *r, size_t n) { (void)n; r[5].head = 9; }
static void e_kept(ll_trace_call *r, size_t n) { (void)n; r[5].tiles_kept = r[5].tiles_total + 1; }
static void e_dense(ll_trace_call *r, size_t n) { (void)n; r[0].flops_dense *= 2; }
static void e_exec(ll_trace_call *r, size_t n) { (void)n; r[0].flops_executed = r[0].flops_dense + 1; }
static void e_fit(ll_trace_call *r, size_t n) { (void)n; r[0].tiles_kept = 1; }
static void e_time(ll_trace_call *r, size_t n) { (void)n; r[5].host_ms = -3; }
static void e_cos(ll_trace_call *r, size_t n) { (void)n; r[5].cosine = -2; }
static void e_mass(ll_trace_call *r, size_t n) { (void)n; r[5].skipped_mass = 7; }
static void e_err(ll_trace_call *r, size_t n) { (void)n; r[5].rel_l2 = -1; }
static void e_three(ll_trace_call *r, size_t n) {
    (void)n;
    r[0].policy = -1;
    r[5].layer = 9;
    r[10].head = 7;
}
static void e_dup(ll_trace_call *r, size_t n) { (void)n; r[1] = r[0]; }
static void e_order(ll_trace_call *r, size_t n) {
    // Swap a step-0 row with a later step-1 row of the same kind.
    ll_trace_call a = r[0];
    r[0] = r[n / 2];
    r[n / 2] = a;
}

static void test_validator_rows(void) {
    struct {
        row_edit edit;
        const char *needle;
        int reader_refuses;  // the reader checks each row; order and duplicates are the validator's
    } cases[] = {
        {e_policy, "/calls row 5: policy 7 out of range (3 policies)", 1},
        {e_step, "step 4 out of range (4 durable steps)", 1},
        {e_layer, "/calls row 5: layer -1 out of range", 1},
        {e_head, "/calls row 5: head 9 out of range", 1},
        {e_kept, "/calls row 5: tiles_kept", 1},
        {e_dense, "/calls row 0: flops_dense", 1},
        {e_exec, "/calls row 0: flops_executed", 1},
        {e_fit, "/calls row 0: flops_executed", 1},
        {e_time, "/calls row 5: negative runtime", 1},
        {e_cos, "/calls row 5: cosine -2", 1},
        {e_mass, "/calls row 5: skipped_mass 7", 1},
        {e_err, "/calls row 5: a negative error", 1},
        {e_three, "3 problems", 1},
        {e_dup, "two rows for policy 0 step 0 layer 0 head -1", 0},
        {e_order, "out of step order", 0},
    };
    char valid[512], path[512], report[16384];
    path_of(valid, sizeof valid, "rows_src.h5");
    path_of(path, sizeof path, "rows.h5");
    CU_ASSERT_EQUAL_FATAL(write_trace(valid, STEPS, 0, END_FINISH), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(tf_copy(valid, path), 0);
        CU_ASSERT_EQUAL_FATAL(edit_rows(path, cases[i].edit), 0);
        ll_error err;
        ll_status st = validate(path, 0, report, sizeof report, &err);
        int ok = st == LL_ERR_FORMAT && strstr(err.msg, path) && strstr(err.msg, cases[i].needle) &&
                 strstr(report, "INVALID trace");
        CU_ASSERT_TRUE(ok);
        if (!ok) fprintf(stderr, "\n  row case %zu: status %d '%s'\n%s\n", i, st, err.msg, report);
        ll_trace_reader *r;
        ll_trace_meta m;
        CU_ASSERT_EQUAL_FATAL(ll_trace_open(path, 0, &r, &m, &err), LL_OK);
        ll_trace_call *rows = NULL;
        size_t n;
        st = ll_trace_read_calls(r, &rows, &n, &err);
        CU_ASSERT_EQUAL(st, cases[i].reader_refuses ? LL_ERR_FORMAT : LL_OK);
        if (cases[i].reader_refuses) {
            CU_ASSERT_PTR_NULL(rows);
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/calls row"));
        }
        free(rows);
        ll_trace_close(r);
    }
    unlink(valid);
    unlink(path);
}

typedef int (*file_edit)(const char *path);

static int x_map_value(const char *p) {
    hsize_t at[4] = {0, 1, 2, 3};
    float v = 0.5f;  // above the row maximum
    return tf_h5_poke(p, "/maps/s0_l0/max_log2", at, H5T_NATIVE_FLOAT, &v);
}
static int x_map_mass(const char *p) {
    hsize_t at[4] = {0, 0, 0, 0};
    float v = NAN;
    return tf_h5_poke(p, "/maps/s3_l0/mass", at, H5T_NATIVE_FLOAT, &v);
}
static int x_mask_dims(const char *p) {
    hsize_t dims[4] = {1, 2, 4, 2};
    return tf_h5_replace(p, "/masks/orc/s1_l1", H5T_STD_U8LE, 4, dims, NULL);
}
static int x_mask_name(const char *p) {
    hsize_t dims[4] = {1, 2, 4, 1};
    return tf_h5_replace(p, "/masks/orc/garbage", H5T_STD_U8LE, 4, dims, NULL);
}
static int x_mask_policy(const char *p) {
    hid_t f = tf_h5_open_rw(p);
    herr_t r = f >= 0 ? H5Lmove(f, "/masks/orc", f, "/masks/nobody", H5P_DEFAULT, H5P_DEFAULT) : -1;
    return f < 0 || H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}
// Checkpoints: /state/<policy>/l<layer> [2, B, H, q_tiles, k_tiles + 1]; the
// slot of the last step (3 % 2 = 1) holds the list a resumed run reads.
static int x_list_len(const char *p) {
    hsize_t at[5] = {1, 0, 1, 2, 0};
    int32_t v = 3;  // odd length
    return tf_h5_poke(p, "/state/lite_t-5/l1", at, H5T_NATIVE_INT32, &v);
}
static int x_list_range(const char *p) {
    const int32_t row[3] = {2, 9, -1};  // starts beyond the last of 4 key tiles
    int r = 0;
    for (int i = 0; i < 3; i++) {
        hsize_t at[5] = {1, 0, 0, 0, (hsize_t)i};
        r |= tf_h5_poke(p, "/state/orc/l0", at, H5T_NATIVE_INT32, &row[i]);
    }
    return r;
}
static int x_state_dims(const char *p) {
    hsize_t dims[5] = {2, 1, 2, 4, 4};
    return tf_h5_replace(p, "/state/orc/l0", H5T_STD_I32LE, 5, dims, NULL);
}
static int x_steps_done(const char *p) { return tf_h5_set_int(p, "/", "steps_done", 5); }
static int x_q_tiles(const char *p) { return tf_h5_set_int(p, "/", "q_tiles", 3); }
static int x_shape(const char *p) {
    int32_t shape[4] = {1, 100, 2, 80};
    return tf_h5_set_ints(p, "/", "shape", shape, 4);
}
static int x_version(const char *p) { return tf_h5_set_int(p, "/", "format_version", 9); }
static int x_format(const char *p) { return tf_h5_set_str(p, "/", "format", "litelab-capture"); }
static int x_encoding(const char *p) { return tf_h5_set_str(p, "/", "encoding", "sideways"); }
static int x_calls_done(const char *p) {
    int32_t v = 1000;
    return tf_h5_set_ints(p, "/", "calls_done", &v, 1);
}
static int x_no_calls(const char *p) { return tf_h5_delete(p, "/calls"); }
static int x_no_maps(const char *p) { return tf_h5_delete(p, "/maps"); }
static int x_no_config(const char *p) { return tf_h5_delete(p, "/config_json"); }
static int x_no_attr(const char *p) { return tf_h5_delete_attr(p, "/", "k_tiles"); }
static int x_calls_fields(const char *p) {
    hsize_t dims[1] = {4};
    hid_t t = H5Tcreate(H5T_COMPOUND, 8);
    H5Tinsert(t, "policy", 0, H5T_STD_I32LE);
    H5Tinsert(t, "step", 4, H5T_STD_I32LE);
    int r = tf_h5_replace(p, "/calls", t, 1, dims, NULL);
    H5Tclose(t);
    return r;
}
static int x_policies_dup(const char *p) {
    hid_t f = tf_h5_open_rw(p);
    hid_t d = H5Dopen2(f, "policies", H5P_DEFAULT);
    hid_t t = H5Tcreate(H5T_COMPOUND, 64), s = H5Tcopy(H5T_C_S1);
    H5Tset_size(s, 64);
    H5Tinsert(t, "name", 0, s);
    char names[N_POL][64] = {"dense", "dense", "orc"};
    herr_t r = H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, names);
    H5Tclose(s);
    H5Tclose(t);
    H5Dclose(d);
    return H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}

static void test_validator_files(void) {
    struct {
        file_edit edit;
        const char *needle;
        int open_refuses;  // the reader refuses at open; else only the validator (or a later read) does
    } cases[] = {
        {x_map_value, "/maps/s0_l0: 1 max_log2 values above 0", 0},
        {x_map_mass, "/maps/s3_l0: 0 max_log2 values above 0 or NaN, 1 mass values outside [0, 1]", 0},
        {x_mask_dims, "/masks/orc/s1_l1 does not have the dimensions [1, 2, 4, 1]", 0},
        {x_mask_name, "/masks/orc/garbage is not a mask name", 0},
        {x_mask_policy, "/masks/nobody names no policy", 0},
        {x_list_len, "/state/lite_t-5/l1", 0},
        {x_list_range, "/state/orc/l0", 0},
        {x_state_dims, "/state/orc/l0 does not have the dimensions [2, 1, 2, 4, 5]", 0},
        {x_steps_done, "attribute 'steps_done' = 5 is out of range", 1},
        {x_q_tiles, "q_tiles=3 k_tiles=4 do not follow from N=100", 1},
        {x_shape, "head dim D=80", 1},
        {x_version, "newer", 1},
        {x_format, "not a litelab trace", 1},
        {x_encoding, "attribute 'encoding'", 1},
        {x_calls_done, "calls_done says 1000 (truncated?)", 1},
        {x_no_calls, "table /calls is missing", 1},
        {x_no_maps, "group /maps is missing", 1},
        {x_no_config, "dataset /config_json is missing", 1},
        {x_no_attr, "attribute 'k_tiles' is missing", 1},
        {x_calls_fields, "/calls: field 'layer' is missing", 1},
        {x_policies_dup, "policy name 'dense' used twice", 1},
    };
    char valid[512], path[512], report[16384];
    path_of(valid, sizeof valid, "files_src.h5");
    path_of(path, sizeof path, "files.h5");
    CU_ASSERT_EQUAL_FATAL(write_trace(valid, STEPS, 0, END_FINISH), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(tf_copy(valid, path), 0);
        CU_ASSERT_EQUAL_FATAL(cases[i].edit(path), 0);
        ll_error err;
        ll_status st = validate(path, 0, report, sizeof report, &err);
        int ok = st == LL_ERR_FORMAT && strstr(err.msg, path) && strstr(err.msg, cases[i].needle) &&
                 strstr(report, "INVALID");
        CU_ASSERT_TRUE(ok);
        if (!ok) fprintf(stderr, "\n  file case %zu: status %d '%s'\n%s\n", i, st, err.msg, report);
        ll_trace_reader *r = NULL;
        ll_trace_meta m;
        st = ll_trace_open(path, 0, &r, &m, &err);
        CU_ASSERT_EQUAL(st, cases[i].open_refuses ? LL_ERR_FORMAT : LL_OK);
        if (st != LL_OK) CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        ll_trace_close(r);
        CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
    }
    unlink(valid);
    unlink(path);
}

// A damaged checkpoint of a partial trace: resuming reads it and refuses it.
static void test_damaged_checkpoint_on_resume(void) {
    char path[512], partial[600];
    path_of(path, sizeof path, "resume_cp.h5");
    snprintf(partial, sizeof partial, "%s.partial", path);
    CU_ASSERT_EQUAL_FATAL(write_trace(path, 2, 0, END_ABANDON), 0);
    hsize_t at[5] = {1, 0, 1, 3, 0};  // slot of step 1, (b 0, h 1, query tile 3), len
    int32_t v = 5;
    CU_ASSERT_EQUAL_FATAL(tf_h5_poke(partial, "/state/orc/l1", at, H5T_NATIVE_INT32, &v), 0);
    char report[8192];
    ll_error err;
    CU_ASSERT_EQUAL(validate(partial, 1, report, sizeof report, &err), LL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/state/orc/l1"));
    ll_trace_writer *w;
    int done;
    CU_ASSERT_EQUAL_FATAL(ll_trace_resume(path, POLICIES, N_POL, &w, &done, &err), LL_OK);
    ll_trace_meta m = meta_small();
    scratch s;
    scratch_alloc(&s, &m);
    CU_ASSERT_EQUAL(ll_trace_load_state(w, 2, 0, &s.list, &err), LL_OK);
    ll_error_clear(&err);
    CU_ASSERT_EQUAL(ll_trace_load_state(w, 2, 1, &s.list, &err), LL_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "corrupt checkpoint"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, partial));
    scratch_free(&s);
    ll_trace_abandon(w);
    unlink(partial);
}

static void test_foreign_and_missing(void) {
    char path[512], report[4096];
    ll_error err;
    ll_file_kind kind;
    struct {
        const char *name;
        ll_status code;
        const char *needle;
    } cases[] = {
        {"foreign.h5", LL_ERR_FORMAT, "not a litelab trace"},
        {"text.h5", LL_ERR_FORMAT, "not an HDF5 file"},
        {"empty.h5", LL_ERR_FORMAT, "not an HDF5 file"},
        {"missing.h5", LL_ERR_IO, "No such file"},
    };
    path_of(path, sizeof path, "foreign.h5");
    CU_ASSERT_EQUAL_FATAL(tf_h5_foreign(path), 0);
    path_of(path, sizeof path, "text.h5");
    CU_ASSERT_EQUAL_FATAL(tf_write_text(path, "policy,step\n0,0\n"), 0);
    path_of(path, sizeof path, "empty.h5");
    CU_ASSERT_EQUAL_FATAL(tf_write_bytes(path, "", 0), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        path_of(path, sizeof path, cases[i].name);
        ll_trace_reader *r = NULL;
        ll_trace_meta m;
        ll_error_clear(&err);
        CU_ASSERT_EQUAL(ll_trace_open(path, 1, &r, &m, &err), cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cases[i].needle));
        CU_ASSERT_PTR_NULL(r);
        CU_ASSERT_EQUAL(validate(path, 1, report, sizeof report, &err), cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(report, "INVALID"));
        CU_ASSERT_EQUAL(ll_file_kind_detect(path, &kind, &err), cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        unlink(path);
    }
    CU_ASSERT_EQUAL(tf_h5_open_files(), 0);
}

// ---------------------------------------------------------------------------
// Fuzz

// Every reader entry point on the file; 1 when it reads as valid, 0 when it
// was refused cleanly, -1 on a broken contract.
static int fuzz_check(const char *path, char *why, size_t len) {
    int fds = tf_open_fds(), clean = 1, read_ok = 1;
    ll_error err;
    ll_error_clear(&err);
    ll_trace_reader *r = NULL;
    ll_trace_meta m;
    ll_status open_st = ll_trace_open(path, 1, &r, &m, &err);
    char first[1200] = "";
#define NOTE(st)                                                                                        \
    do {                                                                                                \
        ll_status s_ = (st);                                                                            \
        if (s_ != LL_OK) {                                                                              \
            read_ok = 0;                                                                                \
            if (!strstr(err.msg, path) && !first[0]) snprintf(first, sizeof first, "status %d without the file name: '%s'", s_, err.msg); \
        }                                                                                               \
    } while (0)
    NOTE(open_st);
    if (open_st == LL_OK) {
        ll_trace_policy *pol = NULL;
        int np, *t = NULL, nt = 0, *p = NULL, npairs = 0;
        ll_trace_call *rows = NULL;
        size_t n;
        NOTE(ll_trace_read_policies(r, &pol, &np, &err));
        NOTE(ll_trace_read_calls(r, &rows, &n, &err));
        NOTE(ll_trace_list_masks(r, &t, &nt, &err));
        for (int i = 0; i < nt; i++) {
            ll_skip_mask mask = {0};
            NOTE(ll_trace_read_mask(r, t[3 * i], t[3 * i + 1], t[3 * i + 2], &mask, &err));
            ll_skip_mask_free(&mask);
        }
        NOTE(ll_trace_list_maps(r, &p, &npairs, &err));
        for (int i = 0; i < npairs; i++) {
            ll_tile_map map = {0};
            NOTE(ll_trace_read_map(r, p[2 * i], p[2 * i + 1], &map, &err));
            ll_tile_map_free(&map);
        }
        (void)ll_trace_config_json(r);
        free(pol);
        free(rows);
        free(t);
        free(p);
        ll_trace_close(r);
    }
#undef NOTE
    ll_error verr;
    ll_error_clear(&verr);
    ll_status vst = ll_trace_validate_file(path, 1, NULL, &verr);
    ll_file_kind kind;
    ll_error kerr;
    ll_status kst = ll_file_kind_detect(path, &kind, &kerr);
    if (first[0]) {
        snprintf(why, len, "reader: %s", first);
        clean = 0;
    } else if (vst != LL_OK && (vst == LL_ERR_INTERNAL || !strstr(verr.msg, path))) {
        snprintf(why, len, "validator: status %d, '%s'", vst, verr.msg);
        clean = 0;
    } else if (vst == LL_OK && !read_ok) {
        snprintf(why, len, "the validator passed a file the reader refuses: '%s'", err.msg);
        clean = 0;
    } else if (vst == LL_OK && (kst != LL_OK || kind != LL_FILE_TRACE)) {
        snprintf(why, len, "the validator passed a file whose kind is not a trace");
        clean = 0;
    } else if (tf_open_fds() != fds || tf_h5_open_files() != 0) {
        snprintf(why, len, "handles left open (%d -> %d descriptors, %ld HDF5 files)", fds, tf_open_fds(),
                 tf_h5_open_files());
        clean = 0;
    }
    if (!clean) return -1;
    return vst == LL_OK ? 1 : 0;
}

static void test_fuzz(void) {
    char valid[512], scratch_path[512];
    path_of(valid, sizeof valid, "fuzz_src.h5");
    path_of(scratch_path, sizeof scratch_path, "fuzz.h5");
    // Small: 2 of 4 steps durable, so partial-trace paths are fuzzed too.
    CU_ASSERT_EQUAL_FATAL(write_trace(valid, 2, 1, END_ABANDON), 0);
    char partial[600];
    snprintf(partial, sizeof partial, "%s.partial", valid);
    enum { CASES = 300 };
    double t0 = ll_now_seconds();
    tf_fuzz_result res;
    int status = tf_fuzz(partial, scratch_path, CASES, 2024, 60, fuzz_check, &res);
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    CU_ASSERT_TRUE(clean);
    if (!clean)
        fprintf(stderr, "\n  fuzz child ended badly (status 0x%x, %s) in case %d (%s)\n", status,
                WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit", res.current, res.what);
    CU_ASSERT_EQUAL(res.cases, CASES);
    CU_ASSERT_EQUAL(res.bad, 0);
    if (res.bad) fprintf(stderr, "\n  %d bad cases; first: %s\n", res.bad, res.why);
    // Both outcomes occur: the damage is not all in harmless places.
    CU_ASSERT_TRUE(res.rejected > CASES / 4);
    CU_ASSERT_TRUE(res.accepted > 0);
    double elapsed = ll_now_seconds() - t0;  // reported, never asserted: speed varies with load and sanitizers
    if (getenv("LITELAB_TEST_VERBOSE"))
        fprintf(stderr, "\n  fuzz: %d cases, %d read as valid, %d refused, %.1f s\n", res.cases, res.accepted,
                res.rejected, elapsed);
    unlink(partial);
    unlink(scratch_path);
}

int register_trace_suite(void) {
    CU_pSuite s = CU_add_suite("trace", suite_init, suite_clean);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "round trip: meta, policies, rows, masks, maps", test_round_trip) ||
        !CU_add_test(s, "writer rejects bad meta, policies, rows, masks, maps", test_writer_rejects) ||
        !CU_add_test(s, "invalid skip lists refused as checkpoints", test_invalid_checkpoint_refused) ||
        !CU_add_test(s, "abandoned midway: partial, finished steps only, resumes", test_abandoned) ||
        !CU_add_test(s, "killed midway (SIGKILL): partial, finished steps only, resumes", test_killed) ||
        !CU_add_test(s, "a second writer leaves a live writer's partial file alone", test_second_writer) ||
        !CU_add_test(s, "validator: corrupted rows", test_validator_rows) ||
        !CU_add_test(s, "validator: damaged maps, masks, checkpoints, attributes", test_validator_files) ||
        !CU_add_test(s, "damaged checkpoint refused on resume", test_damaged_checkpoint_on_resume) ||
        !CU_add_test(s, "foreign, non-HDF5, empty, missing files", test_foreign_and_missing) ||
        !CU_add_test(s, "fuzz: damaged copies read or refused, never a crash", test_fuzz))
        return CU_get_error();
    return CUE_SUCCESS;
}
