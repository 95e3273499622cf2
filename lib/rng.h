// rng.h: small deterministic random numbers. Counter-based (a hash of seed and
// index), so any element of a synthetic tensor can be generated independently
// and in parallel, and the same seed gives the same bits on every machine.
#pragma once
#include <math.h>
#include <stdint.h>

// SplitMix64 finaliser: a good 64-bit mix of one word.
static inline uint64_t ll_mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
// Hash of a seed and up to three counters.
static inline uint64_t ll_hash4(uint64_t seed, uint64_t a, uint64_t b, uint64_t c) {
    return ll_mix64(ll_mix64(ll_mix64(seed ^ ll_mix64(a)) ^ b) ^ c);
}
// Uniform in [0, 1) from 53 bits.
static inline double ll_u01(uint64_t h) { return (double)(h >> 11) * (1.0 / 9007199254740992.0); }
// Standard normal from one hash (Box-Muller on two halves of two mixes).
static inline float ll_normal(uint64_t h) {
    double u1 = ((double)((h >> 11) + 1)) * (1.0 / 9007199254740993.0);
    double u2 = ll_u01(ll_mix64(h));
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

// Sequential generator for tests and policies (xorshift-free SplitMix64 stream).
typedef struct {
    uint64_t state;
} ll_rng;
static inline void ll_rng_seed(ll_rng *r, uint64_t seed) { r->state = seed; }
static inline uint64_t ll_rng_next(ll_rng *r) {
    r->state += 0x9e3779b97f4a7c15ull;
    return ll_mix64(r->state);
}
static inline double ll_rng_u01(ll_rng *r) { return ll_u01(ll_rng_next(r)); }
static inline int ll_rng_int(ll_rng *r, int lo, int hi_inclusive) {  // uniform in [lo, hi]
    return lo + (int)(ll_rng_next(r) % (uint64_t)(hi_inclusive - lo + 1));
}
static inline float ll_rng_normal(ll_rng *r) { return ll_normal(ll_rng_next(r)); }
