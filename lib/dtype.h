// dtype.h: bf16 and fp16 <-> float conversions on the host (round to nearest
// even, NaN kept as NaN), so the CPU reference reads exactly the words the
// GPU kernel reads.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

static inline float ll_bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t ll_float_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);  // quiet NaN
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

static inline float ll_fp16_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else {  // subnormal: renormalise
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400u));
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline uint16_t ll_float_to_fp16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t au = u & 0x7fffffffu;
    if (au > 0x7f800000u) return sign | 0x7e00u;        // NaN
    if (au >= 0x477ff000u) return sign | 0x7c00u;       // overflow (>= 65520) -> Inf
    if (au < 0x38800000u) {                             // subnormal or zero in fp16
        float a;
        memcpy(&a, &au, 4);
        // fp16 subnormal step is 2^-24; rint rounds half to even in the default mode
        return sign | (uint16_t)rintf(a * 16777216.0f);
    }
    uint32_t r = au + 0xfffu + ((au >> 13) & 1u);       // round to nearest even at bit 13
    return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

static inline float ll_half_to_float(ll_dtype t, uint16_t h) {
    return t == LL_FP16 ? ll_fp16_to_float(h) : ll_bf16_to_float(h);
}
static inline uint16_t ll_float_to_half(ll_dtype t, float f) {
    return t == LL_FP16 ? ll_float_to_fp16(f) : ll_float_to_bf16(f);
}
