#!/usr/bin/env bash
# The native CPU tests again, host code instrumented: AddressSanitizer + UndefinedBehaviorSanitizer, then
# ThreadSanitizer (lazy resolution and the backend registry under many threads). Python tests are left out: an
# instrumented library cannot load into an uninstrumented interpreter; GPU tests skip where there is no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
# The sanitizers instrument host code only, so the kernels are built for one architecture.
for sanitizers in address,undefined thread; do
  build="build-sanitize-${sanitizers%%,*}"
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DDWSHIM_SANITIZE="$sanitizers" -DDWSHIM_BUILD_BENCH=OFF \
    -DCMAKE_CUDA_ARCHITECTURES=90 ${CMAKE_ARGS:-}
  cmake --build "$build" -j"$(nproc)"
  ctest --test-dir "$build" --output-on-failure -E '^python_test_'
done
