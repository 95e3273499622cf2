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
// Writes the row that computes exactly the tiles with keep[kt] != 0 under
// the exclusive encoding; under the production encoding, writes what the
// public writer would (its reading then also computes the first tile of
// every skipped run below a range).
void ll_skip_list_row_from_keep(const uint8_t *keep, int k_tiles, ll_list_encoding enc, int32_t *row);
// Number of tiles the row computes.
int ll_skip_list_row_kept(const int32_t *row, int k_tiles, ll_list_encoding enc);
// Entries the writer needs for a keep row (2 per run of kept tiles, either
// encoding). A row holds k_tiles entries; when more are needed,
// ll_skip_list_row_from_keep writes, within the row: k_tiles == 1: the
// truncated full list [2, 0], which validation rejects; otherwise (odd K,
// tiles 0, 2, ..., K-1 kept) production: [2, K-1, 0] (the same reading),
// exclusive: the row that also computes tile 1.
int ll_skip_list_keep_entries(const uint8_t *keep, int k_tiles);

#ifdef __cplusplus
}
#endif

// ---------------------------------------------------------------------------
// The list writer: the one place that turns "visited tile kt, keep or not"
// into list entries. The CPU reference uses it; the CUDA kernels mirror it.
// It records a transition whenever keep changes (a range opens at the first
// kept tile, closes at the first dropped tile) and closes an open range at the
// end of each read range with that range's stored end. The same entries serve
// both encodings: under the exclusive reading a closing tile is not computed;
// under the production reading it is (the public kernel's behaviour).
// Tiles forced off (must-skip) are passed with keep = 0.
typedef struct {
    int32_t *row;
    int idx;       // next entry to write (1-based; row[0] is the count)
    int in_range;  // a range is open
} ll_list_writer;

static inline void ll_list_writer_begin(ll_list_writer *w, int32_t *row) {
    w->row = row;
    w->idx = 1;
    w->in_range = 0;
}
static inline void ll_list_writer_tile(ll_list_writer *w, int kt, int keep) {
    if (keep != w->in_range) {
        w->row[w->idx++] = kt;
        w->in_range = keep;
    }
}
static inline void ll_list_writer_range_end(ll_list_writer *w, int32_t stored_end) {
    if (w->in_range) {
        w->row[w->idx++] = stored_end;
        w->in_range = 0;
    }
}
static inline void ll_list_writer_finish(ll_list_writer *w) { w->row[0] = w->idx - 1; }

// The last tile a range (start, end) computes under an encoding.
static inline int ll_range_last(int32_t end, ll_list_encoding enc) {
    return enc == LL_END_EXCLUSIVE ? end + 1 : end;
}

// The most entries the writer produces from one valid read row: two per run
// of kept visits, a read range of v visits holding at most (v + 1) / 2 runs,
// and a row at most k_tiles visits in k_tiles / 2 ranges. The kernels stage
// this many.
static inline LL_HOST_DEVICE int ll_list_writer_max_entries(int k_tiles) { return k_tiles + k_tiles / 2; }
