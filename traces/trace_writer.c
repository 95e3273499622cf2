// trace_writer.c: writing an experiment trace (trace.h, traces/FORMAT.md).
//
// Crash safety: everything goes to "<path>.partial". The rows of a step are
// kept in memory and written by ll_trace_end_step, which then raises the
// root attributes steps_done and calls_done and flushes the whole file, so
// a killed run leaves whole steps only. Masks and maps are written as they
// come (they can be large); whatever a killed run wrote of an unfinished step
// is ignored by readers (its step >= steps_done) and deleted on resume.
// Skip-list checkpoints keep two slots, written alternately, so the one of
// the last durable step is never overwritten by the step after it.
// ll_trace_finish sets complete = 1, flushes, closes and renames (rename(2)
// replaces the target atomically): <path> only ever holds a complete trace.
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5_util.h"
#include "trace.h"
#include "trace_schema.h"

struct ll_trace_writer {
    char path[PATH_MAX], partial[PATH_MAX];
    hid_t file, calls;
    ll_trace_types types;
    ll_trace_meta meta;  // config_json not kept
    ll_trace_policy *policies;
    int n_policies;
    int q_tiles, k_tiles;
    int steps_done;       // durable steps; the step being written is steps_done
    uint64_t calls_done;  // durable rows
    ll_trace_call *pending;
    size_t n_pending, cap_pending;
    int failed;  // an HDF5 write failed: the file keeps its durable steps only
};

hid_t ll_trace_writer_file(ll_trace_writer *w) { return w->file; }
const char *ll_trace_writer_partial(ll_trace_writer *w) { return w->partial; }

static ll_trace_writer *writer_new(const char *path, const char *partial) {
    ll_trace_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->partial, sizeof w->partial, "%s", partial);
    w->file = w->calls = -1;
    w->types = (ll_trace_types){-1, -1, -1, -1};
    return w;
}

static void writer_free(ll_trace_writer *w) {
    if (!w) return;
    ll_h5_close(&w->calls);
    ll_trace_types_free(&w->types);
    ll_h5_close(&w->file);
    free(w->policies);
    free(w->pending);
    free(w);
}

// A failed write leaves the writer unusable (the file keeps its durable steps).
static ll_status broken(ll_trace_writer *w, ll_status s) {
    w->failed = 1;
    return s;
}

static ll_status check_usable(ll_trace_writer *w, ll_error *err) {
    if (!w) return ll_fail(err, LL_ERR_INVALID, "trace: no writer");
    if (w->failed)
        return ll_fail(err, LL_ERR_IO, "%s: an earlier write failed; the trace keeps its %d durable steps", w->partial,
                       w->steps_done);
    return LL_OK;
}

static ll_status check_step_layer(ll_trace_writer *w, int step, int layer, ll_error *err) {
    if (step != w->steps_done)
        return ll_fail(err, LL_ERR_INVALID, "%s: step %d written while step %d is open (steps in order, each ended once)",
                       w->partial, step, w->steps_done);
    if (step >= w->meta.steps)
        return ll_fail(err, LL_ERR_INVALID, "%s: step %d beyond the trace's %d steps", w->partial, step, w->meta.steps);
    if (layer < 0 || layer >= w->meta.layers)
        return ll_fail(err, LL_ERR_INVALID, "%s: layer %d out of range (%d layers)", w->partial, layer, w->meta.layers);
    return LL_OK;
}

static ll_status check_policy(ll_trace_writer *w, int policy, ll_error *err) {
    if (policy < 0 || policy >= w->n_policies)
        return ll_fail(err, LL_ERR_INVALID, "%s: policy %d out of range (%d policies)", w->partial, policy,
                       w->n_policies);
    return LL_OK;
}

// Opens group `name` under loc, creating it when absent.
static hid_t open_or_create_group(hid_t loc, const char *name) {
    if (ll_h5_exists(loc, name)) return H5Gopen2(loc, name, H5P_DEFAULT);
    return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
}

// Rows per chunk of a dataset whose row is row_bytes (at least 1, at most rows).
static hsize_t chunk_rows(size_t row_bytes, int rows) {
    size_t r = LL_TRACE_CHUNK_BYTES / (row_bytes ? row_bytes : 1);
    if (r < 1) r = 1;
    if (r > (size_t)rows) r = (size_t)rows;
    return (hsize_t)r;
}

// Creates a 4-D [B, H, rows, cols] dataset under loc and writes buf into it.
static ll_status write_4d(ll_trace_writer *w, hid_t loc, const char *name, hid_t ftype, hid_t mtype, int B, int H,
                          int rows, int cols, size_t elem, int shuffle, const void *buf, const char *where,
                          ll_error *err) {
    hsize_t dims[4] = {(hsize_t)B, (hsize_t)H, (hsize_t)rows, (hsize_t)cols};
    hsize_t chunk[4] = {1, 1, chunk_rows((size_t)cols * elem, rows), (hsize_t)cols};
    hid_t space = -1, dcpl = -1, d = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(space = H5Screate_simple(4, dims, NULL), err, LL_ERR_IO, w->partial, "%s: no dataspace", where) ||
        LL_H5_CHECK(dcpl = ll_h5_dcpl(4, chunk, shuffle, LL_TRACE_GZIP), err, LL_ERR_IO, w->partial,
                    "%s: cannot set up compression", where) ||
        LL_H5_CHECK(d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), err, LL_ERR_IO,
                    w->partial, "cannot create %s", where) ||
        LL_H5_CHECK(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf), err, LL_ERR_IO, w->partial,
                    "cannot write %s (disk full?)", where))
        st = LL_ERR_IO;
    ll_h5_close(&d);
    ll_h5_close(&dcpl);
    ll_h5_close(&space);
    return st;
}

// ---------------------------------------------------------------------------
// Create

static ll_status write_policies(ll_trace_writer *w, ll_error *err) {
    hsize_t dims[1] = {(hsize_t)w->n_policies};
    hid_t space = -1, d = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(space = H5Screate_simple(1, dims, NULL), err, LL_ERR_IO, w->partial, "/policies: no dataspace") ||
        LL_H5_CHECK(d = H5Dcreate2(w->file, "policies", w->types.policies_file, space, H5P_DEFAULT, H5P_DEFAULT,
                                   H5P_DEFAULT),
                    err, LL_ERR_IO, w->partial, "cannot create /policies") ||
        LL_H5_CHECK(H5Dwrite(d, w->types.policies_mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, w->policies), err, LL_ERR_IO,
                    w->partial, "cannot write /policies"))
        st = LL_ERR_IO;
    ll_h5_close(&d);
    ll_h5_close(&space);
    return st;
}

// The experiment config as one fixed-length string dataset (no attribute
// size limit; h5py: f["config_json"][()].decode()).
static ll_status write_config(ll_trace_writer *w, const char *json, ll_error *err) {
    if (!json) json = "";
    hid_t t = -1, space = -1, d = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(t = H5Tcopy(H5T_C_S1), err, LL_ERR_IO, w->partial, "/config_json: no type") ||
        LL_H5_CHECK(H5Tset_size(t, strlen(json) + 1), err, LL_ERR_IO, w->partial, "/config_json: bad size") ||
        LL_H5_CHECK(space = H5Screate(H5S_SCALAR), err, LL_ERR_IO, w->partial, "/config_json: no dataspace") ||
        LL_H5_CHECK(d = H5Dcreate2(w->file, "config_json", t, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), err,
                    LL_ERR_IO, w->partial, "cannot create /config_json") ||
        LL_H5_CHECK(H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, json), err, LL_ERR_IO, w->partial,
                    "cannot write /config_json"))
        st = LL_ERR_IO;
    ll_h5_close(&d);
    ll_h5_close(&space);
    ll_h5_close(&t);
    return st;
}

static ll_status create_calls(ll_trace_writer *w, ll_error *err) {
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED}, chunk[1] = {LL_TRACE_CALLS_CHUNK};
    hid_t space = -1, dcpl = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(space = H5Screate_simple(1, dims, maxdims), err, LL_ERR_IO, w->partial, "/calls: no dataspace") ||
        LL_H5_CHECK(dcpl = ll_h5_dcpl(1, chunk, 1, LL_TRACE_GZIP), err, LL_ERR_IO, w->partial,
                    "/calls: cannot set up chunking") ||
        LL_H5_CHECK(w->calls = H5Dcreate2(w->file, "calls", w->types.calls_file, space, H5P_DEFAULT, dcpl,
                                          H5P_DEFAULT),
                    err, LL_ERR_IO, w->partial, "cannot create /calls"))
        st = LL_ERR_IO;
    ll_h5_close(&dcpl);
    ll_h5_close(&space);
    return st;
}

static ll_status create_groups(ll_trace_writer *w, ll_error *err) {
    const char *names[3] = {"masks", "maps", "state"};
    for (int i = 0; i < 3; i++) {
        hid_t g;
        if (LL_H5_CHECK(g = H5Gcreate2(w->file, names[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), err, LL_ERR_IO,
                        w->partial, "cannot create group /%s", names[i]))
            return LL_ERR_IO;
        H5Gclose(g);
    }
    return LL_OK;
}

ll_status ll_trace_create(const char *path, const ll_trace_meta *meta, const ll_trace_policy *policies,
                          int n_policies, ll_trace_writer **out, ll_error *err) {
    ll_h5_init();
    *out = NULL;
    char partial[PATH_MAX];
    LL_TRY(ll_h5_partial_path(path, partial, sizeof partial, err));
    if (!meta) return ll_fail(err, LL_ERR_INVALID, "%s: no trace metadata", path);
    LL_TRY(ll_trace_check_meta(meta, path, err));
    LL_TRY(ll_trace_check_policies(policies, n_policies, path, err));
    LL_TRY(ll_h5_check_not_busy(partial, err));
    ll_trace_writer *w = writer_new(path, partial);
    if (!w || !(w->policies = malloc(sizeof *policies * (size_t)n_policies))) {
        writer_free(w);
        return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(w->policies, policies, sizeof *policies * (size_t)n_policies);
    w->n_policies = n_policies;
    w->meta = *meta;
    w->meta.config_json = NULL;
    w->q_tiles = ll_q_tiles(&meta->shape, &meta->tiling);
    w->k_tiles = ll_k_tiles(&meta->shape, &meta->tiling);
    hid_t fapl = -1;
    ll_status st = ll_trace_types_make(&w->types, partial, err);
    if (st == LL_OK && LL_H5_CHECK(fapl = ll_h5_fapl(), err, LL_ERR_INTERNAL, partial, "no file access list"))
        st = LL_ERR_INTERNAL;
    if (st == LL_OK && LL_H5_CHECK(w->file = H5Fcreate(partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl), err, LL_ERR_IO,
                                   partial, "cannot create the trace file"))
        st = LL_ERR_IO;
    ll_h5_close(&fapl);
    int created = w->file >= 0;
    if (st == LL_OK) st = ll_trace_write_meta(w->file, &w->meta, partial, err);
    if (st == LL_OK) st = write_config(w, meta->config_json, err);
    if (st == LL_OK) st = write_policies(w, err);
    if (st == LL_OK) st = create_calls(w, err);
    if (st == LL_OK) st = create_groups(w, err);
    if (st == LL_OK && LL_H5_CHECK(H5Fflush(w->file, H5F_SCOPE_GLOBAL), err, LL_ERR_IO, partial, "cannot write"))
        st = LL_ERR_IO;
    if (st != LL_OK) {
        writer_free(w);
        if (created) unlink(partial);  // never leave a half-made file behind
        return st;
    }
    *out = w;
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Resume

// Deletes what an unfinished step left: masks and maps of steps >= steps_done.
static ll_status drop_unfinished(ll_trace_writer *w, ll_error *err) {
    hid_t masks = -1, maps = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(masks = H5Gopen2(w->file, "masks", H5P_DEFAULT), err, LL_ERR_FORMAT, w->partial,
                    "no group /masks") ||
        LL_H5_CHECK(maps = H5Gopen2(w->file, "maps", H5P_DEFAULT), err, LL_ERR_FORMAT, w->partial, "no group /maps"))
        st = LL_ERR_FORMAT;
    for (int p = 0; st == LL_OK && p < w->n_policies; p++) {
        if (!ll_h5_exists(masks, w->policies[p].name)) continue;
        hid_t g;
        if (LL_H5_CHECK(g = H5Gopen2(masks, w->policies[p].name, H5P_DEFAULT), err, LL_ERR_FORMAT, w->partial,
                        "cannot open /masks/%s", w->policies[p].name)) {
            st = LL_ERR_FORMAT;
            break;
        }
        H5G_info_t info;
        if (H5Gget_info(g, &info) < 0) info.nlinks = 0;
        // Walk backwards: deleting shifts the indices of later names only.
        for (hsize_t i = info.nlinks; st == LL_OK && i-- > 0;) {
            char name[64];
            int s, l;
            if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0) continue;
            if (ll_trace_parse_step_layer(name, &s, &l) && s >= w->steps_done &&
                LL_H5_CHECK(H5Ldelete(g, name, H5P_DEFAULT), err, LL_ERR_IO, w->partial,
                            "cannot drop /masks/%s/%s of an unfinished step", w->policies[p].name, name))
                st = LL_ERR_IO;
        }
        H5Gclose(g);
    }
    H5G_info_t info;
    if (st == LL_OK && H5Gget_info(maps, &info) >= 0)
        for (hsize_t i = info.nlinks; st == LL_OK && i-- > 0;) {
            char name[64];
            int s, l;
            if (H5Lget_name_by_idx(maps, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0)
                continue;
            if (ll_trace_parse_step_layer(name, &s, &l) && s >= w->steps_done &&
                LL_H5_CHECK(H5Ldelete(maps, name, H5P_DEFAULT), err, LL_ERR_IO, w->partial,
                            "cannot drop /maps/%s of an unfinished step", name))
                st = LL_ERR_IO;
        }
    ll_h5_close(&masks);
    ll_h5_close(&maps);
    return st;
}

static ll_status read_policies_rw(ll_trace_writer *w, ll_trace_policy **out, int *n, ll_error *err) {
    hid_t d = -1, space = -1, ft = -1;
    *out = NULL;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(d = H5Dopen2(w->file, "policies", H5P_DEFAULT), err, LL_ERR_FORMAT, w->partial,
                    "cannot open /policies") ||
        LL_H5_CHECK(space = H5Dget_space(d), err, LL_ERR_FORMAT, w->partial, "/policies: no dataspace") ||
        LL_H5_CHECK(ft = H5Dget_type(d), err, LL_ERR_FORMAT, w->partial, "/policies: no type"))
        st = LL_ERR_FORMAT;
    if (st == LL_OK && ll_trace_check_fields(ft, "/policies", w->partial, NULL, err)) st = LL_ERR_FORMAT;
    hssize_t np = st == LL_OK ? H5Sget_simple_extent_npoints(space) : 0;
    if (st == LL_OK && (np < 1 || np > 100000))
        st = ll_fail(err, LL_ERR_FORMAT, "%s: /policies has %lld rows", w->partial, (long long)np);
    if (st == LL_OK && !(*out = calloc((size_t)np, sizeof **out))) st = ll_fail(err, LL_ERR_NOMEM, "out of memory");
    if (st == LL_OK && LL_H5_CHECK(H5Dread(d, w->types.policies_mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, *out), err,
                                   LL_ERR_FORMAT, w->partial, "cannot read /policies"))
        st = LL_ERR_FORMAT;
    ll_h5_close(&ft);
    ll_h5_close(&space);
    ll_h5_close(&d);
    if (st != LL_OK) {
        free(*out);
        *out = NULL;
        return st;
    }
    for (hssize_t i = 0; i < np; i++) {
        ll_trace_policy *p = &(*out)[i];
        p->name[sizeof p->name - 1] = p->kind[sizeof p->kind - 1] = p->params_json[sizeof p->params_json - 1] = '\0';
    }
    *n = (int)np;
    return LL_OK;
}

ll_status ll_trace_resume(const char *path, const ll_trace_policy *policies, int n_policies, ll_trace_writer **out,
                          int *steps_done, ll_error *err) {
    ll_h5_init();
    *out = NULL;
    char partial[PATH_MAX];
    LL_TRY(ll_h5_partial_path(path, partial, sizeof partial, err));
    LL_TRY(ll_trace_check_policies(policies, n_policies, path, err));
    struct stat sb;
    if (stat(partial, &sb) != 0) {
        if (stat(path, &sb) == 0)
            return ll_fail(err, LL_ERR_IO, "%s: nothing to resume: no %s (the trace is complete already)", path,
                           partial);
        return ll_fail(err, LL_ERR_IO, "%s: nothing to resume: %s", partial, strerror(errno));
    }
    hid_t probe;
    LL_TRY(ll_h5_open_read(partial, &probe, err));  // existence, HDF5 signature, readable
    ll_h5_close(&probe);
    ll_trace_writer *w = writer_new(path, partial);
    if (!w) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
    hid_t fapl = -1;
    uint64_t calls_done = 0;
    ll_trace_policy *old = NULL;
    int n_old = 0;
    ll_status st = ll_trace_types_make(&w->types, partial, err);
    if (st == LL_OK && LL_H5_CHECK(fapl = ll_h5_fapl(), err, LL_ERR_INTERNAL, partial, "no file access list"))
        st = LL_ERR_INTERNAL;
    if (st == LL_OK && LL_H5_CHECK(w->file = H5Fopen(partial, H5F_ACC_RDWR, fapl), err, LL_ERR_FORMAT, partial,
                                   "cannot open for resuming"))
        st = LL_ERR_FORMAT;
    ll_h5_close(&fapl);
    if (st == LL_OK) st = ll_trace_read_meta(w->file, partial, &w->meta, &calls_done, err);
    if (st == LL_OK) st = read_policies_rw(w, &old, &n_old, err);
    if (st == LL_OK && n_old != n_policies)
        st = ll_fail(err, LL_ERR_INVALID, "%s: has %d policies, the run %d: not the same experiment", partial, n_old,
                     n_policies);
    for (int i = 0; st == LL_OK && i < n_policies; i++)
        if (strcmp(old[i].name, policies[i].name) || strcmp(old[i].kind, policies[i].kind) ||
            strcmp(old[i].params_json, policies[i].params_json))
            st = ll_fail(err, LL_ERR_INVALID, "%s: policy %d is '%s' (%s, %s), the run's is '%s' (%s, %s)", partial, i,
                         old[i].name, old[i].kind, old[i].params_json, policies[i].name, policies[i].kind,
                         policies[i].params_json);
    free(old);
    if (st == LL_OK && !(w->policies = malloc(sizeof *policies * (size_t)n_policies)))
        st = ll_fail(err, LL_ERR_NOMEM, "out of memory");
    if (st == LL_OK) {
        memcpy(w->policies, policies, sizeof *policies * (size_t)n_policies);
        w->n_policies = n_policies;
        w->steps_done = w->meta.steps_done;
        w->calls_done = calls_done;
        w->q_tiles = ll_q_tiles(&w->meta.shape, &w->meta.tiling);
        w->k_tiles = ll_k_tiles(&w->meta.shape, &w->meta.tiling);
        // Rows past calls_done belong to a step that never became durable.
        hsize_t keep[1] = {(hsize_t)calls_done};
        int rank;
        hsize_t dims[H5S_MAX_RANK];
        if (LL_H5_CHECK(w->calls = H5Dopen2(w->file, "calls", H5P_DEFAULT), err, LL_ERR_FORMAT, partial,
                        "cannot open /calls"))
            st = LL_ERR_FORMAT;
        if (st == LL_OK) st = ll_h5_dims(w->calls, 1, &rank, dims, partial, "/calls", err);
        if (st == LL_OK && (rank != 1 || dims[0] < calls_done))
            st = ll_fail(err, LL_ERR_FORMAT, "%s: /calls holds fewer rows than calls_done=%llu", partial,
                         (unsigned long long)calls_done);
        if (st == LL_OK && LL_H5_CHECK(H5Dset_extent(w->calls, keep), err, LL_ERR_IO, partial,
                                       "cannot drop the rows of an unfinished step"))
            st = LL_ERR_IO;
    }
    if (st == LL_OK) st = drop_unfinished(w, err);
    if (st == LL_OK && LL_H5_CHECK(H5Fflush(w->file, H5F_SCOPE_GLOBAL), err, LL_ERR_IO, partial, "cannot write"))
        st = LL_ERR_IO;
    if (st != LL_OK) {
        writer_free(w);
        return st;
    }
    *steps_done = w->steps_done;
    *out = w;
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Rows, masks, maps, checkpoints

ll_status ll_trace_add_call(ll_trace_writer *w, const ll_trace_call *c, ll_error *err) {
    LL_TRY(check_usable(w, err));
    if (!c) return ll_fail(err, LL_ERR_INVALID, "%s: no row given", w->partial);
    LL_TRY(check_step_layer(w, c->step, c->layer, err));
    ll_trace_meta m = w->meta;
    m.steps_done = w->steps_done + 1;  // the open step counts for the range check
    char why[256];
    if (!ll_trace_call_ok(c, &m, w->n_policies, why, sizeof why))
        return ll_fail(err, LL_ERR_INVALID, "%s: row of policy %d step %d layer %d head %d: %s", w->partial, c->policy,
                       c->step, c->layer, c->head, why);
    if (w->n_pending == w->cap_pending) {
        size_t cap = w->cap_pending ? 2 * w->cap_pending : 256;
        ll_trace_call *p = realloc(w->pending, cap * sizeof *p);
        if (!p) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for rows", w->partial);
        w->pending = p;
        w->cap_pending = cap;
    }
    w->pending[w->n_pending++] = *c;
    return LL_OK;
}

ll_status ll_trace_add_mask(ll_trace_writer *w, int policy, int step, int layer, const ll_skip_mask *m,
                            ll_error *err) {
    LL_TRY(check_usable(w, err));
    LL_TRY(check_policy(w, policy, err));
    LL_TRY(check_step_layer(w, step, layer, err));
    const ll_shape *s = &w->meta.shape;
    if (!m || !m->bits || m->B != s->B || m->H != s->H || m->q_tiles != w->q_tiles || m->k_tiles != w->k_tiles)
        return ll_fail(err, LL_ERR_INVALID, "%s: mask of policy %d step %d layer %d is %dx%dx%dx%d, the trace's %dx%dx%dx%d",
                       w->partial, policy, step, layer, m ? m->B : 0, m ? m->H : 0, m ? m->q_tiles : 0,
                       m ? m->k_tiles : 0, s->B, s->H, w->q_tiles, w->k_tiles);
    // Pack: bit kt % 8 of byte kt / 8 (numpy: unpackbits(..., bitorder="little")).
    int nb = ll_trace_mask_bytes(m->k_tiles);
    size_t rows = (size_t)m->B * m->H * m->q_tiles;
    uint8_t *bytes = malloc(rows * (size_t)nb);
    if (!bytes) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for a mask", w->partial);
    for (size_t r = 0; r < rows; r++) {
        const uint64_t *words = m->bits + r * (size_t)m->words_per_row;
        uint8_t *out = bytes + r * (size_t)nb;
        for (int j = 0; j < nb; j++) out[j] = (uint8_t)(words[j >> 3] >> (8 * (j & 7)));
        if (m->k_tiles % 8) out[nb - 1] &= (uint8_t)((1u << (m->k_tiles % 8)) - 1);  // no padding bits
    }
    char name[64], where[160];
    ll_trace_step_layer_name(step, layer, name, sizeof name);
    snprintf(where, sizeof where, "/masks/%s/%s", w->policies[policy].name, name);
    hid_t masks = -1, g = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(masks = H5Gopen2(w->file, "masks", H5P_DEFAULT), err, LL_ERR_IO, w->partial, "no group /masks") ||
        LL_H5_CHECK(g = open_or_create_group(masks, w->policies[policy].name), err, LL_ERR_IO, w->partial,
                    "cannot make group /masks/%s", w->policies[policy].name))
        st = LL_ERR_IO;
    if (st == LL_OK && ll_h5_exists(g, name))
        st = ll_fail(err, LL_ERR_INVALID, "%s: %s is recorded already", w->partial, where);
    if (st == LL_OK)
        st = write_4d(w, g, name, H5T_STD_U8LE, H5T_NATIVE_UINT8, m->B, m->H, m->q_tiles, nb, 1, 0, bytes, where, err);
    hid_t d = -1;
    if (st == LL_OK &&
        (LL_H5_CHECK(d = H5Dopen2(g, name, H5P_DEFAULT), err, LL_ERR_IO, w->partial, "cannot reopen %s", where) ||
         LL_H5_CHECK(ll_h5_put_i32(d, "k_tiles", m->k_tiles), err, LL_ERR_IO, w->partial, "%s: attributes", where) ||
         LL_H5_CHECK(ll_h5_put_i32(d, "policy", policy), err, LL_ERR_IO, w->partial, "%s: attributes", where) ||
         LL_H5_CHECK(ll_h5_put_i32(d, "step", step), err, LL_ERR_IO, w->partial, "%s: attributes", where) ||
         LL_H5_CHECK(ll_h5_put_i32(d, "layer", layer), err, LL_ERR_IO, w->partial, "%s: attributes", where)))
        st = LL_ERR_IO;
    ll_h5_close(&d);
    ll_h5_close(&g);
    ll_h5_close(&masks);
    free(bytes);
    return st == LL_ERR_IO ? broken(w, st) : st;
}

ll_status ll_trace_add_map(ll_trace_writer *w, int step, int layer, const ll_tile_map *m, ll_error *err) {
    LL_TRY(check_usable(w, err));
    LL_TRY(check_step_layer(w, step, layer, err));
    const ll_shape *s = &w->meta.shape;
    if (!m || !m->max_log2 || !m->mass || m->B != s->B || m->H != s->H || m->q_tiles != w->q_tiles ||
        m->k_tiles != w->k_tiles)
        return ll_fail(err, LL_ERR_INVALID, "%s: map of step %d layer %d is %dx%dx%dx%d, the trace's %dx%dx%dx%d",
                       w->partial, step, layer, m ? m->B : 0, m ? m->H : 0, m ? m->q_tiles : 0, m ? m->k_tiles : 0,
                       s->B, s->H, w->q_tiles, w->k_tiles);
    char name[64], where[96];
    ll_trace_step_layer_name(step, layer, name, sizeof name);
    snprintf(where, sizeof where, "/maps/%s", name);
    hid_t maps = -1, g = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(maps = H5Gopen2(w->file, "maps", H5P_DEFAULT), err, LL_ERR_IO, w->partial, "no group /maps"))
        st = LL_ERR_IO;
    if (st == LL_OK && ll_h5_exists(maps, name))
        st = ll_fail(err, LL_ERR_INVALID, "%s: %s is recorded already", w->partial, where);
    if (st == LL_OK && LL_H5_CHECK(g = H5Gcreate2(maps, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), err, LL_ERR_IO,
                                   w->partial, "cannot create %s", where))
        st = LL_ERR_IO;
    if (st == LL_OK &&
        (LL_H5_CHECK(ll_h5_put_i32(g, "step", step), err, LL_ERR_IO, w->partial, "%s: attributes", where) ||
         LL_H5_CHECK(ll_h5_put_i32(g, "layer", layer), err, LL_ERR_IO, w->partial, "%s: attributes", where)))
        st = LL_ERR_IO;
    if (st == LL_OK)
        st = write_4d(w, g, "max_log2", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, m->B, m->H, m->q_tiles, m->k_tiles, 4, 1,
                      m->max_log2, where, err);
    if (st == LL_OK)
        st = write_4d(w, g, "mass", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, m->B, m->H, m->q_tiles, m->k_tiles, 4, 1, m->mass,
                      where, err);
    ll_h5_close(&g);
    ll_h5_close(&maps);
    return st == LL_ERR_IO ? broken(w, st) : st;
}

// /state/<policy>/l<layer>: int32 [2, B, H, q_tiles, k_tiles + 1]; slot
// step % 2 holds the list to read after `step`; attribute slot_steps says
// which step each slot holds (-1: none).
static ll_status state_dataset(ll_trace_writer *w, int policy, int layer, const ll_skip_list *l, int create, hid_t *out,
                               char *where, size_t where_len, ll_error *err) {
    char lname[32];
    snprintf(lname, sizeof lname, "l%d", layer);
    snprintf(where, where_len, "/state/%s/%s", w->policies[policy].name, lname);
    *out = -1;
    hid_t state = -1, g = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(state = H5Gopen2(w->file, "state", H5P_DEFAULT), err, LL_ERR_FORMAT, w->partial, "no group /state"))
        return LL_ERR_FORMAT;
    if (!create && (!ll_h5_exists(state, w->policies[policy].name))) {
        st = ll_fail(err, LL_ERR_FORMAT, "%s: no checkpoint %s", w->partial, where);
    } else if (LL_H5_CHECK(g = create ? open_or_create_group(state, w->policies[policy].name)
                                      : H5Gopen2(state, w->policies[policy].name, H5P_DEFAULT),
                           err, LL_ERR_IO, w->partial, "cannot open /state/%s", w->policies[policy].name)) {
        st = LL_ERR_IO;
    } else if (ll_h5_exists(g, lname)) {
        if (LL_H5_CHECK(*out = H5Dopen2(g, lname, H5P_DEFAULT), err, LL_ERR_FORMAT, w->partial, "cannot open %s", where))
            st = LL_ERR_FORMAT;
    } else if (!create) {
        st = ll_fail(err, LL_ERR_FORMAT, "%s: no checkpoint %s", w->partial, where);
    } else {
        int row = ll_skip_list_row_len(l->k_tiles);
        hsize_t dims[5] = {2, (hsize_t)l->B, (hsize_t)l->H, (hsize_t)l->q_tiles, (hsize_t)row};
        hsize_t chunk[5] = {1, 1, 1, chunk_rows((size_t)row * 4, l->q_tiles), (hsize_t)row};
        int32_t none[2] = {-1, -1};
        hid_t space = -1, dcpl = -1;
        if (LL_H5_CHECK(space = H5Screate_simple(5, dims, NULL), err, LL_ERR_IO, w->partial, "%s: no dataspace", where) ||
            LL_H5_CHECK(dcpl = ll_h5_dcpl(5, chunk, 1, LL_TRACE_GZIP), err, LL_ERR_IO, w->partial,
                        "%s: cannot set up compression", where) ||
            LL_H5_CHECK(*out = H5Dcreate2(g, lname, H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), err,
                        LL_ERR_IO, w->partial, "cannot create %s", where) ||
            LL_H5_CHECK(ll_h5_put_i32_array(*out, "slot_steps", none, 2), err, LL_ERR_IO, w->partial, "%s: attributes",
                        where) ||
            LL_H5_CHECK(ll_h5_put_str(*out, "encoding", ll_list_encoding_name(l->encoding)), err, LL_ERR_IO,
                        w->partial, "%s: attributes", where))
            st = LL_ERR_IO;
        ll_h5_close(&dcpl);
        ll_h5_close(&space);
    }
    ll_h5_close(&g);
    ll_h5_close(&state);
    if (st != LL_OK) ll_h5_close(out);
    return st;
}

// Checks a checkpoint dataset against a list's dimensions and encoding.
static ll_status state_matches(ll_trace_writer *w, hid_t d, const ll_skip_list *l, const char *where, ll_error *err) {
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    LL_TRY(ll_h5_dims(d, H5S_MAX_RANK, &rank, dims, w->partial, where, err));
    if (rank != 5 || dims[0] != 2 || dims[1] != (hsize_t)l->B || dims[2] != (hsize_t)l->H ||
        dims[3] != (hsize_t)l->q_tiles || dims[4] != (hsize_t)ll_skip_list_row_len(l->k_tiles))
        return ll_fail(err, LL_ERR_INVALID, "%s: %s does not have the list's dimensions [2, %d, %d, %d, %d]", w->partial,
                       where, l->B, l->H, l->q_tiles, ll_skip_list_row_len(l->k_tiles));
    char enc[32];
    ll_list_encoding e;
    LL_TRY(ll_h5_get_str(d, "encoding", enc, sizeof enc, w->partial, where, err));
    if (ll_list_encoding_parse(enc, &e, NULL) != LL_OK || e != l->encoding)
        return ll_fail(err, LL_ERR_INVALID, "%s: %s holds %s lists, the list is %s", w->partial, where, enc,
                       ll_list_encoding_name(l->encoding));
    return LL_OK;
}

static ll_status slot_io(ll_trace_writer *w, hid_t d, int slot, const ll_skip_list *l, int write, const char *where,
                         ll_error *err) {
    size_t n = ll_skip_list_rows(l) * (size_t)ll_skip_list_row_len(l->k_tiles);
    hsize_t start[5] = {(hsize_t)slot, 0, 0, 0, 0};
    hsize_t count[5] = {1, (hsize_t)l->B, (hsize_t)l->H, (hsize_t)l->q_tiles, (hsize_t)ll_skip_list_row_len(l->k_tiles)};
    hsize_t mdims[1] = {(hsize_t)n};
    hid_t ms = -1, fs = -1;
    ll_status code = write ? LL_ERR_IO : LL_ERR_FORMAT, st = LL_OK;
    if (LL_H5_CHECK(ms = H5Screate_simple(1, mdims, NULL), err, code, w->partial, "%s: no dataspace", where) ||
        LL_H5_CHECK(fs = H5Dget_space(d), err, code, w->partial, "%s: no dataspace", where) ||
        LL_H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL), err, code, w->partial,
                    "%s: cannot select slot %d", where, slot))
        st = code;
    if (st == LL_OK && write &&
        LL_H5_CHECK(H5Dwrite(d, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, l->data), err, code, w->partial,
                    "cannot write %s (disk full?)", where))
        st = code;
    if (st == LL_OK && !write &&
        LL_H5_CHECK(H5Dread(d, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, l->data), err, code, w->partial,
                    "cannot read %s (corrupt file?)", where))
        st = code;
    ll_h5_close(&fs);
    ll_h5_close(&ms);
    return st;
}

ll_status ll_trace_save_state(ll_trace_writer *w, int policy, int layer, const ll_skip_list *next_read,
                              ll_error *err) {
    LL_TRY(check_usable(w, err));
    LL_TRY(check_policy(w, policy, err));
    LL_TRY(check_step_layer(w, w->steps_done, layer, err));
    if (!next_read || !next_read->data)
        return ll_fail(err, LL_ERR_INVALID, "%s: no list given for policy %d layer %d", w->partial, policy, layer);
    // A resumed run reads this list back (and refuses an invalid one): never store one.
    ll_error e2;
    if (ll_skip_list_validate(next_read, "checkpoint", &e2) != LL_OK)
        return ll_fail(err, LL_ERR_INVALID, "%s: policy %d layer %d: %s", w->partial, policy, layer, e2.msg);
    char where[160];
    hid_t d;
    ll_status st = state_dataset(w, policy, layer, next_read, 1, &d, where, sizeof where, err);
    if (st != LL_OK) return st == LL_ERR_IO ? broken(w, st) : st;
    int slot = w->steps_done % 2;
    int64_t steps[2];
    st = state_matches(w, d, next_read, where, err);
    if (st == LL_OK) st = ll_h5_get_int_array(d, "slot_steps", 2, -1, INT32_MAX, steps, w->partial, where, err);
    if (st == LL_OK) st = slot_io(w, d, slot, next_read, 1, where, err);
    if (st == LL_OK) {
        // Only after the data: a slot is labelled with its step once it holds it.
        int32_t s32[2] = {(int32_t)steps[0], (int32_t)steps[1]};
        s32[slot] = w->steps_done;
        if (LL_H5_CHECK(ll_h5_put_i32_array(d, "slot_steps", s32, 2), err, LL_ERR_IO, w->partial, "%s: attributes",
                        where))
            st = LL_ERR_IO;
    }
    ll_h5_close(&d);
    return st == LL_ERR_IO ? broken(w, st) : st;
}

ll_status ll_trace_load_state(ll_trace_writer *w, int policy, int layer, ll_skip_list *next_read, ll_error *err) {
    LL_TRY(check_usable(w, err));
    LL_TRY(check_policy(w, policy, err));
    if (layer < 0 || layer >= w->meta.layers)
        return ll_fail(err, LL_ERR_INVALID, "%s: layer %d out of range (%d layers)", w->partial, layer, w->meta.layers);
    if (!next_read || !next_read->data)
        return ll_fail(err, LL_ERR_INVALID, "%s: no list to load into (policy %d layer %d)", w->partial, policy, layer);
    if (w->steps_done < 1)
        return ll_fail(err, LL_ERR_INVALID, "%s: no durable step yet, so no checkpoint to load", w->partial);
    char where[160];
    hid_t d;
    LL_TRY(state_dataset(w, policy, layer, next_read, 0, &d, where, sizeof where, err));
    int want = w->steps_done - 1, slot = want % 2;
    int64_t steps[2];
    ll_status st = state_matches(w, d, next_read, where, err);
    if (st == LL_OK) st = ll_h5_get_int_array(d, "slot_steps", 2, -1, INT32_MAX, steps, w->partial, where, err);
    if (st == LL_OK && steps[slot] != want)
        st = ll_fail(err, LL_ERR_FORMAT, "%s: %s holds no checkpoint of step %d (slots hold steps %lld and %lld)",
                     w->partial, where, want, (long long)steps[0], (long long)steps[1]);
    if (st == LL_OK) st = slot_io(w, d, slot, next_read, 0, where, err);
    ll_h5_close(&d);
    if (st == LL_OK) {
        ll_error e2;
        if (ll_skip_list_validate(next_read, where, &e2) != LL_OK)
            st = ll_fail(err, LL_ERR_FORMAT, "%s: corrupt checkpoint: %s", w->partial, e2.msg);
    }
    return st;
}

// ---------------------------------------------------------------------------
// Steps and the end

ll_status ll_trace_end_step(ll_trace_writer *w, int step, ll_error *err) {
    LL_TRY(check_usable(w, err));
    if (step != w->steps_done || step >= w->meta.steps)
        return ll_fail(err, LL_ERR_INVALID, "%s: ending step %d, but step %d is open (%d steps)", w->partial, step,
                       w->steps_done, w->meta.steps);
    ll_status st = LL_OK;
    uint64_t rows = w->calls_done + w->n_pending;
    if (w->n_pending) {
        hsize_t size[1] = {(hsize_t)rows}, start[1] = {(hsize_t)w->calls_done}, count[1] = {(hsize_t)w->n_pending};
        hid_t fs = -1, ms = -1;
        if (LL_H5_CHECK(H5Dset_extent(w->calls, size), err, LL_ERR_IO, w->partial, "cannot extend /calls") ||
            LL_H5_CHECK(fs = H5Dget_space(w->calls), err, LL_ERR_IO, w->partial, "/calls: no dataspace") ||
            LL_H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL), err, LL_ERR_IO, w->partial,
                        "/calls: cannot select rows") ||
            LL_H5_CHECK(ms = H5Screate_simple(1, count, NULL), err, LL_ERR_IO, w->partial, "/calls: no dataspace") ||
            LL_H5_CHECK(H5Dwrite(w->calls, w->types.calls_mem, ms, fs, H5P_DEFAULT, w->pending), err, LL_ERR_IO,
                        w->partial, "cannot write the rows of step %d (disk full?)", step))
            st = LL_ERR_IO;
        ll_h5_close(&fs);
        ll_h5_close(&ms);
    }
    if (st == LL_OK &&
        (LL_H5_CHECK(ll_h5_put_i64(w->file, "calls_done", (int64_t)rows), err, LL_ERR_IO, w->partial,
                     "cannot update calls_done") ||
         LL_H5_CHECK(ll_h5_put_i32(w->file, "steps_done", step + 1), err, LL_ERR_IO, w->partial,
                     "cannot update steps_done") ||
         LL_H5_CHECK(H5Fflush(w->file, H5F_SCOPE_GLOBAL), err, LL_ERR_IO, w->partial,
                     "cannot flush step %d (disk full?)", step)))
        st = LL_ERR_IO;
    if (st != LL_OK) return broken(w, st);
    w->steps_done = step + 1;
    w->calls_done = rows;
    w->n_pending = 0;
    return LL_OK;
}

ll_status ll_trace_finish(ll_trace_writer *w, ll_error *err) {
    if (!w) return ll_fail(err, LL_ERR_INVALID, "trace: no writer");
    ll_status st = check_usable(w, err);
    if (st == LL_OK && w->n_pending)
        st = ll_fail(err, LL_ERR_INVALID, "%s: %zu rows of step %d were added but the step was not ended; the trace "
                                          "stays incomplete",
                     w->partial, w->n_pending, w->steps_done);
    if (st == LL_OK &&
        (LL_H5_CHECK(ll_h5_put_i32(w->file, "complete", 1), err, LL_ERR_IO, w->partial,
                     "cannot mark the trace complete") ||
         LL_H5_CHECK(H5Fflush(w->file, H5F_SCOPE_GLOBAL), err, LL_ERR_IO, w->partial, "cannot flush")))
        st = LL_ERR_IO;
    ll_h5_close(&w->calls);
    if (st == LL_OK) {  // on failure writer_free closes the file, which stays incomplete
        if (LL_H5_CHECK(H5Fclose(w->file), err, LL_ERR_IO, w->partial, "cannot close")) st = LL_ERR_IO;
        w->file = -1;
    }
    if (st == LL_OK && rename(w->partial, w->path) != 0)
        st = ll_fail(err, LL_ERR_IO, "%s: cannot rename to %s: %s", w->partial, w->path, strerror(errno));
    writer_free(w);
    return st;
}

void ll_trace_abandon(ll_trace_writer *w) { writer_free(w); }
