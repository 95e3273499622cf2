// test_cuda_api.c: the CUDA host API on a machine without a GPU (CI): the
// library links, every misuse is refused before any device is touched, and
// every call that needs the device answers LL_ERR_NO_GPU with a readable
// message. On a machine with a GPU the no-GPU checks are skipped (the GPU
// tests in tests/gpu cover that side). In a build without CUDA (make CUDA=0)
// the tests of the CUDA host code skip, saying so, and that build's own
// answers are checked instead.
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cuda_attention.h"
#include "gpu_counters.h"
#include "gpu_timer.h"
#include "test_suites.h"

static int have_gpu(void) {
    ll_error err;
    return ll_cuda_probe(NULL, 0, NULL, NULL, &err) == LL_OK;
}

static void test_variant_names(void) {
    CU_ASSERT_STRING_EQUAL(ll_kernel_variant_name(LL_KERNEL_AUTO), "auto");
    CU_ASSERT_STRING_EQUAL(ll_kernel_variant_name(LL_KERNEL_PORTABLE), "portable");
    CU_ASSERT_STRING_EQUAL(ll_kernel_variant_name(LL_KERNEL_HOPPER), "hopper");
    CU_ASSERT_STRING_EQUAL(ll_kernel_variant_name((ll_kernel_variant)42), "unknown");
}

// Tiles and variants are known without a GPU (the CPU reference needs them).
static void test_pick(void) {
    SKIP_WITHOUT_CUDA_BUILD();
    ll_error err;
    ll_kernel_variant got;
    ll_tiling t;
    for (int D = 64; D <= 128; D += 32) {
        ll_shape s = {1, 1000, 2, D, LL_BF16};
        CU_ASSERT_EQUAL(ll_cuda_pick(&s, LL_KERNEL_AUTO, &got, &t, &err), LL_OK);
        CU_ASSERT_EQUAL(got, LL_KERNEL_PORTABLE);
        CU_ASSERT_EQUAL(t.block_m, 128);
        CU_ASSERT_EQUAL(t.block_n, 64);
    }
    // The Hopper kernel's tiles are known without a GPU too; it takes D = 64 and 128 only.
    ll_shape s = {1, 1000, 2, 128, LL_FP16};
    CU_ASSERT_EQUAL(ll_cuda_pick(&s, LL_KERNEL_HOPPER, &got, &t, &err), LL_OK);
    CU_ASSERT_EQUAL(got, LL_KERNEL_HOPPER);
    CU_ASSERT_EQUAL(t.block_m, 128);
    CU_ASSERT_EQUAL(t.block_n, 128);
    s.D = 96;
    CU_ASSERT_EQUAL(ll_cuda_pick(&s, LL_KERNEL_HOPPER, &got, &t, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "D=96"));
    s.D = 128;
    CU_ASSERT_EQUAL(ll_cuda_pick(&s, (ll_kernel_variant)9, &got, &t, &err), LL_ERR_INVALID);
    s.D = 80;
    CU_ASSERT_EQUAL(ll_cuda_pick(&s, LL_KERNEL_AUTO, &got, &t, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_cuda_pick(NULL, LL_KERNEL_AUTO, &got, &t, &err), LL_ERR_INVALID);
}

// One kernel per family, named as results record it.
static void test_kernel_names(void) {
    SKIP_WITHOUT_CUDA_BUILD();
    CU_ASSERT_STRING_EQUAL(ll_cuda_kernel_name(LL_KERNEL_PORTABLE), "portable_v5");
    CU_ASSERT_STRING_EQUAL(ll_cuda_kernel_name(LL_KERNEL_HOPPER), "hopper_v5");
    CU_ASSERT_PTR_NULL(ll_cuda_kernel_name(LL_KERNEL_AUTO));
    CU_ASSERT_PTR_NULL(ll_cuda_kernel_name((ll_kernel_variant)42));
}

// Argument errors come back as LL_ERR_INVALID before any device is touched.
static void test_forward_validation(void) {
    SKIP_WITHOUT_CUDA_BUILD();
    ll_error err;
    ll_kernel_variant got;
    ll_shape s = {1, 1000, 2, 64, LL_BF16};
    ll_attn_params p = {.shape = s, .threshold = -8.0f};
    CU_ASSERT_EQUAL_FATAL(ll_cuda_pick(&s, LL_KERNEL_AUTO, &got, &p.tiling, &err), LL_OK);
    // never dereferenced: validation refuses or the missing GPU stops the call first
    uint16_t *fake = (uint16_t *)(uintptr_t)0x10000;
    int32_t *list = (int32_t *)(uintptr_t)0x20000;
    ll_cuda_args a = {.q = fake, .k = fake, .v = fake, .o = fake};
    ll_attn_params bad = p;
    bad.tiling.block_n = 128;
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, &bad, &a, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ll_cuda_pick"));
    bad = p;
    bad.threshold = NAN;
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, &bad, &a, &err), LL_ERR_INVALID);
    bad = p;
    bad.softmax_scale = INFINITY;
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, &bad, &a, &err), LL_ERR_INVALID);
    ll_cuda_args b = a;
    b.v = NULL;
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, &p, &b, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "V is NULL"));
    b = a;
    b.k = fake + 1;
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, &p, &b, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "aligned"));
    b = a;
    b.write_list = list;
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, &p, &b, &err), LL_ERR_INVALID);
    b.read_list = list;
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, &p, &b, &err), LL_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "distinct"));
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_HOPPER, &p, &a, &err), LL_ERR_INVALID);
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, NULL, &a, &err), LL_ERR_INVALID);
    // one key tile: the list layout cannot hold the full list, skip mode refused
    ll_shape one = {1, 50, 2, 64, LL_BF16};
    ll_attn_params p1 = {.shape = one, .tiling = p.tiling, .threshold = -8.0f};
    b = a;
    b.read_list = list;
    b.write_list = list + 1024;
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_PORTABLE, &p1, &b, &err), LL_ERR_INVALID);  // with or without a GPU
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "cannot hold"));
}

// Without a GPU every device call answers LL_ERR_NO_GPU, with a reason.
static void test_no_gpu(void) {
    if (have_gpu()) {
        CU_PASS("a GPU is present: the no-GPU answers are not checked here");
        return;
    }
    SKIP_WITHOUT_CUDA_BUILD();  // test_without_cuda checks that build's answers
    ll_error err;
    ll_error_clear(&err);
    char name[64] = "x";
    CU_ASSERT_EQUAL(ll_cuda_probe(name, sizeof name, NULL, NULL, &err), LL_ERR_NO_GPU);
    CU_ASSERT_STRING_EQUAL(name, "");
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no usable GPU"));
    void *d = (void *)1;
    CU_ASSERT_EQUAL(ll_cuda_malloc(&d, 1024, &err), LL_ERR_NO_GPU);
    CU_ASSERT_PTR_NULL(d);
    CU_ASSERT_EQUAL(ll_cuda_sync(&err), LL_ERR_NO_GPU);
    uint8_t host[16] = {0};
    CU_ASSERT_EQUAL(ll_cuda_upload((void *)(uintptr_t)0x10000, host, sizeof host, &err), LL_ERR_NO_GPU);
    ll_cuda_free(NULL);  // harmless
    ll_shape s = {1, 1000, 2, 128, LL_BF16};
    ll_kernel_variant got;
    ll_attn_params p = {.shape = s, .threshold = -8.0f};
    CU_ASSERT_EQUAL_FATAL(ll_cuda_pick(&s, LL_KERNEL_AUTO, &got, &p.tiling, &err), LL_OK);
    uint16_t *fake = (uint16_t *)(uintptr_t)0x10000;
    ll_cuda_args a = {.q = fake, .k = fake, .v = fake, .o = fake};
    CU_ASSERT_EQUAL(ll_cuda_forward(LL_KERNEL_AUTO, &p, &a, &err), LL_ERR_NO_GPU);
    double tflops = 0;
    CU_ASSERT_EQUAL(ll_cuda_mma_peak(&tflops, &err), LL_ERR_NO_GPU);
}

// A build without CUDA (lib/without_cuda.c) answers every entry point with
// LL_ERR_NO_GPU and says why; a CUDA build never claims to lack CUDA.
static void test_without_cuda(void) {
    ll_error err;
    ll_error_clear(&err);
    if (ll_cuda_built()) {
        ll_status st = ll_cuda_probe(NULL, 0, NULL, NULL, &err);
        CU_ASSERT(st == LL_OK || st == LL_ERR_NO_GPU);
        CU_ASSERT_PTR_NULL(strstr(err.msg, "built without CUDA"));
        return;
    }
    const char *why = "litelab was built without CUDA";
    CU_ASSERT_EQUAL(ll_cuda_probe(NULL, 0, NULL, NULL, &err), LL_ERR_NO_GPU);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why));
    ll_shape s = {1, 1000, 2, 128, LL_BF16};
    ll_kernel_variant got;
    ll_tiling t;
    ll_error_clear(&err);
    CU_ASSERT_EQUAL(ll_cuda_pick(&s, LL_KERNEL_AUTO, &got, &t, &err), LL_ERR_NO_GPU);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why));
    void *d = (void *)1;
    CU_ASSERT_EQUAL(ll_cuda_malloc(&d, 64, &err), LL_ERR_NO_GPU);
    CU_ASSERT_PTR_NULL(d);
    ll_attn_params p = {.shape = s, .tiling = {128, 64}};
    ll_tile_map map = {0};
    uint16_t *fake = (uint16_t *)(uintptr_t)0x10000;
    CU_ASSERT_EQUAL(ll_cuda_tile_map(&p, fake, fake, &map, &err), LL_ERR_NO_GPU);
    ll_cuda_environment env = {1, 1, 1, 1};
    CU_ASSERT_EQUAL(ll_cuda_environment_get(&env, &err), LL_ERR_NO_GPU);
    CU_ASSERT_EQUAL(env.runtime_version, 0);
    ll_gpu_counters *c = (ll_gpu_counters *)1;
    ll_error_clear(&err);
    CU_ASSERT_EQUAL(ll_gpu_counters_create(&c, NULL, 4, &err), LL_ERR_NO_GPU);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "GPU counters unavailable"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why));
    ll_gpu_timer *timer = (ll_gpu_timer *)1;
    ll_error_clear(&err);
    CU_ASSERT_EQUAL(ll_gpu_timer_create(&timer, &err), LL_ERR_NO_GPU);
    CU_ASSERT_PTR_NULL(timer);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, why));
}

int register_cuda_api_suite(void) {
    CU_pSuite s = CU_add_suite("cuda_api", NULL, NULL);
    if (!s) return CU_get_error();
    if (!CU_add_test(s, "variant names", test_variant_names) || !CU_add_test(s, "pick without a GPU", test_pick) ||
        !CU_add_test(s, "kernel names", test_kernel_names) ||
        !CU_add_test(s, "forward argument checks", test_forward_validation) ||
        !CU_add_test(s, "no GPU: LL_ERR_NO_GPU", test_no_gpu) ||
        !CU_add_test(s, "a build without CUDA says so", test_without_cuda))
        return CU_get_error();
    return CUE_SUCCESS;
}
