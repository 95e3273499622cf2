// cmd_bench.c: `litelab bench`: times the CUDA LiteAttention kernel with
// CUPTI activity records and writes one CSV row per case.
//
// For every shape it runs
//   dense         no skip list at all (the baseline);
//   skip / full   read list = every tile, write list written, threshold -inf:
//                 the criterion is evaluated and the list written but nothing
//                 is marked, so this minus dense is the cost of the machinery;
//   skip / random, skip / banded at each kept fraction < 1: the read list
//                 keeps that fraction of key tiles (bench_cases.h); runtime
//                 against executed FLOPs is the question.
// Each case: warm-up calls, then --reps calls each timed on its own (sum of
// the kernels' GPU start/end), median and minimum reported. Inputs rotate
// through several buffer sets when one set would fit in L2. Once per run the
// CUPTI figure is cross-checked against CUDA events. After timing, the
// output is checked finite and the written list is checked to keep exactly
// the tiles of the read list (threshold -inf marks nothing), so a kernel that
// skips its work cannot post a fast time.
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_cases.h"
#include "commands.h"
#include "common.h"
#include "cuda_attention.h"
#include "dtype.h"
#include "flops.h"
#include "gpu_counters.h"
#include "gpu_timer.h"
#include "nvtx.h"
#include "reference_attention.h"
#include "rng.h"
#include "skip_list.h"
#include "version.h"

enum { MAX_SETS = 16, CROSS_CHECK_CALLS = 3 };

#define CSV_HEADER                                                                                       \
    "kernel,gpu,dtype,B,H,N,D,kept_fraction,mask,mode,ms_median,ms_min,tflops_dense_equiv,tflops_executed," \
    "target_kept,block_m,block_n,reps,timer,version"

typedef struct {
    ll_bench_shape shapes[LL_BENCH_MAX_ITEMS];
    int n_shapes;
    double kept[LL_BENCH_MAX_ITEMS];
    int n_kept;
    ll_bench_mask masks[LL_BENCH_MAX_ITEMS];
    int n_masks;
    int reps, warmup;
    ll_kernel_variant kernel;
    ll_dtype dtype;
    ll_list_encoding encoding;
    uint64_t seed;
    const char *csv_path;
    int append;
    int gpu_name_only;  // --gpu-name: print the short GPU name and stop
    int counters;       // --counters: measure tensor-pipe work per case instead of time
} bench_options;

typedef struct {  // one measured case: a CSV row and a line of the final table
    char kernel[32], shape_name[32];
    ll_shape shape;
    ll_tiling tiling;
    const char *mask, *mode;
    double target_kept, kept_fraction;
    double ms_median, ms_min, tflops_dense, tflops_exec;
} bench_row;

typedef struct {  // device buffers of one shape
    int n_sets;
    uint16_t *q[MAX_SETS], *k[MAX_SETS], *v[MAX_SETS], *o[MAX_SETS];
    float *lse[MAX_SETS];
    int32_t *read_list, *write_list;
} bench_buffers;

typedef struct {  // what stays the same for the whole run
    const bench_options *opt;
    char gpu[64];
    FILE *csv;
    ll_gpu_timer *timer;
    int cross_checked;
    ll_gpu_counters *counters;
    double dense_work_per_flop;  // tensor work per executed FLOP of this shape's dense case
    bench_row *rows;
    int n_rows, cap_rows;
} bench_run;

static void print_usage(FILE *f) {
    fprintf(f,
            "usage: litelab bench [options]\n"
            "Times the CUDA LiteAttention kernel with CUPTI activity records (GPU clock), median of\n"
            "--reps calls after warm-up, and writes one CSV row per case. Needs a GPU (exit 7 without).\n\n"
            "  --shapes LIST   presets or BxHxNxD, comma-separated (default wan720,wan480,h24d64)\n"
            "                  wan720 = 1x40x75600x128, wan480 = 1x40x32760x128, h24d64 = 1x24x32760x64\n"
            "  --kept LIST     kept fractions of key tiles (default 1,0.75,0.5,0.25,0.1)\n"
            "  --masks LIST    random,banded (default both)\n"
            "  --reps N        timed calls per case, >= 10 (default 10)\n"
            "  --warmup N      untimed calls first (default 3)\n"
            "  --kernel K      portable | hopper | auto (default auto: hopper on compute capability 9.0 for\n"
            "                  D = 64 and 128, else portable); earlier kernel versions are the programs of\n"
            "                  `make dev-kernels` (kernels/dev/)\n"
            "  --dtype T       bf16 | fp16 (default bf16)\n"
            "  --encoding E    skip-list encoding: exclusive | production (default exclusive)\n"
            "  --seed N        seed of inputs and random masks (default 1234)\n"
            "  --quick         a small subset: wan480, kept 1,0.5,0.1 (options given still win)\n"
            "  -o, --output F  CSV file (default experiments/results/kernel_bench_<gpu>.csv)\n"
            "  --append        append to F (its header must match) instead of replacing it\n"
            "  --gpu-name      print the short GPU name used in the default file name (h100) and exit\n"
            "  --counters      instead of timing, measure tensor-pipe instructions of one call per case with\n"
            "                  the CUPTI range profiler and compare with the predicted FLOPs (no CSV; needs\n"
            "                  profiling permission)\n"
            "  -h, --help      this text\n\n"
            "Every shape runs: dense (no list); skip with the full list at threshold -inf (criterion\n"
            "evaluated, list written, nothing marked); skip with random and banded masks at each kept\n"
            "fraction < 1. experiments/bench_kernel.sh runs this and the PyTorch peers.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return 0;
    *out = (int)v;
    return 1;
}

static ll_status parse_options(int argc, char **argv, bench_options *opt, int *want_help, ll_error *err) {
    enum { OPT_SHAPES = 256, OPT_KEPT, OPT_MASKS, OPT_REPS, OPT_WARMUP, OPT_KERNEL, OPT_DTYPE, OPT_ENCODING, OPT_SEED,
           OPT_QUICK, OPT_APPEND, OPT_GPU_NAME, OPT_COUNTERS };
    static const struct option longopts[] = {
        {"shapes", required_argument, 0, OPT_SHAPES}, {"kept", required_argument, 0, OPT_KEPT},
        {"masks", required_argument, 0, OPT_MASKS},   {"reps", required_argument, 0, OPT_REPS},
        {"warmup", required_argument, 0, OPT_WARMUP}, {"kernel", required_argument, 0, OPT_KERNEL},
        {"dtype", required_argument, 0, OPT_DTYPE},   {"encoding", required_argument, 0, OPT_ENCODING},
        {"seed", required_argument, 0, OPT_SEED},     {"quick", no_argument, 0, OPT_QUICK},
        {"output", required_argument, 0, 'o'},      {"append", no_argument, 0, OPT_APPEND},
        {"gpu-name", no_argument, 0, OPT_GPU_NAME}, {"counters", no_argument, 0, OPT_COUNTERS},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0},
    };
    const char *shapes = NULL, *kept = NULL, *masks = NULL, *reps = NULL, *warmup = NULL;
    const char *kernel = "auto", *dtype = "bf16", *encoding = "exclusive", *seed = "1234";
    int quick = 0, c;
    *want_help = 0;
    memset(opt, 0, sizeof *opt);
    optind = 1;
    opterr = 0;  // we print our own message
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_SHAPES: shapes = optarg; break;
        case OPT_KEPT: kept = optarg; break;
        case OPT_MASKS: masks = optarg; break;
        case OPT_REPS: reps = optarg; break;
        case OPT_WARMUP: warmup = optarg; break;
        case OPT_KERNEL: kernel = optarg; break;
        case OPT_DTYPE: dtype = optarg; break;
        case OPT_ENCODING: encoding = optarg; break;
        case OPT_SEED: seed = optarg; break;
        case OPT_QUICK: quick = 1; break;
        case OPT_APPEND: opt->append = 1; break;
        case OPT_GPU_NAME: opt->gpu_name_only = 1; break;
        case OPT_COUNTERS: opt->counters = 1; break;
        case 'o': opt->csv_path = optarg; break;
        case 'h': *want_help = 1; return LL_OK;
        default:
            return ll_fail(err, LL_ERR_USAGE, "unknown option or missing value: '%s' (litelab bench --help)",
                           argv[optind - 1]);
        }
    }
    if (optind < argc)
        return ll_fail(err, LL_ERR_USAGE, "unexpected argument '%s' (litelab bench --help)", argv[optind]);

    // --quick only changes the defaults; options given explicitly still win.
    if (!shapes) shapes = quick ? "wan480" : "wan720,wan480,h24d64";
    if (!kept) kept = quick ? "1,0.5,0.1" : "1,0.75,0.5,0.25,0.1";
    if (!masks) masks = "random,banded";
    if (!warmup) warmup = quick ? "2" : "3";
    if (!reps) reps = "10";

    ll_error why;
    ll_error_clear(&why);
    if (ll_dtype_parse(dtype, &opt->dtype, &why) != LL_OK) return ll_fail(err, LL_ERR_USAGE, "--dtype: %s", why.msg);
    if (ll_list_encoding_parse(encoding, &opt->encoding, &why) != LL_OK)
        return ll_fail(err, LL_ERR_USAGE, "--encoding: %s", why.msg);
    if (!strcmp(kernel, "auto")) opt->kernel = LL_KERNEL_AUTO;
    else if (!strcmp(kernel, "portable")) opt->kernel = LL_KERNEL_PORTABLE;
    else if (!strcmp(kernel, "hopper")) opt->kernel = LL_KERNEL_HOPPER;
    else return ll_fail(err, LL_ERR_USAGE, "--kernel: '%s' is not portable, hopper or auto", kernel);
    if (!parse_int(reps, 10, 100000, &opt->reps))
        return ll_fail(err, LL_ERR_USAGE, "--reps: '%s' is not an integer >= 10 (the median needs at least 10 runs)",
                       reps);
    if (!parse_int(warmup, 1, 1000, &opt->warmup))
        return ll_fail(err, LL_ERR_USAGE, "--warmup: '%s' is not an integer in [1, 1000]", warmup);
    char *end = NULL;
    unsigned long long sv = strtoull(seed, &end, 10);
    if (!*seed || *end || seed[0] == '-')
        return ll_fail(err, LL_ERR_USAGE, "--seed: '%s' is not an integer >= 0", seed);
    opt->seed = sv;
    LL_TRY(ll_bench_shapes_parse(shapes, opt->dtype, opt->shapes, LL_BENCH_MAX_ITEMS, &opt->n_shapes, err));
    LL_TRY(ll_bench_fractions_parse(kept, opt->kept, LL_BENCH_MAX_ITEMS, &opt->n_kept, err));
    LL_TRY(ll_bench_masks_parse(masks, opt->masks, LL_BENCH_MAX_ITEMS, &opt->n_masks, err));
    if (opt->csv_path && !*opt->csv_path) return ll_fail(err, LL_ERR_USAGE, "-o: empty file name");
    return LL_OK;
}

// ---------------------------------------------------------------------------
// The CSV file.

// An existing file that --append would extend must start with our header;
// *has_rows says whether it holds anything (an empty file is rewritten).
static ll_status check_append_target(const char *path, int *has_rows, ll_error *err) {
    *has_rows = 0;
    FILE *f = fopen(path, "r");
    if (!f) return LL_OK;  // not there yet: created
    char line[1024] = "";
    *has_rows = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    if (*has_rows && strcmp(line, CSV_HEADER) != 0)
        return ll_fail(err, LL_ERR_FORMAT, "%s: its header is not litelab bench's columns; not appending to it", path);
    return LL_OK;
}

// What can be known about the CSV before the GPU is looked for: a file to
// append to has our columns, and its folder exists and takes new files.
static ll_status check_csv_target(const char *path, int append, ll_error *err) {
    int has_rows = 0;
    if (append) LL_TRY(check_append_target(path, &has_rows, err));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    if (access(dir, W_OK | X_OK) != 0)
        return ll_fail(err, LL_ERR_IO, "%s: cannot write into %s: %s", path, dir, strerror(errno));
    return LL_OK;
}

static ll_status open_csv(const char *path, int append, FILE **out, ll_error *err) {
    *out = NULL;
    int has_rows = 0;
    if (append) LL_TRY(check_append_target(path, &has_rows, err));
    if (has_rows) {
        *out = fopen(path, "a");
        if (!*out) return ll_fail(err, LL_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
        return LL_OK;
    }
    FILE *f = fopen(path, "w");
    if (!f) return ll_fail(err, LL_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(f, "%s\n", CSV_HEADER);
    *out = f;
    return LL_OK;
}

static ll_status write_csv_row(bench_run *run, const bench_row *r, ll_error *err) {
    fprintf(run->csv, "%s,%s,%s,%d,%d,%d,%d,%.6f,%s,%s,%.6f,%.6f,%.3f,%.3f,%.4f,%d,%d,%d,cupti,litelab %s (%s)\n",
            r->kernel, run->gpu, ll_dtype_name(r->shape.dtype), r->shape.B, r->shape.H, r->shape.N, r->shape.D,
            r->kept_fraction, r->mask, r->mode, r->ms_median, r->ms_min, r->tflops_dense, r->tflops_exec,
            r->target_kept, r->tiling.block_m, r->tiling.block_n, run->opt->reps, ll_version(),
            ll_git_commit());
    // Flushed per row so a run cut short keeps what it measured.
    if (fflush(run->csv) != 0 || ferror(run->csv))
        return ll_fail(err, LL_ERR_IO, "%s: write failed: %s", run->opt->csv_path, strerror(errno));
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Buffers.

static void fill_normal(uint16_t *x, size_t n, ll_dtype dt, uint64_t seed) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)n; i++) x[i] = ll_float_to_half(dt, ll_normal(ll_hash4(seed, (uint64_t)i, 0, 0)));
}

static void free_device(void *p) {
    if (p) ll_cuda_free(p);
}

static void free_buffers(bench_buffers *b) {
    for (int s = 0; s < MAX_SETS; s++) {
        free_device(b->q[s]);
        free_device(b->k[s]);
        free_device(b->v[s]);
        free_device(b->o[s]);
        free_device(b->lse[s]);
    }
    free_device(b->read_list);
    free_device(b->write_list);
    memset(b, 0, sizeof *b);
}

// Allocates n_sets copies of Q, K, V, O, LSE and the two lists; host_tmp
// (elems words) is the staging buffer for the random inputs.
static ll_status alloc_buffers(bench_buffers *b, const ll_shape *s, size_t list_bytes, int n_sets, uint64_t seed,
                               uint16_t *host_tmp, ll_error *err) {
    memset(b, 0, sizeof *b);
    b->n_sets = n_sets;
    size_t elems = ll_shape_elems(s), bytes = elems * sizeof(uint16_t);
    size_t lse_bytes = (size_t)s->B * s->H * s->N * sizeof(float);
    for (int set = 0; set < n_sets; set++) {
        LL_TRY(ll_cuda_malloc((void **)&b->q[set], bytes, err));
        LL_TRY(ll_cuda_malloc((void **)&b->k[set], bytes, err));
        LL_TRY(ll_cuda_malloc((void **)&b->v[set], bytes, err));
        LL_TRY(ll_cuda_malloc((void **)&b->o[set], bytes, err));
        LL_TRY(ll_cuda_malloc((void **)&b->lse[set], lse_bytes, err));
    }
    LL_TRY(ll_cuda_malloc((void **)&b->read_list, list_bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&b->write_list, list_bytes, err));
    // Same values in every set: rotation defeats L2 reuse, not the data.
    uint16_t **tensors[3] = {b->q, b->k, b->v};
    for (int t = 0; t < 3; t++) {
        fill_normal(host_tmp, elems, s->dtype, ll_hash4(seed, (uint64_t)t, 0x71, 0));
        for (int set = 0; set < n_sets; set++) LL_TRY(ll_cuda_upload(tensors[t][set], host_tmp, bytes, err));
    }
    for (int set = 0; set < n_sets; set++) LL_TRY(ll_cuda_memset(b->o[set], 0, bytes, err));
    return LL_OK;
}

// ---------------------------------------------------------------------------
// One case.

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static ll_status launch(ll_kernel_variant variant, const ll_attn_params *p, const bench_buffers *b, int set,
                        int skip, ll_list_encoding enc, ll_error *err) {
    ll_cuda_args a = {
        .q = b->q[set], .k = b->k[set], .v = b->v[set], .o = b->o[set], .lse = b->lse[set],
        .read_list = skip ? b->read_list : NULL, .write_list = skip ? b->write_list : NULL,
        .key_tile_flags = NULL, .encoding = enc,
    };
    return ll_cuda_forward(variant, p, &a, err);
}

// Once per run: the same calls timed by CUPTI and by CUDA events.
static ll_status cross_check(bench_run *run, ll_kernel_variant variant, const ll_attn_params *p,
                             const bench_buffers *b, int skip, const char *what, ll_error *err) {
    ll_gpu_events *ev = NULL;
    LL_TRY(ll_gpu_events_create(&ev, err));
    double cupti_ms = 0.0, event_ms = 0.0;
    int n_kernels = 0;
    ll_status s = ll_gpu_timer_begin(run->timer, err);
    if (s == LL_OK) s = ll_gpu_events_begin(ev, err);
    for (int i = 0; i < CROSS_CHECK_CALLS && s == LL_OK; i++)
        s = launch(variant, p, b, i % b->n_sets, skip, run->opt->encoding, err);
    if (s == LL_OK) s = ll_gpu_events_end(ev, &event_ms, err);
    if (s == LL_OK) s = ll_gpu_timer_end(run->timer, &cupti_ms, &n_kernels, NULL, 0, err);
    ll_gpu_events_destroy(ev);
    LL_TRY(s);
    if (n_kernels < CROSS_CHECK_CALLS || cupti_ms <= 0.0)
        return ll_fail(err, LL_ERR_CUDA, "timer cross-check: CUPTI saw %d kernels (%.3f ms) for %d calls", n_kernels,
                       cupti_ms, CROSS_CHECK_CALLS);
    double ratio = event_ms / cupti_ms;
    printf("timer cross-check (%s, %d calls): CUPTI %.3f ms (%d kernels), CUDA events %.3f ms, events/CUPTI %.4f\n",
           what, CROSS_CHECK_CALLS, cupti_ms, n_kernels, event_ms, ratio);
    if (ratio < 0.95 || ratio > 1.10)
        printf("warning: CUPTI and CUDA events disagree by more than launch gaps explain; check the GPU is idle\n");
    run->cross_checked = 1;
    return LL_OK;
}

// After timing: O finite; in skip mode the written list keeps exactly the
// tiles of the read list (threshold -inf marks nothing).
static ll_status verify_case(const ll_shape *s, const bench_buffers *b, int skip, const ll_skip_list *read,
                             ll_skip_list *written, uint16_t *host_tmp, const char *what, ll_error *err) {
    LL_TRY(ll_cuda_download(host_tmp, b->o[0], ll_shape_elems(s) * sizeof(uint16_t), err));
    char name[256];
    snprintf(name, sizeof name, "kernel output O (%s)", what);
    LL_TRY(ll_check_finite(s, host_tmp, name, err));
    if (!skip) return LL_OK;
    size_t bytes = ll_skip_list_rows(read) * (size_t)ll_skip_list_row_len(read->k_tiles) * sizeof(int32_t);
    LL_TRY(ll_cuda_download(written->data, b->write_list, bytes, err));
    snprintf(name, sizeof name, "write list of the kernel (%s)", what);
    LL_TRY(ll_skip_list_validate(written, name, err));
    int k_tiles = read->k_tiles;
    uint8_t *want = malloc((size_t)k_tiles), *got = malloc((size_t)k_tiles);
    if (!want || !got) {
        free(want);
        free(got);
        return ll_fail(err, LL_ERR_NOMEM, "bench: out of host memory");
    }
    ll_status st = LL_OK;
    for (int bb = 0; bb < read->B && st == LL_OK; bb++)
        for (int h = 0; h < read->H && st == LL_OK; h++)
            for (int qt = 0; qt < read->q_tiles && st == LL_OK; qt++) {
                ll_skip_list_row_to_keep(ll_skip_list_row(read, bb, h, qt), k_tiles, read->encoding, want);
                ll_skip_list_row_to_keep(ll_skip_list_row(written, bb, h, qt), k_tiles, written->encoding, got);
                for (int kt = 0; kt < k_tiles; kt++)
                    if (want[kt] != got[kt]) {
                        st = ll_fail(err, LL_ERR_INTERNAL,
                                     "%s: row (b=%d, h=%d, qtile=%d) key tile %d is %s in the read list but %s in "
                                     "the written one, at threshold -inf nothing may change",
                                     name, bb, h, qt, kt, want[kt] ? "kept" : "skipped", got[kt] ? "kept" : "skipped");
                        break;
                    }
            }
    free(want);
    free(got);
    return st;
}

static ll_status add_row(bench_run *run, const bench_row *r, ll_error *err) {
    if (run->n_rows == run->cap_rows) {
        int cap = run->cap_rows ? 2 * run->cap_rows : 64;
        bench_row *grown = realloc(run->rows, (size_t)cap * sizeof *grown);
        if (!grown) return ll_fail(err, LL_ERR_NOMEM, "bench: out of host memory");
        run->rows = grown;
        run->cap_rows = cap;
    }
    run->rows[run->n_rows++] = *r;
    return write_csv_row(run, r, err);
}

// --counters: one call under the CUPTI range profiler; tensor-pipe work
// against the executed FLOPs, relative to the shape's dense case (1.0 when
// the kernel's work falls exactly with the tiles it skips).
static ll_status measure_counters(bench_run *run, ll_kernel_variant variant, const ll_attn_params *p,
                                  const bench_buffers *b, int skip, const ll_flops *fl, const char *what,
                                  ll_error *err) {
    enum { MAX_RANGES = 16 };
    double values[MAX_RANGES * LL_GPU_COUNTERS_MAX_METRICS], sums[LL_GPU_COUNTERS_MAX_METRICS] = {0};
    int n_ranges = 0, n_metrics = ll_gpu_counters_n_metrics(run->counters);
    LL_TRY(launch(variant, p, b, 0, skip, run->opt->encoding, err));  // untimed warm-up
    LL_TRY(ll_cuda_sync(err));
    LL_TRY(ll_gpu_counters_begin(run->counters, err));
    ll_status st = launch(variant, p, b, 0, skip, run->opt->encoding, err);
    ll_status end = ll_gpu_counters_end(run->counters, values, MAX_RANGES, &n_ranges, st == LL_OK ? err : NULL);
    LL_TRY(st);
    LL_TRY(end);
    if (n_ranges < 1) return ll_fail(err, LL_ERR_CUDA, "bench %s: the profiler saw no kernel", what);
    double work = 0.0;
    for (int r = 0; r < n_ranges; r++)
        for (int m = 0; m < n_metrics; m++) sums[m] += values[r * n_metrics + m];
    printf("  %-40s", what);
    for (int m = 0; m < n_metrics; m++) {
        printf("  %s %.4g", ll_gpu_counters_metric(run->counters, m), sums[m]);
        work += sums[m];
    }
    double per_flop = fl->executed ? work / (double)fl->executed : 0.0;
    if (!skip) run->dense_work_per_flop = per_flop;
    printf("  FLOPs per unit %.1f", work > 0 ? (double)fl->executed / work : 0.0);  // 4096 per m16n8k16 mma.sync
    if (run->dense_work_per_flop > 0) printf("  measured/predicted vs dense %.4f", per_flop / run->dense_work_per_flop);
    printf("\n");
    fflush(stdout);
    return LL_OK;
}

// Times one case. read_list is NULL in dense mode (it is uploaded otherwise).
static ll_status run_case(bench_run *run, const ll_bench_shape *bs, ll_kernel_variant variant, const ll_tiling *tiling,
                          const bench_buffers *b, const ll_skip_list *read_list, ll_skip_list *written,
                          const char *mask, double target, uint16_t *host_tmp, double *times, ll_error *err) {
    const ll_shape *s = &bs->shape;
    const bench_options *opt = run->opt;
    int skip = read_list != NULL;
    ll_flops fl = {.dense = ll_flops_dense(s), .executed = ll_flops_dense(s)};
    double kept = 1.0;
    if (skip) {
        LL_TRY(ll_flops_from_list(s, tiling, read_list, &fl, err));
        kept = fl.tiles_total ? (double)fl.tiles_kept / (double)fl.tiles_total : 0.0;
        size_t bytes =
            ll_skip_list_rows(read_list) * (size_t)ll_skip_list_row_len(read_list->k_tiles) * sizeof(int32_t);
        LL_TRY(ll_cuda_upload(b->read_list, read_list->data, bytes, err));
        LL_TRY(ll_cuda_upload(b->write_list, read_list->data, bytes, err));
    }
    ll_attn_params p = {.shape = *s, .tiling = *tiling, .softmax_scale = 0.0f, .threshold = -INFINITY,
                        .key_tile_flags = NULL};
    char what[160];
    snprintf(what, sizeof what, "%s %s %s kept %.2f", bs->name, skip ? "skip" : "dense", mask, target);
    ll_nvtx_push("bench %s", what);

    ll_status st = LL_OK;
    if (run->counters) {
        st = measure_counters(run, variant, &p, b, skip, &fl, what, err);
        ll_nvtx_pop();
        LL_TRY(st);
        return verify_case(s, b, skip, read_list, written, host_tmp, what, err);
    }
    for (int i = 0; i < opt->warmup && st == LL_OK; i++)
        st = launch(variant, &p, b, i % b->n_sets, skip, opt->encoding, err);
    if (st == LL_OK) st = ll_cuda_sync(err);
    for (int r = 0; r < opt->reps && st == LL_OK; r++) {
        int n_kernels = 0;
        st = ll_gpu_timer_begin(run->timer, err);
        if (st == LL_OK) st = launch(variant, &p, b, r % b->n_sets, skip, opt->encoding, err);
        if (st == LL_OK) st = ll_gpu_timer_end(run->timer, &times[r], &n_kernels, NULL, 0, err);
        if (st == LL_OK && (n_kernels < 1 || times[r] <= 0.0))
            st = ll_fail(err, LL_ERR_CUDA, "bench %s: CUPTI recorded no kernel for a forward call", what);
    }
    if (st == LL_OK && !run->cross_checked) st = cross_check(run, variant, &p, b, skip, what, err);
    ll_nvtx_pop();
    LL_TRY(st);
    LL_TRY(verify_case(s, b, skip, read_list, written, host_tmp, what, err));

    qsort(times, (size_t)opt->reps, sizeof *times, cmp_double);
    bench_row row = {.shape = *s, .tiling = *tiling, .mask = mask, .mode = skip ? "skip" : "dense",
                     .target_kept = target, .kept_fraction = kept};
    snprintf(row.kernel, sizeof row.kernel, "litelab_%s", ll_cuda_kernel_name(variant));
    snprintf(row.shape_name, sizeof row.shape_name, "%s", bs->name);
    row.ms_median = opt->reps % 2 ? times[opt->reps / 2] : 0.5 * (times[opt->reps / 2 - 1] + times[opt->reps / 2]);
    row.ms_min = times[0];
    row.tflops_dense = (double)fl.dense / (row.ms_median * 1e-3) / 1e12;
    row.tflops_exec = (double)fl.executed / (row.ms_median * 1e-3) / 1e12;
    printf("  %-8s %-5s %-6s kept %.3f (target %.2f)  median %9.3f ms  min %9.3f ms  %7.1f TFLOP/s dense-equiv  "
           "%7.1f executed\n",
           bs->name, row.mode, mask, kept, target, row.ms_median, row.ms_min, row.tflops_dense, row.tflops_exec);
    fflush(stdout);
    return add_row(run, &row, err);
}

// All cases of one shape.
static ll_status bench_shape(bench_run *run, const ll_bench_shape *bs, size_t l2_bytes, ll_error *err) {
    const bench_options *opt = run->opt;
    const ll_shape *s = &bs->shape;
    ll_kernel_variant variant;
    ll_tiling tiling;
    LL_TRY(ll_cuda_pick(s, opt->kernel, &variant, &tiling, err));
    run->dense_work_per_flop = 0.0;
    int q_tiles = ll_q_tiles(s, &tiling), k_tiles = ll_k_tiles(s, &tiling);

    // Rotate input sets when one would sit in L2 between calls.
    size_t elems = ll_shape_elems(s);
    size_t set_bytes = 4 * elems * sizeof(uint16_t) + (size_t)s->B * s->H * s->N * sizeof(float);
    int n_sets = 1;
    if (set_bytes < 2 * l2_bytes) {
        size_t need = (4 * l2_bytes + set_bytes - 1) / set_bytes;
        n_sets = need > MAX_SETS ? MAX_SETS : (int)need;
    }
    printf("%s: B=%d H=%d N=%d D=%d %s, kernel %s, tiles %dx%d (%d x %d), ", bs->name, s->B, s->H, s->N, s->D,
           ll_dtype_name(s->dtype), ll_cuda_kernel_name(variant), tiling.block_m, tiling.block_n, q_tiles, k_tiles);
    if (run->counters)
        printf("one profiled call per case\n");
    else
        printf("%d input set%s, %d warm-up + %d timed calls\n", n_sets,
               n_sets > 1 ? "s (rotated: one fits in L2)" : "", opt->warmup, opt->reps);
    fflush(stdout);

    ll_skip_list read = {0}, written = {0};
    bench_buffers b = {0};
    uint16_t *host_tmp = malloc(elems * sizeof(uint16_t));
    double *times = malloc((size_t)opt->reps * sizeof *times);
    ll_status st = LL_OK;
    if (!host_tmp || !times) st = ll_fail(err, LL_ERR_NOMEM, "bench %s: out of host memory (%zu bytes)", bs->name,
                                          elems * sizeof(uint16_t));
    if (st == LL_OK) st = ll_skip_list_alloc(&read, s->B, s->H, q_tiles, k_tiles, opt->encoding, err);
    if (st == LL_OK) st = ll_skip_list_alloc(&written, s->B, s->H, q_tiles, k_tiles, opt->encoding, err);
    size_t list_bytes = ll_skip_list_rows(&read) * (size_t)ll_skip_list_row_len(k_tiles) * sizeof(int32_t);
    if (st == LL_OK) st = alloc_buffers(&b, s, list_bytes, n_sets, opt->seed, host_tmp, err);

    if (st == LL_OK)
        st = run_case(run, bs, variant, &tiling, &b, NULL, NULL, "none", 1.0, host_tmp, times, err);
    if (st == LL_OK) st = ll_bench_mask_build(&read, s, &tiling, LL_BENCH_MASK_FULL, 1.0, opt->seed, err);
    if (st == LL_OK) st = run_case(run, bs, variant, &tiling, &b, &read, &written, "full", 1.0, host_tmp, times, err);
    for (int m = 0; m < opt->n_masks && st == LL_OK; m++)
        for (int i = 0; i < opt->n_kept && st == LL_OK; i++) {
            if (opt->kept[i] >= 1.0) continue;  // the full list, measured above
            st = ll_bench_mask_build(&read, s, &tiling, opt->masks[m], opt->kept[i], opt->seed, err);
            if (st == LL_OK)
                st = run_case(run, bs, variant, &tiling, &b, &read, &written, ll_bench_mask_name(opt->masks[m]),
                              opt->kept[i], host_tmp, times, err);
        }

    free_buffers(&b);
    ll_skip_list_free(&read);
    ll_skip_list_free(&written);
    free(host_tmp);
    free(times);
    return st;
}

static void print_table(const bench_run *run) {
    printf("\n%-18s %-8s %-5s %-6s %6s %10s %10s %8s %8s %8s\n", "kernel", "shape", "mode", "mask", "kept",
           "median_ms", "min_ms", "TF_dense", "TF_exec", "vs_dense");
    for (int i = 0; i < run->n_rows; i++) {
        const bench_row *r = &run->rows[i];
        double dense_ms = 0.0;  // the dense row of the same shape
        for (int j = 0; j < run->n_rows; j++)
            if (!strcmp(run->rows[j].mode, "dense") && !strcmp(run->rows[j].shape_name, r->shape_name))
                dense_ms = run->rows[j].ms_median;
        printf("%-18s %-8s %-5s %-6s %6.3f %10.3f %10.3f %8.1f %8.1f %8.3f\n", r->kernel, r->shape_name, r->mode,
               r->mask, r->kept_fraction, r->ms_median, r->ms_min, r->tflops_dense, r->tflops_exec,
               dense_ms > 0 ? r->ms_median / dense_ms : 0.0);
    }
}

int cmd_bench(int argc, char **argv) {
    bench_options opt;
    ll_error err;
    ll_error_clear(&err);
    int want_help = 0;
    ll_status parsed = parse_options(argc, argv, &opt, &want_help, &err);
    if (parsed == LL_ERR_USAGE) {
        ll_report_error("bench", &err);
        fprintf(stderr, "\n");
        print_usage(stderr);
        return ll_exit_code(LL_ERR_USAGE);
    }
    if (parsed != LL_OK) return ll_report_error("bench", &err);
    if (want_help) {
        print_usage(stdout);
        return 0;
    }
    // Everything the arguments decide is checked before the GPU is looked for.
    if (opt.csv_path && !opt.gpu_name_only && !opt.counters &&
        check_csv_target(opt.csv_path, opt.append, &err) != LL_OK)
        return ll_report_error("bench", &err);

    bench_run run = {.opt = &opt};
    char gpu_name[256] = "";
    int sm_major = 0, sm_minor = 0;
    ll_status st = ll_cuda_probe(gpu_name, sizeof gpu_name, &sm_major, &sm_minor, &err);
    if (st != LL_OK) {
        if (st == LL_ERR_NO_GPU && !strstr(err.msg, "no usable GPU")) {
            char reason[sizeof err.msg];
            snprintf(reason, sizeof reason, "%s", err.msg);
            ll_fail(&err, LL_ERR_NO_GPU, "no usable GPU: %s", reason);
        }
        return ll_report_error("bench", &err);
    }
    ll_gpu_short_name(gpu_name, run.gpu, sizeof run.gpu);
    if (opt.gpu_name_only) {
        printf("%s\n", run.gpu);
        return 0;
    }
    char default_path[256];
    if (!opt.csv_path) {
        snprintf(default_path, sizeof default_path, "experiments/results/kernel_bench_%s.csv", run.gpu);
        opt.csv_path = default_path;
    }
    printf("litelab bench %s (%s) on %s (sm_%d%d), %s %s\n", ll_version(), ll_git_commit(), gpu_name, sm_major,
           sm_minor, opt.counters ? "tensor-pipe counters, no CSV; not" : "CSV", opt.counters ? "timed" : opt.csv_path);

    size_t l2 = 0;
    st = ll_gpu_l2_bytes(&l2, &err);
    if (opt.counters) {  // a measurement of its own: no CUPTI tracing, no CSV
        if (st == LL_OK) st = ll_gpu_counters_create(&run.counters, NULL, 16, &err);
        if (st == LL_OK)
            printf("GPU counters on %s: %d metric(s), %d pass(es) per kernel\n", ll_gpu_counters_chip(run.counters),
                   ll_gpu_counters_n_metrics(run.counters), ll_gpu_counters_passes(run.counters));
    } else {
        if (st == LL_OK) st = ll_gpu_timer_create(&run.timer, &err);
        if (st == LL_OK) st = open_csv(opt.csv_path, opt.append, &run.csv, &err);
    }
    for (int i = 0; i < opt.n_shapes && st == LL_OK; i++) st = bench_shape(&run, &opt.shapes[i], l2, &err);
    if (run.n_rows) print_table(&run);
    if (run.csv && fclose(run.csv) != 0 && st == LL_OK)
        st = ll_fail(&err, LL_ERR_IO, "%s: close failed: %s", opt.csv_path, strerror(errno));
    ll_gpu_timer_destroy(run.timer);
    ll_gpu_counters_destroy(run.counters);
    free(run.rows);
    if (st != LL_OK) return ll_report_error("bench", &err);
    if (!opt.counters) printf("wrote %d rows to %s\n", run.n_rows, opt.csv_path);
    return 0;
}
