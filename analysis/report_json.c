// report_json.c: the report's tables as one JSON document in the style of
// NVBench's JSON output, for scripts: every measured state (a policy of a
// trace, or one step of it) is an object with its axis values and a list of
// summaries, each a tag (the CSV column name), a readable name, a hint (the
// kind of quantity), a unit and its data. Differences from NVBench: values
// are JSON numbers (null where the value does not exist, e.g. no dense
// policy to compare with), and the document opens with the traces'
// provenance (shape, maps, hardware) so that a number keeps its context.
//
//   {"format": "litelab-report", "version": 1,
//    "traces": [{"file", "experiment", "trajectory", "maps", "hardware", "caption", "backend", "gpu", "kernel",
//                "shape": {"B", "N", "H", "D", "dtype"}, "tiling": {"block_m", "block_n"},
//                "steps", "layers", "complete", "litelab", "git_commit", "created"}],
//    "benchmarks": [
//      {"name": "policies", "axes": [{"name": "trace", "type": "string", "values": [...]},
//                                    {"name": "policy", "type": "string", "values": [...]}],
//       "states": [{"name": "trace=a.h5 policy=lite_t-10",
//                   "axis_values": [{"name": "trace", "type": "string", "value": "a.h5"}, ...],
//                   "summaries": [{"tag": "skipped_flop_ratio", "name": "skipped FLOPs", "hint": "ratio",
//                                  "unit": "", "data": [{"name": "value", "type": "float64", "value": 0.31}]},
//                                 ...]}]},
//      {"name": "steps", "axes": [trace, policy, step (int64)], "states": [...]}]}
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_figures.h"
#include "report_tables.h"

static void axis_value(cJSON *values, const char *name, const char *type, cJSON *value) {
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "name", name);
    cJSON_AddStringToObject(v, "type", type);
    cJSON_AddItemToObject(v, "value", value);
    cJSON_AddItemToArray(values, v);
}

// One summary; value NAN becomes null.
static void summary(cJSON *list, const char *tag, const char *name, const char *hint, const char *unit,
                    const char *type, double value, const char *text) {
    cJSON *s = cJSON_CreateObject(), *data = cJSON_CreateArray(), *d = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "tag", tag);
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddStringToObject(s, "hint", hint);
    cJSON_AddStringToObject(s, "unit", unit);
    cJSON_AddStringToObject(d, "name", "value");
    cJSON_AddStringToObject(d, "type", type);
    if (text) cJSON_AddStringToObject(d, "value", text);
    else if (isfinite(value)) cJSON_AddNumberToObject(d, "value", value);
    else cJSON_AddNullToObject(d, "value");
    cJSON_AddItemToArray(data, d);
    cJSON_AddItemToObject(s, "data", data);
    cJSON_AddItemToArray(list, s);
}

#define NUM(list, tag, name, hint, unit, v) summary(list, tag, name, hint, unit, "float64", v, NULL)
#define INT(list, tag, name, v) summary(list, tag, name, "count", "", "int64", (double)(v), NULL)
#define STR(list, tag, name, v) summary(list, tag, name, "text", "", "string", 0, v)

static cJSON *trace_json(const ll_report_trace *t) {
    const ll_trace_meta *m = &t->meta;
    char maps[320], hw[256], caption[700];
    ll_fig_maps_label(m, maps, sizeof maps);
    ll_fig_hardware_label(m, hw, sizeof hw);
    ll_fig_trace_provenance(t, caption, sizeof caption);
    cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateObject(), *tiling = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", ll_report_base_name(t->path));
    cJSON_AddStringToObject(o, "experiment", m->experiment);
    cJSON_AddStringToObject(o, "trajectory", m->trajectory);
    cJSON_AddStringToObject(o, "maps", maps);
    cJSON_AddStringToObject(o, "hardware", hw);
    cJSON_AddStringToObject(o, "caption", caption);  // what the figures print under their titles
    cJSON_AddStringToObject(o, "backend", m->backend);
    cJSON_AddStringToObject(o, "gpu", m->gpu_name);
    cJSON_AddStringToObject(o, "kernel", m->kernel);
    cJSON_AddNumberToObject(shape, "B", m->shape.B);
    cJSON_AddNumberToObject(shape, "N", m->shape.N);
    cJSON_AddNumberToObject(shape, "H", m->shape.H);
    cJSON_AddNumberToObject(shape, "D", m->shape.D);
    cJSON_AddStringToObject(shape, "dtype", ll_dtype_name(m->shape.dtype));
    cJSON_AddItemToObject(o, "shape", shape);
    cJSON_AddNumberToObject(tiling, "block_m", m->tiling.block_m);
    cJSON_AddNumberToObject(tiling, "block_n", m->tiling.block_n);
    cJSON_AddItemToObject(o, "tiling", tiling);
    cJSON_AddNumberToObject(o, "steps", m->steps);
    cJSON_AddNumberToObject(o, "layers", m->layers);
    cJSON_AddBoolToObject(o, "complete", m->complete);
    cJSON_AddStringToObject(o, "litelab", m->toolkit_version);
    cJSON_AddStringToObject(o, "git_commit", m->git_commit);
    cJSON_AddStringToObject(o, "created", m->created);
    return o;
}

// An axis with the distinct values of its states, in order of appearance.
static cJSON *axis(const char *name, const char *type) {
    cJSON *a = cJSON_CreateObject();
    cJSON_AddStringToObject(a, "name", name);
    cJSON_AddStringToObject(a, "type", type);
    cJSON_AddItemToObject(a, "values", cJSON_CreateArray());
    return a;
}

static void axis_add(cJSON *a, cJSON *value) {
    cJSON *values = cJSON_GetObjectItemCaseSensitive(a, "values"), *v;
    cJSON_ArrayForEach(v, values) {
        if (cJSON_Compare(v, value, 1)) {
            cJSON_Delete(value);
            return;
        }
    }
    cJSON_AddItemToArray(values, value);
}

// A state of a policy (step < 0) or of one of its steps: its name and axis
// values (added to the axes), and the empty summaries list it returns in sums.
static cJSON *state(const ll_report_input *in, const ll_policy_summary *p, int step, cJSON **axes, cJSON **sums) {
    const char *trace = ll_report_base_name(in->traces[p->trace].path);
    char name[420];
    int n = snprintf(name, sizeof name, "trace=%s policy=%s", trace, p->label);
    if (step >= 0 && n > 0 && (size_t)n < sizeof name) snprintf(name + n, sizeof name - (size_t)n, " step=%d", step);
    cJSON *st = cJSON_CreateObject(), *values = cJSON_CreateArray();
    cJSON_AddStringToObject(st, "name", name);
    axis_value(values, "trace", "string", cJSON_CreateString(trace));
    axis_value(values, "policy", "string", cJSON_CreateString(p->label));
    axis_add(axes[0], cJSON_CreateString(trace));
    axis_add(axes[1], cJSON_CreateString(p->label));
    if (step >= 0) {
        axis_value(values, "step", "int64", cJSON_CreateNumber(step));
        axis_add(axes[2], cJSON_CreateNumber(step));
    }
    cJSON_AddItemToObject(st, "axis_values", values);
    *sums = cJSON_CreateArray();
    cJSON_AddItemToObject(st, "summaries", *sums);
    return st;
}

static cJSON *policy_state(const ll_report_input *in, const ll_policy_summary *p, cJSON *axes[2]) {
    cJSON *sums, *st = state(in, p, -1, axes, &sums);
    STR(sums, "kind", "policy kind", p->kind);
    NUM(sums, "threshold", "threshold", "log2", "log2", p->threshold);
    INT(sums, "calls", "calls", p->calls);
    NUM(sums, "mean_kept_fraction", "mean kept tile fraction", "ratio", "", p->mean_kept);
    NUM(sums, "skipped_flop_ratio", "skipped FLOPs", "ratio", "", p->skipped_ratio);
    STR(sums, "runtime_source", "time source (gpu: CUPTI, host: CPU backend)", ll_runtime_source_name(p->runtime_source));
    NUM(sums, "total_runtime_ms", "total runtime", "duration", "ms", p->runtime_ms);
    NUM(sums, "mean_call_ms", "mean time per call", "duration", "ms", p->mean_call_ms);
    NUM(sums, "speedup_vs_dense", "speedup vs dense (same trace)", "ratio", "", p->speedup);
    NUM(sums, "mean_rel_l2", "mean relative L2 error", "error", "", p->mean_rel_l2);
    NUM(sums, "max_rel_l2", "max relative L2 error", "error", "", p->max_rel_l2);
    NUM(sums, "min_cosine", "min cosine similarity", "similarity", "", p->min_cosine);
    NUM(sums, "max_skipped_mass", "max skipped probability mass", "mass", "", p->max_skipped_mass);
    STR(sums, "call_rows", "rows the calls are (layer or head)", p->per_head_calls ? "head" : "layer");
    return st;
}

static cJSON *step_state(const ll_report_input *in, const ll_policy_summary *p, const ll_step_summary *s,
                         cJSON *axes[3]) {
    cJSON *sums, *st = state(in, p, s->step, axes, &sums);
    INT(sums, "calls", "calls", s->calls);
    NUM(sums, "mean_kept_fraction", "mean kept tile fraction", "ratio", "", s->mean_kept);
    NUM(sums, "skipped_flop_ratio", "skipped FLOPs", "ratio", "", s->skipped_ratio);
    NUM(sums, "runtime_ms", "runtime of the step", "duration", "ms", s->runtime_ms);
    NUM(sums, "mean_rel_l2", "mean relative L2 error", "error", "", s->mean_rel_l2);
    NUM(sums, "max_rel_l2", "max relative L2 error", "error", "", s->max_rel_l2);
    NUM(sums, "min_cosine", "min cosine similarity", "similarity", "", s->min_cosine);
    return st;
}

static cJSON *benchmark(const char *name, cJSON **axes, int n_axes, cJSON *states) {
    cJSON *b = cJSON_CreateObject(), *a = cJSON_CreateArray();
    cJSON_AddStringToObject(b, "name", name);
    for (int i = 0; i < n_axes; i++) cJSON_AddItemToArray(a, axes[i]);
    cJSON_AddItemToObject(b, "axes", a);
    cJSON_AddItemToObject(b, "states", states);
    return b;
}

ll_status ll_report_json(FILE *f, const char *name, const ll_report_input *in, const ll_policy_summary *p, int n_p,
                         const ll_step_summary *s, size_t n_s, ll_error *err) {
    cJSON *doc = cJSON_CreateObject(), *traces = cJSON_CreateArray(), *benches = cJSON_CreateArray();
    cJSON_AddStringToObject(doc, "format", "litelab-report");
    cJSON_AddNumberToObject(doc, "version", 1);
    for (int i = 0; i < in->n_traces; i++) cJSON_AddItemToArray(traces, trace_json(&in->traces[i]));
    cJSON_AddItemToObject(doc, "traces", traces);
    cJSON *pol_axes[2] = {axis("trace", "string"), axis("policy", "string")}, *pol_states = cJSON_CreateArray();
    for (int i = 0; i < n_p; i++) cJSON_AddItemToArray(pol_states, policy_state(in, &p[i], pol_axes));
    cJSON_AddItemToArray(benches, benchmark("policies", pol_axes, 2, pol_states));
    cJSON *step_axes[3] = {axis("trace", "string"), axis("policy", "string"), axis("step", "int64")};
    cJSON *step_states = cJSON_CreateArray();
    for (size_t i = 0; i < n_s; i++)
        cJSON_AddItemToArray(step_states, step_state(in, &p[s[i].summary], &s[i], step_axes));
    cJSON_AddItemToArray(benches, benchmark("steps", step_axes, 3, step_states));
    cJSON_AddItemToObject(doc, "benchmarks", benches);
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (!text) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for the JSON document", name);
    fputs(text, f);
    fputc('\n', f);
    free(text);
    if (fflush(f) != 0 || ferror(f)) return ll_fail(err, LL_ERR_IO, "%s: write failed: %s", name, strerror(errno));
    return LL_OK;
}
