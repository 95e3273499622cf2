#!/bin/bash
# run_on_device.sh: every GPU check of one kernel in one go on a machine with
# a GPU, from the repository root, after building elsewhere (nvcc needs no GPU):
#   make all build/gpu_test device-libs      # on the build machine; carry build/
#   tests/gpu/run_on_device.sh [LOG_DIR] [small|tests|full|bench] [portable|hopper]
# small: gpu_test --small; tests: every test; full: tests and timings; bench:
# timings only. Except for bench, compute-sanitizer memcheck and racecheck run
# over `gpu_test --tiny` after. Logs go to LOG_DIR (default: $OUT when set,
# else build/), named <kernel>_*.log. SANITIZERS="memcheck" runs fewer tools.
# Exit status 0 only if all passed.
set -o pipefail
log_dir=${1:-${OUT:-build}}
mode=${2:-full}
kernel=${3:-portable}
mkdir -p "$log_dir"
# shared libraries the GPU machine's image may lack (make device-libs)
export LD_LIBRARY_PATH="$PWD/build/device-libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
status=0
args=(--kernel "$kernel")
log="$log_dir/${kernel}_gpu_test.log"
case "$mode" in
small) args+=(--small) ;;
tests) args+=(--no-bench) ;;
bench) args+=(--bench-only); log="$log_dir/${kernel}_gpu_bench.log" ;;
full) ;;
*) echo "run_on_device: mode '$mode' is not small, tests, full or bench" >&2; exit 2 ;;
esac
timeout "${GPU_TEST_TIMEOUT:-330}" ./build/gpu_test "${args[@]}" 2>&1 | tee "$log" | grep -E "FAIL|passed, .* failed|under test|tests took" || status=1
if [ "$mode" != bench ]; then
    for tool in ${SANITIZERS:-memcheck racecheck}; do
        echo "== compute-sanitizer --tool $tool ./build/gpu_test --tiny --no-bench --kernel $kernel"
        timeout "${SANITIZER_TIMEOUT:-120}" compute-sanitizer --tool "$tool" --error-exitcode 99 \
            ./build/gpu_test --tiny --no-bench --kernel "$kernel" > "$log_dir/${kernel}_$tool.log" 2>&1
        rc=$?
        grep -E "ERROR SUMMARY|RACECHECK SUMMARY|passed, .* failed" "$log_dir/${kernel}_$tool.log" | tail -3
        [ $rc -eq 0 ] || { echo "$tool: exit status $rc"; status=1; }
    done
fi
echo "run_on_device ($kernel, $mode): $([ $status -eq 0 ] && echo ALL OK || echo FAILURES)"
exit $status
