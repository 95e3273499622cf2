// policy_registry.c: the table of policies and the generic handling of a
// policy's config object. Adding a policy = its file + one line below.
#include "policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

extern const ll_policy_ops ll_policy_dense, ll_policy_lite, ll_policy_lite_schedule, ll_policy_warmup,
    ll_policy_refresh, ll_policy_static, ll_policy_dynamic, ll_policy_oracle, ll_policy_window, ll_policy_radial;

static const ll_policy_ops *const table[] = {
    &ll_policy_dense,         // every tile, the baseline
    &ll_policy_lite,          // LiteAttention: propagated lists, one threshold
    &ll_policy_lite_schedule, // LiteAttention with one threshold per step
    &ll_policy_warmup,        // dense for the first k steps, then LiteAttention
    &ll_policy_refresh,       // LiteAttention with lists reset every R steps
    &ll_policy_static,        // LiteAttention until step k, then the mask frozen
    &ll_policy_dynamic,       // decided afresh each step, no propagation (skip-softmax / BLASST)
    &ll_policy_oracle,        // the exact negligible tiles of each step (dense tile map)
    &ll_policy_window,        // static spatio-temporal window (sliding-tile style)
    &ll_policy_radial,        // static mask whose density decays with frame distance
};

int ll_policy_kind_count(void) { return (int)(sizeof table / sizeof table[0]); }
const ll_policy_ops *ll_policy_kind_at(int i) { return i >= 0 && i < ll_policy_kind_count() ? table[i] : NULL; }

const ll_policy_ops *ll_policy_find(const char *kind) {
    for (int i = 0; i < ll_policy_kind_count(); i++)
        if (kind && strcmp(table[i]->kind, kind) == 0) return table[i];
    return NULL;
}

// Name and kind, then the kind's own keys and parameters.
static ll_status check_common(const cJSON *obj, const char *where, const ll_policy_ops **ops, ll_error *err) {
    if (!cJSON_IsObject(obj)) return ll_fail(err, LL_ERR_USAGE, "%s: expected a policy object {\"name\", \"kind\", ...}", where);
    char name[64] = "", kind[32] = "";
    LL_TRY(ll_json_string(obj, "name", 1, where, name, sizeof name, err));
    if (!name[0]) return ll_fail(err, LL_ERR_USAGE, "%s.name: empty", where);
    for (const char *c = name; *c; c++)
        if (*c == '/' || *c < 0x20)
            return ll_fail(err, LL_ERR_USAGE, "%s.name: '%s' contains '/' or a control character", where, name);
    LL_TRY(ll_json_string(obj, "kind", 1, where, kind, sizeof kind, err));
    *ops = ll_policy_find(kind);
    if (!*ops) {
        char list[512] = "";
        for (int i = 0; i < ll_policy_kind_count(); i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", table[i]->kind);
        }
        return ll_fail(err, LL_ERR_USAGE, "%s.kind: unknown policy kind '%s' (known: %s)", where, kind, list);
    }
    const char *keys[32];
    int n = 0;
    keys[n++] = "name";
    keys[n++] = "kind";
    for (int i = 0; (*ops)->keys && (*ops)->keys[i] && n < 31; i++) keys[n++] = (*ops)->keys[i];
    keys[n] = NULL;
    char w2[800];
    snprintf(w2, sizeof w2, "%s (%s)", where, name);
    LL_TRY(ll_json_check_keys(obj, keys, w2, err));
    return (*ops)->check ? (*ops)->check(obj, w2, err) : LL_OK;
}

ll_status ll_policy_check(const cJSON *obj, const char *where, ll_error *err) {
    const ll_policy_ops *ops;
    return check_common(obj, where, &ops, err);
}

ll_status ll_policy_create(const cJSON *obj, const char *where, const ll_policy_setup *setup, ll_policy *out,
                           ll_error *err) {
    memset(out, 0, sizeof *out);
    const ll_policy_ops *ops;
    LL_TRY(check_common(obj, where, &ops, err));
    snprintf(out->name, sizeof out->name, "%s", cJSON_GetObjectItemCaseSensitive(obj, "name")->valuestring);
    // The parameters as the trace records them: the object less name and kind.
    cJSON *params = cJSON_Duplicate(obj, 1);
    if (!params) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    cJSON_DeleteItemFromObjectCaseSensitive(params, "name");
    cJSON_DeleteItemFromObjectCaseSensitive(params, "kind");
    char *text = cJSON_PrintUnformatted(params);
    cJSON_Delete(params);
    if (!text) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    if (strlen(text) >= sizeof out->params_json) {
        free(text);
        return ll_fail(err, LL_ERR_USAGE, "%s (%s): parameters longer than %zu characters as JSON", where, out->name,
                       sizeof out->params_json - 1);
    }
    strcpy(out->params_json, text);
    free(text);
    char w2[800];
    snprintf(w2, sizeof w2, "%s (%s)", where, out->name);
    LL_TRY(ops->create(obj, w2, setup, &out->state, err));
    out->ops = ops;
    return LL_OK;
}

void ll_policy_destroy(ll_policy *p) {
    if (!p) return;
    if (p->ops && p->ops->destroy) p->ops->destroy(p->state);
    memset(p, 0, sizeof *p);
}

ll_trace_policy ll_policy_describe(const ll_policy *p) {
    ll_trace_policy t;
    memset(&t, 0, sizeof t);
    snprintf(t.name, sizeof t.name, "%s", p->name);
    snprintf(t.kind, sizeof t.kind, "%s", p->ops ? p->ops->kind : "");
    snprintf(t.params_json, sizeof t.params_json, "%s", p->params_json);
    return t;
}

ll_status ll_policy_begin_step(ll_policy *p, int step, ll_error *err) {
    return p->ops->begin_step ? p->ops->begin_step(p->state, step, err) : LL_OK;
}

ll_status ll_policy_decide(ll_policy *p, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err) {
    call->read = NULL;
    call->write = NULL;
    call->threshold = NAN;
    if (p->ops->needs_tile_map && !ctx->dense_map)
        return ll_fail(err, LL_ERR_INTERNAL, "policy %s: needs the dense tile map and got none", p->name);
    return p->ops->decide(p->state, ctx, call, err);
}

ll_status ll_policy_after_call(ll_policy *p, const ll_policy_ctx *ctx, const ll_policy_call *call, int *again,
                               ll_error *err) {
    *again = 0;
    return p->ops->after_call ? p->ops->after_call(p->state, ctx, call, again, err) : LL_OK;
}

const ll_skip_list *ll_policy_checkpoint(ll_policy *p, int layer) {
    return p->ops->checkpoint ? p->ops->checkpoint(p->state, layer) : NULL;
}

ll_status ll_policy_restore(ll_policy *p, int layer, const ll_skip_list *next_read, ll_error *err) {
    if (!p->ops->restore)
        return ll_fail(err, LL_ERR_INTERNAL, "policy %s: keeps no state to restore", p->name);
    return p->ops->restore(p->state, layer, next_read, err);
}
