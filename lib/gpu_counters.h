// gpu_counters.h: OPTIONAL hardware counters per kernel, from the CUPTI range
// profiler (CUDA 13: cupti_range_profiler.h, cupti_profiler_host.h), so the
// harness can set measured tensor-core work against the FLOPs it predicts
// (lib/flops.h). Nothing else depends on it.
//
// Every kernel launched between begin() and end() is one range (CUPTI's auto
// range); CUPTI replays each kernel as many times as the metrics need passes
// (kernel replay, memory saved and restored), so a profiled call is slow: keep
// it out of timed loops, and do not profile while a gpu_timer is between its
// begin() and end().
//
// Counters are often not permitted (the driver restricts them to admin users
// by default: CUPTI_ERROR_INSUFFICIENT_PRIVILEGES), or unsupported (virtual
// GPUs, MIG). Then the call fails with LL_ERR_CUDA (LL_ERR_NO_GPU without a
// GPU) and err->msg is a one-line status that says why, starting with
// "GPU counters unavailable:"; callers print it and carry on without counters.
//
// Implemented in gpu_counters.cu (built by nvcc as host code) because
// cupti_profiler_host.h includes a C++ header.
#pragma once
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LL_GPU_COUNTERS_MAX_METRICS = 4 };

typedef struct ll_gpu_counters ll_gpu_counters;

// metrics: NULL-terminated metric names (at most LL_GPU_COUNTERS_MAX_METRICS),
// or NULL for the tensor-pipe instruction counts this GPU offers:
//   sm__inst_executed_pipe_tensor_op_hmma.sum  warp-level mma.sync instructions
//   sm__inst_executed_pipe_tensor_op_gmma.sum  warpgroup wgmma instructions (Hopper)
// max_ranges: the most kernels one begin()/end() may hold (>= 1).
ll_status ll_gpu_counters_create(ll_gpu_counters **out, const char *const *metrics, int max_ranges, ll_error *err);
void ll_gpu_counters_destroy(ll_gpu_counters *c);
int ll_gpu_counters_n_metrics(const ll_gpu_counters *c);
const char *ll_gpu_counters_metric(const ll_gpu_counters *c, int i);
const char *ll_gpu_counters_chip(const ll_gpu_counters *c);  // e.g. "GH100"
int ll_gpu_counters_passes(const ll_gpu_counters *c);        // replays per kernel

ll_status ll_gpu_counters_begin(ll_gpu_counters *c, ll_error *err);
// Synchronises, then values[r * n_metrics + m] for every range r < *n_ranges
// (values has room for max_ranges * n_metrics doubles).
ll_status ll_gpu_counters_end(ll_gpu_counters *c, double *values, int max_ranges, int *n_ranges, ll_error *err);

#ifdef __cplusplus
}
#endif
