// calib_search.c: the per-step threshold search (calibrate.h).
//
// The greedy: step by step, in order, as the authors tune by hand: at step t every grid
// level is a candidate; one pass over the tiles still alive builds, per row,
// the histogram of their level at step t (count and mass bound), whose
// prefix sums give for every candidate at once the error each row would
// carry from step t+1 on and the FLOPs it would skip. The largest candidate
// that keeps every later step within the budget (nothing more being marked
// afterwards, so the choice can always be kept) is taken, then lowered to
// the smallest level that marks the same tiles: equal on the maps, it is the
// gentler one for the real kernel, whose criterion marks a subset.
// Under the bound flavour a row's error never decreases, so "every later
// step" is one number per row.
// The search: the greedy at a ladder of budgets, the best that fits.
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"

typedef struct {
    uint8_t level;  // MARKED once marked
    uint8_t code;   // mass bound code
    uint8_t end;    // first step after the run
    uint8_t index;  // run index in the record
} tile_run;

typedef struct {
    const ll_calib_table *t;
    double *row_err;      // [n_rows] bound error carried from the marks so far
    // Per multi-run tile, its current run in 4 bytes, so that a step pass
    // reads 8 bytes per tile instead of the whole history (the pass is
    // memory-bound): the history is read only when the step leaves the run.
    tile_run *run;        // [tiles_multi]
    uint32_t *rec_off;    // [tiles_multi] the tile's history record, from its row's offset
    uint64_t *multi_base; // [n_rows] index of each row's first multi-run tile
    int *const_upto;      // [layers] const tiles of levels <= this are marked
    float lut[256];
} search_state;

static inline double row_flops(const ll_calib_table *t, size_t row) {
    int qt = (int)(row % t->q_tiles);
    return 4.0 * ll_q_tile_rows(&t->shape, &t->tiling, qt) * (double)t->tiling.block_n * t->shape.D;
}

#define MARKED 255

// Moves a tile's current run forward to the one holding step t.
static inline void run_at(const uint8_t *rec, int t, int steps, tile_run *r) {
    if (t < r->end) return;
    int n = rec[0], k = r->index;
    while (k + 1 < n && rec[1 + 3 * (k + 1)] <= t) k++;
    const uint8_t *x = rec + 1 + 3 * k;
    r->index = (uint8_t)k;
    r->level = x[1];
    r->code = x[2];
    r->end = (uint8_t)(k + 1 < n ? x[3] : steps);
}

// One pass per step t: first the marks of step t-1 (prev[l], the levels
// chosen there; NULL at t = 0), then err[l][g+1], gain[l][g+1] for g =
// -1..G-1: the worst row error from step t+1 on and the FLOPs skipped per
// later step if layer l used level g at t.
static void step_pass(search_state *S, int t, const int *prev, double *err, double *gain) {
    const ll_calib_table *T = S->t;
    int G = T->grid.n, L = T->layers;
    size_t rows_per_layer = (size_t)T->B * T->H * T->q_tiles, cells = (size_t)L * (G + 1);
    int n_threads = omp_get_max_threads();
    double *part = calloc((size_t)n_threads * cells * 2, sizeof(double));
#pragma omp parallel
    {
        double *perr = part + (size_t)omp_get_thread_num() * cells * 2, *pgain = perr + cells;
        // Four interleaved histograms: neighbouring tiles often share a level,
        // and one histogram would chain every add through the same memory.
        double *hb4 = malloc(sizeof(double) * G * 4), *hb = hb4;
        uint32_t *hc4 = malloc(sizeof(uint32_t) * G * 4), *hc = hc4;
        const float *lut = S->lut;
#pragma omp for schedule(dynamic, 64)
        for (size_t row = 0; row < T->n_rows; row++) {
            int l = (int)(row / rows_per_layer), g_prev = prev ? prev[l] : -1;
            double e = S->row_err[row];
            // Constant tiles: levels up to `upto` are marked once step t-1's marks are in.
            int upto = S->const_upto[l] > g_prev ? S->const_upto[l] : g_prev;
            for (int v = S->const_upto[l] + 1; v <= upto; v++) e += T->const_bound[row * G + v];
            memset(hb4, 0, sizeof(double) * G * 4);
            memset(hc4, 0, sizeof(uint32_t) * G * 4);
            for (int v = upto + 1; v < G; v++) {
                hc[v] += T->const_count[row * G + v];
                hb[v] += T->const_bound[row * G + v];
            }
            const uint8_t *rows = T->runs + T->row_off[row];
            tile_run *run = S->run + S->multi_base[row];
            const uint32_t *off = S->rec_off + S->multi_base[row];
            for (uint32_t i = 0; i < T->row_multi[row]; i++) {
                tile_run *r = &run[i];
                if (r->level == MARKED) continue;
                if (g_prev >= 0 && r->level <= g_prev) {  // r holds step t-1 here
                    r->level = MARKED;
                    e += lut[r->code];
                    continue;
                }
                run_at(rows + off[i], t, T->steps, r);
                if (r->level < G) {
                    size_t k = (size_t)(i & 3) * G + r->level;
                    hc4[k]++;
                    hb4[k] += lut[r->code];
                }
            }
            for (int q = 1; q < 4; q++)
                for (int v = 0; v < G; v++) {
                    hb[v] += hb4[q * G + v];
                    hc[v] += hc4[q * G + v];
                }
            S->row_err[row] = e;
            double fl = row_flops(T, row), c = 0;
            double *le = perr + (size_t)l * (G + 1), *lg = pgain + (size_t)l * (G + 1);
            if (e > le[0]) le[0] = e;
            for (int g = 0; g < G; g++) {
                e += hb[g];
                c += hc[g];
                if (e > le[g + 1]) le[g + 1] = e;
                lg[g + 1] += c * fl;
            }
        }
        free(hb4);
        free(hc4);
    }
    for (int l = 0; prev && l < L; l++)
        if (prev[l] > S->const_upto[l]) S->const_upto[l] = prev[l];
    memset(err, 0, sizeof(double) * cells);
    memset(gain, 0, sizeof(double) * cells);
    for (int th = 0; th < n_threads; th++) {
        const double *pe = part + (size_t)th * cells * 2, *pg = pe + cells;
        for (size_t i = 0; i < cells; i++) {
            if (pe[i] > err[i]) err[i] = pe[i];
            gain[i] += pg[i];
        }
    }
    free(part);
}

// The largest allowed level whose error fits, lowered to the smallest one
// that skips as much. err/gain are one layer's (or the max/sum over layers).
static int choose(const double *err, const double *gain, int lo, int hi, double allowed) {
    int best = -1;
    for (int g = lo; g <= hi; g++)
        if (err[g + 1] <= allowed) best = g;
    if (best < 0 || gain[best + 1] <= gain[0]) return -1;  // marks nothing: -inf
    // gain[g] is level g-1's: step down while the level below skips as much.
    int g = best;
    while (g > lo && gain[g] >= gain[best + 1]) g--;
    return g;
}

static ll_status check_options(const ll_calib_table *t, const ll_calib_search_options *o, ll_error *err) {
    if (!(o->budget >= 0) || isinf(o->budget))
        return ll_fail(err, LL_ERR_INVALID, "calibrate: error budget %g must be a finite number >= 0", o->budget);
    if (o->mode != LL_BUDGET_PER_STEP && o->mode != LL_BUDGET_ACCUMULATED)
        return ll_fail(err, LL_ERR_INVALID, "calibrate: unknown budget mode %d", (int)o->mode);
    if (o->step_budget) {
        if (o->mode != LL_BUDGET_PER_STEP)
            return ll_fail(err, LL_ERR_INVALID, "calibrate: per-step budgets need the per-step budget mode");
        for (int s = 0; s < t->steps; s++)
            if (!(o->step_budget[s] >= 0) || isinf(o->step_budget[s]))
                return ll_fail(err, LL_ERR_INVALID, "calibrate: budget of step %d (%g) must be finite and >= 0", s,
                               o->step_budget[s]);
    }
    if (o->min_level < 0 || o->max_level >= t->grid.n || o->min_level > o->max_level)
        return ll_fail(err, LL_ERR_INVALID, "calibrate: allowed levels %d..%d outside the grid 0..%d", o->min_level,
                       o->max_level, t->grid.n - 1);
    return LL_OK;
}

static ll_calib_search_options defaults(const ll_calib_table *t, const ll_calib_search_options *opt) {
    ll_calib_search_options o = *opt;
    if (o.min_level == 0 && o.max_level == 0) o.max_level = t->grid.n - 1;  // zeroed options: the whole grid
    if (o.ladder_per_decade == 0) o.ladder_per_decade = 4;
    return o;
}

ll_status ll_calib_greedy(const ll_calib_table *t, const ll_calib_search_options *opt, int paced,
                          ll_calib_schedule *out, ll_calib_result *predicted, ll_error *err) {
    memset(out, 0, sizeof *out);
    ll_calib_search_options o = defaults(t, opt);
    LL_TRY(check_options(t, &o, err));
    int T = t->steps, L = t->layers, G = t->grid.n;
    LL_TRY(ll_calib_schedule_alloc(out, T, L, err));

    search_state S = {.t = t};
    size_t cells = (size_t)L * (G + 1);
    S.row_err = calloc(t->n_rows, sizeof(double));
    S.run = calloc(t->tiles_multi ? t->tiles_multi : 1, sizeof(tile_run));
    S.rec_off = malloc(sizeof(uint32_t) * (t->tiles_multi ? t->tiles_multi : 1));
    S.multi_base = malloc(sizeof(uint64_t) * (t->n_rows + 1));
    S.const_upto = malloc(sizeof(int) * L);
    double *cerr = malloc(sizeof(double) * cells), *cgain = malloc(sizeof(double) * cells);
    double *shared_err = malloc(sizeof(double) * (G + 1)), *shared_gain = malloc(sizeof(double) * (G + 1));
    int *chosen = malloc(sizeof(int) * L);
    ll_status st = LL_OK;
    if (!S.row_err || !S.run || !S.rec_off || !S.multi_base || !S.const_upto || !cerr || !cgain || !shared_err || !shared_gain ||
        !chosen) {
        st = ll_fail(err, LL_ERR_NOMEM, "calibrate: out of memory for the search state");
        goto done;
    }
    S.multi_base[0] = 0;
    for (size_t r = 0; r < t->n_rows; r++) S.multi_base[r + 1] = S.multi_base[r] + t->row_multi[r];
#pragma omp parallel for schedule(dynamic, 64)
    for (size_t r = 0; r < t->n_rows; r++) {  // record offsets; every tile starts in its first run
        const uint8_t *rows = t->runs + t->row_off[r];
        uint32_t o = 0;
        for (uint32_t i = 0; i < t->row_multi[r]; i++) {
            size_t k = S.multi_base[r] + i;
            S.rec_off[k] = o;
            const uint8_t *x = rows + o + 1;
            S.run[k] = (tile_run){.level = x[1], .code = x[2], .end = rows[o] > 1 ? x[3] : (uint8_t)t->steps};
            o += 1 + 3 * rows[o];
        }
    }
    for (int l = 0; l < L; l++) S.const_upto[l] = -1;
    for (int i = 0; i < 256; i++) S.lut[i] = ll_calib_bound_value((uint8_t)i);

    double acc = 0;  // accumulated mode: the step errors so far
    for (int s = 0; s + 1 < T; s++) {
        step_pass(&S, s, s > 0 ? chosen : NULL, cerr, cgain);
        double now = 0;  // this step's error: from the marks before it
        for (int l = 0; l < L; l++)
            if (cerr[(size_t)l * (G + 1)] > now) now = cerr[(size_t)l * (G + 1)];
        double allowed, share = paced ? (double)(s + 1) / (T - 1) : 1.0;
        if (o.mode == LL_BUDGET_ACCUMULATED) {
            acc += now;
            allowed = (share * o.budget - acc) / (T - 1 - s);
        } else {
            allowed = INFINITY;
            for (int u = s + 1; u < T; u++) {
                double b = o.step_budget ? o.step_budget[u] : o.budget;
                if (b < allowed) allowed = b;
            }
            allowed *= share;
        }
        if (o.per_layer) {
            for (int l = 0; l < L; l++)
                chosen[l] = choose(cerr + (size_t)l * (G + 1), cgain + (size_t)l * (G + 1), o.min_level, o.max_level,
                                   allowed);
        } else {
            for (int g = 0; g <= G; g++) {
                shared_err[g] = 0;
                shared_gain[g] = 0;
                for (int l = 0; l < L; l++) {
                    if (cerr[(size_t)l * (G + 1) + g] > shared_err[g]) shared_err[g] = cerr[(size_t)l * (G + 1) + g];
                    shared_gain[g] += cgain[(size_t)l * (G + 1) + g];
                }
            }
            int g = choose(shared_err, shared_gain, o.min_level, o.max_level, allowed);
            for (int l = 0; l < L; l++) chosen[l] = g;
        }
        for (int l = 0; l < L; l++) out->levels[(size_t)l * T + s] = (int8_t)chosen[l];
    }
    // The last step marks only for a step that does not come: repeat the one before.
    for (int l = 0; l < L; l++)
        out->levels[(size_t)l * T + T - 1] = T > 1 ? out->levels[(size_t)l * T + T - 2] : -1;
    if (predicted) st = ll_calib_evaluate(t, out, 1, predicted, err);

done:
    free(S.row_err);
    free(S.run);
    free(S.rec_off);
    free(S.multi_base);
    free(S.const_upto);
    free(cerr);
    free(cgain);
    free(shared_err);
    free(shared_gain);
    free(chosen);
    if (st != LL_OK) ll_calib_schedule_free(out);
    return st;
}

// Does a prediction fit the budget (scaled by `scale`)?
static int fits(const ll_calib_search_options *o, const ll_calib_result *r, double scale) {
    if (o->mode == LL_BUDGET_ACCUMULATED) return r->err_acc <= scale * o->budget;
    for (int s = 0; s < r->steps; s++)
        if (r->step_err[s] > scale * (o->step_budget ? o->step_budget[s] : o->budget)) return 0;
    return 1;
}

ll_status ll_calib_search(const ll_calib_table *t, const ll_calib_search_options *opt, ll_calib_schedule *out,
                          ll_calib_result *predicted, ll_calib_search_info *info, ll_error *err) {
    memset(out, 0, sizeof *out);
    ll_calib_search_options o = defaults(t, opt);
    LL_TRY(check_options(t, &o, err));
    double t0 = ll_now_seconds();
    // The ladder: absolute budgets for one number (so that candidates only
    // grow with the budget), fractions of the list for per-step budgets.
    double ladder[512];
    int n = 0;
    double step = pow(10.0, 1.0 / o.ladder_per_decade);
    if (o.step_budget) {
        for (double f = 1.0; f >= 1e-4 && n < 511; f /= step) ladder[n++] = f;
    } else {
        for (int k = (int)floor(-6.0 * o.ladder_per_decade); n < 511; k++) {
            double b = pow(10.0, (double)k / o.ladder_per_decade);
            if (b > o.budget * (1 + 1e-12)) break;
            ladder[n++] = b;
        }
    }
    ladder[n++] = 0;
    ll_calib_search_info in = {0};
    int total = 2 * n - 1;  // every ladder budget unpaced and paced, budget 0 once
    ll_calib_result best_pred = {0};
    double best = -1;
    ll_status st = LL_OK;
    for (int i = 0; i < n && st == LL_OK; i++) {
        for (int paced = 0; paced < 2 && st == LL_OK; paced++) {
            if (ladder[i] == 0 && paced) continue;  // identical to the unpaced run
            ll_calib_search_options member = o;
            double scale = 1.0;
            if (o.step_budget) {
                scale = ladder[i];
                double *scaled = malloc(sizeof(double) * t->steps);
                if (!scaled) return ll_fail(err, LL_ERR_NOMEM, "calibrate: out of memory");
                for (int s = 0; s < t->steps; s++) scaled[s] = scale * o.step_budget[s];
                member.step_budget = scaled;
            } else {
                member.budget = ladder[i];
            }
            ll_calib_schedule s;
            ll_calib_result r;
            st = ll_calib_greedy(t, &member, paced, &s, &r, err);
            if (o.step_budget) free((void *)member.step_budget);
            if (st != LL_OK) break;
            in.candidates++;
            if (o.progress)
                ll_progress_update(o.progress, in.candidates, total, "search, candidate %d/%d", in.candidates, total);
            int ok = fits(&o, &r, 1.0);
            if (o.verbose)
                fprintf(stderr, "calibrate: candidate budget %g%s: skipped %.4f, %s\n",
                        o.step_budget ? scale : ladder[i], paced ? " paced" : "", r.skipped_ratio,
                        ok ? "fits" : "over the budget");
            if (ok && r.skipped_ratio > best) {
                best = r.skipped_ratio;
                ll_calib_schedule_free(out);
                ll_calib_result_free(&best_pred);
                *out = s;
                best_pred = r;
                in.chosen_budget = o.step_budget ? scale : ladder[i];
                in.chosen_paced = paced;
            } else {
                ll_calib_schedule_free(&s);
                ll_calib_result_free(&r);
            }
        }
    }
    if (o.progress) ll_progress_end(o.progress);
    in.seconds = ll_now_seconds() - t0;
    if (st != LL_OK || best < 0) {
        ll_calib_schedule_free(out);
        ll_calib_result_free(&best_pred);
        if (st == LL_OK) st = ll_fail(err, LL_ERR_INTERNAL, "calibrate: no candidate fits the budget");
        return st;
    }
    if (predicted)
        *predicted = best_pred;
    else
        ll_calib_result_free(&best_pred);
    if (info) *info = in;
    return LL_OK;
}
