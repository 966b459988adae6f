#!/usr/bin/env bash
# This session's device calls (carry third_party and variants; variants/main = 464ae18, variants/land = the
# working tree, variants/fwalk = it with bench/pending/forward-walk.patch):
#   STAGE=land   (about 330 s) the tree to land (padded tap rows and walking blocks in the stride-2 data gradient)
#                built with its tests, fwalk (the forward's strip kernel walking too) with its tests, main bench-only;
#                the three timed on the model layers and the suite, forward and data gradient, NHWC, every dtype,
#                twice; land's NHWC gradient tests and fwalk's forward tests in 12 processes, memcheck on 4 configs
#                each; land against cuDNN and PyTorch on the stride-2 layers.
#   STAGE=train  (about 220 s, on the warm machine) the bf16 channels-last training step, plain vs dwshim-run.
#   STAGE=wunroll (about 330 s; variants/main = the landed tree, variants/wunroll = it with
#                bench/pending/wgrad-rows-unroll.patch) the NCHW filter gradient timed, wunroll's tests.
# Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-land}
start=$SECONDS

# build_tests TREE DIR: TREE's GPU tests and bench, built in DIR.
build_tests() {
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DPython3_EXECUTABLE="$(command -v python3)" -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" \
    >"/tmp/$(basename "$2").log" 2>&1 &&
    cmake --build "$2" -j"$(nproc)" >>"/tmp/$(basename "$2").log" 2>&1 || tail -20 "/tmp/$(basename "$2").log"
}

# run_tests BUILD FILTER MEMCHECK_FILTER LOG: FILTER's tests in 12 processes beside memcheck on 4 configs of
# MEMCHECK_FILTER, all routed everywhere; logs to $OUT/LOG, counts to the summary.
run_tests() {
  for shard in $(seq 0 11); do
    DWSHIM_ROUTE=all GTEST_TOTAL_SHARDS=12 GTEST_SHARD_INDEX=$shard timeout 200 "$1/tests/dwshim_gpu_tests" \
      --gtest_filter="$2" >"/tmp/tests-$shard.log" 2>&1 &
  done
  for i in 0 1 2 3; do
    DWSHIM_ROUTE=all DWSHIM_TEST_CASE=$i timeout 150 compute-sanitizer --tool memcheck --print-limit 10 \
      "$1/tests/dwshim_gpu_tests" --gtest_filter="$3" >"/tmp/memcheck-$i.log" 2>&1 &
  done
  wait
  cat /tmp/tests-*.log /tmp/memcheck-*.log >"$OUT/$4"
  echo "$4 at $((SECONDS - start)) s: $(grep -hE '^\[  (PASSED|FAILED) ' /tmp/tests-*.log | sort | uniq -c | tr '\n' ' ')" \
    >>"$OUT/summary.txt"
  echo "memcheck: $(grep -hE 'ERROR SUMMARY' /tmp/memcheck-*.log | sort | uniq -c | tr '\n' ' ')" >>"$OUT/summary.txt"
}

case "$STAGE" in
  land)
    { cat bench/models.csv; grep -v "^#" bench/suite.csv | grep -v "^replk31,"; } >/tmp/land.csv
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 2' bench/models.csv;
      grep -E "^(mbv2_s2|effnet_k5s2)," bench/suite.csv; } >/tmp/s2.csv
    build_tests variants/land build >"$OUT/builds.txt" 2>&1 &
    build_tests variants/fwalk build-fwalk >>"$OUT/builds.txt" 2>&1 &
    STEPS=build VARIANTS="main" OUT=/tmp/build-logs bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    ln -sfn build build-land
    echo "land: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      STEPS=time CASES=/tmp/land.csv OPS=fwd,dgrad DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="main land fwalk" \
        OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
    done
    echo "land: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    DWSHIM_ROUTE=all timeout 120 build/bench/dwshim_bench_cudnn /tmp/s2.csv --case all --op dgrad \
      --dtype f32,f16,bf16 --layout nhwc --csv "$OUT/s2-cudnn.csv" >/tmp/s2-cudnn.log 2>&1
    timeout 120 python3 bench/bench_torch.py --cases /tmp/s2.csv --case all --op dgrad --dtype f32,f16,bf16 \
      --layout nhwc --csv "$OUT/s2-torch.csv" >/tmp/s2-torch.log 2>&1
    echo "land: benched at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    run_tests build 'Gradients.*Nhwc*:Gradients.Fuzz*:Capture.*:Gradients.*Capture*:Gradients.*Repeat*' \
      'Gradients.NhwcStride2*:Gradients.LegacyNhwcGradients*' tests-land.log
    run_tests build-fwalk '*Forward.RandomNhwcVec*:*Forward.Fuzz*:*Forward.RandomConfigs*:*Forward.RandomMisaligned*:*Forward.RandomBiasActivation*:*Forward.RandomFusedGraph*:Capture.*:LegacyForward.NonFinite*:Gradients.*NhwcGradients*' \
      '*Forward.RandomNhwcVec*' tests-fwalk.log
    ;;
  wunroll)
    # The NCHW rows filter gradient's wide rows two at a time at 3x3 (variants/wunroll) against the landed tree
    # (variants/main), filter gradient, NCHW, every dtype, twice; wunroll's filter-gradient tests.
    { cat bench/models.csv; grep -v "^#" bench/suite.csv | grep -v "^replk31,"; } >/tmp/nchw.csv
    build_tests variants/wunroll build-wunroll >"$OUT/builds.txt" 2>&1 &
    STEPS=build VARIANTS="main" OUT=/tmp/build-logs bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    echo "wunroll: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      STEPS=time CASES=/tmp/nchw.csv OPS=wgrad DTYPES=f32,f16,bf16 LAYOUTS=nchw VARIANTS="main wunroll" \
        OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
    done
    echo "wunroll: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    run_tests build-wunroll 'Gradients.*FilterGrad*:Gradients.NchwAsym*:Gradients.Fuzz*:Gradients.Repeat*' \
      'Gradients.LegacyFilterGrad*' tests-wunroll.log
    ;;
  train)
    [ -x build/bench/dwshim_bench_cudnn ] || OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1
    python3 bench/bench_train.py --models mobilenet_v3_large,efficientnet_b0,convnext_tiny --mode bf16-channels-last \
      --rounds 2 --csv "$OUT/train.csv" >"$OUT/train.log" 2>&1
    echo "train rc $?" >>"$OUT/summary.txt"
    ;;
esac
echo "$STAGE: done at $((SECONDS - start)) s" >>"$OUT/summary.txt"
cat "$OUT/summary.txt"
[ "$STAGE" != train ] || head -12 "$OUT/train.log"
exit 0
