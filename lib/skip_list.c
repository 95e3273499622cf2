// skip_list.c: allocation, validation and keep-row conversion of skip lists,
// and the fit rule that keeps every written row within the layout (layout,
// the two readings of `end` and the rule in skip_list.h).
#include "skip_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ll_list_encoding_name(ll_list_encoding e) {
    return e == LL_END_INCLUSIVE_PRODUCTION ? "production" : "exclusive";
}

ll_status ll_list_encoding_parse(const char *s, ll_list_encoding *out, ll_error *err) {
    if (s && strcmp(s, "exclusive") == 0) { *out = LL_END_EXCLUSIVE; return LL_OK; }
    if (s && strcmp(s, "production") == 0) { *out = LL_END_INCLUSIVE_PRODUCTION; return LL_OK; }
    return ll_fail(err, LL_ERR_INVALID, "unknown skip-list encoding '%s' (expected exclusive or production)",
                   s ? s : "(null)");
}

ll_status ll_skip_list_alloc(ll_skip_list *l, int B, int H, int q_tiles, int k_tiles, ll_list_encoding enc,
                             ll_error *err) {
    memset(l, 0, sizeof *l);
    if (B < 1 || H < 1 || q_tiles < 1 || k_tiles < 1)
        return ll_fail(err, LL_ERR_INVALID, "skip list: dimensions B=%d H=%d q_tiles=%d k_tiles=%d must all be >= 1",
                       B, H, q_tiles, k_tiles);
    if (enc != LL_END_EXCLUSIVE && enc != LL_END_INCLUSIVE_PRODUCTION)
        return ll_fail(err, LL_ERR_INVALID, "skip list: unknown encoding code %d", (int)enc);
    size_t rows = (size_t)B * H * q_tiles;
    size_t ints = rows * (size_t)ll_skip_list_row_len(k_tiles);
    if (ints / rows != (size_t)ll_skip_list_row_len(k_tiles) || ints > SIZE_MAX / sizeof(int32_t))
        return ll_fail(err, LL_ERR_NOMEM, "skip list: B=%d H=%d q_tiles=%d k_tiles=%d overflows the address space",
                       B, H, q_tiles, k_tiles);
    l->data = calloc(ints, sizeof(int32_t));  // zeroed: every row starts as len 0
    if (!l->data)
        return ll_fail(err, LL_ERR_NOMEM, "skip list: out of memory for %zu rows of %d int32", rows,
                       ll_skip_list_row_len(k_tiles));
    l->B = B;
    l->H = H;
    l->q_tiles = q_tiles;
    l->k_tiles = k_tiles;
    l->encoding = enc;
    return LL_OK;
}

void ll_skip_list_free(ll_skip_list *l) {
    if (!l) return;
    free(l->data);
    l->data = NULL;
}

// The full row [2, K-1, end]. With one key tile it does not fit a row of two
// int32: the first two ints are written (len 2, start 0), so the validator
// rejects the row ("len 2 > k_tiles 1") instead of anyone reading past it.
static void write_full_row(int32_t *row, int k_tiles, ll_list_encoding enc) {
    row[0] = 2;
    row[1] = k_tiles - 1;
    if (k_tiles >= 2) row[2] = enc == LL_END_EXCLUSIVE ? -1 : 0;
}

void ll_skip_list_fill_full(ll_skip_list *l) {
    size_t rows = ll_skip_list_rows(l), stride = (size_t)ll_skip_list_row_len(l->k_tiles);
    for (size_t r = 0; r < rows; r++) write_full_row(l->data + r * stride, l->k_tiles, l->encoding);
}

void ll_skip_list_copy(ll_skip_list *dst, const ll_skip_list *src) {
    memcpy(dst->data, src->data, ll_skip_list_rows(src) * (size_t)ll_skip_list_row_len(src->k_tiles) * sizeof(int32_t));
}

ll_status ll_skip_list_check_row(const int32_t *row, int k_tiles, ll_list_encoding enc, char *why, size_t why_len) {
    // exclusive: range (s, e) computes s..e+1, so s > e >= -1; production: s..e, so s >= e >= 0.
    int excl = enc == LL_END_EXCLUSIVE;
    int min_end = excl ? -1 : 0;
    int len = row[0];
    if (len < 0) {
        snprintf(why, why_len, "len %d is negative", len);
        return LL_ERR_INVALID;
    }
    if (len % 2) {
        snprintf(why, why_len, "len %d is odd (entries come in start/end pairs)", len);
        return LL_ERR_INVALID;
    }
    if (len > k_tiles) {
        snprintf(why, why_len, "len %d > k_tiles %d (a row holds at most k_tiles entries)", len, k_tiles);
        return LL_ERR_INVALID;
    }
    for (int i = 0; i < len / 2; i++) {
        int32_t s = row[1 + 2 * i], e = row[2 + 2 * i];
        if (s < 0 || s > k_tiles - 1) {
            snprintf(why, why_len, "range %d: start %d is outside [0, %d]", i, (int)s, k_tiles - 1);
            return LL_ERR_INVALID;
        }
        if (e < min_end) {
            snprintf(why, why_len, "range %d: end %d < %d (%s encoding)", i, (int)e, min_end,
                     ll_list_encoding_name(enc));
            return LL_ERR_INVALID;
        }
        if (excl ? s <= e : s < e) {
            snprintf(why, why_len, "range %d: (%d, %d) is empty or ascending (%s encoding needs start %s end)", i,
                     (int)s, (int)e, ll_list_encoding_name(enc), excl ? ">" : ">=");
            return LL_ERR_INVALID;
        }
        if (i > 0) {
            int32_t prev_end = row[2 * i];
            if (excl ? s > prev_end : s >= prev_end) {
                snprintf(why, why_len,
                         "range %d: start %d overlaps or is above range %d (end %d); ranges must descend, "
                         "start %s previous end (%s encoding)",
                         i, (int)s, i - 1, (int)prev_end, excl ? "<=" : "<", ll_list_encoding_name(enc));
                return LL_ERR_INVALID;
            }
        }
    }
    return LL_OK;
}

ll_status ll_skip_list_validate(const ll_skip_list *l, const char *what, ll_error *err) {
    if (!l || !l->data) return ll_fail(err, LL_ERR_INVALID, "%s: skip list has no data", what);
    if (l->B < 1 || l->H < 1 || l->q_tiles < 1 || l->k_tiles < 1)
        return ll_fail(err, LL_ERR_INVALID, "%s: dimensions B=%d H=%d q_tiles=%d k_tiles=%d must all be >= 1", what,
                       l->B, l->H, l->q_tiles, l->k_tiles);
    if (l->encoding != LL_END_EXCLUSIVE && l->encoding != LL_END_INCLUSIVE_PRODUCTION)
        return ll_fail(err, LL_ERR_INVALID, "%s: unknown encoding code %d", what, (int)l->encoding);
    char why[256];
    for (int b = 0; b < l->B; b++)
        for (int h = 0; h < l->H; h++)
            for (int qt = 0; qt < l->q_tiles; qt++)
                if (ll_skip_list_check_row(ll_skip_list_row(l, b, h, qt), l->k_tiles, l->encoding, why, sizeof why) !=
                    LL_OK)
                    return ll_fail(err, LL_ERR_INVALID, "%s: row (b=%d, h=%d, qtile=%d): %s", what, b, h, qt, why);
    return LL_OK;
}

int ll_skip_list_row_to_keep(const int32_t *row, int k_tiles, ll_list_encoding enc, uint8_t *keep) {
    memset(keep, 0, (size_t)k_tiles);
    int kept = 0, len = row[0];
    if (len > k_tiles) len = k_tiles;  // defensive: a valid row never exceeds it
    for (int i = 0; i + 1 < len; i += 2) {
        int start = row[1 + i], last = ll_range_last(row[2 + i], enc);
        if (start > k_tiles - 1) start = k_tiles - 1;
        if (last < 0) last = 0;
        for (int kt = start; kt >= last; kt--) {
            kept += !keep[kt];
            keep[kt] = 1;
        }
    }
    return kept;
}

int ll_skip_list_row_kept(const int32_t *row, int k_tiles, ll_list_encoding enc) {
    int kept = 0, len = row[0];
    if (len > k_tiles) len = k_tiles;
    for (int i = 0; i + 1 < len; i += 2) {
        int start = row[1 + i], last = ll_range_last(row[2 + i], enc);
        if (start > k_tiles - 1) start = k_tiles - 1;
        if (last < 0) last = 0;
        if (start >= last) kept += start - last + 1;  // valid rows have disjoint ranges
    }
    return kept;
}

int ll_skip_list_keep_entries(const uint8_t *keep, int k_tiles) {
    int runs = 0;
    for (int kt = 0; kt < k_tiles; kt++) runs += keep[kt] && (kt == k_tiles - 1 || !keep[kt + 1]);
    return 2 * runs;
}

int ll_list_fit(int32_t *entries, int *n, int capacity) {
    int merges = 0;
    while (*n > capacity) {
        if (*n < 4) return -1;  // a single range: nothing to merge
        // the boundary between ranges i and i+1 with the smallest gap, the first of equal ones
        int best = 0;
        for (int i = 1; i + 1 < *n / 2; i++)
            if (entries[2 * i + 1] - entries[2 * i + 2] < entries[2 * best + 1] - entries[2 * best + 2]) best = i;
        memmove(entries + 2 * best + 1, entries + 2 * best + 3, sizeof *entries * (size_t)(*n - 2 * best - 3));
        *n -= 2;
        merges++;
    }
    return merges;
}

int ll_list_writer_finish(ll_list_writer *w, int32_t *row, int k_tiles) {
    int merges = ll_list_fit(w->entries, &w->n, k_tiles);
    int copy = merges < 0 && w->n > k_tiles ? k_tiles : w->n;  // nothing fits: what the row holds
    memmove(row + 1, w->entries, sizeof *row * (size_t)copy);
    row[0] = w->n;
    return merges;
}

int ll_skip_list_row_from_keep(const uint8_t *keep, int k_tiles, ll_list_encoding enc, int32_t *row) {
    // One read range K-1 .. 0 with the full list's stored end, as a kernel
    // that computed every tile would write it. Its entries (at most K + 1)
    // are staged in the row itself, from row[0] on: K + 1 slots.
    ll_list_writer w;
    ll_list_writer_begin(&w, row);
    for (int kt = k_tiles - 1; kt >= 0; kt--) ll_list_writer_tile(&w, kt, keep[kt] != 0);
    ll_list_writer_range_end(&w, enc == LL_END_EXCLUSIVE ? -1 : 0);
    int merges = ll_list_writer_finish(&w, row, k_tiles);
    return merges < 0 ? -1 : merges > 0;
}
