#!/bin/bash
# check_on_device.sh: every GPU check of the shipped kernels in one go, on a
# machine with an H100 or H200, from the repository root, with the programs
# built on the build machine (nvcc needs no GPU):
#   make -j2 all build/gpu_test dev-kernels device-libs
#   (optional baseline: build/baseline/litelab, a litelab of the commit to compare with)
#   carry: build/litelab build/gpu_test build/dev build/device-libs [build/baseline]
#   bash tests/gpu/check_on_device.sh
# 1. gpu_test, every test, on the portable and the Hopper kernel: every
#    shipped configuration (D = 64, 96, 128; bf16, fp16; dense, skip; both
#    encodings; must-do / must-skip; ties, NaN criteria, rows the fit rule
#    widens), each against the CPU reference;
# 2. litelab bench at (1,40,75600,128), (1,40,32760,128), (1,24,32760,64):
#    Hopper dense, full lists and random lists at k = 0.5; portable dense and
#    full lists; then the same with build/baseline/litelab when it is there,
#    and the ratio new / baseline of every median (same GPU, same run);
# 3. compute-sanitizer memcheck and racecheck over `gpu_test --tiny`, both
#    kernels;
# 4. each kernels/dev program once (every earlier version checked against
#    the CPU reference and timed next to the shipped kernel).
# Everything goes to stdout, and into at most 7 files in $OUT (else
# build/device-logs). Exit status 0 only if every check passed.
set -o pipefail
out=${OUT:-build/device-logs}
mkdir -p "$out"
export LD_LIBRARY_PATH="$PWD/build/device-libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
status=0
summary="$out/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
# step NAME LOG TIMEOUT COMMAND...: runs it, output to stdout and appended to LOG
step() {
    local name=$1 log=$2 limit=$3
    shift 3
    echo "==== $name: $*" | tee -a "$log"
    local t0=$SECONDS
    timeout "$limit" "$@" 2>&1 | tee -a "$log"
    local rc=$?
    note "$name: exit $rc, $((SECONDS - t0)) s"
    [ $rc -eq 0 ] || status=1
}

for f in build/litelab build/gpu_test build/dev/portable_attention_versions build/dev/hopper_attention_versions; do
    [ -x "$f" ] || { echo "check_on_device: $f is missing (build it here and carry it; see the header)"; exit 2; }
done
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv | tee "$summary"
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1)
kernels="portable"
[ "$cc" = "9.0" ] && kernels="portable hopper"
note "compute capability $cc: kernels under test: $kernels"

# 1. the GPU tests
for k in $kernels; do
    step "gpu_test --kernel $k" "$out/gpu_tests.log" 150 ./build/gpu_test --no-bench --kernel "$k"
done

# 2. litelab bench, new and baseline
bench_args=(--shapes wan720,wan480,h24d64 --masks random --reps 10 --warmup 2)
run_bench() {  # BINARY CSV LABEL
    local bin=$1 csv=$2 label=$3 first=1
    for k in $kernels; do
        local kept=1
        [ "$k" = hopper ] && kept=1,0.5
        local append=()
        [ $first -eq 0 ] && append=(--append)
        step "bench $label $k" "$out/bench.log" 120 "$bin" bench "${bench_args[@]}" --kept "$kept" --kernel "$k" \
            -o "$csv" "${append[@]}"
        first=0
    done
}
run_bench ./build/litelab "$out/bench_new.csv" new
if [ -x build/baseline/litelab ]; then
    run_bench ./build/baseline/litelab "$out/bench_baseline.csv" baseline
    [ -f "$out/bench_new.csv" ] && [ -f "$out/bench_baseline.csv" ] && {
        echo "==== bench: median ms, this build / baseline (same GPU, same run)"
        printf "%-20s %-6s %6s %4s %-6s %-6s %5s %10s %10s %7s\n" kernel H N D mode mask kept new_ms base_ms ratio
        awk -F, 'NR == FNR { if (FNR > 1) base[$1 FS $5 FS $6 FS $7 FS $9 FS $10 FS $15] = $11; next }
                 FNR > 1 { k = $1 FS $5 FS $6 FS $7 FS $9 FS $10 FS $15
                           if (k in base) printf "%-20s %-6s %6s %4s %-6s %-6s %5s %10.3f %10.3f %7.3f\n",
                                                 $1, $5, $6, $7, $10, $9, $15, $11, base[k], $11 / base[k] }' \
            "$out/bench_baseline.csv" "$out/bench_new.csv"
    } 2>&1 | tee -a "$out/bench.log" | tee -a "$summary"
else
    note "no build/baseline/litelab: compare $out/bench_new.csv with experiments/results/kernel_bench_h200.csv (H200)"
fi

# 3. compute-sanitizer over a few small cases
for k in $kernels; do
    for tool in memcheck racecheck; do
        step "compute-sanitizer --tool $tool, gpu_test --tiny --kernel $k" "$out/sanitizers.log" 120 \
            compute-sanitizer --tool "$tool" --error-exitcode 99 ./build/gpu_test --tiny --no-bench --kernel "$k"
    done
done

# 4. the earlier kernel versions
step "dev: portable versions" "$out/dev_kernels.log" 150 ./build/dev/portable_attention_versions
[ "$cc" = "9.0" ] && step "dev: hopper versions" "$out/dev_kernels.log" 150 ./build/dev/hopper_attention_versions

echo "==== summary"
cat "$summary"
grep -hE "passed, .* failed|ERROR SUMMARY|RACECHECK SUMMARY|all checks passed|FAILED" "$out"/*.log | sort | uniq -c
echo "check_on_device: $([ $status -eq 0 ] && echo ALL OK || echo FAILURES)"
exit $status
