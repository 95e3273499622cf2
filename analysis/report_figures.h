// report_figures.h: the figures of `litelab report`, one function each
// (report_figures.c: runtime, steps, threshold sweep, Pareto; report_masks.c:
// mask heatmaps and sparsity distributions; report_captions.c: the shape,
// maps and hardware each figure names). Internal to analysis/.
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

// Where a figure's numbers come from (report_captions.c).
void ll_fig_maps_label(const ll_trace_meta *m, char *out, size_t len);
void ll_fig_hardware_label(const ll_trace_meta *m, char *out, size_t len);
void ll_fig_trace_provenance(const ll_report_trace *t, char *out, size_t len);
void ll_fig_subtitle(const fig_ctx *c, const int *use, char *out, size_t len);
int ll_fig_walk_marks(const char *kind);

// Point labels (label_place.c): for each of n points (data coordinates, y on a
// log axis when log_y) with a label of chars characters, where its label goes:
// bit 0 below (else above), bit 1 left (else right) of the point, side / 4 the
// number of lines it is raised (or lowered) by, 0..2.
void ll_label_sides(const double *x, const double *y, const int *chars, int n, int log_y, int *side);
// How many pairs of those labels overlap, placed by side (the same model).
int ll_label_collisions(const double *x, const double *y, const int *chars, int n, int log_y, const int *side);
