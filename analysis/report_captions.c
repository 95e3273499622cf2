// report_captions.c: what every figure says about where its numbers come
// from (report_figures.h): the shape and tiles, the maps the run replayed
// (synthetic, or a capture of a model: trained or a random-init control, as
// its model name says), and the hardware that timed it (CPU times are not
// GPU times). Taken from each trace's own metadata, never assumed.
#include <stdio.h>
#include <string.h>

#include "report_figures.h"

// "synthetic preset=small seed=1 grid=8x16x16" -> "synthetic maps (preset small, seed 1)";
// "capture FILE (MODEL)" -> "maps captured from MODEL (FILE)"; anything else verbatim.
void ll_fig_maps_label(const ll_trace_meta *m, char *out, size_t len) {
    char preset[64], model[128];
    unsigned long long seed;
    const char *t = m->trajectory;
    if (sscanf(t, "synthetic preset=%63s seed=%llu", preset, &seed) == 2) {
        snprintf(out, len, "synthetic maps (preset %s, seed %llu)", preset, seed);
        return;
    }
    const char *open = strrchr(t, '(');
    size_t tail = strlen(t);
    if (!strncmp(t, "capture ", 8) && open && tail > 1 && t[tail - 1] == ')' &&
        sscanf(open + 1, "%127[^)]", model) == 1) {
        const char *file = t + 8, *slash = strrchr(file, '/');
        if (slash && slash < open) file = slash + 1;
        int file_len = open - file > 1 ? (int)(open - file) - 1 : 0;  // up to the space before "("
        snprintf(out, len, "maps captured from %s (%.*s)", model, file_len, file);
        return;
    }
    snprintf(out, len, "maps: %s", t[0] ? t : "unknown trajectory");
}

// "NVIDIA H200 (cuda backend, hopper kernel): CUPTI times" or "CPU backend: host times, not GPU times".
void ll_fig_hardware_label(const ll_trace_meta *m, char *out, size_t len) {
    if (!strcmp(m->backend, "cpu"))
        snprintf(out, len, "CPU backend: host times, not GPU times");
    else
        snprintf(out, len, "%s (%s backend, %s kernel): CUPTI times", m->gpu_name[0] ? m->gpu_name : "unknown GPU",
                 m->backend, m->kernel[0] ? m->kernel : "unknown");
}

// One trace: "B=1 N=2048 H=4 D=64 bf16, 192x192 tiles · synthetic maps (...) · CPU backend ...".
void ll_fig_trace_provenance(const ll_report_trace *t, char *out, size_t len) {
    const ll_trace_meta *m = &t->meta;
    char maps[320], hw[256];
    ll_fig_maps_label(m, maps, sizeof maps);
    ll_fig_hardware_label(m, hw, sizeof hw);
    snprintf(out, len, "B=%d N=%d H=%d D=%d %s, %dx%d tiles · %s · %s", m->shape.B, m->shape.N, m->shape.H,
             m->shape.D, ll_dtype_name(m->shape.dtype), m->tiling.block_m, m->tiling.block_n, maps, hw);
}

// The subtitle of a figure drawn from the traces flagged in use (NULL: all):
// their provenance when they share it, else a pointer to report.md.
void ll_fig_subtitle(const fig_ctx *c, const int *use, char *out, size_t len) {
    char first[700] = "", other[700];
    int n = 0, differ = 0;
    for (int i = 0; i < c->in->n_traces; i++) {
        if (use && !use[i]) continue;
        ll_fig_trace_provenance(&c->in->traces[i], n ? other : first, sizeof first);
        if (n && strcmp(first, other)) differ = 1;
        n++;
    }
    if (!n)
        snprintf(out, len, "no trace");
    else if (differ)
        snprintf(out, len, "%d traces of different shapes, maps or hardware: see report.md", n);
    else
        snprintf(out, len, "%s", first);
}

// Kinds whose skips come from the kernel's QK-skip criterion during the
// descending walk over key tiles (lib/policy_*.c); oracle, window and radial
// masks do not depend on the walk.
int ll_fig_walk_marks(const char *kind) {
    static const char *const walk[] = {"lite", "lite_schedule", "warmup", "refresh", "static", "dynamic"};
    for (size_t i = 0; i < sizeof walk / sizeof walk[0]; i++)
        if (!strcmp(kind, walk[i])) return 1;
    return 0;
}
