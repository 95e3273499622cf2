// skip_list_device.cuh: the skip list on the device. The kernels' side of
// lib/skip_list.h:
//   load_read_row   one read-list row copied to shared memory and checked
//                   (a corrupt row is reported, never walked out of bounds);
//   TileWalk        the visiting order: ranges in list order, each from
//                   start down to ll_range_last(end), must-skip tiles passed
//                   over (they are not computed);
//   write_list_row  one warp replays ll_list_writer over that same order with
//                   the keep decision of every visit, 32 visits at a time.
#pragma once
#include <stdint.h>

#include "portable_attention.h"

namespace ll {

enum { TILE_FREE = 0, TILE_MUST_DO = 1, TILE_MUST_SKIP = 2 };  // lib/tile_overrides.h

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
// the last visit of a range, keep[v] the consumers' keep byte (0 for
// must-skip visits; must-do tiles are forced here). One warp, one pass,
// 32 visits a round across range boundaries: a visit emits its tile where
// its keep differs from the visit before it in the range (0 before a range's
// first visit), and the last visit of a range emits the range's stored end
// when kept. Entries go to `stage` (stage_cap ints) and the row is written
// only if they fit `capacity`, else the overflow is reported.
__device__ inline void write_list_row_flat(const uint16_t *vinfo, const uint8_t *keep_v, int visits,
                                           const int32_t *ranges, const uint8_t *flags, int32_t *stage, int stage_cap,
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
        const int keep = valid && (keep_v[v] || (flags && flags[kt] == TILE_MUST_DO));
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

}  // namespace ll
