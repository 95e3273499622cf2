// bench_calibrate.c: how fast threshold screening is at Wan 720p scale on the CPU.
//
//   make bench-calibrate                       (Wan 720p, 50 steps, 4 layers, 40 heads)
//   build/bench_calibrate --shape wan480p --configs 200
//
// The maps come from the statistical tile-map model (analysis/calibrate.h,
// ll_map_source_model), generated step by step in memory: real maps of this
// shape need Q and K of a Wan run, and ll_tile_map_compute on this CPU would
// take hours (4*B*H*N^2*D = 1.2 PFLOP per step and layer). The model has the
// token grid (21 x 45 x 80), the tiling (128 x 64: 591 x 1182 tiles per head)
// and head kinds of a video DiT and temporally coherent histories; its
// sparsity at a given threshold is the model's, not Wan's.
//
// Measured: building the screening table (two passes over the 5.6e9 tile
// values, map generation included), then
//   1. a sweep of --configs random per-step schedules (one level per step,
//      shared by the layers, a random non-decreasing walk over the grid),
//      evaluated in one ll_calib_evaluate call: the headline figure;
//   2. per-layer constant thresholds: the record-low curves, then 100,000
//      random per-layer combinations;
//   3. the search for one budget (greedy runs over the budget ladder);
//   4. the direct simulation over the float maps of the searched schedule,
//      checked against the table's prediction (same sparsity, exact error
//      below the bound).
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "rng.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_calibrate [--shape wan720p|wan480p|small] [--steps N] [--layers N] [--heads N]\n"
            "                       [--configs N] [--budget X] [--grid-step X] [--split N] [--seed N]\n"
            "                       [--no-search] [--no-simulate]\n");
}

static int fail(const ll_error *err) {
    fprintf(stderr, "bench_calibrate: %s\n", err->msg);
    return ll_exit_code(err->code);
}

int main(int argc, char **argv) {
    const char *shape = "wan720p";
    int steps = 50, layers = 4, heads = 40, configs = 1000, split = 2, simulate = 1, search = 1;
    double budget = 0.05, grid_step = 0.5;
    uint64_t seed = 1;
    static const struct option opts[] = {{"shape", required_argument, 0, 'S'},  {"steps", required_argument, 0, 't'},
                                         {"layers", required_argument, 0, 'l'}, {"heads", required_argument, 0, 'H'},
                                         {"configs", required_argument, 0, 'c'}, {"budget", required_argument, 0, 'b'},
                                         {"grid-step", required_argument, 0, 'g'}, {"split", required_argument, 0, 'p'},
                                         {"seed", required_argument, 0, 's'},   {"no-simulate", no_argument, 0, 'n'},
                                         {"no-search", no_argument, 0, 'N'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'S': shape = optarg; break;
        case 't': steps = atoi(optarg); break;
        case 'l': layers = atoi(optarg); break;
        case 'H': heads = atoi(optarg); break;
        case 'c': configs = atoi(optarg); break;
        case 'b': budget = atof(optarg); break;
        case 'g': grid_step = atof(optarg); break;
        case 'p': split = atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'n': simulate = 0; break;
        case 'N': search = simulate = 0; break;  // the simulation checks the searched schedule
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);  // progress lines appear as they come, also into a file
    ll_calib_model m = {.seed = seed, .steps = steps, .layers = layers, .heads = heads, .head_dim = 128,
                        .tiling = {128, 64}};
    if (!strcmp(shape, "wan720p")) {
        m.frames = 21, m.height = 45, m.width = 80;
    } else if (!strcmp(shape, "wan480p")) {
        m.frames = 21, m.height = 30, m.width = 52;
    } else if (!strcmp(shape, "small")) {
        m.frames = 5, m.height = 16, m.width = 24;
    } else {
        fprintf(stderr, "bench_calibrate: unknown shape '%s'\n", shape);
        return 2;
    }
    if (configs < 1 || steps < 2) {
        fprintf(stderr, "bench_calibrate: need --configs >= 1 and --steps >= 2\n");
        return 2;
    }
    ll_error err;
    ll_map_source *src;
    if (ll_map_source_model(&m, &src, &err)) return fail(&err);
    ll_calib_grid grid;
    if (ll_calib_grid_uniform(&grid, -20.0f, 0.0f, (float)grid_step, &err)) return fail(&err);
    double tiles = (double)src->B * src->H * src->q_tiles * src->k_tiles * layers * steps;
    printf("maps: %s, %d steps x %d layers x %d heads, %d x %d tiles per head (%.3g tile values), %d threads\n",
           src->desc, steps, layers, heads, src->q_tiles, src->k_tiles, tiles, omp_get_max_threads());
    printf("grid: %d thresholds from %g to %g by %g; run split at %d mass octaves\n", grid.n, (double)grid.t[0],
           (double)grid.t[grid.n - 1], grid_step, split);

    ll_calib_table t;
    ll_calib_build_options bo = {.split_log2 = split};
    if (ll_calib_table_build(src, &grid, &bo, &t, &err)) return fail(&err);
    double mib = (t.row_off[t.n_rows] + t.n_rows * (size_t)grid.n * 8 + t.n_rows * 12) / 1048576.0;
    printf("table: built in %.1f s (two passes, map generation included); %.1f MiB\n", t.build_seconds, mib);
    printf("       markable tiles %llu: constant level %.1f%%, never negligible %.1f%%, changing %.1f%% "
           "(%.2f runs each)\n",
           (unsigned long long)t.tiles_markable, 100.0 * t.tiles_const / t.tiles_markable,
           100.0 * t.tiles_never / t.tiles_markable, 100.0 * t.tiles_multi / t.tiles_markable,
           t.tiles_multi ? (double)t.runs_total / t.tiles_multi : 0.0);

    // 1. Random per-step schedules: non-decreasing walks over the grid.
    ll_calib_schedule *sched = calloc((size_t)configs, sizeof *sched);
    ll_calib_result *res = calloc((size_t)configs, sizeof *res);
    ll_rng r;
    ll_rng_seed(&r, seed * 7919 + 1);
    for (int k = 0; k < configs; k++) {
        if (ll_calib_schedule_alloc(&sched[k], steps, layers, &err)) return fail(&err);
        int level = ll_rng_int(&r, -1, grid.n / 2);
        for (int s = 0; s < steps; s++) {
            if (ll_rng_u01(&r) < 0.3) level += ll_rng_int(&r, 0, 3);
            if (level > grid.n - 1) level = grid.n - 1;
            for (int l = 0; l < layers; l++) sched[k].levels[l * steps + s] = (int8_t)level;
        }
    }
    double t0 = ll_now_seconds();
    if (ll_calib_evaluate(&t, sched, configs, res, &err)) return fail(&err);
    double sweep = ll_now_seconds() - t0;
    double lo = 1, hi = 0;
    for (int k = 0; k < configs; k++) {
        if (res[k].skipped_ratio < lo) lo = res[k].skipped_ratio;
        if (res[k].skipped_ratio > hi) hi = res[k].skipped_ratio;
    }
    printf("sweep: %d per-step schedules in %.2f s (%.0f schedules/s); skipped FLOP ratio %.3f .. %.3f\n", configs,
           sweep, configs / sweep, lo, hi);

    // 2. Constant thresholds (per layer) from the record-low curves: one pass,
    // then any per-layer combination in O(layers x steps).
    ll_calib_curves curves;
    if (ll_calib_curves_build(&t, &curves, &err)) return fail(&err);
    int combos = 100000, *lv = malloc(sizeof(int) * layers);
    t0 = ll_now_seconds();
    double best_combo = 0;
    for (int k = 0; k < combos; k++) {
        for (int l = 0; l < layers; l++) lv[l] = ll_rng_int(&r, -1, grid.n - 1);
        ll_calib_result cr;
        if (ll_calib_curves_combine(&curves, lv, &cr, &err)) return fail(&err);
        if (cr.skipped_ratio > best_combo) best_combo = cr.skipped_ratio;
        ll_calib_result_free(&cr);
    }
    double combine_s = ll_now_seconds() - t0;
    printf("curves: per-layer constant thresholds: curves built in %.2f s, then %d random per-layer combinations in "
           "%.3f s;\n        skipped FLOP ratio (same threshold in every layer) at",
           curves.build_seconds, combos, combine_s);
    const float show[] = {-15, -10, -5, -2};
    for (int i = 0; i < 4; i++) {
        for (int l = 0; l < layers; l++) lv[l] = ll_calib_grid_floor(&grid, show[i]);
        ll_calib_result cr;
        if (ll_calib_curves_combine(&curves, lv, &cr, &err)) return fail(&err);
        printf(" %g: %.3f", (double)show[i], cr.skipped_ratio);
        ll_calib_result_free(&cr);
    }
    printf("\n");
    free(lv);
    ll_calib_curves_free(&curves);

    // 3. The search, 4. the direct simulation of its schedule.
    int ok = 1;
    if (search) {
        ll_calib_search_options so = {.mode = LL_BUDGET_PER_STEP, .budget = budget};
        ll_calib_schedule best;
        ll_calib_result pred;
        ll_calib_search_info info;
        if (ll_calib_search(&t, &so, &best, &pred, &info, &err)) return fail(&err);
        printf("search: budget %g per step, %d greedy candidates in %.2f s: skipped FLOP ratio %.3f, worst step "
               "bound %.4f; thresholds",
               budget, info.candidates, info.seconds, pred.skipped_ratio, pred.err_max);
        for (int s = 0; s < steps; s++) printf(" %g", (double)ll_calib_grid_threshold(&grid, best.levels[s]));
        printf("\n");
        if (simulate) {
            float *thr = malloc(sizeof(float) * steps * layers);
            for (int i = 0; i < steps * layers; i++) thr[i] = ll_calib_grid_threshold(&grid, best.levels[i]);
            ll_calib_result sim;
            t0 = ll_now_seconds();
            if (ll_calib_simulate(src, thr, &sim, &err)) return fail(&err);
            double worst_exact = 0;
            for (int s = 0; s < steps; s++) {
                if (fabs(sim.step_skipped[s] - pred.step_skipped[s]) > 1e-9) ok = 0;
                if (sim.step_err[s] > pred.step_err[s] * (1 + 1e-6) + 1e-12) ok = 0;
                if (sim.step_err[s] > worst_exact) worst_exact = sim.step_err[s];
            }
            printf("simulate: %.1f s over the float maps: skipped FLOP ratio %.3f, worst step exact error %.4f "
                   "(bound %.4f): %s\n",
                   ll_now_seconds() - t0, sim.skipped_ratio, worst_exact, pred.err_max,
                   ok ? "matches the table" : "MISMATCH");
            ll_calib_result_free(&sim);
            free(thr);
        }
        ll_calib_schedule_free(&best);
        ll_calib_result_free(&pred);
    }
    printf("RESULT: %d schedules over %.3g tile values (%d steps x %d layers x %d heads, %dx%d tiles) in %.2f s "
           "on %d threads\n",
           configs, tiles, steps, layers, heads, src->q_tiles, src->k_tiles, sweep, omp_get_max_threads());

    for (int k = 0; k < configs; k++) {
        ll_calib_schedule_free(&sched[k]);
        ll_calib_result_free(&res[k]);
    }
    free(sched);
    free(res);
    ll_calib_table_free(&t);
    ll_map_source_close(src);
    return ok ? 0 : 1;
}
