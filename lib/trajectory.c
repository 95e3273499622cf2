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
    uint64_t seeds[LL_MAX_SEEDS];
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
    i->n_seeds = spec->n_seeds > 1 ? spec->n_seeds : 1;
    t->seeds[0] = c->seed;
    if (spec->n_seeds > 1) memcpy(t->seeds, spec->seeds, sizeof(uint64_t) * (size_t)spec->n_seeds);
    char seeds[200] = "";
    for (int s = 0, len = 0; s < i->n_seeds && len < (int)sizeof seeds; s++)
        len += snprintf(seeds + len, sizeof seeds - (size_t)len, "%s%llu", s ? "," : "", (unsigned long long)t->seeds[s]);
    snprintf(i->description, sizeof i->description, "synthetic preset=%s %s=%s grid=%dx%dx%d", spec->preset,
             i->n_seeds > 1 ? "seeds" : "seed", seeds, c->frames, c->height, c->width);
    if (strlen(seeds) >= sizeof seeds - 1 || strlen(i->description) >= sizeof i->description - 1)
        return ll_fail(err, LL_ERR_USAGE, "%s: trajectory.seeds: too many digits to describe (at most %zu characters)",
                       where, sizeof i->description - 64);
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
    i->n_seeds = 1;
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
    return ll_trajectory_get_seed(t, 0, step, layer, q, k, v, err);
}

ll_status ll_trajectory_get_seed(ll_trajectory *t, int seed_index, int step, int layer, uint16_t *q, uint16_t *k,
                                 uint16_t *v, ll_error *err) {
    if (seed_index < 0 || seed_index >= t->info.n_seeds)
        return ll_fail(err, LL_ERR_INVALID, "trajectory: seed number %d out of range (%d seeds)", seed_index,
                       t->info.n_seeds);
    if (step < 0 || step >= t->info.steps || layer < 0 || layer >= t->info.layers)
        return ll_fail(err, LL_ERR_INVALID, "trajectory: (step %d, layer %d) out of range (%d steps, %d layers)", step,
                       layer, t->info.steps, t->info.layers);
    if (t->source == LL_TRAJ_SYNTHETIC) {
        ll_synth_config c = t->synth;
        c.seed = t->seeds[seed_index];
        return ll_synth_generate(&c, step, layer, q, k, v, err);
    }
    return ll_capture_read(t->capture, step, layer, q, k, v, 1, err);
}

void ll_trajectory_close(ll_trajectory *t) {
    if (!t) return;
    if (t->capture) ll_capture_close_reader(t->capture);
    free(t);
}
