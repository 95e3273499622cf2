// skip_list_device.cuh: the skip list on the device, the kernels' side of
// lib/skip_list.h (layout, the two readings of `end`, the writer). Both
// kernels touch lists only through these:
//   report_error           the device error record the host reads at ll_cuda_sync;
//   VisitRecord, ComputedTile, ComputedVisit
//                          the 16-bit records kept in shared memory per visit
//                          or per computed tile (no kernel packs bits by hand);
//   load_read_row, ReadRow the list reader: a row copied to shared memory and
//                          checked as ll_skip_list_check_row checks it (a
//                          corrupt row is reported and never walked), then read
//                          through start(r), end(r), last(r);
//   build_computed_tiles   one warp unrolls the computed tiles of the visiting
//                          order (the portable kernel's tile sequence);
//   ListWriter             the list writer: ll_list_writer for one warp, 32
//                          visits a round, and the fit rule; fed by write_row_from_ranges
//                          (portable kernel: visits regenerated from the
//                          ranges, a keep byte per computed tile) or
//                          write_row_from_visits (Hopper kernel: the
//                          producer's visit records, a keep byte per visit).
// Visiting order: ranges in list order, each from start down to last(r)
// (ll_range_last); must-skip tiles are visited (the writer sees them dropped)
// but never computed.
#pragma once
#include <stdint.h>

#include "portable_attention.h"
#include "skip_decision.h"
#include "skip_list.h"

namespace ll {

// Records the first device-side failure of a launch (host reads it at sync).
__device__ __forceinline__ void report_error(int *error, int code, int b, int h, int qt, int detail) {
    if (error && atomicCAS(&error[0], 0, code) == 0) {
        error[1] = b;
        error[2] = h;
        error[3] = qt;
        error[4] = detail;
    }
}

// ---------------------------------------------------------------------------
// Records

// One visit of the visiting order (Hopper producer): its key tile and whether
// it is the last visit of its read range (the writer closes the range there).
struct VisitRecord {
    static constexpr int MAX_TILE = 0x7fff;
    uint16_t bits;
    __device__ static VisitRecord make(int tile, bool last_of_range) {
        VisitRecord r;
        r.bits = (uint16_t)(tile | (last_of_range ? 0x8000 : 0));
        return r;
    }
    __device__ int tile() const { return bits & 0x7fff; }
    __device__ bool last_of_range() const { return (bits >> 15) != 0; }
};

// One computed tile of the portable kernel's sequence: its key tile and
// whether it is must-do.
struct ComputedTile {
    static constexpr int MAX_TILE = 0x7fff;
    uint16_t bits;
    __device__ static ComputedTile make(int tile, bool must_do) {
        ComputedTile r;
        r.bits = (uint16_t)(tile | (must_do ? 0x8000 : 0));
        return r;
    }
    __device__ int tile() const { return bits & 0x7fff; }
    __device__ bool must_do() const { return (bits >> 15) != 0; }
};

// One computed tile of the Hopper kernel: its visit (the slot of its keep
// byte), whether it is must-do, and whether it is the partial last key tile
// (its padding columns are masked).
struct ComputedVisit {
    static constexpr int MAX_VISIT = 0x3fff;
    uint16_t bits;
    __device__ static ComputedVisit make(int visit, bool must_do, bool partial_last) {
        ComputedVisit r;
        r.bits = (uint16_t)(visit | (must_do ? 0x4000 : 0) | (partial_last ? 0x8000 : 0));
        return r;
    }
    __device__ int visit() const { return bits & 0x3fff; }
    __device__ bool must_do() const { return (bits >> 14) & 1; }
    __device__ bool partial_last() const { return (bits >> 15) != 0; }
};

// ---------------------------------------------------------------------------
// The reader

// A read-list row in shared memory: n ranges (start, end as stored), each
// visited from start down to last(r) = ll_range_last(end).
struct ReadRow {
    const int32_t *ranges;  // start0, end0, start1, end1, ...
    int n, exclusive;
    __device__ int start(int r) const { return ranges[2 * r]; }
    __device__ int end(int r) const { return ranges[2 * r + 1]; }
    __device__ int last(int r) const { return ranges[2 * r + 1] + exclusive; }
};

// Copies row[1..len] into s_ranges (k_tiles ints) and checks the row exactly
// as ll_skip_list_check_row does: 0 <= len <= k_tiles, len even; every range
// in bounds (start <= k_tiles - 1, last >= 0) and non-empty (start >= last);
// ranges descending and disjoint (start_i <= end_{i-1} exclusive, < end_{i-1}
// production), so a row visits at most k_tiles tiles. A bad row is reported
// and read as no range at all. Every thread of the block must call it; it
// ends with a barrier.
template <int THREADS>
__device__ ReadRow load_read_row(const int32_t *row, int k_tiles, int exclusive, int32_t *s_ranges, int *s_flag,
                                 int *error, int b, int h, int qt) {
    const int tid = threadIdx.x;
    const int len = row[0];
    const bool len_ok = len >= 0 && len <= k_tiles && (len & 1) == 0;
    if (tid == 0) *s_flag = len_ok ? 0 : 1;
    if (len_ok)
        for (int i = tid; i < len; i += THREADS) s_ranges[i] = row[1 + i];
    __syncthreads();
    if (len_ok) {
        for (int i = tid; i < len / 2; i += THREADS) {
            const int start = s_ranges[2 * i], last = s_ranges[2 * i + 1] + exclusive;
            bool ok = last >= 0 && start >= last && start <= k_tiles - 1;
            if (i > 0) ok = ok && start < s_ranges[2 * i - 1] + exclusive;
            if (!ok) atomicOr(s_flag, 1);
        }
    }
    __syncthreads();
    const int bad = *s_flag;
    if (bad && tid == 0) report_error(error, LL_DEVERR_READ_LIST, b, h, qt, len);
    ReadRow r;
    r.ranges = s_ranges;
    r.n = bad ? 0 : len / 2;
    r.exclusive = exclusive;
    return r;
}

// One warp writes the computed tiles of the visiting order to `tiles` (must-
// skip tiles left out), 32 visits a round: ballot + popc give each computed
// visit its slot. Returns their number (every lane).
__device__ inline int build_computed_tiles(const ReadRow &row, const uint8_t *flags, ComputedTile *tiles) {
    const unsigned full = 0xffffffffu;
    const int lane = threadIdx.x & 31;
    int count = 0;
    for (int r = 0; r < row.n; r++) {
        const int last = row.last(r);
        for (int hi = row.start(r); hi >= last; hi -= 32) {
            const int kt = hi - lane;
            const bool visit = kt >= last;
            const int flag = visit && flags ? flags[kt] : LL_TILE_FREE;
            const bool computed = visit && flag != LL_TILE_MUST_SKIP;
            const unsigned mask = __ballot_sync(full, computed);
            if (computed) tiles[count + __popc(mask & ((1u << lane) - 1u))] = ComputedTile::make(kt, flag == LL_TILE_MUST_DO);
            count += __popc(mask);
        }
    }
    return count;
}

// ---------------------------------------------------------------------------
// The writer

// lib/skip_list.h's ll_list_writer for one whole warp, 32 visits a round: a
// visit's "state before" is the keep of the visit before it in its read range
// (not kept before a range's first visit); a visit whose keep differs from it
// writes its tile (a range opens at a kept tile, closes at a dropped one), and
// a kept last visit of a range writes the range's stored end. Ballot + popc
// place the entries, staged in shared memory (int16: tiles < 32768 and the
// end -1), up to ll_list_writer_max_entries(k_tiles) of them; finish() fits
// them to the row by the fit rule, as the CPU reference does.
struct ListWriter {
    int16_t *stage;
    int stage_cap;
    int n;                       // entries so far (every lane agrees)
    int carry_keep, carry_last;  // the previous round's last visit

    __device__ void begin(int16_t *s, int cap) {
        stage = s;
        stage_cap = cap;
        n = 0;
        carry_keep = 0;
        carry_last = 1;  // before the first visit a range starts
    }

    // Lane i holds the round's i-th visit; valid lanes come first. last: the
    // visit ends its read range, whose stored end is `end`.
    __device__ void round(bool valid, int kt, bool keep, bool last, int end) {
        const unsigned full = 0xffffffffu;
        const int lane = threadIdx.x & 31;
        const unsigned below = (1u << lane) - 1u;
        keep = valid && keep;
        last = !valid || last;  // past the visits a new range would start
        int up_keep = __shfl_up_sync(full, (int)keep, 1), up_last = __shfl_up_sync(full, (int)last, 1);
        if (lane == 0) {
            up_keep = carry_keep;
            up_last = carry_last;
        }
        const int before = up_last ? 0 : up_keep;
        const bool tile_entry = valid && (int)keep != before;
        const bool end_entry = valid && last && keep;
        const unsigned b_tile = __ballot_sync(full, tile_entry), b_end = __ballot_sync(full, end_entry);
        const int pos = n + __popc(b_tile & below) + __popc(b_end & below);
        if (tile_entry && pos < stage_cap) stage[pos] = (int16_t)kt;
        if (end_entry && pos + tile_entry < stage_cap) stage[pos + tile_entry] = (int16_t)end;
        n += __popc(b_tile) + __popc(b_end);
        carry_keep = __shfl_sync(full, (int)keep, 31);
        carry_last = __shfl_sync(full, (int)last, 31);
    }

    // Fits the staged entries to the row by the fit rule (lib/skip_list.h,
    // ll_list_fit: while they exceed k_tiles, the boundary between ranges i
    // and i+1 with the smallest gap stage[2i+1] - stage[2i+2], the first of
    // equal ones, is removed) and writes [len, entries] to the row. Removing
    // a boundary leaves every other gap as it was, so the merges are the m
    // smallest (gap, index) pairs: one warp arg-min per merge (m is 1 in the
    // cases seen), removed entries marked, then compacted into the row.
    // Counts the row in *fitted_rows when it needed the rule; reports a
    // stage overflow (impossible for a checked read row) and writes nothing.
    __device__ void finish(int32_t *row, int k_tiles, int *fitted_rows, int *error, int b, int h, int qt) {
        const unsigned full = 0xffffffffu;
        const int lane = threadIdx.x & 31;
        const unsigned below = (1u << lane) - 1u;
        const int16_t REMOVED = INT16_MIN;  // entries are tiles >= -1
        if (n > stage_cap) {
            if (lane == 0) report_error(error, LL_DEVERR_WRITE_STAGE, b, h, qt, n);
            return;
        }
        __syncwarp();
        const int merges = n > k_tiles ? (n - (k_tiles & ~1)) / 2 : 0;
        for (int m = 0; m < merges; m++) {
            // key: gap (< 2^15) above the boundary's index (< 2^15): the smallest gap, then the first
            unsigned best = 0xffffffffu;
            for (int i = lane; i + 1 < n / 2; i += 32)
                if (stage[2 * i + 1] != REMOVED)
                    best = min(best, ((unsigned)(stage[2 * i + 1] - stage[2 * i + 2]) << 16) | (unsigned)i);
            best = __reduce_min_sync(full, best);
            if (lane == 0) {
                const int i = (int)(best & 0xffffu);
                stage[2 * i + 1] = REMOVED;
                stage[2 * i + 2] = REMOVED;
            }
            __syncwarp();
        }
        int len = 0;
        for (int base = 0; base < n; base += 32) {
            const int i = base + lane;
            const int16_t e = i < n ? stage[i] : REMOVED;
            const unsigned kept = __ballot_sync(full, e != REMOVED);
            if (e != REMOVED) row[1 + len + __popc(kept & below)] = e;
            len += __popc(kept);
        }
        if (lane == 0) {
            row[0] = len;
            if (merges > 0 && fitted_rows) atomicAdd(fitted_rows, 1);
        }
    }
};

// Portable kernel: one warp replays the visiting order from the read ranges;
// keep_of_computed[j] is the decision of the j-th computed tile (must-skip
// visits are dropped).
__device__ inline void write_row_from_ranges(const ReadRow &row, const uint8_t *flags, const uint8_t *keep_of_computed,
                                             ListWriter &w) {
    const unsigned full = 0xffffffffu;
    const int lane = threadIdx.x & 31;
    int computed = 0;
    for (int r = 0; r < row.n; r++) {
        const int last = row.last(r);
        for (int hi = row.start(r); hi >= last; hi -= 32) {
            const int kt = hi - lane;
            const bool visit = kt >= last;
            const bool is_computed = visit && !(flags && flags[kt] == LL_TILE_MUST_SKIP);
            const unsigned cmask = __ballot_sync(full, is_computed);
            const int j = computed + __popc(cmask & ((1u << lane) - 1u));
            w.round(visit, kt, is_computed && keep_of_computed[j], kt == last, row.end(r));
            computed += __popc(cmask);
        }
    }
}

// Hopper kernel: one warp replays the producer's visit records, 32 a round
// across range boundaries; keep_of_visit[v] is visit v's decision (0 for
// must-skip visits).
__device__ inline void write_row_from_visits(const VisitRecord *visits, const uint8_t *keep_of_visit, int n_visits,
                                             const ReadRow &row, ListWriter &w) {
    const unsigned full = 0xffffffffu;
    const int lane = threadIdx.x & 31;
    int ranges_done = 0;
    for (int base = 0; base < n_visits; base += 32) {
        const int v = base + lane;
        const bool valid = v < n_visits;
        const VisitRecord rec = valid ? visits[v] : VisitRecord::make(0, true);
        const bool last = valid && rec.last_of_range();
        const unsigned b_last = __ballot_sync(full, last);
        const int r = ranges_done + __popc(b_last & ((1u << lane) - 1u));  // this visit's read range
        w.round(valid, rec.tile(), valid && keep_of_visit[v], last, last ? row.end(r) : 0);
        ranges_done += __popc(b_last);
    }
}

}  // namespace ll
