#!/usr/bin/env bash
# One call on the GPU machine: build, run every test (GPU tests must run, not skip), benchmark KB84 against
# the real cuDNN and PyTorch. Logs go to $OUT (default ./gpu-logs); a short table is printed last.
# Env: CASES (suite file), BENCH_ARGS (extra arguments for both benchmarks), CUDA_ARCHS, FUZZ_CONFIGS (configs
# per API for the long differential-fuzzer run, 0 to skip), MEMCHECK_CONFIGS (fuzz configs per API under
# compute-sanitizer memcheck, 0 to skip).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
CASES=${CASES:-../shared/bench/cases.csv}
PY=$(command -v python3)
if [ -d .whl ] && ! "$PY" -c "import pytest" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl &&
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
bash scripts/gpu_build.sh || exit 1
DWSHIM_TEST_REPORT="$OUT/preload_report.txt" ctest --test-dir build --output-on-failure -V >"$OUT/ctest.log" 2>&1
ctest_rc=$?
fuzz_rc=0
if [ "${FUZZ_CONFIGS:-0}" -gt 0 ]; then
  DWSHIM_ROUTE=all DWSHIM_FUZZ_CONFIGS="$FUZZ_CONFIGS" timeout 300 build/tests/dwshim_gpu_tests \
    --gtest_filter='*Fuzz*' >"$OUT/fuzz.log" 2>&1
  fuzz_rc=$?
fi
memcheck_rc=0
if [ "${MEMCHECK_CONFIGS:-0}" -gt 0 ]; then
  DWSHIM_ROUTE=all DWSHIM_FUZZ_CONFIGS="$MEMCHECK_CONFIGS" timeout 300 compute-sanitizer --tool memcheck \
    --error-exitcode 99 --print-limit 20 build/tests/dwshim_gpu_tests \
    --gtest_filter='*Fuzz*:Capture.*:LegacyForward.RandomMisaligned*:LegacyForward.RandomLargeFilter*' \
    >"$OUT/memcheck.log" 2>&1
  memcheck_rc=$?
fi
DWSHIM_ROUTE=all build/bench/dwshim_bench_cudnn "$CASES" ${BENCH_ARGS:---case kb84 --dtype f32 --layout nchw} \
  --csv "$OUT/bench_cudnn.csv" >"$OUT/bench_cudnn.log" 2>&1
"$PY" bench/bench_torch.py --cases "$CASES" ${BENCH_ARGS:---case kb84 --dtype f32 --layout nchw} \
  --csv "$OUT/bench_torch.csv" >"$OUT/bench_torch.log" 2>&1
"$PY" bench/bench_hook.py --csv "$OUT/bench_hook.csv" >"$OUT/bench_hook.log" 2>&1
echo "=== tests"
grep -E "random configs|passed|failed|skipped|Skipped|\*\*\*Failed|tests passed" "$OUT/ctest.log" | grep -v "^[0-9]*: \[ *OK" | tail -25
echo "=== differential fuzzer (rc $fuzz_rc) and compute-sanitizer memcheck (rc $memcheck_rc)"
grep -E "random configs|FAILED|Failure" "$OUT/fuzz.log" 2>/dev/null | head -10
grep -E "random configs|ERROR SUMMARY|FAILED" "$OUT/memcheck.log" 2>/dev/null | head -10
echo "=== test reports (LD_PRELOAD programs with DWSHIM_ROUTE=all; dwshim-run programs with the default policy)"
cat "$OUT/preload_report.txt" 2>/dev/null
echo "=== through both cuDNN APIs: dwshim vs the real cuDNN"
cat "$OUT/bench_cudnn.log"
echo "=== from PyTorch: dwshim (ctypes) vs F.conv2d"
cat "$OUT/bench_torch.log"
echo "=== PyTorch hook: cost and saving per call"
cat "$OUT/bench_hook.log"
echo "=== summary"
"$PY" bench/report.py "$OUT/bench_cudnn.csv" "$OUT/bench_torch.csv" --csv "$OUT/summary.csv" | tee "$OUT/summary.txt"
[ $ctest_rc -eq 0 ] && [ $fuzz_rc -eq 0 ] && [ $memcheck_rc -eq 0 ]
