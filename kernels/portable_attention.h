// portable_attention.h: launch interface of the portable (sm_80+) kernels,
// between kernels/*.cu and the host API in lib/cuda_attention.cu. C++ with
// CUDA runtime types; the public C API stays in lib/cuda_attention.h.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

// Device-side failures, recorded in a small device int[5] buffer
// {code, b, h, qtile, detail} that the host reads at ll_cuda_sync.
enum {
    LL_DEVERR_NONE = 0,
    LL_DEVERR_READ_LIST = 1,   // a read-list row breaks the invariants (detail: its len)
    LL_DEVERR_WRITE_STAGE = 2, // the writer staged more entries than a valid read row can give (a bug; detail: entries)
};
enum { LL_DEVERR_WORDS = 5 };

// One forward call of the portable kernel (all pointers are device pointers).
struct ll_portable_args {
    const uint16_t *q, *k, *v;  // [B, N, H, D]
    uint16_t *o;                // [B, N, H, D]
    float *lse;                 // [B, H, N] natural log, or NULL
    const int32_t *read_list;   // NULL: dense mode (every tile, no criterion, no list touched)
    int32_t *write_list;        // NULL: criterion not recorded
    int *fitted_rows;           // +1 per write-list row that needed the fit rule (lib/skip_list.h), or NULL
    const uint8_t *flags;       // k_tiles key-tile flags (skip mode only) or NULL
    int *error;                 // LL_DEVERR_WORDS ints, zero when no error has been seen
    int B, N, H, D;
    int fp16;                   // 0: bf16, 1: fp16
    int exclusive;              // list encoding: 1 LL_END_EXCLUSIVE, 0 production (end computed)
    int q_tiles, k_tiles;
    int row_ints;               // int32 per list row (ll_skip_list_row_len): [len, up to row_ints - 1 entries]
    float scale_log2;           // softmax scale * log2(e)
    float threshold;            // log2 units
};

// Tile sizes for head dim D (64, 96, 128); false for another D.
bool ll_portable_tiling(int D, int *block_m, int *block_n);
// Dynamic shared memory a launch needs (list buffers included in skip mode);
// SIZE_MAX when k_tiles is beyond what the list buffers can hold.
size_t ll_portable_smem_bytes(int D, int k_tiles, bool skip);
// Launches on `stream`; returns the launch's error (cudaGetLastError).
cudaError_t ll_portable_launch(const ll_portable_args *a, cudaStream_t stream);

// Tile maps on the GPU (kernels/tile_stats.cu): for every (b, h, qtile, ktile)
// max_log2 = max_r max_c (s_rc - M_r) * scale * log2(e) with M_r the row's
// final maximum, and mass = max_r sum_c softmax(s_r)_c. block_m must be 128
// and block_n a multiple of 64.
struct ll_tile_stats_args {
    const uint16_t *q, *k;       // [B, N, H, D]
    float *max_log2, *mass;      // [B, H, q_tiles, k_tiles]
    int B, N, H, D, fp16;
    int block_n, q_tiles, k_tiles;
    float scale_log2;
};
bool ll_tile_stats_supported(int D, int block_m, int block_n);
size_t ll_tile_stats_smem_bytes(int D);
cudaError_t ll_tile_stats_launch(const ll_tile_stats_args *a, cudaStream_t stream);

// The mma.sync ceiling (kernels/mma_peak.cu): `blocks` CTAs of 8 warps, each
// issuing iters x 8 independent m16n8k16 bf16 mmas; ll_mma_peak_flops counts them.
cudaError_t ll_mma_peak_launch(int blocks, int iters, float *sink, cudaStream_t stream);
double ll_mma_peak_flops(int blocks, int iters);
