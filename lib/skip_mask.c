// skip_mask.c: the bit mask form of a skip decision and its conversions to
// and from skip lists (a list row's reading is the mask row's complement).
#include "skip_mask.h"

#include <stdlib.h>
#include <string.h>

ll_status ll_skip_mask_alloc(ll_skip_mask *m, int B, int H, int q_tiles, int k_tiles, ll_error *err) {
    memset(m, 0, sizeof *m);
    if (B < 1 || H < 1 || q_tiles < 1 || k_tiles < 1)
        return ll_fail(err, LL_ERR_INVALID, "skip mask: dimensions B=%d H=%d q_tiles=%d k_tiles=%d must all be >= 1",
                       B, H, q_tiles, k_tiles);
    int words = (k_tiles + 63) / 64;
    size_t rows = (size_t)B * H * q_tiles;
    m->bits = calloc(rows * (size_t)words, sizeof(uint64_t));
    if (!m->bits)
        return ll_fail(err, LL_ERR_NOMEM, "skip mask: out of memory for %zu rows of %d words", rows, words);
    m->B = B;
    m->H = H;
    m->q_tiles = q_tiles;
    m->k_tiles = k_tiles;
    m->words_per_row = words;
    return LL_OK;
}

void ll_skip_mask_free(ll_skip_mask *m) {
    if (!m) return;
    free(m->bits);
    m->bits = NULL;
}

static size_t mask_words(const ll_skip_mask *m) { return (size_t)m->B * m->H * m->q_tiles * m->words_per_row; }

void ll_skip_mask_clear(ll_skip_mask *m) { memset(m->bits, 0, mask_words(m) * sizeof(uint64_t)); }

uint64_t ll_skip_mask_count_skipped(const ll_skip_mask *m) {
    // Bits past k_tiles in a row's last word are padding: never counted.
    int tail = m->k_tiles % 64;
    uint64_t last_mask = tail ? ((uint64_t)1 << tail) - 1 : ~(uint64_t)0;
    uint64_t n = 0;
    size_t rows = (size_t)m->B * m->H * m->q_tiles;
    for (size_t r = 0; r < rows; r++) {
        const uint64_t *w = m->bits + r * m->words_per_row;
        for (int i = 0; i < m->words_per_row; i++)
            n += (uint64_t)__builtin_popcountll(i == m->words_per_row - 1 ? w[i] & last_mask : w[i]);
    }
    return n;
}

static ll_status check_dims(const ll_skip_mask *m, const ll_skip_list *l, const char *what, ll_error *err) {
    if (!m->bits || !l->data) return ll_fail(err, LL_ERR_INVALID, "%s: mask or list has no data", what);
    if (m->B != l->B || m->H != l->H || m->q_tiles != l->q_tiles || m->k_tiles != l->k_tiles)
        return ll_fail(err, LL_ERR_INVALID,
                       "%s: mask (B=%d H=%d q_tiles=%d k_tiles=%d) and list (B=%d H=%d q_tiles=%d k_tiles=%d) "
                       "dimensions differ",
                       what, m->B, m->H, m->q_tiles, m->k_tiles, l->B, l->H, l->q_tiles, l->k_tiles);
    if (m->words_per_row != (m->k_tiles + 63) / 64)
        return ll_fail(err, LL_ERR_INVALID, "%s: mask has %d words per row, %d key tiles need %d", what,
                       m->words_per_row, m->k_tiles, (m->k_tiles + 63) / 64);
    return LL_OK;
}

ll_status ll_skip_mask_from_list(ll_skip_mask *m, const ll_skip_list *l, ll_error *err) {
    LL_TRY(check_dims(m, l, "skip mask from list", err));
    LL_TRY(ll_skip_list_validate(l, "skip mask from list", err));
    uint8_t *keep = malloc((size_t)l->k_tiles);
    if (!keep) return ll_fail(err, LL_ERR_NOMEM, "skip mask from list: out of memory");
    for (int b = 0; b < l->B; b++)
        for (int h = 0; h < l->H; h++)
            for (int qt = 0; qt < l->q_tiles; qt++) {
                ll_skip_list_row_to_keep(ll_skip_list_row(l, b, h, qt), l->k_tiles, l->encoding, keep);
                uint64_t *w = ll_skip_mask_row(m, b, h, qt);
                memset(w, 0, sizeof(uint64_t) * (size_t)m->words_per_row);
                for (int kt = 0; kt < l->k_tiles; kt++)
                    if (!keep[kt]) w[kt >> 6] |= (uint64_t)1 << (kt & 63);
            }
    free(keep);
    return LL_OK;
}

ll_status ll_skip_list_from_mask(ll_skip_list *l, const ll_skip_mask *m, ll_error *err) {
    LL_TRY(check_dims(m, l, "skip list from mask", err));
    if (l->encoding != LL_END_EXCLUSIVE && l->encoding != LL_END_INCLUSIVE_PRODUCTION)
        return ll_fail(err, LL_ERR_INVALID, "skip list from mask: unknown encoding code %d", (int)l->encoding);
    uint8_t *keep = malloc((size_t)l->k_tiles);
    if (!keep) return ll_fail(err, LL_ERR_NOMEM, "skip list from mask: out of memory");
    for (int b = 0; b < l->B; b++)
        for (int h = 0; h < l->H; h++)
            for (int qt = 0; qt < l->q_tiles; qt++) {
                for (int kt = 0; kt < l->k_tiles; kt++) keep[kt] = !ll_skip_mask_get(m, b, h, qt, kt);
                // Rows the layout cannot hold exactly are refused rather than
                // changed; under the production reading the full row reads
                // the same as the writer's entries (see skip_list.h).
                int need = ll_skip_list_keep_entries(keep, l->k_tiles);
                if (need > l->k_tiles && (l->encoding == LL_END_EXCLUSIVE || l->k_tiles == 1)) {
                    free(keep);
                    return ll_fail(err, LL_ERR_INVALID,
                                   "skip list from mask: row (b=%d, h=%d, qtile=%d) keeps %d separate runs of key "
                                   "tiles, more than a row of %d key tiles holds (%s encoding)",
                                   b, h, qt, need / 2, l->k_tiles, ll_list_encoding_name(l->encoding));
                }
                ll_skip_list_row_from_keep(keep, l->k_tiles, l->encoding, ll_skip_list_row(l, b, h, qt));
            }
    free(keep);
    return LL_OK;
}
