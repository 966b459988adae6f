#!/usr/bin/env bash
# CI's second stack: CUDA 11 + cuDNN 8.5, built and CPU-tested on a machine whose standard prefix holds CUDA 13 +
# cuDNN 9. cuDNN is PyTorch 1.13.1's 8.5.0.96 (pip wheel nvidia-cudnn-cu11). The compiler is Debian bookworm's
# nvidia-cuda-toolkit 11.8 (non-free) with g++-11: the oldest nvcc this CI can install, as the cu11 pip wheels
# (11.7.99, 11.8.89) carry ptxas but no nvcc. Usage: bash scripts/ci_cuda11_stack.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-cuda11}
WORK=$(realpath -m "${DWSHIM_CUDA11_WORK:-$BUILD-deps}")  # absolute: compilers run in build subfolders
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

if [ ! -x /usr/bin/nvcc ] || ! command -v g++-11 >/dev/null; then
  if ! apt-cache policy nvidia-cuda-toolkit | grep -q "Candidate: 11"; then
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      $SUDO tee /etc/apt/sources.list.d/dwshim-non-free.sources >/dev/null
    $SUDO apt-get update -qq
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nvidia-cuda-toolkit g++-11 >/dev/null
fi

mkdir -p "$WORK"
cudnn="$WORK/nvidia/cudnn"
if [ ! -f "$cudnn/include/cudnn_version.h" ]; then
  python3 -m pip download -q --no-deps -d "$WORK/wheels" nvidia-cudnn-cu11==8.5.0.96
  python3 -m zipfile -e "$WORK"/wheels/nvidia_cudnn_cu11-8.5.0.96-*.whl "$WORK"
fi

# CUDA 13's headers sit in /usr/local/include, which the compilers search before /usr/include: give them CUDA
# 11.8's own headers through an -I folder of links, searched first.
include="$WORK/cuda-include"
rm -rf "$include"
dpkg -L nvidia-cuda-dev | grep '^/usr/include/' | while read -r header; do
  if [ -f "$header" ]; then
    mkdir -p "$include/$(dirname "${header#/usr/include/}")"
    ln -sf "$header" "$include/${header#/usr/include/}"
  fi
done

export PATH="/usr/bin:$PATH"  # nvcc 11.8 runs ptxas from PATH: not CUDA 13's
# One architecture, as CI builds every kernel once per architecture: sm_70, the one the CUDA 13 build lacks, whose
# synchronous-copy fallback and missing sm_80 bf16 overloads only this stack compiles.
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_COMPILER=/usr/bin/nvcc -DCMAKE_CUDA_ARCHITECTURES=70 \
  -DCMAKE_CUDA_HOST_COMPILER=g++-11 -DCMAKE_CXX_COMPILER=g++-11 -DCUDAToolkit_ROOT=/usr -DCUDNN_PATH="$cudnn" \
  -DCMAKE_CXX_FLAGS="-I$include" -DCMAKE_CUDA_FLAGS="-I$include" -DDWSHIM_BUILD_BENCH=OFF ${CMAKE_ARGS:-}
cmake --build "$BUILD" -j"$(nproc)"
ctest --test-dir "$BUILD" --output-on-failure
