// trace.h: the HDF5 trace of an experiment (schema in traces/FORMAT.md):
// provenance, the policies, one row per (policy, step, layer[, head]) call
// with runtime, tile/FLOP accounting and output error, skip masks and tile
// maps for the steps/layers asked for, and per-policy skip-list checkpoints
// so `litelab run --resume` can continue a killed run.
//
// Crash safety: the writer works on "<path>.partial"; ll_trace_end_step makes
// a step durable (rows, masks, checkpoints flushed; steps_done attribute
// raised); ll_trace_finish sets complete = 1 and renames to <path>. A killed
// run leaves "<path>.partial", a valid trace marked incomplete.
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "skip_list.h"
#include "skip_mask.h"
#include "tile_maps.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LL_TRACE_FORMAT "litelab-trace"
#define LL_TRACE_VERSION 1

typedef struct {
    // provenance (the writer adds toolkit version, git commit and creation time itself)
    char backend[16];          // "cpu" or "cuda"
    char kernel[32];           // kernel variant, "cpu-reference" on the CPU
    char gpu_name[128];        // "" on the CPU backend
    char driver_version[32];   // "" on the CPU backend
    char cuda_version[32];
    int sm_clock_mhz, mem_clock_mhz;  // 0 when unknown
    char counters_status[256];        // "ok", or why profiling counters are not available
    const char *config_json;          // the full experiment config (owned by the caller on write)
    // what was run
    char experiment[64];
    char trajectory[256];  // e.g. "synthetic preset=tiny seed=1" or the capture file name
    ll_shape shape;
    int steps, layers;
    int frames, height, width;
    ll_tiling tiling;
    ll_list_encoding encoding;
    float softmax_scale;
    // filled by the reader
    int steps_done;
    int complete;
    char toolkit_version[32], git_commit[48], created[32];
} ll_trace_meta;

typedef struct {
    char name[64];          // unique in the trace, e.g. "lite_t-10"
    char kind[32];          // policy kind, e.g. "lite", "dense", "oracle"
    char params_json[512];  // its parameters as JSON
} ll_trace_policy;

// One measured call; head = -1 for a whole-layer row, else a per-head row.
typedef struct {
    int policy, step, layer, head;
    float threshold;             // NAN when the policy has none
    double gpu_ms;               // CUPTI kernel time; NAN on the CPU backend
    double host_ms;              // CPU backend wall time; NAN on the GPU backend
    int n_kernels;
    uint64_t tiles_total, tiles_kept;
    uint64_t flops_dense, flops_executed;
    double tensor_work_ratio;    // measured / predicted tensor-core work; NAN when counters unavailable
    double rel_l2, max_abs, cosine, worst_row_rel_l2;  // output error vs the dense output
    double skipped_mass;         // largest probability mass of the skipped tiles over rows (0 when dense)
} ll_trace_call;

typedef struct ll_trace_writer ll_trace_writer;
typedef struct ll_trace_reader ll_trace_reader;

ll_status ll_trace_create(const char *path, const ll_trace_meta *meta, const ll_trace_policy *policies,
                          int n_policies, ll_trace_writer **out, ll_error *err);
// Reopens "<path>.partial" of a killed run; *steps_done = durable steps
// (rows of later steps are dropped). Policies must match what the caller passes.
ll_status ll_trace_resume(const char *path, const ll_trace_policy *policies, int n_policies,
                          ll_trace_writer **out, int *steps_done, ll_error *err);
ll_status ll_trace_add_call(ll_trace_writer *w, const ll_trace_call *c, ll_error *err);
ll_status ll_trace_add_mask(ll_trace_writer *w, int policy, int step, int layer, const ll_skip_mask *m,
                            ll_error *err);
ll_status ll_trace_add_map(ll_trace_writer *w, int step, int layer, const ll_tile_map *m, ll_error *err);
// Checkpoint of the list a policy's layer reads next (overwritten each step).
ll_status ll_trace_save_state(ll_trace_writer *w, int policy, int layer, const ll_skip_list *next_read,
                              ll_error *err);
ll_status ll_trace_load_state(ll_trace_writer *w, int policy, int layer, ll_skip_list *next_read,
                              ll_error *err);
ll_status ll_trace_end_step(ll_trace_writer *w, int step, ll_error *err);
ll_status ll_trace_finish(ll_trace_writer *w, ll_error *err);  // frees w
void ll_trace_abandon(ll_trace_writer *w);                      // closes, leaves .partial; frees w

// Reading (accepts complete traces and, with allow_partial, .partial ones).
ll_status ll_trace_open(const char *path, int allow_partial, ll_trace_reader **out, ll_trace_meta *meta,
                        ll_error *err);
ll_status ll_trace_read_policies(ll_trace_reader *r, ll_trace_policy **out, int *n, ll_error *err);  // malloc'd
ll_status ll_trace_read_calls(ll_trace_reader *r, ll_trace_call **out, size_t *n, ll_error *err);    // malloc'd
// Lists (policy, step, layer) triples that have masks / maps (malloc'd int arrays of 3*n / 2*n).
ll_status ll_trace_list_masks(ll_trace_reader *r, int **triples, int *n, ll_error *err);
ll_status ll_trace_list_maps(ll_trace_reader *r, int **pairs, int *n, ll_error *err);
ll_status ll_trace_read_mask(ll_trace_reader *r, int policy, int step, int layer, ll_skip_mask *m, ll_error *err);
ll_status ll_trace_read_map(ll_trace_reader *r, int step, int layer, ll_tile_map *m, ll_error *err);
const char *ll_trace_config_json(ll_trace_reader *r);  // owned by the reader
void ll_trace_close(ll_trace_reader *r);

// Checks a trace file against traces/FORMAT.md: format and version, root
// attributes, the table fields, every row's ranges (policy, step <
// steps_done, layer, head, tiles_kept <= tiles_total, FLOPs consistent with
// the shape, tiling and kept tiles), the dimensions of masks, maps and
// checkpoints, map values, checkpoint lists. Writes "OK" or one line per
// problem to report (may be NULL). LL_OK: valid and complete (or valid and
// partial when allow_partial); LL_ERR_FORMAT: problems, or a valid but
// incomplete trace (its own message); LL_ERR_IO: missing or unreadable.
ll_status ll_trace_validate_file(const char *path, int allow_partial, FILE *report, ll_error *err);

// Which litelab format a file holds (its root attribute 'format'): a
// missing/unreadable file is LL_ERR_IO; a non-HDF5 file, or an HDF5 file
// that is neither a litelab trace nor a capture, LL_ERR_FORMAT.
typedef enum { LL_FILE_TRACE = 0, LL_FILE_CAPTURE = 1 } ll_file_kind;
ll_status ll_file_kind_detect(const char *path, ll_file_kind *kind, ll_error *err);

#ifdef __cplusplus
}
#endif
