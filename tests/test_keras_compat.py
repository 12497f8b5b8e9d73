"""The same model in Keras 3 and in ember: Keras weights set on ember give the
same predictions, and training steps give the same weights. Runs only where
Keras 3 is installed (for example `pip install keras jax`); skips elsewhere."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")

from ember import layers as el, models as em  # noqa: E402
from ember.utils import to_categorical  # noqa: E402

kl = keras.layers


@pytest.fixture(autouse=True)
def _keras_seed():
    """Keras's initial weights are seeded too, so each run compares the same
    models."""
    keras.utils.set_random_seed(0)


def _both(build):
    return build(kl, keras.Sequential, keras.Input), build(el, em.Sequential, lambda s: el.Input(shape=s))


def _wide(L, Seq, Input):
    return Seq([Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
                L.Conv2D(16, (3, 3), activation="relu", padding="same", strides=2), L.BatchNormalization(),
                L.AveragePooling2D((2, 2), padding="same"), L.Conv2D(8, (3, 3), activation="tanh"),
                L.Flatten(), L.Dense(32, activation="gelu"), L.Dropout(0.3), L.Dense(10, activation="softmax")])


def _small(L, Seq, Input):
    return Seq([Input((12, 12, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(),
                L.Conv2D(8, 3, activation="relu"), L.Flatten(), L.Dense(16, activation="relu"),
                L.Dense(10, activation="softmax")])


def test_keras_weights_give_the_same_predictions():
    k, e = _both(_wide)
    rng = np.random.default_rng(0)
    weights = [w + (0.1 * rng.standard_normal(w.shape)).astype(np.float32) if w.ndim == 1 else w
               for w in k.get_weights()]
    weights = [np.abs(w) + 0.5 if "variance" in v.path else w for w, v in zip(weights, k.weights)]
    k.set_weights(weights)
    e.set_weights(k.get_weights())
    x = rng.random((16, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(e.predict(x, verbose=0), np.asarray(k.predict(x, verbose=0)), atol=1e-5)


def _train_alike(k, e, x, y, optimizer, atol):
    """Three training steps in Keras and in ember: the same losses, then the
    same weights within atol."""
    for m in (k, e):
        m.compile(optimizer=optimizer, loss="categorical_crossentropy")
    for _ in range(3):
        lk, le = float(k.train_on_batch(x, y)), e.train_on_batch(x, y)
        assert le == pytest.approx(lk, rel=1e-5)
    for a, b in zip(k.get_weights(), e.get_weights()):
        np.testing.assert_allclose(b, a, atol=atol)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_steps_match_keras(optimizer):
    k, e = _both(_small)
    e.set_weights(k.get_weights())
    rng = np.random.default_rng(1)
    x = rng.random((64, 12, 12, 1), dtype=np.float32)
    y = to_categorical(rng.integers(0, 10, 64), 10)
    _train_alike(k, e, x, y, optimizer, atol=1e-6)


class _Gate:
    """The same custom layer written for each library (build/add_weight/call
    with that library's ops)."""

    @staticmethod
    def make(lib):
        L, ops = lib.layers, lib.ops

        class Gate(L.Layer):
            def build(self, input_shape):
                self.alpha = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="alpha")

            def call(self, x):
                return ops.tanh(x * self.alpha) + ops.square(x) * 0.1
        return Gate


def _functional(lib):
    L = lib.layers
    inputs = lib.Input(shape=(10, 10, 1))
    a = lib.Input(shape=(6,))
    h = L.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    r = L.Conv2D(4, 3, padding="same")(h)
    h = L.add([h, _Gate.make(lib)()(r)])
    h = L.Flatten()(L.MaxPooling2D()(h))
    h = L.concatenate([h, L.Dense(5, activation="tanh")(a)])
    shared = L.Dense(8, activation="relu")
    h = L.Average()([shared(h), shared(L.Dense(h.shape[-1])(h))])
    out = L.Dense(3, activation="softmax")(h)
    return lib.Model([inputs, a], out)


@pytest.mark.parametrize("optimizer,atol", [("sgd", 1e-5), ("adam", 2e-3)])
def test_functional_model_with_a_custom_layer_matches_keras(optimizer, atol):
    """A two-input functional model with a residual branch, a custom layer and
    a shared layer: Keras's weights give ember the same predictions, and three
    training steps give the same losses and weights. With Adam a weight whose
    gradient is near zero moves by about +-learning_rate whatever its sign's
    rounding, hence its looser bound (2 steps of lr = 1e-3)."""
    import ember
    k, e = _functional(keras), _functional(ember)
    assert [tuple(w.shape) for w in k.weights] == [w.shape for w in e.weights]
    e.set_weights(k.get_weights())
    rng = np.random.default_rng(2)
    x = [rng.random((32, 10, 10, 1), dtype=np.float32), rng.standard_normal((32, 6)).astype(np.float32)]
    y = to_categorical(rng.integers(0, 3, 32), 3)
    np.testing.assert_allclose(e.predict(x, verbose=0), np.asarray(k.predict(x, verbose=0)), atol=1e-5)
    _train_alike(k, e, x, y, optimizer, atol)
