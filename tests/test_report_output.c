// test_report_output.c: where `litelab report` writes and in what form:
// --format csv|json|md (the JSON in NVBench's style: one state per policy and
// per step, axis values and summaries that agree with the summaries), `-o -`
// (one table on stdout, never a file named "-"), a non-empty folder refused
// without --force and cleaned of the old report's files with it, and the
// progress options (--log, -q).
#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"
#include "test_files.h"
#include "test_suites.h"
#include "tiny_trace.h"

static char work[] = "/tmp/litelab_report_out_XXXXXX";
static char trace[300], litelab[PATH_MAX];  // litelab: absolute, for commands run elsewhere

static int setup(void) {
    if (!realpath(LITELAB, litelab)) return -1;
    return mkdtemp(work) && !tt_make_tiny_trace(work, trace, sizeof trace) ? 0 : -1;
}

static int teardown(void) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work);
    return system(cmd) == 0 ? 0 : -1;
}

// Runs a shell command built printf-style; its exit status.
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[3000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static int exists(const char *dir, const char *name) {
    char p[700];
    tf_path(p, sizeof p, dir, name);
    return tf_exists(p);
}

// The value of a state's summary (its first datum), NULL when absent.
static const cJSON *summary_value(const cJSON *state, const char *tag) {
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(state, "summaries")) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(s, "tag");
        if (cJSON_IsString(t) && !strcmp(t->valuestring, tag)) {
            const cJSON *d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "data"), 0);
            return cJSON_GetObjectItemCaseSensitive(d, "value");
        }
    }
    return NULL;
}

static const char *axis_value(const cJSON *state, const char *axis) {
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(state, "axis_values")) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "name"), *v = cJSON_GetObjectItemCaseSensitive(a, "value");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, axis)) return cJSON_IsString(v) ? v->valuestring : "";
    }
    return NULL;
}

// The JSON states carry the same numbers as the summaries; NaN is null.
static void test_json_states(void) {
    const char *paths[1] = {trace};
    ll_report_input in;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_report_load(paths, 1, &in, &err), LL_OK);
    ll_policy_summary *p;
    ll_step_summary *s;
    int n_p;
    size_t n_s;
    CU_ASSERT_EQUAL_FATAL(ll_report_summarize(&in, &p, &n_p, &s, &n_s, &err), LL_OK);
    p[1].speedup = NAN;  // as without a dense policy: must come out as null
    char path[400];
    snprintf(path, sizeof path, "%s/states.json", work);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(ll_report_print_table(f, path, &in, p, n_p, s, n_s, LL_TABLE_POLICIES, LL_FORMAT_JSON, &err), LL_OK);
    fclose(f);
    char *text = tf_read_all(path, NULL);
    cJSON *doc = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const cJSON *traces = cJSON_GetObjectItemCaseSensitive(doc, "traces");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(traces), 1);
    const cJSON *caption = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(traces, 0), "caption");
    CU_ASSERT(cJSON_IsString(caption) && strstr(caption->valuestring, "B=1 N=192 H=2 D=64"));
    const cJSON *benches = cJSON_GetObjectItemCaseSensitive(doc, "benchmarks");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(benches), 2);
    const cJSON *pol = cJSON_GetArrayItem(benches, 0), *steps = cJSON_GetArrayItem(benches, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(pol, "name")->valuestring, "policies");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(steps, "name")->valuestring, "steps");
    const cJSON *states = cJSON_GetObjectItemCaseSensitive(pol, "states");
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(states), n_p);
    CU_ASSERT_EQUAL(n_p, TINY_TRACE_POLICIES);
    for (int i = 0; i < n_p; i++) {
        const cJSON *st = cJSON_GetArrayItem(states, i);
        CU_ASSERT_STRING_EQUAL(axis_value(st, "policy"), p[i].label);
        CU_ASSERT_STRING_EQUAL(axis_value(st, "trace"), "tiny.h5");
        const cJSON *skipped = summary_value(st, "skipped_flop_ratio"), *calls = summary_value(st, "calls");
        CU_ASSERT(cJSON_IsNumber(skipped) && fabs(skipped->valuedouble - p[i].skipped_ratio) < 1e-12);
        CU_ASSERT(cJSON_IsNumber(calls) && calls->valuedouble == (double)p[i].calls);
        const cJSON *speedup = summary_value(st, "speedup_vs_dense");
        CU_ASSERT(i == 1 ? cJSON_IsNull(speedup) : cJSON_IsNumber(speedup));
    }
    // One state per (policy, step), the step an int64 axis.
    const cJSON *step_states = cJSON_GetObjectItemCaseSensitive(steps, "states");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(step_states), (int)n_s);
    CU_ASSERT_EQUAL(n_s, (size_t)TINY_TRACE_POLICIES * TINY_TRACE_STEPS);
    const cJSON *last = cJSON_GetArrayItem(step_states, (int)n_s - 1), *a;
    int saw_step = 0;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(last, "axis_values")) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(a, "name")->valuestring, "step")) continue;
        saw_step = 1;
        CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItemCaseSensitive(a, "type")->valuestring, "int64");
        CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(a, "value")->valuedouble, s[n_s - 1].step);
    }
    CU_ASSERT(saw_step);
    cJSON_Delete(doc);
    free(text);
    free(p);
    free(s);
    ll_report_input_free(&in);
}

// -o -: the table on stdout, in the format asked; no file named "-".
static void test_stdout(void) {
    char out[400];
    snprintf(out, sizeof out, "%s/stdout", work);
    CU_ASSERT_EQUAL_FATAL(sh("mkdir -p %s", out), 0);
    CU_ASSERT_EQUAL(sh("cd %s && %s report %s -o - > policies.out", out, litelab, trace), 0);
    CU_ASSERT_FALSE(exists(out, "-"));
    char path[500];
    snprintf(path, sizeof path, "%s/policies.out", out);
    char *md = tf_read_all(path, NULL);
    CU_ASSERT(md && !strncmp(md, "| trace | policy | kind |", 25));
    CU_ASSERT(md && strstr(md, "| tiny.h5 | lite_t-2 |"));
    free(md);
    CU_ASSERT_EQUAL(sh("cd %s && %s report %s -o - --format csv --table steps > steps.out", out, litelab, trace), 0);
    snprintf(path, sizeof path, "%s/steps.out", out);
    char *csv = tf_read_all(path, NULL);
    CU_ASSERT(csv && !strncmp(csv, "policy,step,calls,", 18));
    int lines = 0;
    for (char *c = csv; c && *c; c++) lines += *c == '\n';
    CU_ASSERT_EQUAL(lines, 1 + TINY_TRACE_POLICIES * TINY_TRACE_STEPS);
    free(csv);
    CU_ASSERT_EQUAL(sh("cd %s && %s report %s -o - --format json > doc.json", out, litelab, trace), 0);
    snprintf(path, sizeof path, "%s/doc.json", out);
    char *json = tf_read_all(path, NULL);
    cJSON *doc = cJSON_Parse(json);
    CU_ASSERT_PTR_NOT_NULL(doc);
    cJSON_Delete(doc);
    free(json);
    CU_ASSERT_FALSE(exists(out, "-"));
    // One format only; the calls are CSV only; --table only with -o -.
    CU_ASSERT_EQUAL(sh(LITELAB " report %s -o - --format csv,md >/dev/null 2>%s/err", trace, out), 2);
    CU_ASSERT_EQUAL(sh(LITELAB " report %s -o - --table calls --format md >/dev/null 2>%s/err", trace, out), 2);
    CU_ASSERT_EQUAL(sh(LITELAB " report %s -o %s/t --table steps >/dev/null 2>&1", trace, out), 2);
    CU_ASSERT_EQUAL(sh(LITELAB " report %s -o - --format xml >/dev/null 2>%s/err", trace, out), 2);
}

// A folder that holds anything is refused; --force removes the old report's
// files (a figure of a policy that is gone included) and keeps the rest.
static void test_folder_force(void) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/old", work);
    CU_ASSERT_EQUAL_FATAL(sh("mkdir -p %s && touch %s/sparsity_gone.png %s/sparsity_gone.svg %s/notes.txt", dir, dir,
                             dir, dir),
                          0);
    CU_ASSERT_EQUAL(sh(LITELAB " report %s -o %s --no-figures -q 2>/dev/null", trace, dir), 2);
    CU_ASSERT(exists(dir, "sparsity_gone.png"));
    CU_ASSERT_FALSE(exists(dir, "report.md"));
    char err[500];
    snprintf(err, sizeof err, "%s/err.txt", work);
    CU_ASSERT_EQUAL(sh(LITELAB " report %s -o %s -q 2>%s", trace, dir, err), 2);
    char *msg = tf_read_all(err, NULL);
    CU_ASSERT(msg && strstr(msg, "not empty") && strstr(msg, "--force") && strstr(msg, dir));
    free(msg);
    CU_ASSERT_EQUAL(sh(LITELAB " report %s -o %s --force -q", trace, dir), 0);
    CU_ASSERT_FALSE(exists(dir, "sparsity_gone.png"));
    CU_ASSERT_FALSE(exists(dir, "sparsity_gone.svg"));
    CU_ASSERT(exists(dir, "notes.txt"));
    CU_ASSERT(exists(dir, "report.md"));
    CU_ASSERT(exists(dir, "sparsity_lite_t-2.png"));
    // An existing empty folder is fine.
    snprintf(dir, sizeof dir, "%s/empty", work);
    CU_ASSERT_EQUAL(sh("mkdir -p %s", dir), 0);
    CU_ASSERT_EQUAL(sh(LITELAB " report %s -o %s --no-figures -q", trace, dir), 0);
}

// --format picks the table files; report.md holds the policy table anyway.
static void test_formats(void) {
    char dir[400];
    snprintf(dir, sizeof dir, "%s/md_only", work);
    CU_ASSERT_EQUAL_FATAL(sh(LITELAB " report %s -o %s --format md --no-figures -q", trace, dir), 0);
    CU_ASSERT(exists(dir, "policies.md") && exists(dir, "steps.md") && exists(dir, "report.md"));
    CU_ASSERT_FALSE(exists(dir, "policies.csv") || exists(dir, "calls.csv") || exists(dir, "report.json"));
    char path[500];
    snprintf(path, sizeof path, "%s/report.md", dir);
    char *md = tf_read_all(path, NULL);
    CU_ASSERT(md && strstr(md, "| tiny.h5 | lite_t-6 |"));
    free(md);
    snprintf(dir, sizeof dir, "%s/all", work);
    CU_ASSERT_EQUAL_FATAL(sh(LITELAB " report %s -o %s --no-figures -q", trace, dir), 0);
    CU_ASSERT(exists(dir, "policies.csv") && exists(dir, "calls.csv") && exists(dir, "report.json") &&
              exists(dir, "policies.md"));
}

// --log records the command and its outcome; -q prints nothing.
static void test_report_log_quiet(void) {
    char dir[400], log[400];
    snprintf(dir, sizeof dir, "%s/logged", work);
    snprintf(log, sizeof log, "%s/report.log", work);
    char cmd[1500];
    snprintf(cmd, sizeof cmd, LITELAB " report %s -o %s -q --log %s > %s/q.out 2>&1", trace, dir, log, work);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    char path[500];
    snprintf(path, sizeof path, "%s/q.out", work);
    char *out = tf_read_all(path, NULL);
    CU_ASSERT(out && out[0] == 0);
    free(out);
    char *text = tf_read_all(log, NULL);
    CU_ASSERT(text && strstr(text, "report: started: litelab report"));
    CU_ASSERT(text && strstr(text, "report: figure 1: runtime_vs_skipped"));
    CU_ASSERT(text && strstr(text, "report: finished"));
    free(text);
    // A failure is logged with its message.
    snprintf(cmd, sizeof cmd, LITELAB " report %s -o %s -q --log %s 2>/dev/null", trace, dir, log);
    CU_ASSERT_EQUAL(WEXITSTATUS(system(cmd)), 2);
    text = tf_read_all(log, NULL);
    CU_ASSERT(text && strstr(text, "report: failed:") && strstr(text, "not empty"));
    free(text);
}

int register_report_output_suite(void) {
    CU_pSuite s = CU_add_suite("report_output", setup, teardown);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "--format json: NVBench-style states agree with the summaries", test_json_states) ||
        !CU_add_test(s, "-o -: one table on stdout, no file named -", test_stdout) ||
        !CU_add_test(s, "non-empty folder refused; --force removes stale report files", test_folder_force) ||
        !CU_add_test(s, "--format picks the table files", test_formats) ||
        !CU_add_test(s, "--log records command and outcome; -q prints nothing", test_report_log_quiet))
        return CU_get_error();
    return 0;
}
