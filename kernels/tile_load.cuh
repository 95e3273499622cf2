// tile_load.cuh: rows of a [B, N, H, D] tensor (token stride H*D) into
// shared memory with 16-byte cp.async, coalesced (consecutive threads take
// consecutive 16-byte chunks of a row), rows past N zero-filled.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "mma_sm80.cuh"

namespace ll {

// ROWS x D tile of a [B, N, H, D] tensor, rows from token row0 on, into
// shared memory (pitch LD) with 16-byte cp.async; rows past N are zero-filled.
template <int ROWS, int D, int LD, int THREADS>
__device__ __forceinline__ void load_tile_async(uint16_t *s_dst, const uint16_t *g, int row0, int N,
                                                size_t token_stride) {
    constexpr int CHUNKS_PER_ROW = D / 8;
    constexpr int CHUNKS = ROWS * CHUNKS_PER_ROW;
    static_assert(CHUNKS % THREADS == 0, "every thread copies the same number of chunks");
    // An opaque copy of the thread index: stops the compiler from hoisting
    // every chunk's 64-bit row offset out of the main loop (16 offsets would
    // hold 32 registers for the whole kernel; recomputing them is cheap).
    int tid = threadIdx.x;
    asm volatile("" : "+r"(tid));
#pragma unroll
    for (int i = 0; i < CHUNKS / THREADS; i++) {
        int c = tid + i * THREADS;
        int r = c / CHUNKS_PER_ROW, ch = c % CHUNKS_PER_ROW;
        int token = row0 + r;
        bool valid = token < N;
        const uint16_t *src = g + (size_t)(valid ? token : 0) * token_stride + ch * 8;
        cp_async_16(smem_u32(s_dst + r * LD + ch * 8), src, valid);
    }
}

}  // namespace ll
