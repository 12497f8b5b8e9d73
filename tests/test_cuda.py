"""The CUDA backend against the CPU kernels (within 1e-4 relative error).
These tests need a GPU and an ember built with -Ccmake.define.EMBER_CUDA=ON;
elsewhere they skip, and only the CPU-side contract below runs."""
import numpy as np
import pytest

import ember
from ember import _core, ops

from conftest import rand

gpu = pytest.mark.skipif(not ember.cuda.is_available(),
                         reason="no CUDA device, or ember built without CUDA "
                                f"(built with CUDA: {ember.cuda.built()})")
pytestmark = pytest.mark.gpu


def close(a, b, rtol=1e-4):
    b = np.asarray(b, np.float64)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.abs(b).max(initial=0))))


def test_without_a_gpu_the_backend_says_so():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.cuda.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))
    if not ember.cuda.built():
        with pytest.raises(RuntimeError, match="without CUDA"):
            ember.cuda.device_name()


@gpu
def test_device_name():
    assert isinstance(ember.cuda.device_name(), str) and ember.cuda.device_name()


@gpu
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 13, 31), (129, 65, 300), (256, 256, 256), (1000, 37, 5)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_cuda_matmul(m, n, k, ta, tb):
    rng = np.random.default_rng(0)
    a = rand(rng, *((k, m) if ta else (m, k)))
    b = rand(rng, *((n, k) if tb else (k, n)))
    close(ember.cuda.matmul(a, b, ta, tb), ops.matmul(a, b, ta, tb))


CASES = [(2, 9, 9, 3, 3, 3, 4, (1, 1), "valid", (1, 1)), (3, 13, 7, 2, 3, 2, 5, (2, 1), "same", (1, 1)),
         (2, 9, 9, 2, 3, 3, 3, (1, 1), "same", (2, 2)), (64, 28, 28, 1, 3, 3, 32, (1, 1), "valid", (1, 1))]


@gpu
@pytest.mark.parametrize("case", CASES)
def test_cuda_conv2d_forward_backward(case):
    n, h, w, c, kh, kw, f, s, p, d = case
    rng = np.random.default_rng(1)
    x, k, b = rand(rng, n, h, w, c), rand(rng, kh, kw, c, f), rand(rng, f)
    for relu in (False, True):
        close(ember.cuda.conv2d(x, k, b, s, p, d, relu), _core.conv2d(x, k, b, s, p, d, relu))
    y = ops.conv2d(x, k, b, s, p, d)
    dy = rand(rng, *y.shape)
    for got, want in zip(ember.cuda.conv2d_backward(dy, x, k, s, p, d), ops.conv2d_backward(dy, x, k, s, p, d)):
        close(got, want)


@gpu
@pytest.mark.parametrize("pool,strides,padding", [((2, 2), None, "valid"), ((3, 3), (2, 2), "same"), ((2, 2), (1, 1), "valid")])
def test_cuda_max_pool(pool, strides, padding):
    rng = np.random.default_rng(2)
    x = rand(rng, 4, 9, 10, 3)
    y = ember.cuda.max_pool2d(x, pool, strides, padding)
    close(y, ops.max_pool2d(x, pool, strides, padding))
    dy = rand(rng, *y.shape)
    close(ember.cuda.max_pool2d_backward(dy, x, pool, strides, padding),
          ops.max_pool2d_backward(dy, x, pool, strides, padding))


@gpu
@pytest.mark.parametrize("name", ["linear", "relu", "sigmoid", "tanh"])
def test_cuda_activations(name):
    rng = np.random.default_rng(3)
    x, dy = rand(rng, 7, 33), rand(rng, 7, 33)
    close(ember.cuda.activation(x, name), _core.activation(x, name))
    close(ember.cuda.activation_backward(dy, x, name), _core.activation_backward(dy, x, name))


@gpu
def test_cuda_softmax_and_loss():
    rng = np.random.default_rng(4)
    z = rand(rng, 65, 10) * 5
    t = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 65)]
    close(ember.cuda.softmax(z), ops.softmax(z))
    loss, dz, probs = ember.cuda.softmax_categorical_crossentropy(t, z)
    want = ops.softmax_categorical_crossentropy(t, z)
    assert loss == pytest.approx(want[0], rel=1e-4)
    close(dz, want[1])
    close(probs, want[2])


@gpu
def test_cuda_adam():
    rng = np.random.default_rng(5)
    p, g = rand(rng, 1000), rand(rng, 1000)
    m, v = np.zeros_like(p), np.zeros_like(p)
    p2, m2, v2 = p.copy(), m.copy(), v.copy()
    for step in (1, 2, 3):
        ember.cuda.adam_update(p, g, m, v, step=step)
        ops.adam_update(p2, g, m2, v2, step=step)
    close(p, p2)
