// capture.h: the HDF5 capture format (traces/FORMAT.md): Q, K, V of every
// attention call of a denoising trajectory, per step and layer, with the
// model's shape metadata. Synthetic trajectories and captures of real models
// use the same format, so everything downstream reads either.
//
// Crash safety: the writer creates "<path>.partial", flushes after each
// finished step and renames to <path> only on ll_capture_close, which also
// sets the root attribute complete = 1. A reader refuses files without it
// unless asked to accept partial ones (then only finished steps are read).
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LL_CAPTURE_FORMAT "litelab-capture"
#define LL_CAPTURE_VERSION 1

typedef struct {
    char model[64];   // e.g. "synthetic-video-dit" or "Wan2.1-T2V-14B"
    char source[32];  // "synthetic" or "captured"
    ll_shape shape;   // B, N, H, D, dtype of every call
    int steps, layers;
    int frames, height, width;  // token grid (frames*height*width == N), 0 when unknown
    float softmax_scale;        // the model's scale (0: 1/sqrt(D))
    uint64_t seed;              // synthetic seed, 0 for captures
    int steps_written;          // filled by the reader: finished steps in the file
    int complete;               // filled by the reader
} ll_capture_meta;

typedef struct ll_capture_writer ll_capture_writer;
typedef struct ll_capture_reader ll_capture_reader;

ll_status ll_capture_create(const char *path, const ll_capture_meta *meta, ll_capture_writer **out,
                            ll_error *err);
// Steps must be written in order, each step's layers in order; a step is
// durable (flushed, counted in steps_written) once its last layer is written.
ll_status ll_capture_write(ll_capture_writer *w, int step, int layer, const uint16_t *q, const uint16_t *k,
                           const uint16_t *v, ll_error *err);
// Finishes: complete = 1, flush, rename <path>.partial -> <path>. Frees w.
ll_status ll_capture_close(ll_capture_writer *w, ll_error *err);
// Drops an unfinished capture (removes the .partial file). Frees w.
void ll_capture_abort(ll_capture_writer *w);

// Opens and validates (format name, version, attributes, dataset shapes and
// types). allow_partial: accept an incomplete file (reads finished steps only).
ll_status ll_capture_open(const char *path, int allow_partial, ll_capture_reader **out, ll_capture_meta *meta,
                          ll_error *err);
// Reads one (step, layer) into caller buffers of ll_shape_elems(shape) words each
// (any of q, k, v may be NULL). Checks for NaN/Inf when check_finite.
ll_status ll_capture_read(ll_capture_reader *r, int step, int layer, uint16_t *q, uint16_t *k, uint16_t *v,
                          int check_finite, ll_error *err);
void ll_capture_close_reader(ll_capture_reader *r);

// Checks a capture file against traces/FORMAT.md: attributes, dataset
// shapes and types, and that every written (step, layer) reads back (HDF5
// checksums) with finite words. Writes "OK" or the problems to report (may
// be NULL). LL_OK: valid and complete (or valid and partial when
// allow_partial); LL_ERR_FORMAT: problems, or a valid but incomplete file
// (its own message); LL_ERR_IO: missing or unreadable.
ll_status ll_capture_validate_file(const char *path, int allow_partial, FILE *report, ll_error *err);

#ifdef __cplusplus
}
#endif
