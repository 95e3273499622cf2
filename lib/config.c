// config.c: experiment files (see config.h for the schema). Parsing and
// validation only; nothing here opens a trajectory or touches a device.
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "tile_overrides.h"

// ---------------------------------------------------------------------------
// Typed JSON access

static const char *json_type_name(const cJSON *v) {
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    if (cJSON_IsObject(v)) return "an object";
    return "an unknown value";
}

ll_status ll_json_check_keys(const cJSON *obj, const char *const *allowed, const char *where, ll_error *err) {
    if (!cJSON_IsObject(obj)) return ll_fail(err, LL_ERR_USAGE, "%s: expected an object, got %s", where, json_type_name(obj));
    for (const cJSON *it = obj->child; it; it = it->next) {
        int known = 0;
        for (int i = 0; allowed[i]; i++)
            if (it->string && strcmp(it->string, allowed[i]) == 0) known = 1;
        if (!known) {
            char list[512] = "";
            for (int i = 0; allowed[i]; i++) {
                size_t len = strlen(list);
                snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", allowed[i]);
            }
            return ll_fail(err, LL_ERR_USAGE, "%s: unknown key '%s' (known keys: %s)", where,
                           it->string ? it->string : "?", list);
        }
        for (const cJSON *jt = it->next; jt; jt = jt->next)
            if (it->string && jt->string && strcmp(it->string, jt->string) == 0)
                return ll_fail(err, LL_ERR_USAGE, "%s: key '%s' appears twice", where, it->string);
    }
    return LL_OK;
}

static const cJSON *get_item(const cJSON *obj, const char *key, int required, const char *where, ll_status *st,
                             ll_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    *st = LL_OK;
    if (!v && required) *st = ll_fail(err, LL_ERR_USAGE, "%s: missing required key '%s'", where, key);
    return v;
}

ll_status ll_json_number(const cJSON *obj, const char *key, int required, const char *where, double *out,
                         ll_error *err) {
    ll_status st;
    const cJSON *v = get_item(obj, key, required, where, &st, err);
    if (!v) return st;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: expected a finite number, got %s", where, key, json_type_name(v));
    *out = v->valuedouble;
    return LL_OK;
}

ll_status ll_json_int(const cJSON *obj, const char *key, int required, int min, int max, const char *where,
                      int *out, ll_error *err) {
    ll_status st;
    const cJSON *v = get_item(obj, key, required, where, &st, err);
    if (!v) return st;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || !isfinite(v->valuedouble))
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: expected an integer, got %s", where, key,
                       cJSON_IsNumber(v) ? "a fractional number" : json_type_name(v));
    if (v->valuedouble < min || v->valuedouble > max)
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: %.17g is out of range [%d, %d]", where, key, v->valuedouble, min,
                       max);
    *out = (int)v->valuedouble;
    return LL_OK;
}

ll_status ll_json_bool(const cJSON *obj, const char *key, const char *where, int *out, ll_error *err) {
    ll_status st;
    const cJSON *v = get_item(obj, key, 0, where, &st, err);
    if (!v) return st;
    if (!cJSON_IsBool(v))
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: expected true or false, got %s", where, key, json_type_name(v));
    *out = cJSON_IsTrue(v);
    return LL_OK;
}

ll_status ll_json_string(const cJSON *obj, const char *key, int required, const char *where, char *out,
                         size_t len, ll_error *err) {
    ll_status st;
    const cJSON *v = get_item(obj, key, required, where, &st, err);
    if (!v) return st;
    if (!cJSON_IsString(v))
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: expected a string, got %s", where, key, json_type_name(v));
    if (strlen(v->valuestring) >= len)
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: string longer than %zu characters", where, key, len - 1);
    strcpy(out, v->valuestring);
    return LL_OK;
}

static ll_status threshold_value(const cJSON *v, const char *where, const char *key, float *out, ll_error *err) {
    if (cJSON_IsString(v) && strcmp(v->valuestring, "-inf") == 0) {
        *out = -INFINITY;
        return LL_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble > 0)
        return ll_fail(err, LL_ERR_USAGE,
                       "%s.%s: expected a threshold (a number <= 0 in log2 units, or \"-inf\"), got %s%s", where, key,
                       json_type_name(v), cJSON_IsNumber(v) && v->valuedouble > 0 ? " > 0" : "");
    *out = (float)v->valuedouble;
    return LL_OK;
}

ll_status ll_json_threshold(const cJSON *obj, const char *key, int required, const char *where, float *out,
                            ll_error *err) {
    ll_status st;
    const cJSON *v = get_item(obj, key, required, where, &st, err);
    if (!v) return st;
    return threshold_value(v, where, key, out, err);
}

ll_status ll_json_threshold_array(const cJSON *obj, const char *key, const char *where, float **out, int *n,
                                  ll_error *err) {
    ll_status st;
    const cJSON *v = get_item(obj, key, 1, where, &st, err);
    if (!v) return st;
    int len = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (len < 1)
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: expected a non-empty array of thresholds, got %s", where, key,
                       cJSON_IsArray(v) ? "an empty array" : json_type_name(v));
    float *t = malloc(sizeof(float) * (size_t)len);
    if (!t) return ll_fail(err, LL_ERR_NOMEM, "%s.%s: out of memory", where, key);
    int i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        char item_key[64];
        snprintf(item_key, sizeof item_key, "%s[%d]", key, i);
        if (threshold_value(it, where, item_key, &t[i], err) != LL_OK) {
            free(t);
            return LL_ERR_USAGE;
        }
    }
    *out = t;
    *n = len;
    return LL_OK;
}

// ---------------------------------------------------------------------------
// Index sets

int ll_index_set_has(const ll_index_set *s, int i) {
    if (s->all) return 1;
    for (int j = 0; j < s->n; j++)
        if (s->items[j] == i) return 1;
    return 0;
}

ll_status ll_index_set_check(const ll_index_set *s, int limit, const char *where, ll_error *err) {
    for (int j = 0; j < s->n; j++)
        if (s->items[j] >= limit)
            return ll_fail(err, LL_ERR_USAGE, "%s: index %d is beyond the trajectory (%d available)", where,
                           s->items[j], limit);
    return LL_OK;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

// "all" or an array of distinct non-negative integers.
static ll_status parse_index_set(const cJSON *obj, const char *key, const char *where, ll_index_set *out,
                                 ll_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    memset(out, 0, sizeof *out);
    if (!v) return LL_OK;
    if (cJSON_IsString(v) && strcmp(v->valuestring, "all") == 0) {
        out->all = 1;
        return LL_OK;
    }
    if (!cJSON_IsArray(v))
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: expected \"all\" or an array of indices, got %s", where, key,
                       json_type_name(v));
    int n = cJSON_GetArraySize(v);
    out->items = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!out->items) return ll_fail(err, LL_ERR_NOMEM, "%s.%s: out of memory", where, key);
    for (const cJSON *it = v->child; it; it = it->next) {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || it->valuedouble < 0 ||
            it->valuedouble > INT_MAX)
            return ll_fail(err, LL_ERR_USAGE, "%s.%s[%d]: expected a non-negative integer index", where, key, out->n);
        out->items[out->n++] = (int)it->valuedouble;
    }
    qsort(out->items, (size_t)out->n, sizeof(int), cmp_int);
    for (int i = 1; i < out->n; i++)
        if (out->items[i] == out->items[i - 1])
            return ll_fail(err, LL_ERR_USAGE, "%s.%s: index %d listed twice", where, key, out->items[i]);
    return LL_OK;
}

static void free_index_set(ll_index_set *s) {
    free(s->items);
    memset(s, 0, sizeof *s);
}

// ---------------------------------------------------------------------------
// Sections

static int seed_ok(const cJSON *v) {
    return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble == floor(v->valuedouble) &&
           v->valuedouble <= 9007199254740992.0;
}

// "seeds": [s, ...] instead of "seed": one trajectory per seed.
static ll_status parse_seeds(const cJSON *t, const char *where, ll_trajectory_spec *spec, ll_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, "seeds");
    if (!v) return LL_OK;
    if (cJSON_GetObjectItemCaseSensitive(t, "seed"))
        return ll_fail(err, LL_ERR_USAGE, "%s: give 'seed' or 'seeds', not both", where);
    int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
    if (n < 1 || n > LL_MAX_SEEDS)
        return ll_fail(err, LL_ERR_USAGE, "%s.seeds: expected an array of 1 to %d seeds", where, LL_MAX_SEEDS);
    int i = 0;
    for (const cJSON *it = v->child; it; it = it->next, i++) {
        if (!seed_ok(it))
            return ll_fail(err, LL_ERR_USAGE, "%s.seeds[%d]: expected a non-negative integer (at most 2^53)", where, i);
        spec->seeds[i] = (uint64_t)it->valuedouble;
        for (int j = 0; j < i; j++)
            if (spec->seeds[j] == spec->seeds[i])
                return ll_fail(err, LL_ERR_USAGE, "%s.seeds: seed %llu listed twice", where,
                               (unsigned long long)spec->seeds[i]);
    }
    spec->n_seeds = n;
    spec->seed = spec->seeds[0];
    return LL_OK;
}

static ll_status parse_trajectory(const cJSON *t, const char *file, ll_trajectory_spec *spec, ll_error *err) {
    char where[600];
    snprintf(where, sizeof where, "%s: trajectory", file);
    memset(spec, 0, sizeof *spec);
    spec->seed = spec->seeds[0] = 1;
    spec->n_seeds = 1;
    spec->dtype = -1;
    if (!t) {
        strcpy(spec->preset, "tiny");
        return LL_OK;
    }
    if (!cJSON_IsObject(t)) return ll_fail(err, LL_ERR_USAGE, "%s: expected an object, got %s", where, json_type_name(t));
    const cJSON *syn = cJSON_GetObjectItemCaseSensitive(t, "synthetic");
    const cJSON *cap = cJSON_GetObjectItemCaseSensitive(t, "capture");
    if ((syn != NULL) == (cap != NULL))
        return ll_fail(err, LL_ERR_USAGE, "%s: give exactly one of 'synthetic' (a preset name) or 'capture' (a file)",
                       where);
    if (syn) {
        static const char *const keys[] = {"synthetic", "seed",  "seeds",  "steps",  "layers", "batch",
                                           "heads",     "head_dim", "dtype", "frames", "height", "width", NULL};
        LL_TRY(ll_json_check_keys(t, keys, where, err));
        spec->source = LL_TRAJ_SYNTHETIC;
        LL_TRY(ll_json_string(t, "synthetic", 1, where, spec->preset, sizeof spec->preset, err));
        double seed = 1;
        LL_TRY(ll_json_number(t, "seed", 0, where, &seed, err));
        if (seed < 0 || seed != floor(seed) || seed > 9007199254740992.0)
            return ll_fail(err, LL_ERR_USAGE, "%s.seed: expected a non-negative integer (at most 2^53)", where);
        spec->seed = spec->seeds[0] = (uint64_t)seed;
        LL_TRY(parse_seeds(t, where, spec, err));
        LL_TRY(ll_json_int(t, "batch", 0, 1, 64, where, &spec->batch, err));
        LL_TRY(ll_json_int(t, "heads", 0, 1, 1024, where, &spec->heads, err));
        LL_TRY(ll_json_int(t, "head_dim", 0, 1, 1024, where, &spec->head_dim, err));
        LL_TRY(ll_json_int(t, "frames", 0, 1, 1 << 20, where, &spec->frames, err));
        LL_TRY(ll_json_int(t, "height", 0, 1, 1 << 20, where, &spec->height, err));
        LL_TRY(ll_json_int(t, "width", 0, 1, 1 << 20, where, &spec->width, err));
        char dtype[16] = "";
        LL_TRY(ll_json_string(t, "dtype", 0, where, dtype, sizeof dtype, err));
        if (dtype[0]) {
            ll_dtype d;
            if (ll_dtype_parse(dtype, &d, NULL) != LL_OK)
                return ll_fail(err, LL_ERR_USAGE, "%s.dtype: '%s' is not bf16 or fp16", where, dtype);
            spec->dtype = (int)d;
        }
    } else {
        static const char *const keys[] = {"capture", "steps", "layers", NULL};
        LL_TRY(ll_json_check_keys(t, keys, where, err));
        spec->source = LL_TRAJ_CAPTURE;
        LL_TRY(ll_json_string(t, "capture", 1, where, spec->capture_path, sizeof spec->capture_path, err));
        if (!spec->capture_path[0]) return ll_fail(err, LL_ERR_USAGE, "%s.capture: empty file name", where);
    }
    LL_TRY(ll_json_int(t, "steps", 0, 1, 1 << 20, where, &spec->steps, err));
    LL_TRY(ll_json_int(t, "layers", 0, 1, 1 << 20, where, &spec->layers, err));
    return LL_OK;
}

static ll_status parse_choice(const cJSON *root, const char *key, const char *file, const char *const *choices,
                              char *out, size_t len, ll_error *err) {
    char where[600];
    snprintf(where, sizeof where, "%s", file);
    LL_TRY(ll_json_string(root, key, 0, where, out, len, err));
    for (int i = 0; choices[i]; i++)
        if (strcmp(out, choices[i]) == 0) return LL_OK;
    char list[256] = "";
    for (int i = 0; choices[i]; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", choices[i]);
    }
    return ll_fail(err, LL_ERR_USAGE, "%s.%s: '%s' is not one of %s", file, key, out, list);
}

static ll_status parse_tiling(const cJSON *root, const char *file, ll_experiment_config *c, ll_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "tiling");
    c->tiling_mode = 0;
    if (!v) return LL_OK;
    char where[600];
    snprintf(where, sizeof where, "%s: tiling", file);
    if (cJSON_IsString(v)) {
        if (strcmp(v->valuestring, "auto") == 0) return LL_OK;
        if (strcmp(v->valuestring, "production") == 0) {
            c->tiling_mode = 1;
            return LL_OK;
        }
        return ll_fail(err, LL_ERR_USAGE, "%s: '%s' is not \"auto\", \"production\" or {\"block_m\", \"block_n\"}",
                       where, v->valuestring);
    }
    static const char *const keys[] = {"block_m", "block_n", NULL};
    LL_TRY(ll_json_check_keys(v, keys, where, err));
    LL_TRY(ll_json_int(v, "block_m", 1, 16, 512, where, &c->tiling.block_m, err));
    LL_TRY(ll_json_int(v, "block_n", 1, 16, 512, where, &c->tiling.block_n, err));
    ll_error e2;
    if (ll_tiling_validate(&c->tiling, &e2) != LL_OK) return ll_fail(err, LL_ERR_USAGE, "%s: %s", where, e2.msg);
    c->tiling_mode = 2;
    return LL_OK;
}

static ll_status parse_record(const cJSON *r, const char *file, ll_experiment_config *c, ll_error *err) {
    if (!r) return LL_OK;
    char where[600];
    snprintf(where, sizeof where, "%s: record", file);
    static const char *const keys[] = {"per_head", "masks", "tile_maps", NULL};
    LL_TRY(ll_json_check_keys(r, keys, where, err));
    LL_TRY(ll_json_bool(r, "per_head", where, &c->per_head, err));
    static const char *const sel_keys[] = {"steps", "layers", NULL};
    const char *names[2] = {"masks", "tile_maps"};
    ll_index_set *sets[2][2] = {{&c->mask_steps, &c->mask_layers}, {&c->map_steps, &c->map_layers}};
    for (int i = 0; i < 2; i++) {
        const cJSON *sel = cJSON_GetObjectItemCaseSensitive(r, names[i]);
        if (!sel) continue;
        char w2[700];
        snprintf(w2, sizeof w2, "%s.%s", where, names[i]);
        LL_TRY(ll_json_check_keys(sel, sel_keys, w2, err));
        if (!cJSON_GetObjectItemCaseSensitive(sel, "steps") || !cJSON_GetObjectItemCaseSensitive(sel, "layers"))
            return ll_fail(err, LL_ERR_USAGE, "%s: give both 'steps' and 'layers' (\"all\" or a list)", w2);
        LL_TRY(parse_index_set(sel, "steps", w2, sets[i][0], err));
        LL_TRY(parse_index_set(sel, "layers", w2, sets[i][1], err));
    }
    return LL_OK;
}

static ll_status parse_ranges_key(const cJSON *root, const char *key, const char *file, char *out, size_t len,
                                  ll_error *err) {
    LL_TRY(ll_json_string(root, key, 0, file, out, len, err));
    ll_token_range *r = NULL;
    int n = 0;
    ll_error e2;
    ll_error_clear(&e2);
    if (ll_token_ranges_parse(out, &r, &n, &e2) != LL_OK)
        return ll_fail(err, LL_ERR_USAGE, "%s.%s: %s", file, key, e2.msg);
    free(r);
    return LL_OK;
}

static ll_status parse_policies(const cJSON *root, const char *file, ll_experiment_config *c, ll_error *err) {
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "policies");
    if (!p) return ll_fail(err, LL_ERR_USAGE, "%s: missing required key 'policies' (an array of policies)", file);
    int n = cJSON_IsArray(p) ? cJSON_GetArraySize(p) : 0;
    if (n < 1)
        return ll_fail(err, LL_ERR_USAGE, "%s.policies: expected a non-empty array of policies, got %s", file,
                       cJSON_IsArray(p) ? "an empty array" : json_type_name(p));
    c->policies = calloc((size_t)n, sizeof *c->policies);
    c->policy_where = calloc((size_t)n, sizeof *c->policy_where);
    if (!c->policies || !c->policy_where) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", file);
    int i = 0;
    for (const cJSON *it = p->child; it; it = it->next, i++) {
        char where[700];
        snprintf(where, sizeof where, "%s: policies[%d]", file, i);
        LL_TRY(ll_policy_check(it, where, err));
        const char *name = cJSON_GetObjectItemCaseSensitive(it, "name")->valuestring;
        for (int j = 0; j < i; j++)
            if (strcmp(cJSON_GetObjectItemCaseSensitive(c->policies[j], "name")->valuestring, name) == 0)
                return ll_fail(err, LL_ERR_USAGE, "%s.name: '%s' is already the name of policies[%d]", where, name, j);
        c->policies[i] = it;
        snprintf(c->policy_where[i], sizeof c->policy_where[i], "policies[%d] (%s)", i, name);
        c->n_policies = i + 1;
    }
    return LL_OK;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static ll_status parse_root(ll_experiment_config *c, ll_error *err) {
    const char *path = c->path;
    const cJSON *root = c->root;
    // Top-level keys read "x.json: experiment.key: ..."; sections name themselves.
    char file[600];
    snprintf(file, sizeof file, "%s: experiment", path);
    static const char *const keys[] = {"name",     "description", "trajectory",   "backend",   "kernel",
                                       "tiling",   "encoding",    "softmax_scale", "threads",   "must_do",
                                       "must_skip", "skipped_mass", "counters",    "flop_rate_tflops",
                                       "output",   "record",      "policies",     NULL};
    if (!cJSON_IsObject(root))
        return ll_fail(err, LL_ERR_USAGE, "%s: the experiment must be a JSON object, got %s", path,
                       json_type_name(root));
    LL_TRY(ll_json_check_keys(root, keys, file, err));

    // name defaults to the file name without its extension
    snprintf(c->name, sizeof c->name, "%.63s", base_name(path));
    char *dot = strrchr(c->name, '.');
    if (dot && dot != c->name) *dot = '\0';
    LL_TRY(ll_json_string(root, "name", 0, file, c->name, sizeof c->name, err));
    if (!c->name[0]) return ll_fail(err, LL_ERR_USAGE, "%s.name: empty", file);
    LL_TRY(ll_json_string(root, "description", 0, file, c->description, sizeof c->description, err));
    LL_TRY(parse_trajectory(cJSON_GetObjectItemCaseSensitive(root, "trajectory"), path, &c->trajectory, err));

    static const char *const backends[] = {"auto", "cpu", "cuda", NULL};
    static const char *const kernels[] = {"auto", "portable", "hopper", NULL};
    static const char *const encodings[] = {"exclusive", "production", NULL};
    strcpy(c->backend, "auto");
    strcpy(c->kernel, "auto");
    char enc[16] = "exclusive";
    LL_TRY(parse_choice(root, "backend", file, backends, c->backend, sizeof c->backend, err));
    LL_TRY(parse_choice(root, "kernel", file, kernels, c->kernel, sizeof c->kernel, err));
    LL_TRY(parse_choice(root, "encoding", file, encodings, enc, sizeof enc, err));
    c->encoding = strcmp(enc, "production") == 0 ? LL_END_INCLUSIVE_PRODUCTION : LL_END_EXCLUSIVE;
    LL_TRY(parse_tiling(root, path, c, err));

    double scale = 0;
    LL_TRY(ll_json_number(root, "softmax_scale", 0, file, &scale, err));
    if (scale < 0) return ll_fail(err, LL_ERR_USAGE, "%s.softmax_scale: must be >= 0 (0: 1/sqrt(D))", file);
    c->softmax_scale = (float)scale;
    LL_TRY(ll_json_int(root, "threads", 0, 0, 4096, file, &c->threads, err));
    LL_TRY(parse_ranges_key(root, "must_do", file, c->must_do, sizeof c->must_do, err));
    LL_TRY(parse_ranges_key(root, "must_skip", file, c->must_skip, sizeof c->must_skip, err));

    c->skipped_mass = 1;
    LL_TRY(ll_json_bool(root, "skipped_mass", file, &c->skipped_mass, err));
    c->counters = 1;
    LL_TRY(ll_json_bool(root, "counters", file, &c->counters, err));
    LL_TRY(ll_json_number(root, "flop_rate_tflops", 0, file, &c->flop_rate_tflops, err));
    if (cJSON_GetObjectItemCaseSensitive(root, "flop_rate_tflops") && !(c->flop_rate_tflops > 0))
        return ll_fail(err, LL_ERR_USAGE, "%s.flop_rate_tflops: must be > 0", file);
    LL_TRY(ll_json_string(root, "output", 0, file, c->output, sizeof c->output, err));
    LL_TRY(parse_record(cJSON_GetObjectItemCaseSensitive(root, "record"), path, c, err));
    // A trace holds one tile map per (step, layer): of one trajectory only.
    if (c->trajectory.n_seeds > 1 && (c->map_steps.all || c->map_steps.n) && (c->map_layers.all || c->map_layers.n))
        return ll_fail(err, LL_ERR_USAGE,
                       "%s: record.tile_maps: a trace holds one tile map per (step, layer), so maps cannot be recorded "
                       "with several trajectory.seeds (record them in a one-seed experiment)",
                       file);
    return parse_policies(root, path, c, err);
}

// Line and column of a byte offset, for JSON syntax errors.
static void line_col(const char *text, size_t off, int *line, int *col) {
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && text[i]; i++) {
        if (text[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

ll_status ll_config_parse(const char *text, const char *path, ll_experiment_config *cfg, ll_error *err) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", path ? path : "(config)");
    if (!text) return ll_fail(err, LL_ERR_USAGE, "%s: no text", cfg->path);
    cfg->json_text = strdup(text);
    if (!cfg->json_text) return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", cfg->path);
    const char *end = NULL;
    cfg->root = cJSON_ParseWithOpts(cfg->json_text, &end, 1);
    if (!cfg->root) {
        int line, col;
        size_t off = end ? (size_t)(end - cfg->json_text) : 0;
        line_col(cfg->json_text, off, &line, &col);
        ll_status s = ll_fail(err, LL_ERR_USAGE, "%s:%d:%d: not valid JSON (syntax error near here)", cfg->path, line,
                              col);
        ll_config_free(cfg);
        return s;
    }
    ll_status s = parse_root(cfg, err);
    if (s != LL_OK) ll_config_free(cfg);
    return s;
}

ll_status ll_config_load(const char *path, ll_experiment_config *cfg, ll_error *err) {
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(path, "rb");
    if (!f) return ll_fail(err, LL_ERR_IO, "%s: cannot open experiment file: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return ll_fail(err, LL_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    }
    long len = ftell(f);
    if (len < 0 || len > (16L << 20)) {
        fclose(f);
        return ll_fail(err, LL_ERR_USAGE, "%s: not a regular file under 16 MiB", path);
    }
    rewind(f);
    char *text = malloc((size_t)len + 1);
    if (!text) {
        fclose(f);
        return ll_fail(err, LL_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(text, 1, (size_t)len, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || got != (size_t)len) {
        free(text);
        return ll_fail(err, LL_ERR_IO, "%s: read error", path);
    }
    text[len] = '\0';
    if (strlen(text) != (size_t)len) {
        free(text);
        return ll_fail(err, LL_ERR_USAGE, "%s: not a text file (contains NUL bytes)", path);
    }
    ll_status s = ll_config_parse(text, path, cfg, err);
    free(text);
    return s;
}

void ll_config_free(ll_experiment_config *cfg) {
    if (!cfg) return;
    cJSON_Delete(cfg->root);
    free(cfg->json_text);
    free(cfg->policies);
    free(cfg->policy_where);
    free_index_set(&cfg->mask_steps);
    free_index_set(&cfg->mask_layers);
    free_index_set(&cfg->map_steps);
    free_index_set(&cfg->map_layers);
    memset(cfg, 0, sizeof *cfg);
}
