// test_suites.h: the list of CUnit suites. Add a suite: write
// tests/test_<unit>.c with `int register_<unit>_suite(void)` and list it here.
#pragma once
#include <CUnit/CUnit.h>

typedef int (*test_suite_fn)(void);

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

static const test_suite_fn test_suites[] = {
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
    0,
};
