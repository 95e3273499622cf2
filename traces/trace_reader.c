// trace_reader.c: reading an experiment trace (trace.h, traces/FORMAT.md).
// Everything read is checked before a caller sees it (attribute types,
// table fields, row ranges, dataset dimensions), so a damaged or foreign
// file gives LL_ERR_FORMAT naming the file and the object, never a crash
// downstream. Of a partial trace only durable steps are visible.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_util.h"
#include "trace.h"
#include "trace_schema.h"

struct ll_trace_reader {
    char path[PATH_MAX];
    hid_t file, calls;
    ll_trace_types types;
    ll_trace_meta meta;
    uint64_t calls_done;
    char *config_json;
    ll_trace_policy *policies;  // read at open: masks and checkpoints are named by policy
    int n_policies;
    int q_tiles, k_tiles;
};

hid_t ll_trace_reader_file(ll_trace_reader *r) { return r->file; }
const char *ll_trace_reader_path(ll_trace_reader *r) { return r->path; }

static ll_status read_config(ll_trace_reader *r, ll_error *err) {
    if (!ll_h5_exists(r->file, "config_json"))
        return ll_fail(err, LL_ERR_FORMAT, "%s: dataset /config_json is missing", r->path);
    hid_t d = -1, t = -1, space = -1, mt = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(d = H5Dopen2(r->file, "config_json", H5P_DEFAULT), err, LL_ERR_FORMAT, r->path,
                    "cannot open /config_json") ||
        LL_H5_CHECK(t = H5Dget_type(d), err, LL_ERR_FORMAT, r->path, "/config_json: no type") ||
        LL_H5_CHECK(space = H5Dget_space(d), err, LL_ERR_FORMAT, r->path, "/config_json: no dataspace"))
        st = LL_ERR_FORMAT;
    if (st == LL_OK && (H5Tget_class(t) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1))
        st = ll_fail(err, LL_ERR_FORMAT, "%s: /config_json is not a single string", r->path);
    if (st == LL_OK && H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        mt = H5Tcopy(t);
        if (LL_H5_CHECK(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s), err, LL_ERR_FORMAT, r->path,
                        "cannot read /config_json"))
            st = LL_ERR_FORMAT;
        else if (!(r->config_json = strdup(s ? s : "")))
            st = ll_fail(err, LL_ERR_NOMEM, "out of memory");
        if (s) H5free_memory(s);
    } else if (st == LL_OK) {
        size_t size = H5Tget_size(t);
        if (size == 0 || size > ((size_t)1 << 30)) {
            st = ll_fail(err, LL_ERR_FORMAT, "%s: /config_json has an unusable size %zu", r->path, size);
        } else if (!(r->config_json = calloc(size + 1, 1))) {
            st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for the config (%zu bytes)", r->path, size);
        } else {
            mt = H5Tcopy(t);
            if (LL_H5_CHECK(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->config_json), err, LL_ERR_FORMAT, r->path,
                            "cannot read /config_json"))
                st = LL_ERR_FORMAT;
        }
    }
    ll_h5_close(&mt);
    ll_h5_close(&space);
    ll_h5_close(&t);
    ll_h5_close(&d);
    return st;
}

// Opens a 1-D table and checks its fields; *rows = its length.
static ll_status open_table(ll_trace_reader *r, const char *name, hid_t *d, hsize_t *rows, ll_error *err) {
    char where[32];
    snprintf(where, sizeof where, "/%s", name);
    if (!ll_h5_exists(r->file, name)) return ll_fail(err, LL_ERR_FORMAT, "%s: table %s is missing", r->path, where);
    if (LL_H5_CHECK(*d = H5Dopen2(r->file, name, H5P_DEFAULT), err, LL_ERR_FORMAT, r->path, "cannot open %s", where))
        return LL_ERR_FORMAT;
    hid_t t;
    if (LL_H5_CHECK(t = H5Dget_type(*d), err, LL_ERR_FORMAT, r->path, "%s: no type", where)) return LL_ERR_FORMAT;
    int bad = ll_trace_check_fields(t, where, r->path, NULL, err);
    H5Tclose(t);
    if (bad) return LL_ERR_FORMAT;
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    LL_TRY(ll_h5_dims(*d, H5S_MAX_RANK, &rank, dims, r->path, where, err));
    if (rank != 1) return ll_fail(err, LL_ERR_FORMAT, "%s: %s has rank %d, expected a 1-D table", r->path, where, rank);
    *rows = dims[0];
    return LL_OK;
}

static ll_status load_policies(ll_trace_reader *r, ll_error *err) {
    hid_t d = -1;
    hsize_t n = 0;
    ll_status st = open_table(r, "policies", &d, &n, err);
    if (st == LL_OK && (n < 1 || n > 100000))
        st = ll_fail(err, LL_ERR_FORMAT, "%s: /policies has %llu rows (1 to 100000)", r->path, (unsigned long long)n);
    if (st == LL_OK && !(r->policies = calloc((size_t)n, sizeof *r->policies)))
        st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", r->path);
    if (st == LL_OK && LL_H5_CHECK(H5Dread(d, r->types.policies_mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->policies), err,
                                   LL_ERR_FORMAT, r->path, "cannot read /policies"))
        st = LL_ERR_FORMAT;
    ll_h5_close(&d);
    if (st != LL_OK) return st;
    r->n_policies = (int)n;
    for (int i = 0; i < r->n_policies; i++) {
        ll_trace_policy *p = &r->policies[i];
        p->name[sizeof p->name - 1] = p->kind[sizeof p->kind - 1] = p->params_json[sizeof p->params_json - 1] = '\0';
    }
    ll_error e2;
    if (ll_trace_check_policies(r->policies, r->n_policies, r->path, &e2) != LL_OK)
        return ll_fail(err, LL_ERR_FORMAT, "%s", e2.msg);
    return LL_OK;
}

void ll_trace_close(ll_trace_reader *r) {
    if (!r) return;
    ll_h5_close(&r->calls);
    ll_trace_types_free(&r->types);
    ll_h5_close(&r->file);
    free(r->config_json);
    free(r->policies);
    free(r);
}

ll_status ll_trace_open(const char *path, int allow_partial, ll_trace_reader **out, ll_trace_meta *meta,
                        ll_error *err) {
    *out = NULL;
    if (!path) return ll_fail(err, LL_ERR_USAGE, "trace: no path given");
    ll_trace_reader *r = calloc(1, sizeof *r);
    if (!r) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->file = r->calls = -1;
    r->types = (ll_trace_types){-1, -1, -1, -1};
    ll_status st = ll_h5_open_read(path, &r->file, err);
    if (st == LL_OK) st = ll_trace_types_make(&r->types, path, err);
    if (st == LL_OK) st = ll_trace_read_meta(r->file, path, &r->meta, &r->calls_done, err);
    if (st == LL_OK) st = read_config(r, err);
    if (st == LL_OK) st = load_policies(r, err);
    hsize_t rows = 0;
    if (st == LL_OK) st = open_table(r, "calls", &r->calls, &rows, err);
    if (st == LL_OK && rows < r->calls_done)
        st = ll_fail(err, LL_ERR_FORMAT, "%s: /calls has %llu rows, calls_done says %llu (truncated?)", path,
                     (unsigned long long)rows, (unsigned long long)r->calls_done);
    if (st == LL_OK && r->meta.complete && rows != r->calls_done)
        st = ll_fail(err, LL_ERR_FORMAT, "%s: complete, but /calls has %llu rows and calls_done says %llu", path,
                     (unsigned long long)rows, (unsigned long long)r->calls_done);
    for (int i = 0; st == LL_OK && i < 3; i++) {
        const char *g = i == 0 ? "masks" : i == 1 ? "maps" : "state";
        if (!ll_h5_exists(r->file, g)) st = ll_fail(err, LL_ERR_FORMAT, "%s: group /%s is missing", path, g);
    }
    if (st == LL_OK && !r->meta.complete && !allow_partial)
        st = ll_fail(err, LL_ERR_FORMAT,
                     "%s: incomplete trace (%d of %d steps durable: a run that did not finish; `litelab run --resume` "
                     "continues it)",
                     path, r->meta.steps_done, r->meta.steps);
    if (st != LL_OK) {
        ll_trace_close(r);
        return st;
    }
    r->meta.config_json = r->config_json;
    r->q_tiles = ll_q_tiles(&r->meta.shape, &r->meta.tiling);
    r->k_tiles = ll_k_tiles(&r->meta.shape, &r->meta.tiling);
    if (meta) *meta = r->meta;
    *out = r;
    return LL_OK;
}

const char *ll_trace_config_json(ll_trace_reader *r) { return r ? r->config_json : NULL; }

ll_status ll_trace_read_policies(ll_trace_reader *r, ll_trace_policy **out, int *n, ll_error *err) {
    *out = NULL;
    *n = 0;
    if (!r) return ll_fail(err, LL_ERR_INVALID, "trace: no reader");
    ll_trace_policy *p = malloc(sizeof *p * (size_t)r->n_policies);
    if (!p) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", r->path);
    memcpy(p, r->policies, sizeof *p * (size_t)r->n_policies);
    *out = p;
    *n = r->n_policies;
    return LL_OK;
}

ll_status ll_trace_read_calls_raw(ll_trace_reader *r, ll_trace_call **out, size_t *n, ll_error *err) {
    *out = NULL;
    *n = 0;
    if (!r) return ll_fail(err, LL_ERR_INVALID, "trace: no reader");
    size_t rows = (size_t)r->calls_done;
    if (rows == 0) return LL_OK;
    if (r->calls_done > SIZE_MAX / sizeof(ll_trace_call)) return ll_fail(err, LL_ERR_FORMAT, "%s: too many rows", r->path);
    ll_trace_call *c = malloc(rows * sizeof *c);
    if (!c) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for %zu rows", r->path, rows);
    hsize_t start[1] = {0}, count[1] = {(hsize_t)rows};
    hid_t fs = -1, ms = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(fs = H5Dget_space(r->calls), err, LL_ERR_FORMAT, r->path, "/calls: no dataspace") ||
        LL_H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL), err, LL_ERR_FORMAT, r->path,
                    "/calls: cannot select the durable rows") ||
        LL_H5_CHECK(ms = H5Screate_simple(1, count, NULL), err, LL_ERR_FORMAT, r->path, "/calls: no dataspace") ||
        LL_H5_CHECK(H5Dread(r->calls, r->types.calls_mem, ms, fs, H5P_DEFAULT, c), err, LL_ERR_FORMAT, r->path,
                    "cannot read /calls (corrupt or truncated file?)"))
        st = LL_ERR_FORMAT;
    ll_h5_close(&fs);
    ll_h5_close(&ms);
    if (st != LL_OK) {
        free(c);
        return st;
    }
    *out = c;
    *n = rows;
    return LL_OK;
}

ll_status ll_trace_read_calls(ll_trace_reader *r, ll_trace_call **out, size_t *n, ll_error *err) {
    LL_TRY(ll_trace_read_calls_raw(r, out, n, err));
    char why[256];
    for (size_t i = 0; i < *n; i++)
        if (!ll_trace_call_ok(&(*out)[i], &r->meta, r->n_policies, why, sizeof why)) {
            ll_fail(err, LL_ERR_FORMAT, "%s: /calls row %zu: %s", r->path, i, why);
            free(*out);
            *out = NULL;
            *n = 0;
            return LL_ERR_FORMAT;
        }
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Masks and maps

static int policy_index(const ll_trace_reader *r, const char *name) {
    for (int i = 0; i < r->n_policies; i++)
        if (!strcmp(r->policies[i].name, name)) return i;
    return -1;
}

// Appends (a, b[, c]) to a growing int array of `width` columns.
static ll_status push(int **arr, int *n, int *cap, int width, const int *vals, const char *path, ll_error *err) {
    if (*n == *cap) {
        int c = *cap ? 2 * *cap : 64;
        int *p = realloc(*arr, sizeof(int) * (size_t)c * (size_t)width);
        if (!p) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
        *arr = p;
        *cap = c;
    }
    memcpy(*arr + (size_t)*n * width, vals, sizeof(int) * (size_t)width);
    (*n)++;
    return LL_OK;
}

static int cmp3(const void *a, const void *b) {
    const int *x = a, *y = b;
    for (int i = 0; i < 3; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}
static int cmp2(const void *a, const void *b) {
    const int *x = a, *y = b;
    for (int i = 0; i < 2; i++)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

// Names of the links in group loc/name, one at a time.
typedef struct {
    hid_t g;
    hsize_t n, i;
} link_walk;

static ll_status walk_open(ll_trace_reader *r, hid_t loc, const char *name, const char *where, link_walk *wk,
                           ll_error *err) {
    H5G_info_t info;
    wk->g = -1;
    wk->i = 0;
    if (LL_H5_CHECK(wk->g = H5Gopen2(loc, name, H5P_DEFAULT), err, LL_ERR_FORMAT, r->path, "cannot open group %s",
                    where) ||
        LL_H5_CHECK(H5Gget_info(wk->g, &info), err, LL_ERR_FORMAT, r->path, "cannot list group %s", where)) {
        ll_h5_close(&wk->g);
        return LL_ERR_FORMAT;
    }
    wk->n = info.nlinks;
    return LL_OK;
}

// 1 and the next name; 0 at the end; -1 (err filled) on failure.
static int walk_next(ll_trace_reader *r, link_walk *wk, char *name, size_t len, const char *where, ll_error *err) {
    if (wk->i >= wk->n) return 0;
    ssize_t n = H5Lget_name_by_idx(wk->g, ".", H5_INDEX_NAME, H5_ITER_INC, wk->i++, name, len, H5P_DEFAULT);
    if (n < 0 || (size_t)n >= len) {
        if (n < 0) ll_h5_fail_(err, LL_ERR_FORMAT, r->path, "H5Lget_name_by_idx", __FILE__, __LINE__, "cannot list %s", where);
        else ll_fail(err, LL_ERR_FORMAT, "%s: %s holds a name that is too long", r->path, where);
        return -1;
    }
    return 1;
}

ll_status ll_trace_list_masks(ll_trace_reader *r, int **triples, int *n, ll_error *err) {
    *triples = NULL;
    *n = 0;
    if (!r) return ll_fail(err, LL_ERR_INVALID, "trace: no reader");
    int cap = 0;
    link_walk pw;
    LL_TRY(walk_open(r, r->file, "masks", "/masks", &pw, err));
    char pname[256];
    int got;
    ll_status st = LL_OK;
    while (st == LL_OK && (got = walk_next(r, &pw, pname, sizeof pname, "/masks", err)) > 0) {
        int p = policy_index(r, pname);
        if (p < 0) {
            st = ll_fail(err, LL_ERR_FORMAT, "%s: /masks/%s names no policy of the trace", r->path, pname);
            break;
        }
        char where[300], name[64];
        snprintf(where, sizeof where, "/masks/%s", pname);
        link_walk dw;
        if ((st = walk_open(r, pw.g, pname, where, &dw, err)) != LL_OK) break;
        while (st == LL_OK && (got = walk_next(r, &dw, name, sizeof name, where, err)) > 0) {
            int s, l;
            if (!ll_trace_parse_step_layer(name, &s, &l) || l >= r->meta.layers)
                st = ll_fail(err, LL_ERR_FORMAT, "%s: %s/%s is not a mask name s<step>_l<layer> of this trace", r->path,
                             where, name);
            else if (s < r->meta.steps_done) {  // masks of an unfinished step are not part of the trace
                int v[3] = {p, s, l};
                st = push(triples, n, &cap, 3, v, r->path, err);
            }
        }
        if (got < 0) st = LL_ERR_FORMAT;
        ll_h5_close(&dw.g);
    }
    if (st == LL_OK && got < 0) st = LL_ERR_FORMAT;
    ll_h5_close(&pw.g);
    if (st != LL_OK) {
        free(*triples);
        *triples = NULL;
        *n = 0;
        return st;
    }
    if (*n) qsort(*triples, (size_t)*n, 3 * sizeof(int), cmp3);
    return LL_OK;
}

ll_status ll_trace_list_maps(ll_trace_reader *r, int **pairs, int *n, ll_error *err) {
    *pairs = NULL;
    *n = 0;
    if (!r) return ll_fail(err, LL_ERR_INVALID, "trace: no reader");
    int cap = 0, got;
    link_walk wk;
    LL_TRY(walk_open(r, r->file, "maps", "/maps", &wk, err));
    char name[64];
    ll_status st = LL_OK;
    while (st == LL_OK && (got = walk_next(r, &wk, name, sizeof name, "/maps", err)) > 0) {
        int s, l;
        if (!ll_trace_parse_step_layer(name, &s, &l) || l >= r->meta.layers)
            st = ll_fail(err, LL_ERR_FORMAT, "%s: /maps/%s is not a map name s<step>_l<layer> of this trace", r->path,
                         name);
        else if (s < r->meta.steps_done) {
            int v[2] = {s, l};
            st = push(pairs, n, &cap, 2, v, r->path, err);
        }
    }
    if (st == LL_OK && got < 0) st = LL_ERR_FORMAT;
    ll_h5_close(&wk.g);
    if (st != LL_OK) {
        free(*pairs);
        *pairs = NULL;
        *n = 0;
        return st;
    }
    if (*n) qsort(*pairs, (size_t)*n, 2 * sizeof(int), cmp2);
    return LL_OK;
}

// Opens dataset `where` (absolute) and checks it is [B, H, q_tiles, cols] of
// the given element class and size.
static ll_status open_4d(ll_trace_reader *r, const char *where, int cols, H5T_class_t cls, size_t size, hid_t *d,
                         ll_error *err) {
    *d = -1;
    if (LL_H5_CHECK(*d = H5Dopen2(r->file, where, H5P_DEFAULT), err, LL_ERR_FORMAT, r->path, "cannot open %s", where))
        return LL_ERR_FORMAT;
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    ll_status st = ll_h5_dims(*d, H5S_MAX_RANK, &rank, dims, r->path, where, err);
    const ll_shape *s = &r->meta.shape;
    if (st == LL_OK && (rank != 4 || dims[0] != (hsize_t)s->B || dims[1] != (hsize_t)s->H ||
                        dims[2] != (hsize_t)r->q_tiles || dims[3] != (hsize_t)cols))
        st = ll_fail(err, LL_ERR_FORMAT, "%s: %s does not have the dimensions [%d, %d, %d, %d]", r->path, where, s->B,
                     s->H, r->q_tiles, cols);
    hid_t t = -1;
    if (st == LL_OK && LL_H5_CHECK(t = H5Dget_type(*d), err, LL_ERR_FORMAT, r->path, "%s: no type", where))
        st = LL_ERR_FORMAT;
    if (st == LL_OK && (H5Tget_class(t) != cls || H5Tget_size(t) != size))
        st = ll_fail(err, LL_ERR_FORMAT, "%s: %s has the wrong element type", r->path, where);
    ll_h5_close(&t);
    if (st != LL_OK) ll_h5_close(d);
    return st;
}

// Whether every link of an absolute path exists (H5Lexists needs the parents).
static int path_exists(hid_t f, const char *abs) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", abs);
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            if (!ll_h5_exists(f, buf)) return 0;
            if (c == '\0') return 1;
            *p = '/';
        }
    }
}

ll_status ll_trace_read_mask(ll_trace_reader *r, int policy, int step, int layer, ll_skip_mask *m, ll_error *err) {
    if (!r || !m) return ll_fail(err, LL_ERR_INVALID, "trace: no reader or mask");
    if (policy < 0 || policy >= r->n_policies)
        return ll_fail(err, LL_ERR_INVALID, "%s: policy %d out of range (%d policies)", r->path, policy, r->n_policies);
    if (step < 0 || step >= r->meta.steps_done || layer < 0 || layer >= r->meta.layers)
        return ll_fail(err, LL_ERR_INVALID, "%s: no step %d layer %d (%d durable steps, %d layers)", r->path, step,
                       layer, r->meta.steps_done, r->meta.layers);
    char name[64], where[300];
    ll_trace_step_layer_name(step, layer, name, sizeof name);
    snprintf(where, sizeof where, "/masks/%s/%s", r->policies[policy].name, name);
    if (!path_exists(r->file, where))
        return ll_fail(err, LL_ERR_INVALID, "%s: no mask of policy %s at step %d layer %d", r->path,
                       r->policies[policy].name, step, layer);
    int nb = ll_trace_mask_bytes(r->k_tiles);
    hid_t d;
    LL_TRY(open_4d(r, where, nb, H5T_INTEGER, 1, &d, err));
    int64_t kt;
    ll_status st = ll_h5_get_int(d, "k_tiles", r->k_tiles, r->k_tiles, &kt, r->path, where, err);
    const ll_shape *s = &r->meta.shape;
    int allocated = 0;
    if (st == LL_OK && !m->bits) {
        st = ll_skip_mask_alloc(m, s->B, s->H, r->q_tiles, r->k_tiles, err);
        allocated = st == LL_OK;
    } else if (st == LL_OK && (m->B != s->B || m->H != s->H || m->q_tiles != r->q_tiles || m->k_tiles != r->k_tiles)) {
        st = ll_fail(err, LL_ERR_INVALID, "%s: mask buffer is %dx%dx%dx%d, the trace's masks %dx%dx%dx%d", r->path,
                     m->B, m->H, m->q_tiles, m->k_tiles, s->B, s->H, r->q_tiles, r->k_tiles);
    }
    size_t rows = (size_t)s->B * s->H * r->q_tiles;
    uint8_t *bytes = st == LL_OK ? malloc(rows * (size_t)nb) : NULL;
    if (st == LL_OK && !bytes) st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for a mask", r->path);
    if (st == LL_OK && LL_H5_CHECK(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes), err,
                                   LL_ERR_FORMAT, r->path, "cannot read %s (corrupt file?)", where))
        st = LL_ERR_FORMAT;
    if (st == LL_OK) {
        ll_skip_mask_clear(m);
        for (size_t row = 0; row < rows; row++) {
            uint64_t *words = m->bits + row * (size_t)m->words_per_row;
            const uint8_t *in = bytes + row * (size_t)nb;
            for (int j = 0; j < nb; j++) {
                uint8_t b = in[j];
                if (j == nb - 1 && r->k_tiles % 8) b &= (uint8_t)((1u << (r->k_tiles % 8)) - 1);  // padding
                words[j >> 3] |= (uint64_t)b << (8 * (j & 7));
            }
        }
    }
    free(bytes);
    ll_h5_close(&d);
    if (st != LL_OK && allocated) ll_skip_mask_free(m);
    return st;
}

ll_status ll_trace_read_map(ll_trace_reader *r, int step, int layer, ll_tile_map *m, ll_error *err) {
    if (!r || !m) return ll_fail(err, LL_ERR_INVALID, "trace: no reader or map");
    if (step < 0 || step >= r->meta.steps_done || layer < 0 || layer >= r->meta.layers)
        return ll_fail(err, LL_ERR_INVALID, "%s: no step %d layer %d (%d durable steps, %d layers)", r->path, step,
                       layer, r->meta.steps_done, r->meta.layers);
    char name[64], where[2][96];
    ll_trace_step_layer_name(step, layer, name, sizeof name);
    snprintf(where[0], sizeof where[0], "/maps/%s/max_log2", name);
    snprintf(where[1], sizeof where[1], "/maps/%s/mass", name);
    if (!path_exists(r->file, where[0]) || !path_exists(r->file, where[1]))
        return ll_fail(err, LL_ERR_INVALID, "%s: no tile map of step %d layer %d", r->path, step, layer);
    const ll_shape *s = &r->meta.shape;
    int allocated = 0;
    ll_status st = LL_OK;
    if (!m->max_log2 || !m->mass) {
        LL_TRY(ll_tile_map_alloc(m, s->B, s->H, r->q_tiles, r->k_tiles, err));
        allocated = 1;
    } else if (m->B != s->B || m->H != s->H || m->q_tiles != r->q_tiles || m->k_tiles != r->k_tiles) {
        return ll_fail(err, LL_ERR_INVALID, "%s: map buffer is %dx%dx%dx%d, the trace's maps %dx%dx%dx%d", r->path, m->B,
                       m->H, m->q_tiles, m->k_tiles, s->B, s->H, r->q_tiles, r->k_tiles);
    }
    float *out[2] = {m->max_log2, m->mass};
    for (int i = 0; st == LL_OK && i < 2; i++) {
        hid_t d;
        st = open_4d(r, where[i], r->k_tiles, H5T_FLOAT, 4, &d, err);
        if (st == LL_OK && LL_H5_CHECK(H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out[i]), err,
                                       LL_ERR_FORMAT, r->path, "cannot read %s (corrupt file?)", where[i]))
            st = LL_ERR_FORMAT;
        ll_h5_close(&d);
    }
    if (st != LL_OK && allocated) ll_tile_map_free(m);
    return st;
}
