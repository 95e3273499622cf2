// bench_reference.c: wall-clock speed of the CPU reference LiteAttention
// (ll_reference_forward, fp32 mode) on random bf16 inputs. Three calls per
// repetition, all on the same Q, K, V:
//   dense      read list NULL: every tile, no criterion;
//   full+crit  the full read list, criterion at --threshold, write list kept;
//   sparse     a random read list keeping --kept of each row's key tiles.
// FLOP/s counts the FLOPs of the tiles computed (4 * rows * cols * D each).
// Build and run:  make bench-reference   (or build/bench_reference --help)
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "reference_attention.h"
#include "rng.h"
#include "skip_list.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: bench_reference [options]\n"
            "  --batch B       (1)      --tokens N   (4096)    --heads H (8)\n"
            "  --dim D         (128)    --block-m M  (128)     --block-n N (176)\n"
            "  --threshold T   (-10)    --kept F     (0.5)     --reps R  (3)\n"
            "  --threads T     (0: OpenMP default)     --seed S  (1)\n");
}

static double best_of(int reps, const ll_attn_params *p, const ll_reference_options *opt, const uint16_t *q,
                      const uint16_t *k, const uint16_t *v, const ll_skip_list *r, ll_skip_list *w, float *o,
                      float *lse) {
    double best = INFINITY;
    for (int i = 0; i < reps; i++) {
        ll_error err;
        double t0 = ll_now_seconds();
        ll_status st = ll_reference_forward(p, opt, q, k, v, r, w, o, lse, NULL, NULL, &err);
        double dt = ll_now_seconds() - t0;
        if (st != LL_OK) {
            fprintf(stderr, "bench_reference: %s\n", err.msg);
            exit(ll_exit_code(st));
        }
        if (dt < best) best = dt;
    }
    return best;
}

// FLOPs of the tiles a list computes (the whole dense count when r is NULL).
static double list_flops(const ll_shape *s, const ll_tiling *t, const ll_skip_list *r) {
    int kts = ll_k_tiles(s, t);
    uint8_t *keep = malloc(kts);
    double f = 0;
    for (int b = 0; b < s->B; b++)
        for (int h = 0; h < s->H; h++)
            for (int qt = 0; qt < ll_q_tiles(s, t); qt++) {
                if (r)
                    ll_skip_list_row_to_keep(ll_skip_list_row(r, b, h, qt), kts, r->encoding, keep);
                else
                    memset(keep, 1, kts);
                for (int kt = 0; kt < kts; kt++)
                    if (keep[kt]) f += 4.0 * ll_q_tile_rows(s, t, qt) * ll_k_tile_cols(s, t, kt) * s->D;
            }
    free(keep);
    return f;
}

int main(int argc, char **argv) {
    ll_shape s = {1, 4096, 8, 128, LL_BF16};
    ll_tiling t = {128, 176};
    float threshold = -10.0f;
    double kept = 0.5;
    int reps = 3, threads = 0;
    unsigned long long seed = 1;
    static const struct option opts[] = {
        {"batch", required_argument, 0, 'b'},   {"tokens", required_argument, 0, 'n'},
        {"heads", required_argument, 0, 'h'},   {"dim", required_argument, 0, 'd'},
        {"block-m", required_argument, 0, 'm'}, {"block-n", required_argument, 0, 'k'},
        {"threshold", required_argument, 0, 't'}, {"kept", required_argument, 0, 'f'},
        {"reps", required_argument, 0, 'r'},    {"threads", required_argument, 0, 'j'},
        {"seed", required_argument, 0, 's'},    {"help", no_argument, 0, 'H'},
        {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': s.B = atoi(optarg); break;
        case 'n': s.N = atoi(optarg); break;
        case 'h': s.H = atoi(optarg); break;
        case 'd': s.D = atoi(optarg); break;
        case 'm': t.block_m = atoi(optarg); break;
        case 'k': t.block_n = atoi(optarg); break;
        case 't': threshold = strtof(optarg, NULL); break;
        case 'f': kept = atof(optarg); break;
        case 'r': reps = atoi(optarg); break;
        case 'j': threads = atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 10); break;
        case 'H': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    ll_error err;
    if (ll_shape_validate(&s, "bench_reference", &err) != LL_OK || ll_tiling_validate(&t, &err) != LL_OK) {
        fprintf(stderr, "bench_reference: %s\n", err.msg);
        return 3;
    }
    if (reps < 1 || !(kept > 0 && kept <= 1) || isnan(threshold)) {
        fprintf(stderr, "bench_reference: --reps >= 1, --kept in (0, 1] and a numeric --threshold please\n");
        return 2;
    }

    size_t n = ll_shape_elems(&s);
    uint16_t *qkv[3];
    for (int i = 0; i < 3; i++) {
        qkv[i] = malloc(n * sizeof(uint16_t));
        if (!qkv[i]) { fprintf(stderr, "bench_reference: out of memory\n"); return 6; }
        for (size_t j = 0; j < n; j++) qkv[i][j] = ll_float_to_bf16(ll_normal(ll_hash4(seed, j, (uint64_t)i, 0)));
    }
    float *o = malloc(n * sizeof(float)), *lse = malloc((size_t)s.B * s.H * s.N * sizeof(float));
    int qts = ll_q_tiles(&s, &t), kts = ll_k_tiles(&s, &t);
    ll_skip_list full, written, sparse;
    if (!o || !lse || ll_skip_list_alloc(&full, s.B, s.H, qts, kts, LL_END_EXCLUSIVE, &err) != LL_OK ||
        ll_skip_list_alloc(&written, s.B, s.H, qts, kts, LL_END_EXCLUSIVE, &err) != LL_OK ||
        ll_skip_list_alloc(&sparse, s.B, s.H, qts, kts, LL_END_EXCLUSIVE, &err) != LL_OK) {
        fprintf(stderr, "bench_reference: out of memory\n");
        return 6;
    }
    ll_skip_list_fill_full(&full);
    // Random list: each row keeps round(kept * k_tiles) tiles (at least one),
    // a uniform random subset (partial Fisher-Yates).
    int n_keep = (int)lround(kept * kts);
    if (n_keep < 1) n_keep = 1;
    int *perm = malloc(sizeof(int) * kts);
    uint8_t *keep = malloc(kts);
    ll_rng rng;
    ll_rng_seed(&rng, seed + 7);
    for (size_t row = 0; row < ll_skip_list_rows(&sparse); row++) {
        for (int i = 0; i < kts; i++) perm[i] = i;
        memset(keep, 0, kts);
        for (int i = 0; i < n_keep; i++) {
            int j = ll_rng_int(&rng, i, kts - 1), tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
            keep[perm[i]] = 1;
        }
        ll_skip_list_row_from_keep(keep, kts, LL_END_EXCLUSIVE, sparse.data + row * ll_skip_list_row_len(kts));
    }

    ll_attn_params p = {.shape = s, .tiling = t, .softmax_scale = 0, .threshold = threshold};
    ll_reference_options opt = {.use_fp64 = 0, .n_threads = threads, .check_inputs = 1};
    int nt = threads > 0 ? threads : omp_get_max_threads();
    printf("CPU reference, fp32, bf16 inputs: B=%d N=%d H=%d D=%d, tile %dx%d, %d OpenMP threads, best of %d\n", s.B,
           s.N, s.H, s.D, t.block_m, t.block_n, nt, reps);
    printf("%-10s %9s %8s %10s\n", "call", "kept", "seconds", "GFLOP/s");
    double fd = list_flops(&s, &t, NULL);
    double td = best_of(reps, &p, &opt, qkv[0], qkv[1], qkv[2], NULL, NULL, o, lse);
    printf("%-10s %9.3f %8.3f %10.2f\n", "dense", 1.0, td, fd / td * 1e-9);
    double tf = best_of(reps, &p, &opt, qkv[0], qkv[1], qkv[2], &full, &written, o, lse);
    printf("%-10s %9.3f %8.3f %10.2f   (threshold %g: the write list keeps %.3f)\n", "full+crit", 1.0, tf,
           fd / tf * 1e-9, threshold, list_flops(&s, &t, &written) / fd);
    double fs = list_flops(&s, &t, &sparse);
    double ts = best_of(reps, &p, &opt, qkv[0], qkv[1], qkv[2], &sparse, &written, o, lse);
    printf("%-10s %9.3f %8.3f %10.2f\n", "sparse", fs / fd, ts, fs / ts * 1e-9);

    free(perm);
    free(keep);
    ll_skip_list_free(&full);
    ll_skip_list_free(&written);
    ll_skip_list_free(&sparse);
    for (int i = 0; i < 3; i++) free(qkv[i]);
    free(o);
    free(lse);
    return 0;
}
