// backend.c: the CPU reference and the CUDA kernels behind one call (see
// backend.h). The CPU path is ll_reference_forward timed by the wall clock;
// the CUDA path is ll_cuda_forward on device buffers, timed by CUPTI.
#include "backend.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu_counters.h"
#include "gpu_timer.h"

struct ll_backend {
    ll_backend_kind kind;
    ll_shape shape;
    ll_tiling tiling;
    int n_threads;
    size_t elems, list_bytes;
    int k_tiles;
    const uint16_t *hq, *hk, *hv;  // host inputs (caller's)
    // CPU
    float *o32, *ref32;
    // CUDA
    ll_kernel_variant variant;
    char gpu_name[128];
    uint16_t *dq, *dk, *dv, *dout;
    int32_t *dread, *dwrite;
    uint8_t *dflags;
    int *dfitted;  // the kernel's count of write-list rows that needed the fit rule
    uint16_t *o16, *ref16;
    int out_on_host;  // o16 holds the last call's output
    ll_gpu_timer *timer;
    ll_gpu_counters *counters;
};

const char *ll_kernel_variant_name(ll_kernel_variant v) {
    switch (v) {
    case LL_KERNEL_AUTO: return "auto";
    case LL_KERNEL_PORTABLE: return "portable";
    case LL_KERNEL_HOPPER: return "hopper";
    }
    return "unknown";
}

const char *ll_backend_kind_name(ll_backend_kind k) {
    return k == LL_BACKEND_CPU ? "cpu" : k == LL_BACKEND_CUDA ? "cuda" : "auto";
}

ll_status ll_backend_kind_parse(const char *s, ll_backend_kind *out, ll_error *err) {
    if (s && !strcmp(s, "auto")) *out = LL_BACKEND_AUTO;
    else if (s && !strcmp(s, "cpu")) *out = LL_BACKEND_CPU;
    else if (s && !strcmp(s, "cuda")) *out = LL_BACKEND_CUDA;
    else return ll_fail(err, LL_ERR_USAGE, "unknown backend '%s' (auto, cpu or cuda)", s ? s : "(null)");
    return LL_OK;
}

static ll_status create_cpu(const ll_backend_options *o, ll_backend *b, ll_error *err) {
    b->kind = LL_BACKEND_CPU;
    b->tiling = o->tiling_mode == 2 ? o->tiling : ll_tiling_production(b->shape.D);
    LL_TRY(ll_tiling_validate(&b->tiling, err));
    b->o32 = malloc(sizeof(float) * b->elems);
    b->ref32 = malloc(sizeof(float) * b->elems);
    if (!b->o32 || !b->ref32) return ll_fail(err, LL_ERR_NOMEM, "CPU backend: out of memory for outputs (%zu floats)", b->elems);
    return LL_OK;
}

static ll_status create_cuda(const ll_backend_options *o, ll_backend *b, ll_error *err) {
    b->kind = LL_BACKEND_CUDA;
    LL_TRY(ll_cuda_pick(&b->shape, o->kernel, &b->variant, &b->tiling, err));
    if (o->tiling_mode != 0) {
        ll_tiling want = o->tiling_mode == 2 ? o->tiling : ll_tiling_production(b->shape.D);
        if (want.block_m != b->tiling.block_m || want.block_n != b->tiling.block_n)
            return ll_fail(err, LL_ERR_USAGE,
                           "tiling %dx%d asked for, but the CUDA kernel '%s' uses %dx%d tiles for this shape (use "
                           "\"tiling\": \"auto\", or the CPU backend)",
                           want.block_m, want.block_n, ll_kernel_variant_name(b->variant), b->tiling.block_m,
                           b->tiling.block_n);
    }
    size_t bytes = b->elems * sizeof(uint16_t);
    b->k_tiles = ll_k_tiles(&b->shape, &b->tiling);
    b->list_bytes = (size_t)b->shape.B * b->shape.H * ll_q_tiles(&b->shape, &b->tiling) * (size_t)(b->k_tiles + 1) *
                    sizeof(int32_t);
    LL_TRY(ll_cuda_malloc((void **)&b->dq, bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&b->dk, bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&b->dv, bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&b->dout, bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&b->dread, b->list_bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&b->dwrite, b->list_bytes, err));
    LL_TRY(ll_cuda_malloc((void **)&b->dflags, (size_t)b->k_tiles, err));
    LL_TRY(ll_cuda_malloc((void **)&b->dfitted, sizeof(int), err));
    b->o16 = malloc(bytes);
    b->ref16 = malloc(bytes);
    if (!b->o16 || !b->ref16) return ll_fail(err, LL_ERR_NOMEM, "CUDA backend: out of host memory for outputs");
    return ll_gpu_timer_create(&b->timer, err);
}

ll_status ll_backend_create(const ll_backend_options *o, const ll_shape *shape, ll_backend **out, ll_error *err) {
    *out = NULL;
    LL_TRY(ll_shape_validate(shape, "backend", err));
    ll_backend *b = calloc(1, sizeof *b);
    if (!b) return ll_fail(err, LL_ERR_NOMEM, "backend: out of memory");
    b->shape = *shape;
    b->n_threads = o->n_threads;
    b->elems = ll_shape_elems(shape);
    ll_backend_kind kind = o->want;
    if (kind != LL_BACKEND_CPU) {
        int maj = 0, min = 0;
        ll_error probe;
        ll_error_clear(&probe);
        ll_status s = ll_cuda_probe(b->gpu_name, sizeof b->gpu_name, &maj, &min, &probe);
        if (s != LL_OK && kind == LL_BACKEND_CUDA) {
            free(b);
            return ll_fail(err, LL_ERR_NO_GPU, "the CUDA backend was asked for, but no GPU is usable: %s", probe.msg);
        }
        kind = s == LL_OK ? LL_BACKEND_CUDA : LL_BACKEND_CPU;
    }
    ll_status s = kind == LL_BACKEND_CUDA ? create_cuda(o, b, err) : create_cpu(o, b, err);
    if (s != LL_OK) {
        ll_backend_destroy(b);
        return s;
    }
    *out = b;
    return LL_OK;
}

void ll_backend_destroy(ll_backend *b) {
    if (!b) return;
    free(b->o32);
    free(b->ref32);
    free(b->o16);
    free(b->ref16);
    if (b->kind == LL_BACKEND_CUDA) {
        ll_cuda_free(b->dq);
        ll_cuda_free(b->dk);
        ll_cuda_free(b->dv);
        ll_cuda_free(b->dout);
        ll_cuda_free(b->dread);
        ll_cuda_free(b->dwrite);
        ll_cuda_free(b->dflags);
        ll_cuda_free(b->dfitted);
        if (b->timer) ll_gpu_timer_destroy(b->timer);
        if (b->counters) ll_gpu_counters_destroy(b->counters);
    }
    free(b);
}

ll_backend_kind ll_backend_kind_of(const ll_backend *b) { return b->kind; }
ll_tiling ll_backend_tiling(const ll_backend *b) { return b->tiling; }

// The kernel driver's version from the proc file the NVIDIA module provides
// (no nvidia-smi); empty when absent.
static void kernel_driver_version(char *out, size_t len) {
    out[0] = '\0';
    FILE *f = fopen("/proc/driver/nvidia/version", "r");
    if (!f) return;
    char line[512];
    if (fgets(line, sizeof line, f)) {
        const char *m = strstr(line, "Kernel Module");
        if (m) {
            m += strlen("Kernel Module");
            while (*m == ' ' || *m == '\t') m++;
            size_t n = strcspn(m, " \t\n");
            if (n >= len) n = len - 1;
            memcpy(out, m, n);
            out[n] = '\0';
        }
    }
    fclose(f);
}

static void runtime_version(const ll_cuda_environment *env, ll_trace_meta *meta) {
    int rt = env->runtime_version;
    if (rt > 0) snprintf(meta->cuda_version, sizeof meta->cuda_version, "%d.%d (runtime)", rt / 1000, (rt % 1000) / 10);
}

void ll_backend_provenance(const ll_backend *b, ll_trace_meta *meta) {
    snprintf(meta->backend, sizeof meta->backend, "%s", ll_backend_kind_name(b->kind));
    ll_cuda_environment env;
    ll_error ignored;
    if (ll_cuda_environment_get(&env, &ignored) != LL_OK) memset(&env, 0, sizeof env);  // a build without CUDA
    if (b->kind == LL_BACKEND_CPU) {
        snprintf(meta->kernel, sizeof meta->kernel, "cpu-reference");
        meta->gpu_name[0] = meta->driver_version[0] = '\0';
        runtime_version(&env, meta);  // the toolkit the binary was built with, even on the CPU
        meta->sm_clock_mhz = meta->mem_clock_mhz = 0;
        return;
    }
    snprintf(meta->kernel, sizeof meta->kernel, "%s", ll_kernel_variant_name(b->variant));
    snprintf(meta->gpu_name, sizeof meta->gpu_name, "%s", b->gpu_name);
    char kmod[16];
    kernel_driver_version(kmod, sizeof kmod);
    int drv = env.driver_version;
    snprintf(meta->driver_version, sizeof meta->driver_version, "%.15s%sCUDA %d.%d", kmod, kmod[0] ? " / " : "",
             (drv / 1000) % 100, (drv % 1000) / 10);
    runtime_version(&env, meta);
    meta->sm_clock_mhz = env.sm_clock_mhz;
    meta->mem_clock_mhz = env.mem_clock_mhz;
}

ll_status ll_backend_set_inputs(ll_backend *b, const uint16_t *q, const uint16_t *k, const uint16_t *v,
                                ll_error *err) {
    LL_TRY(ll_check_finite(&b->shape, q, "Q", err));
    LL_TRY(ll_check_finite(&b->shape, k, "K", err));
    LL_TRY(ll_check_finite(&b->shape, v, "V", err));
    b->hq = q;
    b->hk = k;
    b->hv = v;
    if (b->kind == LL_BACKEND_CUDA) {
        size_t bytes = b->elems * sizeof(uint16_t);
        LL_TRY(ll_cuda_upload(b->dq, q, bytes, err));
        LL_TRY(ll_cuda_upload(b->dk, k, bytes, err));
        LL_TRY(ll_cuda_upload(b->dv, v, bytes, err));
    }
    return LL_OK;
}

static ll_status check_call(const ll_backend *b, const ll_attn_params *p, const ll_skip_list *read,
                            const ll_skip_list *write, ll_error *err) {
    if (!b->hq) return ll_fail(err, LL_ERR_INTERNAL, "backend: forward before set_inputs");
    const ll_shape *s = &p->shape;
    if (s->B != b->shape.B || s->N != b->shape.N || s->H != b->shape.H || s->D != b->shape.D ||
        s->dtype != b->shape.dtype || p->tiling.block_m != b->tiling.block_m || p->tiling.block_n != b->tiling.block_n)
        return ll_fail(err, LL_ERR_INTERNAL, "backend: call shape or tiling differs from the backend's");
    if (write && !read) return ll_fail(err, LL_ERR_INTERNAL, "backend: a write list needs a read list");
    int qts = ll_q_tiles(s, &p->tiling), kts = ll_k_tiles(s, &p->tiling);
    const ll_skip_list *ls[2] = {read, write};
    for (int i = 0; i < 2; i++)
        if (ls[i] && (ls[i]->B != s->B || ls[i]->H != s->H || ls[i]->q_tiles != qts || ls[i]->k_tiles != kts))
            return ll_fail(err, LL_ERR_INTERNAL, "backend: %s list %dx%dx%dx%d, call needs %dx%dx%dx%d",
                           i ? "write" : "read", ls[i]->B, ls[i]->H, ls[i]->q_tiles, ls[i]->k_tiles, s->B, s->H, qts, kts);
    return LL_OK;
}

static ll_status forward_cuda(ll_backend *b, const ll_attn_params *p, const ll_skip_list *read, ll_skip_list *write,
                              ll_backend_timing *t, ll_error *err) {
    if (read) LL_TRY(ll_cuda_upload(b->dread, read->data, b->list_bytes, err));
    if (p->key_tile_flags) LL_TRY(ll_cuda_upload(b->dflags, p->key_tile_flags, (size_t)b->k_tiles, err));
    if (write) LL_TRY(ll_cuda_memset(b->dfitted, 0, sizeof(int), err));
    ll_attn_params pp = *p;
    pp.key_tile_flags = NULL;  // host bytes; the device copy travels in the args
    ll_cuda_args a = {
        .q = b->dq, .k = b->dk, .v = b->dv, .o = b->dout, .lse = NULL,
        .read_list = read ? b->dread : NULL, .write_list = write ? b->dwrite : NULL,
        .key_tile_flags = p->key_tile_flags ? b->dflags : NULL,
        .encoding = read ? read->encoding : LL_END_EXCLUSIVE,
        .fitted_rows = write ? b->dfitted : NULL,
    };
    LL_TRY(ll_gpu_timer_begin(b->timer, err));
    ll_status s = ll_cuda_forward(b->variant, &pp, &a, err);
    double ms = NAN;
    int n = 0;
    ll_error e2;
    ll_status s2 = ll_gpu_timer_end(b->timer, &ms, &n, NULL, 0, &e2);  // always close the timing window
    if (s != LL_OK) return s;
    if (s2 != LL_OK) return ll_fail(err, s2, "%s", e2.msg);
    LL_TRY(ll_cuda_sync(err));
    t->fitted_rows = 0;
    if (write) LL_TRY(ll_cuda_download(write->data, b->dwrite, b->list_bytes, err));
    if (write) LL_TRY(ll_cuda_download(&t->fitted_rows, b->dfitted, sizeof(int), err));
    b->out_on_host = 0;
    t->ms = ms;
    t->n_kernels = n;
    return LL_OK;
}

ll_status ll_backend_forward(ll_backend *b, const ll_attn_params *p, const ll_skip_list *read, ll_skip_list *write,
                             ll_backend_timing *t, ll_error *err) {
    LL_TRY(check_call(b, p, read, write, err));
    if (b->kind == LL_BACKEND_CUDA) return forward_cuda(b, p, read, write, t, err);
    ll_reference_options opt = {.use_fp64 = 0, .n_threads = b->n_threads, .check_inputs = 0};
    double t0 = ll_now_seconds();
    LL_TRY(ll_reference_forward(p, &opt, b->hq, b->hk, b->hv, read, write, b->o32, NULL, NULL, &t->fitted_rows, err));
    t->ms = (ll_now_seconds() - t0) * 1e3;
    t->n_kernels = 0;
    return LL_OK;
}

ll_status ll_backend_output(ll_backend *b, ll_tensor_view *out, ll_error *err) {
    memset(out, 0, sizeof *out);
    out->dtype = b->shape.dtype;
    if (b->kind == LL_BACKEND_CPU) {
        out->f32 = b->o32;
        return LL_OK;
    }
    if (!b->out_on_host) {
        LL_TRY(ll_cuda_download(b->o16, b->dout, b->elems * sizeof(uint16_t), err));
        b->out_on_host = 1;
    }
    out->h16 = b->o16;
    return LL_OK;
}

ll_status ll_backend_keep_reference(ll_backend *b, ll_error *err) {
    ll_tensor_view o;
    LL_TRY(ll_backend_output(b, &o, err));
    if (o.f32) memcpy(b->ref32, o.f32, sizeof(float) * b->elems);
    else memcpy(b->ref16, o.h16, sizeof(uint16_t) * b->elems);
    return LL_OK;
}

ll_tensor_view ll_backend_reference(const ll_backend *b) {
    ll_tensor_view v = {.f32 = b->kind == LL_BACKEND_CPU ? b->ref32 : NULL,
                        .h16 = b->kind == LL_BACKEND_CUDA ? b->ref16 : NULL,
                        .dtype = b->shape.dtype};
    return v;
}

ll_status ll_backend_tile_map(ll_backend *b, const ll_attn_params *p, ll_tile_map *out, ll_error *err) {
    if (!b->hq) return ll_fail(err, LL_ERR_INTERNAL, "backend: tile map before set_inputs");
    if (b->kind == LL_BACKEND_CUDA) return ll_cuda_tile_map(p, b->dq, b->dk, out, err);
    return ll_tile_map_compute(p, b->hq, b->hk, out, NULL, err);
}

ll_status ll_backend_counters_open(ll_backend *b, char *status, size_t len) {
    if (b->kind != LL_BACKEND_CUDA) {
        snprintf(status, len, "GPU counters unavailable: CPU backend");
        return LL_ERR_NO_GPU;
    }
    ll_error e;
    ll_error_clear(&e);
    ll_status s = ll_gpu_counters_create(&b->counters, NULL, 64, &e);
    if (s != LL_OK) {
        b->counters = NULL;
        snprintf(status, len, "%s", e.msg);
        return s;
    }
    snprintf(status, len, "ok");
    return LL_OK;
}

double ll_backend_tensor_work_ratio(ll_backend *b, const ll_attn_params *p, const ll_skip_list *read,
                                   ll_skip_list *write, const ll_flops *work) {
    if (!b->counters || !work || work->executed == 0) return NAN;
    ll_error e;
    int nm = ll_gpu_counters_n_metrics(b->counters);
    double values[64 * LL_GPU_COUNTERS_MAX_METRICS];
    int n_ranges = 0;
    if (ll_gpu_counters_begin(b->counters, &e) != LL_OK) return NAN;
    ll_attn_params pp = *p;
    ll_cuda_args a = {
        .q = b->dq, .k = b->dk, .v = b->dv, .o = b->dout, .lse = NULL,
        .read_list = read ? b->dread : NULL, .write_list = write ? b->dwrite : NULL,
        .key_tile_flags = p->key_tile_flags ? b->dflags : NULL,
        .encoding = read ? read->encoding : LL_END_EXCLUSIVE,
    };
    pp.key_tile_flags = NULL;
    // The read list is still on the device from the timed call; the write
    // list gets the same contents again (the call is deterministic).
    ll_status s = ll_cuda_forward(b->variant, &pp, &a, &e);
    if (ll_gpu_counters_end(b->counters, values, 64, &n_ranges, &e) != LL_OK || s != LL_OK) return NAN;
    double hmma = 0, gmma = 0;
    for (int m = 0; m < nm; m++) {
        const char *name = ll_gpu_counters_metric(b->counters, m);
        for (int r = 0; r < n_ranges; r++) {
            if (strstr(name, "hmma")) hmma += values[r * nm + m];
            if (strstr(name, "gmma")) gmma += values[r * nm + m];
        }
    }
    b->out_on_host = 0;
    if (gmma > 0) {  // wgmma: a fixed count per computed tile, padding columns included
        double per_tile = ll_cuda_gmma_units_per_tile(b->variant, p->shape.D);
        return per_tile > 0 && work->tiles_kept ? gmma / (per_tile * (double)work->tiles_kept) : NAN;
    }
    return hmma * 4096.0 / (double)work->executed;  // one m16n8k16 mma.sync: 4096 FLOPs
}
