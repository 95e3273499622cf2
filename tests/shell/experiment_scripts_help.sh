#!/usr/bin/env bash
# experiment_scripts_help.sh: every experiment script (experiments/*.sh, experiments/*/*.sh and
# experiments/*.py; the DiT's Python programs in experiments/dit need torch and are left out)
# honours --help: exit 0, its usage printed (a "usage:" line naming the script), and nothing
# else done. Without a build (LITELAB points
# nowhere), with LITELAB_RESULTS, TMPDIR and OUT pointing into an empty sandbox: nothing may
# appear there, and nothing under experiments/results/ or results/ may change. An unknown
# option is refused the same way (exit 2, nothing done). Then the results folder the scripts
# write to: results/ by default, $LITELAB_RESULTS, experiments/results/ only when asked.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
fail() { echo "experiment_scripts_help.sh: FAILED: $*" >&2; failed=1; }
failed=0

# Every file and folder with its size, mode and modification time.
snapshot() { { find experiments/results results -printf '%p %s %m %T@\n' 2>/dev/null || true; } | sort | sha256sum; }
sandbox=$(mktemp -d "${TMPDIR:-/tmp}/litelab_help_XXXXXX")
trap 'rm -rf "$sandbox"' EXIT
mkdir -p "$sandbox/results" "$sandbox/tmp"
before=$(snapshot)

n=0
scripts=(experiments/*.sh experiments/*/*.sh experiments/*.py)
for script in "${scripts[@]}"; do
    name=$(basename "$script")
    run=bash
    case "$name" in *.py) run=python3 ;; esac
    for args in --help --no-such-option; do
        rc=0
        LITELAB=/nonexistent/litelab LITELAB_RESULTS="$sandbox/results" TMPDIR="$sandbox/tmp" \
            OUT="$sandbox/out" timeout 60 "$run" "$script" "$args" > "$sandbox/stdout" 2> "$sandbox/stderr" || rc=$?
        if [ "$args" = --help ]; then
            [ "$rc" -eq 0 ] || fail "$name --help exited $rc: $(head -3 "$sandbox/stderr")"
            grep -q "usage: .*$name" "$sandbox/stdout" || fail "$name --help prints no 'usage: ... $name' line"
        else
            [ "$rc" -eq 2 ] || fail "$name $args exited $rc, not 2 (usage error)"
        fi
        left=$(cd "$sandbox" && find results tmp out -mindepth 1 2>/dev/null | head -3 || true)
        [ -z "$left" ] && [ ! -e "$sandbox/out" ] || fail "$name $args wrote: $left"
        [ "$(snapshot)" = "$before" ] || fail "$name $args changed experiments/results/ or results/"
        n=$((n + 1))
    done
done

# results_root: where a script's results go.
root() { (unset LITELAB_RESULTS EXP_COMMIT_RESULTS; cd "$1"; env "${@:2}" bash -c \
    'source "$0/experiments/exp_common.sh"; results_root' "$repo"); }
[ "$(root "$repo")" = "$repo/results" ] || fail "default results folder is $(root "$repo"), not results/"
[ "$(root "$sandbox" LITELAB_RESULTS=mine)" = "$sandbox/mine" ] ||
    fail "a relative LITELAB_RESULTS is not taken from the current folder: $(root "$sandbox" LITELAB_RESULTS=mine)"
[ "$(root "$repo" EXP_COMMIT_RESULTS=1 LITELAB_RESULTS=/x)" = "$repo/experiments/results" ] ||
    fail "--commit-results does not write experiments/results/"
git -C "$repo" check-ignore -q results/x 2>/dev/null || [ ! -d "$repo/.git" ] || fail "results/ is not ignored by git"

[ "$failed" = 0 ] || exit 1
echo "experiment_scripts_help.sh: $n runs of ${#scripts[@]} scripts: --help and bad options did nothing else"
