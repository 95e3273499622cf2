// cuda_attention.h: host API of the CUDA LiteAttention kernels. Plain C, no
// CUDA types in the interface, so the harness and tests build with gcc.
// Every CUDA call and launch inside is checked; failures come back as
// LL_ERR_CUDA / LL_ERR_NO_GPU / LL_ERR_NOMEM with a readable message.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "reference_attention.h"
#include "skip_list.h"
#include "tile_maps.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LL_KERNEL_AUTO = 0, LL_KERNEL_PORTABLE = 1, LL_KERNEL_HOPPER = 2 } ll_kernel_variant;
const char *ll_kernel_variant_name(ll_kernel_variant v);  // lib/backend.c: known in every build

// 1 when the library holds the CUDA backend; 0 in a build without CUDA
// (make CUDA=0, or no nvcc), where every ll_cuda_* call that needs the
// device or the kernels answers LL_ERR_NO_GPU, "litelab was built without
// CUDA" (lib/without_cuda.c), and so do the GPU timer and counters.
int ll_cuda_built(void);

// LL_OK and the GPU's name when a usable CUDA device is present; LL_ERR_NO_GPU
// with a clear reason otherwise (no driver, no device, too old a device).
ll_status ll_cuda_probe(char *gpu_name, size_t len, int *sm_major, int *sm_minor, ll_error *err);

// What a trace records of the CUDA installation: the runtime built in and
// the driver's CUDA version (e.g. 13000 = 13.0; 0 without a driver) and,
// once this process uses a GPU (the CUDA backend), the current device's SM
// and memory clocks in MHz (0 otherwise: no device is touched for them).
// LL_ERR_NO_GPU only in a build without CUDA.
typedef struct {
    int runtime_version, driver_version, sm_clock_mhz, mem_clock_mhz;
} ll_cuda_environment;
ll_status ll_cuda_environment_get(ll_cuda_environment *out, ll_error *err);

// The kernel variant the library picks for this GPU and shape, and the tile
// sizes it uses (the CPU reference must use the same to agree on skip lists).
ll_status ll_cuda_pick(const ll_shape *shape, ll_kernel_variant want, ll_kernel_variant *got, ll_tiling *tiling,
                       ll_error *err);

// Device memory helpers (so callers need no CUDA headers).
ll_status ll_cuda_malloc(void **dptr, size_t bytes, ll_error *err);
void ll_cuda_free(void *dptr);
ll_status ll_cuda_upload(void *dst, const void *src, size_t bytes, ll_error *err);
ll_status ll_cuda_download(void *dst, const void *src, size_t bytes, ll_error *err);
ll_status ll_cuda_memset(void *dst, int byte, size_t bytes, ll_error *err);
ll_status ll_cuda_sync(ll_error *err);

// One forward call on device buffers. q, k, v, o: [B, N, H, D] 16-bit words;
// lse: [B, H, N] float (may be NULL); read_list/write_list: device rows laid
// out as ll_skip_list (NULL read_list = dense mode: no list touched, write_list
// must be NULL); key_tile_flags: device bytes from ll_key_tile_flags or NULL
// (skip mode only: dense mode computes every tile, like the reference;
// p->key_tile_flags, a host pointer, is not read here).
// p->tiling must be the tiling ll_cuda_pick returned for `variant`.
// The call is asynchronous on the default stream; errors of the launch are
// checked at once, errors of the execution at the next ll_cuda_sync.
typedef struct {
    const uint16_t *q, *k, *v;
    uint16_t *o;
    float *lse;
    const int32_t *read_list;
    int32_t *write_list;
    const uint8_t *key_tile_flags;
    ll_list_encoding encoding;
} ll_cuda_args;
ll_status ll_cuda_forward(ll_kernel_variant variant, const ll_attn_params *p, const ll_cuda_args *a, ll_error *err);

// ---------------------------------------------------------------------------
// The context: like the production Python class, it owns per-layer
// double-buffered skip lists on the device (step t reads A, writes B; t+1
// reads B, writes A), with reset, threshold and enable/disable.
typedef struct ll_cuda_ctx ll_cuda_ctx;
ll_status ll_cuda_ctx_create(ll_cuda_ctx **out, const ll_shape *shape, int n_layers, ll_kernel_variant want,
                             ll_list_encoding enc, float threshold, int enabled, ll_error *err);
void ll_cuda_ctx_destroy(ll_cuda_ctx *ctx);
void ll_cuda_ctx_reset(ll_cuda_ctx *ctx);  // all lists full again
ll_status ll_cuda_ctx_set_threshold(ll_cuda_ctx *ctx, float threshold, ll_error *err);
void ll_cuda_ctx_enable(ll_cuda_ctx *ctx, int enabled);
ll_tiling ll_cuda_ctx_tiling(const ll_cuda_ctx *ctx);
ll_kernel_variant ll_cuda_ctx_variant(const ll_cuda_ctx *ctx);
// Must-do / must-skip key tiles for every layer (host bytes, k_tiles long; NULL clears).
ll_status ll_cuda_ctx_set_key_tile_flags(ll_cuda_ctx *ctx, const uint8_t *flags, ll_error *err);
// Runs `layer` on device buffers and swaps its lists when skipping is enabled.
ll_status ll_cuda_ctx_forward(ll_cuda_ctx *ctx, int layer, const uint16_t *q, const uint16_t *k, const uint16_t *v,
                              uint16_t *o, float *lse, float softmax_scale, ll_error *err);
// Copies the list `layer` reads next to the host (dst allocated with matching dims).
ll_status ll_cuda_ctx_read_list(ll_cuda_ctx *ctx, int layer, ll_skip_list *dst, ll_error *err);

// ---------------------------------------------------------------------------
// Portable kernel versions, kept runnable side by side (kernels/NOTES.md has
// what each changed and measured). The version in use decides the tiling
// ll_cuda_pick returns. Default: the fastest measured; the environment
// variable LITELAB_PORTABLE_VERSION=N overrides it at first use.
ll_status ll_cuda_select_portable_version(int version, ll_error *err);  // 0 = default
int ll_cuda_portable_version(void);                                       // the one in use (>= 1)
const char *ll_cuda_portable_version_summary(int version);               // NULL if unknown

// Hopper kernel versions (sm_90a: TMA, wgmma, warp specialisation), likewise:
// LITELAB_HOPPER_VERSION=N overrides the default at first use. 'auto' picks
// this kernel on a compute capability 9.0 GPU for D = 64 and 128.
ll_status ll_cuda_select_hopper_version(int version, ll_error *err);  // 0 = default
int ll_cuda_hopper_version(void);
const char *ll_cuda_hopper_version_summary(int version);  // NULL if unknown

// Tile maps (lib/tile_maps.h) of a dense call, computed on the GPU: q, k are
// device buffers [B, N, H, D]; p->shape, p->tiling (block_m 128, block_n a
// multiple of 64, e.g. ll_cuda_pick's) and p->softmax_scale are used; out is
// a host map allocated with matching dimensions. Synchronous. What `litelab
// capture` uses at Wan scale; agrees with ll_tile_map_compute to fp32 rounding.
ll_status ll_cuda_tile_map(const ll_attn_params *p, const uint16_t *q, const uint16_t *k, ll_tile_map *out,
                           ll_error *err);

// Tensor-pipe work the kernel issues per computed tile, in the units of the
// gmma counter (Hopper kernel; lib/backend.c turns counts into measured /
// predicted). 0 for a variant without such a fixed count.
double ll_cuda_gmma_units_per_tile(ll_kernel_variant v, int D);

// The tensor-core ceiling of the portable kernel's instruction on this GPU:
// back-to-back mma.sync m16n8k16 bf16 from registers, timed with CUDA events
// (median of 5). A reference figure for the kernel's efficiency, not a kernel.
ll_status ll_cuda_mma_peak(double *tflops, ll_error *err);

#ifdef __cplusplus
}
#endif
