// policy_lite.h: the LiteAttention core that the lite, lite_schedule,
// warmup, refresh and static policies share (each of those files only parses
// its parameters into ll_lite_options). Production semantics: every layer
// owns a double-buffered pair of skip lists (lib/skip_state.h); a call reads
// the list the previous step of that layer wrote and the kernel's criterion
// writes the next one, so skips propagate and only accumulate.
#pragma once
#include "policy.h"

typedef struct {
    float threshold;        // fixed threshold (log2 units, <= 0)
    const float *schedule;  // or one threshold per step (n_schedule == steps); NULL: fixed
    int n_schedule;
    int warmup_steps;       // the first warmup_steps steps are dense calls, lists untouched
    int refresh_every;      // > 0: every list reset to full at steps R, 2R, ...
    int freeze_after;       // >= 0: from this step on, read the list as it stands, criterion off
} ll_lite_options;

// Creates the shared state; o is copied (the schedule too).
ll_status ll_lite_create(const ll_lite_options *o, const char *where, const ll_policy_setup *setup, void **state,
                         ll_error *err);
void ll_lite_destroy(void *state);
ll_status ll_lite_begin_step(void *state, int step, ll_error *err);
ll_status ll_lite_decide(void *state, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err);
ll_status ll_lite_after_call(void *state, const ll_policy_ctx *ctx, const ll_policy_call *call, int *again,
                             ll_error *err);
const ll_skip_list *ll_lite_checkpoint(void *state, int layer);
ll_status ll_lite_restore(void *state, int layer, const ll_skip_list *next_read, ll_error *err);

// The ops of a LiteAttention variant: only kind, summary, keys, check and create differ.
#define LL_LITE_OPS(kind_, summary_, keys_, check_, create_)                                        \
    {                                                                                               \
        .kind = kind_, .summary = summary_, .keys = keys_, .check = check_, .create = create_,      \
        .destroy = ll_lite_destroy, .begin_step = ll_lite_begin_step, .decide = ll_lite_decide,     \
        .after_call = ll_lite_after_call, .checkpoint = ll_lite_checkpoint, .restore = ll_lite_restore \
    }
