// cmd_info.c: `litelab info FILE...`: a readable summary of a trace or a
// capture (the kind comes from the file's 'format' attribute). A foreign
// HDF5 file or a non-HDF5 file is reported as such (exit 5), never crashed on.
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "commands.h"
#include "trace.h"

static void print_help(FILE *f) {
    fprintf(f,
            "usage: litelab info FILE...\n\n"
            "Summarises litelab HDF5 files: traces (provenance, shape, policies with their\n"
            "kept FLOPs, errors and runtimes, recorded masks and maps) and captures (model,\n"
            "shape, steps written). Partial files (FILE.partial of a killed run) are shown\n"
            "with what they hold.\n\n"
            "options:\n"
            "  -h, --help   this text\n\n"
            "exit codes: 0 ok, 4 missing or unreadable file, 5 not a litelab file or corrupt\n");
}

static const char *or_dash(const char *s) { return s && s[0] ? s : "-"; }

static double file_mib(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size / 1048576.0 : NAN;
}

static ll_status info_capture(const char *path, ll_error *err) {
    ll_capture_reader *r;
    ll_capture_meta m;
    LL_TRY(ll_capture_open(path, 1, &r, &m, err));
    ll_capture_close_reader(r);
    printf("%s: litelab capture (%.1f MiB), %s\n", path, file_mib(path),
           m.complete ? "complete" : "INCOMPLETE (its writer did not finish)");
    printf("  model        %s (%s)%s\n", m.model, m.source, m.seed ? "" : "");
    if (m.seed || !strcmp(m.source, "synthetic")) printf("  seed         %llu\n", (unsigned long long)m.seed);
    printf("  shape        B=%d N=%d H=%d D=%d %s\n", m.shape.B, m.shape.N, m.shape.H, m.shape.D,
           ll_dtype_name(m.shape.dtype));
    if (m.frames) printf("  grid         %d frames x %d x %d tokens\n", m.frames, m.height, m.width);
    else printf("  grid         unknown\n");
    printf("  steps        %d written of %d, %d layers each\n", m.steps_written, m.steps, m.layers);
    if (m.softmax_scale > 0) printf("  scale        %g\n", m.softmax_scale);
    else printf("  scale        1/sqrt(D)\n");
    return LL_OK;
}

typedef struct {
    long rows, layer_rows;
    double flops_dense, flops_exec, rel_l2_sum, time_ms;
    long rel_l2_n, time_n;
} policy_sum;

static ll_status info_trace(const char *path, ll_error *err) {
    ll_trace_reader *r;
    ll_trace_meta m;
    LL_TRY(ll_trace_open(path, 1, &r, &m, err));
    ll_trace_policy *pol = NULL;
    ll_trace_call *rows = NULL;
    size_t n = 0;
    int np = 0, *masks = NULL, n_masks = 0, *maps = NULL, n_maps = 0;
    policy_sum *sum = NULL;
    ll_status st = ll_trace_read_policies(r, &pol, &np, err);
    if (st == LL_OK) st = ll_trace_read_calls(r, &rows, &n, err);
    if (st == LL_OK) st = ll_trace_list_masks(r, &masks, &n_masks, err);
    if (st == LL_OK) st = ll_trace_list_maps(r, &maps, &n_maps, err);
    if (st == LL_OK && !(sum = calloc((size_t)np, sizeof *sum))) st = ll_fail(err, LL_ERR_NOMEM, "out of memory");
    if (st == LL_OK) {
        int qts = ll_q_tiles(&m.shape, &m.tiling), kts = ll_k_tiles(&m.shape, &m.tiling);
        printf("%s: litelab trace (%.1f MiB), %s\n", path, file_mib(path),
               m.complete ? "complete" : "INCOMPLETE (a run that did not finish; `litelab run --resume` continues it)");
        printf("  created      %s by litelab %s (%s)\n", m.created, m.toolkit_version, m.git_commit);
        printf("  experiment   %s\n", m.experiment);
        printf("  trajectory   %s\n", m.trajectory);
        printf("  shape        B=%d N=%d H=%d D=%d %s", m.shape.B, m.shape.N, m.shape.H, m.shape.D,
               ll_dtype_name(m.shape.dtype));
        if (m.frames) printf(", grid %dx%dx%d", m.frames, m.height, m.width);
        printf("\n  steps        %d durable of %d, %d layers\n", m.steps_done, m.steps, m.layers);
        printf("  tiling       %dx%d (%d x %d tiles per head), %s encoding, softmax scale %g\n", m.tiling.block_m,
               m.tiling.block_n, qts, kts, ll_list_encoding_name(m.encoding), m.softmax_scale);
        printf("  backend      %s, kernel %s, GPU %s, driver %s, CUDA %s\n", m.backend, m.kernel, or_dash(m.gpu_name),
               or_dash(m.driver_version), or_dash(m.cuda_version));
        if (m.sm_clock_mhz || m.mem_clock_mhz)
            printf("  clocks       SM %d MHz, memory %d MHz\n", m.sm_clock_mhz, m.mem_clock_mhz);
        printf("  counters     %s\n", or_dash(m.counters_status));
        printf("  recorded     %zu rows, %d masks, %d tile maps\n", n, n_masks, n_maps);
        for (size_t i = 0; i < n; i++) {
            const ll_trace_call *c = &rows[i];
            policy_sum *s = &sum[c->policy];
            s->rows++;
            if (c->head >= 0) continue;
            s->layer_rows++;
            s->flops_dense += (double)c->flops_dense;
            s->flops_exec += (double)c->flops_executed;
            if (!isnan(c->rel_l2)) {
                s->rel_l2_sum += c->rel_l2;
                s->rel_l2_n++;
            }
            double t = !isnan(c->gpu_ms) ? c->gpu_ms : c->host_ms;
            if (!isnan(t)) {
                s->time_ms += t;
                s->time_n++;
            }
        }
        printf("  policies     %d\n", np);
        printf("    %-22s %-14s %8s %11s %12s %12s\n", "name", "kind", "rows", "FLOPs kept", "mean rel L2", "time ms");
        for (int p = 0; p < np; p++) {
            const policy_sum *s = &sum[p];
            char kept[32] = "-", err_s[32] = "-", time_s[32] = "-";
            if (s->flops_dense > 0) snprintf(kept, sizeof kept, "%.1f%%", 100.0 * s->flops_exec / s->flops_dense);
            if (s->rel_l2_n) snprintf(err_s, sizeof err_s, "%.3g", s->rel_l2_sum / s->rel_l2_n);
            if (s->time_n) snprintf(time_s, sizeof time_s, "%.2f", s->time_ms);
            printf("    %-22s %-14s %8ld %11s %12s %12s\n", pol[p].name, pol[p].kind, s->rows, kept, err_s, time_s);
        }
    }
    free(sum);
    free(masks);
    free(maps);
    free(rows);
    free(pol);
    ll_trace_close(r);
    return st;
}

int cmd_info(int argc, char **argv) {
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'h') {
            print_help(stdout);
            return 0;
        }
        fprintf(stderr, "litelab info: see litelab info --help\n");
        return ll_exit_code(LL_ERR_USAGE);
    }
    if (optind >= argc) {
        fprintf(stderr, "litelab info: expected at least one FILE (litelab info --help)\n");
        return ll_exit_code(LL_ERR_USAGE);
    }
    int code = 0;
    for (int i = optind; i < argc; i++) {
        ll_error err;
        ll_error_clear(&err);
        ll_file_kind kind;
        ll_status s = ll_file_kind_detect(argv[i], &kind, &err);
        if (s == LL_OK) s = kind == LL_FILE_TRACE ? info_trace(argv[i], &err) : info_capture(argv[i], &err);
        if (s != LL_OK) code = ll_report_error("info", &err);
        fflush(stdout);
    }
    return code;
}
