#!/usr/bin/env bash
# Rebuilds the CUDA backend's kernel images (sdk/src/compute/cuda/kernels.fatbin and kernels.ptx.gz)
# from kernels.cu with nvcc. Pass --check to only verify that the committed images are up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
exec tsx sdk/src/compute/cuda/build.ts "$@"
