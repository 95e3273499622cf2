// calib_source_memory.c: tile maps held in the caller's memory as a map
// source (calibrate.h), and closing any source.
#include <stdio.h>
#include <stdlib.h>

#include "calibrate.h"

static ll_status check_range(const ll_map_source *s, int step, int layer, ll_error *err) {
    if (step < 0 || step >= s->steps || layer < 0 || layer >= s->layers)
        return ll_fail(err, LL_ERR_INVALID, "%s: no map for step %d layer %d (%d steps, %d layers)", s->desc, step,
                       layer, s->steps, s->layers);
    return LL_OK;
}

typedef struct {
    float *const *x;
    float *const *m;
} memory_ctx;

static ll_status memory_read(ll_map_source *s, int step, int layer, ll_map_view *out, ll_error *err) {
    LL_TRY(check_range(s, step, layer, err));
    memory_ctx *c = s->ctx;
    size_t i = (size_t)step * s->layers + layer;
    out->max_log2 = c->x[i];
    out->mass = c->m[i];
    return LL_OK;
}

static void memory_close(ll_map_source *s) { free(s->ctx); }

ll_status ll_map_source_memory(const ll_shape *shape, const ll_tiling *tiling, int steps, int layers,
                               float *const *max_log2, float *const *mass, ll_map_source **out, ll_error *err) {
    *out = NULL;
    LL_TRY(ll_shape_validate(shape, "memory maps", err));
    LL_TRY(ll_tiling_validate(tiling, err));
    if (steps < 1 || layers < 1 || !max_log2 || !mass)
        return ll_fail(err, LL_ERR_INVALID, "memory maps: need steps, layers >= 1 and map arrays");
    for (int i = 0; i < steps * layers; i++)
        if (!max_log2[i] || !mass[i])
            return ll_fail(err, LL_ERR_INVALID, "memory maps: step %d layer %d has no data", i / layers, i % layers);
    ll_map_source *s = calloc(1, sizeof *s);
    memory_ctx *c = calloc(1, sizeof *c);
    if (!s || !c) {
        free(s);
        free(c);
        return ll_fail(err, LL_ERR_NOMEM, "memory maps: out of memory");
    }
    c->x = max_log2;
    c->m = mass;
    snprintf(s->desc, sizeof s->desc, "memory maps");
    s->shape = *shape;
    s->tiling = *tiling;
    s->steps = steps;
    s->layers = layers;
    s->B = shape->B;
    s->H = shape->H;
    s->q_tiles = ll_q_tiles(shape, tiling);
    s->k_tiles = ll_k_tiles(shape, tiling);
    s->read = memory_read;
    s->close = memory_close;
    s->ctx = c;
    *out = s;
    return LL_OK;
}

void ll_map_source_close(ll_map_source *src) {
    if (!src) return;
    if (src->close) src->close(src);
    free(src);
}
