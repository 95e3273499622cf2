// test_progress.c: progress that batch jobs and `tee` logs can read
// (lib/progress.h): whole lines into pipes and files (no carriage returns),
// at most one per interval plus the first and the last, nothing in NONE
// mode, time-stamped lines in a log; and `litelab calibrate` using it
// (--progress, -q, --log).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "progress.h"
#include "test_files.h"
#include "test_suites.h"

// Everything written to f so far.
static char *contents(FILE *f) {
    fflush(f);
    long n = ftell(f);
    char *s = malloc((size_t)n + 1);
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    return s;
}

static int count(const char *s, const char *what) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

static void test_lines_into_a_file(void) {
    FILE *f = tmpfile();
    ll_progress p;
    ll_progress_start(&p, "job", LL_PROGRESS_AUTO, 1000, f, NULL);  // a file: AUTO means LINES
    CU_ASSERT_EQUAL(p.mode, LL_PROGRESS_LINES);
    for (int i = 1; i <= 100; i++) ll_progress_update(&p, i, 100, "step %d/100", i);
    ll_progress_end(&p);
    char *s = contents(f);
    CU_ASSERT_PTR_NULL(strchr(s, '\r'));
    CU_ASSERT_EQUAL(count(s, "\n"), 2);  // the first and the last; the rest within the interval
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "job: step 1/100 (1%"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "job: step 100/100 (100%"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "ETA"));
    free(s);
    fclose(f);
}

static void test_interval_zero_every_update(void) {
    FILE *f = tmpfile();
    ll_progress p;
    ll_progress_start(&p, "job", LL_PROGRESS_LINES, 0, f, NULL);
    for (int i = 1; i <= 7; i++) ll_progress_update(&p, i, 0, "item %d", i);  // total unknown
    ll_progress_end(&p);
    ll_progress_note(&p, "done");
    char *s = contents(f);
    CU_ASSERT_EQUAL(count(s, "\n"), 8);
    CU_ASSERT_EQUAL(count(s, "%"), 0);  // no percentage without a total
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "job: done\n"));
    free(s);
    fclose(f);
}

static void test_none_still_logs(void) {
    FILE *f = tmpfile(), *log = tmpfile();
    ll_progress p;
    ll_progress_start(&p, "job", LL_PROGRESS_NONE, 1000, f, log);
    ll_progress_log(&p, "started");
    for (int i = 1; i <= 10; i++) ll_progress_update(&p, i, 10, "step %d/10", i);
    ll_progress_end(&p);
    ll_progress_note(&p, "finished");
    char *out = contents(f), *text = contents(log);
    CU_ASSERT_EQUAL(out[0], 0);
    CU_ASSERT_EQUAL(count(text, "\n"), 4);  // started, first, last, finished
    CU_ASSERT_EQUAL(text[0], '[');      // "[YYYY-MM-DD HH:MM:SS] job: started"
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "] job: started\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "] job: step 10/10"));
    free(out);
    free(text);
    fclose(f);
    fclose(log);
}

static void test_tty_updates_in_place(void) {
    FILE *f = tmpfile();
    ll_progress p;
    ll_progress_start(&p, "job", LL_PROGRESS_TTY, 10, f, NULL);
    ll_progress_update(&p, 1, 2, "half");
    ll_progress_update(&p, 2, 2, "all");
    ll_progress_end(&p);
    char *s = contents(f);
    CU_ASSERT_EQUAL(count(s, "\r"), 2);
    CU_ASSERT_EQUAL(s[strlen(s) - 1], '\n');  // the last state stays, closed by a newline
    free(s);
    fclose(f);
}

static void test_parse(void) {
    ll_progress_mode m;
    double s;
    ll_error err;
    CU_ASSERT_EQUAL(ll_progress_parse("lines:30", &m, &s, &err), LL_OK);
    CU_ASSERT(m == LL_PROGRESS_LINES && s == 30);
    CU_ASSERT_EQUAL(ll_progress_parse("lines", &m, &s, &err), LL_OK);
    CU_ASSERT(m == LL_PROGRESS_LINES && s == LL_PROGRESS_INTERVAL_S);
    CU_ASSERT(ll_progress_parse("none", &m, &s, &err) == LL_OK && m == LL_PROGRESS_NONE);
    CU_ASSERT(ll_progress_parse("tty", &m, &s, &err) == LL_OK && m == LL_PROGRESS_TTY);
    CU_ASSERT(ll_progress_parse("auto", &m, &s, &err) == LL_OK && m == LL_PROGRESS_AUTO);
    CU_ASSERT_EQUAL(ll_progress_parse("lines:x", &m, &s, &err), LL_ERR_USAGE);
    CU_ASSERT_EQUAL(ll_progress_parse("lines:-1", &m, &s, &err), LL_ERR_USAGE);
    CU_ASSERT_EQUAL(ll_progress_parse("bars", &m, &s, &err), LL_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--progress bars"));
}

static int run(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// calibrate into a pipe: lines, no \r; -q: nothing; --log: the whole story.
static void test_calibrate_progress(void) {
    char dir[] = "/tmp/litelab_progress_XXXXXX", cmd[1200], err_path[300], log_path[300];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    snprintf(err_path, sizeof err_path, "%s/err.txt", dir);
    snprintf(log_path, sizeof log_path, "%s/calibrate.log", dir);
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --synth tiny >/dev/null 2>%s", err_path);
    CU_ASSERT_EQUAL_FATAL(run(cmd), 0);
    char *err = tf_read_all(err_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NULL(strchr(err, '\r'));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "calibrate: screening pass 1/2, step 1/4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "calibrate: screening pass 2/2, step 4/4 (100%"));
    free(err);
    // One line per update with lines:0 (tiny: 4 steps, two passes).
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --synth tiny --progress lines:0 >/dev/null 2>%s", err_path);
    CU_ASSERT_EQUAL(run(cmd), 0);
    err = tf_read_all(err_path, NULL);
    CU_ASSERT_EQUAL(count(err, "screening pass"), 8);
    free(err);
    // -q: nothing on stderr, the log still written.
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --synth tiny -q --log %s >/dev/null 2>%s", log_path, err_path);
    CU_ASSERT_EQUAL(run(cmd), 0);
    err = tf_read_all(err_path, NULL);
    CU_ASSERT_EQUAL(err[0], 0);
    free(err);
    char *log = tf_read_all(log_path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(log);
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "calibrate: started: litelab calibrate --synth tiny -q --log"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "calibrate: screening pass 2/2, step 4/4"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "calibrate: predicted: skipped FLOP ratio"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log, "calibrate: finished"));
    free(log);
    // A bad mode is a usage error naming the option.
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --synth tiny --progress bars >/dev/null 2>%s", err_path);
    CU_ASSERT_EQUAL(run(cmd), 2);
    err = tf_read_all(err_path, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--progress bars"));
    free(err);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

int register_progress_suite(void) {
    CU_pSuite s = CU_add_suite("progress", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "into a file: whole lines, first and last, no \\r", test_lines_into_a_file) ||
        !CU_add_test(s, "interval 0: a line per update", test_interval_zero_every_update) ||
        !CU_add_test(s, "NONE: nothing on the stream, the log still written", test_none_still_logs) ||
        !CU_add_test(s, "TTY: one line updated in place", test_tty_updates_in_place) ||
        !CU_add_test(s, "--progress values", test_parse) ||
        !CU_add_test(s, "calibrate: lines into a pipe, -q silent, --log", test_calibrate_progress))
        return CU_get_error();
    return 0;
}
