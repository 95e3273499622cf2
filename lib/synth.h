// synth.h: deterministic synthetic video-DiT trajectories (synthetic, not a
// real model: see the comment in synth.c for what it models).
// Tokens lie on a frames x height x width grid; each head has a character
// (spatial-local, temporal-local, global/sink, diffuse); a noise schedule
// sharpens attention step by step so that negligible tiles persist from one
// step to the next, as the LiteAttention paper observes on real models.
// Any (step, layer) can be generated on its own, in parallel, from the seed.
#pragma once
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { LL_HEAD_SPATIAL = 0, LL_HEAD_TEMPORAL = 1, LL_HEAD_SINK = 2, LL_HEAD_DIFFUSE = 3 } ll_head_kind;
const char *ll_head_kind_name(ll_head_kind k);

typedef struct {
    uint64_t seed;
    int steps, layers;
    int B, H, D;
    ll_dtype dtype;
    int frames, height, width;  // N = frames * height * width
} ll_synth_config;

static inline int ll_synth_tokens(const ll_synth_config *c) { return c->frames * c->height * c->width; }

// Named presets: "tiny" (tests: 4x6x8 grid, 2 heads, D=64, 4 steps, 2 layers),
// "small" (CPU demo), "wan480p" (1x40x32760x128: 21x30x52), "wan720p"
// (1x40x75600x128: 21x45x80), each with 50 steps unless changed.
ll_status ll_synth_preset(const char *name, ll_synth_config *out, ll_error *err);
ll_status ll_synth_validate(const ll_synth_config *c, ll_error *err);
ll_head_kind ll_synth_head_kind(const ll_synth_config *c, int layer, int head);

// Writes Q, K, V [B, N, H, D] (16-bit words of c->dtype) for one (step, layer).
// OpenMP-parallel; identical output for any thread count.
ll_status ll_synth_generate(const ll_synth_config *c, int step, int layer, uint16_t *q, uint16_t *k,
                            uint16_t *v, ll_error *err);

#ifdef __cplusplus
}
#endif
