// report.c: `litelab report` end to end (report.h): summaries, tables,
// figures, then report.md tying them together with each trace's provenance,
// and replot.sh with the exact gnuplot commands.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "report.h"
#include "report_figures.h"
#include "report_folder.h"

static ll_status write_markdown(const fig_ctx *c, ll_error *err) {
    char path[1100];
    snprintf(path, sizeof path, "%s/report.md", c->out_dir);
    FILE *f = fopen(path, "w");
    if (!f) return ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "# litelab report\n\n## Traces\n\n");
    for (int i = 0; i < c->in->n_traces; i++) {
        const ll_report_trace *t = &c->in->traces[i];
        const ll_trace_meta *m = &t->meta;
        fprintf(f, "- `%s`: experiment `%s`, trajectory `%s`; B=%d N=%d H=%d D=%d %s, %d steps x %d layers, %dx%d tiles, "
                   "%s encoding; backend %s, kernel %s%s%s; litelab %s (%s), created %s%s\n",
                t->path, m->experiment, m->trajectory, m->shape.B, m->shape.N, m->shape.H, m->shape.D,
                ll_dtype_name(m->shape.dtype), m->steps, m->layers, m->tiling.block_m, m->tiling.block_n,
                ll_list_encoding_name(m->encoding), m->backend, m->kernel, m->gpu_name[0] ? ", GPU " : "",
                m->gpu_name, m->toolkit_version, m->git_commit, m->created,
                m->complete ? "" : " **(incomplete: a killed run; only its durable steps are used)**");
    }
    fprintf(f, "\n## Policies\n\nRuntime: CUPTI kernel time on the GPU backend, host wall time on the CPU backend "
               "(column \"time source\"). Speedup: the dense policy's mean call time over this policy's, within "
               "the same trace. Errors are against the dense output of the same call.\n\n");
    ll_status st = ll_report_print_table(f, path, c->in, c->policies, c->n_policies, c->steps, c->n_steps,
                                         LL_TABLE_POLICIES, LL_FORMAT_MD, err);
    if (st != LL_OK) {
        fclose(f);
        return st;
    }
    int formats = c->opt->formats ? c->opt->formats : LL_FORMAT_ALL;
    fprintf(f, "\nThe tables as files:%s%s%s\n\n## Figures\n\n",
            formats & LL_FORMAT_MD ? " per step [steps.md](steps.md);" : "",
            formats & LL_FORMAT_CSV
                ? " CSV [policies.csv](policies.csv), [steps.csv](steps.csv), [calls.csv](calls.csv) (every call row);"
                : "",
            formats & LL_FORMAT_JSON ? " JSON [report.json](report.json) (policies and steps as NVBench-style states)."
                                     : "");
    for (int i = 0; i < c->n_figures; i++)
        fprintf(f, "### %s\n\n%s\n\n![%s](%s.png) ([SVG](%s.svg))\n\n", c->figures[i].stem, c->figures[i].caption,
                c->figures[i].stem, c->figures[i].stem, c->figures[i].stem);
    if (c->n_notes) {
        fprintf(f, "## Not drawn\n\n");
        for (int i = 0; i < c->n_notes; i++) fprintf(f, "- %s\n", c->notes[i]);
        fputc('\n', f);
    }
    fprintf(f, "The figures come from the gnuplot scripts in `analysis/` (restyle `style.gp`); `replot.sh` here "
               "re-runs them on the data files next to this report.\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return ll_fail(err, LL_ERR_IO, "%s: write failed", path);
    return LL_OK;
}

ll_status ll_report_write(const ll_report_input *in, const ll_report_options *opt, ll_error *err) {
    if (!opt || !opt->out_dir || !*opt->out_dir) return ll_fail(err, LL_ERR_USAGE, "report: no output folder (-o DIR)");
    LL_TRY(ll_report_prepare_folder(opt->out_dir, opt->force, err));
    fig_ctx *c = calloc(1, sizeof *c);
    if (!c) return ll_fail(err, LL_ERR_NOMEM, "report: out of memory");
    c->in = in;
    c->opt = opt;
    c->out_dir = opt->out_dir;
    ll_policy_summary *p = NULL;
    ll_step_summary *s = NULL;
    ll_status st = ll_report_summarize(in, &p, &c->n_policies, &s, &c->n_steps, err);
    c->policies = p;
    c->steps = s;
    if (st == LL_OK)
        st = ll_report_write_tables(in, p, c->n_policies, s, c->n_steps, opt->out_dir, opt->formats, err);
    if (st == LL_OK && !opt->no_figures) {
        st = ll_gnuplot_find_scripts(opt->scripts_dir, c->scripts_dir, sizeof c->scripts_dir, err);
        char replot_path[1100];
        snprintf(replot_path, sizeof replot_path, "%s/replot.sh", opt->out_dir);
        if (st == LL_OK) {
            c->replot = fopen(replot_path, "w");
            if (!c->replot) st = ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", replot_path, strerror(errno));
        }
        if (st == LL_OK) {
            fprintf(c->replot, "#!/bin/sh\n# Re-draws the figures of this report from its data files.\nset -e\n"
                               "cd \"$(dirname \"$0\")\"\n");
            char log_path[1100];
            snprintf(log_path, sizeof log_path, "%s/gnuplot.log", opt->out_dir);
            remove(log_path);
        }
        ll_status (*const figures[])(fig_ctx *, ll_error *) = {ll_fig_runtime, ll_fig_steps, ll_fig_threshold_sweep,
                                                               ll_fig_pareto, ll_fig_heatmaps, ll_fig_distributions};
        for (size_t i = 0; st == LL_OK && i < sizeof figures / sizeof figures[0]; i++) {
            fflush(c->replot);
            st = figures[i](c, err);
        }
        if (opt->progress) ll_progress_end(opt->progress);
        if (c->replot) {
            if (fclose(c->replot) != 0 && st == LL_OK) st = ll_fail(err, LL_ERR_IO, "%s: write failed", replot_path);
            chmod(replot_path, 0755);
        }
    }
    if (st == LL_OK) st = write_markdown(c, err);
    if (st == LL_OK && opt->verbose) {
        printf("report: %d policies, %zu (policy, step) rows, %d figures in %s\n", c->n_policies, c->n_steps,
               c->n_figures, opt->out_dir);
        for (int i = 0; i < c->n_figures; i++) printf("  %s.png %s.svg\n", c->figures[i].stem, c->figures[i].stem);
        for (int i = 0; i < c->n_notes; i++) printf("  not drawn: %s\n", c->notes[i]);
    }
    free(p);
    free(s);
    free(c);
    return st;
}
