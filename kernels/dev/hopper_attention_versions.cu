// hopper_attention_versions.cu: the earlier versions of the Hopper (sm_90a)
// LiteAttention kernel (TMA, wgmma, warp specialisation), frozen as they were
// measured, in llm.c's dev/cuda style. The shipped kernel (v5: v4's kernel,
// longest-first order within each head) is kernels/hopper_attention.cu; this
// program runs it too, through the library, as the yardstick.
//   make dev-kernels && ./build/dev/hopper_attention_versions [VERSION ...] [--check-only]
// checks each version against litelab's CPU reference, then times it
// (kernels/dev/dev_common.cuh says what and how). bf16, D = 64 and 128; needs
// compute capability 9.0.
//
// One CTA per (query tile of 128 rows, head, batch), 3 warpgroups: a TMA
// producer and two wgmma consumer warpgroups of 64 rows each. Versions, H200
// bf16, (1, 40, 75600, 128) dense ms | full lists / dense | random k=0.5 /
// dense (kernels/NOTES.md has the rest):
//   v1: warp specialisation, TMA, wgmma, two consumer warpgroups, the grid
//       in list-row order.                                   187.2 | 1.044 | 0.560
//   v2: v1 + ping-pong: named barriers hand the tensor cores from one
//       consumer warpgroup to the other, so one's softmax runs under the
//       other's matrix work; in skip mode the query tiles are launched
//       longest kept work first (a radix sort of the rows' work). 188.9 | 1.052 | 0.569
//   v3: v2 + intra-warpgroup overlap: the softmax of tile j runs while
//       P_{j-1} V_{j-1} is still on the tensor cores; O is rescaled once that
//       product has landed.                                  181.9 | 1.054 | 0.571
//   v4: v3 + the list work off the consumers' critical path: the
//       producer walks the read ranges itself, each warp votes keep with one
//       vote instruction, and one warp writes the row in a single flat pass
//       (32 visits a round however short the ranges).       181.7 | 1.035 | 0.518
//   v5 (shipped): v4's kernel with the longest-first order taken within each
//       head, heads in turn (banded masks kept K/V in L2). 182.7 | 1.027 | 0.524
#include <cuda.h>
#include <cudaTypedefs.h>
#include <math.h>
#include <stdint.h>

#include <cub/device/device_radix_sort.cuh>

#include "dev_common.cuh"
#include "sm90_ptx.cuh"

namespace lldev {

using namespace ll;  // the PTX wrappers (mma_sm80.cuh, sm90_ptx.cuh)


// LEAN (v4): the list work leaves the consumers' critical path: the producer
// walks the read ranges itself (no visiting order built up front), the
// consumers vote keep per tile with one warp vote, and the writer scans the
// visits flat, 32 per round whatever the ranges, in one pass.
template <int D_, int STAGES_, bool PINGPONG_, bool OVERLAP_, bool LEAN_ = false>
struct HopperConfig {
    static constexpr int D = D_, BM = 128, BN = 128, STAGES = STAGES_;
    static constexpr bool PINGPONG = PINGPONG_, OVERLAP = OVERLAP_, LEAN = LEAN_;
    static constexpr int THREADS = 384;      // producer warpgroup + 2 consumer warpgroups
    static constexpr int CHUNKS = D / 64;    // 64-column (128-byte) swizzled chunks of a row
    static constexpr int NT = BN / 8;        // 8-column blocks of a score tile
    static constexpr int DT = D / 8;         // 8-column blocks of the output
    static constexpr int QK_STEPS = D / 16;  // wgmma k-steps of Q K^T
    static constexpr int PV_STEPS = BN / 16; // wgmma k-steps of P V
    static constexpr uint32_t Q_CHUNK = BM * 128, KV_CHUNK = BN * 128;
    static constexpr uint32_t Q_BYTES = CHUNKS * Q_CHUNK, KV_BYTES = CHUNKS * KV_CHUNK;
    static constexpr uint32_t K_OFF = Q_BYTES, V_OFF = Q_BYTES + STAGES * KV_BYTES;
    static constexpr uint32_t BAR_OFF = Q_BYTES + 2 * STAGES * KV_BYTES;
    // Q full; K full, K empty, V full, V empty per stage; the producer's walk done
    static constexpr int N_BARS = 2 + 4 * STAGES;
    static constexpr uint32_t LIST_OFF = BAR_OFF + 8 * N_BARS + 16;  // + flag, count and visits words
    static constexpr int PRODUCER_REGS = 40, CONSUMER_REGS = 232;    // 128 * 40 + 256 * 232 <= 64 K
    static_assert(D % 64 == 0 && D <= 128, "head dim");
};

// Named barriers: 0 is __syncthreads; 1 the consumers' end; 2, 3 the turns.
enum { BAR_CONSUMERS = 1, BAR_TURN = 2, CONSUMER_THREADS = 256 };

// The list area behind the barriers (skip mode). v1-v3: raw row, flags,
// visiting order (bit 15 = must-do), one keep byte per computed tile. LEAN:
// raw row, the writer's staging row, flags, per visit its tile (bit 15 =
// last of its range) and keep byte, per computed tile its visit (bit 15 =
// the partial last key tile).
__host__ __device__ inline int hopper_max_visits(int k_tiles) {
    return k_tiles + k_tiles / 2 + 1;  // ranges may touch (start_{i+1} = end_i)
}
__host__ __device__ inline size_t hopper_list_bytes(int k_tiles, bool lean) {
    size_t visits = (size_t)hopper_max_visits(k_tiles);
    size_t row = sizeof(int32_t) * (size_t)(k_tiles + 2), flags = (size_t)((k_tiles + 1) & ~1);
    if (lean) return row + sizeof(int32_t) * (size_t)(k_tiles + 1) + flags + 5 * visits;
    return row + flags + 3 * visits;
}

template <int NT>
__device__ __forceinline__ void fence_fragments(uint32_t (&p)[NT][4]) {
#pragma unroll
    for (int i = 0; i < NT; i++)
#pragma unroll
        for (int e = 0; e < 4; e++) asm volatile("" : "+r"(p[i][e])::"memory");
}

template <class Cfg, class T, bool SKIP>
__global__ void __launch_bounds__(Cfg::THREADS, 1)
    hopper_attention_kernel(const __grid_constant__ CUtensorMap tm_q, const __grid_constant__ CUtensorMap tm_k,
                            const __grid_constant__ CUtensorMap tm_v, const DevArgs a, const int *order) {
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
    __trap();  // built for another architecture; the host launches it on sm_90 only
#else
    constexpr int STAGES = Cfg::STAGES, BM = Cfg::BM, BN = Cfg::BN, NT = Cfg::NT, DT = Cfg::DT;
    extern __shared__ unsigned char smem_raw[];
    // The swizzled tiles need 1024-byte alignment; the launch asks for 1 KB more.
    unsigned char *smem = smem_raw + ((1024u - (smem_u32(smem_raw) & 1023u)) & 1023u);
    uint64_t *bars = reinterpret_cast<uint64_t *>(smem + Cfg::BAR_OFF);
    uint64_t *q_full = bars, *k_full = bars + 1, *k_empty = k_full + STAGES, *v_full = k_empty + STAGES,
             *v_empty = v_full + STAGES, *walk_done = v_empty + STAGES;
    int *s_flag = reinterpret_cast<int *>(bars + Cfg::N_BARS), *s_count = s_flag + 1, *s_visits = s_flag + 2;
    const int visits_max = hopper_max_visits(a.k_tiles);
    int32_t *s_ranges = reinterpret_cast<int32_t *>(smem + Cfg::LIST_OFF);
    int32_t *s_stage = s_ranges + a.k_tiles + 2;  // LEAN: the writer's row, k_tiles + 1 entries
    uint8_t *s_flags = reinterpret_cast<uint8_t *>(Cfg::LEAN ? s_stage + a.k_tiles + 1 : s_stage);
    uint16_t *s_seq = reinterpret_cast<uint16_t *>(s_flags + ((a.k_tiles + 1) & ~1));  // v1-v3; LEAN: tile per visit
    uint16_t *s_vinfo = s_seq, *s_vidx = s_seq + visits_max;  // LEAN: tile (+ last bit) per visit, visit per tile
    uint8_t *s_keep = reinterpret_cast<uint8_t *>(s_seq + (Cfg::LEAN ? 2 : 1) * visits_max);
    const bool partial_last = a.N % BN != 0;  // the last key tile has padding columns

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, wg = warp >> 2;
    const int row_id = order ? order[blockIdx.x] : (int)blockIdx.x;  // = the list row
    const int qt = row_id % a.q_tiles, h = (row_id / a.q_tiles) % a.H, b = row_id / (a.q_tiles * a.H);

    if (tid == 0) {
        mbar_init(q_full, 1);
        mbar_init(walk_done, 1);
        *s_count = 0;
        *s_visits = 0;
        for (int s = 0; s < STAGES; s++) {
            mbar_init(&k_full[s], 1);
            mbar_init(&v_full[s], 1);
            mbar_init(&k_empty[s], 8);  // one arrival per consumer warp
            mbar_init(&v_empty[s], 8);
        }
        mbar_init_fence();
    }
    // --- the visiting order (skip mode), as the portable kernel builds it
    int nranges = 0, n_visits = a.k_tiles;
    if constexpr (SKIP) {
        if (a.flags)
            for (int i = tid; i < a.k_tiles; i += Cfg::THREADS) s_flags[i] = a.flags[i];
        for (int i = tid; i < visits_max; i += Cfg::THREADS) s_keep[i] = 0;
        nranges = load_read_row<Cfg::THREADS>(a.read_list + (size_t)row_id * a.row_ints, a.k_tiles, a.row_ints - 1,
                                              a.exclusive, s_ranges, s_flag, a.error, b, h, qt);  // ends with a barrier
        if constexpr (Cfg::LEAN) {
            // Only the counts, in parallel: visits, and computed tiles (visits less must-skip ones).
            int visits = 0, computed = 0;
            for (int i = tid; i < nranges; i += Cfg::THREADS) {
                int start = s_ranges[2 * i], last = s_ranges[2 * i + 1] + a.exclusive, c = start - last + 1;
                visits += c;
                if (a.flags)
                    for (int kt = last; kt <= start; kt++) c -= s_flags[kt] == TILE_MUST_SKIP;
                computed += c;
            }
            if (visits) atomicAdd(s_visits, visits);
            if (computed) atomicAdd(s_count, computed);
        } else if (warp == 0) {
            int n = build_visit_seq(s_ranges, nranges, a.exclusive, a.flags ? s_flags : nullptr, s_seq);
            if (lane == 0) *s_count = n;
        }
    }
    __syncthreads();  // barriers initialised, visiting order complete
    if constexpr (SKIP) n_visits = *s_count;

    if (wg == 0) {
        // ------------------------------------------------------------ producer
        regs_release<Cfg::PRODUCER_REGS>();
        if (warp == 0 && lane == 0) {
            tma_prefetch_map(&tm_q);
            tma_prefetch_map(&tm_k);
            tma_prefetch_map(&tm_v);
            mbar_arrive_expect_tx(q_full, Cfg::Q_BYTES);
#pragma unroll
            for (int c = 0; c < Cfg::CHUNKS; c++)
                tma_load_4d(smem + c * Cfg::Q_CHUNK, &tm_q, c * 64, h, qt * BM, b, q_full);
            auto load_tile = [&](int j, int kt) {
                const int st = j % STAGES;
                const uint32_t parity = ((j / STAGES) & 1) ^ 1;  // fresh barriers pass parity 1
                unsigned char *k_dst = smem + Cfg::K_OFF + st * Cfg::KV_BYTES;
                unsigned char *v_dst = smem + Cfg::V_OFF + st * Cfg::KV_BYTES;
                mbar_wait(&k_empty[st], parity);
                mbar_arrive_expect_tx(&k_full[st], Cfg::KV_BYTES);
#pragma unroll
                for (int c = 0; c < Cfg::CHUNKS; c++)
                    tma_load_4d(k_dst + c * Cfg::KV_CHUNK, &tm_k, c * 64, h, kt * BN, b, &k_full[st]);
                mbar_wait(&v_empty[st], parity);
                mbar_arrive_expect_tx(&v_full[st], Cfg::KV_BYTES);
#pragma unroll
                for (int c = 0; c < Cfg::CHUNKS; c++)
                    tma_load_4d(v_dst + c * Cfg::KV_CHUNK, &tm_v, c * 64, h, kt * BN, b, &v_full[st]);
            };
            if (SKIP && Cfg::LEAN) {
                // Walk the ranges: record each visit for the writer and each computed
                // tile's visit for the consumers (published by the K barrier's arrival).
                int j = 0, v = 0;
                for (int r = 0; r < nranges; r++) {
                    const int start = s_ranges[2 * r], last = s_ranges[2 * r + 1] + a.exclusive;
                    for (int kt = start; kt >= last; kt--, v++) {
                        s_vinfo[v] = (uint16_t)(kt | (kt == last ? 0x8000 : 0));
                        if (a.flags && s_flags[kt] == TILE_MUST_SKIP) continue;
                        s_vidx[j] = (uint16_t)(v | (partial_last && kt == a.k_tiles - 1 ? 0x8000 : 0));
                        load_tile(j++, kt);
                    }
                }
                mbar_arrive(walk_done);
            } else {
                for (int j = 0; j < n_visits; j++) load_tile(j, SKIP ? (s_seq[j] & 0x7fff) : a.k_tiles - 1 - j);
            }
        }
    } else {
        // ------------------------------------------------------------ consumers
        regs_claim<Cfg::CONSUMER_REGS>();
        const int cw = wg - 1, wq = warp & 3;              // consumer warpgroup, warp inside it
        const int warp_row0 = qt * BM + cw * 64 + wq * 16;  // first token row of this warp
        const int warp_valid_rows = a.N - warp_row0;
        const uint32_t q_base = smem_u32(smem) + cw * 64 * 128;  // this warpgroup's 64 rows
        const uint32_t k_base = smem_u32(smem + Cfg::K_OFF), v_base = smem_u32(smem + Cfg::V_OFF);

        float o[1][DT][4], s[1][NT][4];
        uint32_t p[Cfg::PV_STEPS][4];
#pragma unroll
        for (int i = 0; i < DT; i++)
#pragma unroll
            for (int e = 0; e < 4; e++) o[0][i][e] = 0.0f;
        OnlineSoftmax<1, NT, DT> sm;
        sm.init();

        // Phase j issues Q K_j^T and P_{j-1} V_{j-1}; the first and the last
        // phase are peeled so the steady loop has no branch around a wgmma
        // (ptxas would serialise them otherwise).
        auto issue_qk = [&](int j) {
            const int st = j % STAGES;
            mbar_wait(&k_full[st], (j / STAGES) & 1);
            wgmma_fence();  // right before the instructions: no branch in between
            const uint32_t k_tile = k_base + st * Cfg::KV_BYTES;
#pragma unroll
            for (int kk = 0; kk < Cfg::QK_STEPS; kk++) {
                const uint32_t qoff = (kk / 4) * Cfg::Q_CHUNK + (kk % 4) * 32;
                const uint32_t koff = (kk / 4) * Cfg::KV_CHUNK + (kk % 4) * 32;
                wgmma_m64n128k16_ss<T>(s, wgmma_desc(q_base + qoff, 16, 1024), wgmma_desc(k_tile + koff, 16, 1024),
                                       kk > 0);
            }
            wgmma_commit();
        };
        auto issue_pv = [&](int j) {
            const int st = j % STAGES;
            mbar_wait(&v_full[st], (j / STAGES) & 1);
            wgmma_fence();
            const uint32_t v_tile = v_base + st * Cfg::KV_BYTES;
#pragma unroll
            for (int kk = 0; kk < Cfg::PV_STEPS; kk++) {
                // 16 keys down per k-step; the two 64-column chunks lie KV_CHUNK apart
                uint64_t desc = wgmma_desc(v_tile + kk * 16 * 128, Cfg::KV_CHUNK, 1024);
                if constexpr (Cfg::D == 128) wgmma_m64n128k16_rs<T>(o, p[kk], desc);
                else wgmma_m64n64k16_rs<T>(o, p[kk], desc);
            }
            wgmma_commit();
        };
        // Ping-pong: a warpgroup waits for its turn before issuing and hands
        // the turn over right after (the issue is short; the work runs on).
        auto turn_begin = [&]() {
            if (Cfg::PINGPONG) named_bar_sync(BAR_TURN + cw, CONSUMER_THREADS);
        };
        auto turn_end = [&]() {
            if (Cfg::PINGPONG) named_bar_arrive(BAR_TURN + (cw ^ 1), CONSUMER_THREADS);
        };
        // S_j has landed: release K_j, mask, new maxima and probabilities.
        // LEAN: crit is this thread's rows' criterion (the warp's vote follows).
        auto softmax_scores = [&](int j, float (&alpha)[1][2], float &crit) {
            fence_accumulators(s);
            if (lane == 0) mbar_arrive(&k_empty[j % STAGES]);
            bool partial;
            if constexpr (SKIP && Cfg::LEAN) partial = s_vidx[j] >> 15;
            else if constexpr (SKIP) partial = (s_seq[j] & 0x7fff) == a.k_tiles - 1 && partial_last;
            else partial = j == 0 && partial_last;
            if (partial) mask_columns(s, a.N - (a.k_tiles - 1) * BN);
            bool rescale = sm.template new_maximum<SKIP, true, !Cfg::LEAN>(s, a.scale_log2, warp_valid_rows, alpha, crit);
            sm.exponentiate(s, a.scale_log2);
            return rescale;
        };
        // P_{j-1} V_{j-1} has landed: release V_{j-1}.
        auto pv_landed = [&](int j_prev) {
            fence_accumulators(o);
            fence_fragments(p);  // P_{j-1} stays in its registers until here
            if (lane == 0) mbar_arrive(&v_empty[j_prev % STAGES]);
        };
        // O rescaled to the new maxima, P_j packed, the warp's keep vote.
        auto finish_tile = [&](int j, bool rescale, const float (&alpha)[1][2], float crit) {
            if (rescale) sm.rescale_output(o, alpha);
#pragma unroll
            for (int kk = 0; kk < Cfg::PV_STEPS; kk++) {
                p[kk][0] = pack2(T{}, s[0][2 * kk][0], s[0][2 * kk][1]);
                p[kk][1] = pack2(T{}, s[0][2 * kk][2], s[0][2 * kk][3]);
                p[kk][2] = pack2(T{}, s[0][2 * kk + 1][0], s[0][2 * kk + 1][1]);
                p[kk][3] = pack2(T{}, s[0][2 * kk + 1][2], s[0][2 * kk + 1][3]);
            }
            if constexpr (SKIP && Cfg::LEAN) {
                // The keep rule with this warp's rows: negligible when every thread's rows are.
                const bool negligible = __all_sync(0xffffffffu, ll_crit_negligible(crit, a.threshold));
                if (lane == 0) {
                    const int v = s_vidx[j] & 0x7fff;
                    const bool must_do = a.flags && s_flags[s_vinfo[v] & 0x7fff] == TILE_MUST_DO;
                    if (ll_tile_keep(j, must_do, negligible)) s_keep[v] = 1;
                }
            } else if constexpr (SKIP) {
                if (lane == 0 && ll_tile_keep(j, s_seq[j] >> 15, ll_crit_negligible(crit, a.threshold))) s_keep[j] = 1;
            }
        };

        mbar_wait(q_full, 0);
        if (Cfg::PINGPONG && cw == 1) named_bar_arrive(BAR_TURN + 0, CONSUMER_THREADS);  // warpgroup 0 goes first
        if (n_visits > 0) {
            float alpha[1][2], crit;
            turn_begin();
            issue_qk(0);
            turn_end();
            wgmma_wait<0>();
            bool rescale = softmax_scores(0, alpha, crit);
            finish_tile(0, rescale, alpha, crit);
            for (int j = 1; j < n_visits; j++) {
                turn_begin();
                issue_qk(j);
                issue_pv(j - 1);
                turn_end();
                if (Cfg::OVERLAP) wgmma_wait<1>();  // S_j has landed; P_{j-1} V_{j-1} may still run
                else wgmma_wait<0>();
                rescale = softmax_scores(j, alpha, crit);
                if (Cfg::OVERLAP) wgmma_wait<0>();
                pv_landed(j - 1);
                finish_tile(j, rescale, alpha, crit);
            }
            turn_begin();
            issue_pv(n_visits - 1);
            turn_end();
            wgmma_wait<0>();
            pv_landed(n_visits - 1);
        }
        // Warpgroup 1 handed over once more than warpgroup 0 took: take it.
        if (Cfg::PINGPONG && cw == 0) named_bar_sync(BAR_TURN + 0, CONSUMER_THREADS);

        // --- the write list: first tile and must-do tiles kept, then one warp replays the writer
        if constexpr (SKIP) {
            named_bar_sync(BAR_CONSUMERS, CONSUMER_THREADS);  // every warp's keep votes are in
            if (Cfg::LEAN && cw == 0 && wq == 0 && a.write_list) {
                mbar_wait(walk_done, 0);  // the producer has recorded every visit
                write_list_row_flat(s_vinfo, s_keep, *s_visits, s_ranges, s_stage,
                                    a.k_tiles + 1, a.write_list + (size_t)row_id * a.row_ints, a.row_ints - 1,
                                    a.error, b, h, qt);
            } else if (cw == 0 && wq == 0 && a.write_list) {
                write_list_row(s_ranges, nranges, a.exclusive, a.flags ? s_flags : nullptr, s_keep,
                               a.write_list + (size_t)row_id * a.row_ints, a.row_ints - 1, a.error, b, h, qt);
            }
        }

        // --- epilogue: O = acc / l in the input type, LSE = (m * scale*log2e + log2 l) * ln 2
        const size_t token_stride = (size_t)a.H * Cfg::D;
        uint16_t *og = a.o + (size_t)b * a.N * token_stride + (size_t)h * Cfg::D;
        const int g = lane >> 2, t = lane & 3;
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            float l = quad_sum(sm.l[0][hh]);
            float inv = l > 0.0f ? 1.0f / l : 0.0f;  // nothing computed: O = 0
            int row = warp_row0 + hh * 8 + g;
            if (row < a.N) {
                uint16_t *orow = og + (size_t)row * token_stride + 2 * t;
#pragma unroll
                for (int dt = 0; dt < DT; dt++)
                    *reinterpret_cast<uint32_t *>(orow + dt * 8) =
                        pack2(T{}, o[0][dt][2 * hh] * inv, o[0][dt][2 * hh + 1] * inv);
                if (a.lse && t == 0)
                    a.lse[((size_t)b * a.H + h) * a.N + row] =
                        l > 0.0f ? (sm.m[0][hh] * a.scale_log2 + log2f(l)) * 0.69314718055994531f : -INFINITY;
            }
        }
    }
#endif
}

// Work of every list row (tiles its ranges cover), as sort keys: k_tiles -
// work, so an ascending stable sort puts the longest rows first and keeps
// equal rows in row order. by_head (v5) puts the (batch, head) in the high
// part of the key: heads follow one another, longest rows first within each,
// so the CTAs running at once share one head's K and V in L2 as in dense
// mode (sorting on work alone interleaves all heads whenever the work depends
// on the query position only, as with banded masks).
__global__ void row_work_kernel(const int32_t *lists, int rows, int row_ints, int k_tiles, int exclusive,
                                int q_tiles, bool by_head, uint32_t *keys, int *rows_out) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const int32_t *row = lists + (size_t)r * row_ints;
    int len = row[0], work = 0;
    if (len >= 0 && len < row_ints && (len & 1) == 0)  // a broken row is the kernel's to report
        for (int i = 0; i < len / 2; i++) {
            int start = row[1 + 2 * i], last = row[2 + 2 * i] + exclusive;
            if (start >= last) work += start - last + 1;
        }
    work = min(max(work, 0), k_tiles);
    keys[r] = (uint32_t)(k_tiles - work) + (by_head ? (uint32_t)(r / q_tiles) * (uint32_t)(k_tiles + 1) : 0u);
    rows_out[r] = r;
}

// ---------------------------------------------------------------------------
// Versions and their instantiations

using V1D64 = HopperConfig<64, 4, false, false>;
using V1D128 = HopperConfig<128, 2, false, false>;
using V2D64 = HopperConfig<64, 4, true, false>;
using V2D128 = HopperConfig<128, 2, true, false>;
using V3D64 = HopperConfig<64, 4, true, true>;
using V3D128 = HopperConfig<128, 2, true, true>;
using V4D64 = HopperConfig<64, 4, true, true, true>;
using V4D128 = HopperConfig<128, 2, true, true, true>;

template <class Cfg>
static size_t smem_bytes(int k_tiles, bool skip) {
    return 1024 + Cfg::LIST_OFF + (skip ? hopper_list_bytes(k_tiles, Cfg::LEAN) : 0);
}

// TMA descriptor of a [B, N, H, D] tensor: dims (D, H, N, B), boxes of 64
// columns x `rows` tokens of one head, 128-byte swizzle, rows past N read as
// zeros (the 4-D map keeps one batch entry's tail from reading the next).
static cudaError_t make_tensor_map(CUtensorMap *map, const uint16_t *base, const DevArgs *a, int rows) {
    static PFN_cuTensorMapEncodeTiled_v12000 encode = nullptr;
    if (!encode) {
        void *fn = nullptr;
        cudaDriverEntryPointQueryResult q;
        cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &q);
        if (e != cudaSuccess) return e;
        if (q != cudaDriverEntryPointSuccess || !fn) return cudaErrorSymbolNotFound;
        encode = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(fn);
    }
    const cuuint64_t el = 2;
    cuuint64_t dims[4] = {(cuuint64_t)a->D, (cuuint64_t)a->H, (cuuint64_t)a->N, (cuuint64_t)a->B};
    cuuint64_t strides[3] = {el * a->D, el * a->D * a->H, el * a->D * a->H * a->N};
    cuuint32_t box[4] = {64, 1, (cuuint32_t)rows, 1}, elem_strides[4] = {1, 1, 1, 1};
    CUresult r = encode(map, a->fp16 ? CU_TENSOR_MAP_DATA_TYPE_FLOAT16 : CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 4,
                        const_cast<uint16_t *>(base), dims, strides, box, elem_strides, CU_TENSOR_MAP_INTERLEAVE_NONE,
                        CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    return r == CUDA_SUCCESS ? cudaSuccess : cudaErrorInvalidValue;
}

// Device scratch of the tile order, grown as needed (one per process).
struct OrderScratch {
    uint32_t *keys = nullptr, *keys_sorted = nullptr;
    int *rows = nullptr, *order = nullptr;
    void *temp = nullptr;
    size_t n = 0, temp_bytes = 0;
};

static cudaError_t longest_first_order(const DevArgs *a, bool by_head, cudaStream_t stream,
                                       const int **order) {
    static OrderScratch sc;
    const int rows = a->B * a->H * a->q_tiles;
    const uint64_t key_max = (by_head ? (uint64_t)a->B * a->H : 1u) * (uint64_t)(a->k_tiles + 1);
    if (key_max > UINT32_MAX) return cudaSuccess;  // keys would not fit: list-row order (*order stays NULL)
    int bits = 1;
    while ((1ull << bits) < key_max) bits++;
    size_t temp_bytes = 0;
    cudaError_t e = cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, sc.keys, sc.keys_sorted, sc.rows, sc.order,
                                                    rows, 0, bits, stream);
    if (e != cudaSuccess) return e;
    if ((size_t)rows > sc.n || temp_bytes > sc.temp_bytes) {
        cudaFree(sc.keys);
        cudaFree(sc.keys_sorted);
        cudaFree(sc.rows);
        cudaFree(sc.order);
        cudaFree(sc.temp);
        sc = OrderScratch{};
        size_t n = (size_t)rows;
        if ((e = cudaMalloc(&sc.keys, n * sizeof(uint32_t))) != cudaSuccess) return e;
        if ((e = cudaMalloc(&sc.keys_sorted, n * sizeof(uint32_t))) != cudaSuccess) return e;
        if ((e = cudaMalloc(&sc.rows, n * sizeof(int))) != cudaSuccess) return e;
        if ((e = cudaMalloc(&sc.order, n * sizeof(int))) != cudaSuccess) return e;
        if ((e = cudaMalloc(&sc.temp, temp_bytes)) != cudaSuccess) return e;
        sc.n = n;
        sc.temp_bytes = temp_bytes;
    }
    row_work_kernel<<<(rows + 255) / 256, 256, 0, stream>>>(a->read_list, rows, a->row_ints, a->k_tiles, a->exclusive,
                                                            a->q_tiles, by_head, sc.keys, sc.rows);
    if ((e = cudaGetLastError()) != cudaSuccess) return e;
    temp_bytes = sc.temp_bytes;
    e = cub::DeviceRadixSort::SortPairs(sc.temp, temp_bytes, sc.keys, sc.keys_sorted, sc.rows, sc.order, rows, 0, bits,
                                        stream);
    *order = sc.order;
    return e;
}

// Tile order of a skip-mode launch: list-row order, longest work first over
// all rows (v2-v4), or longest first within each head, heads in turn (v5).
enum TileOrder { ORDER_ROWS, ORDER_LONGEST, ORDER_LONGEST_BY_HEAD };

template <class Cfg>
static cudaError_t launch_config(const DevArgs *a, TileOrder tile_order, cudaStream_t stream,
                                 const char **what) {
    const bool skip = a->read_list != nullptr;
    CUtensorMap tq, tk, tv;
    *what = "TMA descriptors (cuTensorMapEncodeTiled)";
    cudaError_t e = make_tensor_map(&tq, a->q, a, Cfg::BM);
    if (e == cudaSuccess) e = make_tensor_map(&tk, a->k, a, Cfg::BN);
    if (e == cudaSuccess) e = make_tensor_map(&tv, a->v, a, Cfg::BN);
    if (e != cudaSuccess) return e;
    const int *order = nullptr;
    if (skip && tile_order != ORDER_ROWS) {
        *what = "tile order (row work, radix sort)";
        if ((e = longest_first_order(a, tile_order == ORDER_LONGEST_BY_HEAD, stream, &order)) != cudaSuccess) return e;
    }
    if (a->fp16) return cudaErrorInvalidValue;  // the dev programs run bf16
    void (*kernel)(const CUtensorMap, const CUtensorMap, const CUtensorMap, const DevArgs, const int *) =
        skip ? hopper_attention_kernel<Cfg, bf16_tag, true> : hopper_attention_kernel<Cfg, bf16_tag, false>;
    const size_t smem = smem_bytes<Cfg>(a->k_tiles, skip);
    *what = "hopper attention kernel";
    e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    unsigned blocks = (unsigned)(a->B * a->H * a->q_tiles);
    kernel<<<blocks, Cfg::THREADS, smem, stream>>>(tq, tk, tv, *a, order);
    return cudaGetLastError();
}

template <class C64, class C128, TileOrder ORDER>
static cudaError_t launch_version(const DevArgs *a, cudaStream_t stream) {
    const char *what = nullptr;
    if (a->D == 64) return launch_config<C64>(a, ORDER, stream, &what);
    if (a->D == 128) return launch_config<C128>(a, ORDER, stream, &what);
    return cudaErrorInvalidValue;
}

template <class C64, class C128>
static size_t smem_version(int D, int k_tiles, bool skip) {
    if (skip && hopper_max_visits(k_tiles) > 0x7fff) return SIZE_MAX;  // 15-bit visit and tile indices
    return D == 64 ? smem_bytes<C64>(k_tiles, skip) : smem_bytes<C128>(k_tiles, skip);
}

}  // namespace lldev

using namespace lldev;

static const DevVersion VERSIONS[] = {
    {1, "warp-specialised TMA producer, two wgmma consumer warpgroups, 128x128 tiles", 128, 128,
     launch_version<V1D64, V1D128, ORDER_ROWS>, smem_version<V1D64, V1D128>},
    {2, "v1 + ping-pong between the consumer warpgroups, longest-work-first tile order in skip mode", 128, 128,
     launch_version<V2D64, V2D128, ORDER_LONGEST>, smem_version<V2D64, V2D128>},
    {3, "v2 + softmax of tile j overlapped with P V of tile j-1 inside each warpgroup", 128, 128,
     launch_version<V3D64, V3D128, ORDER_LONGEST>, smem_version<V3D64, V3D128>},
    {4, "v3 + list work off the critical path (producer walks the ranges, warp-vote keep, flat one-pass writer)",
     128, 128, launch_version<V4D64, V4D128, ORDER_LONGEST>, smem_version<V4D64, V4D128>},
    {5, "v4 + longest-first order within each head, heads in turn (kernels/hopper_attention.cu)", 0, 0, NULL, NULL},
};

int main(int argc, char **argv) {
    return dev_main(argc, argv, "hopper", LL_KERNEL_HOPPER, VERSIONS, (int)(sizeof VERSIONS / sizeof *VERSIONS));
}
