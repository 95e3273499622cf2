// flops.c: exact FLOP counts of dense and skipping attention calls (the
// accounting rule is in flops.h). Per query tile the kept columns are summed
// first, so the count is 4 * D * rows * (kept columns) with no rounding.
#include "flops.h"

#include <stdlib.h>

uint64_t ll_flops_dense(const ll_shape *s) {
    return 4ull * (uint64_t)s->B * (uint64_t)s->H * (uint64_t)s->N * (uint64_t)s->N * (uint64_t)s->D;
}

uint64_t ll_flops_tile(const ll_shape *s, const ll_tiling *t, int qt, int kt) {
    return 4ull * (uint64_t)ll_q_tile_rows(s, t, qt) * (uint64_t)ll_k_tile_cols(s, t, kt) * (uint64_t)s->D;
}

// Columns of key tiles hi down to lo (inclusive), the last tile counted with its real width.
static uint64_t cols_of_tiles(const ll_shape *s, const ll_tiling *t, int hi, int lo) {
    if (hi < lo) return 0;
    uint64_t cols = (uint64_t)(hi - lo + 1) * (uint64_t)t->block_n;
    int last = ll_k_tiles(s, t) - 1;
    if (hi == last) cols -= (uint64_t)(t->block_n - ll_k_tile_cols(s, t, last));
    return cols;
}

static ll_status check_dims(const ll_shape *s, const ll_tiling *t, int B, int H, int q_tiles, int k_tiles,
                            const char *what, ll_error *err) {
    LL_TRY(ll_shape_validate(s, what, err));
    LL_TRY(ll_tiling_validate(t, err));
    int qt = ll_q_tiles(s, t), kt = ll_k_tiles(s, t);
    if (B != s->B || H != s->H || q_tiles != qt || k_tiles != kt)
        return ll_fail(err, LL_ERR_INVALID,
                       "%s: dimensions B=%d H=%d q_tiles=%d k_tiles=%d do not match the call "
                       "(B=%d H=%d q_tiles=%d k_tiles=%d for N=%d, tile %dx%d)",
                       what, B, H, q_tiles, k_tiles, s->B, s->H, qt, kt, s->N, t->block_m, t->block_n);
    return LL_OK;
}

static void finish(const ll_shape *s, const ll_tiling *t, ll_flops *out) {
    out->dense = ll_flops_dense(s);
    out->skipped = out->dense - out->executed;
    out->tiles_total = (uint64_t)s->B * s->H * (uint64_t)ll_q_tiles(s, t) * (uint64_t)ll_k_tiles(s, t);
}

ll_status ll_flops_from_list(const ll_shape *s, const ll_tiling *t, const ll_skip_list *l, ll_flops *out,
                             ll_error *err) {
    LL_TRY(check_dims(s, t, l->B, l->H, l->q_tiles, l->k_tiles, "FLOPs from list", err));
    LL_TRY(ll_skip_list_validate(l, "FLOPs from list", err));
    out->executed = 0;
    out->tiles_kept = 0;
    for (int b = 0; b < l->B; b++)
        for (int h = 0; h < l->H; h++)
            for (int qt = 0; qt < l->q_tiles; qt++) {
                const int32_t *row = ll_skip_list_row(l, b, h, qt);
                uint64_t cols = 0;
                for (int i = 0; i < row[0]; i += 2) {
                    int start = row[1 + i], last = ll_range_last(row[2 + i], l->encoding);
                    cols += cols_of_tiles(s, t, start, last);
                    out->tiles_kept += (uint64_t)(start - last + 1);
                }
                out->executed += 4ull * (uint64_t)ll_q_tile_rows(s, t, qt) * cols * (uint64_t)s->D;
            }
    finish(s, t, out);
    return LL_OK;
}

ll_status ll_flops_from_mask(const ll_shape *s, const ll_tiling *t, const ll_skip_mask *m, ll_flops *out,
                             ll_error *err) {
    LL_TRY(check_dims(s, t, m->B, m->H, m->q_tiles, m->k_tiles, "FLOPs from mask", err));
    if (!m->bits) return ll_fail(err, LL_ERR_INVALID, "FLOPs from mask: mask has no data");
    if (m->words_per_row != (m->k_tiles + 63) / 64)
        return ll_fail(err, LL_ERR_INVALID, "FLOPs from mask: %d words per row, %d key tiles need %d",
                       m->words_per_row, m->k_tiles, (m->k_tiles + 63) / 64);
    int last = m->k_tiles - 1;
    out->executed = 0;
    out->tiles_kept = 0;
    for (int b = 0; b < m->B; b++)
        for (int h = 0; h < m->H; h++)
            for (int qt = 0; qt < m->q_tiles; qt++) {
                const uint64_t *w = ll_skip_mask_row(m, b, h, qt);
                uint64_t skipped = 0;
                for (int i = 0; i < m->words_per_row; i++) {
                    uint64_t word = w[i];
                    if (i == m->words_per_row - 1 && m->k_tiles % 64)  // padding bits never count
                        word &= ((uint64_t)1 << (m->k_tiles % 64)) - 1;
                    skipped += (uint64_t)__builtin_popcountll(word);
                }
                uint64_t kept = (uint64_t)m->k_tiles - skipped;
                // Kept columns: kept tiles at full width, less the last tile's missing columns if it is kept.
                uint64_t cols = kept * (uint64_t)t->block_n;
                if (!ll_skip_mask_get(m, b, h, qt, last)) cols -= (uint64_t)(t->block_n - ll_k_tile_cols(s, t, last));
                out->tiles_kept += kept;
                out->executed += 4ull * (uint64_t)ll_q_tile_rows(s, t, qt) * cols * (uint64_t)s->D;
            }
    finish(s, t, out);
    return LL_OK;
}
