// frozen_device.cuh: the device helpers of the earlier kernel versions as
// they were measured (kernels/NOTES.md), for the programs in kernels/dev/.
// The shipped kernels do not include this file (theirs: kernels/
// skip_list_device.cuh, kernels/softmax_criterion.cuh); the PTX wrappers
// (mma_sm80.cuh, tile_load.cuh, sm90_ptx.cuh) are shared, being instructions,
// not versions.
//   DevArgs, errors     the launch arguments and device error record of then;
//   load_read_row       a read-list row copied to shared memory and checked;
//   TileWalk            the visiting order walked in every thread's registers
//                       (portable v1-v4);
//   build_visit_seq     one warp unrolls the visiting order into shared memory
//                       (portable v5-v7, Hopper v1-v3);
//   write_list_row      the two-pass writer over the ranges (portable v1-v5,
//                       Hopper v1-v3);
//   write_list_row_flat the one-pass writer over visit records (portable v6,
//                       v7, Hopper v4);
//   OnlineSoftmax       with the LAZY switch (rescale only when a maximum moved).
// Frozen but for one deliberate change: the skip decision is
// lib/skip_decision.h's (NaN-propagating criterion maximum, crit <= threshold,
// ll_tile_keep), as in the shipped kernels, so every kernel in the tree
// decides alike. The writers predate the fit rule (lib/skip_list.h): a row
// that would overflow is reported (LL_DEVERR_WRITE_OVERFLOW) and left unwritten.
#pragma once
#include <math.h>
#include <stdint.h>

#include "mma_sm80.cuh"
#include "skip_decision.h"

namespace lldev {

using ll::fast_exp2;

// The launch arguments of every version (all pointers are device pointers).
struct DevArgs {
    const uint16_t *q, *k, *v;  // [B, N, H, D]
    uint16_t *o;                // [B, N, H, D]
    float *lse;                 // [B, H, N] natural log, or NULL
    const int32_t *read_list;   // NULL: dense mode
    int32_t *write_list;        // NULL: criterion not recorded
    const uint8_t *flags;       // k_tiles key-tile flags (skip mode only) or NULL
    int *error;                 // LL_DEVERR_WORDS ints, zero when no error has been seen
    int B, N, H, D;
    int fp16;
    int exclusive;              // 1: LL_END_EXCLUSIVE, 0: production
    int q_tiles, k_tiles;
    int row_ints;               // int32 per list row: [len, up to row_ints - 1 entries]
    float scale_log2;           // softmax scale * log2(e)
    float threshold;            // log2 units
};

// Device error record {code, b, h, qtile, detail}.
enum { LL_DEVERR_NONE = 0, LL_DEVERR_READ_LIST = 1, LL_DEVERR_WRITE_OVERFLOW = 2, LL_DEVERR_WORDS = 5 };

enum { TILE_FREE = LL_TILE_FREE, TILE_MUST_DO = LL_TILE_MUST_DO, TILE_MUST_SKIP = LL_TILE_MUST_SKIP };

// Records the first device-side failure of a launch (host reads it at sync).
__device__ __forceinline__ void report_error(int *error, int code, int b, int h, int qt, int detail) {
    if (error && atomicCAS(&error[0], 0, code) == 0) {
        error[1] = b;
        error[2] = h;
        error[3] = qt;
        error[4] = detail;
    }
}

// Copies row[1..len] into s_ranges and checks the row as
// ll_skip_list_check_row does: len even and <= capacity (the row's entry
// slots, k_tiles with the production layout); every range in bounds and
// non-empty (start >= last); ranges descending, start_{i+1} <= end_i.
// Returns the number of ranges, 0 for a bad row (then reported). Every thread
// of the block must call it; it ends with a barrier.
template <int THREADS>
__device__ int load_read_row(const int32_t *row, int k_tiles, int capacity, int exclusive, int32_t *s_ranges,
                             int *s_flag, int *error, int b, int h, int qt) {
    const int tid = threadIdx.x;
    int len = row[0];
    bool len_ok = len >= 0 && len <= capacity && len <= k_tiles + 1 && (len & 1) == 0;
    if (tid == 0) *s_flag = len_ok ? 0 : 1;
    if (len_ok)
        for (int i = tid; i < len; i += THREADS) s_ranges[i] = row[1 + i];
    __syncthreads();
    if (len_ok) {
        for (int i = tid; i < len / 2; i += THREADS) {
            int start = s_ranges[2 * i], end = s_ranges[2 * i + 1], last = end + exclusive;
            bool ok = last >= 0 && start >= last && start <= k_tiles - 1;
            if (i > 0) ok = ok && start <= s_ranges[2 * i - 1];
            if (!ok) atomicOr(s_flag, 1);
        }
    }
    __syncthreads();
    int bad = *s_flag;
    if (bad && tid == 0) report_error(error, LL_DEVERR_READ_LIST, b, h, qt, len);
    return bad ? 0 : len / 2;
}

// The tiles one query tile computes, in list order. Every thread walks the
// same sequence (uniform control flow); kt < 0 once the walk is over.
// Dense mode: one range K-1 .. 0 and no flags.
struct TileWalk {
    const int32_t *ranges;  // shared: start0, end0, start1, ... (NULL in dense mode)
    const uint8_t *flags;   // shared key-tile flags or NULL
    int nranges, exclusive;
    int r, kt, last;        // current range, tile, and the range's last tile

    __device__ void begin_dense(int k_tiles) {
        ranges = nullptr;
        flags = nullptr;
        nranges = 1;
        exclusive = 1;
        r = 0;
        kt = k_tiles - 1;
        last = 0;
    }
    __device__ void begin(const int32_t *s_ranges, int n, int excl, const uint8_t *s_flags) {
        ranges = s_ranges;
        flags = s_flags;
        nranges = n;
        exclusive = excl;
        r = -1;
        kt = -1;
        last = 0;
        step();
        skip_forced();
    }
    __device__ void next() {
        step();
        skip_forced();
    }
    __device__ void step() {
        if (kt > last) {
            kt--;
        } else if (++r < nranges) {
            kt = ranges[2 * r];
            last = ranges[2 * r + 1] + exclusive;
        } else {
            kt = -1;
        }
    }
    // Must-skip tiles are visited (the writer sees them as dropped) but not computed.
    __device__ void skip_forced() {
        while (kt >= 0 && flags && flags[kt] == TILE_MUST_SKIP) step();
    }
};

// One warp unrolls the visiting order into seq: the computed tiles (must-skip
// ones left out) in visit order, bit 15 set on must-do tiles. Returns their
// number. 32 visits per round; ballot + popc give each kept visit its slot.
// With visit_info (write_list_row_flat's input), every visit is recorded too,
// must-skip ones included: tile | 0x8000 on the last visit of its range, and
// visit_of[j] = the visit of the j-th computed tile; *n_visits their count.
// seq may then be NULL: visit_of[j] gets the must-do bit (15) instead.
__device__ inline int build_visit_seq(const int32_t *ranges, int nranges, int exclusive, const uint8_t *flags,
                                      uint16_t *seq, uint16_t *visit_info = nullptr, uint16_t *visit_of = nullptr,
                                      int *n_visits = nullptr) {
    const unsigned full = 0xffffffffu;
    const int lane = threadIdx.x & 31;
    int count = 0, visits = 0;
    for (int r = 0; r < nranges; r++) {
        int start = ranges[2 * r], last = ranges[2 * r + 1] + exclusive;
        for (int hi = start; hi >= last; hi -= 32) {
            int kt = hi - lane;
            bool visit = kt >= last;
            int f = visit && flags ? flags[kt] : TILE_FREE;
            bool computed = visit && f != TILE_MUST_SKIP;
            unsigned mask = __ballot_sync(full, computed);
            if (visit_info && visit) visit_info[visits + lane] = (uint16_t)(kt | (kt == last ? 0x8000 : 0));
            if (computed) {
                int slot = count + __popc(mask & ((1u << lane) - 1u));
                uint16_t must_do = f == TILE_MUST_DO ? 0x8000 : 0;
                if (seq) seq[slot] = (uint16_t)(kt | must_do);
                // without seq, visit_of carries the must-do bit instead
                if (visit_of) visit_of[slot] = (uint16_t)((visits + lane) | (seq ? 0 : must_do));
            }
            count += __popc(mask);
            visits += min(32, hi - last + 1);
        }
    }
    if (n_visits && lane == 0) *n_visits = visits;
    return count;
}

// One warp writes the write-list row: ll_list_writer_tile for every visited
// tile in order (must-skip tiles with keep = 0, computed tiles with
// keep_seq[j] for the j-th computed tile) and ll_list_writer_range_end at the
// end of each read range. 32 visits per round: a lane's "state before" is the
// keep of the lane before it (lane 0: the carried state), an entry is written
// where they differ, and ballot + popc give the entry's position.
// Two passes: the row is written only if its entries fit (capacity entries);
// returns the number of entries.
template <bool WRITE>
__device__ int list_writer_pass(const int32_t *ranges, int nranges, int exclusive, const uint8_t *flags,
                                const uint8_t *keep_seq, int32_t *row) {
    const unsigned full = 0xffffffffu;
    const int lane = threadIdx.x & 31;
    int idx = 1, computed = 0;
    for (int r = 0; r < nranges; r++) {
        int start = ranges[2 * r], end = ranges[2 * r + 1], last = end + exclusive;
        int in_range = 0;
        for (int hi = start; hi >= last; hi -= 32) {
            int kt = hi - lane;
            bool visit = kt >= last;
            bool forced_off = visit && flags && flags[kt] == TILE_MUST_SKIP;
            bool is_computed = visit && !forced_off;
            unsigned cmask = __ballot_sync(full, is_computed);
            int j = computed + __popc(cmask & ((1u << lane) - 1u));
            int keep = is_computed ? keep_seq[j] : 0;
            int before = __shfl_up_sync(full, keep, 1);
            if (lane == 0) before = in_range;
            bool entry = visit && keep != before;
            unsigned emask = __ballot_sync(full, entry);
            if (WRITE && entry) row[idx + __popc(emask & ((1u << lane) - 1u))] = kt;
            idx += __popc(emask);
            computed += __popc(cmask);
            int n_visits = min(32, hi - last + 1);
            in_range = __shfl_sync(full, keep, n_visits - 1);
        }
        if (in_range) {
            if (WRITE && lane == 0) row[idx] = end;
            idx++;
        }
    }
    if (WRITE && lane == 0) row[0] = idx - 1;
    return idx - 1;
}

// Called by one whole warp. Leaves the row untouched and reports when its
// entries would not fit the row (capacity entries), like the CPU reference.
__device__ __forceinline__ void write_list_row(const int32_t *ranges, int nranges, int exclusive,
                                               const uint8_t *flags, const uint8_t *keep_seq, int32_t *row,
                                               int capacity, int *error, int b, int h, int qt) {
    int need = list_writer_pass<false>(ranges, nranges, exclusive, flags, keep_seq, row);
    if (need > capacity) {
        if ((threadIdx.x & 31) == 0) report_error(error, LL_DEVERR_WRITE_OVERFLOW, b, h, qt, need);
        return;
    }
    list_writer_pass<true>(ranges, nranges, exclusive, flags, keep_seq, row);
}

// The same row from a flat record of the visits (the Hopper kernel's
// producer writes it while it walks the ranges): vinfo[v] = tile | 0x8000 on
// the last visit of a range, keep[v] the keep byte (0 for must-skip visits;
// must-do tiles are kept by the keep rule, ll_tile_keep). One warp, one pass,
// 32 visits a round across range boundaries: a visit emits its tile where
// its keep differs from the visit before it in the range (0 before a range's
// first visit), and the last visit of a range emits the range's stored end
// when kept. Entries go to `stage` (stage_cap ints) and the row is written
// only if they fit `capacity`, else the overflow is reported.
__device__ inline void write_list_row_flat(const uint16_t *vinfo, const uint8_t *keep_v, int visits,
                                           const int32_t *ranges, int32_t *stage, int stage_cap,
                                           int32_t *row, int capacity, int *error, int b, int h, int qt) {
    const unsigned full = 0xffffffffu;
    const int lane = threadIdx.x & 31;
    const unsigned below = (1u << lane) - 1u;
    int idx = 0, closed = 0, carry_keep = 0, carry_last = 1;  // before visit 0 a range starts
    for (int base = 0; base < visits; base += 32) {
        const int v = base + lane;
        const bool valid = v < visits;
        const int info = valid ? vinfo[v] : 0x8000;
        const int kt = info & 0x7fff, last = info >> 15;
        const int keep = valid && keep_v[v];
        int up_keep = __shfl_up_sync(full, keep, 1), up_last = __shfl_up_sync(full, last, 1);
        if (lane == 0) {
            up_keep = carry_keep;
            up_last = carry_last;
        }
        const int before = up_last ? 0 : up_keep;
        const bool opens = valid && keep != before, closes = valid && last && keep;
        const unsigned b_open = __ballot_sync(full, opens), b_close = __ballot_sync(full, closes);
        const unsigned b_last = __ballot_sync(full, valid && last);
        const int pos = idx + __popc(b_open & below) + __popc(b_close & below);
        const int r = closed + __popc(b_last & below);  // this visit's range
        if (opens && pos < stage_cap) stage[pos] = kt;
        if (closes && pos + opens < stage_cap) stage[pos + opens] = ranges[2 * r + 1];
        idx += __popc(b_open) + __popc(b_close);
        closed += __popc(b_last);
        carry_keep = __shfl_sync(full, keep, 31);
        carry_last = __shfl_sync(full, last, 31);
    }
    if (idx > capacity || idx > stage_cap) {
        if (lane == 0) report_error(error, LL_DEVERR_WRITE_OVERFLOW, b, h, qt, idx);
        return;
    }
    __syncwarp();
    for (int i = lane; i < idx; i += 32) row[1 + i] = stage[i];
    if (lane == 0) row[0] = idx;
}

// ---------------------------------------------------------------------------
// Online softmax and criterion (softmax_criterion.cuh of then)

__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
// Max over the 8 quads of a warp (the quad's lanes already agree).
__device__ __forceinline__ float warp_max_over_quads(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 4));
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 8));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 16));
}

// The criterion's maximum over the 8 quads of a warp (ll_crit_max: NaN propagates).
__device__ __forceinline__ float warp_crit_max(float x) {
    x = ll_crit_max(x, __shfl_xor_sync(0xffffffffu, x, 4));
    x = ll_crit_max(x, __shfl_xor_sync(0xffffffffu, x, 8));
    return ll_crit_max(x, __shfl_xor_sync(0xffffffffu, x, 16));
}

// Columns at or past `valid_cols` (the partial last key tile) become -inf.
template <int MT, int NT>
__device__ __forceinline__ void mask_columns(float (&s)[MT][NT][4], int valid_cols) {
    const int c0 = 2 * (threadIdx.x & 3);
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                if (nt * 8 + c0 + (e & 1) >= valid_cols) s[mt][nt][e] = -INFINITY;
}

template <int MT, int NT, int DT>
struct OnlineSoftmax {
    float m[MT][2];  // running row maximum of the raw scores
    float l[MT][2];  // this thread's part of the running row sum (quad-summed at the end)

    __device__ void init() {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                m[mt][hh] = -INFINITY;
                l[mt][hh] = 0.0f;
            }
    }

    // Takes the tile's raw scores s, turns them into probabilities (in place)
    // relative to the new running maximum, rescales the output accumulator o
    // and the row sums. Returns this warp's criterion when MEASURE (rows at
    // or past valid_rows, counted from the warp's first row, are excluded),
    // -inf otherwise. LAZY: o and l are rescaled only when some row maximum
    // of the warp moved; otherwise every factor is exactly 1, so the result
    // is bit-identical. The steps are also callable one by one, so that a
    // kernel whose P V runs asynchronously can rescale o once it has landed.
    template <bool MEASURE, bool LAZY>
    __device__ float update(float (&s)[MT][NT][4], float (&o)[MT][DT][4], float scale_log2, int valid_rows) {
        float alpha[MT][2];
        float crit;
        bool rescale = new_maximum<MEASURE, LAZY>(s, scale_log2, valid_rows, alpha, crit);
        if (rescale) rescale_output(o, alpha);
        exponentiate(s, scale_log2);
        return crit;
    }

    // Step 1: the tile's row maxima; moves m to the new running maximum and
    // scales l. Returns whether o must be rescaled by alpha (always when
    // !LAZY); crit as update() returns it, or with !WARP_MAX this thread's
    // rows' part of it (the warp's criterion is their maximum, so "the warp
    // needs the tile" is __any_sync(crit > threshold)).
    template <bool MEASURE, bool LAZY, bool WARP_MAX = true>
    __device__ bool new_maximum(const float (&s)[MT][NT][4], float scale_log2, int valid_rows, float (&alpha)[MT][2],
                                float &crit) {
        const int g = (threadIdx.x & 31) >> 2;
        float m_new[MT][2];
        bool moved = false;
        crit = -INFINITY;
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                float tile_max = -INFINITY;
#pragma unroll
                for (int nt = 0; nt < NT; nt++)
                    tile_max = fmaxf(tile_max, fmaxf(s[mt][nt][2 * hh], s[mt][nt][2 * hh + 1]));
                tile_max = quad_max(tile_max);
                float m_old = m[mt][hh];
                m_new[mt][hh] = fmaxf(m_old, tile_max);
                moved |= m_new[mt][hh] != m_old;
                if (MEASURE && mt * 16 + hh * 8 + g < valid_rows)
                    crit = ll_crit_max(crit, (tile_max - m_old) * scale_log2);
            }
        }
        if (MEASURE && WARP_MAX) crit = warp_crit_max(crit);
        bool rescale = !LAZY || __any_sync(0xffffffffu, moved);
        if (rescale) {
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int hh = 0; hh < 2; hh++) {
                    alpha[mt][hh] = fast_exp2((m[mt][hh] - m_new[mt][hh]) * scale_log2);  // 0 on the first tile
                    l[mt][hh] *= alpha[mt][hh];
                    m[mt][hh] = m_new[mt][hh];
                }
        }
        return rescale;
    }

    // Step 2 (when step 1 says so): o *= alpha, row by row.
    __device__ void rescale_output(float (&o)[MT][DT][4], const float (&alpha)[MT][2]) {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++)
#pragma unroll
                for (int dt = 0; dt < DT; dt++) {
                    o[mt][dt][2 * hh] *= alpha[mt][hh];
                    o[mt][dt][2 * hh + 1] *= alpha[mt][hh];
                }
    }

    // Step 3: scores -> probabilities against the (new) running maximum; l += row sums.
    __device__ void exponentiate(float (&s)[MT][NT][4], float scale_log2) {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                float m_scaled = m[mt][hh] * scale_log2, sum = 0.0f;
#pragma unroll
                for (int nt = 0; nt < NT; nt++)
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        float p = fast_exp2(fmaf(s[mt][nt][2 * hh + e], scale_log2, -m_scaled));
                        s[mt][nt][2 * hh + e] = p;
                        sum += p;
                    }
                l[mt][hh] += sum;
            }
    }
};

}  // namespace lldev
