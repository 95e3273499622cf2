#!/usr/bin/env bash
# run_suites.sh BUILD: the CUnit suites of a sanitizer build (make test-asan) with every process
# they start (the litelab CLI, forked children) writing its AddressSanitizer, LeakSanitizer and
# UBSan reports to BUILD/sanitizer-logs/. Fails when the suites fail or when any process wrote a
# report (a report in a child process may not change an exit code the suites look at), and
# prints the reports.
set -uo pipefail
[ $# -eq 1 ] && [ -x "$1/test_litelab" ] || { echo "usage: $0 BUILD (with BUILD/test_litelab)" >&2; exit 2; }
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
logs=$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# protect_shadow_gap=0: on a GPU machine the CUDA driver maps memory where ASan keeps its
# shadow gap; without a driver it changes nothing.
export ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1:protect_shadow_gap=0:log_path=$logs/asan"
export LSAN_OPTIONS="suppressions=$here/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LITELAB_UBSAN_LOG_DIR=$logs  # tests/sanitizer/ubsan_report_log.c
(cd "$here/.." && "$build/test_litelab")
status=$?
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
    for f in $reports; do
        echo "==== $f"
        cat "$f"
    done
    echo "run_suites.sh: $(echo "$reports" | wc -l) sanitizer report(s) above" >&2
    exit 1
fi
[ "$status" -eq 0 ] || { echo "run_suites.sh: the suites failed (exit $status)" >&2; exit "$status"; }
echo "run_suites.sh: the suites passed with no sanitizer report"
