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
// p->key_tile_flags, a host pointer, is not read here); fitted_rows: a
// device int the kernel adds 1 to for every write-list row that needed the
// fit rule (lib/skip_list.h; the caller zeroes it and reads it after
// ll_cuda_sync), or NULL. A write never fails for lack of room.
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
    int *fitted_rows;
} ll_cuda_args;
ll_status ll_cuda_forward(ll_kernel_variant variant, const ll_attn_params *p, const ll_cuda_args *a, ll_error *err);

// The kernel a variant runs, as results record it: its family and the
// kernels/NOTES.md version it is ("portable_v5", "hopper_v5"); "auto" and
// unknown variants: NULL. Each family ships one kernel (earlier versions are
// programs in kernels/dev/).
const char *ll_cuda_kernel_name(ll_kernel_variant v);

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
