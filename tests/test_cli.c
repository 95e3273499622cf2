// test_cli.c: the `litelab` binary from the outside (LITELAB, built by
// `make test`): `help` and every subcommand's --help; unknown commands and
// options (exit 2, naming them); `info` and `validate` on missing,
// unreadable, non-HDF5, empty, truncated and foreign files with the README's
// exit codes (0 ok, 2 usage, 3 invalid input, 4 I/O error, 5 corrupt or
// foreign file) and a message naming the file; `run` with broken JSON, wrong
// keys, a capture holding NaN or Inf, an unwritable output and a damaged
// checkpoint (an invalid skip list) on --resume, each refused cleanly with no
// output that looks complete; `synth` writing a capture `validate` accepts.
#include <CUnit/CUnit.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "dtype.h"
#include "rng.h"
#include "test_files.h"
#include "test_suites.h"
#include "trace.h"

static char dir[128];
static char out_path[512], err_path[512];

static void path_of(char *out, size_t len, const char *name) { tf_path(out, len, dir, name); }

static int suite_init(void) {
    tf_h5_quiet();
    if (tf_dir_make(dir, sizeof dir, "cli")) return -1;
    path_of(out_path, sizeof out_path, "stdout.txt");
    path_of(err_path, sizeof err_path, "stderr.txt");
    return 0;
}

static int suite_clean(void) { return tf_dir_remove(dir); }

// Runs litelab; stdout and stderr land in out_path / err_path.
static int cli(const char *const *args) { return tf_run_cli(args, out_path, err_path); }

static int out_has(const char *s) { return tf_contains(out_path, s); }
static int err_has(const char *s) { return tf_contains(err_path, s); }

// Runs args and checks the exit code and that stderr holds each needle
// (NULL-terminated); prints what it got otherwise.
static void expect(const char *const *args, int code, const char *const *needles) {
    int rc = cli(args);
    int ok = rc == code;
    for (int i = 0; needles && needles[i]; i++) ok &= err_has(needles[i]);
    CU_ASSERT_TRUE(ok);
    if (!ok) {
        char *e = tf_read_all(err_path, NULL);
        fprintf(stderr, "\n  litelab");
        for (int i = 0; args[i]; i++) fprintf(stderr, " %s", args[i]);
        fprintf(stderr, " -> exit %d (want %d), stderr:\n%s\n", rc, code, e ? e : "");
        free(e);
    }
}

static const char *const COMMANDS[] = {"run", "synth", "capture", "info", "validate", "bench", "report", "calibrate"};
enum { N_COMMANDS = sizeof COMMANDS / sizeof COMMANDS[0] };

// ---------------------------------------------------------------------------
// Inputs: a small capture of random (finite) words and a trace run on it

enum { CAP_N = 64, CAP_STEPS = 3 };

static void write_capture(const char *path) {
    ll_capture_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.model, sizeof m.model, "cli-test");
    snprintf(m.source, sizeof m.source, "captured");
    m.shape = (ll_shape){1, CAP_N, 2, 64, LL_BF16};
    m.steps = CAP_STEPS;
    m.layers = 1;
    m.frames = 1, m.height = 8, m.width = 8;
    size_t n = ll_shape_elems(&m.shape);
    uint16_t *x = malloc(n * 2);
    ll_capture_writer *w;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_capture_create(path, &m, &w, &err), LL_OK);
    for (int s = 0; s < CAP_STEPS; s++) {
        for (size_t i = 0; i < n; i++) x[i] = ll_float_to_bf16(2.0f * ll_normal(ll_hash4(3, (uint64_t)s, i, 0)));
        CU_ASSERT_EQUAL(ll_capture_write(w, s, 0, x, x, x, &err), LL_OK);
    }
    CU_ASSERT_EQUAL_FATAL(ll_capture_close(w, &err), LL_OK);
    free(x);
}

// An experiment replaying `capture` under dense and LiteAttention.
static void write_experiment(const char *path, const char *capture) {
    char text[2048];
    snprintf(text, sizeof text,
             "{\"name\": \"cli\", \"trajectory\": {\"capture\": \"%s\"}, \"backend\": \"cpu\",\n"
             " \"tiling\": {\"block_m\": 32, \"block_n\": 32},\n"
             " \"policies\": [{\"name\": \"dense\", \"kind\": \"dense\"},\n"
             "              {\"name\": \"lite\", \"kind\": \"lite\", \"threshold\": -3}]}\n",
             capture);
    CU_ASSERT_EQUAL_FATAL(tf_write_text(path, text), 0);
}

static char capture_path[512], exp_path[512], trace_path[512];

static void make_inputs(void) {
    path_of(capture_path, sizeof capture_path, "cap.h5");
    path_of(exp_path, sizeof exp_path, "exp.json");
    path_of(trace_path, sizeof trace_path, "trace.h5");
    if (tf_exists(trace_path)) return;
    write_capture(capture_path);
    write_experiment(exp_path, capture_path);
    const char *args[] = {"run", exp_path, "-o", trace_path, "--quiet", NULL};
    CU_ASSERT_EQUAL_FATAL(cli(args), 0);
}

// ---------------------------------------------------------------------------
// Help and usage

static void test_help(void) {
    const char *help[] = {"help", NULL};
    CU_ASSERT_EQUAL(cli(help), 0);
    CU_ASSERT_TRUE(out_has("usage: litelab <command>"));
    for (int i = 0; i < N_COMMANDS; i++) {
        char line[64];
        snprintf(line, sizeof line, "  %-10s ", COMMANDS[i]);  // every command is built and listed
        CU_ASSERT_TRUE(out_has(line));
        if (!out_has(line)) fprintf(stderr, "\n  litelab help does not list '%s'\n", COMMANDS[i]);
    }
    CU_ASSERT_TRUE(out_has("exit codes: 0 ok, 2 usage, 3 invalid input, 4 I/O error, 5 corrupt or foreign file"));
    const char *dashes[] = {"--help", NULL}, *none[] = {NULL}, *version[] = {"--version", NULL};
    CU_ASSERT_EQUAL(cli(dashes), 0);
    CU_ASSERT_TRUE(out_has("usage: litelab <command>"));
    CU_ASSERT_EQUAL(cli(none), 2);  // no command: the usage, and a usage error
    CU_ASSERT_TRUE(out_has("usage: litelab <command>"));
    CU_ASSERT_EQUAL(cli(version), 0);
    CU_ASSERT_TRUE(out_has("litelab " LITELAB_VERSION));
}

static void test_subcommand_help(void) {
    for (int i = 0; i < N_COMMANDS; i++) {
        char usage[64];
        snprintf(usage, sizeof usage, "usage: litelab %s", COMMANDS[i]);
        const char *long_form[] = {COMMANDS[i], "--help", NULL}, *short_form[] = {COMMANDS[i], "-h", NULL};
        for (int f = 0; f < 2; f++) {
            int rc = cli(f ? short_form : long_form);
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_TRUE(out_has(usage));
            CU_ASSERT_EQUAL(tf_size(err_path), 0);
            if (rc != 0 || !out_has(usage)) fprintf(stderr, "\n  litelab %s %s -> exit %d\n", COMMANDS[i],
                                                     f ? "-h" : "--help", rc);
        }
    }
}

static void test_usage_errors(void) {
    const char *unknown[] = {"frobnicate", NULL}, *n1[] = {"'frobnicate'", NULL};
    expect(unknown, 2, n1);
    for (int i = 0; i < N_COMMANDS; i++) {
        const char *args[] = {COMMANDS[i], "--no-such-option", NULL}, *needles[] = {"--no-such-option", NULL};
        expect(args, 2, needles);
    }
    // Missing operands and bad values, each naming what is wrong.
    struct {
        const char *args[8];
        const char *needle;
    } cases[] = {
        {{"info", NULL}, "FILE"},
        {{"validate", "--allow-partial", NULL}, "FILE"},
        {{"run", NULL}, "experiment file"},
        {{"run", "a.json", "b.json", NULL}, "experiment file"},
        {{"run", "a.json", "--flop-rate", "fast", NULL}, "--flop-rate"},
        {{"synth", "-o", "x.h5", NULL}, "--preset"},
        {{"synth", "--preset", "huge", "-o", "x.h5", NULL}, "'huge'"},
        {{"synth", "--preset", "tiny", "-o", "x.h5", "--dim", "80", NULL}, "--dim"},
        {{"synth", "--preset", "tiny", "-o", "x.h5", "--steps", "0", NULL}, "--steps"},
        {{"synth", "--preset", "tiny", "-o", "x.h5", "--grid", "4x4", NULL}, "--grid"},
        {{"synth", "--preset", "tiny", "-o", "x.h5", "--seed", "-1", NULL}, "--seed"},
        {{"synth", "--preset", "tiny", "-o", "x.h5", "--dtype", "fp32", NULL}, "--dtype"},
        {{"synth", "--preset", "tiny", "-o", "x.h5", "stray", NULL}, "'stray'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *needles[] = {cases[i].needle, NULL};
        expect(cases[i].args, 2, needles);
    }
    CU_ASSERT_FALSE(tf_exists("x.h5") || tf_exists("x.h5.partial"));
}

// ---------------------------------------------------------------------------
// info and validate

static void test_bad_files(void) {
    make_inputs();
    char missing[512], folder[512], text[512], empty[512], foreign[512], junk[512];
    path_of(missing, sizeof missing, "no_such_file.h5");
    path_of(folder, sizeof folder, "folder.h5");
    path_of(text, sizeof text, "text.h5");
    path_of(empty, sizeof empty, "empty.h5");
    path_of(foreign, sizeof foreign, "foreign.h5");
    path_of(junk, sizeof junk, "junk.h5");
    CU_ASSERT_EQUAL_FATAL(mkdir(folder, 0700), 0);
    CU_ASSERT_EQUAL_FATAL(tf_write_text(text, "not HDF5 at all\n"), 0);
    CU_ASSERT_EQUAL_FATAL(tf_write_bytes(empty, "", 0), 0);
    CU_ASSERT_EQUAL_FATAL(tf_h5_foreign(foreign), 0);
    char bytes[4096];
    memset(bytes, 0, sizeof bytes);
    memcpy(bytes, "\x89HDF\r\n\x1a\n", 8);  // the HDF5 signature, then nothing
    CU_ASSERT_EQUAL_FATAL(tf_write_bytes(junk, bytes, sizeof bytes), 0);
    struct {
        const char *path;
        int code;
        const char *needle;
    } cases[] = {
        {missing, 4, "No such file"}, {folder, 4, "directory"},      {text, 5, "not an HDF5 file"},
        {empty, 5, "not an HDF5 file"}, {foreign, 5, "not a litelab"}, {junk, 5, "HDF5"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *needles[] = {cases[i].path, cases[i].needle, NULL};
        const char *info[] = {"info", cases[i].path, NULL}, *val[] = {"validate", cases[i].path, NULL};
        expect(info, cases[i].code, needles);
        expect(val, cases[i].code, needles);
    }
    // Truncated copies of a trace and of a capture: corrupt files (5).
    const char *sources[2] = {trace_path, capture_path};
    for (int f = 0; f < 2; f++) {
        size_t n = 0;
        char *all = tf_read_all(sources[f], &n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(all);
        const size_t cuts[] = {8, 512, n / 3, n / 2, n - 64, n - 1};
        char cut[512];
        path_of(cut, sizeof cut, f ? "cut_capture.h5" : "cut_trace.h5");
        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
            CU_ASSERT_EQUAL_FATAL(tf_write_bytes(cut, all, cuts[i]), 0);
            const char *needles[] = {cut, NULL};
            const char *info[] = {"info", cut, NULL}, *val[] = {"validate", cut, NULL};
            expect(info, 5, needles);
            expect(val, 5, needles);
        }
        free(all);
    }
    rmdir(folder);
}

static void test_good_and_partial_files(void) {
    make_inputs();
    const char *vt[] = {"validate", trace_path, NULL}, *it[] = {"info", trace_path, NULL};
    CU_ASSERT_EQUAL(cli(vt), 0);
    CU_ASSERT_TRUE(out_has("OK (litelab trace"));
    CU_ASSERT_EQUAL(cli(it), 0);
    CU_ASSERT_TRUE(out_has("litelab trace") && out_has("complete") && out_has("lite"));
    const char *vc[] = {"validate", "-q", capture_path, NULL}, *ic[] = {"info", capture_path, NULL};
    CU_ASSERT_EQUAL(cli(vc), 0);
    CU_ASSERT_EQUAL(tf_size(out_path), 0);  // quiet
    CU_ASSERT_EQUAL(cli(ic), 0);
    CU_ASSERT_TRUE(out_has("litelab capture") && out_has("cli-test"));
    // Several files: the last failure's code.
    char missing[512];
    path_of(missing, sizeof missing, "gone.h5");
    const char *two[] = {"validate", capture_path, missing, trace_path, NULL};
    CU_ASSERT_EQUAL(cli(two), 4);
    CU_ASSERT_TRUE(out_has("OK (litelab capture") && out_has("OK (litelab trace"));
    CU_ASSERT_TRUE(err_has(missing));

    // A run killed after step 0: a partial trace, incomplete, not at the final path.
    char killed[512], partial[600];
    path_of(killed, sizeof killed, "killed.h5");
    snprintf(partial, sizeof partial, "%s.partial", killed);
    const char *run[] = {"run", exp_path, "-o", killed, "--quiet", NULL};
    setenv("LITELAB_TEST_ABORT_AFTER_STEP", "0", 1);
    int rc = cli(run);
    unsetenv("LITELAB_TEST_ABORT_AFTER_STEP");
    CU_ASSERT_EQUAL_FATAL(rc, -1 - SIGKILL);
    CU_ASSERT_FALSE(tf_exists(killed));
    const char *vp[] = {"validate", partial, NULL}, *vpa[] = {"validate", "--allow-partial", partial, NULL},
               *ip[] = {"info", partial, NULL};
    const char *incomplete[] = {partial, "incomplete", NULL};
    expect(vp, 5, incomplete);
    CU_ASSERT_TRUE(out_has("INCOMPLETE"));
    CU_ASSERT_EQUAL(cli(vpa), 0);
    CU_ASSERT_EQUAL(cli(ip), 0);
    CU_ASSERT_TRUE(out_has("INCOMPLETE") && out_has("1 durable of 3"));
    unlink(partial);
}

// ---------------------------------------------------------------------------
// run: bad experiments and bad inputs

static void no_output(const char *out) {
    char partial[600];
    snprintf(partial, sizeof partial, "%s.partial", out);
    CU_ASSERT_FALSE(tf_exists(out));
    CU_ASSERT_FALSE(tf_exists(partial));
}

static void test_run_bad_experiments(void) {
    make_inputs();
    char bad[512], out[512];
    path_of(bad, sizeof bad, "bad.json");
    path_of(out, sizeof out, "bad_out.h5");
    char good_traj[700];
    snprintf(good_traj, sizeof good_traj, "\"trajectory\": {\"capture\": \"%s\"}", capture_path);
    struct {
        const char *text;
        const char *needle;
    } cases[] = {
        // broken JSON, with the line and column of the error
        {"{\"name\": \"x\",\n \"policies\": [\n", "bad.json:3:"},
        {"{\"policies\": [{\"name\": \"d\", \"kind\": \"dense\"},]}", "not valid JSON"},
        {"", "not valid JSON"},
        {"[1, 2, 3]", "must be a JSON object"},
        {"{\"policies\": [{\"name\": \"d\", \"kind\": \"dense\"}]} trailing", "not valid JSON"},
        // wrong keys, types and values
        {"{\"polices\": []}", "'polices'"},
        {"{\"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"treshold\": -5}]}", "treshold"},
        {"{\"policies\": [{\"name\": \"l\", \"kind\": \"quantum\"}]}", "quantum"},
        {"{\"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"threshold\": 3}]}", "threshold"},
        {"{\"policies\": [{\"name\": \"l\", \"kind\": \"lite\", \"threshold\": \"low\"}]}", "threshold"},
        {"{\"policies\": []}", "policies"},
        {"{\"trajectory\": {\"synthetic\": \"tiny\", \"steps\": \"four\"}, \"policies\": [{\"name\": \"d\", "
         "\"kind\": \"dense\"}]}",
         "steps"},
        {"{\"tiling\": {\"block_m\": 20, \"block_n\": 32}, \"policies\": [{\"name\": \"d\", \"kind\": \"dense\"}]}",
         "block_m"},
        {"{\"policies\": [{\"name\": \"d\", \"kind\": \"dense\"}, {\"name\": \"d\", \"kind\": \"dense\"}]}", "'d'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(tf_write_text(bad, cases[i].text), 0);
        const char *args[] = {"run", bad, "-o", out, "--quiet", NULL};
        const char *needles[] = {"bad.json", cases[i].needle, NULL};
        expect(args, 2, needles);  // `litelab run --help`: 2 for a bad experiment
        no_output(out);
    }
    // The experiment is fine, its trajectory is not.
    char missing[512], foreign[512], text[1200];
    path_of(missing, sizeof missing, "no_capture.h5");
    path_of(foreign, sizeof foreign, "foreign_capture.h5");
    CU_ASSERT_EQUAL_FATAL(tf_h5_foreign(foreign), 0);
    const char *paths[2] = {missing, foreign};
    const int codes[2] = {4, 5};
    for (int i = 0; i < 2; i++) {
        snprintf(text, sizeof text,
                 "{\"trajectory\": {\"capture\": \"%s\"}, \"policies\": [{\"name\": \"d\", \"kind\": \"dense\"}]}",
                 paths[i]);
        CU_ASSERT_EQUAL_FATAL(tf_write_text(bad, text), 0);
        const char *args[] = {"run", bad, "-o", out, "--quiet", NULL};
        const char *needles[] = {paths[i], NULL};
        expect(args, codes[i], needles);
        no_output(out);
    }
    // More steps than the capture holds.
    snprintf(text, sizeof text,
             "{\"trajectory\": {\"capture\": \"%s\", \"steps\": 9}, \"policies\": [{\"name\": \"d\", \"kind\": "
             "\"dense\"}]}",
             capture_path);
    CU_ASSERT_EQUAL_FATAL(tf_write_text(bad, text), 0);
    const char *args[] = {"run", bad, "-o", out, "--quiet", NULL};
    const char *needles[] = {"trajectory.steps", NULL};
    expect(args, 2, needles);
    no_output(out);
    // Nowhere to write.
    const char *unwritable[] = {"run", exp_path, "-o", "/nonexistent-dir/t.h5", "--quiet", NULL};
    const char *where[] = {"/nonexistent-dir/t.h5", NULL};
    expect(unwritable, 4, where);
}

// NaN / Inf in the capture a run reads: exit 3 naming the capture, the
// tensor and the call; the finished steps stay in a partial trace, marked
// incomplete; nothing at the output path.
static void test_run_not_finite_capture(void) {
    make_inputs();
    struct {
        const char *tensor;
        int step;
        uint16_t word;
    } cases[] = {{"q", 1, 0x7fc0}, {"q", 0, 0xffc0}, {"k", 2, 0x7f80}, {"v", 1, 0xff80}};
    char cap[512], exp[512], out[512], partial[600];
    path_of(cap, sizeof cap, "nan_cap.h5");
    path_of(exp, sizeof exp, "nan.json");
    path_of(out, sizeof out, "nan_out.h5");
    snprintf(partial, sizeof partial, "%s.partial", out);
    write_experiment(exp, cap);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(tf_copy(capture_path, cap), 0);
        hsize_t at[6] = {(hsize_t)cases[i].step, 0, 0, 17, 1, 5};
        char dset[8], call[64];
        snprintf(dset, sizeof dset, "/%s", cases[i].tensor);
        snprintf(call, sizeof call, "%s of step %d layer 0", cases[i].tensor, cases[i].step);
        CU_ASSERT_EQUAL_FATAL(tf_h5_poke(cap, dset, at, H5T_NATIVE_UINT16, &cases[i].word), 0);
        const char *args[] = {"run", exp, "-o", out, "--quiet", NULL};
        const char *needles[] = {cap, call, "non-finite", "n=17 h=1 d=5", NULL};
        expect(args, 3, needles);
        CU_ASSERT_FALSE(tf_exists(out));
        CU_ASSERT_TRUE(tf_exists(partial));
        if (tf_exists(partial)) {  // the trace of the steps before the bad one, never marked complete
            ll_trace_reader *r;
            ll_trace_meta m;
            ll_error err;
            CU_ASSERT_EQUAL(ll_trace_open(partial, 0, &r, &m, &err), LL_ERR_FORMAT);
            CU_ASSERT_EQUAL_FATAL(ll_trace_open(partial, 1, &r, &m, &err), LL_OK);
            CU_ASSERT_EQUAL(m.complete, 0);
            CU_ASSERT_EQUAL(m.steps_done, cases[i].step);
            ll_trace_close(r);
            const char *val[] = {"validate", partial, NULL}, *inc[] = {"incomplete", NULL};
            expect(val, 5, inc);
            unlink(partial);
        }
        // And validate reports the capture itself.
        const char *vcap[] = {"validate", cap, NULL}, *vn[] = {cap, "non-finite", NULL};
        expect(vcap, 5, vn);
    }
}

// The harness path of an invalid skip list: a checkpoint damaged in a
// killed run's partial trace is refused by --resume and by validate.
static void test_resume_invalid_checkpoint(void) {
    make_inputs();
    char out[512], partial[600];
    path_of(out, sizeof out, "resume.h5");
    snprintf(partial, sizeof partial, "%s.partial", out);
    const char *run[] = {"run", exp_path, "-o", out, "--quiet", NULL};
    setenv("LITELAB_TEST_ABORT_AFTER_STEP", "0", 1);
    int rc = cli(run);
    unsetenv("LITELAB_TEST_ABORT_AFTER_STEP");
    CU_ASSERT_EQUAL_FATAL(rc, -1 - SIGKILL);
    // /state/lite/l0 is [2 slots, B, H, q_tiles, k_tiles + 1]; slot 0 holds
    // the list after step 0. An odd length breaks the list.
    hsize_t at[5] = {0, 0, 1, 1, 0};
    int32_t len = 3;
    CU_ASSERT_EQUAL_FATAL(tf_h5_poke(partial, "/state/lite/l0", at, H5T_NATIVE_INT32, &len), 0);
    const char *resume[] = {"run", exp_path, "-o", out, "--resume", "--quiet", NULL};
    const char *needles[] = {partial, "corrupt checkpoint", "/state/lite/l0", "row (b=0, h=1, qtile=1)", NULL};
    expect(resume, 5, needles);
    CU_ASSERT_FALSE(tf_exists(out));
    const char *val[] = {"validate", "--allow-partial", partial, NULL}, *vn[] = {partial, "/state/lite/l0", NULL};
    expect(val, 5, vn);
    unlink(partial);
}

// ---------------------------------------------------------------------------
// synth

static void test_synth_validates(void) {
    char path[512];
    path_of(path, sizeof path, "tiny.h5");
    const char *synth[] = {"synth", "--preset", "tiny", "-o", path, NULL};
    CU_ASSERT_EQUAL_FATAL(cli(synth), 0);
    CU_ASSERT_TRUE(out_has(path) && out_has("synthetic preset tiny"));
    const char *val[] = {"validate", path, NULL}, *info[] = {"info", path, NULL};
    CU_ASSERT_EQUAL(cli(val), 0);
    CU_ASSERT_TRUE(out_has("OK (litelab capture"));
    CU_ASSERT_EQUAL(cli(info), 0);
    CU_ASSERT_TRUE(out_has("synthetic-video-dit") && out_has("4 written of 4"));
    unlink(path);
    const char *unwritable[] = {"synth", "--preset", "tiny", "-o", "/nonexistent-dir/s.h5", NULL};
    const char *where[] = {"/nonexistent-dir/s.h5", NULL};
    expect(unwritable, 4, where);
}

int register_cli_suite(void) {
    CU_pSuite s = CU_add_suite("cli", suite_init, suite_clean);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "litelab help lists every command", test_help) ||
        !CU_add_test(s, "every subcommand's --help and -h", test_subcommand_help) ||
        !CU_add_test(s, "unknown commands, options, bad values: exit 2 naming them", test_usage_errors) ||
        !CU_add_test(s, "info / validate: missing, non-HDF5, truncated, foreign files", test_bad_files) ||
        !CU_add_test(s, "info / validate: good, several and partial files", test_good_and_partial_files) ||
        !CU_add_test(s, "run: broken JSON, wrong keys, bad trajectory, unwritable output", test_run_bad_experiments) ||
        !CU_add_test(s, "run: NaN / Inf in the capture", test_run_not_finite_capture) ||
        !CU_add_test(s, "run --resume: a damaged checkpoint (invalid skip list)", test_resume_invalid_checkpoint) ||
        !CU_add_test(s, "synth writes a capture validate accepts", test_synth_validates))
        return CU_get_error();
    return CUE_SUCCESS;
}
