// policy_dynamic.c: decided afresh at every step, nothing propagated (kind
// "dynamic"), like skip-softmax / BLASST: each call starts from the full
// read list and the kernel's criterion (the same QK-skip test LiteAttention
// uses) decides which tiles are negligible at this step only.
//
// How its time is modelled. A BLASST-style kernel still loads K and computes
// QK^T for every tile; it saves the softmax and PV of the negligible ones.
// Our kernels have no such in-call skip, so each call runs in two passes:
//   pass 0 (probe):  full read list, criterion on -> this step's mask (write list);
//   pass 1 (replay): that write list as the read list, criterion off.
// The trace records pass 1: its runtime, FLOPs and output error are those of
// executing exactly the tiles of this step's mask. The probe's cost is left
// out, so the runtime is a lower bound for a per-step method (the real one
// also pays QK^T on the skipped tiles), and the replayed output drops the
// negligible tiles' contribution, as skip-softmax does.
// Params: {"threshold": t <= 0}.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"

typedef struct {
    float threshold;
    ll_skip_list full, mask;
} dynamic_state;

static const char *const keys[] = {"threshold", NULL};

static ll_status check(const cJSON *params, const char *where, ll_error *err) {
    float t;
    return ll_json_threshold(params, "threshold", 1, where, &t, err);
}

static void destroy(void *state) {
    dynamic_state *s = state;
    if (!s) return;
    ll_skip_list_free(&s->full);
    ll_skip_list_free(&s->mask);
    free(s);
}

static ll_status create(const cJSON *params, const char *where, const ll_policy_setup *setup, void **state,
                        ll_error *err) {
    dynamic_state *s = calloc(1, sizeof *s);
    if (!s) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    ll_status st = ll_json_threshold(params, "threshold", 1, where, &s->threshold, err);
    if (st == LL_OK) st = ll_policy_alloc_list(setup, setup->encoding, &s->full, err);
    if (st == LL_OK) st = ll_policy_alloc_list(setup, setup->encoding, &s->mask, err);
    if (st != LL_OK) {
        destroy(s);
        return st;
    }
    *state = s;
    return LL_OK;
}

static ll_status decide(void *state, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err) {
    dynamic_state *s = state;
    (void)err;
    call->threshold = s->threshold;
    if (ctx->pass == 0) {  // probe
        call->read = &s->full;
        call->write = &s->mask;
    } else {  // replay of this step's mask
        call->read = &s->mask;
        call->write = NULL;
    }
    return LL_OK;
}

static ll_status after_call(void *state, const ll_policy_ctx *ctx, const ll_policy_call *call, int *again,
                            ll_error *err) {
    (void)state, (void)call, (void)err;
    *again = ctx->pass == 0;
    return LL_OK;
}

const ll_policy_ops ll_policy_dynamic = {
    .kind = "dynamic",
    .summary = "per-step decision, no propagation (skip-softmax / BLASST); {threshold}",
    .keys = keys,
    .check = check,
    .create = create,
    .destroy = destroy,
    .decide = decide,
    .after_call = after_call,
};
