// test_files.h: helpers shared by the suites that test files and the CLI
// (capture, trace, synth, cli): a scratch folder per suite, whole-file
// reads, writes, copies and truncation, open file descriptors, small HDF5
// edits made straight through the HDF5 API (so damaged and foreign files
// are built without going through traces/), running the litelab binary
// with its stdout and stderr captured, and a fuzz driver that runs damaged
// copies of a file through a reader in a child process (a crash or a hang
// is reported with the case that caused it).
#pragma once
#include <dirent.h>
#include <hdf5.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rng.h"
#include "test_suites.h"

// ---------------------------------------------------------------------------
// Scratch folder and plain files

// Makes /tmp/litelab_<tag>_XXXXXX into dir; 0 on success.
static inline int tf_dir_make(char *dir, size_t len, const char *tag) {
    snprintf(dir, len, "/tmp/litelab_%s_XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

// Removes every file in dir (one level) and dir itself; 0 on success.
static inline int tf_dir_remove(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) rmdir(p);
        else unlink(p);
    }
    closedir(d);
    return rmdir(dir);
}

static inline void tf_path(char *out, size_t len, const char *dir, const char *name) {
    snprintf(out, len, "%s/%s", dir, name);
}

static inline int tf_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

static inline long tf_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static inline int tf_write_bytes(const char *path, const void *buf, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(buf, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static inline int tf_write_text(const char *path, const char *text) { return tf_write_bytes(path, text, strlen(text)); }

// The whole file, malloc'd and NUL-terminated (*n its size); NULL if unreadable.
static inline char *tf_read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = size >= 0 ? malloc((size_t)size + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[size] = '\0';
        if (n) *n = (size_t)size;
    }
    return buf;
}

static inline int tf_copy(const char *src, const char *dst) {
    size_t n;
    char *buf = tf_read_all(src, &n);
    if (!buf) return -1;
    int r = tf_write_bytes(dst, buf, n);
    free(buf);
    return r;
}

// Whether the file holds needle (text files).
static inline int tf_contains(const char *path, const char *needle) {
    char *buf = tf_read_all(path, NULL);
    int r = buf && strstr(buf, needle) != NULL;
    free(buf);
    return r;
}

// Open file descriptors of this process (to catch handle leaks).
static inline int tf_open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n - 3;  // ".", ".." and the descriptor of d itself
}

// ---------------------------------------------------------------------------
// HDF5 edits, through the HDF5 API only

// HDF5 prints its error stack by default; the suites make failures on purpose.
static inline void tf_h5_quiet(void) {
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

// Opens an existing file for writing. A writer that was killed leaves its
// file marked "open for write", which HDF5 then refuses; the property
// h5clear uses lets the suites damage such partial files too.
static inline hid_t tf_h5_open_rw(const char *path) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    hbool_t clear = 1;
    H5E_BEGIN_TRY { H5Pset(fapl, "clear_status_flags", &clear); }
    H5E_END_TRY;
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, fapl);
    H5Pclose(fapl);
    return f;
}

// A foreign HDF5 file: valid HDF5 with unrelated content (a group, a double
// dataset, a string attribute), no 'format' attribute.
static inline int tf_h5_foreign(const char *path) {
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return -1;
    hsize_t dims[2] = {4, 5};
    double data[20];
    for (int i = 0; i < 20; i++) data[i] = i * 0.5;
    hid_t g = H5Gcreate2(f, "experiment", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(g, "data", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    hid_t t = H5Tcopy(H5T_C_S1), as = H5Screate(H5S_SCALAR);
    H5Tset_size(t, 16);
    hid_t a = H5Acreate2(f, "title", t, as, H5P_DEFAULT, H5P_DEFAULT);
    char title[16] = "someone's data";
    if (r >= 0) r = H5Awrite(a, t, title);
    H5Aclose(a);
    H5Sclose(as);
    H5Tclose(t);
    H5Dclose(d);
    H5Sclose(s);
    H5Gclose(g);
    return H5Fclose(f) < 0 || r < 0 || g < 0 || d < 0 ? -1 : 0;
}

// Replaces attribute `name` of object `obj` ("/" for the root) with a string.
static inline int tf_h5_set_str(const char *path, const char *obj, const char *name, const char *value) {
    hid_t f = tf_h5_open_rw(path);
    if (f < 0) return -1;
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (o >= 0 && H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
    H5Tset_size(t, strlen(value) + 1);
    hid_t a = o >= 0 ? H5Acreate2(o, name, t, s, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t r = a >= 0 ? H5Awrite(a, t, value) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    if (o >= 0) H5Oclose(o);
    return H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}

// Replaces attribute `name` of `obj` with n int32 values (scalar when n == 1).
static inline int tf_h5_set_ints(const char *path, const char *obj, const char *name, const int32_t *v, int n) {
    hid_t f = tf_h5_open_rw(path);
    if (f < 0) return -1;
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    if (o >= 0 && H5Aexists(o, name) > 0) H5Adelete(o, name);
    hsize_t dims[1] = {(hsize_t)n};
    hid_t s = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL);
    hid_t a = o >= 0 ? H5Acreate2(o, name, H5T_STD_I32LE, s, H5P_DEFAULT, H5P_DEFAULT) : -1;
    herr_t r = a >= 0 ? H5Awrite(a, H5T_NATIVE_INT32, v) : -1;
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    if (o >= 0) H5Oclose(o);
    return H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}

static inline int tf_h5_set_int(const char *path, const char *obj, const char *name, int32_t v) {
    return tf_h5_set_ints(path, obj, name, &v, 1);
}

// Deletes the link `name` (a dataset or group path).
static inline int tf_h5_delete(const char *path, const char *name) {
    hid_t f = tf_h5_open_rw(path);
    if (f < 0) return -1;
    herr_t r = H5Ldelete(f, name, H5P_DEFAULT);
    return H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}

// Deletes attribute `name` of object `obj`.
static inline int tf_h5_delete_attr(const char *path, const char *obj, const char *name) {
    hid_t f = tf_h5_open_rw(path);
    if (f < 0) return -1;
    herr_t r = H5Adelete_by_name(f, obj, name, H5P_DEFAULT);
    return H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}

// Writes one element of dataset `name` at coords (rank entries) from memory
// type mtype; the dataset's filters and checksums stay consistent.
static inline int tf_h5_poke(const char *path, const char *name, const hsize_t *coords, hid_t mtype,
                             const void *value) {
    hid_t f = tf_h5_open_rw(path);
    if (f < 0) return -1;
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    hid_t fs = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t one[1] = {1};
    hid_t ms = H5Screate_simple(1, one, NULL);
    herr_t r = fs >= 0 ? H5Sselect_elements(fs, H5S_SELECT_SET, 1, coords) : -1;
    if (r >= 0) r = H5Dwrite(d, mtype, ms, fs, H5P_DEFAULT, value);
    H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    if (d >= 0) H5Dclose(d);
    return H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}

// Replaces dataset `name` with a zero-filled one of file type ftype and the
// given dims (a string attribute 'dtype' = dtype_attr is added when not NULL).
static inline int tf_h5_replace(const char *path, const char *name, hid_t ftype, int rank, const hsize_t *dims,
                                const char *dtype_attr) {
    hid_t f = tf_h5_open_rw(path);
    if (f < 0) return -1;
    if (H5Lexists(f, name, H5P_DEFAULT) > 0) H5Ldelete(f, name, H5P_DEFAULT);
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t r = d >= 0 ? 0 : -1;
    if (d >= 0 && dtype_attr) {
        hid_t t = H5Tcopy(H5T_C_S1), as = H5Screate(H5S_SCALAR);
        H5Tset_size(t, strlen(dtype_attr) + 1);
        hid_t a = H5Acreate2(d, "dtype", t, as, H5P_DEFAULT, H5P_DEFAULT);
        r = a >= 0 ? H5Awrite(a, t, dtype_attr) : -1;
        if (a >= 0) H5Aclose(a);
        H5Sclose(as);
        H5Tclose(t);
    }
    if (d >= 0) H5Dclose(d);
    H5Sclose(s);
    return H5Fclose(f) < 0 || r < 0 ? -1 : 0;
}

// HDF5 identifiers of files still open in this process (0 when nothing leaked).
static inline long tf_h5_open_files(void) { return (long)H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE); }

// ---------------------------------------------------------------------------
// The CLI

// Runs LITELAB with args (NULL-terminated); stdout to out_path, stderr to
// err_path. Returns the exit code, or -1 when it did not exit normally
// (-1 - signal number when killed by a signal).
static inline int tf_run_cli(const char *const *args, const char *out_path, const char *err_path) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen(out_path, "w", stdout) || !freopen(err_path, "w", stderr)) _exit(127);
        const char *argv[40];
        int n = 0;
        argv[n++] = LITELAB;
        for (int i = 0; args[i] && n < 39; i++) argv[n++] = args[i];
        argv[n] = NULL;
        execv(LITELAB, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? -1 - WTERMSIG(status) : -1;
}

// ---------------------------------------------------------------------------
// Child processes and fuzzing a reader

// First call in a forked child that runs library code: libgomp's worker
// threads do not exist in a child, and a parallel region of more than one
// thread would wait for them forever; one thread never touches them.
static inline void tf_child_setup(void) { omp_set_num_threads(1); }

// Opens one damaged file with the readers under test: 1 when they accepted
// it, 0 when they refused it cleanly (an error status with a message naming
// the file), -1 when something is wrong (why filled).
typedef int (*tf_fuzz_check)(const char *path, char *why, size_t len);

typedef struct {
    int cases;      // cases finished
    int accepted;   // the readers took the damaged copy as valid
    int rejected;   // refused cleanly
    int bad;        // check returned -1
    int current;    // the case being run (names the case a crash or hang hit)
    char what[256]; // how the current case was damaged
    char why[768];  // the first bad case's reason
} tf_fuzz_result;

// One damaged copy of src[0..n) into dst; returns its length. Kinds: byte
// flips anywhere, flips in the first 4 KiB (superblock and root object
// header), truncation, zeroed blocks, and zeroed blocks plus flips.
static inline size_t tf_mutate(const char *src, size_t n, char *dst, ll_rng *rng, char *what, size_t wlen) {
    memcpy(dst, src, n);
    int kind = ll_rng_int(rng, 0, 4);
    size_t len = n;
    if (kind == 2) {
        len = (size_t)ll_rng_int(rng, 0, (int)n - 1);
        snprintf(what, wlen, "truncated to %zu of %zu bytes", len, n);
        return len;
    }
    if (kind == 3 || kind == 4) {
        size_t blk = (size_t)ll_rng_int(rng, 1, 1024), off = (size_t)ll_rng_int(rng, 0, (int)n - 1);
        if (off + blk > n) blk = n - off;
        memset(dst + off, 0, blk);
        snprintf(what, wlen, "zeroed %zu bytes at %zu", blk, off);
        if (kind == 3) return len;
    }
    int flips = ll_rng_int(rng, 1, 8);
    size_t limit = kind == 1 && n > 4096 ? 4096 : n;
    size_t used = kind == 4 ? strlen(what) : 0;
    used += (size_t)snprintf(what + used, wlen - used, "%sflipped bytes at", kind == 4 ? ", " : "");
    for (int i = 0; i < flips && used < wlen; i++) {
        size_t at = (size_t)ll_rng_int(rng, 0, (int)limit - 1);
        dst[at] ^= (char)ll_rng_int(rng, 1, 255);
        used += (size_t)snprintf(what + used, wlen - used, " %zu", at);
    }
    return len;
}

// Runs `cases` damaged copies of `valid` (written to `scratch`) through
// check in a child process, so a crash or a hang is reported with the case
// that caused it instead of ending the suite. The hang guard is per case
// (alarm after timeout_s of one case), so a slow machine or a sanitizer
// build, which make every case slower, does not read as a hang.
// Returns the child's wait status; *res holds the counts and the first bad case.
static inline int tf_fuzz(const char *valid, const char *scratch, int cases, uint64_t seed, int timeout_s,
                          tf_fuzz_check check, tf_fuzz_result *res) {
    memset(res, 0, sizeof *res);
    size_t n;
    char *src = tf_read_all(valid, &n);
    if (!src || n < 2) {
        free(src);
        snprintf(res->why, sizeof res->why, "%s: cannot read the valid file", valid);
        return -1;
    }
    tf_fuzz_result *shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        free(src);
        return -1;
    }
    memset(shared, 0, sizeof *shared);
    shared->current = -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        tf_child_setup();
        char *buf = malloc(n);
        ll_rng rng;
        ll_rng_seed(&rng, seed);
        for (int i = 0; buf && i < cases; i++) {
            shared->current = i;
            alarm((unsigned)timeout_s);
            size_t len = tf_mutate(src, n, buf, &rng, shared->what, sizeof shared->what);
            char why[768] = "";
            int r = tf_write_bytes(scratch, buf, len) == 0 ? check(scratch, why, sizeof why) : -1;
            if (r > 0) shared->accepted++;
            else if (r == 0) shared->rejected++;
            else if (!shared->bad++) snprintf(shared->why, sizeof shared->why, "case %d (%s): %s", i, shared->what, why);
            shared->cases++;
        }
        alarm(0);
        free(buf);
        _exit(0);
    }
    int status = -1;
    if (pid > 0) waitpid(pid, &status, 0);
    *res = *shared;
    munmap(shared, sizeof *shared);
    free(src);
    return status;
}
