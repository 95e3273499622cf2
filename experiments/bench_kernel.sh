#!/usr/bin/env bash
# bench_kernel.sh: the one command that produces kernel_bench_<gpu>.csv on a GPU machine:
# `litelab bench` (CUPTI kernel times) first, then experiments/bench_peers.py (torch SDPA
# flash and cuDNN, FlexAttention block-sparse; CUDA events) appending to the same CSV,
# then a short table of all rows.
#
#   usage: experiments/bench_kernel.sh [--quick] [--shapes L] [--kept L] [--masks L] [--reps N]
#                                      [--warmup N] [--dtype T] [--seed N] [--kernel K]
#                                      [--encoding E] [--commit-results] [--help]
#
# Files go to $OUT when it is set, else to RESULTS: $LITELAB_RESULTS, else results/ at the
# repository root (not committed), or experiments/results/ (the committed results) with
# --commit-results: kernel_bench_<gpu>.csv, the two logs, and kernel_bench_<gpu>.txt (this
# command line, date, commit, driver). --help prints this and does nothing else.
# Needs build/litelab (run make first) and python3 with PyTorch >= 2.5. Shared libraries
# the machine lacks may be put in build/device-libs (make device-libs); they are used.
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
all_args="$*"
common=()        # options both programs take
litelab_only=()  # options of litelab bench alone
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) common+=("$1"); shift ;;
    --shapes|--kept|--masks|--reps|--warmup|--dtype|--seed)
        [ $# -ge 2 ] || { echo "bench_kernel.sh: $1 needs a value" >&2; exit 2; }
        common+=("$1" "$2"); shift 2 ;;
    --kernel|--encoding)
        [ $# -ge 2 ] || { echo "bench_kernel.sh: $1 needs a value" >&2; exit 2; }
        litelab_only+=("$1" "$2"); shift 2 ;;
    --commit-results) export EXP_COMMIT_RESULTS=1; shift ;;
    -h|--help) exp_usage; exit 0 ;;
    *) echo "bench_kernel.sh: unknown option '$1' (--help lists them)" >&2; exit 2 ;;
    esac
done

need_litelab
gpu=$("$LITELAB" bench --gpu-name)  # exits 7 with "no usable GPU" on a machine without one
outdir=${OUT:-$(results_root)}
mkdir -p "$outdir"
csv="$outdir/kernel_bench_$gpu.csv"
{
    echo "command: experiments/bench_kernel.sh $all_args"
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "litelab: $("$LITELAB" --version)"
    echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>/dev/null || echo unknown)"
    echo "torch: $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)' 2>/dev/null || echo unavailable)"
} > "$outdir/kernel_bench_$gpu.txt"

"$LITELAB" bench ${common[@]+"${common[@]}"} ${litelab_only[@]+"${litelab_only[@]}"} -o "$csv" \
    2>&1 | tee "$outdir/kernel_bench_$gpu.litelab.log"
python3 experiments/bench_peers.py ${common[@]+"${common[@]}"} -o "$csv" \
    2>&1 | tee "$outdir/kernel_bench_$gpu.peers.log"

echo
echo "== $csv =="
python3 - "$csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cols = [("kernel", 20), ("B", 2), ("H", 3), ("N", 6), ("D", 4), ("mask", 7), ("mode", 13), ("kept_fraction", 6),
        ("ms_median", 10), ("tflops_dense_equiv", 9), ("tflops_executed", 9)]
left = {"kernel", "mask", "mode"}
heads = {"kept_fraction": "kept", "ms_median": "median_ms", "tflops_dense_equiv": "TF_dense",
         "tflops_executed": "TF_exec"}
print(" ".join(heads.get(c, c).ljust(w) if c in left else heads.get(c, c).rjust(w) for c, w in cols))
for r in rows:
    cells = []
    for c, w in cols:
        v = r[c]
        if c == "kept_fraction": v = f"{float(v):.3f}"
        if c == "ms_median": v = f"{float(v):.3f}"
        if c.startswith("tflops"): v = f"{float(v):.1f}"
        cells.append(v.ljust(w) if c in left else v.rjust(w))
    print(" ".join(cells))
EOF
