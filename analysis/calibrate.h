// calibrate.h: threshold screening and calibration on the CPU, over the tile
// maps (tile_maps.h) of the dense calls of a trajectory.
//
// The screening model (what "simulate LiteAttention over the maps" means):
//   - a tile (layer, b, h, qt, kt) is negligible at step t under threshold
//     tau_t when its max_log2 at step t is <= tau_t; the first step at which
//     that happens is its mark step f; it is skipped at every step after f
//     (skips only accumulate) and still computed at f;
//   - key tile K-1 is the first tile the descending walk visits, so it is
//     never marked (and, never marked, it stays first at every step);
//   - litelab's exclusive list encoding (a marked tile is never computed again).
// The maps hold each tile's largest weight relative to the row's FINAL maximum;
// the kernel compares with the RUNNING maximum of the tiles visited so far,
// which is never larger, so a tile the kernel marks is always marked here too:
// predicted sparsity is an upper bound of the replay's, and the predicted
// error, computed over a superset of the replay's skipped tiles, is an upper
// bound of its skipped mass. A real replay (`litelab run`) is the verification.
//
// Error proxy ("skipped mass"): for a call (step s, layer, b, h) the largest,
// over query tiles, of the sum of the masses (tile_maps.h: the largest row
// mass) of the skipped tiles at step s. It bounds the trace's skipped_mass
// column (the largest skipped probability mass of a row). A step's error is
// its worst call. Two flavours:
//   exact: from the masses at step s (ll_calib_simulate, float maps);
//   bound: each skipped tile charged with the largest mass it has at any step
//          of the quantised history segment where it was marked or later, so
//          the per-row error never decreases over steps (what the search and
//          the batch evaluation use; always >= exact).
//
// Thresholds live on a sorted grid (ll_calib_grid); a schedule gives per step
// (and optionally per layer) a grid level, -1 meaning -inf (marks nothing).
// The screening table stores, per tile, its history as runs of constant
// quantised level (temporal coherence keeps them few); tiles whose level never
// changes are folded into per-row counters; tiles negligible at no grid level
// are dropped. Any schedule on the grid is then evaluated exactly.
#pragma once
#include <stdint.h>

#include "common.h"
#include "progress.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------
// Map sources: the tile maps of a trajectory, (step, layer) by (step, layer).
// read() fills views valid until the next read or close; arrays are
// [B, H, q_tiles, k_tiles] as in ll_tile_map.
typedef struct {
    const float *max_log2;
    const float *mass;
} ll_map_view;

typedef struct ll_map_source ll_map_source;
struct ll_map_source {
    char desc[256];            // what it reads, for messages and provenance
    ll_shape shape;            // N and D set the FLOPs of a tile
    ll_tiling tiling;
    int steps, layers;         // layers of the source (0..layers-1)
    const int *layer_ids;      // the model's layer index of each (NULL: identity)
    int B, H, q_tiles, k_tiles;
    ll_status (*read)(ll_map_source *src, int step, int layer, ll_map_view *out, ll_error *err);
    void (*close)(ll_map_source *src);
    void *ctx;
};
void ll_map_source_close(ll_map_source *src);  // NULL-safe; frees src

// Maps held in memory by the caller ([steps][layers] arrays of [B,H,Q,K]
// floats; the source does not copy or free them).
ll_status ll_map_source_memory(const ll_shape *shape, const ll_tiling *tiling, int steps, int layers,
                               float *const *max_log2, float *const *mass, ll_map_source **out, ll_error *err);
// Maps stored in a trace (`litelab capture` / record.tile_maps): every
// layer that has maps at every step 0..steps-1 (steps: 0 = all the trace has).
ll_status ll_map_source_trace(const char *path, int steps, ll_map_source **out, ll_error *err);
// Maps computed on the CPU (ll_tile_map_compute) from a capture file, or from
// a synthetic preset ("synth:tiny", seed 1). steps/layers 0: all.
ll_status ll_map_source_capture(const char *path, const ll_tiling *tiling, int steps, int layers,
                                ll_map_source **out, ll_error *err);
ll_status ll_map_source_synth(const char *preset, uint64_t seed, const ll_tiling *tiling, int steps,
                              int layers, ll_map_source **out, ll_error *err);

// A statistical model of tile maps, for tests and for the speed benchmark at
// shapes whose real maps the CPU cannot compute in reasonable time (Wan 720p:
// 5.6e9 tiles over 50 steps x 4 layers). NOT attention: no Q or K. On a
// frames x height x width token grid each head has a kind (spatial-local,
// temporal, sink, diffuse, as lib/synth.h) that sets a cost per (query tile,
// key tile) from the distance between their centre tokens; the log2 weight
// gap is max_log2 = -sharpness(step) * cost + a slow per-tile oscillation
// (temporal coherence), sharpness growing over the steps (denoising sharpens
// attention); the key tile holding the query tile's centre gets 0; mass is
// 2^max_log2 * block_n / 256 (a row spread over ~256 keys), at most 1.
typedef struct {
    uint64_t seed;
    int steps, layers, heads;
    int frames, height, width;  // N = frames * height * width
    int head_dim;
    ll_tiling tiling;
} ll_calib_model;
ll_status ll_map_source_model(const ll_calib_model *m, ll_map_source **out, ll_error *err);

// Checks a view: max_log2 <= 0 (small rounding allowed) or -inf, never NaN;
// mass in [0, 1]. The message names the source, step, layer and tile.
ll_status ll_map_view_check(const ll_map_source *src, int step, int layer, const ll_map_view *v, ll_error *err);

// ---------------------------------------------------------------------------
// The threshold grid: n ascending finite thresholds <= 0 (log2 units).
#define LL_CALIB_MAX_LEVELS 250
typedef struct {
    int n;
    float t[LL_CALIB_MAX_LEVELS];
} ll_calib_grid;

// lo, lo+step, ..., up to hi (both <= 0, lo < hi, step > 0).
ll_status ll_calib_grid_uniform(ll_calib_grid *g, float lo, float hi, float step, ll_error *err);
// Level of a value: the number of grid thresholds below it; x <= t[g] <=> level(x) <= g.
int ll_calib_grid_level(const ll_calib_grid *g, float x);
// The largest grid level whose threshold is <= tau (-1 when tau < t[0]).
int ll_calib_grid_floor(const ll_calib_grid *g, float tau);
// Threshold of a level (-INFINITY for -1).
float ll_calib_grid_threshold(const ll_calib_grid *g, int level);

// ---------------------------------------------------------------------------
// The screening table (built once, then any number of schedules evaluated).
typedef struct {
    int split_log2;  // also start a new run when the mass moves this many octaves (0: never); tighter bounds
    int n_threads;   // 0: OpenMP default
    ll_progress *progress;  // NULL: silent
} ll_calib_build_options;

typedef struct {
    ll_calib_grid grid;
    int steps, layers, B, H, q_tiles, k_tiles;
    ll_shape shape;
    ll_tiling tiling;
    size_t n_rows;        // layers * B * H * q_tiles; row r = ((l*B + b)*H + h)*q_tiles + qt
    // tiles whose level is the same at every step, per row and level (G levels):
    uint32_t *const_count;  // [n_rows][G]
    float *const_bound;     // [n_rows][G] summed mass bounds
    // the other tiles, per row one byte stream of records
    //   [n_runs][start level code] x n_runs   (start step, level, bound code)
    uint8_t *runs;
    uint64_t *row_off;      // [n_rows + 1] offsets into runs
    uint32_t *row_multi;    // [n_rows] tiles stored as runs
    // statistics
    uint64_t tiles_markable;  // tiles other than key tile K-1
    uint64_t tiles_const, tiles_never, tiles_multi, runs_total;
    double dense_flops_step;  // all layers of the table, one step
    double build_seconds;
} ll_calib_table;

ll_status ll_calib_table_build(ll_map_source *src, const ll_calib_grid *grid, const ll_calib_build_options *opt,
                               ll_calib_table *out, ll_error *err);
void ll_calib_table_free(ll_calib_table *t);
// Value of a bound code (the mass bounds are stored in 1/8 octaves, rounded up).
float ll_calib_bound_value(uint8_t code);
uint8_t ll_calib_bound_code(float mass);

// ---------------------------------------------------------------------------
// Schedules: levels[layer * steps + step], -1 = -inf. A per-step schedule
// repeats the same row for every layer.
typedef struct {
    int steps, layers;
    int8_t *levels;
} ll_calib_schedule;

ll_status ll_calib_schedule_alloc(ll_calib_schedule *s, int steps, int layers, ll_error *err);  // all -1
void ll_calib_schedule_free(ll_calib_schedule *s);
// The same level at every step and layer.
void ll_calib_schedule_constant(ll_calib_schedule *s, int level);

// What a schedule does over the trajectory (arrays owned by the result).
typedef struct {
    int steps, layers;
    double skipped_ratio;  // skipped FLOPs / dense FLOPs over every step and layer
    double err_max;        // the largest step error
    double err_acc;        // the sum of the step errors
    double *step_skipped;  // [steps] skipped FLOP ratio of the step
    double *step_err;      // [steps] the step's worst call
    double *step_err_mean; // [steps] mean over (layer, b, h, qt) rows of the row error
    double *layer_step_skipped;  // [layers][steps]
    double *layer_step_err;      // [layers][steps]
} ll_calib_result;

ll_status ll_calib_result_alloc(ll_calib_result *r, int steps, int layers, ll_error *err);
void ll_calib_result_free(ll_calib_result *r);

// Evaluates n schedules (bound error flavour) in one pass over the table.
ll_status ll_calib_evaluate(const ll_calib_table *t, const ll_calib_schedule *schedules, int n,
                            ll_calib_result *results, ll_error *err);

// Constant thresholds, per layer: for every layer and grid level, what the
// layer does when it uses that level at every step. One pass over the table:
// a tile's first negligible step under a constant level g is the start of
// the first run whose level is <= g, so the record lows of its history give
// it for every g at once (a difference array over g). Any per-layer
// combination of constant levels then costs O(layers x steps)
// (ll_calib_curves_combine), exactly what ll_calib_evaluate gives for it.
typedef struct {
    int steps, layers, G;
    double *skipped;   // [layers][G + 1][steps] skipped FLOPs, level index g + 1 (-1 first)
    double *err;       // [layers][G + 1][steps] worst row bound
    double *err_sum;   // [layers][G + 1][steps] sum over rows of the row bound
    double dense_layer, rows_per_layer;
    double build_seconds;
} ll_calib_curves;

ll_status ll_calib_curves_build(const ll_calib_table *t, ll_calib_curves *out, ll_error *err);
void ll_calib_curves_free(ll_calib_curves *c);
// levels[layer] in -1..G-1; out is allocated here.
ll_status ll_calib_curves_combine(const ll_calib_curves *c, const int *levels, ll_calib_result *out, ll_error *err);

// The direct simulation over the float maps (exact error flavour). thresholds:
// [layers][steps] (-INFINITY allowed). Streams the source once.
ll_status ll_calib_simulate(ll_map_source *src, const float *thresholds, ll_calib_result *out, ll_error *err);

// ---------------------------------------------------------------------------
// The search.
//
// ll_calib_greedy: per step, the largest grid level that keeps the budget, in
// step order (the authors' hand procedure: the first step as aggressive as
// quality allows, then the next), each choice checked against every later
// step assuming nothing more is marked, then lowered to the smallest level
// that marks the same tiles. The result is maximal: raising any one step's
// level so that it marks more breaks the budget. The last step's threshold
// marks tiles no later step reads, so it repeats the one before. "paced"
// lets step t use only the fraction (t+1)/(steps-1) of the budget, which
// keeps some for the later, sharper steps.
//
// Greedy in step order is not monotone in the budget: a larger budget can
// spend itself on early, costly tiles and block cheaper ones later.
// ll_calib_search therefore runs the greedy, paced and not, at a fixed
// ladder of budgets (0 and ladder_per_decade values per decade from 1e-6 up
// to the budget) and keeps the schedule that skips the most among those that
// fit the budget: as the budget grows the candidates only grow, so the
// skipped FLOPs never decrease. With per-step budgets the ladder scales the
// whole list (fractions down to 1e-4).
typedef enum { LL_BUDGET_PER_STEP = 0, LL_BUDGET_ACCUMULATED = 1 } ll_budget_mode;

typedef struct {
    ll_budget_mode mode;
    double budget;             // per-step bound (mode PER_STEP) or the total (ACCUMULATED), >= 0
    const double *step_budget; // optional [steps] per-step budgets (PER_STEP only), overrides budget
    int per_layer;             // one schedule row per layer instead of one for all
    int min_level, max_level;  // levels allowed (both 0: the whole grid); -1 is always allowed
    int ladder_per_decade;     // search: ladder density (0: 4)
    int verbose;               // search: one line per candidate on stderr
    ll_progress *progress;     // search: progress over the candidates (NULL: none)
} ll_calib_search_options;

typedef struct {
    int candidates;        // greedy runs tried
    double chosen_budget;  // the ladder budget of the winner (scale, with per-step budgets)
    int chosen_paced;
    double seconds;
} ll_calib_search_info;

ll_status ll_calib_greedy(const ll_calib_table *t, const ll_calib_search_options *opt, int paced,
                          ll_calib_schedule *out, ll_calib_result *predicted, ll_error *err);
// info may be NULL.
ll_status ll_calib_search(const ll_calib_table *t, const ll_calib_search_options *opt, ll_calib_schedule *out,
                          ll_calib_result *predicted, ll_calib_search_info *info, ll_error *err);

// ---------------------------------------------------------------------------
// Outputs of `litelab calibrate` (calib_output.c).
//
// The schedule as a policy of an experiment: {"name": ..., "kind":
// "lite_schedule", "thresholds": [one per step, "-inf" for -inf]}. The
// lite_schedule policy applies one threshold per step to every layer, so a
// per-layer schedule is written as its per-step minimum (the strictest
// layer), with the per-layer rows kept under "layer_thresholds" for reference.
// thresholds: [layers][steps]; out: the per-step row used.
void ll_calib_collapse_layers(const float *thresholds, int steps, int layers, float *out);
// cJSON policy object (caller deletes).
struct cJSON *ll_calib_policy_json(const char *name, const float *per_step, int steps);

// Per-step comparison of a prediction with a replay's trace: the policy named
// `policy` in the trace (whole-layer rows). Writes <dir>/verification.csv and
// .md and prints the table. predicted_* are [steps] arrays.
typedef struct {
    int steps;
    const float *thresholds;       // per step
    const double *pred_skipped;    // screening (upper bound of the replay's)
    const double *pred_err_bound;  // bound flavour
    const double *pred_err_exact;  // exact flavour (direct simulation), may be NULL
} ll_calib_prediction;

ll_status ll_calib_compare_trace(const char *trace_path, const char *policy, const ll_calib_prediction *pred,
                                 const char *dir, int print, ll_error *err);
// Reads <dir>/prediction.csv (as written by litelab calibrate) back.
ll_status ll_calib_read_prediction(const char *dir, ll_calib_prediction *pred, ll_error *err);  // arrays malloc'd
void ll_calib_prediction_free(ll_calib_prediction *pred);

#ifdef __cplusplus
}
#endif
