#!/usr/bin/env bash
# The next session's calls (carry third_party and variants, prepared as in bench/pending/README.md):
#   STAGE=pad    (about 420 s) bench/pending/tap-row-pad.patch (variants/pad) and it with s2-grid-stride.patch
#                (variants/padstride, built with its tests) against main (variants/main) on the models' stride-2
#                layers and layers of rows up to 28 and four suite cases, forward and data gradient, every dtype,
#                twice; ncu's bank-conflict and wavefront counts of the stride-2 data gradient in the three trees;
#                padstride's NHWC tests, gradient fuzzers and capture in 12 processes, memcheck on 4 configs;
#                planes-k5-rows28.patch (variants/rows28) timed beside them; ncu on main's KB84 fp16 NCHW gradients;
#   STAGE=train  (about 280 s) the bf16 channels-last training step, plain vs dwshim-run, on this tree.
# Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-pad}
start=$SECONDS

# run_tests BUILD FILTER MEMCHECK_FILTER: FILTER's tests in 12 processes beside memcheck on 4 configs of
# MEMCHECK_FILTER, all routed everywhere; logs to $OUT/tests.log, counts to the summary.
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
  cat /tmp/tests-*.log /tmp/memcheck-*.log >"$OUT/tests.log"
  echo "tests at $((SECONDS - start)) s: $(grep -hE '^\[  (PASSED|FAILED) ' /tmp/tests-*.log | sort | uniq -c | tr '\n' ' ')" \
    >>"$OUT/summary.txt"
  echo "memcheck: $(grep -hE 'ERROR SUMMARY' /tmp/memcheck-*.log | sort | uniq -c | tr '\n' ' ')" >>"$OUT/summary.txt"
}

case "$STAGE" in
  pad)
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && ($8 == 2 || $5 <= 28)' bench/models.csv;
      grep -E "^(mbv2_s2|effnet_k5s2|mbv2_56|convnext7)," bench/suite.csv; } >/tmp/pad.csv
    (cmake -S variants/padstride -B build-padstride -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
       -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >/tmp/build-padstride.txt 2>&1 &&
     cmake --build build-padstride -j"$(nproc)" --target dwshim_gpu_tests dwshim_bench_cudnn \
       >>/tmp/build-padstride.txt 2>&1 || tail -20 /tmp/build-padstride.txt) >"$OUT/builds.txt" 2>&1 &
    STEPS=build VARIANTS="main pad rows28" OUT=/tmp/build-logs bash scripts/compare_variants.sh >>"$OUT/builds.txt" 2>&1 &
    wait
    echo "pad: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    for round in 1 2; do
      STEPS=time CASES=/tmp/pad.csv OPS=fwd,dgrad DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="main pad padstride rows28" \
        OUT=/tmp/variants-$round bash scripts/compare_variants.sh >/dev/null 2>&1
      cp /tmp/variants-$round/variants.txt "$OUT/variants-$round.txt"
    done
    echo "pad: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    # Where the stride-2 data gradient's L1 wavefronts go (run zk: L1/TEX 92% busy, DRAM 18%), in each tree.
    for tree in main pad padstride; do
      DWSHIM_ROUTE=all timeout 60 ncu --clock-control none --kernel-name regex:data_grad_nhwc_s2 --launch-skip 2 \
        --launch-count 1 --metrics l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum,\
l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum,l1tex__data_pipe_lsu_wavefronts_mem_shared.sum,\
l1tex__t_sectors_pipe_lsu_mem_global_op_ld.sum,l1tex__t_requests_pipe_lsu_mem_global_op_ld.sum,\
l1tex__data_pipe_lsu_wavefronts_mem_lg.sum,smsp__inst_executed.sum,gpu__time_duration.sum \
        "build-$tree/bench/dwshim_bench_cudnn" /tmp/pad.csv --case c144_56x56_k5s2 --op dgrad --dtype bf16 \
        --layout nhwc --dwshim-only 1 >>"$OUT/ncu.txt" 2>&1
    done
    # What limits KB84's 2-byte NCHW gradients (data gradient 66%, filter gradient 51% of the floor; fewer load
    # instructions and more registers both lost): stall reasons, occupancy, memory throughput, on main.
    for op_kernel in wgrad:filter_grad_nchw_rows dgrad:depthwise_nchw_quads; do
      DWSHIM_ROUTE=all timeout 90 ncu --clock-control none --kernel-name "regex:${op_kernel#*:}" --launch-skip 2 \
        --launch-count 1 --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats \
        --section MemoryWorkloadAnalysis --section SchedulerStats build-main/bench/dwshim_bench_cudnn bench/suite.csv \
        --case kb84 --op "${op_kernel%%:*}" --dtype f16 --layout nchw --dwshim-only 1 >>"$OUT/ncu-kb84.txt" 2>&1
    done
    run_tests build-padstride 'Gradients.*Nhwc*:*NhwcSmallPlanes*:*Forward.*NhwcVec*:Gradients.Fuzz*:Capture.*' \
      '*Forward.RandomNhwcSmallPlanes*:Gradients.LegacyNhwcGradients*'
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
[ "$STAGE" != train ] || head -12 "$OUT/train.log"
exit 0
