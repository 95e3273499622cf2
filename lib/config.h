// config.h: experiment files (JSON, read with cJSON). An experiment names a
// trajectory, a backend and a list of policies to replay over it, and what to
// record in the trace. Everything is validated when the file is loaded, before
// any work: unknown keys, wrong types and out-of-range values are errors whose
// message names the file and the key (e.g. "x.json: policies[1].threshold:
// expected a number <= 0"). Checks that need the trajectory (a step index
// beyond its steps, a window policy on a grid-less capture) happen when the
// harness opens it, still before the first call.
//
// Schema (every key but "policies" optional; defaults in brackets):
//   name         string [file name]          experiment name in the trace
//   description  string [""]
//   trajectory   object: either a synthetic preset
//                  {"synthetic": "tiny"|"small"|"wan480p"|"wan720p", "seed" [1],
//                   "steps", "layers", "batch", "heads", "head_dim", "dtype",
//                   "frames", "height", "width"   (each overrides the preset)}
//                or instead of "seed", "seeds": [s, ...] (1 to 64 distinct): one
//                trajectory per seed; every policy runs on each, and the trace
//                names policy p on seed s "p@seed<s>" (no tile maps recorded then)
//                or a capture file
//                  {"capture": "path.h5", "steps", "layers" (use the first ones)}
//                [{"synthetic": "tiny"}]
//   backend      "auto"|"cpu"|"cuda" ["auto": CUDA when a GPU is usable]
//   kernel       "auto"|"portable"|"hopper" ["auto"] (CUDA backend)
//   tiling       "auto"|"production"|{"block_m": M, "block_n": N} ["auto":
//                the CUDA kernel's tiles; production tiles on the CPU]
//   encoding     "exclusive"|"production" ["exclusive"]
//   softmax_scale number >= 0 [0: the trajectory's, else 1/sqrt(D)]
//   threads      int >= 0 [0: OpenMP default] (CPU backend)
//   must_do, must_skip  token ranges "a:b,c:d" [""]
//   skipped_mass bool [true]: needs the dense tile map of every call (GPU:
//                ll_cuda_tile_map; CPU: ll_tile_map_compute, as costly as a dense call)
//   counters     bool [true]: GPU tensor-pipe counters where the GPU allows them
//                (each call re-run under CUPTI kernel replay, outside the timing)
//   flop_rate_tflops number > 0: the rate --dry-run estimates time with
//   output       string: trace path (-o overrides)
//   record       {"per_head": bool [false],
//                 "masks":     {"steps": "all"|[i,...], "layers": "all"|[i,...]},
//                 "tile_maps": {"steps": ..., "layers": ...}}  [nothing]
//   policies     non-empty array of {"name": unique string, "kind": a policy
//                kind (lib/policy.h), ...that kind's parameters}
#pragma once
#include <stdint.h>

#include <cJSON.h>

#include "common.h"
#include "skip_list.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

// A selection of steps or layers: every index, or a sorted list.
typedef struct {
    int all;
    int n;
    int *items;
} ll_index_set;
int ll_index_set_has(const ll_index_set *s, int i);
// Checks every listed index is < limit; the message names `where`.
ll_status ll_index_set_check(const ll_index_set *s, int limit, const char *where, ll_error *err);

typedef enum { LL_TRAJ_SYNTHETIC = 0, LL_TRAJ_CAPTURE = 1 } ll_trajectory_source;
enum { LL_MAX_SEEDS = 64 };

// Synthetic overrides and capture limits; 0 (or -1 for dtype) = not given.
typedef struct {
    ll_trajectory_source source;
    char preset[32];
    uint64_t seed;         // seeds[0]
    int n_seeds;           // 1 unless "seeds" lists several
    uint64_t seeds[LL_MAX_SEEDS];
    char capture_path[512];
    int steps, layers, batch, heads, head_dim, frames, height, width;
    int dtype;  // -1: preset's, else ll_dtype
} ll_trajectory_spec;

typedef struct {
    char path[512];   // the experiment file, named in every message
    char *json_text;  // the file verbatim (for the trace's provenance)
    cJSON *root;

    char name[64];
    char description[1024];
    ll_trajectory_spec trajectory;
    char backend[8];  // "auto", "cpu", "cuda"
    char kernel[16];  // "auto", "portable", "hopper"
    int tiling_mode;  // 0 auto, 1 production, 2 explicit
    ll_tiling tiling;
    ll_list_encoding encoding;
    float softmax_scale;
    int threads;
    char must_do[256], must_skip[256];
    int skipped_mass;  // 0 off, 1 on
    int counters;
    double flop_rate_tflops;  // 0: not given
    char output[512];

    int per_head;
    ll_index_set mask_steps, mask_layers, map_steps, map_layers;

    int n_policies;
    const cJSON **policies;  // each policy's object inside root
    char (*policy_where)[96];  // "policies[i] (name)" for messages
} ll_experiment_config;

// Reads and validates an experiment file. The returned config owns its
// memory; free with ll_config_free.
ll_status ll_config_load(const char *path, ll_experiment_config *cfg, ll_error *err);
// The same from text in memory; `path` is only used in messages.
ll_status ll_config_parse(const char *text, const char *path, ll_experiment_config *cfg, ll_error *err);
void ll_config_free(ll_experiment_config *cfg);

// ---------------------------------------------------------------------------
// Typed access to JSON objects with messages "<file>: <where>.<key>: ...",
// shared by the experiment reader and the policies' parameter parsers.
// `where` is e.g. "x.json: policies[2]". A missing optional key leaves *out
// unchanged (callers set the default first) and returns LL_OK.
ll_status ll_json_check_keys(const cJSON *obj, const char *const *allowed, const char *where, ll_error *err);
ll_status ll_json_number(const cJSON *obj, const char *key, int required, const char *where, double *out,
                         ll_error *err);
ll_status ll_json_int(const cJSON *obj, const char *key, int required, int min, int max, const char *where,
                      int *out, ll_error *err);
ll_status ll_json_bool(const cJSON *obj, const char *key, const char *where, int *out, ll_error *err);
ll_status ll_json_string(const cJSON *obj, const char *key, int required, const char *where, char *out,
                         size_t len, ll_error *err);
// A threshold: a finite number <= 0 (log2 units), or -INFINITY written as
// the string "-inf" (marks nothing).
ll_status ll_json_threshold(const cJSON *obj, const char *key, int required, const char *where, float *out,
                            ll_error *err);
// An array of thresholds (malloc'd into *out, *n entries, at least one).
ll_status ll_json_threshold_array(const cJSON *obj, const char *key, const char *where, float **out, int *n,
                                  ll_error *err);

#ifdef __cplusplus
}
#endif
