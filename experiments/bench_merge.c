// bench_merge.c: how fast `litelab merge` joins the shards of a Wan 720p
// experiment with masks recorded, on the CPU of the build machine.
//
//   make bench-merge                    (8 shards, 10 steps x 4 layers, 11 policies)
//   build/bench_merge --shards 8 --steps 10 --layers 4 --dir /tmp/x --keep
//
// The shards are written here with the trace writer, as `litelab run
// --shard I/N` writes them, for the plan lib/shard.c makes: the Wan2.1 720p
// attention shape (1 x 40 heads x 75,600 tokens x 128, 21x45x80 grid), the
// GPU kernels' 128 x 128 tiles (591 x 591 per head), the 11 policies of
// experiments/wan720p_gpu.json (5 of which keep skip-list checkpoints), a
// row per (policy, step, layer), a skip mask for every one of them, the
// dense tile maps of the first and last step at every layer, and each
// checkpointing policy's two checkpoint slots per layer. Running that
// experiment on the CPU would take days; its traces' structure and sizes
// do not depend on who computed the numbers. Masks are structured like
// temporal skip masks (a diagonal band, attention sinks, scattered blocks,
// sparser at later steps), maps are smooth random fields, so that they
// compress like real ones rather than like zeros or noise.
//
// Timed: ll_trace_merge of the shards (all checks, the rows, every mask, map
// and checkpoint copied) into one trace, as `litelab merge` runs it; then
// the merged trace is validated (not timed: litelab validate reads back and
// checks every chunk).
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flops.h"
#include "rng.h"
#include "shard.h"
#include "skip_mask.h"
#include "trace.h"
#include "trace_merge.h"
#include "trace_shard.h"

static const char *const POLICIES[][2] = {
    {"dense", "dense"},         {"lite_t-10", "lite"},        {"lite_t-6", "lite"},
    {"schedule", "lite_schedule"}, {"warmup2_t-10", "warmup"}, {"refresh4_t-10", "refresh"},
    {"static3_t-10", "static"}, {"dynamic_t-10", "dynamic"},  {"oracle_t-10", "oracle"},
    {"window_f6", "window"},    {"radial", "radial"},
};
enum { N_POLICIES = sizeof POLICIES / sizeof POLICIES[0] };

static int checkpoints(int p) {
    const char *k = POLICIES[p][1];
    return !strcmp(k, "lite") || !strcmp(k, "lite_schedule") || !strcmp(k, "warmup") || !strcmp(k, "refresh") ||
           !strcmp(k, "static");
}

#define CHECK(call)                                                \
    do {                                                           \
        if ((call) != LL_OK) {                                     \
            fprintf(stderr, "bench_merge: %s\n", err.msg);         \
            exit(1);                                               \
        }                                                          \
    } while (0)

// A skip list shaped like a temporal mask of this policy, step and layer.
static void fill_list(ll_skip_list *l, int p, int step, int layer) {
    int kts = l->k_tiles;
    double width = p == 0 ? kts : kts * (0.08 + 0.5 / (1 + step + p % 3)) + layer;
#pragma omp parallel
    {
        uint8_t *keep = malloc((size_t)kts);
#pragma omp for schedule(static)
        for (int row = 0; row < l->H * l->q_tiles; row++) {
            int h = row / l->q_tiles, qt = row % l->q_tiles;
            for (int kt = 0; kt < kts; kt++) {
                uint64_t r = ll_hash4(0x6d657267u, (uint64_t)(p * 1000 + layer), (uint64_t)row, (uint64_t)(kt >> 4));
                keep[kt] = fabs((double)kt - qt) < width || kt < 2 || (r & 7) == (uint64_t)(h + step) % 8;
            }
            ll_skip_list_row_from_keep(keep, kts, l->encoding, ll_skip_list_row(l, 0, h, qt));
        }
        free(keep);
    }
}

static void fill_map(ll_tile_map *m, int step, int layer) {
    size_t n = (size_t)m->B * m->H * m->q_tiles * m->k_tiles;
    for (size_t i = 0; i < n; i++) {
        int kt = (int)(i % (size_t)m->k_tiles), qt = (int)(i / (size_t)m->k_tiles % (size_t)m->q_tiles);
        double d = fabs((double)kt - qt) / m->k_tiles;
        double noise = ll_u01(ll_hash4(7, (uint64_t)(step * 64 + layer), i, 0));
        m->max_log2[i] = (float)(-40.0 * d - 4.0 * noise);
        m->mass[i] = (float)(exp2(m->max_log2[i]) * 0.5);
    }
}

static double file_mib(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size / 1048576.0 : 0;
}

int main(int argc, char **argv) {
    int shards = 8, steps = 10, layers = 4, keep_files = 0;
    const char *dir = "/tmp/litelab_bench_merge";
    static const struct option longopts[] = {{"shards", required_argument, 0, 's'}, {"steps", required_argument, 0, 't'},
                                             {"layers", required_argument, 0, 'l'}, {"dir", required_argument, 0, 'd'},
                                             {"keep", no_argument, 0, 'k'},         {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': shards = atoi(optarg); break;
        case 't': steps = atoi(optarg); break;
        case 'l': layers = atoi(optarg); break;
        case 'd': dir = optarg; break;
        case 'k': keep_files = 1; break;
        default:
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: bench_merge [--shards N] [--steps N] [--layers N] [--dir DIR] [--keep]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (shards < 1 || steps < 2 || layers < 1) {
        fprintf(stderr, "bench_merge: --shards >= 1, --steps >= 2, --layers >= 1\n");
        return 2;
    }
    mkdir(dir, 0755);
    ll_error err;
    ll_error_clear(&err);
    ll_trace_meta meta;
    memset(&meta, 0, sizeof meta);
    snprintf(meta.backend, sizeof meta.backend, "cuda");
    snprintf(meta.kernel, sizeof meta.kernel, "hopper");
    snprintf(meta.gpu_name, sizeof meta.gpu_name, "(bench_merge: written on the CPU)");
    snprintf(meta.counters_status, sizeof meta.counters_status, "off");
    char config[256];
    snprintf(config, sizeof config, "{\"name\": \"bench_merge_wan720p\", \"steps\": %d, \"layers\": %d}", steps, layers);
    meta.config_json = config;
    snprintf(meta.experiment, sizeof meta.experiment, "bench_merge_wan720p");
    snprintf(meta.trajectory, sizeof meta.trajectory, "synthetic preset=wan720p seed=1 grid=21x45x80");
    meta.shape = (ll_shape){1, 75600, 40, 128, LL_BF16};
    meta.steps = steps;
    meta.layers = layers;
    meta.frames = 21;
    meta.height = 45;
    meta.width = 80;
    meta.tiling = (ll_tiling){128, 128};
    meta.encoding = LL_END_EXCLUSIVE;
    meta.softmax_scale = 0.08838835f;
    ll_trace_policy tp[N_POLICIES];
    memset(tp, 0, sizeof tp);
    double call_cost[N_POLICIES], shared[64];
    for (int p = 0; p < N_POLICIES; p++) {
        snprintf(tp[p].name, sizeof tp[p].name, "%s", POLICIES[p][0]);
        snprintf(tp[p].kind, sizeof tp[p].kind, "%s", POLICIES[p][1]);
        snprintf(tp[p].params_json, sizeof tp[p].params_json, "{}");
        call_cost[p] = strcmp(POLICIES[p][1], "dynamic") ? 1 : 2;
    }
    for (int l = 0; l < layers && l < 64; l++) shared[l] = 2.0 * steps;
    ll_shard_costs costs = {N_POLICIES, 1, steps, layers, 1, call_cost, shared};
    ll_shard_plan plan;
    CHECK(ll_shard_plan_make(&costs, shards, &plan, &err));

    int qts = ll_q_tiles(&meta.shape, &meta.tiling), kts = ll_k_tiles(&meta.shape, &meta.tiling);
    ll_skip_list list;
    ll_skip_mask mask;
    ll_tile_map map;
    CHECK(ll_skip_list_alloc(&list, 1, 40, qts, kts, LL_END_EXCLUSIVE, &err));
    CHECK(ll_skip_mask_alloc(&mask, 1, 40, qts, kts, &err));
    CHECK(ll_tile_map_alloc(&map, 1, 40, qts, kts, &err));
    memset(list.data, 0, ll_skip_list_rows(&list) * (size_t)ll_skip_list_row_len(kts) * sizeof(int32_t));
    char (*paths)[512] = calloc((size_t)shards, sizeof *paths);
    const char **path_ptrs = calloc((size_t)shards, sizeof *path_ptrs);
    int *units = malloc(sizeof(int) * (size_t)plan.n_units);
    double t0 = ll_now_seconds(), shard_mib = 0;
    printf("writing %d shards of a Wan 720p trace: %d policies x %d steps x %d layers, %d x %d tiles per head, "
           "masks everywhere\n",
           shards, N_POLICIES, steps, layers, qts, kts);
    for (int s = 0; s < shards; s++) {
        snprintf(paths[s], sizeof paths[s], "%s/bench.shard-%d-of-%d.h5", dir, s, shards);
        path_ptrs[s] = paths[s];
        ll_trace_writer *w;
        CHECK(ll_trace_create(paths[s], &meta, tp, N_POLICIES, &w, &err));
        ll_trace_shard sh = {s, shards, 1, ll_shard_units_of(&plan, s, units), units};
        CHECK(ll_trace_write_shard(w, &sh, &err));
        for (int step = 0; step < steps; step++) {
            for (int l = 0; l < layers; l++) {
                if (!ll_shard_needs(&plan, s, 0, l)) continue;
                if ((step == 0 || step == steps - 1) && ll_shard_map_owner(&plan, 0, l) == s) {
                    fill_map(&map, step, l);
                    CHECK(ll_trace_add_map(w, step, l, &map, &err));
                }
                for (int p = 0; p < N_POLICIES; p++) {
                    if (!ll_shard_runs(&plan, s, p, l)) continue;
                    fill_list(&list, p, step, l);
                    ll_flops f;
                    CHECK(ll_flops_from_list(&meta.shape, &meta.tiling, &list, &f, &err));
                    ll_trace_call row = {
                        .policy = p, .step = step, .layer = l, .head = -1, .threshold = -10, .gpu_ms = 100 + p,
                        .host_ms = NAN, .n_kernels = 1, .tiles_total = f.tiles_total, .tiles_kept = f.tiles_kept,
                        .flops_dense = f.dense, .flops_executed = f.executed, .tensor_work_ratio = NAN,
                        .rel_l2 = 0.01 * p, .max_abs = 0.1, .cosine = 1, .worst_row_rel_l2 = 0.02 * p,
                        .skipped_mass = NAN,
                    };
                    CHECK(ll_trace_add_call(w, &row, &err));
                    CHECK(ll_skip_mask_from_list(&mask, &list, &err));
                    CHECK(ll_trace_add_mask(w, p, step, l, &mask, &err));
                    // Checkpoints of the last two steps: what a run leaves in the two slots.
                    if (checkpoints(p) && step >= steps - 2) CHECK(ll_trace_save_state(w, p, l, &list, &err));
                }
            }
            CHECK(ll_trace_end_step(w, step, &err));
        }
        CHECK(ll_trace_finish(w, &err));
        shard_mib += file_mib(paths[s]);
        printf("  shard %d/%d: %d units, %.1f MiB\n", s, shards, sh.n_units, file_mib(paths[s]));
    }
    printf("written in %.1f s (not timed below): %.1f MiB in all\n", ll_now_seconds() - t0, shard_mib);

    char out[600];
    snprintf(out, sizeof out, "%s/bench_merged.h5", dir);
    sync();
    double m0 = ll_now_seconds();
    CHECK(ll_trace_merge(out, path_ptrs, shards, 1, NULL, &err));
    double merge_s = ll_now_seconds() - m0;
    printf("merge of %d shards: %.2f s (%.1f MiB written, %.0f MiB/s of shard data)\n", shards, merge_s, file_mib(out),
           shard_mib / merge_s);
    double v0 = ll_now_seconds();
    ll_status vs = ll_trace_validate_file(out, 0, NULL, &err);
    printf("litelab validate of the merged trace: %s (%.1f s)\n", vs == LL_OK ? "OK" : err.msg, ll_now_seconds() - v0);
    if (!keep_files) {
        for (int s = 0; s < shards; s++) unlink(paths[s]);
        unlink(out);
        rmdir(dir);
    }
    ll_skip_list_free(&list);
    ll_skip_mask_free(&mask);
    ll_tile_map_free(&map);
    ll_shard_plan_free(&plan);
    free(paths);
    free(path_ptrs);
    free(units);
    return vs == LL_OK ? 0 : 1;
}
