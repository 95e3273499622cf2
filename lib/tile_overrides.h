// tile_overrides.h: must-do and must-skip token ranges turned into key-tile
// flags, with one rounding rule used by every code path (CPU reference, CUDA
// kernels, policies):
//   must-do   rounds OUTWARD: a key tile holding any must-do token is always
//             computed and never marked negligible (text tokens stay exact);
//   must-skip rounds INWARD: a key tile is skipped only when every token in it
//             (up to N for the partial last tile) lies in must-skip ranges.
// Token ranges are half-open [begin, end) on the key axis. Overlapping
// must-do and must-skip ranges are rejected.
#pragma once
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { LL_TILE_FREE = 0, LL_TILE_MUST_DO = 1, LL_TILE_MUST_SKIP = 2 };

typedef struct {
    int64_t begin, end;  // tokens [begin, end), 0 <= begin < end <= N
} ll_token_range;

typedef struct {
    const ll_token_range *must_do;
    int n_must_do;
    const ll_token_range *must_skip;
    int n_must_skip;
} ll_overrides;

// Writes one flag per key tile (k_tiles = ceil(N / block_n) bytes) into flags.
ll_status ll_key_tile_flags(int N, int block_n, const ll_overrides *ov, uint8_t *flags, ll_error *err);
// Parses "a:b,c:d" into ranges (malloc'd array). Empty string -> 0 ranges.
ll_status ll_token_ranges_parse(const char *s, ll_token_range **out, int *n, ll_error *err);

#ifdef __cplusplus
}
#endif
