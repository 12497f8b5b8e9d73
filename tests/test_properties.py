"""Property tests (hypothesis): random valid arguments match the NumPy
references; random invalid ones raise ValueError or TypeError, never crash."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import ember
from ember import _core, layers, models, kernels

import reference as ref
from conftest import input_grad

# Random invalid inputs include float64 values beyond float32's range: NumPy
# warns when it converts them, which is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Values: zeros, tiny and huge magnitudes, both signs.
FLOATS = st.one_of(st.just(0.0), st.floats(-1e3, 1e3, width=32),
                   st.floats(float(np.float32(-1e-30)), float(np.float32(1e-30)), width=32), st.sampled_from([1e20, -1e20, 1e-38, -3.0]))


def arrays(shape, elements=FLOATS):
    return hnp.arrays(np.float32, shape, elements=elements)


def close(actual, expected, rtol=1e-3):
    expected = np.asarray(expected, np.float64)
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol, atol=rtol * scale)


@st.composite
def conv_case(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dilated = draw(st.booleans())
    strides = (1, 1) if dilated else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if dilated else (1, 1)
    padding = draw(st.sampled_from(["valid", "same"]))
    h = draw(st.integers((kh - 1) * dilation[0] + 1, 12))
    w = draw(st.integers((kw - 1) * dilation[1] + 1, 12))
    n, c, f = draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n, h, w, c)).astype(np.float32) * draw(st.sampled_from([1e-3, 1.0, 1e3]))
    k = rng.standard_normal((kh, kw, c, f)).astype(np.float32)
    b = rng.standard_normal(f).astype(np.float32)
    return x, k, b, strides, padding, dilation


@SETTINGS
@given(conv_case())
def test_conv2d_matches_reference(case):
    x, k, b, s, p, d = case
    y = kernels.conv2d(x, k, b, s, p, d)
    close(y, ref.conv2d(x, k, b, s, p, d))
    dy = np.random.default_rng(0).standard_normal(y.shape).astype(np.float32)
    for got, want in zip(kernels.conv2d_backward(dy, x, k, s, p, d), ref.conv2d_backward(dy, x, k, s, p, d)):
        close(got, want)


@SETTINGS
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 300), st.booleans(), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_matmul_matches_reference(m, n, k, ta, tb, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
    close(kernels.matmul(a, b, ta, tb), (a.T if ta else a).astype(np.float64) @ (b.T if tb else b))


@st.composite
def pool_case(draw):
    ph, pw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = draw(st.sampled_from(["valid", "same"]))
    h, w = draw(st.integers(ph, 11)), draw(st.integers(pw, 11))
    x = draw(arrays((draw(st.integers(1, 2)), h, w, draw(st.integers(1, 4)))))
    return x, (ph, pw), strides, padding


@SETTINGS
@given(pool_case(), st.sampled_from(["max", "avg"]))
def test_pooling_matches_reference(case, mode):
    x, pool, strides, padding = case
    assume(mode == "max" or np.abs(x).max(initial=0) < 1e19)  # sums of 1e20s overflow float32 anyway
    fn = kernels.max_pool2d if mode == "max" else kernels.avg_pool2d
    y = fn(x, pool, strides, padding)
    close(y, ref.pool2d(x, pool, strides or pool, padding, mode))
    bwd = kernels.max_pool2d_backward if mode == "max" else kernels.avg_pool2d_backward
    dx = bwd(np.ones_like(y), x, pool, strides, padding)
    assert dx.shape == x.shape and np.isfinite(dx).all()
    if mode == "max" and (strides is None or tuple(strides) == pool):
        # Non-overlapping windows: exactly one gradient per window.
        assert dx.sum() == pytest.approx(y.size)


@SETTINGS
@given(st.sampled_from(["relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "linear"]),
       arrays(st.tuples(st.integers(1, 5), st.integers(1, 9))))
def test_activations_are_finite_and_monotone(name, x):
    y = _core.activation(x, name, 0.2 if name == "leaky_relu" else 1.0)
    assert y.shape == x.shape
    if name in ("relu", "sigmoid", "tanh", "leaky_relu", "linear"):
        order = np.argsort(x.ravel(), kind="stable")
        assert np.all(np.diff(y.ravel()[order].astype(np.float64)) >= 0)
    if name in ("sigmoid", "tanh"):
        assert np.isfinite(y).all()
    dx = _core.activation_backward(np.ones_like(x), x, name, 1.0)
    assert dx.shape == x.shape


@SETTINGS
@given(arrays(st.tuples(st.integers(1, 6), st.integers(1, 12))))
def test_softmax_rows_sum_to_one(x):
    y = kernels.softmax(x)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(-1), 1, rtol=1e-4)
    close(y, ref.softmax(x))


@SETTINGS
@given(st.integers(1, 20), st.integers(2, 12), st.integers(0, 2**32 - 1), st.booleans())
def test_cross_entropies_agree(n, k, seed, logits):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    z = (rng.standard_normal((n, k)) * rng.choice([0.1, 1, 30])).astype(np.float32)
    p = z if logits else ref.softmax(z).astype(np.float32)
    onehot = np.eye(k, dtype=np.float32)[labels]
    dense_loss, dense_grad = kernels.categorical_crossentropy(onehot, p, from_logits=logits)
    sparse_loss, sparse_grad = kernels.sparse_categorical_crossentropy(labels, p, from_logits=logits)
    assert np.isfinite(dense_loss) and dense_loss == pytest.approx(sparse_loss, rel=1e-5, abs=1e-6)
    close(dense_grad, sparse_grad)


@SETTINGS
@given(st.integers(1, 30), st.integers(1, 20), st.integers(1, 20), st.integers(0, 2**32 - 1))
def test_dense_layer_forward_backward(n, i, o, seed):
    rng = np.random.default_rng(seed)
    layer = layers.Dense(o, activation="relu")
    x = rng.standard_normal((n, i)).astype(np.float32)
    y = layer(x, training=True)
    k, b = layer.get_weights()
    close(y, np.maximum(x.astype(np.float64) @ k + b, 0))
    dx = input_grad(layer, x)
    close(dx, ((x.astype(np.float64) @ k + b) > 0) @ k.T)


# ---------------------------------------------------------------- invalid input fuzzing

def _any_array():
    shapes = hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=4)
    dtypes = st.sampled_from([np.float32, np.float64, np.int32, np.uint8, np.bool_, np.complex64])
    return st.one_of(
        dtypes.flatmap(lambda dt: hnp.arrays(dt, shapes)),
        st.none(), st.integers(-3, 3), st.text(max_size=3), st.lists(st.floats(), max_size=3),
        hnp.arrays(np.float32, shapes).map(lambda a: a[::-1] if a.ndim else a),  # non-contiguous
        hnp.arrays(np.float32, shapes, elements=st.sampled_from([np.nan, np.inf, -np.inf, 0.0])),
        # On a build with CUDA (or its CPU emulator): GPU arrays, and so
        # mixes of devices and the CUDA kernels' own argument paths.
        *([hnp.arrays(np.float32, shapes).map(ember.cuda.to_device)] if ember.cuda.is_available() else []))


_PARAMS = st.one_of(st.integers(-2, 4), st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
                    st.none(), st.text(max_size=2), st.floats(allow_nan=True))


def _call(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except (ValueError, TypeError):
        pass


@FUZZ
@given(_any_array(), _any_array(), _any_array(), _PARAMS, st.sampled_from(["valid", "same", "full", ""]),
       _PARAMS)
def test_conv_and_pool_reject_bad_arguments(x, k, b, strides, padding, dilation):
    _call(_core.conv2d, x, k, b, strides, padding, dilation)
    _call(_core.conv2d_backward, x, x, k, strides, padding, dilation)
    _call(_core.max_pool2d, x, strides, dilation, padding)
    _call(_core.max_pool2d_backward, k, x, strides, None, padding)
    _call(_core.avg_pool2d_backward, k, x, strides, dilation, padding)
    _call(_core.global_avg_pool2d_backward, k, x)


@FUZZ
@given(_any_array(), _any_array(), _any_array(), st.booleans(), st.booleans(), FLOATS)
def test_other_kernels_reject_bad_arguments(a, b, c, flag1, flag2, number):
    _call(_core.matmul, a, b, flag1, flag2, 1.0, number, c)
    _call(_core.dense, a, b, c)
    _call(_core.dense_backward, c, a, b, flag1)
    _call(_core.activation, a, "gelu")
    _call(_core.activation_backward, a, b, "elu", number)
    _call(_core.softmax_backward, a, b)
    _call(_core.loss, a, b, "categorical_crossentropy", flag1)
    _call(_core.loss, a, b, "binary_crossentropy", flag2)
    _call(_core.softmax_crossentropy, a, b)
    _call(_core.sparse_categorical_crossentropy, a, b, flag1)
    _call(_core.dropout, a, number, 3)
    _call(_core.dropout_backward, a, b)
    _call(_core.batch_norm_train, a, b, c, b, c, number, 1e-3)
    _call(_core.batch_norm_infer, a, b, c, b, c, number)
    _call(_core.batch_norm_backward, a, b, c, b, c, 1e-3)
    _call(_core.sgd_update, a, b, c, number, 0.9, flag1)
    _call(_core.adam_update, a, b, c, c, number)
    _call(_core.rmsprop_update, a, b, c, c, c, number, 0.9, 0.5, 1e-7, flag2)
    _call(_core.adagrad_update, a, b, c, number, clipvalue=number)
    _call(_core.adadelta_update, a, b, c, c, number, grad_scale=number)
    _call(_core.adamax_update, a, b, c, c, number, weight_decay=number)
    _call(_core.nadam_update, a, b, c, c, number, u_product=0.5)
    _call(_core.ftrl_update, a, b, c, c, number, -0.5, number)
    _call(_core.lion_update, a, b, c, number, 0.9, 0.99)
    _call(_core.ema_update, a, b, number, flag1)
    _call(_core.accumulate_gradient, a, b, number, 0.5)
    _call(_core.sum_squares, a)


@settings(max_examples=40, deadline=None)
@given(_any_array(), _any_array())
def test_model_rejects_bad_data(x, y):
    model = models.Sequential([layers.Conv2D(2, 2, activation="relu", input_shape=(4, 4, 1)),
                               layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    _call(model.fit, x, y, epochs=1, verbose=0)
    _call(model.evaluate, x, y, verbose=0)
    _call(model.predict, x, verbose=0)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 5), st.integers(1, 5), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.sampled_from([1e-3, 1.0, 1e3]))
def test_batchnorm_gap_and_pooling_layers_match_numpy(n, h, w, c, seed, scale):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((n, h, w, c)) * scale).astype(np.float32)
    gamma, beta = rng.standard_normal(c).astype(np.float32), rng.standard_normal(c).astype(np.float32)
    mm, mv = np.zeros(c, np.float32), np.ones(c, np.float32)
    y, mean, var = kernels.batch_normalization(x, gamma, beta, mm, mv, training=True)
    flat = x.astype(np.float64).reshape(-1, c)
    close(mean, flat.mean(0))
    close(var, flat.var(0))
    close(y.reshape(-1, c), gamma * (flat - flat.mean(0)) / np.sqrt(flat.var(0) + 1e-3) + beta)
    close(kernels.global_avg_pool2d(x), x.astype(np.float64).mean(axis=(1, 2)))
    close(kernels.avg_pool2d(x, (1, 1)), x)


@SETTINGS
@given(st.integers(1, 30), st.integers(1, 8), st.integers(0, 2**32 - 1), st.booleans())
def test_binary_crossentropy_and_mse_match_numpy(n, k, seed, from_logits):
    rng = np.random.default_rng(seed)
    t = (rng.random((n, k)) > 0.5).astype(np.float32)
    z = (rng.standard_normal((n, k)) * rng.choice([0.1, 1.0, 20.0])).astype(np.float32)
    p = z if from_logits else (1 / (1 + np.exp(-z.astype(np.float64)))).astype(np.float32)
    loss, grad = kernels.binary_crossentropy(t, p, from_logits=from_logits)
    if from_logits:
        z64 = z.astype(np.float64)
        want = np.mean(np.maximum(z64, 0) - z64 * t + np.log1p(np.exp(-np.abs(z64))))
    else:
        # Clipped in float32, as Keras and ember do (1 - 1e-7 rounds to 1 - 1.19e-7).
        q = np.clip(p, np.float32(1e-7), np.float32(1 - 1e-7)).astype(np.float64)
        want = -np.mean(t * np.log(q) + (1 - t) * np.log(1 - q))
    assert loss == pytest.approx(want, rel=1e-4, abs=1e-6)
    assert np.isfinite(grad).all()
    mse, dmse = kernels.mean_squared_error(t, z)
    assert mse == pytest.approx(float(np.mean((z.astype(np.float64) - t) ** 2)), rel=1e-5)
    close(dmse, 2 * (z.astype(np.float64) - t) / t.size)


@SETTINGS
@given(st.integers(1, 2000), st.floats(0.0, 0.95), st.integers(0, 2**63 - 1))
def test_dropout_mask_is_exact_and_seeded(n, rate, seed):
    x = np.arange(n, dtype=np.float32) + 1
    y, mask = kernels.dropout(x, rate, seed)
    kept = mask != 0
    np.testing.assert_array_equal(mask[kept], np.float32(1 / (1 - rate)))
    np.testing.assert_array_equal(y, x * mask)
    assert np.array_equal(kernels.dropout(x, rate, seed)[1], mask)
