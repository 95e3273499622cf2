// test_util.h: helpers shared by the CUnit suites: random keep rows, lists
// and masks from fixed seeds, and brute-force readings of keep rows that
// do not go through lib/skip_list.c (so tests compare against an
// independent definition).
#pragma once
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "skip_list.h"
#include "skip_mask.h"


// Random keep row of k_tiles flags. The style varies with the draw so that
// sparse, dense, long-run and alternating rows all occur:
//   0: each tile kept with a random probability p in [0, 1];
//   1: runs of random lengths (1..8), alternately kept and dropped;
//   2: all kept; 3: none kept; 4: strictly alternating, random phase.
static inline void tu_random_keep(ll_rng *rng, uint8_t *keep, int k_tiles) {
    int style = ll_rng_int(rng, 0, 9);
    if (style <= 5) {  // the common case
        double p = ll_rng_u01(rng);
        for (int kt = 0; kt < k_tiles; kt++) keep[kt] = ll_rng_u01(rng) < p;
    } else if (style <= 7) {
        int on = ll_rng_int(rng, 0, 1), kt = 0;
        while (kt < k_tiles) {
            int len = ll_rng_int(rng, 1, 8);
            for (int i = 0; i < len && kt < k_tiles; i++) keep[kt++] = (uint8_t)on;
            on = !on;
        }
    } else if (style == 8) {
        memset(keep, ll_rng_int(rng, 0, 1), (size_t)k_tiles);
    } else {
        int phase = ll_rng_int(rng, 0, 1);
        for (int kt = 0; kt < k_tiles; kt++) keep[kt] = (uint8_t)((kt + phase) & 1);
    }
}

// Whether the writer's entries for keep fit a row (2 per kept run <= k_tiles).
static inline int tu_keep_fits(const uint8_t *keep, int k_tiles) {
    int runs = 0;
    for (int kt = 0; kt < k_tiles; kt++)
        if (keep[kt] && (kt == k_tiles - 1 || !keep[kt + 1])) runs++;
    return 2 * runs <= k_tiles;
}

// A random keep row that fits a list row (drawn again until it does; after
// 64 failed draws, all tiles kept).
static inline void tu_random_fitting_keep(ll_rng *rng, uint8_t *keep, int k_tiles) {
    for (int i = 0; i < 64; i++) {
        tu_random_keep(rng, keep, k_tiles);
        if (tu_keep_fits(keep, k_tiles)) return;
    }
    memset(keep, 1, (size_t)k_tiles);
}

// What the production reading of the writer's row computes for a keep row:
// the kept tiles plus, below every kept run, its first dropped tile (the
// highest tile of the skipped run right under it).
static inline int tu_production_reading(const uint8_t *keep, int k_tiles, uint8_t *out) {
    int n = 0;
    for (int kt = 0; kt < k_tiles; kt++) {
        out[kt] = keep[kt] || (kt + 1 < k_tiles && keep[kt + 1]);
        n += out[kt];
    }
    return n;
}

// The row the kernels' writer stores for a keep row, built from the runs
// directly: each kept run [lo, hi] becomes (hi, lo - 1); a run reaching tile
// 0 ends at -1 (exclusive) or 0 (production). Returns len.
static inline int tu_expected_row(const uint8_t *keep, int k_tiles, ll_list_encoding enc, int32_t *row) {
    int len = 0;
    for (int kt = k_tiles - 1; kt >= 0; kt--) {
        if (!keep[kt] || (kt + 1 < k_tiles && keep[kt + 1])) continue;  // not the top of a run
        int lo = kt;
        while (lo > 0 && keep[lo - 1]) lo--;
        row[1 + len++] = kt;
        row[1 + len++] = lo > 0 ? lo - 1 : (enc == LL_END_EXCLUSIVE ? -1 : 0);
    }
    row[0] = len;
    return len;
}

// Fills every row of l with a random fitting keep row (seeded by seed).
static inline void tu_random_list(ll_skip_list *l, uint64_t seed) {
    ll_rng rng;
    ll_rng_seed(&rng, seed);
    uint8_t *keep = malloc((size_t)l->k_tiles);
    size_t rows = ll_skip_list_rows(l), stride = (size_t)ll_skip_list_row_len(l->k_tiles);
    for (size_t r = 0; keep && r < rows; r++) {
        tu_random_fitting_keep(&rng, keep, l->k_tiles);
        ll_skip_list_row_from_keep(keep, l->k_tiles, l->encoding, l->data + r * stride);
    }
    free(keep);
}

// Random mask: every bit skipped with probability p (seeded by seed).
static inline void tu_random_mask(ll_skip_mask *m, double p, uint64_t seed) {
    ll_rng rng;
    ll_rng_seed(&rng, seed);
    ll_skip_mask_clear(m);
    for (int b = 0; b < m->B; b++)
        for (int h = 0; h < m->H; h++)
            for (int qt = 0; qt < m->q_tiles; qt++)
                for (int kt = 0; kt < m->k_tiles; kt++) ll_skip_mask_set(m, b, h, qt, kt, ll_rng_u01(&rng) < p);
}
