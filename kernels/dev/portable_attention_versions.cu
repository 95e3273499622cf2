// portable_attention_versions.cu: the earlier versions of the portable
// LiteAttention kernel (sm_80 and newer: cp.async, ldmatrix, mma.sync
// m16n8k16), frozen as they were measured, in llm.c's dev/cuda style. The
// shipped kernel (v5) is kernels/portable_attention.cu; this program runs it
// too, through the library, as the yardstick.
//   make dev-kernels && ./build/dev/portable_attention_versions [VERSION ...] [--check-only]
// checks each version against litelab's CPU reference, then times it
// (kernels/dev/dev_common.cuh says what and how). bf16, D = 64 and 128.
//
// One CTA per (query tile, head, batch), FlashAttention-2 style, plus the
// QK-skip criterion and the skip-list reader/writer. Versions, with H100 SXM
// bf16 figures at (1, 40, 32760, 128): dense TFLOP/s | skip mode over full
// lists vs dense | random lists k=0.5, 0.25 vs dense (kernels/NOTES.md):
//   v1: 8 warps x 16 query rows (Bm = 128), Q held in registers, Bn = 128,
//       K/V double-buffered in shared memory (padded rows: conflict-free
//       ldmatrix), one barrier per tile.                  304 | 1.12 | 0.59, 0.30
//   v2: 4 warps x 32 query rows (Bm = 128), Q re-read from shared memory per
//       k-step, Bn = 64, two CTAs per SM: half the K/V shared-memory reads
//       per FLOP of v1 (each warp reuses a K/V fragment for two row blocks),
//       and two CTAs desynchronise the softmax and mma phases. 326 | 1.00 | 0.53, 0.26
//   v3: v2, and the O accumulator is rescaled only when some row maximum of
//       the warp moved (after the first tiles it rarely does); the next
//       tile's copies go out before thread 0's keep decision. 356 | 1.06 | 0.55, 0.28
//   v4: v2 + the lazy rescale; a skip kernel always measures the criterion
//       (compile time), so its loop holds one softmax, not two. 357 | 1.02 | 0.55, 0.27
//   v5 (shipped): v4 + the visiting order unrolled once into a shared array
//       by warp 0 (32 visits per step), so the loop carries no range-walk
//       state and the skip kernel fits its registers.   355 | 0.99 | 0.53, 0.27
//   v6: v5 + the sequence records every visit, keep decisions go to visit
//       slots and one warp writes the row in one flat pass, 32 visits a round
//       across ranges (the Hopper kernel's writer): fragmented lists (random
//       masks: ~150 short ranges a row) no longer cost two rounds per range.
//       Its 7 bytes a visit leave one CTA per SM at Wan 720p (kernels/NOTES.md).
//   v7: v6 with 5 bytes a visit: no tile sequence, each computed tile's
//       visit (bit 15 = must-do) leads to its tile through the visit record.
//       Within run-to-run spread of v5 on the H200, so v5 stayed the default.
#include <math.h>
#include <stdint.h>

#include "dev_common.cuh"
#include "mma_sm80.cuh"
#include "tile_load.cuh"

namespace lldev {

using namespace ll;  // the PTX wrappers (mma_sm80.cuh, tile_load.cuh)

// Compile-time shape of one kernel version.
// LAZY_RESCALE: skip the O rescale when no row maximum of the warp moved
// (bit-identical results: the factor would be exactly 1).
// EARLY_PREFETCH: issue the next tile's copies before thread 0's keep decision.
// STATIC_MEASURE: a skip-mode kernel always measures the criterion (no
// runtime switch, so no second copy of the softmax in the loop).
// SEQ_WALK: the visiting order is unrolled once into a shared array of tile
// indices (warp 0, 32 visits at a time) instead of walking the ranges in
// every thread's registers; the writer re-reads the ranges at the end.
// FLAT_WRITER (with SEQ_WALK): the sequence records every visit too, the keep
// decisions go to visit slots, and the row is written by one warp in one flat
// pass, 32 visits a round across ranges (the Hopper kernel's writer).
template <int D_, int BN_, int WARPS_, int MT_, bool Q_IN_REGS_, int MIN_BLOCKS_, bool LAZY_RESCALE_ = false,
          bool EARLY_PREFETCH_ = false, bool STATIC_MEASURE_ = false, bool SEQ_WALK_ = false, bool FLAT_WRITER_ = false,
          bool COMPACT_VISITS_ = false>
struct PortableConfig {
    static constexpr int D = D_, BN = BN_, WARPS = WARPS_, MT = MT_, MIN_BLOCKS = MIN_BLOCKS_;
    static constexpr bool Q_IN_REGS = Q_IN_REGS_, LAZY_RESCALE = LAZY_RESCALE_, EARLY_PREFETCH = EARLY_PREFETCH_;
    static constexpr bool STATIC_MEASURE = STATIC_MEASURE_, SEQ_WALK = SEQ_WALK_, FLAT_WRITER = FLAT_WRITER_;
    // COMPACT_VISITS (with FLAT_WRITER): no tile sequence; each computed tile's
    // visit (bit 15 = must-do) leads to its tile through the visit record: 5
    // bytes a visit instead of 7, so two CTAs per SM fit at Wan 720p again.
    static constexpr bool COMPACT_VISITS = COMPACT_VISITS_;
    static constexpr int THREADS = WARPS * 32;
    static constexpr int BM = WARPS * 16 * MT;
    static constexpr int LD = D + 8;  // shared row pitch in elements: +16 bytes keeps ldmatrix conflict-free
    static constexpr int TILE_ELEMS = BN * LD;             // one K or V tile
    static constexpr int STAGE_ELEMS = 2 * TILE_ELEMS;     // K then V
    // Q is only read before the loop when it lives in registers, so it can
    // borrow stage 1 (the loop's first prefetch waits for the barrier after it).
    static constexpr int Q_OFFSET = Q_IN_REGS ? STAGE_ELEMS : 2 * STAGE_ELEMS;
    static constexpr size_t KV_BYTES =
        sizeof(uint16_t) * (size_t)(Q_IN_REGS ? (BM * LD > STAGE_ELEMS ? STAGE_ELEMS + BM * LD : 2 * STAGE_ELEMS)
                                              : 2 * STAGE_ELEMS + BM * LD);
    static_assert(D % 32 == 0 && BN % 16 == 0, "tile shape");
};

// Shared-memory list area behind the K/V buffers (skip mode only).
// Range walk: crit, flag, ranges, flags, keep_seq. Sequence walk (SEQ_WALK):
// crit, flag, count, seq, keep_seq; the ranges and flags then only pass
// through the K/V buffers (before the first tile and after the last).
struct ListSmem {
    float *crit;        // [2][WARPS] criteria of the last two tiles
    int *flag;          // scratch for load_read_row; flag[2]: number of visits (FLAT_WRITER)
    int *count;
    int32_t *ranges;    // [k_tiles + 2] (a row holds at most k_tiles + 1 entries)
    uint8_t *flags;     // [k_tiles] key-tile flags (or unused)
    uint16_t *seq;      // [visits] computed tiles in visit order, bit 15 = must-do (SEQ_WALK);
                        // FLAT_WRITER: then [visits] each computed tile's visit (visit_of), then
                        // [visits] tile | 0x8000 on a range's last visit, per visit (visit_info)
    uint8_t *keep_seq;  // [visits] keep decision per computed tile in visit order (FLAT_WRITER: per visit)
};
__host__ __device__ inline size_t list_visits(int k_tiles) {
    return (size_t)k_tiles + k_tiles / 2 + 1;  // ranges may touch (start_{i+1} = end_i)
}
// The flat writer's arrays behind seq (computed from it where used: fewer
// live registers). COMPACT_VISITS: seq itself is the visit of each computed
// tile (bit 15 = must-do), and the visit records follow it.
template <class Cfg>
__device__ __forceinline__ uint16_t *visit_of(const ListSmem &s, int k_tiles) {
    return Cfg::COMPACT_VISITS ? s.seq : s.seq + list_visits(k_tiles);
}
template <class Cfg>
__device__ __forceinline__ uint16_t *visit_info(const ListSmem &s, int k_tiles) {
    return s.seq + (Cfg::COMPACT_VISITS ? 1 : 2) * list_visits(k_tiles);
}
// The key tile of the j-th computed tile (bit 15 of seq is must-do in every layout).
template <class Cfg>
__device__ __forceinline__ int seq_tile(const ListSmem &s, int j, int k_tiles) {
    if (Cfg::COMPACT_VISITS) return visit_info<Cfg>(s, k_tiles)[s.seq[j] & 0x7fff] & 0x7fff;
    return s.seq[j] & 0x7fff;
}
__host__ __device__ inline size_t list_smem_bytes(int warps, int k_tiles, bool seq_walk, bool flat = false,
                                                  bool compact = false) {
    size_t head = sizeof(float) * 2 * warps + 16;
    if (seq_walk) return head + (flat ? (compact ? 5 : 7) : 3) * list_visits(k_tiles);
    return head + sizeof(int32_t) * (size_t)(k_tiles + 2) + (size_t)k_tiles + list_visits(k_tiles);
}
// Scratch the sequence walk needs in the K/V buffers for the raw row and flags
// (and, with the flat writer, its staging row of k_tiles + 1 entries).
__host__ __device__ inline size_t list_scratch_bytes(int k_tiles, bool flat = false) {
    size_t raw = sizeof(int32_t) * (size_t)(k_tiles + 2) + (size_t)((k_tiles + 3) & ~3);
    return raw + (flat ? sizeof(int32_t) * (size_t)(k_tiles + 1) : 0);
}
__device__ inline ListSmem carve_list_smem(unsigned char *base, int warps, int k_tiles, bool seq_walk,
                                           bool flat = false, bool compact = false) {
    ListSmem s = {};
    s.crit = reinterpret_cast<float *>(base);
    s.flag = reinterpret_cast<int *>(base + sizeof(float) * 2 * warps);
    s.count = s.flag + 1;  // flag[2]: the number of visits (FLAT_WRITER)
    unsigned char *rest = base + sizeof(float) * 2 * warps + 16;
    if (seq_walk) {
        s.seq = reinterpret_cast<uint16_t *>(rest);
        s.keep_seq = reinterpret_cast<uint8_t *>(s.seq + (flat ? (compact ? 2 : 3) : 1) * list_visits(k_tiles));
    } else {
        s.ranges = reinterpret_cast<int32_t *>(rest);
        s.flags = reinterpret_cast<uint8_t *>(s.ranges + k_tiles + 2);
        s.keep_seq = s.flags + k_tiles;
    }
    return s;
}

// Thread 0: the keep decision of the j-th computed tile (key tile kt) from
// the warps' criteria. The first computed tile and must-do tiles are kept.
template <class Cfg>
__device__ __forceinline__ void decide_keep(const ListSmem &ls, const DevArgs &a, int j, int kt) {
    const float *c = ls.crit + (j & 1) * Cfg::WARPS;
    float crit = c[0];
#pragma unroll
    for (int w = 1; w < Cfg::WARPS; w++) crit = ll_crit_max(crit, c[w]);
    bool must_do = Cfg::SEQ_WALK ? (ls.seq[j] >> 15) != 0 : a.flags && ls.flags[kt] == TILE_MUST_DO;
    bool keep = ll_tile_keep(j, must_do, ll_crit_negligible(crit, a.threshold));
    if (Cfg::FLAT_WRITER) ls.keep_seq[visit_of<Cfg>(ls, a.k_tiles)[j] & 0x7fff] = keep;  // must-skip visits stay 0
    else ls.keep_seq[j] = keep;
}

template <class Cfg, class T, bool SKIP>
__global__ void __launch_bounds__(Cfg::THREADS, Cfg::MIN_BLOCKS) portable_attention_kernel(const DevArgs a) {
    constexpr int D = Cfg::D, BN = Cfg::BN, BM = Cfg::BM, MT = Cfg::MT, LD = Cfg::LD, THREADS = Cfg::THREADS;
    constexpr int KS = D / 16;  // k-steps of Q K^T over the head dim
    constexpr int NT = BN / 8;  // 8-column blocks of a score tile
    constexpr int DT = D / 8;   // 8-column blocks of the output
    extern __shared__ __align__(128) unsigned char smem[];
    uint16_t *s_kv = reinterpret_cast<uint16_t *>(smem);
    uint16_t *s_q = s_kv + Cfg::Q_OFFSET;

    const int qt = blockIdx.x, h = blockIdx.y, b = blockIdx.z;
    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int N = a.N;
    const size_t token_stride = (size_t)a.H * D;
    const size_t head_base = (size_t)b * N * token_stride + (size_t)h * D;
    const uint16_t *qg = a.q + head_base, *kg = a.k + head_base, *vg = a.v + head_base;
    const int warp_row0 = qt * BM + warp * 16 * MT;  // first token row of this warp
    const int warp_valid_rows = N - warp_row0;       // rows at or past this are padding

    // --- the read list (skip mode) or the single dense range
    constexpr bool SEQ = SKIP && Cfg::SEQ_WALK;
    TileWalk walk{};  // used by the range-walk paths only
    ListSmem ls{};
    int nranges = 0, n_visits = 0;
    const size_t list_row = ((size_t)b * a.H + h) * a.q_tiles + qt;
    // (SEQ_WALK) the raw row and flags pass through the K/V buffers
    int32_t *scratch_ranges = reinterpret_cast<int32_t *>(smem);
    uint8_t *scratch_flags = reinterpret_cast<uint8_t *>(scratch_ranges + a.k_tiles + 2);
    if constexpr (SEQ) {
        ls = carve_list_smem(smem + Cfg::KV_BYTES, Cfg::WARPS, a.k_tiles, true, Cfg::FLAT_WRITER, Cfg::COMPACT_VISITS);
        if (a.flags)
            for (int i = tid; i < a.k_tiles; i += THREADS) scratch_flags[i] = a.flags[i];
        if (Cfg::FLAT_WRITER)
            for (int i = tid; i < (int)list_visits(a.k_tiles); i += THREADS) ls.keep_seq[i] = 0;
        nranges = load_read_row<THREADS>(a.read_list + list_row * a.row_ints, a.k_tiles, a.row_ints - 1, a.exclusive,
                                         scratch_ranges, ls.flag, a.error, b, h, qt);  // ends with a barrier
        if (warp == 0) {
            int n = Cfg::FLAT_WRITER
                        ? build_visit_seq(scratch_ranges, nranges, a.exclusive, a.flags ? scratch_flags : nullptr,
                                          Cfg::COMPACT_VISITS ? nullptr : ls.seq, visit_info<Cfg>(ls, a.k_tiles),
                                          visit_of<Cfg>(ls, a.k_tiles), ls.flag + 2)
                        : build_visit_seq(scratch_ranges, nranges, a.exclusive, a.flags ? scratch_flags : nullptr,
                                          ls.seq);
            if (lane == 0) *ls.count = n;
        }
        __syncthreads();  // the sequence is complete; the scratch may be overwritten
        n_visits = *ls.count;
    } else if constexpr (SKIP) {
        ls = carve_list_smem(smem + Cfg::KV_BYTES, Cfg::WARPS, a.k_tiles, false);
        if (a.flags)
            for (int i = tid; i < a.k_tiles; i += THREADS) ls.flags[i] = a.flags[i];
        nranges = load_read_row<THREADS>(a.read_list + list_row * a.row_ints, a.k_tiles, a.row_ints - 1, a.exclusive,
                                         ls.ranges, ls.flag, a.error, b, h, qt);  // ends with a barrier
        walk.begin(ls.ranges, nranges, a.exclusive, a.flags ? ls.flags : nullptr);
    } else {
        walk.begin_dense(a.k_tiles);
    }

    // --- prologue: Q and the first K/V tile in flight together
    load_tile_async<BM, D, LD, THREADS>(s_q, qg, qt * BM, N, token_stride);
    int cur = SEQ ? (n_visits > 0 ? seq_tile<Cfg>(ls, 0, a.k_tiles) : -1) : walk.kt;
    if (cur >= 0) {
        load_tile_async<BN, D, LD, THREADS>(s_kv, kg, cur * BN, N, token_stride);
        load_tile_async<BN, D, LD, THREADS>(s_kv + Cfg::TILE_ELEMS, vg, cur * BN, N, token_stride);
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();

    // Q fragments (A operand): lane l addresses row (l/8 & 1)*8 + l%8, column block (l/16)*8.
    const int q_row = warp * 16 * MT + ((lane >> 3) & 1) * 8 + (lane & 7), q_col = (lane >> 4) * 8;
    uint32_t q_frag[Cfg::Q_IN_REGS ? MT : 1][Cfg::Q_IN_REGS ? KS : 1][4];
    if constexpr (Cfg::Q_IN_REGS) {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int ks = 0; ks < KS; ks++)
                ldmatrix_x4(q_frag[mt][ks], smem_u32(s_q + (q_row + mt * 16) * LD + ks * 16 + q_col));
    }
    // K fragments (B operand of Q K^T): key (l/16)*8 + l%8, column block (l/8 & 1)*8.
    const int k_row = (lane >> 4) * 8 + (lane & 7), k_col = ((lane >> 3) & 1) * 8;
    // V fragments (B operand of P V, transposed): key (l/8 & 1)*8 + l%8, column block (l/16)*8.
    const int v_row = ((lane >> 3) & 1) * 8 + (lane & 7), v_col = (lane >> 4) * 8;

    float o[MT][DT][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int dt = 0; dt < DT; dt++)
#pragma unroll
            for (int e = 0; e < 4; e++) o[mt][dt][e] = 0.0f;
    OnlineSoftmax<MT, NT, DT> sm;
    sm.init();

    const bool measure = SKIP && (Cfg::STATIC_MEASURE || a.write_list != nullptr);
    int stage = 0, n_computed = 0, prev_kt = -1;
    while (cur >= 0) {
        int nxt;
        if constexpr (SEQ) {
            nxt = n_computed + 1 < n_visits ? seq_tile<Cfg>(ls, n_computed + 1, a.k_tiles) : -1;
        } else {
            walk.next();
            nxt = walk.kt;
        }
        cp_async_wait<0>();
        __syncthreads();  // tile `cur` visible to all; every warp is done with the other stage
        if (!Cfg::EARLY_PREFETCH && measure && tid == 0 && n_computed > 0)
            decide_keep<Cfg>(ls, a, n_computed - 1, prev_kt);  // the previous tile's criteria are complete now
        if (nxt >= 0) {
            uint16_t *dst = s_kv + (stage ^ 1) * Cfg::STAGE_ELEMS;
            load_tile_async<BN, D, LD, THREADS>(dst, kg, nxt * BN, N, token_stride);
            load_tile_async<BN, D, LD, THREADS>(dst + Cfg::TILE_ELEMS, vg, nxt * BN, N, token_stride);
        }
        cp_async_commit();
        if (Cfg::EARLY_PREFETCH && measure && tid == 0 && n_computed > 0)
            decide_keep<Cfg>(ls, a, n_computed - 1, prev_kt);

        const uint16_t *sk = s_kv + stage * Cfg::STAGE_ELEMS, *sv = sk + Cfg::TILE_ELEMS;
        // S = Q K^T
        float s[MT][NT][4];
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
#pragma unroll
                for (int e = 0; e < 4; e++) s[mt][nt][e] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < KS; ks++) {
            uint32_t qa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                if constexpr (Cfg::Q_IN_REGS) {
#pragma unroll
                    for (int e = 0; e < 4; e++) qa[mt][e] = q_frag[mt][ks][e];
                } else {
                    ldmatrix_x4(qa[mt], smem_u32(s_q + (q_row + mt * 16) * LD + ks * 16 + q_col));
                }
            }
#pragma unroll
            for (int np = 0; np < NT / 2; np++) {
                uint32_t kb[4];
                ldmatrix_x4(kb, smem_u32(sk + (np * 16 + k_row) * LD + ks * 16 + k_col));
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_16816(T{}, s[mt][2 * np], qa[mt], kb[0], kb[1]);
                    mma_16816(T{}, s[mt][2 * np + 1], qa[mt], kb[2], kb[3]);
                }
            }
        }
        if ((cur + 1) * BN > N) mask_columns(s, N - cur * BN);

        // Online softmax; the criterion goes to the shared array of this tile's parity.
        if (measure) {
            float crit = sm.template update<true, Cfg::LAZY_RESCALE>(s, o, a.scale_log2, warp_valid_rows);
            if (lane == 0) ls.crit[(n_computed & 1) * Cfg::WARPS + warp] = crit;
        } else {
            sm.template update<false, Cfg::LAZY_RESCALE>(s, o, a.scale_log2, warp_valid_rows);
        }

        // O += P V, P rounded to the input type straight from the score registers.
#pragma unroll
        for (int kk = 0; kk < BN / 16; kk++) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; mt++) {
                pa[mt][0] = pack2(T{}, s[mt][2 * kk][0], s[mt][2 * kk][1]);
                pa[mt][1] = pack2(T{}, s[mt][2 * kk][2], s[mt][2 * kk][3]);
                pa[mt][2] = pack2(T{}, s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                pa[mt][3] = pack2(T{}, s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }
#pragma unroll
            for (int dp = 0; dp < D / 16; dp++) {
                uint32_t vb[4];
                ldmatrix_x4_trans(vb, smem_u32(sv + (kk * 16 + v_row) * LD + dp * 16 + v_col));
#pragma unroll
                for (int mt = 0; mt < MT; mt++) {
                    mma_16816(T{}, o[mt][2 * dp], pa[mt], vb[0], vb[1]);
                    mma_16816(T{}, o[mt][2 * dp + 1], pa[mt], vb[2], vb[3]);
                }
            }
        }
        stage ^= 1;
        prev_kt = cur;
        cur = nxt;
        n_computed++;
    }

    // --- the write list: last decision, then one warp replays the writer
    if (measure) {
        __syncthreads();  // the last tile's criteria are in shared memory; the K/V buffers are free
        if (warp == 0) {
            if (tid == 0 && n_computed > 0) decide_keep<Cfg>(ls, a, n_computed - 1, prev_kt);
            const int32_t *ranges = ls.ranges;
            const uint8_t *flags = a.flags ? ls.flags : nullptr;
            if constexpr (SEQ) {  // the ranges and flags again, into the scratch
                const int32_t *row = a.read_list + list_row * a.row_ints;
                for (int i = lane; i < 2 * nranges; i += 32) scratch_ranges[i] = row[1 + i];
                if (a.flags)
                    for (int i = lane; i < a.k_tiles; i += 32) scratch_flags[i] = a.flags[i];
                ranges = scratch_ranges;
                flags = a.flags ? scratch_flags : nullptr;
            }
            __syncwarp();
            if (a.write_list && Cfg::FLAT_WRITER)
                write_list_row_flat(visit_info<Cfg>(ls, a.k_tiles), ls.keep_seq, ls.flag[2], ranges,
                                    reinterpret_cast<int32_t *>(scratch_flags + ((a.k_tiles + 3) & ~3)), a.k_tiles + 1,
                                    a.write_list + list_row * a.row_ints, a.row_ints - 1, a.error, b, h, qt);
            else if (a.write_list)
                write_list_row(ranges, nranges, a.exclusive, flags, ls.keep_seq, a.write_list + list_row * a.row_ints,
                               a.row_ints - 1, a.error, b, h, qt);
        }
    }

    // --- epilogue: O = acc / l in the input type, LSE = (m * scale*log2e + log2 l) * ln 2
    uint16_t *og = a.o + head_base;
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int mt = 0; mt < MT; mt++) {
#pragma unroll
        for (int hh = 0; hh < 2; hh++) {
            float l = quad_sum(sm.l[mt][hh]);
            float inv = l > 0.0f ? 1.0f / l : 0.0f;  // nothing computed: O = 0
            int row = warp_row0 + mt * 16 + hh * 8 + g;
            if (row < N) {
                uint16_t *orow = og + (size_t)row * token_stride + 2 * t;
#pragma unroll
                for (int dt = 0; dt < DT; dt++)
                    *reinterpret_cast<uint32_t *>(orow + dt * 8) =
                        pack2(T{}, o[mt][dt][2 * hh] * inv, o[mt][dt][2 * hh + 1] * inv);
                if (a.lse && t == 0)
                    a.lse[((size_t)b * a.H + h) * N + row] =
                        l > 0.0f ? (sm.m[mt][hh] * a.scale_log2 + log2f(l)) * 0.69314718055994531f : -INFINITY;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Versions and their instantiations (bf16, D = 64 and 128)

using V1D64 = PortableConfig<64, 128, 8, 1, true, 1>;
using V1D128 = PortableConfig<128, 128, 8, 1, true, 1>;
using V2D64 = PortableConfig<64, 64, 4, 2, false, 2>;
using V2D128 = PortableConfig<128, 64, 4, 2, false, 2>;
using V3D64 = PortableConfig<64, 64, 4, 2, false, 2, true, true>;
using V3D128 = PortableConfig<128, 64, 4, 2, false, 2, true, true>;
using V4D64 = PortableConfig<64, 64, 4, 2, false, 2, true, false, true>;
using V4D128 = PortableConfig<128, 64, 4, 2, false, 2, true, false, true>;
using V6D64 = PortableConfig<64, 64, 4, 2, false, 2, true, false, true, true, true>;
using V6D128 = PortableConfig<128, 64, 4, 2, false, 2, true, false, true, true, true>;
using V7D64 = PortableConfig<64, 64, 4, 2, false, 2, true, false, true, true, true, true>;
using V7D128 = PortableConfig<128, 64, 4, 2, false, 2, true, false, true, true, true, true>;

template <class Cfg>
static cudaError_t launch_config(const DevArgs *a, cudaStream_t stream) {
    bool skip = a->read_list != nullptr;
    size_t smem = Cfg::KV_BYTES +
                  (skip ? list_smem_bytes(Cfg::WARPS, a->k_tiles, Cfg::SEQ_WALK, Cfg::FLAT_WRITER, Cfg::COMPACT_VISITS) : 0);
    if (a->fp16) return cudaErrorInvalidValue;  // the dev programs run bf16
    void (*kernel)(const DevArgs) =
        skip ? portable_attention_kernel<Cfg, bf16_tag, true> : portable_attention_kernel<Cfg, bf16_tag, false>;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)a->q_tiles, (unsigned)a->H, (unsigned)a->B);
    kernel<<<grid, Cfg::THREADS, smem, stream>>>(*a);
    return cudaGetLastError();
}

// Dynamic shared memory of a launch; SIZE_MAX when k_tiles is beyond what
// the version's list buffers can index or stage.
template <class C64, class C128>
static size_t smem_for(int D, int k_tiles, bool skip) {
    size_t kv = D == 64 ? C64::KV_BYTES : C128::KV_BYTES;
    if (!skip) return kv;
    if (C128::SEQ_WALK && (list_visits(k_tiles) > 0x7fff || list_scratch_bytes(k_tiles, C128::FLAT_WRITER) > kv))
        return SIZE_MAX;
    return kv + list_smem_bytes(C128::WARPS, k_tiles, C128::SEQ_WALK, C128::FLAT_WRITER, C128::COMPACT_VISITS);
}


template <class C64, class C128>
static cudaError_t launch_version(const DevArgs *a, cudaStream_t stream) {
    if (a->D == 64) return launch_config<C64>(a, stream);
    if (a->D == 128) return launch_config<C128>(a, stream);
    return cudaErrorInvalidValue;
}

}  // namespace lldev

using namespace lldev;

static const DevVersion VERSIONS[] = {
    {1, "8 warps x 16 rows, Q in registers, Bn=128, K/V double-buffered (cp.async), 1 CTA/SM", V1D128::BM,
     V1D128::BN, launch_version<V1D64, V1D128>, smem_for<V1D64, V1D128>},
    {2, "4 warps x 32 rows, Q from shared memory, Bn=64, K/V double-buffered, 2 CTAs/SM", V2D128::BM, V2D128::BN,
     launch_version<V2D64, V2D128>, smem_for<V2D64, V2D128>},
    {3, "v2 + O rescaled only when a row maximum moved, next tile's copies issued before the keep decision",
     V3D128::BM, V3D128::BN, launch_version<V3D64, V3D128>, smem_for<V3D64, V3D128>},
    {4, "v2 + lazy O rescale, criterion always measured in skip kernels (no runtime switch)", V4D128::BM,
     V4D128::BN, launch_version<V4D64, V4D128>, smem_for<V4D64, V4D128>},
    {5, "v4 + visiting order unrolled once into shared memory (kernels/portable_attention.cu)", 0, 0, NULL, NULL},
    {6, "v5 + every visit recorded, keep per visit, one-pass flat list writer (32 visits a round)", V6D128::BM,
     V6D128::BN, launch_version<V6D64, V6D128>, smem_for<V6D64, V6D128>},
    {7, "v6 with 5 bytes a visit (no tile sequence: tiles through the visit records), two CTAs/SM at Wan 720p",
     V7D128::BM, V7D128::BN, launch_version<V7D64, V7D128>, smem_for<V7D64, V7D128>},
};

int main(int argc, char **argv) {
    return dev_main(argc, argv, "portable", LL_KERNEL_PORTABLE, VERSIONS, (int)(sizeof VERSIONS / sizeof *VERSIONS));
}
