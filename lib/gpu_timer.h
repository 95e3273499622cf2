// gpu_timer.h: kernel runtimes from CUPTI activity records (GPU start/end
// timestamps), never host timers. Usage:
//   ll_gpu_timer_create(&t, &err);
//   ll_gpu_timer_begin(t, &err);  ...launch kernels...  ll_gpu_timer_end(t, &ms, &n, &err);
// end() synchronises the device, flushes CUPTI and sums the durations of the
// kernels launched since begin().
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ll_gpu_timer ll_gpu_timer;

typedef struct {
    char name[128];  // kernel name (demangled when available), truncated
    uint64_t start_ns, end_ns;
} ll_kernel_record;

ll_status ll_gpu_timer_create(ll_gpu_timer **out, ll_error *err);
void ll_gpu_timer_destroy(ll_gpu_timer *t);
ll_status ll_gpu_timer_begin(ll_gpu_timer *t, ll_error *err);
// Sum of kernel durations (ms) and number of kernels since begin(); records
// (up to max_records, may be NULL) for callers that want each kernel.
ll_status ll_gpu_timer_end(ll_gpu_timer *t, double *kernel_ms, int *n_kernels, ll_kernel_record *records,
                           int max_records, ll_error *err);

// CUDA events on the default stream, to cross-check the CUPTI figures once
// per run (an event pair also counts the launch gaps between kernels, so it
// reads slightly longer than the sum of kernel durations).
typedef struct ll_gpu_events ll_gpu_events;
ll_status ll_gpu_events_create(ll_gpu_events **out, ll_error *err);
void ll_gpu_events_destroy(ll_gpu_events *e);
ll_status ll_gpu_events_begin(ll_gpu_events *e, ll_error *err);
ll_status ll_gpu_events_end(ll_gpu_events *e, double *ms, ll_error *err);  // synchronises

// The current GPU's L2 cache size in bytes (benchmarks rotate input buffers
// that would fit in it, so no run reads warm data).
ll_status ll_gpu_l2_bytes(size_t *bytes, ll_error *err);

#ifdef __cplusplus
}
#endif
