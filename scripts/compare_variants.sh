#!/usr/bin/env bash
# Times the kernels of several source trees side by side in one device call: dwshim-only GPU time of
# bench_cudnn, each tree built for sm_90 in parallel. Before the call, on this machine, put each variant under
# variants/ (git-ignored, so it is never committed; the device call carries it), e.g.
#   rm -rf variants && mkdir -p variants/main variants/new && git archive main | tar -x -C variants/main &&
#   git archive HEAD | tar -x -C variants/new
# Device call (carry third_party and variants): CASES=bench/models.csv OPS=fwd,dgrad,wgrad DTYPES=f16,bf16 \
#   LAYOUTS=nhwc bash scripts/compare_variants.sh      -> $OUT/variants.txt (every row), $OUT/variants_table.txt
# STEPS=build or STEPS=time does one half (build the trees while something else uses the GPU, time them later);
# VARIANTS="main new" takes those trees only; JOBS=n compiles n files at a time per tree (default: every core; the
# trees build at once, so many trees want fewer, or nvcc's memory runs out).
set -u
export PATH="$PATH:/usr/local/cuda/bin"
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
STEPS=${STEPS:-build,time}
names=()
for name in ${VARIANTS:-$(ls variants)}; do
  dir=variants/$name
  names+=("$name")
  [[ $STEPS == *build* ]] || continue
  (cmake -S "$dir" -B "build-$name" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 \
     -DDWSHIM_BUILD_TESTS=OFF -DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest" >"build-$name.log" 2>&1 &&
   cmake --build "build-$name" -j"${JOBS:-$(nproc)}" --target dwshim_bench_cudnn >>"build-$name.log" 2>&1 ||
   tail -20 "build-$name.log") &
done
wait
[[ $STEPS == *time* ]] || exit 0
for name in "${names[@]}"; do
  DWSHIM_ROUTE=all "build-$name/bench/dwshim_bench_cudnn" "${CASES:-bench/suite.csv}" --case "${CASE:-all}" \
    --op "${OPS:-fwd}" --dtype "${DTYPES:-f32,f16,bf16}" --layout "${LAYOUTS:-nhwc}" --dwshim-only 1 2>&1 |
    grep -v "^case\|^device" | sed "s/^/$name /"
done >"$OUT/variants.txt"
awk '{print $1, $2, $3, $4, $6}' "$OUT/variants.txt" | sort -k2,2 -k3,3 -k4,4 -k1,1 |
  awk '{k=$2" "$3" "$4; if(k!=p){printf "\n%-28s", k; p=k} printf " %s=%s", $1, $5}' | tee "$OUT/variants_table.txt"
echo
