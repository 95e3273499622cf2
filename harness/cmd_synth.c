// cmd_synth.c: `litelab synth --preset NAME -o FILE`: writes a synthetic
// video-DiT trajectory (lib/synth.h; a synthetic model, not a real one) as
// an HDF5 capture (traces/capture.h), so it can be inspected, shared, or
// replayed like a capture of a real model.
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture.h"
#include "commands.h"
#include "synth.h"

static void print_help(FILE *f) {
    fprintf(f,
            "usage: litelab synth --preset NAME -o FILE [options]\n\n"
            "Generates a SYNTHETIC video-DiT attention trajectory (Q, K, V of every step and\n"
            "layer; deterministic from the seed; not a real model, see lib/synth.c) and\n"
            "writes it as an HDF5 capture (traces/FORMAT.md).\n\n"
            "presets (grid frames x height x width, heads, head dim, steps, layers):\n"
            "  tiny      4x6x8     (192 tokens),   2 heads, D=64,   4 steps,  2 layers\n"
            "  small     8x16x16   (2048 tokens),  4 heads, D=64,  10 steps,  2 layers\n"
            "  wan480p   21x30x52  (32760 tokens), 40 heads, D=128, 50 steps, 40 layers\n"
            "  wan720p   21x45x80  (75600 tokens), 40 heads, D=128, 50 steps, 40 layers\n\n"
            "options:\n"
            "  -p, --preset NAME    one of the presets above (required)\n"
            "  -o, --output FILE    the capture to write (required; FILE.partial until done)\n"
            "      --seed S         seed (default 1)\n"
            "      --steps S        denoising steps\n"
            "      --layers L       attention layers\n"
            "      --batch B        batch size (default 1)\n"
            "      --heads H        heads\n"
            "      --dim D          head dim: 64, 96 or 128\n"
            "      --grid FxHxW     token grid, e.g. 8x16x16\n"
            "      --dtype T        bf16 or fp16\n"
            "  -q, --quiet          print nothing on success\n"
            "  -h, --help           this text\n\n"
            "exit codes: 0 ok, 2 usage, 3 invalid input, 4 I/O error, 6 out of memory\n");
}

static int parse_int(const char *s, long lo, long hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int parse_grid(const char *s, ll_synth_config *c) {
    int f, h, w, n = 0;
    if (sscanf(s, "%dx%dx%d%n", &f, &h, &w, &n) != 3 || s[n] || f < 1 || h < 1 || w < 1) return -1;
    c->frames = f;
    c->height = h;
    c->width = w;
    return 0;
}

typedef struct {
    const char *preset, *output;
    int quiet;
} synth_options;

// 0 ok, 1 help printed, -1 usage error (message printed).
static int parse_options(int argc, char **argv, synth_options *o, ll_synth_config *c) {
    static const struct option longopts[] = {
        {"preset", required_argument, 0, 'p'}, {"output", required_argument, 0, 'o'},
        {"seed", required_argument, 0, 'S'},   {"steps", required_argument, 0, 's'},
        {"layers", required_argument, 0, 'l'}, {"batch", required_argument, 0, 'B'},
        {"heads", required_argument, 0, 'H'},  {"dim", required_argument, 0, 'D'},
        {"grid", required_argument, 0, 'g'},   {"dtype", required_argument, 0, 't'},
        {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    // Overrides are applied after the preset is known.
    const char *seed = NULL, *steps = NULL, *layers = NULL, *batch = NULL, *heads = NULL, *dim = NULL, *grid = NULL,
               *dtype = NULL;
    memset(o, 0, sizeof *o);
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "p:o:qh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'p': o->preset = optarg; break;
        case 'o': o->output = optarg; break;
        case 'S': seed = optarg; break;
        case 's': steps = optarg; break;
        case 'l': layers = optarg; break;
        case 'B': batch = optarg; break;
        case 'H': heads = optarg; break;
        case 'D': dim = optarg; break;
        case 'g': grid = optarg; break;
        case 't': dtype = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'h': print_help(stdout); return 1;
        default: fprintf(stderr, "litelab synth: see litelab synth --help\n"); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "litelab synth: unexpected argument '%s' (litelab synth --help)\n", argv[optind]);
        return -1;
    }
    if (!o->preset || !o->output) {
        fprintf(stderr, "litelab synth: --preset NAME and -o FILE are required (litelab synth --help)\n");
        return -1;
    }
    ll_error e;
    if (ll_synth_preset(o->preset, c, &e) != LL_OK) {
        fprintf(stderr, "litelab synth: --preset: %s\n", e.msg);
        return -1;
    }
    const char *bad = NULL;
    if (seed) {
        char *end;
        unsigned long long v = strtoull(seed, &end, 10);
        if (!*seed || *end || seed[0] == '-') bad = "--seed: expected a non-negative integer";
        else c->seed = v;
    }
    if (!bad && steps && parse_int(steps, 1, 100000, &c->steps)) bad = "--steps: expected an integer in [1, 100000]";
    if (!bad && layers && parse_int(layers, 1, 100000, &c->layers)) bad = "--layers: expected an integer in [1, 100000]";
    if (!bad && batch && parse_int(batch, 1, 4096, &c->B)) bad = "--batch: expected an integer in [1, 4096]";
    if (!bad && heads && parse_int(heads, 1, 4096, &c->H)) bad = "--heads: expected an integer in [1, 4096]";
    if (!bad && dim && (parse_int(dim, 1, 1024, &c->D) || (c->D != 64 && c->D != 96 && c->D != 128)))
        bad = "--dim: expected 64, 96 or 128";
    if (!bad && grid && parse_grid(grid, c)) bad = "--grid: expected FxHxW with positive integers, e.g. 8x16x16";
    if (!bad && dtype && ll_dtype_parse(dtype, &c->dtype, NULL) != LL_OK) bad = "--dtype: expected bf16 or fp16";
    if (bad) {
        fprintf(stderr, "litelab synth: %s\n", bad);
        return -1;
    }
    return 0;
}

static ll_status synth(const synth_options *o, const ll_synth_config *c, ll_error *err) {
    LL_TRY(ll_synth_validate(c, err));
    ll_capture_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.model, sizeof m.model, "synthetic-video-dit");
    snprintf(m.source, sizeof m.source, "synthetic");
    m.shape = (ll_shape){c->B, ll_synth_tokens(c), c->H, c->D, c->dtype};
    m.steps = c->steps;
    m.layers = c->layers;
    m.frames = c->frames;
    m.height = c->height;
    m.width = c->width;
    m.softmax_scale = 1.0f / sqrtf((float)c->D);  // the scale the generator's scores assume
    m.seed = c->seed;
    size_t n = ll_shape_elems(&m.shape);
    uint16_t *q = malloc(n * sizeof *q), *k = malloc(n * sizeof *k), *v = malloc(n * sizeof *v);
    ll_capture_writer *w = NULL;
    ll_status st = LL_OK;
    if (!q || !k || !v) st = ll_fail(err, LL_ERR_NOMEM, "out of memory for Q, K, V (%zu elements each)", n);
    if (st == LL_OK) st = ll_capture_create(o->output, &m, &w, err);
    int tty = !o->quiet && isatty(STDERR_FILENO);
    double t0 = ll_now_seconds();
    for (int s = 0; st == LL_OK && s < c->steps; s++) {
        for (int l = 0; st == LL_OK && l < c->layers; l++) {
            st = ll_synth_generate(c, s, l, q, k, v, err);
            if (st == LL_OK) st = ll_capture_write(w, s, l, q, k, v, err);
        }
        if (st == LL_OK && tty) {
            double el = ll_now_seconds() - t0;
            fprintf(stderr, "\rlitelab synth: step %d/%d  %.0f s, ETA %.0f s   ", s + 1, c->steps, el,
                    el / (s + 1) * (c->steps - s - 1));
            if (s + 1 == c->steps) fputc('\n', stderr);
        }
    }
    if (w) {
        if (st == LL_OK) st = ll_capture_close(w, err);
        else ll_capture_abort(w);  // a synthetic trajectory is cheaper to regenerate than to resume
    }
    free(q);
    free(k);
    free(v);
    if (st == LL_OK && !o->quiet) {
        struct stat sb;
        double mb = stat(o->output, &sb) == 0 ? sb.st_size / 1048576.0 : NAN;
        printf("%s: synthetic preset %s seed %llu, %d steps x %d layers of [B=%d, N=%d, H=%d, D=%d] %s, grid %dx%dx%d "
               "(%.1f MiB, %.1f s)\n",
               o->output, o->preset, (unsigned long long)c->seed, c->steps, c->layers, c->B, m.shape.N, c->H, c->D,
               ll_dtype_name(c->dtype), c->frames, c->height, c->width, mb, ll_now_seconds() - t0);
    }
    return st;
}

int cmd_synth(int argc, char **argv) {
    synth_options o;
    ll_synth_config c;
    int p = parse_options(argc, argv, &o, &c);
    if (p != 0) return p > 0 ? 0 : ll_exit_code(LL_ERR_USAGE);
    ll_error err;
    ll_error_clear(&err);
    ll_status s = synth(&o, &c, &err);
    return s == LL_OK ? 0 : ll_report_error("synth", &err);
}
