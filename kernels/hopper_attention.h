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

// Versions, kept runnable side by side (kernels/NOTES.md has what each
// changed and measured). 0 picks the default.
enum { LL_HOPPER_DEFAULT_VERSION = 5, LL_HOPPER_VERSIONS = 5 };
const char *ll_hopper_version_summary(int version);
// Head dims the kernel is built for (64 and 128).
bool ll_hopper_supports(int D);
// Tile sizes (the same for every version): 128 x 128.
bool ll_hopper_tiling(int version, int D, int *block_m, int *block_n);
// Dynamic shared memory of a launch; SIZE_MAX when k_tiles is beyond what the
// list buffers can index (15-bit visit indices: 21844 key tiles).
size_t ll_hopper_smem_bytes(int version, int D, int k_tiles, bool skip);
// Units the gmma tensor-pipe counter adds per computed tile: it counts 2 per
// warp for every wgmma m64nNk16 whatever N (measured on an H200,
// experiments/results/hopper_dev/run6_hopper_counters.log), and a tile takes
// D/16 (Q K^T) + 128/16 (P V) of them in each of 2 consumer warpgroups of 4 warps.
double ll_hopper_gmma_units_per_tile(int D);
// Builds the TMA descriptors, orders the query tiles (versions >= 2, skip
// mode: longest kept work first) and launches on `stream`. Returns the first
// failing call's error; *what (may be NULL) names the step that failed.
cudaError_t ll_hopper_launch(int version, const ll_portable_args *a, cudaStream_t stream, const char **what);
