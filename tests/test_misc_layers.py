"""Reshaping, normalization, regularization and activation layers (issue 12):
forward against float64 NumPy written from Keras's equations and against
Keras 3 itself, gradients of inputs and weights against float64 central
differences, symbolic shapes, configs and saved models, the noise layers in
training and inference, argument errors, and a few layers on the (emulated)
CUDA device against the CPU."""
import os

import numpy as np
import pytest

import ember
from ember import layers, ops

from conftest import assert_close

os.environ.setdefault("KERAS_BACKEND", "jax")  # Keras is the reference where it is installed


# ---------------------------------------------------------------- float64 references
def bilinear_ref(x, fh, fw, axes=(1, 2)):
    """Half-pixel-centre bilinear upsampling, clamped at the borders, one
    axis after the other (an independent formulation of jax.image.resize's
    'bilinear' for integer upsampling)."""
    x = x.astype(np.float64)
    for axis, f in zip(axes, (fh, fw)):
        n = x.shape[axis]
        src = np.clip((np.arange(n * f) + 0.5) / f - 0.5, 0, n - 1)
        i0 = np.floor(src).astype(int)
        i1 = np.minimum(i0 + 1, n - 1)
        t = (src - i0).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
        x = np.take(x, i0, axis=axis) * (1 - t) + np.take(x, i1, axis=axis) * t
    return x


def layer_norm_ref(x, gamma, beta, axes, eps):
    x = x.astype(np.float64)
    m = x.mean(axis=tuple(axes), keepdims=True)
    v = ((x - m) ** 2).mean(axis=tuple(axes), keepdims=True)
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    y = (x - m) / np.sqrt(v + eps)
    if gamma is not None:
        y = y * gamma.reshape(shape)
    if beta is not None:
        y = y + beta.reshape(shape)
    return y


def relu_ref(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x > threshold, x, negative_slope * (x - threshold))
    return np.minimum(y, max_value) if max_value is not None else y


def softmax_ref(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _td_dense_ref(x, w):
    return x @ w[0] + w[1]


# Each case: (id, ember factory, Keras factory or None, input shape, reference(x, weights)).
CASES = [
    ("repeat_vector", lambda L: L.RepeatVector(3), (2, 4), lambda x, w: np.repeat(x[:, None], 3, 1)),
    ("upsampling1d", lambda L: L.UpSampling1D(3), (2, 4, 3), lambda x, w: np.repeat(x, 3, 1)),
    ("upsampling2d_nearest", lambda L: L.UpSampling2D((2, 3)), (2, 3, 4, 2),
     lambda x, w: np.repeat(np.repeat(x, 2, 1), 3, 2)),
    ("upsampling2d_bilinear", lambda L: L.UpSampling2D((2, 3), interpolation="bilinear"), (2, 3, 4, 2),
     lambda x, w: bilinear_ref(x, 2, 3)),
    ("upsampling2d_bilinear_cf", lambda L: L.UpSampling2D(2, data_format="channels_first",
                                                          interpolation="bilinear"), (2, 2, 3, 4),
     lambda x, w: bilinear_ref(x, 2, 2, axes=(2, 3))),
    ("zeropadding1d", lambda L: L.ZeroPadding1D((1, 2)), (2, 3, 2),
     lambda x, w: np.pad(x, ((0, 0), (1, 2), (0, 0)))),
    ("zeropadding2d", lambda L: L.ZeroPadding2D(((1, 0), (2, 3))), (2, 3, 2, 2),
     lambda x, w: np.pad(x, ((0, 0), (1, 0), (2, 3), (0, 0)))),
    ("zeropadding2d_cf", lambda L: L.ZeroPadding2D((1, 2), data_format="channels_first"), (1, 2, 3, 2),
     lambda x, w: np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)))),
    ("cropping1d", lambda L: L.Cropping1D((1, 2)), (2, 6, 3), lambda x, w: x[:, 1:-2]),
    ("cropping2d", lambda L: L.Cropping2D(((1, 0), (2, 1))), (2, 4, 5, 2), lambda x, w: x[:, 1:, 2:-1]),
    ("permute", lambda L: L.Permute((3, 1, 2)), (2, 3, 4, 5), lambda x, w: x.transpose(0, 3, 1, 2)),
    ("time_distributed_dense", lambda L: L.TimeDistributed(L.Dense(3)), (2, 4, 5), _td_dense_ref),
    ("masking", lambda L: L.Masking(0.5), (2, 4, 3),
     lambda x, w: np.where((x != 0.5).any(-1, keepdims=True), x, 0)),
    ("layer_norm", lambda L: L.LayerNormalization(), (3, 4, 6),
     lambda x, w: layer_norm_ref(x, w[0], w[1], [2], 1e-3)),
    ("layer_norm_axes", lambda L: L.LayerNormalization(axis=[1, 2], epsilon=1e-2), (3, 4, 5),
     lambda x, w: layer_norm_ref(x, w[0], w[1], [1, 2], 1e-2)),
    ("layer_norm_axis1_noscale", lambda L: L.LayerNormalization(axis=1, scale=False), (3, 4, 5),
     lambda x, w: layer_norm_ref(x, None, w[0], [1], 1e-3)),
    ("relu", lambda L: L.ReLU(), (3, 7), lambda x, w: relu_ref(x)),
    ("relu_all", lambda L: L.ReLU(max_value=1.0, negative_slope=0.1, threshold=0.2), (3, 7),
     lambda x, w: relu_ref(x, 1.0, 0.1, 0.2)),
    ("relu_leaky", lambda L: L.ReLU(negative_slope=0.25), (3, 7), lambda x, w: relu_ref(x, None, 0.25)),
    ("relu_max", lambda L: L.ReLU(max_value=0.5), (3, 7), lambda x, w: relu_ref(x, 0.5)),
    ("leaky_relu", lambda L: L.LeakyReLU(), (3, 7), lambda x, w: np.where(x > 0, x, 0.3 * x)),
    ("prelu", lambda L: L.PReLU(), (2, 3, 4), lambda x, w: np.where(x > 0, x, w[0] * x)),
    ("prelu_shared", lambda L: L.PReLU(shared_axes=[1]), (2, 3, 4), lambda x, w: np.where(x > 0, x, w[0] * x)),
    ("elu", lambda L: L.ELU(0.7), (3, 7), lambda x, w: np.where(x > 0, x, 0.7 * np.expm1(x))),
    ("softmax", lambda L: L.Softmax(), (3, 7), lambda x, w: softmax_ref(x)),
    ("softmax_axis1", lambda L: L.Softmax(axis=1), (2, 4, 3), lambda x, w: softmax_ref(x, 1)),
]
IDS = [c[0] for c in CASES]


def _input(shape, seed=0, case_id=""):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    if case_id == "masking":
        x[0, 1] = 0.5
        x[1, 3] = 0.5
        x[1, 0, 0] = 0.5  # one matching feature alone does not mask a step
    return x


def _built(case, seed=0):
    cid, make, shape, ref = case
    layer = make(layers)
    x = _input(shape, seed, cid)
    layer(x)  # builds
    rng = np.random.default_rng(seed + 1)
    # Non-trivial weights (gamma, beta, alpha, kernels).
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) * 0.5 + (1 if w.name == "gamma" else 0)
                       for w in layer.weights])
    return layer, x


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_matches_float64_numpy(case):
    layer, x = _built(case)
    want = case[3](x.astype(np.float64), [w.astype(np.float64) for w in layer.get_weights()])
    got = layer(x).numpy()
    assert_close(got, want, rtol=2e-5, atol=2e-6)
    assert tuple(layer.compute_output_shape(x.shape)) == got.shape


def _numeric_grad(f, v, h=1e-6):
    """Central differences of the float64 scalar f at the float64 array v."""
    g = np.zeros_like(v)
    flat, gflat = v.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return g


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradients_match_float64_differences(case):
    """d<layer(x), dy>/d(x and weights) from the engine against central
    differences of the float64 reference."""
    layer, x = _built(case)
    ref = case[3]
    weights = [w.astype(np.float64) for w in layer.get_weights()]
    y_shape = layer(x).shape
    dy = np.random.default_rng(7).standard_normal(y_shape).astype(np.float32)
    xt = ops.convert_to_tensor(x)
    with ember.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=True)
    grads = tape.gradient(y, [xt] + layer.trainable_weights, output_gradients=[dy])
    x64 = x.astype(np.float64)
    if case[0] == "masking":  # the mask is a step function of x: hold it at x's
        keep = (x64 != 0.5).any(-1, keepdims=True)
        ref = lambda v, w: np.where(keep, v, 0)  # noqa: E731

    def f():
        return float(np.sum(ref(x64, weights) * dy))
    assert_close(grads[0].numpy(), _numeric_grad(f, x64), rtol=1e-4, atol=1e-4)
    for g, w in zip(grads[1:], weights):
        assert_close(g.numpy(), _numeric_grad(f, w), rtol=1e-4, atol=1e-4)


def _keras_pair(case):
    keras = pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")
    if keras.backend.backend() != "jax":
        pytest.skip("compares with Keras on its JAX backend (KERAS_BACKEND=jax)")
    layer, x = _built(case)
    klayer = case[1](keras.layers)
    klayer(x)
    klayer.set_weights(layer.get_weights())
    return keras, layer, klayer, x


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_and_weights_match_keras(case):
    keras, layer, klayer, x = _keras_pair(case)
    assert [w.shape for w in layer.weights] == [tuple(w.shape) for w in klayer.weights]
    assert [w.path.split("/")[-1] for w in layer.weights] == [w.path.split("/")[-1] for w in klayer.weights]
    assert_close(layer(x).numpy(), np.asarray(klayer(x)), rtol=1e-5, atol=1e-6)
    sym = (None,) + x.shape[1:]
    assert tuple(layer.compute_output_shape(sym)) == tuple(klayer.compute_output_shape(sym))
    config, kconfig = layer.get_config(), klayer.get_config()
    missing = set(kconfig) - set(config) - {"dtype", "layer"}
    assert not missing, missing


def test_bilinear_upsampling_matches_jax_image_resize():
    jax = pytest.importorskip("jax")
    x = _input((2, 5, 3, 4), seed=3)
    for size in [(2, 2), (3, 1), (1, 4), (4, 3)]:
        got = layers.UpSampling2D(size, interpolation="bilinear")(x).numpy()
        want = np.asarray(jax.image.resize(x, (2, 5 * size[0], 3 * size[1], 4), method="bilinear"))
        assert_close(got, want, rtol=1e-6, atol=1e-6)
        assert_close(got, bilinear_ref(x, *size), rtol=1e-6, atol=1e-6)


def test_layer_norm_gradient_precision_against_float64():
    """Large offsets stress a LayerNormalization built from ops: its
    gradients stay within float32 rounding of the float64 ones."""
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((8, 32)) * 3 + 50).astype(np.float32)
    dy = rng.standard_normal((8, 32)).astype(np.float32)
    layer = layers.LayerNormalization(epsilon=1e-5)
    layer(x)
    gamma = rng.standard_normal(32).astype(np.float32)
    layer.set_weights([gamma, np.zeros(32, np.float32)])
    xt = ops.convert_to_tensor(x)
    with ember.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
    gx, gg, gb = tape.gradient(y, [xt, layer.gamma, layer.beta], output_gradients=[dy])
    x64, dy64, g64 = x.astype(np.float64), dy.astype(np.float64), gamma.astype(np.float64)
    m = x64.mean(1, keepdims=True)
    inv = 1 / np.sqrt(((x64 - m) ** 2).mean(1, keepdims=True) + 1e-5)
    xhat = (x64 - m) * inv
    d = dy64 * g64
    want_dx = inv * (d - d.mean(1, keepdims=True) - xhat * (d * xhat).mean(1, keepdims=True))
    assert_close(gx.numpy(), want_dx, rtol=1e-4, atol=1e-4)
    assert_close(gg.numpy(), (dy64 * xhat).sum(0), rtol=1e-4, atol=1e-5)
    assert_close(gb.numpy(), dy64.sum(0), rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- masks
def test_masking_output_and_mask():
    x = _input((2, 4, 3), 0, "masking")
    layer = layers.Masking(mask_value=0.5)
    mask = layer.compute_mask(x).numpy()
    np.testing.assert_array_equal(mask, (x != 0.5).any(-1))
    assert mask.dtype == bool and mask.shape == (2, 4) and not mask[0, 1] and mask[1, 0]
    np.testing.assert_array_equal(layer(x).numpy(), x * mask[..., None])


def test_softmax_mask_matches_keras_and_float64():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 5)).astype(np.float32)
    mask = rng.random((2, 1, 5)) > 0.4
    mask[0, 0, 0] = True
    want = softmax_ref(np.where(mask, x.astype(np.float64), -1e9)) * mask
    layer = layers.Softmax()
    got = layer(x, mask=mask).numpy()
    assert_close(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(got[~np.broadcast_to(mask, x.shape)], 0)
    keras = pytest.importorskip("keras")
    if keras.backend.backend() == "jax":
        assert_close(got, np.asarray(keras.layers.Softmax()(x, mask=mask)), rtol=1e-6, atol=1e-7)
        both = [0, 2]
        assert_close(layers.Softmax(axis=both)(x).numpy(), np.asarray(keras.layers.Softmax(axis=both)(x)),
                     rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="Received: inputs.shape"):
        layer(x, mask=np.ones((2, 4), bool))


class _MaskEcho(layers.Layer):
    """Multiplies by its mask, so a test sees which mask arrived."""

    def call(self, inputs, mask=None):
        return inputs * ops.expand_dims(ops.cast(mask, "float32"), -1)

    def compute_output_shape(self, input_shape):
        return input_shape


def test_time_distributed_passes_the_mask_and_keeps_it():
    x = _input((2, 3, 4), 1)
    mask = np.array([[True, False, True], [False, True, True]])
    td = layers.TimeDistributed(_MaskEcho())
    np.testing.assert_array_equal(td(x, mask=mask).numpy(), x * mask[..., None])
    assert td.compute_mask(x, mask) is mask
    with pytest.raises(ValueError, match=r"mask of shape \(batch, time.*Received: mask of shape \(3, 2\)"):
        td(x, mask=mask.T)


def test_time_distributed_conv_and_sequential_share_weights():
    x = _input((2, 3, 5, 5, 2), 4)
    conv = layers.Conv2D(4, 3, padding="same")
    td = layers.TimeDistributed(conv)
    y = td(x).numpy()
    assert y.shape == (2, 3, 5, 5, 4) and len(td.weights) == 2
    for t in range(3):  # each step is the same convolution
        assert_close(y[:, t], conv(x[:, t]).numpy(), rtol=1e-5, atol=1e-6)
    inner = ember.Sequential([layers.Dense(4, activation="relu"), layers.Dense(2)])
    td2 = layers.TimeDistributed(inner)
    z = td2(x[:, :, 0, 0, :]).numpy()
    assert_close(z.reshape(6, 2), inner(x[:, :, 0, 0, :].reshape(6, 2)).numpy(), rtol=1e-6, atol=1e-6)


def test_time_distributed_names_the_layer_that_cannot_take_the_slices():
    conv = layers.Conv2D(4, 3, name="my_conv")
    with pytest.raises(ValueError, match=r"cannot apply layer 'my_conv'.*slices of shape \(None, 7\).*Received"):
        layers.TimeDistributed(conv)(ember.Input(shape=(5, 7)))
    with pytest.raises(ValueError, match="cannot apply layer 'my_conv'"):
        layers.TimeDistributed(conv)(np.zeros((2, 5, 7), np.float32))
    with pytest.raises(ValueError, match=r"rank 3 or more.*Received: input shape \(None, 7\)"):
        layers.TimeDistributed(layers.Dense(2))(ember.Input(shape=(7,)))
    with pytest.raises(ValueError, match="Received: layer="):
        layers.TimeDistributed("dense")


# ---------------------------------------------------------------- models: shapes, configs, files
def _sequence_model():
    inputs = ember.Input(shape=(6, 4))
    h = layers.Masking()(inputs)
    h = layers.TimeDistributed(layers.Dense(5))(h)
    h = layers.LayerNormalization()(h)
    h = layers.ZeroPadding1D((1, 2))(h)
    h = layers.Cropping1D((2, 0))(h)
    h = layers.UpSampling1D(2)(h)
    h = layers.PReLU(shared_axes=[1])(h)
    h = layers.SpatialDropout1D(0.3)(h)
    h = layers.GaussianNoise(0.1)(h)
    h = layers.Permute((2, 1))(h)
    h = layers.ActivityRegularization(l1=1e-3)(h)
    h = layers.Flatten()(h)
    h = layers.RepeatVector(2)(h)
    out = layers.Softmax(axis=1)(layers.TimeDistributed(layers.Dense(3))(h))
    return ember.Model(inputs, out)


def _image_model():
    return ember.Sequential([
        layers.Input(shape=(5, 4, 2)),
        layers.ZeroPadding2D(((1, 0), (0, 2))),
        layers.Cropping2D(((0, 1), (1, 0))),
        layers.UpSampling2D((2, 1), interpolation="bilinear"),
        layers.UpSampling2D(2),
        layers.SpatialDropout2D(0.2),
        layers.GaussianDropout(0.2),
        layers.AlphaDropout(0.1),
        layers.LayerNormalization(axis=[1, 2, 3]),
        layers.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.1),
        layers.LeakyReLU(),
        layers.ELU(),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ])


@pytest.mark.parametrize("make,shape,out", [(_sequence_model, (6, 4), (None, 2, 3)),
                                            (_image_model, (5, 4, 2), (None, 3))], ids=["sequence", "image"])
def test_models_shapes_configs_files_and_training(make, shape, out, tmp_path):
    model = make()
    assert model.output_shape == out
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16,) + shape).astype(np.float32)
    x[0, 2] = 0  # a masked step
    y = rng.standard_normal((16,) + out[1:]).astype(np.float32) ** 2
    p = model.predict(x, verbose=0)
    assert p.shape == (16,) + out[1:]
    np.testing.assert_array_equal(model(x).numpy(), p)  # inference: the noise layers pass through
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), p)
    model.compile(optimizer="adam", loss="mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before
    model.save(tmp_path / "m.ember")
    loaded = ember.models.load_model(tmp_path / "m.ember")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [type(l).__name__ for l in loaded.layers] == [type(l).__name__ for l in model.layers]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_symbolic_shapes_and_config_round_trip(case):
    cid, make, shape, ref = case
    layer, x = _built(case)
    inputs = ember.Input(shape=shape[1:])
    y = make(layers)(inputs)
    assert y.shape == (None,) + layer(x).shape[1:]
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())


# ---------------------------------------------------------------- noise and regularization
def test_spatial_dropout_drops_whole_channels_in_training_only():
    x = np.abs(_input((64, 5, 8), 2)) + 0.1
    layer = layers.SpatialDropout1D(0.4)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    y = layer(x, training=True).numpy()
    kept = y != 0
    assert (kept == kept[:, :1, :]).all()  # one draw per (sample, channel)
    np.testing.assert_allclose(y[kept], (x / 0.6)[kept], rtol=1e-6)
    assert 0.3 < 1 - kept[:, 0].mean() < 0.5
    x2 = np.abs(_input((32, 3, 4, 6), 3)) + 0.1
    for fmt, ch in (("channels_last", 3), ("channels_first", 1)):
        y2 = layers.SpatialDropout2D(0.5, data_format=fmt)(x2, training=True).numpy()
        k2 = np.moveaxis(y2 != 0, ch, -1)
        assert (k2 == k2[:, :1, :1]).all() and 0.3 < 1 - k2.mean() < 0.7


def test_noise_layers_statistics_and_inference():
    x = np.full((200, 100), 2.0, np.float32)
    for layer in (layers.GaussianNoise(0.5), layers.GaussianDropout(0.2), layers.AlphaDropout(0.2)):
        np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    n = layers.GaussianNoise(0.5)(x, training=True).numpy() - 2
    assert abs(n.mean()) < 0.01 and abs(n.std() - 0.5) < 0.01
    d = layers.GaussianDropout(0.2)(x, training=True).numpy() / 2
    assert abs(d.mean() - 1) < 0.01 and abs(d.std() - 0.5) < 0.01  # sqrt(0.2 / 0.8)
    # AlphaDropout keeps a standard normal's mean and variance.
    z = np.random.default_rng(0).standard_normal((400, 100)).astype(np.float32)
    a = layers.AlphaDropout(0.3)(z, training=True).numpy()
    assert abs(a.mean()) < 0.02 and abs(a.std() - 1) < 0.02
    a2 = layers.AlphaDropout(0.3, noise_shape=(None, 1))(z, training=True).numpy()
    dropped = np.isclose(a2, a2[:, :1]).all(1)  # whole rows take the same value when dropped
    assert 0.2 < dropped.mean() < 0.4


def test_noise_is_reproducible_from_the_seeds():
    x = _input((4, 6, 3), 1)
    ember.set_random_seed(3)
    first = [layers.GaussianNoise(0.3)(x, training=True).numpy(),
             layers.SpatialDropout1D(0.5)(x, training=True).numpy()]
    ember.set_random_seed(3)
    again = [layers.GaussianNoise(0.3)(x, training=True).numpy(),
             layers.SpatialDropout1D(0.5)(x, training=True).numpy()]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    seeded = [layers.GaussianDropout(0.3, seed=7)(x, training=True).numpy() for _ in range(2)]
    np.testing.assert_array_equal(seeded[0], seeded[1])
    layer = layers.GaussianDropout(0.3, seed=7)
    assert not np.array_equal(layer(x, training=True).numpy(), layer(x, training=True).numpy())


def test_noise_gradients_follow_the_drawn_noise():
    x = _input((3, 4, 5), 6)
    for layer in (layers.SpatialDropout1D(0.5, seed=1), layers.GaussianDropout(0.4, seed=1),
                  layers.GaussianNoise(0.3, seed=1), layers.AlphaDropout(0.3, seed=1)):
        xt = ops.convert_to_tensor(x)
        with ember.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt, training=True)
        g = tape.gradient(y, xt).numpy()
        # Each of them is affine in x for fixed noise: y = x * s + t.
        y2 = type(layer).from_config(layer.get_config())(x * 2, training=True).numpy()
        s = (y2 - y.numpy()) / x
        assert_close(g, s, rtol=1e-4, atol=1e-4)


def test_activity_regularization_adds_its_loss():
    x = _input((4, 5), 2)
    layer = layers.ActivityRegularization(l1=0.01, l2=0.1)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    (loss,) = layer.losses
    want = (0.01 * np.abs(x.astype(np.float64)).sum() + 0.1 * (x.astype(np.float64) ** 2).sum()) / 4
    assert float(loss.numpy()) == pytest.approx(want, rel=1e-6)
    inputs = ember.Input(shape=(5,))
    model = ember.Model(inputs, layers.ActivityRegularization(l2=1.0)(layers.Dense(2)(inputs)))
    with ember.GradientTape() as tape:
        y = model(x)
        (total,) = model.losses
    (gk, gb) = tape.gradient(total, model.trainable_weights)
    kernel, bias = (w.astype(np.float64) for w in model.get_weights())
    y64 = x.astype(np.float64) @ kernel + bias
    assert float(total.numpy()) == pytest.approx((y64 ** 2).sum() / 4, rel=1e-5)
    assert_close(gk.numpy(), x.T.astype(np.float64) @ (2 * y64 / 4), rtol=1e-5, atol=1e-6)
    assert_close(gb.numpy(), (2 * y64 / 4).sum(0), rtol=1e-5, atol=1e-6)
    assert y.shape == (4, 2)


# ---------------------------------------------------------------- ops.pad
def test_pad_forms_values_and_errors():
    x = _input((2, 3), 0)
    np.testing.assert_array_equal(ops.pad(x, 1).numpy(), np.pad(x, 1))
    np.testing.assert_array_equal(ops.pad(x, (1, 2)).numpy(), np.pad(x, (1, 2)))
    np.testing.assert_array_equal(ops.pad(x, ((0, 1), (2, 0)), constant_values=3).numpy(),
                                  np.pad(x, ((0, 1), (2, 0)), constant_values=3))
    with pytest.raises(ValueError, match="Received: pad_width="):
        ops.pad(x, ((1, 2, 3),))
    with pytest.raises(ValueError, match="Received: pad_width="):
        ops.pad(x, -1)
    with pytest.raises(ValueError, match="Received: mode="):
        ops.pad(x, 1, mode="reflect")


# ---------------------------------------------------------------- bad arguments
@pytest.mark.parametrize("make,error", [
    (lambda: layers.RepeatVector(0), ValueError), (lambda: layers.RepeatVector(2.5), TypeError),
    (lambda: layers.UpSampling1D("2"), TypeError), (lambda: layers.UpSampling2D((2, 0)), ValueError),
    (lambda: layers.UpSampling2D(interpolation="lanczos9"), ValueError),
    (lambda: layers.UpSampling2D(data_format="nhwc"), ValueError),
    (lambda: layers.ZeroPadding1D(-1), ValueError), (lambda: layers.ZeroPadding2D((1, 2, 3)), ValueError),
    (lambda: layers.Cropping1D((1,)), ValueError), (lambda: layers.Cropping2D(((1, 1), (1, -1))), ValueError),
    (lambda: layers.Permute((1, 3)), ValueError), (lambda: layers.Permute(3), TypeError),
    (lambda: layers.Masking("x"), TypeError),
    (lambda: layers.LayerNormalization(axis="x"), TypeError),
    (lambda: layers.LayerNormalization(epsilon=-1), ValueError),
    (lambda: layers.LayerNormalization(gamma_constraint="no_such_constraint"), ValueError),
    (lambda: layers.SpatialDropout1D(1.0), ValueError), (lambda: layers.GaussianNoise(-0.1), ValueError),
    (lambda: layers.GaussianDropout(2), ValueError), (lambda: layers.GaussianNoise(0.1, seed="s"), TypeError),
    (lambda: layers.SpatialDropout2D(0.1, data_format="x"), ValueError),
    (lambda: layers.ActivityRegularization(l1=-1), ValueError),
    (lambda: layers.ReLU(max_value=-1), ValueError), (lambda: layers.ReLU(negative_slope=None), ValueError),
    (lambda: layers.ReLU(threshold=-0.5), ValueError), (lambda: layers.LeakyReLU(-0.1), ValueError),
    (lambda: layers.PReLU(shared_axes=[0]), ValueError), (lambda: layers.ELU("a"), ValueError),
    (lambda: layers.Softmax(axis=1.5), TypeError),
])
def test_bad_arguments_raise_with_received(make, error):
    with pytest.raises(error, match="Received"):
        make()


@pytest.mark.parametrize("layer,shape", [
    (lambda: layers.RepeatVector(2), (3, 4, 5)), (lambda: layers.UpSampling1D(), (3, 4)),
    (lambda: layers.UpSampling2D(), (3, 4, 5)), (lambda: layers.ZeroPadding2D(), (2, 3)),
    (lambda: layers.Cropping1D((2, 2)), (2, 4, 3)), (lambda: layers.Cropping2D(((1, 1), (0, 0))), (2, 2, 3, 1)),
    (lambda: layers.Permute((2, 1)), (2, 3, 4, 5)), (lambda: layers.LayerNormalization(axis=3), (2, 3, 4)),
    (lambda: layers.SpatialDropout2D(0.5), (2, 3, 4)), (lambda: layers.PReLU(shared_axes=[4]), (2, 3)),
])
def test_wrong_input_shapes_raise_with_received(layer, shape):
    with pytest.raises(ValueError, match="Received"):
        layer()(ember.Input(shape=shape[1:]))
    with pytest.raises(ValueError, match="Received"):
        layer()(np.zeros(shape, np.float32), training=True)


# ---------------------------------------------------------------- on the CUDA device
gpu = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                         reason="no CUDA device, or ember built without CUDA")


@pytest.mark.gpu
@gpu
def test_layers_on_the_device_match_the_cpu():
    """Forward and gradients of a model of these layers, on the device and on
    the CPU."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 5, 4, 2)).astype(np.float32)
    results = {}
    for device in ("cpu", "cuda"):
        ember.set_random_seed(0)
        model = ember.Sequential([
            layers.Input(shape=(5, 4, 2)), layers.ZeroPadding2D(((1, 0), (0, 2))),
            layers.Cropping2D(((0, 1), (1, 0))), layers.UpSampling2D(2, interpolation="bilinear"),
            layers.UpSampling2D((1, 2)), layers.LayerNormalization(axis=[2, 3]), layers.PReLU(),
            layers.ReLU(max_value=1.5, threshold=0.1, negative_slope=0.2), layers.Permute((3, 1, 2)),
            layers.Reshape((2, -1)), layers.TimeDistributed(layers.Dense(3)), layers.Softmax(axis=1),
        ])
        model.set_weights([w + 0.1 for w in model.get_weights()])
        model.to(device)
        xt = ops.convert_to_tensor(x)
        if device == "cuda":
            xt = ember.Tensor(ember.cuda.to_device(x))
        with ember.GradientTape() as tape:
            tape.watch(xt)
            y = model(xt, training=True)
            loss = ops.sum(ops.multiply(y, np.linspace(-1, 1, y.shape[-1], dtype=np.float32)))
        grads = tape.gradient(loss, [xt] + model.trainable_weights)
        assert y.device == device and all(g.device == device for g in grads)
        results[device] = [np.asarray(y.numpy())] + [np.asarray(g.numpy()) for g in grads]
    for a, b in zip(results["cuda"], results["cpu"]):
        assert_close(a, b, rtol=1e-4, atol=1e-5)
