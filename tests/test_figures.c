// test_figures.c: every figure type the toolkit draws, rendered on a tiny
// trace (litelab run on the CPU, then litelab report) and from the
// experiments' committed data files, checked the way a reviewer looks at
// them: the image is not blank, nothing is cut off at the canvas edge (PNG),
// every label lies inside the canvas (SVG), step and tile axes have
// whole-number ticks, each figure names the trace's actual shape, maps and
// hardware, and the heatmap explains the descending walk's triangle.
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "figure_check.h"
#include "report_figures.h"
#include "test_suites.h"
#include "tiny_trace.h"
#include "trace.h"

static char work[] = "/tmp/litelab_figures_XXXXXX";
static char trace_path[300], with_map[300], without_map[300];

static int run_quiet(const char *cmd) {
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// The tiny trace (3 x 3 tiles, where gnuplot's own ticks would be
// fractional) and two reports: the heatmap over the tile maps (steps 0 and
// 3, a walk policy) and without them (the oracle, every step: no map at 1, 2).
static int setup(void) {
    if (!mkdtemp(work) || tt_make_tiny_trace(work, trace_path, sizeof trace_path)) return -1;
    char cmd[1400];
    snprintf(with_map, sizeof with_map, "%s/with_map", work);
    snprintf(without_map, sizeof without_map, "%s/without_map", work);
    snprintf(cmd, sizeof cmd, LITELAB " report %s -o %s -q --heatmap-policy lite_t-1 --heatmap-steps 0,3", trace_path,
             with_map);
    if (run_quiet(cmd)) return -1;
    snprintf(cmd, sizeof cmd, LITELAB " report %s -o %s -q --heatmap-policy oracle_t-6", trace_path, without_map);
    return run_quiet(cmd) ? -1 : 0;
}

static int teardown(void) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", work);
    return run_quiet(cmd);
}

static int exists(const char *dir, const char *name) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static void test_every_figure_drawn(void) {
    const char *stems[] = {"runtime_vs_skipped", "skipped_per_step", "threshold_sweep",  "error_vs_speedup",
                           "mask_heatmap",       "sparsity_lite_t-6", "sparsity_lite_t-2", "sparsity_oracle_t-6"};
    const char *dirs[] = {with_map, without_map};
    for (int d = 0; d < 2; d++)
        for (size_t i = 0; i < sizeof stems / sizeof stems[0]; i++) {
            char png[128], svg[128];
            snprintf(png, sizeof png, "%s.png", stems[i]);
            snprintf(svg, sizeof svg, "%s.svg", stems[i]);
            CU_ASSERT(exists(dirs[d], png));
            CU_ASSERT(exists(dirs[d], svg));
        }
}

// Runs check on every file of dir ending in ext; returns how many it checked.
static int check_all(const char *dir, const char *ext, int (*check)(const char *path)) {
    DIR *d = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name), m = strlen(ext);
        if (len <= m || strcmp(e->d_name + len - m, ext)) continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        CU_ASSERT(check(path));
        n++;
    }
    closedir(d);
    return n;
}

static int png_ok(const char *path) {
    char why[600];
    int ok = fc_png_ok(path, 0.01, 2, why, sizeof why);
    if (!ok) fprintf(stderr, "\n  %s\n", why);
    return ok;
}

static int svg_ok(const char *path) {
    char why[600];
    int ok = fc_svg_texts_fit(path, 2, why, sizeof why);
    if (!ok) fprintf(stderr, "\n  %s\n", why);
    return ok;
}

static void test_png_not_blank_nothing_cut(void) {
    CU_ASSERT(check_all(with_map, ".png", png_ok) >= 8);
    CU_ASSERT(check_all(without_map, ".png", png_ok) >= 8);
}

static void test_svg_labels_inside_canvas(void) {
    CU_ASSERT(check_all(with_map, ".svg", svg_ok) >= 8);
    CU_ASSERT(check_all(without_map, ".svg", svg_ok) >= 8);
}

// The checks themselves: they fail on a label past the edge and on a blank image.
static void test_checks_catch_defects(void) {
    char svg[400], png[400], why[600], cmd[1200];
    snprintf(svg, sizeof svg, "%s/cut.svg", work);
    snprintf(png, sizeof png, "%s/cut.png", work);
    // A colour-bar label at the right edge, as every heatmap had it.
    snprintf(cmd, sizeof cmd,
             "gnuplot -e \"set terminal svg size 400,300 font 'DejaVu Sans,14'; set output '%s'; "
             "set label 1 'a label past the edge' at screen 0.99, screen 0.5 rotate by 90 center; plot x\"; "
             "gnuplot -e \"set terminal pngcairo size 400,300 font 'DejaVu Sans,14'; set output '%s'; "
             "set label 1 'a label past the edge' at screen 0.99, screen 0.5 rotate by 90 center; plot x\"",
             svg, png);
    CU_ASSERT_EQUAL_FATAL(run_quiet(cmd), 0);
    CU_ASSERT_FALSE(fc_svg_texts_fit(svg, 2, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "a label past the edge"));
    CU_ASSERT_FALSE(fc_png_ok(png, 0.01, 2, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "cut off"));
    snprintf(cmd, sizeof cmd,
             "gnuplot -e \"set terminal pngcairo size 400,300; set output '%s'; unset border; unset tics; "
             "plot [0:1][0:1] -1 notitle\"",
             png);
    CU_ASSERT_EQUAL_FATAL(run_quiet(cmd), 0);
    CU_ASSERT_FALSE(fc_png_ok(png, 0.01, 2, why, sizeof why));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "blank"));
}

// Steps and tiles are whole numbers: every tick label under an axis (centred,
// not rotated) that is a number must be an integer.
static int fractional;
static int count_fractional(const char *text, const char *anchor, double rotate, void *arg) {
    (void)arg;
    if (strcmp(anchor, "middle") || rotate != 0) return 0;
    char *end;
    double v = strtod(text, &end);
    while (*end == ' ') end++;
    if (end != text && !*end && v != floor(v)) {
        fprintf(stderr, "\n  fractional tick %s\n", text);
        fractional++;
    }
    return 0;
}

static void test_whole_number_ticks(void) {
    const char *files[] = {"skipped_per_step.svg", "mask_heatmap.svg"};
    const char *dirs[] = {with_map, without_map};
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < 2; i++) {
            char path[700];
            snprintf(path, sizeof path, "%s/%s", dirs[d], files[i]);
            fractional = 0;
            CU_ASSERT(fc_svg_each_text(path, count_fractional, NULL) > 0);
            CU_ASSERT_EQUAL(fractional, 0);
        }
}

typedef struct {
    const char *want;
    int found;
} find_state;

static int find_text(const char *text, const char *anchor, double rotate, void *arg) {
    (void)anchor, (void)rotate;
    find_state *s = arg;
    if (strstr(text, s->want)) s->found = 1;
    return s->found;
}

static int svg_has(const char *dir, const char *file, const char *want) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    find_state s = {want, 0};
    fc_svg_each_text(path, find_text, &s);
    return s.found;
}

static int svg_says(const char *dir, const char *file, const char *want) {
    int found = svg_has(dir, file, want);
    if (!found) fprintf(stderr, "\n  %s/%s does not say \"%s\"\n", dir, file, want);
    return found;
}

// The shape comes from the trace itself, the maps and hardware too.
static void test_figures_name_shape_maps_hardware(void) {
    ll_trace_reader *r;
    ll_trace_meta m;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_trace_open(trace_path, 0, &r, &m, &err), LL_OK);
    ll_trace_close(r);
    char shape[128];
    snprintf(shape, sizeof shape, "B=%d N=%d H=%d D=%d", m.shape.B, m.shape.N, m.shape.H, m.shape.D);
    const char *files[] = {"runtime_vs_skipped.svg", "skipped_per_step.svg",  "threshold_sweep.svg",
                           "error_vs_speedup.svg",   "mask_heatmap.svg",      "sparsity_lite_t-2.svg"};
    for (int i = 0; i < 6; i++) {
        CU_ASSERT(svg_says(with_map, files[i], shape));
        CU_ASSERT(svg_says(with_map, files[i], "synthetic maps (preset tiny, seed 1)"));
        CU_ASSERT(svg_says(with_map, files[i], "CPU backend: host times, not GPU times"));
    }
}

// A walk policy's heatmap says why its skips form a triangle; the oracle's
// (no walk) does not.
static void test_heatmap_explains_walk(void) {
    CU_ASSERT(svg_says(with_map, "mask_heatmap.svg", "walked from the last down to 0"));
    CU_ASSERT(svg_says(with_map, "mask_heatmap.svg", "max log2 weight vs row max"));
    CU_ASSERT(svg_says(without_map, "mask_heatmap.svg", "skipped fraction of the tile"));
    CU_ASSERT_FALSE(svg_has(without_map, "mask_heatmap.svg", "walked from the last down to 0"));
}

// The captions' pieces, from metadata alone.
static void test_caption_labels(void) {
    ll_trace_meta m = {0};
    char out[400];
    snprintf(m.trajectory, sizeof m.trajectory, "synthetic preset=wan720p seed=7 grid=21x45x80");
    ll_fig_maps_label(&m, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "synthetic maps (preset wan720p, seed 7)");
    snprintf(m.trajectory, sizeof m.trajectory, "capture runs/dit_random_init.h5 (wan-dit-random-init)");
    ll_fig_maps_label(&m, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "maps captured from wan-dit-random-init (dit_random_init.h5)");
    snprintf(m.backend, sizeof m.backend, "cuda");
    snprintf(m.gpu_name, sizeof m.gpu_name, "NVIDIA H100 80GB HBM3");
    snprintf(m.kernel, sizeof m.kernel, "hopper");
    ll_fig_hardware_label(&m, out, sizeof out);
    CU_ASSERT_STRING_EQUAL(out, "NVIDIA H100 80GB HBM3 (cuda backend, hopper kernel): CUPTI times");
    snprintf(m.backend, sizeof m.backend, "cpu");
    ll_fig_hardware_label(&m, out, sizeof out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "not GPU times"));
    CU_ASSERT(ll_fig_walk_marks("lite") && ll_fig_walk_marks("dynamic") && !ll_fig_walk_marks("oracle") &&
              !ll_fig_walk_marks("window"));
}

// Labels of points close together no longer print over each other (they
// did in error_vs_speedup: dense, lite_t-14 and lite_t-10 near (1, 0)).
static void test_label_sides_apart(void) {
    double x[5] = {1.0, 1.01, 1.025, 1.2, 1.33}, y[5] = {0, 2e-6, 2.4e-5, 0.003, 0.014};
    int chars[5] = {5, 9, 9, 8, 8}, side[5], same[5] = {0, 0, 0, 0, 0};
    CU_ASSERT(ll_label_collisions(x, y, chars, 5, 0, same) > 0);  // all right and above: they collide
    ll_label_sides(x, y, chars, 5, 0, side);
    CU_ASSERT_EQUAL(ll_label_collisions(x, y, chars, 5, 0, side), 0);
    for (int i = 0; i < 5; i++) CU_ASSERT(side[i] >= 0 && side[i] < 12);
    // Points far apart keep the default corner (right, above).
    double fx[3] = {1, 2, 3}, fy[3] = {1, 2, 3};
    int fc[3] = {4, 4, 4}, fs[3];
    ll_label_sides(fx, fy, fc, 3, 1, fs);
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(fs[i], 0);
}

// The experiments' own figures, drawn from their committed data files with
// the committed scripts, pass the same checks.
static void test_experiment_figures(void) {
    char root[PATH_MAX], cmd[3 * PATH_MAX + 2000];
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath("..", root));
    struct {
        const char *script, *vars;
    } figs[] = {
        {"experiments/ablation.gp", "data='%s/experiments/results/ablation/ablation_points.dat'; "
                                    "plot_title='Self-attention time against sparsity'; "
                                    "subtitle='LiteAttention points: B=1 N=75600 H=40 D=128 bf16, 128x128 tiles'"},
        {"experiments/scaling.gp", "data='%s/experiments/results/scaling/scaling.dat'; "
                                   "plot_title='Time per call against sequence length'; subtitle='B=1 H=40 D=128'"},
        {"experiments/calibration.gp", "dir='%s/experiments/results/calibration'; subtitle='Replays: CPU'"},
        {"experiments/dit/realism.gp", "dir='%s/experiments/results/dit'; threshold=-10; subtitle='maps: trained'"},
    };
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        char vars[1500], png[400], svg[400];
        snprintf(vars, sizeof vars, figs[i].vars, root);
        snprintf(png, sizeof png, "%s/experiment_%zu.png", work, i);
        snprintf(svg, sizeof svg, "%s/experiment_%zu.svg", work, i);
        snprintf(cmd, sizeof cmd,
                 "gnuplot -e \"script_dir='%s/analysis'; out_png='%s'; out_svg='%s'; %s\" %s/%s 2>%s/gnuplot.err",
                 root, png, svg, vars, root, figs[i].script, work);
        CU_ASSERT_EQUAL(run_quiet(cmd), 0);
        CU_ASSERT(png_ok(png));
        CU_ASSERT(svg_ok(svg));
    }
}

int register_figures_suite(void) {
    CU_pSuite s = CU_add_suite("figures", setup, teardown);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "every figure type drawn from a tiny CPU trace", test_every_figure_drawn) ||
        !CU_add_test(s, "PNG: not blank, nothing cut off at the edge", test_png_not_blank_nothing_cut) ||
        !CU_add_test(s, "SVG: every label inside the canvas", test_svg_labels_inside_canvas) ||
        !CU_add_test(s, "the checks catch a cut label and a blank image", test_checks_catch_defects) ||
        !CU_add_test(s, "whole-number ticks on step and tile axes", test_whole_number_ticks) ||
        !CU_add_test(s, "figures name the trace's shape, maps and hardware", test_figures_name_shape_maps_hardware) ||
        !CU_add_test(s, "heatmap explains the descending walk's triangle", test_heatmap_explains_walk) ||
        !CU_add_test(s, "caption pieces from trace metadata", test_caption_labels) ||
        !CU_add_test(s, "labels of close points placed apart", test_label_sides_apart) ||
        !CU_add_test(s, "experiment figures from committed data", test_experiment_figures))
        return CU_get_error();
    return 0;
}
