// policy.h: ONE interface for every skip-propagation policy the harness
// replays (LiteAttention and its peers). A policy decides, for each attention
// call (step, layer), which key tiles the kernel reads and whether the
// kernel's QK-skip criterion runs and where its write list goes; it sees the
// write list afterwards. The harness runs the call and measures it; the
// policy never touches a device.
//
// Life of a policy in `litelab run`:
//   create(params, setup)                      once
//   for each step:   begin_step(step)
//     for each layer: pass = 0
//       do { decide(ctx) -> call; the backend runs call;
//            after_call(ctx, call, &again); pass++ } while (again)
//       (the last pass is the measured one)
//   checkpoint(layer) after each step -> the trace; restore(layer) on --resume
//
// Adding a policy = one file lib/policy_<name>.c defining an ll_policy_ops
// and one line in the table of lib/policy_registry.c.
#pragma once
#include <stdint.h>

#include <cJSON.h>

#include "common.h"
#include "skip_list.h"
#include "tile_maps.h"
#include "tiling.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

// What a policy is created for.
typedef struct {
    ll_shape shape;
    ll_tiling tiling;
    int steps, layers;
    int frames, height, width;      // token grid (frames*height*width == N); 0 when unknown
    ll_list_encoding encoding;      // the experiment's list encoding
    const uint8_t *key_tile_flags;  // must-do / must-skip per key tile (ll_key_tile_flags), or NULL
} ll_policy_setup;

// One call as the policy wants it.
typedef struct {
    const ll_skip_list *read;  // tiles to compute; NULL: dense (every tile)
    ll_skip_list *write;       // where the kernel's criterion records; NULL: criterion off
    float threshold;           // the policy's threshold at this call (the criterion's when write
                               // is set); NAN when the policy has none
} ll_policy_call;

typedef struct {
    int step, layer;
    int pass;                      // 0, then 1, 2, ... while after_call asks for another pass
    const ll_tile_map *dense_map;  // the dense tile map of this (step, layer), for policies with
                                   // needs_tile_map; NULL otherwise
} ll_policy_ctx;

typedef struct {
    const char *kind;              // the config's "kind"
    const char *summary;           // one line for --help
    const char *const *keys;       // parameter keys besides "name" and "kind", NULL-terminated
    int needs_tile_map;            // decide() reads ctx->dense_map
    // Parses and checks the parameters (no shape yet); messages start with `where`.
    ll_status (*check)(const cJSON *params, const char *where, ll_error *err);
    ll_status (*create)(const cJSON *params, const char *where, const ll_policy_setup *setup, void **state,
                        ll_error *err);
    void (*destroy)(void *state);
    ll_status (*begin_step)(void *state, int step, ll_error *err);  // may be NULL
    ll_status (*decide)(void *state, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err);
    // Sees the call after it ran (call->write holds the criterion's list).
    // Sets *again = 1 to run another pass of the same (step, layer). May be NULL.
    ll_status (*after_call)(void *state, const ll_policy_ctx *ctx, const ll_policy_call *call, int *again,
                            ll_error *err);
    // The list `layer` reads at its next call, for the trace checkpoint; NULL
    // for policies that keep no list from step to step. May be NULL.
    const ll_skip_list *(*checkpoint)(void *state, int layer);
    // Puts a checkpointed list back (--resume); called for each layer before
    // the first resumed begin_step. Required when checkpoint is set.
    ll_status (*restore)(void *state, int layer, const ll_skip_list *next_read, ll_error *err);
} ll_policy_ops;

// A created policy.
typedef struct {
    const ll_policy_ops *ops;
    char name[64];
    char params_json[512];  // the config object less name and kind, compact JSON
    void *state;
} ll_policy;

// The registry (lib/policy_registry.c).
int ll_policy_kind_count(void);
const ll_policy_ops *ll_policy_kind_at(int i);
const ll_policy_ops *ll_policy_find(const char *kind);

// Checks one config object {"name", "kind", ...}: name a non-empty string of
// at most 63 characters, kind known, no unknown keys, parameters valid.
ll_status ll_policy_check(const cJSON *obj, const char *where, ll_error *err);
ll_status ll_policy_create(const cJSON *obj, const char *where, const ll_policy_setup *setup, ll_policy *out,
                           ll_error *err);
void ll_policy_destroy(ll_policy *p);
// Name, kind and parameters for the trace.
ll_trace_policy ll_policy_describe(const ll_policy *p);

// Thin wrappers over the ops (optional ops are skipped).
ll_status ll_policy_begin_step(ll_policy *p, int step, ll_error *err);
ll_status ll_policy_decide(ll_policy *p, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err);
ll_status ll_policy_after_call(ll_policy *p, const ll_policy_ctx *ctx, const ll_policy_call *call, int *again,
                               ll_error *err);
const ll_skip_list *ll_policy_checkpoint(ll_policy *p, int layer);
ll_status ll_policy_restore(ll_policy *p, int layer, const ll_skip_list *next_read, ll_error *err);

// ---------------------------------------------------------------------------
// Helpers shared by the policy files (lib/policy_common.c).

// Allocates a list of the setup's dimensions (B, H, q_tiles, k_tiles), every row full.
ll_status ll_policy_alloc_list(const ll_policy_setup *s, ll_list_encoding enc, ll_skip_list *l, ll_error *err);
// Applies the must-do / must-skip flags to a keep row (flags may be NULL).
void ll_policy_apply_flags(uint8_t *keep, int k_tiles, const uint8_t *flags);
// The row of `l` at (b, h, qt) that computes exactly keep (after the flags).
void ll_policy_set_row(ll_skip_list *l, int b, int h, int qt, uint8_t *keep, const uint8_t *flags);

#ifdef __cplusplus
}
#endif
