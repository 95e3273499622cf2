#!/usr/bin/env bash
# finish_gpu_experiments.sh DIR: the second half of experiments/run_gpu_experiments.sh, on a
# machine with gnuplot (no GPU needed): unpacks the archives the GPU run left in DIR
# (ablation.tar.gz, policies.tar.gz, scaling.tar.gz, driver.log, provenance.txt; any subset)
# and writes experiments/results/<experiment>/ for each experiment they hold: threshold_sweep,
# ablation, policy_comparison, scaling (tables in Markdown and CSV, `litelab report` and gnuplot
# figures, the traces, the configs that ran, provenance). The GPU run's log and provenance go
# to experiments/results/gpu_run/.
#
#   experiments/finish_gpu_experiments.sh DIR
#
# Environment: LITELAB (default build/litelab), RESULTS_DIR (default experiments/results).
set -euo pipefail
[ $# -eq 1 ] && [ "$1" != -h ] && [ "$1" != --help ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
ARCHIVES=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
RAW=$(mktemp -d /tmp/litelab_finish_XXXXXX)
found=0
for a in "$ARCHIVES"/*.tar.gz; do
    [ -f "$a" ] || continue
    tar -xzf "$a" -C "$RAW"
    found=1
done
[ "$found" = 1 ] || { echo "finish_gpu_experiments.sh: no .tar.gz in $ARCHIVES" >&2; exit 2; }
# Titles say so when the archives come from a --cpu-smoke run.
if grep -q '^mode: CPU smoke' "$ARCHIVES/provenance.txt" 2>/dev/null; then export EXP_SMOKE=1; fi
export EXP_CMD="experiments/finish_gpu_experiments.sh"
source experiments/exp_common.sh
RESULTS_DIR=${RESULTS_DIR:-experiments/results}
export RESULTS_DIR
log "unpacked into $RAW: $(ls "$RAW" | tr '\n' ' ')"
status=0
[ -d "$RAW/sweep" ] && { experiments/threshold_sweep.sh --finish-only "$RAW" || status=1; }
[ -d "$RAW/ablation" ] && { experiments/ablation.sh --finish-only "$RAW" || status=1; }
[ -d "$RAW/policies" ] && { experiments/policy_comparison.sh --finish-only "$RAW" || status=1; }
[ -d "$RAW/scaling" ] && { experiments/scaling.sh --finish-only "$RAW" || status=1; }
mkdir -p "$RESULTS_DIR/gpu_run"
for f in driver.log provenance.txt; do
    [ -f "$ARCHIVES/$f" ] && cp "$ARCHIVES/$f" "$RESULTS_DIR/gpu_run/"
done
log "results: $(cd "$RESULTS_DIR" && ls -d threshold_sweep ablation policy_comparison scaling gpu_run 2>/dev/null | tr '\n' ' ')"
log "raw outputs stay in $RAW"
exit $status
