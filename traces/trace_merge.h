// trace_merge.h: one trace from the traces of a sharded run (`litelab
// merge`; lib/shard.h). The shards must be complete traces of the same
// experiment (config JSON, trajectory, shape, tiling, steps, layers,
// policies), written by the same litelab (version and commit) on the same
// backend and kernel, of one plan (shard count, layers per unit), and
// together hold every work unit exactly once. The merged trace then holds
// what an unsharded run writes: the rows in the same order (by step, layer,
// policy, head), every mask, tile map and checkpoint; its provenance is the
// first shard's, with "merged_from". Every problem fails with a message
// naming the shard file and the missing or duplicate units; nothing is
// left at OUT then (the writer works on OUT.partial, removed on failure).
#pragma once
#include <stdio.h>

#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

// force: replace an existing OUT (else LL_ERR_USAGE). log: one line per
// step of the work (may be NULL).
ll_status ll_trace_merge(const char *out, const char *const *shards, int n, int force, FILE *log, ll_error *err);

#ifdef __cplusplus
}
#endif
