// calib_table.c: builds the screening table (calibrate.h) from a map source.
//
// Two streaming passes over the maps, step by step, so no map of the whole
// trajectory is ever held (a Wan 720p trajectory at 128x64 tiles has 5.6e9
// tile values per 50 steps and 4 layers):
//   1. per tile, the number of runs of its history: a run is a stretch of
//      steps with the same quantised level (and, with split_log2, a mass
//      within split_log2 octaves of the run's first step);
//   2. the runs themselves, written straight into the per-row byte streams
//      (their offsets follow from pass 1), each with the largest mass seen
//      in it; a backward sweep per tile then turns those into suffix maxima,
//      the bound charged when the tile is marked inside the run.
// Tiles with one run fold into per-row counters by level; tiles whose only
// level is "negligible at no grid threshold" are dropped.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"

// Masses below this octave are all alike for the bound (a row of 2^12 tiles
// each under 2^-24 adds less than 2^-12): no run splits for them.
#define MASS_OCTAVE_FLOOR (-24)

// Level of x on the grid (ll_calib_grid_level): a first guess from the
// spacing when the grid is uniform, then corrected against the thresholds
// themselves, so the result is exactly "number of thresholds below x".
typedef struct {
    const ll_calib_grid *grid;
    int uniform;
    float t0, inv_step;
} level_finder;

static level_finder make_finder(const ll_calib_grid *g) {
    level_finder f = {.grid = g, .t0 = g->t[0]};
    if (g->n < 2) return f;
    double step = ((double)g->t[g->n - 1] - g->t[0]) / (g->n - 1);
    f.uniform = 1;
    for (int i = 0; i < g->n; i++)
        if (fabs((double)g->t[i] - (g->t[0] + i * step)) > 1e-4 * step) f.uniform = 0;
    f.inv_step = (float)(1.0 / step);
    return f;
}

static inline int find_level(const level_finder *f, float x) {
    const ll_calib_grid *g = f->grid;
    if (!f->uniform) return ll_calib_grid_level(g, x);
    float u = ceilf((x - f->t0) * f->inv_step);
    int level = u < 0 ? 0 : u > (float)g->n ? g->n : (int)u;  // also maps -inf to 0
    while (level > 0 && x <= g->t[level - 1]) level--;
    while (level < g->n && x > g->t[level]) level++;
    return level;
}

static inline int mass_octave(float m) {
    if (!(m > 0)) return MASS_OCTAVE_FLOOR;
    uint32_t bits;
    memcpy(&bits, &m, sizeof bits);
    int e = (int)((bits >> 23) & 0xff) - 127;  // floor(log2 m) for normal floats; subnormals clamp below
    return e < MASS_OCTAVE_FLOOR ? MASS_OCTAVE_FLOOR : e;
}

ll_status ll_map_view_check(const ll_map_source *src, int step, int layer, const ll_map_view *v, ll_error *err) {
    size_t n = (size_t)src->B * src->H * src->q_tiles * src->k_tiles;
    if (!v->max_log2 || !v->mass)
        return ll_fail(err, LL_ERR_INTERNAL, "%s: step %d layer %d: map source returned no data", src->desc, step, layer);
    size_t bad = n;
#pragma omp parallel for reduction(min : bad) schedule(static)
    for (size_t i = 0; i < n; i++) {
        float x = v->max_log2[i], m = v->mass[i];
        if (isnan(x) || x > 1e-3f || x == INFINITY || !(m >= 0.0f && m <= 1.0f + 1e-4f))
            if (i < bad) bad = i;
    }
    if (bad == n) return LL_OK;
    size_t kt = bad % src->k_tiles, r = bad / src->k_tiles;
    size_t qt = r % src->q_tiles, bh = r / src->q_tiles;
    return ll_fail(err, LL_ERR_INVALID,
                   "%s: tile map of step %d layer %d, b=%zu h=%zu qtile=%zu ktile=%zu: max_log2=%g mass=%g "
                   "(need max_log2 <= 0 or -inf, mass in [0, 1], no NaN)",
                   src->desc, step, layer, bh / src->H, bh % src->H, qt, kt, (double)v->max_log2[bad],
                   (double)v->mass[bad]);
}

void ll_calib_table_free(ll_calib_table *t) {
    if (!t) return;
    free(t->const_count);
    free(t->const_bound);
    free(t->runs);
    free(t->row_off);
    free(t->row_multi);
    memset(t, 0, sizeof *t);
}

static ll_status check_source(const ll_map_source *src, const ll_calib_grid *grid, ll_error *err) {
    if (!src || !src->read) return ll_fail(err, LL_ERR_INVALID, "calibrate: no map source");
    if (grid->n < 1 || grid->n > LL_CALIB_MAX_LEVELS)
        return ll_fail(err, LL_ERR_INVALID, "calibrate: threshold grid has %d levels (1..%d)", grid->n,
                       LL_CALIB_MAX_LEVELS);
    for (int i = 0; i < grid->n; i++)
        if (!isfinite(grid->t[i]) || grid->t[i] > 0 || (i && grid->t[i] <= grid->t[i - 1]))
            return ll_fail(err, LL_ERR_INVALID, "calibrate: threshold grid must be finite, ascending and <= 0");
    if (src->steps < 1 || src->steps > 250)
        return ll_fail(err, LL_ERR_INVALID, "%s: %d steps; calibration handles 1..250", src->desc, src->steps);
    if (src->layers < 1) return ll_fail(err, LL_ERR_INVALID, "%s: no layer has tile maps", src->desc);
    LL_TRY(ll_shape_validate(&src->shape, src->desc, err));
    LL_TRY(ll_tiling_validate(&src->tiling, err));
    if (src->B != src->shape.B || src->H != src->shape.H || src->q_tiles != ll_q_tiles(&src->shape, &src->tiling) ||
        src->k_tiles != ll_k_tiles(&src->shape, &src->tiling))
        return ll_fail(err, LL_ERR_INVALID,
                       "%s: map dimensions B=%d H=%d q_tiles=%d k_tiles=%d do not match the shape and tiling", src->desc,
                       src->B, src->H, src->q_tiles, src->k_tiles);
    return LL_OK;
}

// Per-tile state while streaming (pass 2 also tracks the run's start and mass).
typedef struct {
    uint8_t *nruns;   // pass 1 result, kept for pass 2
    uint8_t *level;   // level of the open run
    int8_t *octave;   // mass octave at the open run's first step
    uint8_t *start;   // first step of the open run (pass 2)
    uint8_t *written; // runs written so far (pass 2)
    float *runmax;    // largest mass in the open run (pass 2)
} tile_state;

static void free_state(tile_state *s) {
    free(s->nruns);
    free(s->level);
    free(s->octave);
    free(s->start);
    free(s->written);
    free(s->runmax);
}

static inline int starts_run(int t, int level, int oct, uint8_t cur_level, int8_t cur_oct, int split) {
    if (t == 0) return 1;
    if (level != cur_level) return 1;
    return split > 0 && abs(oct - cur_oct) >= split;
}

// Pass 1 over one (step, layer) map.
static void pass1(const ll_calib_table *t, const ll_map_view *v, int step, int layer, int split, tile_state *s) {
    int KM = t->k_tiles - 1;
    level_finder lf = make_finder(&t->grid);
    size_t rows_per_layer = (size_t)t->B * t->H * t->q_tiles;
#pragma omp parallel for schedule(static)
    for (size_t lr = 0; lr < rows_per_layer; lr++) {
        size_t row = (size_t)layer * rows_per_layer + lr;
        const float *x = v->max_log2 + lr * t->k_tiles, *m = v->mass + lr * t->k_tiles;
        size_t base = row * KM;
        for (int kt = 0; kt < KM; kt++) {
            size_t i = base + kt;
            int level = find_level(&lf, x[kt]);
            int oct = split ? mass_octave(m[kt]) : 0;
            if (starts_run(step, level, oct, s->level[i], s->octave[i], split)) {
                s->nruns[i] = step == 0 ? 1 : s->nruns[i] + 1;
                s->level[i] = (uint8_t)level;
                s->octave[i] = (int8_t)oct;
            }
        }
    }
}

// Closes tile i's open run into its record in the stream.
static inline void close_run(uint8_t *rec, const tile_state *s, size_t i) {
    uint8_t *r = rec + 1 + 3 * (size_t)s->written[i];
    r[0] = s->start[i];
    r[1] = s->level[i];
    r[2] = ll_calib_bound_code(s->runmax[i]);
}

static void pass2(ll_calib_table *t, const ll_map_view *v, int step, int layer, int split, tile_state *s) {
    int KM = t->k_tiles - 1, last = step == t->steps - 1;
    level_finder lf = make_finder(&t->grid);
    size_t rows_per_layer = (size_t)t->B * t->H * t->q_tiles;
#pragma omp parallel for schedule(static)
    for (size_t lr = 0; lr < rows_per_layer; lr++) {
        size_t row = (size_t)layer * rows_per_layer + lr;
        const float *x = v->max_log2 + lr * t->k_tiles, *m = v->mass + lr * t->k_tiles;
        size_t base = row * KM;
        uint8_t *rec = t->runs + t->row_off[row];
        for (int kt = 0; kt < KM; kt++) {
            size_t i = base + kt;
            // A multi-run tile's record follows the previous one in the row's
            // stream: offsets come from the run counts, nothing is stored.
            int multi = s->nruns[i] > 1;
            int level = find_level(&lf, x[kt]);
            int oct = split ? mass_octave(m[kt]) : 0;
            float mass = m[kt];
            if (starts_run(step, level, oct, s->level[i], s->octave[i], split)) {
                if (step > 0 && multi) {
                    close_run(rec, s, i);
                    s->written[i]++;
                }
                s->level[i] = (uint8_t)level;
                s->octave[i] = (int8_t)oct;
                s->start[i] = (uint8_t)step;
                s->runmax[i] = mass;
            } else if (mass > s->runmax[i]) {
                s->runmax[i] = mass;
            }
            if (multi) {
                if (last) {
                    close_run(rec, s, i);
                    s->written[i]++;
                    // Suffix maxima: a tile marked in run r is charged the
                    // largest mass of run r or any later run (smaller code =
                    // larger value).
                    int n = s->nruns[i];
                    rec[0] = (uint8_t)n;
                    for (int r = n - 2; r >= 0; r--) {
                        uint8_t *c = rec + 1 + 3 * r + 2, nxt = rec[1 + 3 * (r + 1) + 2];
                        if (nxt < *c) *c = nxt;
                    }
                }
                rec += 1 + 3 * (size_t)s->nruns[i];
            }
        }
    }
}

static ll_status read_checked(ll_map_source *src, int step, int layer, ll_map_view *v, ll_error *err) {
    LL_TRY(src->read(src, step, layer, v, err));
    return ll_map_view_check(src, step, layer, v, err);
}

ll_status ll_calib_table_build(ll_map_source *src, const ll_calib_grid *grid, const ll_calib_build_options *opt,
                               ll_calib_table *out, ll_error *err) {
    memset(out, 0, sizeof *out);
    LL_TRY(check_source(src, grid, err));
    ll_calib_build_options o = {0};
    if (opt) o = *opt;
    if (o.split_log2 < 0 || o.split_log2 > 60)
        return ll_fail(err, LL_ERR_INVALID, "calibrate: split_log2 %d must be in 0..60", o.split_log2);
    int saved_threads = omp_get_max_threads();
    if (o.n_threads > 0) omp_set_num_threads(o.n_threads);
    double t0 = ll_now_seconds();

    ll_calib_table *t = out;
    t->grid = *grid;
    t->steps = src->steps;
    t->layers = src->layers;
    t->B = src->B;
    t->H = src->H;
    t->q_tiles = src->q_tiles;
    t->k_tiles = src->k_tiles;
    t->shape = src->shape;
    t->tiling = src->tiling;
    t->n_rows = (size_t)t->layers * t->B * t->H * t->q_tiles;
    int G = grid->n, KM = t->k_tiles - 1;
    size_t n_tiles = t->n_rows * (size_t)(KM > 0 ? KM : 0);
    t->tiles_markable = n_tiles;
    t->dense_flops_step = 4.0 * t->B * t->H * (double)t->shape.N * t->shape.N * t->shape.D * t->layers;

    ll_status st = LL_OK;
    tile_state s = {0};
    t->const_count = calloc(t->n_rows * G, sizeof(uint32_t));
    t->const_bound = calloc(t->n_rows * G, sizeof(float));
    t->row_off = calloc(t->n_rows + 1, sizeof(uint64_t));
    t->row_multi = calloc(t->n_rows, sizeof(uint32_t));
    s.nruns = calloc(n_tiles ? n_tiles : 1, 1);
    s.level = calloc(n_tiles ? n_tiles : 1, 1);
    s.octave = calloc(n_tiles ? n_tiles : 1, 1);
    if (!t->const_count || !t->const_bound || !t->row_off || !t->row_multi || !s.nruns || !s.level || !s.octave) {
        st = ll_fail(err, LL_ERR_NOMEM, "calibrate: out of memory for the screening table (%zu tiles)", n_tiles);
        goto done;
    }

    ll_map_view v;
    for (int step = 0; step < t->steps && KM > 0; step++) {
        for (int l = 0; l < t->layers; l++) {
            if ((st = read_checked(src, step, l, &v, err)) != LL_OK) goto done;
            pass1(t, &v, step, l, o.split_log2, &s);
        }
        if (o.progress)
            ll_progress_update(o.progress, step + 1, 2.0 * t->steps, "screening pass 1/2, step %d/%d", step + 1,
                               t->steps);
    }

    // Row streams: sizes from the run counts.
    for (size_t row = 0; row < t->n_rows; row++) {
        uint64_t bytes = 0;
        uint32_t multi = 0;
        for (int kt = 0; kt < KM; kt++) {
            size_t i = row * KM + kt;
            if (s.nruns[i] > 1) {
                bytes += 1 + 3 * (uint64_t)s.nruns[i];
                multi++;
                t->runs_total += s.nruns[i];
            } else if (s.level[i] >= G) {
                t->tiles_never++;
            } else {
                t->tiles_const++;
            }
        }
        t->row_off[row + 1] = t->row_off[row] + bytes;
        t->row_multi[row] = multi;
        t->tiles_multi += multi;
    }
    t->runs = malloc(t->row_off[t->n_rows] ? t->row_off[t->n_rows] : 1);
    s.start = calloc(n_tiles ? n_tiles : 1, 1);
    s.written = calloc(n_tiles ? n_tiles : 1, 1);
    s.runmax = calloc(n_tiles ? n_tiles : 1, sizeof(float));
    if (!t->runs || !s.start || !s.written || !s.runmax) {
        st = ll_fail(err, LL_ERR_NOMEM, "calibrate: out of memory for %llu history bytes",
                     (unsigned long long)t->row_off[t->n_rows]);
        goto done;
    }

    for (int step = 0; step < t->steps && KM > 0; step++) {
        for (int l = 0; l < t->layers; l++) {
            if ((st = read_checked(src, step, l, &v, err)) != LL_OK) goto done;
            pass2(t, &v, step, l, o.split_log2, &s);
        }
        if (o.progress)
            ll_progress_update(o.progress, t->steps + step + 1, 2.0 * t->steps, "screening pass 2/2, step %d/%d",
                               step + 1, t->steps);
    }
    if (o.progress) ll_progress_end(o.progress);

    // Tiles with one run: per-row counters by level (the bound: their largest mass).
#pragma omp parallel for schedule(static)
    for (size_t row = 0; row < t->n_rows; row++) {
        for (int kt = 0; kt < KM; kt++) {
            size_t i = row * KM + kt;
            if (s.nruns[i] == 1 && s.level[i] < G) {
                t->const_count[row * G + s.level[i]]++;
                t->const_bound[row * G + s.level[i]] += ll_calib_bound_value(ll_calib_bound_code(s.runmax[i]));
            }
        }
    }
    t->build_seconds = ll_now_seconds() - t0;

done:
    free_state(&s);
    if (o.n_threads > 0) omp_set_num_threads(saved_threads);
    if (st != LL_OK) ll_calib_table_free(t);
    return st;
}
