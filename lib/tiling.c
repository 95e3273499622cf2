// tiling.c: tile-size checks and the public Hopper kernel's tile sizes.
#include "tiling.h"

ll_status ll_tiling_validate(const ll_tiling *t, ll_error *err) {
    if (!t) return ll_fail(err, LL_ERR_INVALID, "tiling: none given");
    // Multiples of 16: the MMA fragments of every kernel are 16 wide.
    if (t->block_m < 16 || t->block_m > 512 || t->block_m % 16)
        return ll_fail(err, LL_ERR_INVALID, "tiling: block_m=%d must be a multiple of 16 in [16, 512]", t->block_m);
    if (t->block_n < 16 || t->block_n > 512 || t->block_n % 16)
        return ll_fail(err, LL_ERR_INVALID, "tiling: block_n=%d must be a multiple of 16 in [16, 512]", t->block_n);
    return LL_OK;
}

ll_tiling ll_tiling_production(int D) {
    // 16-bit inputs, non-causal forward (the public kernel's tile-size table);
    // litelab supports D up to 128, larger D get the D=128 sizes.
    if (D <= 64) return (ll_tiling){192, 192};
    if (D <= 96) return (ll_tiling){192, 144};
    return (ll_tiling){128, 176};
}
