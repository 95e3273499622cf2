// error_metrics.h: how far a policy's output is from the dense output, and
// how much attention probability the tiles it skipped carried.
//   rel_l2           ||O - O_dense|| / ||O_dense|| over the whole tensor
//   max_abs          max |O - O_dense|
//   cosine           <O, O_dense> / (||O|| ||O_dense||)
//   worst_row_rel_l2 max over rows (b, n, h) of the row's relative L2 error
//                    (a row is one token's D outputs of one head)
//   skipped_mass     from the dense tile map (lib/tile_maps.h): per query
//                    tile, the sum over its skipped key tiles of the tile's
//                    largest row mass, maximised over query tiles and capped
//                    at 1: an upper bound on the largest probability mass any
//                    single row lost (exact when one row is the worst in every
//                    skipped tile).
// An output holding NaN or Inf gets every error metric NaN.
#pragma once
#include <stdint.h>

#include "common.h"
#include "skip_list.h"
#include "tile_maps.h"

#ifdef __cplusplus
extern "C" {
#endif

// A read-only [B, N, H, D] tensor as floats or as 16-bit words of dtype.
typedef struct {
    const float *f32;     // used when not NULL
    const uint16_t *h16;  // else these words
    ll_dtype dtype;
} ll_tensor_view;

typedef struct {
    double rel_l2, max_abs, cosine, worst_row_rel_l2;
} ll_output_error;

// whole: over every head; per_head: H entries (may be NULL).
ll_status ll_output_error_compute(const ll_shape *s, ll_tensor_view out, ll_tensor_view ref, ll_output_error *whole,
                                  ll_output_error *per_head, ll_error *err);

// read NULL: a dense call (0). The list must match the map's dimensions.
// per_head: H entries (may be NULL).
ll_status ll_skipped_mass(const ll_tile_map *m, const ll_skip_list *read, double *whole, double *per_head,
                          ll_error *err);

#ifdef __cplusplus
}
#endif
