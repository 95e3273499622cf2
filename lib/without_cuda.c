// without_cuda.c: the CUDA entry points of a build without CUDA (make
// CUDA=0, or no nvcc), compiled only in that mode in place of
// cuda_attention.cu, gpu_counters.cu, gpu_timer.c and the kernels. Every
// call that would need the device, the kernels or CUPTI answers
// LL_ERR_NO_GPU with one message, so the CPU backend, report and calibrate
// work and `litelab bench` or `--backend cuda` say why they cannot.
#include <stddef.h>

#include "cuda_attention.h"
#include "gpu_counters.h"
#include "gpu_timer.h"

#define WITHOUT_CUDA "litelab was built without CUDA (rebuild with the CUDA toolkit: make CUDA=1)"

static ll_status no_cuda(ll_error *err) { return ll_fail(err, LL_ERR_NO_GPU, "no usable GPU: " WITHOUT_CUDA); }

int ll_cuda_built(void) { return 0; }

ll_status ll_cuda_environment_get(ll_cuda_environment *out, ll_error *err) {
    if (out) *out = (ll_cuda_environment){0, 0, 0, 0};
    return no_cuda(err);
}

ll_status ll_cuda_probe(char *gpu_name, size_t len, int *sm_major, int *sm_minor, ll_error *err) {
    if (gpu_name && len) gpu_name[0] = '\0';
    if (sm_major) *sm_major = 0;
    if (sm_minor) *sm_minor = 0;
    return no_cuda(err);
}

// ---------------------------------------------------------------------------
// Kernels, device memory, the context

ll_status ll_cuda_pick(const ll_shape *shape, ll_kernel_variant want, ll_kernel_variant *got, ll_tiling *tiling,
                       ll_error *err) {
    (void)shape, (void)want, (void)got, (void)tiling;
    return no_cuda(err);
}

ll_status ll_cuda_malloc(void **dptr, size_t bytes, ll_error *err) {
    (void)bytes;
    if (dptr) *dptr = NULL;
    return no_cuda(err);
}

void ll_cuda_free(void *dptr) { (void)dptr; }

ll_status ll_cuda_upload(void *dst, const void *src, size_t bytes, ll_error *err) {
    (void)dst, (void)src, (void)bytes;
    return no_cuda(err);
}

ll_status ll_cuda_download(void *dst, const void *src, size_t bytes, ll_error *err) {
    (void)dst, (void)src, (void)bytes;
    return no_cuda(err);
}

ll_status ll_cuda_memset(void *dst, int byte, size_t bytes, ll_error *err) {
    (void)dst, (void)byte, (void)bytes;
    return no_cuda(err);
}

ll_status ll_cuda_sync(ll_error *err) { return no_cuda(err); }

ll_status ll_cuda_forward(ll_kernel_variant variant, const ll_attn_params *p, const ll_cuda_args *a, ll_error *err) {
    (void)variant, (void)p, (void)a;
    return no_cuda(err);
}

// No kernels in this build, so no kernel names.
const char *ll_cuda_kernel_name(ll_kernel_variant v) {
    (void)v;
    return NULL;
}

ll_status ll_cuda_tile_map(const ll_attn_params *p, const uint16_t *q, const uint16_t *k, ll_tile_map *out,
                           ll_error *err) {
    (void)p, (void)q, (void)k, (void)out;
    return no_cuda(err);
}

double ll_cuda_gmma_units_per_tile(ll_kernel_variant v, int D) {
    (void)v, (void)D;
    return 0.0;
}

ll_status ll_cuda_mma_peak(double *tflops, ll_error *err) {
    if (tflops) *tflops = 0.0;
    return no_cuda(err);
}

// ---------------------------------------------------------------------------
// CUPTI: the timer, events and counters

ll_status ll_gpu_timer_create(ll_gpu_timer **out, ll_error *err) {
    if (out) *out = NULL;
    return no_cuda(err);
}
void ll_gpu_timer_destroy(ll_gpu_timer *t) { (void)t; }
ll_status ll_gpu_timer_begin(ll_gpu_timer *t, ll_error *err) {
    (void)t;
    return no_cuda(err);
}
ll_status ll_gpu_timer_end(ll_gpu_timer *t, double *kernel_ms, int *n_kernels, ll_kernel_record *records,
                           int max_records, ll_error *err) {
    (void)t, (void)kernel_ms, (void)n_kernels, (void)records, (void)max_records;
    return no_cuda(err);
}

ll_status ll_gpu_events_create(ll_gpu_events **out, ll_error *err) {
    if (out) *out = NULL;
    return no_cuda(err);
}
void ll_gpu_events_destroy(ll_gpu_events *e) { (void)e; }
ll_status ll_gpu_events_begin(ll_gpu_events *e, ll_error *err) {
    (void)e;
    return no_cuda(err);
}
ll_status ll_gpu_events_end(ll_gpu_events *e, double *ms, ll_error *err) {
    (void)e, (void)ms;
    return no_cuda(err);
}

ll_status ll_gpu_l2_bytes(size_t *bytes, ll_error *err) {
    if (bytes) *bytes = 0;
    return no_cuda(err);
}

ll_status ll_gpu_counters_create(ll_gpu_counters **out, const char *const *metrics, int max_ranges, ll_error *err) {
    (void)metrics, (void)max_ranges;
    if (out) *out = NULL;
    return ll_fail(err, LL_ERR_NO_GPU, "GPU counters unavailable: " WITHOUT_CUDA);
}
void ll_gpu_counters_destroy(ll_gpu_counters *c) { (void)c; }
int ll_gpu_counters_n_metrics(const ll_gpu_counters *c) {
    (void)c;
    return 0;
}
const char *ll_gpu_counters_metric(const ll_gpu_counters *c, int i) {
    (void)c, (void)i;
    return NULL;
}
const char *ll_gpu_counters_chip(const ll_gpu_counters *c) {
    (void)c;
    return "";
}
int ll_gpu_counters_passes(const ll_gpu_counters *c) {
    (void)c;
    return 0;
}
ll_status ll_gpu_counters_begin(ll_gpu_counters *c, ll_error *err) {
    (void)c;
    return ll_fail(err, LL_ERR_NO_GPU, "GPU counters unavailable: " WITHOUT_CUDA);
}
ll_status ll_gpu_counters_end(ll_gpu_counters *c, double *values, int max_ranges, int *n_ranges, ll_error *err) {
    (void)c, (void)values, (void)max_ranges;
    if (n_ranges) *n_ranges = 0;
    return ll_fail(err, LL_ERR_NO_GPU, "GPU counters unavailable: " WITHOUT_CUDA);
}
