// calib_output.c: what `litelab calibrate` writes (calibrate.h): the schedule
// as an experiment policy, and the comparison of a prediction with the trace
// of a real replay.
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "trace.h"

void ll_calib_collapse_layers(const float *thresholds, int steps, int layers, float *out) {
    for (int s = 0; s < steps; s++) {
        out[s] = thresholds[s];
        for (int l = 1; l < layers; l++)
            if (thresholds[(size_t)l * steps + s] < out[s]) out[s] = thresholds[(size_t)l * steps + s];
    }
}

struct cJSON *ll_calib_policy_json(const char *name, const float *per_step, int steps) {
    cJSON *p = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "kind", "lite_schedule");
    for (int s = 0; s < steps; s++) {
        if (isinf(per_step[s]))
            cJSON_AddItemToArray(arr, cJSON_CreateString("-inf"));
        else
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(per_step[s]));
    }
    cJSON_AddItemToObject(p, "thresholds", arr);
    return p;
}

void ll_calib_prediction_free(ll_calib_prediction *pred) {
    free((void *)pred->thresholds);
    free((void *)pred->pred_skipped);
    free((void *)pred->pred_err_bound);
    free((void *)pred->pred_err_exact);
    memset(pred, 0, sizeof *pred);
}

ll_status ll_calib_read_prediction(const char *dir, ll_calib_prediction *pred, ll_error *err) {
    memset(pred, 0, sizeof *pred);
    char path[1024], line[512];
    snprintf(path, sizeof path, "%s/prediction.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) return ll_fail(err, LL_ERR_IO, "%s: cannot open: %s (run litelab calibrate -o %s first)", path,
                           strerror(errno), dir);
    int cap = 64, n = 0;
    float *thr = malloc(sizeof(float) * cap);
    double *sk = malloc(sizeof(double) * cap), *eb = malloc(sizeof(double) * cap), *ex = malloc(sizeof(double) * cap);
    ll_status st = LL_OK;
    if (!fgets(line, sizeof line, f) || strncmp(line, "step,threshold,", 15))
        st = ll_fail(err, LL_ERR_FORMAT, "%s: not a litelab calibrate prediction (bad header)", path);
    while (st == LL_OK && fgets(line, sizeof line, f)) {
        int step;
        char t[32];
        double a, b, c;
        if (sscanf(line, "%d,%31[^,],%lf,%lf,%lf", &step, t, &a, &b, &c) != 5 || step != n) {
            st = ll_fail(err, LL_ERR_FORMAT, "%s: line %d is not \"step,threshold,skipped,bound,exact\"", path, n + 2);
            break;
        }
        if (n == cap) {
            cap *= 2;
            thr = realloc(thr, sizeof(float) * cap);
            sk = realloc(sk, sizeof(double) * cap);
            eb = realloc(eb, sizeof(double) * cap);
            ex = realloc(ex, sizeof(double) * cap);
        }
        thr[n] = strtof(t, NULL);
        sk[n] = a;
        eb[n] = b;
        ex[n] = c;
        n++;
    }
    fclose(f);
    if (st == LL_OK && n == 0) st = ll_fail(err, LL_ERR_FORMAT, "%s: no step", path);
    pred->steps = n;
    pred->thresholds = thr;
    pred->pred_skipped = sk;
    pred->pred_err_bound = eb;
    pred->pred_err_exact = ex;
    if (st != LL_OK) ll_calib_prediction_free(pred);
    return st;
}

static void num(FILE *f, double v, const char *fmt) {
    if (isfinite(v))
        fprintf(f, fmt, v);
    else
        fputs("nan", f);
}

ll_status ll_calib_compare_trace(const char *trace_path, const char *policy, const ll_calib_prediction *pred,
                                 const char *dir, int print, ll_error *err) {
    ll_trace_reader *r = NULL;
    ll_trace_meta meta;
    ll_trace_policy *pols = NULL;
    ll_trace_call *calls = NULL;
    int n_pol = 0;
    size_t n_calls = 0;
    LL_TRY(ll_trace_open(trace_path, 1, &r, &meta, err));
    ll_status st = ll_trace_read_policies(r, &pols, &n_pol, err);
    if (st == LL_OK) st = ll_trace_read_calls(r, &calls, &n_calls, err);
    ll_trace_close(r);
    int pi = -1;
    for (int i = 0; st == LL_OK && i < n_pol; i++)
        if (!strcmp(pols[i].name, policy)) pi = i;
    if (st == LL_OK && pi < 0) st = ll_fail(err, LL_ERR_INVALID, "%s: no policy named %s", trace_path, policy);
    int T = pred->steps;
    double *dense = calloc((size_t)T, sizeof(double)), *exec = calloc((size_t)T, sizeof(double));
    double *mass = calloc((size_t)T, sizeof(double)), *rel = calloc((size_t)T, sizeof(double));
    int *rows = calloc((size_t)T, sizeof(int)), layer_rows = 0;
    for (size_t i = 0; st == LL_OK && i < n_calls; i++)
        if (calls[i].policy == pi && calls[i].head < 0) layer_rows = 1;
    for (size_t i = 0; st == LL_OK && i < n_calls; i++) {
        const ll_trace_call *c = &calls[i];
        if (c->policy != pi || (layer_rows ? c->head >= 0 : c->head < 0)) continue;
        if (c->step < 0 || c->step >= T) {
            st = ll_fail(err, LL_ERR_INVALID, "%s: step %d of %s beyond the %d predicted steps", trace_path, c->step,
                         policy, T);
            break;
        }
        dense[c->step] += (double)c->flops_dense;
        exec[c->step] += (double)c->flops_executed;
        if (c->skipped_mass > mass[c->step]) mass[c->step] = c->skipped_mass;
        if (c->rel_l2 > rel[c->step]) rel[c->step] = c->rel_l2;
        rows[c->step]++;
    }
    FILE *csv = NULL, *md = NULL;
    char path[1024];
    if (st == LL_OK) {
        snprintf(path, sizeof path, "%s/verification.csv", dir);
        csv = fopen(path, "w");
        snprintf(path, sizeof path, "%s/verification.md", dir);
        md = fopen(path, "w");
        if (!csv || !md) st = ll_fail(err, LL_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    if (st == LL_OK) {
        fputs("step,threshold,predicted_skipped_ratio,verified_skipped_ratio,predicted_error_bound,"
              "predicted_error_exact,verified_skipped_mass,verified_max_rel_l2\n",
              csv);
        fprintf(md, "Prediction (screening over the tile maps) against the replay `%s`, policy `%s`.\n\n"
                    "| step | threshold | predicted skipped | verified skipped | predicted error (bound) | "
                    "predicted error (exact) | verified skipped mass | verified max rel L2 |\n"
                    "|---:|---:|---:|---:|---:|---:|---:|---:|\n",
                trace_path, policy);
        if (print)
            printf("%4s %9s %10s %10s %12s %12s %12s %12s\n", "step", "threshold", "pred.skip", "verif.skip",
                   "pred.bound", "pred.exact", "verif.mass", "verif.relL2");
        double pd = 0, pe = 0, vd = 0, ve = 0;
        int over = 0;
        for (int s = 0; s < T; s++) {
            double v = dense[s] > 0 ? 1.0 - exec[s] / dense[s] : NAN;
            double ex = pred->pred_err_exact ? pred->pred_err_exact[s] : NAN;
            double vm = rows[s] ? mass[s] : NAN, vr = rows[s] ? rel[s] : NAN;
            fprintf(csv, "%d,%g,", s, (double)pred->thresholds[s]);
            num(csv, pred->pred_skipped[s], "%.6f,");
            num(csv, v, "%.6f,");
            num(csv, pred->pred_err_bound[s], "%.6g,");
            num(csv, ex, "%.6g,");
            num(csv, vm, "%.6g,");
            num(csv, vr, "%.6g\n");
            fprintf(md, "| %d | %g | %.4f | %.4f | %.4g | %.4g | %.4g | %.4g |\n", s, (double)pred->thresholds[s],
                    pred->pred_skipped[s], v, pred->pred_err_bound[s], ex, vm, vr);
            if (print)
                printf("%4d %9g %10.4f %10.4f %12.4g %12.4g %12.4g %12.4g\n", s, (double)pred->thresholds[s],
                       pred->pred_skipped[s], v, pred->pred_err_bound[s], ex, vm, vr);
            pd += pred->pred_skipped[s];
            pe += 1;
            if (isfinite(v)) {
                vd += v;
                ve += 1;
                if (v > pred->pred_skipped[s] + 1e-9) over++;
            }
        }
        fprintf(md, "\nMean skipped FLOP ratio over the steps: predicted %.4f, verified %.4f.\n", pd / pe,
                ve ? vd / ve : NAN);
        if (over)
            fprintf(md, "\n%d steps skipped more in the replay than predicted: the screening's upper bound does not "
                        "hold there (a production-encoding run, or maps that do not match the replayed inputs).\n",
                    over);
        if (print) {
            printf("mean skipped FLOP ratio: predicted %.4f (screening, an upper bound), verified %.4f\n", pd / pe,
                   ve ? vd / ve : NAN);
            if (over) printf("note: %d steps skipped more than predicted (see verification.md)\n", over);
        }
    }
    if (csv && fclose(csv) != 0 && st == LL_OK) st = ll_fail(err, LL_ERR_IO, "%s/verification.csv: write failed", dir);
    if (md && fclose(md) != 0 && st == LL_OK) st = ll_fail(err, LL_ERR_IO, "%s/verification.md: write failed", dir);
    free(dense);
    free(exec);
    free(mass);
    free(rel);
    free(rows);
    free(pols);
    free(calls);
    return st;
}
