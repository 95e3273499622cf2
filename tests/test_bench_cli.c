// test_bench_cli.c: `litelab bench` from the outside: --help, usage errors
// (exit 2, the message names the option), a bad CSV target (found before
// the GPU is looked for) and, on a machine without a GPU,
// the clean "no usable GPU" failure (exit 7, no CSV left behind). Also the
// CUPTI timer's own no-GPU answer. Runs ../build/litelab (make test builds it).
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cuda_attention.h"
#include "gpu_timer.h"
#include "test_suites.h"


// Runs the CLI with `args`, stdout and stderr together into out; returns the exit code (-1 if it did not exit).
static int run_cli(const char *args, char *out, size_t len) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", LITELAB, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int gpu_present(void) {
    char name[256];
    int major = 0, minor = 0;
    ll_error err;
    return ll_cuda_probe(name, sizeof name, &major, &minor, &err) == LL_OK;
}

static void test_help(void) {
    static char out[16384];
    CU_ASSERT_EQUAL(run_cli("bench --help", out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "usage: litelab bench"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--kernel"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "--quick"));
    // The dispatcher lists the command.
    CU_ASSERT_EQUAL(run_cli("help", out, sizeof out), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "bench"));
}

// Usage errors are found before the GPU is looked for, so they read the same everywhere.
static void test_usage_errors(void) {
    static const struct {
        const char *args, *must_mention;
    } cases[] = {
        {"bench --reps 5", "--reps"},
        {"bench --reps ten", "--reps"},
        {"bench --warmup 0", "--warmup"},
        {"bench --kept 1.5", "--kept"},
        {"bench --kept 0", "--kept"},
        {"bench --kept 0.5,,0.25", "--kept"},
        {"bench --masks diagonal", "--masks"},
        {"bench --masks random,random", "--masks"},
        {"bench --kernel fastest", "--kernel"},
        {"bench --dtype fp32", "--dtype"},
        {"bench --encoding sideways", "--encoding"},
        {"bench --shapes 1x40x100", "--shapes"},
        {"bench --shapes 1x40x100x80", "--shapes"},
        {"bench --shapes wan1080", "--shapes"},
        {"bench --seed -3", "--seed"},
        {"bench --portable-version 5", "--portable-version"},  // kernel versions are kernels/dev/ programs now
        {"bench --bogus", "--bogus"},
        {"bench stray", "stray"},
    };
    static char out[16384];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run_cli(cases[i].args, out, sizeof out);
        const char *mention = cases[i].must_mention;
        CU_ASSERT_EQUAL(rc, 2);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, mention));
        if (rc != 2 || !strstr(out, mention))
            fprintf(stderr, "\n  '%s' -> exit %d:\n%s\n", cases[i].args, rc, out);
    }
}

// The CSV target is checked before the GPU is looked for, so these answers
// are the same on every machine (and no file is created or touched).
static void test_csv_target_checked_first(void) {
    char dir[] = "/tmp/litelab_bench_csv_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char foreign[128], args[512];
    snprintf(foreign, sizeof foreign, "%s/foreign.csv", dir);
    FILE *f = fopen(foreign, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("a,b,c\n1,2,3\n", f);
    fclose(f);
    static char out[16384];
    snprintf(args, sizeof args, "bench --append -o %s", foreign);
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "foreign.csv"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "header"));
    snprintf(args, sizeof args, "bench -o %s/no_such_folder/x.csv", dir);
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no_such_folder"));
    snprintf(args, sizeof args, "grep -c . %s/foreign.csv | grep -qx 2 && rm -r %s", dir, dir);
    CU_ASSERT_EQUAL(system(args), 0);  // the foreign file is untouched
}

static void test_no_gpu_fails_cleanly(void) {
    if (gpu_present()) {  // with a GPU this would start a real benchmark
        CU_PASS("a GPU is present: the no-GPU path cannot be exercised here");
        return;
    }
    char csv[] = "/tmp/litelab_bench_test_XXXXXX";
    int fd = mkstemp(csv);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    unlink(csv);
    char args[256];
    snprintf(args, sizeof args, "bench --quick -o %s", csv);
    static char out[16384];
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 7);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "litelab bench: no usable GPU"));
    if (!ll_cuda_built()) CU_ASSERT_PTR_NOT_NULL(strstr(out, "litelab was built without CUDA"));
    CU_ASSERT_EQUAL(access(csv, F_OK), -1);  // nothing written
    // --kernel hopper and fp16 take the same path.
    snprintf(args, sizeof args, "bench --kernel hopper --dtype fp16 --shapes h24d64 -o %s", csv);
    CU_ASSERT_EQUAL(run_cli(args, out, sizeof out), 7);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no usable GPU"));
    CU_ASSERT_EQUAL(access(csv, F_OK), -1);
}

// The timer's calls answer LL_ERR_NO_GPU without a GPU; with one, an empty
// begin/end sees no kernel.
static void test_timer_without_work(void) {
    ll_error err;
    ll_gpu_timer *t = NULL;
    ll_gpu_events *ev = NULL;
    size_t l2 = 0;
    if (!gpu_present()) {
        CU_ASSERT_EQUAL(ll_gpu_timer_create(&t, &err), LL_ERR_NO_GPU);
        CU_ASSERT_PTR_NULL(t);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no usable GPU"));
        CU_ASSERT_EQUAL(ll_gpu_events_create(&ev, &err), LL_ERR_NO_GPU);
        CU_ASSERT_PTR_NULL(ev);
        CU_ASSERT_EQUAL(ll_gpu_l2_bytes(&l2, &err), LL_ERR_NO_GPU);
        CU_ASSERT_EQUAL(l2, 0);
        return;
    }
    CU_ASSERT_EQUAL_FATAL(ll_gpu_timer_create(&t, &err), LL_OK);
    double ms = -1.0;
    int n = -1;
    CU_ASSERT_EQUAL(ll_gpu_timer_end(t, &ms, &n, NULL, 0, &err), LL_ERR_INTERNAL);  // end without begin
    CU_ASSERT_EQUAL(ll_gpu_timer_begin(t, &err), LL_OK);
    CU_ASSERT_EQUAL(ll_gpu_timer_end(t, &ms, &n, NULL, 0, &err), LL_OK);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(ms, 0.0);
    ll_gpu_timer_destroy(t);
    CU_ASSERT_EQUAL(ll_gpu_l2_bytes(&l2, &err), LL_OK);
    CU_ASSERT(l2 > 0);
}

int register_bench_cli_suite(void) {
    CU_pSuite s = CU_add_suite("bench_cli", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "bench --help", test_help) ||
        !CU_add_test(s, "usage errors exit 2 and name the option", test_usage_errors) ||
        !CU_add_test(s, "CSV target checked before the GPU", test_csv_target_checked_first) ||
        !CU_add_test(s, "no GPU: exit 7, clear message, no CSV", test_no_gpu_fails_cleanly) ||
        !CU_add_test(s, "gpu timer without work", test_timer_without_work))
        return CU_get_error();
    return CUE_SUCCESS;
}
