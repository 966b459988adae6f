#!/usr/bin/env bash
# Builds the libFuzzer target of the descriptor-reading and routing code with Clang (ASan + UBSan) and runs it
# for FUZZ_SECONDS (default 60) on the CPU. A crash or broken invariant leaves crash-* with the input that
# reproduces it: build-fuzz/tests/fuzz/dwshim_fuzz_routing crash-<hash>.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
CLANGXX=${CLANGXX:-$(command -v clang++-14 || command -v clang++)}
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDWSHIM_BUILD_FUZZER=ON -DCMAKE_CXX_COMPILER="$CLANGXX" \
  -DCMAKE_CUDA_HOST_COMPILER="$(command -v g++)" -DCMAKE_CUDA_ARCHITECTURES=90 ${CMAKE_ARGS:-}
cmake --build build-fuzz -j"$(nproc)"
mkdir -p build-fuzz/corpus
build-fuzz/tests/fuzz/dwshim_fuzz_routing -max_total_time="${FUZZ_SECONDS:-60}" -print_final_stats=1 \
  -artifact_prefix=build-fuzz/ build-fuzz/corpus
