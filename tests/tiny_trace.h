// tiny_trace.h: a tiny CPU trace for the suites that need a real one
// (figures, report outputs): `litelab run` on the "tiny" synthetic preset
// (192 tokens, 2 heads, 4 steps x 2 layers) with 64x64 tiles (3 x 3 tiles),
// per-head rows, the masks of layer 0 at every step and its tile maps at
// steps 0 and 3; policies dense, lite_t-6, lite_t-2, lite_t-1, oracle_t-6.
#pragma once
#include <stddef.h>

#define TINY_TRACE_STEPS 4
#define TINY_TRACE_POLICIES 5

// Writes DIR/tiny.json and DIR/tiny.h5 (path into trace); 0 on success.
int tt_make_tiny_trace(const char *dir, char *trace, size_t len);
