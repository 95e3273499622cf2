// shard.h: one experiment split over processes (`litelab run --shard I/N`),
// so that a sweep runs as a Slurm job array or one process per GPU, and
// `litelab merge` puts the shards' traces back together.
//
// Work units. A unit is one trace policy (a policy on one trajectory seed)
// on one group of consecutive layers, over every step: a policy's skip lists
// propagate from step to step within a layer, never across layers, so a
// unit's step chain stays in one process and units are independent. Unit u
// is policy u / groups on layers [g * layers_per_unit, ...) of group
// g = u % groups. Units that share a seed and a layer group form a bundle:
// they need the same dense reference call (and tile map) at every
// (step, layer), which each shard running any unit of the bundle computes.
//
// Assignment. Every process computes the same plan from the experiment
// alone: greedy longest-processing-time over the units by their dry-run
// cost (dense-call FLOPs times calls and passes), where a unit goes to a
// shard that already has its bundle while that shard stays within the
// balanced load, else to the shard where it adds least (its cost, plus the
// bundle's shared cost when the shard lacks the bundle). Ties go to the
// lower index, so the plan is deterministic.
#pragma once
#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

// Which shard this process is; count 0 means the whole experiment.
typedef struct {
    int index, count;
    char source[192];  // where it came from, for messages: "--shard 2/8", "SLURM_ARRAY_TASK_ID=2 (...)"
} ll_shard_spec;

// "I/N" with 0 <= I < N <= LL_SHARD_MAX.
enum { LL_SHARD_MAX = 100000 };
ll_status ll_shard_parse(const char *text, ll_shard_spec *out, ll_error *err);
// `--shard auto`: the first of
//   SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN/MAX (and _STEP), or with
//     SLURM_ARRAY_TASK_COUNT alone: index (ID - MIN) / STEP of
//     (MAX - MIN) / STEP + 1, checked against SLURM_ARRAY_TASK_COUNT;
//   RANK and WORLD_SIZE (torchrun, mpirun wrappers);
//   LOCAL_RANK and LOCAL_WORLD_SIZE.
// None of them set, or a value that is not a number in range: LL_ERR_USAGE.
ll_status ll_shard_from_env(ll_shard_spec *out, ll_error *err);

// The cost model, from the experiment (the dry run's estimate).
typedef struct {
    int n_policies;                   // trace policies: policies x seeds, seed-major
    int n_seeds;                      // policies n_policies / n_seeds .. run on seed number p / that
    int steps, layers, layers_per_unit;
    const double *policy_call_cost;   // per trace policy: FLOPs of its calls at one (step, layer), passes included
    const double *shared_layer_cost;  // per layer: FLOPs of one seed's shared work over all steps
                                      // (dense reference calls, tile maps)
} ll_shard_costs;

typedef struct {
    int policy, group;      // unit = policy * groups + group
    int first_layer, n_layers;
    int bundle;             // seed * groups + group
    double cost;            // its own calls' FLOPs over all steps
} ll_shard_unit;

typedef struct {
    int n_policies, n_seeds, layers, layers_per_unit, groups, count;
    int n_units, n_bundles;
    ll_shard_unit *units;
    double *bundle_cost;  // per bundle: shared FLOPs over all steps
    int *shard_of;        // per unit
    double *load;         // per shard: its units plus each of its bundles' shared cost once
} ll_shard_plan;

// Number of layer groups: ceil(layers / layers_per_unit).
static inline int ll_shard_groups(int layers, int layers_per_unit) {
    return (layers + layers_per_unit - 1) / layers_per_unit;
}

ll_status ll_shard_plan_make(const ll_shard_costs *c, int count, ll_shard_plan *out, ll_error *err);
void ll_shard_plan_free(ll_shard_plan *p);

int ll_shard_unit_of(const ll_shard_plan *p, int policy, int layer);
// Whether shard `shard` runs trace policy `policy` at `layer`.
int ll_shard_runs(const ll_shard_plan *p, int shard, int policy, int layer);
// Whether it runs any unit of seed number `seed` at `layer` (then it needs that dense call).
int ll_shard_needs(const ll_shard_plan *p, int shard, int seed, int layer);
// The shard that records the tile map of (seed, layer): the one running the
// bundle's lowest-numbered unit.
int ll_shard_map_owner(const ll_shard_plan *p, int seed, int layer);
// Units of a shard in increasing order into out (room for n_units); returns how many.
int ll_shard_units_of(const ll_shard_plan *p, int shard, int *out);
// Work of a shard: its units' cost plus its bundles' shared cost (FLOPs).
double ll_shard_load(const ll_shard_plan *p, int shard);

// "<out without .h5>.shard-I-of-N.h5": each shard's own trace.
ll_status ll_shard_output_path(const char *out, int index, int count, char *buf, size_t len, ll_error *err);

#ifdef __cplusplus
}
#endif
