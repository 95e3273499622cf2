// report_figures.h: the figures of `litelab report`, one function each
// (report_figures.c: runtime, steps, threshold sweep, Pareto; report_masks.c:
// mask heatmaps and sparsity distributions). Internal to analysis/.
#pragma once
#include <stdio.h>

#include "gnuplot.h"
#include "report.h"

#define LL_MAX_FIGURES 64

typedef struct {
    const ll_report_input *in;
    const ll_report_options *opt;
    const ll_policy_summary *policies;
    int n_policies;
    const ll_step_summary *steps;
    size_t n_steps;
    const char *out_dir;
    char scripts_dir[1024];
    FILE *replot;
    // what was drawn (stem: <stem>.png/.svg) and what was not, for report.md
    struct {
        char stem[96];
        char caption[320];
    } figures[LL_MAX_FIGURES];
    int n_figures;
    char notes[LL_MAX_FIGURES][200];
    int n_notes;
} fig_ctx;

ll_status ll_fig_runtime(fig_ctx *c, ll_error *err);
ll_status ll_fig_steps(fig_ctx *c, ll_error *err);
ll_status ll_fig_threshold_sweep(fig_ctx *c, ll_error *err);
ll_status ll_fig_pareto(fig_ctx *c, ll_error *err);
ll_status ll_fig_heatmaps(fig_ctx *c, ll_error *err);
ll_status ll_fig_distributions(fig_ctx *c, ll_error *err);

// Shared by the figure files.
void ll_fig_safe_name(const char *label, char *out, size_t len);
ll_status ll_fig_draw(fig_ctx *c, const char *script, const char *stem, ll_gp_vars *v, const char *caption,
                      ll_error *err);
void ll_fig_note(fig_ctx *c, const char *fmt, const char *arg);
