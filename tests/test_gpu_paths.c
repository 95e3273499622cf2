// test_gpu_paths.c: the commands that need a GPU check their arguments
// first, so a bad argument reads the same (exit 2 or 3, the message naming
// it) on a machine without a GPU, in a build without CUDA and on a GPU
// machine. `litelab bench` has its own suite (test_bench_cli.c); here
// `run` and `capture` with --backend cuda. Runs ../build/litelab.
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "test_files.h"
#include "test_suites.h"

static void test_bad_arguments_before_gpu(void) {
    char dir[64], cfg[128], out[128], err[128], trace[128], capture[128];
    CU_ASSERT_EQUAL_FATAL(tf_dir_make(dir, sizeof dir, "gpu_paths"), 0);
    tf_path(cfg, sizeof cfg, dir, "bad_policy.json");
    tf_path(out, sizeof out, dir, "out.txt");
    tf_path(err, sizeof err, dir, "err.txt");
    tf_path(trace, sizeof trace, dir, "t.h5");
    tf_path(capture, sizeof capture, dir, "c.h5");
    CU_ASSERT_EQUAL_FATAL(tf_write_text(cfg, "{\"name\": \"b\", \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 1},\n"
                                             " \"backend\": \"cuda\",\n"
                                             " \"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"threshold\": 5}]}\n"),
                          0);
    const struct {
        const char *args[10];
        int code;
        const char *must_mention;
    } cases[] = {
        {{"run", cfg, "-o", trace, NULL}, 2, "threshold"},
        {{"capture", "--synthetic", "tiny", "--steps", "99", "--backend", "cuda", "-o", capture, NULL}, 2, "--steps"},
        {{"capture", "--synthetic", "tiny", "--layers", "x", "--backend", "cuda", "-o", capture, NULL}, 2, "--layers"},
        {{"capture", "--synthetic", "tiny", "--tiling", "7x7", "--backend", "cuda", "-o", capture, NULL}, 3, "block_m=7"},
        {{"capture", "--synthetic", "huge", "--backend", "cuda", "-o", capture, NULL}, 2, "huge"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tf_run_cli(cases[i].args, out, err);
        CU_ASSERT_EQUAL(rc, cases[i].code);
        CU_ASSERT_TRUE(tf_contains(err, cases[i].must_mention));
        CU_ASSERT_FALSE(tf_contains(err, "GPU"));  // never the GPU's answer
        if (rc != cases[i].code || !tf_contains(err, cases[i].must_mention) || tf_contains(err, "GPU"))
            fprintf(stderr, "\n  litelab %s ... -> exit %d\n", cases[i].args[0], rc);
    }
    CU_ASSERT_FALSE(tf_exists(trace) || tf_exists(capture));  // nothing written
    CU_ASSERT_EQUAL(tf_dir_remove(dir), 0);
}

int register_gpu_paths_suite(void) {
    CU_pSuite s = CU_add_suite("gpu_paths", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "run, capture --backend cuda: bad arguments before the GPU", test_bad_arguments_before_gpu))
        return CU_get_error();
    return CUE_SUCCESS;
}
