// test_run.c: `litelab run` and `litelab capture` end to end on the CPU, on
// the tiny synthetic trajectory, through the CLI binary (../build/litelab,
// built by `make test`): the trace validates and holds a row for every
// policy, step, layer and head; dense rows have zero error and full FLOPs;
// LiteAttention's skipped FLOPs never fall from one step to the next; a run
// killed after a durable step resumes to exactly the rows of an
// uninterrupted run; bad input gives the documented exit codes.
#include <CUnit/CUnit.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cuda_attention.h"
#include "test_suites.h"
#include "trace.h"

enum { STEPS = 4, LAYERS = 2 };

static const char *EXPERIMENT =
    "{\n"
    "  \"name\": \"e2e\",\n"
    "  \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 3, \"steps\": 4, \"layers\": 2},\n"
    "  \"backend\": \"cpu\",\n"
    "  \"tiling\": {\"block_m\": 32, \"block_n\": 32},\n"
    "  \"record\": {\"per_head\": true, \"masks\": {\"steps\": \"all\", \"layers\": [1]},\n"
    "             \"tile_maps\": {\"steps\": [0, 3], \"layers\": [0]}},\n"
    "  \"policies\": [\n"
    "    {\"name\": \"dense\", \"kind\": \"dense\"},\n"
    "    {\"name\": \"lite\", \"kind\": \"lite\", \"threshold\": -5},\n"
    "    {\"name\": \"warm\", \"kind\": \"warmup\", \"threshold\": -5, \"warmup_steps\": 1},\n"
    "    {\"name\": \"dyn\", \"kind\": \"dynamic\", \"threshold\": -5},\n"
    "    {\"name\": \"orc\", \"kind\": \"oracle\", \"threshold\": -5}\n"
    "  ]\n"
    "}\n";
enum { N_POLICIES = 5 };

static char dir[64];

static void path_in_dir(char *out, size_t len, const char *name) { snprintf(out, len, "%s/%s", dir, name); }

static void write_file(const char *name, const char *text) {
    char p[256];
    path_in_dir(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static int exists(const char *name) {
    char p[256];
    path_in_dir(p, sizeof p, name);
    struct stat st;
    return stat(p, &st) == 0;
}

// Runs litelab with args (NULL-terminated); stdout and stderr go to
// <dir>/out.txt and <dir>/err.txt. abort_step >= 0 sets
// LITELAB_TEST_ABORT_AFTER_STEP. Returns the wait status.
static int run_cli(const char *const *args, int abort_step) {
    char out[256], errp[256];
    path_in_dir(out, sizeof out, "out.txt");
    path_in_dir(errp, sizeof errp, "err.txt");
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(errp, "w", stderr)) _exit(127);
        char step[16];
        snprintf(step, sizeof step, "%d", abort_step);
        if (abort_step >= 0) setenv("LITELAB_TEST_ABORT_AFTER_STEP", step, 1);
        else unsetenv("LITELAB_TEST_ABORT_AFTER_STEP");
        const char *argv[32];
        int n = 0;
        argv[n++] = LITELAB;
        for (int i = 0; args[i] && n < 31; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(LITELAB, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

static int file_contains(const char *name, const char *needle) {
    char p[256], buf[8192];
    path_in_dir(p, sizeof p, name);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

static int cmp_rows(const void *a, const void *b) {
    const ll_trace_call *x = a, *y = b;
    if (x->policy != y->policy) return x->policy - y->policy;
    if (x->step != y->step) return x->step - y->step;
    if (x->layer != y->layer) return x->layer - y->layer;
    return x->head - y->head;
}

static ll_trace_call *read_rows(const char *name, size_t *n, ll_trace_meta *meta) {
    char p[256];
    path_in_dir(p, sizeof p, name);
    ll_trace_reader *r;
    ll_error err;
    ll_error_clear(&err);
    ll_status s = ll_trace_open(p, 0, &r, meta, &err);
    if (s != LL_OK) fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(s, LL_OK);
    ll_trace_call *rows = NULL;
    CU_ASSERT_EQUAL_FATAL(ll_trace_read_calls(r, &rows, n, &err), LL_OK);
    ll_trace_close(r);
    qsort(rows, *n, sizeof *rows, cmp_rows);
    return rows;
}

static int suite_init(void) {
    snprintf(dir, sizeof dir, "/tmp/litelab_run_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int suite_clean(void) {
    const char *names[] = {"exp.json", "bad.json", "a.h5", "b.h5", "b.h5.partial", "c.h5", "maps.h5", "dry.h5",
                           "fit.json", "fit.h5", "fit.h5.partial", "out.txt", "err.txt", NULL};
    for (int i = 0; names[i]; i++) {
        char p[256];
        path_in_dir(p, sizeof p, names[i]);
        unlink(p);
    }
    return rmdir(dir);
}

static void test_end_to_end(void) {
    write_file("exp.json", EXPERIMENT);
    char cfg[256], out[256];
    path_in_dir(cfg, sizeof cfg, "exp.json");
    path_in_dir(out, sizeof out, "a.h5");
    const char *args[] = {"run", cfg, "-o", out, "--quiet", NULL};
    int st = run_cli(args, -1);
    CU_ASSERT_EQUAL_FATAL(exit_code(st), 0);
    CU_ASSERT_FALSE(exists("a.h5.partial"));

    char p[256];
    path_in_dir(p, sizeof p, "a.h5");
    ll_trace_reader *r;
    ll_trace_meta meta;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_trace_open(p, 0, &r, &meta, &err), LL_OK);
    CU_ASSERT_EQUAL(meta.complete, 1);
    CU_ASSERT_EQUAL(meta.steps, STEPS);
    CU_ASSERT_EQUAL(meta.layers, LAYERS);
    CU_ASSERT_STRING_EQUAL(meta.backend, "cpu");
    CU_ASSERT_EQUAL(meta.tiling.block_m, 32);
    CU_ASSERT_PTR_NOT_NULL(strstr(ll_trace_config_json(r), "\"e2e\""));
    ll_trace_policy *pol;
    int np;
    CU_ASSERT_EQUAL_FATAL(ll_trace_read_policies(r, &pol, &np, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(np, N_POLICIES);
    CU_ASSERT_STRING_EQUAL(pol[1].name, "lite");
    CU_ASSERT_STRING_EQUAL(pol[1].kind, "lite");
    CU_ASSERT_STRING_EQUAL(pol[3].kind, "dynamic");
    free(pol);
    int *triples, nmasks, *pairs, nmaps;
    CU_ASSERT_EQUAL(ll_trace_list_masks(r, &triples, &nmasks, &err), LL_OK);
    CU_ASSERT_EQUAL(nmasks, N_POLICIES * STEPS);  // every step, layer 1
    free(triples);
    CU_ASSERT_EQUAL(ll_trace_list_maps(r, &pairs, &nmaps, &err), LL_OK);
    CU_ASSERT_EQUAL(nmaps, 2);
    free(pairs);
    ll_trace_close(r);

    size_t n;
    ll_trace_call *rows = read_rows("a.h5", &n, &meta);
    int H = meta.shape.H;
    CU_ASSERT_EQUAL_FATAL(n, (size_t)N_POLICIES * STEPS * LAYERS * (1 + H));
    uint64_t dense_flops = 4ull * meta.shape.B * meta.shape.H * meta.shape.N * (uint64_t)meta.shape.N * meta.shape.D;
    uint64_t prev_skipped[LAYERS] = {0};
    int lite_skipped_any = 0;
    for (size_t i = 0; i < n; i++) {
        const ll_trace_call *c = &rows[i];
        // sorted by (policy, step, layer, head): head -1 first, then 0..H-1
        size_t k = i % (size_t)(1 + H);
        CU_ASSERT_EQUAL(c->head, (int)k - 1);
        CU_ASSERT_EQUAL(c->policy, (int)(i / ((size_t)STEPS * LAYERS * (1 + H))));
        if (c->head < 0) {
            CU_ASSERT_TRUE(isfinite(c->host_ms) && c->host_ms >= 0);
            CU_ASSERT_TRUE(isnan(c->gpu_ms));
            CU_ASSERT_EQUAL(c->flops_dense, dense_flops);
            CU_ASSERT_TRUE(c->skipped_mass >= 0 && c->skipped_mass <= 1);
        }
        CU_ASSERT_TRUE(c->flops_executed <= c->flops_dense);
        CU_ASSERT_TRUE(c->tiles_kept <= c->tiles_total);
        if (c->policy == 0) {  // dense: exact and complete
            CU_ASSERT_EQUAL(c->rel_l2, 0.0);
            CU_ASSERT_EQUAL(c->max_abs, 0.0);
            CU_ASSERT_EQUAL(c->flops_executed, c->flops_dense);
            CU_ASSERT_EQUAL(c->tiles_kept, c->tiles_total);
            CU_ASSERT_EQUAL(c->skipped_mass, 0.0);
            CU_ASSERT_TRUE(isnan(c->threshold));
        }
        if (c->policy == 1 && c->head < 0) {  // lite: skips only accumulate
            uint64_t skipped = c->flops_dense - c->flops_executed;
            if (c->step == 0) CU_ASSERT_EQUAL(skipped, 0);
            CU_ASSERT_TRUE(skipped >= prev_skipped[c->layer]);
            prev_skipped[c->layer] = skipped;
            if (skipped > 0) lite_skipped_any = 1;
            CU_ASSERT_EQUAL(c->threshold, -5.0f);
            CU_ASSERT_TRUE(c->rel_l2 >= 0 && c->rel_l2 < 0.5);
            CU_ASSERT_TRUE(c->cosine > 0.8);
        }
        if (c->policy == 2 && c->step == 0) CU_ASSERT_EQUAL(c->flops_executed, c->flops_dense);  // warm-up
    }
    CU_ASSERT_TRUE(lite_skipped_any);
    // Per-head FLOPs add up to the layer's.
    for (size_t i = 0; i < n; i += (size_t)(1 + H)) {
        uint64_t sum = 0;
        for (int h = 0; h < H; h++) sum += rows[i + 1 + h].flops_executed;
        CU_ASSERT_EQUAL(sum, rows[i].flops_executed);
    }
    free(rows);
}

static int same_measurements(const ll_trace_call *a, const ll_trace_call *b) {
    // Everything but the runtimes, which differ from run to run.
    return a->policy == b->policy && a->step == b->step && a->layer == b->layer && a->head == b->head &&
           (a->threshold == b->threshold || (isnan(a->threshold) && isnan(b->threshold))) &&
           a->tiles_total == b->tiles_total && a->tiles_kept == b->tiles_kept && a->flops_dense == b->flops_dense &&
           a->flops_executed == b->flops_executed && a->rel_l2 == b->rel_l2 && a->max_abs == b->max_abs &&
           a->cosine == b->cosine && a->worst_row_rel_l2 == b->worst_row_rel_l2 && a->skipped_mass == b->skipped_mass;
}

static void test_kill_and_resume(void) {
    char cfg[256], a[256], b[256];
    path_in_dir(cfg, sizeof cfg, "exp.json");
    path_in_dir(a, sizeof a, "a.h5");
    path_in_dir(b, sizeof b, "b.h5");
    if (!exists("a.h5")) {
        write_file("exp.json", EXPERIMENT);
        const char *args[] = {"run", cfg, "-o", a, "--quiet", NULL};
        CU_ASSERT_EQUAL_FATAL(exit_code(run_cli(args, -1)), 0);
    }
    const char *args[] = {"run", cfg, "-o", b, "--quiet", NULL};
    int st = run_cli(args, 1);  // killed right after step 1 is durable
    CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    CU_ASSERT_TRUE_FATAL(exists("b.h5.partial"));
    CU_ASSERT_FALSE(exists("b.h5"));
    char partial[300];
    snprintf(partial, sizeof partial, "%s.partial", b);
    ll_trace_reader *r;
    ll_trace_meta meta;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_trace_open(partial, 1, &r, &meta, &err), LL_OK);
    CU_ASSERT_EQUAL(meta.complete, 0);
    CU_ASSERT_EQUAL(meta.steps_done, 2);
    ll_trace_close(r);

    const char *resume[] = {"run", cfg, "-o", b, "--resume", "--quiet", NULL};
    CU_ASSERT_EQUAL_FATAL(exit_code(run_cli(resume, -1)), 0);
    CU_ASSERT_TRUE(exists("b.h5"));
    CU_ASSERT_FALSE(exists("b.h5.partial"));
    size_t na, nb;
    ll_trace_call *ra = read_rows("a.h5", &na, &meta);
    ll_trace_call *rb = read_rows("b.h5", &nb, &meta);
    CU_ASSERT_EQUAL_FATAL(na, nb);
    size_t same = 0;
    for (size_t i = 0; i < na; i++) same += same_measurements(&ra[i], &rb[i]);
    CU_ASSERT_EQUAL(same, na);
    free(ra);
    free(rb);
    // Nothing left to resume now.
    CU_ASSERT_NOT_EQUAL(exit_code(run_cli(resume, -1)), 0);
}

static void test_exit_codes(void) {
    char cfg[256], bad[256], out[256];
    write_file("exp.json", EXPERIMENT);
    path_in_dir(cfg, sizeof cfg, "exp.json");
    path_in_dir(bad, sizeof bad, "bad.json");
    path_in_dir(out, sizeof out, "c.h5");
    const char *missing[] = {"run", "no_such_experiment.json", "-o", out, NULL};
    CU_ASSERT_EQUAL(exit_code(run_cli(missing, -1)), 4);
    CU_ASSERT_TRUE(file_contains("err.txt", "no_such_experiment.json"));
    write_file("bad.json", "{\"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"treshold\": -5}]}");
    const char *badkey[] = {"run", bad, "-o", out, NULL};
    CU_ASSERT_EQUAL(exit_code(run_cli(badkey, -1)), 2);
    CU_ASSERT_TRUE(file_contains("err.txt", "bad.json"));
    CU_ASSERT_TRUE(file_contains("err.txt", "treshold"));
    const char *noargs[] = {"run", NULL};
    CU_ASSERT_EQUAL(exit_code(run_cli(noargs, -1)), 2);
    const char *help[] = {"run", "--help", NULL};
    CU_ASSERT_EQUAL(exit_code(run_cli(help, -1)), 0);
    CU_ASSERT_TRUE(file_contains("out.txt", "--resume"));
    CU_ASSERT_TRUE(file_contains("out.txt", "oracle"));
    const char *badbackend[] = {"run", cfg, "-o", out, "--backend", "tpu", NULL};
    CU_ASSERT_EQUAL(exit_code(run_cli(badbackend, -1)), 2);
    // Asking for CUDA where no GPU is usable is exit 7 (only checkable without a GPU).
    char name[128];
    int maj, min;
    ll_error err;
    if (ll_cuda_probe(name, sizeof name, &maj, &min, &err) != LL_OK) {
        const char *cuda[] = {"run", cfg, "-o", out, "--backend", "cuda", NULL};
        CU_ASSERT_EQUAL(exit_code(run_cli(cuda, -1)), 7);
        CU_ASSERT_TRUE(file_contains("err.txt", "GPU"));
        if (!ll_cuda_built()) CU_ASSERT_TRUE(file_contains("err.txt", "litelab was built without CUDA"));
    }
    CU_ASSERT_FALSE(exists("c.h5"));
}

static void test_dry_run(void) {
    char cfg[256], out[256];
    write_file("exp.json", EXPERIMENT);
    path_in_dir(cfg, sizeof cfg, "exp.json");
    path_in_dir(out, sizeof out, "dry.h5");
    const char *args[] = {"run", cfg, "-o", out, "--dry-run", NULL};
    CU_ASSERT_EQUAL(exit_code(run_cli(args, -1)), 0);
    CU_ASSERT_FALSE(exists("dry.h5"));
    CU_ASSERT_FALSE(exists("dry.h5.partial"));
    CU_ASSERT_TRUE(file_contains("out.txt", "calls"));
    CU_ASSERT_TRUE(file_contains("out.txt", "estimated time"));
    CU_ASSERT_TRUE(file_contains("out.txt", "dyn"));
}

static void test_capture(void) {
    char out[256];
    path_in_dir(out, sizeof out, "maps.h5");
    const char *args[] = {"capture", "--synthetic", "tiny", "--steps", "0,2", "--layers", "1", "-t", "32x32",
                          "-o", out, "--quiet", NULL};
    CU_ASSERT_EQUAL_FATAL(exit_code(run_cli(args, -1)), 0);
    ll_trace_reader *r;
    ll_trace_meta meta;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_trace_open(out, 0, &r, &meta, &err), LL_OK);
    int *pairs, n;
    CU_ASSERT_EQUAL_FATAL(ll_trace_list_maps(r, &pairs, &n, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    int seen02 = 0, seen21 = 0;
    for (int i = 0; i < n; i++) {
        seen02 |= pairs[2 * i] == 0 && pairs[2 * i + 1] == 1;
        seen21 |= pairs[2 * i] == 2 && pairs[2 * i + 1] == 1;
    }
    CU_ASSERT_TRUE(seen02 && seen21);
    free(pairs);
    ll_tile_map m = {0};
    CU_ASSERT_EQUAL_FATAL(ll_tile_map_alloc(&m, meta.shape.B, meta.shape.H, meta.shape.N / 32 + (meta.shape.N % 32 != 0),
                                            meta.shape.N / 32 + (meta.shape.N % 32 != 0), &err), LL_OK);
    CU_ASSERT_EQUAL(ll_trace_read_map(r, 2, 1, &m, &err), LL_OK);
    // Every query tile's largest weight sits in some key tile at exactly 0 (the row maximum).
    for (int h = 0; h < m.H; h++)
        for (int qt = 0; qt < m.q_tiles; qt++) {
            float best = -INFINITY;
            for (int kt = 0; kt < m.k_tiles; kt++) best = fmaxf(best, m.max_log2[ll_tile_map_index(&m, 0, h, qt, kt)]);
            CU_ASSERT_EQUAL(best, 0.0f);
        }
    ll_tile_map_free(&m);
    ll_trace_close(r);
    const char *bad[] = {"capture", "--synthetic", "tiny", "--steps", "9", "-o", out, NULL};
    CU_ASSERT_EQUAL(exit_code(run_cli(bad, -1)), 2);
}

// N = 273 tokens at 64-wide key tiles (5 tiles, the last partial) with
// tiles 1 and 3 must-skip: every write row needs 6 entries and holds 5. The
// fit rule (lib/skip_list.h) widens the rows instead of stopping the run
// (it exited 3 at step 0), and the trace is complete and valid.
static void test_rows_needing_the_fit_rule(void) {
    write_file("fit.json",
               "{\"name\": \"fit\", \"backend\": \"cpu\",\n"
               " \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 3, \"steps\": 3, \"layers\": 1,\n"
               "                \"frames\": 3, \"height\": 7, \"width\": 13},\n"
               " \"tiling\": {\"block_m\": 64, \"block_n\": 64}, \"must_skip\": \"64:128,192:256\",\n"
               " \"policies\": [{\"name\": \"lite\", \"kind\": \"lite\", \"threshold\": -5},\n"
               "              {\"name\": \"static\", \"kind\": \"static\", \"threshold\": -5, \"profile_steps\": 1}]}\n");
    char cfg[256], out[256];
    path_in_dir(cfg, sizeof cfg, "fit.json");
    path_in_dir(out, sizeof out, "fit.h5");
    const char *args[] = {"run", cfg, "-o", out, "--quiet", NULL};
    int st = run_cli(args, -1);
    if (exit_code(st) != 0) fprintf(stderr, "\n  litelab run exited %d\n", exit_code(st));
    CU_ASSERT_EQUAL_FATAL(exit_code(st), 0);
    CU_ASSERT_FALSE(exists("fit.h5.partial"));
    const char *validate[] = {"validate", out, NULL};
    CU_ASSERT_EQUAL(exit_code(run_cli(validate, -1)), 0);
    size_t n;
    ll_trace_meta meta;
    ll_trace_call *rows = read_rows("fit.h5", &n, &meta);
    CU_ASSERT_EQUAL(meta.complete, 1);
    CU_ASSERT_EQUAL(meta.shape.N, 273);
    CU_ASSERT_EQUAL(meta.steps, 3);
    free(rows);
}

int register_run_suite(void) {
    CU_pSuite s = CU_add_suite("run", suite_init, suite_clean);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "end to end on the CPU", test_end_to_end) ||
        !CU_add_test(s, "killed run resumes to the same rows", test_kill_and_resume) ||
        !CU_add_test(s, "exit codes", test_exit_codes) || !CU_add_test(s, "dry run", test_dry_run) ||
        !CU_add_test(s, "capture tile maps", test_capture) ||
        !CU_add_test(s, "rows needing the fit rule: the run completes (N = 273)", test_rows_needing_the_fit_rule))
        return CU_get_error();
    return CUE_SUCCESS;
}
