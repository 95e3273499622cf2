// trace_merge.c: the traces of a sharded run joined into one (trace_merge.h).
//
// All checks come first (every shard opened, compared with the first,
// coverage of the units, every row, mask, map and checkpoint owned by its
// shard); only then is OUT written: the rows through the trace writer (so
// they pass its checks), masks, maps and checkpoints copied with H5Ocopy,
// which moves their compressed chunks as they are, checksums included (a
// damaged chunk stays detectable by every reader, and nothing is
// recompressed, so merging costs little more than copying the files).
#include "trace_merge.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "h5_util.h"
#include "shard.h"
#include "trace_schema.h"
#include "trace_shard.h"

typedef struct {
    const char *path;
    ll_trace_reader *r;
    ll_trace_meta meta;
    ll_trace_shard shard;
    ll_trace_policy *policies;
    int n_policies;
    int *masks, n_masks;  // (policy, step, layer) triples
    int *maps, n_maps;    // (step, layer) pairs
} shard_in;

typedef struct {
    shard_in *in;
    int n;
    int n_policies, layers, groups, lpu;
    int n_units;
    int *owner;  // per unit: the shard (index into in) holding it, -1 none
} merge_ctx;

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void free_ctx(merge_ctx *m) {
    for (int i = 0; m->in && i < m->n; i++) {
        ll_trace_close(m->in[i].r);
        ll_trace_shard_free(&m->in[i].shard);
        free(m->in[i].policies);
        free(m->in[i].masks);
        free(m->in[i].maps);
    }
    free(m->in);
    free(m->owner);
}

// "u (policy, layers a-b)" for up to a few units of a list, into buf.
static void describe_units(const merge_ctx *m, const int *units, int n, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && used + 1 < len; i++) {
        if (i == 8) {
            snprintf(buf + used, len - used, ", ... (%d in all)", n);
            return;
        }
        int p = units[i] / m->groups, g = units[i] % m->groups;
        int lo = g * m->lpu, hi = lo + m->lpu - 1 < m->layers - 1 ? lo + m->lpu - 1 : m->layers - 1;
        int w = snprintf(buf + used, len - used, "%s%d (%s, layer%s %d%s%.0d)", i ? ", " : "", units[i],
                         m->in[0].policies[p].name, hi > lo ? "s" : "", lo, hi > lo ? "-" : "", hi > lo ? hi : 0);
        if (w < 0) return;
        used += (size_t)w;
    }
}

// Opens one shard and reads what the checks need.
static ll_status open_shard(shard_in *s, ll_error *err) {
    size_t n = strlen(s->path);
    int is_partial = n > 8 && !strcmp(s->path + n - 8, ".partial");
    char partial[PATH_MAX + 16];
    snprintf(partial, sizeof partial, "%s.partial", s->path);
    if (!is_partial && !file_exists(s->path) && file_exists(partial))
        return ll_fail(err, LL_ERR_USAGE,
                       "%s: missing, but %s exists: that shard did not finish; rerun it with the same --shard and "
                       "--resume, then merge",
                       s->path, partial);
    LL_TRY(ll_trace_open(s->path, 1, &s->r, &s->meta, err));
    int present;
    LL_TRY(ll_trace_read_shard(s->r, &s->shard, &present, err));
    if (!present)
        return ll_fail(err, LL_ERR_USAGE, "%s: not a shard's trace (no shard provenance: written without --shard)",
                       s->path);
    if (!s->meta.complete || is_partial)
        return ll_fail(err, LL_ERR_USAGE,
                       "%s: shard %d/%d is incomplete (%d of %d steps durable): rerun it with --shard %d/%d --resume, "
                       "then merge its finished trace",
                       s->path, s->shard.index, s->shard.count, s->meta.steps_done, s->meta.steps, s->shard.index,
                       s->shard.count);
    LL_TRY(ll_trace_read_policies(s->r, &s->policies, &s->n_policies, err));
    LL_TRY(ll_trace_list_masks(s->r, &s->masks, &s->n_masks, err));
    return ll_trace_list_maps(s->r, &s->maps, &s->n_maps, err);
}

// Everything that must agree between a shard and the first one: what
// differs, with details, into what/detail ("" when they agree).
static void experiment_difference(const shard_in *a, const shard_in *b, char *what, size_t wl, char *detail,
                                  size_t dl) {
    const ll_trace_meta *x = &a->meta, *y = &b->meta;
    what[0] = detail[0] = '\0';
    if (strcmp(ll_trace_config_json(a->r), ll_trace_config_json(b->r))) {
        snprintf(what, wl, "the experiment file (config_json)");
    } else if (strcmp(x->trajectory, y->trajectory)) {
        snprintf(what, wl, "the trajectory");
        snprintf(detail, dl, ": '%s' vs '%s'", y->trajectory, x->trajectory);
    } else if (strcmp(x->toolkit_version, y->toolkit_version) || strcmp(x->git_commit, y->git_commit)) {
        snprintf(what, wl, "the litelab version");
        snprintf(detail, dl, ": %s (%s) vs %s (%s)", y->toolkit_version, y->git_commit, x->toolkit_version,
                 x->git_commit);
    } else if (strcmp(x->backend, y->backend) || strcmp(x->kernel, y->kernel)) {
        snprintf(what, wl, "the backend or kernel");
        snprintf(detail, dl, ": %s %s vs %s %s", y->backend, y->kernel, x->backend, x->kernel);
    } else if (memcmp(&x->shape, &y->shape, sizeof x->shape) || x->steps != y->steps || x->layers != y->layers ||
               x->tiling.block_m != y->tiling.block_m || x->tiling.block_n != y->tiling.block_n ||
               x->encoding != y->encoding || x->frames != y->frames || x->height != y->height ||
               x->width != y->width || x->softmax_scale != y->softmax_scale) {
        snprintf(what, wl, "the shape, tiling, steps or layers");
    } else if (a->shard.count != b->shard.count || a->shard.layers_per_unit != b->shard.layers_per_unit) {
        snprintf(what, wl, "the sharding");
        snprintf(detail, dl, ": %d shards of %d layers per unit vs %d of %d", b->shard.count,
                 b->shard.layers_per_unit, a->shard.count, a->shard.layers_per_unit);
    } else if (a->n_policies != b->n_policies) {
        snprintf(what, wl, "the policies");
    } else {
        for (int i = 0; i < a->n_policies; i++)
            if (strcmp(a->policies[i].name, b->policies[i].name) || strcmp(a->policies[i].kind, b->policies[i].kind) ||
                strcmp(a->policies[i].params_json, b->policies[i].params_json)) {
                snprintf(what, wl, "the policies");
                snprintf(detail, dl, ": policy %d is '%s', in the first '%s'", i, b->policies[i].name,
                         a->policies[i].name);
                break;
            }
    }
}

static ll_status check_same_experiment(const shard_in *a, const shard_in *b, ll_error *err) {
    char what[64], detail[640];
    experiment_difference(a, b, what, sizeof what, detail, sizeof detail);
    if (what[0])
        return ll_fail(err, LL_ERR_USAGE, "%s: not a shard of the same run as %s: %s differs%s", b->path, a->path, what,
                       detail);
    return LL_OK;
}

// Every unit held by exactly one shard, and each shard index given once.
static ll_status check_coverage(merge_ctx *m, ll_error *err) {
    int count = m->in[0].shard.count;
    int *seen = calloc((size_t)count, sizeof(int));
    int *missing = malloc(sizeof(int) * (size_t)m->n_units);
    if (!seen || !missing) {
        free(seen);
        free(missing);
        return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    }
    ll_status st = LL_OK;
    for (int i = 0; st == LL_OK && i < m->n; i++) {
        const shard_in *s = &m->in[i];
        if (seen[s->shard.index])
            st = ll_fail(err, LL_ERR_USAGE, "%s and %s are both shard %d/%d", m->in[seen[s->shard.index] - 1].path,
                         s->path, s->shard.index, count);
        seen[s->shard.index] = i + 1;
        for (int k = 0; st == LL_OK && k < s->shard.n_units; k++) {
            int u = s->shard.units[k];
            if (u >= m->n_units)
                st = ll_fail(err, LL_ERR_FORMAT, "%s: unit %d does not exist (%d units)", s->path, u, m->n_units);
            else if (m->owner[u] >= 0) {
                char d[512];
                describe_units(m, &u, 1, d, sizeof d);
                st = ll_fail(err, LL_ERR_USAGE, "unit %s is in %s (shard %d/%d) and in %s (shard %d/%d): shards of "
                             "different plans?",
                             d, m->in[m->owner[u]].path, m->in[m->owner[u]].shard.index, count, s->path, s->shard.index,
                             count);
            } else
                m->owner[u] = i;
        }
    }
    int n_missing = 0;
    for (int u = 0; st == LL_OK && u < m->n_units; u++)
        if (m->owner[u] < 0) missing[n_missing++] = u;
    if (st == LL_OK && n_missing) {
        char shards[256] = "", units[1024];
        size_t used = 0;
        for (int i = 0, listed = 0; i < count && used + 16 < sizeof shards; i++)
            if (!seen[i]) used += (size_t)snprintf(shards + used, sizeof shards - used, "%s%d", listed++ ? ", " : "", i);
        describe_units(m, missing, n_missing, units, sizeof units);
        st = ll_fail(err, LL_ERR_USAGE, "incomplete: %d of %d work units are in no shard given: %s; shard%s %s of %d %s "
                     "missing",
                     n_missing, m->n_units, units, strchr(shards, ',') ? "s" : "", shards[0] ? shards : "(none)", count,
                     strchr(shards, ',') ? "are" : "is");
    }
    free(seen);
    free(missing);
    return st;
}

static int owns(const merge_ctx *m, int shard, int policy, int layer) {
    return m->owner[policy * m->groups + layer / m->lpu] == shard;
}

static int cmp_row(const void *pa, const void *pb) {
    const ll_trace_call *a = pa, *b = pb;
    if (a->step != b->step) return a->step < b->step ? -1 : 1;
    if (a->layer != b->layer) return a->layer < b->layer ? -1 : 1;
    if (a->policy != b->policy) return a->policy < b->policy ? -1 : 1;
    return a->head < b->head ? -1 : a->head > b->head;
}

// All shards' rows in an unsharded run's order (each checked to be its shard's).
static ll_status gather_rows(merge_ctx *m, ll_trace_call **out, size_t *n_out, ll_error *err) {
    ll_trace_call *all = NULL;
    size_t n = 0;
    ll_status st = LL_OK;
    for (int i = 0; st == LL_OK && i < m->n; i++) {
        ll_trace_call *rows;
        size_t k;
        if ((st = ll_trace_read_calls(m->in[i].r, &rows, &k, err)) != LL_OK) break;
        ll_trace_call *grown = realloc(all, sizeof *all * (n + k + 1));
        if (!grown) st = ll_fail(err, LL_ERR_NOMEM, "out of memory for %zu rows", n + k);
        for (size_t j = 0; st == LL_OK && j < k; j++)
            if (!owns(m, i, rows[j].policy, rows[j].layer))
                st = ll_fail(err, LL_ERR_FORMAT, "%s: a row of policy %s at layer %d, a unit this shard does not hold",
                             m->in[i].path, m->in[i].policies[rows[j].policy].name, rows[j].layer);
        if (st == LL_OK) {
            all = grown;
            if (k) memcpy(all + n, rows, sizeof *rows * k);  // an empty shard has no rows (rows NULL)
            n += k;
        } else if (grown) {
            all = grown;
        }
        free(rows);
    }
    if (st == LL_OK && n) qsort(all, n, sizeof *all, cmp_row);
    for (size_t j = 1; st == LL_OK && j < n; j++)
        if (!cmp_row(&all[j - 1], &all[j]))
            st = ll_fail(err, LL_ERR_FORMAT, "two shards hold a row of policy %d, step %d, layer %d, head %d",
                         all[j].policy, all[j].step, all[j].layer, all[j].head);
    if (st != LL_OK) {
        free(all);
        return st;
    }
    *out = all;
    *n_out = n;
    return LL_OK;
}

// Whether a link path ("state/p/l0") exists, each component checked in turn.
static int link_path_exists(hid_t f, const char *path) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *slash = strchr(buf, '/');; slash = strchr(slash + 1, '/')) {
        if (slash) *slash = '\0';
        if (H5Lexists(f, buf, H5P_DEFAULT) <= 0) return 0;
        if (!slash) return 1;
        *slash = '/';
    }
}

// Masks, maps and checkpoints: each owned by its shard, each map in one shard only.
static ll_status check_objects(merge_ctx *m, ll_error *err) {
    const ll_trace_meta *meta = &m->in[0].meta;
    int *map_seen = calloc((size_t)meta->steps * (size_t)meta->layers, sizeof(int));
    if (!map_seen) return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    ll_status st = LL_OK;
    for (int i = 0; st == LL_OK && i < m->n; i++) {
        const shard_in *s = &m->in[i];
        for (int k = 0; st == LL_OK && k < s->n_masks; k++)
            if (!owns(m, i, s->masks[3 * k], s->masks[3 * k + 2]))
                st = ll_fail(err, LL_ERR_FORMAT, "%s: a mask of policy %s at layer %d, a unit this shard does not hold",
                             s->path, s->policies[s->masks[3 * k]].name, s->masks[3 * k + 2]);
        for (int k = 0; st == LL_OK && k < s->n_maps; k++) {
            int *seen = &map_seen[(size_t)s->maps[2 * k] * meta->layers + s->maps[2 * k + 1]];
            if (*seen)
                st = ll_fail(err, LL_ERR_FORMAT, "%s and %s both hold the tile map of step %d layer %d",
                             m->in[*seen - 1].path, s->path, s->maps[2 * k], s->maps[2 * k + 1]);
            *seen = i + 1;
        }
        for (int p = 0; st == LL_OK && p < m->n_policies; p++)
            for (int l = 0; st == LL_OK && l < m->layers; l++) {
                char path[160];
                snprintf(path, sizeof path, "state/%s/l%d", s->policies[p].name, l);
                if (!owns(m, i, p, l) && link_path_exists(ll_trace_reader_file(s->r), path))
                    st = ll_fail(err, LL_ERR_FORMAT, "%s: a checkpoint /%s of a unit this shard does not hold", s->path,
                                 path);
            }
    }
    free(map_seen);
    return st;
}

// ---------------------------------------------------------------------------
// Writing

static ll_status copy_object(hid_t src, const char *src_path, hid_t dst, const char *name, hid_t lcpl,
                             const char *out, ll_error *err) {
    if (LL_H5_CHECK(H5Ocopy(src, name, dst, name, H5P_DEFAULT, lcpl), err, LL_ERR_IO, out,
                    "cannot copy /%s from %s (disk full?)", name, src_path))
        return LL_ERR_IO;
    return LL_OK;
}

// Each shard's masks, maps and checkpoints into the merged file.
static ll_status copy_objects(merge_ctx *m, ll_trace_writer *w, ll_error *err) {
    hid_t dst = ll_trace_writer_file(w), lcpl = H5Pcreate(H5P_LINK_CREATE);
    const char *out = ll_trace_writer_partial(w);
    if (LL_H5_CHECK(lcpl, err, LL_ERR_INTERNAL, out, "no link creation list") ||
        LL_H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1), err, LL_ERR_INTERNAL, out, "no link creation list")) {
        ll_h5_close(&lcpl);
        return LL_ERR_INTERNAL;
    }
    ll_status st = LL_OK;
    char name[256];
    for (int i = 0; st == LL_OK && i < m->n; i++) {
        const shard_in *s = &m->in[i];
        hid_t src = ll_trace_reader_file(s->r);
        for (int k = 0; st == LL_OK && k < s->n_masks; k++) {
            snprintf(name, sizeof name, "masks/%s/s%d_l%d", s->policies[s->masks[3 * k]].name, s->masks[3 * k + 1],
                     s->masks[3 * k + 2]);
            st = copy_object(src, s->path, dst, name, lcpl, out, err);
        }
        for (int k = 0; st == LL_OK && k < s->n_maps; k++) {
            snprintf(name, sizeof name, "maps/s%d_l%d", s->maps[2 * k], s->maps[2 * k + 1]);
            st = copy_object(src, s->path, dst, name, lcpl, out, err);
        }
        for (int p = 0; st == LL_OK && p < m->n_policies; p++)
            for (int l = 0; st == LL_OK && l < m->layers; l++) {
                snprintf(name, sizeof name, "state/%s/l%d", s->policies[p].name, l);
                if (owns(m, i, p, l) && link_path_exists(src, name))
                    st = copy_object(src, s->path, dst, name, lcpl, out, err);
            }
    }
    ll_h5_close(&lcpl);
    return st;
}

// The merged trace: the first shard's metadata, the shards' litelab version,
// every row step by step, then masks, maps and checkpoints.
static ll_status write_merged(merge_ctx *m, const char *out, const ll_trace_call *rows, size_t n_rows, FILE *log,
                              ll_error *err) {
    shard_in *first = &m->in[0];
    ll_trace_meta meta = first->meta;
    meta.config_json = ll_trace_config_json(first->r);
    ll_trace_writer *w;
    LL_TRY(ll_trace_create(out, &meta, first->policies, first->n_policies, &w, err));
    hid_t f = ll_trace_writer_file(w);
    const char *partial = ll_trace_writer_partial(w);
    char merged[96];
    snprintf(merged, sizeof merged, "%d shards (litelab merge)", first->shard.count);
    ll_status st = LL_OK;
    if (LL_H5_CHECK(ll_h5_put_str(f, "toolkit_version", first->meta.toolkit_version), err, LL_ERR_IO, partial,
                    "cannot write the provenance") ||
        LL_H5_CHECK(ll_h5_put_str(f, "git_commit", first->meta.git_commit), err, LL_ERR_IO, partial,
                    "cannot write the provenance") ||
        LL_H5_CHECK(ll_h5_put_str(f, "merged_from", merged), err, LL_ERR_IO, partial, "cannot write the provenance"))
        st = LL_ERR_IO;
    if (st == LL_OK) st = copy_objects(m, w, err);
    if (st == LL_OK && log) fprintf(log, "litelab merge: masks, maps and checkpoints copied\n");
    size_t j = 0;
    for (int step = 0; st == LL_OK && step < meta.steps; step++) {
        for (; st == LL_OK && j < n_rows && rows[j].step == step; j++) st = ll_trace_add_call(w, &rows[j], err);
        if (st == LL_OK) st = ll_trace_end_step(w, step, err);
    }
    if (st == LL_OK && j != n_rows)
        st = ll_fail(err, LL_ERR_FORMAT, "%s: rows beyond the trace's %d steps", out, meta.steps);
    if (st != LL_OK) {
        ll_trace_abandon(w);
        unlink(partial);
        return st;
    }
    return ll_trace_finish(w, err);
}

ll_status ll_trace_merge(const char *out, const char *const *shards, int n, int force, FILE *log, ll_error *err) {
    if (n < 1) return ll_fail(err, LL_ERR_USAGE, "merge: no shard traces given");
    for (int i = 0; i < n; i++)
        if (!strcmp(shards[i], out))
            return ll_fail(err, LL_ERR_USAGE, "%s: the output is also a shard given to merge", out);
    if (!force && file_exists(out))
        return ll_fail(err, LL_ERR_USAGE, "%s exists; give --force to replace it", out);
    merge_ctx m;
    memset(&m, 0, sizeof m);
    m.in = calloc((size_t)n, sizeof *m.in);
    if (!m.in) return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    m.n = n;
    ll_status st = LL_OK;
    for (int i = 0; st == LL_OK && i < n; i++) {
        m.in[i].path = shards[i];
        st = open_shard(&m.in[i], err);
        if (st == LL_OK && i > 0) st = check_same_experiment(&m.in[0], &m.in[i], err);
    }
    if (st == LL_OK) {
        m.n_policies = m.in[0].n_policies;
        m.layers = m.in[0].meta.layers;
        m.lpu = m.in[0].shard.layers_per_unit < m.layers ? m.in[0].shard.layers_per_unit : m.layers;
        m.groups = ll_shard_groups(m.layers, m.lpu);
        m.n_units = m.n_policies * m.groups;
        if (!(m.owner = malloc(sizeof(int) * (size_t)m.n_units))) st = ll_fail(err, LL_ERR_NOMEM, "out of memory");
        for (int u = 0; st == LL_OK && u < m.n_units; u++) m.owner[u] = -1;
    }
    for (int i = 0; st == LL_OK && i < n; i++)
        if (strcmp(m.in[i].meta.gpu_name, m.in[0].meta.gpu_name) && log)
            fprintf(log, "litelab merge: note: %s ran on '%s', %s on '%s' (the merged trace names the first)\n",
                    m.in[0].path, m.in[0].meta.gpu_name, m.in[i].path, m.in[i].meta.gpu_name);
    if (st == LL_OK) st = check_coverage(&m, err);
    if (st == LL_OK) st = check_objects(&m, err);
    ll_trace_call *rows = NULL;
    size_t n_rows = 0;
    if (st == LL_OK) st = gather_rows(&m, &rows, &n_rows, err);
    if (st == LL_OK && log)
        fprintf(log, "litelab merge: %d shards checked: %d work units, %zu rows\n", n, m.n_units, n_rows);
    if (st == LL_OK) st = write_merged(&m, out, rows, n_rows, log, err);
    free(rows);
    free_ctx(&m);
    return st;
}
