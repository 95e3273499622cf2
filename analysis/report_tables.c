// report_tables.c: the policy and per-step tables as CSV (for scripts: plain
// numbers, "nan" where a value does not exist) and Markdown (for people), and
// calls.csv: every trace row as it is stored (CUPTI times, tile and FLOP
// counts, tensor-work ratio, errors), so scripts need no HDF5 library.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

static const char *source_name(ll_runtime_source s) {
    return s == LL_RUNTIME_GPU ? "gpu" : s == LL_RUNTIME_HOST ? "host" : "none";
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

// A CSV field: quoted when it holds a comma, quote or line break.
static void csv_str(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, ",%.9g", v);
    else
        fputs(",nan", f);
}

// A Markdown cell: pipes escaped.
static void md_str(FILE *f, const char *s) {
    fputs(" ", f);
    for (; *s; s++) {
        if (*s == '|') fputc('\\', f);
        fputc(*s, f);
    }
    fputs(" |", f);
}

static void md_num(FILE *f, const char *fmt, double v) {
    if (isfinite(v)) {
        fputc(' ', f);
        fprintf(f, fmt, v);
        fputs(" |", f);
    } else {
        fputs(" n/a |", f);
    }
}

static ll_status open_out(const char *dir, const char *name, FILE **f, char *path, size_t len, ll_error *err) {
    snprintf(path, len, "%s/%s", dir, name);
    *f = fopen(path, "w");
    if (!*f) return ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return LL_OK;
}

static ll_status close_out(FILE *f, const char *path, ll_error *err) {
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return ll_fail(err, LL_ERR_IO, "%s: write failed (disk full?)", path);
    return LL_OK;
}

ll_status ll_report_write_tables(const ll_report_input *in, const ll_policy_summary *p, int n_p,
                                 const ll_step_summary *s, size_t n_s, const char *dir, ll_error *err) {
    char path[1024];
    FILE *f;
    // policies.csv
    LL_TRY(open_out(dir, "policies.csv", &f, path, sizeof path, err));
    fputs("trace,policy,kind,threshold,calls,mean_kept_fraction,skipped_flop_ratio,runtime_source,total_runtime_ms,"
          "mean_call_ms,speedup_vs_dense,mean_rel_l2,max_rel_l2,min_cosine,max_skipped_mass,call_rows\n",
          f);
    for (int i = 0; i < n_p; i++) {
        csv_str(f, base_name(in->traces[p[i].trace].path));
        fputc(',', f);
        csv_str(f, p[i].label);
        fputc(',', f);
        csv_str(f, p[i].kind);
        csv_num(f, p[i].threshold);
        fprintf(f, ",%zu", p[i].calls);
        csv_num(f, p[i].mean_kept);
        csv_num(f, p[i].skipped_ratio);
        fprintf(f, ",%s", source_name(p[i].runtime_source));
        csv_num(f, p[i].runtime_ms);
        csv_num(f, p[i].mean_call_ms);
        csv_num(f, p[i].speedup);
        csv_num(f, p[i].mean_rel_l2);
        csv_num(f, p[i].max_rel_l2);
        csv_num(f, p[i].min_cosine);
        csv_num(f, p[i].max_skipped_mass);
        fprintf(f, ",%s\n", p[i].per_head_calls ? "head" : "layer");
    }
    LL_TRY(close_out(f, path, err));

    // steps.csv
    LL_TRY(open_out(dir, "steps.csv", &f, path, sizeof path, err));
    fputs("policy,step,calls,mean_kept_fraction,skipped_flop_ratio,runtime_ms,mean_rel_l2,max_rel_l2,min_cosine\n", f);
    for (size_t i = 0; i < n_s; i++) {
        csv_str(f, p[s[i].summary].label);
        fprintf(f, ",%d,%zu", s[i].step, s[i].calls);
        csv_num(f, s[i].mean_kept);
        csv_num(f, s[i].skipped_ratio);
        csv_num(f, s[i].runtime_ms);
        csv_num(f, s[i].mean_rel_l2);
        csv_num(f, s[i].max_rel_l2);
        csv_num(f, s[i].min_cosine);
        fputc('\n', f);
    }
    LL_TRY(close_out(f, path, err));

    // calls.csv: every row of every trace (whole-layer and per-head), for scripts
    LL_TRY(open_out(dir, "calls.csv", &f, path, sizeof path, err));
    fputs("trace,policy,step,layer,head,threshold,gpu_ms,host_ms,n_kernels,tiles_total,tiles_kept,flops_dense,"
          "flops_executed,tensor_work_ratio,rel_l2,max_abs,cosine,worst_row_rel_l2,skipped_mass\n",
          f);
    for (int ti = 0; ti < in->n_traces; ti++) {
        const ll_report_trace *t = &in->traces[ti];
        for (size_t i = 0; i < t->n_calls; i++) {
            const ll_trace_call *c = &t->calls[i];
            const char *label = c->policy >= 0 && c->policy < t->n_policies ? t->policies[c->policy].name : "?";
            for (int j = 0; j < n_p; j++)
                if (p[j].trace == ti && p[j].policy == c->policy) label = p[j].label;
            csv_str(f, base_name(t->path));
            fputc(',', f);
            csv_str(f, label);
            fprintf(f, ",%d,%d,%d", c->step, c->layer, c->head);
            csv_num(f, c->threshold);
            csv_num(f, c->gpu_ms);
            csv_num(f, c->host_ms);
            fprintf(f, ",%d,%llu,%llu,%llu,%llu", c->n_kernels, (unsigned long long)c->tiles_total,
                    (unsigned long long)c->tiles_kept, (unsigned long long)c->flops_dense,
                    (unsigned long long)c->flops_executed);
            csv_num(f, c->tensor_work_ratio);
            csv_num(f, c->rel_l2);
            csv_num(f, c->max_abs);
            csv_num(f, c->cosine);
            csv_num(f, c->worst_row_rel_l2);
            csv_num(f, c->skipped_mass);
            fputc('\n', f);
        }
    }
    LL_TRY(close_out(f, path, err));

    // policies.md
    LL_TRY(open_out(dir, "policies.md", &f, path, sizeof path, err));
    fputs("| trace | policy | kind | threshold | calls | mean kept | skipped FLOPs | runtime (ms) | time source | "
          "speedup vs dense | mean rel L2 | max rel L2 | min cosine |\n"
          "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n",
          f);
    for (int i = 0; i < n_p; i++) {
        fputc('|', f);
        md_str(f, base_name(in->traces[p[i].trace].path));
        md_str(f, p[i].label);
        md_str(f, p[i].kind);
        md_num(f, "%g", p[i].threshold);
        fprintf(f, " %zu%s |", p[i].calls, p[i].per_head_calls ? " (heads)" : "");
        md_num(f, "%.4f", p[i].mean_kept);
        md_num(f, "%.4f", p[i].skipped_ratio);
        md_num(f, "%.3f", p[i].runtime_ms);
        md_str(f, source_name(p[i].runtime_source));
        md_num(f, "%.3fx", p[i].speedup);
        md_num(f, "%.3e", p[i].mean_rel_l2);
        md_num(f, "%.3e", p[i].max_rel_l2);
        md_num(f, "%.6f", p[i].min_cosine);
        fputc('\n', f);
    }
    LL_TRY(close_out(f, path, err));

    // steps.md
    LL_TRY(open_out(dir, "steps.md", &f, path, sizeof path, err));
    fputs("| policy | step | calls | mean kept | skipped FLOPs | runtime (ms) | mean rel L2 | max rel L2 | min cosine |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
          f);
    for (size_t i = 0; i < n_s; i++) {
        fputc('|', f);
        md_str(f, p[s[i].summary].label);
        fprintf(f, " %d | %zu |", s[i].step, s[i].calls);
        md_num(f, "%.4f", s[i].mean_kept);
        md_num(f, "%.4f", s[i].skipped_ratio);
        md_num(f, "%.3f", s[i].runtime_ms);
        md_num(f, "%.3e", s[i].mean_rel_l2);
        md_num(f, "%.3e", s[i].max_rel_l2);
        md_num(f, "%.6f", s[i].min_cosine);
        fputc('\n', f);
    }
    return close_out(f, path, err);
}
