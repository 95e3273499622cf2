#!/usr/bin/env bash
# calibration.sh: error-budget calibration, CPU only (about 2 minutes on 2 cores).
#   1. litelab run experiments/calibration_maps.json: a Wan-shaped miniature trajectory with the
#      dense tile maps of every call recorded, and LiteAttention at thresholds -12, -8, -4;
#   2. litelab calibrate on those maps with a per-step budget (0.05) and with an accumulated
#      budget (0.25): a per-step threshold schedule each, verified by a real replay (--verify);
#      the prediction and the replay side by side;
#   3. litelab calibrate --predict T for T = -12, -8, -4: the sparsity a constant threshold is
#      predicted to produce, against the replays of step 1.
# Results: RESULTS/calibration/ (calibration.md ties them together; the folder is replaced),
# where RESULTS is $LITELAB_RESULTS, else results/ at the repository root (not committed), or
# experiments/results/ (the committed results) with --commit-results.
#
#   usage: experiments/calibration.sh [--commit-results] [--help]
#
#   --help prints this and does nothing else.
#
# The screening's skipped ratio is an upper bound of the replay's (analysis/calibrate.h): the
# maps give each tile's weight relative to its row's final maximum, the kernel's criterion
# compares with the running maximum of the tiles visited so far.
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
NAME=calibration
for arg in "$@"; do
    case "$arg" in
    -h|--help) exp_usage; exit 0 ;;
    --commit-results) export EXP_COMMIT_RESULTS=1 ;;
    *) echo "calibration.sh: unknown option '$arg' ($0 --help)" >&2; exit 2 ;;
    esac
done
need_litelab
CONFIG=experiments/calibration_maps.json
RESULTS=$(results_root)/$NAME
BUDGET=${BUDGET:-0.05}
ACC_BUDGET=${ACC_BUDGET:-0.25}
THRESHOLDS="-12 -8 -4"

EXP_CMD=${EXP_CMD:-experiments/$NAME.sh${*:+ $*}}
EXP_MODE="CPU (CPU backend, this machine)"
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
provenance "$RESULTS/provenance.txt" "$EXP_CMD"
log "$NAME: tile maps and constant-threshold replays ($CONFIG)"
run_experiment "$CONFIG" "$RESULTS/maps.h5" "$RESULTS/maps.log" || die "$NAME: the maps run failed"
tables "$RESULTS/maps.h5" "$RESULTS/maps_tables"

calibrate() {  # calibrate DIR OPTIONS...: a schedule, verified by a replay
    local dir=$1
    shift
    log "$NAME: litelab calibrate --trace maps.h5 $* -o $(basename "$dir") --verify"
    echo "litelab calibrate --trace $RESULTS/maps.h5 $* -o $dir --verify" > "$RESULTS/$(basename "$dir").command.txt"
    "$LITELAB" calibrate --trace "$RESULTS/maps.h5" "$@" -o "$dir" --verify 2>&1 |
        grep -v '^calibrate: pass' > "$dir.log"
    mv "$dir.log" "$dir/calibrate.log"
    mv "$RESULTS/$(basename "$dir").command.txt" "$dir/command.txt"
}
mkdir -p "$RESULTS/per_step" "$RESULTS/accumulated"
calibrate "$RESULTS/per_step" --budget "$BUDGET"
calibrate "$RESULTS/accumulated" --budget "$ACC_BUDGET" --accumulated
pred=()
for t in $THRESHOLDS; do
    d="$RESULTS/predict_t$t"
    mkdir -p "$d"
    "$LITELAB" calibrate --trace "$RESULTS/maps.h5" --predict "$t" -o "$d" -q > "$d/calibrate.log" 2>&1
    echo "litelab calibrate --trace $RESULTS/maps.h5 --predict $t -o $d" > "$d/command.txt"
    pred+=("$d")
done
$PY "$TOOLS" calibration-table "$RESULTS/per_step" "$RESULTS/per_step.md"
$PY "$TOOLS" calibration-table "$RESULTS/accumulated" "$RESULTS/accumulated.md"
$PY "$TOOLS" predict-table "$RESULTS/maps_tables/calls.csv" "$RESULTS/predict" "${pred[@]}"
# Distinct names, so that the report's labels tell the two replays apart.
cp "$RESULTS/per_step/verified.h5" "$RESULTS/per_step_replay.h5"
cp "$RESULTS/accumulated/verified.h5" "$RESULTS/accumulated_replay.h5"
report "$RESULTS/per_step_replay.h5" "$RESULTS/accumulated_replay.h5" "$RESULTS/report"
rm "$RESULTS/per_step_replay.h5" "$RESULTS/accumulated_replay.h5"

# Figure: per step, predicted and replayed skipped FLOPs of both schedules, thresholds on y2.
plot "$RESULTS" "$EXP_DIR/calibration.gp" "out_png='calibration.png'; out_svg='calibration.svg'" || die "$NAME: gnuplot failed"

{
    echo "# Calibration: per-step thresholds within an error budget"
    echo
    echo "\`litelab calibrate\` screens threshold schedules over the dense tile maps of a trajectory on the CPU and"
    echo "returns the per-step schedule that skips the most FLOPs within an error budget; the schedule is then"
    echo "replayed for real (\`--verify\`: \`litelab run\` of the experiment it writes) and both numbers are reported."
    echo "Trajectory: \`$CONFIG\` (synthetic, not a real model; CPU backend). Error proxy: per call, the largest"
    echo "summed probability mass of the skipped tiles of a query tile (the replay's \`skipped_mass\`); a step's"
    echo "error is its worst call."
    echo
    echo "## Per-step budget $BUDGET (\`per_step/\`)"
    echo
    cat "$RESULTS/per_step.md"
    echo
    echo "## Accumulated budget $ACC_BUDGET over the trajectory (\`accumulated/\`)"
    echo
    cat "$RESULTS/accumulated.md"
    echo
    echo "## Sparsity predicted for a constant threshold (\`--predict\`) against its replay"
    echo
    cat "$RESULTS/predict.md"
    echo
    echo "Replays: the \`lite_t*\` policies of \`maps.h5\` (skipped FLOP ratio per step, both layers). The screening is"
    echo "an upper bound: it reads each tile against its row's final maximum, the kernel against the running maximum."
    echo
    echo "Figure: \`calibration.png\` (skipped FLOPs per step, predicted and replayed, with the schedules)."
    echo "Per-step schedules: \`per_step/schedule.json\`, \`accumulated/schedule.json\`; threshold-to-sparsity curves:"
    echo "\`per_step/curve.csv\`; \`litelab report\` of the replays: \`report/report.md\`."
    echo
    echo "## Provenance"
    echo
    echo '```'
    cat "$RESULTS/provenance.txt"
    echo '```'
} > "$RESULTS/calibration.md"
scrub "$RESULTS"
log "$NAME: $RESULTS/calibration.md"
