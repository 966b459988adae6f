#!/usr/bin/env bash
# The next GPU session's calls (carry third_party and variants, prepared as in bench/pending/README.md):
#   STAGE=k35        (about 250 s) bench/pending/nhwc-planes-k3-k5.patch against main, cuDNN and PyTorch; its tests;
#   STAGE=final      (about 400 s) the tuned small-plane kernel: against its first form, cuDNN, PyTorch; tests; convnext;
#   STAGE=tune       (about 500 s) the landed small-plane kernel against two variants, its tests, the training step;
#   STAGE=planes     (about 450 s) the small-plane NHWC forward (this tree) against main, cuDNN and PyTorch, its tests;
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
  planes)
    # The small-plane NHWC forward (this tree, built with everything) against main (variants/main): timed twice on
    # the models' stride-1 layers of rows up to 28 wide, forward and data gradient, every dtype; against cuDNN
    # (both APIs) and PyTorch's plans; then its tests in 12 processes and memcheck / racecheck on a few configs.
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 1 && $5 <= 28' bench/models.csv; } >/tmp/small.csv
    OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1 &
    STEPS=build VARIANTS=main OUT=/tmp/build-logs bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    rm -rf build-planes && ln -s build build-planes
    echo "planes: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      STEPS=time CASES=/tmp/small.csv OPS=fwd,dgrad DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="main planes" \
        OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
    done
    echo "planes: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    DWSHIM_ROUTE=all build/bench/dwshim_bench_cudnn /tmp/small.csv --case all --op fwd,dgrad --dtype f32,f16,bf16 \
      --layout nhwc --csv "$OUT/small-cudnn.csv" >/tmp/small-cudnn.log 2>&1
    timeout 150 python3 bench/bench_torch.py --cases /tmp/small.csv --case all --op fwd,dgrad --dtype f32,f16,bf16 \
      --layout nhwc --csv "$OUT/small-torch.csv" >/tmp/small-torch.log 2>&1
    echo "planes: benched at $((SECONDS - start)) s (torch rc $?)" >>"$OUT/summary.txt"
    filter='*NhwcSmallPlanes*:*Forward.*NhwcVec*:LegacyForward.NonFinite*:*Forward.RandomBiasActivation*:Gradients.*NhwcGradients*:Gradients.*SmallImages*:Gradients.*Capture*:Capture.*'
    for shard in $(seq 0 11); do
      DWSHIM_ROUTE=all GTEST_TOTAL_SHARDS=12 GTEST_SHARD_INDEX=$shard timeout 240 build/tests/dwshim_gpu_tests \
        --gtest_filter="$filter" >"/tmp/tests-$shard.log" 2>&1 &
    done
    for i in 0 1 2 3; do
      DWSHIM_ROUTE=all DWSHIM_TEST_CASE=$i timeout 200 compute-sanitizer --tool memcheck --print-limit 10 \
        build/tests/dwshim_gpu_tests --gtest_filter='*Forward.RandomNhwcSmallPlanes*:Gradients.NhwcSmallPlanes*' \
        >"/tmp/memcheck-$i.log" 2>&1 &
    done
    DWSHIM_ROUTE=all DWSHIM_TEST_CASE=5 timeout 200 compute-sanitizer --tool racecheck --print-limit 10 \
      build/tests/dwshim_gpu_tests --gtest_filter='LegacyForward.RandomNhwcSmallPlanes*' >/tmp/racecheck.log 2>&1 &
    wait
    cat /tmp/tests-*.log >"$OUT/tests.log"
    cat /tmp/memcheck-*.log /tmp/racecheck.log >"$OUT/sanitizers.log"
    echo "tests: $(grep -hE '^\[  (PASSED|FAILED) ' /tmp/tests-*.log | sort | uniq -c | tr '\n' ' ')" >>"$OUT/summary.txt"
    echo "sanitizers: $(grep -hE 'ERROR SUMMARY|RACECHECK SUMMARY' /tmp/memcheck-*.log /tmp/racecheck.log | sort | uniq -c | tr '\n' ' ')" \
      >>"$OUT/summary.txt"
    ;;
  tune)
    # The landed small-plane kernel (this tree) against two variants of it (variants/rows1: filter rows not
    # unrolled, 80 registers; variants/seg14: 14-column segments), timed three times on the 7x7 layers it takes;
    # then this tree's small-plane, fuzz, non-finite and capture tests in 12 processes, then the training step.
    { grep "^#" bench/models.csv; grep -E "^c(384_14x14|768_7x7|192_28x28)_k7s1," bench/models.csv; } >/tmp/k7.csv
    OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1 &
    STEPS=build VARIANTS="rows1 seg14" OUT=/tmp/build-logs bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    rm -rf build-main && ln -s build build-main
    echo "tune: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2 3; do
      STEPS=time CASES=/tmp/k7.csv OPS=fwd DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="main rows1 seg14" \
        OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
    done
    echo "tune: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    filter='*NhwcSmallPlanes*:*Fuzz*:LegacyForward.NonFinite*:Gradients.*SmallImages*:*Capture*'
    for shard in $(seq 0 11); do
      DWSHIM_ROUTE=all GTEST_TOTAL_SHARDS=12 GTEST_SHARD_INDEX=$shard timeout 200 build/tests/dwshim_gpu_tests \
        --gtest_filter="$filter" >"/tmp/tests-$shard.log" 2>&1 &
    done
    wait
    cat /tmp/tests-*.log >"$OUT/tests.log"
    echo "tests at $((SECONDS - start)) s: $(grep -hE '^\[  (PASSED|FAILED) ' /tmp/tests-*.log | sort | uniq -c | tr '\n' ' ')" \
      >>"$OUT/summary.txt"
    timeout $((590 - (SECONDS - start))) python3 bench/bench_train.py --models mobilenet_v3_large,efficientnet_b0,convnext_tiny \
      --mode bf16-channels-last --rounds 2 --csv "$OUT/train.csv" >"$OUT/train.log" 2>&1
    echo "train rc $?" >>"$OUT/summary.txt"
    ;;
  k35)
    # bench/pending/nhwc-planes-k3-k5.patch (variants/k35, built with its tests) against main (this tree) on the
    # models' 3x3 and 5x5 stride-1 layers of rows up to 28, forward and data gradient, every dtype, twice; k35
    # against cuDNN and PyTorch there; k35's small-plane tests (3x3, 5x5 and 7x7 now) and memcheck on four configs.
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 1 && $5 <= 28 && $6 != 7' bench/models.csv; } >/tmp/k35.csv
    (cmake -S variants/k35 -B build-k35 -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
       -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >/tmp/build-k35.txt 2>&1 &&
     cmake --build build-k35 -j"$(nproc)" --target dwshim_gpu_tests dwshim_bench_cudnn >>/tmp/build-k35.txt 2>&1 ||
     tail -20 /tmp/build-k35.txt) >"$OUT/builds.txt" 2>&1 &
    STEPS=build VARIANTS=main OUT=/tmp/build-logs bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    echo "k35: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      STEPS=time CASES=/tmp/k35.csv OPS=fwd,dgrad DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="main k35" \
        OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
    done
    DWSHIM_ROUTE=all timeout 120 build-k35/bench/dwshim_bench_cudnn /tmp/k35.csv --case all --op fwd,dgrad \
      --dtype f32,f16,bf16 --layout nhwc --csv "$OUT/k35-cudnn.csv" >/tmp/k35-cudnn.log 2>&1
    timeout 150 python3 bench/bench_torch.py --cases /tmp/k35.csv --case all --op fwd,dgrad --dtype f32,f16,bf16 \
      --layout nhwc --csv "$OUT/k35-torch.csv" >/tmp/k35-torch.log 2>&1
    echo "k35: benched at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    filter='*NhwcSmallPlanes*:*Forward.*NhwcVec*:LegacyForward.NonFinite*:Gradients.LegacyNhwcGradients*'
    for shard in $(seq 0 11); do
      DWSHIM_ROUTE=all GTEST_TOTAL_SHARDS=12 GTEST_SHARD_INDEX=$shard timeout 200 build-k35/tests/dwshim_gpu_tests \
        --gtest_filter="$filter" >"/tmp/tests-$shard.log" 2>&1 &
    done
    for i in 0 1 2 3; do
      DWSHIM_ROUTE=all DWSHIM_TEST_CASE=$i timeout 150 compute-sanitizer --tool memcheck --print-limit 10 \
        build-k35/tests/dwshim_gpu_tests --gtest_filter='*Forward.RandomNhwcSmallPlanes*:Gradients.NhwcSmallPlanes*' \
        >"/tmp/memcheck-$i.log" 2>&1 &
    done
    wait
    cat /tmp/tests-*.log /tmp/memcheck-*.log >"$OUT/tests.log"
    echo "tests at $((SECONDS - start)) s: $(grep -hE '^\[  (PASSED|FAILED) ' /tmp/tests-*.log | sort | uniq -c | tr '\n' ' ')" \
      >>"$OUT/summary.txt"
    echo "memcheck: $(grep -hE 'ERROR SUMMARY' /tmp/memcheck-*.log | sort | uniq -c | tr '\n' ' ')" >>"$OUT/summary.txt"
    ;;
  final)
    # This tree's small-plane kernel (rolled filter rows, 14-column segments on rows of 8-14) against the first
    # landed form (variants/prev), twice; against cuDNN and PyTorch on the 7x7 layers it takes; its tests in 12
    # processes and memcheck on four configs; then convnext_tiny's bf16 channels-last step.
    { grep "^#" bench/models.csv; grep -E "^c(384_14x14|768_7x7|192_28x28)_k7s1," bench/models.csv; } >/tmp/k7.csv
    OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1 &
    STEPS=build VARIANTS="prev" OUT=/tmp/build-logs bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    rm -rf build-main && ln -s build build-main
    echo "final: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      STEPS=time CASES=/tmp/k7.csv OPS=fwd,dgrad DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="prev main" \
        OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
    done
    DWSHIM_ROUTE=all timeout 120 build/bench/dwshim_bench_cudnn /tmp/k7.csv --case all --op fwd,dgrad \
      --dtype f32,f16,bf16 --layout nhwc --csv "$OUT/k7-cudnn.csv" >/tmp/k7-cudnn.log 2>&1
    timeout 120 python3 bench/bench_torch.py --cases /tmp/k7.csv --case all --op fwd,dgrad --dtype f32,f16,bf16 \
      --layout nhwc --csv "$OUT/k7-torch.csv" >/tmp/k7-torch.log 2>&1
    echo "final: benched at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    filter='*NhwcSmallPlanes*:*Forward.*NhwcVec*:LegacyForward.NonFinite*:*Fuzz*:Gradients.*SmallImages*:Capture.*:Gradients.*Capture*'
    for shard in $(seq 0 11); do
      DWSHIM_ROUTE=all GTEST_TOTAL_SHARDS=12 GTEST_SHARD_INDEX=$shard timeout 150 build/tests/dwshim_gpu_tests \
        --gtest_filter="$filter" >"/tmp/tests-$shard.log" 2>&1 &
    done
    for i in 0 1 2 3; do
      DWSHIM_ROUTE=all DWSHIM_TEST_CASE=$i timeout 150 compute-sanitizer --tool memcheck --print-limit 10 \
        build/tests/dwshim_gpu_tests --gtest_filter='*Forward.RandomNhwcSmallPlanes*:Gradients.NhwcSmallPlanes*' \
        >"/tmp/memcheck-$i.log" 2>&1 &
    done
    wait
    cat /tmp/tests-*.log /tmp/memcheck-*.log >"$OUT/tests.log"
    echo "tests at $((SECONDS - start)) s: $(grep -hE '^\[  (PASSED|FAILED) ' /tmp/tests-*.log | sort | uniq -c | tr '\n' ' ')" \
      >>"$OUT/summary.txt"
    echo "memcheck: $(grep -hE 'ERROR SUMMARY' /tmp/memcheck-*.log | sort | uniq -c | tr '\n' ' ')" >>"$OUT/summary.txt"
    timeout $((400 - (SECONDS - start))) python3 bench/bench_train.py --models convnext_tiny \
      --mode bf16-channels-last --rounds 2 >"$OUT/train.log" 2>&1
    echo "train rc $?" >>"$OUT/summary.txt"
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
[[ "$STAGE" != occupancy && "$STAGE" != first && "$STAGE" != planes && "$STAGE" != tune && "$STAGE" != k35 ]] || python3 bench/variant_table.py "$OUT"/variants-[12].txt
[ "$STAGE" != final ] || python3 bench/variant_table.py --base prev "$OUT"/variants-[12].txt
[[ "$STAGE" != train && "$STAGE" != tune && "$STAGE" != final ]] || head -6 "$OUT/train.log"
exit 0
