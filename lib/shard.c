// shard.c: shard specs (option and environment), the work units of an
// experiment and their deterministic, cost-balanced assignment (shard.h).
#include "shard.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A whole non-negative decimal number (no sign, no spaces), at most INT_MAX.
static int parse_count(const char *s, long *out) {
    if (!s || *s < '0' || *s > '9') return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v > INT_MAX) return 0;
    *out = v;
    return 1;
}

static ll_status check_range(long index, long count, const char *source, ll_shard_spec *out, ll_error *err) {
    if (count < 1 || count > LL_SHARD_MAX)
        return ll_fail(err, LL_ERR_USAGE, "%s: %ld shards (1 to %d)", source, count, LL_SHARD_MAX);
    if (index >= count)
        return ll_fail(err, LL_ERR_USAGE, "%s: shard index %ld is not below the shard count %ld (indices 0 to %ld)",
                       source, index, count, count - 1);
    out->index = (int)index;
    out->count = (int)count;
    snprintf(out->source, sizeof out->source, "%s", source);
    return LL_OK;
}

ll_status ll_shard_parse(const char *text, ll_shard_spec *out, ll_error *err) {
    memset(out, 0, sizeof *out);
    char buf[64], source[96];
    snprintf(source, sizeof source, "--shard %.60s", text ? text : "");
    const char *slash = text ? strchr(text, '/') : NULL;
    long index, count;
    if (!slash || (size_t)(slash - text) >= sizeof buf)
        return ll_fail(err, LL_ERR_USAGE, "%s: expected I/N (shard I of N, 0 <= I < N) or auto", source);
    memcpy(buf, text, (size_t)(slash - text));
    buf[slash - text] = '\0';
    if (!parse_count(buf, &index) || !parse_count(slash + 1, &count))
        return ll_fail(err, LL_ERR_USAGE, "%s: expected I/N with whole numbers (shard I of N, 0 <= I < N)", source);
    return check_range(index, count, source, out, err);
}

// Reads variable `name`: 0 when unset, 1 when a whole number, -1 otherwise (message in err).
static int env_number(const char *name, long *v, ll_error *err) {
    const char *s = getenv(name);
    if (!s || !*s) return 0;
    if (!parse_count(s, v)) {
        ll_fail(err, LL_ERR_USAGE, "--shard auto: %s='%s' is not a whole number", name, s);
        return -1;
    }
    return 1;
}

static ll_status from_slurm(long id, ll_shard_spec *out, ll_error *err) {
    long min = 0, max = 0, step = 1, count = 0;
    int has_min = env_number("SLURM_ARRAY_TASK_MIN", &min, err);
    int has_max = env_number("SLURM_ARRAY_TASK_MAX", &max, err);
    int has_step = env_number("SLURM_ARRAY_TASK_STEP", &step, err);
    int has_count = env_number("SLURM_ARRAY_TASK_COUNT", &count, err);
    if (has_min < 0 || has_max < 0 || has_step < 0 || has_count < 0) return LL_ERR_USAGE;
    char source[192];
    if (has_min && has_max) {
        if (step < 1) step = 1;
        if (id < min || id > max || (id - min) % step || max < min)
            return ll_fail(err, LL_ERR_USAGE,
                           "--shard auto: SLURM_ARRAY_TASK_ID=%ld is not on the array %ld-%ld:%ld; give --shard I/N",
                           id, min, max, step);
        long n = (max - min) / step + 1;
        if (has_count && count != n)
            return ll_fail(err, LL_ERR_USAGE,
                           "--shard auto: the array %ld-%ld:%ld has %ld indices but SLURM_ARRAY_TASK_COUNT=%ld (an "
                           "array of listed indices?); give --shard I/N",
                           min, max, step, n, count);
        snprintf(source, sizeof source, "SLURM_ARRAY_TASK_ID=%ld of the array %ld-%ld%s", id, min, max,
                 has_step && step > 1 ? " (stepped)" : "");
        return check_range((id - min) / step, n, source, out, err);
    }
    if (has_count) {
        snprintf(source, sizeof source, "SLURM_ARRAY_TASK_ID=%ld, SLURM_ARRAY_TASK_COUNT=%ld", id, count);
        return check_range(id, count, source, out, err);
    }
    return ll_fail(err, LL_ERR_USAGE,
                   "--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_MIN/MAX nor "
                   "SLURM_ARRAY_TASK_COUNT; give --shard I/N");
}

ll_status ll_shard_from_env(ll_shard_spec *out, ll_error *err) {
    memset(out, 0, sizeof *out);
    long id;
    int has = env_number("SLURM_ARRAY_TASK_ID", &id, err);
    if (has < 0) return LL_ERR_USAGE;
    if (has) return from_slurm(id, out, err);
    static const char *const pairs[2][2] = {{"RANK", "WORLD_SIZE"}, {"LOCAL_RANK", "LOCAL_WORLD_SIZE"}};
    for (int i = 0; i < 2; i++) {
        long rank, size;
        int hr = env_number(pairs[i][0], &rank, err);
        if (hr < 0) return LL_ERR_USAGE;
        if (!hr) continue;
        int hs = env_number(pairs[i][1], &size, err);
        if (hs < 0) return LL_ERR_USAGE;
        if (!hs) return ll_fail(err, LL_ERR_USAGE, "--shard auto: %s is set but %s is not", pairs[i][0], pairs[i][1]);
        char source[192];
        snprintf(source, sizeof source, "%s=%ld, %s=%ld", pairs[i][0], rank, pairs[i][1], size);
        return check_range(rank, size, source, out, err);
    }
    return ll_fail(err, LL_ERR_USAGE,
                   "--shard auto: none of SLURM_ARRAY_TASK_ID, RANK or LOCAL_RANK is set (not in a Slurm array or a "
                   "launcher's process); give --shard I/N");
}

// ---------------------------------------------------------------------------
// The plan

void ll_shard_plan_free(ll_shard_plan *p) {
    if (!p) return;
    free(p->units);
    free(p->bundle_cost);
    free(p->shard_of);
    free(p->load);
    memset(p, 0, sizeof *p);
}

static const ll_shard_unit *sort_units;  // qsort has no context argument

// Longest first; equal costs in unit order.
static int by_cost(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    double cx = sort_units[x].cost, cy = sort_units[y].cost;
    if (cx != cy) return cx > cy ? -1 : 1;
    return x - y;
}

ll_status ll_shard_plan_make(const ll_shard_costs *c, int count, ll_shard_plan *out, ll_error *err) {
    memset(out, 0, sizeof *out);
    if (!c || c->n_policies < 1 || c->n_seeds < 1 || c->n_policies % c->n_seeds || c->steps < 1 || c->layers < 1 ||
        c->layers_per_unit < 1 || count < 1 || count > LL_SHARD_MAX || !c->policy_call_cost || !c->shared_layer_cost)
        return ll_fail(err, LL_ERR_INVALID, "shard plan: bad inputs");
    ll_shard_plan *p = out;
    p->n_policies = c->n_policies;
    p->n_seeds = c->n_seeds;
    p->layers = c->layers;
    p->layers_per_unit = c->layers_per_unit < c->layers ? c->layers_per_unit : c->layers;
    p->groups = ll_shard_groups(c->layers, p->layers_per_unit);
    p->count = count;
    p->n_units = c->n_policies * p->groups;
    p->n_bundles = c->n_seeds * p->groups;
    p->units = calloc((size_t)p->n_units, sizeof *p->units);
    p->shard_of = malloc(sizeof(int) * (size_t)p->n_units);
    p->bundle_cost = calloc((size_t)p->n_bundles, sizeof *p->bundle_cost);
    p->load = calloc((size_t)count, sizeof *p->load);
    int *order = malloc(sizeof(int) * (size_t)p->n_units);
    // has[s * n_bundles + b]: shard s runs a unit of bundle b (bytes: count x bundles)
    unsigned char *has = calloc((size_t)count * (size_t)p->n_bundles, 1);
    if (!p->units || !p->shard_of || !p->bundle_cost || !p->load || !order || !has) {
        free(order);
        free(has);
        ll_shard_plan_free(p);
        return ll_fail(err, LL_ERR_NOMEM, "shard plan: out of memory (%d units, %d shards)", c->n_policies * p->groups,
                       count);
    }
    int per_seed = c->n_policies / c->n_seeds;
    double total = 0;
    for (int b = 0; b < p->n_bundles; b++) {
        int g = b % p->groups;
        for (int l = g * p->layers_per_unit; l < c->layers && l < (g + 1) * p->layers_per_unit; l++)
            p->bundle_cost[b] += c->shared_layer_cost[l];
        total += p->bundle_cost[b];
    }
    for (int u = 0; u < p->n_units; u++) {
        ll_shard_unit *x = &p->units[u];
        x->policy = u / p->groups;
        x->group = u % p->groups;
        x->first_layer = x->group * p->layers_per_unit;
        x->n_layers = c->layers - x->first_layer < p->layers_per_unit ? c->layers - x->first_layer : p->layers_per_unit;
        x->bundle = (x->policy / per_seed) * p->groups + x->group;
        x->cost = (double)c->steps * x->n_layers * c->policy_call_cost[x->policy];
        total += x->cost;
        order[u] = u;
    }
    sort_units = p->units;
    qsort(order, (size_t)p->n_units, sizeof *order, by_cost);
    double target = total / count * (1 + 1e-12);
    for (int i = 0; i < p->n_units; i++) {
        const ll_shard_unit *x = &p->units[order[i]];
        int best = -1;
        // Stay with the bundle while that shard keeps within the balanced load.
        for (int s = 0; s < count; s++)
            if (has[(size_t)s * p->n_bundles + x->bundle] && p->load[s] + x->cost <= target &&
                (best < 0 || p->load[s] < p->load[best]))
                best = s;
        if (best < 0) {
            double best_load = 0;
            for (int s = 0; s < count; s++) {
                double l = p->load[s] + x->cost + (has[(size_t)s * p->n_bundles + x->bundle] ? 0 : p->bundle_cost[x->bundle]);
                if (best < 0 || l < best_load) {
                    best = s;
                    best_load = l;
                }
            }
        }
        unsigned char *h = &has[(size_t)best * p->n_bundles + x->bundle];
        p->load[best] += x->cost + (*h ? 0 : p->bundle_cost[x->bundle]);
        *h = 1;
        p->shard_of[order[i]] = best;
    }
    free(order);
    free(has);
    return LL_OK;
}

int ll_shard_unit_of(const ll_shard_plan *p, int policy, int layer) {
    return policy * p->groups + layer / p->layers_per_unit;
}

int ll_shard_runs(const ll_shard_plan *p, int shard, int policy, int layer) {
    return p->shard_of[ll_shard_unit_of(p, policy, layer)] == shard;
}

int ll_shard_needs(const ll_shard_plan *p, int shard, int seed, int layer) {
    int per_seed = p->n_policies / p->n_seeds;
    for (int pi = seed * per_seed; pi < (seed + 1) * per_seed; pi++)
        if (ll_shard_runs(p, shard, pi, layer)) return 1;
    return 0;
}

int ll_shard_map_owner(const ll_shard_plan *p, int seed, int layer) {
    return p->shard_of[ll_shard_unit_of(p, seed * (p->n_policies / p->n_seeds), layer)];
}

int ll_shard_units_of(const ll_shard_plan *p, int shard, int *out) {
    int n = 0;
    for (int u = 0; u < p->n_units; u++)
        if (p->shard_of[u] == shard) out[n++] = u;
    return n;
}

double ll_shard_load(const ll_shard_plan *p, int shard) { return p->load[shard]; }

ll_status ll_shard_output_path(const char *out, int index, int count, char *buf, size_t len, ll_error *err) {
    size_t n = strlen(out);
    int h5 = n > 3 && !strcmp(out + n - 3, ".h5");
    int w = snprintf(buf, len, "%.*s.shard-%d-of-%d.h5", (int)(h5 ? n - 3 : n), out, index, count);
    if (w < 0 || (size_t)w >= len) return ll_fail(err, LL_ERR_USAGE, "%s: output path too long for a shard's name", out);
    return LL_OK;
}
