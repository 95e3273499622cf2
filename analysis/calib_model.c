// calib_model.c: the statistical tile-map model (calibrate.h,
// ll_map_source_model). Distances between tile centres are computed once per
// (query tile, key tile) and shared by every head, so a Wan 720p map of 40
// heads (2.8e7 tiles) costs a few FLOPs per tile per step.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "rng.h"

typedef enum { HEAD_SPATIAL, HEAD_TEMPORAL, HEAD_SINK, HEAD_DIFFUSE } model_head_kind;

typedef struct {
    ll_calib_model m;
    float *ds, *df;      // [Q][K] spatial and frame distance between tile centres
    uint32_t *tile_hash; // [Q][K]
    int *diag;           // [Q] key tile holding the query tile's centre token
    float *x, *mass;     // one (step, layer) map [H][Q][K]
} model_ctx;

static void token_pos(const ll_calib_model *m, int tok, int *f, int *y, int *x) {
    int plane = m->height * m->width;
    *f = tok / plane;
    *y = (tok / m->width) % m->height;
    *x = tok % m->width;
}

static inline float tri(float u) { return 1.0f - 4.0f * fabsf(u - floorf(u) - 0.5f); }

static ll_status model_read(ll_map_source *s, int step, int layer, ll_map_view *out, ll_error *err) {
    if (step < 0 || step >= s->steps || layer < 0 || layer >= s->layers)
        return ll_fail(err, LL_ERR_INVALID, "%s: no map for step %d layer %d", s->desc, step, layer);
    model_ctx *c = s->ctx;
    const ll_calib_model *m = &c->m;
    int Q = s->q_tiles, K = s->k_tiles, H = m->heads;
    float progress = m->steps > 1 ? (float)step / (float)(m->steps - 1) : 0.0f;
    float sharp = 1.0f + 7.0f * powf(progress, 1.5f);
    float mass_scale = (float)m->tiling.block_n / 256.0f;
    float inv_period[32];  // oscillation periods of 8..39 steps
    for (int i = 0; i < 32; i++) inv_period[i] = 1.0f / (8.0f + (float)i);
#pragma omp parallel for schedule(static)
    for (int hq = 0; hq < H * Q; hq++) {
        int h = hq / Q, qt = hq % Q;
        uint64_t hh = ll_hash4(m->seed, 0x6d6f64656cull, (uint64_t)layer, (uint64_t)h);
        double u = ll_u01(hh);
        model_head_kind kind = u < 0.4 ? HEAD_SPATIAL : u < 0.7 ? HEAD_TEMPORAL : u < 0.85 ? HEAD_SINK : HEAD_DIFFUSE;
        float a = (float)ll_u01(ll_mix64(hh ^ 1)), b = (float)ll_u01(ll_mix64(hh ^ 2));
        float inv_rs, inv_rf;
        if (kind == HEAD_SPATIAL) {
            inv_rs = 1.0f / (4.0f + 12.0f * a);
            inv_rf = 1.0f / (1.0f + 3.0f * b);
        } else if (kind == HEAD_TEMPORAL) {
            inv_rs = 1.0f / (1.0f + 2.0f * a);
            inv_rf = 1.0f / (8.0f + 22.0f * b);
        } else {
            inv_rs = inv_rf = kind == HEAD_DIFFUSE ? 0.004f : 0.01f;
        }
        int n_sink = 1 + (int)(4 * a);
        uint32_t salt = (uint32_t)(hh >> 32);
        const float *ds = c->ds + (size_t)qt * K, *df = c->df + (size_t)qt * K;
        const uint32_t *th = c->tile_hash + (size_t)qt * K;
        float *x = c->x + (size_t)hq * K, *ms = c->mass + (size_t)hq * K;
        for (int kt = 0; kt < K; kt++) {
            float cost = ds[kt] * inv_rs + df[kt] * inv_rf;
            if (kind == HEAD_SINK) cost = kt < n_sink ? 0.2f : 1.0f + cost;
            uint32_t t = th[kt] ^ salt;
            float amp = 1.2f * (float)((t >> 21) & 7) / 7.0f;
            float v = -sharp * cost + amp * tri((float)step * inv_period[(t >> 16) & 31] + (float)(t & 0xffff) / 65536.0f);
            if (v > 0 || kt == c->diag[qt]) v = 0;
            x[kt] = v;
            float mm = exp2f(v > -100.0f ? v : -100.0f) * mass_scale;  // no denormal slow path
            ms[kt] = mm < 1.0f ? mm : 1.0f;
        }
    }
    out->max_log2 = c->x;
    out->mass = c->mass;
    return LL_OK;
}

static void model_close(ll_map_source *s) {
    model_ctx *c = s->ctx;
    if (!c) return;
    free(c->ds);
    free(c->df);
    free(c->tile_hash);
    free(c->diag);
    free(c->x);
    free(c->mass);
    free(c);
}

ll_status ll_map_source_model(const ll_calib_model *m, ll_map_source **out, ll_error *err) {
    *out = NULL;
    if (m->steps < 1 || m->layers < 1 || m->heads < 1 || m->frames < 1 || m->height < 1 || m->width < 1)
        return ll_fail(err, LL_ERR_INVALID, "map model: steps, layers, heads, frames, height, width must be >= 1");
    LL_TRY(ll_tiling_validate(&m->tiling, err));
    ll_shape shape = {1, m->frames * m->height * m->width, m->heads, m->head_dim, LL_BF16};
    LL_TRY(ll_shape_validate(&shape, "map model", err));
    ll_map_source *s = calloc(1, sizeof *s);
    model_ctx *c = calloc(1, sizeof *c);
    if (!s || !c) {
        free(s);
        free(c);
        return ll_fail(err, LL_ERR_NOMEM, "map model: out of memory");
    }
    s->ctx = c;
    s->read = model_read;
    s->close = model_close;
    c->m = *m;
    s->shape = shape;
    s->tiling = m->tiling;
    s->steps = m->steps;
    s->layers = m->layers;
    s->B = 1;
    s->H = m->heads;
    s->q_tiles = ll_q_tiles(&shape, &m->tiling);
    s->k_tiles = ll_k_tiles(&shape, &m->tiling);
    snprintf(s->desc, sizeof s->desc, "map model %dx%dx%d seed=%llu", m->frames, m->height, m->width,
             (unsigned long long)m->seed);
    int Q = s->q_tiles, K = s->k_tiles, N = shape.N;
    size_t qk = (size_t)Q * K, map = qk * m->heads;
    c->ds = malloc(qk * sizeof(float));
    c->df = malloc(qk * sizeof(float));
    c->tile_hash = malloc(qk * sizeof(uint32_t));
    c->diag = malloc((size_t)Q * sizeof(int));
    c->x = malloc(map * sizeof(float));
    c->mass = malloc(map * sizeof(float));
    if (!c->ds || !c->df || !c->tile_hash || !c->diag || !c->x || !c->mass) {
        ll_map_source_close(s);
        return ll_fail(err, LL_ERR_NOMEM, "map model: out of memory for %zu tiles", map);
    }
#pragma omp parallel for schedule(static)
    for (int qt = 0; qt < Q; qt++) {
        int cq = qt * m->tiling.block_m + m->tiling.block_m / 2, fq, yq, xq;
        if (cq > N - 1) cq = N - 1;
        token_pos(m, cq, &fq, &yq, &xq);
        c->diag[qt] = cq / m->tiling.block_n;
        for (int kt = 0; kt < K; kt++) {
            int ck = kt * m->tiling.block_n + m->tiling.block_n / 2, fk, yk, xk;
            if (ck > N - 1) ck = N - 1;
            token_pos(m, ck, &fk, &yk, &xk);
            float dy = (float)(yq - yk), dx = (float)(xq - xk);
            c->ds[(size_t)qt * K + kt] = sqrtf(dy * dy + dx * dx);
            c->df[(size_t)qt * K + kt] = fabsf((float)(fq - fk));
            c->tile_hash[(size_t)qt * K + kt] = (uint32_t)ll_hash4(m->seed, 0x74696c65ull, (uint64_t)qt, (uint64_t)kt);
        }
    }
    *out = s;
    return LL_OK;
}
