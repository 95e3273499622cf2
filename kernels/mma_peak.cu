// mma_peak.cu: the tensor-core ceiling the portable kernel works under:
// back-to-back mma.sync m16n8k16 (bf16 in, fp32 accumulate) from registers,
// 8 independent accumulator chains per warp so that the pipe never waits on
// a result. No memory traffic; the sum is written once so nothing is elided.
#include <stdint.h>

#include "mma_sm80.cuh"
#include "portable_attention.h"

namespace ll {

constexpr int PEAK_CHAINS = 8;

__global__ void __launch_bounds__(256) mma_peak_kernel(int iters, float *sink) {
    uint32_t a[4], b0 = 0x3f803f80u ^ threadIdx.x, b1 = 0x3f803f80u;  // bf16 pairs near 1
    for (int i = 0; i < 4; i++) a[i] = 0x3c003c00u + threadIdx.x + i;
    float c[PEAK_CHAINS][4] = {};
    for (int it = 0; it < iters; it++) {
#pragma unroll
        for (int j = 0; j < PEAK_CHAINS; j++) mma_16816(bf16_tag{}, c[j], a, b0, b1);
    }
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < PEAK_CHAINS; j++) s += c[j][0] + c[j][1] + c[j][2] + c[j][3];
    if (s == 12345.678f) sink[threadIdx.x] = s;  // practically never: keeps the chains alive
}

}  // namespace ll

cudaError_t ll_mma_peak_launch(int blocks, int iters, float *sink, cudaStream_t stream) {
    ll::mma_peak_kernel<<<blocks, 256, 0, stream>>>(iters, sink);
    return cudaGetLastError();
}

double ll_mma_peak_flops(int blocks, int iters) {
    return (double)blocks * 8 /* warps */ * iters * ll::PEAK_CHAINS * (2.0 * 16 * 8 * 16);
}
