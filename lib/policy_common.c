// policy_common.c: small helpers the policy files share (lists of the
// setup's dimensions, must-do / must-skip flags on keep rows).
#include "policy.h"

#include "tile_overrides.h"

ll_status ll_policy_alloc_list(const ll_policy_setup *s, ll_list_encoding enc, ll_skip_list *l, ll_error *err) {
    LL_TRY(ll_skip_list_alloc(l, s->shape.B, s->shape.H, ll_q_tiles(&s->shape, &s->tiling),
                              ll_k_tiles(&s->shape, &s->tiling), enc, err));
    ll_skip_list_fill_full(l);
    return LL_OK;
}

void ll_policy_apply_flags(uint8_t *keep, int k_tiles, const uint8_t *flags) {
    if (!flags) return;
    for (int kt = 0; kt < k_tiles; kt++) {
        if (flags[kt] == LL_TILE_MUST_DO) keep[kt] = 1;
        if (flags[kt] == LL_TILE_MUST_SKIP) keep[kt] = 0;
    }
}

void ll_policy_set_row(ll_skip_list *l, int b, int h, int qt, uint8_t *keep, const uint8_t *flags) {
    ll_policy_apply_flags(keep, l->k_tiles, flags);
    ll_skip_list_row_from_keep(keep, l->k_tiles, l->encoding, ll_skip_list_row(l, b, h, qt));
}
