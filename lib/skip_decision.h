// skip_decision.h: the QK-skip decision, one definition for the CPU reference
// (lib/reference_attention.c) and the CUDA kernels (kernels/*.cu), which
// include this header, so host and device cannot drift apart.
//
// Criterion of a computed key tile, in log2 units:
//     crit = max over the query tile's valid rows r of (s_r - m_r) * softmax_scale * log2(e)
// with s_r the tile's maximum of row r's raw scores and m_r the running
// maximum of row r over the tiles computed before it. The maximum propagates
// NaN (ll_crit_max): a row whose term is NaN (inf - inf, from scores that
// overflow fp32) makes the criterion NaN.
//
// Negligible: crit <= threshold. Ties count: a tile whose row maxima equal the
// running maxima exactly (a repeated key tile) has crit = 0 and is negligible
// at threshold 0. A NaN criterion is never negligible (NaN <= t is false).
//
// Keep rule of the j-th computed tile of a query tile: kept if it is the first
// (j == 0: no running maximum to compare with), if it is must-do, or if it is
// not negligible. A negligible tile is still accumulated at this step; it only
// leaves the write list. Must-skip tiles are never computed, so never decided.
#pragma once

#include "host_device.h"
#include "tile_overrides.h"  // LL_TILE_FREE, LL_TILE_MUST_DO, LL_TILE_MUST_SKIP: one set of flag values

#ifdef __cplusplus
extern "C" {
#endif

// The criterion's maximum of two row terms (or partial maxima): NaN if either
// is NaN, else the larger. fmaxf would drop the NaN and could mark the tile.
static inline LL_HOST_DEVICE float ll_crit_max(float a, float b) { return (a > b || a != a) ? a : b; }
static inline LL_HOST_DEVICE double ll_crit_max64(double a, double b) { return (a > b || a != a) ? a : b; }

// crit <= threshold, false for a NaN criterion. The 64 twins serve the
// reference's fp64 mode (its criterion in double against the float threshold).
static inline LL_HOST_DEVICE int ll_crit_negligible(float crit, float threshold) { return crit <= threshold; }
static inline LL_HOST_DEVICE int ll_crit_negligible64(double crit, double threshold) { return crit <= threshold; }

// The keep rule: j = the tile's index among the query tile's computed tiles
// (0 = the first), must_do = its key tile is must-do, negligible = as above.
static inline LL_HOST_DEVICE int ll_tile_keep(int j, int must_do, int negligible) {
    return j == 0 || must_do || !negligible;
}

#ifdef __cplusplus
}
#endif
