// skip_mask.h: the Skip-Mask, one bit per (batch, head, query tile, key tile);
// a set bit means the tile is SKIPPED. Each (b, h, qtile) row is padded to
// whole 64-bit words so rows can be compared and counted word by word.
#pragma once
#include <stdint.h>

#include "common.h"
#include "skip_list.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int B, H, q_tiles, k_tiles;
    int words_per_row;  // ceil(k_tiles / 64)
    uint64_t *bits;
} ll_skip_mask;

ll_status ll_skip_mask_alloc(ll_skip_mask *m, int B, int H, int q_tiles, int k_tiles, ll_error *err);
void ll_skip_mask_free(ll_skip_mask *m);
void ll_skip_mask_clear(ll_skip_mask *m);  // nothing skipped

static inline uint64_t *ll_skip_mask_row(const ll_skip_mask *m, int b, int h, int qt) {
    return m->bits + ((size_t)(b * m->H + h) * m->q_tiles + qt) * (size_t)m->words_per_row;
}
static inline int ll_skip_mask_get(const ll_skip_mask *m, int b, int h, int qt, int kt) {
    return (int)((ll_skip_mask_row(m, b, h, qt)[kt >> 6] >> (kt & 63)) & 1u);
}
static inline void ll_skip_mask_set(ll_skip_mask *m, int b, int h, int qt, int kt, int skipped) {
    uint64_t *w = &ll_skip_mask_row(m, b, h, qt)[kt >> 6];
    uint64_t bit = (uint64_t)1 << (kt & 63);
    *w = skipped ? (*w | bit) : (*w & ~bit);
}
uint64_t ll_skip_mask_count_skipped(const ll_skip_mask *m);

// Dimensions of mask and list must agree (LL_ERR_INVALID otherwise).
ll_status ll_skip_mask_from_list(ll_skip_mask *m, const ll_skip_list *l, ll_error *err);
ll_status ll_skip_list_from_mask(ll_skip_list *l, const ll_skip_mask *m, ll_error *err);

#ifdef __cplusplus
}
#endif
