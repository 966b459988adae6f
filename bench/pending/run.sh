#!/usr/bin/env bash
# The next session's device calls (carry third_party and variants, prepared as in bench/pending/README.md; the
# stages that ran in the twentieth session, runs 2026-12-05a-d, are in git history):
#   STAGE=probe   (about 450 s) dwshim-only time, best of two rounds, filter gradient, model layers and four suite
#                 cases: variants/final (finalize-shapes.patch) and variants/final256 (its 256 x 1 shape only) against
#                 variants/main, NHWC and NCHW, fp32 and bf16; variants/wwide (wgrad-wide-prefetch.patch) and wwide4
#                 (its 3x3 wide kernel capped at 64 registers) against main, NCHW, three dtypes; then the gradient
#                 tests of variants/checks (both patches) in 12 processes.
#   STAGE=landed  (about 330 s) this tree after a landing: built whole, its GPU tests on the routed kernels, its
#                 dwshim-only time against variants/main (the tree before the landing), NHWC and NCHW.
#   STAGE=routes  (about 400 s, an estimate) this tree against cuDNN (both APIs) and PyTorch on the model layers and
#                 four suite cases, three dtypes, both layouts, all three directions: what a route change needs.
#   STAGE=train   (about 260 s) the bf16 channels-last training step, plain vs dwshim-run, on this tree.
# Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-probe}
start=$SECONDS

# Runs the GPU tests of build-$1 matching $2 in 12 processes (each under 280 s: run 2026-12-05d cut one at 200 s)
# beside whatever else runs in the background, waits for all of it, and adds the pass / fail counts to the summary;
# logs in /tmp/$1-tests-*.log.
run_test_shards() {
  local tree=$1 filter=$2
  for shard in $(seq 0 11); do
    DWSHIM_ROUTE=all GTEST_TOTAL_SHARDS=12 GTEST_SHARD_INDEX=$shard timeout 280 "build-$tree/tests/dwshim_gpu_tests" \
      --gtest_filter="$filter" >"/tmp/$tree-tests-$shard.log" 2>&1 &
  done
  wait
  local counts
  counts=$(grep -hE '^\[  (PASSED|FAILED) ' /tmp/"$tree"-tests-*.log | sort | uniq -c | tr '\n' ' ')
  echo "$tree tests at $((SECONDS - start)) s: $counts" >>"$OUT/summary.txt"
  local failed
  failed=$(grep -h '^\[  FAILED  \] [A-Z]' /tmp/"$tree"-tests-*.log | sort -u | tr '\n' ' ')
  echo "failed: $failed" >>"$OUT/summary.txt"
}

# The cases the timing stages use: the model layers and four suite cases (/tmp/layers.csv), and of those the stride-1
# ones (/tmp/stride1.csv: the NCHW quads and rows kernels' shapes).
suite_cases() { grep -E "^(kb84|mbv2_56|convnext7|mult2)," bench/suite.csv; }
{ cat bench/models.csv; suite_cases; } >/tmp/layers.csv
{ grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 1' bench/models.csv; suite_cases; } >/tmp/stride1.csv

case "$STAGE" in
  probe)
    (cmake -S variants/checks -B build-checks -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
      -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >/tmp/build-checks.txt 2>&1 &&
      cmake --build build-checks -j8 --target dwshim_gpu_tests >>/tmp/build-checks.txt 2>&1 ||
      tail -20 /tmp/build-checks.txt) >"$OUT/builds.txt" 2>&1 &
    STEPS=build VARIANTS="main final final256 wwide wwide4" JOBS=4 OUT=/tmp/build-logs \
      bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    echo "probe: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      { STEPS=time CASES=/tmp/layers.csv OPS=wgrad DTYPES=f32,bf16 LAYOUTS=nhwc,nchw VARIANTS="main final final256" \
          OUT=/tmp/final-$round bash scripts/compare_variants.sh >/dev/null 2>&1
        STEPS=time CASES=/tmp/stride1.csv OPS=wgrad DTYPES=f32,f16,bf16 LAYOUTS=nchw VARIANTS="main wwide wwide4" \
          OUT=/tmp/wwide-$round bash scripts/compare_variants.sh >/dev/null 2>&1
        cat /tmp/final-$round/variants.txt /tmp/wwide-$round/variants.txt; } >"$OUT/variants-$round.txt"
    done
    echo "probe: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    python3 bench/variant_table.py "$OUT"/variants-*.txt | grep " xmain: " >>"$OUT/summary.txt"
    run_test_shards checks 'Gradients.*'
    cat /tmp/checks-tests-*.log >"$OUT/tests-checks.log"
    ;;
  landed)
    # This tree after a landing: built whole, its GPU tests on what changed, its dwshim-only time against
    # variants/main (the tree before the landing) on the NHWC model layers and NCHW stride 1 (STAGE=train after).
    STEPS=build VARIANTS=main JOBS=4 OUT=/tmp/build-logs bash scripts/compare_variants.sh >"$OUT/builds.txt" 2>&1 &
    OUT=/tmp/build-logs bash scripts/gpu_build.sh >>"$OUT/builds.txt" 2>&1
    wait
    ln -sfn build build-landed
    echo "landed: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    run_test_shards landed '*Nhwc*:*SmallPlanes*:*Nchw*:*Fuzz*:Gradients.Repeat*:Capture.*:Gradients.Legacy*:'\
'Gradients.Backend*:LegacyForward.Random*:BackendForward.Random*'
    cat /tmp/landed-tests-*.log >"$OUT/tests-landed.log"
    for round in 1 2; do
      { STEPS=time CASES=/tmp/layers.csv OPS=fwd,dgrad,wgrad DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="main landed" \
          OUT=/tmp/landed bash scripts/compare_variants.sh >/dev/null 2>&1
        STEPS=time CASES=/tmp/stride1.csv OPS=fwd,dgrad DTYPES=f32,f16,bf16 LAYOUTS=nchw VARIANTS="main landed" \
          OUT=/tmp/landed-nchw bash scripts/compare_variants.sh >/dev/null 2>&1
        cat /tmp/landed/variants.txt /tmp/landed-nchw/variants.txt; } >"$OUT/variants-landed-$round.txt"
    done
    python3 bench/variant_table.py "$OUT"/variants-landed-*.txt | grep " xmain: " >>"$OUT/summary.txt"
    ;;
  routes)
    # This tree's gradients and forward on the model layers and four suite cases against cuDNN (both APIs) and
    # PyTorch, the columns a route needs (gradient_policy.cpp, route_policy.cpp); about 400 s, an estimate.
    [ -x build/bench/dwshim_bench_cudnn ] || OUT=/tmp/build-logs bash scripts/gpu_build.sh >"$OUT/builds.txt" 2>&1
    DWSHIM_ROUTE=all timeout 280 build/bench/dwshim_bench_cudnn /tmp/layers.csv --case all --op fwd,dgrad,wgrad \
      --dtype f32,f16,bf16 --layout nhwc,nchw --csv "$OUT/routes-cudnn.csv" >/tmp/routes-cudnn.log 2>&1
    echo "routes: cudnn rc $? at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    DWSHIM_LIBRARY="$PWD/build/libdwshim.so" timeout 200 python3 bench/bench_torch.py --cases /tmp/layers.csv \
      --case all --op fwd,dgrad,wgrad --dtype f32,f16,bf16 --layout nhwc,nchw --csv "$OUT/routes-torch.csv" \
      >/tmp/routes-torch.log 2>&1
    echo "routes: torch rc $? at $((SECONDS - start)) s" >>"$OUT/summary.txt"
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
