#!/usr/bin/env bash
# The next session's device calls (carry third_party and variants, prepared as in bench/pending/README.md; the
# stages that ran in the seventeenth session, runs zl-zo, are in git history):
#   STAGE=probe   (about 450 s) dwshim-only time, best of two rounds, against variants/main:
#                 - forward and data gradient, NHWC, every dtype, model layers and suite: variants/fwalk4
#                   (forward-walk.patch walking only where a block gets 4+ strip groups), variants/vstage
#                   (vector-filter-staging.patch), variants/pimages (planes-image-groups.patch);
#                 - filter gradient, NHWC fp32 and bf16, model layers, KB84 and convnext7: variants/tiles2
#                   (image-tiles-double-buffer.patch), variants/tiles2w (and image-tiles-one-wave.patch),
#                   variants/final (finalize-shapes.patch) and variants/nofinal (main without the finalize pass:
#                   wrong results, its time says what the pass costs);
#                 then variants/checks (all three patches that change kernels, built with their tests) against cuDNN
#                 and PyTorch on the small-image layers, all three directions; ncu's sections on main's stride-2
#                 data and filter gradients (c144_56x56_k5s2 bf16).
#   STAGE=checks  (about 220 s, right after probe on the warm machine; builds checks if it is not there) checks'
#                 new tests and the NHWC gradient and small-plane ones in 12 processes, memcheck on 4 configs.
#   STAGE=prefetch (about 330 s, an estimate; builds its trees if they are not there) dwshim-only time, best of two
#                 rounds, NCHW, every dtype, forward and both gradients, the stride-1 model layers, KB84, mbv2_56,
#                 convnext7 and mult2: variants/pf2, pf4, pf8 (l2-prefetch.patch asking L2 for rows 2, 4 or 8 steps
#                 ahead in the quads forward / data gradient and the rows filter gradient) against variants/main;
#                 the filter gradient, NHWC fp32 and bf16, model layers: variants/ring512 (ring-fewer-slices.patch)
#                 and ring512v (and 3x3 with 7x7's fewer-vectors grid) against main; ncu's sections on KB84's fp16
#                 NCHW filter gradient in main and pf4; then the NCHW gradient and forward tests of pf4 in 12
#                 processes.
#   STAGE=train   (about 260 s) the bf16 channels-last training step, plain vs dwshim-run, on this tree.
# Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-probe}
start=$SECONDS

build_checks() {
  cmake -S variants/checks -B build-checks -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >/tmp/build-checks.txt 2>&1 &&
  cmake --build build-checks -j"${JOBS:-$(nproc)}" --target dwshim_gpu_tests dwshim_bench_cudnn \
    >>/tmp/build-checks.txt 2>&1 || tail -20 /tmp/build-checks.txt
}

# ncu's sections on one launch of the kernels matching regex $1 in build-$2's bench_cudnn, given the bench's other
# arguments (cases file, --case, --op, --dtype, --layout).
ncu_sections() {
  local kernel=$1 tree=$2
  shift 2
  DWSHIM_ROUTE=all timeout 90 ncu --clock-control none --kernel-name "regex:$kernel" --launch-skip 2 --launch-count 1 \
    --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats \
    --section MemoryWorkloadAnalysis --section SchedulerStats "build-$tree/bench/dwshim_bench_cudnn" "$@" \
    --dwshim-only 1
}

# Runs the GPU tests of build-$1 matching $2 in 12 processes (each under 200 s) beside whatever else runs in the
# background, waits for all of it, and adds the pass / fail counts to the summary; logs in /tmp/$1-tests-*.log.
run_test_shards() {
  local tree=$1 filter=$2
  for shard in $(seq 0 11); do
    DWSHIM_ROUTE=all GTEST_TOTAL_SHARDS=12 GTEST_SHARD_INDEX=$shard timeout 200 "build-$tree/tests/dwshim_gpu_tests" \
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

case "$STAGE" in
  probe)
    { cat bench/models.csv; grep -v "^#" bench/suite.csv | grep -v "^replk31,"; } >/tmp/land.csv
    { cat bench/models.csv; grep -E "^(kb84|convnext7)," bench/suite.csv; } >/tmp/wgrad.csv
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $5 <= 28 && ($6 == 5 || $6 == 7) && $8 == 1' bench/models.csv;
      grep -E "^convnext7," bench/suite.csv; } >/tmp/images.csv
    JOBS=8 build_checks >"$OUT/builds.txt" 2>&1 &
    # Nine trees at once, 4 (8 for checks) files at a time each: at 16 each, 144 nvcc processes would risk the
    # machine's 128 GiB.
    STEPS=build VARIANTS="main fwalk4 vstage pimages tiles2 tiles2w final nofinal" JOBS=4 OUT=/tmp/build-logs \
      bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    echo "probe: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      { STEPS=time CASES=/tmp/land.csv OPS=fwd,dgrad DTYPES=f32,f16,bf16 LAYOUTS=nhwc \
          VARIANTS="main fwalk4 vstage pimages" OUT=/tmp/fwd-$round bash scripts/compare_variants.sh >/dev/null 2>&1
        STEPS=time CASES=/tmp/wgrad.csv OPS=wgrad DTYPES=f32,bf16 LAYOUTS=nhwc \
          VARIANTS="main tiles2 tiles2w final nofinal" \
          OUT=/tmp/wgrad-$round bash scripts/compare_variants.sh >/dev/null 2>&1
        cat /tmp/fwd-$round/variants.txt /tmp/wgrad-$round/variants.txt; } >"$OUT/variants-$round.txt"
    done
    echo "probe: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    python3 bench/variant_table.py "$OUT"/variants-*.txt | grep " xmain: " >>"$OUT/summary.txt"
    # checks against cuDNN and PyTorch on the small-image layers: the columns a route needs.
    DWSHIM_ROUTE=all timeout 150 build-checks/bench/dwshim_bench_cudnn /tmp/images.csv --case all \
      --op fwd,dgrad,wgrad --dtype f16,bf16 --layout nhwc --csv "$OUT/images-cudnn.csv" >/tmp/images-cudnn.log 2>&1
    DWSHIM_LIBRARY="$PWD/build-checks/libdwshim.so" timeout 200 python3 bench/bench_torch.py --cases /tmp/images.csv \
      --case all --op fwd,dgrad,wgrad --dtype f16,bf16 --layout nhwc --csv "$OUT/images-torch.csv" \
      >/tmp/images-torch.log 2>&1
    echo "probe: benched at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for op in dgrad:data_grad_nhwc_s2 wgrad:filter_grad_nhwc_ring; do
      ncu_sections "${op#*:}" main bench/models.csv --case c144_56x56_k5s2 --op "${op%%:*}" --dtype bf16 \
        --layout nhwc >>"$OUT/ncu-s2.txt" 2>&1
    done
    ;;
  checks)
    [ -x build-checks/tests/dwshim_gpu_tests ] || build_checks >"$OUT/builds.txt" 2>&1
    for i in 0 1 2 3; do
      DWSHIM_ROUTE=all DWSHIM_TEST_CASE=$i timeout 150 compute-sanitizer --tool memcheck --print-limit 10 \
        build-checks/tests/dwshim_gpu_tests \
        --gtest_filter='Gradients.NhwcTinyImages*:LegacyForward.RandomNhwcSmallPlanesInImageGroups*' \
        >"/tmp/memcheck-$i.log" 2>&1 &
    done
    run_test_shards checks '*SmallPlanes*:Gradients.*Nhwc*:Gradients.FilterGradOfFewChannels*:Gradients.FuzzBackend*:'\
'Gradients.Repeat*'
    cat /tmp/checks-tests-*.log /tmp/memcheck-*.log >"$OUT/tests-checks.log"
    echo "memcheck: $(grep -hE 'ERROR SUMMARY' /tmp/memcheck-*.log | sort | uniq -c | tr '\n' ' ')" >>"$OUT/summary.txt"
    ;;
  prefetch)
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 1' bench/models.csv;
      grep -E "^(kb84|mbv2_56|convnext7|mult2)," bench/suite.csv; } >/tmp/nchw.csv
    [ -x build-pf4/tests/dwshim_gpu_tests ] || (cmake -S variants/pf4 -B build-pf4 -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_CUDA_ARCHITECTURES=90 -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >/tmp/build-pf4.txt 2>&1 &&
      cmake --build build-pf4 -j8 --target dwshim_gpu_tests dwshim_bench_cudnn >>/tmp/build-pf4.txt 2>&1 ||
      tail -20 /tmp/build-pf4.txt) >"$OUT/builds-prefetch.txt" 2>&1 &
    STEPS=build VARIANTS="main pf2 pf8 ring512 ring512v" JOBS=4 OUT=/tmp/build-logs bash scripts/compare_variants.sh \
      >>"$OUT/builds-prefetch.txt" 2>&1 &
    wait
    echo "prefetch: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      STEPS=time CASES=/tmp/nchw.csv OPS=fwd,dgrad,wgrad DTYPES=f32,f16,bf16 LAYOUTS=nchw \
        VARIANTS="main pf2 pf4 pf8" OUT=/tmp/pf-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      STEPS=time CASES=bench/models.csv OPS=wgrad DTYPES=f32,bf16 LAYOUTS=nhwc VARIANTS="main ring512 ring512v" \
        OUT=/tmp/ring-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cat /tmp/pf-$round/variants.txt /tmp/ring-$round/variants.txt >"$OUT/prefetch-$round.txt"
    done
    echo "prefetch: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    python3 bench/variant_table.py "$OUT"/prefetch-*.txt | grep " xmain: " >>"$OUT/summary.txt"
    # What the prefetch changes in the KB84 fp16 NCHW filter gradient: DRAM throughput, stall reasons, L2 hits.
    for tree in main pf4; do
      echo "== $tree" >>"$OUT/ncu-prefetch.txt"
      ncu_sections filter_grad_nchw_rows "$tree" bench/suite.csv --case kb84 --op wgrad --dtype f16 --layout nchw \
        >>"$OUT/ncu-prefetch.txt" 2>&1
    done
    run_test_shards pf4 'Gradients.Legacy*:Gradients.Backend*:Gradients.Nchw*:Gradients.Fuzz*:Gradients.Repeat*:'\
'*RandomNchw*'
    cat /tmp/pf4-tests-*.log >"$OUT/tests-prefetch.log"
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
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 1' bench/models.csv;
      grep -E "^(kb84|mbv2_56|convnext7|mult2)," bench/suite.csv; } >/tmp/nchw.csv
    { cat bench/models.csv; grep -E "^(kb84|mbv2_56|convnext7|mult2)," bench/suite.csv; } >/tmp/nhwc.csv
    for round in 1 2; do
      { STEPS=time CASES=/tmp/nhwc.csv OPS=fwd,dgrad,wgrad DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="main landed" \
          OUT=/tmp/landed bash scripts/compare_variants.sh >/dev/null 2>&1
        STEPS=time CASES=/tmp/nchw.csv OPS=fwd,dgrad DTYPES=f32,f16,bf16 LAYOUTS=nchw VARIANTS="main landed" \
          OUT=/tmp/landed-nchw bash scripts/compare_variants.sh >/dev/null 2>&1
        cat /tmp/landed/variants.txt /tmp/landed-nchw/variants.txt; } >"$OUT/variants-landed-$round.txt"
    done
    python3 bench/variant_table.py "$OUT"/variants-landed-*.txt | grep " xmain: " >>"$OUT/summary.txt"
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
