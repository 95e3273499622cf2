// tile_overrides.c: must-do / must-skip token ranges -> key-tile flags (the
// rounding rules are in tile_overrides.h), and the "a:b,c:d" range syntax.
//
// Must-skip ranges may overlap or touch, and only together cover a tile, so
// they are merged first and each tile counts the tokens the union covers.
#include "tile_overrides.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static ll_status check_ranges(const ll_token_range *r, int n, int N, const char *kind, ll_error *err) {
    if (n < 0) return ll_fail(err, LL_ERR_INVALID, "%s ranges: count %d is negative", kind, n);
    if (n > 0 && !r) return ll_fail(err, LL_ERR_INVALID, "%s ranges: %d ranges but no array", kind, n);
    for (int i = 0; i < n; i++) {
        if (r[i].begin >= r[i].end)
            return ll_fail(err, LL_ERR_INVALID, "%s range %d [%lld, %lld) is empty or reversed (begin must be < end)",
                           kind, i, (long long)r[i].begin, (long long)r[i].end);
        if (r[i].begin < 0 || r[i].end > N)
            return ll_fail(err, LL_ERR_INVALID, "%s range %d [%lld, %lld) is outside the %d tokens [0, %d]", kind, i,
                           (long long)r[i].begin, (long long)r[i].end, N, N);
    }
    return LL_OK;
}

static int by_begin(const void *a, const void *b) {
    const ll_token_range *x = a, *y = b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

// Sorts r in place and merges overlapping or touching ranges; returns the new count.
static int merge_ranges(ll_token_range *r, int n) {
    if (n == 0) return 0;
    qsort(r, (size_t)n, sizeof *r, by_begin);
    int m = 0;
    for (int i = 1; i < n; i++) {
        if (r[i].begin <= r[m].end) {
            if (r[i].end > r[m].end) r[m].end = r[i].end;
        } else {
            r[++m] = r[i];
        }
    }
    return m + 1;
}

ll_status ll_key_tile_flags(int N, int block_n, const ll_overrides *ov, uint8_t *flags, ll_error *err) {
    if (N < 1 || block_n < 1)
        return ll_fail(err, LL_ERR_INVALID, "key-tile flags: N=%d and block_n=%d must be >= 1", N, block_n);
    if (!flags) return ll_fail(err, LL_ERR_INVALID, "key-tile flags: no output array");
    int k_tiles = ll_ceil_div(N, block_n);
    memset(flags, LL_TILE_FREE, (size_t)k_tiles);
    if (!ov) return LL_OK;
    LL_TRY(check_ranges(ov->must_do, ov->n_must_do, N, "must-do", err));
    LL_TRY(check_ranges(ov->must_skip, ov->n_must_skip, N, "must-skip", err));
    for (int i = 0; i < ov->n_must_do; i++)
        for (int j = 0; j < ov->n_must_skip; j++) {
            const ll_token_range *d = &ov->must_do[i], *s = &ov->must_skip[j];
            if (d->begin < s->end && s->begin < d->end)
                return ll_fail(err, LL_ERR_INVALID,
                               "must-do range %d [%lld, %lld) overlaps must-skip range %d [%lld, %lld)", i,
                               (long long)d->begin, (long long)d->end, j, (long long)s->begin, (long long)s->end);
        }

    // must-skip, inward: a tile whose every real token the union covers.
    if (ov->n_must_skip > 0) {
        ll_token_range *u = malloc(sizeof *u * (size_t)ov->n_must_skip);
        int *covered = calloc((size_t)k_tiles, sizeof *covered);
        if (!u || !covered) {
            free(u);
            free(covered);
            return ll_fail(err, LL_ERR_NOMEM, "key-tile flags: out of memory for %d must-skip ranges",
                           ov->n_must_skip);
        }
        memcpy(u, ov->must_skip, sizeof *u * (size_t)ov->n_must_skip);
        int m = merge_ranges(u, ov->n_must_skip);
        for (int i = 0; i < m; i++) {
            int lo = (int)u[i].begin, hi = (int)u[i].end;  // [lo, hi) within [0, N]
            for (int kt = lo / block_n; kt <= (hi - 1) / block_n; kt++) {
                int t0 = kt * block_n, t1 = t0 + block_n < N ? t0 + block_n : N;
                covered[kt] += (hi < t1 ? hi : t1) - (lo > t0 ? lo : t0);
            }
        }
        for (int kt = 0; kt < k_tiles; kt++) {
            int t0 = kt * block_n, cols = (t0 + block_n < N ? t0 + block_n : N) - t0;
            if (covered[kt] == cols) flags[kt] = LL_TILE_MUST_SKIP;
        }
        free(u);
        free(covered);
    }
    // must-do, outward: any must-do token makes its tile must-do. No tile is
    // both: its must-do token would have to lie in a must-skip range too.
    for (int i = 0; i < ov->n_must_do; i++) {
        int lo = (int)ov->must_do[i].begin, hi = (int)ov->must_do[i].end;
        for (int kt = lo / block_n; kt <= (hi - 1) / block_n; kt++) flags[kt] = LL_TILE_MUST_DO;
    }
    return LL_OK;
}

// One "a:b" item of the string (len chars at item); spaces around the
// numbers are allowed, anything else is an error.
static ll_status parse_item(const char *item, size_t len, int index, ll_token_range *out, ll_error *err) {
    char buf[64];
    if (len >= sizeof buf)
        return ll_fail(err, LL_ERR_INVALID, "token range %d '%.*s...' is too long", index, 40, item);
    memcpy(buf, item, len);
    buf[len] = '\0';
    long long v[2];
    char *p = buf;
    for (int k = 0; k < 2; k++) {
        while (isspace((unsigned char)*p)) p++;
        if (!isdigit((unsigned char)*p))
            return ll_fail(err, LL_ERR_INVALID, "token range %d '%s': expected begin:end with non-negative integers",
                           index, buf);
        char *end;
        errno = 0;
        v[k] = strtoll(p, &end, 10);
        if (errno == ERANGE)
            return ll_fail(err, LL_ERR_INVALID, "token range %d '%s': number out of range", index, buf);
        p = end;
        while (isspace((unsigned char)*p)) p++;
        if (k == 0 && *p++ != ':')
            return ll_fail(err, LL_ERR_INVALID, "token range %d '%s': expected begin:end (missing ':')", index, buf);
    }
    if (*p)
        return ll_fail(err, LL_ERR_INVALID, "token range %d '%s': unexpected '%s' after the end", index, buf, p);
    if (v[0] >= v[1])
        return ll_fail(err, LL_ERR_INVALID, "token range %d '%s': empty or reversed (begin must be < end)", index, buf);
    out->begin = v[0];
    out->end = v[1];
    return LL_OK;
}

ll_status ll_token_ranges_parse(const char *s, ll_token_range **out, int *n, ll_error *err) {
    *out = NULL;
    *n = 0;
    if (!s) return LL_OK;
    const char *q = s;
    while (isspace((unsigned char)*q)) q++;
    if (!*q) return LL_OK;  // empty: no ranges
    int count = 1;
    for (const char *c = s; *c; c++) count += *c == ',';
    ll_token_range *r = malloc(sizeof *r * (size_t)count);
    if (!r) return ll_fail(err, LL_ERR_NOMEM, "token ranges: out of memory for %d ranges", count);
    const char *item = s;
    for (int i = 0; i < count; i++) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        ll_error why;
        ll_status st = parse_item(item, len, i, &r[i], &why);
        if (st != LL_OK) {
            free(r);
            return ll_fail(err, st, "token ranges \"%.200s\": %s", s, why.msg);
        }
        item = comma ? comma + 1 : item + len;
    }
    *out = r;
    *n = count;
    return LL_OK;
}
