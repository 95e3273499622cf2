// test_config.c: experiment files: a valid one parses into the right
// fields; every kind of mistake fails with a message naming the file and the
// key; every shipped example in experiments/ loads.
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "test_suites.h"

static const char *VALID =
    "{\n"
    "  \"name\": \"cmp\",\n"
    "  \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 7, \"steps\": 3, \"layers\": 2},\n"
    "  \"backend\": \"cpu\",\n"
    "  \"tiling\": {\"block_m\": 32, \"block_n\": 48},\n"
    "  \"encoding\": \"production\",\n"
    "  \"must_do\": \"0:16\",\n"
    "  \"record\": {\"per_head\": true, \"masks\": {\"steps\": [2, 0], \"layers\": \"all\"}},\n"
    "  \"policies\": [\n"
    "    {\"name\": \"dense\", \"kind\": \"dense\"},\n"
    "    {\"name\": \"lite\", \"kind\": \"lite\", \"threshold\": -8},\n"
    "    {\"name\": \"sched\", \"kind\": \"lite_schedule\", \"thresholds\": [-12, -8, \"-inf\"]}\n"
    "  ]\n"
    "}\n";

// Parses text (as file "exp.json") and expects failure with code and every needle in the message.
static void expect_error(const char *text, ll_status code, const char *needle1, const char *needle2) {
    ll_experiment_config c;
    ll_error err;
    ll_error_clear(&err);
    ll_status s = ll_config_parse(text, "exp.json", &c, &err);
    CU_ASSERT_EQUAL(s, code);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exp.json"));
    if (needle1) CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle1));
    if (needle2) CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, needle2));
    if (s == LL_OK) ll_config_free(&c);
}

static void test_valid(void) {
    ll_experiment_config c;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_config_parse(VALID, "exp.json", &c, &err), LL_OK);
    CU_ASSERT_STRING_EQUAL(c.name, "cmp");
    CU_ASSERT_EQUAL(c.trajectory.source, LL_TRAJ_SYNTHETIC);
    CU_ASSERT_STRING_EQUAL(c.trajectory.preset, "tiny");
    CU_ASSERT_EQUAL(c.trajectory.seed, 7);
    CU_ASSERT_EQUAL(c.trajectory.steps, 3);
    CU_ASSERT_EQUAL(c.trajectory.layers, 2);
    CU_ASSERT_EQUAL(c.trajectory.heads, 0);  // not given: the preset's
    CU_ASSERT_STRING_EQUAL(c.backend, "cpu");
    CU_ASSERT_EQUAL(c.tiling_mode, 2);
    CU_ASSERT_EQUAL(c.tiling.block_m, 32);
    CU_ASSERT_EQUAL(c.tiling.block_n, 48);
    CU_ASSERT_EQUAL(c.encoding, LL_END_INCLUSIVE_PRODUCTION);
    CU_ASSERT_STRING_EQUAL(c.must_do, "0:16");
    CU_ASSERT_EQUAL(c.skipped_mass, 1);
    CU_ASSERT_EQUAL(c.per_head, 1);
    CU_ASSERT_FALSE(c.mask_steps.all);
    CU_ASSERT_EQUAL(c.mask_steps.n, 2);
    CU_ASSERT_TRUE(ll_index_set_has(&c.mask_steps, 0));
    CU_ASSERT_FALSE(ll_index_set_has(&c.mask_steps, 1));
    CU_ASSERT_TRUE(ll_index_set_has(&c.mask_steps, 2));
    CU_ASSERT_TRUE(ll_index_set_has(&c.mask_layers, 5));
    CU_ASSERT_FALSE(ll_index_set_has(&c.map_steps, 0));  // nothing asked
    CU_ASSERT_EQUAL(c.n_policies, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.json_text, "\"sched\""));  // kept verbatim
    CU_ASSERT_STRING_EQUAL(c.policy_where[2], "policies[2] (sched)");
    ll_error e2;
    CU_ASSERT_EQUAL(ll_index_set_check(&c.mask_steps, 3, "x", &e2), LL_OK);
    CU_ASSERT_EQUAL(ll_index_set_check(&c.mask_steps, 2, "x", &e2), LL_ERR_USAGE);
    ll_config_free(&c);
}

static void test_defaults(void) {
    ll_experiment_config c;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(
        ll_config_parse("{\"policies\": [{\"name\": \"d\", \"kind\": \"dense\"}]}", "dir/my_exp.json", &c, &err), LL_OK);
    CU_ASSERT_STRING_EQUAL(c.name, "my_exp");
    CU_ASSERT_STRING_EQUAL(c.trajectory.preset, "tiny");
    CU_ASSERT_STRING_EQUAL(c.backend, "auto");
    CU_ASSERT_EQUAL(c.tiling_mode, 0);
    CU_ASSERT_EQUAL(c.encoding, LL_END_EXCLUSIVE);
    CU_ASSERT_EQUAL(c.trajectory.dtype, -1);
    CU_ASSERT_EQUAL(c.output[0], '\0');
    CU_ASSERT_EQUAL(c.counters, 1);
    CU_ASSERT_EQUAL(c.skipped_mass, 1);
    ll_config_free(&c);
}

static void test_unknown_keys(void) {
    expect_error("{\"polices\": []}", LL_ERR_USAGE, "unknown key 'polices'", NULL);
    expect_error("{\"trajectory\": {\"synthetic\": \"tiny\", \"stepz\": 2}, \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}",
                 LL_ERR_USAGE, "trajectory", "'stepz'");
    expect_error("{\"policies\": [{\"name\": \"d\", \"kind\": \"dense\"},"
                 " {\"name\": \"l\", \"kind\": \"lite\", \"treshold\": -5}]}",
                 LL_ERR_USAGE, "policies[1]", "'treshold'");
    expect_error("{\"record\": {\"masks\": {\"steps\": \"all\", \"layers\": \"all\", \"heads\": 1}},"
                 " \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}",
                 LL_ERR_USAGE, "record.masks", "'heads'");
    expect_error("{\"policies\": [{\"name\": \"x\", \"kind\": \"magic\"}]}", LL_ERR_USAGE, "policies[0].kind",
                 "'magic'");
    expect_error("{\"name\": \"a\", \"name\": \"b\", \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}", LL_ERR_USAGE,
                 "'name'", "twice");
}

static void test_wrong_types(void) {
    expect_error("{\"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"threshold\": \"low\"}]}", LL_ERR_USAGE,
                 "policies[0] (l).threshold", NULL);
    expect_error("{\"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"threshold\": 3}]}", LL_ERR_USAGE,
                 "threshold", "> 0");
    expect_error("{\"trajectory\": {\"synthetic\": \"tiny\", \"steps\": 2.5}, \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}",
                 LL_ERR_USAGE, "trajectory.steps", "integer");
    expect_error("{\"backend\": \"tpu\", \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}", LL_ERR_USAGE, "backend",
                 "'tpu'");
    expect_error("{\"tiling\": {\"block_m\": 20, \"block_n\": 32}, \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}",
                 LL_ERR_USAGE, "tiling", NULL);
    expect_error("{\"counters\": 1, \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}", LL_ERR_USAGE, "counters",
                 "true or false");
    expect_error("{\"must_skip\": \"5:2\", \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}", LL_ERR_USAGE,
                 "must_skip", NULL);
    expect_error("{\"policies\": [{\"name\": \"w\", \"kind\": \"warmup\", \"threshold\": -5, \"warmup_steps\": -1}]}",
                 LL_ERR_USAGE, "warmup_steps", NULL);
    expect_error("{\"policies\": [{\"name\": \"s\", \"kind\": \"lite_schedule\", \"thresholds\": []}]}", LL_ERR_USAGE,
                 "thresholds", "non-empty");
    expect_error("{\"policies\": [{\"name\": \"s\", \"kind\": \"lite_schedule\", \"thresholds\": [-3, 1]}]}",
                 LL_ERR_USAGE, "thresholds[1]", NULL);
    expect_error("{\"record\": {\"tile_maps\": {\"steps\": [1, 1], \"layers\": \"all\"}},"
                 " \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}",
                 LL_ERR_USAGE, "tile_maps.steps", "twice");
    expect_error("[1, 2]", LL_ERR_USAGE, "JSON object", NULL);
}

static void test_missing_and_duplicates(void) {
    expect_error("{\"name\": \"x\"}", LL_ERR_USAGE, "'policies'", NULL);
    expect_error("{\"policies\": []}", LL_ERR_USAGE, "policies", "non-empty");
    expect_error("{\"policies\": [{\"kind\": \"dense\"}]}", LL_ERR_USAGE, "policies[0]", "'name'");
    expect_error("{\"policies\": [{\"name\": \"l\", \"kind\": \"lite\"}]}", LL_ERR_USAGE, "policies[0] (l)",
                 "'threshold'");
    expect_error("{\"policies\": [{\"name\": \"a\", \"kind\": \"dense\"}, {\"name\": \"a\", \"kind\": \"dense\"}]}",
                 LL_ERR_USAGE, "policies[1].name", "'a'");
    expect_error("{\"trajectory\": {\"synthetic\": \"tiny\", \"capture\": \"x.h5\"},"
                 " \"policies\": [{\"name\":\"d\",\"kind\":\"dense\"}]}",
                 LL_ERR_USAGE, "trajectory", "exactly one");
}

static void test_bad_json(void) {
    expect_error("{\n  \"policies\": [\n    {\"name\": \"d\", \"kind\": \"dense\"},\n  ]\n", LL_ERR_USAGE, "exp.json:",
                 "not valid JSON");
    // The location points into the file (line 4 holds the stray bracket).
    ll_experiment_config c;
    ll_error err;
    ll_config_parse("{\n\"a\": 1,\n\"b\": 2\n]", "exp.json", &c, &err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exp.json:4:"));
}

static void test_files(void) {
    ll_experiment_config c;
    ll_error err;
    CU_ASSERT_EQUAL(ll_config_load("no/such/experiment.json", &c, &err), LL_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no/such/experiment.json"));
    char path[] = "/tmp/litelab_cfg_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(VALID, f);
    fclose(f);
    CU_ASSERT_EQUAL(ll_config_load(path, &c, &err), LL_OK);
    CU_ASSERT_EQUAL(c.n_policies, 3);
    CU_ASSERT_STRING_EQUAL(c.path, path);
    ll_config_free(&c);
    f = fopen(path, "w");
    fputs("{\"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"threshold\": null}]}", f);
    fclose(f);
    CU_ASSERT_EQUAL(ll_config_load(path, &c, &err), LL_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "threshold"));
    unlink(path);
}

// Every example shipped in experiments/ is a valid experiment.
static void test_shipped_examples(void) {
    DIR *d = opendir("../experiments");
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "../experiments/%s", e->d_name);
        ll_experiment_config c;
        ll_error err;
        ll_error_clear(&err);
        ll_status s = ll_config_load(path, &c, &err);
        if (s != LL_OK) fprintf(stderr, "\n%s\n", err.msg);
        CU_ASSERT_EQUAL(s, LL_OK);
        if (s == LL_OK) ll_config_free(&c);
        n++;
    }
    closedir(d);
    CU_ASSERT(n >= 4);  // default, policy comparison, threshold schedule, wan720p
}

int register_config_suite(void) {
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "valid experiment", test_valid) || !CU_add_test(s, "defaults", test_defaults) ||
        !CU_add_test(s, "unknown keys name file and key", test_unknown_keys) ||
        !CU_add_test(s, "wrong types name file and key", test_wrong_types) ||
        !CU_add_test(s, "missing keys and duplicates", test_missing_and_duplicates) ||
        !CU_add_test(s, "bad JSON with line and column", test_bad_json) ||
        !CU_add_test(s, "files: missing, valid, invalid", test_files) ||
        !CU_add_test(s, "shipped examples load", test_shipped_examples))
        return CU_get_error();
    return CUE_SUCCESS;
}
