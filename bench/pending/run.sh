#!/usr/bin/env bash
# The next GPU session's calls (carry third_party and variants, prepared as in README.md):
#   STAGE=fix    (about 250 s) the FMA large-filter filter gradient's non-finite fix: its tests with memcheck on
#                their first case, then main and fix timed twice on the large-filter classes' filter gradients;
#   STAGE=route  (about 300 s) main's large filters against the real cuDNN (both APIs, same process) and PyTorch's
#                plans (every dtype and layout, three directions) for the routing rules;
#   STAGE=train  (about 260 s after the build) the bf16 channels-last training step, plain vs dwshim-run.
# Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-fix}
start=$SECONDS
{ grep -E "^#|^(k9|k11|k13|k15|k19|k25)," bench/classes.csv; grep -E "^(replk31)," bench/suite.csv; } >/tmp/large.csv

case "$STAGE" in
  fix)
    cmake -S variants/fix -B build-fix-tests -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
      -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >/tmp/build-fix.txt 2>&1 &&
      cmake --build build-fix-tests -j"$(nproc)" --target dwshim_gpu_tests >>/tmp/build-fix.txt 2>&1 &
    STEPS=build VARIANTS="main fix" OUT=/tmp/build-logs bash scripts/compare_variants.sh >"$OUT/builds.txt" 2>&1 &
    wait
    echo "fix: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    filter='Gradients.LargeFilter*:Gradients.*NonFinite*'
    DWSHIM_ROUTE=all build-fix-tests/tests/dwshim_gpu_tests --gtest_filter="$filter" >"$OUT/fix-tests.log" 2>&1
    echo "fix tests rc $?: $(grep -E '^\[  (PASSED|FAILED) ' "$OUT/fix-tests.log" | tr '\n' ' ')" >>"$OUT/summary.txt"
    DWSHIM_ROUTE=all DWSHIM_TEST_CASE=0 timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 \
      build-fix-tests/tests/dwshim_gpu_tests --gtest_filter="$filter" >"$OUT/fix-memcheck.log" 2>&1
    echo "fix memcheck rc $?" >>"$OUT/summary.txt"
    for round in 1 2; do
      STEPS=time CASES=/tmp/large.csv OPS=wgrad DTYPES=f32,f16,bf16 LAYOUTS=nchw,nhwc VARIANTS="main fix" \
        OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
    done
    ;;
  route)
    OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1
    build/bench/dwshim_bench_cudnn /tmp/large.csv --op fwd,dgrad,wgrad --csv "$OUT/large-cudnn.csv" \
      >"$OUT/large-cudnn.log" 2>&1
    python3 bench/bench_torch.py --cases /tmp/large.csv --case all --op fwd,dgrad,wgrad --dtype f32,f16,bf16 \
      --layout nchw,nhwc --csv "$OUT/large-torch.csv" \
      >"$OUT/large-torch.log" 2>&1
    echo "route: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    ;;
  train)
    OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1
    python3 bench/bench_train.py --models mobilenet_v3_large,efficientnet_b0,convnext_tiny --mode bf16-channels-last \
      --rounds 2 --csv "$OUT/train.csv" >"$OUT/train.log" 2>&1
    echo "train rc $?" >>"$OUT/summary.txt"
    ;;
esac
echo "$STAGE: done at $((SECONDS - start)) s" >>"$OUT/summary.txt"
cat "$OUT/summary.txt"
[ "$STAGE" = fix ] && python3 bench/variant_table.py "$OUT"/variants-[12].txt
[ "$STAGE" = route ] && tail -5 "$OUT/large-cudnn.log" "$OUT/large-torch.log"
exit 0
