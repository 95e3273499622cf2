// trace_compare.c: two traces' results side by side (trace_compare.h).
#include "trace_compare.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "h5_util.h"
#include "trace_schema.h"

typedef struct {
    FILE *report;
    long n;
    int max;
} diffs;

__attribute__((format(printf, 2, 3))) static void differ(diffs *d, const char *fmt, ...) {
    if (++d->n > d->max || !d->report) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->report, fmt, ap);
    va_end(ap);
    fputc('\n', d->report);
}

// Bit for bit, NaN equal to NaN.
static int same_double(double x, double y) { return (isnan(x) && isnan(y)) || !memcmp(&x, &y, sizeof x); }

static void compare_meta(const ll_trace_meta *a, const ll_trace_meta *b, const char *ja, const char *jb, diffs *d) {
#define STR(f) \
    if (strcmp(a->f, b->f)) differ(d, "%s: '%s' vs '%s'", #f, a->f, b->f)
#define INT(f) \
    if (a->f != b->f) differ(d, "%s: %d vs %d", #f, (int)a->f, (int)b->f)
    STR(experiment);
    STR(trajectory);
    STR(backend);
    STR(kernel);
    INT(shape.B);
    INT(shape.N);
    INT(shape.H);
    INT(shape.D);
    INT(shape.dtype);
    INT(steps);
    INT(layers);
    INT(frames);
    INT(height);
    INT(width);
    INT(tiling.block_m);
    INT(tiling.block_n);
    INT(encoding);
    INT(steps_done);
    INT(complete);
#undef STR
#undef INT
    if (!same_double(a->softmax_scale, b->softmax_scale))
        differ(d, "softmax_scale: %.9g vs %.9g", a->softmax_scale, b->softmax_scale);
    if (strcmp(ja ? ja : "", jb ? jb : "")) differ(d, "config_json: the experiment files differ");
}

static void compare_policies(const ll_trace_policy *a, int na, const ll_trace_policy *b, int nb, diffs *d) {
    if (na != nb) differ(d, "policies: %d vs %d", na, nb);
    for (int i = 0; i < na && i < nb; i++)
        if (strcmp(a[i].name, b[i].name) || strcmp(a[i].kind, b[i].kind) || strcmp(a[i].params_json, b[i].params_json))
            differ(d, "policy %d: '%s' (%s, %s) vs '%s' (%s, %s)", i, a[i].name, a[i].kind, a[i].params_json, b[i].name,
                   b[i].kind, b[i].params_json);
}

static void compare_rows(const ll_trace_call *a, size_t na, const ll_trace_call *b, size_t nb, int ignore_timings,
                         diffs *d) {
    if (na != nb) differ(d, "rows: %zu vs %zu", na, nb);
    for (size_t i = 0; i < na && i < nb; i++) {
        const ll_trace_call *x = &a[i], *y = &b[i];
        char at[96];
        snprintf(at, sizeof at, "row %zu (policy %d, step %d, layer %d, head %d)", i, x->policy, x->step, x->layer,
                 x->head);
#define INT(f) \
    if (x->f != y->f) differ(d, "%s: %s %lld vs %lld", at, #f, (long long)x->f, (long long)y->f)
#define FLT(f) \
    if (!same_double(x->f, y->f)) differ(d, "%s: %s %.17g vs %.17g", at, #f, (double)x->f, (double)y->f)
        INT(policy);
        INT(step);
        INT(layer);
        INT(head);
        INT(n_kernels);
        INT(tiles_total);
        INT(tiles_kept);
        INT(flops_dense);
        INT(flops_executed);
        FLT(threshold);
        if (!ignore_timings) {
            FLT(gpu_ms);
            FLT(host_ms);
        }
        FLT(tensor_work_ratio);
        FLT(rel_l2);
        FLT(max_abs);
        FLT(cosine);
        FLT(worst_row_rel_l2);
        FLT(skipped_mass);
#undef INT
#undef FLT
    }
}

// ---------------------------------------------------------------------------
// Masks, maps and checkpoints: the dataset paths of each trace, then their
// contents.

typedef struct {
    char **items;
    int n, cap;
} path_list;

static ll_status add_path(path_list *l, const char *p, ll_error *err) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **items = realloc(l->items, sizeof(char *) * (size_t)cap);
        if (!items) return ll_fail(err, LL_ERR_NOMEM, "out of memory");
        l->items = items;
        l->cap = cap;
    }
    if (!(l->items[l->n] = strdup(p))) return ll_fail(err, LL_ERR_NOMEM, "out of memory");
    l->n++;
    return LL_OK;
}

static void free_paths(path_list *l) {
    for (int i = 0; i < l->n; i++) free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Member names of group `path` (sorted by HDF5's name index).
static ll_status members(hid_t f, const char *path, const char *file, path_list *out, ll_error *err) {
    hid_t g;
    if (LL_H5_CHECK(g = H5Gopen2(f, path, H5P_DEFAULT), err, LL_ERR_FORMAT, file, "cannot open %s", path))
        return LL_ERR_FORMAT;
    H5G_info_t info;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(H5Gget_info(g, &info), err, LL_ERR_FORMAT, file, "cannot list %s", path)) st = LL_ERR_FORMAT;
    for (hsize_t i = 0; st == LL_OK && i < info.nlinks; i++) {
        char name[256];
        if (LL_H5_CHECK(H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT), err,
                        LL_ERR_FORMAT, file, "cannot list %s", path))
            st = LL_ERR_FORMAT;
        else
            st = add_path(out, name, err);
    }
    H5Gclose(g);
    return st;
}

static ll_status object_paths(ll_trace_reader *r, const ll_trace_policy *pol, path_list *out, ll_error *err) {
    int *t = NULL, n = 0;
    char p[512];
    LL_TRY(ll_trace_list_masks(r, &t, &n, err));
    ll_status st = LL_OK;
    for (int i = 0; st == LL_OK && i < n; i++) {
        snprintf(p, sizeof p, "/masks/%s/s%d_l%d", pol[t[3 * i]].name, t[3 * i + 1], t[3 * i + 2]);
        st = add_path(out, p, err);
    }
    free(t);
    if (st == LL_OK) st = ll_trace_list_maps(r, &t, &n, err);
    for (int i = 0; st == LL_OK && i < n; i++) {
        snprintf(p, sizeof p, "/maps/s%d_l%d/max_log2", t[2 * i], t[2 * i + 1]);
        st = add_path(out, p, err);
        snprintf(p, sizeof p, "/maps/s%d_l%d/mass", t[2 * i], t[2 * i + 1]);
        if (st == LL_OK) st = add_path(out, p, err);
    }
    free(t);
    path_list groups = {0};
    hid_t f = ll_trace_reader_file(r);
    if (st == LL_OK) st = members(f, "/state", ll_trace_reader_path(r), &groups, err);
    for (int i = 0; st == LL_OK && i < groups.n; i++) {
        path_list layers = {0};
        snprintf(p, sizeof p, "/state/%s", groups.items[i]);
        st = members(f, p, ll_trace_reader_path(r), &layers, err);
        for (int j = 0; st == LL_OK && j < layers.n; j++) {
            snprintf(p, sizeof p, "/state/%s/%s", groups.items[i], layers.items[j]);
            st = add_path(out, p, err);
        }
        free_paths(&layers);
    }
    free_paths(&groups);
    if (st == LL_OK && out->n) qsort(out->items, (size_t)out->n, sizeof(char *), cmp_str);
    return st;
}

// A whole dataset in its native type; *bytes malloc'd.
static ll_status read_all(hid_t f, const char *file, const char *path, int *rank, hsize_t *dims, void **bytes,
                          size_t *size, ll_error *err) {
    hid_t d = -1, ft = -1, mt = -1;
    *bytes = NULL;
    ll_status st = LL_OK;
    if (LL_H5_CHECK(d = H5Dopen2(f, path, H5P_DEFAULT), err, LL_ERR_FORMAT, file, "cannot open %s", path) ||
        LL_H5_CHECK(ft = H5Dget_type(d), err, LL_ERR_FORMAT, file, "%s: no type", path) ||
        LL_H5_CHECK(mt = H5Tget_native_type(ft, H5T_DIR_ASCEND), err, LL_ERR_FORMAT, file, "%s: no native type", path))
        st = LL_ERR_FORMAT;
    if (st == LL_OK) st = ll_h5_dims(d, H5S_MAX_RANK, rank, dims, file, path, err);
    if (st == LL_OK) {
        size_t n = H5Tget_size(mt);
        for (int i = 0; i < *rank; i++) n *= (size_t)dims[i];
        *size = n;
        if (!(*bytes = malloc(n ? n : 1))) st = ll_fail(err, LL_ERR_NOMEM, "%s: out of memory for %s", file, path);
    }
    if (st == LL_OK && LL_H5_CHECK(H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, *bytes), err, LL_ERR_FORMAT, file,
                                   "cannot read %s (corrupt file?)", path))
        st = LL_ERR_FORMAT;
    ll_h5_close(&mt);
    ll_h5_close(&ft);
    ll_h5_close(&d);
    if (st != LL_OK) {
        free(*bytes);
        *bytes = NULL;
    }
    return st;
}

static ll_status compare_object(hid_t fa, const char *na, hid_t fb, const char *nb, const char *path, diffs *d,
                                ll_error *err) {
    int ra, rb;
    hsize_t da[H5S_MAX_RANK], db[H5S_MAX_RANK];
    void *a = NULL, *b = NULL;
    size_t sa, sb;
    ll_status st = read_all(fa, na, path, &ra, da, &a, &sa, err);
    if (st == LL_OK) st = read_all(fb, nb, path, &rb, db, &b, &sb, err);
    if (st == LL_OK) {
        if (ra != rb || memcmp(da, db, sizeof(hsize_t) * (size_t)ra) || sa != sb) differ(d, "%s: different dimensions", path);
        else if (memcmp(a, b, sa)) differ(d, "%s: different contents", path);
    }
    if (st == LL_OK && !strncmp(path, "/state/", 7)) {
        int64_t sla[2], slb[2];
        hid_t oa = H5Dopen2(fa, path, H5P_DEFAULT), ob = H5Dopen2(fb, path, H5P_DEFAULT);
        st = ll_h5_get_int_array(oa, "slot_steps", 2, -1, INT32_MAX, sla, na, path, err);
        if (st == LL_OK) st = ll_h5_get_int_array(ob, "slot_steps", 2, -1, INT32_MAX, slb, nb, path, err);
        if (st == LL_OK && (sla[0] != slb[0] || sla[1] != slb[1]))
            differ(d, "%s: slots hold steps (%lld, %lld) vs (%lld, %lld)", path, (long long)sla[0], (long long)sla[1],
                   (long long)slb[0], (long long)slb[1]);
        ll_h5_close(&oa);
        ll_h5_close(&ob);
    }
    free(a);
    free(b);
    return st;
}

static ll_status compare_objects(ll_trace_reader *ra, const ll_trace_policy *pa, ll_trace_reader *rb,
                                 const ll_trace_policy *pb, diffs *d, ll_error *err) {
    path_list a = {0}, b = {0};
    ll_status st = object_paths(ra, pa, &a, err);
    if (st == LL_OK) st = object_paths(rb, pb, &b, err);
    int i = 0, j = 0;
    while (st == LL_OK && (i < a.n || j < b.n)) {
        int c = i >= a.n ? 1 : j >= b.n ? -1 : strcmp(a.items[i], b.items[j]);
        if (c < 0) {
            differ(d, "%s: only in the first trace", a.items[i++]);
        } else if (c > 0) {
            differ(d, "%s: only in the second trace", b.items[j++]);
        } else {
            st = compare_object(ll_trace_reader_file(ra), ll_trace_reader_path(ra), ll_trace_reader_file(rb),
                                ll_trace_reader_path(rb), a.items[i], d, err);
            i++;
            j++;
        }
    }
    free_paths(&a);
    free_paths(&b);
    return st;
}

ll_status ll_trace_compare(const char *a, const char *b, const ll_trace_compare_options *o, FILE *report,
                           long *n_diff, ll_error *err) {
    *n_diff = 0;
    diffs d = {report, 0, o && o->max_report > 0 ? o->max_report : 20};
    ll_trace_reader *ra = NULL, *rb = NULL;
    ll_trace_meta ma, mb;
    ll_trace_policy *pa = NULL, *pb = NULL;
    int npa = 0, npb = 0;
    ll_trace_call *ca = NULL, *cb = NULL;
    size_t nca = 0, ncb = 0;
    ll_status st = ll_trace_open(a, 1, &ra, &ma, err);
    if (st == LL_OK) st = ll_trace_open(b, 1, &rb, &mb, err);
    if (st == LL_OK) compare_meta(&ma, &mb, ll_trace_config_json(ra), ll_trace_config_json(rb), &d);
    if (st == LL_OK) st = ll_trace_read_policies(ra, &pa, &npa, err);
    if (st == LL_OK) st = ll_trace_read_policies(rb, &pb, &npb, err);
    if (st == LL_OK) compare_policies(pa, npa, pb, npb, &d);
    if (st == LL_OK) st = ll_trace_read_calls(ra, &ca, &nca, err);
    if (st == LL_OK) st = ll_trace_read_calls(rb, &cb, &ncb, err);
    if (st == LL_OK) compare_rows(ca, nca, cb, ncb, o && o->ignore_timings, &d);
    // Objects are named by policy: compare them only where the policies agree.
    if (st == LL_OK && npa == npb) st = compare_objects(ra, pa, rb, pb, &d, err);
    if (st == LL_OK && d.n > d.max && report) fprintf(report, "... %ld differences in all\n", d.n);
    free(ca);
    free(cb);
    free(pa);
    free(pb);
    ll_trace_close(ra);
    ll_trace_close(rb);
    *n_diff = d.n;
    return st;
}
