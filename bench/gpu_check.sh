#!/usr/bin/env bash
# One script for a machine with an NVIDIA GPU (the lent H100/H200 has nvcc,
# CMake, ninja, pybind11, scikit-build-core, NumPy, pytest and PyTorch, and no
# network): builds ember with CUDA into a temporary folder, runs every `gpu`
# test on the device, times SGEMM at n = 4096 and the MNIST convnet's
# training and inference on the GPU (ember and PyTorch beside it), and last
# checks the kernels with compute-sanitizer. Prints table rows for
# bench/RESULTS.md. About 5 minutes; OUT=dir also keeps the log there.
#
# A dry run of the script itself on a machine without a GPU, against the CPU
# emulator and with tiny sizes (its timings mean nothing):
#   BUILD=-Ccmake.define.EMBER_CUDA_EMULATE=ON GEMM_N=64 BATCH=4 STEPS=2 TEST_IMAGES=16 bash bench/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
log=${OUT:-/tmp}/gpu_check.log
exec > >(tee "$log") 2>&1
fail=0
BUILD=${BUILD:--Ccmake.define.EMBER_CUDA=ON}
GEMM_N=${GEMM_N:-4096}
STEPS=${STEPS:-200}
BATCH=${BATCH:-128}
TEST_IMAGES=${TEST_IMAGES:-10000}
step() { echo; echo "== $* ($(date +%T))"; }

step "device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
nvcc --version | tail -1

step "build with CUDA"
target=$(mktemp -d)
time $PY -m pip install --no-build-isolation --no-deps -q . --target "$target" \
  "$BUILD" -Cbuild-dir=build/gpu || { echo "BUILD FAILED"; exit 1; }
export PYTHONPATH="$target"
$PY -c "import ember; print('device:', ember.cuda.device_name(), '| emulated:', ember.cuda.emulated())" || exit 1

step "gpu tests (CUDA kernels against the CPU kernels, device training against CPU training)"
EMBER_REQUIRE_CUDA=1 timeout 300 $PY -m pytest -q -p no:cacheprovider -m gpu tests/test_cuda.py \
  -k "not without_a_gpu" || fail=1

step "timings"
GEMM_N=$GEMM_N timeout 200 $PY - <<'PYEOF' || fail=1
import os
import ember
n = int(os.environ["GEMM_N"])
t = ember._core.cuda_benchmark_gemm(n, n, n, 20)  # device-resident, CUDA events
print(f"| SGEMM fp32, n = {n} (device-resident, CUDA events) | {t * 1e3:.2f} ms | {2 * n**3 / t / 1e12:.2f} TFLOP/s |")
PYEOF
timeout 200 $PY bench/train.py --device cuda --batch-size "$BATCH" --steps "$STEPS" --repeat 3 \
  --test-images "$TEST_IMAGES" || fail=1

step "compute-sanitizer memcheck and racecheck on the kernels"
if command -v compute-sanitizer >/dev/null 2>&1; then
  EMBER_REQUIRE_CUDA=1 timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 \
    $PY -m pytest -q -x -p no:cacheprovider tests/test_cuda.py \
    -k "7-13-31 or split_k or conv2d or pooling or dense or losses or batch_norm or dropout" || fail=1
  # Shared memory is used by the GEMM alone.
  EMBER_REQUIRE_CUDA=1 timeout 90 compute-sanitizer --tool racecheck --error-exitcode 9 \
    $PY -m pytest -q -x -p no:cacheprovider tests/test_cuda.py -k "matmul and 129-65-30" || fail=1
else
  echo "compute-sanitizer not found: skipped"
fi

step "done: $([ $fail = 0 ] && echo PASSED || echo FAILED)"
rm -rf "$target"
exit $fail
