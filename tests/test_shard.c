// test_shard.c: sharded runs (lib/shard.h, `litelab run --shard`, `litelab
// merge`): the shard spec from the option and the environment; the plan
// (every unit in one shard, deterministic, balanced); and, through the CLI on
// the CPU, that merging N = 1, 2, 3 and 8 shards gives exactly the unsharded
// run's trace (rows in order, masks, maps, checkpoints; timings aside) for
// experiments whose units differ by policy, by trajectory seed and by layer
// group; that incomplete, missing, duplicate and foreign shards fail with a
// message naming them; that a killed shard resumes.
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shard.h"
#include "test_suites.h"
#include "trace.h"
#include "trace_compare.h"

static char dir[64];
static char bin[4096];  // the CLI, absolute (commands run in dir)

// Runs a shell command line in dir; its output goes to dir/log.txt. Returns the exit code.
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...) {
    char cmd[2048], line[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "{ cd %s && (%s) >log.txt 2>&1; } 2>>%s/log.txt", dir, cmd, dir);
    int st = system(line);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int log_contains(const char *needle) {
    char p[128], buf[16384];
    snprintf(p, sizeof p, "%s/log.txt", dir);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int found = strstr(buf, needle) != NULL;
    if (!found) fprintf(stderr, "\n[log.txt lacks \"%s\":]\n%s\n", needle, buf);
    return found;
}

static void write_file(const char *name, const char *text) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

// Differences between two traces of dir (timings aside), the first few to report.
static long differences_to(const char *a, const char *b, FILE *report) {
    char pa[128], pb[128];
    snprintf(pa, sizeof pa, "%s/%s", dir, a);
    snprintf(pb, sizeof pb, "%s/%s", dir, b);
    ll_trace_compare_options o = {1, 5};
    ll_error err;
    ll_error_clear(&err);
    long n = -1;
    ll_status s = ll_trace_compare(pa, pb, &o, report, &n, &err);
    if (s != LL_OK) fprintf(stderr, "\n%s\n", err.msg);
    CU_ASSERT_EQUAL(s, LL_OK);
    return n;
}

static long differences(const char *a, const char *b) { return differences_to(a, b, stderr); }

static int suite_init(void) {
    snprintf(dir, sizeof dir, "/tmp/litelab_shard_XXXXXX");
    if (!realpath(LITELAB, bin)) return -1;
    return mkdtemp(dir) ? 0 : -1;
}

static int suite_clean(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

// ---------------------------------------------------------------------------
// Shard specs

static void test_parse(void) {
    ll_shard_spec s;
    ll_error err;
    CU_ASSERT_EQUAL(ll_shard_parse("3/8", &s, &err), LL_OK);
    CU_ASSERT(s.index == 3 && s.count == 8);
    CU_ASSERT_EQUAL(ll_shard_parse("0/1", &s, &err), LL_OK);
    const char *bad[] = {"8/8", "-1/8", "1/0", "a/b", "3", "3/", "/8", "3/8x", " 3/8", "1/100001", NULL};
    for (int i = 0; bad[i]; i++) {
        CU_ASSERT_EQUAL(ll_shard_parse(bad[i], &s, &err), LL_ERR_USAGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "--shard"));
    }
}

static void clear_env(void) {
    const char *vars[] = {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
                          "SLURM_ARRAY_TASK_STEP", "SLURM_ARRAY_TASK_COUNT", "RANK", "WORLD_SIZE",
                          "LOCAL_RANK", "LOCAL_WORLD_SIZE", NULL};
    for (int i = 0; vars[i]; i++) unsetenv(vars[i]);
}

static void test_env(void) {
    ll_shard_spec s;
    ll_error err;
    clear_env();
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_ERR_USAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "SLURM_ARRAY_TASK_ID"));
    // A 1-based array 1-8: task 3 is shard 2 of 8.
    setenv("SLURM_ARRAY_TASK_ID", "3", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "1", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "8", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "8", 1);
    setenv("RANK", "5", 1);  // the array wins
    setenv("WORLD_SIZE", "6", 1);
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_OK);
    CU_ASSERT(s.index == 2 && s.count == 8);
    // Listed indices (--array=0,3,5): the count does not match MIN..MAX.
    setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_ERR_USAGE);
    // A stepped array 0-14:2, task 6: shard 3 of 8.
    setenv("SLURM_ARRAY_TASK_ID", "6", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "14", 1);
    setenv("SLURM_ARRAY_TASK_STEP", "2", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "8", 1);
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_OK);
    CU_ASSERT(s.index == 3 && s.count == 8);
    setenv("SLURM_ARRAY_TASK_ID", "x", 1);
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_ERR_USAGE);
    clear_env();
    setenv("RANK", "5", 1);
    setenv("WORLD_SIZE", "6", 1);
    setenv("LOCAL_RANK", "1", 1);
    setenv("LOCAL_WORLD_SIZE", "2", 1);
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_OK);
    CU_ASSERT(s.index == 5 && s.count == 6);
    unsetenv("RANK");
    unsetenv("WORLD_SIZE");
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_OK);
    CU_ASSERT(s.index == 1 && s.count == 2);
    setenv("LOCAL_RANK", "2", 1);  // not below the size
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_ERR_USAGE);
    unsetenv("LOCAL_WORLD_SIZE");
    CU_ASSERT_EQUAL(ll_shard_from_env(&s, &err), LL_ERR_USAGE);
    clear_env();
}

// ---------------------------------------------------------------------------
// The plan

static void test_plan(void) {
    enum { P = 6, SEEDS = 2, LAYERS = 5 };
    double call[P * SEEDS], shared[LAYERS];
    for (int i = 0; i < P * SEEDS; i++) call[i] = (i % P == 3 ? 2.0 : 1.0) * (1 + i % 2);  // uneven costs
    for (int l = 0; l < LAYERS; l++) shared[l] = 2.0;
    for (int lpu = 1; lpu <= 3; lpu++)
        for (int count = 1; count <= 9; count++) {
            ll_shard_costs c = {P * SEEDS, SEEDS, 4, LAYERS, lpu, call, shared};
            ll_shard_plan a, b;
            ll_error err;
            CU_ASSERT_EQUAL_FATAL(ll_shard_plan_make(&c, count, &a, &err), LL_OK);
            CU_ASSERT_EQUAL_FATAL(ll_shard_plan_make(&c, count, &b, &err), LL_OK);
            CU_ASSERT_EQUAL(a.n_units, P * SEEDS * ll_shard_groups(LAYERS, lpu));
            CU_ASSERT_EQUAL(memcmp(a.shard_of, b.shard_of, sizeof(int) * (size_t)a.n_units), 0);  // deterministic
            double total = 0, biggest = 0, max_load = 0, sum_loads = 0;
            for (int u = 0; u < a.n_units; u++) {
                CU_ASSERT(a.shard_of[u] >= 0 && a.shard_of[u] < count);
                total += a.units[u].cost;
                double with_bundle = a.units[u].cost + a.bundle_cost[a.units[u].bundle];
                if (with_bundle > biggest) biggest = with_bundle;
            }
            for (int bnd = 0; bnd < a.n_bundles; bnd++) total += a.bundle_cost[bnd];
            for (int s = 0; s < count; s++) {
                sum_loads += ll_shard_load(&a, s);
                if (ll_shard_load(&a, s) > max_load) max_load = ll_shard_load(&a, s);
            }
            // Loads count each unit once and each bundle at least once; no shard
            // exceeds the balanced share by more than one unit with its bundle.
            CU_ASSERT(sum_loads >= total - 1e-9);
            CU_ASSERT(max_load <= total / count + biggest + 1e-9);
            // The map owner runs the bundle's first unit; needs() agrees with runs().
            for (int l = 0; l < LAYERS; l++)
                for (int seed = 0; seed < SEEDS; seed++) {
                    int owner = ll_shard_map_owner(&a, seed, l);
                    CU_ASSERT(ll_shard_runs(&a, owner, seed * P, l));
                    CU_ASSERT(ll_shard_needs(&a, owner, seed, l));
                }
            ll_shard_plan_free(&a);
            ll_shard_plan_free(&b);
        }
}

static void test_output_path(void) {
    char buf[64];
    ll_error err;
    CU_ASSERT_EQUAL(ll_shard_output_path("out/sweep.h5", 2, 8, buf, sizeof buf, &err), LL_OK);
    CU_ASSERT_STRING_EQUAL(buf, "out/sweep.shard-2-of-8.h5");
    CU_ASSERT_EQUAL(ll_shard_output_path("trace", 0, 1, buf, sizeof buf, &err), LL_OK);
    CU_ASSERT_STRING_EQUAL(buf, "trace.shard-0-of-1.h5");
    CU_ASSERT_EQUAL(ll_shard_output_path("a-very-long-name-that-does-not-fit-in-the-buffer.h5", 0, 1, buf, 32, &err),
                    LL_ERR_USAGE);
}

// ---------------------------------------------------------------------------
// Merged shards equal the unsharded run

// Experiments whose work units differ by policy, by seed, by layer group.
static const char *BY_POLICY =
    "{\"name\": \"by_policy\",\n"
    " \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 2, \"steps\": 4, \"layers\": 1},\n"
    " \"backend\": \"cpu\", \"tiling\": {\"block_m\": 32, \"block_n\": 32},\n"
    " \"record\": {\"per_head\": true, \"masks\": {\"steps\": \"all\", \"layers\": \"all\"},\n"
    "            \"tile_maps\": {\"steps\": [1, 3], \"layers\": [0]}},\n"
    " \"policies\": [{\"name\": \"dense\", \"kind\": \"dense\"},\n"
    "   {\"name\": \"lite5\", \"kind\": \"lite\", \"threshold\": -5},\n"
    "   {\"name\": \"lite3\", \"kind\": \"lite\", \"threshold\": -3},\n"
    "   {\"name\": \"warm\", \"kind\": \"warmup\", \"threshold\": -5, \"warmup_steps\": 1},\n"
    "   {\"name\": \"refresh\", \"kind\": \"refresh\", \"threshold\": -5, \"refresh_every\": 2},\n"
    "   {\"name\": \"static\", \"kind\": \"static\", \"threshold\": -5, \"profile_steps\": 2},\n"
    "   {\"name\": \"dyn\", \"kind\": \"dynamic\", \"threshold\": -5},\n"
    "   {\"name\": \"oracle\", \"kind\": \"oracle\", \"threshold\": -5}]}\n";
static const char *BY_SEED =
    "{\"name\": \"by_seed\",\n"
    " \"trajectory\": {\"synthetic\": \"tiny\", \"seeds\": [1, 2, 3, 4, 5, 6, 7, 8], \"steps\": 3, \"layers\": 1},\n"
    " \"backend\": \"cpu\", \"tiling\": {\"block_m\": 32, \"block_n\": 32},\n"
    " \"record\": {\"masks\": {\"steps\": \"all\", \"layers\": \"all\"}},\n"
    " \"policies\": [{\"name\": \"lite\", \"kind\": \"lite\", \"threshold\": -4}]}\n";
static const char *BY_LAYER =
    "{\"name\": \"by_layer\",\n"
    " \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 4, \"steps\": 3, \"layers\": 8},\n"
    " \"backend\": \"cpu\", \"tiling\": {\"block_m\": 32, \"block_n\": 32},\n"
    " \"record\": {\"masks\": {\"steps\": [0, 2], \"layers\": \"all\"},\n"
    "            \"tile_maps\": {\"steps\": [2], \"layers\": \"all\"}},\n"
    " \"policies\": [{\"name\": \"lite\", \"kind\": \"lite\", \"threshold\": -4}]}\n";

// Runs exp.json unsharded and in N = 1, 2, 3, 8 shards, merges each and
// compares. `extra` goes to every sharded run (e.g. --shard-layers 3).
static void check_merges(const char *name, const char *experiment, const char *extra) {
    char file[64];
    snprintf(file, sizeof file, "%s.json", name);
    write_file(file, experiment);
    CU_ASSERT_EQUAL_FATAL(sh("%s run %s -o %s.h5 -q", bin, file, name), 0);
    const int counts[] = {1, 2, 3, 8};
    for (int c = 0; c < 4; c++) {
        int n = counts[c];
        char shards[1024] = "";
        for (int i = 0; i < n; i++) {
            CU_ASSERT_EQUAL(sh("%s run %s -o %s_n%d.h5 --shard %d/%d %s -q", bin, file, name, n, i, n, extra), 0);
            size_t len = strlen(shards);
            snprintf(shards + len, sizeof shards - len, " %s_n%d.shard-%d-of-%d.h5", name, n, i, n);
        }
        CU_ASSERT_EQUAL(sh("%s merge -q %s_n%d.h5%s", bin, name, n, shards), 0);
        CU_ASSERT_EQUAL(sh("%s validate %s_n%d.h5", bin, name, n), 0);
        char merged[64], whole[64];
        snprintf(merged, sizeof merged, "%s_n%d.h5", name, n);
        snprintf(whole, sizeof whole, "%s.h5", name);
        long d = differences(whole, merged);
        if (d) fprintf(stderr, "\n%s: %d shards: %ld differences\n", name, n, d);
        CU_ASSERT_EQUAL(d, 0);
    }
}

static void test_merge_by_policy(void) { check_merges("by_policy", BY_POLICY, ""); }
static void test_merge_by_seed(void) { check_merges("by_seed", BY_SEED, ""); }
static void test_merge_by_layer(void) { check_merges("by_layer", BY_LAYER, ""); }
static void test_merge_by_layer_groups(void) { check_merges("by_group", BY_LAYER, "--shard-layers 3"); }

// The comparison itself can fail: a shard of another threshold merged in
// its place is refused, and a trace of another experiment differs.
static void test_compare_finds_differences(void) {
    write_file("other.json", BY_SEED);
    CU_ASSERT_EQUAL_FATAL(sh("sed 's/-4/-5/' other.json > other5.json && %s run other5.json -o other5.h5 -q", bin),
                          0);
    CU_ASSERT_EQUAL(sh("%s run other.json -o other.h5 -q", bin), 0);
    CU_ASSERT(differences_to("other.h5", "other5.h5", NULL) > 0);
    CU_ASSERT_EQUAL(sh("%s compare other.h5 other5.h5", bin), 1);
    CU_ASSERT(log_contains("differ"));
}

// ---------------------------------------------------------------------------
// Shards that do not fit together

static void test_merge_refusals(void) {
    write_file("r.json", BY_POLICY);
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(sh("%s run r.json -o r.h5 --shard %d/3 -q", bin, i), 0);
    // A missing shard: its units are named.
    CU_ASSERT_EQUAL(sh("%s merge m.h5 r.shard-0-of-3.h5 r.shard-2-of-3.h5", bin), 2);
    CU_ASSERT(log_contains("shard 1 of 3 is missing"));
    CU_ASSERT(log_contains("work units are in no shard given"));
    CU_ASSERT(access("m.h5", F_OK) != 0 && sh("test ! -e m.h5 && test ! -e m.h5.partial") == 0);
    // The same shard twice.
    CU_ASSERT_EQUAL(sh("%s merge m.h5 r.shard-0-of-3.h5 r.shard-1-of-3.h5 r.shard-0-of-3.h5", bin), 2);
    CU_ASSERT(log_contains("are both shard 0/3"));
    // A shard of another experiment (another threshold), and of another shard count.
    CU_ASSERT_EQUAL(sh("sed 's/-3}/-2}/' r.json > r2.json && %s run r2.json -o r.h5 --shard 1/3 -q -o x.h5", bin),
                    0);
    CU_ASSERT_EQUAL(sh("%s merge m.h5 r.shard-0-of-3.h5 x.shard-1-of-3.h5 r.shard-2-of-3.h5", bin), 2);
    CU_ASSERT(log_contains("x.shard-1-of-3.h5: not a shard of the same run"));
    CU_ASSERT_EQUAL(sh("%s run r.json -o y.h5 --shard 1/2 -q", bin), 0);
    CU_ASSERT_EQUAL(sh("%s merge m.h5 r.shard-0-of-3.h5 y.shard-1-of-2.h5 r.shard-2-of-3.h5", bin), 2);
    CU_ASSERT(log_contains("the sharding differs"));
    // An unsharded trace is not a shard.
    CU_ASSERT_EQUAL(sh("%s run r.json -o whole.h5 -q && %s merge m.h5 whole.h5", bin, bin), 2);
    CU_ASSERT(log_contains("not a shard's trace"));
    // An incomplete shard (killed after step 1): given as .partial, or by its final name.
    CU_ASSERT_EQUAL(sh("LITELAB_TEST_ABORT_AFTER_STEP=1 %s run r.json -o k.h5 --shard 1/3 -q", bin), 137);
    CU_ASSERT_EQUAL(sh("%s merge m.h5 r.shard-0-of-3.h5 k.shard-1-of-3.h5.partial r.shard-2-of-3.h5", bin), 2);
    CU_ASSERT(log_contains("shard 1/3 is incomplete (2 of 4 steps durable)"));
    CU_ASSERT_EQUAL(sh("%s merge m.h5 r.shard-0-of-3.h5 k.shard-1-of-3.h5 r.shard-2-of-3.h5", bin), 2);
    CU_ASSERT(log_contains("that shard did not finish"));
    // Another shard's .partial under this shard's name: refused; its own: resumed, and the merge equals the whole run.
    CU_ASSERT_EQUAL(sh("cp k.shard-1-of-3.h5.partial k.shard-2-of-3.h5.partial && %s run r.json -o k.h5 --shard 2/3 "
                       "--resume -q",
                       bin),
                    2);
    CU_ASSERT(log_contains("holds shard 1/3"));
    CU_ASSERT_EQUAL(sh("%s run r.json -o k.h5 --shard 1/3 --resume -q", bin), 0);
    CU_ASSERT_EQUAL(sh("%s merge m.h5 r.shard-0-of-3.h5 k.shard-1-of-3.h5 r.shard-2-of-3.h5 -q", bin), 0);
    CU_ASSERT_EQUAL(differences("whole.h5", "m.h5"), 0);
    // An existing output needs --force.
    CU_ASSERT_EQUAL(sh("%s merge m.h5 r.shard-0-of-3.h5 r.shard-1-of-3.h5 r.shard-2-of-3.h5", bin), 2);
    CU_ASSERT(log_contains("give --force"));
}

// --dry-run --shard lists the shard's units and its cost; an empty shard says so.
static void test_dry_run(void) {
    write_file("d.json", BY_SEED);
    CU_ASSERT_EQUAL(sh("%s run d.json -o d.h5 -n --shard 2/3 --flop-rate 1", bin), 0);
    CU_ASSERT(log_contains("shard 2/3 (--shard 2/3)"));
    CU_ASSERT(log_contains("lite@seed"));
    CU_ASSERT(log_contains("shard's estimated time"));
    CU_ASSERT_EQUAL(sh("%s run d.json -o d.h5 -n --shard 9/10 --flop-rate 1", bin), 0);
    CU_ASSERT(log_contains("this shard has no work"));
    CU_ASSERT_EQUAL(sh("%s run d.json -o d.h5 --shard 8/8", bin), 2);
    CU_ASSERT_EQUAL(sh("%s run d.json -o d.h5 --shard-layers 2", bin), 2);
}

int register_shard_suite(void) {
    CU_pSuite s = CU_add_suite("shard", suite_init, suite_clean);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "--shard I/N parsing", test_parse) ||
        !CU_add_test(s, "--shard auto: Slurm array, RANK, LOCAL_RANK", test_env) ||
        !CU_add_test(s, "plan: every unit once, deterministic, balanced", test_plan) ||
        !CU_add_test(s, "shard trace names", test_output_path) ||
        !CU_add_test(s, "merge of N=1,2,3,8 shards by policy equals the whole run", test_merge_by_policy) ||
        !CU_add_test(s, "merge of N=1,2,3,8 shards by seed equals the whole run", test_merge_by_seed) ||
        !CU_add_test(s, "merge of N=1,2,3,8 shards by layer equals the whole run", test_merge_by_layer) ||
        !CU_add_test(s, "merge of N=1,2,3,8 shards of 3-layer groups equals the whole run",
                     test_merge_by_layer_groups) ||
        !CU_add_test(s, "compare finds a different threshold", test_compare_finds_differences) ||
        !CU_add_test(s, "merge refuses missing, duplicate, foreign, incomplete shards", test_merge_refusals) ||
        !CU_add_test(s, "--dry-run --shard", test_dry_run))
        return CU_get_error();
    return CUE_SUCCESS;
}
