// calib_sources.c: the files calibration reads tile maps from (calibrate.h):
// a trace with recorded maps, or maps computed on the CPU
// (ll_tile_map_compute) from a capture file or a synthetic preset. Computed
// maps are kept (the screening table reads every map twice) while they fit in
// LL_CALIB_CACHE_BYTES; beyond that they are computed again.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "capture.h"
#include "synth.h"
#include "tile_maps.h"
#include "trace.h"

#define LL_CALIB_CACHE_BYTES (2ull << 30)

static ll_map_source *new_source(ll_error *err) {
    ll_map_source *s = calloc(1, sizeof *s);
    if (!s) ll_fail(err, LL_ERR_NOMEM, "map source: out of memory");
    return s;
}

static void set_dims(ll_map_source *s) {
    s->B = s->shape.B;
    s->H = s->shape.H;
    s->q_tiles = ll_q_tiles(&s->shape, &s->tiling);
    s->k_tiles = ll_k_tiles(&s->shape, &s->tiling);
}

static ll_status check_range(const ll_map_source *s, int step, int layer, ll_error *err) {
    if (step < 0 || step >= s->steps || layer < 0 || layer >= s->layers)
        return ll_fail(err, LL_ERR_INVALID, "%s: no map for step %d layer %d (%d steps, %d layers)", s->desc, step,
                       layer, s->steps, s->layers);
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Trace with recorded maps.
typedef struct {
    ll_trace_reader *r;
    int *layer_ids;
    ll_tile_map map;
} trace_ctx;

static ll_status trace_read(ll_map_source *s, int step, int layer, ll_map_view *out, ll_error *err) {
    LL_TRY(check_range(s, step, layer, err));
    trace_ctx *c = s->ctx;
    LL_TRY(ll_trace_read_map(c->r, step, c->layer_ids[layer], &c->map, err));
    if (c->map.B != s->B || c->map.H != s->H || c->map.q_tiles != s->q_tiles || c->map.k_tiles != s->k_tiles)
        return ll_fail(err, LL_ERR_FORMAT, "%s: map of step %d layer %d is %dx%dx%dx%d, expected %dx%dx%dx%d", s->desc,
                       step, c->layer_ids[layer], c->map.B, c->map.H, c->map.q_tiles, c->map.k_tiles, s->B, s->H,
                       s->q_tiles, s->k_tiles);
    out->max_log2 = c->map.max_log2;
    out->mass = c->map.mass;
    return LL_OK;
}

static void trace_close(ll_map_source *s) {
    trace_ctx *c = s->ctx;
    if (!c) return;
    if (c->r) ll_trace_close(c->r);
    ll_tile_map_free(&c->map);
    free(c->layer_ids);
    free(c);
}

ll_status ll_map_source_trace(const char *path, int steps, ll_map_source **out, ll_error *err) {
    *out = NULL;
    ll_map_source *s = new_source(err);
    if (!s) return LL_ERR_NOMEM;
    trace_ctx *c = calloc(1, sizeof *c);
    s->ctx = c;
    s->close = trace_close;
    s->read = trace_read;
    snprintf(s->desc, sizeof s->desc, "%s", path);
    int *pairs = NULL, n_pairs = 0;
    ll_status st = LL_OK;
    ll_trace_meta meta;
    if (!c) {
        st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if ((st = ll_trace_open(path, 1, &c->r, &meta, err)) != LL_OK) goto fail;
    if ((st = ll_trace_list_maps(c->r, &pairs, &n_pairs, err)) != LL_OK) goto fail;
    if (n_pairs == 0) {
        st = ll_fail(err, LL_ERR_INVALID,
                     "%s: the trace has no tile maps (record them with `litelab capture` or record.tile_maps)", path);
        goto fail;
    }
    int avail = meta.complete ? meta.steps : meta.steps_done;
    if (steps <= 0) steps = avail;
    if (steps > avail || steps < 1) {
        st = ll_fail(err, LL_ERR_INVALID, "%s: %d steps asked, the trace has %d", path, steps, avail);
        goto fail;
    }
    // Layers with a map at every step 0..steps-1.
    int n_layers_model = meta.layers;
    int *count = calloc((size_t)n_layers_model, sizeof(int));
    c->layer_ids = malloc(sizeof(int) * (size_t)n_layers_model);
    if (!count || !c->layer_ids) {
        free(count);
        st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    for (int i = 0; i < n_pairs; i++) {
        int step = pairs[2 * i], layer = pairs[2 * i + 1];
        if (step >= 0 && step < steps && layer >= 0 && layer < n_layers_model) count[layer]++;
    }
    int n = 0;
    for (int l = 0; l < n_layers_model; l++)
        if (count[l] == steps) c->layer_ids[n++] = l;
    free(count);
    if (n == 0) {
        st = ll_fail(err, LL_ERR_INVALID,
                     "%s: no layer has tile maps at every step 0..%d (%d maps recorded); record maps of all steps",
                     path, steps - 1, n_pairs);
        goto fail;
    }
    s->shape = meta.shape;
    s->tiling = meta.tiling;
    s->steps = steps;
    s->layers = n;
    s->layer_ids = c->layer_ids;
    set_dims(s);
    if ((st = ll_tile_map_alloc(&c->map, s->B, s->H, s->q_tiles, s->k_tiles, err)) != LL_OK) goto fail;
    free(pairs);
    *out = s;
    return LL_OK;
fail:
    free(pairs);
    ll_map_source_close(s);
    return st;
}

// ---------------------------------------------------------------------------
// Maps computed on the CPU from Q and K (capture file or synthetic preset).
typedef struct {
    ll_capture_reader *capture;  // or:
    ll_synth_config synth;
    ll_attn_params params;
    uint16_t *q, *k;
    ll_tile_map work;     // used when the cache is off
    ll_tile_map *cache;   // [steps * layers] when it fits, computed on first use
} computed_ctx;

static ll_status computed_read(ll_map_source *s, int step, int layer, ll_map_view *out, ll_error *err) {
    LL_TRY(check_range(s, step, layer, err));
    computed_ctx *c = s->ctx;
    ll_tile_map *m = c->cache ? &c->cache[(size_t)step * s->layers + layer] : &c->work;
    if (!c->cache || !m->max_log2) {
        if (!m->max_log2) LL_TRY(ll_tile_map_alloc(m, s->B, s->H, s->q_tiles, s->k_tiles, err));
        if (c->capture)
            LL_TRY(ll_capture_read(c->capture, step, layer, c->q, c->k, NULL, 1, err));
        else
            LL_TRY(ll_synth_generate(&c->synth, step, layer, c->q, c->k, NULL, err));
        LL_TRY(ll_tile_map_compute(&c->params, c->q, c->k, m, NULL, err));
    }
    out->max_log2 = m->max_log2;
    out->mass = m->mass;
    return LL_OK;
}

static void computed_close(ll_map_source *s) {
    computed_ctx *c = s->ctx;
    if (!c) return;
    if (c->capture) ll_capture_close_reader(c->capture);
    free(c->q);
    free(c->k);
    ll_tile_map_free(&c->work);
    if (c->cache)
        for (int i = 0; i < s->steps * s->layers; i++) ll_tile_map_free(&c->cache[i]);
    free(c->cache);
    free(c);
}

static ll_status computed_finish(ll_map_source *s, computed_ctx *c, float softmax_scale, const ll_tiling *tiling,
                                 ll_error *err) {
    LL_TRY(ll_tiling_validate(tiling, err));
    s->tiling = *tiling;
    set_dims(s);
    c->params.shape = s->shape;
    c->params.tiling = *tiling;
    c->params.softmax_scale = softmax_scale;
    c->params.threshold = -INFINITY;
    size_t elems = ll_shape_elems(&s->shape);
    c->q = malloc(elems * sizeof(uint16_t));
    c->k = malloc(elems * sizeof(uint16_t));
    if (!c->q || !c->k) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for Q and K", s->desc);
    double bytes = 8.0 * s->B * s->H * (double)s->q_tiles * s->k_tiles * s->steps * s->layers;
    if (bytes <= (double)LL_CALIB_CACHE_BYTES) {
        c->cache = calloc((size_t)s->steps * s->layers, sizeof(ll_tile_map));
        if (!c->cache) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", s->desc);
    }
    return LL_OK;
}

ll_status ll_map_source_capture(const char *path, const ll_tiling *tiling, int steps, int layers,
                                ll_map_source **out, ll_error *err) {
    *out = NULL;
    ll_map_source *s = new_source(err);
    if (!s) return LL_ERR_NOMEM;
    computed_ctx *c = calloc(1, sizeof *c);
    s->ctx = c;
    s->read = computed_read;
    s->close = computed_close;
    snprintf(s->desc, sizeof s->desc, "%s", path);
    ll_status st = LL_OK;
    ll_capture_meta meta;
    if (!c) {
        st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if ((st = ll_capture_open(path, 1, &c->capture, &meta, err)) != LL_OK) goto fail;
    int avail = meta.complete ? meta.steps : meta.steps_written;
    if (steps <= 0) steps = avail;
    if (layers <= 0) layers = meta.layers;
    if (steps > avail || layers > meta.layers || steps < 1) {
        st = ll_fail(err, LL_ERR_INVALID, "%s: %d steps x %d layers asked, the capture has %d x %d", path, steps,
                     layers, avail, meta.layers);
        goto fail;
    }
    s->shape = meta.shape;
    s->steps = steps;
    s->layers = layers;
    if ((st = computed_finish(s, c, meta.softmax_scale, tiling, err)) != LL_OK) goto fail;
    *out = s;
    return LL_OK;
fail:
    ll_map_source_close(s);
    return st;
}

ll_status ll_map_source_synth(const char *preset, uint64_t seed, const ll_tiling *tiling, int steps, int layers,
                              ll_map_source **out, ll_error *err) {
    *out = NULL;
    ll_map_source *s = new_source(err);
    if (!s) return LL_ERR_NOMEM;
    computed_ctx *c = calloc(1, sizeof *c);
    s->ctx = c;
    s->read = computed_read;
    s->close = computed_close;
    ll_status st = LL_OK;
    if (!c) {
        st = ll_fail(err, LL_ERR_NOMEM, "synthetic maps: out of memory");
        goto fail;
    }
    if ((st = ll_synth_preset(preset, &c->synth, err)) != LL_OK) goto fail;
    if (seed) c->synth.seed = seed;
    if (steps > 0) c->synth.steps = steps;
    if (layers > 0) c->synth.layers = layers;
    if ((st = ll_synth_validate(&c->synth, err)) != LL_OK) goto fail;
    snprintf(s->desc, sizeof s->desc, "synthetic preset=%s seed=%llu", preset, (unsigned long long)c->synth.seed);
    s->shape = (ll_shape){c->synth.B, ll_synth_tokens(&c->synth), c->synth.H, c->synth.D, c->synth.dtype};
    s->steps = c->synth.steps;
    s->layers = c->synth.layers;
    if ((st = computed_finish(s, c, 0.0f, tiling, err)) != LL_OK) goto fail;
    *out = s;
    return LL_OK;
fail:
    ll_map_source_close(s);
    return st;
}
