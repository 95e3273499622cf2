// policy_static.c: static mask after profiling (kind "static"): LiteAttention
// runs for the first k steps (the profiling), then each layer's mask is
// frozen as it stands and read, criterion off, for the rest of the
// trajectory, like the offline-profiled masks of sliding-tile attention.
// Params: {"threshold": t <= 0, "profile_steps": k >= 1}.
#include <string.h>

#include "config.h"
#include "policy_lite.h"

static const char *const keys[] = {"threshold", "profile_steps", NULL};

static ll_status parse(const cJSON *params, const char *where, ll_lite_options *o, ll_error *err) {
    memset(o, 0, sizeof *o);
    LL_TRY(ll_json_threshold(params, "threshold", 1, where, &o->threshold, err));
    return ll_json_int(params, "profile_steps", 1, 1, 1 << 20, where, &o->freeze_after, err);
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

const ll_policy_ops ll_policy_static =
    LL_LITE_OPS("static", "LiteAttention for k profiling steps, then the mask frozen; {threshold, profile_steps}",
                keys, check, create);
