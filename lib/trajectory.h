// trajectory.h: a source of Q, K, V for every attention call (step, layer)
// of a denoising trajectory: a synthetic one generated on demand (lib/synth.h)
// or a capture file (traces/capture.h). Everything downstream reads either.
#pragma once
#include <stdint.h>

#include "common.h"
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    ll_shape shape;
    int steps, layers;          // what the experiment uses (a capture may hold more)
    int frames, height, width;  // token grid; 0 when unknown
    float softmax_scale;        // the model's (0: 1/sqrt(D))
    int n_seeds;                // synthetic trajectories of several seeds (config "seeds"); else 1
    char description[256];      // e.g. "synthetic preset=tiny seed=1" or the capture file
} ll_trajectory_info;

typedef struct ll_trajectory ll_trajectory;

// Opens the trajectory a config names (synthetic overrides applied, capture
// limits checked against the file). Messages name `where` (e.g. the config file).
ll_status ll_trajectory_open(const ll_trajectory_spec *spec, const char *where, ll_trajectory **out,
                             ll_trajectory_info *info, ll_error *err);
// Q, K, V [B, N, H, D] of one call into caller buffers of ll_shape_elems words.
ll_status ll_trajectory_get(ll_trajectory *t, int step, int layer, uint16_t *q, uint16_t *k, uint16_t *v,
                            ll_error *err);
// The same for the trajectory of seed number seed_index (< n_seeds).
ll_status ll_trajectory_get_seed(ll_trajectory *t, int seed_index, int step, int layer, uint16_t *q, uint16_t *k,
                                 uint16_t *v, ll_error *err);
void ll_trajectory_close(ll_trajectory *t);

#ifdef __cplusplus
}
#endif
