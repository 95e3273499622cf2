// test_calibrate.c: the threshold screening and search (analysis/calibrate.h).
// The oracle is a plain loop over the float maps written here (mark step of
// every tile, skipped FLOPs and skipped masses per step), independent of the
// table's run-length histories and lookup tables.
#include <CUnit/CUnit.h>
#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "calibrate.h"
#include "config.h"
#include "rng.h"
#include "test_suites.h"

// ---------------------------------------------------------------------------
// Fixtures: maps from the statistical model, and random incoherent maps.

static ll_calib_model small_model(uint64_t seed) {
    ll_calib_model m = {.seed = seed, .steps = 10, .layers = 2, .heads = 3, .frames = 3, .height = 4, .width = 8,
                        .head_dim = 64, .tiling = {16, 16}};
    return m;
}

typedef struct {
    ll_shape shape;
    ll_tiling tiling;
    int steps, layers;
    float **x, **m;
} mem_maps;

// Random maps with no temporal coherence, with -inf and zero masses, so the
// histories have many runs.
static mem_maps random_maps(uint64_t seed, int steps, int layers) {
    mem_maps mm = {.shape = {1, 80, 2, 64, LL_BF16}, .tiling = {16, 16}, .steps = steps, .layers = layers};
    int Q = 5, K = 5;
    size_t n = (size_t)mm.shape.B * mm.shape.H * Q * K;
    mm.x = calloc((size_t)steps * layers, sizeof(float *));
    mm.m = calloc((size_t)steps * layers, sizeof(float *));
    ll_rng r;
    ll_rng_seed(&r, seed);
    for (int i = 0; i < steps * layers; i++) {
        mm.x[i] = malloc(n * sizeof(float));
        mm.m[i] = malloc(n * sizeof(float));
        for (size_t j = 0; j < n; j++) {
            double u = ll_rng_u01(&r);
            mm.x[i][j] = u < 0.05 ? -INFINITY : (float)(-12.0 * ll_rng_u01(&r));
            mm.m[i][j] = u < 0.05 ? 0.0f : (float)(0.3 * exp2(mm.x[i][j]));
        }
    }
    return mm;
}

static void free_maps(mem_maps *mm) {
    for (int i = 0; i < mm->steps * mm->layers; i++) {
        free(mm->x[i]);
        free(mm->m[i]);
    }
    free(mm->x);
    free(mm->m);
}

static ll_calib_grid test_grid(void) {
    ll_calib_grid g;
    ll_error err;
    ll_calib_grid_uniform(&g, -14.0f, 0.0f, 0.5f, &err);
    return g;
}

// ---------------------------------------------------------------------------
// Oracle: per step, skipped FLOPs (all layers) and the worst row's skipped mass.
typedef struct {
    double skipped[64];  // per step, ratio
    double err[64];      // per step, exact error
} oracle_result;

static void oracle(ll_map_source *src, const float *thr, oracle_result *o) {
    int T = src->steps, L = src->layers, Q = src->q_tiles, K = src->k_tiles;
    int rows = src->B * src->H * Q;
    char *marked = calloc((size_t)L * rows * K, 1);
    memset(o, 0, sizeof *o);
    double dense = 4.0 * src->B * src->H * (double)src->shape.N * src->shape.N * src->shape.D * L;
    for (int s = 0; s < T; s++) {
        double skipped = 0, worst = 0;
        for (int l = 0; l < L; l++) {
            ll_map_view v;
            ll_error err;
            src->read(src, s, l, &v, &err);
            for (int r = 0; r < rows; r++) {
                int qt = r % Q, qrows = src->shape.N - qt * src->tiling.block_m;
                if (qrows > src->tiling.block_m) qrows = src->tiling.block_m;
                double e = 0;
                for (int kt = 0; kt < K - 1; kt++) {  // key tile K-1 is never marked
                    char *mk = &marked[((size_t)l * rows + r) * K + kt];
                    size_t i = (size_t)r * K + kt;
                    if (*mk) {
                        skipped += 4.0 * qrows * src->tiling.block_n * src->shape.D;
                        e += v.mass[i];
                    } else if (s < T - 1 && thr[(size_t)l * T + s] > -INFINITY && v.max_log2[i] <= thr[(size_t)l * T + s]) {
                        *mk = 1;
                    }
                }
                if (e > worst) worst = e;
            }
        }
        o->skipped[s] = skipped / dense;
        o->err[s] = worst;
    }
    free(marked);
}

static void thresholds_of(const ll_calib_grid *g, const ll_calib_schedule *s, float *thr) {
    for (int i = 0; i < s->steps * s->layers; i++) thr[i] = ll_calib_grid_threshold(g, s->levels[i]);
}

static void random_schedule(ll_rng *r, int G, ll_calib_schedule *s) {
    for (int i = 0; i < s->steps * s->layers; i++) s->levels[i] = (int8_t)ll_rng_int(r, -1, G - 1);
}

// Evaluate (table, bound), simulate (float maps, exact) and the oracle agree:
// identical skipped FLOPs, exact errors equal to the oracle's, bounds above them.
static void check_schedules(ll_map_source *src, const ll_calib_table *t, int n_schedules, uint64_t seed) {
    ll_rng r;
    ll_rng_seed(&r, seed);
    ll_error err;
    int T = t->steps, L = t->layers;
    float *thr = malloc(sizeof(float) * T * L);
    for (int k = 0; k < n_schedules; k++) {
        ll_calib_schedule s;
        CU_ASSERT_EQUAL_FATAL(ll_calib_schedule_alloc(&s, T, L, &err), LL_OK);
        if (k == 0)
            ll_calib_schedule_constant(&s, t->grid.n - 1);
        else if (k == 1)
            ll_calib_schedule_constant(&s, -1);
        else
            random_schedule(&r, t->grid.n, &s);
        thresholds_of(&t->grid, &s, thr);
        ll_calib_result ev, sim;
        oracle_result o;
        CU_ASSERT_EQUAL_FATAL(ll_calib_evaluate(t, &s, 1, &ev, &err), LL_OK);
        CU_ASSERT_EQUAL_FATAL(ll_calib_simulate(src, thr, &sim, &err), LL_OK);
        oracle(src, thr, &o);
        double total = 0;
        for (int st = 0; st < T; st++) {
            CU_ASSERT_DOUBLE_EQUAL(ev.step_skipped[st], o.skipped[st], 1e-12);
            CU_ASSERT_DOUBLE_EQUAL(sim.step_skipped[st], o.skipped[st], 1e-12);
            CU_ASSERT_DOUBLE_EQUAL(sim.step_err[st], o.err[st], 1e-6);
            CU_ASSERT(ev.step_err[st] >= sim.step_err[st] * (1 - 1e-6) - 1e-12);
            for (int l = 0; l < L; l++) {
                CU_ASSERT_DOUBLE_EQUAL(ev.layer_step_skipped[l * T + st], sim.layer_step_skipped[l * T + st], 1e-12);
                CU_ASSERT(ev.layer_step_err[l * T + st] >= sim.layer_step_err[l * T + st] * (1 - 1e-6) - 1e-12);
            }
            total += o.skipped[st];
        }
        CU_ASSERT_DOUBLE_EQUAL(ev.skipped_ratio, total / T, 1e-12);
        if (k == 1) CU_ASSERT_EQUAL(ev.skipped_ratio, 0.0);
        ll_calib_result_free(&ev);
        ll_calib_result_free(&sim);
        ll_calib_schedule_free(&s);
    }
    free(thr);
}

// ---------------------------------------------------------------------------

static void test_grid_levels(void) {
    ll_calib_grid g;
    ll_error err;
    CU_ASSERT_EQUAL_FATAL(ll_calib_grid_uniform(&g, -20.0f, 0.0f, 0.5f, &err), LL_OK);
    CU_ASSERT_EQUAL(g.n, 41);
    CU_ASSERT_EQUAL(g.t[0], -20.0f);
    CU_ASSERT_EQUAL(g.t[40], 0.0f);
    CU_ASSERT_EQUAL(g.t[20], -10.0f);
    ll_rng r;
    ll_rng_seed(&r, 7);
    for (int i = 0; i < 2000; i++) {
        float x = i < 41 ? g.t[i] : (float)(-22.0 + 23.0 * ll_rng_u01(&r));
        if (x > 0) x = 0;
        int level = ll_calib_grid_level(&g, x);
        for (int k = 0; k < g.n; k++) CU_ASSERT_EQUAL(x <= g.t[k], level <= k);
    }
    CU_ASSERT_EQUAL(ll_calib_grid_level(&g, -INFINITY), 0);
    CU_ASSERT_EQUAL(ll_calib_grid_floor(&g, -10.2f), 19);
    CU_ASSERT_EQUAL(ll_calib_grid_floor(&g, -10.0f), 20);
    CU_ASSERT_EQUAL(ll_calib_grid_floor(&g, -30.0f), -1);
    CU_ASSERT(isinf(ll_calib_grid_threshold(&g, -1)));
    CU_ASSERT_EQUAL(ll_calib_grid_uniform(&g, -1.0f, -2.0f, 0.5f, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_calib_grid_uniform(&g, -10.0f, 1.0f, 0.5f, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_calib_grid_uniform(&g, -10.0f, 0.0f, 0.0f, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_calib_grid_uniform(&g, -1000.0f, 0.0f, 0.5f, &err), LL_ERR_INVALID);
}

static void test_bound_codes(void) {
    ll_rng r;
    ll_rng_seed(&r, 3);
    for (int i = 0; i < 5000; i++) {
        float m = (float)exp2(-34.0 * ll_rng_u01(&r));
        float b = ll_calib_bound_value(ll_calib_bound_code(m));
        CU_ASSERT(b >= m);
        if (m > 1e-9f) CU_ASSERT(b <= m * 1.0906f);  // within 1/8 octave
    }
    CU_ASSERT(ll_calib_bound_value(ll_calib_bound_code(0.0f)) > 0.0f);  // a skipped tile holds some mass
    CU_ASSERT_EQUAL(ll_calib_bound_value(ll_calib_bound_code(1.0f)), 1.0f);
}

static void test_table_matches_simulation_model(void) {
    ll_error err;
    ll_calib_model m = small_model(11);
    ll_map_source *src;
    CU_ASSERT_EQUAL_FATAL(ll_map_source_model(&m, &src, &err), LL_OK);
    ll_calib_grid g = test_grid();
    for (int split = 0; split <= 2; split += 2) {
        ll_calib_build_options o = {.split_log2 = split};
        ll_calib_table t;
        CU_ASSERT_EQUAL_FATAL(ll_calib_table_build(src, &g, &o, &t, &err), LL_OK);
        CU_ASSERT_EQUAL(t.tiles_const + t.tiles_never + t.tiles_multi, t.tiles_markable);
        CU_ASSERT(t.tiles_multi > 0);
        CU_ASSERT(t.tiles_const > 0);
        check_schedules(src, &t, 40, 100 + split);
        ll_calib_table_free(&t);
    }
    ll_map_source_close(src);
}

static void test_table_matches_simulation_random(void) {
    ll_error err;
    mem_maps mm = random_maps(5, 7, 3);
    ll_map_source *src;
    CU_ASSERT_EQUAL_FATAL(ll_map_source_memory(&mm.shape, &mm.tiling, mm.steps, mm.layers, mm.x, mm.m, &src, &err),
                          LL_OK);
    ll_calib_grid g = test_grid();
    ll_calib_table t;
    ll_calib_build_options o = {.split_log2 = 1};
    CU_ASSERT_EQUAL_FATAL(ll_calib_table_build(src, &g, &o, &t, &err), LL_OK);
    CU_ASSERT(t.runs_total > 2 * t.tiles_multi);
    check_schedules(src, &t, 60, 9);
    ll_calib_table_free(&t);
    ll_map_source_close(src);
    free_maps(&mm);
}

// Many schedules in one call give what each gives alone.
static void test_batch_equals_single(void) {
    ll_error err;
    ll_calib_model m = small_model(12);
    ll_map_source *src;
    CU_ASSERT_EQUAL_FATAL(ll_map_source_model(&m, &src, &err), LL_OK);
    ll_calib_grid g = test_grid();
    ll_calib_table t;
    CU_ASSERT_EQUAL_FATAL(ll_calib_table_build(src, &g, NULL, &t, &err), LL_OK);
    enum { N = 9 };
    ll_calib_schedule s[N];
    ll_calib_result batch[N];
    ll_rng r;
    ll_rng_seed(&r, 77);
    for (int i = 0; i < N; i++) {
        ll_calib_schedule_alloc(&s[i], t.steps, t.layers, &err);
        random_schedule(&r, g.n, &s[i]);
    }
    CU_ASSERT_EQUAL_FATAL(ll_calib_evaluate(&t, s, N, batch, &err), LL_OK);
    for (int i = 0; i < N; i++) {
        ll_calib_result one;
        CU_ASSERT_EQUAL_FATAL(ll_calib_evaluate(&t, &s[i], 1, &one, &err), LL_OK);
        CU_ASSERT_DOUBLE_EQUAL(one.skipped_ratio, batch[i].skipped_ratio, 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(one.err_max, batch[i].err_max, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(one.err_acc, batch[i].err_acc, 1e-9);
        ll_calib_result_free(&one);
        ll_calib_result_free(&batch[i]);
        ll_calib_schedule_free(&s[i]);
    }
    ll_calib_table_free(&t);
    ll_map_source_close(src);
}

// Constant thresholds: sparsity grows with the threshold (skips accumulate
// over steps and a larger threshold marks a superset at every step).
static void test_constant_threshold_monotone(void) {
    ll_error err;
    ll_calib_model m = small_model(13);
    ll_map_source *src;
    CU_ASSERT_EQUAL_FATAL(ll_map_source_model(&m, &src, &err), LL_OK);
    ll_calib_grid g = test_grid();
    ll_calib_table t;
    CU_ASSERT_EQUAL_FATAL(ll_calib_table_build(src, &g, NULL, &t, &err), LL_OK);
    double prev = 0;
    for (int level = -1; level < g.n; level++) {
        ll_calib_schedule s;
        ll_calib_result res;
        ll_calib_schedule_alloc(&s, t.steps, t.layers, &err);
        ll_calib_schedule_constant(&s, level);
        CU_ASSERT_EQUAL_FATAL(ll_calib_evaluate(&t, &s, 1, &res, &err), LL_OK);
        CU_ASSERT(res.skipped_ratio >= prev);
        for (int st = 1; st < t.steps; st++) CU_ASSERT(res.step_skipped[st] >= res.step_skipped[st - 1]);
        CU_ASSERT_EQUAL(res.step_skipped[0], 0.0);
        prev = res.skipped_ratio;
        ll_calib_result_free(&res);
        ll_calib_schedule_free(&s);
    }
    CU_ASSERT(prev > 0.3);
    ll_calib_table_free(&t);
    ll_map_source_close(src);
}

// Per-layer constant levels: the curves give exactly what evaluation gives.
static void test_curves_match_evaluation(void) {
    ll_error err;
    for (int data = 0; data < 2; data++) {
        ll_calib_model m = small_model(14);
        mem_maps mm = random_maps(15, 6, 3);
        ll_map_source *src;
        if (data == 0)
            CU_ASSERT_EQUAL_FATAL(ll_map_source_model(&m, &src, &err), LL_OK);
        if (data == 1)
            CU_ASSERT_EQUAL_FATAL(
                ll_map_source_memory(&mm.shape, &mm.tiling, mm.steps, mm.layers, mm.x, mm.m, &src, &err), LL_OK);
        ll_calib_grid g = test_grid();
        ll_calib_table t;
        ll_calib_build_options o = {.split_log2 = 2};
        CU_ASSERT_EQUAL_FATAL(ll_calib_table_build(src, &g, &o, &t, &err), LL_OK);
        ll_calib_curves c;
        CU_ASSERT_EQUAL_FATAL(ll_calib_curves_build(&t, &c, &err), LL_OK);
        ll_rng r;
        ll_rng_seed(&r, 16);
        int levels[8];
        for (int k = 0; k < 30; k++) {
            ll_calib_schedule s;
            ll_calib_schedule_alloc(&s, t.steps, t.layers, &err);
            for (int l = 0; l < t.layers; l++) {
                levels[l] = k < g.n + 1 ? k - 1 : ll_rng_int(&r, -1, g.n - 1);
                for (int st = 0; st < t.steps; st++) s.levels[l * t.steps + st] = (int8_t)levels[l];
            }
            ll_calib_result a, b;
            CU_ASSERT_EQUAL_FATAL(ll_calib_curves_combine(&c, levels, &a, &err), LL_OK);
            CU_ASSERT_EQUAL_FATAL(ll_calib_evaluate(&t, &s, 1, &b, &err), LL_OK);
            CU_ASSERT_DOUBLE_EQUAL(a.skipped_ratio, b.skipped_ratio, 1e-12);
            for (int i = 0; i < t.steps * t.layers; i++) {
                CU_ASSERT_DOUBLE_EQUAL(a.layer_step_skipped[i], b.layer_step_skipped[i], 1e-12);
                CU_ASSERT_DOUBLE_EQUAL(a.layer_step_err[i], b.layer_step_err[i], 1e-9);
            }
            for (int st = 0; st < t.steps; st++) CU_ASSERT_DOUBLE_EQUAL(a.step_err_mean[st], b.step_err_mean[st], 1e-9);
            ll_calib_result_free(&a);
            ll_calib_result_free(&b);
            ll_calib_schedule_free(&s);
        }
        levels[0] = g.n;
        ll_calib_result bad;
        CU_ASSERT_EQUAL(ll_calib_curves_combine(&c, levels, &bad, &err), LL_ERR_INVALID);
        ll_calib_curves_free(&c);
        ll_calib_table_free(&t);
        ll_map_source_close(src);
        free_maps(&mm);
    }
}

typedef struct {
    ll_map_source *src;
    ll_calib_table t;
} fixture;

static void open_fixture(fixture *f, uint64_t seed) {
    ll_error err;
    ll_calib_model m = small_model(seed);
    m.steps = 12;
    m.heads = 4;
    CU_ASSERT_EQUAL_FATAL(ll_map_source_model(&m, &f->src, &err), LL_OK);
    ll_calib_grid g = test_grid();
    ll_calib_build_options o = {.split_log2 = 2};
    CU_ASSERT_EQUAL_FATAL(ll_calib_table_build(f->src, &g, &o, &f->t, &err), LL_OK);
}

static void close_fixture(fixture *f) {
    ll_calib_table_free(&f->t);
    ll_map_source_close(f->src);
}

static void test_search_budget_zero(void) {
    fixture f;
    open_fixture(&f, 21);
    ll_error err;
    ll_calib_search_options o = {.mode = LL_BUDGET_PER_STEP, .budget = 0};
    ll_calib_schedule s;
    ll_calib_result p;
    CU_ASSERT_EQUAL_FATAL(ll_calib_search(&f.t, &o, &s, &p, NULL, &err), LL_OK);
    for (int i = 0; i < s.steps * s.layers; i++) CU_ASSERT_EQUAL(s.levels[i], -1);
    CU_ASSERT_EQUAL(p.skipped_ratio, 0.0);
    CU_ASSERT_EQUAL(p.err_max, 0.0);
    ll_calib_result_free(&p);
    ll_calib_schedule_free(&s);
    o.mode = LL_BUDGET_ACCUMULATED;
    o.per_layer = 1;
    CU_ASSERT_EQUAL_FATAL(ll_calib_search(&f.t, &o, &s, &p, NULL, &err), LL_OK);
    CU_ASSERT_EQUAL(p.skipped_ratio, 0.0);
    ll_calib_result_free(&p);
    ll_calib_schedule_free(&s);
    close_fixture(&f);
}

// The search: within budget, and more budget never skips less.
static void test_search_budget_sweep(void) {
    fixture f;
    open_fixture(&f, 22);
    ll_error err;
    const double budgets[] = {0, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 2e-2, 3e-2, 5e-2, 0.1, 0.3, 1, 3, 1e6};
    int n_b = (int)(sizeof budgets / sizeof budgets[0]);
    for (int mode = 0; mode < 2; mode++) {
        for (int per_layer = 0; per_layer < 2; per_layer++) {
            double prev = -1;
            for (int b = 0; b < n_b; b++) {
                ll_calib_search_options o = {.mode = (ll_budget_mode)mode, .budget = budgets[b], .per_layer = per_layer};
                ll_calib_schedule s;
                ll_calib_result p;
                ll_calib_search_info info;
                CU_ASSERT_EQUAL_FATAL(ll_calib_search(&f.t, &o, &s, &p, &info, &err), LL_OK);
                double used = mode == LL_BUDGET_PER_STEP ? p.err_max : p.err_acc;
                CU_ASSERT(used <= budgets[b] * (1 + 1e-9));
                CU_ASSERT(p.skipped_ratio >= prev);
                CU_ASSERT(info.chosen_budget <= budgets[b]);
                CU_ASSERT(info.candidates >= 1);
                prev = p.skipped_ratio;
                if (per_layer == 0)
                    for (int st = 0; st < s.steps; st++) CU_ASSERT_EQUAL(s.levels[st], s.levels[s.steps + st]);
                ll_calib_result_free(&p);
                ll_calib_schedule_free(&s);
            }
            CU_ASSERT(prev > 0.3);  // the unlimited budget skips a lot
        }
    }
    close_fixture(&f);
}

// The greedy is maximal: raising any one step's level (the whole column of
// layers when shared) so that it marks more breaks the budget.
static void test_greedy_maximal(void) {
    fixture f;
    open_fixture(&f, 25);
    ll_error err;
    const double budgets[] = {1e-3, 1e-2, 0.1};
    for (int mode = 0; mode < 2; mode++) {
        for (int per_layer = 0; per_layer < 2; per_layer++) {
            for (int b = 0; b < 3; b++) {
                ll_calib_search_options o = {.mode = (ll_budget_mode)mode, .budget = budgets[b], .per_layer = per_layer};
                ll_calib_schedule s;
                ll_calib_result p;
                CU_ASSERT_EQUAL_FATAL(ll_calib_greedy(&f.t, &o, 0, &s, &p, &err), LL_OK);
                double used = mode == LL_BUDGET_PER_STEP ? p.err_max : p.err_acc;
                CU_ASSERT(used <= budgets[b] * (1 + 1e-9));
                int raised = 0;
                for (int st = 0; st + 1 < s.steps; st++) {
                    for (int l = 0; l < (per_layer ? s.layers : 1); l++) {
                        int cur = s.levels[l * s.steps + st];
                        for (int up = cur + 1; up < f.t.grid.n; up++) {
                            ll_calib_schedule s2;
                            ll_calib_result q;
                            ll_calib_schedule_alloc(&s2, s.steps, s.layers, &err);
                            memcpy(s2.levels, s.levels, (size_t)s.steps * s.layers);
                            for (int l2 = 0; l2 < s.layers; l2++)
                                if (per_layer ? l2 == l : 1) s2.levels[l2 * s.steps + st] = (int8_t)up;
                            CU_ASSERT_EQUAL_FATAL(ll_calib_evaluate(&f.t, &s2, 1, &q, &err), LL_OK);
                            double u2 = mode == LL_BUDGET_PER_STEP ? q.err_max : q.err_acc;
                            if (q.skipped_ratio > p.skipped_ratio) {
                                CU_ASSERT(u2 > budgets[b]);
                                raised++;
                            }
                            ll_calib_result_free(&q);
                            ll_calib_schedule_free(&s2);
                        }
                    }
                }
                CU_ASSERT(raised > 0);
                ll_calib_result_free(&p);
                ll_calib_schedule_free(&s);
            }
        }
    }
    close_fixture(&f);
}

// The predicted numbers are the direct simulation's: same sparsity, and the
// bound at least the exact error.
static void test_prediction_matches_simulation(void) {
    fixture f;
    open_fixture(&f, 23);
    ll_error err;
    ll_calib_search_options o = {.mode = LL_BUDGET_PER_STEP, .budget = 0.02, .per_layer = 1};
    ll_calib_schedule s;
    ll_calib_result p, sim;
    CU_ASSERT_EQUAL_FATAL(ll_calib_search(&f.t, &o, &s, &p, NULL, &err), LL_OK);
    CU_ASSERT(p.skipped_ratio > 0);
    float *thr = malloc(sizeof(float) * s.steps * s.layers);
    thresholds_of(&f.t.grid, &s, thr);
    CU_ASSERT_EQUAL_FATAL(ll_calib_simulate(f.src, thr, &sim, &err), LL_OK);
    CU_ASSERT_DOUBLE_EQUAL(sim.skipped_ratio, p.skipped_ratio, 1e-12);
    for (int st = 0; st < s.steps; st++) {
        CU_ASSERT_DOUBLE_EQUAL(sim.step_skipped[st], p.step_skipped[st], 1e-12);
        CU_ASSERT(sim.step_err[st] <= p.step_err[st] * (1 + 1e-6) + 1e-12);
        CU_ASSERT(sim.step_err[st] <= 0.02 * (1 + 1e-6));
    }
    free(thr);
    ll_calib_result_free(&p);
    ll_calib_result_free(&sim);
    ll_calib_schedule_free(&s);
    close_fixture(&f);
}

static void test_per_step_budgets(void) {
    fixture f;
    open_fixture(&f, 24);
    ll_error err;
    double *b = malloc(sizeof(double) * f.t.steps);
    for (int s = 0; s < f.t.steps; s++) b[s] = s < 4 ? 1e-4 : 0.05;  // strict early steps
    ll_calib_search_options o = {.mode = LL_BUDGET_PER_STEP, .step_budget = b};
    ll_calib_schedule s;
    ll_calib_result p;
    CU_ASSERT_EQUAL_FATAL(ll_calib_search(&f.t, &o, &s, &p, NULL, &err), LL_OK);
    for (int st = 0; st < f.t.steps; st++) CU_ASSERT(p.step_err[st] <= b[st] * (1 + 1e-9));
    CU_ASSERT(p.skipped_ratio > 0);
    ll_calib_result_free(&p);
    ll_calib_schedule_free(&s);
    b[3] = -1;
    CU_ASSERT_EQUAL(ll_calib_search(&f.t, &o, &s, &p, NULL, &err), LL_ERR_INVALID);
    free(b);
    o.step_budget = NULL;
    o.budget = NAN;
    CU_ASSERT_EQUAL(ll_calib_search(&f.t, &o, &s, &p, NULL, &err), LL_ERR_INVALID);
    o.budget = 0.1;
    o.min_level = 5;
    o.max_level = 2;
    CU_ASSERT_EQUAL(ll_calib_search(&f.t, &o, &s, &p, NULL, &err), LL_ERR_INVALID);
    // Allowed levels are honoured.
    o.min_level = 2;
    o.max_level = 10;
    CU_ASSERT_EQUAL_FATAL(ll_calib_search(&f.t, &o, &s, &p, NULL, &err), LL_OK);
    for (int i = 0; i < s.steps * s.layers; i++) CU_ASSERT(s.levels[i] == -1 || (s.levels[i] >= 2 && s.levels[i] <= 10));
    ll_calib_result_free(&p);
    ll_calib_schedule_free(&s);
    close_fixture(&f);
}

static void test_bad_maps(void) {
    ll_error err;
    ll_calib_grid g = test_grid();
    for (int kind = 0; kind < 3; kind++) {
        mem_maps mm = random_maps(8, 3, 2);
        float *x = mm.x[1 * 2 + 1], *m = mm.m[1 * 2 + 1];  // step 1, layer 1
        if (kind == 0) x[7] = NAN;
        if (kind == 1) x[7] = 0.5f;
        if (kind == 2) m[7] = 1.5f;
        ll_map_source *src;
        CU_ASSERT_EQUAL_FATAL(ll_map_source_memory(&mm.shape, &mm.tiling, mm.steps, mm.layers, mm.x, mm.m, &src, &err),
                              LL_OK);
        ll_calib_table t;
        CU_ASSERT_EQUAL(ll_calib_table_build(src, &g, NULL, &t, &err), LL_ERR_INVALID);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "step 1 layer 1"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ktile=2"));
        float thr[6] = {-5, -5, -5, -5, -5, -5};
        ll_calib_result r;
        CU_ASSERT_EQUAL(ll_calib_simulate(src, thr, &r, &err), LL_ERR_INVALID);
        ll_map_source_close(src);
        free_maps(&mm);
    }
    // Schedules must fit the table.
    mem_maps mm = random_maps(9, 3, 2);
    ll_map_source *src;
    ll_map_source_memory(&mm.shape, &mm.tiling, mm.steps, mm.layers, mm.x, mm.m, &src, &err);
    ll_calib_table t;
    CU_ASSERT_EQUAL_FATAL(ll_calib_table_build(src, &g, NULL, &t, &err), LL_OK);
    ll_calib_schedule s;
    ll_calib_result r;
    ll_calib_schedule_alloc(&s, 3, 2, &err);
    s.levels[2] = (int8_t)g.n;
    CU_ASSERT_EQUAL(ll_calib_evaluate(&t, &s, 1, &r, &err), LL_ERR_INVALID);
    ll_calib_schedule_free(&s);
    ll_calib_schedule_alloc(&s, 4, 2, &err);
    CU_ASSERT_EQUAL(ll_calib_evaluate(&t, &s, 1, &r, &err), LL_ERR_INVALID);
    ll_calib_schedule_free(&s);
    float thr[6] = {-5, -5, 1, -5, -5, -5};
    CU_ASSERT_EQUAL(ll_calib_simulate(src, thr, &r, &err), LL_ERR_INVALID);
    ll_calib_table_free(&t);
    ll_map_source_close(src);
    free_maps(&mm);
}


// ---------------------------------------------------------------------------
// The command line: a calibration of the tiny synthetic preset writes a
// schedule the experiment reader accepts; bad options exit with 2.
static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    size_t got = fread(b, 1, (size_t)n, f);
    b[got] = 0;
    fclose(f);
    return b;
}

static int lines_with_fields(const char *path, int fields) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        int c = 1;
        for (char *p = line; *p; p++) c += *p == ',';
        if (c != fields) n = -1000;
        n++;
    }
    fclose(f);
    return n;
}

static void test_cli(void) {
    char dir[] = "/tmp/litelab_calib_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char cmd[1024], path[512];
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --synth tiny --tile 16x16 --budget 0.05 -o %s -q >/dev/null",
             dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    snprintf(path, sizeof path, "%s/schedule.json", dir);
    char *text = slurp(path);
    cJSON *doc = cJSON_Parse(text);
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(doc, "policy");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pol, "kind")), "lite_schedule");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pol, "thresholds")), 4);  // tiny: 4 steps
    CU_ASSERT(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "predicted_max_step_error_bound")) <= 0.05);
    cJSON_Delete(doc);
    free(text);
    // The experiment passes the experiment reader's validation.
    snprintf(path, sizeof path, "%s/experiment.json", dir);
    ll_experiment_config cfg;
    ll_error err;
    ll_status st = ll_config_load(path, &cfg, &err);
    if (st != LL_OK) fprintf(stderr, "\nexperiment: %s\n", err.msg);
    CU_ASSERT_EQUAL(st, LL_OK);
    if (st == LL_OK) {
        CU_ASSERT_EQUAL(cfg.n_policies, 2);
        ll_config_free(&cfg);
    }
    snprintf(path, sizeof path, "%s/prediction.csv", dir);
    CU_ASSERT_EQUAL(lines_with_fields(path, 5), 5);
    snprintf(path, sizeof path, "%s/curve.csv", dir);
    CU_ASSERT(lines_with_fields(path, 4) > 10);
    // --predict: a constant threshold; the prediction reads back.
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --synth tiny --tile 16x16 --predict -6 -o %s -q >/dev/null",
             dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    ll_calib_prediction p;
    CU_ASSERT_EQUAL_FATAL(ll_calib_read_prediction(dir, &p, &err), LL_OK);
    CU_ASSERT_EQUAL(p.steps, 4);
    CU_ASSERT_EQUAL(p.thresholds[1], -6.0f);
    ll_calib_prediction_free(&p);
    // Usage errors.
    const char *bad[] = {"", "--synth tiny --trace x.h5", "--synth tiny --budget -1", "--synth tiny --grid 0:-5:1",
                         "--synth tiny --budget-list 0.1,0.2", "--synth tiny --verify", "--synth tiny --predict -6.3",
                         "--compare x.h5"};
    for (int i = 0; i < 8; i++) {
        snprintf(cmd, sizeof cmd, LITELAB " calibrate %s >/dev/null 2>&1", bad[i]);
        int rc = WEXITSTATUS(system(cmd));
        CU_ASSERT(rc == 2 || rc == 3);
    }
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --trace %s/missing.h5 >/dev/null 2>&1", dir);
    CU_ASSERT_NOT_EQUAL(WEXITSTATUS(system(cmd)), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

// CI: calibration on a tiny trace written by `litelab run` on the CPU backend (tile maps of every
// call recorded): the schedule, its experiment, the prediction and curve, the verifying replay
// (--verify) and its comparison all exist and parse; --predict on the same trace too.
static void test_cli_run_trace(void) {
    char dir[] = "/tmp/litelab_calib_run_XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    char cfg[256], trace[256], out[256], cmd[1200], path[512];
    snprintf(cfg, sizeof cfg, "%s/maps.json", dir);
    snprintf(trace, sizeof trace, "%s/maps.h5", dir);
    snprintf(out, sizeof out, "%s/calib", dir);
    FILE *f = fopen(cfg, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("{\"name\": \"ci_maps\", \"trajectory\": {\"synthetic\": \"tiny\", \"seed\": 2}, \"backend\": \"cpu\",\n"
          " \"tiling\": {\"block_m\": 16, \"block_n\": 16},\n"
          " \"record\": {\"tile_maps\": {\"steps\": \"all\", \"layers\": \"all\"}},\n"
          " \"policies\": [{\"name\": \"dense\", \"kind\": \"dense\"},\n"
          "   {\"name\": \"lite_t-6\", \"kind\": \"lite\", \"threshold\": -6}]}\n",
          f);
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
    snprintf(cmd, sizeof cmd, LITELAB " run %s -o %s -q", cfg, trace);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --trace %s --budget 0.05 -o %s --verify -q >/dev/null", trace, out);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    // schedule.json: a lite_schedule with one threshold per step (tiny: 4 steps), within budget.
    snprintf(path, sizeof path, "%s/schedule.json", out);
    char *text = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    cJSON *doc = cJSON_Parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    const cJSON *pol = cJSON_GetObjectItemCaseSensitive(doc, "policy");
    CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(pol, "kind")), "lite_schedule");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pol, "thresholds")), 4);
    double bound = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "predicted_max_step_error_bound"));
    CU_ASSERT(bound >= 0 && bound <= 0.05);
    double pred_skip = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(doc, "predicted_skipped_ratio"));
    CU_ASSERT(pred_skip >= 0 && pred_skip <= 1);
    cJSON_Delete(doc);
    free(text);
    // experiment.json: the trace's experiment (CPU, 16x16 tiles) with dense and the schedule.
    snprintf(path, sizeof path, "%s/experiment.json", out);
    ll_experiment_config ec;
    ll_error err;
    ll_status st = ll_config_load(path, &ec, &err);
    if (st != LL_OK) fprintf(stderr, "\nexperiment: %s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, LL_OK);
    CU_ASSERT_EQUAL(ec.n_policies, 2);
    CU_ASSERT_STRING_EQUAL(ec.backend, "cpu");
    CU_ASSERT_EQUAL(ec.tiling.block_m, 16);
    CU_ASSERT_EQUAL(ec.tiling.block_n, 16);
    ll_config_free(&ec);
    // prediction, curve, verification: header + one row per step (curve: per grid threshold).
    snprintf(path, sizeof path, "%s/prediction.csv", out);
    CU_ASSERT_EQUAL(lines_with_fields(path, 5), 5);
    snprintf(path, sizeof path, "%s/curve.csv", out);
    CU_ASSERT(lines_with_fields(path, 4) > 10);
    snprintf(path, sizeof path, "%s/verification.csv", out);
    CU_ASSERT_EQUAL(lines_with_fields(path, 8), 5);
    // The replay skipped no more than predicted (the screening is an upper bound), step by step.
    f = fopen(path, "r");
    char line[1024];
    int steps = 0;
    while (f && fgets(line, sizeof line, f)) {
        int step;
        double pred, verified;
        char tbuf[32];
        if (sscanf(line, "%d,%31[^,],%lf,%lf", &step, tbuf, &pred, &verified) != 4) continue;
        CU_ASSERT(verified >= 0 && verified <= pred + 1e-6);
        steps++;
    }
    if (f) fclose(f);
    CU_ASSERT_EQUAL(steps, 4);
    snprintf(path, sizeof path, "%s/verification.md", out);
    text = slurp(path);
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text) CU_ASSERT_PTR_NOT_NULL(strstr(text, "| step | threshold |"));
    free(text);
    snprintf(cmd, sizeof cmd, LITELAB " validate %s/verified.h5 >/dev/null", out);
    CU_ASSERT_EQUAL(system(cmd), 0);
    // --predict on the same trace: a constant threshold's per-step prediction.
    snprintf(cmd, sizeof cmd, LITELAB " calibrate --trace %s --predict -6 -o %s/predict -q >/dev/null", trace, dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    ll_calib_prediction p;
    snprintf(path, sizeof path, "%s/predict", dir);
    CU_ASSERT_EQUAL_FATAL(ll_calib_read_prediction(path, &p, &err), LL_OK);
    CU_ASSERT_EQUAL(p.steps, 4);
    CU_ASSERT_EQUAL(p.thresholds[2], -6.0f);
    ll_calib_prediction_free(&p);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

int register_calibrate_suite(void) {
    CU_pSuite s = CU_add_suite("calibrate", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "grid levels and thresholds", test_grid_levels) ||
        !CU_add_test(s, "mass bound codes round up", test_bound_codes) ||
        !CU_add_test(s, "table = simulation = oracle (model maps)", test_table_matches_simulation_model) ||
        !CU_add_test(s, "table = simulation = oracle (random maps)", test_table_matches_simulation_random) ||
        !CU_add_test(s, "batch evaluation = one by one", test_batch_equals_single) ||
        !CU_add_test(s, "constant thresholds: sparsity monotone", test_constant_threshold_monotone) ||
        !CU_add_test(s, "per-layer constant curves = evaluation", test_curves_match_evaluation) ||
        !CU_add_test(s, "search: budget 0 skips nothing", test_search_budget_zero) ||
        !CU_add_test(s, "search: budget sweep, within budget, monotone", test_search_budget_sweep) ||
        !CU_add_test(s, "greedy: maximal", test_greedy_maximal) ||
        !CU_add_test(s, "search: prediction = direct simulation", test_prediction_matches_simulation) ||
        !CU_add_test(s, "search: per-step budgets and options", test_per_step_budgets) ||
        !CU_add_test(s, "bad maps and schedules rejected", test_bad_maps) ||
        !CU_add_test(s, "litelab calibrate: outputs and usage errors", test_cli) ||
        !CU_add_test(s, "CI: calibrate a trace written by litelab run on the CPU, --verify", test_cli_run_trace))
        return CU_get_error();
    return CUE_SUCCESS;
}
