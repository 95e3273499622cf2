// cmd_capture.c: `litelab capture`: tile-level attention maps of dense runs
// (lib/tile_maps.h: per batch, head, query tile and key tile, the largest
// log2 weight relative to the row maximum and the largest row mass) for the
// steps and layers asked for, into a trace (ll_trace_add_map) together with
// one row per dense call (policy "dense": its runtime and FLOPs). The maps
// come from the GPU (ll_cuda_tile_map) on the CUDA backend and from
// ll_tile_map_compute on the CPU. They are what threshold screening, the
// oracle policy and `litelab report` read to see where attention goes.
//
// The trajectory comes from an experiment file (its trajectory, backend,
// tiling and scale) or from --synthetic PRESET / --capture-file FILE.
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "backend.h"
#include "commands.h"
#include "config.h"
#include "flops.h"
#include "nvtx.h"
#include "trace.h"
#include "trajectory.h"

typedef struct {
    const char *experiment, *synthetic, *capture_file, *output, *backend, *tiling, *steps, *layers;
    long seed;
    int quiet;
} capture_options;

static void print_help(FILE *f) {
    fprintf(f,
            "usage: litelab capture [EXPERIMENT.json | --synthetic PRESET | --capture-file FILE] -o TRACE [options]\n\n"
            "Records tile-level attention maps of dense calls (per batch, head, query tile,\n"
            "key tile: largest log2 weight relative to the row maximum, largest row mass)\n"
            "into an HDF5 trace, with one row per dense call.\n\n"
            "options:\n"
            "  -o, --output PATH        the trace to write (required)\n"
            "      --synthetic PRESET   synthetic trajectory: tiny, small, wan480p, wan720p\n"
            "      --seed N             its seed (default 1)\n"
            "      --capture-file FILE  a Q/K/V capture (litelab synth or a real model)\n"
            "  -s, --steps LIST         \"all\" or comma-separated step indices (default all)\n"
            "  -l, --layers LIST        \"all\" or comma-separated layer indices (default all)\n"
            "  -b, --backend NAME       auto, cpu or cuda (default: the experiment's, else auto)\n"
            "  -t, --tiling MxN         tile sizes on the CPU backend, or \"production\"\n"
            "                           (default: the experiment's, else production tiles)\n"
            "  -q, --quiet              no progress\n"
            "  -h, --help               this text\n");
}

static int parse_options(int argc, char **argv, capture_options *o) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'},  {"synthetic", required_argument, 0, 'S'},
        {"seed", required_argument, 0, 'e'},    {"capture-file", required_argument, 0, 'c'},
        {"steps", required_argument, 0, 's'},   {"layers", required_argument, 0, 'l'},
        {"backend", required_argument, 0, 'b'}, {"tiling", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},         {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    o->seed = 1;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:s:l:b:t:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'S': o->synthetic = optarg; break;
        case 'c': o->capture_file = optarg; break;
        case 's': o->steps = optarg; break;
        case 'l': o->layers = optarg; break;
        case 'b': o->backend = optarg; break;
        case 't': o->tiling = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'e': {
            char *end;
            o->seed = strtol(optarg, &end, 10);
            if (*end || o->seed < 0) {
                fprintf(stderr, "litelab capture: --seed '%s' is not a non-negative integer\n", optarg);
                return -1;
            }
            break;
        }
        case 'h': print_help(stdout); return 1;
        default: fprintf(stderr, "litelab capture: see litelab capture --help\n"); return -1;
        }
    }
    if (optind < argc) o->experiment = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "litelab capture: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    int sources = !!o->experiment + !!o->synthetic + !!o->capture_file;
    if (sources != 1) {
        fprintf(stderr, "litelab capture: give exactly one of EXPERIMENT.json, --synthetic or --capture-file\n");
        return -1;
    }
    if (!o->output) {
        fprintf(stderr, "litelab capture: -o TRACE is required\n");
        return -1;
    }
    return 0;
}

// "all" or "i,j,k" into a selection of [0, limit).
static ll_status parse_selection(const char *s, int limit, const char *what, ll_index_set *out, ll_error *err) {
    memset(out, 0, sizeof *out);
    if (!s || !strcmp(s, "all")) {
        out->all = 1;
        return LL_OK;
    }
    out->items = malloc(sizeof(int) * (strlen(s) / 2 + 1));
    if (!out->items) return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v >= limit || (*end && *end != ','))
            return ll_fail(err, LL_ERR_USAGE, "--%s '%s': expected \"all\" or indices in [0, %d) separated by commas",
                           what, s, limit);
        out->items[out->n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (out->n == 0) return ll_fail(err, LL_ERR_USAGE, "--%s: empty list", what);
    return LL_OK;
}

static ll_status parse_tiling(const char *s, int *mode, ll_tiling *t, ll_error *err) {
    if (!strcmp(s, "production")) {
        *mode = 1;
        return LL_OK;
    }
    char extra;
    if (sscanf(s, "%dx%d%c", &t->block_m, &t->block_n, &extra) != 2)
        return ll_fail(err, LL_ERR_USAGE, "--tiling '%s': expected MxN (e.g. 64x64) or \"production\"", s);
    *mode = 2;
    return ll_tiling_validate(t, err);
}

static ll_status capture(const capture_options *o, ll_error *err) {
    ll_experiment_config cfg;
    memset(&cfg, 0, sizeof cfg);
    ll_trajectory_spec spec;
    memset(&spec, 0, sizeof spec);
    ll_backend_options bo;
    memset(&bo, 0, sizeof bo);
    float scale = 0;
    const char *where = "litelab capture";
    if (o->experiment) {
        LL_TRY(ll_config_load(o->experiment, &cfg, err));
        spec = cfg.trajectory;
        bo.tiling_mode = cfg.tiling_mode;
        bo.tiling = cfg.tiling;
        bo.n_threads = cfg.threads;
        scale = cfg.softmax_scale;
        where = o->experiment;
        ll_backend_kind_parse(cfg.backend, &bo.want, NULL);
    } else if (o->synthetic) {
        spec.source = LL_TRAJ_SYNTHETIC;
        snprintf(spec.preset, sizeof spec.preset, "%s", o->synthetic);
        spec.seed = (uint64_t)o->seed;
        spec.dtype = -1;
    } else {
        spec.source = LL_TRAJ_CAPTURE;
        snprintf(spec.capture_path, sizeof spec.capture_path, "%s", o->capture_file);
        spec.dtype = -1;
    }
    ll_status s = LL_OK;
    char *cmdline = NULL;  // the config record when there is no experiment file
    if (o->backend) s = ll_backend_kind_parse(o->backend, &bo.want, err);
    if (s == LL_OK && o->tiling) s = parse_tiling(o->tiling, &bo.tiling_mode, &bo.tiling, err);

    ll_trajectory *traj = NULL;
    ll_trajectory_info info;
    ll_backend *be = NULL;
    ll_trace_writer *w = NULL;
    ll_index_set steps = {0}, layers = {0};
    ll_tile_map map = {0};
    uint16_t *q = NULL, *k = NULL, *v = NULL;
    if (s == LL_OK) s = ll_trajectory_open(&spec, where, &traj, &info, err);
    if (s == LL_OK) s = parse_selection(o->steps, info.steps, "steps", &steps, err);
    if (s == LL_OK) s = parse_selection(o->layers, info.layers, "layers", &layers, err);
    if (s == LL_OK) s = ll_backend_create(&bo, &info.shape, &be, err);
    ll_tiling tiling = be ? ll_backend_tiling(be) : (ll_tiling){0, 0};
    ll_attn_params p = {.shape = info.shape, .tiling = tiling, .softmax_scale = scale > 0 ? scale : info.softmax_scale,
                        .threshold = -INFINITY};
    size_t n = ll_shape_elems(&info.shape);
    if (s == LL_OK) {
        q = malloc(n * sizeof *q);
        k = malloc(n * sizeof *k);
        v = malloc(n * sizeof *v);
        if (!q || !k || !v) s = ll_fail(err, LL_ERR_NOMEM, "out of memory for Q, K, V (%zu elements each)", n);
    }
    if (s == LL_OK)
        s = ll_tile_map_alloc(&map, info.shape.B, info.shape.H, ll_q_tiles(&info.shape, &tiling),
                              ll_k_tiles(&info.shape, &tiling), err);
    if (s == LL_OK) {
        ll_trace_meta m;
        memset(&m, 0, sizeof m);
        ll_backend_provenance(be, &m);
        snprintf(m.counters_status, sizeof m.counters_status, "off (litelab capture)");
        // Without an experiment file, the command line is the config (cJSON escapes it).
        cJSON *cmd = o->experiment ? NULL : cJSON_CreateObject();
        if (cmd) {
            cJSON_AddStringToObject(cmd, "command", "capture");
            cJSON_AddStringToObject(cmd, "steps", o->steps ? o->steps : "all");
            cJSON_AddStringToObject(cmd, "layers", o->layers ? o->layers : "all");
            cmdline = cJSON_PrintUnformatted(cmd);
            cJSON_Delete(cmd);
        }
        if (!o->experiment && !cmdline) s = ll_fail(err, LL_ERR_NOMEM, "capture: out of memory for the config record");
        m.config_json = o->experiment ? cfg.json_text : cmdline;
        snprintf(m.experiment, sizeof m.experiment, "capture");
        snprintf(m.trajectory, sizeof m.trajectory, "%s", info.description);
        m.shape = info.shape;
        m.steps = info.steps;
        m.layers = info.layers;
        m.frames = info.frames;
        m.height = info.height;
        m.width = info.width;
        m.tiling = tiling;
        m.encoding = LL_END_EXCLUSIVE;
        m.softmax_scale = ll_softmax_scale(&p);
        ll_trace_policy dense = {.name = "dense", .kind = "dense", .params_json = "{}"};
        if (s == LL_OK) s = ll_trace_create(o->output, &m, &dense, 1, &w, err);
    }
    int cuda = be && ll_backend_kind_of(be) == LL_BACKEND_CUDA;
    int last = -1;
    for (int st = 0; st < info.steps && s == LL_OK; st++)
        if (ll_index_set_has(&steps, st)) last = st;
    double t0 = ll_now_seconds();
    for (int st = 0; s == LL_OK && st <= last; st++) {
        for (int l = 0; s == LL_OK && l < info.layers && ll_index_set_has(&steps, st); l++) {
            if (!ll_index_set_has(&layers, l)) continue;
            ll_nvtx_push("capture step %d layer %d", st, l);
            ll_backend_timing t;
            s = ll_trajectory_get(traj, st, l, q, k, v, err);
            if (s == LL_OK) s = ll_backend_set_inputs(be, q, k, v, err);
            if (s == LL_OK) s = ll_backend_forward(be, &p, NULL, NULL, &t, err);
            if (s == LL_OK) s = ll_backend_tile_map(be, &p, &map, err);
            if (s == LL_OK) s = ll_trace_add_map(w, st, l, &map, err);
            if (s == LL_OK) {
                uint64_t dense_flops = ll_flops_dense(&info.shape);
                uint64_t tiles = (uint64_t)map.B * map.H * map.q_tiles * map.k_tiles;
                ll_trace_call row = {
                    .policy = 0, .step = st, .layer = l, .head = -1, .threshold = NAN,
                    .gpu_ms = cuda ? t.ms : NAN, .host_ms = cuda ? NAN : t.ms, .n_kernels = t.n_kernels,
                    .tiles_total = tiles, .tiles_kept = tiles, .flops_dense = dense_flops,
                    .flops_executed = dense_flops, .tensor_work_ratio = NAN, .rel_l2 = 0, .max_abs = 0,
                    .cosine = 1, .worst_row_rel_l2 = 0, .skipped_mass = 0,
                };
                s = ll_trace_add_call(w, &row, err);
            }
            ll_nvtx_pop();
        }
        if (s == LL_OK) s = ll_trace_end_step(w, st, err);
        if (s == LL_OK && !o->quiet && isatty(STDERR_FILENO))
            fprintf(stderr, "\rlitelab capture: step %d/%d (%.0f s)%s", st + 1, last + 1, ll_now_seconds() - t0,
                    st == last ? "\n" : "");
    }
    if (s == LL_OK && w) {
        s = ll_trace_finish(w, err);
        w = NULL;
        if (s == LL_OK && !o->quiet) printf("tile maps of %d step(s): %s\n", last + 1, o->output);
    }
    if (w) ll_trace_abandon(w);
    free(q);
    free(k);
    free(v);
    ll_tile_map_free(&map);
    cJSON_free(cmdline);
    free(steps.items);
    free(layers.items);
    ll_backend_destroy(be);
    ll_trajectory_close(traj);
    ll_config_free(&cfg);
    return s;
}

int cmd_capture(int argc, char **argv) {
    capture_options o;
    int p = parse_options(argc, argv, &o);
    if (p != 0) return p > 0 ? 0 : ll_exit_code(LL_ERR_USAGE);
    ll_error err;
    ll_error_clear(&err);
    ll_status s = capture(&o, &err);
    return s == LL_OK ? 0 : ll_report_error("capture", &err);
}
