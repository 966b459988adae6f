#!/usr/bin/env bash
# The next GPU session's calls (carry third_party and variants, prepared as in bench/pending/README.md):
#   STAGE=first      (about 560 s) STAGE=occupancy's builds and timings, then main's whole ctest beside occ4's tests;
#   STAGE=occupancy  (about 330 s) the NHWC strip kernel's 2-byte stride-1 instantiations held to four blocks an SM
#                    (variants/occ4) against main (variants/main): occ4's forward tests and NHWC gradient tests
#                    routed everywhere, then both timed twice (dwshim only) on the models' NHWC stride-1 layers and
#                    the suite's NHWC cases, forward (which the data gradient at stride 1 runs on), fp16 and bf16;
#   STAGE=train      (about 280 s) the bf16 channels-last training step, plain vs dwshim-run, on this tree.
# Prints a summary last; logs in $OUT (at most 8 files come back). The gradient tests are slow (the NHWC filter
# gradients' random configs take about 90 s per API): filter them to the directions a patch touches.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-occupancy}
start=$SECONDS

case "$STAGE" in
  first)
    # Builds main (all targets) and occ4 at once, times both twice on a quiet GPU, then runs main's whole ctest
    # beside occ4's tests.
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 1' bench/models.csv; } >/tmp/s1.csv
    (cmake -S variants/occ4 -B build-occ4 -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
       -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >/tmp/build-occ4.txt 2>&1 &&
     cmake --build build-occ4 -j"$(nproc)" --target dwshim_gpu_tests dwshim_bench_cudnn >>/tmp/build-occ4.txt 2>&1 ||
     tail -20 /tmp/build-occ4.txt) >"$OUT/builds.txt" 2>&1 &
    OUT=/tmp/build-logs bash scripts/gpu_build.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    rm -rf build-main && ln -s build build-main
    echo "first: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      for cases in /tmp/s1.csv bench/suite.csv; do
        STEPS=time CASES=$cases OPS=fwd DTYPES=f16,bf16 LAYOUTS=nhwc VARIANTS="main occ4" \
          OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
        cat /tmp/variants-$round/variants.txt >>"$OUT/variants-$round.txt"
      done
    done
    echo "first: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    (t0=$SECONDS; DWSHIM_ROUTE=all build-occ4/tests/dwshim_gpu_tests \
       --gtest_filter='*Forward.*NhwcVec*:LegacyForward.NonFinite*:Gradients.LegacyNhwcGradients*' \
       >"$OUT/occ4-tests.log" 2>&1
     echo "occ4 tests rc $? in $((SECONDS - t0)) s: $(grep -E '^\[  (PASSED|FAILED) ' "$OUT/occ4-tests.log" | tr '\n' ' ')" \
       >>"$OUT/summary.txt") &
    timeout $((585 - (SECONDS - start))) ctest --test-dir build --output-on-failure -j14 --timeout 400 \
      >"$OUT/ctest.log" 2>&1
    echo "main ctest rc $?: $(grep -E 'tests passed|Total Test time' "$OUT/ctest.log" | tr '\n' ' ')" >>"$OUT/summary.txt"
    wait
    ;;
  occupancy)
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 1' bench/models.csv; } >/tmp/s1.csv
    (cmake -S variants/occ4 -B build-occ4 -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
       -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >/tmp/build-occ4.txt 2>&1 &&
     cmake --build build-occ4 -j"$(nproc)" --target dwshim_gpu_tests dwshim_bench_cudnn >>/tmp/build-occ4.txt 2>&1 ||
     tail -20 /tmp/build-occ4.txt) &
    STEPS=build VARIANTS="main" OUT=/tmp/build-logs bash scripts/compare_variants.sh >"$OUT/builds.txt" 2>&1 &
    wait
    echo "occupancy: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    DWSHIM_ROUTE=all build-occ4/tests/dwshim_gpu_tests \
      --gtest_filter='*Forward.*NhwcVec*:LegacyForward.NonFinite*:Gradients.LegacyNhwcGradients*' \
      >"$OUT/occ4-tests.log" 2>&1
    echo "occ4 tests rc $?: $(grep -E '^\[  (PASSED|FAILED) ' "$OUT/occ4-tests.log" | tr '\n' ' ')" >>"$OUT/summary.txt"
    for round in 1 2; do
      for cases in /tmp/s1.csv bench/suite.csv; do
        STEPS=time CASES=$cases OPS=fwd DTYPES=f16,bf16 LAYOUTS=nhwc VARIANTS="main occ4" \
          OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
        cat /tmp/variants-$round/variants.txt >>"$OUT/variants-$round.txt"
      done
    done
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
[[ "$STAGE" != occupancy && "$STAGE" != first ]] || python3 bench/variant_table.py "$OUT"/variants-[12].txt
[ "$STAGE" != train ] || head -12 "$OUT/train.log"
exit 0
