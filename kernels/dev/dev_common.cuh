// dev_common.cuh: what every program in kernels/dev/ shares (llm.c's
// dev/cuda/common.h): inputs, litelab's CPU reference (build/liblitelab.a),
// the check of a kernel version against it, timing with CUDA events, and the
// main() of a family's program. A family's .cu file holds only its frozen
// kernels, a table of its versions and a three-line main.
//
// What a program does (all versions, or the ones named on the command line):
//   check  B=1, H=4, N=2000 (a partial last key tile; an even number of key
//          tiles at 64 and 128 wide), D = 64 and 128, bf16, clustered inputs
//          (runs of tokens share a direction, so whole tiles are negligible):
//          dense O and LSE against the fp32 reference; skip mode over full
//          lists at threshold -6 (exclusive encoding): O and LSE, and the
//          write list row by row: the same tiles kept, except tiles whose
//          criterion lies within 1e-3 of the threshold (ties of fp32
//          arithmetic done in another order; counted and printed);
//   time   (1, 40, 32760, 128) and (1, 24, 32760, 64), bf16, uniform inputs:
//          dense, skip over full lists at threshold -inf (the criterion and
//          writer's cost) and random lists keeping half the tiles; median of
//          5 calls after a warm-up, CUDA events.
// Each version's figures sit next to the shipped kernel's of the same family
// from the same run. Exit status 0 only if every check passed.
#pragma once
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_cases.h"
#include "cuda_attention.h"
#include "dtype.h"
#include "frozen_device.cuh"
#include "reference_attention.h"
#include "rng.h"
#include "skip_list.h"

#define DEV_CUDA_CHECK(call)                                                                                 \
    do {                                                                                                     \
        cudaError_t dev_e_ = (call);                                                                         \
        if (dev_e_ != cudaSuccess) {                                                                         \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(dev_e_)); \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

typedef cudaError_t (*dev_launch_fn)(const lldev::DevArgs *a, cudaStream_t stream);

// One version of a family. launch NULL: the family's shipped kernel, run
// through ll_cuda_forward (its tiles from ll_cuda_pick).
struct DevVersion {
    int number;           // as kernels/NOTES.md numbers it
    const char *summary;  // what it changed
    int block_m, block_n;
    dev_launch_fn launch;
    // Dynamic shared memory of a launch (SIZE_MAX: beyond the version's list buffers).
    size_t (*smem_bytes)(int D, int k_tiles, bool skip);
};

static const float DEV_LOG2E = 1.44269504088896341f;  // the reference's constant
static const float DEV_TIE_WINDOW = 1e-3f;
static const double DEV_TOL_O = 1e-2, DEV_TOL_LSE = 1e-3;  // bf16 output, as tests/gpu
static int dev_failed = 0;

#define DEV_EXPECT(cond, ...)            \
    do {                                 \
        if (!(cond)) {                   \
            dev_failed++;                \
            printf("    FAIL: ");        \
            printf(__VA_ARGS__);         \
            printf("\n");                \
        }                                \
    } while (0)

// ---------------------------------------------------------------------------
// Inputs

// Clustered Q and K (tests/gpu's kind): runs of 96 tokens share one of six
// directions, so whole key tiles fall far below the running maximum.
static void dev_clustered_inputs(const ll_shape *s, uint64_t seed, uint16_t *q, uint16_t *k, uint16_t *v) {
    const double strength = 9.0;
    size_t n = ll_shape_elems(s);
    for (size_t i = 0; i < n; i++) {
        size_t rest = i;
        int d = (int)(rest % (size_t)s->D);
        rest /= (size_t)s->D;
        int h = (int)(rest % (size_t)s->H);
        rest /= (size_t)s->H;
        int tok = (int)(rest % (size_t)s->N);
        int cluster = ((tok + 37 * h) / 96) % 6;
        double dir = d / 8 == cluster ? strength / sqrt(8.0) : 0.0;
        q[i] = ll_float_to_half(s->dtype, (float)(dir + ll_normal(ll_hash4(seed, 0, i, 0))));
        k[i] = ll_float_to_half(s->dtype, (float)(dir + ll_normal(ll_hash4(seed, 1, i, 0))));
        v[i] = ll_float_to_half(s->dtype, ll_normal(ll_hash4(seed, 2, i, 0)));
    }
}

// Uniform bf16 in [-2, 2) written on the GPU (Wan-scale tensors in milliseconds).
__global__ void dev_fill_uniform(uint16_t *x, size_t n, uint64_t seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        uint64_t z = seed * 0x9e3779b97f4a7c15ull + i + 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        float f = 4.0f * (float)(z >> 40) * (1.0f / 16777216.0f) - 2.0f;
        x[i] = __bfloat16_as_ushort(__float2bfloat16_rn(f));
    }
}

// ---------------------------------------------------------------------------
// Device buffers and one call

struct DevBuffers {
    uint16_t *q, *k, *v, *o;
    float *lse;
    int32_t *read, *write;
    int *error;  // the frozen kernels' error record
    size_t elems, list_ints;
};

static void dev_buffers_alloc(DevBuffers *d, const ll_shape *s, int max_k_tiles_rows) {
    memset(d, 0, sizeof *d);
    d->elems = ll_shape_elems(s);
    d->list_ints = (size_t)max_k_tiles_rows;
    DEV_CUDA_CHECK(cudaMalloc(&d->q, d->elems * 2));
    DEV_CUDA_CHECK(cudaMalloc(&d->k, d->elems * 2));
    DEV_CUDA_CHECK(cudaMalloc(&d->v, d->elems * 2));
    DEV_CUDA_CHECK(cudaMalloc(&d->o, d->elems * 2));
    DEV_CUDA_CHECK(cudaMalloc(&d->lse, (size_t)s->B * s->H * s->N * sizeof(float)));
    DEV_CUDA_CHECK(cudaMalloc(&d->read, d->list_ints * sizeof(int32_t)));
    DEV_CUDA_CHECK(cudaMalloc(&d->write, d->list_ints * sizeof(int32_t)));
    DEV_CUDA_CHECK(cudaMalloc(&d->error, lldev::LL_DEVERR_WORDS * sizeof(int)));
    DEV_CUDA_CHECK(cudaMemset(d->error, 0, lldev::LL_DEVERR_WORDS * sizeof(int)));
}

static void dev_buffers_free(DevBuffers *d) {
    cudaFree(d->q); cudaFree(d->k); cudaFree(d->v); cudaFree(d->o);
    cudaFree(d->lse); cudaFree(d->read); cudaFree(d->write); cudaFree(d->error);
    memset(d, 0, sizeof *d);
}

// The tiles a version uses for head dim D (the shipped kernel's from ll_cuda_pick).
static ll_tiling dev_tiling(const DevVersion *v, ll_kernel_variant shipped, const ll_shape *s) {
    ll_tiling t = {v->block_m, v->block_n};
    if (!v->launch) {
        ll_kernel_variant got;
        ll_error err;
        if (ll_cuda_pick(s, shipped, &got, &t, &err) != LL_OK) {
            fprintf(stderr, "ll_cuda_pick: %s\n", err.msg);
            exit(1);
        }
    }
    return t;
}

// Launches one call (asynchronous). skip: the read list in d->read, the write list in d->write.
static bool dev_launch(const DevVersion *v, ll_kernel_variant shipped, const ll_shape *s, const ll_tiling *t,
                       const DevBuffers *d, bool skip, float threshold, char *why, size_t why_len) {
    if (!v->launch) {
        ll_attn_params p;
        memset(&p, 0, sizeof p);
        p.shape = *s;
        p.tiling = *t;
        p.threshold = threshold;
        ll_cuda_args a;
        memset(&a, 0, sizeof a);
        a.q = d->q; a.k = d->k; a.v = d->v; a.o = d->o; a.lse = d->lse;
        a.read_list = skip ? d->read : NULL;
        a.write_list = skip ? d->write : NULL;
        a.encoding = LL_END_EXCLUSIVE;
        ll_error err;
        if (ll_cuda_forward(shipped, &p, &a, &err) != LL_OK) {
            snprintf(why, why_len, "%s", err.msg);
            return false;
        }
        return true;
    }
    lldev::DevArgs a;
    memset(&a, 0, sizeof a);
    a.q = d->q; a.k = d->k; a.v = d->v; a.o = d->o; a.lse = d->lse;
    a.read_list = skip ? d->read : NULL;
    a.write_list = skip ? d->write : NULL;
    a.error = d->error;
    a.B = s->B; a.N = s->N; a.H = s->H; a.D = s->D;
    a.fp16 = s->dtype == LL_FP16;
    a.exclusive = 1;
    a.q_tiles = ll_q_tiles(s, t);
    a.k_tiles = ll_k_tiles(s, t);
    a.row_ints = ll_skip_list_row_len(a.k_tiles);
    a.scale_log2 = 1.0f / sqrtf((float)s->D) * DEV_LOG2E;
    a.threshold = threshold;
    if (v->smem_bytes(s->D, a.k_tiles, skip) == SIZE_MAX) {
        snprintf(why, why_len, "v%d: %d key tiles are beyond its list buffers", v->number, a.k_tiles);
        return false;
    }
    cudaError_t e = v->launch(&a, 0);
    if (e != cudaSuccess) {
        snprintf(why, why_len, "v%d launch: %s", v->number, cudaGetErrorString(e));
        return false;
    }
    return true;
}

// Waits for the call and reads the frozen kernels' error record.
static bool dev_sync(const DevVersion *v, const DevBuffers *d, char *why, size_t why_len) {
    if (!v->launch) {
        ll_error err;
        if (ll_cuda_sync(&err) != LL_OK) {
            snprintf(why, why_len, "%s", err.msg);
            return false;
        }
        return true;
    }
    cudaError_t e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        snprintf(why, why_len, "v%d: %s", v->number, cudaGetErrorString(e));
        return false;
    }
    int rec[lldev::LL_DEVERR_WORDS];
    DEV_CUDA_CHECK(cudaMemcpy(rec, d->error, sizeof rec, cudaMemcpyDeviceToHost));
    if (rec[0] == lldev::LL_DEVERR_NONE) return true;
    DEV_CUDA_CHECK(cudaMemset(d->error, 0, sizeof rec));
    snprintf(why, why_len, "v%d reported %s at row (b=%d, h=%d, qtile=%d), detail %d", v->number,
             rec[0] == lldev::LL_DEVERR_READ_LIST ? "a corrupt read list" : "a write-list overflow", rec[1], rec[2],
             rec[3], rec[4]);
    return false;
}

// ---------------------------------------------------------------------------
// The check against the CPU reference

struct DevReference {  // the fp32 reference of one (head dim, tiling)
    ll_shape shape;
    ll_tiling tiling;
    uint16_t *q, *k, *v;
    float *o_dense, *lse_dense, *o_skip, *lse_skip, *crit;
    ll_skip_list read, write;
};

static const float DEV_CHECK_THRESHOLD = -6.0f;

static void dev_reference_compute(DevReference *r, const ll_shape *s, const ll_tiling *t) {
    memset(r, 0, sizeof *r);
    r->shape = *s;
    r->tiling = *t;
    size_t n = ll_shape_elems(s), nl = (size_t)s->B * s->H * s->N;
    int qts = ll_q_tiles(s, t), kts = ll_k_tiles(s, t);
    r->q = (uint16_t *)malloc(n * 2);
    r->k = (uint16_t *)malloc(n * 2);
    r->v = (uint16_t *)malloc(n * 2);
    r->o_dense = (float *)malloc(n * sizeof(float));
    r->o_skip = (float *)malloc(n * sizeof(float));
    r->lse_dense = (float *)malloc(nl * sizeof(float));
    r->lse_skip = (float *)malloc(nl * sizeof(float));
    r->crit = (float *)malloc((size_t)s->B * s->H * qts * kts * sizeof(float));
    ll_error err;
    dev_clustered_inputs(s, 2024u + (uint64_t)s->D, r->q, r->k, r->v);
    if (ll_skip_list_alloc(&r->read, s->B, s->H, qts, kts, LL_END_EXCLUSIVE, &err) != LL_OK ||
        ll_skip_list_alloc(&r->write, s->B, s->H, qts, kts, LL_END_EXCLUSIVE, &err) != LL_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    ll_skip_list_fill_full(&r->read);
    ll_reference_options opt;
    memset(&opt, 0, sizeof opt);
    opt.check_inputs = 1;  // fp32: the kernels' arithmetic
    ll_attn_params p;
    memset(&p, 0, sizeof p);
    p.shape = *s;
    p.tiling = *t;
    p.threshold = -INFINITY;
    ll_status st = ll_reference_forward(&p, &opt, r->q, r->k, r->v, NULL, NULL, r->o_dense, r->lse_dense, NULL, NULL, &err);
    p.threshold = DEV_CHECK_THRESHOLD;
    if (st == LL_OK)
        st = ll_reference_forward(&p, &opt, r->q, r->k, r->v, &r->read, &r->write, r->o_skip, r->lse_skip, r->crit, NULL,
                                  &err);
    if (st != LL_OK) {
        fprintf(stderr, "CPU reference: %s\n", err.msg);
        exit(1);
    }
}

static void dev_reference_free(DevReference *r) {
    free(r->q); free(r->k); free(r->v); free(r->o_dense); free(r->o_skip);
    free(r->lse_dense); free(r->lse_skip); free(r->crit);
    ll_skip_list_free(&r->read);
    ll_skip_list_free(&r->write);
}

// Relative L2 of O and the largest LSE error; *unwritten counts NaN (poisoned) outputs.
static void dev_compare(const ll_shape *s, const uint16_t *o, const float *lse, const float *o_ref,
                        const float *lse_ref, double *rel_l2, double *lse_err, long *unwritten) {
    double num = 0, den = 0;
    *lse_err = 0;
    *unwritten = 0;
    for (size_t i = 0; i < ll_shape_elems(s); i++) {
        float x = ll_half_to_float(s->dtype, o[i]);
        if (isnan(x)) {
            (*unwritten)++;
            continue;
        }
        num += ((double)x - o_ref[i]) * ((double)x - o_ref[i]);
        den += (double)o_ref[i] * o_ref[i];
    }
    *rel_l2 = den > 0 ? sqrt(num / den) : sqrt(num);
    for (size_t i = 0; i < (size_t)s->B * s->H * s->N; i++) {
        if (isnan(lse[i])) {
            (*unwritten)++;
            continue;
        }
        double e = isinf(lse_ref[i]) ? (lse[i] == lse_ref[i] ? 0.0 : INFINITY) : fabs((double)lse[i] - lse_ref[i]);
        if (e > *lse_err) *lse_err = e;
    }
}

// One version against the reference of its tiling: dense, then skip mode at the check threshold.
static void dev_check(const DevVersion *v, ll_kernel_variant shipped, const DevReference *r) {
    const ll_shape *s = &r->shape;
    size_t n = ll_shape_elems(s), nl = (size_t)s->B * s->H * s->N;
    size_t list_bytes = ll_skip_list_rows(&r->read) * (size_t)ll_skip_list_row_len(r->read.k_tiles) * 4;
    DevBuffers d;
    dev_buffers_alloc(&d, s, (int)(list_bytes / 4));
    DEV_CUDA_CHECK(cudaMemcpy(d.q, r->q, n * 2, cudaMemcpyHostToDevice));
    DEV_CUDA_CHECK(cudaMemcpy(d.k, r->k, n * 2, cudaMemcpyHostToDevice));
    DEV_CUDA_CHECK(cudaMemcpy(d.v, r->v, n * 2, cudaMemcpyHostToDevice));
    uint16_t *o = (uint16_t *)malloc(n * 2);
    float *lse = (float *)malloc(nl * sizeof(float));
    ll_skip_list got;
    ll_error err;
    if (ll_skip_list_alloc(&got, s->B, s->H, r->read.q_tiles, r->read.k_tiles, LL_END_EXCLUSIVE, &err) != LL_OK) exit(1);
    char why[1200] = "";
    for (int skip = 0; skip < 2; skip++) {
        DEV_CUDA_CHECK(cudaMemset(d.o, 0xff, n * 2));  // NaN: an unwritten output shows
        DEV_CUDA_CHECK(cudaMemset(d.lse, 0xff, nl * sizeof(float)));
        if (skip) {
            DEV_CUDA_CHECK(cudaMemcpy(d.read, r->read.data, list_bytes, cudaMemcpyHostToDevice));
            DEV_CUDA_CHECK(cudaMemset(d.write, 0xff, list_bytes));
        }
        bool ok = dev_launch(v, shipped, s, &r->tiling, &d, skip, DEV_CHECK_THRESHOLD, why, sizeof why) &&
                  dev_sync(v, &d, why, sizeof why);
        DEV_EXPECT(ok, "v%d D=%d %s: %s", v->number, s->D, skip ? "skip" : "dense", why);
        if (!ok) continue;
        DEV_CUDA_CHECK(cudaMemcpy(o, d.o, n * 2, cudaMemcpyDeviceToHost));
        DEV_CUDA_CHECK(cudaMemcpy(lse, d.lse, nl * sizeof(float), cudaMemcpyDeviceToHost));
        double rel, lse_err;
        long unwritten;
        dev_compare(s, o, lse, skip ? r->o_skip : r->o_dense, skip ? r->lse_skip : r->lse_dense, &rel, &lse_err,
                    &unwritten);
        DEV_EXPECT(unwritten == 0, "v%d D=%d %s: %ld outputs never written", v->number, s->D, skip ? "skip" : "dense",
                   unwritten);
        DEV_EXPECT(rel < DEV_TOL_O && lse_err < DEV_TOL_LSE, "v%d D=%d %s: O rel L2 %.3g, LSE error %.3g", v->number,
                   s->D, skip ? "skip" : "dense", rel, lse_err);
        printf("    v%d D=%-3d %-5s O rel L2 %.2e  LSE err %.2e", v->number, s->D, skip ? "skip" : "dense", rel,
               lse_err);
        if (!skip) {
            printf("\n");
            continue;
        }
        DEV_CUDA_CHECK(cudaMemcpy(got.data, d.write, list_bytes, cudaMemcpyDeviceToHost));
        ll_status valid = ll_skip_list_validate(&got, "write list", &err);
        DEV_EXPECT(valid == LL_OK, "v%d D=%d: %s", v->number, s->D, err.msg);
        long ties = 0, wrong = 0, kept = 0, total = 0;
        int K = got.k_tiles;
        uint8_t *kg = (uint8_t *)malloc((size_t)K), *kr = (uint8_t *)malloc((size_t)K);
        for (size_t row = 0; valid == LL_OK && row < ll_skip_list_rows(&got); row++) {
            const size_t stride = (size_t)ll_skip_list_row_len(K);
            ll_skip_list_row_to_keep(got.data + row * stride, K, LL_END_EXCLUSIVE, kg);
            kept += ll_skip_list_row_to_keep(r->write.data + row * stride, K, LL_END_EXCLUSIVE, kr);
            total += K;
            for (int kt = 0; kt < K; kt++) {
                if (kg[kt] == kr[kt]) continue;
                float c = r->crit[row * (size_t)K + kt];
                if (!isnan(c) && fabsf(c - DEV_CHECK_THRESHOLD) <= DEV_TIE_WINDOW) ties++;
                else wrong++;
            }
        }
        free(kg);
        free(kr);
        DEV_EXPECT(wrong == 0, "v%d D=%d: %ld tiles decided differently from the reference, beyond ties", v->number,
                   s->D, wrong);
        printf("  write list: kept %.3f, %ld tie tiles\n", total ? (double)kept / total : 0.0, ties);
    }
    free(o);
    free(lse);
    ll_skip_list_free(&got);
    dev_buffers_free(&d);
}

// ---------------------------------------------------------------------------
// Timing

static int dev_cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

// Median of `reps` calls after one warm-up, ms; < 0 on failure (printed).
static double dev_time(const DevVersion *v, ll_kernel_variant shipped, const ll_shape *s, const ll_tiling *t,
                       const DevBuffers *d, bool skip) {
    enum { REPS = 5 };
    char why[1200];
    cudaEvent_t start, stop;
    DEV_CUDA_CHECK(cudaEventCreate(&start));
    DEV_CUDA_CHECK(cudaEventCreate(&stop));
    float ms[REPS];
    bool ok = dev_launch(v, shipped, s, t, d, skip, -INFINITY, why, sizeof why) && dev_sync(v, d, why, sizeof why);
    for (int i = 0; ok && i < REPS; i++) {
        DEV_CUDA_CHECK(cudaEventRecord(start));
        ok = dev_launch(v, shipped, s, t, d, skip, -INFINITY, why, sizeof why);
        DEV_CUDA_CHECK(cudaEventRecord(stop));
        ok = ok && dev_sync(v, d, why, sizeof why);
        if (ok) DEV_CUDA_CHECK(cudaEventElapsedTime(&ms[i], start, stop));
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    DEV_EXPECT(ok, "v%d timing: %s", v->number, why);
    if (!ok) return -1.0;
    qsort(ms, REPS, sizeof ms[0], dev_cmp_float);
    return ms[REPS / 2];
}

// One shape: every version dense, skip over full lists, skip over random lists at k = 0.5.
static void dev_time_shape(const DevVersion *vs, int n_versions, ll_kernel_variant shipped, const ll_shape *s) {
    printf("  (%d, %d, %d, %d) bf16: median of 5 calls, CUDA events; TFLOP/s of the dense 4*B*H*N^2*D\n", s->B, s->H,
           s->N, s->D);
    const double flops = 4.0 * s->B * s->H * (double)s->N * s->N * s->D;
    int max_list_ints = 0;
    for (int i = 0; i < n_versions; i++) {
        ll_tiling t = dev_tiling(&vs[i], shipped, s);
        int ints = s->B * s->H * ll_q_tiles(s, &t) * ll_skip_list_row_len(ll_k_tiles(s, &t));
        if (ints > max_list_ints) max_list_ints = ints;
    }
    DevBuffers d;
    dev_buffers_alloc(&d, s, max_list_ints);
    dev_fill_uniform<<<1024, 256>>>(d.q, d.elems, 1);
    dev_fill_uniform<<<1024, 256>>>(d.k, d.elems, 2);
    dev_fill_uniform<<<1024, 256>>>(d.v, d.elems, 3);
    DEV_CUDA_CHECK(cudaDeviceSynchronize());
    for (int i = 0; i < n_versions; i++) {
        const DevVersion *v = &vs[i];
        ll_tiling t = dev_tiling(v, shipped, s);
        ll_skip_list list;
        ll_error err;
        if (ll_skip_list_alloc(&list, s->B, s->H, ll_q_tiles(s, &t), ll_k_tiles(s, &t), LL_END_EXCLUSIVE, &err) !=
            LL_OK)
            exit(1);
        size_t list_bytes = ll_skip_list_rows(&list) * (size_t)ll_skip_list_row_len(list.k_tiles) * 4;
        double dense = dev_time(v, shipped, s, &t, &d, false);
        ll_skip_list_fill_full(&list);
        DEV_CUDA_CHECK(cudaMemcpy(d.read, list.data, list_bytes, cudaMemcpyHostToDevice));
        double full = dev_time(v, shipped, s, &t, &d, true);
        double half = -1.0;
        if (ll_bench_mask_build(&list, s, &t, LL_BENCH_MASK_RANDOM, 0.5, 99u, &err) == LL_OK) {
            DEV_CUDA_CHECK(cudaMemcpy(d.read, list.data, list_bytes, cudaMemcpyHostToDevice));
            half = dev_time(v, shipped, s, &t, &d, true);
        }
        if (dense > 0)
            printf("    v%d%s %3dx%-3d dense %8.2f ms %6.1f TFLOP/s | full lists %.3f x dense | random k=0.5 %.3f x dense\n",
                   v->number, v->launch ? "        " : " shipped", t.block_m, t.block_n, dense,
                   flops / dense * 1e-9, full / dense, half / dense);
        ll_skip_list_free(&list);
    }
    dev_buffers_free(&d);
}

// ---------------------------------------------------------------------------
// main() of a family's program:  <program> [VERSION ...] [--check-only]

static int dev_main(int argc, char **argv, const char *family, ll_kernel_variant shipped, const DevVersion *all,
                    int n_all) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    DevVersion chosen[16];
    int n = 0, time = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--check-only")) {
            time = 0;
            continue;
        }
        int want = atoi(argv[i]), found = 0;
        for (int j = 0; j < n_all && n < 16; j++)
            if (all[j].number == want && all[j].launch) {
                chosen[n++] = all[j];
                found = 1;
            }
        if (!found) {
            printf("usage: %s [VERSION ...] [--check-only]; versions:\n", argv[0]);
            for (int j = 0; j < n_all; j++) printf("  %d%s: %s\n", all[j].number, all[j].launch ? "" : " (shipped)", all[j].summary);
            return 2;
        }
    }
    if (n == 0)
        for (int j = 0; j < n_all && n < 16; j++)
            if (all[j].launch) chosen[n++] = all[j];
    for (int j = 0; j < n_all; j++)  // the shipped kernel last, as the yardstick
        if (!all[j].launch && n < 16) chosen[n++] = all[j];

    char gpu[256];
    int major = 0, minor = 0;
    ll_error err;
    if (ll_cuda_probe(gpu, sizeof gpu, &major, &minor, &err) != LL_OK) {
        printf("%s\n", err.msg);
        return 7;
    }
    if (shipped == LL_KERNEL_HOPPER && major != 9) {
        printf("%s: the Hopper kernels need compute capability 9.0; %s has %d.%d\n", argv[0], gpu, major, minor);
        return 7;
    }
    printf("%s kernel versions on %s (sm_%d%d)\n", family, gpu, major, minor);
    for (int i = 0; i < n; i++) printf("  v%d%s: %s\n", chosen[i].number, chosen[i].launch ? "" : " (shipped)", chosen[i].summary);

    printf("check against the CPU reference (fp32): B=1 H=4 N=2000, threshold %g\n", (double)DEV_CHECK_THRESHOLD);
    const int Ds[] = {64, 128};
    for (int di = 0; di < 2; di++) {
        ll_shape s = {1, 2000, 4, Ds[di], LL_BF16};
        DevReference refs[4];
        int n_refs = 0;
        for (int i = 0; i < n; i++) {
            ll_tiling t = dev_tiling(&chosen[i], shipped, &s);
            int r = 0;
            while (r < n_refs && (refs[r].tiling.block_m != t.block_m || refs[r].tiling.block_n != t.block_n)) r++;
            if (r == n_refs) dev_reference_compute(&refs[n_refs++], &s, &t);
            dev_check(&chosen[i], shipped, &refs[r]);
        }
        for (int r = 0; r < n_refs; r++) dev_reference_free(&refs[r]);
    }
    if (time) {
        printf("timings\n");
        ll_shape shapes[] = {{1, 32760, 40, 128, LL_BF16}, {1, 32760, 24, 64, LL_BF16}};
        for (int i = 0; i < 2; i++) dev_time_shape(chosen, n, shipped, &shapes[i]);
    }
    printf("%s: %s\n", argv[0], dev_failed ? "FAILED" : "all checks passed");
    return dev_failed ? 1 : 0;
}
