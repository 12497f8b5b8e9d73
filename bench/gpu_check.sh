#!/usr/bin/env bash
# One script for a machine with an NVIDIA GPU: builds ember with CUDA into a
# temporary folder, runs the `gpu` tests, and times SGEMM at n = 4096 and the
# convnet's layers on the GPU. Finishes in a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
target=$(mktemp -d)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
$PY -m pip install -q numpy pytest hypothesis 2>/dev/null || true
time $PY -m pip install --no-deps -q . --target "$target" -Ccmake.define.EMBER_CUDA=ON -Cbuild-dir=build/cuda
export PYTHONPATH="$target"
$PY -c "import ember; print('device:', ember.cuda.device_name())"
$PY -m pytest -q -p no:cacheprovider -m gpu tests/test_cuda.py
$PY - <<'PYEOF'
import time
import numpy as np
import ember

def timed(fn, *args, reps=10):
    fn(*args)
    t0 = time.perf_counter()
    for _ in range(reps):
        fn(*args)
    return (time.perf_counter() - t0) / reps

n = 4096
t = ember._core.cuda_benchmark_gemm(n, n, n, 20)  # device-resident, CUDA events
print(f"| SGEMM 4096 (on device) | {t * 1e3:.2f} ms | {2 * n**3 / t / 1e12:.2f} TFLOP/s |")
rng = np.random.default_rng(0)
x = rng.standard_normal((64, 13, 13, 32), dtype=np.float32)
k = rng.standard_normal((3, 3, 32, 64), dtype=np.float32)
t = timed(ember.cuda.conv2d, x, k)
print(f"| conv2 forward, batch 64 (with copies) | {t * 1e3:.2f} ms | |")
PYEOF
