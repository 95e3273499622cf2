#!/usr/bin/env bash
# redraw_figures.sh: redraws the experiments' figures with the current gnuplot scripts
# (analysis/*.gp, experiments/*.gp) from the traces and data files kept with the results: no GPU
# and no new measurement, only the drawing (run it after restyling a script). The reports' tables
# are rewritten from the same traces. A figure whose inputs are missing is named, not drawn.
# Results: RESULTS/<experiment>/, where RESULTS is $LITELAB_RESULTS, else results/ at the
# repository root (not committed), or experiments/results/ (the committed results) with
# --commit-results.
#
#   usage: experiments/redraw_figures.sh [--commit-results] [EXPERIMENT...]   (default: all)
#          experiments/redraw_figures.sh --help   (prints this and does nothing else)
#
# EXPERIMENT: threshold_sweep, ablation, policy_comparison, scaling, calibration, dit.
# LITELAB (default build/litelab) draws the reports.
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
ALL="threshold_sweep ablation policy_comparison scaling calibration dit"
which=()
for arg in "$@"; do
    case "$arg" in
    -h|--help) exp_usage; exit 0 ;;
    --commit-results) export EXP_COMMIT_RESULTS=1 ;;
    threshold_sweep|ablation|policy_comparison|scaling|calibration|dit) which+=("$arg") ;;
    *) echo "redraw_figures.sh: unknown experiment or option '$arg' ($ALL; --help)" >&2; exit 2 ;;
    esac
done
[ ${#which[@]} -gt 0 ] || read -r -a which <<< "$ALL"
need_litelab
status=0
for e in "${which[@]}"; do
    dir="$(results_root)/$e"
    case "$e" in
    threshold_sweep) need=(sweep.h5) ;;
    ablation) need=(ablation_points.dat) ;;
    policy_comparison) need=(matched.h5 matched.json) ;;
    scaling) need=(scaling.dat provenance.txt) ;;
    calibration) need=(per_step/verified.h5 accumulated/verified.h5 per_step/verification.csv) ;;
    dit) need=(sparsity_per_step.dat iou_per_step.dat mask_example.dat provenance.txt) ;;
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
