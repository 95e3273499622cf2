#!/usr/bin/env bash
# redraw_figures.sh: redraws the committed figures of experiments/results/ with the current gnuplot
# scripts (analysis/*.gp, experiments/*.gp) from the traces and data files committed there: no GPU
# and no new measurement, only the drawing (run it after restyling a script). The reports' tables
# are rewritten from the same traces. A figure whose inputs are not committed is named, not drawn.
#
#   experiments/redraw_figures.sh [EXPERIMENT...]
#
# EXPERIMENT: threshold_sweep, ablation, policy_comparison, scaling, calibration, dit (default: all).
# Environment: LITELAB (default build/litelab), RESULTS_DIR (default experiments/results).
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac
source "$(dirname "$0")/exp_common.sh"
RESULTS_DIR=${RESULTS_DIR:-experiments/results}
status=0
for e in ${@:-threshold_sweep ablation policy_comparison scaling calibration dit}; do
    dir="$RESULTS_DIR/$e"
    need=()
    case "$e" in
    threshold_sweep) need=(sweep.h5) ;;
    ablation) need=(ablation_points.dat) ;;
    policy_comparison) need=(matched.h5 matched.json) ;;
    scaling) need=(scaling.dat provenance.txt) ;;
    calibration) need=(per_step/verified.h5 accumulated/verified.h5 per_step/verification.csv) ;;
    dit) need=(sparsity_per_step.dat iou_per_step.dat mask_example.dat provenance.txt) ;;
    *) die "unknown experiment '$e' ($0 --help)" ;;
    esac
    missing=""
    for f in "${need[@]}"; do [ -f "$dir/$f" ] || missing="$missing $f"; done
    if [ -n "$missing" ]; then
        log "$e: not redrawn: missing in $dir:$missing"
        status=1
        continue
    fi
    log "$e: redrawing in $dir"
    "${e}_figures" "$dir" || { log "$e: drawing failed"; status=1; }
    scrub "$dir"
done
exit $status
