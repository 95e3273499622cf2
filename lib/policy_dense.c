// policy_dense.c: every tile of every call, no criterion: the baseline
// (FlashAttention). Its rows are the reference runtime and FLOPs.
#include "policy.h"

#include <math.h>

static const char *const keys[] = {NULL};

static ll_status check(const cJSON *params, const char *where, ll_error *err) {
    (void)params, (void)where, (void)err;
    return LL_OK;
}

static ll_status create(const cJSON *params, const char *where, const ll_policy_setup *setup, void **state,
                        ll_error *err) {
    (void)params, (void)where, (void)setup, (void)err;
    *state = NULL;
    return LL_OK;
}

static void destroy(void *state) { (void)state; }

static ll_status decide(void *state, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err) {
    (void)state, (void)ctx, (void)err;
    call->read = NULL;
    call->write = NULL;
    call->threshold = NAN;
    return LL_OK;
}

const ll_policy_ops ll_policy_dense = {
    .kind = "dense",
    .summary = "every tile of every call (the baseline)",
    .keys = keys,
    .check = check,
    .create = create,
    .destroy = destroy,
    .decide = decide,
};
