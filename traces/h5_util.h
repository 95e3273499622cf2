// h5_util.h: HDF5 helpers shared by the capture and trace code (private to
// traces/). One error style: every HDF5 call whose failure matters goes
// through LL_H5_CHECK, which records the file path, what we were doing,
// HDF5's own innermost error message, the call and where it was made:
//
//   run.h5: cannot open dataset /q: object 'q' doesn't exist
//       [H5Dopen2(f, "q", H5P_DEFAULT) at traces/capture.c:210]
//
// Attribute readers check presence, type class and size, so a foreign or
// damaged file gives a message naming the attribute, never a crash.
#pragma once
#include <hdf5.h>
#include <stdint.h>

#include "common.h"

// Silences HDF5's automatic error-stack printing (we report errors
// ourselves). Cheap; every public entry point calls it.
void ll_h5_init(void);

// The innermost (most specific) message of HDF5's current error stack, ""
// when the stack is empty.
void ll_h5_last_message(char *buf, size_t len);

ll_status ll_h5_fail_(ll_error *err, ll_status code, const char *path, const char *call, const char *file, int line,
                      const char *fmt, ...) __attribute__((format(printf, 7, 8)));

// Evaluates an HDF5 call (hid_t or herr_t: negative means failure). LL_OK
// (0) on success, else fills err ("<path>: <what>: <HDF5 message> [call at
// file:line]") and returns code. Usage:
//   if (LL_H5_CHECK(d = H5Dopen2(f, "q", H5P_DEFAULT), err, LL_ERR_FORMAT, path, "cannot open /q")) goto fail;
#define LL_H5_CHECK(call, err, code, path, ...) \
    (((int64_t)(call)) < 0 ? ll_h5_fail_((err), (code), (path), #call, __FILE__, __LINE__, __VA_ARGS__) : LL_OK)

// Closes any HDF5 identifier (file, group, dataset, type, space, attribute,
// property list) if valid; keeps no error. Sets *id to -1.
void ll_h5_close(hid_t *id);

// File access list for every litelab file: the HDF5 1.10 format (metadata
// checksums, so most corruption is detected rather than misread), strong
// close (closing the file closes what is left open), and files a killed
// writer left marked "open for write" can still be opened (h5_util.c).
hid_t ll_h5_fapl(void);

// Writing attributes (fixed-length ASCII strings, little-endian integers and
// floats). They return a negative value on failure, for LL_H5_CHECK.
herr_t ll_h5_put_str(hid_t obj, const char *name, const char *value);
herr_t ll_h5_put_i32(hid_t obj, const char *name, int32_t value);
herr_t ll_h5_put_i64(hid_t obj, const char *name, int64_t value);
herr_t ll_h5_put_u64(hid_t obj, const char *name, uint64_t value);
herr_t ll_h5_put_f32(hid_t obj, const char *name, float value);
herr_t ll_h5_put_i32_array(hid_t obj, const char *name, const int32_t *values, int n);

// Reading attributes with checks. `path` and `where` (e.g. "/" or "/q")
// name the object in messages. Missing or wrongly typed: LL_ERR_FORMAT.
// Strings: fixed or variable length (files written by h5py use the latter);
// longer than len-1: LL_ERR_FORMAT.
ll_status ll_h5_get_str(hid_t obj, const char *name, char *buf, size_t len, const char *path, const char *where,
                        ll_error *err);
// Any integer type, scalar or one element; out of [lo, hi]: LL_ERR_FORMAT.
ll_status ll_h5_get_int(hid_t obj, const char *name, int64_t lo, int64_t hi, int64_t *out, const char *path,
                        const char *where, ll_error *err);
ll_status ll_h5_get_u64(hid_t obj, const char *name, uint64_t *out, const char *path, const char *where,
                        ll_error *err);
// Any float type, scalar or one element; must be finite.
ll_status ll_h5_get_float(hid_t obj, const char *name, double *out, const char *path, const char *where,
                          ll_error *err);
// Integer array of exactly n elements, each in [lo, hi].
ll_status ll_h5_get_int_array(hid_t obj, const char *name, int n, int64_t lo, int64_t hi, int64_t *out,
                              const char *path, const char *where, ll_error *err);

// Whether a link exists (path relative to loc, one level). 1 yes, 0 no.
int ll_h5_exists(hid_t loc, const char *name);

// Dataset creation list: chunked with the given chunk dims, shuffle + gzip
// level `gzip` (0: none) and the Fletcher-32 checksum (corrupt chunks are
// reported on read instead of returned).
hid_t ll_h5_dcpl(int rank, const hsize_t *chunk, int shuffle, int gzip);

// The rank and dims of a dataset (rank <= max_rank); LL_ERR_FORMAT otherwise.
ll_status ll_h5_dims(hid_t dset, int max_rank, int *rank, hsize_t *dims, const char *path, const char *where,
                     ll_error *err);

// Opens the file read-only after checking it exists, is readable and is
// HDF5 (LL_ERR_IO for missing/unreadable, LL_ERR_FORMAT for not HDF5 or
// unopenable). Returns the file id in *out.
ll_status ll_h5_open_read(const char *path, hid_t *out, ll_error *err);

// Refuses (LL_ERR_IO) when `path` exists and another process holds HDF5's
// file lock on it, i.e. a live writer. Call it before H5Fcreate(..,
// H5F_ACC_TRUNC, ..): HDF5 truncates the file before it tries the lock, so
// without this a second writer would wipe a live writer's file and then fail.
ll_status ll_h5_check_not_busy(const char *path, ll_error *err);

// "<path>.partial" into out; LL_ERR_USAGE when it does not fit.
ll_status ll_h5_partial_path(const char *path, char *out, size_t len, ll_error *err);

// Current UTC time as "YYYY-MM-DDTHH:MM:SSZ".
void ll_h5_utc_now(char *buf, size_t len);
