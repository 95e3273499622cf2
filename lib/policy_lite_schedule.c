// policy_lite_schedule.c: LiteAttention with one threshold per step (kind
// "lite_schedule"), as the authors calibrate it by hand (stricter early
// steps, more aggressive late ones) and `litelab calibrate` proposes.
// Params: {"thresholds": [t_0, ..., t_{steps-1}]}, each <= 0.
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy_lite.h"

static const char *const keys[] = {"thresholds", NULL};

static ll_status check(const cJSON *params, const char *where, ll_error *err) {
    float *t = NULL;
    int n = 0;
    LL_TRY(ll_json_threshold_array(params, "thresholds", where, &t, &n, err));
    free(t);
    return LL_OK;
}

static ll_status create(const cJSON *params, const char *where, const ll_policy_setup *setup, void **state,
                        ll_error *err) {
    ll_lite_options o;
    memset(&o, 0, sizeof o);
    o.freeze_after = -1;
    float *t = NULL;
    LL_TRY(ll_json_threshold_array(params, "thresholds", where, &t, &o.n_schedule, err));
    o.schedule = t;
    o.threshold = t[0];
    ll_status s = ll_lite_create(&o, where, setup, state, err);
    free(t);
    return s;
}

const ll_policy_ops ll_policy_lite_schedule =
    LL_LITE_OPS("lite_schedule", "LiteAttention with a per-step threshold schedule; {thresholds: [one per step]}",
                keys, check, create);
