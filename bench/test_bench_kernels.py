"""ember's kernels beside NumPy: ``python -m pytest bench/ --benchmark-only``."""
import numpy as np
import pytest

from ember import _core, kernels

RNG = np.random.default_rng(0)


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- GEMM

@pytest.mark.parametrize("n", [64, 128, 256, 512, 1024, 2048])
@pytest.mark.parametrize("lib", ["ember", "numpy"])
def test_gemm_square(benchmark, lib, n):
    a, b = rand(n, n), rand(n, n)
    benchmark.group = f"gemm {n}x{n}x{n}"
    benchmark.extra_info["flops"] = 2.0 * n ** 3
    fn = kernels.matmul if lib == "ember" else np.matmul
    benchmark(fn, a, b)


# The GEMMs of the MNIST convnet at batch 64 (forward, dW, dX of each layer).
CONVNET_GEMMS = {
    "conv1 fwd (43264x32x9)": (43264, 32, 9),
    "conv2 fwd (7744x64x288)": (7744, 64, 288),
    "conv2 dW (288x64x7744)": (288, 64, 7744),
    "conv2 dX (7744x288x64)": (7744, 288, 64),
    "conv3 fwd (576x64x576)": (576, 64, 576),
    "dense1 fwd (64x64x576)": (64, 64, 576),
}


@pytest.mark.parametrize("shape", list(CONVNET_GEMMS))
@pytest.mark.parametrize("lib", ["ember", "numpy"])
def test_gemm_convnet_shapes(benchmark, lib, shape):
    m, n, k = CONVNET_GEMMS[shape]
    a, b = rand(m, k), rand(k, n)
    benchmark.group = f"gemm {shape}"
    benchmark.extra_info["flops"] = 2.0 * m * n * k
    benchmark(kernels.matmul if lib == "ember" else np.matmul, a, b)


# ---------------------------------------------------------------- Conv2D

def numpy_conv2d(x, w, b):
    """im2col with a strided view, then one matmul ('valid', stride 1)."""
    kh, kw, c, f = w.shape
    cols = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))  # N,OH,OW,C,kh,kw
    cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * c)
    y = cols @ w.reshape(-1, f) + b
    return y.reshape(x.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1, f)


def numpy_conv2d_backward(dy, x, w):
    kh, kw, c, f = w.shape
    n, oh, ow, _ = dy.shape
    cols = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    cols = cols.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * c)
    dy2 = dy.reshape(-1, f)
    dw = (cols.T @ dy2).reshape(w.shape)
    db = dy2.sum(0)
    dcols = (dy2 @ w.reshape(-1, f).T).reshape(n, oh, ow, kh, kw, c)
    dx = np.zeros_like(x)
    for i in range(kh):
        for j in range(kw):
            dx[:, i:i + oh, j:j + ow, :] += dcols[:, :, :, i, j, :]
    return dx, dw, db


CONV_SHAPES = {"conv1 64x28x28x1 k3 f32": (64, 28, 28, 1, 32),
               "conv2 64x13x13x32 k3 f64": (64, 13, 13, 32, 64),
               "conv3 64x5x5x64 k3 f64": (64, 5, 5, 64, 64)}


@pytest.mark.parametrize("shape", list(CONV_SHAPES))
@pytest.mark.parametrize("lib", ["ember", "numpy"])
def test_conv2d_forward(benchmark, lib, shape):
    n, h, w_, c, f = CONV_SHAPES[shape]
    x, w, b = rand(n, h, w_, c), rand(3, 3, c, f), rand(f)
    benchmark.group = f"conv2d fwd {shape}"
    benchmark.extra_info["flops"] = 2.0 * n * (h - 2) * (w_ - 2) * 9 * c * f
    if lib == "ember":
        benchmark(kernels.conv2d, x, w, b)
    else:
        np.testing.assert_allclose(numpy_conv2d(x, w, b), kernels.conv2d(x, w, b), rtol=1e-3, atol=1e-3)
        benchmark(numpy_conv2d, x, w, b)


@pytest.mark.parametrize("shape", list(CONV_SHAPES))
@pytest.mark.parametrize("lib", ["ember", "numpy"])
def test_conv2d_backward(benchmark, lib, shape):
    n, h, w_, c, f = CONV_SHAPES[shape]
    x, w = rand(n, h, w_, c), rand(3, 3, c, f)
    dy = rand(n, h - 2, w_ - 2, f)
    benchmark.group = f"conv2d bwd {shape}"
    benchmark.extra_info["flops"] = 4.0 * n * (h - 2) * (w_ - 2) * 9 * c * f
    if lib == "ember":
        benchmark(kernels.conv2d_backward, dy, x, w)
    else:
        benchmark(numpy_conv2d_backward, dy, x, w)


# ---------------------------------------------------------------- pooling, loss, optimizer

def numpy_max_pool(x):
    n, h, w, c = x.shape
    return x[:, :h // 2 * 2, :w // 2 * 2, :].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


@pytest.mark.parametrize("lib", ["ember", "numpy"])
def test_max_pool(benchmark, lib):
    x = rand(64, 26, 26, 32)
    benchmark.group = "max_pool2d 64x26x26x32"
    benchmark.extra_info["bytes"] = x.nbytes * 1.25
    benchmark(kernels.max_pool2d if lib == "ember" else numpy_max_pool, x)


def numpy_softmax_ce(t, z):
    m = z.max(-1, keepdims=True)
    e = np.exp(z - m)
    s = e.sum(-1, keepdims=True)
    p = e / s
    loss = -(t * (z - m - np.log(s))).sum(-1).mean()
    return loss, (p - t) / len(z)


@pytest.mark.parametrize("lib", ["ember", "numpy"])
def test_softmax_crossentropy(benchmark, lib):
    z = rand(4096, 10)
    t = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 4096)]
    benchmark.group = "softmax+CE 4096x10"
    benchmark.extra_info["bytes"] = z.nbytes * 4
    benchmark(kernels.softmax_categorical_crossentropy if lib == "ember" else numpy_softmax_ce, t, z)


def numpy_adam(p, g, m, v, step, lr=0.001, b1=0.9, b2=0.999, eps=1e-7):
    alpha = lr * np.sqrt(1 - b2 ** step) / (1 - b1 ** step)
    m += (g - m) * (1 - b1)
    v += (g * g - v) * (1 - b2)
    p -= alpha * m / (np.sqrt(v) + eps)


@pytest.mark.parametrize("lib", ["ember", "numpy"])
def test_adam_step(benchmark, lib):
    p, g = rand(100_000), rand(100_000)
    m, v = np.zeros_like(p), np.zeros_like(p)
    benchmark.group = "adam step 100k params"
    benchmark.extra_info["bytes"] = p.nbytes * 7
    if lib == "ember":
        benchmark(_core.adam_update, p, g, m, v, 0.001, 0.9, 0.999, 1e-7, 1)
    else:
        benchmark(numpy_adam, p, g, m, v, 1)
