"""Every engine kernel against a float64 NumPy reference, and every backward
against finite differences."""
import itertools
import math

import numpy as np
import pytest

import ember
from ember import _core, kernels

import reference as ref
from conftest import assert_close, directional_check, rand

SIZES = [1, 7, 13, 31, 65]


# ---------------------------------------------------------------- GEMM

@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 13, 31), (65, 7, 13), (31, 65, 300),
                                   (13, 1, 65), (100, 33, 517)])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
def test_matmul_matches_reference(rng, m, n, k, ta, tb):
    a = rand(rng, *((k, m) if ta else (m, k)))
    b = rand(rng, *((n, k) if tb else (k, n)))
    expected = (a.T if ta else a).astype(np.float64) @ (b.T if tb else b).astype(np.float64)
    assert_close(kernels.matmul(a, b, ta, tb), expected)
    assert_close(_core.matmul_naive(a, b, ta, tb), expected)


@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (2.5, 0.0), (0.5, 1.0), (-1.0, 0.25)])
def test_matmul_alpha_beta(rng, alpha, beta):
    a, b, c = rand(rng, 37, 300), rand(rng, 300, 21), rand(rng, 37, 21)
    expected = alpha * (a.astype(np.float64) @ b) + beta * c
    assert_close(_core.matmul(a, b, alpha=alpha, beta=beta, c=c), expected)
    assert_close(_core.matmul_naive(a, b, alpha=alpha, beta=beta, c=c), expected)


def test_matmul_beta_zero_ignores_nan_in_c(rng):
    a, b = rand(rng, 8, 8), rand(rng, 8, 8)
    c = np.full((8, 8), np.nan, np.float32)
    assert np.isfinite(_core.matmul(a, b, beta=0.0, c=c)).all()


def test_matmul_empty_inner_dimension():
    out = kernels.matmul(np.zeros((3, 0), np.float32), np.zeros((0, 4), np.float32))
    assert out.shape == (3, 4) and not out.any()


def test_matmul_large_tuned_equals_naive(rng):
    a, b = rand(rng, 130, 600), rand(rng, 600, 70)
    assert_close(kernels.matmul(a, b), _core.matmul_naive(a, b), rtol=1e-5)


# Each CPU variant (generic, AVX2, AVX-512) on odd shapes: partial register
# tiles on both edges, K past one K block, both transposes, in-place reads of
# A and B (narrow products), several threads.
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (15, 17, 3), (29, 33, 257), (13, 130, 65),
                                   (100, 31, 517), (301, 64, 300), (44, 129, 40)])
@pytest.mark.parametrize("ta,tb", list(itertools.product([False, True], repeat=2)))
def test_matmul_each_cpu_variant_matches_reference(rng, threads, cpu_variant, m, n, k, ta, tb):
    a = rand(rng, *((k, m) if ta else (m, k)))
    b = rand(rng, *((n, k) if tb else (k, n)))
    c = rand(rng, m, n)
    naive = _core.matmul_naive(a, b, ta, tb, alpha=-0.5, beta=0.25, c=c)
    expected = -0.5 * ((a.T if ta else a).astype(np.float64) @ (b.T if tb else b)) + 0.25 * c
    assert_close(naive, expected)
    for nt in (1, 2):
        ember.set_num_threads(nt)
        assert_close(_core.matmul(a, b, ta, tb), _core.matmul_naive(a, b, ta, tb), rtol=1e-5)
        assert_close(_core.matmul(a, b, ta, tb, alpha=-0.5, beta=0.25, c=c), naive, rtol=1e-5)


@pytest.mark.parametrize("n,i,o", [(1, 5, 3), (29, 70, 33), (300, 27, 32), (45, 300, 130)])
def test_dense_epilogue_each_cpu_variant(rng, cpu_variant, n, i, o):
    x, k, b = rand(rng, n, i), rand(rng, i, o), rand(rng, o)
    y = np.maximum(x.astype(np.float64) @ k + b, 0)
    assert_close(_core.dense(x, k, b, relu=True), y)
    assert_close(_core.dense(x, k, b), x.astype(np.float64) @ k + b)


def test_avx2_and_avx512_gemm_give_the_same_bits(rng):
    """Same K blocks, FMA chains in the same order: the variant changes speed,
    not results (documented in README)."""
    if "avx512" not in _core.cpu_variants():
        pytest.skip("this CPU has no AVX-512")
    before = _core.cpu_variant()
    cases = [(rand(rng, 300, 500), rand(rng, 500, 200)), (rand(rng, 37, 29), rand(rng, 29, 70)),
             (rand(rng, 1000, 27), rand(rng, 27, 32))]
    x, k, b = rand(rng, 77, 300), rand(rng, 300, 45), rand(rng, 45)
    try:
        out = {}
        for v in ("avx2", "avx512"):
            _core.set_cpu_variant(v)
            out[v] = [_core.matmul(p, q) for p, q in cases] + [_core.matmul(p.T.copy(), q.T.copy(), True, True)
                                                               for p, q in cases]
            out[v].append(_core.dense(x, k, b, relu=True))
            out[v].append(kernels.conv2d(rand(np.random.default_rng(3), 4, 9, 9, 3),
                                         rand(np.random.default_rng(4), 3, 3, 3, 8), padding="same"))
    finally:
        _core.set_cpu_variant(before)
    for p, q in zip(out["avx2"], out["avx512"]):
        assert p.tobytes() == q.tobytes()


def test_cpu_variant_selection():
    variants = _core.cpu_variants()
    assert variants[0] == "generic" and ember.cpu_variant() in variants
    assert _core.has_avx2() == (ember.cpu_variant() != "generic")
    with pytest.raises(ValueError, match="Received: variant='sse9'"):
        _core.set_cpu_variant("sse9")
    for wider in ("avx2", "avx512"):
        if wider not in variants:
            with pytest.raises(ValueError, match="does not support"):
                _core.set_cpu_variant(wider)
    blocks = _core.gemm_blocks()
    assert blocks["mc"] % blocks["mr"] == 0 and blocks["nc"] % blocks["nr"] == 0


@pytest.mark.parametrize("value", ["generic", "avx2", "avx512", "nonsense"])
def test_cpu_variant_environment_variable(value):
    import os
    import subprocess
    import sys
    env = dict(os.environ, EMBER_CPU_VARIANT=value)
    run = subprocess.run([sys.executable, "-c", "import ember; print(ember.cpu_variant())"], env=env,
                         capture_output=True, text=True)
    if value in _core.cpu_variants():
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == value
    else:
        assert run.returncode != 0 and "ValueError" in run.stderr


# ---------------------------------------------------------------- Dense

@pytest.mark.parametrize("n,i,o", [(1, 1, 1), (7, 13, 31), (65, 31, 7)])
def test_dense_forward_backward(rng, n, i, o):
    x, k, b = rand(rng, n, i), rand(rng, i, o), rand(rng, o)
    assert_close(kernels.dense(x, k, b), x.astype(np.float64) @ k + b)
    assert_close(kernels.dense(x, k), x.astype(np.float64) @ k)
    dy = rand(rng, n, o)
    dx, dk, db = kernels.dense_backward(dy, x, k, b)
    assert_close(dx, dy.astype(np.float64) @ k.T)
    assert_close(dk, x.T.astype(np.float64) @ dy)
    assert_close(db, dy.astype(np.float64).sum(0))
    directional_check(lambda xx: np.sum(kernels.dense(xx, k, b) * dy), x, dx, rng)
    directional_check(lambda kk: np.sum(kernels.dense(x, kk, b) * dy), k, dk, rng)


def test_dense_on_rank3_input(rng):
    x, k = rand(rng, 2, 5, 3), rand(rng, 3, 4)
    assert_close(kernels.dense(x, k), x.astype(np.float64) @ k)


# ---------------------------------------------------------------- Conv2D

CONV_CASES = [
    # (N, H, W, C, KH, KW, F, strides, padding, dilation)
    (2, 7, 7, 3, 3, 3, 4, (1, 1), "valid", (1, 1)),
    (1, 13, 7, 2, 3, 2, 5, (2, 1), "same", (1, 1)),
    (3, 8, 8, 1, 2, 2, 7, (2, 2), "same", (1, 1)),
    (2, 9, 10, 3, 4, 3, 2, (3, 2), "same", (1, 1)),
    (2, 9, 9, 2, 3, 3, 3, (1, 1), "same", (2, 2)),
    (1, 13, 11, 4, 3, 2, 3, (1, 1), "valid", (2, 3)),
    (2, 5, 5, 6, 1, 1, 8, (1, 1), "valid", (1, 1)),   # pointwise fast path
    (1, 7, 7, 3, 1, 1, 2, (2, 2), "same", (1, 1)),
    (5, 6, 6, 2, 5, 5, 3, (1, 1), "same", (1, 1)),    # odd padding split
    (1, 1, 1, 1, 1, 1, 1, (1, 1), "valid", (1, 1)),
    (2, 31, 13, 1, 3, 3, 7, (2, 2), "valid", (1, 1)),
    (65, 8, 8, 3, 3, 3, 4, (1, 1), "same", (1, 1)),   # many chunks
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward(rng, case):
    n, h, w, c, kh, kw, f, s, p, d = case
    x, k, b = rand(rng, n, h, w, c), rand(rng, kh, kw, c, f), rand(rng, f)
    expected = ref.conv2d(x, k, b, s, p, d)
    assert_close(kernels.conv2d(x, k, b, s, p, d), expected)
    assert_close(_core.conv2d_naive(x, k, b, s, p, d), expected)
    assert_close(kernels.conv2d(x, k, None, s, p, d), ref.conv2d(x, k, None, s, p, d))


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_backward(rng, case):
    n, h, w, c, kh, kw, f, s, p, d = case
    x, k = rand(rng, n, h, w, c), rand(rng, kh, kw, c, f)
    y = kernels.conv2d(x, k, None, s, p, d)
    dy = rand(rng, *y.shape)
    dx, dk, db = kernels.conv2d_backward(dy, x, k, s, p, d)
    edx, edk, edb = ref.conv2d_backward(dy, x, k, s, p, d)
    assert_close(dx, edx)
    assert_close(dk, edk)
    assert_close(db, edb)
    ndx, ndk, ndb = _core.conv2d_backward_naive(dy, x, k, s, p, d)
    assert_close(dx, ndx)
    assert_close(dk, ndk)
    directional_check(lambda xx: np.sum(kernels.conv2d(xx, k, None, s, p, d) * dy), x, dx, rng)
    directional_check(lambda kk: np.sum(kernels.conv2d(x, kk, None, s, p, d) * dy), k, dk, rng)


def test_conv2d_same_keeps_size_over_stride(rng):
    x = rand(rng, 1, 7, 8, 2)
    y = kernels.conv2d(x, rand(rng, 3, 3, 2, 4), strides=2, padding="same")
    assert y.shape == (1, 4, 4, 4)


# ---------------------------------------------------------------- Pooling

POOL_CASES = [
    (2, 8, 8, 3, (2, 2), None, "valid"),
    (1, 7, 7, 2, (2, 2), None, "valid"),
    (1, 7, 13, 2, (2, 2), None, "same"),
    (2, 9, 9, 1, (3, 3), (2, 2), "same"),
    (1, 13, 7, 4, (3, 2), (1, 1), "valid"),
    (3, 5, 5, 1, (5, 5), (1, 1), "same"),
    (1, 1, 1, 1, (1, 1), None, "valid"),
]


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pooling(rng, case, mode):
    n, h, w, c, pool, strides, padding = case
    x = rand(rng, n, h, w, c)
    fwd = kernels.max_pool2d if mode == "max" else kernels.avg_pool2d
    bwd = kernels.max_pool2d_backward if mode == "max" else kernels.avg_pool2d_backward
    y = fwd(x, pool, strides, padding)
    assert_close(y, ref.pool2d(x, pool, strides or pool, padding, mode))
    dy = rand(rng, *y.shape)
    dx = bwd(dy, x, pool, strides, padding)
    assert dx.shape == x.shape
    directional_check(lambda xx: np.sum(fwd(xx, pool, strides, padding) * dy), x, dx, rng, h=1e-4)


def test_max_pool_gradient_goes_to_first_maximum():
    x = np.array([[1, 3], [3, 0]], np.float32).reshape(1, 2, 2, 1)
    dx = kernels.max_pool2d_backward(np.ones((1, 1, 1, 1), np.float32), x)
    assert dx.ravel().tolist() == [0, 1, 0, 0]


def test_global_average_pooling(rng):
    x = rand(rng, 3, 7, 5, 4)
    assert_close(kernels.global_avg_pool2d(x), x.astype(np.float64).mean(axis=(1, 2)))
    dy = rand(rng, 3, 4)
    dx = kernels.global_avg_pool2d_backward(dy, x)
    assert_close(dx, np.broadcast_to(dy[:, None, None, :] / 35.0, x.shape))


# ---------------------------------------------------------------- Activations

def _gelu(v):
    erf = np.vectorize(math.erf)
    return 0.5 * v * (1 + erf(v / math.sqrt(2)))


ACTIVATIONS = {
    "relu": (kernels.relu, kernels.relu_backward, lambda v: np.maximum(v, 0)),
    "sigmoid": (kernels.sigmoid, kernels.sigmoid_backward, lambda v: 1 / (1 + np.exp(-v))),
    "tanh": (kernels.tanh, kernels.tanh_backward, np.tanh),
    "leaky_relu": (kernels.leaky_relu, kernels.leaky_relu_backward, lambda v: np.where(v >= 0, v, 0.2 * v)),
    "elu": (kernels.elu, kernels.elu_backward, lambda v: np.where(v > 0, v, np.expm1(v))),
    "gelu": (kernels.gelu, kernels.gelu_backward, _gelu),
    "linear": (kernels.linear, kernels.linear_backward, lambda v: v),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(1,), (7, 13), (3, 5, 5, 2), (65, 31)])
def test_activation(rng, name, shape):
    fwd, bwd, reference = ACTIVATIONS[name]
    x = rand(rng, *shape, scale=3.0)
    assert_close(fwd(x), reference(x.astype(np.float64)))
    dy = rand(rng, *shape)
    dx = bwd(dy, x)
    directional_check(lambda xx: np.sum(fwd(xx) * dy), x, dx, rng, h=1e-3)


def test_sigmoid_extremes_do_not_overflow():
    y = kernels.sigmoid(np.array([-1e4, -100, 0, 100, 1e4], np.float32))
    assert np.isfinite(y).all() and y[0] == 0 and y[-1] == 1


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (2, 3, 10), (65, 1000)])
def test_softmax(rng, shape):
    x = rand(rng, *shape, scale=5.0)
    assert_close(kernels.softmax(x), ref.softmax(x))
    dy = rand(rng, *shape)
    dx = kernels.softmax_backward(dy, x)
    directional_check(lambda xx: np.sum(kernels.softmax(xx) * dy), x, dx, rng, h=1e-3)


def test_softmax_is_stable_for_large_logits():
    y = kernels.softmax(np.array([[1000.0, 1000.0, -1000.0]], np.float32))
    assert_close(y, [[0.5, 0.5, 0.0]])


# ---------------------------------------------------------------- Losses

def _onehot(rng, n, k):
    return np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]


@pytest.mark.parametrize("n,k", [(1, 2), (7, 13), (65, 10)])
def test_categorical_crossentropy(rng, n, k):
    t = _onehot(rng, n, k)
    p = ref.softmax(rand(rng, n, k)).astype(np.float32)
    loss, dp = kernels.categorical_crossentropy(t, p)
    q = np.clip(p / p.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)
    assert loss == pytest.approx(float(-(t * np.log(q)).sum(-1).mean()), rel=1e-5)
    directional_check(lambda pp: kernels.categorical_crossentropy(t, pp)[0], p, dp, rng, h=1e-4)


@pytest.mark.parametrize("n,k", [(1, 2), (7, 13), (65, 10)])
def test_softmax_crossentropy_fused(rng, n, k):
    t = _onehot(rng, n, k)
    z = rand(rng, n, k, scale=3.0)
    loss, dz, probs = kernels.softmax_categorical_crossentropy(t, z)
    logp = np.log(ref.softmax(z))
    assert loss == pytest.approx(float(-(t * logp).sum(-1).mean()), rel=1e-5)
    assert_close(probs, ref.softmax(z))
    assert_close(dz, (ref.softmax(z) - t) / n)
    loss2, dz2 = kernels.categorical_crossentropy(t, z, from_logits=True)
    assert loss2 == pytest.approx(loss) and np.array_equal(dz, dz2)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy(rng, from_logits):
    n, k = 31, 7
    labels = rng.integers(0, k, n)
    z = rand(rng, n, k)
    p = z if from_logits else ref.softmax(z).astype(np.float32)
    loss, dp = kernels.sparse_categorical_crossentropy(labels, p, from_logits=from_logits)
    t = np.eye(k, dtype=np.float32)[labels]
    loss_ref, dp_ref = kernels.categorical_crossentropy(t, p, from_logits=from_logits)
    assert loss == pytest.approx(loss_ref, rel=1e-5)
    assert_close(dp, dp_ref)


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy(rng, from_logits):
    t = (rng.random((13, 3)) > 0.5).astype(np.float32)
    z = rand(rng, 13, 3)
    p = z if from_logits else (1 / (1 + np.exp(-z))).astype(np.float32)
    loss, dp = kernels.binary_crossentropy(t, p, from_logits=from_logits)
    pr = 1 / (1 + np.exp(-z.astype(np.float64)))
    expected = -(t * np.log(pr) + (1 - t) * np.log(1 - pr)).mean()
    assert loss == pytest.approx(float(expected), rel=1e-4)
    directional_check(lambda pp: kernels.binary_crossentropy(t, pp, from_logits)[0], p, dp, rng, h=1e-4)


def test_mean_squared_error(rng):
    t, p = rand(rng, 7, 5), rand(rng, 7, 5)
    loss, dp = kernels.mean_squared_error(t, p)
    assert loss == pytest.approx(float(((p.astype(np.float64) - t) ** 2).mean()), rel=1e-5)
    assert_close(dp, 2 * (p.astype(np.float64) - t) / p.size)


# ---------------------------------------------------------------- Dropout, BatchNorm

def test_dropout(rng):
    x = rand(rng, 200, 100)
    y, mask = kernels.dropout(x, 0.3, seed=7)
    assert set(np.unique(mask)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((mask == 0).mean() - 0.3) < 0.01
    assert_close(y, x * mask)
    y2, mask2 = kernels.dropout(x, 0.3, seed=7)
    assert np.array_equal(mask, mask2)
    assert not np.array_equal(mask, kernels.dropout(x, 0.3, seed=8)[1])
    dy = rand(rng, 200, 100)
    assert_close(kernels.dropout_backward(dy, mask), dy * mask)
    y0, m0 = kernels.dropout(x, 0.0, seed=1)
    assert np.array_equal(y0, x)


def test_batch_normalization(rng):
    x = rand(rng, 4, 5, 3, 6, scale=2.0) + 1.5
    gamma, beta = rand(rng, 6), rand(rng, 6)
    mm, mv = np.zeros(6, np.float32), np.ones(6, np.float32)
    y, mean, var = kernels.batch_normalization(x, gamma, beta, mm, mv, training=True)
    x64 = x.astype(np.float64).reshape(-1, 6)
    assert_close(mean, x64.mean(0))
    assert_close(var, x64.var(0))
    assert_close(y.reshape(-1, 6), gamma * (x64 - x64.mean(0)) / np.sqrt(x64.var(0) + 1e-3) + beta)
    assert_close(mm, 0.01 * x64.mean(0))
    assert_close(mv, 0.99 + 0.01 * x64.var(0))
    yi = kernels.batch_normalization(x, gamma, beta, mm, mv, training=False)
    assert_close(yi.reshape(-1, 6), gamma * (x64 - mm) / np.sqrt(mv.astype(np.float64) + 1e-3) + beta)
    dy = rand(rng, *x.shape)
    dx, dg, db = kernels.batch_normalization_backward(dy, x, gamma, mean, var)

    def loss_x(xx):
        out = kernels.batch_normalization(xx, gamma, beta, mm.copy(), mv.copy(), training=True)[0]
        return np.sum(out * dy)

    def loss_g(gg):
        out = kernels.batch_normalization(x, gg, beta, mm.copy(), mv.copy(), training=True)[0]
        return np.sum(out * dy)

    directional_check(loss_x, x, dx, rng, h=1e-3)
    directional_check(loss_g, gamma, dg, rng, h=1e-3)
    assert_close(db, dy.astype(np.float64).reshape(-1, 6).sum(0))


# ---------------------------------------------------------------- Optimizers

def test_sgd_momentum_nesterov(rng):
    for momentum, nesterov in [(0.0, False), (0.9, False), (0.9, True)]:
        p, g = rand(rng, 50), rand(rng, 50)
        v = np.zeros(50, np.float32)
        p_ref, v_ref = p.astype(np.float64), np.zeros(50)
        for _ in range(3):
            kernels.sgd_update(p, g, v, 0.1, momentum, nesterov)
            v_ref = momentum * v_ref - 0.1 * g
            p_ref = p_ref + (momentum * v_ref - 0.1 * g if nesterov else v_ref) if momentum else p_ref - 0.1 * g
        assert_close(p, p_ref)


@pytest.mark.parametrize("weight_decay", [0.0, 0.004])
def test_adam_matches_keras_formula(rng, weight_decay):
    p, m, v = rand(rng, 100), np.zeros(100, np.float32), np.zeros(100, np.float32)
    p_ref, m_ref, v_ref = p.astype(np.float64), np.zeros(100), np.zeros(100)
    lr, b1, b2, eps = 0.001, 0.9, 0.999, 1e-7
    for step in range(1, 6):
        g = rand(rng, 100)
        kernels.adam_update(p, g, m, v, lr, b1, b2, eps, step, weight_decay)
        p_ref -= p_ref * weight_decay * lr
        alpha = lr * math.sqrt(1 - b2 ** step) / (1 - b1 ** step)
        m_ref += (g - m_ref) * (1 - b1)
        v_ref += (g.astype(np.float64) ** 2 - v_ref) * (1 - b2)
        p_ref -= alpha * m_ref / (np.sqrt(v_ref) + eps)
    assert_close(p, p_ref, rtol=1e-5)


@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.5, True)])
def test_rmsprop(rng, momentum, centered):
    p = rand(rng, 40)
    vel, mom, avg = (np.zeros(40, np.float32) for _ in range(3))
    p_ref, vel_r, mom_r, avg_r = p.astype(np.float64), np.zeros(40), np.zeros(40), np.zeros(40)
    for _ in range(4):
        g = rand(rng, 40)
        kernels.rmsprop_update(p, g, vel, mom, avg, 0.01, 0.9, momentum, 1e-7, centered)
        vel_r = 0.9 * vel_r + 0.1 * g.astype(np.float64) ** 2
        denom = vel_r + 1e-7
        if centered:
            avg_r = 0.9 * avg_r + 0.1 * g
            denom = vel_r - avg_r ** 2 + 1e-7
        inc = 0.01 * g / np.sqrt(denom)
        if momentum:
            mom_r = momentum * mom_r + inc
            p_ref -= mom_r
        else:
            p_ref -= inc
    assert_close(p, p_ref, rtol=1e-4)


# ---------------------------------------------------------------- Interop

def test_float32_contiguous_input_is_not_copied_and_outputs_are_arrays(rng):
    x = rand(rng, 4, 4)
    y = kernels.relu(x)
    assert isinstance(y, np.ndarray) and y.dtype == np.float32 and y.flags.c_contiguous
    # Non-contiguous and float64 inputs are converted once and give the same result.
    big = rand(rng, 8, 8)
    assert_close(kernels.relu(big[::2, ::2]), np.maximum(big[::2, ::2], 0))
    assert_close(kernels.relu(big.astype(np.float64)), np.maximum(big, 0))


def test_thread_count_api(threads):
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    ember.set_num_threads(2)
    assert ember.get_num_threads() == 2


# ---------------------------------------------------------------- fused epilogues

@pytest.mark.parametrize("case", CONV_CASES[:6])
def test_conv2d_fused_relu_forward_and_backward(rng, case):
    n, h, w, c, kh, kw, f, s, p, d = case
    x, k, b = rand(rng, n, h, w, c), rand(rng, kh, kw, c, f), rand(rng, f)
    y = _core.conv2d(x, k, b, s, p, d, relu=True)
    assert_close(y, np.maximum(ref.conv2d(x, k, b, s, p, d), 0))
    assert_close(_core.conv2d_naive(x, k, b, s, p, d, relu=True), y)
    dy = rand(rng, *y.shape)
    fused = _core.conv2d_backward(dy, x, k, s, p, d, relu_output=y)
    separate = kernels.conv2d_backward(dy * (y > 0), x, k, s, p, d)
    for a, e in zip(fused, separate):
        assert_close(a, e)


def test_dense_fused_relu(rng):
    x, k, b = rand(rng, 33, 17), rand(rng, 17, 9), rand(rng, 9)
    assert_close(_core.dense(x, k, b, relu=True), np.maximum(x.astype(np.float64) @ k + b, 0))


def test_fused_relu_keeps_nan(rng):
    x = rand(rng, 1, 4, 4, 1)
    x[0, 0, 0, 0] = np.nan
    y = _core.conv2d(x, np.ones((1, 1, 1, 16), np.float32), None, relu=True)
    assert np.isnan(y[0, 0, 0]).all() and not np.isnan(y[0, 1:]).any()


def test_max_pool_backward_with_relu_input_equals_masking(rng):
    pre = rand(rng, 3, 6, 6, 5)
    pre[0, :2, :2, :] = -1.0  # a window with no positive value
    y = np.maximum(pre, 0)
    dy = rand(rng, 3, 3, 3, 5)
    fused = _core.max_pool2d_backward(dy, y, (2, 2), None, "valid", relu_input=True)
    plain = kernels.max_pool2d_backward(dy, y) * (y > 0)
    assert np.array_equal(fused, plain)


def test_dense_backward_can_skip_the_input_gradient(rng):
    dy, x, k = rand(rng, 9, 5), rand(rng, 9, 7), rand(rng, 7, 5)
    full = _core.dense_backward(dy, x, k, True, True)
    skipped = _core.dense_backward(dy, x, k, True, False)
    assert skipped[0] is None
    assert skipped[1].tobytes() == full[1].tobytes() and skipped[2].tobytes() == full[2].tobytes()
