// report_data.c: loading traces and summarising their calls per policy and
// per (policy, step) (report.h).
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_tables.h"

ll_status ll_report_load(const char *const *paths, int n, ll_report_input *in, ll_error *err) {
    memset(in, 0, sizeof *in);
    if (n < 1) return ll_fail(err, LL_ERR_USAGE, "report: no trace given");
    in->traces = calloc((size_t)n, sizeof *in->traces);
    if (!in->traces) return ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
    for (int i = 0; i < n; i++) {
        ll_report_trace *t = &in->traces[i];
        in->n_traces = i + 1;
        snprintf(t->path, sizeof t->path, "%s", paths[i]);
        ll_status st = ll_trace_open(paths[i], 1, &t->reader, &t->meta, err);
        if (st == LL_OK) st = ll_trace_read_policies(t->reader, &t->policies, &t->n_policies, err);
        if (st == LL_OK) st = ll_trace_read_calls(t->reader, &t->calls, &t->n_calls, err);
        if (st == LL_OK && t->n_policies < 1) st = ll_fail(err, LL_ERR_FORMAT, "%s: the trace has no policy", paths[i]);
        for (size_t k = 0; st == LL_OK && k < t->n_calls; k++)
            if (t->calls[k].policy < 0 || t->calls[k].policy >= t->n_policies)
                st = ll_fail(err, LL_ERR_FORMAT, "%s: call row %zu names policy %d of %d", paths[i], k,
                             t->calls[k].policy, t->n_policies);
        if (st != LL_OK) {
            ll_report_input_free(in);
            return st;
        }
    }
    return LL_OK;
}

void ll_report_input_free(ll_report_input *in) {
    if (!in || !in->traces) return;
    for (int i = 0; i < in->n_traces; i++) {
        if (in->traces[i].reader) ll_trace_close(in->traces[i].reader);
        free(in->traces[i].policies);
        free(in->traces[i].calls);
    }
    free(in->traces);
    memset(in, 0, sizeof *in);
}

const char *ll_runtime_label(ll_runtime_source s) {
    switch (s) {
    case LL_RUNTIME_GPU: return "GPU kernel time per call (ms, CUPTI)";
    case LL_RUNTIME_HOST: return "host wall time per call (ms, CPU backend)";
    default: return "runtime (not measured)";
    }
}

double ll_call_runtime(const ll_trace_call *c, ll_runtime_source s) {
    if (s == LL_RUNTIME_GPU) return c->gpu_ms;
    if (s == LL_RUNTIME_HOST) return c->host_ms;
    return NAN;
}

ll_runtime_source ll_trace_runtime_source(const ll_report_trace *t) {
    int host = 0;
    for (size_t i = 0; i < t->n_calls; i++) {
        if (isfinite(t->calls[i].gpu_ms)) return LL_RUNTIME_GPU;
        if (isfinite(t->calls[i].host_ms)) host = 1;
    }
    return host ? LL_RUNTIME_HOST : LL_RUNTIME_NONE;
}

int ll_summary_uses_call(const ll_policy_summary *p, const ll_trace_call *c) {
    return c->policy == p->policy && (p->per_head_calls ? c->head >= 0 : c->head < 0);
}

// The policy's threshold when it is the same finite number in every call,
// else its params' "threshold" when that is a number.
static double policy_threshold(const ll_report_trace *t, int policy) {
    double th = NAN;
    int seen = 0, constant = 1;
    for (size_t i = 0; i < t->n_calls; i++) {
        const ll_trace_call *c = &t->calls[i];
        if (c->policy != policy || !isfinite(c->threshold)) continue;
        if (!seen) th = c->threshold;
        else if (c->threshold != th) constant = 0;
        seen = 1;
    }
    if (seen) return constant ? th : NAN;
    cJSON *j = cJSON_Parse(t->policies[policy].params_json);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "threshold");
    if (cJSON_IsNumber(v)) th = v->valuedouble;
    cJSON_Delete(j);
    return th;
}

static void summarize_policy(const ll_report_trace *t, ll_policy_summary *p) {
    size_t layer_rows = 0;
    for (size_t i = 0; i < t->n_calls; i++)
        if (t->calls[i].policy == p->policy && t->calls[i].head < 0) layer_rows++;
    p->per_head_calls = layer_rows == 0;
    p->runtime_source = ll_trace_runtime_source(t);
    double kept = 0, rel = 0, dense = 0, exec = 0, runtime = 0;
    size_t timed = 0, rel_n = 0;
    p->max_rel_l2 = p->max_skipped_mass = -INFINITY;
    p->min_cosine = INFINITY;
    for (size_t i = 0; i < t->n_calls; i++) {
        const ll_trace_call *c = &t->calls[i];
        if (!ll_summary_uses_call(p, c)) continue;
        p->calls++;
        if (c->tiles_total) kept += (double)c->tiles_kept / (double)c->tiles_total;
        dense += (double)c->flops_dense;
        exec += (double)c->flops_executed;
        double ms = ll_call_runtime(c, p->runtime_source);
        if (isfinite(ms)) {
            runtime += ms;
            timed++;
        }
        if (isfinite(c->rel_l2)) {
            rel += c->rel_l2;
            rel_n++;
            if (c->rel_l2 > p->max_rel_l2) p->max_rel_l2 = c->rel_l2;
        }
        if (isfinite(c->cosine) && c->cosine < p->min_cosine) p->min_cosine = c->cosine;
        if (isfinite(c->skipped_mass) && c->skipped_mass > p->max_skipped_mass) p->max_skipped_mass = c->skipped_mass;
    }
    p->mean_kept = p->calls ? kept / p->calls : NAN;
    p->skipped_ratio = dense > 0 ? 1.0 - exec / dense : NAN;
    p->runtime_ms = timed ? runtime : NAN;
    p->mean_call_ms = timed ? runtime / timed : NAN;
    p->mean_rel_l2 = rel_n ? rel / rel_n : NAN;
    if (!isfinite(p->max_rel_l2)) p->max_rel_l2 = NAN;
    if (!isfinite(p->min_cosine)) p->min_cosine = NAN;
    if (!isfinite(p->max_skipped_mass)) p->max_skipped_mass = NAN;
}

static int cmp_step(const void *a, const void *b) {
    const ll_step_summary *x = a, *y = b;
    if (x->summary != y->summary) return x->summary < y->summary ? -1 : 1;
    return (x->step > y->step) - (x->step < y->step);
}

ll_status ll_report_summarize(const ll_report_input *in, ll_policy_summary **policies, int *n_policies,
                              ll_step_summary **steps, size_t *n_steps, ll_error *err) {
    *policies = NULL;
    *steps = NULL;
    *n_policies = 0;
    *n_steps = 0;
    int n = 0;
    for (int i = 0; i < in->n_traces; i++) n += in->traces[i].n_policies;
    ll_policy_summary *p = calloc((size_t)(n ? n : 1), sizeof *p);
    if (!p) return ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
    int k = 0;
    for (int i = 0; i < in->n_traces; i++) {
        const ll_report_trace *t = &in->traces[i];
        for (int j = 0; j < t->n_policies; j++, k++) {
            p[k].trace = i;
            p[k].policy = j;
            snprintf(p[k].kind, sizeof p[k].kind, "%s", t->policies[j].kind);
            p[k].is_dense = !strcmp(t->policies[j].kind, "dense");
            p[k].threshold = policy_threshold(t, j);
            summarize_policy(t, &p[k]);
            // Labels: the policy name, with the trace's file name when two traces share it.
            int clash = 0;
            for (int i2 = 0; i2 < in->n_traces; i2++)
                for (int j2 = 0; j2 < in->traces[i2].n_policies; j2++)
                    if (i2 != i && !strcmp(in->traces[i2].policies[j2].name, t->policies[j].name)) clash = 1;
            if (clash)
                snprintf(p[k].label, sizeof p[k].label, "%.63s [%.80s]", t->policies[j].name,
                         ll_report_base_name(t->path));
            else
                snprintf(p[k].label, sizeof p[k].label, "%s", t->policies[j].name);
        }
    }
    // Speedup against the dense policy of the same trace.
    for (int a = 0; a < n; a++) {
        p[a].speedup = NAN;
        for (int b = 0; b < n; b++)
            if (p[b].is_dense && p[b].trace == p[a].trace && isfinite(p[b].mean_call_ms) && p[a].mean_call_ms > 0)
                p[a].speedup = p[b].mean_call_ms / p[a].mean_call_ms;
    }
    // Per (policy, step).
    size_t cap = 0, m = 0;
    ll_step_summary *s = NULL;
    for (int a = 0; a < n; a++) {
        const ll_report_trace *t = &in->traces[p[a].trace];
        int max_step = -1;
        for (size_t i = 0; i < t->n_calls; i++)
            if (ll_summary_uses_call(&p[a], &t->calls[i]) && t->calls[i].step > max_step) max_step = t->calls[i].step;
        for (int step = 0; step <= max_step; step++) {
            ll_step_summary r = {.summary = a, .step = step, .max_rel_l2 = -INFINITY, .min_cosine = INFINITY};
            double kept = 0, dense = 0, exec = 0, rel = 0, runtime = 0;
            size_t rel_n = 0, timed = 0;
            for (size_t i = 0; i < t->n_calls; i++) {
                const ll_trace_call *c = &t->calls[i];
                if (!ll_summary_uses_call(&p[a], c) || c->step != step) continue;
                r.calls++;
                if (c->tiles_total) kept += (double)c->tiles_kept / (double)c->tiles_total;
                dense += (double)c->flops_dense;
                exec += (double)c->flops_executed;
                double ms = ll_call_runtime(c, p[a].runtime_source);
                if (isfinite(ms)) {
                    runtime += ms;
                    timed++;
                }
                if (isfinite(c->rel_l2)) {
                    rel += c->rel_l2;
                    rel_n++;
                    if (c->rel_l2 > r.max_rel_l2) r.max_rel_l2 = c->rel_l2;
                }
                if (isfinite(c->cosine) && c->cosine < r.min_cosine) r.min_cosine = c->cosine;
            }
            if (!r.calls) continue;
            r.mean_kept = kept / r.calls;
            r.skipped_ratio = dense > 0 ? 1.0 - exec / dense : NAN;
            r.runtime_ms = timed ? runtime : NAN;
            r.mean_rel_l2 = rel_n ? rel / rel_n : NAN;
            if (!isfinite(r.max_rel_l2)) r.max_rel_l2 = NAN;
            if (!isfinite(r.min_cosine)) r.min_cosine = NAN;
            if (m == cap) {
                cap = cap ? 2 * cap : 64;
                ll_step_summary *g = realloc(s, cap * sizeof *s);
                if (!g) {
                    free(s);
                    free(p);
                    return ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
                }
                s = g;
            }
            s[m++] = r;
        }
    }
    if (m) qsort(s, m, sizeof *s, cmp_step);
    *policies = p;
    *n_policies = n;
    *steps = s;
    *n_steps = m;
    return LL_OK;
}
