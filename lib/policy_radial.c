// policy_radial.c: static mask whose density decays with frame distance
// (kind "radial"), after Radial Attention. With S = height*width tokens per
// frame and s a token's index inside its frame, a query token (frame fq,
// s_q) attends to key token (fk, s_k) when
//   d = |fq - fk| <= dense_frames           (neighbouring frames: dense), or
//   fk == 0 and sink_frame                   (frame 0 kept as an attention sink), or
//   |s_q - s_k| <= band(d) = max(min_band, floor(decay * S / 2^floor(log2 d)))
// so the band halves with every doubling of the frame distance. A key tile
// is kept for a query tile when any such pair lies in them. The mask is the
// same for every step, layer and head; the diagonal tiles are always kept.
// Params: {"dense_frames": >= 0 [1], "decay": (0, 1] [1], "min_band": tokens >= 0 [0],
//          "sink_frame": bool [true]}.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"

typedef struct {
    int dense_frames, min_band, sink;
    double decay;
} radial_params;

static const char *const keys[] = {"dense_frames", "decay", "min_band", "sink_frame", NULL};

static ll_status parse(const cJSON *params, const char *where, radial_params *p, ll_error *err) {
    p->dense_frames = 1;
    p->decay = 1.0;
    p->min_band = 0;
    p->sink = 1;
    LL_TRY(ll_json_int(params, "dense_frames", 0, 0, 1 << 20, where, &p->dense_frames, err));
    LL_TRY(ll_json_number(params, "decay", 0, where, &p->decay, err));
    if (!(p->decay > 0 && p->decay <= 1)) return ll_fail(err, LL_ERR_USAGE, "%s.decay: must be in (0, 1]", where);
    LL_TRY(ll_json_int(params, "min_band", 0, 0, 1 << 30, where, &p->min_band, err));
    return ll_json_bool(params, "sink_frame", where, &p->sink, err);
}

static ll_status check(const cJSON *params, const char *where, ll_error *err) {
    radial_params p;
    return parse(params, where, &p, err);
}

static long band(const radial_params *p, int d, int S) {
    int lg = 0;
    while ((d >> (lg + 1)) > 0) lg++;  // floor(log2 d), d >= 1
    long b = (long)floor(p->decay * S / ldexp(1.0, lg));
    return b > p->min_band ? b : p->min_band;
}

// The tokens [n0, n1) as one segment (frame, s0..s1 inclusive) per frame.
typedef struct {
    int f, s0, s1;
} frame_segment;

static int tokens_to_segments(int n0, int n1, int S, frame_segment *out) {
    int count = 0;
    for (int n = n0; n < n1;) {
        int f = n / S, s = n % S, len = S - s < n1 - n ? S - s : n1 - n;
        out[count++] = (frame_segment){f, s, s + len - 1};
        n += len;
    }
    return count;
}

static int attends(const frame_segment *q, int nq, const frame_segment *k, int nk, const radial_params *p, int S) {
    for (int i = 0; i < nq; i++)
        for (int j = 0; j < nk; j++) {
            int d = abs(q[i].f - k[j].f);
            if (d <= p->dense_frames || (p->sink && k[j].f == 0)) return 1;
            long b = band(p, d, S);
            if (q[i].s0 - b <= k[j].s1 && k[j].s0 <= q[i].s1 + b) return 1;
        }
    return 0;
}

typedef struct {
    ll_skip_list list;
} radial_state;

static void destroy(void *state) {
    radial_state *s = state;
    if (!s) return;
    ll_skip_list_free(&s->list);
    free(s);
}

static ll_status create(const cJSON *params, const char *where, const ll_policy_setup *setup, void **state,
                        ll_error *err) {
    radial_params p;
    LL_TRY(parse(params, where, &p, err));
    const ll_shape *sh = &setup->shape;
    int F = setup->frames, S = setup->height * setup->width;
    if (F < 1 || S < 1 || (long)F * S != sh->N)
        return ll_fail(err, LL_ERR_USAGE,
                       "%s: needs the trajectory's token grid (frames x height x width = N); this one has %dx%dx%d for "
                       "N=%d",
                       where, F, setup->height, setup->width, sh->N);
    radial_state *s = calloc(1, sizeof *s);
    if (!s) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    ll_status st = ll_policy_alloc_list(setup, LL_END_EXCLUSIVE, &s->list, err);
    if (st != LL_OK) {
        destroy(s);
        return st;
    }
    const ll_tiling *t = &setup->tiling;
    int qts = s->list.q_tiles, kts = s->list.k_tiles;
    int max_q = t->block_m / S + 2, max_k = t->block_n / S + 2;
    frame_segment *ks = malloc(sizeof(frame_segment) * (size_t)max_k * kts);
    int *nk = malloc(sizeof(int) * (size_t)kts);
    frame_segment *qs = malloc(sizeof(frame_segment) * (size_t)max_q);
    uint8_t *keep = malloc((size_t)kts);
    if (!ks || !nk || !qs || !keep) st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", where);
    for (int kt = 0; st == LL_OK && kt < kts; kt++)
        nk[kt] = tokens_to_segments(kt * t->block_n, kt * t->block_n + ll_k_tile_cols(sh, t, kt), S,
                                    ks + (size_t)kt * max_k);
    for (int qt = 0; st == LL_OK && qt < qts; qt++) {
        int nq = tokens_to_segments(qt * t->block_m, qt * t->block_m + ll_q_tile_rows(sh, t, qt), S, qs);
        for (int kt = 0; kt < kts; kt++) keep[kt] = (uint8_t)attends(qs, nq, ks + (size_t)kt * max_k, nk[kt], &p, S);
        for (int b = 0; b < sh->B; b++)
            for (int h = 0; h < sh->H; h++) ll_policy_set_row(&s->list, b, h, qt, keep, setup->key_tile_flags);
    }
    free(ks);
    free(nk);
    free(qs);
    free(keep);
    if (st != LL_OK) {
        destroy(s);
        return st;
    }
    *state = s;
    return LL_OK;
}

static ll_status decide(void *state, const ll_policy_ctx *ctx, ll_policy_call *call, ll_error *err) {
    radial_state *s = state;
    (void)ctx, (void)err;
    call->read = &s->list;
    call->write = NULL;
    call->threshold = NAN;
    return LL_OK;
}

const ll_policy_ops ll_policy_radial = {
    .kind = "radial",
    .summary = "static mask, density decaying with frame distance (Radial); {dense_frames, decay, min_band, sink_frame}",
    .keys = keys,
    .check = check,
    .create = create,
    .destroy = destroy,
    .decide = decide,
};
