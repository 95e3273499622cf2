// reference_attention.h: the CPU reference LiteAttention, the oracle for the
// CUDA kernels and the CPU backend of the harness.
//
// It computes exactly what the kernels compute: Bm x Bn tiles; for each
// (batch, head, query tile) the key tiles of the read list visited in list
// order (descending, as the production kernel does); online softmax in fp32
// (or fp64 for tests); on each computed tile the QK-skip criterion and keep
// rule of lib/skip_decision.h (the header the kernels include too):
//     crit = max over valid rows r of (s_r - m_r) * softmax_scale * log2(e)
// with s_r the tile's row maximum of the raw scores and m_r the running row
// maximum over the tiles visited before it (a NaN term makes crit NaN); the
// tile is negligible when crit <= threshold (ties included, NaN never). The
// first computed tile of a query tile is never marked; must-do tiles are
// never marked; must-skip tiles are never computed.
// A negligible tile still contributes at this step; it leaves the write list.
// A query tile whose list computes nothing gets O = 0 and LSE = -inf.
#pragma once
#include <math.h>
#include <stdint.h>

#include "common.h"
#include "skip_list.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    ll_shape shape;
    ll_tiling tiling;
    float softmax_scale;            // 0 means 1/sqrt(D)
    float threshold;                // log2 units; -INFINITY marks nothing
    const uint8_t *key_tile_flags;  // k_tiles bytes from ll_key_tile_flags, or NULL
} ll_attn_params;

typedef struct {
    int use_fp64;   // fp64 softmax and accumulation (tests); default fp32 like the kernels
    int n_threads;  // 0: OpenMP's default
    int check_inputs;  // scan Q/K/V for NaN/Inf (default on; the harness checks once per tensor)
} ll_reference_options;

static inline float ll_softmax_scale(const ll_attn_params *p) {
    return p->softmax_scale > 0 ? p->softmax_scale : 1.0f / sqrtf((float)p->shape.D);
}

// q, k, v: [B, N, H, D] 16-bit words of p->shape.dtype.
// read_list NULL: dense mode (every tile, no criterion; write_list must be NULL).
// write_list may be NULL (criterion not recorded); it must have the read
// list's dimensions and encoding.
// o: [B, N, H, D] floats, unrounded; lse: [B, H, N] natural-log log-sum-exp of
// the scaled scores, or NULL. crit: [B, H, q_tiles, k_tiles] criterion values
// of every computed tile (NAN where none was evaluated), or NULL.
// fitted_rows: receives the number of write-list rows that needed the fit
// rule (skip_list.h: more kept runs than a row holds; the cheapest gaps are
// computed too), or NULL. A write never fails for lack of room.
// Fails (never crashes) on bad shapes, NaN/Inf inputs and invalid lists.
ll_status ll_reference_forward(const ll_attn_params *p, const ll_reference_options *opt,
                               const uint16_t *q, const uint16_t *k, const uint16_t *v,
                               const ll_skip_list *read_list, ll_skip_list *write_list,
                               float *o, float *lse, float *crit, int *fitted_rows, ll_error *err);

// Scans a [B, N, H, D] tensor for NaN/Inf; the message names `what` and the
// first bad element (b, n, h, d).
ll_status ll_check_finite(const ll_shape *s, const uint16_t *x, const char *what, ll_error *err);

// ---------------------------------------------------------------------------
// Building blocks shared by the reference and tile_maps.c (fp32 scores exactly
// as the reference computes them, so both see bit-identical scores).
// One head's keys as float, transposed to [D][ll_ref_padded_n(N)] with zero
// columns past N; queries of a query tile as float [block_m][D], zero rows past
// the tile's last row.
static inline int ll_ref_padded_n(int N) { return (N + 15) / 16 * 16; }
void ll_ref_load_keys_t(const ll_shape *s, const uint16_t *k, int b, int h, int n_begin, int n_end, float *kt);
void ll_ref_load_queries(const ll_shape *s, const ll_tiling *t, const uint16_t *q, int b, int h, int qt,
                         float *qs);
// Raw scores of query rows [0, round_up(rows, 8)) against key columns
// [col0, col0 + round_up(cols, 8)) into s (row stride ld_s); cols past N read
// the zero padding. fp32 accumulation in d order.
void ll_ref_tile_scores(const float *qs, int rows, const float *kt, int n_pad, int D, int col0, int cols, float *s,
                        int ld_s);

#ifdef __cplusplus
}
#endif
