// report_tables.c: the policy and per-step tables as CSV (for scripts: plain
// numbers, "nan" where a value does not exist) and Markdown (for people), and
// calls.csv: every trace row as it is stored (CUPTI times, tile and FLOP
// counts, tensor-work ratio, errors), so scripts need no HDF5 library. Each
// table is written to a stream: files in the report folder, or stdout
// (`litelab report -o -`); JSON is report_json.c.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "report_tables.h"

const char *ll_runtime_source_name(ll_runtime_source s) {
    return s == LL_RUNTIME_GPU ? "gpu" : s == LL_RUNTIME_HOST ? "host" : "none";
}

const char *ll_report_base_name(const char *path) {
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

static void policies_csv(FILE *f, const ll_report_input *in, const ll_policy_summary *p, int n_p) {
    fputs("trace,policy,kind,threshold,calls,mean_kept_fraction,skipped_flop_ratio,runtime_source,total_runtime_ms,"
          "mean_call_ms,speedup_vs_dense,mean_rel_l2,max_rel_l2,min_cosine,max_skipped_mass,call_rows\n",
          f);
    for (int i = 0; i < n_p; i++) {
        csv_str(f, ll_report_base_name(in->traces[p[i].trace].path));
        fputc(',', f);
        csv_str(f, p[i].label);
        fputc(',', f);
        csv_str(f, p[i].kind);
        csv_num(f, p[i].threshold);
        fprintf(f, ",%zu", p[i].calls);
        csv_num(f, p[i].mean_kept);
        csv_num(f, p[i].skipped_ratio);
        fprintf(f, ",%s", ll_runtime_source_name(p[i].runtime_source));
        csv_num(f, p[i].runtime_ms);
        csv_num(f, p[i].mean_call_ms);
        csv_num(f, p[i].speedup);
        csv_num(f, p[i].mean_rel_l2);
        csv_num(f, p[i].max_rel_l2);
        csv_num(f, p[i].min_cosine);
        csv_num(f, p[i].max_skipped_mass);
        fprintf(f, ",%s\n", p[i].per_head_calls ? "head" : "layer");
    }
}

static void steps_csv(FILE *f, const ll_policy_summary *p, const ll_step_summary *s, size_t n_s) {
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
}

static void calls_csv(FILE *f, const ll_report_input *in, const ll_policy_summary *p, int n_p) {
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
            csv_str(f, ll_report_base_name(t->path));
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
}

static void policies_md(FILE *f, const ll_report_input *in, const ll_policy_summary *p, int n_p) {
    fputs("| trace | policy | kind | threshold | calls | mean kept | skipped FLOPs | runtime (ms) | time source | "
          "speedup vs dense | mean rel L2 | max rel L2 | min cosine |\n"
          "|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|\n",
          f);
    for (int i = 0; i < n_p; i++) {
        fputc('|', f);
        md_str(f, ll_report_base_name(in->traces[p[i].trace].path));
        md_str(f, p[i].label);
        md_str(f, p[i].kind);
        md_num(f, "%g", p[i].threshold);
        fprintf(f, " %zu%s |", p[i].calls, p[i].per_head_calls ? " (heads)" : "");
        md_num(f, "%.4f", p[i].mean_kept);
        md_num(f, "%.4f", p[i].skipped_ratio);
        md_num(f, "%.3f", p[i].runtime_ms);
        md_str(f, ll_runtime_source_name(p[i].runtime_source));
        md_num(f, "%.3fx", p[i].speedup);
        md_num(f, "%.3e", p[i].mean_rel_l2);
        md_num(f, "%.3e", p[i].max_rel_l2);
        md_num(f, "%.6f", p[i].min_cosine);
        fputc('\n', f);
    }
}

static void steps_md(FILE *f, const ll_policy_summary *p, const ll_step_summary *s, size_t n_s) {
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
}

ll_status ll_report_parse_formats(const char *list, int *formats, ll_error *err) {
    *formats = 0;
    const char *s = list;
    while (*s) {
        size_t n = strcspn(s, ",");
        if (n == 3 && !strncmp(s, "csv", 3)) *formats |= LL_FORMAT_CSV;
        else if (n == 4 && !strncmp(s, "json", 4)) *formats |= LL_FORMAT_JSON;
        else if (n == 2 && !strncmp(s, "md", 2)) *formats |= LL_FORMAT_MD;
        else return ll_fail(err, LL_ERR_USAGE, "--format %s: expected csv, json, md or a list of them (csv,md)", list);
        s += n + (s[n] == ',');
    }
    if (!*formats) return ll_fail(err, LL_ERR_USAGE, "--format: no format given (csv, json, md)");
    return LL_OK;
}

ll_status ll_report_parse_table(const char *name, ll_report_table *table, ll_error *err) {
    if (!strcmp(name, "policies")) *table = LL_TABLE_POLICIES;
    else if (!strcmp(name, "steps")) *table = LL_TABLE_STEPS;
    else if (!strcmp(name, "calls")) *table = LL_TABLE_CALLS;
    else return ll_fail(err, LL_ERR_USAGE, "--table %s: expected policies, steps or calls", name);
    return LL_OK;
}

ll_status ll_report_print_table(FILE *f, const char *name, const ll_report_input *in, const ll_policy_summary *p,
                                int n_p, const ll_step_summary *s, size_t n_s, ll_report_table table, int format,
                                ll_error *err) {
    if (format == LL_FORMAT_JSON) return ll_report_json(f, name, in, p, n_p, s, n_s, err);
    if (format == LL_FORMAT_CSV) {
        if (table == LL_TABLE_POLICIES) policies_csv(f, in, p, n_p);
        else if (table == LL_TABLE_STEPS) steps_csv(f, p, s, n_s);
        else calls_csv(f, in, p, n_p);
    } else if (format == LL_FORMAT_MD && table != LL_TABLE_CALLS) {
        if (table == LL_TABLE_POLICIES) policies_md(f, in, p, n_p);
        else steps_md(f, p, s, n_s);
    } else {
        return ll_fail(err, LL_ERR_USAGE, "%s: the calls table is CSV only (--table calls --format csv)", name);
    }
    if (fflush(f) != 0 || ferror(f)) return ll_fail(err, LL_ERR_IO, "%s: write failed: %s", name, strerror(errno));
    return LL_OK;
}

// One table into a file of the folder.
static ll_status table_file(const char *dir, const char *file, const ll_report_input *in, const ll_policy_summary *p,
                            int n_p, const ll_step_summary *s, size_t n_s, ll_report_table table, int format,
                            ll_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) return ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    ll_status st = ll_report_print_table(f, path, in, p, n_p, s, n_s, table, format, err);
    if (fclose(f) != 0 && st == LL_OK) st = ll_fail(err, LL_ERR_IO, "%s: write failed (disk full?)", path);
    return st;
}

ll_status ll_report_write_tables(const ll_report_input *in, const ll_policy_summary *p, int n_p,
                                 const ll_step_summary *s, size_t n_s, const char *dir, int formats, ll_error *err) {
    if (!formats) formats = LL_FORMAT_ALL;
    if (formats & LL_FORMAT_CSV) {
        LL_TRY(table_file(dir, "policies.csv", in, p, n_p, s, n_s, LL_TABLE_POLICIES, LL_FORMAT_CSV, err));
        LL_TRY(table_file(dir, "steps.csv", in, p, n_p, s, n_s, LL_TABLE_STEPS, LL_FORMAT_CSV, err));
        LL_TRY(table_file(dir, "calls.csv", in, p, n_p, s, n_s, LL_TABLE_CALLS, LL_FORMAT_CSV, err));
    }
    if (formats & LL_FORMAT_MD) {
        LL_TRY(table_file(dir, "policies.md", in, p, n_p, s, n_s, LL_TABLE_POLICIES, LL_FORMAT_MD, err));
        LL_TRY(table_file(dir, "steps.md", in, p, n_p, s, n_s, LL_TABLE_STEPS, LL_FORMAT_MD, err));
    }
    if (formats & LL_FORMAT_JSON)
        LL_TRY(table_file(dir, "report.json", in, p, n_p, s, n_s, LL_TABLE_POLICIES, LL_FORMAT_JSON, err));
    return LL_OK;
}
