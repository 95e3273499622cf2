// hopper_attention.h: launch interface of the Hopper (sm_90a) kernel, between
// kernels/hopper_attention.cu and the host API in lib/cuda_attention.cu. Same
// arguments, semantics, list layout and device error record as the portable
// kernel (portable_attention.h); only the machinery differs.
#pragma once
#include <cuda_runtime.h>
#include <stddef.h>
#include <stdint.h>

// A call takes the portable kernel's arguments (ll_portable_args: device
// pointers, shape, list layout, scale and threshold).
#include "portable_attention.h"

// Head dims the kernel is built for (64 and 128).
bool ll_hopper_supports(int D);
// Tile sizes: 128 x 128; false for a head dim it is not built for.
bool ll_hopper_tiling(int D, int *block_m, int *block_n);
// Dynamic shared memory of a launch; SIZE_MAX when k_tiles is beyond what the
// list buffers can index (14-bit visit indices: 16384 key tiles).
size_t ll_hopper_smem_bytes(int D, int k_tiles, bool skip);
// Units the gmma tensor-pipe counter adds per computed tile: it counts 2 per
// warp for every wgmma m64nNk16 whatever N (measured on an H200,
// experiments/results/hopper_dev/run6_hopper_counters.log), and a tile takes
// D/16 (Q K^T) + 128/16 (P V) of them in each of 2 consumer warpgroups of 4 warps.
double ll_hopper_gmma_units_per_tile(int D);
// Builds the TMA descriptors, orders the query tiles (skip mode: longest kept
// work first within each head, heads in turn) and launches on `stream`.
// Returns the first failing call's error; *what (may be NULL) names the step
// that failed.
cudaError_t ll_hopper_launch(const ll_portable_args *a, cudaStream_t stream, const char **what);
