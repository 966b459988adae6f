#!/usr/bin/env bash
# Configures and builds on the GPU machine (pip-wheel cuDNN, googletest from third_party/); used by gpu_check.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-logs}
mkdir -p "$OUT"
export PATH="$PATH:/usr/local/cuda/bin"
gtest_arg=()
if [ -d third_party/googletest ]; then gtest_arg=(-DDWSHIM_GTEST_SOURCE_DIR="$PWD/third_party/googletest"); fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}" \
  -DPython3_EXECUTABLE="$(command -v python3)" "${gtest_arg[@]}" >"$OUT/configure.log" 2>&1 ||
  { tail -30 "$OUT/configure.log"; exit 1; }
cmake --build build -j"$(nproc)" >"$OUT/build.log" 2>&1 || { grep -B2 -A8 error "$OUT/build.log" | head -60; exit 1; }
