// portable_attention.cu: the portable LiteAttention forward kernel (sm_80
// and newer: cp.async, ldmatrix, mma.sync m16n8k16), FlashAttention-2 style,
// plus the QK-skip criterion and the skip-list reader/writer.
//
// One CTA per (query tile, head, batch); 4 warps x 32 query rows (Bm = 128),
// Bn = 64, two CTAs per SM. It walks only the tiles of its read list: warp 0
// unrolls the visiting order's computed tiles into a shared array before the
// first tile (kernels/skip_list_device.cuh), so a skipped tile costs no load
// and no math, and the prefetch of the next K/V tile follows the list. For
// each computed tile: S = Q K^T (fp32), criterion against the running row
// max BEFORE the tile, online softmax in log2 units (O rescaled only when a
// row maximum moved), O += P V. The warps' criteria meet in a small shared
// array across the one barrier each tile already needs; thread 0 applies the
// keep rule (lib/skip_decision.h); at the end one warp writes the list row.
//
// This is v5 of kernels/NOTES.md, which has its measurements; the earlier
// versions and the v6/v7 candidates are programs in kernels/dev/.
#include <math.h>
#include <stdint.h>

#include "mma_sm80.cuh"
#include "portable_attention.h"
#include "skip_decision.h"
#include "skip_list_device.cuh"
#include "softmax_criterion.cuh"
#include "tile_load.cuh"

namespace ll {

// Compile-time shape of the kernel for head dim D.
template <int D_>
struct PortableConfig {
    static constexpr int D = D_, BN = 64, WARPS = 4, MT = 2, MIN_BLOCKS = 2;
    static constexpr int THREADS = WARPS * 32;
    static constexpr int BM = WARPS * 16 * MT;
    static constexpr int LD = D + 8;  // shared row pitch in elements: +16 bytes keeps ldmatrix conflict-free
    static constexpr int TILE_ELEMS = BN * LD;          // one K or V tile
    static constexpr int STAGE_ELEMS = 2 * TILE_ELEMS;  // K then V
    static constexpr int Q_OFFSET = 2 * STAGE_ELEMS;    // Q after the two stages
    static constexpr size_t KV_BYTES = sizeof(uint16_t) * (size_t)(2 * STAGE_ELEMS + BM * LD);
    static_assert(D % 32 == 0 && BN % 16 == 0, "tile shape");
};

// Skip mode's shared memory behind Q and K/V: the warps' criteria of the
// last two tiles, a flag and a count, the computed tiles in visit order, and
// a keep byte per computed tile (a row visits at most k_tiles tiles).
struct ListSmem {
    float *crit;          // [2][warps]
    int *flag, *count;    // load_read_row's flag; the number of computed tiles
    ComputedTile *tiles;  // [k_tiles]
    uint8_t *keep;        // [k_tiles]
};
__host__ __device__ inline size_t list_smem_bytes(int warps, int k_tiles) {
    return sizeof(float) * 2 * warps + 16 + (sizeof(ComputedTile) + 1) * (size_t)k_tiles;
}
__device__ inline ListSmem carve_list_smem(unsigned char *base, int warps, int k_tiles) {
    ListSmem s;
    s.crit = reinterpret_cast<float *>(base);
    s.flag = reinterpret_cast<int *>(base + sizeof(float) * 2 * warps);
    s.count = s.flag + 1;
    s.tiles = reinterpret_cast<ComputedTile *>(base + sizeof(float) * 2 * warps + 16);
    s.keep = reinterpret_cast<uint8_t *>(s.tiles + k_tiles);
    return s;
}

// The list row passes through the K/V buffers, which are free before the
// first tile and after the last: the raw ranges, the key-tile flags and the
// writer's staged entries.
struct ListScratch {
    int32_t *ranges;  // [k_tiles]
    uint8_t *flags;   // [k_tiles], padded to 4 bytes
    int16_t *stage;   // [ll_list_writer_max_entries(k_tiles)]
};
__host__ __device__ inline size_t list_scratch_bytes(int k_tiles) {
    return sizeof(int32_t) * (size_t)k_tiles + (size_t)((k_tiles + 3) & ~3) +
           sizeof(int16_t) * (size_t)ll_list_writer_max_entries(k_tiles);
}
__device__ inline ListScratch carve_list_scratch(unsigned char *base, int k_tiles) {
    ListScratch s;
    s.ranges = reinterpret_cast<int32_t *>(base);
    s.flags = reinterpret_cast<uint8_t *>(s.ranges + k_tiles);
    s.stage = reinterpret_cast<int16_t *>(s.flags + ((k_tiles + 3) & ~3));
    return s;
}

// The key tile of the j-th computed tile (dense mode: K-1 down to 0).
template <bool SKIP>
__device__ __forceinline__ int tile_of(const ListSmem &ls, int k_tiles, int j) {
    return SKIP ? ls.tiles[j].tile() : k_tiles - 1 - j;
}

// Thread 0: the keep rule for the j-th computed tile from the warps' criteria.
template <class Cfg>
__device__ __forceinline__ void decide_keep(const ListSmem &ls, float threshold, int j) {
    const float *c = ls.crit + (j & 1) * Cfg::WARPS;
    float crit = c[0];
#pragma unroll
    for (int w = 1; w < Cfg::WARPS; w++) crit = ll_crit_max(crit, c[w]);
    ls.keep[j] = (uint8_t)ll_tile_keep(j, ls.tiles[j].must_do(), ll_crit_negligible(crit, threshold));
}

template <class Cfg, class T, bool SKIP>
__global__ void __launch_bounds__(Cfg::THREADS, Cfg::MIN_BLOCKS) portable_attention_kernel(const ll_portable_args a) {
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

    // --- skip mode: the read row, checked, and its computed tiles in visit order
    ListSmem ls{};
    const size_t list_row = ((size_t)b * a.H + h) * a.q_tiles + qt;
    int n_ranges = 0;         // of the read row (only this lives through the loop)
    int n_tiles = a.k_tiles;  // tiles to compute; dense mode: K-1 down to 0
    if constexpr (SKIP) {
        ls = carve_list_smem(smem + Cfg::KV_BYTES, Cfg::WARPS, a.k_tiles);
        const ListScratch scratch = carve_list_scratch(smem, a.k_tiles);
        if (a.flags)
            for (int i = tid; i < a.k_tiles; i += THREADS) scratch.flags[i] = a.flags[i];
        const ReadRow row = load_read_row<THREADS>(a.read_list + list_row * a.row_ints, a.k_tiles, a.exclusive,
                                                   scratch.ranges, ls.flag, a.error, b, h, qt);  // ends with a barrier
        n_ranges = row.n;
        if (warp == 0) {
            const int n = build_computed_tiles(row, a.flags ? scratch.flags : nullptr, ls.tiles);
            if (lane == 0) *ls.count = n;
        }
        __syncthreads();  // the sequence is complete; the scratch may be overwritten
        n_tiles = *ls.count;
    }

    // --- prologue: Q and the first K/V tile in flight together
    load_tile_async<BM, D, LD, THREADS>(s_q, qg, qt * BM, N, token_stride);
    int cur = n_tiles > 0 ? tile_of<SKIP>(ls, a.k_tiles, 0) : -1;
    if (cur >= 0) {
        load_tile_async<BN, D, LD, THREADS>(s_kv, kg, cur * BN, N, token_stride);
        load_tile_async<BN, D, LD, THREADS>(s_kv + Cfg::TILE_ELEMS, vg, cur * BN, N, token_stride);
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();

    // Q fragments (A operand): lane l addresses row (l/8 & 1)*8 + l%8, column block (l/16)*8.
    const int q_row = warp * 16 * MT + ((lane >> 3) & 1) * 8 + (lane & 7), q_col = (lane >> 4) * 8;
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

    int stage = 0, n_computed = 0;
    while (cur >= 0) {
        const int nxt = n_computed + 1 < n_tiles ? tile_of<SKIP>(ls, a.k_tiles, n_computed + 1) : -1;
        cp_async_wait<0>();
        __syncthreads();  // tile `cur` visible to all; every warp is done with the other stage
        if (SKIP && tid == 0 && n_computed > 0)
            decide_keep<Cfg>(ls, a.threshold, n_computed - 1);  // the previous tile's criteria are complete now
        if (nxt >= 0) {
            uint16_t *dst = s_kv + (stage ^ 1) * Cfg::STAGE_ELEMS;
            load_tile_async<BN, D, LD, THREADS>(dst, kg, nxt * BN, N, token_stride);
            load_tile_async<BN, D, LD, THREADS>(dst + Cfg::TILE_ELEMS, vg, nxt * BN, N, token_stride);
        }
        cp_async_commit();

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
            for (int mt = 0; mt < MT; mt++) ldmatrix_x4(qa[mt], smem_u32(s_q + (q_row + mt * 16) * LD + ks * 16 + q_col));
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
        if constexpr (SKIP) {
            const float crit = sm.template update<true>(s, o, a.scale_log2, warp_valid_rows);
            if (lane == 0) ls.crit[(n_computed & 1) * Cfg::WARPS + warp] = crit;
        } else {
            sm.template update<false>(s, o, a.scale_log2, warp_valid_rows);
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
        cur = nxt;
        n_computed++;
    }

    // --- the write list: the last decision, then one warp replays the writer
    if constexpr (SKIP) {
        __syncthreads();  // the last tile's criteria are in shared memory; the K/V buffers are free
        if (warp == 0) {
            if (tid == 0 && n_computed > 0) decide_keep<Cfg>(ls, a.threshold, n_computed - 1);
            if (a.write_list) {
                // the ranges (checked above) and flags again, into the scratch
                const ListScratch scratch = carve_list_scratch(smem, a.k_tiles);
                const int32_t *read = a.read_list + list_row * a.row_ints;
                for (int i = lane; i < 2 * n_ranges; i += 32) scratch.ranges[i] = read[1 + i];
                if (a.flags)
                    for (int i = lane; i < a.k_tiles; i += 32) scratch.flags[i] = a.flags[i];
                const ReadRow row = {scratch.ranges, n_ranges, a.exclusive};
                __syncwarp();  // and thread 0's last keep byte
                ListWriter w;
                w.begin(scratch.stage, ll_list_writer_max_entries(a.k_tiles));
                write_row_from_ranges(row, a.flags ? scratch.flags : nullptr, ls.keep, w);
                w.finish(a.write_list + list_row * a.row_ints, a.k_tiles, a.fitted_rows, a.error, b, h, qt);
            }
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
            int r = warp_row0 + mt * 16 + hh * 8 + g;
            if (r < N) {
                uint16_t *orow = og + (size_t)r * token_stride + 2 * t;
#pragma unroll
                for (int dt = 0; dt < DT; dt++)
                    *reinterpret_cast<uint32_t *>(orow + dt * 8) =
                        pack2(T{}, o[mt][dt][2 * hh] * inv, o[mt][dt][2 * hh + 1] * inv);
                if (a.lse && t == 0)
                    a.lse[((size_t)b * a.H + h) * N + r] =
                        l > 0.0f ? (sm.m[mt][hh] * a.scale_log2 + log2f(l)) * 0.69314718055994531f : -INFINITY;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Instantiations (D = 64, 96, 128; bf16 and fp16; dense and skip) and launch

template <class Cfg>
static size_t smem_bytes(int k_tiles, bool skip) {
    if (!skip) return Cfg::KV_BYTES;
    if (k_tiles > ComputedTile::MAX_TILE + 1 || list_scratch_bytes(k_tiles) > Cfg::KV_BYTES) return SIZE_MAX;
    return Cfg::KV_BYTES + list_smem_bytes(Cfg::WARPS, k_tiles);
}

template <class Cfg>
static cudaError_t launch_config(const ll_portable_args *a, cudaStream_t stream) {
    const bool skip = a->read_list != nullptr;
    const size_t smem = smem_bytes<Cfg>(a->k_tiles, skip);
    if (smem == SIZE_MAX) return cudaErrorInvalidValue;
    void (*kernel)(const ll_portable_args);
    if (a->fp16)
        kernel = skip ? portable_attention_kernel<Cfg, fp16_tag, true> : portable_attention_kernel<Cfg, fp16_tag, false>;
    else
        kernel = skip ? portable_attention_kernel<Cfg, bf16_tag, true> : portable_attention_kernel<Cfg, bf16_tag, false>;
    cudaError_t e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
    dim3 grid((unsigned)a->q_tiles, (unsigned)a->H, (unsigned)a->B);
    kernel<<<grid, Cfg::THREADS, smem, stream>>>(*a);
    return cudaGetLastError();
}

}  // namespace ll

using namespace ll;

bool ll_portable_tiling(int D, int *block_m, int *block_n) {
    if (D != 64 && D != 96 && D != 128) return false;
    *block_m = PortableConfig<128>::BM;  // the same for every head dim
    *block_n = PortableConfig<128>::BN;
    return true;
}

size_t ll_portable_smem_bytes(int D, int k_tiles, bool skip) {
    if (D == 64) return smem_bytes<PortableConfig<64>>(k_tiles, skip);
    if (D == 96) return smem_bytes<PortableConfig<96>>(k_tiles, skip);
    if (D == 128) return smem_bytes<PortableConfig<128>>(k_tiles, skip);
    return SIZE_MAX;
}

cudaError_t ll_portable_launch(const ll_portable_args *a, cudaStream_t stream) {
    if (a->D == 64) return launch_config<PortableConfig<64>>(a, stream);
    if (a->D == 96) return launch_config<PortableConfig<96>>(a, stream);
    if (a->D == 128) return launch_config<PortableConfig<128>>(a, stream);
    return cudaErrorInvalidValue;
}
