// trajectory.c: synthetic or captured Q/K/V per (step, layer).
#include "trajectory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "synth.h"

struct ll_trajectory {
    ll_trajectory_source source;
    ll_synth_config synth;
    ll_capture_reader *capture;
    ll_trajectory_info info;
};

static ll_status open_synthetic(const ll_trajectory_spec *spec, const char *where, ll_trajectory *t, ll_error *err) {
    ll_synth_config *c = &t->synth;
    ll_error e2;
    ll_error_clear(&e2);
    if (ll_synth_preset(spec->preset, c, &e2) != LL_OK)
        return ll_fail(err, LL_ERR_USAGE, "%s: trajectory.synthetic: %s", where, e2.msg);
    c->seed = spec->seed;
    if (spec->steps) c->steps = spec->steps;
    if (spec->layers) c->layers = spec->layers;
    if (spec->batch) c->B = spec->batch;
    if (spec->heads) c->H = spec->heads;
    if (spec->head_dim) c->D = spec->head_dim;
    if (spec->dtype >= 0) c->dtype = (ll_dtype)spec->dtype;
    if (spec->frames) c->frames = spec->frames;
    if (spec->height) c->height = spec->height;
    if (spec->width) c->width = spec->width;
    if (ll_synth_validate(c, &e2) != LL_OK) return ll_fail(err, LL_ERR_USAGE, "%s: trajectory: %s", where, e2.msg);
    ll_trajectory_info *i = &t->info;
    i->shape = (ll_shape){c->B, ll_synth_tokens(c), c->H, c->D, c->dtype};
    i->steps = c->steps;
    i->layers = c->layers;
    i->frames = c->frames;
    i->height = c->height;
    i->width = c->width;
    i->softmax_scale = 0;
    snprintf(i->description, sizeof i->description, "synthetic preset=%s seed=%llu grid=%dx%dx%d", spec->preset,
             (unsigned long long)c->seed, c->frames, c->height, c->width);
    return LL_OK;
}

static ll_status open_capture(const ll_trajectory_spec *spec, const char *where, ll_trajectory *t, ll_error *err) {
    ll_capture_meta m;
    LL_TRY(ll_capture_open(spec->capture_path, 0, &t->capture, &m, err));
    ll_trajectory_info *i = &t->info;
    i->shape = m.shape;
    i->steps = m.steps;
    i->layers = m.layers;
    if (spec->steps > m.steps)
        return ll_fail(err, LL_ERR_USAGE, "%s: trajectory.steps: %d, but %s holds %d steps", where, spec->steps,
                       spec->capture_path, m.steps);
    if (spec->layers > m.layers)
        return ll_fail(err, LL_ERR_USAGE, "%s: trajectory.layers: %d, but %s holds %d layers", where, spec->layers,
                       spec->capture_path, m.layers);
    if (spec->steps) i->steps = spec->steps;
    if (spec->layers) i->layers = spec->layers;
    i->frames = m.frames;
    i->height = m.height;
    i->width = m.width;
    i->softmax_scale = m.softmax_scale;
    snprintf(i->description, sizeof i->description, "capture %.200s (%.40s)", spec->capture_path, m.model);
    return LL_OK;
}

ll_status ll_trajectory_open(const ll_trajectory_spec *spec, const char *where, ll_trajectory **out,
                             ll_trajectory_info *info, ll_error *err) {
    *out = NULL;
    ll_trajectory *t = calloc(1, sizeof *t);
    if (!t) return ll_fail(err, LL_ERR_NOMEM, "trajectory: out of memory");
    t->source = spec->source;
    ll_status s = spec->source == LL_TRAJ_SYNTHETIC ? open_synthetic(spec, where, t, err)
                                                    : open_capture(spec, where, t, err);
    if (s == LL_OK) s = ll_shape_validate(&t->info.shape, "trajectory", err);
    if (s != LL_OK) {
        ll_trajectory_close(t);
        return s;
    }
    *info = t->info;
    *out = t;
    return LL_OK;
}

ll_status ll_trajectory_get(ll_trajectory *t, int step, int layer, uint16_t *q, uint16_t *k, uint16_t *v,
                            ll_error *err) {
    if (step < 0 || step >= t->info.steps || layer < 0 || layer >= t->info.layers)
        return ll_fail(err, LL_ERR_INVALID, "trajectory: (step %d, layer %d) out of range (%d steps, %d layers)", step,
                       layer, t->info.steps, t->info.layers);
    if (t->source == LL_TRAJ_SYNTHETIC) return ll_synth_generate(&t->synth, step, layer, q, k, v, err);
    return ll_capture_read(t->capture, step, layer, q, k, v, 1, err);
}

void ll_trajectory_close(ll_trajectory *t) {
    if (!t) return;
    if (t->capture) ll_capture_close_reader(t->capture);
    free(t);
}
