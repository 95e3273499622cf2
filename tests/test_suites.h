// test_suites.h: the list of CUnit suites. Add a suite: write
// tests/test_<unit>.c with `int register_<unit>_suite(void)` and list it here.
#pragma once
#include <CUnit/CUnit.h>
#include <stdio.h>

#include "cuda_attention.h"

// The CLI binary the suites run, relative to tests/ (the Makefile passes
// ../$(BUILD)/litelab, so a build folder other than build/ works too).
#ifndef LITELAB
#define LITELAB "../build/litelab"
#endif

// Tests of the CUDA backend's host code (tile choice, kernel versions,
// argument checks of the kernels' entry points) need a build with CUDA; in
// a build without it (make CUDA=0) they say so and return. Every test runs
// in a CUDA build, with or without a GPU.
#define SKIP_WITHOUT_CUDA_BUILD()                                            \
    do {                                                                     \
        if (!ll_cuda_built()) {                                              \
            printf("skipped: litelab was built without CUDA (make CUDA=0) "); \
            return;                                                          \
        }                                                                    \
    } while (0)

typedef int (*test_suite_fn)(void);

// Plain declarations: a suite listed here whose file is missing is a link
// error, never a suite that silently does not run.
int register_common_suite(void);
int register_skip_list_suite(void);
int register_skip_mask_suite(void);
int register_flops_suite(void);
int register_tile_overrides_suite(void);
int register_skip_state_suite(void);
int register_reference_suite(void);
int register_capture_suite(void);
int register_synth_suite(void);
int register_cli_suite(void);
int register_trace_suite(void);
int register_policy_suite(void);
int register_tile_maps_suite(void);
int register_config_suite(void);
int register_cuda_api_suite(void);
int register_analysis_suite(void);
int register_calibrate_suite(void);
int register_run_suite(void);
int register_bench_cases_suite(void);
int register_bench_cli_suite(void);
int register_gpu_paths_suite(void);
int register_walk_order_suite(void);
int register_figures_suite(void);
int register_report_output_suite(void);
int register_progress_suite(void);
int register_error_metrics_suite(void);
int register_shard_suite(void);

static test_suite_fn const test_suites[] = {
    register_common_suite,
    register_skip_list_suite,
    register_skip_mask_suite,
    register_flops_suite,
    register_tile_overrides_suite,
    register_skip_state_suite,
    register_reference_suite,
    register_capture_suite,
    register_synth_suite,
    register_cli_suite,
    register_trace_suite,
    register_policy_suite,
    register_tile_maps_suite,
    register_config_suite,
    register_cuda_api_suite,
    register_analysis_suite,
    register_calibrate_suite,
    register_run_suite,
    register_bench_cases_suite,
    register_bench_cli_suite,
    register_gpu_paths_suite,
    register_walk_order_suite,
    register_figures_suite,
    register_report_output_suite,
    register_progress_suite,
    register_error_metrics_suite,
    register_shard_suite,
};
static const int n_test_suites = (int)(sizeof test_suites / sizeof test_suites[0]);
