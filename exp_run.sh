#!/usr/bin/env bash
# One device call: main's kernels (exp_main, from git archive main) and this branch's, built side by side,
# timed dwshim-only (GPU time) on exp_cases.csv.
set -u
export PATH="$PATH:/usr/local/cuda/bin"
build() {
  cmake -S "$2" -B "$1" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 -DDWSHIM_BUILD_TESTS=OFF \
    -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >"$1.cfg.log" 2>&1
  cmake --build "$1" -j16 --target dwshim_bench_cudnn >"$1.build.log" 2>&1 || tail -20 "$1.build.log"
}
build b_main exp_main &
build b_new . &
wait
for v in b_main b_new; do
  DWSHIM_ROUTE=all $v/bench/dwshim_bench_cudnn exp_cases.csv --case all --op fwd,dgrad,wgrad --dtype f32,f16,bf16 \
    --layout nhwc --dwshim-only 1 2>&1 | grep -v "^case\|^device" | sed "s/^/$v /"
done >"$OUT/variants.txt"
awk '{print $1, $2, $3, $4, $6}' "$OUT/variants.txt" | sort -k2,2 -k3,3 -k4,4 -k1,1 |
  awk '{k=$2" "$3" "$4; if(k!=p){printf "\n%-26s", k; p=k} printf " %s=%s", $1, $5}' | tee "$OUT/table.txt"
