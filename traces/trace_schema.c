// trace_schema.c: the trace format's types, attributes and row checks
// (trace_schema.h, traces/FORMAT.md).
#include "trace_schema.h"

#include <inttypes.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "h5_util.h"
#include "version.h"

// ---------------------------------------------------------------------------
// Compound types

typedef enum { F_I32, F_U64, F_F32, F_F64, F_STR } field_kind;
typedef struct {
    const char *name;
    size_t offset;
    field_kind kind;
    size_t str_size;  // F_STR: bytes including the terminating NUL
} field;

#define CALL_FIELD(name, kind) {#name, offsetof(ll_trace_call, name), kind, 0}
static const field CALL_FIELDS[] = {
    CALL_FIELD(policy, F_I32),         CALL_FIELD(step, F_I32),
    CALL_FIELD(layer, F_I32),          CALL_FIELD(head, F_I32),
    CALL_FIELD(threshold, F_F32),      CALL_FIELD(gpu_ms, F_F64),
    CALL_FIELD(host_ms, F_F64),        CALL_FIELD(n_kernels, F_I32),
    CALL_FIELD(tiles_total, F_U64),    CALL_FIELD(tiles_kept, F_U64),
    CALL_FIELD(flops_dense, F_U64),    CALL_FIELD(flops_executed, F_U64),
    CALL_FIELD(tensor_work_ratio, F_F64), CALL_FIELD(rel_l2, F_F64),
    CALL_FIELD(max_abs, F_F64),        CALL_FIELD(cosine, F_F64),
    CALL_FIELD(worst_row_rel_l2, F_F64), CALL_FIELD(skipped_mass, F_F64),
};
enum { N_CALL_FIELDS = sizeof CALL_FIELDS / sizeof CALL_FIELDS[0] };

static const field POLICY_FIELDS[] = {
    {"name", offsetof(ll_trace_policy, name), F_STR, sizeof(((ll_trace_policy *)0)->name)},
    {"kind", offsetof(ll_trace_policy, kind), F_STR, sizeof(((ll_trace_policy *)0)->kind)},
    {"params_json", offsetof(ll_trace_policy, params_json), F_STR, sizeof(((ll_trace_policy *)0)->params_json)},
};
enum { N_POLICY_FIELDS = sizeof POLICY_FIELDS / sizeof POLICY_FIELDS[0] };

static hid_t string_type(size_t size) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, size) < 0 || H5Tset_strpad(t, H5T_STR_NULLTERM) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static hid_t mem_atom(field_kind k) {
    switch (k) {
    case F_I32: return H5T_NATIVE_INT32;
    case F_U64: return H5T_NATIVE_UINT64;
    case F_F32: return H5T_NATIVE_FLOAT;
    default: return H5T_NATIVE_DOUBLE;
    }
}
static hid_t file_atom(field_kind k) {
    switch (k) {
    case F_I32: return H5T_STD_I32LE;
    case F_U64: return H5T_STD_U64LE;
    case F_F32: return H5T_IEEE_F32LE;
    default: return H5T_IEEE_F64LE;
    }
}
static size_t file_size(const field *f) {
    switch (f->kind) {
    case F_I32: case F_F32: return 4;
    case F_STR: return f->str_size;
    default: return 8;
    }
}

// One compound type from a field table; packed file layout or the C struct's.
static hid_t make_compound(const field *fs, int n, size_t struct_size, int file_layout) {
    size_t total = struct_size;
    if (file_layout) {
        total = 0;
        for (int i = 0; i < n; i++) total += file_size(&fs[i]);
    }
    hid_t t = H5Tcreate(H5T_COMPOUND, total);
    if (t < 0) return t;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        hid_t m = fs[i].kind == F_STR ? string_type(fs[i].str_size) : file_layout ? file_atom(fs[i].kind)
                                                                                  : mem_atom(fs[i].kind);
        herr_t r = m < 0 ? -1 : H5Tinsert(t, fs[i].name, file_layout ? off : fs[i].offset, m);
        if (fs[i].kind == F_STR && m >= 0) H5Tclose(m);
        if (r < 0) {
            H5Tclose(t);
            return -1;
        }
        off += file_size(&fs[i]);
    }
    return t;
}

ll_status ll_trace_types_make(ll_trace_types *t, const char *path, ll_error *err) {
    t->calls_mem = make_compound(CALL_FIELDS, N_CALL_FIELDS, sizeof(ll_trace_call), 0);
    t->calls_file = make_compound(CALL_FIELDS, N_CALL_FIELDS, sizeof(ll_trace_call), 1);
    t->policies_mem = make_compound(POLICY_FIELDS, N_POLICY_FIELDS, sizeof(ll_trace_policy), 0);
    t->policies_file = make_compound(POLICY_FIELDS, N_POLICY_FIELDS, sizeof(ll_trace_policy), 1);
    if (t->calls_mem < 0 || t->calls_file < 0 || t->policies_mem < 0 || t->policies_file < 0) {
        ll_h5_fail_(err, LL_ERR_INTERNAL, path, "H5Tcreate/H5Tinsert", __FILE__, __LINE__,
                    "cannot build the table types");
        ll_trace_types_free(t);
        return LL_ERR_INTERNAL;
    }
    return LL_OK;
}

void ll_trace_types_free(ll_trace_types *t) {
    ll_h5_close(&t->calls_mem);
    ll_h5_close(&t->calls_file);
    ll_h5_close(&t->policies_mem);
    ll_h5_close(&t->policies_file);
}

int ll_trace_check_fields(hid_t file_type, const char *which, const char *path, FILE *report, ll_error *err) {
    int is_calls = strcmp(which, "/calls") == 0;
    const field *fs = is_calls ? CALL_FIELDS : POLICY_FIELDS;
    int n = is_calls ? N_CALL_FIELDS : N_POLICY_FIELDS;
    if (H5Tget_class(file_type) != H5T_COMPOUND) {
        ll_fail(err, LL_ERR_FORMAT, "%s: %s is not a table (compound type)", path, which);
        if (report) fprintf(report, "  %s\n", err ? err->msg : "");
        return 1;
    }
    int problems = 0;
    for (int i = 0; i < n; i++) {
        int idx = H5Tget_member_index(file_type, fs[i].name);
        H5T_class_t want = fs[i].kind == F_STR ? H5T_STRING
                           : (fs[i].kind == F_F32 || fs[i].kind == F_F64) ? H5T_FLOAT
                                                                          : H5T_INTEGER;
        char msg[256] = "";
        if (idx < 0)
            snprintf(msg, sizeof msg, "%s: %s: field '%s' is missing", path, which, fs[i].name);
        else if (H5Tget_member_class(file_type, (unsigned)idx) != want)
            snprintf(msg, sizeof msg, "%s: %s: field '%s' has the wrong type (expected %s)", path, which, fs[i].name,
                     want == H5T_STRING ? "a string" : want == H5T_FLOAT ? "a float" : "an integer");
        if (msg[0]) {
            if (!problems++) ll_fail(err, LL_ERR_FORMAT, "%s", msg);
            if (report) fprintf(report, "  %s\n", msg);
        }
    }
    return problems;
}

// ---------------------------------------------------------------------------
// Metadata

static int terminated(const char *s, size_t n) { return memchr(s, '\0', n) != NULL; }

ll_status ll_trace_check_meta(const ll_trace_meta *m, const char *path, ll_error *err) {
    char what[600];
    snprintf(what, sizeof what, "%s: trace shape", path);
    LL_TRY(ll_shape_validate(&m->shape, what, err));
    if (m->steps < 1 || m->layers < 1)
        return ll_fail(err, LL_ERR_INVALID, "%s: steps=%d and layers=%d must be >= 1", path, m->steps, m->layers);
    int grid = m->frames || m->height || m->width;
    if (grid && (m->frames < 1 || m->height < 1 || m->width < 1 ||
                 (int64_t)m->frames * m->height * m->width != m->shape.N))
        return ll_fail(err, LL_ERR_INVALID, "%s: token grid %dx%dx%d does not give N=%d (all 0 when unknown)", path,
                       m->frames, m->height, m->width, m->shape.N);
    ll_error e2;
    if (ll_tiling_validate(&m->tiling, &e2) != LL_OK) return ll_fail(err, LL_ERR_INVALID, "%s: %s", path, e2.msg);
    if (m->encoding != LL_END_EXCLUSIVE && m->encoding != LL_END_INCLUSIVE_PRODUCTION)
        return ll_fail(err, LL_ERR_INVALID, "%s: unknown list encoding code %d", path, (int)m->encoding);
    if (!isfinite(m->softmax_scale) || m->softmax_scale < 0)
        return ll_fail(err, LL_ERR_INVALID, "%s: softmax_scale %g must be finite and >= 0", path, (double)m->softmax_scale);
    const char *strs[] = {m->backend, m->kernel, m->gpu_name, m->driver_version, m->cuda_version,
                          m->counters_status, m->experiment, m->trajectory};
    const size_t sizes[] = {sizeof m->backend, sizeof m->kernel, sizeof m->gpu_name, sizeof m->driver_version,
                            sizeof m->cuda_version, sizeof m->counters_status, sizeof m->experiment,
                            sizeof m->trajectory};
    for (int i = 0; i < 8; i++)
        if (!terminated(strs[i], sizes[i])) return ll_fail(err, LL_ERR_INVALID, "%s: an unterminated provenance string", path);
    return LL_OK;
}

ll_status ll_trace_check_policies(const ll_trace_policy *p, int n, const char *path, ll_error *err) {
    if (!p || n < 1) return ll_fail(err, LL_ERR_INVALID, "%s: a trace needs at least one policy", path);
    for (int i = 0; i < n; i++) {
        if (!terminated(p[i].name, sizeof p[i].name) || !terminated(p[i].kind, sizeof p[i].kind) ||
            !terminated(p[i].params_json, sizeof p[i].params_json))
            return ll_fail(err, LL_ERR_INVALID, "%s: policy %d: an unterminated string", path, i);
        // Names become HDF5 group names (/masks/<name>, /state/<name>).
        if (!p[i].name[0] || strchr(p[i].name, '/') || !strcmp(p[i].name, ".") || !strcmp(p[i].name, ".."))
            return ll_fail(err, LL_ERR_INVALID, "%s: policy %d: name '%s' is not usable (non-empty, no '/')", path, i,
                           p[i].name);
        if (!p[i].kind[0]) return ll_fail(err, LL_ERR_INVALID, "%s: policy '%s' has no kind", path, p[i].name);
        for (int j = 0; j < i; j++)
            if (!strcmp(p[i].name, p[j].name))
                return ll_fail(err, LL_ERR_INVALID, "%s: policy name '%s' used twice", path, p[i].name);
    }
    return LL_OK;
}

#define PUT(call)                                                                                             \
    do {                                                                                                      \
        if (LL_H5_CHECK(call, err, LL_ERR_IO, path, "cannot write the root attributes")) return LL_ERR_IO; \
    } while (0)

ll_status ll_trace_write_meta(hid_t f, const ll_trace_meta *m, const char *path, ll_error *err) {
    char created[32];
    ll_h5_utc_now(created, sizeof created);
    const ll_shape *s = &m->shape;
    int32_t shape[4] = {s->B, s->N, s->H, s->D}, grid[3] = {m->frames, m->height, m->width};
    int32_t tiling[2] = {m->tiling.block_m, m->tiling.block_n};
    PUT(ll_h5_put_str(f, "format", LL_TRACE_FORMAT));
    PUT(ll_h5_put_i32(f, "format_version", LL_TRACE_VERSION));
    PUT(ll_h5_put_str(f, "toolkit_version", ll_version()));
    PUT(ll_h5_put_str(f, "git_commit", ll_git_commit()));
    PUT(ll_h5_put_str(f, "created", created));
    PUT(ll_h5_put_str(f, "backend", m->backend));
    PUT(ll_h5_put_str(f, "kernel", m->kernel));
    PUT(ll_h5_put_str(f, "gpu", m->gpu_name));
    PUT(ll_h5_put_str(f, "driver_version", m->driver_version));
    PUT(ll_h5_put_str(f, "cuda_version", m->cuda_version));
    PUT(ll_h5_put_i32(f, "sm_clock_mhz", m->sm_clock_mhz));
    PUT(ll_h5_put_i32(f, "mem_clock_mhz", m->mem_clock_mhz));
    PUT(ll_h5_put_str(f, "counters_status", m->counters_status));
    PUT(ll_h5_put_str(f, "experiment", m->experiment));
    PUT(ll_h5_put_str(f, "trajectory", m->trajectory));
    PUT(ll_h5_put_i32_array(f, "shape", shape, 4));
    PUT(ll_h5_put_str(f, "dtype", ll_dtype_name(s->dtype)));
    PUT(ll_h5_put_i32(f, "steps", m->steps));
    PUT(ll_h5_put_i32(f, "layers", m->layers));
    PUT(ll_h5_put_i32_array(f, "grid", grid, 3));
    PUT(ll_h5_put_i32_array(f, "tiling", tiling, 2));
    PUT(ll_h5_put_i32(f, "q_tiles", ll_q_tiles(s, &m->tiling)));
    PUT(ll_h5_put_i32(f, "k_tiles", ll_k_tiles(s, &m->tiling)));
    PUT(ll_h5_put_str(f, "encoding", ll_list_encoding_name(m->encoding)));
    PUT(ll_h5_put_f32(f, "softmax_scale", m->softmax_scale));
    PUT(ll_h5_put_i32(f, "complete", 0));
    PUT(ll_h5_put_i32(f, "steps_done", 0));
    PUT(ll_h5_put_i64(f, "calls_done", 0));
    return LL_OK;
}

ll_status ll_trace_read_meta(hid_t f, const char *path, ll_trace_meta *m, uint64_t *calls_done, ll_error *err) {
    memset(m, 0, sizeof *m);
    const char *p = path;
    char format[64], dtype[16], enc[32];
    if (H5Aexists(f, "format") <= 0)
        return ll_fail(err, LL_ERR_FORMAT, "%s: an HDF5 file, but not a litelab trace (no 'format' attribute)", p);
    LL_TRY(ll_h5_get_str(f, "format", format, sizeof format, p, "/", err));
    if (strcmp(format, LL_TRACE_FORMAT) != 0)
        return ll_fail(err, LL_ERR_FORMAT, "%s: format is '%s', not a litelab trace ('%s')", p, format, LL_TRACE_FORMAT);
    int64_t v;
    LL_TRY(ll_h5_get_int(f, "format_version", 1, INT32_MAX, &v, p, "/", err));
    if (v > LL_TRACE_VERSION)
        return ll_fail(err, LL_ERR_FORMAT, "%s: trace format version %lld is newer than this litelab reads (%d)", p,
                       (long long)v, LL_TRACE_VERSION);
    struct {
        const char *name;
        char *buf;
        size_t len;
    } strs[] = {
        {"toolkit_version", m->toolkit_version, sizeof m->toolkit_version},
        {"git_commit", m->git_commit, sizeof m->git_commit},
        {"created", m->created, sizeof m->created},
        {"backend", m->backend, sizeof m->backend},
        {"kernel", m->kernel, sizeof m->kernel},
        {"gpu", m->gpu_name, sizeof m->gpu_name},
        {"driver_version", m->driver_version, sizeof m->driver_version},
        {"cuda_version", m->cuda_version, sizeof m->cuda_version},
        {"counters_status", m->counters_status, sizeof m->counters_status},
        {"experiment", m->experiment, sizeof m->experiment},
        {"trajectory", m->trajectory, sizeof m->trajectory},
        {"dtype", dtype, sizeof dtype},
        {"encoding", enc, sizeof enc},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        LL_TRY(ll_h5_get_str(f, strs[i].name, strs[i].buf, strs[i].len, p, "/", err));
    ll_error e2;
    if (ll_dtype_parse(dtype, &m->shape.dtype, &e2) != LL_OK)
        return ll_fail(err, LL_ERR_FORMAT, "%s: attribute 'dtype': %s", p, e2.msg);
    if (ll_list_encoding_parse(enc, &m->encoding, &e2) != LL_OK)
        return ll_fail(err, LL_ERR_FORMAT, "%s: attribute 'encoding': %s", p, e2.msg);
    int64_t shape[4], grid[3], tiling[2], x;
    LL_TRY(ll_h5_get_int_array(f, "shape", 4, 1, INT32_MAX, shape, p, "/", err));
    LL_TRY(ll_h5_get_int_array(f, "grid", 3, 0, INT32_MAX, grid, p, "/", err));
    LL_TRY(ll_h5_get_int_array(f, "tiling", 2, 1, INT32_MAX, tiling, p, "/", err));
    m->shape.B = (int)shape[0];
    m->shape.N = (int)shape[1];
    m->shape.H = (int)shape[2];
    m->shape.D = (int)shape[3];
    m->frames = (int)grid[0];
    m->height = (int)grid[1];
    m->width = (int)grid[2];
    m->tiling = (ll_tiling){(int)tiling[0], (int)tiling[1]};
    LL_TRY(ll_h5_get_int(f, "steps", 1, INT32_MAX, &x, p, "/", err));
    m->steps = (int)x;
    LL_TRY(ll_h5_get_int(f, "layers", 1, INT32_MAX, &x, p, "/", err));
    m->layers = (int)x;
    LL_TRY(ll_h5_get_int(f, "sm_clock_mhz", 0, INT32_MAX, &x, p, "/", err));
    m->sm_clock_mhz = (int)x;
    LL_TRY(ll_h5_get_int(f, "mem_clock_mhz", 0, INT32_MAX, &x, p, "/", err));
    m->mem_clock_mhz = (int)x;
    double scale;
    LL_TRY(ll_h5_get_float(f, "softmax_scale", &scale, p, "/", err));
    m->softmax_scale = (float)scale;
    LL_TRY(ll_h5_get_int(f, "complete", 0, 1, &x, p, "/", err));
    m->complete = (int)x;
    LL_TRY(ll_h5_get_int(f, "steps_done", 0, m->steps, &x, p, "/", err));
    m->steps_done = (int)x;
    LL_TRY(ll_h5_get_int(f, "calls_done", 0, INT64_MAX, &x, p, "/", err));
    *calls_done = (uint64_t)x;
    if (ll_trace_check_meta(m, p, &e2) != LL_OK) return ll_fail(err, LL_ERR_FORMAT, "%s", e2.msg);
    int64_t qt, kt;
    LL_TRY(ll_h5_get_int(f, "q_tiles", 1, INT32_MAX, &qt, p, "/", err));
    LL_TRY(ll_h5_get_int(f, "k_tiles", 1, INT32_MAX, &kt, p, "/", err));
    if (qt != ll_q_tiles(&m->shape, &m->tiling) || kt != ll_k_tiles(&m->shape, &m->tiling))
        return ll_fail(err, LL_ERR_FORMAT, "%s: q_tiles=%lld k_tiles=%lld do not follow from N=%d and tiles %dx%d", p,
                       (long long)qt, (long long)kt, m->shape.N, m->tiling.block_m, m->tiling.block_n);
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Rows

static int nan_or_at_least(double x, double lo) { return isnan(x) || x >= lo; }

int ll_trace_call_ok(const ll_trace_call *c, const ll_trace_meta *m, int n_policies, char *why, size_t len) {
    const ll_shape *s = &m->shape;
    const ll_tiling *t = &m->tiling;
    why[0] = '\0';
    if (c->policy < 0 || c->policy >= n_policies)
        snprintf(why, len, "policy %d out of range (%d policies)", c->policy, n_policies);
    else if (c->step < 0 || c->step >= m->steps_done)
        snprintf(why, len, "step %d out of range (%d durable steps)", c->step, m->steps_done);
    else if (c->layer < 0 || c->layer >= m->layers)
        snprintf(why, len, "layer %d out of range (%d layers)", c->layer, m->layers);
    else if (c->head < -1 || c->head >= s->H)
        snprintf(why, len, "head %d out of range (-1 for the layer, else < %d)", c->head, s->H);
    if (why[0]) return 0;
    uint64_t heads = c->head < 0 ? (uint64_t)s->H : 1;
    int qts = ll_q_tiles(s, t), kts = ll_k_tiles(s, t);
    uint64_t tiles = (uint64_t)s->B * heads * qts * kts;
    uint64_t dense = 4ull * s->B * heads * (uint64_t)s->N * s->N * s->D;
    // Every kept tile costs between the smallest (last, partial) and a full tile.
    uint64_t min_tile = 4ull * ll_q_tile_rows(s, t, qts - 1) * ll_k_tile_cols(s, t, kts - 1) * s->D;
    uint64_t max_tile = 4ull * (uint64_t)ll_q_tile_rows(s, t, 0) * ll_k_tile_cols(s, t, 0) * s->D;
    if (c->tiles_total != tiles)
        snprintf(why, len, "tiles_total %" PRIu64 ", the shape and tiling give %" PRIu64, c->tiles_total, tiles);
    else if (c->tiles_kept > c->tiles_total)
        snprintf(why, len, "tiles_kept %" PRIu64 " > tiles_total %" PRIu64, c->tiles_kept, c->tiles_total);
    else if (c->flops_dense != dense)
        snprintf(why, len, "flops_dense %" PRIu64 ", the shape gives %" PRIu64, c->flops_dense, dense);
    else if (c->flops_executed > c->flops_dense)
        snprintf(why, len, "flops_executed %" PRIu64 " > flops_dense %" PRIu64, c->flops_executed, c->flops_dense);
    else if (c->flops_executed < c->tiles_kept * min_tile || c->flops_executed > c->tiles_kept * max_tile)
        snprintf(why, len, "flops_executed %" PRIu64 " does not fit %" PRIu64 " kept tiles (%" PRIu64 "..%" PRIu64
                           " FLOPs each)",
                 c->flops_executed, c->tiles_kept, min_tile, max_tile);
    else if (c->n_kernels < 0)
        snprintf(why, len, "n_kernels %d < 0", c->n_kernels);
    else if (!nan_or_at_least(c->gpu_ms, 0) || !nan_or_at_least(c->host_ms, 0))
        snprintf(why, len, "negative runtime (gpu_ms %g, host_ms %g)", c->gpu_ms, c->host_ms);
    else if (!nan_or_at_least(c->rel_l2, 0) || !nan_or_at_least(c->max_abs, 0) ||
             !nan_or_at_least(c->worst_row_rel_l2, 0) || !nan_or_at_least(c->tensor_work_ratio, 0))
        snprintf(why, len, "a negative error or work ratio");
    else if (!isnan(c->cosine) && (c->cosine < -1.001 || c->cosine > 1.001))
        snprintf(why, len, "cosine %g outside [-1, 1]", c->cosine);
    else if (!isnan(c->skipped_mass) && (c->skipped_mass < 0 || c->skipped_mass > 1.001))
        snprintf(why, len, "skipped_mass %g outside [0, 1]", c->skipped_mass);
    return why[0] == '\0';
}

// ---------------------------------------------------------------------------
// Names

void ll_trace_step_layer_name(int step, int layer, char *out, size_t len) { snprintf(out, len, "s%d_l%d", step, layer); }

// Parses a non-negative decimal at *s (no sign, no leading zeros but "0").
static int parse_count(const char **s, int *out) {
    const char *p = *s;
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9')) return 0;
    long v = 0;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > INT32_MAX) return 0;
    }
    *out = (int)v;
    *s = p;
    return 1;
}

int ll_trace_parse_step_layer(const char *name, int *step, int *layer) {
    const char *p = name;
    if (*p++ != 's' || !parse_count(&p, step) || *p++ != '_' || *p++ != 'l' || !parse_count(&p, layer)) return 0;
    return *p == '\0';
}

int ll_trace_parse_layer(const char *name, int *layer) {
    const char *p = name;
    if (*p++ != 'l' || !parse_count(&p, layer)) return 0;
    return *p == '\0';
}
