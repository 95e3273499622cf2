// trace_shard.c: shard provenance as root attributes of a trace
// (trace_shard.h, traces/FORMAT.md 4.9).
#include "trace_shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h5_util.h"
#include "trace_schema.h"

ll_status ll_trace_write_shard(ll_trace_writer *w, const ll_trace_shard *s, ll_error *err) {
    hid_t f = ll_trace_writer_file(w);
    const char *path = ll_trace_writer_partial(w);
    char text[64];
    snprintf(text, sizeof text, "%d/%d", s->index, s->count);
    int32_t *units = malloc(sizeof(int32_t) * (size_t)(s->n_units > 0 ? s->n_units : 1));
    if (!units) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < s->n_units; i++) units[i] = s->units[i];
    ll_status st = LL_OK;
    if (LL_H5_CHECK(ll_h5_put_str(f, "shard", text), err, LL_ERR_IO, path, "cannot write the shard attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "shard_index", s->index), err, LL_ERR_IO, path, "cannot write the shard attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "shard_count", s->count), err, LL_ERR_IO, path, "cannot write the shard attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "shard_layers_per_unit", s->layers_per_unit), err, LL_ERR_IO, path,
                    "cannot write the shard attributes") ||
        LL_H5_CHECK(ll_h5_put_i32(f, "shard_n_units", s->n_units), err, LL_ERR_IO, path,
                    "cannot write the shard attributes") ||
        (s->n_units > 0 && LL_H5_CHECK(ll_h5_put_i32_array(f, "shard_units", units, s->n_units), err, LL_ERR_IO, path,
                                       "cannot write the shard attributes")) ||
        LL_H5_CHECK(H5Fflush(f, H5F_SCOPE_GLOBAL), err, LL_ERR_IO, path, "cannot write"))
        st = LL_ERR_IO;
    free(units);
    return st;
}

void ll_trace_shard_free(ll_trace_shard *s) {
    if (!s) return;
    free(s->units);
    memset(s, 0, sizeof *s);
}

static ll_status read_shard(hid_t f, const char *path, ll_trace_shard *s, int *present, ll_error *err) {
    memset(s, 0, sizeof *s);
    *present = H5Aexists(f, "shard_index") > 0;
    if (!*present) return LL_OK;
    int64_t index, count, lpu, n;
    LL_TRY(ll_h5_get_int(f, "shard_count", 1, 100000, &count, path, "/", err));
    LL_TRY(ll_h5_get_int(f, "shard_index", 0, count - 1, &index, path, "/", err));
    LL_TRY(ll_h5_get_int(f, "shard_layers_per_unit", 1, 1 << 20, &lpu, path, "/", err));
    LL_TRY(ll_h5_get_int(f, "shard_n_units", 0, INT32_MAX, &n, path, "/", err));
    int64_t *units = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    s->units = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!units || !s->units) {
        free(units);
        ll_trace_shard_free(s);
        return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for %lld shard units", path, (long long)n);
    }
    ll_status st = n > 0 ? ll_h5_get_int_array(f, "shard_units", (int)n, 0, INT32_MAX, units, path, "/", err) : LL_OK;
    for (int64_t i = 0; st == LL_OK && i < n; i++) {
        if (i > 0 && units[i] <= units[i - 1])
            st = ll_fail(err, LL_ERR_FORMAT, "%s: attribute shard_units is not increasing (%lld after %lld)", path,
                         (long long)units[i], (long long)units[i - 1]);
        s->units[i] = (int)units[i];
    }
    free(units);
    if (st != LL_OK) {
        ll_trace_shard_free(s);
        return st;
    }
    s->index = (int)index;
    s->count = (int)count;
    s->layers_per_unit = (int)lpu;
    s->n_units = (int)n;
    return LL_OK;
}

ll_status ll_trace_read_shard(ll_trace_reader *r, ll_trace_shard *s, int *present, ll_error *err) {
    return read_shard(ll_trace_reader_file(r), ll_trace_reader_path(r), s, present, err);
}

ll_status ll_trace_writer_read_shard(ll_trace_writer *w, ll_trace_shard *s, int *present, ll_error *err) {
    return read_shard(ll_trace_writer_file(w), ll_trace_writer_partial(w), s, present, err);
}

int ll_trace_format_units(const int *units, int n, char *buf, size_t len) {
    if (len < 4) return 0;
    size_t used = 0;  // invariant: used + 4 <= len, room for "..." and the NUL
    buf[0] = '\0';
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && units[j + 1] == units[j] + 1) j++;
        char part[40];
        if (j > i) snprintf(part, sizeof part, "%s%d-%d", i ? "," : "", units[i], units[j]);
        else snprintf(part, sizeof part, "%s%d", i ? "," : "", units[i]);
        size_t pl = strlen(part);
        if (used + pl + 4 > len) {
            memcpy(buf + used, "...", 4);
            return 0;
        }
        memcpy(buf + used, part, pl + 1);
        used += pl;
        i = j + 1;
    }
    return 1;
}
