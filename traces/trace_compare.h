// trace_compare.h: do two traces hold the same results? (`litelab compare`,
// and the check that a merged sharded run equals the unsharded run.)
// Compared: the experiment (config JSON, trajectory, shape, steps, layers,
// grid, tiling, encoding, scale, backend, kernel, steps done, completeness),
// the policies, every row of /calls in order (all fields, floats bit for bit
// with NaN equal to NaN; gpu_ms and host_ms skipped with ignore_timings),
// every mask, tile map and checkpoint (which exist, and their contents
// element for element; checkpoints with their slot labels). Not compared:
// provenance (versions, creation time, GPU, clocks, counters status, shard).
#pragma once
#include <stdio.h>

#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int ignore_timings;
    int max_report;  // differences printed to report (0: 20)
} ll_trace_compare_options;

// *n_diff: differences found (0: equal). Each of the first max_report goes
// to report (may be NULL) as one line. Unreadable files: an error status.
ll_status ll_trace_compare(const char *a, const char *b, const ll_trace_compare_options *o, FILE *report,
                           long *n_diff, ll_error *err);

#ifdef __cplusplus
}
#endif
