// error_metrics.c: output error against the dense output and skipped mass
// (definitions in error_metrics.h). Sums in double, OpenMP over blocks of
// rows, added in a fixed order (results independent of the thread count).
#include "error_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"

static inline double view_at(const ll_tensor_view *v, size_t i) {
    return v->f32 ? (double)v->f32[i] : (double)ll_half_to_float(v->dtype, v->h16[i]);
}

// Rows per partial sum (see ll_output_error_compute).
enum { ROWS_PER_BLOCK = 64 };

typedef struct {
    double diff2, ref2, out2, dot, max_abs, worst_row;
    int bad;  // non-finite values seen
} accum;

static void finish(const accum *a, ll_output_error *e) {
    if (a->bad) {
        e->rel_l2 = e->max_abs = e->cosine = e->worst_row_rel_l2 = NAN;
        return;
    }
    e->rel_l2 = a->ref2 > 0 ? sqrt(a->diff2 / a->ref2) : (a->diff2 > 0 ? INFINITY : 0.0);
    e->max_abs = a->max_abs;
    if (a->ref2 > 0 && a->out2 > 0) e->cosine = a->dot / sqrt(a->ref2 * a->out2);
    else e->cosine = a->ref2 == a->out2 ? 1.0 : 0.0;  // both zero: identical; one zero: orthogonal
    e->worst_row_rel_l2 = a->worst_row;
}

ll_status ll_output_error_compute(const ll_shape *s, ll_tensor_view out, ll_tensor_view ref, ll_output_error *whole,
                                  ll_output_error *per_head, ll_error *err) {
    LL_TRY(ll_shape_validate(s, "error metrics", err));
    if ((!out.f32 && !out.h16) || (!ref.f32 && !ref.h16))
        return ll_fail(err, LL_ERR_INVALID, "error metrics: %s tensor missing", (!out.f32 && !out.h16) ? "output" : "reference");
    int H = s->H, D = s->D;
    accum *acc = calloc((size_t)H, sizeof *acc);
    if (!acc) return ll_fail(err, LL_ERR_NOMEM, "error metrics: out of memory");
    // Rows are summed in fixed blocks, and the blocks in order, so the sums
    // (and so every metric) do not depend on the thread count or on which
    // thread finishes first: a sharded run's rows equal an unsharded run's.
    long rows = (long)s->B * s->N;
    long n_blocks = (rows + ROWS_PER_BLOCK - 1) / ROWS_PER_BLOCK;
    accum *part = calloc((size_t)n_blocks * (size_t)H, sizeof *part);
    if (!part) {
        free(acc);
        return ll_fail(err, LL_ERR_NOMEM, "error metrics: out of memory");
    }
#pragma omp parallel for schedule(static)
    for (long blk = 0; blk < n_blocks; blk++) {
        accum *mine = part + (size_t)blk * (size_t)H;
        long end = blk * ROWS_PER_BLOCK + ROWS_PER_BLOCK < rows ? blk * ROWS_PER_BLOCK + ROWS_PER_BLOCK : rows;
        for (long r = blk * ROWS_PER_BLOCK; r < end; r++) {
            for (int h = 0; h < H; h++) {
                size_t base = ((size_t)r * H + h) * D;
                double d2 = 0, r2 = 0, o2 = 0, dot = 0, mx = 0;
                int bad = 0;
                for (int d = 0; d < D; d++) {
                    double o = view_at(&out, base + d), x = view_at(&ref, base + d);
                    if (!isfinite(o) || !isfinite(x)) bad = 1;
                    double diff = o - x;
                    d2 += diff * diff;
                    r2 += x * x;
                    o2 += o * o;
                    dot += o * x;
                    if (fabs(diff) > mx) mx = fabs(diff);
                }
                accum *a = &mine[h];
                a->diff2 += d2;
                a->ref2 += r2;
                a->out2 += o2;
                a->dot += dot;
                a->bad |= bad;
                if (mx > a->max_abs) a->max_abs = mx;
                double row = r2 > 0 ? sqrt(d2 / r2) : (d2 > 0 ? INFINITY : 0.0);
                if (row > a->worst_row) a->worst_row = row;
            }
        }
    }
    for (long blk = 0; blk < n_blocks; blk++)
        for (int h = 0; h < H; h++) {
            const accum *b = &part[(size_t)blk * (size_t)H + (size_t)h];
            acc[h].diff2 += b->diff2;
            acc[h].ref2 += b->ref2;
            acc[h].out2 += b->out2;
            acc[h].dot += b->dot;
            acc[h].bad |= b->bad;
            if (b->max_abs > acc[h].max_abs) acc[h].max_abs = b->max_abs;
            if (b->worst_row > acc[h].worst_row) acc[h].worst_row = b->worst_row;
        }
    free(part);
    accum all;
    memset(&all, 0, sizeof all);
    for (int h = 0; h < H; h++) {
        all.diff2 += acc[h].diff2;
        all.ref2 += acc[h].ref2;
        all.out2 += acc[h].out2;
        all.dot += acc[h].dot;
        all.bad |= acc[h].bad;
        if (acc[h].max_abs > all.max_abs) all.max_abs = acc[h].max_abs;
        if (acc[h].worst_row > all.worst_row) all.worst_row = acc[h].worst_row;
        if (per_head) finish(&acc[h], &per_head[h]);
    }
    if (whole) finish(&all, whole);
    free(acc);
    return LL_OK;
}

ll_status ll_skipped_mass(const ll_tile_map *m, const ll_skip_list *read, double *whole, double *per_head,
                          ll_error *err) {
    if (whole) *whole = 0;
    if (per_head)
        for (int h = 0; h < m->H; h++) per_head[h] = 0;
    if (!read) return LL_OK;
    if (read->B != m->B || read->H != m->H || read->q_tiles != m->q_tiles || read->k_tiles != m->k_tiles)
        return ll_fail(err, LL_ERR_INVALID, "skipped mass: list %dx%dx%dx%d does not match the tile map %dx%dx%dx%d",
                       read->B, read->H, read->q_tiles, read->k_tiles, m->B, m->H, m->q_tiles, m->k_tiles);
    uint8_t *keep = malloc((size_t)m->k_tiles);
    if (!keep) return ll_fail(err, LL_ERR_NOMEM, "skipped mass: out of memory");
    double worst = 0;
    for (int b = 0; b < m->B; b++)
        for (int h = 0; h < m->H; h++)
            for (int qt = 0; qt < m->q_tiles; qt++) {
                ll_skip_list_row_to_keep(ll_skip_list_row(read, b, h, qt), m->k_tiles, read->encoding, keep);
                const float *mass = m->mass + ll_tile_map_index(m, b, h, qt, 0);
                double lost = 0;
                for (int kt = 0; kt < m->k_tiles; kt++)
                    if (!keep[kt]) lost += mass[kt];
                if (lost > 1) lost = 1;
                if (lost > worst) worst = lost;
                if (per_head && lost > per_head[h]) per_head[h] = lost;
            }
    free(keep);
    if (whole) *whole = worst;
    return LL_OK;
}
