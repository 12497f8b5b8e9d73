"""Same inputs, same bits, whatever the thread count."""
import numpy as np
import pytest

import ember
from ember import kernels

from conftest import rand


def _run_all(rng_seed):
    rng = np.random.default_rng(rng_seed)
    x = rand(rng, 64, 28, 28, 3)
    k = rand(rng, 3, 3, 3, 32)
    b = rand(rng, 32)
    out = {}
    out["matmul"] = kernels.matmul(rand(rng, 300, 500), rand(rng, 500, 200))
    y = kernels.conv2d(x, k, b, padding="same")
    out["conv"] = y
    dy = rand(rng, *y.shape)
    out["conv_bwd"] = kernels.conv2d_backward(dy, x, k, padding="same")
    out["pool"] = kernels.max_pool2d(y)
    out["pool_bwd"] = kernels.max_pool2d_backward(rand(rng, 64, 14, 14, 32), y)
    xd, kd = rand(rng, 512, 300), rand(rng, 300, 64)
    out["dense_bwd"] = kernels.dense_backward(rand(rng, 512, 64), xd, kd, rand(rng, 64))
    t = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 4096)]
    out["loss"] = kernels.softmax_categorical_crossentropy(t, rand(rng, 4096, 10))
    g, be = rand(rng, 32), rand(rng, 32)
    out["bn"] = kernels.batch_normalization(y, g, be, np.zeros(32, np.float32), np.ones(32, np.float32),
                                        training=True)
    out["bn_bwd"] = kernels.batch_normalization_backward(dy, y, g, out["bn"][1], out["bn"][2])
    out["gap"] = kernels.global_avg_pool2d(y)
    out["dropout"] = kernels.dropout(y, 0.5, seed=3)
    out["gelu"] = kernels.gelu(y)
    return out


def _flatten(v):
    if isinstance(v, (tuple, list)):
        return [a for item in v for a in _flatten(item)]
    return [np.asarray(v)]


def test_bitwise_identical_for_one_and_two_threads(threads, cpu_variant):
    """Within each CPU variant (AVX2 and AVX-512 also agree with each other,
    see test_kernels; the generic one rounds differently)."""
    ember.set_num_threads(1)
    one = _run_all(5)
    ember.set_num_threads(2)
    two = _run_all(5)
    ember.set_num_threads(2)
    again = _run_all(5)
    for name in one:
        for a, b, c in zip(_flatten(one[name]), _flatten(two[name]), _flatten(again[name])):
            assert a.tobytes() == b.tobytes(), f"{name} differs between 1 and 2 threads"
            assert b.tobytes() == c.tobytes(), f"{name} differs from run to run"


@pytest.mark.parametrize("n", [3, 4, 7])
def test_more_threads_than_cores_same_bits(threads, cpu_variant, n):
    rng = np.random.default_rng(0)
    a, b = rand(rng, 257, 301), rand(rng, 301, 129)
    ember.set_num_threads(1)
    ref = kernels.matmul(a, b)
    ember.set_num_threads(n)
    assert kernels.matmul(a, b).tobytes() == ref.tobytes()
