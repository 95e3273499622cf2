// gpu_test.h: shared pieces of the GPU test program (build/gpu_test, `make
// gpu-test`). The device image has no CUnit, so checks are counted here and
// the program ends with "N passed, M failed".
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "common.h"
#include "cuda_attention.h"
#include "reference_attention.h"

extern int gt_passed, gt_failed;

// The kernel family under test (--kernel): portable, or hopper, which the
// cases whose head dim it does not take (D = 96) run on the portable kernel.
extern ll_kernel_variant gt_kernel;
ll_kernel_variant gt_variant_for(const ll_shape *s);

// Counts one check; prints the message (printf style) only on failure.
#define GT_CHECK(cond, ...)                                          \
    do {                                                             \
        if (cond) {                                                  \
            gt_passed++;                                             \
        } else {                                                     \
            gt_failed++;                                             \
            printf("  FAIL %s:%d: ", __FILE__, __LINE__);           \
            printf(__VA_ARGS__);                                     \
            printf("\n");                                            \
        }                                                            \
    } while (0)

// A status that must be LL_OK; on failure prints the call's message.
#define GT_OK(call, err)                                                                          \
    do {                                                                                          \
        ll_status gt_s_ = (call);                                                                 \
        GT_CHECK(gt_s_ == LL_OK, "%s -> %s: %s", #call, ll_status_name(gt_s_), (err)->msg);      \
    } while (0)

// Input kinds: iid normal Q, K, V; or clustered tokens (runs of tokens share
// a direction in Q and K, so whole tiles become negligible; `strength` grows
// with `step` to mimic attention sharpening over denoising steps).
typedef enum { GT_RANDOM = 0, GT_CLUSTERED = 1 } gt_input_kind;
void gt_make_inputs(const ll_shape *s, gt_input_kind kind, uint64_t seed, int step, uint16_t *q, uint16_t *k,
                    uint16_t *v);

// Timings of the dense and sparse kernels (tests/gpu/gpu_bench.c).
void gt_run_bench(int full);
