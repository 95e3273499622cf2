#!/usr/bin/env bash
# finish_gpu_experiments.sh DIR: the second half of experiments/run_gpu_experiments.sh, on a
# machine with gnuplot (no GPU needed): unpacks the archives the GPU run left in DIR
# (ablation.tar.gz, policies.tar.gz, scaling.tar.gz, driver.log, provenance.txt; any subset)
# and writes RESULTS/<experiment>/ for each experiment they hold: threshold_sweep, ablation,
# policy_comparison, scaling (tables in Markdown and CSV, `litelab report` and gnuplot figures,
# the traces, the configs that ran, provenance). The GPU run's log and provenance go to
# RESULTS/gpu_run/. RESULTS is $LITELAB_RESULTS, else results/ at the repository root (not
# committed), or experiments/results/ (the committed results) with --commit-results.
#
#   usage: experiments/finish_gpu_experiments.sh [--commit-results] DIR
#          experiments/finish_gpu_experiments.sh --help   (prints this and does nothing else)
#
# Environment: LITELAB (default build/litelab), LITELAB_RESULTS.
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
ARCHIVES=""
for arg in "$@"; do
    case "$arg" in
    -h|--help) exp_usage; exit 0 ;;
    --commit-results) export EXP_COMMIT_RESULTS=1 ;;
    -*) echo "finish_gpu_experiments.sh: unknown option '$arg' ($0 --help)" >&2; exit 2 ;;
    *) [ -z "$ARCHIVES" ] || { echo "finish_gpu_experiments.sh: one DIR only ($0 --help)" >&2; exit 2; }
       ARCHIVES=$arg ;;
    esac
done
[ -n "$ARCHIVES" ] || { echo "finish_gpu_experiments.sh: no DIR ($0 --help)" >&2; exit 2; }
case "$ARCHIVES" in /*) ;; *) ARCHIVES=$EXP_CALLER_DIR/$ARCHIVES ;; esac
[ -d "$ARCHIVES" ] || { echo "finish_gpu_experiments.sh: $ARCHIVES is not a folder" >&2; exit 2; }
need_litelab
RESULTS_ROOT=$(results_root)
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
log "unpacked into $RAW: $(ls "$RAW" | tr '\n' ' ')"
status=0
[ -d "$RAW/sweep" ] && { experiments/threshold_sweep.sh --finish-only "$RAW" || status=1; }
[ -d "$RAW/ablation" ] && { experiments/ablation.sh --finish-only "$RAW" || status=1; }
[ -d "$RAW/policies" ] && { experiments/policy_comparison.sh --finish-only "$RAW" || status=1; }
[ -d "$RAW/scaling" ] && { experiments/scaling.sh --finish-only "$RAW" || status=1; }
mkdir -p "$RESULTS_ROOT/gpu_run"
for f in driver.log provenance.txt; do
    [ -f "$ARCHIVES/$f" ] && cp "$ARCHIVES/$f" "$RESULTS_ROOT/gpu_run/"
done
log "results in $RESULTS_ROOT: $(cd "$RESULTS_ROOT" && ls -d threshold_sweep ablation policy_comparison scaling gpu_run 2>/dev/null | tr '\n' ' ')"
log "raw outputs stay in $RAW"
exit $status
