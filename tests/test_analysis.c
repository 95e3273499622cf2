// test_analysis.c: the report (analysis/report.h, stats.h, gnuplot.h):
// least squares against known lines, the Pareto front on hand-checkable
// points, the tables' CSV shape, and a report on small traces writing every
// expected file (PNG, SVG, Markdown, CSV, data files) with content; and the
// CI check: a tiny trace written by `litelab run` on the CPU backend, then
// `litelab report` on it, every output existing and parsing.
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "rng.h"
#include "skip_mask.h"
#include "stats.h"
#include "test_suites.h"
#include "tile_maps.h"
#include "trace.h"

// ---------------------------------------------------------------------------
// Statistics.

static void test_fit_exact_line(void) {
    double x[20], y[20];
    for (int i = 0; i < 20; i++) {
        x[i] = i * 0.05;
        y[i] = 7.5 - 3.25 * x[i];
    }
    ll_line_fit f;
    CU_ASSERT_EQUAL_FATAL(ll_fit_line(x, y, 20, &f), 0);
    CU_ASSERT_EQUAL(f.n, 20);
    CU_ASSERT_DOUBLE_EQUAL(f.slope, -3.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(f.intercept, 7.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(f.r2, 1.0, 1e-12);
}

static void test_fit_known_residuals(void) {
    // y = 2 + x with residuals +1, -1, +1, -1 at x = 0, 1, 2, 3: the
    // least-squares line is y = 2.6 + 0.6 x (hand computed below).
    double x[4] = {0, 1, 2, 3}, y[4] = {3, 2, 5, 4};
    ll_line_fit f;
    CU_ASSERT_EQUAL_FATAL(ll_fit_line(x, y, 4, &f), 0);
    // mean x 1.5, mean y 3.5; Sxy = (-1.5)(-0.5)+(-0.5)(-1.5)+(0.5)(1.5)+(1.5)(0.5) = 3; Sxx = 5
    CU_ASSERT_DOUBLE_EQUAL(f.slope, 0.6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(f.intercept, 3.5 - 0.6 * 1.5, 1e-12);
    // Syy = 0.25+2.25+2.25+0.25 = 5; SSres = Syy - slope*Sxy = 5 - 1.8 = 3.2
    CU_ASSERT_DOUBLE_EQUAL(f.r2, 1.0 - 3.2 / 5.0, 1e-12);
}

static void test_fit_random_line(void) {
    // Noisy points around a known line: the fit recovers it within the noise.
    ll_rng r;
    ll_rng_seed(&r, 42);
    enum { N = 4000 };
    static double x[N], y[N];
    for (int i = 0; i < N; i++) {
        x[i] = ll_rng_u01(&r);
        y[i] = 100.0 * (1 - x[i]) + 5.0 + 0.5 * ll_rng_normal(&r);
    }
    ll_line_fit f;
    CU_ASSERT_EQUAL_FATAL(ll_fit_line(x, y, N, &f), 0);
    CU_ASSERT_DOUBLE_EQUAL(f.slope, -100.0, 0.1);
    CU_ASSERT_DOUBLE_EQUAL(f.intercept, 105.0, 0.1);
    CU_ASSERT(f.r2 > 0.999);
}

static void test_fit_degenerate(void) {
    double x[3] = {1, 1, 1}, y[3] = {1, 2, 3};
    ll_line_fit f;
    CU_ASSERT_EQUAL(ll_fit_line(x, y, 3, &f), -1);  // no spread in x
    double x2[3] = {0, NAN, 2}, y2[3] = {1, 5, INFINITY};
    CU_ASSERT_EQUAL(ll_fit_line(x2, y2, 3, &f), -1);  // one usable pair
    CU_ASSERT_EQUAL(f.n, 1);
    double x3[3] = {0, 1, 2}, y3[3] = {4, 4, 4};
    CU_ASSERT_EQUAL(ll_fit_line(x3, y3, 3, &f), 0);
    CU_ASSERT_DOUBLE_EQUAL(f.slope, 0, 1e-15);
    CU_ASSERT(isnan(f.r2));  // no variance to explain
}

static void test_pareto_hand_points(void) {
    // gain (speedup), cost (error):
    //  A (1.0, 0.0)   dense: best error      -> front
    //  B (1.5, 0.01)                         -> front
    //  C (1.4, 0.02)  dominated by B
    //  D (2.0, 0.05)                         -> front
    //  E (2.0, 0.06)  dominated by D (same gain, worse cost)
    //  F (1.5, 0.01)  equal to B: neither dominates -> front
    //  G (NaN, 0.0)   never on the front
    //  H (3.0, 0.5)                          -> front
    double g[8] = {1.0, 1.5, 1.4, 2.0, 2.0, 1.5, NAN, 3.0}, c[8] = {0.0, 0.01, 0.02, 0.05, 0.06, 0.01, 0.0, 0.5};
    int on[8];
    CU_ASSERT_EQUAL(ll_pareto_front(g, c, 8, on), 5);
    int expect[8] = {1, 1, 0, 1, 0, 1, 0, 1};
    for (int i = 0; i < 8; i++) CU_ASSERT_EQUAL(on[i], expect[i]);
}

// ---------------------------------------------------------------------------
// Input built in memory (no trace file): two traces, dense and lite policies.

static ll_trace_call make_call(int policy, int step, int layer, int head, double kept, double dense_ms, float thr,
                               double noise) {
    ll_trace_call c = {0};
    c.policy = policy;
    c.step = step;
    c.layer = layer;
    c.head = head;
    c.threshold = thr;
    c.tiles_total = 1000;
    c.tiles_kept = (uint64_t)llround(kept * 1000);
    c.flops_dense = 1000000;
    c.flops_executed = (uint64_t)llround(kept * 1000000);
    c.gpu_ms = NAN;
    c.host_ms = dense_ms * (0.1 + 0.9 * kept) + noise;
    c.n_kernels = 1;
    c.tensor_work_ratio = NAN;
    c.rel_l2 = (1 - kept) * 0.01;
    c.max_abs = c.rel_l2;
    c.cosine = 1 - c.rel_l2 * c.rel_l2;
    c.worst_row_rel_l2 = 2 * c.rel_l2;
    c.skipped_mass = (1 - kept) * 0.001;
    return c;
}

typedef struct {
    ll_report_input in;
} mem_input;

static void build_memory_input(mem_input *m, int n_traces) {
    memset(m, 0, sizeof *m);
    m->in.n_traces = n_traces;
    m->in.traces = calloc((size_t)n_traces, sizeof(ll_report_trace));
    ll_rng r;
    ll_rng_seed(&r, 5);
    for (int t = 0; t < n_traces; t++) {
        ll_report_trace *tr = &m->in.traces[t];
        snprintf(tr->path, sizeof tr->path, "mem%d.h5", t);
        tr->meta.shape = (ll_shape){1, 4096, 4, 64, LL_BF16};
        tr->meta.tiling = (ll_tiling){128, 64};
        tr->meta.steps = 6;
        tr->meta.layers = 2;
        tr->meta.complete = 1;
        snprintf(tr->meta.backend, sizeof tr->meta.backend, "cpu");
        tr->n_policies = 3;
        tr->policies = calloc(3, sizeof(ll_trace_policy));
        snprintf(tr->policies[0].name, 64, "dense");
        snprintf(tr->policies[0].kind, 32, "dense");
        snprintf(tr->policies[1].name, 64, "lite_t%d", -10 + 3 * t);
        snprintf(tr->policies[1].kind, 32, "lite");
        snprintf(tr->policies[2].name, 64, "blasst");
        snprintf(tr->policies[2].kind, 32, "skip_softmax");
        snprintf(tr->policies[2].params_json, 512, "{\"threshold\": %d}", -8 + t);
        tr->calls = calloc(3 * 6 * 2 * 3, sizeof(ll_trace_call));
        for (int p = 0; p < 3; p++)
            for (int s = 0; s < 6; s++)
                for (int l = 0; l < 2; l++) {
                    double kept = p == 0 ? 1.0 : p == 1 ? 1.0 - (0.1 + 0.05 * t) * s : 0.7 - 0.02 * t;
                    float thr = p == 1 ? (float)(-10 + 3 * t) : NAN;
                    tr->calls[tr->n_calls++] = make_call(p, s, l, -1, kept, 20.0, thr, 0.2 * ll_rng_normal(&r));
                    if (p == 1)  // per-head rows for the distributions
                        for (int h = 0; h < 2; h++)
                            tr->calls[tr->n_calls++] = make_call(p, s, l, h, kept + (h ? 0.05 : -0.05), 10.0, thr, 0);
                }
    }
}

static void free_memory_input(mem_input *m) {
    for (int t = 0; t < m->in.n_traces; t++) {
        free(m->in.traces[t].policies);
        free(m->in.traces[t].calls);
    }
    free(m->in.traces);
}

static void test_summaries(void) {
    mem_input m;
    build_memory_input(&m, 2);
    ll_policy_summary *p;
    ll_step_summary *s;
    int n_p;
    size_t n_s;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_report_summarize(&m.in, &p, &n_p, &s, &n_s, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(n_p, 6);
    CU_ASSERT_EQUAL(n_s, 6 * 6);
    // "dense" and "blasst" appear in both traces: labels carry the file name.
    CU_ASSERT_STRING_EQUAL(p[0].label, "dense [mem0.h5]");
    CU_ASSERT_STRING_EQUAL(p[1].label, "lite_t-10");
    CU_ASSERT(p[0].is_dense && !p[1].is_dense);
    CU_ASSERT_EQUAL(p[1].calls, 12);  // whole-layer rows only
    CU_ASSERT_EQUAL(p[1].per_head_calls, 0);
    CU_ASSERT_EQUAL(p[0].runtime_source, LL_RUNTIME_HOST);
    CU_ASSERT_DOUBLE_EQUAL(p[0].skipped_ratio, 0.0, 1e-12);
    // lite of trace 0: kept 1 - 0.1 s over s = 0..5: mean kept 0.75, skipped 0.25
    CU_ASSERT_DOUBLE_EQUAL(p[1].mean_kept, 0.75, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p[1].skipped_ratio, 0.25, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p[1].threshold, -10.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p[2].threshold, -8.0, 1e-12);  // from the params
    CU_ASSERT(isnan(p[0].threshold));
    CU_ASSERT_DOUBLE_EQUAL(p[0].speedup, 1.0, 1e-12);
    CU_ASSERT(p[1].speedup > 1.2);
    CU_ASSERT_DOUBLE_EQUAL(p[1].speedup, p[0].mean_call_ms / p[1].mean_call_ms, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p[1].max_rel_l2, 0.5 * 0.01, 1e-9);
    // per step: lite step 3 of trace 0 skips 0.3
    for (size_t i = 0; i < n_s; i++)
        if (s[i].summary == 1 && s[i].step == 3) {
            CU_ASSERT_DOUBLE_EQUAL(s[i].skipped_ratio, 0.3, 1e-9);
            CU_ASSERT_EQUAL(s[i].calls, 2);
        }
    free(p);
    free(s);
    free_memory_input(&m);
}

// Splits one CSV line into fields (quotes honoured); returns the count.
static int csv_fields(const char *line) {
    int n = 1, quoted = 0;
    for (const char *c = line; *c && *c != '\n'; c++) {
        if (*c == '"') quoted = !quoted;
        else if (*c == ',' && !quoted) n++;
    }
    return n;
}

static int count_csv(const char *path, int expect_columns, int *rows) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int ok = 1;
    *rows = 0;
    while (fgets(line, sizeof line, f)) {
        if (csv_fields(line) != expect_columns) ok = 0;
        (*rows)++;
    }
    fclose(f);
    return ok;
}

static long file_size(const char *dir, const char *name) {
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

static void test_tables_parse(void) {
    mem_input m;
    build_memory_input(&m, 2);
    // A label with a comma and a quote must stay one CSV field.
    snprintf(m.in.traces[1].policies[1].name, 64, "lite \"a,b\"");
    char dir[] = "/tmp/litelab_tables_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    ll_policy_summary *p;
    ll_step_summary *s;
    int n_p;
    size_t n_s;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_report_summarize(&m.in, &p, &n_p, &s, &n_s, &err), LL_OK);
    CU_ASSERT_EQUAL_FATAL(ll_report_write_tables(&m.in, p, n_p, s, n_s, dir, 0, &err), LL_OK);
    char path[256];
    int rows;
    snprintf(path, sizeof path, "%s/policies.csv", dir);
    CU_ASSERT_EQUAL(count_csv(path, LL_POLICY_TABLE_COLUMNS, &rows), 1);
    CU_ASSERT_EQUAL(rows, 1 + n_p);
    snprintf(path, sizeof path, "%s/steps.csv", dir);
    CU_ASSERT_EQUAL(count_csv(path, LL_STEP_TABLE_COLUMNS, &rows), 1);
    CU_ASSERT_EQUAL(rows, 1 + (int)n_s);
    CU_ASSERT(file_size(dir, "policies.md") > 0);
    CU_ASSERT(file_size(dir, "steps.md") > 0);
    // Markdown rows have as many cells as the header.
    snprintf(path, sizeof path, "%s/policies.md", dir);
    FILE *f = fopen(path, "r");
    char line[4096];
    int header_pipes = -1;
    while (f && fgets(line, sizeof line, f)) {
        int pipes = 0;
        for (char *c = line; *c; c++)
            if (*c == '|' && (c == line || c[-1] != '\\')) pipes++;
        if (header_pipes < 0) header_pipes = pipes;
        CU_ASSERT_EQUAL(pipes, header_pipes);
    }
    if (f) fclose(f);
    free(p);
    free(s);
    free_memory_input(&m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static int have_gnuplot(void) { return system("gnuplot -e 'exit' >/dev/null 2>&1") == 0; }

static void check_figure(const char *dir, const char *stem) {
    char name[256];
    snprintf(name, sizeof name, "%s.png", stem);
    CU_ASSERT(file_size(dir, name) > 1000);
    snprintf(name, sizeof name, "%s.svg", stem);
    CU_ASSERT(file_size(dir, name) > 1000);
}

static void test_report_memory(void) {
    CU_ASSERT_FATAL(have_gnuplot());
    mem_input m;
    build_memory_input(&m, 2);
    char dir[] = "/tmp/litelab_report_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char out[256];
    snprintf(out, sizeof out, "%s/sub/out", dir);  // created by the report
    ll_report_options o = {.out_dir = out, .heatmap_layer = -1};
    ll_error err;
    ll_status st = ll_report_write(&m.in, &o, &err);
    if (st != LL_OK) fprintf(stderr, "\nreport: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, LL_OK);
    check_figure(out, "runtime_vs_skipped");
    check_figure(out, "skipped_per_step");
    check_figure(out, "threshold_sweep");
    check_figure(out, "error_vs_speedup");
    check_figure(out, "sparsity_lite_t-10");
    check_figure(out, "sparsity_blasst__mem1.h5_");
    CU_ASSERT(file_size(out, "report.md") > 500);
    CU_ASSERT(file_size(out, "replot.sh") > 100);
    CU_ASSERT(file_size(out, "runtime_vs_skipped.dat") > 100);
    CU_ASSERT(file_size(out, "policies.csv") > 100);
    CU_ASSERT(file_size(out, "steps.csv") > 100);
    CU_ASSERT_EQUAL(file_size(out, "mask_heatmap.png"), -1);  // no masks in memory: not drawn
    // report.md names the figures and says what was not drawn.
    char path[512], text[65536];
    snprintf(path, sizeof path, "%s/report.md", out);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[n] = 0;
    if (f) fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "runtime_vs_skipped.png"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "mask_heatmap"));
    // replot.sh re-draws the same figures.
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm %s/threshold_sweep.png && sh %s/replot.sh >/dev/null 2>&1", out, out);
    CU_ASSERT_EQUAL(system(cmd), 0);
    check_figure(out, "threshold_sweep");
    free_memory_input(&m);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_report_bad_options(void) {
    mem_input m;
    build_memory_input(&m, 1);
    ll_error err;
    ll_report_options o = {.out_dir = NULL};
    CU_ASSERT_EQUAL(ll_report_write(&m.in, &o, &err), LL_ERR_USAGE);
    o.out_dir = "/proc/litelab_cannot_write_here";
    CU_ASSERT_EQUAL(ll_report_write(&m.in, &o, &err), LL_ERR_IO);
    char dir[] = "/tmp/litelab_report_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    o.out_dir = dir;
    o.scripts_dir = "/nonexistent/scripts";
    CU_ASSERT_EQUAL(ll_report_write(&m.in, &o, &err), LL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/scripts"));
    const char *none[1] = {"/nonexistent/trace.h5"};
    ll_report_input in;
    CU_ASSERT_NOT_EQUAL(ll_report_load(none, 1, &in, &err), LL_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/trace.h5"));
    free_memory_input(&m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}


// ---------------------------------------------------------------------------
// A real trace (written with the trace writer): every figure, the heatmaps
// from its masks over its tile maps included, and the CLI.

// Tile and FLOP counts that agree with the trace's shape (the writer checks them).
static void set_tile_counts(ll_trace_call *c, uint64_t tiles, uint64_t kept, uint64_t tile_flops) {
    c->tiles_total = tiles;
    c->tiles_kept = kept;
    c->flops_dense = tiles * tile_flops;
    c->flops_executed = kept * tile_flops;
}

static ll_status write_small_trace(const char *path, ll_error *err) {
    ll_trace_meta meta = {0};
    snprintf(meta.backend, sizeof meta.backend, "cpu");
    snprintf(meta.kernel, sizeof meta.kernel, "cpu-reference");
    snprintf(meta.counters_status, sizeof meta.counters_status, "not available on the CPU backend");
    meta.config_json = "{\"policies\": []}";
    snprintf(meta.experiment, sizeof meta.experiment, "analysis-test");
    snprintf(meta.trajectory, sizeof meta.trajectory, "handmade");
    meta.shape = (ll_shape){1, 256, 2, 64, LL_BF16};
    meta.steps = 5;
    meta.layers = 2;
    meta.tiling = (ll_tiling){32, 16};
    meta.encoding = LL_END_EXCLUSIVE;
    meta.softmax_scale = 0.125f;
    ll_trace_policy pol[3] = {{.name = "dense", .kind = "dense", .params_json = "{}"},
                              {.name = "lite_t-8", .kind = "lite", .params_json = "{\"threshold\": -8}"},
                              {.name = "lite_t-4", .kind = "lite", .params_json = "{\"threshold\": -4}"}};
    ll_trace_writer *w;
    LL_TRY(ll_trace_create(path, &meta, pol, 3, &w, err));
    // 256 tokens in 32x16 tiles, none partial: every tile costs 4 * 32 * 16 * 64 FLOPs.
    enum { Q = 8, K = 16, TILE_FLOPS = 4 * 32 * 16 * 64 };
    ll_skip_mask m = {0};
    ll_tile_map map = {0};
    ll_status st = ll_skip_mask_alloc(&m, 1, 2, Q, K, err);
    if (st == LL_OK) st = ll_tile_map_alloc(&map, 1, 2, Q, K, err);
    for (int s = 0; s < 5 && st == LL_OK; s++) {
        for (int l = 0; l < 2 && st == LL_OK; l++) {
            // Banded attention: tiles far from the diagonal are small.
            for (int h = 0; h < 2; h++)
                for (int q = 0; q < Q; q++)
                    for (int k = 0; k < K; k++) {
                        float d = fabsf((float)k / 2 - q);
                        size_t i = ll_tile_map_index(&map, 0, h, q, k);
                        map.max_log2[i] = d < 0.5f ? 0.0f : -(1.0f + s) * d;
                        map.mass[i] = 0.25f * exp2f(map.max_log2[i]);
                    }
            st = ll_trace_add_map(w, s, l, &map, err);
            for (int p = 0; p < 3 && st == LL_OK; p++) {
                float thr = p == 1 ? -8.0f : p == 2 ? -4.0f : NAN;
                ll_skip_mask_clear(&m);
                uint64_t kept_head[2] = {0, 0};
                for (int h = 0; h < 2; h++)
                    for (int q = 0; q < Q; q++)
                        for (int k = 0; k < K; k++) {
                            int skip = p && s > 0 && k < K - 1 && -(float)s * fabsf((float)k / 2 - q) <= thr;
                            ll_skip_mask_set(&m, 0, h, q, k, skip);
                            kept_head[h] += !skip;
                        }
                uint64_t kept = kept_head[0] + kept_head[1];
                double kf = (double)kept / (2.0 * Q * K);
                ll_trace_call c = make_call(p, s, l, -1, kf, 3.0, thr, 0.01 * (p + s + l));
                set_tile_counts(&c, 2 * Q * K, kept, TILE_FLOPS);
                st = ll_trace_add_call(w, &c, err);
                for (int h = 0; h < 2 && st == LL_OK; h++) {
                    ll_trace_call ch = make_call(p, s, l, h, (double)kept_head[h] / (Q * K), 1.5, thr, 0);
                    set_tile_counts(&ch, Q * K, kept_head[h], TILE_FLOPS);
                    st = ll_trace_add_call(w, &ch, err);
                }
                if (st == LL_OK && p) st = ll_trace_add_mask(w, p, s, l, &m, err);
            }
        }
        if (st == LL_OK) st = ll_trace_end_step(w, s, err);
    }
    ll_skip_mask_free(&m);
    ll_tile_map_free(&map);
    if (st != LL_OK) {
        ll_trace_abandon(w);
        return st;
    }
    return ll_trace_finish(w, err);
}

static void test_report_trace(void) {
    CU_ASSERT_FATAL(have_gnuplot());
    char dir[] = "/tmp/litelab_report_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char trace[256], out[256];
    snprintf(trace, sizeof trace, "%s/small.h5", dir);
    snprintf(out, sizeof out, "%s/report", dir);
    ll_error err;
    ll_status st = write_small_trace(trace, &err);
    if (st != LL_OK) fprintf(stderr, "\ntrace: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, LL_OK);
    const char *paths[1] = {trace};
    ll_report_input in;
    CU_ASSERT_EQUAL_FATAL(ll_report_load(paths, 1, &in, &err), LL_OK);
    CU_ASSERT_EQUAL(in.traces[0].n_policies, 3);
    CU_ASSERT_EQUAL(in.traces[0].n_calls, 3 * 5 * 2 * 3);
    ll_report_options o = {.out_dir = out, .heatmap_layer = 1, .heatmap_head = 1, .heatmap_policy = "lite_t-4"};
    st = ll_report_write(&in, &o, &err);
    if (st != LL_OK) fprintf(stderr, "\nreport: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, LL_OK);
    const char *figs[] = {"runtime_vs_skipped", "skipped_per_step", "threshold_sweep", "error_vs_speedup",
                          "mask_heatmap", "sparsity_lite_t-8", "sparsity_lite_t-4"};
    for (int i = 0; i < 7; i++) check_figure(out, figs[i]);
    const char *files[] = {"report.md", "policies.md", "policies.csv", "steps.md", "steps.csv", "replot.sh",
                           "mask_heatmap_0.dat", "runtime_vs_skipped.dat"};
    for (int i = 0; i < 8; i++) CU_ASSERT(file_size(out, files[i]) > 0);
    // A policy without masks, a head out of range: clear errors (into the
    // same folder: --force, or the non-empty folder would be the error).
    o.force = 1;
    o.heatmap_policy = "dense";
    CU_ASSERT_EQUAL(ll_report_write(&in, &o, &err), LL_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "dense"));
    o.heatmap_policy = NULL;
    o.heatmap_head = 7;
    CU_ASSERT_EQUAL(ll_report_write(&in, &o, &err), LL_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--heatmap-head 7"));
    ll_report_input_free(&in);

    // The command line, and its usage errors.
    char cmd[1024];
    snprintf(cmd, sizeof cmd, LITELAB " report %s -o %s/cli -q --heatmap-steps 1,4", trace, dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    snprintf(out, sizeof out, "%s/cli", dir);
    check_figure(out, "mask_heatmap");
    CU_ASSERT(file_size(out, "mask_heatmap_1.dat") > 0);
    CU_ASSERT_EQUAL(WEXITSTATUS(system(LITELAB " report >/dev/null 2>&1")), 2);
    snprintf(cmd, sizeof cmd, LITELAB " report %s >/dev/null 2>&1", trace);
    CU_ASSERT_EQUAL(WEXITSTATUS(system(cmd)), 2);  // no -o
    snprintf(cmd, sizeof cmd, LITELAB " report %s/missing.h5 -o %s/x >/dev/null 2>&1", dir, dir);
    CU_ASSERT_NOT_EQUAL(WEXITSTATUS(system(cmd)), 0);
    snprintf(cmd, sizeof cmd, LITELAB " report %s -o %s/x --heatmap-steps 1,a >/dev/null 2>&1", trace, dir);
    CU_ASSERT_EQUAL(WEXITSTATUS(system(cmd)), 2);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

// ---------------------------------------------------------------------------
// CI: `litelab run` on the CPU backend writes a tiny trace, `litelab report` turns it into tables
// and figures; every output exists and parses (CSV column and row counts, report.md, images).

#define CALLS_CSV_COLUMNS 19

static void test_report_cpu_run(void) {
    CU_ASSERT_FATAL(have_gnuplot());
    char dir[] = "/tmp/litelab_cirun_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char cfg[256], trace[256], out[256], cmd[1200], path[512];
    snprintf(cfg, sizeof cfg, "%s/ci.json", dir);
    snprintf(trace, sizeof trace, "%s/ci.h5", dir);
    snprintf(out, sizeof out, "%s/report", dir);
    FILE *f = fopen(cfg, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    // tiny: 4 steps x 2 layers, 2 heads, 192 tokens; 16x16 tiles so that lists have 12 x 12 tiles.
    fputs("{\"name\": \"ci\", \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 1}, \"backend\": \"cpu\",\n"
          " \"tiling\": {\"block_m\": 16, \"block_n\": 16}, \"record\": {\"per_head\": true,\n"
          "   \"masks\": {\"steps\": \"all\", \"layers\": [0]}, \"tile_maps\": {\"steps\": [0, 3], \"layers\": [0]}},\n"
          " \"policies\": [{\"name\": \"dense\", \"kind\": \"dense\"},\n"
          "   {\"name\": \"lite_t-6\", \"kind\": \"lite\", \"threshold\": -6},\n"
          "   {\"name\": \"lite_t-2\", \"kind\": \"lite\", \"threshold\": -2},\n"
          "   {\"name\": \"oracle_t-6\", \"kind\": \"oracle\", \"threshold\": -6}]}\n",
          f);
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
    snprintf(cmd, sizeof cmd, LITELAB " run %s -o %s -q", cfg, trace);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    snprintf(cmd, sizeof cmd, LITELAB " report %s -o %s -q", trace, out);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    // 4 policies x 4 steps x 2 layers whole-layer rows, and 2 per-head rows each.
    int rows, n_calls = 4 * 4 * 2;
    snprintf(path, sizeof path, "%s/policies.csv", out);
    CU_ASSERT_EQUAL(count_csv(path, LL_POLICY_TABLE_COLUMNS, &rows), 1);
    CU_ASSERT_EQUAL(rows, 1 + 4);
    snprintf(path, sizeof path, "%s/steps.csv", out);
    CU_ASSERT_EQUAL(count_csv(path, LL_STEP_TABLE_COLUMNS, &rows), 1);
    CU_ASSERT_EQUAL(rows, 1 + 4 * 4);
    snprintf(path, sizeof path, "%s/calls.csv", out);
    CU_ASSERT_EQUAL(count_csv(path, CALLS_CSV_COLUMNS, &rows), 1);
    CU_ASSERT_EQUAL(rows, 1 + n_calls * 3);
    // The calls agree with the trace: every lite row keeps at most all tiles, dense keeps all.
    f = fopen(path, "r");
    char line[4096];
    int dense_rows = 0, checked = 0;
    while (f && fgets(line, sizeof line, f)) {
        char trace_name[64], policy[64];
        int step, layer, head;
        unsigned long long total, kept;
        if (sscanf(line, "%63[^,],%63[^,],%d,%d,%d,%*[^,],%*[^,],%*[^,],%*[^,],%llu,%llu", trace_name, policy, &step,
                   &layer, &head, &total, &kept) != 7)
            continue;  // the header
        checked++;
        CU_ASSERT(kept <= total);
        CU_ASSERT(step >= 0 && step < 4 && layer >= 0 && layer < 2 && head >= -1 && head < 2);
        if (!strcmp(policy, "dense")) {
            CU_ASSERT_EQUAL(kept, total);
            dense_rows++;
        }
    }
    if (f) fclose(f);
    CU_ASSERT_EQUAL(checked, n_calls * 3);
    CU_ASSERT_EQUAL(dense_rows, 4 * 2 * 3);
    CU_ASSERT(file_size(out, "report.md") > 500);
    CU_ASSERT(file_size(out, "policies.md") > 0);
    CU_ASSERT(file_size(out, "steps.md") > 0);
    CU_ASSERT(file_size(out, "replot.sh") > 100);
    const char *figs[] = {"runtime_vs_skipped", "skipped_per_step", "threshold_sweep", "error_vs_speedup",
                          "mask_heatmap", "sparsity_lite_t-6", "sparsity_lite_t-2", "sparsity_oracle_t-6"};
    for (int i = 0; i < 8; i++) check_figure(out, figs[i]);
    // The trace itself validates.
    snprintf(cmd, sizeof cmd, LITELAB " validate %s >/dev/null", trace);
    CU_ASSERT_EQUAL(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

int register_analysis_suite(void) {
    CU_pSuite s = CU_add_suite("analysis", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "least squares: exact line", test_fit_exact_line) ||
        !CU_add_test(s, "least squares: hand-computed residuals", test_fit_known_residuals) ||
        !CU_add_test(s, "least squares: noisy known line", test_fit_random_line) ||
        !CU_add_test(s, "least squares: degenerate inputs", test_fit_degenerate) ||
        !CU_add_test(s, "Pareto front: hand-checkable points", test_pareto_hand_points) ||
        !CU_add_test(s, "summaries per policy and step", test_summaries) ||
        !CU_add_test(s, "tables: CSV columns, Markdown cells", test_tables_parse) ||
        !CU_add_test(s, "report from memory: every file written", test_report_memory) ||
        !CU_add_test(s, "report: bad options and files", test_report_bad_options) ||
        !CU_add_test(s, "report from a trace: heatmaps, CLI", test_report_trace) ||
        !CU_add_test(s, "CI: litelab run on the CPU, then report: outputs exist and parse", test_report_cpu_run))
        return CU_get_error();
    return CUE_SUCCESS;
}
