// policy_oracle.c: the exact negligible tiles of each call (kind "oracle"):
// from the dense tile map of the same (step, layer), a tile is skipped when
// the largest log2 weight any of its rows gives it, relative to that row's
// final maximum, is <= threshold. It knows what the criterion can only
// estimate (the final row maximum, not the running one) and needs no
// propagation, so it bounds what a propagated policy at the same threshold
// could skip with that error. The list is exact (end-exclusive encoding)
// whatever the experiment's encoding. Params: {"threshold": t <= 0}.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"

typedef struct {
    float threshold;
    const uint8_t *flags;
    ll_skip_list list;
    uint8_t *keep;
} oracle_state;

static const char *const keys[] = {"threshold", NULL};

static ll_status check(const cJSON *params, const char *where, ll_error *err) {
    float t;
    return ll_json_threshold(params, "threshold", 1, where, &t, err);
}

static void destroy(void *state) {
    oracle_state *s = state;
    if (!s) return;
    ll_skip_list_free(&s->list);
    free(s->keep);
    free(s);
}

static ll_status create(const cJSON *params, const char *where, const ll_policy_setup *setup, void **state,
                        ll_error *err) {
    oracle_state *s = calloc(1, sizeof *s);
    if (!s) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    s->flags = setup->key_tile_flags;
    ll_status st = ll_json_threshold(params, "threshold", 1, where, &s->threshold, err);
    if (st == LL_OK) st = ll_policy_alloc_list(setup, LL_END_EXCLUSIVE, &s->list, err);
    if (st == LL_OK && !(s->keep = malloc((size_t)s->list.k_tiles)))
        st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    if (st != LL_OK) {
        destroy(s);
        return st;
    }
    *state = s;
    return LL_OK;
}

static ll_status decide(void *state, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err) {
    oracle_state *s = state;
    const ll_tile_map *m = ctx->dense_map;
    ll_skip_list *l = &s->list;
    if (m->B != l->B || m->H != l->H || m->q_tiles != l->q_tiles || m->k_tiles != l->k_tiles)
        return ll_fail(err, LL_ERR_INTERNAL, "oracle: tile map %dx%dx%dx%d does not match the list %dx%dx%dx%d", m->B,
                       m->H, m->q_tiles, m->k_tiles, l->B, l->H, l->q_tiles, l->k_tiles);
    for (int b = 0; b < l->B; b++)
        for (int h = 0; h < l->H; h++)
            for (int qt = 0; qt < l->q_tiles; qt++) {
                const float *row = m->max_log2 + ll_tile_map_index(m, b, h, qt, 0);
                for (int kt = 0; kt < l->k_tiles; kt++) s->keep[kt] = !(row[kt] <= s->threshold);
                ll_policy_set_row(l, b, h, qt, s->keep, s->flags);
            }
    call->read = l;
    call->write = NULL;
    call->threshold = s->threshold;
    return LL_OK;
}

const ll_policy_ops ll_policy_oracle = {
    .kind = "oracle",
    .summary = "the exact negligible tiles of each call from the dense tile map; {threshold}",
    .keys = keys,
    .needs_tile_map = 1,
    .check = check,
    .create = create,
    .destroy = destroy,
    .decide = decide,
};
