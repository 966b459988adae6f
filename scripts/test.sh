#!/usr/bin/env bash
# Builds dwshim and runs every test: CPU tests always; GPU tests run where a GPU is present, skip elsewhere.
# GoogleTest: the system package, else sources in DWSHIM_GTEST_SOURCE_DIR or third_party/googletest (machines
# without a package registry). Where a GPU is present the kernels are built for it alone (CMakeLists.txt), and
# the GPU tests run as shards at once (their float64 references are CPU-bound). CMAKE_ARGS adds cmake options.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/cuda/bin"
BUILD=${BUILD:-build}
args=()
gtest=${DWSHIM_GTEST_SOURCE_DIR:-}
if [ -z "$gtest" ] && ! ls /usr/lib/x86_64-linux-gnu/libgtest.a /usr/lib/libgtest.a >/dev/null 2>&1 &&
  [ -d third_party/googletest ]; then
  gtest=$PWD/third_party/googletest
fi
[ -n "$gtest" ] && args+=(-DDWSHIM_GTEST_SOURCE_DIR="$gtest")
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "${args[@]}" ${CMAKE_ARGS:-}
cmake --build "$BUILD" -j"$(nproc)"
set +e
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" 2>&1 | tee "$BUILD/ctest-last.log"
rc=${PIPESTATUS[0]}
set -e
counts=$(grep -E "% tests passed" "$BUILD/ctest-last.log" | tail -1 || true)
skipped=$(grep -c "(Skipped)" "$BUILD/ctest-last.log" || true)
gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
echo "dwshim tests: ${counts:-ctest did not finish}; $skipped skipped; ${gpu:+GPU tests on $gpu}${gpu:-no GPU, GPU tests skipped}"
exit "$rc"
