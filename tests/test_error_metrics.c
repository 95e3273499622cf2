// test_error_metrics.c: the output error of a call does not depend on how
// many threads computed it (a sharded run's rows must equal an unsharded
// run's bit for bit, whatever OMP_NUM_THREADS each process had).
#include <CUnit/CUnit.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "error_metrics.h"
#include "rng.h"
#include "test_suites.h"

static void test_thread_count_independent(void) {
    ll_shape s = {1, 3001, 3, 64, LL_BF16};  // rows not a multiple of any block or thread count
    size_t n = ll_shape_elems(&s);
    float *out = malloc(n * sizeof *out), *ref = malloc(n * sizeof *ref);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
    ll_rng g;
    ll_rng_seed(&g, 11);
    for (size_t i = 0; i < n; i++) {
        ref[i] = (float)ll_rng_normal(&g);
        out[i] = ref[i] + 1e-3f * (float)ll_rng_normal(&g);
    }
    ll_tensor_view o = {.f32 = out, .dtype = s.dtype}, r = {.f32 = ref, .dtype = s.dtype};
    int saved = omp_get_max_threads();
    ll_output_error first, whole, first_heads[3], heads[3];
    ll_error err;
    omp_set_num_threads(1);
    CU_ASSERT_EQUAL_FATAL(ll_output_error_compute(&s, o, r, &first, first_heads, &err), LL_OK);
    for (int threads = 2; threads <= 5; threads++) {
        omp_set_num_threads(threads);
        CU_ASSERT_EQUAL_FATAL(ll_output_error_compute(&s, o, r, &whole, heads, &err), LL_OK);
        CU_ASSERT_EQUAL(memcmp(&whole, &first, sizeof whole), 0);
        CU_ASSERT_EQUAL(memcmp(heads, first_heads, sizeof heads), 0);
    }
    omp_set_num_threads(saved);
    CU_ASSERT(first.rel_l2 > 0 && first.rel_l2 < 1e-2);
    free(out);
    free(ref);
}

int register_error_metrics_suite(void) {
    CU_pSuite s = CU_add_suite("error_metrics", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "output error bit-identical for 1 to 5 threads", test_thread_count_independent))
        return CU_get_error();
    return CUE_SUCCESS;
}
