// trace_schema.h: the trace format in code (private to traces/): the
// compound types of /policies and /calls, the root attributes, the checks
// every row and the metadata must pass, and the object names. Shared by the
// writer, the reader and the validator so the three cannot drift apart;
// traces/FORMAT.md is the same schema in prose.
#pragma once
#include <hdf5.h>
#include <stdint.h>

#include "trace.h"

// Chunk target for masks, maps and checkpoints, rows per /calls chunk.
enum { LL_TRACE_CHUNK_BYTES = 1 << 20, LL_TRACE_CALLS_CHUNK = 1024, LL_TRACE_GZIP = 1 };

// Compound types: memory (the C structs) and file (packed little-endian).
typedef struct {
    hid_t calls_mem, calls_file;
    hid_t policies_mem, policies_file;
} ll_trace_types;

// All four built (or all -1 with err filled).
ll_status ll_trace_types_make(ll_trace_types *t, const char *path, ll_error *err);
void ll_trace_types_free(ll_trace_types *t);

// Checks that a file compound type holds every field the memory type needs,
// each of a compatible class (integers, floats, strings). which: "/calls"
// or "/policies". Problems go to report (one line each, may be NULL); the
// first one is also in err. Returns the number of problems.
int ll_trace_check_fields(hid_t file_type, const char *which, const char *path, FILE *report, ll_error *err);

// Input checks of the writer (LL_ERR_INVALID): shape, tiling, steps, layers,
// encoding, scale; policies: 1..., names unique, usable as HDF5 names.
ll_status ll_trace_check_meta(const ll_trace_meta *m, const char *path, ll_error *err);
ll_status ll_trace_check_policies(const ll_trace_policy *p, int n, const char *path, ll_error *err);

// Root attributes. write: everything incl. provenance (toolkit version, git
// commit, creation time), complete = 0, steps_done = 0, calls_done = 0.
ll_status ll_trace_write_meta(hid_t f, const ll_trace_meta *m, const char *path, ll_error *err);
// read: checks format name, version, presence and type of each attribute and
// their consistency; LL_ERR_FORMAT otherwise. config_json is left NULL.
ll_status ll_trace_read_meta(hid_t f, const char *path, ll_trace_meta *m, uint64_t *calls_done, ll_error *err);

// Why a row is out of range for the trace ("" and 1 when fine; 0 with the
// reason otherwise): policy, step (< steps_done), layer, head, tile and
// FLOP counts consistent with the shape and tiling, errors in range.
int ll_trace_call_ok(const ll_trace_call *c, const ll_trace_meta *m, int n_policies, char *why, size_t len);

// Object names: "s<step>_l<layer>" and "l<layer>"; parse returns 1 on an
// exact match of the pattern with non-negative numbers.
void ll_trace_step_layer_name(int step, int layer, char *out, size_t len);
int ll_trace_parse_step_layer(const char *name, int *step, int *layer);
int ll_trace_parse_layer(const char *name, int *layer);

// Rows of a mask dataset in bytes: ceil(k_tiles / 8).
static inline int ll_trace_mask_bytes(int k_tiles) { return (k_tiles + 7) / 8; }

// For the validator: the reader's file and its table readers without the
// per-row checks (so every bad row can be listed).
hid_t ll_trace_reader_file(ll_trace_reader *r);
// For additions kept in files of their own (trace_shard.c, trace_merge.c):
// the writer's open file and the path it writes (the .partial).
hid_t ll_trace_writer_file(ll_trace_writer *w);
const char *ll_trace_writer_partial(ll_trace_writer *w);
const char *ll_trace_reader_path(ll_trace_reader *r);
ll_status ll_trace_read_calls_raw(ll_trace_reader *r, ll_trace_call **out, size_t *n, ll_error *err);
