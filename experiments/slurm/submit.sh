#!/bin/bash
# Submits a sharded litelab run to Slurm: an array of N shard tasks (one GPU
# each, sweep_array.sbatch) and a merge job that runs when all succeeded.
#
#   experiments/slurm/submit.sh [--tasks LIST] EXPERIMENT.json OUT.h5 N [sbatch options...]
#
# --tasks LIST submits only those array indices (e.g. 3,5 after tasks 3 and 5
# failed: they resume their .partial) and a new merge job after them.
# Further options go to both sbatch calls (e.g. --partition=gpu --time=2:00:00).
# Prints the two job ids.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage="usage: $(basename "$0") [--tasks LIST] EXPERIMENT.json OUT.h5 N [sbatch options...]"
tasks=""
case "${1:-}" in
-h | --help) echo "$usage"; exit 0 ;;
--tasks) [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }; tasks=$2; shift 2 ;;
-*) echo "$(basename "$0"): unknown option '$1'" >&2; echo "$usage" >&2; exit 2 ;;
esac
if [ $# -lt 3 ]; then
    echo "$usage" >&2
    exit 2
fi
experiment=$1 out=$2 shards=$3
shift 3
case $shards in '' | *[!0-9]* | 0) echo "$0: N must be a whole number >= 1, got '$shards'" >&2; exit 2 ;; esac
[ -n "$tasks" ] || tasks="0-$((shards - 1))"

array=$(sbatch --parsable --array="$tasks" "$@" "$here/sweep_array.sbatch" "$experiment" "$out" "$shards")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" "$@" "$here/merge.sbatch" "$out" "$shards")
merge=${merge%%;*}
echo "array job $array (tasks $tasks of $shards), merge job $merge"
