// flops.h: exact FLOP accounting. A (query tile, key tile) pair with r rows
// and c columns costs 4*r*c*D FLOPs (QK^T and PV, two FLOPs per multiply-add);
// softmax is not counted, as in the FlashAttention papers. Partial last tiles
// are counted with their real r and c, so dense == 4*B*H*N*N*D exactly.
#pragma once
#include <stdint.h>

#include "common.h"
#include "skip_list.h"
#include "skip_mask.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    uint64_t dense;     // 4*B*H*N*N*D
    uint64_t executed;  // FLOPs of the tiles computed
    uint64_t skipped;   // dense - executed
    uint64_t tiles_total, tiles_kept;
} ll_flops;

uint64_t ll_flops_dense(const ll_shape *s);
uint64_t ll_flops_tile(const ll_shape *s, const ll_tiling *t, int qt, int kt);
// Shapes and list/mask dimensions must agree (LL_ERR_INVALID otherwise).
ll_status ll_flops_from_list(const ll_shape *s, const ll_tiling *t, const ll_skip_list *l,
                             ll_flops *out, ll_error *err);
ll_status ll_flops_from_mask(const ll_shape *s, const ll_tiling *t, const ll_skip_mask *m,
                             ll_flops *out, ll_error *err);
static inline double ll_flops_skipped_ratio(const ll_flops *f) {
    return f->dense ? (double)f->skipped / (double)f->dense : 0.0;
}

#ifdef __cplusplus
}
#endif
