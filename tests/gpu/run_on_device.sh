#!/bin/bash
# run_on_device.sh: every GPU check in one go on a machine with a GPU, from
# the repository root, after building elsewhere (nvcc needs no GPU):
#   make build/gpu_test device-libs      # on the build machine; carry build/
#   tests/gpu/run_on_device.sh [LOG_DIR] [small|full|bench]
# Runs the GPU tests (with the timings unless `small`), then compute-sanitizer
# memcheck and racecheck over `gpu_test --small`. Logs go to LOG_DIR
# (default: $OUT when set, else build/). Exit status 0 only if all passed.
set -o pipefail
log_dir=${1:-${OUT:-build}}
mode=${2:-full}
mkdir -p "$log_dir"
# shared libraries the GPU machine's image may lack (make device-libs)
export LD_LIBRARY_PATH="$PWD/build/device-libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv
status=0
case "$mode" in
small) timeout "${GPU_TEST_TIMEOUT:-330}" ./build/gpu_test --small 2>&1 | tee "$log_dir/gpu_test.log" || status=1 ;;
bench) timeout "${GPU_TEST_TIMEOUT:-330}" ./build/gpu_test --bench-only 2>&1 | tee "$log_dir/gpu_bench.log" || status=1 ;;
*) timeout "${GPU_TEST_TIMEOUT:-330}" ./build/gpu_test 2>&1 | tee "$log_dir/gpu_test.log" || status=1 ;;
esac
if [ "$mode" != bench ]; then
    for tool in memcheck racecheck; do
        echo "== compute-sanitizer --tool $tool ./build/gpu_test --small"
        timeout "${SANITIZER_TIMEOUT:-120}" compute-sanitizer --tool "$tool" --error-exitcode 99 ./build/gpu_test --small \
            > "$log_dir/$tool.log" 2>&1
        rc=$?
        grep -E "ERROR SUMMARY|RACECHECK SUMMARY|passed, .* failed" "$log_dir/$tool.log" | tail -3
        [ $rc -eq 0 ] || { echo "$tool: exit status $rc"; status=1; }
    done
fi
echo "run_on_device: $([ $status -eq 0 ] && echo ALL OK || echo FAILURES)"
exit $status
