// tiling.h: how an attention call is cut into (query tile, key tile) pairs.
// block_m query rows by block_n key columns; the last tile of each axis may be
// partial when N is not a multiple of the tile size.
#pragma once
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int block_m, block_n;
} ll_tiling;

static inline int ll_q_tiles(const ll_shape *s, const ll_tiling *t) { return ll_ceil_div(s->N, t->block_m); }
static inline int ll_k_tiles(const ll_shape *s, const ll_tiling *t) { return ll_ceil_div(s->N, t->block_n); }
// Rows of query tile qt / columns of key tile kt (the last may be partial).
static inline int ll_q_tile_rows(const ll_shape *s, const ll_tiling *t, int qt) {
    int r = s->N - qt * t->block_m;
    return r < t->block_m ? r : t->block_m;
}
static inline int ll_k_tile_cols(const ll_shape *s, const ll_tiling *t, int kt) {
    int c = s->N - kt * t->block_n;
    return c < t->block_n ? c : t->block_n;
}
// block_m and block_n in [16, 512] and multiples of 16.
ll_status ll_tiling_validate(const ll_tiling *t, ll_error *err);
// The tile sizes the public Hopper kernel uses for 16-bit inputs (for
// comparisons with it): D<=64 192x192, D<=96 192x144, D<=128 128x176.
ll_tiling ll_tiling_production(int D);

#ifdef __cplusplus
}
#endif
