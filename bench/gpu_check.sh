#!/usr/bin/env bash
# One script for a machine with an NVIDIA GPU (the lent H100/H200 has nvcc,
# CMake, ninja, pybind11, scikit-build-core, NumPy, pytest and PyTorch, and no
# network): builds ember with CUDA into a temporary folder, runs every `gpu`
# test on the device, checks a few kernels with compute-sanitizer, then times
# SGEMM at n = 4096 and the MNIST convnet's training and inference on the GPU
# (ember and PyTorch). Prints a Markdown table for bench/RESULTS.md. Takes a
# few minutes; OUT=dir also keeps the log there.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
log=${OUT:-/tmp}/gpu_check.log
exec > >(tee "$log") 2>&1
fail=0
step() { echo; echo "== $* ($(date +%T))"; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
nvcc --version | tail -1

step "build with CUDA"
target=$(mktemp -d)
time $PY -m pip install --no-build-isolation --no-deps -q . --target "$target" \
  -Ccmake.define.EMBER_CUDA=ON -Cbuild-dir=build/gpu || { echo "BUILD FAILED"; exit 1; }
export PYTHONPATH="$target"
$PY -c "import ember; print('device:', ember.cuda.device_name(), '| emulated:', ember.cuda.emulated())" || exit 1

step "gpu tests (CUDA kernels against the CPU kernels, device training against CPU training)"
EMBER_REQUIRE_CUDA=1 timeout 300 $PY -m pytest -q -p no:cacheprovider -m gpu tests/test_cuda.py \
  -k "not without_a_gpu" || fail=1

step "compute-sanitizer memcheck and racecheck on the kernels"
if command -v compute-sanitizer >/dev/null 2>&1; then
  for tool in memcheck racecheck; do
    EMBER_REQUIRE_CUDA=1 timeout 150 compute-sanitizer --tool $tool --error-exitcode 9 \
      $PY -m pytest -q -x -p no:cacheprovider tests/test_cuda.py \
      -k "matmul and 7-13-31 or conv2d or pooling or dense or losses or batch_norm" || fail=1
  done
else
  echo "compute-sanitizer not found: skipped"
fi

step "timings"
timeout 200 $PY - <<'PYEOF' || fail=1
import ember
n = 4096
t = ember._core.cuda_benchmark_gemm(n, n, n, 20)  # device-resident, CUDA events
print(f"| SGEMM fp32, n = 4096 (device-resident, CUDA events) | {t * 1e3:.2f} ms | {2 * n**3 / t / 1e12:.2f} TFLOP/s |")
PYEOF
timeout 200 $PY bench/train.py --device cuda --batch-size 128 --steps 200 --repeat 3 || fail=1

step "done: $([ $fail = 0 ] && echo PASSED || echo FAILED)"
rm -rf "$target"
exit $fail
