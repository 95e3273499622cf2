#!/usr/bin/env bash
# ablation.sh: the paper's ablation, self-attention runtime against sparsity, at the Wan2.1-14B
# shape (1, 40, 75600, 128): sparsity 0 / 21 / 42 / 57 / 77 %, masks produced by the
# LiteAttention policy on a synthetic Wan-720p-shaped trajectory at thresholds chosen to land
# on those sparsities, and random masks of the same density (litelab bench). Per-call time,
# full-generation self-attention time (4000 calls = 40 layers x 50 steps x 2 CFG passes) and
# the runtime improvement next to the paper's 18 / 40 / 56 / 77 %.
# Results: RESULTS/ablation/, where RESULTS is $LITELAB_RESULTS, else results/ at the repository
# root (not committed), or experiments/results/ (the committed results) with --commit-results.
#
#   usage: experiments/ablation.sh [--commit-results] [--run-only RAW | --finish-only RAW | --help]
#
#   experiments/ablation.sh                    run (GPU) and write the results
#   experiments/ablation.sh --run-only RAW     only the GPU part, raw outputs into RAW/ablation
#   experiments/ablation.sh --finish-only RAW  only the tables and the figure, from RAW/ablation
#   --help prints this and does nothing else.
#
# Steps of the GPU part:
#   1. the threshold sweep (experiments/threshold_sweep.sh) unless RAW/sweep holds it;
#   2. the thresholds whose last-step sparsity is each target, interpolated over the sweep
#      (exp_tools.py refine), and a replay of LiteAttention at exactly those (refine.json);
#   3. litelab bench: random masks at the targets' densities, and at the refined masks' when
#      they are more than 3 points away.
# EXP_SMOKE=1 runs the same on a tiny CPU trajectory (no bench: it needs a GPU).
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
NAME=ablation
EST_REFINE_S=${EST_REFINE_S:-30}   # GPU seconds, estimated: refine replay (5 steps, 4 policies + dense)
EST_BENCH_S=${EST_BENCH_S:-25}     # litelab bench at Wan 720p, dense + full + ~5 random masks

run_part() {
    local root=$1 raw=$1/ablation
    mkdir -p "$raw"
    provenance "$raw/provenance.txt" "$EXP_CMD (part $NAME)"
    if [ ! -f "$root/sweep/sweep_tables/calls.csv" ]; then
        "$EXP_DIR/threshold_sweep.sh" --run-only "$root" || log "$NAME: the sweep failed"
    fi
    [ -f "$root/sweep/sweep_tables/calls.csv" ] || { log "$NAME: no sweep, nothing to refine"; return 1; }
    $PY "$TOOLS" refine "$root/sweep/sweep.json" "$root/sweep/sweep_tables/calls.csv" "$raw/refine.json" \
        "$raw/refine_selection.json" | tee "$raw/refine_selection.txt" >&2
    if fits "$EST_REFINE_S"; then
        if run_experiment "$raw/refine.json" "$raw/refine.h5" "$raw/refine.log"; then :; fi
        local t
        if t=$(trace_of "$raw/refine.h5"); then tables "$t" "$raw/refine_tables"; fi
    else
        log "$NAME: skipping the refined replay (${EST_REFINE_S}s estimated, $(exp_left)s left); the table will use the sweep's nearest calls"
    fi
    if [ "$EXP_SMOKE" = 1 ]; then
        log "$NAME: smoke mode: no litelab bench (random masks need a GPU)"
        return 0
    fi
    if ! fits "$EST_BENCH_S"; then
        log "$NAME: skipping the random-mask bench (${EST_BENCH_S}s estimated, $(exp_left)s left)"
        return 0
    fi
    local kept
    kept=$($PY "$TOOLS" bench-kept "$raw/refine_tables/calls.csv")
    log "$NAME: litelab bench --shapes wan720 --masks random --kept $kept"
    echo "litelab bench --shapes wan720 --masks random --kept $kept --warmup 1 --reps 10" > "$raw/bench_command.txt"
    limited "$LITELAB" bench --shapes wan720 --masks random --kept "$kept" --warmup 1 --reps 10 \
        -o "$raw/bench_random.csv" > "$raw/bench.log" 2>&1 || log "$NAME: bench failed (exit $?): $(tail -2 "$raw/bench.log")"
    log "$NAME: bench: $(grep -c ",random," "$raw/bench_random.csv" 2>/dev/null || true) random-mask rows"
}

finish_part() {
    local raw=$1/ablation
    [ -d "$raw" ] || die "$NAME: no $raw"
    rm -rf "$RESULTS"
    mkdir -p "$RESULTS"
    local f
    for f in refine.json refine_selection.json refine_selection.txt refine.log bench_random.csv bench.log \
             bench_command.txt; do
        [ -f "$raw/$f" ] && cp "$raw/$f" "$RESULTS/"
    done
    { cat "$raw/provenance.txt"; echo "finished with: experiments/$NAME.sh --finish-only (tables, figures)"; } \
        > "$RESULTS/provenance.txt"
    $PY "$TOOLS" ablation-table "$1" "$RESULTS"
    local t
    if t=$(trace_of "$raw/refine.h5"); then
        cp "$t" "$RESULTS/refine.h5"
        report "$RESULTS/refine.h5" "$RESULTS/report"
    fi
    figure
    scrub "$RESULTS"
}

# The figure: time relative to dense against sparsity (experiments/ablation.gp).
figure() {
    local title="Self-attention time against sparsity, B=1 H=40 N=75600 D=128"
    [ "$EXP_SMOKE" = 1 ] && title="$title (CPU smoke test: tiny shape)"
    plot "$RESULTS" "$EXP_DIR/ablation.gp" \
        "data='ablation_points.dat'; out_png='ablation.png'; out_svg='ablation.svg'; plot_title='$title'" || die "$NAME: gnuplot failed"
    log "$NAME: figure $RESULTS/ablation.png"
}

main "$@"
