// report_figures.c: the data files behind each figure and the gnuplot runs
// (report.h). One function per figure; each writes <name>.dat files into the
// output folder and runs analysis/<name>.gp, which writes <name>.png and
// <name>.svg. A figure whose inputs the traces lack is skipped with a note
// (returned in `note`), never drawn empty.
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gnuplot.h"
#include "report.h"
#include "report_figures.h"
#include "stats.h"

#define MAX_SERIES 48

static ll_status open_dat(const fig_ctx *c, const char *name, FILE **f, ll_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", c->out_dir, name);
    *f = fopen(path, "w");
    if (!*f) return ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return LL_OK;
}

static ll_status close_dat(const fig_ctx *c, FILE *f, const char *name, ll_error *err) {
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return ll_fail(err, LL_ERR_IO, "%s/%s: write failed (disk full?)", c->out_dir, name);
    return LL_OK;
}

// Runs <script> writing <stem>.png and <stem>.svg; records them in the list.
ll_status ll_fig_draw(fig_ctx *c, const char *script, const char *stem, ll_gp_vars *v, const char *caption,
                      ll_error *err) {
    char png[256], svg[256];
    snprintf(png, sizeof png, "%s.png", stem);
    snprintf(svg, sizeof svg, "%s.svg", stem);
    ll_gp_var_str(v, "out_png", png);
    ll_gp_var_str(v, "out_svg", svg);
    ll_gp_var_str(v, "script_dir", c->scripts_dir);
    const char *outs[2] = {png, svg};
    if (c->opt->progress)
        ll_progress_update(c->opt->progress, c->n_figures + 1, 0, "figure %d: %s", c->n_figures + 1, stem);
    LL_TRY(ll_gnuplot_run(c->scripts_dir, script, v, c->out_dir, c->replot, outs, 2, err));
    if (c->n_figures < LL_MAX_FIGURES) {
        snprintf(c->figures[c->n_figures].stem, sizeof c->figures[0].stem, "%s", stem);
        snprintf(c->figures[c->n_figures].caption, sizeof c->figures[0].caption, "%s", caption);
        c->n_figures++;
    }
    return LL_OK;
}

void ll_fig_note(fig_ctx *c, const char *fmt, const char *arg) {
    if (c->n_notes >= LL_MAX_FIGURES) return;
    snprintf(c->notes[c->n_notes++], sizeof c->notes[0], fmt, arg);
}

// File-name-safe version of a label.
void ll_fig_safe_name(const char *label, char *out, size_t len) {
    size_t j = 0;
    for (const char *s = label; *s && j + 1 < len; s++)
        out[j++] = (isalnum((unsigned char)*s) || *s == '-' || *s == '.') ? *s : '_';
    out[j] = 0;
}

// Characters (not bytes) of a UTF-8 string: the width of a label.
static size_t utf8_chars(const char *s) {
    size_t n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static double call_skipped(const ll_trace_call *k) {
    return k->flops_dense ? 1.0 - (double)k->flops_executed / (double)k->flops_dense : NAN;
}

// Traces that can share a runtime axis: same shape, tiling, backend and GPU.
static int same_group(const ll_report_trace *a, const ll_report_trace *b) {
    return a->meta.shape.B == b->meta.shape.B && a->meta.shape.N == b->meta.shape.N &&
           a->meta.shape.H == b->meta.shape.H && a->meta.shape.D == b->meta.shape.D &&
           a->meta.tiling.block_m == b->meta.tiling.block_m && a->meta.tiling.block_n == b->meta.tiling.block_n &&
           !strcmp(a->meta.backend, b->meta.backend) && !strcmp(a->meta.gpu_name, b->meta.gpu_name);
}

// ---------------------------------------------------------------------------
// Runtime against skipped FLOPs, one figure per group of comparable traces.
ll_status ll_fig_runtime(fig_ctx *c, ll_error *err) {
    const ll_report_input *in = c->in;
    int *group = calloc((size_t)in->n_traces, sizeof(int));
    if (!group) return ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
    int n_groups = 0;
    for (int i = 0; i < in->n_traces; i++) {
        group[i] = -1;
        for (int j = 0; j < i && group[i] < 0; j++)
            if (same_group(&in->traces[i], &in->traces[j])) group[i] = group[j];
        if (group[i] < 0) group[i] = n_groups++;
    }
    ll_status st = LL_OK;
    for (int g = 0; g < n_groups && st == LL_OK; g++) {
        char stem[64], dat[80];
        snprintf(stem, sizeof stem, n_groups > 1 ? "runtime_vs_skipped_%d" : "runtime_vs_skipped", g + 1);
        snprintf(dat, sizeof dat, "%s.dat", stem);
        // The runtime source must be one for the whole figure.
        ll_runtime_source src = LL_RUNTIME_NONE;
        int mixed = 0;
        for (int i = 0; i < in->n_traces; i++) {
            if (group[i] != g) continue;
            ll_runtime_source s = ll_trace_runtime_source(&in->traces[i]);
            if (s == LL_RUNTIME_NONE) continue;
            if (src != LL_RUNTIME_NONE && s != src) mixed = 1;
            src = s;
        }
        if (src == LL_RUNTIME_NONE || mixed) {
            ll_fig_note(c, "%s: skipped: the traces have no runtime (or mix GPU and host times)", stem);
            continue;
        }
        FILE *f;
        if ((st = open_dat(c, dat, &f, err)) != LL_OK) break;
        ll_gp_vars v;
        ll_gp_vars_init(&v);
        size_t cap = 1024, n = 0;
        double *xs = malloc(cap * sizeof(double)), *ys = malloc(cap * sizeof(double));
        double dense_sum = 0;
        size_t dense_n = 0;
        int series = 0;
        for (int p = 0; p < c->n_policies && series < MAX_SERIES; p++) {
            const ll_policy_summary *ps = &c->policies[p];
            const ll_report_trace *t = &in->traces[ps->trace];
            if (group[ps->trace] != g) continue;
            int wrote = 0;
            for (size_t k = 0; k < t->n_calls; k++) {
                const ll_trace_call *call = &t->calls[k];
                if (!ll_summary_uses_call(ps, call)) continue;
                double x = call_skipped(call), y = ll_call_runtime(call, src);
                if (!isfinite(x) || !isfinite(y)) continue;
                fprintf(f, "%.9g %.9g\n", x, y);
                wrote = 1;
                if (n == cap) {
                    cap *= 2;
                    xs = realloc(xs, cap * sizeof(double));
                    ys = realloc(ys, cap * sizeof(double));
                }
                xs[n] = x;
                ys[n++] = y;
                if (ps->is_dense) {
                    dense_sum += y;
                    dense_n++;
                }
            }
            if (wrote) {
                fprintf(f, "\n\n");
                char name[24];
                snprintf(name, sizeof name, "title%d", series++);
                ll_gp_var_str(&v, name, ps->label);
            }
        }
        ll_line_fit fit;
        int has_fit = ll_fit_line(xs, ys, n, &fit) == 0 && isfinite(fit.r2);
        free(xs);
        free(ys);
        if ((st = close_dat(c, f, dat, err)) != LL_OK) break;
        if (series == 0) {
            ll_fig_note(c, "%s: skipped: no call has both a runtime and a FLOP count", stem);
            continue;
        }
        ll_gp_var_str(&v, "data", dat);
        ll_gp_var_num(&v, "n_series", series);
        ll_gp_var_str(&v, "ylabel", ll_runtime_label(src));
        ll_gp_var_num(&v, "dense_ms", dense_n ? dense_sum / dense_n : NAN);
        ll_gp_var_num(&v, "has_fit", has_fit);
        ll_gp_var_num(&v, "fit_a", has_fit ? fit.intercept : 0);
        ll_gp_var_num(&v, "fit_b", has_fit ? fit.slope : 0);
        ll_gp_var_num(&v, "fit_r2", has_fit ? fit.r2 : 0);
        // The traces of this group name the figure's shape, maps and hardware.
        int *use = calloc((size_t)in->n_traces, sizeof(int));
        if (!use) {
            st = ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
            break;
        }
        for (int i = 0; i < in->n_traces; i++) use[i] = group[i] == g;
        char subtitle[700];
        ll_fig_subtitle(c, use, subtitle, sizeof subtitle);
        free(use);
        ll_gp_var_str(&v, "plot_title", "Runtime of each call against its skipped FLOPs");
        ll_gp_var_str(&v, "subtitle", subtitle);
        char caption[300];
        snprintf(caption, sizeof caption,
                 "Runtime of every call against its skipped-FLOP ratio; dashed: the ideal 1:1 line from the dense "
                 "time; red: least squares (slope %.4g ms, intercept %.4g ms, R² %.4f over %zu calls).",
                 has_fit ? fit.slope : NAN, has_fit ? fit.intercept : NAN, has_fit ? fit.r2 : NAN, fit.n);
        st = ll_fig_draw(c, "runtime_vs_skipped.gp", stem, &v, caption, err);
    }
    free(group);
    return st;
}

// ---------------------------------------------------------------------------
// Skipped fraction per step, one line per policy.
ll_status ll_fig_steps(fig_ctx *c, ll_error *err) {
    FILE *f;
    LL_TRY(open_dat(c, "skipped_per_step.dat", &f, err));
    ll_gp_vars v;
    ll_gp_vars_init(&v);
    int series = 0, step_min = 0, step_max = 0, any = 0;
    for (int p = 0; p < c->n_policies && series < MAX_SERIES; p++) {
        int wrote = 0;
        for (size_t i = 0; i < c->n_steps; i++) {
            if (c->steps[i].summary != p || !isfinite(c->steps[i].skipped_ratio)) continue;
            fprintf(f, "%d %.9g\n", c->steps[i].step, c->steps[i].skipped_ratio);
            wrote = 1;
            int st = c->steps[i].step;
            if (!any || st < step_min) step_min = st;
            if (!any || st > step_max) step_max = st;
            any = 1;
        }
        if (wrote) {
            fprintf(f, "\n\n");
            char name[24];
            snprintf(name, sizeof name, "title%d", series++);
            ll_gp_var_str(&v, name, c->policies[p].label);
        }
    }
    LL_TRY(close_dat(c, f, "skipped_per_step.dat", err));
    if (!series) {
        ll_fig_note(c, "%s: skipped: no call has a FLOP count", "skipped_per_step");
        return LL_OK;
    }
    char subtitle[700];
    ll_fig_subtitle(c, NULL, subtitle, sizeof subtitle);
    ll_gp_var_str(&v, "data", "skipped_per_step.dat");
    ll_gp_var_num(&v, "n_series", series);
    ll_gp_var_num(&v, "step_min", step_min);
    ll_gp_var_num(&v, "step_max", step_max);
    ll_gp_var_str(&v, "plot_title", "Skipped FLOPs per step (skips accumulate)");
    ll_gp_var_str(&v, "subtitle", subtitle);
    return ll_fig_draw(c, "skipped_per_step.gp", "skipped_per_step", &v,
                "Fraction of each step's FLOPs skipped, per policy: with propagation, skips only accumulate.", err);
}

// ---------------------------------------------------------------------------
// Threshold sweep: policies with a constant threshold, one line per kind.
static int cmp_threshold(const void *a, const void *b) {
    const ll_policy_summary *x = *(ll_policy_summary *const *)a, *y = *(ll_policy_summary *const *)b;
    int k = strcmp(x->kind, y->kind);
    if (k) return k;
    return (x->threshold > y->threshold) - (x->threshold < y->threshold);
}

ll_status ll_fig_threshold_sweep(fig_ctx *c, ll_error *err) {
    const ll_policy_summary **sel = malloc(sizeof *sel * (size_t)(c->n_policies ? c->n_policies : 1));
    if (!sel) return ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
    int n = 0, has_speedup = 0, positive_err = 0, zero_err = 0;
    for (int p = 0; p < c->n_policies; p++) {
        const ll_policy_summary *ps = &c->policies[p];
        if (ps->is_dense || !isfinite(ps->threshold) || !isfinite(ps->skipped_ratio)) continue;
        sel[n++] = ps;
        if (isfinite(ps->speedup)) has_speedup = 1;
        if (ps->mean_rel_l2 > 0) positive_err++;
        if (ps->mean_rel_l2 == 0) zero_err++;
    }
    if (n < 2) {
        free(sel);
        ll_fig_note(c, "%s: skipped: fewer than two policies with a constant threshold", "threshold_sweep");
        return LL_OK;
    }
    qsort(sel, (size_t)n, sizeof *sel, cmp_threshold);
    FILE *f;
    ll_status st = open_dat(c, "threshold_sweep.dat", &f, err);
    if (st != LL_OK) {
        free(sel);
        return st;
    }
    ll_gp_vars v;
    ll_gp_vars_init(&v);
    int series = 0;
    for (int i = 0; i < n; i++) {
        fprintf(f, "%.9g %.9g %.9g %.9g\n", sel[i]->threshold, sel[i]->skipped_ratio, sel[i]->mean_rel_l2,
                sel[i]->speedup);
        if (i + 1 == n || strcmp(sel[i + 1]->kind, sel[i]->kind)) {
            fprintf(f, "\n\n");
            char name[24], t[80];
            snprintf(name, sizeof name, "title%d", series++);
            snprintf(t, sizeof t, "policy kind %s", sel[i]->kind);
            ll_gp_var_str(&v, name, t);
        }
    }
    free(sel);
    LL_TRY(close_dat(c, f, "threshold_sweep.dat", err));
    ll_gp_var_str(&v, "data", "threshold_sweep.dat");
    ll_gp_var_num(&v, "n_series", series);
    // Errors span decades: a log axis whenever two are positive; exact zeros
    // (thresholds that skip nothing) cannot sit on it, and the panel says so.
    ll_gp_var_num(&v, "log_err", positive_err >= 2);
    ll_gp_var_num(&v, "zero_err", positive_err >= 2 ? zero_err : 0);
    ll_gp_var_num(&v, "has_speedup", has_speedup);
    ll_gp_var_str(&v, "speedup_label", "speedup vs dense");
    ll_gp_var_str(&v, "plot_title", "Threshold sweep: sparsity, output error and speedup");
    char subtitle[700];
    ll_fig_subtitle(c, NULL, subtitle, sizeof subtitle);
    ll_gp_var_str(&v, "subtitle", subtitle);
    return ll_fig_draw(c, "threshold_sweep.gp", "threshold_sweep", &v,
                "Skipped-FLOP ratio, mean relative L2 error and speedup (dense time per call over the policy's) of the "
                "policies with a constant threshold.",
                err);
}

// ---------------------------------------------------------------------------
// Error against speedup with the Pareto front.
static void free_points(int *owner, int *chars, int *side, double *px, double *py) {
    free(owner);
    free(chars);
    free(side);
    free(px);
    free(py);
}

ll_status ll_fig_pareto(fig_ctx *c, ll_error *err) {
    int n = c->n_policies, use_time = 0;
    for (int p = 0; p < n; p++)
        if (isfinite(c->policies[p].speedup)) use_time = 1;
    double *gain = malloc(sizeof(double) * (size_t)(n ? n : 1)), *cost = malloc(sizeof(double) * (size_t)(n ? n : 1));
    int *front = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!gain || !cost || !front) {
        free(gain);
        free(cost);
        free(front);
        return ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
    }
    int usable = 0, positive = 0;
    double min_pos = INFINITY, max_pos = 0;
    for (int p = 0; p < n; p++) {
        const ll_policy_summary *ps = &c->policies[p];
        gain[p] = use_time ? ps->speedup : (ps->skipped_ratio < 1 ? 1.0 / (1.0 - ps->skipped_ratio) : NAN);
        cost[p] = ps->mean_rel_l2;
        if (isfinite(gain[p]) && isfinite(cost[p])) {
            usable++;
            if (cost[p] > 0) {
                positive++;
                min_pos = fmin(min_pos, cost[p]);
                max_pos = fmax(max_pos, cost[p]);
            }
        }
    }
    ll_pareto_front(gain, cost, (size_t)n, front);
    // Errors spread over decades (a threshold sweep) need a log axis, or the
    // accurate policies pile up at 0; exact zeros (dense) then sit on its
    // floor, a quarter of the smallest error, labelled "(error 0)".
    int log_err = positive >= 2 && max_pos >= 100 * min_pos;
    double floor_err = min_pos / 4;
#define PLOT_COST(p) (log_err && !(cost[p] > 0) ? floor_err : cost[p])
#define ZERO_NOTE " (error 0)"
    ll_status st = LL_OK;
    if (usable < 2) {
        ll_fig_note(c, "%s: skipped: fewer than two policies with both an error and a speedup", "error_vs_speedup");
        goto done;
    }
    // Policies at the same point share one label ("a, b") instead of
    // overprinting; each label then gets the side where it collides least.
    int n_points = 0, *owner = malloc(sizeof(int) * (size_t)n), *chars = malloc(sizeof(int) * (size_t)n),
        *side = malloc(sizeof(int) * (size_t)n);
    double *px = malloc(sizeof(double) * (size_t)n), *py = malloc(sizeof(double) * (size_t)n);
    if (!owner || !chars || !side || !px || !py) {
        free_points(owner, chars, side, px, py);
        st = ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
        goto done;
    }
    for (int p = 0; p < n; p++) {
        if (!isfinite(gain[p]) || !isfinite(cost[p])) continue;
        int first = 1;
        for (int q = 0; q < p && first; q++)
            if (gain[q] == gain[p] && cost[q] == cost[p]) first = 0;
        if (!first) continue;
        owner[n_points] = p;
        px[n_points] = gain[p];
        py[n_points] = PLOT_COST(p);
        chars[n_points] = log_err && !(cost[p] > 0) ? (int)strlen(ZERO_NOTE) : 0;
        for (int q = p; q < n; q++)
            if (gain[q] == gain[p] && cost[q] == cost[p])
                chars[n_points] += (int)utf8_chars(c->policies[q].label) + (q != p ? 2 : 0);
        n_points++;
    }
    ll_label_sides(px, py, chars, n_points, log_err, side);
    FILE *f = NULL;
    st = open_dat(c, "error_vs_speedup.dat", &f, err);
    for (int i = 0; st == LL_OK && i < n_points; i++) {
        int p = owner[i];
        fprintf(f, "%.9g %.9g \"", gain[p], PLOT_COST(p));
        for (int q = p; q < n; q++) {
            if (gain[q] != gain[p] || cost[q] != cost[p]) continue;
            if (q != p) fputs(", ", f);
            for (const char *s = c->policies[q].label; *s; s++) fputc(*s == '"' ? '\'' : *s, f);
        }
        fprintf(f, "%s\" %d %d\n", log_err && !(cost[p] > 0) ? ZERO_NOTE : "", front[p], side[i]);
    }
    free_points(owner, chars, side, px, py);
    if (st != LL_OK) goto done;
    if ((st = close_dat(c, f, "error_vs_speedup.dat", err)) != LL_OK) goto done;
    if ((st = open_dat(c, "pareto_front.dat", &f, err)) != LL_OK) goto done;
    // The front sorted by gain (selection: n is small).
    int *done_ = calloc((size_t)n, sizeof(int));
    for (;;) {
        int best = -1;
        for (int p = 0; p < n; p++)
            if (front[p] && !done_[p] && (best < 0 || gain[p] < gain[best])) best = p;
        if (best < 0) break;
        done_[best] = 1;
        fprintf(f, "%.9g %.9g\n", gain[best], PLOT_COST(best));
    }
    free(done_);
    if ((st = close_dat(c, f, "pareto_front.dat", err)) != LL_OK) goto done;
    {
        ll_gp_vars v;
        ll_gp_vars_init(&v);
        ll_gp_var_str(&v, "data", "error_vs_speedup.dat");
        ll_gp_var_str(&v, "front", "pareto_front.dat");
        ll_gp_var_str(&v, "xlabel_text",
                      use_time ? "speedup vs dense (dense time per call / time per call)"
                               : "FLOP speedup 1 / (1 − skipped FLOP ratio) (no runtime measured)");
        ll_gp_var_num(&v, "log_err", log_err);
        ll_gp_var_str(&v, "plot_title", "Output error against speedup, with the Pareto front");
        char subtitle[700];
        ll_fig_subtitle(c, NULL, subtitle, sizeof subtitle);
        ll_gp_var_str(&v, "subtitle", subtitle);
        st = ll_fig_draw(c, "error_vs_speedup.gp", "error_vs_speedup", &v,
                  "Mean relative L2 error against speedup per policy; red: the Pareto front (no other policy is both "
                  "faster and more accurate).",
                  err);
    }
done:
    free(gain);
    free(cost);
    free(front);
    return st;
}
#undef PLOT_COST
#undef ZERO_NOTE
