#!/usr/bin/env bash
# cpu_speed.sh: the two CPU speed figures, measured on this machine and written with their
# command and output:
#   RESULTS/calibrate_speed.md      make bench-calibrate (threshold screening: a sweep of 1,000
#                                   schedules over Wan 720p-shaped tile maps, 50 steps x 4 layers
#                                   x 40 heads)
#   RESULTS/cpu_reference_speed.md  make bench-reference (the CPU reference attention, 4096
#                                   tokens, 8 heads, D=128)
# where RESULTS is $LITELAB_RESULTS, else results/ at the repository root (not committed), or
# experiments/results/ (the committed results) with --commit-results.
#
#   usage: experiments/cpu_speed.sh [--commit-results] [calibrate|reference]...   (default: both)
#          experiments/cpu_speed.sh --help   (prints this and does nothing else)
#
# BUILD (default build) is the build folder the Makefile uses. The machine should be otherwise
# idle: the figures are wall-clock times.
set -euo pipefail
source "$(dirname "$0")/exp_common.sh"
BUILD=${BUILD:-build}
what=()
for arg in "$@"; do
    case "$arg" in
    -h|--help) exp_usage; exit 0 ;;
    --commit-results) export EXP_COMMIT_RESULTS=1 ;;
    calibrate|reference) what+=("$arg") ;;
    *) echo "cpu_speed.sh: unknown figure or option '$arg' (calibrate, reference; --help)" >&2; exit 2 ;;
    esac
done
[ ${#what[@]} -gt 0 ] || what=(calibrate reference)
OUTDIR=$(results_root)
mkdir -p "$OUTDIR"

# The machine may be shared: wait (up to WAIT_IDLE seconds, default 900) for the 1-minute load
# average to fall below 0.5, and write the load averages before and after into the file.
wait_idle() {
    local waited=0
    while awk '{ exit !($1 >= 0.5) }' /proc/loadavg && [ "$waited" -lt "${WAIT_IDLE:-900}" ]; do
        sleep 10
        waited=$((waited + 10))
    done
    LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
}

machine() {
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "- machine: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB memory"
    echo "- load average (1, 5, 15 min) before: $LOAD_BEFORE; after (the benchmark's own threads included): $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- litelab: $(git rev-parse --short=12 HEAD 2>/dev/null)$(git diff --quiet HEAD -- lib analysis traces experiments/bench_calibrate.c experiments/bench_reference.c 2>/dev/null || echo ' (with local changes)')"
}

for w in "${what[@]}"; do
    case "$w" in
    calibrate)
        output=$(mktemp)
        make BUILD="$BUILD" "$BUILD/bench_calibrate" > /dev/null
        wait_idle
        start=$(date +%s)
        /usr/bin/time -v "$BUILD/bench_calibrate" > "$output" 2> "$output.time"
        wall=$(( $(date +%s) - start ))
        {
            echo "# Speed of threshold screening (litelab calibrate) on the CPU"
            echo
            echo "Command: \`make BUILD=$BUILD bench-calibrate\` (runs \`$BUILD/bench_calibrate\` with its defaults:"
            echo "Wan 720p-shaped maps, 50 steps x 4 layers x 40 heads, 128x64 tiles, 1,000 random per-step schedules)."
            echo "Written by \`experiments/cpu_speed.sh calibrate\`."
            echo
            machine
            echo "- whole program: ${wall} s wall, peak memory $(awk '/Maximum resident/ {printf "%.1f GiB", $6 / 1048576}' "$output.time")"
            echo
            echo "The headline figure is the \`sweep:\` line: 1,000 threshold configurations evaluated over the"
            echo "screening table of the maps. The table is built once first (\`table:\`, map generation included);"
            echo "the maps come from the statistical tile-map model (\`ll_calib_model\`, see"
            echo "\`experiments/bench_calibrate.c\`): real maps of this shape would need a Wan run's Q and K."
            echo
            echo '```'
            grep -E '^(sweep|RESULT):' "$output"
            echo '```'
            echo
            echo "Full output:"
            echo
            echo '```'
            cat "$output"
            echo '```'
        } > "$OUTDIR/calibrate_speed.md"
        rm -f "$output" "$output.time"
        echo "wrote $OUTDIR/calibrate_speed.md"
        ;;
    reference)
        output=$(mktemp)
        make BUILD="$BUILD" "$BUILD/bench_reference" > /dev/null
        wait_idle
        "$BUILD/bench_reference" > "$output"
        {
            echo "# Speed of the CPU reference attention"
            echo
            echo "Command: \`make BUILD=$BUILD bench-reference\` (runs \`$BUILD/bench_reference\` with its defaults:"
            echo "B=1, N=4096, H=8, D=128, bf16 inputs, fp32 arithmetic, 128x176 tiles, best of 3)."
            echo "Written by \`experiments/cpu_speed.sh reference\`."
            echo
            machine
            echo
            echo "Rows: \`dense\` (no list), \`full+crit\` (the full read list with the skip criterion and the write"
            echo "list), \`sparse\` (a random read list keeping half of each row's key tiles). GFLOP/s counts the"
            echo "FLOPs of the tiles computed."
            echo
            echo '```'
            cat "$output"
            echo '```'
        } > "$OUTDIR/cpu_reference_speed.md"
        rm -f "$output"
        echo "wrote $OUTDIR/cpu_reference_speed.md"
        ;;
    esac
done
