// policy_refresh.c: LiteAttention whose lists are reset to full every R
// steps (kind "refresh"), so a tile skipped too early gets another chance;
// the production class's reset() called periodically.
// Params: {"threshold": t <= 0, "refresh_every": R >= 1}.
#include <string.h>

#include "config.h"
#include "policy_lite.h"

static const char *const keys[] = {"threshold", "refresh_every", NULL};

static ll_status parse(const cJSON *params, const char *where, ll_lite_options *o, ll_error *err) {
    memset(o, 0, sizeof *o);
    o->freeze_after = -1;
    LL_TRY(ll_json_threshold(params, "threshold", 1, where, &o->threshold, err));
    return ll_json_int(params, "refresh_every", 1, 1, 1 << 20, where, &o->refresh_every, err);
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

const ll_policy_ops ll_policy_refresh =
    LL_LITE_OPS("refresh", "LiteAttention with every list reset every R steps; {threshold, refresh_every}", keys,
                check, create);
