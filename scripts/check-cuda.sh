#!/usr/bin/env bash
# Compiles the trainer with `--features cuda` on a machine without a GPU or a
# system CUDA toolkit: nvcc, NVVM and the headers come from NVIDIA's PyPI
# wheels (one toolkit version throughout: mixing them fails in the headers'
# version check or in ptxas), candle's kernels are compiled for sm_90 (H100).
# This checks that the CUDA code paths compile (the library is built, the
# binaries type-checked by clippy); linking the binaries needs the driver's
# libcuda and running them a GPU.
#
#   bash scripts/check-cuda.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
CUDA_SERIES=${CUDA_SERIES:-13.2}
python3 -m pip install --quiet --disable-pip-version-check \
  "nvidia-cuda-nvcc==$CUDA_SERIES.*" "nvidia-nvvm==$CUDA_SERIES.*" \
  "nvidia-cuda-crt==$CUDA_SERIES.*" "nvidia-cuda-cccl==$CUDA_SERIES.*" \
  "nvidia-cuda-runtime==$CUDA_SERIES.*"
cuda="$(python3 -c 'import nvidia, os; print(os.path.join(nvidia.__path__[0], "cu13"))')"
export PATH="$cuda/bin:$PATH" CUDA_ROOT="$cuda" CUDA_PATH="$cuda" CUDA_HOME="$cuda"
export CUDARC_CUDA_VERSION="${CUDA_SERIES/./0}0" CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
cargo build --release -p adamame-trainer --features cuda --lib
cargo clippy --release -p adamame-trainer --features cuda --lib --bins -- -D warnings
echo "the cuda feature compiles (CUDA $CUDA_SERIES, sm_$CUDA_COMPUTE_CAP)"
