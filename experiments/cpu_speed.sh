#!/usr/bin/env bash
# cpu_speed.sh: the two CPU speed figures, measured on this machine and written with their
# command and output:
#   experiments/results/calibrate_speed.md      make bench-calibrate (threshold screening: a sweep
#                                               of 1,000 schedules over Wan 720p-shaped tile maps,
#                                               50 steps x 4 layers x 40 heads)
#   experiments/results/cpu_reference_speed.md  make bench-reference (the CPU reference attention,
#                                               4096 tokens, 8 heads, D=128)
#
#   experiments/cpu_speed.sh [calibrate|reference]...   (default: both)
#
# BUILD (default build) is the build folder the Makefile uses. The machine should be otherwise
# idle: the figures are wall-clock times.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUTDIR=${RESULTS_DIR:-experiments/results}
mkdir -p "$OUTDIR"
what=${*:-calibrate reference}

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

for w in $what; do
    case "$w" in
    calibrate)
        log=$(mktemp)
        make BUILD="$BUILD" "$BUILD/bench_calibrate" > /dev/null
        wait_idle
        start=$(date +%s)
        /usr/bin/time -v "$BUILD/bench_calibrate" > "$log" 2> "$log.time"
        wall=$(( $(date +%s) - start ))
        {
            echo "# Speed of threshold screening (litelab calibrate) on the CPU"
            echo
            echo "Command: \`make BUILD=$BUILD bench-calibrate\` (runs \`$BUILD/bench_calibrate\` with its defaults:"
            echo "Wan 720p-shaped maps, 50 steps x 4 layers x 40 heads, 128x64 tiles, 1,000 random per-step schedules)."
            echo "Written by \`experiments/cpu_speed.sh calibrate\`."
            echo
            machine
            echo "- whole program: ${wall} s wall, peak memory $(awk '/Maximum resident/ {printf "%.1f GiB", $6 / 1048576}' "$log.time")"
            echo
            echo "The headline figure is the \`sweep:\` line: 1,000 threshold configurations evaluated over the"
            echo "screening table of the maps. The table is built once first (\`table:\`, map generation included);"
            echo "the maps come from the statistical tile-map model (\`ll_calib_model\`, see"
            echo "\`experiments/bench_calibrate.c\`): real maps of this shape would need a Wan run's Q and K."
            echo
            echo '```'
            grep -E '^(sweep|RESULT):' "$log"
            echo '```'
            echo
            echo "Full output:"
            echo
            echo '```'
            cat "$log"
            echo '```'
        } > "$OUTDIR/calibrate_speed.md"
        rm -f "$log" "$log.time"
        echo "wrote $OUTDIR/calibrate_speed.md"
        ;;
    reference)
        log=$(mktemp)
        make BUILD="$BUILD" "$BUILD/bench_reference" > /dev/null
        wait_idle
        "$BUILD/bench_reference" > "$log"
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
            cat "$log"
            echo '```'
        } > "$OUTDIR/cpu_reference_speed.md"
        rm -f "$log"
        echo "wrote $OUTDIR/cpu_reference_speed.md"
        ;;
    *) echo "cpu_speed.sh: unknown figure '$w' (calibrate, reference)" >&2; exit 2 ;;
    esac
done
