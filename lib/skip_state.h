// skip_state.h: per-layer double-buffered skip lists, the controls the
// production Python class offers (reset, threshold, enable/disable).
// Step t of a layer reads buffer A and writes buffer B; step t+1 reads B and
// writes A. Each attention layer owns its own pair.
#pragma once
#include "common.h"
#include "skip_list.h"
#include "tiling.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int n_layers;
    ll_shape shape;
    ll_tiling tiling;
    ll_list_encoding encoding;
    float threshold;  // log2 units, <= 0
    int enabled;      // 0: dense calls, lists untouched
    ll_skip_list *lists;  // 2 * n_layers lists: layer l owns lists[2l], lists[2l+1]
    int *read_index;      // per layer: 0 or 1, which of its pair is read next
    long *steps;          // per layer: calls made since the last reset
} ll_skip_state;

ll_status ll_skip_state_init(ll_skip_state *st, int n_layers, const ll_shape *shape, const ll_tiling *tiling,
                             ll_list_encoding enc, float threshold, int enabled, ll_error *err);
void ll_skip_state_free(ll_skip_state *st);
// Every list becomes full again and every layer reads buffer 0 next.
void ll_skip_state_reset(ll_skip_state *st);
// Threshold must be <= 0 and not NaN (-INFINITY allowed: marks nothing).
ll_status ll_skip_state_set_threshold(ll_skip_state *st, float threshold, ll_error *err);
void ll_skip_state_enable(ll_skip_state *st, int enabled);
// The lists the next call of `layer` reads and writes (NULLs when disabled).
ll_status ll_skip_state_lists(ll_skip_state *st, int layer, ll_skip_list **read, ll_skip_list **write,
                              ll_error *err);
// Call after a successful call of `layer`: swaps its read and write buffers.
void ll_skip_state_advance(ll_skip_state *st, int layer);
// Fraction of key tiles the next read list of `layer` computes (1.0 when disabled).
double ll_skip_state_kept_fraction(const ll_skip_state *st, int layer);

#ifdef __cplusplus
}
#endif
