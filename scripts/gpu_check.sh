#!/usr/bin/env bash
# One call on the GPU machine: build, run every test (GPU tests must run, not skip), benchmark KB84 against
# the real cuDNN and PyTorch. Logs go to $OUT (default ./gpu-logs); a short table is printed last.
# Env: CASES (suite file), BENCH_ARGS (extra arguments for both benchmarks), CUDA_ARCHS.
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
DWSHIM_ROUTE=all build/bench/dwshim_bench_cudnn "$CASES" ${BENCH_ARGS:---case kb84 --dtype f32 --layout nchw} \
  --csv "$OUT/bench_cudnn.csv" >"$OUT/bench_cudnn.log" 2>&1
"$PY" bench/bench_torch.py --cases "$CASES" ${BENCH_ARGS:---case kb84 --dtype f32 --layout nchw} \
  --csv "$OUT/bench_torch.csv" >"$OUT/bench_torch.log" 2>&1
echo "=== tests"
grep -E "random configs|passed|failed|skipped|Skipped|\*\*\*Failed|tests passed" "$OUT/ctest.log" | grep -v "^[0-9]*: \[ *OK" | tail -25
echo "=== programs under LD_PRELOAD (DWSHIM_ROUTE=all)"
cat "$OUT/preload_report.txt" 2>/dev/null
echo "=== through both cuDNN APIs: dwshim vs the real cuDNN"
cat "$OUT/bench_cudnn.log"
echo "=== from PyTorch: dwshim (ctypes) vs F.conv2d"
cat "$OUT/bench_torch.log"
echo "=== summary"
"$PY" bench/report.py "$OUT/bench_cudnn.csv" "$OUT/bench_torch.csv" --csv "$OUT/summary.csv" | tee "$OUT/summary.txt"
exit $ctest_rc
