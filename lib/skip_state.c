// skip_state.c: per-layer double-buffered skip lists and their controls
// (skip_state.h). Choices the header leaves open, fixed here:
// - advance while disabled counts the call but does not swap: a dense call
//   wrote nothing, so the list to read next is still the same one;
// - kept_fraction of a layer out of range is NaN.
#include "skip_state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static ll_status check_threshold(float threshold, ll_error *err) {
    if (isnan(threshold) || threshold > 0)
        return ll_fail(err, LL_ERR_INVALID,
                       "skip state: threshold %g must be <= 0 and not NaN (log2 units; -inf marks nothing)",
                       (double)threshold);
    return LL_OK;
}

ll_status ll_skip_state_init(ll_skip_state *st, int n_layers, const ll_shape *shape, const ll_tiling *tiling,
                             ll_list_encoding enc, float threshold, int enabled, ll_error *err) {
    memset(st, 0, sizeof *st);
    if (!shape || !tiling) return ll_fail(err, LL_ERR_INVALID, "skip state: no shape or tiling");
    if (n_layers < 1) return ll_fail(err, LL_ERR_INVALID, "skip state: n_layers=%d must be >= 1", n_layers);
    LL_TRY(ll_shape_validate(shape, "skip state", err));
    LL_TRY(ll_tiling_validate(tiling, err));
    if (enc != LL_END_EXCLUSIVE && enc != LL_END_INCLUSIVE_PRODUCTION)
        return ll_fail(err, LL_ERR_INVALID, "skip state: unknown list encoding code %d", (int)enc);
    LL_TRY(check_threshold(threshold, err));
    int q_tiles = ll_q_tiles(shape, tiling), k_tiles = ll_k_tiles(shape, tiling);
    if (k_tiles < 2)
        return ll_fail(err, LL_ERR_INVALID,
                       "skip state: N=%d gives %d key tile of %d; a list row of %d ints cannot hold the full list "
                       "[2, start, end] (skip_list.h layout)",
                       shape->N, k_tiles, tiling->block_n, ll_skip_list_row_len(k_tiles));

    st->lists = calloc((size_t)2 * n_layers, sizeof *st->lists);
    st->read_index = calloc((size_t)n_layers, sizeof *st->read_index);
    st->steps = calloc((size_t)n_layers, sizeof *st->steps);
    if (!st->lists || !st->read_index || !st->steps) {
        ll_skip_state_free(st);
        return ll_fail(err, LL_ERR_NOMEM, "skip state: out of memory for %d layers", n_layers);
    }
    st->n_layers = n_layers;  // set before the lists, so free() releases the ones made so far
    for (int i = 0; i < 2 * n_layers; i++) {
        ll_status s = ll_skip_list_alloc(&st->lists[i], shape->B, shape->H, q_tiles, k_tiles, enc, err);
        if (s != LL_OK) {
            ll_skip_state_free(st);
            return s;
        }
    }
    st->shape = *shape;
    st->tiling = *tiling;
    st->encoding = enc;
    st->threshold = threshold;
    st->enabled = enabled != 0;
    ll_skip_state_reset(st);
    return LL_OK;
}

void ll_skip_state_free(ll_skip_state *st) {
    if (!st) return;
    if (st->lists)
        for (int i = 0; i < 2 * st->n_layers; i++) ll_skip_list_free(&st->lists[i]);
    free(st->lists);
    free(st->read_index);
    free(st->steps);
    memset(st, 0, sizeof *st);
}

void ll_skip_state_reset(ll_skip_state *st) {
    for (int i = 0; i < 2 * st->n_layers; i++) ll_skip_list_fill_full(&st->lists[i]);
    for (int l = 0; l < st->n_layers; l++) {
        st->read_index[l] = 0;
        st->steps[l] = 0;
    }
}

ll_status ll_skip_state_set_threshold(ll_skip_state *st, float threshold, ll_error *err) {
    LL_TRY(check_threshold(threshold, err));
    st->threshold = threshold;
    return LL_OK;
}

void ll_skip_state_enable(ll_skip_state *st, int enabled) { st->enabled = enabled != 0; }

ll_status ll_skip_state_lists(ll_skip_state *st, int layer, ll_skip_list **read, ll_skip_list **write,
                              ll_error *err) {
    *read = NULL;
    *write = NULL;
    if (layer < 0 || layer >= st->n_layers)
        return ll_fail(err, LL_ERR_INVALID, "skip state: layer %d is out of range [0, %d)", layer, st->n_layers);
    if (!st->enabled) return LL_OK;
    int r = st->read_index[layer];
    *read = &st->lists[2 * layer + r];
    *write = &st->lists[2 * layer + 1 - r];
    return LL_OK;
}

void ll_skip_state_advance(ll_skip_state *st, int layer) {
    if (layer < 0 || layer >= st->n_layers) return;
    st->steps[layer]++;
    if (st->enabled) st->read_index[layer] ^= 1;
}

double ll_skip_state_kept_fraction(const ll_skip_state *st, int layer) {
    if (layer < 0 || layer >= st->n_layers) return NAN;
    if (!st->enabled) return 1.0;
    const ll_skip_list *l = &st->lists[2 * layer + st->read_index[layer]];
    size_t rows = ll_skip_list_rows(l), stride = (size_t)ll_skip_list_row_len(l->k_tiles);
    uint64_t kept = 0;
    for (size_t r = 0; r < rows; r++) kept += (uint64_t)ll_skip_list_row_kept(l->data + r * stride, l->k_tiles, l->encoding);
    return (double)kept / ((double)rows * l->k_tiles);
}
