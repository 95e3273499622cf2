// walk_order.h: the order in which a query tile's key tiles are visited.
//
// The QK-skip criterion compares a tile's row maxima with the RUNNING row
// maxima of the tiles visited before it, so the visiting order is part of the
// semantics: it decides which tiles can be marked and which tile is exempt
// (the first one visited has no running maximum and is never marked).
//
//   LL_WALK_DESCENDING   from the highest listed key tile down to the lowest
//                        (release 0.2.0 of the production kernel; litelab's
//                        original order). On local attention the running
//                        maximum has not seen the diagonal when the far tiles
//                        above it are judged, so mostly tiles below the
//                        diagonal get marked.
//   LL_WALK_ALTERNATING  descending on a layer's even calls, ascending on its
//                        odd calls (later production branches): both sides of
//                        the diagonal get judged after the row maximum in turn.
//                        The call index counts the calls that read the layer's
//                        list pair (CFG branches sharing one pair both count).
//   LL_WALK_DIAGONAL_OUT litelab's own: start at the key tile holding the query
//                        tile's centre token (the diagonal), then walk outward,
//                        nearest first (d, d+1, d-1, d+2, d-2, ...; listed tiles
//                        only), so that on local attention the running maximum
//                        is (nearly) the row's maximum from the first visit.
//
// The lists keep their layout and encoding for every order (lib/skip_list.h:
// ranges stored in descending order): the order only says how a kernel walks
// the set of tiles a row computes. ll_walk_sequence is the reference
// definition: the CPU reference, the kernels, the policies and the
// calibrator's criterion maps all follow it.
#pragma once
#include <stdint.h>

#include "common.h"
#include "skip_list.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LL_WALK_DESCENDING = 0, LL_WALK_ALTERNATING = 1, LL_WALK_DIAGONAL_OUT = 2 } ll_walk_order;
#define LL_WALK_ORDERS 3

const char *ll_walk_order_name(ll_walk_order w);  // "descending", "alternating", "diagonal_out"
ll_status ll_walk_order_parse(const char *s, ll_walk_order *out, ll_error *err);

// The direction a call walks in under `w`: 1 ascending, 0 descending, for the
// call_index-th call of a layer (meaningful for DESCENDING and ALTERNATING).
static inline int ll_walk_ascending(ll_walk_order w, long call_index) {
    return w == LL_WALK_ALTERNATING && (call_index & 1);
}

// The key tile holding the centre token of query tile qt (DIAGONAL_OUT's start).
static inline int ll_walk_diagonal_tile(const ll_shape *s, const ll_tiling *t, int qt) {
    int rows = ll_q_tile_rows(s, t, qt);
    int centre = qt * t->block_m + (rows - 1) / 2;
    return centre / t->block_n;
}

// The visiting order of one query tile: the tiles `keep` marks (keep[kt] != 0,
// k_tiles entries, e.g. from ll_skip_list_row_to_keep) in the order `w` visits
// them at the call_index-th call, written to order[0 .. n-1]; returns n.
int ll_walk_sequence(ll_walk_order w, long call_index, const ll_shape *s, const ll_tiling *t, int qt,
                     const uint8_t *keep, int k_tiles, int *order);

#ifdef __cplusplus
}
#endif
