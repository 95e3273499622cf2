// trace_validate.c: `litelab validate` for traces (ll_trace_validate_file)
// and the format detection `info` and `validate` share. The reader already
// refuses what it cannot use; the validator goes further and lists every
// problem it finds instead of stopping at the first: all rows, every mask,
// map and checkpoint.
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "h5_util.h"
#include "trace.h"
#include "trace_schema.h"

enum { MAX_LISTED = 40 };  // problems printed one per line; the rest are counted

typedef struct {
    const char *path;
    FILE *report;
    long problems;
    char first[1024];
} checker;

static void problem(checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(checker *c, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!c->problems) snprintf(c->first, sizeof c->first, "%s", msg);
    if (c->report && c->problems < MAX_LISTED) fprintf(c->report, "  %s\n", msg);
    c->problems++;
}

ll_status ll_file_kind_detect(const char *path, ll_file_kind *kind, ll_error *err) {
    hid_t f;
    LL_TRY(ll_h5_open_read(path, &f, err));
    char format[64];
    ll_status st = LL_OK;
    if (H5Aexists(f, "format") <= 0)
        st = ll_fail(err, LL_ERR_FORMAT, "%s: an HDF5 file, but not a litelab trace or capture (no 'format' attribute)",
                     path);
    else if ((st = ll_h5_get_str(f, "format", format, sizeof format, path, "/", err)) != LL_OK)
        ;
    else if (!strcmp(format, LL_TRACE_FORMAT))
        *kind = LL_FILE_TRACE;
    else if (!strcmp(format, LL_CAPTURE_FORMAT))
        *kind = LL_FILE_CAPTURE;
    else
        st = ll_fail(err, LL_ERR_FORMAT, "%s: an HDF5 file of format '%s', not a litelab trace or capture", path,
                     format);
    ll_h5_close(&f);
    return st;
}

static int cmp_key(const void *a, const void *b) {
    const ll_trace_call *x = a, *y = b;
    if (x->policy != y->policy) return x->policy - y->policy;
    if (x->step != y->step) return x->step - y->step;
    if (x->layer != y->layer) return x->layer - y->layer;
    return x->head - y->head;
}

static void check_calls(checker *c, ll_trace_reader *r, const ll_trace_meta *m, int n_policies, size_t *n_rows) {
    ll_trace_call *rows;
    size_t n;
    ll_error e;
    *n_rows = 0;
    if (ll_trace_read_calls_raw(r, &rows, &n, &e) != LL_OK) {
        problem(c, "%s", e.msg);
        return;
    }
    *n_rows = n;
    char why[256];
    int prev_step = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ll_trace_call_ok(&rows[i], m, n_policies, why, sizeof why)) problem(c, "%s: /calls row %zu: %s", c->path, i, why);
        // Rows are written step by step, so their steps never go down.
        if (rows[i].step < prev_step)
            problem(c, "%s: /calls row %zu: step %d after step %d (rows out of step order)", c->path, i, rows[i].step,
                    prev_step);
        else
            prev_step = rows[i].step;
    }
    if (n) qsort(rows, n, sizeof *rows, cmp_key);  // a trace with no rows yet has rows == NULL
    for (size_t i = 1; i < n; i++)
        if (!cmp_key(&rows[i - 1], &rows[i]))
            problem(c, "%s: /calls: two rows for policy %d step %d layer %d head %d", c->path, rows[i].policy,
                    rows[i].step, rows[i].layer, rows[i].head);
    free(rows);
}

static void check_masks(checker *c, ll_trace_reader *r, const ll_trace_meta *m, int *n_masks) {
    int *t = NULL, n = 0;
    ll_error e;
    *n_masks = 0;
    if (ll_trace_list_masks(r, &t, &n, &e) != LL_OK) {
        problem(c, "%s", e.msg);
        return;
    }
    *n_masks = n;
    for (int i = 0; i < n; i++) {
        ll_skip_mask mask = {0};
        if (ll_trace_read_mask(r, t[3 * i], t[3 * i + 1], t[3 * i + 2], &mask, &e) != LL_OK) problem(c, "%s", e.msg);
        ll_skip_mask_free(&mask);
    }
    (void)m;
    free(t);
}

static void check_maps(checker *c, ll_trace_reader *r, int *n_maps) {
    int *p = NULL, n = 0;
    ll_error e;
    *n_maps = 0;
    if (ll_trace_list_maps(r, &p, &n, &e) != LL_OK) {
        problem(c, "%s", e.msg);
        return;
    }
    *n_maps = n;
    for (int i = 0; i < n; i++) {
        ll_tile_map map = {0};
        if (ll_trace_read_map(r, p[2 * i], p[2 * i + 1], &map, &e) != LL_OK) {
            problem(c, "%s", e.msg);
            continue;
        }
        size_t cells = (size_t)map.B * map.H * map.q_tiles * map.k_tiles, bad_max = 0, bad_mass = 0;
        for (size_t j = 0; j < cells; j++) {
            // max_log2 <= 0 (relative to the row maximum), mass in [0, 1]; a
            // little slack for float rounding.
            bad_max += !(map.max_log2[j] <= 1e-3f);
            bad_mass += !(map.mass[j] >= 0 && map.mass[j] <= 1.001f);
        }
        if (bad_max || bad_mass)
            problem(c, "%s: /maps/s%d_l%d: %zu max_log2 values above 0 or NaN, %zu mass values outside [0, 1]", c->path,
                    p[2 * i], p[2 * i + 1], bad_max, bad_mass);
        ll_tile_map_free(&map);
    }
    free(p);
}

// One checkpoint dataset: dims, slot labels, and the durable slot's lists.
static void check_checkpoint(checker *c, hid_t d, const char *where, const ll_trace_meta *m) {
    ll_error e;
    int rank;
    hsize_t dims[H5S_MAX_RANK];
    int qts = ll_q_tiles(&m->shape, &m->tiling), kts = ll_k_tiles(&m->shape, &m->tiling);
    if (ll_h5_dims(d, H5S_MAX_RANK, &rank, dims, c->path, where, &e) != LL_OK) {
        problem(c, "%s", e.msg);
        return;
    }
    if (rank != 5 || dims[0] != 2 || dims[1] != (hsize_t)m->shape.B || dims[2] != (hsize_t)m->shape.H ||
        dims[3] != (hsize_t)qts || dims[4] != (hsize_t)ll_skip_list_row_len(kts)) {
        problem(c, "%s: %s does not have the dimensions [2, %d, %d, %d, %d]", c->path, where, m->shape.B, m->shape.H, qts,
                ll_skip_list_row_len(kts));
        return;
    }
    int64_t slots[2];
    char enc[32];
    ll_list_encoding encoding;
    if (ll_h5_get_int_array(d, "slot_steps", 2, -1, m->steps_done, slots, c->path, where, &e) != LL_OK ||
        ll_h5_get_str(d, "encoding", enc, sizeof enc, c->path, where, &e) != LL_OK) {
        problem(c, "%s", e.msg);
        return;
    }
    if (ll_list_encoding_parse(enc, &encoding, NULL) != LL_OK) {
        problem(c, "%s: %s: unknown encoding '%s'", c->path, where, enc);
        return;
    }
    int want = m->steps_done - 1;
    for (int slot = 0; slot < 2; slot++) {
        if (slots[slot] != want || want < 0) continue;
        ll_skip_list l;
        if (ll_skip_list_alloc(&l, m->shape.B, m->shape.H, qts, kts, encoding, &e) != LL_OK) {
            problem(c, "%s", e.msg);
            return;
        }
        hsize_t start[5] = {(hsize_t)slot, 0, 0, 0, 0}, count[5] = {1, dims[1], dims[2], dims[3], dims[4]};
        hsize_t n[1] = {dims[1] * dims[2] * dims[3] * dims[4]};
        hid_t fs = H5Dget_space(d), ms = H5Screate_simple(1, n, NULL);
        if (fs < 0 || ms < 0 || H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(d, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, l.data) < 0) {
            char h5[256];
            ll_h5_last_message(h5, sizeof h5);
            problem(c, "%s: %s: cannot read slot %d: %s", c->path, where, slot, h5);
        } else if (ll_skip_list_validate(&l, where, &e) != LL_OK) {
            problem(c, "%s: %s", c->path, e.msg);
        }
        ll_h5_close(&fs);
        ll_h5_close(&ms);
        ll_skip_list_free(&l);
    }
}

static void check_state(checker *c, ll_trace_reader *r, const ll_trace_meta *m, const ll_trace_policy *pol, int np,
                        int *n_checkpoints) {
    hid_t f = ll_trace_reader_file(r), state = H5Gopen2(f, "state", H5P_DEFAULT);
    H5G_info_t info;
    *n_checkpoints = 0;
    if (state < 0 || H5Gget_info(state, &info) < 0) {
        problem(c, "%s: cannot list /state", c->path);
        ll_h5_close(&state);
        return;
    }
    for (hsize_t i = 0; i < info.nlinks; i++) {
        char name[256], where[600];
        if (H5Lget_name_by_idx(state, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0) {
            problem(c, "%s: cannot list /state", c->path);
            break;
        }
        int known = 0;
        for (int p = 0; p < np; p++) known |= !strcmp(pol[p].name, name);
        if (!known) {
            problem(c, "%s: /state/%s names no policy of the trace", c->path, name);
            continue;
        }
        hid_t g = H5Gopen2(state, name, H5P_DEFAULT);
        H5G_info_t gi;
        if (g < 0 || H5Gget_info(g, &gi) < 0) {
            problem(c, "%s: cannot open /state/%s", c->path, name);
            ll_h5_close(&g);
            continue;
        }
        for (hsize_t j = 0; j < gi.nlinks; j++) {
            char lname[64];
            int layer;
            if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, j, lname, sizeof lname, H5P_DEFAULT) < 0) continue;
            snprintf(where, sizeof where, "/state/%s/%s", name, lname);
            if (!ll_trace_parse_layer(lname, &layer) || layer >= m->layers) {
                problem(c, "%s: %s is not a checkpoint name l<layer> of this trace", c->path, where);
                continue;
            }
            hid_t d = H5Dopen2(g, lname, H5P_DEFAULT);
            if (d < 0) {
                problem(c, "%s: cannot open %s", c->path, where);
                continue;
            }
            check_checkpoint(c, d, where, m);
            (*n_checkpoints)++;
            ll_h5_close(&d);
        }
        ll_h5_close(&g);
    }
    ll_h5_close(&state);
}

ll_status ll_trace_validate_file(const char *path, int allow_partial, FILE *report, ll_error *err) {
    ll_trace_reader *r;
    ll_trace_meta m;
    ll_error e;
    ll_error_clear(&e);
    ll_status st = ll_trace_open(path, 1, &r, &m, &e);
    if (st != LL_OK) {
        if (report) fprintf(report, "%s: INVALID\n  %s\n", path, e.msg);
        return ll_fail(err, st, "%s", e.msg);
    }
    checker c = {.path = path, .report = report};
    ll_trace_policy *pol = NULL;
    int np = 0, n_masks = 0, n_maps = 0, n_checkpoints = 0;
    size_t n_rows = 0;
    if (ll_trace_read_policies(r, &pol, &np, &e) != LL_OK) problem(&c, "%s", e.msg);
    check_calls(&c, r, &m, np, &n_rows);
    check_masks(&c, r, &m, &n_masks);
    check_maps(&c, r, &n_maps);
    check_state(&c, r, &m, pol, np, &n_checkpoints);
    free(pol);
    ll_trace_close(r);
    if (c.problems) {
        if (report) {
            if (c.problems > MAX_LISTED) fprintf(report, "  ... and %ld more\n", c.problems - MAX_LISTED);
            fprintf(report, "%s: INVALID trace (%ld problem%s)\n", path, c.problems, c.problems > 1 ? "s" : "");
        }
        return ll_fail(err, LL_ERR_FORMAT, "%s: %ld problem%s; first: %s", path, c.problems, c.problems > 1 ? "s" : "",
                       c.first);
    }
    char summary[256];
    snprintf(summary, sizeof summary, "%d policies, %zu rows, %d masks, %d maps, %d checkpoints", np, n_rows, n_masks,
             n_maps, n_checkpoints);
    if (!m.complete) {
        if (report)
            fprintf(report, "%s: valid but INCOMPLETE trace (%d of %d steps durable; %s): a run that did not finish, "
                            "`litelab run --resume` continues it\n",
                    path, m.steps_done, m.steps, summary);
        if (!allow_partial)
            return ll_fail(err, LL_ERR_FORMAT, "%s: valid but incomplete trace (%d of %d steps durable)", path,
                           m.steps_done, m.steps);
        return LL_OK;
    }
    if (report)
        fprintf(report, "%s: OK (litelab trace v%d, complete, %d of %d steps; %s)\n", path, LL_TRACE_VERSION,
                m.steps_done, m.steps, summary);
    return LL_OK;
}
