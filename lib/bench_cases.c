// bench_cases.c: shape presets, option lists, random and banded tile masks,
// and the short GPU name for `litelab bench` (see bench_cases.h).
#include "bench_cases.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rng.h"

static const ll_bench_shape presets[] = {
    {"wan720", {1, 75600, 40, 128, LL_BF16}},  // Wan2.1 720p, 81 frames
    {"wan480", {1, 32760, 40, 128, LL_BF16}},  // Wan2.1 480p, 81 frames
    {"h24d64", {1, 32760, 24, 64, LL_BF16}},   // 24 heads of dim 64 at the 480p length
};
static const int n_presets = (int)(sizeof presets / sizeof presets[0]);

// Splits s at commas into items (copied into buf); LL_ERR_USAGE on empty items.
static ll_status split_list(const char *s, const char *what, char *buf, size_t len, char **items, int max, int *n,
                            ll_error *err) {
    *n = 0;
    if (!s || !*s) return ll_fail(err, LL_ERR_USAGE, "%s: empty list", what);
    if (strlen(s) >= len) return ll_fail(err, LL_ERR_USAGE, "%s: list too long (%zu characters)", what, strlen(s));
    strcpy(buf, s);
    char *p = buf;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (!*p) return ll_fail(err, LL_ERR_USAGE, "%s: empty item in '%s'", what, s);
        if (*n == max) return ll_fail(err, LL_ERR_USAGE, "%s: more than %d items in '%s'", what, max, s);
        items[(*n)++] = p;
        if (!comma) break;
        p = comma + 1;
    }
    return LL_OK;
}

// A whole decimal integer in [1, 1<<30].
static int parse_dim(const char *s, int *out) {
    if (!isdigit((unsigned char)*s)) return 0;
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 1 || v > (1L << 30)) return 0;
    *out = (int)v;
    return 1;
}

ll_status ll_bench_shapes_parse(const char *s, ll_dtype dtype, ll_bench_shape *out, int max, int *n,
                                ll_error *err) {
    char buf[1024], *items[LL_BENCH_MAX_ITEMS];
    int n_items = 0;
    *n = 0;
    LL_TRY(split_list(s, "--shapes", buf, sizeof buf, items, max < LL_BENCH_MAX_ITEMS ? max : LL_BENCH_MAX_ITEMS,
                      &n_items, err));
    for (int i = 0; i < n_items; i++) {
        ll_bench_shape *b = &out[i];
        int found = 0;
        for (int p = 0; p < n_presets && !found; p++) {
            if (strcmp(items[i], presets[p].name) == 0) {
                *b = presets[p];
                found = 1;
            }
        }
        if (!found) {  // BxHxNxD
            char tmp[64], *dims[4];
            int nd = 0;
            if (strlen(items[i]) >= sizeof tmp)
                return ll_fail(err, LL_ERR_USAGE, "--shapes: item '%s' is too long", items[i]);
            strcpy(tmp, items[i]);
            for (char *tok = tmp, *x; tok && nd < 5; tok = x ? x + 1 : NULL) {
                x = strchr(tok, 'x');
                if (x) *x = '\0';
                if (nd < 4) dims[nd] = tok;
                nd++;
            }
            int B, H, N, D;
            if (nd != 4 || !parse_dim(dims[0], &B) || !parse_dim(dims[1], &H) || !parse_dim(dims[2], &N) ||
                !parse_dim(dims[3], &D))
                return ll_fail(err, LL_ERR_USAGE,
                               "--shapes: '%s' is neither a preset (wan720, wan480, h24d64) nor BxHxNxD", items[i]);
            b->shape = (ll_shape){.B = B, .N = N, .H = H, .D = D};
            snprintf(b->name, sizeof b->name, "%dx%dx%dx%d", B, H, N, D);
        }
        b->shape.dtype = dtype;
        ll_error why;
        if (ll_shape_validate(&b->shape, items[i], &why) != LL_OK)
            return ll_fail(err, LL_ERR_USAGE, "--shapes: %s", why.msg);
    }
    *n = n_items;
    return LL_OK;
}

ll_status ll_bench_fractions_parse(const char *s, double *out, int max, int *n, ll_error *err) {
    char buf[1024], *items[LL_BENCH_MAX_ITEMS];
    int n_items = 0;
    *n = 0;
    LL_TRY(split_list(s, "--kept", buf, sizeof buf, items, max < LL_BENCH_MAX_ITEMS ? max : LL_BENCH_MAX_ITEMS,
                      &n_items, err));
    for (int i = 0; i < n_items; i++) {
        errno = 0;
        char *end = NULL;
        double v = strtod(items[i], &end);
        if (errno || end == items[i] || *end || !(v > 0.0 && v <= 1.0))
            return ll_fail(err, LL_ERR_USAGE, "--kept: '%s' is not a fraction in (0, 1]", items[i]);
        out[i] = v;
    }
    *n = n_items;
    return LL_OK;
}

const char *ll_bench_mask_name(ll_bench_mask m) {
    switch (m) {
    case LL_BENCH_MASK_FULL: return "full";
    case LL_BENCH_MASK_RANDOM: return "random";
    case LL_BENCH_MASK_BANDED: return "banded";
    }
    return "unknown";
}

ll_status ll_bench_masks_parse(const char *s, ll_bench_mask *out, int max, int *n, ll_error *err) {
    char buf[256], *items[LL_BENCH_MAX_ITEMS];
    int n_items = 0;
    *n = 0;
    LL_TRY(split_list(s, "--masks", buf, sizeof buf, items, max < LL_BENCH_MAX_ITEMS ? max : LL_BENCH_MAX_ITEMS,
                      &n_items, err));
    for (int i = 0; i < n_items; i++) {
        if (strcmp(items[i], "random") == 0) out[i] = LL_BENCH_MASK_RANDOM;
        else if (strcmp(items[i], "banded") == 0) out[i] = LL_BENCH_MASK_BANDED;
        else return ll_fail(err, LL_ERR_USAGE, "--masks: unknown mask '%s' (expected random or banded)", items[i]);
        for (int j = 0; j < i; j++)
            if (out[j] == out[i]) return ll_fail(err, LL_ERR_USAGE, "--masks: '%s' listed twice", items[i]);
    }
    *n = n_items;
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Banded masks.

void ll_bench_band_tiles(const ll_shape *s, const ll_tiling *t, int qt, int w, int *lo, int *hi) {
    int k_tiles = ll_k_tiles(s, t);
    long centre = (long)qt * t->block_m + (ll_q_tile_rows(s, t, qt) - 1) / 2;
    long first = centre - w, last = centre + w;  // tokens the band reaches
    *lo = first <= 0 ? 0 : (int)(first / t->block_n);
    long h = last / t->block_n;
    *hi = h >= k_tiles - 1 ? k_tiles - 1 : (int)h;
}

// Kept tiles of one (batch, head) under half-width w (the same for every head).
static long band_kept(const ll_shape *s, const ll_tiling *t, int w) {
    long kept = 0;
    for (int qt = 0; qt < ll_q_tiles(s, t); qt++) {
        int lo, hi;
        ll_bench_band_tiles(s, t, qt, w, &lo, &hi);
        kept += hi - lo + 1;
    }
    return kept;
}

// Smallest w in [0, N] whose kept count reaches `want` (N keeps every tile).
static int band_first_reaching(const ll_shape *s, const ll_tiling *t, long want) {
    int lo = 0, hi = s->N;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (band_kept(s, t, mid) >= want) hi = mid;
        else lo = mid + 1;
    }
    return lo;
}

int ll_bench_band_half_width(const ll_shape *s, const ll_tiling *t, double kept) {
    long total = (long)ll_q_tiles(s, t) * ll_k_tiles(s, t);
    double want = kept * (double)total;
    int w = band_first_reaching(s, t, (long)ceil(want - 1e-9));
    if (w > 0) {  // one step narrower may land closer to the target
        long above = band_kept(s, t, w), below = band_kept(s, t, w - 1);
        if (fabs((double)below - want) < fabs((double)above - want)) w = band_first_reaching(s, t, below);
    }
    return w;
}

// ---------------------------------------------------------------------------

// A list row holds k_tiles entries after its count, two per run of kept
// tiles; a row of odd k_tiles cannot hold a fully alternating pattern.
static int row_fits(const uint8_t *keep, int k_tiles) { return ll_skip_list_keep_entries(keep, k_tiles) <= k_tiles; }

ll_status ll_bench_mask_build(ll_skip_list *l, const ll_shape *s, const ll_tiling *t, ll_bench_mask m,
                              double kept, uint64_t seed, ll_error *err) {
    LL_TRY(ll_shape_validate(s, "bench mask", err));
    LL_TRY(ll_tiling_validate(t, err));
    int q_tiles = ll_q_tiles(s, t), k_tiles = ll_k_tiles(s, t);
    if (k_tiles < 1) return ll_fail(err, LL_ERR_INVALID, "bench mask: no key tiles (N=%d)", s->N);
    if (l->B != s->B || l->H != s->H || l->q_tiles != q_tiles || l->k_tiles != k_tiles)
        return ll_fail(err, LL_ERR_INVALID,
                       "bench mask: list dims (B=%d H=%d q_tiles=%d k_tiles=%d) do not match the call "
                       "(B=%d H=%d q_tiles=%d k_tiles=%d)",
                       l->B, l->H, l->q_tiles, l->k_tiles, s->B, s->H, q_tiles, k_tiles);
    if (!(kept > 0.0 && kept <= 1.0))
        return ll_fail(err, LL_ERR_INVALID, "bench mask: kept fraction %g is not in (0, 1]", kept);
    if (m != LL_BENCH_MASK_FULL && m != LL_BENCH_MASK_RANDOM && m != LL_BENCH_MASK_BANDED)
        return ll_fail(err, LL_ERR_INVALID, "bench mask: unknown mask code %d", (int)m);

    int band_w = m == LL_BENCH_MASK_BANDED ? ll_bench_band_half_width(s, t, kept) : 0;
    int per_row = (int)lround(kept * k_tiles);
    if (per_row < 1) per_row = 1;
    if (per_row > k_tiles) per_row = k_tiles;
    long rows = (long)s->B * s->H * q_tiles;
    int no_memory = 0;
    long unfit_row = -1;  // the first row no list row can hold, if any
    const size_t n_keys = (size_t)k_tiles;

#pragma omp parallel reduction(| : no_memory)
    {
        uint8_t *keep = malloc(n_keys);
        int *order = malloc(n_keys * sizeof *order);
        if (!keep || !order) no_memory = 1;
#pragma omp for schedule(static)
        for (long r = 0; r < rows; r++) {
            if (!keep || !order) continue;
            int qt = (int)(r % q_tiles), bh = (int)(r / q_tiles);
            if (m == LL_BENCH_MASK_FULL) {
                memset(keep, 1, n_keys);
            } else if (m == LL_BENCH_MASK_BANDED) {
                int lo, hi;
                ll_bench_band_tiles(s, t, qt, band_w, &lo, &hi);
                for (int kt = 0; kt < k_tiles; kt++) keep[kt] = kt >= lo && kt <= hi;
            } else {  // random: the first per_row entries of a partial Fisher-Yates shuffle
                ll_rng rng;
                ll_rng_seed(&rng, ll_hash4(seed, (uint64_t)bh, (uint64_t)qt, 0x6d61736bu));
                // Draw again (same stream, so still deterministic) in the rare case
                // the subset alternates too often for a list row.
                for (int attempt = 0; attempt < 64; attempt++) {
                    for (int kt = 0; kt < k_tiles; kt++) order[kt] = kt;
                    memset(keep, 0, n_keys);
                    for (int i = 0; i < per_row; i++) {
                        int j = ll_rng_int(&rng, i, k_tiles - 1);
                        int tmp = order[i];
                        order[i] = order[j];
                        order[j] = tmp;
                        keep[order[i]] = 1;
                    }
                    if (row_fits(keep, k_tiles)) break;
                }
            }
            if (!row_fits(keep, k_tiles)) {
#pragma omp critical(bench_mask_unfit)
                if (unfit_row < 0 || r < unfit_row) unfit_row = r;
                continue;
            }
            int b = bh / s->H, h = bh % s->H;
            int32_t *row = ll_skip_list_row(l, b, h, qt);
            memset(row, 0, (size_t)ll_skip_list_row_len(k_tiles) * sizeof *row);  // same bytes every time
            ll_skip_list_row_from_keep(keep, k_tiles, l->encoding, row);
        }
        free(keep);
        free(order);
    }
    if (no_memory) return ll_fail(err, LL_ERR_NOMEM, "bench mask: out of host memory for %d key tiles", k_tiles);
    if (unfit_row >= 0)
        return ll_fail(err, LL_ERR_INVALID,
                       "bench mask: %s mask, kept %g: row (b=%ld, h=%ld, qtile=%ld) keeps more separate runs of key "
                       "tiles than a skip-list row of %d key tiles can hold",
                       ll_bench_mask_name(m), kept, unfit_row / q_tiles / s->H, unfit_row / q_tiles % s->H,
                       unfit_row % q_tiles, k_tiles);
    return LL_OK;
}

// ---------------------------------------------------------------------------

void ll_gpu_short_name(const char *full, char *out, size_t len) {
    static const char *vendor_words[] = {"nvidia", "geforce", "tesla", "quadro"};
    size_t o = 0;
    const char *p = full ? full : "";
    if (len == 0) return;
    while (*p) {
        while (*p == ' ') p++;
        const char *word = p;
        while (*p && *p != ' ') p++;
        size_t wlen = (size_t)(p - word);
        if (!wlen) break;
        int vendor = 0;
        for (size_t v = 0; v < sizeof vendor_words / sizeof *vendor_words; v++)
            if (wlen == strlen(vendor_words[v]) && strncasecmp(word, vendor_words[v], wlen) == 0) vendor = 1;
        if (vendor) continue;
        int digit = 0;
        for (size_t i = 0; i < wlen && word[i] != '-'; i++) {
            unsigned char c = (unsigned char)word[i];
            if (isdigit(c)) digit = 1;
            if (isalnum(c) && o + 1 < len) out[o++] = (char)tolower(c);
        }
        if (digit) break;
    }
    if (o == 0) snprintf(out, len, "gpu");
    else out[o] = '\0';
}
