// trace_shard.h: the shard provenance of a trace written by `litelab run
// --shard I/N` (lib/shard.h; traces/FORMAT.md 4.9): which shard of how many,
// the layers per work unit, and the units it ran. `litelab merge` reads it
// to check that shards cover every unit once; `--resume` reads it to refuse
// a .partial of another shard.
#pragma once
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int index, count, layers_per_unit;
    int n_units;
    int *units;  // increasing unit numbers (malloc'd by the reader)
} ll_trace_shard;

// Root attributes shard ("I/N"), shard_index, shard_count,
// shard_layers_per_unit and shard_units (ranges "0-3,7"), on an open writer.
ll_status ll_trace_write_shard(ll_trace_writer *w, const ll_trace_shard *s, ll_error *err);
// The same from a reader or a resumed writer; *present = 0 (s zeroed) for a
// trace without them (an unsharded run). Malformed ones: LL_ERR_FORMAT.
ll_status ll_trace_read_shard(ll_trace_reader *r, ll_trace_shard *s, int *present, ll_error *err);
ll_status ll_trace_writer_read_shard(ll_trace_writer *w, ll_trace_shard *s, int *present, ll_error *err);
void ll_trace_shard_free(ll_trace_shard *s);

// Unit numbers as ranges ("0-3,7,9"; "" for none) into buf; returns 0 when it
// did not fit (buf then ends in "...").
int ll_trace_format_units(const int *units, int n, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
