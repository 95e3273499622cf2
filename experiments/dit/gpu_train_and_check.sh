#!/usr/bin/env bash
# gpu_train_and_check.sh: one GPU command: train (or resume) the Wan DiT for a wall-time
# budget, export the bf16 checkpoint, run the real-likeness checks, pack the outputs.
#
#   usage: experiments/dit/gpu_train_and_check.sh OUTDIR [TRAIN_SECONDS]
#          experiments/dit/gpu_train_and_check.sh --help   (prints this and does nothing else)
#
# Environment: DIT_RUN_DIR (run state, default /tmp/dit_run: a second command on the same
# machine resumes from it), DIT_STEPS (planned steps, default 3000), DIT_PROVENANCE (text
# recorded in the results, e.g. the commit); for a dry run on the CPU: DIT_DEVICE=cpu
# DIT_PRESET=tiny DIT_CHECK_ARGS="--steps 8 --tile 8"; DIT_TRAIN_ARGS: more train.py options
# (e.g. "--init-weights CKPT --lr 4e-4 --warmup 30"). Needs torch and diffusers (0.42).
# Writes OUTDIR/dit.safetensors, OUTDIR/maps_{max_log2,walk_desc,mass}.npz and
# OUTDIR/results.tar (logs, GPU clocks, realism.md, summary.json, .dat files, sample png).
set -uo pipefail
case "${1:-}" in
-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
-*|"") echo "usage: $0 OUTDIR [TRAIN_SECONDS] (--help)" >&2; exit 2 ;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
OUTDIR=$1
TRAIN_SECONDS=${2:-330}
RUN_DIR=${DIT_RUN_DIR:-/tmp/dit_run}
STEPS=${DIT_STEPS:-3000}
DEVICE=${DIT_DEVICE:-cuda}
PRESET=${DIT_PRESET:-default}
export PYTHONUNBUFFERED=1
mkdir -p "$OUTDIR/pack"
PACK=$OUTDIR/pack

pack() {
    (cd "$PACK" && tar cf "$OUTDIR/results.tar" .) && rm -rf "$PACK"
}
trap pack EXIT

{
    date -u
    nvidia-smi
    echo "== clocks before training"
    nvidia-smi -q -d CLOCK
    python3 -c "import torch, diffusers; print('torch', torch.__version__, 'diffusers', diffusers.__version__)"
} > "$PACK/gpu_info.txt" 2>&1

python3 "$HERE/video_data.py" --device "$DEVICE" 2>&1 | tee "$PACK/data_bench.log"

python3 "$HERE/train.py" --run-dir "$RUN_DIR" --steps "$STEPS" --seconds "$TRAIN_SECONDS" \
    --preset "$PRESET" --device "$DEVICE" ${DIT_TRAIN_ARGS:-} \
    --export "$OUTDIR/dit.safetensors" 2>&1 | tee "$PACK/train.log"
{ echo "== clocks right after training"; nvidia-smi -q -d CLOCK; } >> "$PACK/gpu_info.txt" 2>&1

if [ -f "$OUTDIR/dit.safetensors" ]; then
    python3 "$HERE/check_realism.py" --weights "$OUTDIR/dit.safetensors" --out "$PACK/realism" \
        --device "$DEVICE" --provenance "${DIT_PROVENANCE:-}" ${DIT_CHECK_ARGS:-} 2>&1 | tee "$PACK/check.log"
    for f in "$PACK"/realism/maps_*.npz; do
        [ -f "$f" ] && mv "$f" "$OUTDIR/"
    done
else
    echo "gpu_train_and_check: no checkpoint was written; checks not run" | tee -a "$PACK/check.log"
fi
ls -la "$OUTDIR" "$PACK" "$PACK/realism" 2>&1 | tee "$PACK/files.txt"
