#!/usr/bin/env bash
# policy_comparison.sh: every policy of the harness at matched sparsity, error and time side by
# side, over a Wan2.1-480p-shaped synthetic trajectory (experiments/policy_comparison_wan480p.json:
# 10 steps x 2 layers, 40 heads, CUPTI runtimes, exact FLOP ratios, output errors). This is
# also the GPU experiment of the harness issue: its trace is kept in the results.
# Results: RESULTS/policy_comparison/, where RESULTS is $LITELAB_RESULTS, else results/ at the
# repository root (not committed), or experiments/results/ (the committed results) with
# --commit-results.
#
#   usage: experiments/policy_comparison.sh [--commit-results] [--run-only RAW | --finish-only RAW | --help]
#
#   experiments/policy_comparison.sh                    run (GPU) and write the results
#   experiments/policy_comparison.sh --run-only RAW     only the GPU part, raw outputs into RAW/policies
#   experiments/policy_comparison.sh --finish-only RAW  only the tables and figures, from RAW/policies
#   --help prints this and does nothing else.
#
# GPU part: (1) a tuning pass, every policy at bracketing parameters on a cheaper copy of the
# trajectory (1 layer, 8 heads: one of each head kind of the synthetic pattern); (2) each
# policy's parameter set so its mean sparsity is MATCH_TARGET (default 0.5; exp_tools.py
# matched); (3) the full run. If the tuning pass fails, the template's parameters are used.
# EXP_SMOKE=1 runs the same on a tiny CPU trajectory.
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
NAME=policy_comparison
TEMPLATE=experiments/policy_comparison_wan480p.json
MATCH_TARGET=${MATCH_TARGET:-0.5}
EST_TUNING_S=${EST_TUNING_S:-20}    # GPU seconds, estimated: tuning pass (8 heads, 1 layer, ~30 policies)

run_part() {
    local raw=$1/policies t
    mkdir -p "$raw"
    local smoke=()
    [ "$EXP_SMOKE" = 1 ] && smoke=(--smoke)
    provenance "$raw/provenance.txt" "$EXP_CMD (part $NAME: tuning pass, then litelab run on $TEMPLATE with matched parameters)"
    local tuned=0
    if fits "$EST_TUNING_S"; then
        $PY "$TOOLS" tuning-config "$TEMPLATE" "$raw/tuning.json" ${smoke[@]+"${smoke[@]}"} >&2
        if run_experiment "$raw/tuning.json" "$raw/tuning.h5" "$raw/tuning.log" &&
           tables "$raw/tuning.h5" "$raw/tuning_tables" &&
           $PY "$TOOLS" matched "$TEMPLATE" "$raw/tuning.json" "$raw/tuning_tables/calls.csv" "$raw/matched.json" \
               "$raw/matched_selection.json" --target "$MATCH_TARGET" ${smoke[@]+"${smoke[@]}"} \
               > "$raw/matched_selection.txt"; then
            tuned=1
            cat "$raw/matched_selection.txt" >&2
        fi
    fi
    if [ "$tuned" = 0 ]; then
        log "$NAME: no tuning pass: the template's parameters"
        $PY "$TOOLS" derive "$TEMPLATE" "$raw/matched.json" ${smoke[@]+"${smoke[@]}"} --set output=null
        $PY - "$raw/matched.json" "$raw/matched_selection.json" <<'EOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
sel = {"target": None, "policies": [{"family": p["name"], "kind": p["kind"], "policy": p["name"],
                                     "how": "template parameters (no tuning pass)"} for p in cfg["policies"]]}
json.dump(sel, open(sys.argv[2], "w"), indent=2)
EOF
    fi
    run_experiment "$raw/matched.json" "$raw/matched.h5" "$raw/matched.log" || true
    t=$(trace_of "$raw/matched.h5") || { log "$NAME: no trace"; return 1; }
    tables "$t" "$raw/matched_tables"
    log "$NAME: $(($(wc -l < "$raw/matched_tables/calls.csv") - 1)) trace rows in $(basename "$t")"
}

finish_part() {
    local raw=$1/policies t f
    [ -d "$raw" ] || die "$NAME: no $raw"
    rm -rf "$RESULTS"
    mkdir -p "$RESULTS"
    for f in matched.json matched_selection.json matched_selection.txt matched.log tuning.json tuning.json.index.json \
             tuning.log; do
        [ -f "$raw/$f" ] && cp "$raw/$f" "$RESULTS/"
    done
    [ -f "$raw/tuning_tables/policies.csv" ] && cp "$raw/tuning_tables/policies.csv" "$RESULTS/tuning_policies.csv"
    { cat "$raw/provenance.txt"; echo "finished with: experiments/$NAME.sh --finish-only (tables, figures)"; } \
        > "$RESULTS/provenance.txt"
    t=$(trace_of "$raw/matched.h5") || die "$NAME: no trace under $raw"
    cp "$t" "$RESULTS/matched.h5"
    REPORT_OPTS=(--heatmap-steps "$(masked_steps "$RESULTS/matched.json")")
    report "$RESULTS/matched.h5" "$RESULTS/report"
    $PY "$TOOLS" comparison-table "$1" "$RESULTS"
    scrub "$RESULTS"
}

# The steps the experiment records masks at, comma-separated (for the heatmaps).
masked_steps() {
    $PY -c 'import json,sys; s=json.load(open(sys.argv[1]))["record"]["masks"]["steps"]; print(",".join(map(str, s)))' "$1"
}

main "$@"
