// tile_stats.cu: tile-level attention maps of a dense call on the GPU (what
// `litelab capture` records at Wan scale; lib/tile_maps.h defines them):
//   max_log2[b,h,qt,kt] = max_r max_c (s_rc - M_r) * scale * log2(e)
//   mass[b,h,qt,kt]     = max_r sum_c softmax(s_r)_c
// One CTA per (query tile of 128 rows, head, batch), 8 warps x 16 rows, Q in
// registers, K only (no V, no output). Two sweeps over the keys in 64-column
// chunks, one cp.async pipeline for both:
//   1. every chunk: online row maximum M_r and log2-sum-exp (what a dense
//      forward computes, without P V);
//   2. every chunk again: per key tile (block_n = a multiple of 64 columns)
//      each row's tile maximum and probability mass; the warps meet in a
//      small shared array across the barrier each chunk needs anyway.
// The scores come from the same mma sequence in both sweeps, so the tile that
// holds a row's maximum gets max_log2 exactly 0, as in the CPU version.
#include <math.h>
#include <stdint.h>

#include "mma_sm80.cuh"
#include "portable_attention.h"
#include "softmax_criterion.cuh"
#include "tile_load.cuh"

namespace ll {

template <int D_>
struct StatsConfig {
    static constexpr int D = D_, WARPS = 8, THREADS = 256, BM = 128, CHUNK = 64;
    static constexpr int LD = D + 8;
    static constexpr int CHUNK_ELEMS = CHUNK * LD;
    static constexpr size_t SMEM_BYTES = sizeof(uint16_t) * (size_t)(2 * CHUNK_ELEMS + BM * LD) + sizeof(float) * 2 * 2 * WARPS;
};

template <int D, class T>
__global__ void __launch_bounds__(256, 1) tile_stats_kernel(const ll_tile_stats_args a) {
    using Cfg = StatsConfig<D>;
    constexpr int KS = D / 16, NT = Cfg::CHUNK / 8, LD = Cfg::LD, THREADS = Cfg::THREADS;
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *s_k = reinterpret_cast<uint16_t *>(smem);  // [2][CHUNK][LD]
    uint16_t *s_q = s_k + 2 * Cfg::CHUNK_ELEMS;           // [BM][LD]
    float *s_stat = reinterpret_cast<float *>(s_q + Cfg::BM * LD);  // [2 parities][max_log2 | mass][WARPS]

    const int qt = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, g = lane >> 2;
    const int N = a.N;
    const size_t token_stride = (size_t)a.H * D;
    const size_t head_base = (size_t)b * N * token_stride + (size_t)h * D;
    const uint16_t *qg = a.q + head_base, *kg = a.k + head_base;
    const int warp_valid_rows = N - (qt * Cfg::BM + warp * 16);
    const int n_chunks = (N + Cfg::CHUNK - 1) / Cfg::CHUNK, chunks_per_tile = a.block_n / Cfg::CHUNK;
    const int n_steps = 2 * n_chunks;  // sweep 1, then sweep 2
    const float c = a.scale_log2;
    float *out_max = a.max_log2 + (((size_t)b * a.H + h) * a.q_tiles + qt) * a.k_tiles;
    float *out_mass = a.mass + (((size_t)b * a.H + h) * a.q_tiles + qt) * a.k_tiles;

    load_tile_async<Cfg::BM, D, LD, THREADS>(s_q, qg, qt * Cfg::BM, N, token_stride);
    load_tile_async<Cfg::CHUNK, D, LD, THREADS>(s_k, kg, 0, N, token_stride);
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();
    uint32_t q_frag[KS][4];
    const int q_row = warp * 16 + ((lane >> 3) & 1) * 8 + (lane & 7), q_col = (lane >> 4) * 8;
#pragma unroll
    for (int ks = 0; ks < KS; ks++) ldmatrix_x4(q_frag[ks], smem_u32(s_q + q_row * LD + ks * 16 + q_col));
    const int k_row = (lane >> 4) * 8 + (lane & 7), k_col = ((lane >> 3) & 1) * 8;

    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // sweep 1
    float lse2[2] = {0.0f, 0.0f};  // row log2-sum-exp (sweep 1's result; m[] then holds M_r)
    float t_max[2] = {-INFINITY, -INFINITY}, t_mass[2] = {0.0f, 0.0f};  // sweep 2, current key tile
    int pending_kt = -1, n_tiles_done = 0;  // thread 0: a finished key tile to write out

    for (int step = 0; step < n_steps; step++) {
        cp_async_wait<0>();
        __syncthreads();
        if (tid == 0 && pending_kt >= 0) {
            const float *st = s_stat + ((n_tiles_done - 1) & 1) * 2 * Cfg::WARPS;
            float mx = st[0], ms = st[Cfg::WARPS];
#pragma unroll
            for (int w = 1; w < Cfg::WARPS; w++) {
                mx = fmaxf(mx, st[w]);
                ms = fmaxf(ms, st[Cfg::WARPS + w]);
            }
            out_max[pending_kt] = mx;
            out_mass[pending_kt] = fminf(ms, 1.0f);  // rounding may exceed 1 by an ulp
            pending_kt = -1;
        }
        if (step + 1 < n_steps) {
            int next_chunk = (step + 1) % n_chunks;
            load_tile_async<Cfg::CHUNK, D, LD, THREADS>(s_k + ((step + 1) & 1) * Cfg::CHUNK_ELEMS, kg,
                                                       next_chunk * Cfg::CHUNK, N, token_stride);
        }
        cp_async_commit();

        const int chunk = step % n_chunks;
        const uint16_t *sk = s_k + (step & 1) * Cfg::CHUNK_ELEMS;
        float s[1][NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) s[0][nt][e] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < KS; ks++)
#pragma unroll
            for (int np = 0; np < NT / 2; np++) {
                uint32_t kb[4];
                ldmatrix_x4(kb, smem_u32(sk + (np * 16 + k_row) * LD + ks * 16 + k_col));
                mma_16816(T{}, s[0][2 * np], q_frag[ks], kb[0], kb[1]);
                mma_16816(T{}, s[0][2 * np + 1], q_frag[ks], kb[2], kb[3]);
            }
        if ((chunk + 1) * Cfg::CHUNK > N) mask_columns(s, N - chunk * Cfg::CHUNK);

        if (step < n_chunks) {  // sweep 1: online max and sum
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                float mx = -INFINITY;
#pragma unroll
                for (int nt = 0; nt < NT; nt++) mx = fmaxf(mx, fmaxf(s[0][nt][2 * hh], s[0][nt][2 * hh + 1]));
                mx = quad_max(mx);
                float m_new = fmaxf(m[hh], mx), ms = m_new * c, sum = 0.0f;
#pragma unroll
                for (int nt = 0; nt < NT; nt++)
                    for (int e = 0; e < 2; e++) sum += fast_exp2(fmaf(s[0][nt][2 * hh + e], c, -ms));
                l[hh] = l[hh] * fast_exp2((m[hh] - m_new) * c) + sum;
                m[hh] = m_new;
            }
            if (step == n_chunks - 1)
#pragma unroll
                for (int hh = 0; hh < 2; hh++) lse2[hh] = m[hh] * c + log2f(quad_sum(l[hh]));
            continue;
        }

        // sweep 2: this chunk's part of its key tile
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            float mx = -INFINITY, sum = 0.0f;
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float x = s[0][nt][2 * hh + e];
                    mx = fmaxf(mx, x);
                    sum += fast_exp2(fmaf(x, c, -lse2[hh]));
                }
            t_max[hh] = fmaxf(t_max[hh], quad_max(mx));
            t_mass[hh] += quad_sum(sum);
        }
        const int kt = chunk / chunks_per_tile;
        if (chunk % chunks_per_tile == chunks_per_tile - 1 || chunk == n_chunks - 1) {
            float wmax = -INFINITY, wmass = 0.0f;
#pragma unroll
            for (int hh = 0; hh < 2; hh++)
                if (hh * 8 + g < warp_valid_rows) {
                    wmax = fmaxf(wmax, (t_max[hh] - m[hh]) * c);  // exactly 0 where the row max lies
                    wmass = fmaxf(wmass, t_mass[hh]);
                }
            wmax = warp_max_over_quads(wmax);
            wmass = warp_max_over_quads(wmass);
            if (lane == 0) {
                float *st = s_stat + (n_tiles_done & 1) * 2 * Cfg::WARPS;
                st[warp] = wmax;
                st[Cfg::WARPS + warp] = wmass;
            }
            n_tiles_done++;
            pending_kt = kt;
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                t_max[hh] = -INFINITY;
                t_mass[hh] = 0.0f;
            }
        }
    }
    __syncthreads();
    if (tid == 0 && pending_kt >= 0) {
        const float *st = s_stat + ((n_tiles_done - 1) & 1) * 2 * Cfg::WARPS;
        float mx = st[0], ms = st[Cfg::WARPS];
        for (int w = 1; w < Cfg::WARPS; w++) {
            mx = fmaxf(mx, st[w]);
            ms = fmaxf(ms, st[Cfg::WARPS + w]);
        }
        out_max[pending_kt] = mx;
        out_mass[pending_kt] = fminf(ms, 1.0f);
    }
}

template <int D>
static cudaError_t launch_stats(const ll_tile_stats_args *a, cudaStream_t stream) {
    size_t smem = StatsConfig<D>::SMEM_BYTES;
    void (*kernel)(const ll_tile_stats_args) = a->fp16 ? tile_stats_kernel<D, fp16_tag> : tile_stats_kernel<D, bf16_tag>;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)a->q_tiles, (unsigned)a->H, (unsigned)a->B);
    kernel<<<grid, StatsConfig<D>::THREADS, smem, stream>>>(*a);
    return cudaGetLastError();
}

}  // namespace ll

bool ll_tile_stats_supported(int D, int block_m, int block_n) {
    return (D == 64 || D == 96 || D == 128) && block_m == ll::StatsConfig<128>::BM && block_n > 0 &&
           block_n % ll::StatsConfig<128>::CHUNK == 0;
}

size_t ll_tile_stats_smem_bytes(int D) {
    return D == 64 ? ll::StatsConfig<64>::SMEM_BYTES
                   : D == 96 ? ll::StatsConfig<96>::SMEM_BYTES : ll::StatsConfig<128>::SMEM_BYTES;
}

cudaError_t ll_tile_stats_launch(const ll_tile_stats_args *a, cudaStream_t stream) {
    if (a->D == 64) return ll::launch_stats<64>(a, stream);
    if (a->D == 96) return ll::launch_stats<96>(a, stream);
    if (a->D == 128) return ll::launch_stats<128>(a, stream);
    return cudaErrorInvalidValue;
}
