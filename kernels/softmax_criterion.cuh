// softmax_criterion.cuh: the online softmax of one warp's query rows, in
// log2 units (scale * log2(e) folded into one FMA before exp2), and the
// QK-skip criterion measured on the way (lib/skip_decision.h defines it):
//     crit = max over the rows r of (s_r - m_r) * scale * log2(e)
// with s_r the tile's row maximum of the raw scores and m_r the running row
// maximum BEFORE the tile (+inf on the first tile, where m_r = -inf), the
// maximum taken with ll_crit_max (NaN propagates). The arithmetic is the CPU
// reference's fp32 mode, step for step.
//
// Register layout (mma C fragments): a warp owns MT blocks of 16 rows; a
// thread holds rows g and g+8 of each block (g = lane / 4), and in every
// 8-column block of the scores s[mt][nt] or of the output o[mt][dt] the two
// columns 2t, 2t+1 (t = lane % 4). A row is spread over the 4 lanes of a quad.
#pragma once
#include <math.h>

#include "mma_sm80.cuh"
#include "skip_decision.h"

namespace ll {

__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
    x += __shfl_xor_sync(0xffffffffu, x, 1);
    return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
// Max over the 8 quads of a warp (the quad's lanes already agree).
__device__ __forceinline__ float warp_max_over_quads(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 4));
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 8));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 16));
}
// The criterion's maximum over the 8 quads of a warp: ll_crit_max, so a NaN
// row term is not dropped as fmaxf would drop it.
__device__ __forceinline__ float warp_crit_max(float x) {
    x = ll_crit_max(x, __shfl_xor_sync(0xffffffffu, x, 4));
    x = ll_crit_max(x, __shfl_xor_sync(0xffffffffu, x, 8));
    return ll_crit_max(x, __shfl_xor_sync(0xffffffffu, x, 16));
}

// Columns at or past `valid_cols` (the partial last key tile) become -inf.
template <int MT, int NT>
__device__ __forceinline__ void mask_columns(float (&s)[MT][NT][4], int valid_cols) {
    const int c0 = 2 * (threadIdx.x & 3);
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++)
                if (nt * 8 + c0 + (e & 1) >= valid_cols) s[mt][nt][e] = -INFINITY;
}

template <int MT, int NT, int DT>
struct OnlineSoftmax {
    float m[MT][2];  // running row maximum of the raw scores
    float l[MT][2];  // this thread's part of the running row sum (quad-summed at the end)

    __device__ void init() {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                m[mt][hh] = -INFINITY;
                l[mt][hh] = 0.0f;
            }
    }

    // Takes the tile's raw scores s, turns them into probabilities (in place)
    // relative to the new running maximum, rescales the output accumulator o
    // and the row sums. Returns this warp's criterion when MEASURE (rows at
    // or past valid_rows, counted from the warp's first row, are excluded),
    // -inf otherwise. The steps are also callable one by one, so that a
    // kernel whose P V runs asynchronously can rescale o once it has landed.
    template <bool MEASURE>
    __device__ float update(float (&s)[MT][NT][4], float (&o)[MT][DT][4], float scale_log2, int valid_rows) {
        float alpha[MT][2];
        float crit;
        bool rescale = new_maximum<MEASURE>(s, scale_log2, valid_rows, alpha, crit);
        if (MEASURE) crit = warp_crit_max(crit);
        if (rescale) rescale_output(o, alpha);
        exponentiate(s, scale_log2);
        return crit;
    }

    // Step 1: the tile's row maxima; moves m to the new running maximum and
    // scales l. crit: with MEASURE, this thread's rows' part of the criterion
    // (the warp's is their ll_crit_max, warp_crit_max; "the warp's rows are
    // negligible" is __all_sync of ll_crit_negligible over the parts), else
    // -inf. Returns whether o must be rescaled by alpha: only when some row
    // maximum of the warp moved; otherwise every factor would be exactly 1, so
    // skipping the rescale changes no bit.
    template <bool MEASURE>
    __device__ bool new_maximum(const float (&s)[MT][NT][4], float scale_log2, int valid_rows, float (&alpha)[MT][2],
                                float &crit) {
        const int g = (threadIdx.x & 31) >> 2;
        float m_new[MT][2];
        bool moved = false;
        crit = -INFINITY;
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                float tile_max = -INFINITY;
#pragma unroll
                for (int nt = 0; nt < NT; nt++)
                    tile_max = fmaxf(tile_max, fmaxf(s[mt][nt][2 * hh], s[mt][nt][2 * hh + 1]));
                tile_max = quad_max(tile_max);
                float m_old = m[mt][hh];
                m_new[mt][hh] = fmaxf(m_old, tile_max);
                moved |= m_new[mt][hh] != m_old;
                if (MEASURE && mt * 16 + hh * 8 + g < valid_rows)
                    crit = ll_crit_max(crit, (tile_max - m_old) * scale_log2);
            }
        }
        bool rescale = __any_sync(0xffffffffu, moved);
        if (rescale) {
#pragma unroll
            for (int mt = 0; mt < MT; mt++)
#pragma unroll
                for (int hh = 0; hh < 2; hh++) {
                    alpha[mt][hh] = fast_exp2((m[mt][hh] - m_new[mt][hh]) * scale_log2);  // 0 on the first tile
                    l[mt][hh] *= alpha[mt][hh];
                    m[mt][hh] = m_new[mt][hh];
                }
        }
        return rescale;
    }

    // Step 2 (when step 1 says so): o *= alpha, row by row.
    __device__ void rescale_output(float (&o)[MT][DT][4], const float (&alpha)[MT][2]) {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++)
#pragma unroll
                for (int dt = 0; dt < DT; dt++) {
                    o[mt][dt][2 * hh] *= alpha[mt][hh];
                    o[mt][dt][2 * hh + 1] *= alpha[mt][hh];
                }
    }

    // Step 3: scores -> probabilities against the (new) running maximum; l += row sums.
    __device__ void exponentiate(float (&s)[MT][NT][4], float scale_log2) {
#pragma unroll
        for (int mt = 0; mt < MT; mt++)
#pragma unroll
            for (int hh = 0; hh < 2; hh++) {
                float m_scaled = m[mt][hh] * scale_log2, sum = 0.0f;
#pragma unroll
                for (int nt = 0; nt < NT; nt++)
#pragma unroll
                    for (int e = 0; e < 2; e++) {
                        float p = fast_exp2(fmaf(s[mt][nt][2 * hh + e], scale_log2, -m_scaled));
                        s[mt][nt][2 * hh + e] = p;
                        sum += p;
                    }
                l[mt][hh] += sum;
            }
    }
};

}  // namespace ll
