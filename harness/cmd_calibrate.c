// cmd_calibrate.c: `litelab calibrate`: a per-step threshold schedule that
// skips the most FLOPs within an error budget, screened on the CPU over the
// tile maps of a trajectory (analysis/calibrate.h), then verified by a real
// replay (`litelab run` on the experiment it writes; --verify runs it).
//
//   maps (trace / capture / synthetic) -> screening table -> search (or a
//   constant threshold with --predict) -> direct simulation over the float
//   maps (exact error proxy) -> schedule.json, experiment.json,
//   prediction.csv, curve.csv -> [replay and verification.csv]
#include <cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calibrate.h"
#include "cli_progress.h"
#include "commands.h"
#include "trace.h"

#define POLICY_NAME "lite_calibrated"

static void usage(FILE *f) {
    fprintf(f,
            "usage: litelab calibrate MAPS [options]\n"
            "Finds per-step LiteAttention thresholds that skip the most FLOPs within an error budget,\n"
            "screening thousands of schedules on the CPU over the dense tile maps of a trajectory, and\n"
            "writes them as an experiment to verify with a real replay.\n\n"
            "maps (one):\n"
            "  --trace PATH         a trace with tile maps at every step (litelab capture, record.tile_maps)\n"
            "  --capture PATH       a Q/K/V capture: maps computed on the CPU\n"
            "  --synth PRESET       a synthetic trajectory (tiny, small, ...): maps computed on the CPU\n"
            "  --seed N  --steps N  --layers N  --tile MxN   (capture/synth; tile default 128x64)\n\n"
            "budget (error proxy: per call, the largest over query tiles of the summed probability mass of\n"
            "its skipped tiles; a step's error is its worst call):\n"
            "  --budget X           every step's error <= X (default 0.05)\n"
            "  --budget-list A,B,.. one budget per step\n"
            "  --accumulated        the sum of the step errors <= X instead\n"
            "  --per-layer          one schedule row per layer (written as the per-step minimum)\n"
            "  --predict T          no search: predict what the constant threshold T does\n\n"
            "screening:\n"
            "  --grid LO:HI:STEP    threshold grid in log2 units (default -20:0:0.5)\n"
            "  --split N            history runs split at N mass octaves (default 2; 0: never)\n"
            "  --ladder N           search ladder density per decade (default 4)\n"
            "  --threads N          OpenMP threads\n\n"
            "outputs:\n"
            "  -o, --output DIR     schedule.json, experiment.json, prediction.csv, curve.csv\n"
            "  --verify             run `litelab run DIR/experiment.json -o DIR/verified.h5` and compare\n"
            "  --compare TRACE      compare a replay's trace with DIR/prediction.csv\n"
            "  -q, --quiet          less output, no progress\n"
            LL_CLI_PROGRESS_HELP
            "  -h, --help\n");
}

typedef struct {
    const char *trace, *capture, *synth, *out, *compare, *budget_list;
    ll_cli_progress progress;
    uint64_t seed;
    int steps, layers, per_layer, accumulated, verify, quiet, split, ladder, threads, have_predict;
    ll_tiling tiling;
    double budget;
    float predict, grid_lo, grid_hi, grid_step;
} options;

static int parse_tile(const char *s, ll_tiling *t) {
    int m, n;
    char x;
    if (sscanf(s, "%d%c%d", &m, &x, &n) != 3 || (x != 'x' && x != 'X')) return -1;
    t->block_m = m;
    t->block_n = n;
    return 0;
}

static int parse_options(int argc, char **argv, options *o) {
    static const struct option opts[] = {
        {"trace", required_argument, 0, 'T'},   {"capture", required_argument, 0, 'C'},
        {"synth", required_argument, 0, 'S'},   {"seed", required_argument, 0, 's'},
        {"steps", required_argument, 0, 't'},   {"layers", required_argument, 0, 'l'},
        {"tile", required_argument, 0, 'k'},    {"budget", required_argument, 0, 'b'},
        {"budget-list", required_argument, 0, 'B'}, {"accumulated", no_argument, 0, 'a'},
        {"per-layer", no_argument, 0, 'L'},     {"predict", required_argument, 0, 'p'},
        {"grid", required_argument, 0, 'g'},    {"split", required_argument, 0, 'x'},
        {"ladder", required_argument, 0, 'd'},  {"threads", required_argument, 0, 'j'},
        {"output", required_argument, 0, 'o'},  {"verify", no_argument, 0, 'v'},
        {"compare", required_argument, 0, 'c'}, {"quiet", no_argument, 0, 'q'},
        {"progress", required_argument, 0, 'P'}, {"log", required_argument, 0, 'G'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    *o = (options){.budget = 0.05, .split = 2, .tiling = {128, 64}, .grid_lo = -20, .grid_hi = 0, .grid_step = 0.5};
    optind = 1;
    int c, idx = 0;
    char *end;
    while ((c = getopt_long(argc, argv, "o:qh", opts, &idx)) != -1) {
        switch (c) {
        case 'T': o->trace = optarg; break;
        case 'C': o->capture = optarg; break;
        case 'S': o->synth = optarg; break;
        case 's': o->seed = strtoull(optarg, &end, 10); if (*end) goto bad; break;
        case 't': o->steps = (int)strtol(optarg, &end, 10); if (*end || o->steps < 1) goto bad; break;
        case 'l': o->layers = (int)strtol(optarg, &end, 10); if (*end || o->layers < 1) goto bad; break;
        case 'k': if (parse_tile(optarg, &o->tiling)) goto bad; break;
        case 'b': o->budget = strtod(optarg, &end); if (*end || !(o->budget >= 0) || isinf(o->budget)) goto bad; break;
        case 'B': o->budget_list = optarg; break;
        case 'a': o->accumulated = 1; break;
        case 'L': o->per_layer = 1; break;
        case 'p': o->predict = strtof(optarg, &end); o->have_predict = 1; if (*end || !(o->predict <= 0)) goto bad; break;
        case 'g':
            if (sscanf(optarg, "%f:%f:%f", &o->grid_lo, &o->grid_hi, &o->grid_step) != 3) goto bad;
            break;
        case 'x': o->split = (int)strtol(optarg, &end, 10); if (*end) goto bad; break;
        case 'd': o->ladder = (int)strtol(optarg, &end, 10); if (*end || o->ladder < 1 || o->ladder > 50) goto bad; break;
        case 'j': o->threads = (int)strtol(optarg, &end, 10); if (*end || o->threads < 1) goto bad; break;
        case 'o': o->out = optarg; break;
        case 'v': o->verify = 1; break;
        case 'c': o->compare = optarg; break;
        case 'q': o->quiet = o->progress.quiet = 1; break;
        case 'P': o->progress.when = optarg; break;
        case 'G': o->progress.log = optarg; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
        continue;
    bad:
        fprintf(stderr, "litelab calibrate: --%s '%s': invalid value (litelab calibrate --help)\n", opts[idx].name,
                optarg);
        return -1;
    }
    if (optind != argc) {
        fprintf(stderr, "litelab calibrate: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->compare) {
        if (!o->out) {
            fprintf(stderr, "litelab calibrate: --compare needs -o DIR (the folder with prediction.csv)\n");
            return -1;
        }
        return 0;
    }
    if (!!o->trace + !!o->capture + !!o->synth != 1) {
        fprintf(stderr, "litelab calibrate: give exactly one of --trace, --capture, --synth\n");
        return -1;
    }
    if (o->verify && !o->out) {
        fprintf(stderr, "litelab calibrate: --verify needs -o DIR\n");
        return -1;
    }
    if (o->budget_list && o->accumulated) {
        fprintf(stderr, "litelab calibrate: --budget-list gives per-step budgets; it cannot be --accumulated\n");
        return -1;
    }
    return 0;
}

static ll_status open_source(const options *o, ll_map_source **src, ll_error *err) {
    if (o->trace) return ll_map_source_trace(o->trace, o->steps, src, err);
    if (o->capture) return ll_map_source_capture(o->capture, &o->tiling, o->steps, o->layers, src, err);
    return ll_map_source_synth(o->synth, o->seed, &o->tiling, o->steps, o->layers, src, err);
}

// The experiment that replays the schedule next to the dense baseline.
static ll_status experiment_json(const options *o, const ll_map_source *src, cJSON *policy, char **text,
                                 ll_error *err) {
    cJSON *root = NULL;
    if (o->trace) {
        ll_trace_reader *r;
        ll_trace_meta meta;
        LL_TRY(ll_trace_open(o->trace, 1, &r, &meta, err));
        const char *cfg = ll_trace_config_json(r);
        root = cfg ? cJSON_Parse(cfg) : NULL;
        ll_trace_close(r);
        if (!cJSON_IsObject(root)) {
            cJSON_Delete(root);
            return ll_fail(err, LL_ERR_FORMAT, "%s: the trace holds no experiment config to replay", o->trace);
        }
        cJSON_DeleteItemFromObject(root, "output");
        cJSON_DeleteItemFromObject(root, "record");
        cJSON_DeleteItemFromObject(root, "policies");
    } else {
        root = cJSON_CreateObject();
        cJSON *traj = cJSON_CreateObject();
        if (o->synth) {
            cJSON_AddStringToObject(traj, "synthetic", o->synth);
            if (o->seed) cJSON_AddNumberToObject(traj, "seed", (double)o->seed);
        } else {
            cJSON_AddStringToObject(traj, "capture", o->capture);
        }
        cJSON_AddNumberToObject(traj, "steps", src->steps);
        cJSON_AddNumberToObject(traj, "layers", src->layers);
        cJSON_AddItemToObject(root, "trajectory", traj);
        cJSON *tiling = cJSON_CreateObject();
        cJSON_AddNumberToObject(tiling, "block_m", src->tiling.block_m);
        cJSON_AddNumberToObject(tiling, "block_n", src->tiling.block_n);
        cJSON_AddItemToObject(root, "tiling", tiling);
    }
    cJSON_DeleteItemFromObject(root, "name");
    cJSON_AddStringToObject(root, "name", "calibrated");
    cJSON_DeleteItemFromObject(root, "description");
    cJSON_AddStringToObject(root, "description", "written by litelab calibrate: the calibrated schedule and dense");
    cJSON *pols = cJSON_CreateArray(), *dense = cJSON_CreateObject();
    cJSON_AddStringToObject(dense, "name", "dense");
    cJSON_AddStringToObject(dense, "kind", "dense");
    cJSON_AddItemToArray(pols, dense);
    cJSON_AddItemToArray(pols, policy);
    cJSON_AddItemToObject(root, "policies", pols);
    *text = cJSON_Print(root);
    cJSON_Delete(root);
    return *text ? LL_OK : ll_fail(err, LL_ERR_NOMEM, "calibrate: out of memory");
}

static ll_status write_text(const char *dir, const char *name, const char *text, ll_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fputs(text, f);
    fputc('\n', f);
    if (fclose(f) != 0) return ll_fail(err, LL_ERR_IO, "%s: write failed", path);
    return LL_OK;
}

static ll_status write_prediction(const char *dir, const ll_calib_prediction *p, ll_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/prediction.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fputs("step,threshold,predicted_skipped_ratio,predicted_error_bound,predicted_error_exact\n", f);
    for (int s = 0; s < p->steps; s++)
        fprintf(f, "%d,%g,%.9g,%.9g,%.9g\n", s, (double)p->thresholds[s], p->pred_skipped[s], p->pred_err_bound[s],
                p->pred_err_exact[s]);
    if (fclose(f) != 0) return ll_fail(err, LL_ERR_IO, "%s: write failed", path);
    return LL_OK;
}

// The threshold -> sparsity curve for constant thresholds on the grid.
static ll_status write_curve(const char *dir, const ll_calib_table *t, ll_error *err) {
    ll_calib_curves c;
    LL_TRY(ll_calib_curves_build(t, &c, err));
    char path[1024];
    snprintf(path, sizeof path, "%s/curve.csv", dir);
    FILE *f = fopen(path, "w");
    ll_status st = f ? LL_OK : ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    if (st == LL_OK) fputs("threshold,predicted_skipped_ratio,predicted_last_step_skipped,predicted_max_step_error_bound\n", f);
    int *levels = malloc(sizeof(int) * t->layers);
    for (int g = 0; st == LL_OK && g < t->grid.n; g++) {
        for (int l = 0; l < t->layers; l++) levels[l] = g;
        ll_calib_result r;
        if ((st = ll_calib_curves_combine(&c, levels, &r, err)) != LL_OK) break;
        fprintf(f, "%g,%.6f,%.6f,%.6g\n", (double)t->grid.t[g], r.skipped_ratio, r.step_skipped[t->steps - 1], r.err_max);
        ll_calib_result_free(&r);
    }
    free(levels);
    if (f && fclose(f) != 0 && st == LL_OK) st = ll_fail(err, LL_ERR_IO, "%s: write failed", path);
    ll_calib_curves_free(&c);
    return st;
}

static ll_status make_dir(const char *dir, ll_error *err) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ll_fail(err, LL_ERR_IO, "%s: cannot create folder: %s", dir, strerror(errno));
    return LL_OK;
}

// Runs this litelab's own `run` subcommand on the experiment.
static ll_status replay(const char *dir, int quiet, char *trace_path, size_t len, ll_error *err) {
    char exe[1024], exp[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return ll_fail(err, LL_ERR_IO, "calibrate: cannot find the litelab executable");
    exe[n] = 0;
    snprintf(exp, sizeof exp, "%s/experiment.json", dir);
    snprintf(trace_path, len, "%s/verified.h5", dir);
    if (!quiet) printf("verifying: %s run %s -o %s\n", exe, exp, trace_path);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return ll_fail(err, LL_ERR_IO, "calibrate: fork failed: %s", strerror(errno));
    if (pid == 0) {
        execl(exe, exe, "run", exp, "-o", trace_path, quiet ? "-q" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return ll_fail(err, LL_ERR_IO, "calibrate: wait failed: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return ll_fail(err, LL_ERR_IO, "calibrate: the replay (litelab run %s) failed with status %d", exp,
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return LL_OK;
}

static double *parse_budget_list(const char *s, int steps, ll_error *err) {
    double *b = malloc(sizeof(double) * steps);
    int n = 0;
    const char *p = s;
    while (b && *p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(v >= 0) || isinf(v) || n == steps) break;
        b[n++] = v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') break;
    }
    if (!b || n != steps || *p) {
        free(b);
        ll_fail(err, LL_ERR_USAGE, "calibrate: --budget-list needs %d numbers >= 0 separated by commas (one per step)",
                steps);
        return NULL;
    }
    return b;
}

int cmd_calibrate(int argc, char **argv) {
    options o;
    int pr = parse_options(argc, argv, &o);
    if (pr) return pr > 0 ? 0 : ll_exit_code(LL_ERR_USAGE);
    ll_error err = {0};
    ll_progress progress;
    if (ll_cli_progress_start(&o.progress, "calibrate", argc, argv, &progress, &err) != LL_OK)
        return ll_report_error("calibrate", &err);
    if (o.compare) {
        ll_calib_prediction p;
        ll_status st = ll_calib_read_prediction(o.out, &p, &err);
        if (st == LL_OK) {
            st = ll_calib_compare_trace(o.compare, POLICY_NAME, &p, o.out, !o.quiet, &err);
            ll_calib_prediction_free(&p);
        }
        ll_cli_progress_finish(&progress, st, &err);
        return st == LL_OK ? 0 : ll_report_error("calibrate", &err);
    }
    if (o.threads) omp_set_num_threads(o.threads);
    ll_map_source *src = NULL;
    ll_calib_table t = {0};
    ll_calib_schedule sched = {0};
    ll_calib_result pred = {0}, sim = {0};
    double *step_budget = NULL;
    float *thr = NULL, *per_step = NULL;
    char *exp_text = NULL;
    ll_calib_grid grid;
    ll_status st = ll_calib_grid_uniform(&grid, o.grid_lo, o.grid_hi, o.grid_step, &err);
    if (st == LL_OK) st = open_source(&o, &src, &err);
    if (st != LL_OK) goto done;
    int T = src->steps, L = src->layers;
    if (!o.quiet)
        printf("maps: %s: %d steps x %d layers, B=%d H=%d, %d x %d tiles of %dx%d\n", src->desc, T, L, src->B, src->H,
               src->q_tiles, src->k_tiles, src->tiling.block_m, src->tiling.block_n);
    ll_progress_log(&progress, "maps: %s: %d steps x %d layers", src->desc, T, L);
    ll_calib_build_options bo = {.split_log2 = o.split, .n_threads = o.threads, .progress = &progress};
    if ((st = ll_calib_table_build(src, &grid, &bo, &t, &err)) != LL_OK) goto done;
    if (!o.quiet)
        printf("screening table: %.1f s; %llu markable tiles: %.1f%% constant, %.1f%% never negligible, %.1f%% "
               "changing (%.1f runs each)\n",
               t.build_seconds, (unsigned long long)t.tiles_markable, 100.0 * t.tiles_const / t.tiles_markable,
               100.0 * t.tiles_never / t.tiles_markable, 100.0 * t.tiles_multi / t.tiles_markable,
               t.tiles_multi ? (double)t.runs_total / t.tiles_multi : 0.0);
    if ((st = ll_calib_schedule_alloc(&sched, T, L, &err)) != LL_OK) goto done;
    if (o.have_predict) {
        int level = ll_calib_grid_floor(&grid, o.predict);
        if (level < 0 || grid.t[level] != o.predict) {
            st = ll_fail(&err, LL_ERR_USAGE, "calibrate: --predict %g is not on the grid %g:%g:%g (use --grid)",
                         (double)o.predict, (double)o.grid_lo, (double)o.grid_hi, (double)o.grid_step);
            goto done;
        }
        ll_calib_schedule_constant(&sched, level);
        if ((st = ll_calib_evaluate(&t, &sched, 1, &pred, &err)) != LL_OK) goto done;
    } else {
        if (o.budget_list && !(step_budget = parse_budget_list(o.budget_list, T, &err))) {
            st = err.code;
            goto done;
        }
        ll_calib_search_options so = {.mode = o.accumulated ? LL_BUDGET_ACCUMULATED : LL_BUDGET_PER_STEP,
                                      .budget = o.budget,
                                      .step_budget = step_budget,
                                      .per_layer = o.per_layer,
                                      .ladder_per_decade = o.ladder,
                                      .progress = &progress};
        ll_calib_search_info info;
        ll_calib_schedule found;
        if ((st = ll_calib_search(&t, &so, &found, &pred, &info, &err)) != LL_OK) goto done;
        ll_calib_schedule_free(&sched);
        sched = found;
        if (!o.quiet)
            printf("search: %d greedy candidates in %.1f s; chosen: ladder budget %g%s\n", info.candidates, info.seconds,
                   info.chosen_budget, info.chosen_paced ? ", paced" : "");
    }
    // The per-step schedule the replay uses (a per-layer one collapses to its minimum).
    thr = malloc(sizeof(float) * T * L);
    per_step = malloc(sizeof(float) * T);
    for (int i = 0; i < T * L; i++) thr[i] = ll_calib_grid_threshold(&grid, sched.levels[i]);
    ll_calib_collapse_layers(thr, T, L, per_step);
    if (L > 1 && o.per_layer) {  // predict what the replayed (collapsed) schedule does
        for (int l = 0; l < L; l++)
            for (int s = 0; s < T; s++) sched.levels[l * T + s] = (int8_t)ll_calib_grid_floor(&grid, per_step[s]);
        ll_calib_result_free(&pred);
        if ((st = ll_calib_evaluate(&t, &sched, 1, &pred, &err)) != LL_OK) goto done;
    }
    float *replayed = malloc(sizeof(float) * T * L);
    for (int l = 0; l < L; l++) memcpy(replayed + (size_t)l * T, per_step, sizeof(float) * T);
    st = ll_calib_simulate(src, replayed, &sim, &err);
    free(replayed);
    if (st != LL_OK) goto done;

    if (!o.quiet) {
        printf("%4s %9s %12s %14s %14s\n", "step", "threshold", "pred.skipped", "pred.err.bound", "pred.err.exact");
        for (int s = 0; s < T; s++)
            printf("%4d %9g %12.4f %14.4g %14.4g\n", s, (double)per_step[s], pred.step_skipped[s], pred.step_err[s],
                   sim.step_err[s]);
    }
    printf("predicted: skipped FLOP ratio %.4f over the trajectory (screening: an upper bound of the replay's); "
           "worst step error %.4g (bound) / %.4g (exact proxy)\n",
           pred.skipped_ratio, pred.err_max, sim.err_max);
    ll_progress_log(&progress, "predicted: skipped FLOP ratio %.4f, worst step error %.4g (bound) / %.4g (exact proxy)",
                    pred.skipped_ratio, pred.err_max, sim.err_max);
    if (o.out) {
        if ((st = make_dir(o.out, &err)) != LL_OK) goto done;
        cJSON *pol = ll_calib_policy_json(POLICY_NAME, per_step, T);
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddItemToObject(doc, "policy", cJSON_Duplicate(pol, 1));
        if (o.per_layer) {
            cJSON *lt = cJSON_CreateObject();
            for (int l = 0; l < L; l++) {
                char key[16];
                snprintf(key, sizeof key, "%d", src->layer_ids ? src->layer_ids[l] : l);
                cJSON *row = ll_calib_policy_json("", thr + (size_t)l * T, T);
                cJSON_AddItemToObject(lt, key, cJSON_DetachItemFromObject(row, "thresholds"));
                cJSON_Delete(row);
            }
            cJSON_AddItemToObject(doc, "layer_thresholds", lt);
        }
        cJSON_AddStringToObject(doc, "maps", src->desc);
        cJSON_AddStringToObject(doc, "budget_mode", o.have_predict ? "none (--predict)"
                                                    : o.accumulated ? "accumulated" : "per step");
        if (!o.have_predict && !o.budget_list) cJSON_AddNumberToObject(doc, "budget", o.budget);
        if (o.budget_list) cJSON_AddStringToObject(doc, "budget_list", o.budget_list);
        cJSON_AddNumberToObject(doc, "predicted_skipped_ratio", pred.skipped_ratio);
        cJSON_AddNumberToObject(doc, "predicted_max_step_error_bound", pred.err_max);
        cJSON_AddNumberToObject(doc, "predicted_max_step_error_exact", sim.err_max);
        char *doc_text = cJSON_Print(doc);
        cJSON_Delete(doc);
        st = write_text(o.out, "schedule.json", doc_text, &err);
        free(doc_text);
        if (st == LL_OK) st = experiment_json(&o, src, pol, &exp_text, &err);
        else cJSON_Delete(pol);
        if (st == LL_OK) st = write_text(o.out, "experiment.json", exp_text, &err);
        ll_calib_prediction p = {T, per_step, pred.step_skipped, pred.step_err, sim.step_err};
        if (st == LL_OK) st = write_prediction(o.out, &p, &err);
        if (st == LL_OK) st = write_curve(o.out, &t, &err);
        if (st != LL_OK) goto done;
        printf("wrote %s/schedule.json, experiment.json, prediction.csv, curve.csv\n", o.out);
        printf("verify with: litelab run %s/experiment.json -o %s/verified.h5 && litelab calibrate --compare "
               "%s/verified.h5 -o %s\n",
               o.out, o.out, o.out, o.out);
        if (o.verify) {
            char trace_path[1100];
            if ((st = replay(o.out, o.quiet, trace_path, sizeof trace_path, &err)) != LL_OK) goto done;
            st = ll_calib_compare_trace(trace_path, POLICY_NAME, &p, o.out, 1, &err);
        }
    }
done:
    free(step_budget);
    free(thr);
    free(per_step);
    free(exp_text);
    ll_calib_result_free(&pred);
    ll_calib_result_free(&sim);
    ll_calib_schedule_free(&sched);
    ll_calib_table_free(&t);
    ll_map_source_close(src);
    ll_cli_progress_finish(&progress, st, &err);
    return st == LL_OK ? 0 : ll_report_error("calibrate", &err);
}
