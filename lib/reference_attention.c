// reference_attention.c: the CPU reference LiteAttention (see the header for
// the semantics). One (batch, head) at a time: its K and V are converted to
// float once (K transposed so the score loop runs along contiguous keys),
// then the query tiles are shared among OpenMP threads. Each query tile walks
// its read list exactly as the kernel does: ranges in order, each from start
// down to ll_range_last(end); must-skip tiles are passed to the list writer
// as dropped without being computed.
//
// fp32 mode mirrors the kernels (fp32 scores, exp2 with scale*log2(e) folded
// in, fp32 running max / sum / accumulator); fp64 mode computes the same
// steps in double for tests.
//
// Write-list rows are fitted to the layout by the fit rule (skip_list.h,
// ll_list_writer_finish); the call counts the rows that needed it.
//
// Choices the header leaves open, fixed here:
// - dense mode (read_list NULL) computes every key tile and ignores
//   key_tile_flags, like a plain FlashAttention call;
// - the criterion of a must-do tile is evaluated and stored in crit (it is
//   only never acted on); the first computed tile's crit stays NaN.
#include "reference_attention.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "skip_decision.h"
#include "tile_overrides.h"

enum { ROW_BLOCK = 8, COL_BLOCK = 8 };  // register block of the score and PV loops
static inline int round_up8(int x) { return (x + 7) & ~7; }

// ---------------------------------------------------------------------------
// Input checks

ll_status ll_check_finite(const ll_shape *s, const uint16_t *x, const char *what, ll_error *err) {
    if (!x) return ll_fail(err, LL_ERR_INVALID, "%s: tensor is NULL", what);
    // NaN and Inf are the words whose exponent bits are all ones.
    uint16_t exp_mask = s->dtype == LL_FP16 ? 0x7c00u : 0x7f80u;
    size_t n = ll_shape_elems(s);
    for (size_t i = 0; i < n; i++) {
        if ((x[i] & exp_mask) != exp_mask) continue;
        float f = ll_half_to_float(s->dtype, x[i]);
        size_t rest = i;
        int d = (int)(rest % (size_t)s->D); rest /= (size_t)s->D;
        int h = (int)(rest % (size_t)s->H); rest /= (size_t)s->H;
        int t = (int)(rest % (size_t)s->N); rest /= (size_t)s->N;
        return ll_fail(err, LL_ERR_INVALID, "%s: %s at (b=%d, n=%d, h=%d, d=%d)", what,
                       isnan(f) ? "NaN" : (f > 0 ? "+Inf" : "-Inf"), (int)rest, t, h, d);
    }
    return LL_OK;
}

static ll_status check_list_dims(const ll_skip_list *l, const char *what, const ll_shape *s, const ll_tiling *t,
                                 ll_error *err) {
    int qt = ll_q_tiles(s, t), kt = ll_k_tiles(s, t);
    if (!l->data) return ll_fail(err, LL_ERR_INVALID, "%s: no data", what);
    if (l->B != s->B || l->H != s->H || l->q_tiles != qt || l->k_tiles != kt)
        return ll_fail(err, LL_ERR_INVALID,
                       "%s: dimensions B=%d H=%d q_tiles=%d k_tiles=%d do not match the call "
                       "(B=%d H=%d q_tiles=%d k_tiles=%d for N=%d, tile %dx%d)",
                       what, l->B, l->H, l->q_tiles, l->k_tiles, s->B, s->H, qt, kt, s->N, t->block_m,
                       t->block_n);
    if (l->encoding != LL_END_EXCLUSIVE && l->encoding != LL_END_INCLUSIVE_PRODUCTION)
        return ll_fail(err, LL_ERR_INVALID, "%s: unknown encoding code %d", what, (int)l->encoding);
    return LL_OK;
}

static ll_status validate_call(const ll_attn_params *p, const ll_reference_options *opt, const uint16_t *q,
                               const uint16_t *k, const uint16_t *v, const ll_skip_list *read_list,
                               const ll_skip_list *write_list, const float *o, ll_error *err) {
    if (!p) return ll_fail(err, LL_ERR_INVALID, "reference attention: no parameters");
    LL_TRY(ll_shape_validate(&p->shape, "reference attention", err));
    LL_TRY(ll_tiling_validate(&p->tiling, err));
    if (isnan(p->threshold)) return ll_fail(err, LL_ERR_INVALID, "reference attention: threshold is NaN");
    if (!(p->softmax_scale >= 0) || isinf(p->softmax_scale))
        return ll_fail(err, LL_ERR_INVALID, "reference attention: softmax_scale %g must be finite and >= 0 (0: 1/sqrt(D))",
                       (double)p->softmax_scale);
    if (!q || !k || !v || !o)
        return ll_fail(err, LL_ERR_INVALID, "reference attention: %s is NULL", !q ? "Q" : !k ? "K" : !v ? "V" : "O");
    if (p->key_tile_flags) {
        int kts = ll_k_tiles(&p->shape, &p->tiling);
        for (int kt = 0; kt < kts; kt++)
            if (p->key_tile_flags[kt] > LL_TILE_MUST_SKIP)
                return ll_fail(err, LL_ERR_INVALID, "reference attention: key_tile_flags[%d] = %d is not a tile flag",
                               kt, p->key_tile_flags[kt]);
    }
    if (!read_list && write_list)
        return ll_fail(err, LL_ERR_INVALID, "reference attention: dense mode (no read list) takes no write list");
    if (read_list) {
        LL_TRY(check_list_dims(read_list, "read list", &p->shape, &p->tiling, err));
        LL_TRY(ll_skip_list_validate(read_list, "read list", err));
    }
    if (write_list) {
        LL_TRY(check_list_dims(write_list, "write list", &p->shape, &p->tiling, err));
        if (write_list->encoding != read_list->encoding)
            return ll_fail(err, LL_ERR_INVALID, "write list: encoding %s differs from the read list's %s",
                           ll_list_encoding_name(write_list->encoding), ll_list_encoding_name(read_list->encoding));
        if (write_list->data == read_list->data)
            return ll_fail(err, LL_ERR_INVALID, "write list: is the read list's buffer (they must be distinct)");
    }
    int check = opt ? opt->check_inputs : 1;
    if (check) {
        LL_TRY(ll_check_finite(&p->shape, q, "Q", err));
        LL_TRY(ll_check_finite(&p->shape, k, "K", err));
        LL_TRY(ll_check_finite(&p->shape, v, "V", err));
    }
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Building blocks (shared with tile_maps.c)

void ll_ref_load_keys_t(const ll_shape *s, const uint16_t *k, int b, int h, int n_begin, int n_end, float *kt) {
    int n_pad = ll_ref_padded_n(s->N), D = s->D;
    for (int n = n_begin; n < n_end; n++) {
        if (n >= s->N) {
            for (int d = 0; d < D; d++) kt[(size_t)d * n_pad + n] = 0.0f;
            continue;
        }
        const uint16_t *src = k + (((size_t)b * s->N + n) * s->H + h) * D;
        for (int d = 0; d < D; d++) kt[(size_t)d * n_pad + n] = ll_half_to_float(s->dtype, src[d]);
    }
}

void ll_ref_load_queries(const ll_shape *s, const ll_tiling *t, const uint16_t *q, int b, int h, int qt,
                         float *qs) {
    int rows = ll_q_tile_rows(s, t, qt), D = s->D;
    for (int r = 0; r < t->block_m; r++) {
        if (r >= rows) {
            memset(qs + (size_t)r * D, 0, sizeof(float) * D);
            continue;
        }
        const uint16_t *src = q + (((size_t)b * s->N + (size_t)qt * t->block_m + r) * s->H + h) * D;
        for (int d = 0; d < D; d++) qs[(size_t)r * D + d] = ll_half_to_float(s->dtype, src[d]);
    }
}

// An 8x8 block of scores kept in registers while d runs: 8 broadcast query
// values times 8 contiguous keys per step (compiles to packed SIMD at -O2).
void ll_ref_tile_scores(const float *restrict qs, int rows, const float *restrict kt, int n_pad, int D, int col0,
                        int cols, float *restrict s, int ld_s) {
    int rows8 = round_up8(rows), cols8 = round_up8(cols);
    for (int r = 0; r < rows8; r += ROW_BLOCK) {
        for (int c = 0; c < cols8; c += COL_BLOCK) {
            float acc[ROW_BLOCK][COL_BLOCK] = {{0}};
            const float *kcol = kt + col0 + c;
            for (int d = 0; d < D; d++) {
                const float *krow = kcol + (size_t)d * n_pad;
                for (int i = 0; i < ROW_BLOCK; i++) {
                    float qv = qs[(size_t)(r + i) * D + d];
#pragma omp simd
                    for (int j = 0; j < COL_BLOCK; j++) acc[i][j] += qv * krow[j];
                }
            }
            for (int i = 0; i < ROW_BLOCK; i++)
                for (int j = 0; j < COL_BLOCK; j++) s[(size_t)(r + i) * ld_s + c + j] = acc[i][j];
        }
    }
}

// acc[r][:] += sum_c p[r][c] * v[c][:], same register blocking along D.
static void tile_pv(const float *restrict p, int ld_p, int rows, int cols, const float *restrict v, int D,
                    float *restrict acc) {
    int rows8 = round_up8(rows), cols8 = round_up8(cols);
    for (int r = 0; r < rows8; r += ROW_BLOCK) {
        for (int d0 = 0; d0 < D; d0 += COL_BLOCK) {
            float o[ROW_BLOCK][COL_BLOCK];
            for (int i = 0; i < ROW_BLOCK; i++)
                for (int j = 0; j < COL_BLOCK; j++) o[i][j] = acc[(size_t)(r + i) * D + d0 + j];
            for (int c = 0; c < cols8; c++) {
                const float *vrow = v + (size_t)c * D + d0;
                for (int i = 0; i < ROW_BLOCK; i++) {
                    float pv = p[(size_t)(r + i) * ld_p + c];
#pragma omp simd
                    for (int j = 0; j < COL_BLOCK; j++) o[i][j] += pv * vrow[j];
                }
            }
            for (int i = 0; i < ROW_BLOCK; i++)
                for (int j = 0; j < COL_BLOCK; j++) acc[(size_t)(r + i) * D + d0 + j] = o[i][j];
        }
    }
}

// ---------------------------------------------------------------------------
// One call's constants and one thread's scratch

typedef struct {
    const ll_attn_params *p;
    const ll_shape *s;
    const ll_tiling *t;
    int q_tiles, k_tiles, n_pad, use_fp64;
    float scale, scale_log2;
    const uint16_t *q;
    const float *kt;  // current head's keys [D][n_pad]
    const float *v;   // current head's values [n_pad][D]
    const ll_skip_list *read;
    ll_skip_list *write;
    float *o, *lse, *crit;
} call_ctx;

typedef struct {
    float *qs;          // [block_m][D] queries of the tile
    float *s;           // [block_m][bn8] scores, then probabilities (fp32)
    double *s64;        // [block_m][bn8] (fp64 mode)
    float *acc, *m, *l;            // fp32 running state: [block_m][D], [block_m], [block_m]
    double *acc64, *m64, *l64;     // fp64 running state
    int32_t *stage;     // the list writer's entries (ll_list_writer_max_entries)
} workspace;

static void workspace_free(workspace *w) {
    free(w->qs); free(w->s); free(w->s64); free(w->acc); free(w->m); free(w->l);
    free(w->acc64); free(w->m64); free(w->l64); free(w->stage);
    memset(w, 0, sizeof *w);
}

static int workspace_alloc(workspace *w, const call_ctx *c) {
    memset(w, 0, sizeof *w);
    size_t bm = (size_t)c->t->block_m, bn8 = (size_t)round_up8(c->t->block_n), D = (size_t)c->s->D;
    w->qs = malloc(sizeof(float) * bm * D);
    w->stage = malloc(sizeof(int32_t) * ((size_t)ll_list_writer_max_entries(c->k_tiles) + 1));
    int ok = w->qs && w->stage;
    if (c->use_fp64) {
        w->s64 = malloc(sizeof(double) * bm * bn8);
        w->acc64 = malloc(sizeof(double) * bm * D);
        w->m64 = malloc(sizeof(double) * bm);
        w->l64 = malloc(sizeof(double) * bm);
        ok = ok && w->s64 && w->acc64 && w->m64 && w->l64;
    } else {
        w->s = malloc(sizeof(float) * bm * bn8);
        w->acc = malloc(sizeof(float) * bm * D);
        w->m = malloc(sizeof(float) * bm);
        w->l = malloc(sizeof(float) * bm);
        ok = ok && w->s && w->acc && w->m && w->l;
    }
    if (!ok) workspace_free(w);
    return ok;
}

// ---------------------------------------------------------------------------
// One key tile of one query tile: scores, criterion against the running max
// BEFORE this tile, then the online-softmax update including the tile.
// Returns the criterion (NaN when !measure).

static double tile_step_f32(const call_ctx *c, workspace *w, int rows, int ktile, int measure) {
    int D = c->s->D, bn8 = round_up8(c->t->block_n);
    int col0 = ktile * c->t->block_n, cols = ll_k_tile_cols(c->s, c->t, ktile), cols8 = round_up8(cols);
    ll_ref_tile_scores(w->qs, rows, c->kt, c->n_pad, D, col0, cols, w->s, bn8);
    float crit = -INFINITY;
    for (int r = 0; r < rows; r++) {
        float *sr = w->s + (size_t)r * bn8, smax = -INFINITY;
        for (int j = 0; j < cols; j++) smax = fmaxf(smax, sr[j]);
        float m_old = w->m[r], m_new = fmaxf(m_old, smax);
        if (measure) crit = ll_crit_max(crit, (smax - m_old) * c->scale_log2);
        float alpha = exp2f((m_old - m_new) * c->scale_log2);  // 0 on the first tile (m_old = -inf)
        float m_scaled = m_new * c->scale_log2, sum = 0.0f;
        for (int j = 0; j < cols; j++) {
            sr[j] = exp2f(sr[j] * c->scale_log2 - m_scaled);
            sum += sr[j];
        }
        for (int j = cols; j < cols8; j++) sr[j] = 0.0f;
        w->l[r] = w->l[r] * alpha + sum;
        w->m[r] = m_new;
        float *ar = w->acc + (size_t)r * D;
        for (int d = 0; d < D; d++) ar[d] *= alpha;
    }
    for (int r = rows; r < round_up8(rows); r++) memset(w->s + (size_t)r * bn8, 0, sizeof(float) * cols8);
    tile_pv(w->s, bn8, rows, cols, c->v + (size_t)col0 * D, D, w->acc);
    return measure ? (double)crit : NAN;
}

static double tile_step_f64(const call_ctx *c, workspace *w, int rows, int ktile, int measure) {
    int D = c->s->D, bn8 = round_up8(c->t->block_n);
    int col0 = ktile * c->t->block_n, cols = ll_k_tile_cols(c->s, c->t, ktile);
    double scale = c->scale, log2e = 1.4426950408889634, crit = -INFINITY;
    for (int r = 0; r < rows; r++) {
        const float *qr = w->qs + (size_t)r * D;
        double *sr = w->s64 + (size_t)r * bn8, smax = -INFINITY;
        for (int j = 0; j < cols; j++) sr[j] = 0.0;
        for (int d = 0; d < D; d++) {  // each dot product still sums d in order
            const float *krow = c->kt + (size_t)d * c->n_pad + col0;
            double qd = qr[d];
            for (int j = 0; j < cols; j++) sr[j] += qd * krow[j];
        }
        for (int j = 0; j < cols; j++) smax = fmax(smax, sr[j]);
        double m_old = w->m64[r], m_new = fmax(m_old, smax);
        if (measure) crit = ll_crit_max64(crit, (smax - m_old) * scale * log2e);
        double alpha = exp((m_old - m_new) * scale), sum = 0.0;
        double *ar = w->acc64 + (size_t)r * D;
        for (int d = 0; d < D; d++) ar[d] *= alpha;
        for (int j = 0; j < cols; j++) {
            double pj = exp((sr[j] - m_new) * scale);
            sum += pj;
            const float *vr = c->v + (size_t)(col0 + j) * D;
            for (int d = 0; d < D; d++) ar[d] += pj * vr[d];
        }
        w->l64[r] = w->l64[r] * alpha + sum;
        w->m64[r] = m_new;
    }
    return measure ? crit : NAN;
}

// Normalised output and LSE of the query tile; O = 0 and LSE = -inf when
// nothing was computed.
static void finish_query_tile(const call_ctx *c, workspace *w, int b, int h, int qt, int rows, int computed) {
    const ll_shape *s = c->s;
    int D = s->D;
    for (int r = 0; r < rows; r++) {
        size_t n = (size_t)qt * c->t->block_m + r;
        float *orow = c->o + (((size_t)b * s->N + n) * s->H + h) * D;
        double lse_r = -INFINITY;
        if (!computed) {
            memset(orow, 0, sizeof(float) * D);
        } else if (c->use_fp64) {
            double inv = 1.0 / w->l64[r];
            for (int d = 0; d < D; d++) orow[d] = (float)(w->acc64[(size_t)r * D + d] * inv);
            lse_r = w->m64[r] * c->scale + log(w->l64[r]);
        } else {
            float inv = 1.0f / w->l[r];
            for (int d = 0; d < D; d++) orow[d] = w->acc[(size_t)r * D + d] * inv;
            lse_r = (double)(w->m[r] * c->scale + logf(w->l[r]));
        }
        if (c->lse) c->lse[((size_t)b * s->H + h) * s->N + n] = (float)lse_r;
    }
}

// Walks one query tile's read list (or every tile in dense mode) and writes
// its write-list row. Returns 1 if the row needed the fit rule (skip_list.h),
// -1 if nothing fits it (one key tile: a valid read list cannot have that),
// else 0.
static int run_query_tile(const call_ctx *c, workspace *w, int b, int h, int qt) {
    const ll_attn_params *p = c->p;
    int rows = ll_q_tile_rows(c->s, c->t, qt), D = c->s->D;
    ll_ref_load_queries(c->s, c->t, c->q, b, h, qt, w->qs);
    for (int r = 0; r < c->t->block_m; r++) {
        if (c->use_fp64) {
            w->m64[r] = -INFINITY;
            w->l64[r] = 0.0;
            memset(w->acc64 + (size_t)r * D, 0, sizeof(double) * D);
        } else {
            w->m[r] = -INFINITY;
            w->l[r] = 0.0f;
            memset(w->acc + (size_t)r * D, 0, sizeof(float) * D);
        }
    }
    float *crit_row = NULL;
    if (c->crit) {
        crit_row = c->crit + (((size_t)b * c->s->H + h) * c->q_tiles + qt) * (size_t)c->k_tiles;
        for (int kt = 0; kt < c->k_tiles; kt++) crit_row[kt] = NAN;
    }
    int computed = 0, fitted = 0;
    if (!c->read) {
        for (int kt = c->k_tiles - 1; kt >= 0; kt--, computed++) {
            if (c->use_fp64)
                tile_step_f64(c, w, rows, kt, 0);
            else
                tile_step_f32(c, w, rows, kt, 0);
        }
    } else {
        const int32_t *rr = ll_skip_list_row(c->read, b, h, qt);
        ll_list_encoding enc = c->read->encoding;
        ll_list_writer wr;
        ll_list_writer_begin(&wr, w->stage);
        for (int i = 0; i < rr[0]; i += 2) {
            int32_t start = rr[1 + i], end = rr[2 + i];
            for (int kt = start; kt >= ll_range_last(end, enc); kt--) {
                uint8_t flag = p->key_tile_flags ? p->key_tile_flags[kt] : (uint8_t)LL_TILE_FREE;
                if (flag == LL_TILE_MUST_SKIP) {
                    ll_list_writer_tile(&wr, kt, 0);
                    continue;
                }
                int measure = computed > 0;  // the first tile has no running max to compare with
                double crit = c->use_fp64 ? tile_step_f64(c, w, rows, kt, measure)
                                          : tile_step_f32(c, w, rows, kt, measure);
                if (crit_row && measure) crit_row[kt] = (float)crit;
                int negligible = c->use_fp64 ? ll_crit_negligible64(crit, p->threshold)
                                             : ll_crit_negligible((float)crit, p->threshold);
                ll_list_writer_tile(&wr, kt, ll_tile_keep(computed, flag == LL_TILE_MUST_DO, negligible));
                computed++;
            }
            ll_list_writer_range_end(&wr, end);
        }
        if (c->write) {
            int merges = ll_list_writer_finish(&wr, ll_skip_list_row(c->write, b, h, qt), c->k_tiles);
            fitted = merges < 0 ? -1 : merges > 0;
        }
    }
    finish_query_tile(c, w, b, h, qt, rows, computed);
    return fitted;
}

// ---------------------------------------------------------------------------

ll_status ll_reference_forward(const ll_attn_params *p, const ll_reference_options *opt, const uint16_t *q,
                               const uint16_t *k, const uint16_t *v, const ll_skip_list *read_list,
                               ll_skip_list *write_list, float *o, float *lse, float *crit, int *fitted_rows,
                               ll_error *err) {
    if (fitted_rows) *fitted_rows = 0;
    LL_TRY(validate_call(p, opt, q, k, v, read_list, write_list, o, err));
    const ll_shape *s = &p->shape;
    call_ctx c = {
        .p = p, .s = s, .t = &p->tiling,
        .q_tiles = ll_q_tiles(s, &p->tiling), .k_tiles = ll_k_tiles(s, &p->tiling), .n_pad = ll_ref_padded_n(s->N),
        .use_fp64 = opt ? opt->use_fp64 : 0,
        .scale = ll_softmax_scale(p),
        .q = q, .read = read_list, .write = write_list, .o = o, .lse = lse, .crit = crit,
    };
    c.scale_log2 = c.scale * 1.44269504088896341f;
    int n_threads = opt && opt->n_threads > 0 ? opt->n_threads : omp_get_max_threads();
    if (n_threads > c.q_tiles) n_threads = c.q_tiles;  // more would only idle

    // The head's keys [D][n_pad] and values [n_pad][D], zero past N.
    float *kt = malloc(sizeof(float) * (size_t)s->D * c.n_pad);
    float *vf = calloc((size_t)c.n_pad * s->D, sizeof(float));
    workspace *ws = calloc((size_t)n_threads, sizeof *ws);
    int ok = kt && vf && ws;
    for (int i = 0; ok && i < n_threads; i++) ok = workspace_alloc(&ws[i], &c);
    if (!ok) {
        if (ws) for (int i = 0; i < n_threads; i++) workspace_free(&ws[i]);
        free(ws); free(kt); free(vf);
        return ll_fail(err, LL_ERR_NOMEM, "reference attention: out of memory for N=%d D=%d scratch (%d threads)",
                       s->N, s->D, n_threads);
    }
    c.kt = kt;
    c.v = vf;

    int fitted = 0, unfit = 0, bad_b = 0, bad_h = 0, bad_qt = 0;
#pragma omp parallel num_threads(n_threads)
    {
        workspace *w = &ws[omp_get_thread_num()];
        for (int bh = 0; bh < s->B * s->H; bh++) {
            int b = bh / s->H, h = bh % s->H;
#pragma omp for schedule(static)
            for (int n = 0; n < c.n_pad; n++) {
                ll_ref_load_keys_t(s, k, b, h, n, n + 1, kt);
                if (n < s->N) {
                    const uint16_t *src = v + (((size_t)b * s->N + n) * s->H + h) * s->D;
                    for (int d = 0; d < s->D; d++) vf[(size_t)n * s->D + d] = ll_half_to_float(s->dtype, src[d]);
                }
            }
            // (implicit barrier: the head is loaded before any query tile reads it)
#pragma omp for schedule(dynamic, 1) reduction(+ : fitted)
            for (int qt = 0; qt < c.q_tiles; qt++) {
                int f = run_query_tile(&c, w, b, h, qt);
                if (f > 0) fitted++;
                if (f < 0) {
#pragma omp critical(ll_reference_unfit)
                    if (!unfit) {
                        unfit = 1; bad_b = b; bad_h = h; bad_qt = qt;
                    }
                }
            }
            // (implicit barrier: no thread reloads the head while another reads it)
        }
    }
    for (int i = 0; i < n_threads; i++) workspace_free(&ws[i]);
    free(ws); free(kt); free(vf);
    if (unfit)  // the read list was validated, so this is a bug
        return ll_fail(err, LL_ERR_INTERNAL, "write list: row (b=%d, h=%d, qtile=%d) cannot be fitted to %d key tiles",
                       bad_b, bad_h, bad_qt, c.k_tiles);
    if (fitted_rows) *fitted_rows = fitted;
    return LL_OK;
}
