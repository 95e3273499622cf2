// tile_maps.h: tile-level attention maps of a dense call, what `litelab
// capture` records and the oracle policy and threshold screening read.
// For every (batch, head, query tile, key tile):
//   max_log2: the largest log2 weight a row of the query tile gives any key of
//             the tile, relative to that row's final maximum:
//             max_r max_c (s_rc - M_r) * scale * log2(e)   (<= 0)
//   mass:     the largest probability mass one row puts in the tile:
//             max_r sum_c softmax(s_r)_c                  (in [0, 1])
// Full probability maps [B, H, N, N] are offered for small N only.
#pragma once
#include <stdint.h>

#include "common.h"
#include "reference_attention.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int B, H, q_tiles, k_tiles;
    float *max_log2;  // [B, H, q_tiles, k_tiles]
    float *mass;      // [B, H, q_tiles, k_tiles]
} ll_tile_map;

ll_status ll_tile_map_alloc(ll_tile_map *m, int B, int H, int q_tiles, int k_tiles, ll_error *err);
void ll_tile_map_free(ll_tile_map *m);
static inline size_t ll_tile_map_index(const ll_tile_map *m, int b, int h, int qt, int kt) {
    return (((size_t)b * m->H + h) * m->q_tiles + qt) * (size_t)m->k_tiles + kt;
}

// CPU computation (OpenMP) from Q, K ([B, N, H, D]); uses p->shape, p->tiling,
// p->softmax_scale. full_probs: optional [B, H, N, N] float output, only
// allowed when N <= LL_FULL_MAP_MAX_N.
#define LL_FULL_MAP_MAX_N 4096
ll_status ll_tile_map_compute(const ll_attn_params *p, const uint16_t *q, const uint16_t *k, ll_tile_map *out,
                              float *full_probs, ll_error *err);

#ifdef __cplusplus
}
#endif
