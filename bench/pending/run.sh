#!/usr/bin/env bash
# The next GPU session's first calls (carry third_party and variants, prepared as in README.md):
#   STAGE=main      (about 450 s) main with its tests: the tensor-core forward's tests routed everywhere, memcheck
#                   and racecheck on their first case, then the GPU shards and the KernelBench files' GPU tests;
#   STAGE=variants  (about 350 s) the filter-gradient variant's tests and sanitizers likewise, then main, first and
#                   wgrad timed twice on the 5x5 / 7x7 stride-1 layers and convnext7 (fwd, dgrad, wgrad; fp16 and
#                   bf16; NHWC);
#   STAGE=large     (about 450 s) the tensor-core (Toeplitz) variant's tests and sanitizers, then main and large
#                   timed twice on the classes' filters of 5x5 and more, replk31 and convnext7 (fwd, dgrad, wgrad;
#                   every dtype and layout) and on the models' 5x5 / 7x7 stride-1 layers (fwd, dgrad, wgrad; NCHW).
# Every build a stage needs runs at once first. Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-main}
start=$SECONDS

# $1: a variant whose GPU tests build into build-$1-tests.
build_tests() {
  cmake -S "variants/$1" -B "build-$1-tests" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >"/tmp/build-$1-tests.txt" 2>&1 &&
    cmake --build "build-$1-tests" -j"$(nproc)" --target dwshim_gpu_tests >>"/tmp/build-$1-tests.txt" 2>&1
  echo "build-$1-tests rc $?" >>"$OUT/summary.txt"
}

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

# $1: cases file, $2: ops, $3: dtypes, $4: layouts, $5: variants. Two rounds, the best of them read later.
time_variants() {
  local round
  for round in 1 2; do
    STEPS=time CASES=$1 OPS=$2 DTYPES=$3 LAYOUTS=$4 VARIANTS=$5 OUT=/tmp/variants-$round \
      bash scripts/compare_variants.sh >/dev/null 2>&1
    cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
  done
}

case "$STAGE" in
  main)
    OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1
    echo "main: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    check build/tests/dwshim_gpu_tests '*NhwcMma*:*NonFinite*' main-mma
    ctest --test-dir build --output-on-failure -R "^gpu_[0-9]|kernelbench_files_gpu" -j16 >"$OUT/shards.log" 2>&1
    echo "shards rc $?: $(grep -E 'tests passed|tests failed' "$OUT/shards.log")" >>"$OUT/summary.txt"
    ;;
  variants)
    STEPS=build VARIANTS="main first wgrad" OUT=/tmp/build-logs bash scripts/compare_variants.sh \
      >"$OUT/builds.txt" 2>&1 &
    build_tests wgrad &
    wait
    echo "variants: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    check build-wgrad-tests/tests/dwshim_gpu_tests 'Gradients.NhwcMmaFilterGrad*:Gradients.NonFinite*' wgrad-mma
    { grep -E "^#|k[57]s1" bench/models.csv; grep "^convnext7," bench/suite.csv; } >/tmp/k57.csv
    time_variants /tmp/k57.csv fwd,dgrad,wgrad f16,bf16 nhwc "main first wgrad"
    ;;
  large)
    STEPS=build VARIANTS="main large" OUT=/tmp/build-logs bash scripts/compare_variants.sh >"$OUT/builds.txt" 2>&1 &
    build_tests large &
    wait
    echo "large: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    check build-large-tests/tests/dwshim_gpu_tests '*LargeFilter*:*Toeplitz*:*NonFinite*' large-tc
    { grep -E "^#|^(k9|k11|k13|k15|k19|k25|mult2k5|leftpad5|tail_b1|tail_b8)," bench/classes.csv; grep -E "^(replk31|convnext7)," bench/suite.csv; } \
      >/tmp/large.csv
    grep -E "^#|k[57]s1" bench/models.csv >/tmp/rows57.csv
    time_variants /tmp/large.csv fwd,dgrad,wgrad f32,f16,bf16 nchw,nhwc "main large"
    cp "$OUT/variants-1.txt" "$OUT/variants-large-1.txt"
    cp "$OUT/variants-2.txt" "$OUT/variants-large-2.txt"
    time_variants /tmp/rows57.csv fwd,dgrad,wgrad f32,f16,bf16 nchw "main large"
    ;;
esac
echo "$STAGE: done at $((SECONDS - start)) s" >>"$OUT/summary.txt"
cat "$OUT/summary.txt"
[ "$STAGE" = large ] && python3 bench/variant_table.py "$OUT"/variants-large-[12].txt
[ "$STAGE" = main ] || python3 bench/variant_table.py "$OUT"/variants-[12].txt
