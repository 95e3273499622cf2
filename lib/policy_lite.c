// policy_lite.c: LiteAttention as the production kernel runs it (kind
// "lite"), and the core its variants share (policy_lite.h). Per layer two
// skip lists alternate (lib/skip_state.h): step t reads what step t-1 of the
// same layer wrote, the kernel's QK-skip criterion marks negligible tiles
// while computing, and those tiles leave the write list for good: skips only
// accumulate. Params: {"threshold": t <= 0}.
#include "policy_lite.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "skip_state.h"

typedef struct {
    ll_lite_options o;
    float *schedule;  // owned copy
    ll_skip_state st;
    int step;
    int frozen;
} lite_state;

ll_status ll_lite_create(const ll_lite_options *o, const char *where, const ll_policy_setup *setup, void **state,
                         ll_error *err) {
    if (o->schedule && o->n_schedule != setup->steps)
        return ll_fail(err, LL_ERR_USAGE, "%s.thresholds: %d entries for a trajectory of %d steps (give one per step)",
                       where, o->n_schedule, setup->steps);
    lite_state *s = calloc(1, sizeof *s);
    if (!s) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    s->o = *o;
    if (o->schedule) {
        s->schedule = malloc(sizeof(float) * (size_t)o->n_schedule);
        if (!s->schedule) {
            free(s);
            return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
        }
        memcpy(s->schedule, o->schedule, sizeof(float) * (size_t)o->n_schedule);
        s->o.schedule = s->schedule;
    }
    float t0 = o->schedule ? o->schedule[0] : o->threshold;
    ll_status st = ll_skip_state_init(&s->st, setup->layers, &setup->shape, &setup->tiling, setup->encoding, t0, 1, err);
    if (st != LL_OK) {
        free(s->schedule);
        free(s);
        return st;
    }
    *state = s;
    return LL_OK;
}

void ll_lite_destroy(void *state) {
    lite_state *s = state;
    if (!s) return;
    ll_skip_state_free(&s->st);
    free(s->schedule);
    free(s);
}

ll_status ll_lite_begin_step(void *state, int step, ll_error *err) {
    lite_state *s = state;
    s->step = step;
    if (s->o.schedule) LL_TRY(ll_skip_state_set_threshold(&s->st, s->o.schedule[step], err));
    // A refresh forgets every skip: the next call of each layer computes all tiles again.
    if (s->o.refresh_every > 0 && step > 0 && step % s->o.refresh_every == 0) ll_skip_state_reset(&s->st);
    ll_skip_state_enable(&s->st, step >= s->o.warmup_steps);
    s->frozen = s->o.freeze_after >= 0 && step >= s->o.freeze_after;
    return LL_OK;
}

ll_status ll_lite_decide(void *state, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err) {
    lite_state *s = state;
    call->read = NULL;
    call->write = NULL;
    call->threshold = NAN;
    if (s->step < s->o.warmup_steps) return LL_OK;  // dense warm-up
    ll_skip_list *read, *write;
    LL_TRY(ll_skip_state_lists(&s->st, ctx->layer, &read, &write, err));
    call->read = read;
    call->threshold = s->st.threshold;
    if (!s->frozen) call->write = write;  // frozen: the mask as profiled, no criterion
    return LL_OK;
}

ll_status ll_lite_after_call(void *state, const ll_policy_ctx *ctx, const ll_policy_call *call, int *again,
                             ll_error *err) {
    lite_state *s = state;
    (void)err;
    *again = 0;
    if (call->write) ll_skip_state_advance(&s->st, ctx->layer);
    return LL_OK;
}

// The list a layer reads next, whether or not skipping is enabled yet.
static ll_skip_list *next_read(lite_state *s, int layer) {
    return &s->st.lists[2 * layer + s->st.read_index[layer]];
}

const ll_skip_list *ll_lite_checkpoint(void *state, int layer) {
    lite_state *s = state;
    if (layer < 0 || layer >= s->st.n_layers) return NULL;
    return next_read(s, layer);
}

ll_status ll_lite_restore(void *state, int layer, const ll_skip_list *src, ll_error *err) {
    lite_state *s = state;
    if (layer < 0 || layer >= s->st.n_layers)
        return ll_fail(err, LL_ERR_INVALID, "lite policy: restore of layer %d out of range", layer);
    ll_skip_list *dst = next_read(s, layer);
    if (src->B != dst->B || src->H != dst->H || src->q_tiles != dst->q_tiles || src->k_tiles != dst->k_tiles ||
        src->encoding != dst->encoding)
        return ll_fail(err, LL_ERR_FORMAT,
                       "checkpoint of layer %d: list %dx%dx%dx%d (%s) does not match the experiment's %dx%dx%dx%d (%s)",
                       layer, src->B, src->H, src->q_tiles, src->k_tiles, ll_list_encoding_name(src->encoding), dst->B,
                       dst->H, dst->q_tiles, dst->k_tiles, ll_list_encoding_name(dst->encoding));
    LL_TRY(ll_skip_list_validate(src, "checkpoint", err));
    ll_skip_list_copy(dst, src);
    return LL_OK;
}

// ---------------------------------------------------------------------------
// kind "lite"

static const char *const keys[] = {"threshold", NULL};

static ll_status parse(const cJSON *params, const char *where, ll_lite_options *o, ll_error *err) {
    memset(o, 0, sizeof *o);
    o->freeze_after = -1;
    return ll_json_threshold(params, "threshold", 1, where, &o->threshold, err);
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

const ll_policy_ops ll_policy_lite =
    LL_LITE_OPS("lite", "LiteAttention: lists propagate step to step, skips accumulate; {threshold}", keys, check,
                create);
