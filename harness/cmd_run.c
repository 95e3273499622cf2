// cmd_run.c: `litelab run EXPERIMENT`, the toolkit's main job. It replays
// skip-propagation policies over a denoising trajectory and writes an HDF5
// trace (traces/FORMAT.md):
//
//   load and validate the experiment; open the trajectory; create the backend
//   and every policy (all checks before any work)
//   for each step: every policy begin_step
//     for each layer: Q, K, V once; the dense call (reference output);
//       the dense tile map when a policy or the skipped mass needs it;
//       each policy: decide -> call -> after_call (more passes if it asks),
//       measured: runtime, kept tiles and FLOPs, error vs dense, skipped mass
//       -> trace rows (per layer, and per head if asked), masks, tile maps
//     checkpoints of every policy's lists; the step made durable
//
// A killed run leaves <output>.partial; --resume continues it from the last
// durable step with the policies' lists restored from the checkpoints.
// --shard I/N runs only shard I's work units (lib/shard.h) into a trace of
// its own; `litelab merge` joins the shards' traces.
// For tests: LITELAB_TEST_ABORT_AFTER_STEP=k kills the process (SIGKILL,
// no cleanup) right after step k is durable.
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "commands.h"
#include "config.h"
#include "dtype.h"
#include "error_metrics.h"
#include "flops.h"
#include "nvtx.h"
#include "policy.h"
#include "rng.h"
#include "shard.h"
#include "skip_mask.h"
#include "tile_overrides.h"
#include "trace.h"
#include "trace_shard.h"
#include "trajectory.h"

typedef struct {
    const char *config_path;
    const char *output;
    const char *backend;
    double flop_rate_tflops;
    int resume, dry_run, quiet, no_checkpoints;
    const char *shard;    // "I/N" or "auto"; NULL: the whole experiment
    int layers_per_unit;  // --shard-layers (0: 1)
} run_options;

// Per-policy totals for the closing summary.
typedef struct {
    double ms;
    uint64_t flops_dense, flops_executed;
    double rel_l2_sum, rel_l2_max;
    long calls;
} policy_totals;

typedef struct {
    run_options opt;
    ll_experiment_config cfg;
    ll_trajectory *traj;
    ll_trajectory_info info;
    ll_backend *backend;
    ll_shape shape;
    ll_tiling tiling;
    ll_attn_params params;  // shape, tiling, scale; threshold and flags set per call
    uint8_t *key_flags;     // k_tiles bytes, NULL without must-do/must-skip
    ll_policy *policies;  // the experiment's policies on seed 0, then on seed 1, ...
    int n_policies;
    ll_shard_spec shard;  // count 0: not sharded
    ll_shard_plan plan;
    int any_needs_map, want_mass;
    char counters_status[256];
    int counters_on;
    // buffers
    uint16_t *q, *k, *v;
    ll_tile_map map;
    ll_skip_mask mask;
    ll_output_error *head_err;
    double *head_mass;
    policy_totals *totals;
    ll_trace_writer *trace;
    char output[512];
} run_ctx;

static void print_help(FILE *f) {
    fprintf(f,
            "usage: litelab run EXPERIMENT.json [options]\n\n"
            "Replays the experiment's skip-propagation policies over its trajectory and\n"
            "writes an HDF5 trace (one row per policy, step, layer[, head]; masks, tile\n"
            "maps and list checkpoints as the experiment asks).\n\n"
            "options:\n"
            "  -o, --output PATH     trace path (overrides the experiment's \"output\")\n"
            "  -b, --backend NAME    auto, cpu or cuda (overrides the experiment's \"backend\")\n"
            "      --resume          continue a killed run from PATH.partial\n"
            "      --no-checkpoints  do not store the policies' lists after each step (at Wan\n"
            "                        scale each list is ~100 MB to compress and write per step;\n"
            "                        a run made so cannot be --resume'd)\n"
            "      --shard I/N       run shard I of N (0 <= I < N): a fixed, cost-balanced part of\n"
            "                        the work units (policy x seed x layer group) into its own\n"
            "                        trace PATH-without-.h5.shard-I-of-N.h5; `auto` reads\n"
            "                        SLURM_ARRAY_TASK_ID/_MIN/_MAX, RANK/WORLD_SIZE or\n"
            "                        LOCAL_RANK/LOCAL_WORLD_SIZE; join with litelab merge\n"
            "      --shard-layers K  layers per work unit (default 1)\n"
            "  -n, --dry-run         print the work (calls, FLOPs, estimated time) and exit;\n"
            "                        with --shard, the shard's units and cost\n"
            "      --flop-rate T     TFLOP/s for the --dry-run estimate (default: measured\n"
            "                        on the CPU backend, flop_rate_tflops on the GPU)\n"
            "  -q, --quiet           no progress and no summary\n"
            "  -h, --help            this text\n\n"
            "policy kinds:\n");
    for (int i = 0; i < ll_policy_kind_count(); i++)
        fprintf(f, "  %-14s %s\n", ll_policy_kind_at(i)->kind, ll_policy_kind_at(i)->summary);
    fprintf(f,
            "\nThe experiment schema is documented in lib/config.h; experiments/*.json are examples.\n"
            "exit codes: 0 ok, 2 usage or bad experiment, 3 invalid input, 4 I/O error,\n"
            "5 corrupt file, 6 out of memory, 7 no usable GPU, 8 CUDA error, 9 internal error\n");
}

static int parse_options(int argc, char **argv, run_options *o) {
    static const struct option longopts[] = {
        {"output", required_argument, 0, 'o'}, {"backend", required_argument, 0, 'b'},
        {"resume", no_argument, 0, 'r'},       {"dry-run", no_argument, 0, 'n'},
        {"flop-rate", required_argument, 0, 'f'}, {"quiet", no_argument, 0, 'q'},
        {"no-checkpoints", no_argument, 0, 'C'}, {"help", no_argument, 0, 'h'},
        {"shard", required_argument, 0, 'S'},  {"shard-layers", required_argument, 0, 'L'},
        {0, 0, 0, 0},
    };
    memset(o, 0, sizeof *o);
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:b:nqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case 'b': o->backend = optarg; break;
        case 'r': o->resume = 1; break;
        case 'C': o->no_checkpoints = 1; break;
        case 'n': o->dry_run = 1; break;
        case 'q': o->quiet = 1; break;
        case 'S': o->shard = optarg; break;
        case 'L': {
            char *end;
            long k = strtol(optarg, &end, 10);
            if (*end || k < 1 || k > 1 << 20) {
                fprintf(stderr, "litelab run: --shard-layers '%s' is not a whole number >= 1\n", optarg);
                return -1;
            }
            o->layers_per_unit = (int)k;
            break;
        }
        case 'f': {
            char *end;
            o->flop_rate_tflops = strtod(optarg, &end);
            if (*end || !(o->flop_rate_tflops > 0)) {
                fprintf(stderr, "litelab run: --flop-rate '%s' is not a positive number (TFLOP/s)\n", optarg);
                return -1;
            }
            break;
        }
        case 'h': print_help(stdout); return 1;
        default: fprintf(stderr, "litelab run: see litelab run --help\n"); return -1;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "litelab run: expected one experiment file (litelab run --help)\n");
        return -1;
    }
    o->config_path = argv[optind];
    if (o->layers_per_unit && !o->shard) {
        fprintf(stderr, "litelab run: --shard-layers needs --shard\n");
        return -1;
    }
    if (o->resume && o->dry_run) {
        fprintf(stderr, "litelab run: --resume and --dry-run exclude each other\n");
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------
// Setup: everything is checked here, before the first call.

static ll_status setup_backend(run_ctx *r, ll_error *err) {
    ll_backend_options bo;
    memset(&bo, 0, sizeof bo);
    const char *name = r->opt.backend ? r->opt.backend : r->cfg.backend;
    if (ll_backend_kind_parse(name, &bo.want, NULL) != LL_OK)
        return ll_fail(err, LL_ERR_USAGE, "--backend: '%s' is not auto, cpu or cuda", name);
    bo.kernel = !strcmp(r->cfg.kernel, "portable") ? LL_KERNEL_PORTABLE
                : !strcmp(r->cfg.kernel, "hopper") ? LL_KERNEL_HOPPER
                                                   : LL_KERNEL_AUTO;
    bo.tiling_mode = r->cfg.tiling_mode;
    bo.tiling = r->cfg.tiling;
    bo.n_threads = r->cfg.threads;
    ll_status s = ll_backend_create(&bo, &r->shape, &r->backend, err);
    if (s != LL_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return ll_fail(err, s, "%s: %s", r->cfg.path, msg);
    }
    r->tiling = ll_backend_tiling(r->backend);
    return LL_OK;
}

static ll_status setup_flags(run_ctx *r, ll_error *err) {
    if (!r->cfg.must_do[0] && !r->cfg.must_skip[0]) return LL_OK;
    ll_token_range *d = NULL, *s = NULL;
    int nd = 0, ns = 0;
    ll_status st = ll_token_ranges_parse(r->cfg.must_do, &d, &nd, err);
    if (st == LL_OK) st = ll_token_ranges_parse(r->cfg.must_skip, &s, &ns, err);
    int kts = ll_k_tiles(&r->shape, &r->tiling);
    if (st == LL_OK && !(r->key_flags = malloc((size_t)kts))) st = ll_fail(err, LL_ERR_NOMEM, "out of memory");
    if (st == LL_OK) {
        ll_overrides ov = {d, nd, s, ns};
        ll_error e2;
        ll_error_clear(&e2);
        if (ll_key_tile_flags(r->shape.N, r->tiling.block_n, &ov, r->key_flags, &e2) != LL_OK)
            st = ll_fail(err, LL_ERR_USAGE, "%s: must_do / must_skip: %s", r->cfg.path, e2.msg);
    }
    free(d);
    free(s);
    return st;
}

// With several trajectory seeds, policy p on seed s is "p@seed<s>" in the trace.
static ll_status name_for_seed(run_ctx *r, int i, ll_error *err) {
    ll_policy *p = &r->policies[i];
    char name[sizeof p->name + 32];
    snprintf(name, sizeof name, "%s@seed%llu", p->name,
             (unsigned long long)r->cfg.trajectory.seeds[i / r->cfg.n_policies]);
    if (strlen(name) >= sizeof p->name)
        return ll_fail(err, LL_ERR_USAGE, "%s: policies[%d]: the name '%s' for one seed is longer than %zu characters",
                       r->cfg.path, i % r->cfg.n_policies, name, sizeof p->name - 1);
    snprintf(p->name, sizeof p->name, "%s", name);
    return LL_OK;
}

static ll_status setup_policies(run_ctx *r, ll_error *err) {
    ll_policy_setup ps = {
        .shape = r->shape, .tiling = r->tiling, .steps = r->info.steps, .layers = r->info.layers,
        .frames = r->info.frames, .height = r->info.height, .width = r->info.width,
        .encoding = r->cfg.encoding, .key_tile_flags = r->key_flags,
    };
    int n = r->cfg.n_policies * r->info.n_seeds;
    r->policies = calloc((size_t)n, sizeof *r->policies);
    r->totals = calloc((size_t)n, sizeof *r->totals);
    if (!r->policies || !r->totals) return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        int c = i % r->cfg.n_policies;
        char where[700];
        snprintf(where, sizeof where, "%s: policies[%d]", r->cfg.path, c);
        LL_TRY(ll_policy_create(r->cfg.policies[c], where, &ps, &r->policies[i], err));
        r->n_policies = i + 1;
        if (r->policies[i].ops->needs_tile_map) r->any_needs_map = 1;
        if (r->info.n_seeds > 1) LL_TRY(name_for_seed(r, i, err));
    }
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Sharding (lib/shard.h): the plan every shard computes alike, from the
// dry run's cost model.

static int policy_passes(const ll_policy *p) { return !strcmp(p->ops->kind, "dynamic") ? 2 : 1; }

// Whether the dense tile map of (step, layer) is computed: every call when a
// policy or the skipped mass needs it, else where the experiment records it.
static int map_wanted(const run_ctx *r, int step, int layer) {
    return r->any_needs_map || r->want_mass ||
           (ll_index_set_has(&r->cfg.map_steps, step) && ll_index_set_has(&r->cfg.map_layers, layer));
}

// Whether this process runs trace policy pi at layer l (always when not sharded).
static int runs_here(const run_ctx *r, int pi, int l) {
    return !r->shard.count || ll_shard_runs(&r->plan, r->shard.index, pi, l);
}

static ll_status setup_shard(run_ctx *r, ll_error *err) {
    if (!r->opt.shard) return LL_OK;
    if (!strcmp(r->opt.shard, "auto")) LL_TRY(ll_shard_from_env(&r->shard, err));
    else LL_TRY(ll_shard_parse(r->opt.shard, &r->shard, err));
    double dense = (double)ll_flops_dense(&r->shape);
    double *call = malloc(sizeof(double) * (size_t)r->n_policies);
    double *shared = calloc((size_t)r->info.layers, sizeof(double));
    if (!call || !shared) {
        free(call);
        free(shared);
        return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < r->n_policies; i++) call[i] = policy_passes(&r->policies[i]) * dense;
    for (int l = 0; l < r->info.layers; l++)
        for (int st = 0; st < r->info.steps; st++) shared[l] += dense * (1 + map_wanted(r, st, l));
    ll_shard_costs c = {
        .n_policies = r->n_policies, .n_seeds = r->info.n_seeds, .steps = r->info.steps, .layers = r->info.layers,
        .layers_per_unit = r->opt.layers_per_unit ? r->opt.layers_per_unit : 1,
        .policy_call_cost = call, .shared_layer_cost = shared,
    };
    ll_status s = ll_shard_plan_make(&c, r->shard.count, &r->plan, err);
    free(call);
    free(shared);
    if (s != LL_OK) return s;
    char path[sizeof r->output];
    LL_TRY(ll_shard_output_path(r->output, r->shard.index, r->shard.count, path, sizeof path, err));
    snprintf(r->output, sizeof r->output, "%s", path);
    return LL_OK;
}

// The shard's provenance as the trace records it; units malloc'd.
static ll_status shard_record(const run_ctx *r, ll_trace_shard *t, ll_error *err) {
    memset(t, 0, sizeof *t);
    t->units = malloc(sizeof(int) * (size_t)r->plan.n_units);
    if (!t->units) return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    t->index = r->shard.index;
    t->count = r->shard.count;
    t->layers_per_unit = r->plan.layers_per_unit;
    t->n_units = ll_shard_units_of(&r->plan, r->shard.index, t->units);
    return LL_OK;
}

// --resume of a shard: the .partial must be this shard's, of the same plan.
static ll_status check_resumed_shard(run_ctx *r, ll_error *err) {
    ll_trace_shard old, now;
    int present;
    LL_TRY(ll_trace_writer_read_shard(r->trace, &old, &present, err));
    if (!present && !r->shard.count) return LL_OK;
    ll_status s = LL_OK;
    if (!present || !r->shard.count) {
        s = ll_fail(err, LL_ERR_USAGE, "--resume: %s.partial is %s, the run %s", r->output,
                    present ? "a shard's trace" : "an unsharded run's trace", present ? "is not sharded" : "is a shard");
    } else if ((s = shard_record(r, &now, err)) == LL_OK) {
        if (old.index != now.index || old.count != now.count || old.layers_per_unit != now.layers_per_unit ||
            old.n_units != now.n_units || memcmp(old.units, now.units, sizeof(int) * (size_t)now.n_units))
            s = ll_fail(err, LL_ERR_USAGE,
                        "--resume: %s.partial holds shard %d/%d (%d layers per unit, %d units), this run is shard "
                        "%d/%d (%d layers per unit, %d units): not the same shard",
                        r->output, old.index, old.count, old.layers_per_unit, old.n_units, now.index, now.count,
                        now.layers_per_unit, now.n_units);
        ll_trace_shard_free(&now);
    }
    ll_trace_shard_free(&old);
    return s;
}

static ll_status setup(run_ctx *r, ll_error *err) {
    LL_TRY(ll_config_load(r->opt.config_path, &r->cfg, err));
    LL_TRY(ll_trajectory_open(&r->cfg.trajectory, r->cfg.path, &r->traj, &r->info, err));
    r->shape = r->info.shape;
    char where[700];
    const char *what[4] = {"record.masks.steps", "record.masks.layers", "record.tile_maps.steps",
                           "record.tile_maps.layers"};
    const ll_index_set *sets[4] = {&r->cfg.mask_steps, &r->cfg.mask_layers, &r->cfg.map_steps, &r->cfg.map_layers};
    for (int i = 0; i < 4; i++) {
        snprintf(where, sizeof where, "%s: %s", r->cfg.path, what[i]);
        LL_TRY(ll_index_set_check(sets[i], i % 2 ? r->info.layers : r->info.steps, where, err));
    }
    LL_TRY(setup_backend(r, err));
    LL_TRY(setup_flags(r, err));
    r->params = (ll_attn_params){
        .shape = r->shape, .tiling = r->tiling,
        .softmax_scale = r->cfg.softmax_scale > 0 ? r->cfg.softmax_scale : r->info.softmax_scale,
        .threshold = -INFINITY, .key_tile_flags = NULL,
    };
    LL_TRY(setup_policies(r, err));
    r->want_mass = r->cfg.skipped_mass;

    const char *out = r->opt.output ? r->opt.output : r->cfg.output;
    if (!out || !out[0])
        return ll_fail(err, LL_ERR_USAGE, "%s: no output path: give -o PATH or \"output\" in the experiment",
                       r->cfg.path);
    snprintf(r->output, sizeof r->output, "%s", out);
    return setup_shard(r, err);
}

static ll_status alloc_buffers(run_ctx *r, ll_error *err) {
    size_t n = ll_shape_elems(&r->shape);
    r->q = malloc(n * sizeof(uint16_t));
    r->k = malloc(n * sizeof(uint16_t));
    r->v = malloc(n * sizeof(uint16_t));
    r->head_err = calloc((size_t)r->shape.H, sizeof *r->head_err);
    r->head_mass = calloc((size_t)r->shape.H, sizeof *r->head_mass);
    if (!r->q || !r->k || !r->v || !r->head_err || !r->head_mass)
        return ll_fail(err, LL_ERR_NOMEM, "out of memory for Q, K, V (%zu elements each)", n);
    int qts = ll_q_tiles(&r->shape, &r->tiling), kts = ll_k_tiles(&r->shape, &r->tiling);
    LL_TRY(ll_tile_map_alloc(&r->map, r->shape.B, r->shape.H, qts, kts, err));
    return ll_skip_mask_alloc(&r->mask, r->shape.B, r->shape.H, qts, kts, err);
}

static void cleanup(run_ctx *r) {
    if (r->trace) ll_trace_abandon(r->trace);
    ll_shard_plan_free(&r->plan);
    for (int i = 0; i < r->n_policies; i++) ll_policy_destroy(&r->policies[i]);
    free(r->policies);
    free(r->totals);
    ll_backend_destroy(r->backend);
    ll_trajectory_close(r->traj);
    ll_config_free(&r->cfg);
    free(r->key_flags);
    free(r->q);
    free(r->k);
    free(r->v);
    free(r->head_err);
    free(r->head_mass);
    ll_tile_map_free(&r->map);
    ll_skip_mask_free(&r->mask);
}

// ---------------------------------------------------------------------------
// Measurements

// FLOPs of a call that reads `read` (NULL: dense), for the whole layer
// (head < 0) or one head (summed over the batch).
static ll_status call_flops(const run_ctx *r, const ll_skip_list *read, int head, ll_flops *f, ll_error *err) {
    if (head < 0 && read) return ll_flops_from_list(&r->shape, &r->tiling, read, f, err);
    ll_shape one = r->shape;
    if (head >= 0) one.H = 1;
    int qts = ll_q_tiles(&r->shape, &r->tiling), kts = ll_k_tiles(&r->shape, &r->tiling);
    memset(f, 0, sizeof *f);
    if (!read) {
        f->dense = f->executed = ll_flops_dense(&one);
        f->tiles_total = f->tiles_kept = (uint64_t)one.B * one.H * qts * kts;
        return LL_OK;
    }
    // One head: a view of its rows for each batch entry (rows of (b, h) are contiguous).
    ll_shape view_shape = one;
    view_shape.B = 1;
    for (int b = 0; b < r->shape.B; b++) {
        ll_skip_list view = *read;
        view.B = 1;
        view.H = 1;
        view.data = ll_skip_list_row(read, b, head, 0);
        ll_flops part;
        LL_TRY(ll_flops_from_list(&view_shape, &r->tiling, &view, &part, err));
        f->dense += part.dense;
        f->executed += part.executed;
        f->skipped += part.skipped;
        f->tiles_total += part.tiles_total;
        f->tiles_kept += part.tiles_kept;
    }
    return LL_OK;
}

static ll_status record_rows(run_ctx *r, int pi, int step, int layer, const ll_policy_call *call,
                             const ll_backend_timing *t, int have_map, ll_error *err) {
    int cuda = ll_backend_kind_of(r->backend) == LL_BACKEND_CUDA;
    ll_tensor_view out;
    LL_TRY(ll_backend_output(r->backend, &out, err));
    ll_output_error whole;
    LL_TRY(ll_output_error_compute(&r->shape, out, ll_backend_reference(r->backend), &whole,
                                   r->cfg.per_head ? r->head_err : NULL, err));
    double mass = NAN;
    if (have_map && r->want_mass)
        LL_TRY(ll_skipped_mass(&r->map, call->read, &mass, r->cfg.per_head ? r->head_mass : NULL, err));
    ll_flops f;
    LL_TRY(call_flops(r, call->read, -1, &f, err));
    double ratio = NAN;
    if (r->counters_on) {
        ll_attn_params p = r->params;
        p.threshold = call->write ? call->threshold : -INFINITY;
        p.key_tile_flags = call->read ? r->key_flags : NULL;
        ratio = ll_backend_tensor_work_ratio(r->backend, &p, call->read, call->write, &f);
    }
    ll_trace_call row = {
        .policy = pi, .step = step, .layer = layer, .head = -1, .threshold = call->threshold,
        .gpu_ms = cuda ? t->ms : NAN, .host_ms = cuda ? NAN : t->ms, .n_kernels = t->n_kernels,
        .tiles_total = f.tiles_total, .tiles_kept = f.tiles_kept, .flops_dense = f.dense, .flops_executed = f.executed,
        .tensor_work_ratio = ratio, .rel_l2 = whole.rel_l2, .max_abs = whole.max_abs, .cosine = whole.cosine,
        .worst_row_rel_l2 = whole.worst_row_rel_l2, .skipped_mass = mass,
    };
    LL_TRY(ll_trace_add_call(r->trace, &row, err));
    policy_totals *tot = &r->totals[pi];
    tot->ms += t->ms;
    tot->flops_dense += f.dense;
    tot->flops_executed += f.executed;
    tot->rel_l2_sum += whole.rel_l2;
    if (whole.rel_l2 > tot->rel_l2_max) tot->rel_l2_max = whole.rel_l2;
    tot->calls++;
    for (int h = 0; r->cfg.per_head && h < r->shape.H; h++) {
        LL_TRY(call_flops(r, call->read, h, &f, err));
        ll_trace_call hr = row;
        hr.head = h;
        hr.gpu_ms = hr.host_ms = NAN;  // runtimes exist per call, not per head
        hr.n_kernels = 0;
        hr.tensor_work_ratio = NAN;
        hr.tiles_total = f.tiles_total;
        hr.tiles_kept = f.tiles_kept;
        hr.flops_dense = f.dense;
        hr.flops_executed = f.executed;
        hr.rel_l2 = r->head_err[h].rel_l2;
        hr.max_abs = r->head_err[h].max_abs;
        hr.cosine = r->head_err[h].cosine;
        hr.worst_row_rel_l2 = r->head_err[h].worst_row_rel_l2;
        hr.skipped_mass = have_map && r->want_mass ? r->head_mass[h] : NAN;
        LL_TRY(ll_trace_add_call(r->trace, &hr, err));
    }
    if (ll_index_set_has(&r->cfg.mask_steps, step) && ll_index_set_has(&r->cfg.mask_layers, layer)) {
        if (call->read) LL_TRY(ll_skip_mask_from_list(&r->mask, call->read, err));
        else ll_skip_mask_clear(&r->mask);
        LL_TRY(ll_trace_add_mask(r->trace, pi, step, layer, &r->mask, err));
    }
    return LL_OK;
}

// One policy at one (step, layer): its passes, then the rows of the last.
static ll_status run_policy(run_ctx *r, int pi, int step, int layer, int have_map, ll_error *err) {
    ll_policy *p = &r->policies[pi];
    ll_policy_ctx ctx = {.step = step, .layer = layer, .pass = 0, .dense_map = have_map ? &r->map : NULL};
    ll_policy_call call;
    ll_backend_timing t;
    int again;
    ll_nvtx_push("policy %s", p->name);
    ll_status s;
    do {
        s = ll_policy_decide(p, &ctx, &call, err);
        if (s != LL_OK) break;
        ll_attn_params params = r->params;
        params.threshold = call.write ? call.threshold : -INFINITY;
        params.key_tile_flags = call.read ? r->key_flags : NULL;
        s = ll_backend_forward(r->backend, &params, call.read, call.write, &t, err);
        if (s != LL_OK) break;
        s = ll_policy_after_call(p, &ctx, &call, &again, err);
        if (s != LL_OK) break;
        ctx.pass++;
        if (ctx.pass > 16) s = ll_fail(err, LL_ERR_INTERNAL, "policy %s: more than 16 passes in one call", p->name);
    } while (s == LL_OK && again);
    if (s == LL_OK) s = record_rows(r, pi, step, layer, &call, &t, have_map, err);
    ll_nvtx_pop();
    if (s != LL_OK) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return ll_fail(err, s, "policy %s, step %d, layer %d: %s", p->name, step, layer, msg);
    }
    return LL_OK;
}

// One seed's trajectory at (step, layer): its dense call, then its policies.
static ll_status run_seed_layer(run_ctx *r, int seed, int step, int layer, ll_error *err) {
    LL_TRY(ll_trajectory_get_seed(r->traj, seed, step, layer, r->q, r->k, r->v, err));
    LL_TRY(ll_backend_set_inputs(r->backend, r->q, r->k, r->v, err));
    // The dense call: the reference output every policy is compared with.
    ll_backend_timing t;
    LL_TRY(ll_backend_forward(r->backend, &r->params, NULL, NULL, &t, err));
    LL_TRY(ll_backend_keep_reference(r->backend, err));
    int record_map = ll_index_set_has(&r->cfg.map_steps, step) && ll_index_set_has(&r->cfg.map_layers, layer) &&
                     (!r->shard.count || ll_shard_map_owner(&r->plan, seed, layer) == r->shard.index);
    int have_map = map_wanted(r, step, layer);
    if (have_map) LL_TRY(ll_backend_tile_map(r->backend, &r->params, &r->map, err));
    if (record_map) LL_TRY(ll_trace_add_map(r->trace, step, layer, &r->map, err));
    int per_seed = r->cfg.n_policies;
    for (int pi = seed * per_seed; pi < (seed + 1) * per_seed; pi++)
        if (runs_here(r, pi, layer)) LL_TRY(run_policy(r, pi, step, layer, have_map, err));
    return LL_OK;
}

static ll_status run_layer(run_ctx *r, int step, int layer, ll_error *err) {
    for (int seed = 0; seed < r->info.n_seeds; seed++)
        if (!r->shard.count || ll_shard_needs(&r->plan, r->shard.index, seed, layer))
            LL_TRY(run_seed_layer(r, seed, step, layer, err));
    return LL_OK;
}

static ll_status save_checkpoints(run_ctx *r, ll_error *err) {
    for (int pi = 0; pi < r->n_policies; pi++)
        for (int l = 0; l < r->info.layers; l++) {
            const ll_skip_list *cp = runs_here(r, pi, l) ? ll_policy_checkpoint(&r->policies[pi], l) : NULL;
            if (cp) LL_TRY(ll_trace_save_state(r->trace, pi, l, cp, err));
        }
    return LL_OK;
}

static ll_status restore_checkpoints(run_ctx *r, ll_error *err) {
    for (int pi = 0; pi < r->n_policies; pi++)
        for (int l = 0; l < r->info.layers; l++) {
            const ll_skip_list *cp = runs_here(r, pi, l) ? ll_policy_checkpoint(&r->policies[pi], l) : NULL;
            if (!cp) continue;
            ll_skip_list saved;
            LL_TRY(ll_skip_list_alloc(&saved, cp->B, cp->H, cp->q_tiles, cp->k_tiles, cp->encoding, err));
            ll_status s = ll_trace_load_state(r->trace, pi, l, &saved, err);
            if (s == LL_OK) s = ll_policy_restore(&r->policies[pi], l, &saved, err);
            ll_skip_list_free(&saved);
            if (s != LL_OK) return s;
        }
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Trace: create, or resume after checking the .partial is this experiment's.

static ll_status open_trace(run_ctx *r, int *first_step, ll_error *err) {
    ll_trace_policy *tp = calloc((size_t)r->n_policies, sizeof *tp);
    if (!tp) return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    for (int i = 0; i < r->n_policies; i++) tp[i] = ll_policy_describe(&r->policies[i]);
    ll_status s;
    *first_step = 0;
    if (r->opt.resume) {
        char partial[600];
        snprintf(partial, sizeof partial, "%s.partial", r->output);
        ll_trace_reader *rd = NULL;
        ll_trace_meta old;
        s = ll_trace_open(partial, 1, &rd, &old, err);
        if (s == LL_OK) {
            const char *old_json = ll_trace_config_json(rd);
            if (!old_json || strcmp(old_json, r->cfg.json_text) != 0)
                s = ll_fail(err, LL_ERR_USAGE, "--resume: %s was written by a different experiment file than %s",
                            partial, r->cfg.path);
            else if (old.steps != r->info.steps || old.layers != r->info.layers)
                s = ll_fail(err, LL_ERR_USAGE, "--resume: %s has %d steps x %d layers, the experiment %d x %d", partial,
                            old.steps, old.layers, r->info.steps, r->info.layers);
            ll_trace_close(rd);
        }
        if (s == LL_OK) s = ll_trace_resume(r->output, tp, r->n_policies, &r->trace, first_step, err);
        if (s == LL_OK) s = check_resumed_shard(r, err);
        if (s == LL_OK && *first_step > 0) s = restore_checkpoints(r, err);
    } else {
        ll_trace_meta m;
        memset(&m, 0, sizeof m);
        ll_backend_provenance(r->backend, &m);
        snprintf(m.counters_status, sizeof m.counters_status, "%s", r->counters_status);
        m.config_json = r->cfg.json_text;
        snprintf(m.experiment, sizeof m.experiment, "%s", r->cfg.name);
        snprintf(m.trajectory, sizeof m.trajectory, "%s", r->info.description);
        m.shape = r->shape;
        m.steps = r->info.steps;
        m.layers = r->info.layers;
        m.frames = r->info.frames;
        m.height = r->info.height;
        m.width = r->info.width;
        m.tiling = r->tiling;
        m.encoding = r->cfg.encoding;
        m.softmax_scale = ll_softmax_scale(&r->params);
        s = ll_trace_create(r->output, &m, tp, r->n_policies, &r->trace, err);
        if (s == LL_OK && r->shard.count) {
            ll_trace_shard sh;
            s = shard_record(r, &sh, err);
            if (s == LL_OK) s = ll_trace_write_shard(r->trace, &sh, err);
            ll_trace_shard_free(&sh);
        }
    }
    free(tp);
    return s;
}

// ---------------------------------------------------------------------------
// --dry-run

// CPU FLOP rate measured on a small dense call of the experiment's head dim.
static double measure_cpu_tflops(const run_ctx *r) {
    ll_shape s = {1, r->shape.N < 1024 ? r->shape.N : 1024, 1, r->shape.D, r->shape.dtype};
    size_t n = ll_shape_elems(&s);
    uint16_t *x = malloc(n * sizeof(uint16_t));
    float *o = malloc(n * sizeof(float));
    double rate = NAN;
    if (x && o) {
        ll_rng g;
        ll_rng_seed(&g, 7);
        for (size_t i = 0; i < n; i++) x[i] = ll_float_to_half(s.dtype, ll_rng_normal(&g));
        ll_attn_params p = {.shape = s, .tiling = r->tiling, .softmax_scale = 0, .threshold = -INFINITY};
        ll_reference_options opt = {.n_threads = r->cfg.threads};
        ll_error e;
        double t0 = ll_now_seconds();
        if (ll_reference_forward(&p, &opt, x, x, x, NULL, NULL, o, NULL, NULL, NULL, &e) == LL_OK)
            rate = (double)ll_flops_dense(&s) / (ll_now_seconds() - t0) / 1e12;
    }
    free(x);
    free(o);
    return rate;
}

static void format_seconds(double s, char *out, size_t len) {
    if (!isfinite(s)) snprintf(out, len, "?");
    else if (s < 120) snprintf(out, len, "%.1f s", s);
    else if (s < 7200) snprintf(out, len, "%.1f min", s / 60);
    else snprintf(out, len, "%.1f h", s / 3600);
}

// The shard's units and estimated cost, and how even the plan is.
static void dry_run_shard(const run_ctx *r, double rate) {
    const ll_shard_plan *p = &r->plan;
    int *units = malloc(sizeof(int) * (size_t)p->n_units);
    if (!units) return;
    int n = ll_shard_units_of(p, r->shard.index, units);
    double all = 0, most = 0, mine = ll_shard_load(p, r->shard.index);
    for (int s = 0; s < p->count; s++) {
        all += ll_shard_load(p, s);
        if (ll_shard_load(p, s) > most) most = ll_shard_load(p, s);
    }
    printf("\nshard %d/%d (%s): %d of %d work units (policy x seed x group of %d layer%s)\n", r->shard.index,
           r->shard.count, r->shard.source, n, p->n_units, p->layers_per_unit, p->layers_per_unit > 1 ? "s" : "");
    printf("%-8s %-32s %-10s %14s\n", "unit", "policy", "layers", "GFLOP (dense)");
    for (int i = 0; i < n; i++) {
        const ll_shard_unit *u = &p->units[units[i]];
        printf("%-8d %-32s %4d-%-5d %14.2f\n", units[i], r->policies[u->policy].name, u->first_layer,
               u->first_layer + u->n_layers - 1, u->cost / 1e9);
    }
    printf("shard's work: %.2f GFLOP with its dense reference calls and tile maps (%.1f%% of %.2f GFLOP over all "
           "shards; the largest shard %.2f)\n",
           mine / 1e9, all > 0 ? 100 * mine / all : 0, all / 1e9, most / 1e9);
    if (rate > 0) {
        char t[32];
        format_seconds(mine / (rate * 1e12), t, sizeof t);
        printf("shard's estimated time: at most %s at %.4g TFLOP/s\n", t, rate);
    }
    if (!n) printf("this shard has no work: more shards than work units can fill\n");
    free(units);
}

static void dry_run(run_ctx *r) {
    int cuda = ll_backend_kind_of(r->backend) == LL_BACKEND_CUDA;
    long per_layer_calls = r->info.steps * (long)r->info.layers;
    uint64_t dense = ll_flops_dense(&r->shape);
    printf("experiment  %s (%s)\n", r->cfg.name, r->cfg.path);
    printf("trajectory  %s\n", r->info.description);
    printf("shape       B=%d N=%d H=%d D=%d %s, %d steps x %d layers\n", r->shape.B, r->shape.N, r->shape.H,
           r->shape.D, ll_dtype_name(r->shape.dtype), r->info.steps, r->info.layers);
    printf("backend     %s, tiles %dx%d (%d x %d per head), %s encoding\n", ll_backend_kind_name(ll_backend_kind_of(r->backend)),
           r->tiling.block_m, r->tiling.block_n, ll_q_tiles(&r->shape, &r->tiling), ll_k_tiles(&r->shape, &r->tiling),
           ll_list_encoding_name(r->cfg.encoding));
    printf("output      %s\n\n", r->output);
    printf("%-24s %-14s %8s %14s\n", "work", "kind", "calls", "GFLOP (dense)");
    double total = 0;
    long calls = per_layer_calls;
    long n_dense = per_layer_calls * r->info.n_seeds;  // one per trajectory seed
    printf("%-24s %-14s %8ld %14.2f\n", "dense reference", "", n_dense, n_dense * (double)dense / 1e9);
    total += n_dense * (double)dense;
    long n_maps = 0;
    for (int s = 0; s < r->info.steps; s++)
        for (int l = 0; l < r->info.layers; l++) n_maps += map_wanted(r, s, l) * r->info.n_seeds;
    if (n_maps) {
        // Two sweeps of QK^T (no PV): as many FLOPs as one dense call.
        printf("%-24s %-14s %8ld %14.2f\n", "dense tile maps", "", n_maps, n_maps * (double)dense / 1e9);
        total += n_maps * (double)dense;
    }
    for (int i = 0; i < r->n_policies; i++) {
        long c = per_layer_calls * policy_passes(&r->policies[i]);
        printf("%-24s %-14s %8ld %14.2f\n", r->policies[i].name, r->policies[i].ops->kind, c, c * (double)dense / 1e9);
        total += c * (double)dense;
        calls += c;
    }
    printf("\n%ld calls, at most %.2f GFLOP (policies skip part of theirs)\n", calls, total / 1e9);
    double rate = r->opt.flop_rate_tflops > 0 ? r->opt.flop_rate_tflops : r->cfg.flop_rate_tflops;
    const char *how = "given";
    if (!(rate > 0) && !cuda) {
        rate = measure_cpu_tflops(r);
        how = "measured on this CPU";
    }
    if (rate > 0) {
        char t[32];
        format_seconds(total / (rate * 1e12), t, sizeof t);
        printf("estimated time: at most %s at %.4g TFLOP/s (%s)\n", t, rate, how);
    } else {
        printf("estimated time: give --flop-rate TFLOPS (or flop_rate_tflops) for the GPU's rate\n");
    }
    if (r->shard.count) dry_run_shard(r, rate);
}

// ---------------------------------------------------------------------------

static void progress(const run_ctx *r, int step, int first, double t0) {
    if (r->opt.quiet || !isatty(STDERR_FILENO)) return;
    int done = step + 1 - first, left = r->info.steps - step - 1;
    char eta[32];
    format_seconds(done > 0 ? (ll_now_seconds() - t0) / done * left : NAN, eta, sizeof eta);
    fprintf(stderr, "\rlitelab run: step %d/%d  ETA %s   %s", step + 1, r->info.steps, eta, left ? "" : "\n");
    fflush(stderr);
}

static void summary(const run_ctx *r) {
    if (r->opt.quiet) return;
    int cuda = ll_backend_kind_of(r->backend) == LL_BACKEND_CUDA;
    printf("%-24s %-14s %12s %12s %12s %12s\n", "policy", "kind", "FLOPs kept", cuda ? "GPU ms" : "CPU ms",
           "mean rel L2", "max rel L2");
    for (int i = 0; i < r->n_policies; i++) {
        const policy_totals *t = &r->totals[i];
        if (!t->calls) continue;
        printf("%-24s %-14s %11.1f%% %12.2f %12.3g %12.3g\n", r->policies[i].name, r->policies[i].ops->kind,
               t->flops_dense ? 100.0 * (double)t->flops_executed / (double)t->flops_dense : 0.0, t->ms,
               t->rel_l2_sum / t->calls, t->rel_l2_max);
    }
    printf("trace: %s\n", r->output);
}

static int abort_after_step(void) {
    const char *s = getenv("LITELAB_TEST_ABORT_AFTER_STEP");
    return s && *s ? atoi(s) : -1;
}

static ll_status run(run_ctx *r, ll_error *err) {
    LL_TRY(setup(r, err));
    if (r->opt.dry_run) {
        dry_run(r);
        return LL_OK;
    }
    LL_TRY(alloc_buffers(r, err));
    if (!r->cfg.counters) {
        snprintf(r->counters_status, sizeof r->counters_status, "off (experiment key counters is false)");
    } else {
        r->counters_on = ll_backend_counters_open(r->backend, r->counters_status, sizeof r->counters_status) == LL_OK;
        if (!r->counters_on && !r->opt.quiet && ll_backend_kind_of(r->backend) == LL_BACKEND_CUDA)
            fprintf(stderr, "litelab run: %s; going on without them\n", r->counters_status);
    }
    int first = 0;
    LL_TRY(open_trace(r, &first, err));
    if (r->opt.resume && !r->opt.quiet)
        fprintf(stderr, "litelab run: resuming %s at step %d of %d\n", r->output, first, r->info.steps);
    int abort_step = abort_after_step();
    double t0 = ll_now_seconds();
    ll_nvtx_push("experiment %s", r->cfg.name);
    ll_status s = LL_OK;
    for (int step = first; s == LL_OK && step < r->info.steps; step++) {
        ll_nvtx_push("step %d", step);
        for (int pi = 0; s == LL_OK && pi < r->n_policies; pi++) s = ll_policy_begin_step(&r->policies[pi], step, err);
        for (int l = 0; s == LL_OK && l < r->info.layers; l++) {
            ll_nvtx_push("layer %d", l);
            s = run_layer(r, step, l, err);
            ll_nvtx_pop();
        }
        if (s == LL_OK && !r->opt.no_checkpoints) s = save_checkpoints(r, err);
        if (s == LL_OK) s = ll_trace_end_step(r->trace, step, err);
        ll_nvtx_pop();
        if (s == LL_OK && step == abort_step) kill(getpid(), SIGKILL);  // tests: a run killed after a durable step
        if (s == LL_OK) progress(r, step, first, t0);
    }
    ll_nvtx_pop();
    if (s != LL_OK) return s;
    ll_trace_writer *w = r->trace;
    r->trace = NULL;
    LL_TRY(ll_trace_finish(w, err));
    summary(r);
    return LL_OK;
}

int cmd_run(int argc, char **argv) {
    run_ctx r;
    memset(&r, 0, sizeof r);
    int p = parse_options(argc, argv, &r.opt);
    if (p != 0) return p > 0 ? 0 : ll_exit_code(LL_ERR_USAGE);
    ll_error err;
    ll_error_clear(&err);
    ll_status s = run(&r, &err);
    if (s != LL_OK && r.trace && !r.opt.quiet)
        fprintf(stderr, "litelab run: the finished steps stay in %s.partial (--resume continues)\n", r.output);
    cleanup(&r);
    return s == LL_OK ? 0 : ll_report_error("run", &err);
}
