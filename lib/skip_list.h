// skip_list.h: the Skip-List, the compact form the kernel walks.
//
// Layout (production layout, litelab's exact reading): for every (batch,
// head, query tile) one row of k_tiles + 1 int32:
//     [len, start0, end0, start1, end1, ...]
// len is the number of entries after it (even). Each pair is a range of key
// tiles to COMPUTE, walked from start down towards end: start >= every tile
// in it > end. Ranges are descending and disjoint (start_{i+1} <= end_i).
//
// Two readings of `end` (ll_list_encoding):
//   LL_END_EXCLUSIVE (litelab's own): end is NOT computed. The full list of
//       K tiles is [2, K-1, -1]; a tile marked negligible is never computed again.
//   LL_END_INCLUSIVE_PRODUCTION: the public kernel's reading: end IS
//       computed; the full list is [2, K-1, 0]. Its writer records as a range's
//       end the first negligible tile below the range (0 when the range
//       reaches tile 0), so that tile is computed again at the next step: the
//       first tile of every skipped run is never skipped. Offered so that
//       sparsity can be compared with the public kernel.
//
// A row never overflows: the fit rule. A row holds k_tiles entries, and the
// writer (below) can need more: two per run of kept tiles, and a run can be a
// single tile, e.g. odd k_tiles with tiles K-1, K-3, ..., 0 kept (K + 1
// entries), or must-do / must-skip tiles alternating. Then, until the entries
// fit, the two neighbouring ranges with the smallest gap between them are
// merged into one range, which computes the gap's tiles too; the gap of
// ranges i and i+1 is entries[2i+1] - entries[2i+2] (end of range i minus
// start of range i+1: the tiles merging adds under the exclusive reading, one
// more than under the production reading, so both readings rank gaps alike),
// and of equal gaps the first in the row (highest tiles) goes first. Merging
// the m smallest gaps adds the fewest tiles any m merges can; no kept tile is
// ever dropped, so the rule is conservative: it computes a few tiles more at
// the next step and never silently loses one. The CPU reference, the kernels
// (kernels/skip_list_device.cuh) and ll_skip_list_row_from_keep apply it
// identically, and each counts the rows that needed it (`fitted_rows` of
// ll_reference_forward, ll_cuda_args and ll_backend_timing). k_tiles == 1 is the one row nothing fits: even the full
// list needs 2 entries, so skip mode refuses such calls.
#pragma once
#include <stdint.h>

#include "common.h"
#include "host_device.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LL_END_EXCLUSIVE = 0, LL_END_INCLUSIVE_PRODUCTION = 1 } ll_list_encoding;
const char *ll_list_encoding_name(ll_list_encoding e);  // "exclusive" / "production"
ll_status ll_list_encoding_parse(const char *s, ll_list_encoding *out, ll_error *err);

typedef struct {
    int B, H, q_tiles, k_tiles;
    ll_list_encoding encoding;
    int32_t *data;  // B*H*q_tiles rows of (k_tiles + 1) int32, row (b,h,qt) at ((b*H+h)*q_tiles+qt)*(k_tiles+1)
} ll_skip_list;

static inline int ll_skip_list_row_len(int k_tiles) { return k_tiles + 1; }
static inline int32_t *ll_skip_list_row(const ll_skip_list *l, int b, int h, int qt) {
    return l->data + ((size_t)(b * l->H + h) * l->q_tiles + qt) * (size_t)(l->k_tiles + 1);
}
static inline size_t ll_skip_list_rows(const ll_skip_list *l) { return (size_t)l->B * l->H * l->q_tiles; }

ll_status ll_skip_list_alloc(ll_skip_list *l, int B, int H, int q_tiles, int k_tiles,
                             ll_list_encoding enc, ll_error *err);
void ll_skip_list_free(ll_skip_list *l);
// Every row becomes the full list (all k_tiles computed).
void ll_skip_list_fill_full(ll_skip_list *l);
// Deep copy of src into dst (same dimensions and encoding, dst allocated).
void ll_skip_list_copy(ll_skip_list *dst, const ll_skip_list *src);

// Checks one row: len even, 0 <= len <= k_tiles, each range in bounds for the
// encoding and non-empty, ranges descending and disjoint. On failure returns
// LL_ERR_INVALID and writes the reason into why.
ll_status ll_skip_list_check_row(const int32_t *row, int k_tiles, ll_list_encoding enc,
                                 char *why, size_t why_len);
// Checks every row; the message names `what`, the row (b, h, qtile) and the reason.
ll_status ll_skip_list_validate(const ll_skip_list *l, const char *what, ll_error *err);

// keep[kt] = 1 for every key tile the row computes, 0 otherwise.
// Returns the number of kept tiles. The row must be valid.
int ll_skip_list_row_to_keep(const int32_t *row, int k_tiles, ll_list_encoding enc, uint8_t *keep);
// Writes the row the writer writes for one read range K-1 .. 0 (the full
// list) with these keep decisions: under the exclusive encoding it computes
// exactly the tiles with keep[kt] != 0, under the production encoding what
// the public writer's reading computes (also the first tile of every skipped
// run below a range). A keep row of more runs than a row holds (odd K, tiles
// K-1, K-3, ..., 0 kept) is fitted (the fit rule above: the highest
// one-tile gap is computed too). Returns 1 if it was, 0 if not, -1 for
// k_tiles == 1 with its tile kept: nothing fits, and the row written, [2, 0],
// is one validation rejects.
int ll_skip_list_row_from_keep(const uint8_t *keep, int k_tiles, ll_list_encoding enc, int32_t *row);
// Number of tiles the row computes.
int ll_skip_list_row_kept(const int32_t *row, int k_tiles, ll_list_encoding enc);
// Entries the writer needs for a keep row (2 per run of kept tiles, either
// encoding) before the fit rule; more than k_tiles means the row is fitted.
int ll_skip_list_keep_entries(const uint8_t *keep, int k_tiles);

// The fit rule (above) on a writer's entries (pairs, without the length
// slot): merges neighbouring ranges, smallest gap first, until *n <=
// capacity. Returns the number of merges (0: they fit as written), or -1
// when they cannot fit (a single range and capacity < 2).
int ll_list_fit(int32_t *entries, int *n, int capacity);

#ifdef __cplusplus
}
#endif

// ---------------------------------------------------------------------------
// The list writer: the one place that turns "visited tile kt, keep or not"
// into list entries. The CPU reference uses it; the CUDA kernels mirror it
// (kernels/skip_list_device.cuh, ListWriter). It records a transition
// whenever keep changes (a range opens at the first kept tile, closes at the
// first dropped tile) and closes an open range at the end of each read range
// with that range's stored end. The same entries serve both encodings: under
// the exclusive reading a closing tile is not computed; under the production
// reading it is (the public kernel's behaviour). Tiles forced off
// (must-skip) are passed with keep = 0. Entries go to a staging array of
// ll_list_writer_max_entries(k_tiles) int32 (enough for any valid read
// row); ll_list_writer_finish fits them to the row.
typedef struct {
    int32_t *entries;  // the staged entries, without a length slot
    int n;             // entries so far
    int in_range;      // a range is open
} ll_list_writer;

static inline void ll_list_writer_begin(ll_list_writer *w, int32_t *entries) {
    w->entries = entries;
    w->n = 0;
    w->in_range = 0;
}
static inline void ll_list_writer_tile(ll_list_writer *w, int kt, int keep) {
    if (keep != w->in_range) {
        w->entries[w->n++] = kt;
        w->in_range = keep;
    }
}
static inline void ll_list_writer_range_end(ll_list_writer *w, int32_t stored_end) {
    if (w->in_range) {
        w->entries[w->n++] = stored_end;
        w->in_range = 0;
    }
}
// Applies the fit rule (a row holds k_tiles entries) and writes [len,
// entries] into row (k_tiles + 1 int32; it may be the staging array itself).
// Returns ll_list_fit's answer: the merges (0: it fit as written), or -1 when
// nothing fits (k_tiles == 1), the row then holding [len > k_tiles, first
// entries], which validation rejects.
int ll_list_writer_finish(ll_list_writer *w, int32_t *row, int k_tiles);

// The last tile a range (start, end) computes under an encoding.
static inline int ll_range_last(int32_t end, ll_list_encoding enc) {
    return enc == LL_END_EXCLUSIVE ? end + 1 : end;
}

// The most entries the writer produces from one valid read row: two per run
// of kept visits, a read range of v visits holding at most (v + 1) / 2 runs,
// and a row at most k_tiles visits in k_tiles / 2 ranges. The kernels stage
// this many.
static inline LL_HOST_DEVICE int ll_list_writer_max_entries(int k_tiles) { return k_tiles + k_tiles / 2; }
