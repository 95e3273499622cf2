#!/usr/bin/env bash
# threshold_sweep.sh: LiteAttention at thresholds -30..0 over a Wan2.1-720p-shaped synthetic
# trajectory (experiments/threshold_sweep_wan720p.json): sparsity, error and time per threshold,
# next to the paper's -10 / -3 / 0 rows. Results: RESULTS/threshold_sweep/, where RESULTS is
# $LITELAB_RESULTS, else results/ at the repository root (not committed), or experiments/results/
# (the committed results) with --commit-results.
#
#   usage: experiments/threshold_sweep.sh [--commit-results] [--run-only RAW | --finish-only RAW | --help]
#
#   experiments/threshold_sweep.sh                    run (GPU) and write the results
#   experiments/threshold_sweep.sh --run-only RAW     only the GPU part, raw outputs into RAW/sweep
#   experiments/threshold_sweep.sh --finish-only RAW  only the tables and figures, from RAW/sweep
#   --help prints this and does nothing else.
#
# EXP_SMOKE=1 runs the same on a tiny CPU trajectory (a test of the scripts, not a result).
# The sweep also feeds experiments/ablation.sh (it reads the thresholds from it).
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
NAME=threshold_sweep
CONFIG=experiments/threshold_sweep_wan720p.json

run_part() {
    local raw=$1/sweep
    mkdir -p "$raw"
    local smoke=()
    [ "$EXP_SMOKE" = 1 ] && smoke=(--smoke)
    $PY "$TOOLS" derive "$CONFIG" "$raw/sweep.json" ${smoke[@]+"${smoke[@]}"}
    provenance "$raw/provenance.txt" "$EXP_CMD (part $NAME: litelab run $CONFIG)"
    run_experiment "$raw/sweep.json" "$raw/sweep.h5" "$raw/run.log" || true
    local t
    t=$(trace_of "$raw/sweep.h5") || { log "$NAME: no trace"; return 1; }
    tables "$t" "$raw/sweep_tables"
    log "$NAME: $(($(wc -l < "$raw/sweep_tables/calls.csv") - 1)) calls in $(basename "$t")"
}

finish_part() {
    local raw=$1/sweep t
    t=$(trace_of "$raw/sweep.h5") || die "$NAME: no trace under $raw"
    rm -rf "$RESULTS"
    mkdir -p "$RESULTS"
    cp "$t" "$RESULTS/sweep.h5"
    cp "$raw/sweep.json" "$raw/run.log" "$RESULTS/"
    { cat "$raw/provenance.txt"; echo "finished with: experiments/$NAME.sh --finish-only (tables, figures)"; } \
        > "$RESULTS/provenance.txt"
    report "$RESULTS/sweep.h5" "$RESULTS/report"
    $PY "$TOOLS" sweep-table "$1" "$RESULTS"
    scrub "$RESULTS"
}

main "$@"
