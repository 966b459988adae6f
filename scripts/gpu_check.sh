#!/usr/bin/env bash
# One call on the GPU machine: build, run the tests (GPU tests must run, not skip), benchmark against the real
# cuDNN and PyTorch. A short table is printed last. All logs go to $GPU_LOGS (default /tmp/dwshim-gpu-logs); the
# ones worth keeping (7 files: the printed report, ctest log, benchmark CSVs, fuzz/memcheck/pytest logs) are
# copied to $OUT (default ./gpu-logs), which the device tool brings back (it returns at most 8 files).
# Env:
#   CASES             suite file (default bench/suite.csv, a copy of the public suite)
#   BENCH_ARGS        arguments for bench_cudnn and bench_torch (default: KB84 fp32 NCHW forward; --op
#                     fwd,dgrad,wgrad picks directions); BENCH=0 skips them, TORCH_BENCH=0 PyTorch's side,
#                     HOOK_BENCH=0 the hook's bench
#   CTEST_EXCLUDE     ctest -E regex (e.g. '^python_test_' to leave the Python suite to PYTEST_FILES)
#   PYTEST_FILES      test files under tests/python to run directly with pytest (PYTEST_K: their -k expression)
#   FUZZ_CONFIGS      configs per API and shard for the long differential-fuzzer run (0: none)
#   FUZZ_SHARDS       processes with consecutive seeds running the fuzzer at once (default 1)
#   MEMCHECK_CONFIGS  fuzz configs per API under compute-sanitizer memcheck (0: none)
#   TRAIN_BENCH       training-step modes to run bench/bench_train.py in, comma-separated (TRAIN_ARGS: its options)
#   CUDA_ARCHS        architectures to build (default 90)
set -uo pipefail
cd "$(dirname "$0")/.."
DEST=${OUT:-$PWD/gpu-logs}
OUT=${GPU_LOGS:-/tmp/dwshim-gpu-logs}
rm -rf "$OUT"  # no logs of an earlier call mixed in
mkdir -p "$DEST" "$OUT"
CASES=${CASES:-bench/suite.csv}
PY=$(command -v python3)
if [ -d .whl ] && ! "$PY" -c "import pytest" 2>/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl &&
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv | tee "$OUT/gpu.txt"
OUT="$OUT" bash scripts/gpu_build.sh || { cp "$OUT"/configure.log "$OUT"/build.log "$DEST"/ 2>/dev/null; exit 1; }
export DWSHIM_TEST_REPORT="$OUT/test_report.txt"

# ctest runs the GPU tests' shards (tests/CMakeLists.txt) at once.
ctest --test-dir build --output-on-failure -V -j"$(nproc)" --timeout "${CTEST_TIMEOUT:-1500}" \
  ${CTEST_EXCLUDE:+-E "$CTEST_EXCLUDE"} >"$OUT/ctest.log" 2>&1
ctest_rc=$?
pytest_rc=0
if [ -n "${PYTEST_FILES:-}" ]; then
  files=()
  for f in $PYTEST_FILES; do files+=("tests/python/$f"); done
  DWSHIM_LIBRARY="$PWD/build/libdwshim.so" DWSHIM_RUN="$PWD/build/dwshim-run" DWSHIM_ROUTE=all \
    PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" "$PY" -m pytest -q -rs --durations=10 ${PYTEST_K:+-k "$PYTEST_K"} "${files[@]}" \
    >"$OUT/pytest.log" 2>&1
  pytest_rc=$?
fi

fuzz_rc=0
if [ "${FUZZ_CONFIGS:-0}" -gt 0 ]; then
  pids=()
  for shard in $(seq 1 "${FUZZ_SHARDS:-1}"); do
    DWSHIM_ROUTE=all DWSHIM_FUZZ_CONFIGS="$FUZZ_CONFIGS" DWSHIM_TEST_SEED=$((20261125 + shard)) timeout 300 \
      build/tests/dwshim_gpu_tests --gtest_filter='*Fuzz*' >"$OUT/fuzz-$shard.log" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || fuzz_rc=1; done
fi
memcheck_rc=0
if [ "${MEMCHECK_CONFIGS:-0}" -gt 0 ]; then
  DWSHIM_ROUTE=all DWSHIM_FUZZ_CONFIGS="$MEMCHECK_CONFIGS" timeout 240 compute-sanitizer --tool memcheck \
    --error-exitcode 99 --print-limit 20 build/tests/dwshim_gpu_tests \
    --gtest_filter='*Fuzz*:Capture.*:LegacyForward.RandomMisaligned*:LegacyForward.RandomLargeFilter*:Gradients.LegacyGradientsCapture*' \
    >"$OUT/memcheck.log" 2>&1
  memcheck_rc=$?
fi

if [ "${BENCH:-1}" != 0 ]; then
  DWSHIM_ROUTE=all timeout "${BENCH_TIMEOUT:-1800}" build/bench/dwshim_bench_cudnn "$CASES" ${BENCH_ARGS:---case kb84 --dtype f32 --layout nchw} \
    --csv "$OUT/bench_cudnn.csv" >"$OUT/bench_cudnn.log" 2>&1
  [ "${TORCH_BENCH:-1}" != 0 ] && timeout "${BENCH_TIMEOUT:-1800}" "$PY" bench/bench_torch.py --cases "$CASES" ${BENCH_ARGS:---case kb84 --dtype f32 --layout nchw} \
    --csv "$OUT/bench_torch.csv" >"$OUT/bench_torch.log" 2>&1
fi
train_modes=${TRAIN_BENCH:-}
for mode in ${train_modes//,/ }; do
  timeout "${BENCH_TIMEOUT:-1800}" "$PY" bench/bench_train.py --mode "$mode" --csv "$OUT/bench_train-$mode.csv" \
    --losses-csv "$OUT/bench_train-$mode-losses.csv" ${TRAIN_ARGS:-} \
    >>"$OUT/bench_train.log" 2>&1
done
if [ "${HOOK_BENCH:-1}" != 0 ]; then
  "$PY" bench/bench_hook.py --csv "$OUT/bench_hook.csv" >"$OUT/bench_hook.log" 2>&1
fi

report() {
  echo "=== tests (ctest rc $ctest_rc, pytest rc $pytest_rc)"
  grep -E "random configs|threads x|passed|failed|skipped|Skipped|\*\*\*Failed|tests passed" "$OUT/ctest.log" |
    grep -v "^[0-9]*: \[ *OK" | tail -40
  tail -15 "$OUT/pytest.log" 2>/dev/null
  echo "=== differential fuzzer (rc $fuzz_rc) and compute-sanitizer memcheck (rc $memcheck_rc)"
  grep -hE "random configs|FAILED|Failure" "$OUT"/fuzz-*.log 2>/dev/null | head -20
  grep -E "random configs|ERROR SUMMARY|FAILED" "$OUT/memcheck.log" 2>/dev/null | head -10
  echo "=== test reports (LD_PRELOAD programs with DWSHIM_ROUTE=all; dwshim-run programs with the default policy)"
  cat "$OUT/test_report.txt" 2>/dev/null
  if [ "${BENCH:-1}" != 0 ]; then
    echo "=== through both cuDNN APIs: dwshim vs the real cuDNN"
    cat "$OUT/bench_cudnn.log"
    echo "=== from PyTorch: dwshim (ctypes) vs F.conv2d"
    cat "$OUT/bench_torch.log"
    echo "=== summary"
    [ -f "$OUT/bench_torch.csv" ] &&
      "$PY" bench/report.py "$OUT/bench_cudnn.csv" "$OUT/bench_torch.csv" --csv "$OUT/summary.csv" | tee "$OUT/summary.txt"
  fi
  echo "=== training steps, plain vs dwshim-run (GPU time per step from the profiler)"
  cat "$OUT/bench_train.log" 2>/dev/null
  echo "=== PyTorch hook: cost and saving per call"
  cat "$OUT/bench_hook.log" 2>/dev/null
}
report | tee "$OUT/report.txt"
cp "$OUT"/report.txt "$OUT"/ctest.log "$DEST"/
for f in bench_cudnn.csv bench_torch.csv summary.csv bench_hook.csv "$OUT"/bench_train-*.csv; do
  [ -f "$OUT/$(basename "$f")" ] && cp "$OUT/$(basename "$f")" "$DEST"/
done
cat "$OUT"/fuzz-*.log "$OUT"/memcheck.log "$OUT"/pytest.log > "$DEST/fuzz_memcheck_pytest.log" 2>/dev/null
[ $ctest_rc -eq 0 ] && [ $pytest_rc -eq 0 ] && [ $fuzz_rc -eq 0 ] && [ $memcheck_rc -eq 0 ]
