#!/usr/bin/env bash
# Builds the host code with AddressSanitizer and UndefinedBehaviorSanitizer and runs the native tests. The
# Python tests are left out: an instrumented library cannot load into an uninstrumented interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
BUILD=${BUILD:-build-sanitize}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DDWSHIM_SANITIZE=address,undefined -DDWSHIM_BUILD_BENCH=OFF \
  ${CMAKE_ARGS:-}
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure -E '^python$'
