// test_suites.h: the list of CUnit suites. Add a suite: write
// tests/test_<unit>.c with `int register_<unit>_suite(void)` and list it here.
#pragma once
#include <CUnit/CUnit.h>

// The CLI binary the suites run, relative to tests/ (the Makefile passes
// ../$(BUILD)/litelab, so a build folder other than build/ works too).
#ifndef LITELAB
#define LITELAB "../build/litelab"
#endif

typedef int (*test_suite_fn)(void);

// Weak: a suite whose file is not built yet is skipped, not a link error.
#define SUITE(name) int name(void) __attribute__((weak));

SUITE(register_common_suite)
SUITE(register_skip_list_suite)
SUITE(register_skip_mask_suite)
SUITE(register_flops_suite)
SUITE(register_tile_overrides_suite)
SUITE(register_skip_state_suite)
SUITE(register_reference_suite)
SUITE(register_capture_suite)
SUITE(register_synth_suite)
SUITE(register_cli_suite)
SUITE(register_trace_suite)
SUITE(register_policy_suite)
SUITE(register_tile_maps_suite)
SUITE(register_config_suite)
SUITE(register_cuda_api_suite)
SUITE(register_analysis_suite)
SUITE(register_calibrate_suite)
SUITE(register_run_suite)
SUITE(register_bench_cases_suite)
SUITE(register_bench_cli_suite)

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
};
static const int n_test_suites = (int)(sizeof test_suites / sizeof test_suites[0]);
