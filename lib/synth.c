// synth.c: deterministic SYNTHETIC video-DiT attention trajectories. This is
// not a real model and was not fitted to one: it is a generator whose
// attention has the properties LiteAttention relies on (local structure on
// the video grid, sharpening over the denoising steps, negligible tiles that
// stay negligible), so the toolkit can be exercised and tested without
// captured tensors. Results on it say nothing about a real model's quality.
//
// The model. Tokens lie on a frames x height x width grid (row-major: token
// n = (f * height + y) * width + x). Writing q', k' for Q and K divided by
// D^(1/4) (so the scaled score q.k / sqrt(D) of the default scale is q'.k'):
//
//   q'_n = sqrt(beta_t) phi(p_n) + s_t xi_q(n, t) [+ sqrt(gamma_t) e]
//   k'_n = sqrt(beta_t) phi(p_n) + s_t xi_k(n, t) [+ sqrt(gamma_t) e, sink keys]
//   v_n  = xi_v(n, t)
//
// - phi: random Fourier features of the token position p = (f, y, x): D/2
//   frequencies w_j drawn per (layer, head) from N(0, diag(1/l_t^2, 1/l_s^2,
//   1/l_s^2)), phi = [cos(w_j.p + a_j), sin(w_j.p + a_j)] / sqrt(D/2), so
//   phi(p).phi(p') = mean_j cos(w_j.(p - p')), a Monte-Carlo estimate of the
//   Gaussian kernel exp(-dt^2/2l_t^2 - ds^2/2l_s^2). Scores are beta_t times
//   that kernel: near tokens attend to each other, far ones get the
//   estimate's fixed random residue (std about 1/sqrt(D)), which plays the
//   part of content. a_j is a phase per batch entry (cancels within a call).
// - Each head has a character (ll_synth_head_kind), a deterministic mix over
//   heads and layers: spatial-local (short in space and time), temporal-local
//   (the same place across many frames: short in space, long in time), sink
//   (the keys of frame 0 carry a shared direction e that every query also
//   carries, adding gamma_t = beta_t to their scores, on top of a weaker local
//   kernel) and diffuse (broad kernel, small beta: near-uniform attention).
//   Length scales get a per-head jitter of up to +-30%.
// - Steps: the inverse temperature beta_t grows with the step (attention
//   sharpens) and the noise amplitude s_t decays, chosen so the noise adds
//   about nu_t (natural-log units) of standard deviation to every score.
//   The noise fields xi are unit-variance and correlated across steps: the
//   trajectory is split into a few segments with one random field per
//   segment boundary ("knot") and xi turns from one knot's field to the
//   next, xi = cos(pi/2 u) N_k + sin(pi/2 u) N_k+1, so consecutive steps are
//   strongly correlated while distant ones are not.
// - Random numbers: counter-based hashes of (seed, tensor, layer, knot,
//   element index) from lib/rng.h; normals are sums of four 16-bit uniforms
//   scaled to unit variance (Irwin-Hall, bounded by 3.5 sigma, which also
//   keeps every value finite and far inside fp16's range). Any (step, layer)
//   is generated on its own, OpenMP-parallel, bit-identical for any thread
//   count.
//
// Scale (measured, see tests/test_synth.c and the report of the commit that
// added this file): on the "small" preset, a LiteAttention replay at
// threshold -10 (log2) on 64x64 tiles skips a fraction that rises over the
// steps to the 20-70% range; the mean entropy of attention rows falls from
// the first step to the last.
#include "synth.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "rng.h"

// Schedule and head constants (the model above; tuned as the header says).
static const float BETA_FIRST = 5.0f, BETA_LAST = 22.0f;  // inverse temperature at the first / last step
static const float NU_FIRST = 2.0f, NU_LAST = 0.25f;      // score noise std at the first / last step
static const int MAX_SEGMENTS = 4;                       // noise knots - 1

typedef struct {
    float ls_space, ls_time;  // kernel length scales (grid cells, frames)
    float beta_mult;          // share of beta_t this kind gets
    float noise_mult;         // share of nu_t
    int sink;                 // keys of frame 0 carry the shared direction
} kind_params;

static const kind_params KINDS[4] = {
    [LL_HEAD_SPATIAL] = {2.0f, 0.8f, 1.0f, 1.0f, 0},
    [LL_HEAD_TEMPORAL] = {0.5f, 0.0f /* frames / 3, set below */, 1.0f, 1.0f, 0},
    [LL_HEAD_SINK] = {2.5f, 1.2f, 0.7f, 1.0f, 1},
    [LL_HEAD_DIFFUSE] = {6.0f, 3.0f, 0.12f, 1.0f, 0},
};

// Hash tags, so that no two uses of the seed share a stream.
enum { TAG_FREQ = 1, TAG_PHASE, TAG_JITTER, TAG_SINK_DIR, TAG_NOISE };

const char *ll_head_kind_name(ll_head_kind k) {
    switch (k) {
    case LL_HEAD_SPATIAL: return "spatial";
    case LL_HEAD_TEMPORAL: return "temporal";
    case LL_HEAD_SINK: return "sink";
    case LL_HEAD_DIFFUSE: return "diffuse";
    }
    return "unknown";
}

typedef struct {
    const char *name;
    ll_synth_config c;
} preset;

static const preset PRESETS[] = {
    {"tiny", {1, 4, 2, 1, 2, 64, LL_BF16, 4, 6, 8}},
    {"small", {1, 10, 2, 1, 4, 64, LL_BF16, 8, 16, 16}},
    {"wan480p", {1, 50, 40, 1, 40, 128, LL_BF16, 21, 30, 52}},
    {"wan720p", {1, 50, 40, 1, 40, 128, LL_BF16, 21, 45, 80}},
};
enum { N_PRESETS = sizeof PRESETS / sizeof PRESETS[0] };

ll_status ll_synth_preset(const char *name, ll_synth_config *out, ll_error *err) {
    for (int i = 0; name && i < N_PRESETS; i++)
        if (!strcmp(name, PRESETS[i].name)) {
            *out = PRESETS[i].c;
            return LL_OK;
        }
    return ll_fail(err, LL_ERR_INVALID, "unknown synthetic preset '%s' (tiny, small, wan480p, wan720p)",
                   name ? name : "(null)");
}

ll_status ll_synth_validate(const ll_synth_config *c, ll_error *err) {
    if (!c) return ll_fail(err, LL_ERR_INVALID, "synthetic trajectory: no config");
    if (c->steps < 1 || c->steps > 100000 || c->layers < 1 || c->layers > 100000)
        return ll_fail(err, LL_ERR_INVALID, "synthetic trajectory: steps=%d and layers=%d must be in [1, 100000]",
                       c->steps, c->layers);
    if (c->frames < 1 || c->height < 1 || c->width < 1)
        return ll_fail(err, LL_ERR_INVALID, "synthetic trajectory: grid %dx%dx%d must be >= 1 in every dimension",
                       c->frames, c->height, c->width);
    if ((int64_t)c->frames * c->height * c->width > INT_MAX / 2)
        return ll_fail(err, LL_ERR_INVALID, "synthetic trajectory: grid %dx%dx%d has too many tokens", c->frames,
                       c->height, c->width);
    if (c->B > 4096 || c->H > 4096)
        return ll_fail(err, LL_ERR_INVALID, "synthetic trajectory: B=%d and H=%d must be <= 4096", c->B, c->H);
    ll_shape s = {c->B, ll_synth_tokens(c), c->H, c->D, c->dtype};
    LL_TRY(ll_shape_validate(&s, "synthetic trajectory", err));
    if ((double)ll_shape_elems(&s) * sizeof(uint16_t) > (double)SIZE_MAX / 4)
        return ll_fail(err, LL_ERR_INVALID, "synthetic trajectory: tensors too large for this machine");
    return LL_OK;
}

// A fixed pattern of 8 (3 spatial, 3 temporal, 1 sink, 1 diffuse), shifted
// by 5 per layer so that neighbouring layers differ. Independent of the seed:
// a preset's heads keep their characters whatever the seed.
ll_head_kind ll_synth_head_kind(const ll_synth_config *c, int layer, int head) {
    static const ll_head_kind pattern[8] = {LL_HEAD_SPATIAL, LL_HEAD_TEMPORAL, LL_HEAD_SINK,     LL_HEAD_SPATIAL,
                                            LL_HEAD_TEMPORAL, LL_HEAD_DIFFUSE, LL_HEAD_SPATIAL, LL_HEAD_TEMPORAL};
    (void)c;
    unsigned i = ((unsigned)head + 5u * (unsigned)layer) % 8u;
    return pattern[i];
}

// ---------------------------------------------------------------------------
// Random numbers

// Unit-variance, zero-mean, bounded normal from one 64-bit hash: the sum of
// four 16-bit uniforms (Irwin-Hall) has variance 4 * (2^32 - 1) / 12.
static inline float fast_normal(uint64_t h) {
    double u = (double)(h & 0xffff) + (double)((h >> 16) & 0xffff) + (double)((h >> 32) & 0xffff) + (double)(h >> 48);
    return (float)((u - 131070.0) * (1.0 / 37837.2));
}
// Element idx of the stream `key` (SplitMix64 on a counter).
static inline uint64_t stream(uint64_t key, uint64_t idx) { return ll_mix64(key + idx * 0x9e3779b97f4a7c15ull); }
static inline float normal_at(uint64_t key, uint64_t idx) { return fast_normal(stream(key, idx)); }

// ---------------------------------------------------------------------------
// One call

typedef struct {
    float cos_, sin_;
} cplx;

typedef struct {
    ll_head_kind kind;
    float beta_sqrt, noise, sink_sqrt;
    cplx *ef, *ey, *ex;  // per frequency: exp(i w_t f), exp(i w_y y), exp(i w_x x); [m][F|H|W]
    float *sink_dir;     // [D] unit vector (sink heads)
} head_state;

// Where step t sits between the noise knots.
static void knots(int steps, int step, int *k0, float *c0, float *c1) {
    int segments = (steps - 1) / 3;
    if (segments < 1) segments = 1;
    if (segments > MAX_SEGMENTS) segments = MAX_SEGMENTS;
    double x = steps > 1 ? (double)step / (steps - 1) : 1.0;
    double tau = x * segments;
    int k = (int)floor(tau);
    if (k >= segments) k = segments - 1;
    double u = tau - k;
    *k0 = k;
    *c0 = (float)cos(1.5707963267948966 * u);
    *c1 = (float)sin(1.5707963267948966 * u);
}

static ll_status setup_head(const ll_synth_config *c, int step, int layer, int b, int h, head_state *hs,
                            ll_error *err) {
    int m = c->D / 2;
    hs->kind = ll_synth_head_kind(c, layer, h);
    kind_params kp = KINDS[hs->kind];
    if (hs->kind == LL_HEAD_TEMPORAL) kp.ls_time = c->frames / 3.0f > 2.0f ? c->frames / 3.0f : 2.0f;
    // Per-head jitter of the length scales: factor in [0.77, 1.3].
    uint64_t seed = c->seed;
    double jit = exp(0.26 * (2.0 * ll_u01(ll_hash4(seed, TAG_JITTER, (uint64_t)layer, (uint64_t)h)) - 1.0));
    double ls_s = kp.ls_space * jit, ls_t = kp.ls_time * jit;

    double x = c->steps > 1 ? (double)step / (c->steps - 1) : 1.0;
    double beta = (BETA_FIRST + (BETA_LAST - BETA_FIRST) * x) * kp.beta_mult;
    double nu = (NU_FIRST + (NU_LAST - NU_FIRST) * x) * kp.noise_mult;
    // Noise amplitude s with score-noise variance 2 beta s^2 + D s^4 = nu^2.
    double s2 = (-beta + sqrt(beta * beta + c->D * nu * nu)) / c->D;
    hs->beta_sqrt = (float)sqrt(beta);
    hs->noise = (float)sqrt(s2 > 0 ? s2 : 0);
    hs->sink_sqrt = kp.sink ? (float)sqrt(beta / kp.beta_mult) : 0.0f;

    int F = c->frames, Y = c->height, X = c->width;
    hs->ef = malloc(sizeof(cplx) * (size_t)m * (size_t)(F + Y + X));
    hs->sink_dir = kp.sink ? malloc(sizeof(float) * (size_t)c->D) : NULL;
    if (!hs->ef || (kp.sink && !hs->sink_dir)) return ll_fail(err, LL_ERR_NOMEM, "synthetic trajectory: out of memory");
    hs->ey = hs->ef + (size_t)m * F;
    hs->ex = hs->ey + (size_t)m * Y;
    for (int j = 0; j < m; j++) {
        uint64_t key = ll_hash4(seed, TAG_FREQ, (uint64_t)layer, (uint64_t)h * 4096u + (uint64_t)j);
        double wt = ls_t > 0 ? normal_at(key, 0) / ls_t : 0.0;
        double wy = normal_at(key, 1) / ls_s, wx = normal_at(key, 2) / ls_s;
        double a = 6.283185307179586 * ll_u01(ll_hash4(seed, TAG_PHASE, (uint64_t)layer,
                                                        ((uint64_t)h * 4096u + (uint64_t)j) * 4096u + (uint64_t)b));
        for (int f = 0; f < F; f++) hs->ef[(size_t)j * F + f] = (cplx){(float)cos(wt * f + a), (float)sin(wt * f + a)};
        for (int y = 0; y < Y; y++) hs->ey[(size_t)j * Y + y] = (cplx){(float)cos(wy * y), (float)sin(wy * y)};
        for (int xx = 0; xx < X; xx++) hs->ex[(size_t)j * X + xx] = (cplx){(float)cos(wx * xx), (float)sin(wx * xx)};
    }
    if (kp.sink) {
        uint64_t key = ll_hash4(seed, TAG_SINK_DIR, (uint64_t)layer, (uint64_t)h);
        double norm = 0;
        for (int d = 0; d < c->D; d++) {
            hs->sink_dir[d] = normal_at(key, (uint64_t)d);
            norm += (double)hs->sink_dir[d] * hs->sink_dir[d];
        }
        for (int d = 0; d < c->D; d++) hs->sink_dir[d] = (float)(hs->sink_dir[d] / sqrt(norm));
    }
    return LL_OK;
}

ll_status ll_synth_generate(const ll_synth_config *c, int step, int layer, uint16_t *q, uint16_t *k, uint16_t *v,
                            ll_error *err) {
    LL_TRY(ll_synth_validate(c, err));
    if (step < 0 || step >= c->steps || layer < 0 || layer >= c->layers)
        return ll_fail(err, LL_ERR_INVALID, "synthetic trajectory: (step %d, layer %d) out of range (%d steps, %d layers)",
                       step, layer, c->steps, c->layers);
    int B = c->B, H = c->H, D = c->D, m = D / 2, N = ll_synth_tokens(c);
    int Y = c->height, X = c->width, F = c->frames;
    head_state *hs = calloc((size_t)B * H, sizeof *hs);
    if (!hs) return ll_fail(err, LL_ERR_NOMEM, "synthetic trajectory: out of memory");
    ll_status st = LL_OK;
    for (int b = 0; st == LL_OK && b < B; b++)
        for (int h = 0; st == LL_OK && h < H; h++) st = setup_head(c, step, layer, b, h, &hs[b * H + h], err);

    int k0;
    float c0, c1;
    knots(c->steps, step, &k0, &c0, &c1);
    // Streams per tensor and knot (both knots of this step).
    uint64_t key[3][2];
    for (int t = 0; t < 3; t++)
        for (int j = 0; j < 2; j++) key[t][j] = ll_hash4(c->seed, TAG_NOISE * 16 + (uint64_t)t, (uint64_t)layer, (uint64_t)(k0 + j));
    const float root4 = sqrtf(sqrtf((float)D)), inv_sqrt_m = 1.0f / sqrtf((float)m);
    const ll_dtype dt = c->dtype;

    if (st == LL_OK) {
#pragma omp parallel
        {
            float *phi = malloc(sizeof(float) * (size_t)D);
#pragma omp for schedule(static)
            for (long bn = 0; bn < (long)B * N; bn++) {
                if (!phi) continue;
                int b = (int)(bn / N), n = (int)(bn % N);
                int f = n / (Y * X), y = n / X % Y, xx = n % X;
                for (int h = 0; h < H; h++) {
                    const head_state *s = &hs[b * H + h];
                    for (int j = 0; j < m; j++) {
                        cplx a = s->ef[(size_t)j * F + f], e = s->ey[(size_t)j * Y + y], g = s->ex[(size_t)j * X + xx];
                        float re = a.cos_ * e.cos_ - a.sin_ * e.sin_, im = a.cos_ * e.sin_ + a.sin_ * e.cos_;
                        phi[2 * j] = (re * g.cos_ - im * g.sin_) * inv_sqrt_m;
                        phi[2 * j + 1] = (re * g.sin_ + im * g.cos_) * inv_sqrt_m;
                    }
                    int sink_key = s->sink_dir && f == 0;
                    size_t base = ((size_t)bn * H + h) * (size_t)D;
                    for (int d = 0; d < D; d++) {
                        size_t i = base + (size_t)d;
                        float pos = s->beta_sqrt * phi[d];
                        float sink = s->sink_dir ? s->sink_sqrt * s->sink_dir[d] : 0.0f;
                        if (q) {
                            float xi = c0 * normal_at(key[0][0], i) + c1 * normal_at(key[0][1], i);
                            q[i] = ll_float_to_half(dt, root4 * (pos + s->noise * xi + sink));
                        }
                        if (k) {
                            float xi = c0 * normal_at(key[1][0], i) + c1 * normal_at(key[1][1], i);
                            k[i] = ll_float_to_half(dt, root4 * (pos + s->noise * xi + (sink_key ? sink : 0.0f)));
                        }
                        if (v) v[i] = ll_float_to_half(dt, c0 * normal_at(key[2][0], i) + c1 * normal_at(key[2][1], i));
                    }
                }
            }
            if (!phi) {
#pragma omp critical
                st = ll_fail(err, LL_ERR_NOMEM, "synthetic trajectory: out of memory");
            }
            free(phi);
        }
    }
    for (int i = 0; i < B * H; i++) {
        free(hs[i].ef);
        free(hs[i].sink_dir);
    }
    free(hs);
    return st;
}
