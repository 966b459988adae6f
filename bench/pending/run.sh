#!/usr/bin/env bash
# The next session's device calls (carry third_party and variants, prepared as in bench/pending/README.md; the
# stages that ran in the seventeenth session, runs zl-zo, are in git history):
#   STAGE=probe  (about 150 s) forward-walk.patch walking only where a block gets 4+ strip groups (variants/fwalk4)
#                against main (variants/main), forward, NHWC, every dtype, once; ncu's sections on main's stride-2
#                data gradient (c144_56x56_k5s2 bf16).
#   STAGE=train  (about 260 s) the bf16 channels-last training step, plain vs dwshim-run, on this tree.
# Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-probe}
start=$SECONDS

case "$STAGE" in
  probe)
    { cat bench/models.csv; grep -v "^#" bench/suite.csv | grep -v "^replk31,"; } >/tmp/land.csv
    STEPS=build VARIANTS="main fwalk4" OUT=/tmp/build-logs bash scripts/compare_variants.sh >"$OUT/builds.txt" 2>&1
    echo "probe: built at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    STEPS=time CASES=/tmp/land.csv OPS=fwd DTYPES=f32,f16,bf16 LAYOUTS=nhwc VARIANTS="main fwalk4" \
      OUT=/tmp/variants-1 bash scripts/compare_variants.sh >/dev/null 2>&1
    cp /tmp/variants-1/variants.txt "$OUT/variants-1.txt"
    echo "probe: timed at $((SECONDS - start)) s" >>"$OUT/summary.txt"
    DWSHIM_ROUTE=all timeout 60 ncu --clock-control none --kernel-name regex:data_grad_nhwc_s2 --launch-skip 2 \
      --launch-count 1 --section SpeedOfLight --section Occupancy --section WarpStateStats --section LaunchStats \
      --section MemoryWorkloadAnalysis --section SchedulerStats build-main/bench/dwshim_bench_cudnn bench/models.csv \
      --case c144_56x56_k5s2 --op dgrad --dtype bf16 --layout nhwc --dwshim-only 1 >"$OUT/ncu-s2.txt" 2>&1
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
