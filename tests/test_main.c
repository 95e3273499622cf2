// test_main.c: runs every CUnit suite. Each suite file defines one
// register_*_suite() that adds its tests; every suite tests/test_suites.h
// lists must be linked in (a missing one fails the build).
#include <CUnit/Basic.h>
#include <stdio.h>

#include "test_suites.h"

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return CU_get_error();
    for (int i = 0; i < n_test_suites; i++) {
        if (test_suites[i]() != CUE_SUCCESS) {
            fprintf(stderr, "suite registration failed: %s\n", CU_get_error_msg());
            CU_cleanup_registry();
            return 1;
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "no test ran\n");
        return 1;
    }
    return failed ? 1 : 0;
}
