// backend.h: one attention call of a policy on the CPU reference or the CUDA
// kernels, behind one interface, so the harness loop is the same on both:
//   set_inputs(Q, K, V) once per (step, layer); then for each call
//   forward(params, read list | NULL = dense, write list | NULL) -> runtime
//   output() -> O (floats on the CPU, 16-bit words from the GPU)
// Runtimes: CUPTI kernel time on the GPU (lib/gpu_timer.h), wall time on the
// CPU. Lists stay on the host; the CUDA backend uploads the read list and
// downloads the write list around the call (outside the timed kernels).
#pragma once
#include <stdint.h>

#include "common.h"
#include "cuda_attention.h"
#include "error_metrics.h"
#include "flops.h"
#include "reference_attention.h"
#include "skip_list.h"
#include "tile_maps.h"
#include "tiling.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LL_BACKEND_AUTO = 0, LL_BACKEND_CPU = 1, LL_BACKEND_CUDA = 2 } ll_backend_kind;
const char *ll_backend_kind_name(ll_backend_kind k);  // "auto", "cpu", "cuda"
ll_status ll_backend_kind_parse(const char *s, ll_backend_kind *out, ll_error *err);

typedef struct {
    ll_backend_kind want;      // AUTO: CUDA when ll_cuda_probe succeeds, else the CPU
    ll_kernel_variant kernel;  // CUDA backend
    int tiling_mode;           // 0 auto, 1 production (ll_tiling_production), 2 explicit
    ll_tiling tiling;          // when explicit
    int n_threads;             // CPU backend (0: OpenMP default)
} ll_backend_options;

typedef struct {
    double ms;        // CUPTI kernel time (GPU) or wall time (CPU), milliseconds
    int n_kernels;    // kernels summed (GPU); 0 on the CPU
    int fitted_rows;  // write-list rows that needed the fit rule (lib/skip_list.h); 0 without a write list
} ll_backend_timing;

typedef struct ll_backend ll_backend;

// Resolves AUTO, picks the tiling (CUDA: the kernel's, ll_cuda_pick; an
// explicit tiling that differs is an error; CPU: production tiles for D
// unless explicit) and allocates buffers for `shape`. Asking for CUDA
// without a usable GPU fails with LL_ERR_NO_GPU.
ll_status ll_backend_create(const ll_backend_options *o, const ll_shape *shape, ll_backend **out, ll_error *err);
void ll_backend_destroy(ll_backend *b);
ll_backend_kind ll_backend_kind_of(const ll_backend *b);
ll_tiling ll_backend_tiling(const ll_backend *b);
// Fills meta's backend, kernel, gpu_name, driver_version, cuda_version and clocks.
void ll_backend_provenance(const ll_backend *b, ll_trace_meta *meta);

// Host tensors [B, N, H, D] of the next calls; checked for NaN/Inf once here.
// The pointers must stay valid until the next set_inputs.
ll_status ll_backend_set_inputs(ll_backend *b, const uint16_t *q, const uint16_t *k, const uint16_t *v,
                                ll_error *err);
// One call. p->shape and p->tiling must be the backend's; p->threshold is
// the criterion's (used only with a write list). read NULL: dense (write must
// be NULL). Lists must have the backend's dimensions.
ll_status ll_backend_forward(ll_backend *b, const ll_attn_params *p, const ll_skip_list *read, ll_skip_list *write,
                             ll_backend_timing *t, ll_error *err);
// The last call's output (downloaded from the GPU on first use after a call).
ll_status ll_backend_output(ll_backend *b, ll_tensor_view *out, ll_error *err);
// The last call's output becomes the reference (the dense output) that
// ll_backend_reference returns until the next keep.
ll_status ll_backend_keep_reference(ll_backend *b, ll_error *err);
ll_tensor_view ll_backend_reference(const ll_backend *b);
// Dense tile map of the current inputs (GPU: ll_cuda_tile_map; CPU: ll_tile_map_compute).
ll_status ll_backend_tile_map(ll_backend *b, const ll_attn_params *p, ll_tile_map *out, ll_error *err);

// Tensor-pipe counters (GPU only, lib/gpu_counters.h): re-runs the call under
// the CUPTI profiler and returns measured / predicted tensor-core work. The
// prediction: portable kernel, one mma.sync m16n8k16 (4096 FLOPs) per 4096
// executed FLOPs; Hopper kernel, its fixed count of wgmma per computed tile
// (work->tiles_kept). counters_status receives "ok" or why counters are
// unavailable; then the ratio is NAN and the run goes on.
ll_status ll_backend_counters_open(ll_backend *b, char *status, size_t len);
double ll_backend_tensor_work_ratio(ll_backend *b, const ll_attn_params *p, const ll_skip_list *read,
                                    ll_skip_list *write, const ll_flops *work);

#ifdef __cplusplus
}
#endif
