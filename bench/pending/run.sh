#!/usr/bin/env bash
# The next GPU session's first two calls (carry third_party and variants, prepared as in README.md):
#   STAGE=main      (about 450 s) main with its tests: the tensor-core forward's tests routed everywhere, memcheck
#                   and racecheck on their first case, then the GPU shards and the KernelBench files' GPU tests;
#   STAGE=variants  (about 350 s) the filter-gradient variant's tests and sanitizers likewise, then the variants'
#                   benches timed twice on the 5x5 / 7x7 stride-1 layers and convnext7 (fwd, dgrad, wgrad; fp16
#                   and bf16; NHWC).
# Every build a stage needs runs at once first. Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-main}
start=$SECONDS

if [ "$STAGE" = main ]; then
  OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1
else
  STEPS=build OUT=/tmp/build-logs bash scripts/compare_variants.sh >/tmp/build-variants.txt 2>&1 &
  (cmake -S variants/wgrad -B build-wgrad-tests -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
     -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" && cmake --build build-wgrad-tests -j"$(nproc)" \
     --target dwshim_gpu_tests) >/tmp/build-wgrad-tests.txt 2>&1 &
  wait
  { cat /tmp/build-variants.txt; tail -5 /tmp/build-wgrad-tests.txt; } >"$OUT/builds.txt"
fi
echo "$STAGE: builds done at $((SECONDS - start)) s" >>"$OUT/summary.txt"

# $1: test binary, $2: gtest filter, $3: log name. The sanitizers run each random test's first case only.
check() {
  DWSHIM_ROUTE=all "$1" --gtest_filter="$2" >"$OUT/$3.log" 2>&1
  local rc=$?
  echo "$3 tests rc $rc: $(grep -E '^\[  (PASSED|FAILED) ' "$OUT/$3.log" | tr '\n' ' ')" >>"$OUT/summary.txt"
  local tool
  for tool in memcheck racecheck; do
    DWSHIM_ROUTE=all DWSHIM_TEST_CASE=0 timeout 200 compute-sanitizer --tool "$tool" --error-exitcode 9 "$1" \
      --gtest_filter="$2" >>"$OUT/$3-sanitizers.log" 2>&1
    echo "$3 $tool rc $?" >>"$OUT/summary.txt"
  done
}

if [ "$STAGE" = main ]; then
  check build/tests/dwshim_gpu_tests '*NhwcMma*:*NonFinite*' main-mma
  ctest --test-dir build --output-on-failure -R "^gpu_[0-9]|kernelbench_files_gpu" -j16 >"$OUT/shards.log" 2>&1
  echo "shards rc $?: $(grep -E 'tests passed|tests failed' "$OUT/shards.log")" >>"$OUT/summary.txt"
else
  check build-wgrad-tests/tests/dwshim_gpu_tests 'Gradients.NhwcMmaFilterGrad*:Gradients.NonFinite*' wgrad-mma
  { grep -E "^#|k[57]s1" bench/models.csv; grep "^convnext7," bench/suite.csv; } >/tmp/k57.csv
  for round in 1 2; do
    STEPS=time CASES=/tmp/k57.csv OPS=fwd,dgrad,wgrad DTYPES=f16,bf16 LAYOUTS=nhwc OUT=/tmp/variants-$round \
      bash scripts/compare_variants.sh >/dev/null 2>&1
    cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
  done
fi
echo "$STAGE: done at $((SECONDS - start)) s" >>"$OUT/summary.txt"
cat "$OUT/summary.txt"
[ "$STAGE" = main ] || cat /tmp/variants-2/variants_table.txt
