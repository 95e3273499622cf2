// policy_warmup.c: dense for the first k steps, then LiteAttention from full
// lists (kind "warmup"), the dense warm-up most sparse-attention peers use
// (SparseVideoGen, Radial, sliding-tile: 10-25% of steps).
// Params: {"threshold": t <= 0, "warmup_steps": k >= 0}.
#include <string.h>

#include "config.h"
#include "policy_lite.h"

static const char *const keys[] = {"threshold", "warmup_steps", NULL};

static ll_status parse(const cJSON *params, const char *where, ll_lite_options *o, ll_error *err) {
    memset(o, 0, sizeof *o);
    o->freeze_after = -1;
    LL_TRY(ll_json_threshold(params, "threshold", 1, where, &o->threshold, err));
    return ll_json_int(params, "warmup_steps", 1, 0, 1 << 20, where, &o->warmup_steps, err);
}

static ll_status check(const cJSON *params, const char *where, ll_error *err) {
    ll_lite_options o;
    return parse(params, where, &o, err);
}

static ll_status create(const cJSON *params, const char *where, const ll_policy_setup *setup, void **state,
                        ll_error *err) {
    ll_lite_options o;
    LL_TRY(parse(params, where, &o, err));
    return ll_lite_create(&o, where, setup, state, err);
}

const ll_policy_ops ll_policy_warmup =
    LL_LITE_OPS("warmup", "dense for the first k steps, then LiteAttention; {threshold, warmup_steps}", keys, check,
                create);
