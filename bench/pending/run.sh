#!/usr/bin/env bash
# The next GPU session's calls (carry third_party and variants, prepared as in bench/pending/README.md):
#   STAGE=k35    (about 250 s) bench/pending/nhwc-planes-k3-k5.patch (variants/k35) against main (variants/main) on
#                the models' 3x3 and 5x5 stride-1 layers of rows up to 28, forward and data gradient, every dtype,
#                twice; k35 against cuDNN and PyTorch there; k35's tests in 12 processes and memcheck on 4 configs;
#   STAGE=train  (about 280 s) the bf16 channels-last training step, plain vs dwshim-run, on this tree.
# Prints a summary last; logs in $OUT (at most 8 files come back).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
STAGE=${STAGE:-k35}
start=$SECONDS

# build_with_tests NAME: variants/NAME into build-NAME, GPU tests and bench_cudnn.
build_with_tests() {
  (cmake -S "variants/$1" -B "build-$1" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
     -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >"/tmp/build-$1.txt" 2>&1 &&
   cmake --build "build-$1" -j"$(nproc)" --target dwshim_gpu_tests dwshim_bench_cudnn >>"/tmp/build-$1.txt" 2>&1 ||
   tail -20 "/tmp/build-$1.txt")
}

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
  k35)
    { grep "^#" bench/models.csv; awk -F, '!/^#/ && $8 == 1 && $5 <= 28 && $6 != 7' bench/models.csv; } >/tmp/k35.csv
    build_with_tests k35 >"$OUT/builds.txt" 2>&1 &
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
    run_tests build-k35 '*NhwcSmallPlanes*:*Forward.*NhwcVec*:LegacyForward.NonFinite*:Gradients.LegacyNhwcGradients*' \
      '*Forward.RandomNhwcSmallPlanes*:Gradients.NhwcSmallPlanes*'
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
[ "$STAGE" != k35 ] || python3 bench/variant_table.py "$OUT"/variants-[12].txt
[ "$STAGE" != train ] || head -12 "$OUT/train.log"
exit 0
