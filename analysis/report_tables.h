// report_tables.h: helpers the table writers share (report_tables.c, and the
// JSON document of report_json.c). Internal to analysis/.
#pragma once
#include <stdio.h>

#include "report.h"

const char *ll_runtime_source_name(ll_runtime_source s);  // "gpu", "host", "none"
const char *ll_report_base_name(const char *path);        // the file name of a path

// The NVBench-style JSON document: the traces, then one state per policy and
// one per (policy, step), each with its axis values and summaries.
ll_status ll_report_json(FILE *f, const char *name, const ll_report_input *in, const ll_policy_summary *p, int n_p,
                         const ll_step_summary *s, size_t n_s, ll_error *err);
