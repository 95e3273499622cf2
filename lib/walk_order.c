// walk_order.c: names of the walk orders and the reference visiting sequence
// (definitions in walk_order.h).
#include "walk_order.h"

#include <string.h>

static const char *const names[LL_WALK_ORDERS] = {"descending", "alternating", "diagonal_out"};

const char *ll_walk_order_name(ll_walk_order w) {
    return (unsigned)w < LL_WALK_ORDERS ? names[w] : "unknown";
}

ll_status ll_walk_order_parse(const char *s, ll_walk_order *out, ll_error *err) {
    for (int i = 0; s && i < LL_WALK_ORDERS; i++)
        if (!strcmp(s, names[i])) {
            *out = (ll_walk_order)i;
            return LL_OK;
        }
    return ll_fail(err, LL_ERR_INVALID, "unknown walk order '%s' (expected descending, alternating or diagonal_out)",
                   s ? s : "(null)");
}

int ll_walk_sequence(ll_walk_order w, long call_index, const ll_shape *s, const ll_tiling *t, int qt,
                     const uint8_t *keep, int k_tiles, int *order) {
    int n = 0;
    if (w == LL_WALK_DIAGONAL_OUT) {
        int d = ll_walk_diagonal_tile(s, t, qt);
        if (d > k_tiles - 1) d = k_tiles - 1;
        // d, d+1, d-1, d+2, d-2, ...: the nearer side first, above before below at equal distance.
        for (int dist = 0; dist < k_tiles; dist++) {
            int up = d + dist, down = d - dist;
            if (up < k_tiles && keep[up]) order[n++] = up;
            if (dist > 0 && down >= 0 && keep[down]) order[n++] = down;
        }
        return n;
    }
    if (ll_walk_ascending(w, call_index)) {
        for (int kt = 0; kt < k_tiles; kt++)
            if (keep[kt]) order[n++] = kt;
    } else {
        for (int kt = k_tiles - 1; kt >= 0; kt--)
            if (keep[kt]) order[n++] = kt;
    }
    return n;
}
