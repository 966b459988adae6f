#!/usr/bin/env bash
# Builds dwshim and runs every test: CPU tests always; GPU tests run where a GPU is present, skip elsewhere.
# GoogleTest: the system package, else sources in DWSHIM_GTEST_SOURCE_DIR or third_party/googletest (machines
# without a package registry). Where a GPU is present the kernels are built for it alone (minutes, not tens of
# minutes); elsewhere, and in CI, for every architecture the compiler supports. CMAKE_ARGS adds cmake options.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
# The standard prefix's CUDA, also where another nvcc sits beside the host compiler (CMake looks there first).
if [ -z "${CUDACXX:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDACXX=/usr/local/cuda/bin/nvcc; fi
BUILD=${BUILD:-build}
args=()
gtest=${DWSHIM_GTEST_SOURCE_DIR:-}
if [ -z "$gtest" ] && ! ls /usr/lib/x86_64-linux-gnu/libgtest.a /usr/lib/libgtest.a >/dev/null 2>&1 &&
  [ -d third_party/googletest ]; then
  gtest=$PWD/third_party/googletest
fi
[ -n "$gtest" ] && args+=(-DDWSHIM_GTEST_SOURCE_DIR="$gtest")
if [ -z "${CUDAARCHS:-}" ] && nvidia-smi -L >/dev/null 2>&1; then args+=(-DCMAKE_CUDA_ARCHITECTURES=native); fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "${args[@]}" ${CMAKE_ARGS:-}
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure
