// h5_util.c: the checked-call error style and attribute helpers for the
// HDF5 formats (h5_util.h).
#include "h5_util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void ll_h5_init(void) {
    static int done = 0;
    if (done) return;
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    done = 1;
}

typedef struct {
    char *buf;
    size_t len;
} innermost;

// Walked upward the stack starts with the most specific error: keep entry 0.
static herr_t keep_innermost(unsigned n, const H5E_error2_t *e, void *data) {
    innermost *in = data;
    if (n != 0) return 0;
    if (e->desc && e->desc[0]) {
        snprintf(in->buf, in->len, "%s", e->desc);
    } else {
        char minor[128] = "";
        H5Eget_msg(e->min_num, NULL, minor, sizeof minor);
        snprintf(in->buf, in->len, "%s", minor);
    }
    return 0;
}

void ll_h5_last_message(char *buf, size_t len) {
    if (!len) return;
    buf[0] = '\0';
    innermost in = {buf, len};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &in);
}

ll_status ll_h5_fail_(ll_error *err, ll_status code, const char *path, const char *call, const char *file, int line,
                      const char *fmt, ...) {
    char what[384], h5msg[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    ll_h5_last_message(h5msg, sizeof h5msg);
    // "d = H5Dopen2(...)" reads better from the HDF5 function on.
    const char *c = strstr(call, "H5");
    if (!c) c = call;
    return ll_fail(err, code, "%s: %s: %s [%.160s at %s:%d]", path, what, h5msg[0] ? h5msg : "HDF5 call failed", c,
                   file, line);
}

void ll_h5_close(hid_t *id) {
    if (*id < 0) return;
    H5E_BEGIN_TRY {
        switch (H5Iget_type(*id)) {
        case H5I_FILE: H5Fclose(*id); break;
        case H5I_GROUP: H5Gclose(*id); break;
        case H5I_DATASET: H5Dclose(*id); break;
        case H5I_DATATYPE: H5Tclose(*id); break;
        case H5I_DATASPACE: H5Sclose(*id); break;
        case H5I_ATTR: H5Aclose(*id); break;
        case H5I_GENPROP_LST: H5Pclose(*id); break;
        default: break;
        }
    }
    H5E_END_TRY;
    *id = -1;
}

hid_t ll_h5_fapl(void) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V110, H5F_LIBVER_V110) < 0 ||
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        H5Pclose(fapl);
        return -1;
    }
    // The 1.10 format marks a file "open for write" in its superblock until it
    // is closed; a killed writer leaves the mark and HDF5 then refuses to open
    // the file at all. Our .partial files are meant to be read and resumed
    // after a kill, so we ignore the mark as h5clear does (same property);
    // file locking still keeps us off a file a live process is writing. Where
    // the property does not exist, opening such a file fails with HDF5's
    // message ("may use <h5clear file>").
    hbool_t clear = 1;
    H5E_BEGIN_TRY { H5Pset(fapl, "clear_status_flags", &clear); }
    H5E_END_TRY;
    return fapl;
}

// ---------------------------------------------------------------------------
// Writing attributes

// Writes (creating, or replacing when the stored type differs) a scalar or
// 1-D attribute of file type ftype from memory of type mtype.
static herr_t put_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype, int n, const void *buf) {
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    if (space < 0) return -1;
    hid_t a = -1;
    herr_t r = -1;
    htri_t exists = H5Aexists(obj, name);
    if (exists > 0) {
        a = H5Aopen(obj, name, H5P_DEFAULT);
        hid_t old = a >= 0 ? H5Aget_type(a) : -1;
        hid_t old_space = a >= 0 ? H5Aget_space(a) : -1;
        int same = old >= 0 && old_space >= 0 && H5Tequal(old, ftype) > 0 &&
                   H5Sget_simple_extent_npoints(old_space) == (hssize_t)n;
        if (old >= 0) H5Tclose(old);
        if (old_space >= 0) H5Sclose(old_space);
        if (!same) {
            if (a >= 0) H5Aclose(a);
            a = -1;
            if (H5Adelete(obj, name) < 0) goto done;
        }
    } else if (exists < 0) {
        goto done;
    }
    if (a < 0) a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) r = H5Awrite(a, mtype, buf);
done:
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    return r;
}

herr_t ll_h5_put_str(hid_t obj, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return -1;
    herr_t r = -1;
    if (H5Tset_size(t, strlen(value) + 1) >= 0 && H5Tset_strpad(t, H5T_STR_NULLTERM) >= 0 &&
        H5Tset_cset(t, H5T_CSET_ASCII) >= 0)
        r = put_attr(obj, name, t, t, 1, value);
    H5Tclose(t);
    return r;
}

herr_t ll_h5_put_i32(hid_t obj, const char *name, int32_t value) {
    return put_attr(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &value);
}
herr_t ll_h5_put_i64(hid_t obj, const char *name, int64_t value) {
    return put_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &value);
}
herr_t ll_h5_put_u64(hid_t obj, const char *name, uint64_t value) {
    return put_attr(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, &value);
}
herr_t ll_h5_put_f32(hid_t obj, const char *name, float value) {
    return put_attr(obj, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &value);
}
herr_t ll_h5_put_i32_array(hid_t obj, const char *name, const int32_t *values, int n) {
    if (n < 1) return -1;
    // Always 1-D, also for one element, so readers see the same shape.
    hsize_t dims[1] = {(hsize_t)n};
    hid_t space = H5Screate_simple(1, dims, NULL);
    if (space < 0) return -1;
    herr_t r = -1;
    if (H5Aexists(obj, name) > 0 && H5Adelete(obj, name) < 0) goto done;
    hid_t a = H5Acreate2(obj, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
        r = H5Awrite(a, H5T_NATIVE_INT32, values);
        H5Aclose(a);
    }
done:
    H5Sclose(space);
    return r;
}

// ---------------------------------------------------------------------------
// Reading attributes

static const char *class_name(H5T_class_t c) {
    switch (c) {
    case H5T_INTEGER: return "an integer";
    case H5T_FLOAT: return "a float";
    case H5T_STRING: return "a string";
    case H5T_COMPOUND: return "a compound";
    case H5T_ARRAY: return "an array";
    case H5T_ENUM: return "an enum";
    default: return "an unsupported type";
    }
}

// Opens attribute `name` and checks its class (one of two) and element count.
// want_n < 0: any count >= 1 (stored in *n_out).
static ll_status open_attr(hid_t obj, const char *name, H5T_class_t want1, H5T_class_t want2, const char *what,
                           int want_n, hid_t *a_out, hid_t *t_out, const char *path, const char *where, ll_error *err) {
    *a_out = *t_out = -1;
    htri_t ex = H5Aexists(obj, name);
    if (ex < 0) return ll_h5_fail_(err, LL_ERR_FORMAT, path, "H5Aexists", __FILE__, __LINE__,
                                   "%s: cannot look up attribute '%s'", where, name);
    if (ex == 0) return ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' is missing", path, where, name);
    hid_t a;
    if (LL_H5_CHECK(a = H5Aopen(obj, name, H5P_DEFAULT), err, LL_ERR_FORMAT, path, "%s: cannot open attribute '%s'", where, name)) return LL_ERR_FORMAT;
    hid_t t = H5Aget_type(a), s = H5Aget_space(a);
    ll_status st = LL_OK;
    if (t < 0 || s < 0) {
        st = ll_h5_fail_(err, LL_ERR_FORMAT, path, "H5Aget_type/H5Aget_space", __FILE__, __LINE__,
                         "%s: attribute '%s' unreadable", where, name);
    } else {
        H5T_class_t c = H5Tget_class(t);
        hssize_t n = H5Sget_simple_extent_npoints(s);
        if (c != want1 && c != want2)
            st = ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' is %s, expected %s", path, where, name,
                         class_name(c), what);
        else if (want_n >= 0 && n != want_n)
            st = ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' has %lld elements, expected %d", path, where,
                         name, (long long)n, want_n);
        else if (n < 1)
            st = ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' is empty", path, where, name);
    }
    if (s >= 0) H5Sclose(s);
    if (st != LL_OK) {
        if (t >= 0) H5Tclose(t);
        H5Aclose(a);
        return st;
    }
    *a_out = a;
    *t_out = t;
    return LL_OK;
}

ll_status ll_h5_get_str(hid_t obj, const char *name, char *buf, size_t len, const char *path, const char *where,
                        ll_error *err) {
    hid_t a, t;
    LL_TRY(open_attr(obj, name, H5T_STRING, H5T_STRING, "a string", 1, &a, &t, path, where, err));
    ll_status st = LL_OK;
    hid_t mt = H5Tcopy(t);
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        if (LL_H5_CHECK(H5Aread(a, mt, &s), err, LL_ERR_FORMAT, path, "%s: cannot read attribute '%s'", where, name))
            st = LL_ERR_FORMAT;
        else if (!s || strlen(s) >= len)
            st = ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' is %s (at most %zu characters)", path, where,
                         name, s ? "too long" : "a null string", len - 1);
        else
            snprintf(buf, len, "%s", s);
        if (s) H5free_memory(s);
    } else {
        size_t size = H5Tget_size(t);
        char tmp[4096];
        if (size == 0 || size >= sizeof tmp) {
            st = ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' has an unusable string size %zu", path, where,
                         name, size);
        } else if (LL_H5_CHECK(H5Aread(a, mt, tmp), err, LL_ERR_FORMAT, path, "%s: cannot read attribute '%s'", where,
                               name)) {
            st = LL_ERR_FORMAT;
        } else {
            tmp[size] = '\0';
            size_t n = strlen(tmp);
            while (n > 0 && tmp[n - 1] == ' ') tmp[--n] = '\0';  // space-padded strings
            if (n >= len)
                st = ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' is too long (%zu characters, at most %zu)",
                             path, where, name, n, len - 1);
            else
                memcpy(buf, tmp, n + 1);
        }
    }
    if (mt >= 0) H5Tclose(mt);
    H5Tclose(t);
    H5Aclose(a);
    return st;
}

ll_status ll_h5_get_int_array(hid_t obj, const char *name, int n, int64_t lo, int64_t hi, int64_t *out,
                              const char *path, const char *where, ll_error *err) {
    hid_t a, t;
    LL_TRY(open_attr(obj, name, H5T_INTEGER, H5T_INTEGER, "an integer", n, &a, &t, path, where, err));
    ll_status st = LL_OK;
    if (LL_H5_CHECK(H5Aread(a, H5T_NATIVE_INT64, out), err, LL_ERR_FORMAT, path, "%s: cannot read attribute '%s'",
                    where, name))
        st = LL_ERR_FORMAT;
    for (int i = 0; st == LL_OK && i < n; i++)
        if (out[i] < lo || out[i] > hi)
            st = n == 1 ? ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' = %" PRId64 " is out of range [%" PRId64
                                  ", %" PRId64 "]", path, where, name, out[i], lo, hi)
                        : ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s'[%d] = %" PRId64
                                  " is out of range [%" PRId64 ", %" PRId64 "]", path, where, name, i, out[i], lo, hi);
    H5Tclose(t);
    H5Aclose(a);
    return st;
}

ll_status ll_h5_get_int(hid_t obj, const char *name, int64_t lo, int64_t hi, int64_t *out, const char *path,
                        const char *where, ll_error *err) {
    return ll_h5_get_int_array(obj, name, 1, lo, hi, out, path, where, err);
}

ll_status ll_h5_get_u64(hid_t obj, const char *name, uint64_t *out, const char *path, const char *where,
                        ll_error *err) {
    hid_t a, t;
    LL_TRY(open_attr(obj, name, H5T_INTEGER, H5T_INTEGER, "an integer", 1, &a, &t, path, where, err));
    ll_status st = LL_OK;
    if (LL_H5_CHECK(H5Aread(a, H5T_NATIVE_UINT64, out), err, LL_ERR_FORMAT, path, "%s: cannot read attribute '%s'",
                    where, name))
        st = LL_ERR_FORMAT;
    H5Tclose(t);
    H5Aclose(a);
    return st;
}

ll_status ll_h5_get_float(hid_t obj, const char *name, double *out, const char *path, const char *where,
                          ll_error *err) {
    hid_t a, t;
    LL_TRY(open_attr(obj, name, H5T_FLOAT, H5T_INTEGER, "a number", 1, &a, &t, path, where, err));
    ll_status st = LL_OK;
    if (LL_H5_CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, out), err, LL_ERR_FORMAT, path, "%s: cannot read attribute '%s'",
                    where, name))
        st = LL_ERR_FORMAT;
    else if (!isfinite(*out))
        st = ll_fail(err, LL_ERR_FORMAT, "%s: %s: attribute '%s' is %g, not a finite number", path, where, name, *out);
    H5Tclose(t);
    H5Aclose(a);
    return st;
}

int ll_h5_exists(hid_t loc, const char *name) {
    htri_t r;
    H5E_BEGIN_TRY { r = H5Lexists(loc, name, H5P_DEFAULT); }
    H5E_END_TRY;
    return r > 0;
}

hid_t ll_h5_dcpl(int rank, const hsize_t *chunk, int shuffle, int gzip) {
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    if (p < 0) return p;
    if (H5Pset_chunk(p, rank, chunk) < 0 || (shuffle && H5Pset_shuffle(p) < 0) ||
        (gzip > 0 && H5Pset_deflate(p, (unsigned)gzip) < 0) || H5Pset_fletcher32(p) < 0) {
        H5Pclose(p);
        return -1;
    }
    return p;
}

ll_status ll_h5_dims(hid_t dset, int max_rank, int *rank, hsize_t *dims, const char *path, const char *where,
                     ll_error *err) {
    hid_t s;
    if (LL_H5_CHECK(s = H5Dget_space(dset), err, LL_ERR_FORMAT, path, "%s: cannot read the dataspace", where)) return LL_ERR_FORMAT;
    int r = H5Sget_simple_extent_ndims(s);
    ll_status st = LL_OK;
    if (r < 0 || r > max_rank || r > H5S_MAX_RANK)
        st = ll_fail(err, LL_ERR_FORMAT, "%s: %s: rank %d, expected at most %d", path, where, r, max_rank);
    else if (H5Sget_simple_extent_dims(s, dims, NULL) < 0)
        st = ll_h5_fail_(err, LL_ERR_FORMAT, path, "H5Sget_simple_extent_dims", __FILE__, __LINE__,
                         "%s: cannot read the dimensions", where);
    else
        *rank = r;
    H5Sclose(s);
    return st;
}

ll_status ll_h5_open_read(const char *path, hid_t *out, ll_error *err) {
    ll_h5_init();
    *out = -1;
    struct stat sb;
    if (stat(path, &sb) != 0) return ll_fail(err, LL_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return ll_fail(err, LL_ERR_IO, "%s: is a directory, not a file", path);
    if (access(path, R_OK) != 0) return ll_fail(err, LL_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    htri_t is = H5Fis_hdf5(path);
    if (is == 0) return ll_fail(err, LL_ERR_FORMAT, "%s: not an HDF5 file", path);
    if (is < 0) return ll_h5_fail_(err, LL_ERR_FORMAT, path, "H5Fis_hdf5", __FILE__, __LINE__, "not a readable HDF5 file");
    hid_t fapl, f;
    if (LL_H5_CHECK(fapl = ll_h5_fapl(), err, LL_ERR_INTERNAL, path, "cannot make a file access list")) return LL_ERR_INTERNAL;
    ll_status st = LL_H5_CHECK(f = H5Fopen(path, H5F_ACC_RDONLY, fapl), err, LL_ERR_FORMAT, path,
                               "cannot open as HDF5 (truncated or corrupt?)");
    H5Pclose(fapl);
    if (st != LL_OK) return st;
    *out = f;
    return LL_OK;
}

ll_status ll_h5_check_not_busy(const char *path, ll_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return LL_OK;  // absent (or unreadable: H5Fcreate reports that)
    // HDF5 locks its files with flock(2): exclusive for writers, shared for readers.
    int busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);  // also drops our lock, so HDF5 can take its own
    if (busy)
        return ll_fail(err, LL_ERR_IO, "%s: another process has the file open (a live run or capture writing it?); "
                       "not touching it", path);
    return LL_OK;
}

ll_status ll_h5_partial_path(const char *path, char *out, size_t len, ll_error *err) {
    if (!path || !path[0]) return ll_fail(err, LL_ERR_USAGE, "no output path given");
    int n = snprintf(out, len, "%s.partial", path);
    if (n < 0 || (size_t)n >= len) return ll_fail(err, LL_ERR_USAGE, "%s: path too long", path);
    return LL_OK;
}

void ll_h5_utc_now(char *buf, size_t len) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
