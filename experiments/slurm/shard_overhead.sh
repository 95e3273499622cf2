#!/bin/bash
# What sharding costs: the experiment run whole, then as N shards one after
# the other on the same machine (same GPU), merged and compared with the
# whole run. Prints both wall times, the merge time and the overhead
# (sum of the shards + merge - whole) per shard, against the whole run and
# against the mean time of one work unit (a policy's chain over one layer).
#
#   experiments/slurm/shard_overhead.sh EXPERIMENT.json N [OUTDIR]
#
# OUTDIR (default: a new folder under TMPDIR) keeps the traces and
# overhead.txt. LITELAB names the binary (default: litelab on PATH).
set -euo pipefail

usage="usage: $(basename "$0") EXPERIMENT.json N [OUTDIR]"
case "${1:-}" in
-h | --help) echo "$usage"; exit 0 ;;
-*) echo "$(basename "$0"): unknown option '$1'" >&2; echo "$usage" >&2; exit 2 ;;
esac
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "$usage" >&2
    exit 2
fi
experiment=$1 shards=$2
case $shards in '' | *[!0-9]* | 0) echo "$(basename "$0"): N must be a whole number >= 1" >&2; exit 2 ;; esac
out=${3:-$(mktemp -d "${TMPDIR:-/tmp}/litelab_overhead_XXXXXX")}
mkdir -p "$out"
litelab=${LITELAB:-litelab}

now() { date +%s%N; }
units=$("$litelab" run "$experiment" -o "$out/sharded.h5" --shard "0/$shards" --dry-run --flop-rate 1 |
    sed -n 's/.* of \([0-9]*\) work units.*/\1/p')
ms_since() { echo $((($(now) - $1) / 1000000)); }

t=$(now)
"$litelab" run "$experiment" -o "$out/whole.h5" -q
whole=$(ms_since "$t")
t=$(now)
traces=()
for ((i = 0; i < shards; i++)); do
    "$litelab" run "$experiment" -o "$out/sharded.h5" --shard "$i/$shards" -q
    traces+=("$out/sharded.shard-$i-of-$shards.h5")
done
sharded=$(ms_since "$t")
t=$(now)
"$litelab" merge --force -q "$out/sharded.h5" "${traces[@]}"
merge=$(ms_since "$t")
"$litelab" compare --ignore-timings "$out/whole.h5" "$out/sharded.h5"
{
    echo "experiment $experiment, $shards shards, on $(hostname) ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || echo no GPU))"
    echo "whole run: $whole ms; $shards shards one after the other: $sharded ms; merge: $merge ms"
    awk -v w="$whole" -v s="$sharded" -v m="$merge" -v n="$shards" -v u="$units" 'BEGIN {
        o = s + m - w
        printf "overhead: %.0f ms in all (%.2f%% of the whole run), %.0f ms per shard\n", o, 100 * o / w, o / n
        if (u > 0) printf "a work unit (one policy chain over the steps of one layer) takes %.0f ms on average: per-shard overhead %.2f%% of it\n", w / u, 100 * (o / n) / (w / u) }'
} | tee "$out/overhead.txt"
