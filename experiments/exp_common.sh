# exp_common.sh: shared by the experiment scripts (sourced, not run).
#
#   usage: source experiments/exp_common.sh   (from an experiments/*.sh script)
#
# Where results go (results_root): $LITELAB_RESULTS when set, else results/ at the repository
# root (ignored by git); the committed experiments/results/ only when a script is given
# --commit-results. Every script takes --help (its header, nothing run) and --commit-results.
#
# Environment:
#   LITELAB     the litelab executable (default build/litelab; relative to the repository root)
#   LITELAB_RESULTS  the results folder (relative to the current folder; default results/)
#   EXP_SMOKE   1: CPU smoke mode: the same pipeline on tiny synthetic trajectories and the CPU
#               backend (what `run_gpu_experiments.sh --cpu-smoke` sets), to test the scripts
#   EXP_T0      start time (epoch seconds) the timestamps count from; set once by the first script
#   EXP_DEADLINE_S  seconds after EXP_T0 by which every litelab command must have ended (parts
#               that would not fit are skipped; a command still running then is stopped, and a
#               stopped `litelab run` leaves its finished steps in TRACE.partial)
set -u
if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # run, not sourced
    sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'
    case "${1:-}" in -h|--help) exit 0 ;; *) exit 2 ;; esac
fi
EXP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$EXP_DIR/.." && pwd)
EXP_CALLER_DIR=$PWD  # relative paths the user gave are relative to it; the scripts run in REPO_DIR
if [ -n "${LITELAB_RESULTS:-}" ]; then
    case "$LITELAB_RESULTS" in /*) ;; *) LITELAB_RESULTS="$PWD/$LITELAB_RESULTS" ;; esac
    export LITELAB_RESULTS
fi
cd "$REPO_DIR"
LITELAB=${LITELAB:-build/litelab}
case "$LITELAB" in /*) ;; *) LITELAB="$REPO_DIR/$LITELAB" ;; esac
EXP_SMOKE=${EXP_SMOKE:-0}
EXP_T0=${EXP_T0:-$(date +%s)}
EXP_DEADLINE_S=${EXP_DEADLINE_S:-100000}
export EXP_T0 EXP_SMOKE EXP_DEADLINE_S LITELAB
PY=${PYTHON:-python3}
TOOLS="$EXP_DIR/exp_tools.py"
# Shared libraries a GPU machine's image may lack (make device-libs), as bench_kernel.sh does.
if [ -d "$REPO_DIR/build/device-libs" ]; then
    export LD_LIBRARY_PATH="$REPO_DIR/build/device-libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# The gnuplot scripts `litelab report` runs (a LITELAB outside build/ would not find them).
export LITELAB_GNUPLOT_DIR=${LITELAB_GNUPLOT_DIR:-$REPO_DIR/analysis}

exp_elapsed() { echo $(( $(date +%s) - EXP_T0 )); }
exp_left() { echo $(( EXP_DEADLINE_S - $(exp_elapsed) )); }
# Progress on stderr with the wall clock and the seconds since EXP_T0.
log() { printf '[%s +%4ds] %s\n' "$(date -u +%H:%M:%S)" "$(exp_elapsed)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# fits SECONDS: whether a piece estimated to take SECONDS ends before the deadline.
fits() { [ $(( $(exp_elapsed) + $1 )) -le "$EXP_DEADLINE_S" ]; }

# limited CMD...: runs CMD, stopped (TERM, then KILL 5 s later) at the deadline.
limited() {
    local left
    left=$(exp_left)
    [ "$left" -gt 0 ] || { log "deadline reached: not running $*"; return 124; }
    timeout -k 5 "$left" "$@"
}

# need_litelab: the scripts check for the program only once they are about to run it (--help
# needs no build).
need_litelab() {
    [ -x "$LITELAB" ] || die "$LITELAB not found or not executable: build first (make), or set LITELAB"
}

# exp_usage: the calling script's header comment (from line 2 to its `set -` line).
exp_usage() { sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# results_root: where results go (see the top of this file). --commit-results sets
# EXP_COMMIT_RESULTS=1, exported so that the scripts a script runs write to the same place.
results_root() {
    if [ "${EXP_COMMIT_RESULTS:-0}" = 1 ]; then
        echo "$REPO_DIR/experiments/results"
    else
        echo "${LITELAB_RESULTS:-$REPO_DIR/results}"
    fi
}

# provenance FILE COMMAND: what produced a result (command, date, machine, GPU, litelab).
provenance() {
    local file=$1 cmd=$2 gpu
    gpu=$(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader 2>/dev/null |
          head -1 || true)
    {
        echo "command: $cmd"
        echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        echo "litelab: $("$LITELAB" --version 2>/dev/null | head -1)"
        echo "gpu: ${gpu:-none (CPU backend)}"
        echo "cpu: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //') ($(nproc) cores)"
        echo "os: $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
        echo "mode: ${EXP_MODE:-$([ "$EXP_SMOKE" = 1 ] && echo 'CPU smoke test (tiny shapes, CPU backend)' || echo 'GPU (CUDA backend)')}"
    } > "$file"
}

# run_experiment CONFIG TRACE LOG [litelab run options]: litelab run, its output in LOG.
run_experiment() {
    local cfg=$1 trace=$2 logf=$3
    shift 3
    log "litelab run $(basename "$cfg") -> $(basename "$trace")"
    rm -f "$trace" "$trace.partial"
    local rc=0
    limited "$LITELAB" run "$cfg" -o "$trace" --no-checkpoints "$@" > "$logf" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
        log "  done: $(grep -c . "$logf") lines of output in $(basename "$logf")"
        return 0
    fi
    log "  litelab run failed or was stopped (exit $rc); tail of $(basename "$logf"):"
    tail -5 "$logf" >&2
    return "$rc"
}

# tables TRACE... DIR: litelab report --no-figures (CSV and Markdown only; no gnuplot needed).
# A trace that is a .partial (a run stopped at the deadline) leaves DIR/PARTIAL, which the tables mention.
tables() {
    local n=$(( $# - 1 )) dir=${!#} t
    "$LITELAB" report "${@:1:$n}" -o "$dir" --no-figures -q
    for t in "${@:1:$n}"; do
        case "$t" in *.partial) echo "$t" >> "$dir/PARTIAL" ;; esac
    done
}

# the trace of a run: TRACE if complete, else TRACE.partial if a stopped run left one.
trace_of() {
    if [ -f "$1" ]; then echo "$1"; elif [ -f "$1.partial" ]; then echo "$1.partial"; else return 1; fi
}

# report TRACE... DIR: litelab report with figures (needs gnuplot), options from the array
# REPORT_OPTS; replot.sh then names the gnuplot scripts relative to DIR, so that the committed
# folder replots from any checkout.
REPORT_OPTS=()
report() {
    local n=$(( $# - 1 )) dir=${!#} rel
    "$LITELAB" report "${@:1:$n}" -o "$dir" -q ${REPORT_OPTS[@]+"${REPORT_OPTS[@]}"}
    rel=$(realpath --relative-to="$dir" "$REPO_DIR")
    [ -f "$dir/replot.sh" ] && sed -i "s#$REPO_DIR/#$rel/#g" "$dir/replot.sh"
    log "report: $(ls "$dir"/*.png 2>/dev/null | wc -l) figures in $dir"
}

# main ARGS: the command line every experiment script takes (run_part and finish_part are its
# own): [--commit-results] [--run-only RAW | --finish-only RAW | --help]. Everything is parsed
# before anything runs; RESULTS is set to $(results_root)/$NAME.
main() {
    EXP_CMD=${EXP_CMD:-experiments/$NAME.sh${*:+ $*}}
    local mode=all raw=""
    while [ $# -gt 0 ]; do
        case "$1" in
        -h|--help) exp_usage; exit 0 ;;
        --commit-results) export EXP_COMMIT_RESULTS=1; shift ;;
        --run-only|--finish-only)
            [ $# -ge 2 ] || { echo "$NAME.sh: $1 needs a folder ($0 --help)" >&2; exit 2; }
            mode=${1#--}
            raw=$2
            shift 2 ;;
        *) echo "$NAME.sh: unknown option '$1' ($0 --help)" >&2; exit 2 ;;
        esac
    done
    need_litelab
    RESULTS=$(results_root)/$NAME
    case "$mode" in
    run-only) run_part "$raw" ;;
    finish-only) finish_part "$raw" ;;
    all)
        raw=$(mktemp -d "${TMPDIR:-/tmp}/litelab_${NAME}_XXXXXX")
        log "$NAME: raw outputs in $raw"
        run_part "$raw"
        finish_part "$raw" ;;
    esac
}

# plot DIR SCRIPT.gp 'gnuplot -e assignments': runs an experiments/*.gp script inside DIR (its data
# files are there), with script_dir pointing at analysis/ (style.gp), both relative to DIR.
plot() {
    local dir=$1 script=$2 vars=$3 sdir gp
    sdir=$(realpath --relative-to="$dir" "$REPO_DIR/analysis")
    gp=$(realpath --relative-to="$dir" "$script")
    (cd "$dir" && gnuplot -e "script_dir='$sdir'; $vars" "$gp")
}

# scrub DIR: paths of this checkout in text files under DIR become repository-relative.
scrub() {
    grep -rlF "$REPO_DIR/" "$1" --include='*.log' --include='*.txt' --include='*.md' --include='*.csv' \
        --include='*.json' 2>/dev/null | while read -r f; do sed -i "s#$REPO_DIR/##g" "$f"; done || true
}
