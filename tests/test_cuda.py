"""The CUDA backend against the CPU kernels (within 1e-4 relative error), and
a model trained on the device against the same model trained on the CPU.

Every operation is called through the same ember._core function on both
devices: DeviceArray arguments select the CUDA kernel. These tests need an
ember built with CUDA and a visible GPU, or the test build whose CUDA code
runs on the CPU emulator (-Ccmake.define.EMBER_CUDA_EMULATE=ON, what .ci/run
uses); elsewhere they skip, and only the CPU-side contract at the top runs."""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import ember
from ember import _core, layers

from conftest import assert_close, rand
from test_properties import conv_case, pool_case

# EMBER_REQUIRE_CUDA=1 (set by .ci/run for the emulated build) turns these
# skips into failures, so that a broken build cannot pass by skipping.
gpu = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                         reason="no CUDA device, or ember built without CUDA "
                                f"(built with CUDA: {ember.cuda.built()})")
pytestmark = pytest.mark.gpu


def dev(*arrays):
    out = tuple(_core.to_device(a) for a in arrays)
    return out[0] if len(out) == 1 else out


def same(got, want, rtol=1e-4):
    """A device result (DeviceArray, tuple or float) against the CPU's."""
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w, rtol)
    elif want is None:
        assert got is None
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=rtol, abs=rtol)
    else:
        assert isinstance(got, ember.cuda.DeviceArray), type(got)
        assert got.shape == want.shape
        assert_close(got, want, rtol=rtol, atol=rtol)


def test_without_a_gpu_the_backend_says_so():
    if ember.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="CUDA"):
        ember.cuda.to_device(np.ones((2, 2), np.float32))
    model = ember.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(RuntimeError, match="CUDA"):
        model.to("cuda")
    assert model.device == "cpu"
    if not ember.cuda.built():
        with pytest.raises(RuntimeError, match="without CUDA"):
            ember.cuda.device_name()


def test_unknown_device_is_a_value_error():
    model = ember.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="Unknown device"):
        model.to("tpu")
    assert model.to("cpu") is model


@gpu
def test_device_name():
    name = ember.cuda.device_name()
    assert isinstance(name, str) and name
    assert ("emulator" in name) == ember.cuda.emulated()
    assert _core.cuda_benchmark_gemm(70, 40, 30, 2) > 0
    with pytest.raises(ValueError, match="positive"):
        _core.cuda_benchmark_gemm(0, 1, 1)


@gpu
def test_device_array_round_trip_views_and_errors():
    rng = np.random.default_rng(0)
    a = rand(rng, 3, 4, 5)
    d = ember.cuda.to_device(a)
    assert d.shape == (3, 4, 5) and d.ndim == 3 and d.size == 60 and len(d) == 3
    assert d.dtype == np.float32 and d.device == "cuda" and "cuda" in repr(d)
    np.testing.assert_array_equal(np.asarray(d), a)
    np.testing.assert_array_equal(d.numpy(), a)
    v = d.reshape(3, -1)
    assert v.shape == (3, 20)
    np.testing.assert_array_equal(v.numpy(), a.reshape(3, 20))
    assert d.reshape((60,)).shape == (60,)
    b = rand(rng, 60)
    v.copy_from(b)  # a view shares the memory
    np.testing.assert_array_equal(d.numpy().ravel(), b)
    e = _core.device_zeros((60,))
    e.copy_from(d)  # device to device
    np.testing.assert_array_equal(e.numpy(), b)
    assert _core.to_device(d) is d
    with pytest.raises(ValueError, match="reshape"):
        d.reshape(7, -1)
    with pytest.raises(ValueError, match="-1"):
        d.reshape(-1, -1)
    with pytest.raises(ValueError, match="elements"):
        d.copy_from(np.ones(3, np.float32))
    with pytest.raises(ValueError, match="one device"):
        _core.matmul(d.reshape(3, 20), np.ones((20, 2), np.float32))
    with pytest.raises(ValueError, match="cpu device only"):
        _core.conv2d_naive(d.reshape(1, 3, 4, 5), _core.to_device(np.ones((1, 1, 5, 2), np.float32)))
    with pytest.raises(ValueError, match="on cpu"):
        _core.sgd_update(np.ones(60, np.float32), d.reshape(60))
    z = _core.device_zeros((2, 3))
    np.testing.assert_array_equal(z.numpy(), np.zeros((2, 3), np.float32))
    pinned = _core.pinned_empty((4, 2))
    pinned[...] = 1.5
    np.testing.assert_array_equal(_core.to_device(pinned).numpy(), np.full((4, 2), 1.5, np.float32))


@gpu
def test_a_failing_cuda_call_raises_naming_the_call():
    with pytest.raises(RuntimeError, match="cudaMalloc"):
        _core.device_zeros((1 << 42,))  # 16 TiB
    for bad in [(-2, 3), (1 << 40, 1 << 40), "x"]:
        with pytest.raises((ValueError, TypeError)):
            _core.device_zeros(bad)
        with pytest.raises((ValueError, TypeError)):
            _core.pinned_empty(bad)
    ember.cuda.synchronize()
    np.testing.assert_array_equal(ember.cuda.to_device(np.ones(3, np.float32)).numpy(), np.ones(3))


@gpu
# Rows of A and B that start 16-byte aligned (k and n multiples of 4) take
# the vectorised kernel when neither is transposed; the rest the general one.
@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (7, 13, 31), (129, 65, 30), (130, 260, 9), (130, 260, 36),
                                   (64, 100, 20)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_matmul(m, n, k, ta, tb):
    rng = np.random.default_rng(1)
    a = rand(rng, *((k, m) if ta else (m, k)))
    b = rand(rng, *((n, k) if tb else (k, n)))
    c = rand(rng, m, n)
    want = _core.matmul(a, b, ta, tb)
    same(_core.matmul(*dev(a, b), ta, tb), want)
    same(_core.matmul_naive(*dev(a, b), ta, tb), want)  # the CUDA reference kernel
    same(_core.matmul(*dev(a, b), ta, tb, 0.5, 2.0, dev(c)), _core.matmul(a, b, ta, tb, 0.5, 2.0, c))


@gpu
@pytest.mark.parametrize("m,n,k,ta", [(9, 32, 5000, True), (40, 20, 4500, False)])
def test_matmul_split_k(m, n, k, ta):
    """Few output tiles and a long K (a weight gradient): K is split into
    fixed chunks, whose partial products are added in order."""
    rng = np.random.default_rng(13)
    a = rand(rng, *((k, m) if ta else (m, k)))
    b, c, bias = rand(rng, k, n), rand(rng, m, n), rand(rng, n)
    da, db = dev(a, b)
    got = _core.matmul(da, db, ta)
    same(got, _core.matmul(a, b, ta))
    same(got, np.asarray(_core.matmul_naive(da, db, ta)))
    np.testing.assert_array_equal(got.numpy(), _core.matmul(da, db, ta).numpy())  # repeatable
    same(_core.matmul(da, db, ta, False, 0.5, 2.0, dev(c)), _core.matmul(a, b, ta, False, 0.5, 2.0, c))
    x = a.T if ta else a  # the dense path: bias and ReLU in the split-K write-out
    same(_core.dense(*dev(np.ascontiguousarray(x), b, bias), True), _core.dense(x, b, bias, True))


@gpu
@pytest.mark.parametrize("relu", [False, True])
def test_dense(relu):
    rng = np.random.default_rng(2)
    x, k, b = rand(rng, 9, 2, 17), rand(rng, 17, 11), rand(rng, 11)
    same(_core.dense(*dev(x, k, b), relu), _core.dense(x, k, b, relu))
    same(_core.dense(*dev(x, k), None, relu), _core.dense(x, k, None, relu))
    dy = rand(rng, 9, 2, 11)
    for use_bias in (True, False):
        same(_core.dense_backward(*dev(dy, x, k), use_bias), _core.dense_backward(dy, x, k, use_bias))


CONV_CASES = [(2, 9, 9, 3, 3, 3, 4, (1, 1), "valid", (1, 1)), (3, 13, 7, 2, 3, 2, 5, (2, 1), "same", (1, 1)),
              (2, 9, 9, 2, 3, 3, 3, (1, 1), "same", (2, 2)), (4, 14, 14, 1, 3, 3, 8, (1, 1), "valid", (1, 1)),
              (1, 6, 8, 5, 1, 1, 130, (2, 2), "same", (1, 1))]


@gpu
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d(case):
    n, h, w, c, kh, kw, f, s, p, d = case
    rng = np.random.default_rng(3)
    x, k, b = rand(rng, n, h, w, c), rand(rng, kh, kw, c, f), rand(rng, f)
    for relu in (False, True):
        same(_core.conv2d(*dev(x, k, b), s, p, d, relu), _core.conv2d(x, k, b, s, p, d, relu))
    y = _core.conv2d(x, k, b, s, p, d, True)
    dy = rand(rng, *y.shape)
    for use_bias, need_dx, relu_y in [(True, True, None), (False, False, None), (True, True, y)]:
        want = _core.conv2d_backward(dy, x, k, s, p, d, use_bias, need_dx, relu_y)
        got = _core.conv2d_backward(*dev(dy, x, k), s, p, d, use_bias, need_dx,
                                    None if relu_y is None else dev(relu_y))
        same(got, want)


@gpu
@pytest.mark.parametrize("pool,strides,padding", [((2, 2), None, "valid"), ((3, 3), (2, 2), "same"),
                                                  ((2, 2), (1, 1), "valid"), ((3, 2), (2, 3), "same")])
def test_pooling(pool, strides, padding):
    rng = np.random.default_rng(4)
    x = rand(rng, 3, 9, 10, 3)
    for fwd, bwd in [(_core.max_pool2d, _core.max_pool2d_backward),
                     (_core.avg_pool2d, _core.avg_pool2d_backward)]:
        y = fwd(x, pool, strides, padding)
        same(fwd(dev(x), pool, strides, padding), y)
        dy = rand(rng, *y.shape)
        same(bwd(*dev(dy, x), pool, strides, padding), bwd(dy, x, pool, strides, padding))
    relu_x = np.maximum(x, 0)
    y = _core.max_pool2d(relu_x, pool, strides, padding)
    dy = rand(rng, *y.shape)
    same(_core.max_pool2d_backward(*dev(dy, relu_x), pool, strides, padding, True),
         _core.max_pool2d_backward(dy, relu_x, pool, strides, padding, True))


# Random shapes, strides, paddings and values (from test_properties' cases).
RANDOM = settings(max_examples=30, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@gpu
@RANDOM
@given(conv_case(), st.booleans())
def test_random_conv2d_shapes(case, relu):
    x, k, b, s, p, d = case
    y = _core.conv2d(x, k, b, s, p, d, relu)
    same(_core.conv2d(*dev(x, k, b), s, p, d, relu), y)
    dy = np.random.default_rng(0).standard_normal(y.shape).astype(np.float32)
    same(_core.conv2d_backward(*dev(dy, x, k), s, p, d), _core.conv2d_backward(dy, x, k, s, p, d))


@gpu
@RANDOM
@given(pool_case(), st.sampled_from(["max", "avg"]))
def test_random_pooling_shapes(case, mode):
    x, pool, strides, padding = case
    assume(mode == "max" or np.abs(x).max(initial=0) < 1e19)
    fwd = _core.max_pool2d if mode == "max" else _core.avg_pool2d
    bwd = _core.max_pool2d_backward if mode == "max" else _core.avg_pool2d_backward
    y = fwd(x, pool, strides, padding)
    same(fwd(dev(x), pool, strides, padding), y)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    same(bwd(*dev(dy, x), pool, strides, padding), bwd(dy, x, pool, strides, padding))


@gpu
@RANDOM
@given(st.integers(1, 150), st.integers(1, 150), st.integers(0, 80), st.booleans(), st.booleans(),
       st.integers(0, 2**32 - 1))
def test_random_matmul_shapes(m, n, k, ta, tb, seed):
    rng = np.random.default_rng(seed)
    a = rand(rng, *((k, m) if ta else (m, k)))
    b = rand(rng, *((n, k) if tb else (k, n)))
    same(_core.matmul(*dev(a, b), ta, tb), _core.matmul(a, b, ta, tb))


@gpu
def test_global_average_pooling():
    rng = np.random.default_rng(5)
    x, dy = rand(rng, 3, 5, 7, 6), rand(rng, 3, 6)
    same(_core.global_avg_pool2d(dev(x)), _core.global_avg_pool2d(x))
    same(_core.global_avg_pool2d_backward(*dev(dy, x)), _core.global_avg_pool2d_backward(dy, x))


@gpu
@pytest.mark.parametrize("name,alpha", [("linear", 0.0), ("relu", 0.0), ("sigmoid", 0.0), ("tanh", 0.0),
                                        ("leaky_relu", 0.2), ("elu", 1.0), ("gelu", 0.0)])
def test_activations(name, alpha):
    rng = np.random.default_rng(6)
    x, dy = rand(rng, 7, 33, scale=3.0), rand(rng, 7, 33)
    same(_core.activation(dev(x), name, alpha), _core.activation(x, name, alpha))
    same(_core.activation_backward(*dev(dy, x), name, alpha), _core.activation_backward(dy, x, name, alpha))


@gpu
def test_softmax_and_relu_gradient():
    rng = np.random.default_rng(7)
    z, dy = rand(rng, 65, 10, scale=5.0), rand(rng, 65, 10)
    same(_core.softmax(dev(z)), _core.softmax(z))
    same(_core.softmax_backward(*dev(dy, z)), _core.softmax_backward(dy, z))
    y = np.maximum(z, 0)
    same(_core.relu_grad_from_output(*dev(dy, y)), _core.relu_grad_from_output(dy, y))


@gpu
def test_losses():
    rng = np.random.default_rng(8)
    z = rand(rng, 33, 10, scale=3.0)
    p = _core.softmax(z)
    labels = rng.integers(0, 10, 33)
    t = np.eye(10, dtype=np.float32)[labels]
    same(_core.softmax_crossentropy(t, dev(z)), _core.softmax_crossentropy(t, z))
    same(_core.softmax_crossentropy(dev(t), dev(z)), _core.softmax_crossentropy(t, z))
    for from_logits, pred in [(False, p), (True, z)]:
        same(_core.loss(t, dev(pred), "categorical_crossentropy", from_logits),
             _core.loss(t, pred, "categorical_crossentropy", from_logits))
        same(_core.sparse_categorical_crossentropy(labels, dev(pred), from_logits),
             _core.sparse_categorical_crossentropy(labels, pred, from_logits))
    tb = (rng.random((33, 4)) > 0.5).astype(np.float32)
    pb = rng.random((33, 4)).astype(np.float32)
    pb[0, 0] = 0.0  # clipped
    same(_core.loss(tb, dev(pb), "binary_crossentropy"), _core.loss(tb, pb, "binary_crossentropy"))
    zb = rand(rng, 33, 4, scale=4.0)
    same(_core.loss(tb, dev(zb), "binary_crossentropy", True), _core.loss(tb, zb, "binary_crossentropy", True))
    same(_core.loss(zb, dev(pb), "mean_squared_error"), _core.loss(zb, pb, "mean_squared_error"))


@gpu
def test_dropout_mask_equals_the_cpu_mask():
    rng = np.random.default_rng(9)
    x, dy = rand(rng, 5, 300), rand(rng, 5, 300)
    y, mask = _core.dropout(dev(x), 0.3, 1234)
    want_y, want_mask = _core.dropout(x, 0.3, 1234)
    np.testing.assert_array_equal(mask.numpy(), want_mask)
    np.testing.assert_array_equal(y.numpy(), want_y)
    same(_core.dropout_backward(dy_d := dev(dy), mask), _core.dropout_backward(dy, want_mask))
    assert dy_d.shape == dy.shape


@gpu
def test_batch_norm():
    rng = np.random.default_rng(10)
    x, g, b = rand(rng, 300, 6) + 3.0, rand(rng, 6), rand(rng, 6)
    mm, mv = rand(rng, 6), np.abs(rand(rng, 6)) + 0.5
    dmm, dmv = dev(mm, mv)
    want = _core.batch_norm_train(x, g, b, mm, mv, 0.9, 1e-3)
    same(_core.batch_norm_train(*dev(x, g, b), dmm, dmv, 0.9, 1e-3), want)
    assert_close(dmm, mm)  # moving statistics updated in place, as on the CPU
    assert_close(dmv, mv)
    same(_core.batch_norm_infer(*dev(x, g, b, mm, mv), 1e-3), _core.batch_norm_infer(x, g, b, mm, mv, 1e-3))
    dy = rand(rng, 300, 6)
    _, mean, var = want
    same(_core.batch_norm_backward(*dev(dy, x, g, mean, var), 1e-3),
         _core.batch_norm_backward(dy, x, g, mean, var, 1e-3))


@gpu
@pytest.mark.parametrize("kind", ["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw", "rmsprop",
                                  "rmsprop_centered_momentum"])
def test_optimizers(kind):
    rng = np.random.default_rng(11)
    p = rand(rng, 1000)
    slots = [np.zeros_like(p) for _ in range(3)]
    dp, dslots = dev(p), [dev(s) for s in slots]

    def step(param, grad, s, i):
        if kind.startswith("sgd"):
            _core.sgd_update(param, grad, s[0], 0.1, 0.0 if kind == "sgd" else 0.9, kind == "sgd_nesterov")
        elif kind.startswith("adam"):
            _core.adam_update(param, grad, s[0], s[1], 0.01, step=i, weight_decay=0.01 if kind == "adamw" else 0.0)
        else:
            c = kind != "rmsprop"
            _core.rmsprop_update(param, grad, s[0], s[1], s[2], 0.01, 0.9, 0.5 if c else 0.0, 1e-7, c)

    for i in (1, 2, 3):
        g = rand(rng, 1000)
        step(p, g, slots, i)
        step(dp, dev(g), dslots, i)
    assert_close(dp, p)
    for d, h in zip(dslots, slots):
        assert_close(d, h)


def convnet():
    return ember.Sequential([
        layers.Input((10, 10, 2)),
        layers.Conv2D(6, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.BatchNormalization(),
        layers.Conv2D(4, 2, padding="same", activation="tanh"),
        layers.AveragePooling2D(),
        layers.Flatten(),
        layers.Dropout(0.25, seed=3),
        layers.Dense(12, activation="relu"),
        layers.Dense(5, activation="softmax"),
    ])


def trained(device, optimizer, loss="categorical_crossentropy"):
    ember.set_random_seed(0)
    rng = np.random.default_rng(12)
    x = rand(rng, 40, 10, 10, 2)
    labels = rng.integers(0, 5, 40)
    y = labels if loss.startswith("sparse") else ember.to_categorical(labels, 5)
    model = convnet()
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    model.to(device)
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0, validation_split=0.2)
    return model, history, x, y


@gpu
@pytest.mark.parametrize("optimizer,loss", [("adam", "categorical_crossentropy"),
                                            ("sgd", "sparse_categorical_crossentropy"),
                                            ("rmsprop", "categorical_crossentropy")])
def test_a_model_trained_on_the_device_matches_the_cpu(optimizer, loss):
    cpu, hc, x, y = trained("cpu", optimizer, loss)
    gpu_model, hg, _, _ = trained("cuda", optimizer, loss)
    assert gpu_model.device == "cuda"
    assert all(w.device == "cuda" for w in gpu_model.weights)
    for key in hc.history:
        np.testing.assert_allclose(hg.history[key], hc.history[key], rtol=1e-3, atol=1e-4)
    for w_gpu, w_cpu in zip(gpu_model.get_weights(), cpu.get_weights()):
        assert_close(w_gpu, w_cpu, rtol=1e-3, atol=1e-4)
    pred = gpu_model.predict(x, batch_size=7, verbose=0)
    assert isinstance(pred, np.ndarray)
    assert_close(pred, cpu.predict(x, verbose=0), rtol=1e-3, atol=1e-4)
    got, want = gpu_model.evaluate(x, y, verbose=0), cpu.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


@gpu
def test_device_training_is_deterministic_and_moves_back(tmp_path):
    a, _, x, y = trained("cuda", "adam")
    b, _, _, _ = trained("cuda", "adam")
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    a.save(tmp_path / "m.ember")  # from the device: weights and optimizer state come back
    loaded = ember.load_model(tmp_path / "m.ember")
    assert loaded.device == "cpu"
    assert_close(loaded.predict(x, verbose=0), a.predict(x, verbose=0), rtol=1e-4)
    a.to("cpu")
    assert all(w.device == "cpu" for w in a.weights)
    # Training resumes on either device from the saved state, the same way
    # (same seed for the shuffle; a fresh Dropout call count in both).
    results = []
    for device in ("cpu", "cuda"):
        m = ember.load_model(tmp_path / "m.ember").to(device)
        ember.set_random_seed(5)
        m.fit(x, y, batch_size=16, epochs=1, verbose=0)
        results.append(m.get_weights())
    for w_cpu, w_gpu in zip(*results):
        assert_close(w_gpu, w_cpu, rtol=1e-3, atol=1e-4)


@gpu
def test_compile_with_device_and_on_batch_methods():
    model = ember.Sequential([layers.Dense(4, activation="sigmoid", input_shape=(3,))])
    model.compile("sgd", "binary_crossentropy", device="cuda")
    x = np.ones((5, 3), np.float32)
    y = np.zeros((5, 4), np.float32)
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert isinstance(model.predict_on_batch(x), np.ndarray)
    out = model(x)
    assert out.device == "cuda" and isinstance(out.value, ember.cuda.DeviceArray)
    assert np.isfinite(model.test_on_batch(x, y))


class _Gate(layers.Layer):
    """A custom layer of small ops, so the engine's generic kernels run on
    the device too."""

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="alpha")

    def call(self, x):
        return ember.ops.tanh(x * self.alpha) + ember.ops.square(x) * 0.1


def _functional_with_small_ops():
    ember.set_random_seed(0)
    inputs = ember.Input(shape=(8, 8, 1))
    h = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    r = layers.Conv2D(4, 3, padding="same")(h)
    h = layers.add([h, _Gate()(r)])
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(h)
    h = layers.concatenate([h, layers.Dense(4)(h)])
    h = layers.Lambda(lambda t: t[:, 1:] - ember.ops.mean(t, axis=-1, keepdims=True))(h)
    out = layers.Dense(2, activation="softmax")(h)
    return ember.Model(inputs, out)


class _Subclassed(ember.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(4, 3, activation="relu")
        self.gate = _Gate()
        self.flat = layers.Flatten()
        self.head = layers.Dense(2, activation="softmax")

    def call(self, x, training=False):
        h = self.conv(x)
        return self.head(self.flat(self.gate(h) + h))


def _subclassed():
    ember.set_random_seed(0)
    model = _Subclassed()
    model.build((None, 8, 8, 1))
    return model


@gpu
@pytest.mark.parametrize("make", [_functional_with_small_ops, _subclassed], ids=["functional", "subclassed"])
def test_custom_layers_train_on_the_device_as_on_the_cpu(make):
    rng = np.random.default_rng(3)
    x = rng.random((48, 8, 8, 1), dtype=np.float32)
    y = ember.to_categorical((x[:, :4].mean((1, 2, 3)) > x[:, 4:].mean((1, 2, 3))).astype(int), 2)
    results = {}
    for device in ("cpu", "cuda"):
        model = make()
        model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        model.to(device)
        ember.set_random_seed(1)
        hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        # And one hand-written GradientTape step.
        with ember.GradientTape() as tape:
            loss = ember.ops.mean(ember.ops.square(model(x[:8], training=True) - y[:8]))
        grads = tape.gradient(loss, model.trainable_weights)
        assert all(g.device == device for g in grads)
        model.optimizer.apply_gradients(zip(grads, model.trainable_weights))
        results[device] = (hist.history["loss"], model.get_weights())
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-4)
    for a, b in zip(results["cuda"][1], results["cpu"][1]):
        assert_close(a, b, rtol=1e-4, atol=1e-5)
