#!/usr/bin/env bash
# scaling.sh: time of dense attention and of LiteAttention at a fixed threshold (-10) as N grows
# from 4k to 120k tokens: Wan2.1-shaped synthetic trajectories (40 heads, D=128, 21 frames) on
# grids of growing height x width (experiments/scaling_wan.json, 3 steps, 1 layer each).
# Results: RESULTS/scaling/, where RESULTS is $LITELAB_RESULTS, else results/ at the repository
# root (not committed), or experiments/results/ (the committed results) with --commit-results.
#
#   usage: experiments/scaling.sh [--commit-results] [--run-only RAW | --finish-only RAW | --help]
#
#   experiments/scaling.sh                    run (GPU) and write the results
#   experiments/scaling.sh --run-only RAW     only the GPU part, raw outputs into RAW/scaling
#   experiments/scaling.sh --finish-only RAW  only the table and the figure, from RAW/scaling
#   --help prints this and does nothing else.
#
# SCALING_GRIDS overrides the grids (space-separated FxHxW); points that would not fit before
# the deadline (EXP_DEADLINE_S) are skipped, the smallest first measured.
# EXP_SMOKE=1 runs the same on tiny CPU grids.
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
NAME=scaling
CONFIG=experiments/scaling_wan.json
# N = 4032, 16128, 32760 (Wan 480p), 75600 (Wan 720p), 120204.
GRIDS=${SCALING_GRIDS:-21x12x16 21x24x32 21x30x52 21x45x80 21x54x106}
[ "$EXP_SMOKE" = 1 ] && GRIDS=${SCALING_GRIDS:-4x4x8 4x8x8 4x8x16 4x16x16}

# Estimated GPU seconds of one point: 3 steps of Q/K/V generation, checks and upload (~3.2 s per
# step at 75,600 tokens, linear in N) and two calls (0.32 s dense at 75,600 tokens, quadratic).
estimate() { awk -v n="$1" 'BEGIN { r = n / 75600; printf "%d", 3 * (3.2 * r + 0.5 * r * r) + 3 }'; }

run_part() {
    local raw=$1/scaling g f h w n smoke=()
    mkdir -p "$raw"
    [ "$EXP_SMOKE" = 1 ] && smoke=(--smoke)
    provenance "$raw/provenance.txt" "$EXP_CMD (part $NAME: litelab run $CONFIG per grid: $GRIDS)"
    for g in $GRIDS; do
        IFS=x read -r f h w <<< "$g"
        n=$(( f * h * w ))
        local d="$raw/N$(printf '%06d' "$n")"
        if ! fits "$(estimate "$n")"; then
            log "$NAME: skipping N=$n ($(estimate "$n") s estimated, $(exp_left) s left)"
            continue
        fi
        mkdir -p "$d"
        $PY "$TOOLS" derive "$CONFIG" "$d/config.json" ${smoke[@]+"${smoke[@]}"} \
            --set "trajectory.frames=$f" --set "trajectory.height=$h" --set "trajectory.width=$w" \
            --set "name=\"scaling_N$n\""
        if run_experiment "$d/config.json" "$d/trace.h5" "$d/run.log"; then :; fi
        local t
        if t=$(trace_of "$d/trace.h5"); then
            tables "$t" "$d/tables" && cp "$d/tables/calls.csv" "$d/calls.csv"
        fi
    done
}

finish_part() {
    local raw=$1/scaling d
    [ -d "$raw" ] || die "$NAME: no $raw"
    rm -rf "$RESULTS"
    mkdir -p "$RESULTS"
    for d in "$raw"/N*; do
        [ -f "$d/calls.csv" ] || continue
        mkdir -p "$RESULTS/$(basename "$d")"
        cp "$d/config.json" "$d/calls.csv" "$d/run.log" "$RESULTS/$(basename "$d")/"
    done
    { cat "$raw/provenance.txt"; echo "finished with: experiments/$NAME.sh --finish-only (table, figure)"; } \
        > "$RESULTS/provenance.txt"
    $PY "$TOOLS" scaling-table "$1" "$RESULTS"
    local title="Time per call against sequence length (B=1, H=40, D=128, bf16)"
    [ "$EXP_SMOKE" = 1 ] && title="Time per call against sequence length (CPU smoke test: tiny shapes)"
    plot "$RESULTS" "$EXP_DIR/scaling.gp" \
        "data='scaling.dat'; out_png='scaling.png'; out_svg='scaling.svg'; plot_title='$title'" || die "$NAME: gnuplot failed"
    log "$NAME: figure $RESULTS/scaling.png"
    scrub "$RESULTS"
}

main "$@"
