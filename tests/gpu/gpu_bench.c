// gpu_bench.c: quick timings of the kernel family under test (--kernel) with
// CUDA events (median of 10 after a warm-up): dense, skip mode over full
// lists (the criterion and writer's overhead), and random read lists at
// kept fractions 0.5 and 0.25 (threshold -inf, so the lists stay as built).
// TFLOP/s counts the dense 4*B*H*N*N*D. Targets: >= 350 TFLOP/s dense at
// D=128; time at kept fraction k <= (k + 0.03) x dense. `litelab bench` is
// the CUPTI-timed tool; these figures only say where the kernel stands.
// Earlier kernel versions time themselves: `make dev-kernels` (kernels/dev/).
#include <cuda_runtime_api.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cases.h"
#include "dtype.h"
#include "gpu_test.h"
#include "rng.h"

enum { REPS = 10 };

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

// Uniform values in [-2, 2): cheap to generate at Wan scale, never zeros.
static void fill_uniform(uint16_t *x, size_t n, uint64_t seed, ll_dtype t) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float u = (float)ll_u01(ll_mix64(seed * 0x9e3779b97f4a7c15ull + i));
        float f = 4.0f * u - 2.0f;
        x[i] = ll_float_to_half(t, f);
    }
}

// Median kernel time (ms) of REPS calls after one warm-up; < 0 on failure.
static double time_forward(const ll_attn_params *p, const ll_cuda_args *a, ll_error *err) {
    cudaEvent_t start, stop;
    if (cudaEventCreate(&start) != cudaSuccess || cudaEventCreate(&stop) != cudaSuccess) {
        ll_fail(err, LL_ERR_CUDA, "cudaEventCreate failed");
        return -1;
    }
    float ms[REPS];
    double result = -1;
    if (ll_cuda_forward(gt_variant_for(&p->shape), p, a, err) != LL_OK || ll_cuda_sync(err) != LL_OK) goto done;
    for (int i = 0; i < REPS; i++) {
        cudaEventRecord(start, 0);
        if (ll_cuda_forward(gt_variant_for(&p->shape), p, a, err) != LL_OK) goto done;
        cudaEventRecord(stop, 0);
        if (ll_cuda_sync(err) != LL_OK) goto done;
        if (cudaEventElapsedTime(&ms[i], start, stop) != cudaSuccess) {
            ll_fail(err, LL_ERR_CUDA, "cudaEventElapsedTime failed");
            goto done;
        }
    }
    qsort(ms, REPS, sizeof ms[0], cmp_float);
    result = 0.5 * (ms[REPS / 2 - 1] + ms[REPS / 2]);
done:
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return result;
}

static void bench_shape(const ll_shape *s) {
    ll_error err;
    size_t n = ll_shape_elems(s), bytes = n * sizeof(uint16_t);
    uint16_t *host = malloc(bytes), *dq = NULL, *dk = NULL, *dv = NULL, *d_o = NULL;
    float *dlse = NULL;
    if (!host) return;
    ll_status st = LL_OK;
    if (st == LL_OK) st = ll_cuda_malloc((void **)&dq, bytes, &err);
    if (st == LL_OK) st = ll_cuda_malloc((void **)&dk, bytes, &err);
    if (st == LL_OK) st = ll_cuda_malloc((void **)&dv, bytes, &err);
    if (st == LL_OK) st = ll_cuda_malloc((void **)&d_o, bytes, &err);
    if (st == LL_OK) st = ll_cuda_malloc((void **)&dlse, (size_t)s->B * s->H * s->N * sizeof(float), &err);
    uint16_t *dst[3] = {dq, dk, dv};
    for (int t = 0; t < 3 && st == LL_OK; t++) {
        fill_uniform(host, n, 17u + (uint64_t)t, s->dtype);
        st = ll_cuda_upload(dst[t], host, bytes, &err);
    }
    free(host);
    GT_CHECK(st == LL_OK, "bench setup %dx%dx%dx%d: %s", s->B, s->H, s->N, s->D, err.msg);
    double dense_flops = 4.0 * s->B * s->H * (double)s->N * s->N * s->D;
    ll_kernel_variant got;
    ll_attn_params p = {.shape = *s, .threshold = -INFINITY};
    if (st == LL_OK) {
        st = ll_cuda_pick(s, gt_variant_for(s), &got, &p.tiling, &err);
        GT_CHECK(st == LL_OK, "bench %dx%dx%dx%d: %s", s->B, s->H, s->N, s->D, err.msg);
    }
    ll_cuda_args a = {.q = dq, .k = dk, .v = dv, .o = d_o, .lse = dlse};
    double dense_ms = st == LL_OK ? time_forward(&p, &a, &err) : -1;
    if (st == LL_OK) GT_CHECK(dense_ms > 0, "bench dense: %s", err.msg);
    if (dense_ms > 0) {
        printf("  %s %dx%dx%dx%d %s tile %dx%d: dense %8.2f ms %6.1f TFLOP/s (floor at 800 TFLOP/s: %.2f ms)\n",
               ll_cuda_kernel_name(got), s->B, s->H, s->N, s->D, ll_dtype_name(s->dtype), p.tiling.block_m,
               p.tiling.block_n, dense_ms, dense_flops / dense_ms * 1e-9, dense_flops / 800e12 * 1e3);
        // skip mode: full lists, then random lists at k = 0.5, 0.25
        ll_skip_list list = {0};
        int qts = ll_q_tiles(s, &p.tiling), kts = ll_k_tiles(s, &p.tiling);
        st = ll_skip_list_alloc(&list, s->B, s->H, qts, kts, LL_END_EXCLUSIVE, &err);
        size_t list_bytes = ll_skip_list_rows(&list) * (size_t)ll_skip_list_row_len(kts) * sizeof(int32_t);
        int32_t *d_read = NULL, *d_write = NULL;
        if (st == LL_OK) st = ll_cuda_malloc((void **)&d_read, list_bytes, &err);
        if (st == LL_OK) st = ll_cuda_malloc((void **)&d_write, list_bytes, &err);
        const double kept_targets[] = {1.0, 0.5, 0.25};
        for (int ki = 0; ki < 3 && st == LL_OK; ki++) {
            if (ki == 0)
                ll_skip_list_fill_full(&list);
            else
                st = ll_bench_mask_build(&list, s, &p.tiling, LL_BENCH_MASK_RANDOM, kept_targets[ki], 99u, &err);
            if (st == LL_OK) st = ll_cuda_upload(d_read, list.data, list_bytes, &err);
            if (st != LL_OK) break;
            long kept = 0;
            for (size_t r = 0; r < ll_skip_list_rows(&list); r++)
                kept += ll_skip_list_row_kept(list.data + r * (size_t)ll_skip_list_row_len(kts), kts, LL_END_EXCLUSIVE);
            double k = (double)kept / ((double)ll_skip_list_rows(&list) * kts);
            a.read_list = d_read;
            a.write_list = d_write;
            a.encoding = LL_END_EXCLUSIVE;
            double ms = time_forward(&p, &a, &err);
            GT_CHECK(ms > 0, "bench k=%.2f: %s", k, err.msg);
            if (ms <= 0) break;
            if (ki == 0)
                printf("      skip mode, full lists: %8.2f ms (%.3f x dense: criterion + list overhead)\n", ms,
                       ms / dense_ms);
            else
                printf("      random lists k=%.3f:  %8.2f ms (%.3f x dense, target <= %.3f) %s\n", k, ms, ms / dense_ms,
                       k + 0.03, ms / dense_ms <= k + 0.03 ? "ok" : "MISSED");
        }
        ll_cuda_free(d_read);
        ll_cuda_free(d_write);
        ll_skip_list_free(&list);
    }
    ll_cuda_free(dq);
    ll_cuda_free(dk);
    ll_cuda_free(dv);
    ll_cuda_free(d_o);
    ll_cuda_free(dlse);
}

void gt_run_bench(int full) {
    printf("timings (CUDA events, median of %d after a warm-up)\n", REPS);
    ll_error err;
    double peak = 0;
    ll_status st = ll_cuda_mma_peak(&peak, &err);
    GT_CHECK(st == LL_OK, "mma peak: %s", err.msg);
    if (st == LL_OK) printf("  mma.sync m16n8k16 bf16 ceiling (registers only): %.1f TFLOP/s\n", peak);
    ll_shape shapes[] = {{1, 32760, 40, 128, LL_BF16}, {1, 75600, 40, 128, LL_BF16}, {1, 32760, 24, 64, LL_BF16}};
    int n = full ? 3 : 1;
    for (int i = 0; i < n; i++) bench_shape(&shapes[i]);
}
