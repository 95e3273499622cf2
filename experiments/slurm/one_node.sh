#!/bin/bash
# A sharded litelab run on one machine: one process per visible GPU, each
# with its own CUDA_VISIBLE_DEVICES and LOCAL_RANK / LOCAL_WORLD_SIZE
# (`litelab run --shard auto`), then the merge.
#
#   experiments/slurm/one_node.sh EXPERIMENT.json OUT.h5 [N]
#
# N processes (default: one per GPU of CUDA_VISIBLE_DEVICES, else of
# nvidia-smi -L). Process i gets GPU i mod the GPU count; with no GPU the
# processes run side by side on the CPU (the experiment's backend decides).
# A rerun resumes the shards whose .partial a killed run left and skips the
# finished ones. Logs: OUT.shard-I-of-N.log. Prints each shard's wall time
# and the total. NCCL_NVLS_ENABLE=0 is exported (NVLink multicast off) for
# anything the processes start that uses NCCL.
set -euo pipefail

usage="usage: $(basename "$0") EXPERIMENT.json OUT.h5 [N]"
case "${1:-}" in
-h | --help) echo "$usage"; exit 0 ;;
-*) echo "$(basename "$0"): unknown option '$1'" >&2; echo "$usage" >&2; exit 2 ;;
esac
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "$usage" >&2
    exit 2
fi
experiment=$1 out=$2
litelab=${LITELAB:-litelab}
export NCCL_NVLS_ENABLE=0

gpus=()
if [ -n "${CUDA_VISIBLE_DEVICES:-}" ]; then
    IFS=, read -r -a gpus <<<"$CUDA_VISIBLE_DEVICES"
elif command -v nvidia-smi >/dev/null 2>&1; then
    mapfile -t gpus < <(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null || true)
fi
shards=${3:-${#gpus[@]}}
case $shards in '' | *[!0-9]* | 0)
    echo "$0: no GPU visible and no N given (give N to run N processes on the CPU)" >&2; exit 2 ;;
esac

seconds_since() { local ms=$((($(date +%s%N) - $1) / 1000000)); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
start=$(date +%s%N)
pids=() traces=()
for ((i = 0; i < shards; i++)); do
    trace="${out%.h5}.shard-$i-of-$shards.h5"
    traces+=("$trace")
    if [ -e "$trace" ]; then
        echo "shard $i/$shards: complete already"
        pids+=("")
        continue
    fi
    resume=()
    [ -e "$trace.partial" ] && resume=(--resume)
    dev=""
    [ ${#gpus[@]} -gt 0 ] && dev=${gpus[$((i % ${#gpus[@]}))]}
    (
        t0=$(date +%s%N)
        CUDA_VISIBLE_DEVICES=$dev LOCAL_RANK=$i LOCAL_WORLD_SIZE=$shards \
            "$litelab" run "$experiment" -o "$out" --shard auto "${resume[@]}" -q >"${trace%.h5}.log" 2>&1
        echo "shard $i/$shards (GPU ${dev:-none}): $(seconds_since "$t0") s"
    ) &
    pids+=($!)
done
failed=0
for ((i = 0; i < shards; i++)); do
    [ -z "${pids[$i]}" ] && continue
    if ! wait "${pids[$i]}"; then
        echo "shard $i/$shards failed: see ${traces[$i]%.h5}.log (rerun this script to resume it)" >&2
        failed=1
    fi
done
[ $failed = 0 ] || exit 1
echo "all $shards shards: $(seconds_since "$start") s"
"$litelab" merge --force "$out" "${traces[@]}"
