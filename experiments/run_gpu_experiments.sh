#!/usr/bin/env bash
# run_gpu_experiments.sh: every GPU experiment in one command, for a short session on a lent GPU
# machine (no gnuplot needed there): the GPU parts of
#   ablation     experiments/ablation.sh (with the threshold sweep, experiments/threshold_sweep.sh)
#   policies     experiments/policy_comparison.sh (also the harness issue's 10-step, 2-layer run)
#   scaling      experiments/scaling.sh
# in that order, each part's raw outputs packed into $OUT/<part>.tar.gz as soon as it ends, so a
# run cut short still returns what it finished. $OUT also gets driver.log (this output) and
# provenance.txt: at most 5 files. Then, on a machine with gnuplot:
#   experiments/finish_gpu_experiments.sh DIR_WITH_THOSE_FILES
# writes RESULTS/<experiment>/ (tables, figures, traces, provenance; RESULTS as that script says:
# results/ by default, experiments/results/ with --commit-results).
#
#   usage: experiments/run_gpu_experiments.sh [--cpu-smoke] [--only PARTS] [--deadline S] [--help]
#
#   --help         prints this and does nothing else
#   --cpu-smoke    the same pipeline on tiny synthetic trajectories with the CPU backend: a test
#                  of the scripts on a machine without a GPU (seconds; results are not meaningful)
#   --only PARTS   comma-separated subset of ablation,policies,scaling
#   --deadline S   seconds from the start by which every litelab command has ended (default 345
#                  on the GPU): parts and steps estimated not to fit are skipped, a command still
#                  running then is stopped (a stopped `litelab run` keeps its finished steps)
#
# Environment: OUT (default: a new folder under /tmp, printed), LITELAB (default build/litelab),
# WORK (scratch folder, default under /tmp). Needs build/litelab and build/device-libs (make all
# device-libs; only those two travel), python3 (standard library) and coreutils; on the GPU
# machine build/device-libs is put on LD_LIBRARY_PATH.
#
# Expected wall time on one H200 with 16 CPU cores: about 4 minutes (ablation ~90 s: sweep 45,
# refined replay 20, bench 25; policies ~90 s: tuning 15, matched run 75; scaling ~40 s; plus
# ~1-2 s of CUDA start-up per litelab command). Estimated from the host costs measured on a CPU
# (synthetic Q/K/V ~35 ns per element and thread, NaN checks 0.25 s per 387 M words, output
# error ~3.5 ns per element and thread, ~0.3 s of host work per call at 720p, 0.12 s at 480p)
# and the kernels' dense times (720p: 0.18 s Hopper, 0.33 s portable). Timestamps on every line.
set -uo pipefail
cd "$(dirname "$0")/.."
ALL_ARGS="$*"
SMOKE=0
PARTS="ablation,policies,scaling"
DEADLINE=""
while [ $# -gt 0 ]; do
    case "$1" in
    --cpu-smoke) SMOKE=1; shift ;;
    --only) [ $# -ge 2 ] || { echo "--only needs a value" >&2; exit 2; }; PARTS=$2; shift 2 ;;
    --deadline) [ $# -ge 2 ] || { echo "--deadline needs a value" >&2; exit 2; }; DEADLINE=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_gpu_experiments.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
    esac
done
for p in ${PARTS//,/ }; do
    case "$p" in ablation|policies|scaling) ;; *) echo "--only: unknown part '$p'" >&2; exit 2 ;; esac
done
export EXP_SMOKE=$SMOKE
export EXP_T0=$(date +%s)
if [ -n "$DEADLINE" ]; then export EXP_DEADLINE_S=$DEADLINE
elif [ "$SMOKE" = 1 ]; then export EXP_DEADLINE_S=100000
else export EXP_DEADLINE_S=345
fi
export EXP_CMD="experiments/run_gpu_experiments.sh${ALL_ARGS:+ $ALL_ARGS}"
OUT=${OUT:-$(mktemp -d /tmp/litelab_gpu_out_XXXXXX)}
WORK=${WORK:-$(mktemp -d /tmp/litelab_gpu_work_XXXXXX)}
mkdir -p "$OUT" "$WORK"
RAW=$WORK/raw
mkdir -p "$RAW"
exec 3>&1 4>&2 > >(tee -a "$OUT/driver.log") 2>&1
TEE_PID=$!
# On exit: close the pipe to tee and wait for it, so driver.log is complete when we return.
trap 'exec 1>&3 2>&4; wait "$TEE_PID" 2>/dev/null' EXIT
source experiments/exp_common.sh
need_litelab

log "run_gpu_experiments.sh ${ALL_ARGS}: parts $PARTS, deadline ${EXP_DEADLINE_S}s, OUT=$OUT"
log "litelab: $("$LITELAB" --version)"
if [ "$SMOKE" = 0 ]; then
    nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv 2>&1 | sed 's/^/  /' >&2
    gpu=$("$LITELAB" bench --gpu-name 2>&1) || { log "no usable GPU: $gpu"; exit 7; }
    log "GPU: $gpu; CPU: $(nproc) cores"
fi
provenance "$OUT/provenance.txt" "$EXP_CMD"

# pack NAME DIR...: RAW/DIR... into OUT/NAME.tar.gz; without the traces if that is over 15 MiB.
pack() {
    local name=$1
    shift
    local dirs=() d
    for d in "$@"; do [ -d "$RAW/$d" ] && dirs+=("$d"); done
    [ ${#dirs[@]} -gt 0 ] || { log "pack $name: nothing to pack"; return 0; }
    tar -C "$RAW" -czf "$OUT/$name.tar.gz" "${dirs[@]}"
    local size
    size=$(stat -c %s "$OUT/$name.tar.gz")
    if [ "$size" -gt $((15 * 1024 * 1024 + 512 * 1024)) ]; then
        log "pack $name: $size bytes is over the 16 MiB a file may have: packing without the traces"
        tar -C "$RAW" -czf "$OUT/$name.tar.gz" --exclude='*.h5' --exclude='*.h5.partial' "${dirs[@]}"
        size=$(stat -c %s "$OUT/$name.tar.gz")
    fi
    log "packed $OUT/$name.tar.gz ($((size / 1024)) KiB)"
}

declare -A PART_S
part() {
    local name=$1 est=$2 script=$3
    shift 3
    case ",$PARTS," in *",$name,"*) ;; *) return 0 ;; esac
    if ! fits "$est"; then
        log "=== $name: skipped (${est}s estimated at the least, $(exp_left)s left)"
        return 0
    fi
    local t0
    t0=$(date +%s)
    log "=== $name: start"
    "experiments/$script" --run-only "$RAW" || log "=== $name: $script exited with $?"
    PART_S[$name]=$(( $(date +%s) - t0 ))
    pack "$name" "$@"
    log "=== $name: done in ${PART_S[$name]}s"
}

# Estimated GPU seconds (the smallest useful piece of each part; see the scripts for the rest).
part ablation 60 ablation.sh sweep ablation
part policies 60 policy_comparison.sh policies
part scaling 15 scaling.sh scaling

log "all parts done in $(exp_elapsed)s: $(for k in "${!PART_S[@]}"; do printf '%s %ss; ' "$k" "${PART_S[$k]}"; done)"
ls -l "$OUT" | sed 's/^/  /' >&2
log "next, on a machine with gnuplot: experiments/finish_gpu_experiments.sh <folder with these files>"
