// capture.c: writer, reader and validator of the capture format
// (capture.h, traces/FORMAT.md): Q, K, V as 16-bit words in three datasets
// [steps, layers, B, N, H, D], chunked per (step, layer, batch entry, block of
// tokens), shuffle + gzip level 1 + Fletcher-32.
//
// Crash safety: the writer works on "<path>.partial" and flushes after each
// finished step (steps_written raised); close sets complete = 1 and renames.
#include "capture.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5_util.h"

static const char *const TENSOR[3] = {"q", "k", "v"};
// Target bytes of one chunk: large enough for fast gzip, small enough that a
// reader of one (step, layer) touches no neighbouring data.
enum { CHUNK_BYTES = 1 << 20, GZIP_LEVEL = 1 };

struct ll_capture_writer {
    char path[PATH_MAX], partial[PATH_MAX];
    hid_t file, dset[3];
    ll_capture_meta meta;
    int next_step, next_layer;
    int failed;  // an HDF5 write failed: only abort or close (which refuses) remain
};

struct ll_capture_reader {
    char path[PATH_MAX];
    hid_t file, dset[3], mtype[3];
    ll_capture_meta meta;
};

// ---------------------------------------------------------------------------
// Shared checks

static int has_nul(const char *s, size_t n) { return memchr(s, '\0', n) != NULL; }

static ll_status check_meta(const ll_capture_meta *m, const char *path, ll_error *err) {
    char what[PATH_MAX + 32];
    snprintf(what, sizeof what, "%s: capture shape", path);
    LL_TRY(ll_shape_validate(&m->shape, what, err));
    if (m->steps < 1 || m->layers < 1)
        return ll_fail(err, LL_ERR_INVALID, "%s: steps=%d and layers=%d must be >= 1", path, m->steps, m->layers);
    int grid_known = m->frames || m->height || m->width;
    if (grid_known && (m->frames < 1 || m->height < 1 || m->width < 1 ||
                       (int64_t)m->frames * m->height * m->width != m->shape.N))
        return ll_fail(err, LL_ERR_INVALID, "%s: token grid %dx%dx%d does not give N=%d (all 0 when unknown)", path,
                       m->frames, m->height, m->width, m->shape.N);
    if (!isfinite(m->softmax_scale) || m->softmax_scale < 0)
        return ll_fail(err, LL_ERR_INVALID, "%s: softmax_scale %g must be >= 0 (0: 1/sqrt(D))", path,
                       (double)m->softmax_scale);
    if (!has_nul(m->model, sizeof m->model) || !m->model[0] || !has_nul(m->source, sizeof m->source) || !m->source[0])
        return ll_fail(err, LL_ERR_INVALID, "%s: model and source must be non-empty strings", path);
    return LL_OK;
}

// Whether a 16-bit word of dtype t is Inf or NaN (exponent all ones).
static inline int word_not_finite(ll_dtype t, uint16_t w) {
    return t == LL_FP16 ? (w & 0x7c00u) == 0x7c00u : (w & 0x7f80u) == 0x7f80u;
}

// First non-finite word of x (SIZE_MAX when all are finite).
static size_t first_not_finite(ll_dtype t, const uint16_t *x, size_t n) {
    size_t first = SIZE_MAX;
#pragma omp parallel for reduction(min : first) schedule(static)
    for (size_t i = 0; i < n; i++)
        if (word_not_finite(t, x[i]) && i < first) first = i;
    return first;
}

static ll_status report_not_finite(const ll_shape *s, const uint16_t *x, size_t i, ll_status code, const char *path,
                                   const char *tensor, int step, int layer, ll_error *err) {
    size_t d = i % (size_t)s->D, h = i / s->D % (size_t)s->H, n = i / ((size_t)s->D * s->H) % (size_t)s->N;
    size_t b = i / ((size_t)s->D * s->H * s->N);
    return ll_fail(err, code, "%s: %s of step %d layer %d holds a non-finite value (word 0x%04x) at b=%zu n=%zu h=%zu "
                              "d=%zu",
                   path, tensor, step, layer, x[i], b, n, h, d);
}

// ---------------------------------------------------------------------------
// Writer

static ll_status write_root_attrs(hid_t f, const ll_capture_meta *m, const char *path, ll_error *err) {
    const ll_shape *s = &m->shape;
    if (LL_H5_CHECK(ll_h5_put_str(f, "format", LL_CAPTURE_FORMAT), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "format_version", LL_CAPTURE_VERSION), err, LL_ERR_IO, path,
                    "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "complete", 0), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "steps_written", 0), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_str(f, "model", m->model), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_str(f, "source", m->source), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "B", s->B), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "N", s->N), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "H", s->H), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "D", s->D), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_str(f, "dtype", ll_dtype_name(s->dtype)), err, LL_ERR_IO, path,
                    "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "steps", m->steps), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "layers", m->layers), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "frames", m->frames), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "height", m->height), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "width", m->width), err, LL_ERR_IO, path, "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_f32(f, "softmax_scale", m->softmax_scale), err, LL_ERR_IO, path,
                    "cannot write attributes") ||
        LL_H5_CHECK(ll_h5_put_u64(f, "seed", m->seed), err, LL_ERR_IO, path, "cannot write attributes"))
        return LL_ERR_IO;
    return LL_OK;
}

static ll_status create_datasets(ll_capture_writer *w, ll_error *err) {
    const ll_shape *s = &w->meta.shape;
    hsize_t dims[6] = {(hsize_t)w->meta.steps, (hsize_t)w->meta.layers, (hsize_t)s->B, (hsize_t)s->N, (hsize_t)s->H,
                       (hsize_t)s->D};
    size_t token_bytes = (size_t)s->H * s->D * sizeof(uint16_t);
    size_t tokens = CHUNK_BYTES / token_bytes;
    if (tokens < 1) tokens = 1;
    if (tokens > (size_t)s->N) tokens = (size_t)s->N;
    hsize_t chunk[6] = {1, 1, 1, (hsize_t)tokens, (hsize_t)s->H, (hsize_t)s->D};
    hid_t space = -1, dcpl = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(space = H5Screate_simple(6, dims, NULL), err, LL_ERR_IO, w->partial, "cannot make a dataspace") ||
        LL_H5_CHECK(dcpl = ll_h5_dcpl(6, chunk, 1, GZIP_LEVEL), err, LL_ERR_IO, w->partial,
                    "cannot set up chunking and compression"))
        st = LL_ERR_IO;
    for (int i = 0; st == LL_OK && i < 3; i++) {
        if (LL_H5_CHECK(w->dset[i] = H5Dcreate2(w->file, TENSOR[i], H5T_STD_U16LE, space, H5P_DEFAULT, dcpl,
                                                H5P_DEFAULT),
                        err, LL_ERR_IO, w->partial, "cannot create dataset /%s", TENSOR[i]) ||
            LL_H5_CHECK(ll_h5_put_str(w->dset[i], "dtype", ll_dtype_name(s->dtype)), err, LL_ERR_IO, w->partial,
                        "cannot write /%s attributes", TENSOR[i]))
            st = LL_ERR_IO;
    }
    ll_h5_close(&space);
    ll_h5_close(&dcpl);
    return st;
}

static void writer_free(ll_capture_writer *w, int remove_partial) {
    for (int i = 0; i < 3; i++) ll_h5_close(&w->dset[i]);
    ll_h5_close(&w->file);
    if (remove_partial) unlink(w->partial);
    free(w);
}

ll_status ll_capture_create(const char *path, const ll_capture_meta *meta, ll_capture_writer **out, ll_error *err) {
    ll_h5_init();
    *out = NULL;
    if (!meta) return ll_fail(err, LL_ERR_INVALID, "%s: no capture metadata", path ? path : "(null)");
    char partial[PATH_MAX];
    LL_TRY(ll_h5_partial_path(path, partial, sizeof partial, err));
    LL_TRY(check_meta(meta, path, err));
    LL_TRY(ll_h5_check_not_busy(partial, err));
    ll_capture_writer *w = calloc(1, sizeof *w);
    if (!w) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
    snprintf(w->path, sizeof w->path, "%s", path);
    snprintf(w->partial, sizeof w->partial, "%s", partial);
    w->file = w->dset[0] = w->dset[1] = w->dset[2] = -1;
    w->meta = *meta;
    w->meta.steps_written = w->meta.complete = 0;
    hid_t fapl = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(fapl = ll_h5_fapl(), err, LL_ERR_INTERNAL, partial, "cannot make a file access list")) {
        free(w);
        return LL_ERR_INTERNAL;
    }
    st = LL_H5_CHECK(w->file = H5Fcreate(partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl), err, LL_ERR_IO, partial,
                     "cannot create the capture file");
    H5Pclose(fapl);
    if (st == LL_OK) st = write_root_attrs(w->file, &w->meta, partial, err);
    if (st == LL_OK) st = create_datasets(w, err);
    if (st == LL_OK && LL_H5_CHECK(H5Fflush(w->file, H5F_SCOPE_GLOBAL), err, LL_ERR_IO, partial, "cannot write"))
        st = LL_ERR_IO;
    if (st != LL_OK) {
        // Never leave a half-made file behind, but remove only a file this
        // writer created: when H5Fcreate fails (e.g. another live writer holds
        // the lock on <path>.partial), that file is someone else's.
        writer_free(w, w->file >= 0);
        return st;
    }
    *out = w;
    return LL_OK;
}

ll_status ll_capture_write(ll_capture_writer *w, int step, int layer, const uint16_t *q, const uint16_t *k,
                           const uint16_t *v, ll_error *err) {
    if (!w) return ll_fail(err, LL_ERR_INVALID, "capture write: no writer");
    if (w->failed) return ll_fail(err, LL_ERR_IO, "%s: an earlier write failed; the capture cannot go on", w->partial);
    if (step != w->next_step || layer != w->next_layer)
        return ll_fail(err, LL_ERR_INVALID,
                       "%s: (step %d, layer %d) written out of order: expected step %d layer %d (%d steps x %d layers)",
                       w->partial, step, layer, w->next_step, w->next_layer, w->meta.steps, w->meta.layers);
    if (step >= w->meta.steps)
        return ll_fail(err, LL_ERR_INVALID, "%s: all %d steps are written already", w->partial, w->meta.steps);
    const uint16_t *x[3] = {q, k, v};
    const ll_shape *s = &w->meta.shape;
    size_t n = ll_shape_elems(s);
    for (int i = 0; i < 3; i++) {
        if (!x[i]) return ll_fail(err, LL_ERR_INVALID, "%s: no %s given for step %d layer %d", w->partial, TENSOR[i],
                                  step, layer);
        size_t bad = first_not_finite(s->dtype, x[i], n);
        if (bad != SIZE_MAX) return report_not_finite(s, x[i], bad, LL_ERR_INVALID, w->partial, TENSOR[i], step, layer, err);
    }
    hsize_t start[6] = {(hsize_t)step, (hsize_t)layer, 0, 0, 0, 0};
    hsize_t count[6] = {1, 1, (hsize_t)s->B, (hsize_t)s->N, (hsize_t)s->H, (hsize_t)s->D};
    hsize_t mdims[1] = {(hsize_t)n};
    hid_t mspace = -1, fspace = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(mspace = H5Screate_simple(1, mdims, NULL), err, LL_ERR_IO, w->partial, "cannot make a dataspace"))
        st = LL_ERR_IO;
    for (int i = 0; st == LL_OK && i < 3; i++) {
        if (LL_H5_CHECK(fspace = H5Dget_space(w->dset[i]), err, LL_ERR_IO, w->partial, "/%s: no dataspace",
                        TENSOR[i]) ||
            LL_H5_CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL), err, LL_ERR_IO,
                        w->partial, "/%s: cannot select step %d layer %d", TENSOR[i], step, layer) ||
            LL_H5_CHECK(H5Dwrite(w->dset[i], H5T_NATIVE_UINT16, mspace, fspace, H5P_DEFAULT, x[i]), err, LL_ERR_IO,
                        w->partial, "cannot write /%s of step %d layer %d (disk full?)", TENSOR[i], step, layer))
            st = LL_ERR_IO;
        ll_h5_close(&fspace);
    }
    ll_h5_close(&mspace);
    if (st == LL_OK && layer == w->meta.layers - 1) {
        // The step is complete: count it and make it durable.
        if (LL_H5_CHECK(ll_h5_put_i32(w->file, "steps_written", step + 1), err, LL_ERR_IO, w->partial,
                        "cannot update steps_written") ||
            LL_H5_CHECK(H5Fflush(w->file, H5F_SCOPE_GLOBAL), err, LL_ERR_IO, w->partial,
                        "cannot flush step %d (disk full?)", step))
            st = LL_ERR_IO;
    }
    if (st != LL_OK) {
        w->failed = 1;
        return st;
    }
    w->meta.steps_written = layer == w->meta.layers - 1 ? step + 1 : step;
    if (++w->next_layer == w->meta.layers) {
        w->next_layer = 0;
        w->next_step++;
    }
    return LL_OK;
}

ll_status ll_capture_close(ll_capture_writer *w, ll_error *err) {
    if (!w) return ll_fail(err, LL_ERR_INVALID, "capture close: no writer");
    ll_status st = LL_OK;
    if (w->failed)
        st = ll_fail(err, LL_ERR_IO, "%s: an earlier write failed; the capture stays incomplete", w->partial);
    else if (w->next_step != w->meta.steps)
        st = ll_fail(err, LL_ERR_INVALID, "%s: only %d of %d steps written; the capture stays incomplete", w->partial,
                     w->next_step, w->meta.steps);
    else if (LL_H5_CHECK(ll_h5_put_i32(w->file, "complete", 1), err, LL_ERR_IO, w->partial,
                         "cannot mark the capture complete") ||
             LL_H5_CHECK(H5Fflush(w->file, H5F_SCOPE_GLOBAL), err, LL_ERR_IO, w->partial, "cannot flush"))
        st = LL_ERR_IO;
    for (int i = 0; i < 3; i++) ll_h5_close(&w->dset[i]);
    if (st == LL_OK) {  // on failure writer_free closes the file, which stays incomplete
        if (LL_H5_CHECK(H5Fclose(w->file), err, LL_ERR_IO, w->partial, "cannot close")) st = LL_ERR_IO;
        w->file = -1;
    }
    if (st == LL_OK && rename(w->partial, w->path) != 0)
        st = ll_fail(err, LL_ERR_IO, "%s: cannot rename to %s: %s", w->partial, w->path, strerror(errno));
    writer_free(w, 0);
    return st;
}

void ll_capture_abort(ll_capture_writer *w) {
    if (w) writer_free(w, 1);
}

// ---------------------------------------------------------------------------
// Reader

// The 16-bit element type of a dataset: integers of 2 bytes (either sign),
// or 2-byte floats for fp16 (numpy float16 written by h5py). The memory type
// copies the file's, so words are read without conversion.
static ll_status check_element_type(hid_t d, ll_dtype dtype, hid_t *mtype, const char *path, const char *name,
                                    ll_error *err) {
    hid_t t;
    if (LL_H5_CHECK(t = H5Dget_type(d), err, LL_ERR_FORMAT, path, "/%s: unreadable type", name)) return LL_ERR_FORMAT;
    H5T_class_t c = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    ll_status st = LL_OK;
    if (!((c == H5T_INTEGER && size == 2) || (c == H5T_FLOAT && size == 2 && dtype == LL_FP16)))
        st = ll_fail(err, LL_ERR_FORMAT, "%s: /%s holds %zu-byte %s elements, expected 16-bit words (uint16)", path,
                     name, size, c == H5T_INTEGER ? "integer" : c == H5T_FLOAT ? "float" : "non-numeric");
    else if (LL_H5_CHECK(*mtype = H5Tget_native_type(t, H5T_DIR_ASCEND), err, LL_ERR_FORMAT, path,
                         "/%s: no native type", name))
        st = LL_ERR_FORMAT;
    H5Tclose(t);
    return st;
}

static ll_status read_meta(ll_capture_reader *r, ll_error *err) {
    const char *p = r->path;
    hid_t f = r->file;
    ll_capture_meta *m = &r->meta;
    char format[64], dtype[16];
    if (H5Aexists(f, "format") <= 0)
        return ll_fail(err, LL_ERR_FORMAT, "%s: an HDF5 file, but not a litelab capture (no 'format' attribute)", p);
    LL_TRY(ll_h5_get_str(f, "format", format, sizeof format, p, "/", err));
    if (strcmp(format, LL_CAPTURE_FORMAT) != 0)
        return ll_fail(err, LL_ERR_FORMAT, "%s: format is '%s', not a litelab capture ('%s')", p, format,
                       LL_CAPTURE_FORMAT);
    int64_t v[16];
    LL_TRY(ll_h5_get_int(f, "format_version", 1, INT32_MAX, &v[0], p, "/", err));
    if (v[0] > LL_CAPTURE_VERSION)
        return ll_fail(err, LL_ERR_FORMAT, "%s: capture format version %lld is newer than this litelab reads (%d)", p,
                       (long long)v[0], LL_CAPTURE_VERSION);
    const char *ints[] = {"complete", "steps_written", "B", "N", "H", "D", "steps", "layers", "frames", "height",
                          "width"};
    const int64_t lo[] = {0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0};
    for (int i = 0; i < 11; i++) LL_TRY(ll_h5_get_int(f, ints[i], lo[i], INT32_MAX, &v[i], p, "/", err));
    m->complete = (int)v[0];
    if (v[0] > 1) return ll_fail(err, LL_ERR_FORMAT, "%s: attribute 'complete' = %lld, expected 0 or 1", p, (long long)v[0]);
    m->steps_written = (int)v[1];
    m->shape = (ll_shape){(int)v[2], (int)v[3], (int)v[4], (int)v[5], LL_BF16};
    m->steps = (int)v[6];
    m->layers = (int)v[7];
    m->frames = (int)v[8];
    m->height = (int)v[9];
    m->width = (int)v[10];
    LL_TRY(ll_h5_get_str(f, "dtype", dtype, sizeof dtype, p, "/", err));
    ll_error e2;
    if (ll_dtype_parse(dtype, &m->shape.dtype, &e2) != LL_OK)
        return ll_fail(err, LL_ERR_FORMAT, "%s: attribute 'dtype': %s", p, e2.msg);
    LL_TRY(ll_h5_get_str(f, "model", m->model, sizeof m->model, p, "/", err));
    LL_TRY(ll_h5_get_str(f, "source", m->source, sizeof m->source, p, "/", err));
    double scale;
    LL_TRY(ll_h5_get_float(f, "softmax_scale", &scale, p, "/", err));
    m->softmax_scale = (float)scale;
    LL_TRY(ll_h5_get_u64(f, "seed", &m->seed, p, "/", err));
    // Consistency of what was read.
    ll_error e3;
    int saved_written = m->steps_written, saved_complete = m->complete;
    if (check_meta(m, p, &e3) != LL_OK) return ll_fail(err, LL_ERR_FORMAT, "%s", e3.msg);
    m->steps_written = saved_written;
    m->complete = saved_complete;
    if (m->steps_written > m->steps)
        return ll_fail(err, LL_ERR_FORMAT, "%s: steps_written=%d exceeds steps=%d", p, m->steps_written, m->steps);
    if (m->complete && m->steps_written != m->steps)
        return ll_fail(err, LL_ERR_FORMAT, "%s: marked complete but steps_written=%d of %d", p, m->steps_written,
                       m->steps);
    if ((double)ll_shape_elems(&m->shape) * m->steps * m->layers > 9.0e18)
        return ll_fail(err, LL_ERR_FORMAT, "%s: shape too large", p);
    return LL_OK;
}

static ll_status open_datasets(ll_capture_reader *r, ll_error *err) {
    const ll_capture_meta *m = &r->meta;
    const ll_shape *s = &m->shape;
    hsize_t want[6] = {(hsize_t)m->steps, (hsize_t)m->layers, (hsize_t)s->B, (hsize_t)s->N, (hsize_t)s->H,
                       (hsize_t)s->D};
    for (int i = 0; i < 3; i++) {
        char where[8];
        snprintf(where, sizeof where, "/%s", TENSOR[i]);
        if (!ll_h5_exists(r->file, TENSOR[i]))
            return ll_fail(err, LL_ERR_FORMAT, "%s: dataset %s is missing", r->path, where);
        if (LL_H5_CHECK(r->dset[i] = H5Dopen2(r->file, TENSOR[i], H5P_DEFAULT), err, LL_ERR_FORMAT, r->path,
                        "cannot open dataset %s", where))
            return LL_ERR_FORMAT;
        int rank;
        hsize_t dims[H5S_MAX_RANK];
        LL_TRY(ll_h5_dims(r->dset[i], H5S_MAX_RANK, &rank, dims, r->path, where, err));
        int same = rank == 6;
        for (int j = 0; same && j < 6; j++) same = dims[j] == want[j];
        if (!same) {
            char got[160] = "";
            for (int j = 0; j < rank; j++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%llu", j ? ", " : "", (unsigned long long)dims[j]);
            return ll_fail(err, LL_ERR_FORMAT,
                           "%s: %s has shape [%s], the attributes say [steps, layers, B, N, H, D] = [%d, %d, %d, %d, "
                           "%d, %d]",
                           r->path, where, got, m->steps, m->layers, s->B, s->N, s->H, s->D);
        }
        LL_TRY(check_element_type(r->dset[i], s->dtype, &r->mtype[i], r->path, TENSOR[i], err));
        char dt[16];
        LL_TRY(ll_h5_get_str(r->dset[i], "dtype", dt, sizeof dt, r->path, where, err));
        if (strcmp(dt, ll_dtype_name(s->dtype)) != 0)
            return ll_fail(err, LL_ERR_FORMAT, "%s: %s has dtype '%s', the file says '%s'", r->path, where, dt,
                           ll_dtype_name(s->dtype));
    }
    return LL_OK;
}

ll_status ll_capture_open(const char *path, int allow_partial, ll_capture_reader **out, ll_capture_meta *meta,
                          ll_error *err) {
    *out = NULL;
    if (!path) return ll_fail(err, LL_ERR_USAGE, "capture: no path given");
    ll_capture_reader *r = calloc(1, sizeof *r);
    if (!r) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->file = -1;
    for (int i = 0; i < 3; i++) r->dset[i] = r->mtype[i] = -1;
    ll_status st = ll_h5_open_read(path, &r->file, err);
    if (st == LL_OK) st = read_meta(r, err);
    if (st == LL_OK) st = open_datasets(r, err);
    if (st == LL_OK && !r->meta.complete && !allow_partial)
        st = ll_fail(err, LL_ERR_FORMAT,
                     "%s: incomplete capture (%d of %d steps written; its writer did not finish)", path,
                     r->meta.steps_written, r->meta.steps);
    if (st != LL_OK) {
        ll_capture_close_reader(r);
        return st;
    }
    if (meta) *meta = r->meta;
    *out = r;
    return LL_OK;
}

ll_status ll_capture_read(ll_capture_reader *r, int step, int layer, uint16_t *q, uint16_t *k, uint16_t *v,
                          int check_finite, ll_error *err) {
    if (!r) return ll_fail(err, LL_ERR_INVALID, "capture read: no reader");
    const ll_capture_meta *m = &r->meta;
    if (step < 0 || step >= m->steps_written || layer < 0 || layer >= m->layers)
        return ll_fail(err, LL_ERR_INVALID, "%s: (step %d, layer %d) is not in the file (%d steps written, %d layers)",
                       r->path, step, layer, m->steps_written, m->layers);
    const ll_shape *s = &m->shape;
    size_t n = ll_shape_elems(s);
    uint16_t *x[3] = {q, k, v};
    hsize_t start[6] = {(hsize_t)step, (hsize_t)layer, 0, 0, 0, 0};
    hsize_t count[6] = {1, 1, (hsize_t)s->B, (hsize_t)s->N, (hsize_t)s->H, (hsize_t)s->D};
    hsize_t mdims[1] = {(hsize_t)n};
    hid_t mspace = -1, fspace = -1;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(mspace = H5Screate_simple(1, mdims, NULL), err, LL_ERR_INTERNAL, r->path, "cannot make a dataspace"))
        st = LL_ERR_INTERNAL;
    for (int i = 0; st == LL_OK && i < 3; i++) {
        if (!x[i]) continue;
        if (LL_H5_CHECK(fspace = H5Dget_space(r->dset[i]), err, LL_ERR_FORMAT, r->path, "/%s: no dataspace", TENSOR[i]) ||
            LL_H5_CHECK(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL), err, LL_ERR_FORMAT,
                        r->path, "/%s: cannot select step %d layer %d", TENSOR[i], step, layer) ||
            LL_H5_CHECK(H5Dread(r->dset[i], r->mtype[i], mspace, fspace, H5P_DEFAULT, x[i]), err, LL_ERR_FORMAT,
                        r->path, "cannot read /%s of step %d layer %d (corrupt or truncated file?)", TENSOR[i], step,
                        layer))
            st = LL_ERR_FORMAT;
        ll_h5_close(&fspace);
        if (st == LL_OK && check_finite) {
            size_t bad = first_not_finite(s->dtype, x[i], n);
            if (bad != SIZE_MAX) st = report_not_finite(s, x[i], bad, LL_ERR_INVALID, r->path, TENSOR[i], step, layer, err);
        }
    }
    ll_h5_close(&mspace);
    return st;
}

void ll_capture_close_reader(ll_capture_reader *r) {
    if (!r) return;
    for (int i = 0; i < 3; i++) {
        ll_h5_close(&r->dset[i]);
        ll_h5_close(&r->mtype[i]);
    }
    ll_h5_close(&r->file);
    free(r);
}

// ---------------------------------------------------------------------------
// Validator

ll_status ll_capture_validate_file(const char *path, int allow_partial, FILE *report, ll_error *err) {
    ll_capture_reader *r;
    ll_capture_meta m;
    ll_error e;
    ll_error_clear(&e);
    ll_status st = ll_capture_open(path, 1, &r, &m, &e);
    if (st != LL_OK) {
        if (report) fprintf(report, "%s: INVALID\n  %s\n", path, e.msg);
        return ll_fail(err, st, "%s", e.msg);
    }
    // Every finished (step, layer) must read back (checksums, decompression)
    // and hold finite words.
    size_t n = ll_shape_elems(&m.shape);
    uint16_t *buf[3] = {malloc(n * 2), malloc(n * 2), malloc(n * 2)};
    long problems = 0;
    char first[sizeof e.msg] = "";
    if (!buf[0] || !buf[1] || !buf[2]) {
        st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for one (step, layer) of Q, K, V (%zu words each)", path, n);
    } else {
        for (int s = 0; s < m.steps_written; s++)
            for (int l = 0; l < m.layers; l++) {
                ll_error_clear(&e);
                if (ll_capture_read(r, s, l, buf[0], buf[1], buf[2], 1, &e) != LL_OK) {
                    if (report) fprintf(report, "  %s\n", e.msg);
                    if (!problems++) snprintf(first, sizeof first, "%s", e.msg);
                }
            }
    }
    for (int i = 0; i < 3; i++) free(buf[i]);
    ll_capture_close_reader(r);
    if (st != LL_OK) return st;
    if (problems) {
        if (report) fprintf(report, "%s: INVALID capture (%ld problem%s)\n", path, problems, problems > 1 ? "s" : "");
        return ll_fail(err, LL_ERR_FORMAT, "%s: %ld problem%s; first: %s", path, problems, problems > 1 ? "s" : "",
                       first);
    }
    if (!m.complete) {
        if (report)
            fprintf(report, "%s: valid but INCOMPLETE capture (%d of %d steps written; its writer did not finish)\n",
                    path, m.steps_written, m.steps);
        if (!allow_partial)
            return ll_fail(err, LL_ERR_FORMAT, "%s: valid but incomplete capture (%d of %d steps written)", path,
                           m.steps_written, m.steps);
        return LL_OK;
    }
    if (report)
        fprintf(report, "%s: OK (litelab capture v%d, %d steps x %d layers of [%d, %d, %d, %d] %s)\n", path,
                LL_CAPTURE_VERSION, m.steps, m.layers, m.shape.B, m.shape.N, m.shape.H, m.shape.D,
                ll_dtype_name(m.shape.dtype));
    return LL_OK;
}
