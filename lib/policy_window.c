// policy_window.c: static spatio-temporal window (kind "window"), the shape
// sliding-tile attention (STA) and SparseVideoGen's spatial heads use. Tokens
// lie on the frames x height x width grid (frame-major, then rows). Key tile
// kt is kept for query tile qt when some query token of qt and some key token
// of kt are within the window: |frame difference| <= frame_window,
// |row difference| <= height_window and |column difference| <= width_window.
// Every token is within the window of itself, so the diagonal tiles are
// always kept. The mask is the same for every step, layer and head.
// Params: {"frame_window": >= 0, "height_window": >= 0, "width_window": >= 0}.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"

typedef struct {
    int fw, hw, ww;
} window_params;

static const char *const keys[] = {"frame_window", "height_window", "width_window", NULL};

static ll_status parse(const cJSON *params, const char *where, window_params *p, ll_error *err) {
    LL_TRY(ll_json_int(params, "frame_window", 1, 0, 1 << 20, where, &p->fw, err));
    LL_TRY(ll_json_int(params, "height_window", 1, 0, 1 << 20, where, &p->hw, err));
    return ll_json_int(params, "width_window", 1, 0, 1 << 20, where, &p->ww, err);
}

static ll_status check(const cJSON *params, const char *where, ll_error *err) {
    window_params p;
    return parse(params, where, &p, err);
}

// A block of grid positions: one frame, rows h0..h1, columns w0..w1 (inclusive).
typedef struct {
    int f, h0, h1, w0, w1;
} grid_rect;

// The tokens [n0, n1) as at most 3 rectangles per frame (a partial first
// row, whole rows, a partial last row). Returns the count.
static int tokens_to_rects(int n0, int n1, int H, int W, grid_rect *out) {
    int S = H * W, n = n0, count = 0;
    while (n < n1) {
        int f = n / S, s = n % S, h = s / W, w = s % W;
        int rows = w == 0 ? (n1 - n) / W : 0;
        if (rows > H - h) rows = H - h;
        if (rows >= 1) {
            out[count++] = (grid_rect){f, h, h + rows - 1, 0, W - 1};
            n += rows * W;
        } else {
            int len = W - w < n1 - n ? W - w : n1 - n;
            out[count++] = (grid_rect){f, h, h, w, w + len - 1};
            n += len;
        }
    }
    return count;
}

static int near(int a0, int a1, int b0, int b1, int win) { return a0 - win <= b1 && b0 <= a1 + win; }

static int rects_within(const grid_rect *q, int nq, const grid_rect *k, int nk, const window_params *p) {
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nk; j++)
            if (abs(q[i].f - k[j].f) <= p->fw && near(q[i].h0, q[i].h1, k[j].h0, k[j].h1, p->hw) &&
                near(q[i].w0, q[i].w1, k[j].w0, k[j].w1, p->ww))
                return 1;
    return 0;
}

typedef struct {
    ll_skip_list list;
} window_state;

static void destroy(void *state) {
    window_state *s = state;
    if (!s) return;
    ll_skip_list_free(&s->list);
    free(s);
}

static ll_status create(const cJSON *params, const char *where, const ll_policy_setup *setup, void **state,
                        ll_error *err) {
    window_params p;
    LL_TRY(parse(params, where, &p, err));
    const ll_shape *sh = &setup->shape;
    int F = setup->frames, H = setup->height, W = setup->width;
    if (F < 1 || H < 1 || W < 1 || (long)F * H * W != sh->N)
        return ll_fail(err, LL_ERR_USAGE,
                       "%s: needs the trajectory's token grid (frames x height x width = N); this one has %dx%dx%d for "
                       "N=%d",
                       where, F, H, W, sh->N);
    window_state *s = calloc(1, sizeof *s);
    if (!s) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    ll_status st = ll_policy_alloc_list(setup, LL_END_EXCLUSIVE, &s->list, err);
    if (st != LL_OK) {
        destroy(s);
        return st;
    }
    const ll_tiling *t = &setup->tiling;
    int qts = s->list.q_tiles, kts = s->list.k_tiles;
    int max_rects_q = 3 * (t->block_m / (H * W) + 2), max_rects_k = 3 * (t->block_n / (H * W) + 2);
    grid_rect *kr = malloc(sizeof(grid_rect) * (size_t)max_rects_k * kts);
    int *nk = malloc(sizeof(int) * (size_t)kts);
    grid_rect *qr = malloc(sizeof(grid_rect) * (size_t)max_rects_q);
    uint8_t *keep = malloc((size_t)kts);
    if (!kr || !nk || !qr || !keep) st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    for (int kt = 0; st == LL_OK && kt < kts; kt++)
        nk[kt] = tokens_to_rects(kt * t->block_n, kt * t->block_n + ll_k_tile_cols(sh, t, kt), H, W,
                                 kr + (size_t)kt * max_rects_k);
    for (int qt = 0; st == LL_OK && qt < qts; qt++) {
        int nq = tokens_to_rects(qt * t->block_m, qt * t->block_m + ll_q_tile_rows(sh, t, qt), H, W, qr);
        for (int kt = 0; kt < kts; kt++) keep[kt] = (uint8_t)rects_within(qr, nq, kr + (size_t)kt * max_rects_k, nk[kt], &p);
        for (int b = 0; b < sh->B; b++)
            for (int h = 0; h < sh->H; h++) ll_policy_set_row(&s->list, b, h, qt, keep, setup->key_tile_flags);
    }
    free(kr);
    free(nk);
    free(qr);
    free(keep);
    if (st != LL_OK) {
        destroy(s);
        return st;
    }
    *state = s;
    return LL_OK;
}

static ll_status decide(void *state, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err) {
    window_state *s = state;
    (void)ctx, (void)err;
    call->read = &s->list;
    call->write = NULL;
    call->threshold = NAN;
    return LL_OK;
}

const ll_policy_ops ll_policy_window = {
    .kind = "window",
    .summary = "static spatio-temporal window on the token grid; {frame_window, height_window, width_window}",
    .keys = keys,
    .check = check,
    .create = create,
    .destroy = destroy,
    .decide = decide,
};
