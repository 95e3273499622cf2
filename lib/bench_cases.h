// bench_cases.h: what `litelab bench` measures, apart from the timing
// itself: the shape presets, the kept-fraction and mask lists of its options,
// the random and banded tile masks (built as skip lists on the host), and the
// short GPU name used in result file names. Host only, so it is tested on
// the CPU; experiments/bench_peers.py builds the same kinds of masks for its
// peers.
//
// Masks (kept = target fraction of key tiles each query tile computes):
//   random: every (batch, head, query tile) keeps round(kept * k_tiles) key
//           tiles (at least 1), a uniformly random subset drawn from a
//           per-row seed;
//   banded: a local window around the diagonal in token order: key tile kt
//           is kept for query tile qt when its tokens come within `w` tokens
//           of the query tile's centre token; w is the smallest half-width
//           whose overall kept fraction is closest to `kept` (the band is
//           clipped at the sequence ends, so edge rows keep fewer tiles);
//   full:   every tile (kept = 1).
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "skip_list.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LL_BENCH_MAX_ITEMS = 32 };  // most shapes / fractions / masks one option may list

typedef struct {
    char name[32];  // preset name, or "BxHxNxD" as given
    ll_shape shape;
} ll_bench_shape;

// Presets: wan720 (1, 40, 75600, 128), wan480 (1, 40, 32760, 128), h24d64 (1, 24, 32760, 64).
// Parses a comma-separated list of preset names or BxHxNxD items
// (LL_ERR_USAGE, naming the item, on anything else).
ll_status ll_bench_shapes_parse(const char *s, ll_dtype dtype, ll_bench_shape *out, int max, int *n,
                                ll_error *err);
// Comma-separated fractions, each in (0, 1].
ll_status ll_bench_fractions_parse(const char *s, double *out, int max, int *n, ll_error *err);

typedef enum { LL_BENCH_MASK_FULL = 0, LL_BENCH_MASK_RANDOM = 1, LL_BENCH_MASK_BANDED = 2 } ll_bench_mask;
const char *ll_bench_mask_name(ll_bench_mask m);  // "full", "random", "banded"
// Comma-separated "random" / "banded" (full is implied by a fraction of 1).
ll_status ll_bench_masks_parse(const char *s, ll_bench_mask *out, int max, int *n, ll_error *err);

// The banded mask's half-width in tokens for a target fraction (see above).
int ll_bench_band_half_width(const ll_shape *s, const ll_tiling *t, double kept);
// Key tiles [*lo, *hi] that the band of half-width w keeps for query tile qt.
void ll_bench_band_tiles(const ll_shape *s, const ll_tiling *t, int qt, int w, int *lo, int *hi);

// Fills every row of l (allocated with the call's B, H, q_tiles, k_tiles) with
// the mask; rows are written with ll_skip_list_row_from_keep in l->encoding.
ll_status ll_bench_mask_build(ll_skip_list *l, const ll_shape *s, const ll_tiling *t, ll_bench_mask m,
                              double kept, uint64_t seed, ll_error *err);

// "NVIDIA H100 80GB HBM3" -> "h100", "NVIDIA GeForce RTX 4090" -> "rtx4090":
// vendor words dropped, words joined up to the first one holding a digit,
// cut at its first '-', lower case, only [a-z0-9]. "gpu" when nothing is left.
void ll_gpu_short_name(const char *full, char *out, size_t len);

#ifdef __cplusplus
}
#endif
