// report.h: `litelab report`: tables (CSV, Markdown, NVBench-style JSON) and
// gnuplot figures (PNG and SVG) from one or more traces.
//
// The analysis works on traces loaded in memory (ll_report_input): the calls
// and policies of each trace, plus its open reader for skip masks and tile
// maps. Per policy (one policy of one trace) it summarises the calls; per
// (policy, step) too. Runtime is the CUPTI GPU time where the trace has it,
// else the CPU backend's host time; the tables and axis labels say which.
// Whole-layer rows (head = -1) are the calls; per-head rows feed the per-head
// distributions (and stand in for calls when a policy has no whole-layer row).
//
// Figures: the C code writes data files (.dat, whitespace separated, one
// block per series) into the output folder and runs gnuplot on the scripts in
// analysis/*.gp, passing file names, titles and fitted numbers with -e; the
// scripts are plain files a user can restyle and re-run (replot.sh in the
// output folder lists the exact commands).
#pragma once
#include <stddef.h>

#include "common.h"
#include "progress.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char path[512];
    ll_trace_meta meta;
    ll_trace_policy *policies;
    int n_policies;
    ll_trace_call *calls;
    size_t n_calls;
    ll_trace_reader *reader;  // NULL for traces built in memory (no masks or maps)
} ll_report_trace;

typedef struct {
    ll_report_trace *traces;
    int n_traces;
} ll_report_input;

// Opens and reads every trace (partial traces too: the report says so).
ll_status ll_report_load(const char *const *paths, int n, ll_report_input *in, ll_error *err);
void ll_report_input_free(ll_report_input *in);

typedef enum { LL_RUNTIME_NONE = 0, LL_RUNTIME_GPU = 1, LL_RUNTIME_HOST = 2 } ll_runtime_source;
const char *ll_runtime_label(ll_runtime_source s);  // axis label with units

// Runtime of a call by the trace's source (NAN when it has none).
double ll_call_runtime(const ll_trace_call *c, ll_runtime_source s);
// GPU time when any call of the trace has one, else host time, else none.
ll_runtime_source ll_trace_runtime_source(const ll_report_trace *t);

typedef struct {
    int trace, policy;    // indices into the input
    char label[160];      // unique across the input
    char kind[32];
    double threshold;     // the policy's constant threshold, NAN when none or varying
    int is_dense;
    int per_head_calls;   // the calls are per-head rows (the policy has no whole-layer rows)
    size_t calls;
    double mean_kept;     // mean over calls of tiles_kept / tiles_total
    double skipped_ratio; // 1 - executed FLOPs / dense FLOPs over all calls
    ll_runtime_source runtime_source;
    double runtime_ms;    // total over the calls
    double mean_call_ms;
    double speedup;       // dense mean call time / this mean call time, same trace; NAN without a dense policy
    double mean_rel_l2, max_rel_l2, min_cosine, max_skipped_mass;
} ll_policy_summary;

typedef struct {
    int summary;  // index into the policy summaries
    int step;
    size_t calls;
    double mean_kept, skipped_ratio, runtime_ms, mean_rel_l2, max_rel_l2, min_cosine;
} ll_step_summary;

// malloc'd arrays; steps sorted by (summary, step).
ll_status ll_report_summarize(const ll_report_input *in, ll_policy_summary **policies, int *n_policies,
                              ll_step_summary **steps, size_t *n_steps, ll_error *err);
// Does call c belong to summary p's calls?
int ll_summary_uses_call(const ll_policy_summary *p, const ll_trace_call *c);

// Table formats (a bit mask) and the tables.
enum { LL_FORMAT_CSV = 1, LL_FORMAT_JSON = 2, LL_FORMAT_MD = 4, LL_FORMAT_ALL = 7 };
typedef enum { LL_TABLE_POLICIES = 0, LL_TABLE_STEPS = 1, LL_TABLE_CALLS = 2 } ll_report_table;
// --format csv,json,md (any non-empty list) -> mask; --table policies|steps|calls.
ll_status ll_report_parse_formats(const char *list, int *formats, ll_error *err);
ll_status ll_report_parse_table(const char *name, ll_report_table *table, ll_error *err);

// Tables in dir, for each format of the mask (0: all): policies.csv, steps.csv
// and calls.csv (every trace row); policies.md, steps.md; report.json (the
// policies and steps as NVBench-style states: one object per measured state
// with its axis values and summaries, see report_json.c).
#define LL_POLICY_TABLE_COLUMNS 16
#define LL_STEP_TABLE_COLUMNS 9
ll_status ll_report_write_tables(const ll_report_input *in, const ll_policy_summary *p, int n_p,
                                 const ll_step_summary *s, size_t n_s, const char *dir, int formats, ll_error *err);
// One table in one format (one bit) to a stream (`-o -`); JSON is the whole
// document whatever the table; the calls table is CSV only. name: for messages.
ll_status ll_report_print_table(FILE *f, const char *name, const ll_report_input *in, const ll_policy_summary *p,
                                int n_p, const ll_step_summary *s, size_t n_s, ll_report_table table, int format,
                                ll_error *err);

typedef struct {
    const char *out_dir;
    const char *scripts_dir;     // NULL: $LITELAB_GNUPLOT_DIR, <exe>/../analysis, ./analysis, ../analysis
    const char *heatmap_policy;  // NULL: the first non-dense policy with masks
    int heatmap_layer;           // -1: the first layer with masks
    int heatmap_head;
    int heatmap_steps[8];
    int n_heatmap_steps;         // 0: up to 4 steps spread over those recorded
    int no_figures;              // tables only
    int formats;                 // table formats (LL_FORMAT_*), 0: all
    int force;                   // write into a non-empty folder, removing the report files there first
    int verbose;
    ll_progress *progress;       // one update per figure (NULL: none)
} ll_report_options;

// Everything: tables, data files, figures, report.md, replot.sh. Refuses a
// folder that holds anything unless force; with force, first removes the
// files a report writes (tables, data files, figures, report.md, replot.sh,
// gnuplot.log), so no figure of an older report stays behind; other files
// stay. Lists what it wrote on stdout when verbose.
ll_status ll_report_write(const ll_report_input *in, const ll_report_options *opt, ll_error *err);

#ifdef __cplusplus
}
#endif
