// test_gpu_paths.c: the commands that need a GPU check their arguments
// first, so a bad argument reads the same (exit 2 or 3, the message naming
// it) on a machine without a GPU, in a build without CUDA and on a GPU
// machine. `litelab bench` has its own suite (test_bench_cli.c); here
// `run` and `capture` with --backend cuda. Runs ../build/litelab.
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_suites.h"

// Runs the CLI with `args`, stdout and stderr together into out; returns the exit code (-1 if it did not exit).
static int run_cli(const char *args, char *out, size_t len) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", LITELAB, args);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_bad_arguments_before_gpu(void) {
    char dir[] = "/tmp/litelab_gpu_paths_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char cfg[128];
    snprintf(cfg, sizeof cfg, "%s/bad_policy.json", dir);
    FILE *f = fopen(cfg, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"name\": \"b\", \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 1}, \"backend\": \"cuda\",\n"
          " \"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"threshold\": 5}]}\n",
          f);
    fclose(f);
    struct {
        const char *args;
        int code;
        const char *must_mention;
    } cases[] = {
        {"run %s -o %s/t.h5", 2, "threshold"},
        {"capture --synthetic tiny --steps 99 --backend cuda -o %s/c.h5", 2, "--steps"},
        {"capture --synthetic tiny --layers x --backend cuda -o %s/c.h5", 2, "--layers"},
        {"capture --synthetic tiny --tiling 7x7 --backend cuda -o %s/c.h5", 3, "block_m=7"},
        {"capture --synthetic huge --backend cuda -o %s/c.h5", 2, "huge"},
    };
    static char out[16384];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[512];
        if (!strncmp(cases[i].args, "run", 3)) snprintf(args, sizeof args, cases[i].args, cfg, dir);
        else snprintf(args, sizeof args, cases[i].args, dir);
        int rc = run_cli(args, out, sizeof out);
        CU_ASSERT_EQUAL(rc, cases[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, cases[i].must_mention));
        CU_ASSERT_PTR_NULL(strstr(out, "GPU"));  // never the GPU's answer
        if (rc != cases[i].code || !strstr(out, cases[i].must_mention) || strstr(out, "GPU"))
            fprintf(stderr, "\n  '%s' -> exit %d:\n%s\n", args, rc, out);
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -f %s/bad_policy.json && rmdir %s", dir, dir);  // nothing else written
    CU_ASSERT_EQUAL(system(cmd), 0);
}

int register_gpu_paths_suite(void) {
    CU_pSuite s = CU_add_suite("gpu_paths", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "run, capture --backend cuda: bad arguments before the GPU", test_bad_arguments_before_gpu))
        return CU_get_error();
    return CUE_SUCCESS;
}
