// cuda_attention.cu: the host API of the CUDA kernels (lib/cuda_attention.h).
// Host C++ compiled by nvcc, exported as plain C. Every CUDA call goes through
// CUDA_TRY, which names the file, line and call with CUDA's own message; a
// missing driver or device comes back as LL_ERR_NO_GPU, so the library links
// and fails gracefully on machines without a GPU (CI).
#include "cuda_attention.h"

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hopper_attention.h"
#include "portable_attention.h"
#include "tile_maps.h"
#include "tile_overrides.h"

// ---------------------------------------------------------------------------
// Error handling

static bool is_no_gpu_error(cudaError_t e) {
    return e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver || e == cudaErrorSystemDriverMismatch ||
           e == cudaErrorCompatNotSupportedOnDevice || e == cudaErrorDevicesUnavailable ||
           e == cudaErrorNoKernelImageForDevice || e == cudaErrorStubLibrary;
}

static ll_status cuda_fail(ll_error *err, cudaError_t e, const char *file, int line, const char *call) {
    ll_status code = is_no_gpu_error(e) ? LL_ERR_NO_GPU : e == cudaErrorMemoryAllocation ? LL_ERR_NOMEM : LL_ERR_CUDA;
    return ll_fail(err, code, "%s:%d: %s failed: %s (%s)", file, line, call, cudaGetErrorString(e),
                   cudaGetErrorName(e));
}

#define CUDA_TRY(err, call)                                                          \
    do {                                                                             \
        cudaError_t cuda_try_e_ = (call);                                            \
        if (cuda_try_e_ != cudaSuccess) return cuda_fail((err), cuda_try_e_, __FILE__, __LINE__, #call); \
    } while (0)

static const float LOG2E = 1.44269504088896341f;

// ---------------------------------------------------------------------------
// Device discovery

int ll_cuda_built(void) { return 1; }

ll_status ll_cuda_probe(char *gpu_name, size_t len, int *sm_major, int *sm_minor, ll_error *err) {
    if (gpu_name && len) gpu_name[0] = '\0';
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorInsufficientDriver || e == cudaErrorStubLibrary)
        return ll_fail(err, LL_ERR_NO_GPU, "no usable GPU: the NVIDIA driver is missing or older than this CUDA runtime "
                                           "(%s)", cudaGetErrorString(e));
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0))
        return ll_fail(err, LL_ERR_NO_GPU, "no usable GPU: no CUDA device found");
    if (e != cudaSuccess) return ll_fail(err, LL_ERR_NO_GPU, "no usable GPU: %s (%s)", cudaGetErrorString(e),
                                         cudaGetErrorName(e));
    int dev = 0;
    CUDA_TRY(err, cudaGetDevice(&dev));
    cudaDeviceProp prop;
    CUDA_TRY(err, cudaGetDeviceProperties(&prop, dev));
    if (gpu_name && len) {
        strncpy(gpu_name, prop.name, len - 1);
        gpu_name[len - 1] = '\0';
    }
    if (sm_major) *sm_major = prop.major;
    if (sm_minor) *sm_minor = prop.minor;
    if (prop.major < 8)
        return ll_fail(err, LL_ERR_NO_GPU, "no usable GPU: %s has compute capability %d.%d; the kernels need 8.0 (sm_80) or newer",
                       prop.name, prop.major, prop.minor);
    return LL_OK;
}

// Probes once per process; the answer (and its message) is reused.
static int g_sm_major = 0, g_sm_minor = 0;  // of the GPU found (0: none)

static ll_status require_gpu(ll_error *err) {
    static int probed = 0;
    static ll_status status = LL_OK;
    static ll_error saved;
    if (!probed) {
        ll_error_clear(&saved);
        status = ll_cuda_probe(NULL, 0, &g_sm_major, &g_sm_minor, &saved);
        if (status != LL_OK) g_sm_major = g_sm_minor = 0;
        probed = 1;
    }
    if (status != LL_OK) {
        if (err) *err = saved;
        return status;
    }
    return LL_OK;
}

ll_status ll_cuda_environment_get(ll_cuda_environment *out, ll_error *err) {
    if (!out) return ll_fail(err, LL_ERR_INVALID, "ll_cuda_environment_get: NULL result");
    memset(out, 0, sizeof *out);
    if (cudaRuntimeGetVersion(&out->runtime_version) != cudaSuccess) out->runtime_version = 0;
    if (cudaDriverGetVersion(&out->driver_version) != cudaSuccess) out->driver_version = 0;
    int dev = 0, khz = 0;
    if (g_sm_major == 0) return LL_OK;  // no GPU in use by this process: no device touched here
    if (cudaGetDevice(&dev) == cudaSuccess) {
        if (cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev) == cudaSuccess) out->sm_clock_mhz = khz / 1000;
        if (cudaDeviceGetAttribute(&khz, cudaDevAttrMemoryClockRate, dev) == cudaSuccess) out->mem_clock_mhz = khz / 1000;
    }
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Kernel variants

const char *ll_cuda_kernel_name(ll_kernel_variant v) {
    switch (v) {
    case LL_KERNEL_PORTABLE: return "portable_v5";  // kernels/portable_attention.cu
    case LL_KERNEL_HOPPER: return "hopper_v5";      // kernels/hopper_attention.cu
    case LL_KERNEL_AUTO: break;
    }
    return NULL;
}

// auto: the Hopper kernel on an sm_90 GPU for the head dims it is built for,
// else the portable one (also without a GPU, where only tilings matter).
// An explicit 'hopper' is refused for other head dims and on other GPUs.
static ll_status resolve_variant(ll_kernel_variant want, int D, ll_kernel_variant *got, ll_error *err) {
    switch (want) {
    case LL_KERNEL_AUTO: {
        ll_error ignored;
        int hopper_gpu = require_gpu(&ignored) == LL_OK && g_sm_major == 9;
        *got = hopper_gpu && ll_hopper_supports(D) ? LL_KERNEL_HOPPER : LL_KERNEL_PORTABLE;
        return LL_OK;
    }
    case LL_KERNEL_PORTABLE: *got = LL_KERNEL_PORTABLE; return LL_OK;
    case LL_KERNEL_HOPPER:
        if (!ll_hopper_supports(D))
            return ll_fail(err, LL_ERR_INVALID, "the hopper kernel is built for head dims 64 and 128, not D=%d "
                                                "(use 'portable' or 'auto')", D);
        if (g_sm_major != 0 && g_sm_major != 9)
            return ll_fail(err, LL_ERR_INVALID, "the hopper kernel needs compute capability 9.0 (sm_90a); this GPU "
                                                "has %d.%d (use 'portable' or 'auto')", g_sm_major, g_sm_minor);
        *got = LL_KERNEL_HOPPER;
        return LL_OK;
    }
    return ll_fail(err, LL_ERR_INVALID, "unknown kernel variant code %d", (int)want);
}

ll_status ll_cuda_pick(const ll_shape *shape, ll_kernel_variant want, ll_kernel_variant *got, ll_tiling *tiling,
                       ll_error *err) {
    if (!shape || !got || !tiling) return ll_fail(err, LL_ERR_INVALID, "ll_cuda_pick: NULL argument");
    LL_TRY(ll_shape_validate(shape, "CUDA attention", err));
    LL_TRY(resolve_variant(want, shape->D, got, err));
    int bm = 0, bn = 0;
    if (!(*got == LL_KERNEL_HOPPER ? ll_hopper_tiling(shape->D, &bm, &bn) : ll_portable_tiling(shape->D, &bm, &bn)))
        return ll_fail(err, LL_ERR_INTERNAL, "the %s kernel has no tiling for D=%d", ll_kernel_variant_name(*got),
                       shape->D);
    tiling->block_m = bm;
    tiling->block_n = bn;
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Device memory

ll_status ll_cuda_malloc(void **dptr, size_t bytes, ll_error *err) {
    if (!dptr) return ll_fail(err, LL_ERR_INVALID, "ll_cuda_malloc: NULL result pointer");
    *dptr = NULL;
    LL_TRY(require_gpu(err));
    if (bytes == 0) return LL_OK;
    cudaError_t e = cudaMalloc(dptr, bytes);
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();  // not sticky: clear it
        *dptr = NULL;
        return ll_fail(err, LL_ERR_NOMEM, "GPU out of memory allocating %zu bytes (%.2f GiB)", bytes,
                       bytes / 1073741824.0);
    }
    CUDA_TRY(err, e);
    return LL_OK;
}

void ll_cuda_free(void *dptr) {
    if (dptr) cudaFree(dptr);
}

ll_status ll_cuda_upload(void *dst, const void *src, size_t bytes, ll_error *err) {
    if (bytes == 0) return LL_OK;
    if (!dst || !src) return ll_fail(err, LL_ERR_INVALID, "ll_cuda_upload: NULL %s", !dst ? "destination" : "source");
    LL_TRY(require_gpu(err));
    CUDA_TRY(err, cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
    return LL_OK;
}

ll_status ll_cuda_download(void *dst, const void *src, size_t bytes, ll_error *err) {
    if (bytes == 0) return LL_OK;
    if (!dst || !src) return ll_fail(err, LL_ERR_INVALID, "ll_cuda_download: NULL %s", !dst ? "destination" : "source");
    LL_TRY(require_gpu(err));
    CUDA_TRY(err, cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
    return LL_OK;
}

ll_status ll_cuda_memset(void *dst, int byte, size_t bytes, ll_error *err) {
    if (bytes == 0) return LL_OK;
    if (!dst) return ll_fail(err, LL_ERR_INVALID, "ll_cuda_memset: NULL destination");
    LL_TRY(require_gpu(err));
    CUDA_TRY(err, cudaMemset(dst, byte, bytes));
    return LL_OK;
}

// The kernels' device-side error record (read list rows that break the
// invariants), one per process.
static int *g_dev_error = NULL;

static ll_status dev_error_buffer(int **out, ll_error *err) {
    if (!g_dev_error) {
        CUDA_TRY(err, cudaMalloc((void **)&g_dev_error, sizeof(int) * LL_DEVERR_WORDS));
        CUDA_TRY(err, cudaMemset(g_dev_error, 0, sizeof(int) * LL_DEVERR_WORDS));
    }
    *out = g_dev_error;
    return LL_OK;
}

ll_status ll_cuda_sync(ll_error *err) {
    LL_TRY(require_gpu(err));
    CUDA_TRY(err, cudaDeviceSynchronize());
    if (!g_dev_error) return LL_OK;
    int e[LL_DEVERR_WORDS];
    CUDA_TRY(err, cudaMemcpy(e, g_dev_error, sizeof e, cudaMemcpyDeviceToHost));
    if (e[0] == LL_DEVERR_NONE) return LL_OK;
    CUDA_TRY(err, cudaMemset(g_dev_error, 0, sizeof e));  // reported once
    if (e[0] == LL_DEVERR_READ_LIST)
        return ll_fail(err, LL_ERR_INVALID,
                       "read list: row (b=%d, h=%d, qtile=%d) breaks the list invariants (len=%d; lengths even and "
                       "<= k_tiles, ranges in bounds, non-empty, descending); the kernel computed nothing for it",
                       e[1], e[2], e[3], e[4]);
    if (e[0] == LL_DEVERR_WRITE_STAGE)
        return ll_fail(err, LL_ERR_INTERNAL,
                       "write list: row (b=%d, h=%d, qtile=%d): the kernel's writer staged %d entries, more than a "
                       "checked read row can give (row left unwritten)",
                       e[1], e[2], e[3], e[4]);
    return ll_fail(err, LL_ERR_INTERNAL, "kernel reported unknown device error code %d", e[0]);
}

// ---------------------------------------------------------------------------
// One forward call

static ll_status validate_forward(ll_kernel_variant variant, const ll_attn_params *p, const ll_cuda_args *a,
                                  ll_error *err) {
    if (!p || !a) return ll_fail(err, LL_ERR_INVALID, "ll_cuda_forward: NULL %s", !p ? "parameters" : "arguments");
    LL_TRY(ll_shape_validate(&p->shape, "CUDA attention", err));
    LL_TRY(ll_tiling_validate(&p->tiling, err));
    ll_kernel_variant got;
    ll_tiling want;
    LL_TRY(ll_cuda_pick(&p->shape, variant, &got, &want, err));
    if (p->tiling.block_m != want.block_m || p->tiling.block_n != want.block_n)
        return ll_fail(err, LL_ERR_INVALID,
                       "CUDA attention: tiling %dx%d is not the %s kernel's %dx%d for D=%d (take it from "
                       "ll_cuda_pick)",
                       p->tiling.block_m, p->tiling.block_n, ll_kernel_variant_name(got), want.block_m, want.block_n,
                       p->shape.D);
    if (isnan(p->threshold)) return ll_fail(err, LL_ERR_INVALID, "CUDA attention: threshold is NaN");
    if (!(p->softmax_scale >= 0) || isinf(p->softmax_scale))
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: softmax_scale %g must be finite and >= 0 (0: 1/sqrt(D))",
                       (double)p->softmax_scale);
    if (!a->q || !a->k || !a->v || !a->o)
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: %s is NULL",
                       !a->q ? "Q" : !a->k ? "K" : !a->v ? "V" : "O");
    // 16-byte copies of Q, K, V rows and 4-byte stores of O pairs.
    if (((uintptr_t)a->q | (uintptr_t)a->k | (uintptr_t)a->v) & 15u)
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: Q, K and V must be 16-byte aligned device buffers");
    if (((uintptr_t)a->o | (uintptr_t)a->lse) & 3u)
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: O and LSE must be 4-byte aligned device buffers");
    if (!a->read_list && a->write_list)
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: dense mode (no read list) takes no write list");
    if (a->read_list && a->read_list == a->write_list)
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: the write list is the read list's buffer (they must be distinct)");
    if (a->read_list && a->encoding != LL_END_EXCLUSIVE && a->encoding != LL_END_INCLUSIVE_PRODUCTION)
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: unknown list encoding code %d", (int)a->encoding);
    if (p->shape.H > 65535 || p->shape.B > 65535)
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: B=%d and H=%d must be <= 65535 (grid limits)",
                       p->shape.B, p->shape.H);
    int k_tiles = ll_k_tiles(&p->shape, &p->tiling);
    if (a->read_list && ll_skip_list_row_len(k_tiles) < 3)
        return ll_fail(err, LL_ERR_INVALID,
                       "CUDA attention: N=%d gives %d key tile(s) of %d; a list row of %d ints cannot hold the full "
                       "list [2, start, end] (skip_list.h layout): use dense mode",
                       p->shape.N, k_tiles, p->tiling.block_n, ll_skip_list_row_len(k_tiles));
    return LL_OK;
}

ll_status ll_cuda_forward(ll_kernel_variant variant, const ll_attn_params *p, const ll_cuda_args *a, ll_error *err) {
    LL_TRY(validate_forward(variant, p, a, err));
    LL_TRY(require_gpu(err));
    ll_kernel_variant got;
    LL_TRY(resolve_variant(variant, p->shape.D, &got, err));  // after the probe: knows the GPU now
    const ll_shape *s = &p->shape;
    const bool hopper = got == LL_KERNEL_HOPPER;
    ll_portable_args k;
    memset(&k, 0, sizeof k);
    k.q = a->q;
    k.k = a->k;
    k.v = a->v;
    k.o = a->o;
    k.lse = a->lse;
    k.read_list = a->read_list;
    k.write_list = a->write_list;
    k.fitted_rows = a->write_list ? a->fitted_rows : NULL;
    k.flags = a->read_list ? a->key_tile_flags : NULL;  // dense mode computes every tile, as the reference
    k.B = s->B;
    k.N = s->N;
    k.H = s->H;
    k.D = s->D;
    k.fp16 = s->dtype == LL_FP16;
    k.exclusive = a->encoding == LL_END_EXCLUSIVE;
    k.q_tiles = ll_q_tiles(s, &p->tiling);
    k.k_tiles = ll_k_tiles(s, &p->tiling);
    k.row_ints = ll_skip_list_row_len(k.k_tiles);
    if ((size_t)s->B * s->H * k.q_tiles > INT32_MAX)
        return ll_fail(err, LL_ERR_INVALID, "CUDA attention: B*H*q_tiles = %zu query tiles exceed one launch",
                       (size_t)s->B * s->H * k.q_tiles);
    k.scale_log2 = ll_softmax_scale(p) * LOG2E;  // the reference's fp32 constant
    k.threshold = p->threshold;
    LL_TRY(dev_error_buffer(&k.error, err));

    const bool skip = a->read_list != NULL;
    size_t smem = hopper ? ll_hopper_smem_bytes(s->D, k.k_tiles, skip) : ll_portable_smem_bytes(s->D, k.k_tiles, skip);
    int dev = 0, smem_max = 0;
    CUDA_TRY(err, cudaGetDevice(&dev));
    CUDA_TRY(err, cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    if (smem == SIZE_MAX)
        return ll_fail(err, LL_ERR_INVALID,
                       "CUDA attention: N=%d (%d key tiles) is beyond what the %s kernel's list buffers can hold "
                       "(dense mode has no such limit)",
                       s->N, k.k_tiles, ll_kernel_variant_name(got));
    if (smem > (size_t)smem_max)
        return ll_fail(err, LL_ERR_INVALID,
                       "CUDA attention: N=%d (%d key tiles) needs %zu bytes of shared memory per block with the "
                       "list buffers (%s kernel); this GPU offers %d",
                       s->N, k.k_tiles, smem, ll_kernel_variant_name(got), smem_max);
    if (hopper) {
        const char *what = NULL;
        cudaError_t e = ll_hopper_launch(&k, 0, &what);
        if (e != cudaSuccess) return cuda_fail(err, e, __FILE__, __LINE__, what ? what : "ll_hopper_launch");
        return LL_OK;
    }
    CUDA_TRY(err, ll_portable_launch(&k, 0));
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Tile maps on the GPU

ll_status ll_cuda_tile_map(const ll_attn_params *p, const uint16_t *q, const uint16_t *k, ll_tile_map *out,
                           ll_error *err) {
    if (!p || !q || !k || !out)
        return ll_fail(err, LL_ERR_INVALID, "GPU tile map: NULL %s", !p ? "parameters" : !q ? "Q" : !k ? "K" : "map");
    const ll_shape *s = &p->shape;
    LL_TRY(ll_shape_validate(s, "GPU tile map", err));
    LL_TRY(ll_tiling_validate(&p->tiling, err));
    if (!ll_tile_stats_supported(s->D, p->tiling.block_m, p->tiling.block_n))
        return ll_fail(err, LL_ERR_INVALID, "GPU tile map: tiling %dx%d not supported (block_m 128, block_n a multiple of 64)",
                       p->tiling.block_m, p->tiling.block_n);
    if (!(p->softmax_scale >= 0) || isinf(p->softmax_scale))
        return ll_fail(err, LL_ERR_INVALID, "GPU tile map: softmax_scale %g must be finite and >= 0", (double)p->softmax_scale);
    if (((uintptr_t)q | (uintptr_t)k) & 15u)
        return ll_fail(err, LL_ERR_INVALID, "GPU tile map: Q and K must be 16-byte aligned device buffers");
    int q_tiles = ll_q_tiles(s, &p->tiling), k_tiles = ll_k_tiles(s, &p->tiling);
    if (!out->max_log2 || !out->mass || out->B != s->B || out->H != s->H || out->q_tiles != q_tiles ||
        out->k_tiles != k_tiles)
        return ll_fail(err, LL_ERR_INVALID,
                       "GPU tile map: output map (B=%d H=%d q_tiles=%d k_tiles=%d) does not match the call "
                       "(B=%d H=%d q_tiles=%d k_tiles=%d)",
                       out->B, out->H, out->q_tiles, out->k_tiles, s->B, s->H, q_tiles, k_tiles);
    if (s->H > 65535 || s->B > 65535)
        return ll_fail(err, LL_ERR_INVALID, "GPU tile map: B=%d and H=%d must be <= 65535", s->B, s->H);
    LL_TRY(require_gpu(err));
    size_t n = (size_t)s->B * s->H * q_tiles * k_tiles;
    float *d_max = NULL, *d_mass = NULL;
    LL_TRY(ll_cuda_malloc((void **)&d_max, n * sizeof(float), err));
    ll_status st = ll_cuda_malloc((void **)&d_mass, n * sizeof(float), err);
    if (st == LL_OK) {
        ll_tile_stats_args t;
        memset(&t, 0, sizeof t);
        t.q = q;
        t.k = k;
        t.max_log2 = d_max;
        t.mass = d_mass;
        t.B = s->B;
        t.N = s->N;
        t.H = s->H;
        t.D = s->D;
        t.fp16 = s->dtype == LL_FP16;
        t.block_n = p->tiling.block_n;
        t.q_tiles = q_tiles;
        t.k_tiles = k_tiles;
        t.scale_log2 = ll_softmax_scale(p) * LOG2E;
        cudaError_t e = ll_tile_stats_launch(&t, 0);
        if (e == cudaSuccess) e = cudaDeviceSynchronize();
        if (e != cudaSuccess) st = cuda_fail(err, e, __FILE__, __LINE__, "ll_tile_stats_launch");
    }
    if (st == LL_OK) st = ll_cuda_download(out->max_log2, d_max, n * sizeof(float), err);
    if (st == LL_OK) st = ll_cuda_download(out->mass, d_mass, n * sizeof(float), err);
    ll_cuda_free(d_max);
    ll_cuda_free(d_mass);
    return st;
}

double ll_cuda_gmma_units_per_tile(ll_kernel_variant v, int D) {
    return v == LL_KERNEL_HOPPER && ll_hopper_supports(D) ? ll_hopper_gmma_units_per_tile(D) : 0.0;
}

// ---------------------------------------------------------------------------
// The mma.sync ceiling

ll_status ll_cuda_mma_peak(double *tflops, ll_error *err) {
    if (!tflops) return ll_fail(err, LL_ERR_INVALID, "ll_cuda_mma_peak: NULL result");
    LL_TRY(require_gpu(err));
    int dev = 0, sms = 0;
    CUDA_TRY(err, cudaGetDevice(&dev));
    CUDA_TRY(err, cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    const int blocks = 4 * sms, iters = 20000;
    float *sink = NULL;
    cudaEvent_t start = NULL, stop = NULL;
    CUDA_TRY(err, cudaMalloc((void **)&sink, 256 * sizeof(float)));
    ll_status st = LL_OK;
    float ms[5];
    cudaError_t e = cudaEventCreate(&start);
    if (e == cudaSuccess) e = cudaEventCreate(&stop);
    if (e == cudaSuccess) e = ll_mma_peak_launch(blocks, iters, sink, 0);  // warm-up
    for (int i = 0; i < 5 && e == cudaSuccess; i++) {
        e = cudaEventRecord(start, 0);
        if (e == cudaSuccess) e = ll_mma_peak_launch(blocks, iters, sink, 0);
        if (e == cudaSuccess) e = cudaEventRecord(stop, 0);
        if (e == cudaSuccess) e = cudaEventSynchronize(stop);
        if (e == cudaSuccess) e = cudaEventElapsedTime(&ms[i], start, stop);
    }
    if (e != cudaSuccess) {
        st = cuda_fail(err, e, __FILE__, __LINE__, "mma peak kernel");
    } else {
        for (int i = 1; i < 5; i++)  // insertion sort for the median
            for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
                float t = ms[j];
                ms[j] = ms[j - 1];
                ms[j - 1] = t;
            }
        *tflops = ll_mma_peak_flops(blocks, iters) / (ms[2] * 1e-3) * 1e-12;
    }
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
    cudaFree(sink);
    return st;
}
