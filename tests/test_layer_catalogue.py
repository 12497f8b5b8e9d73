"""Every sequence, text and image-to-image layer of issue 12 in one table:
each trains in a Sequential model and in a functional one, survives a save
and a reload with the same predictions, and trains on the CUDA device (the
emulator in CI) as on the CPU."""
import os

import numpy as np
import pytest

import ember
from ember import layers

# As in test_cuda.py: EMBER_REQUIRE_CUDA=1 (the emulated build in CI) turns the skip into a failure.
needs_cuda = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                                reason="no CUDA device, or ember built without CUDA")


def _floats(*shape):
    return lambda rng, n: rng.normal(size=(n,) + shape).astype(np.float32)


def _tokens(length, vocab, zeros=False):
    def make(rng, n):
        x = rng.integers(1, vocab, (n, length))
        if zeros:  # padded sequences: trailing zeros
            for i, keep in enumerate(rng.integers(2, length + 1, n)):
                x[i, keep:] = 0
        return x.astype(np.int32)
    return make


# name: (input shape, input dtype, data maker, layers between the input and the Dense head)
CASES = {
    "Embedding": ((6,), "int32", _tokens(6, 20), lambda: [layers.Embedding(20, 4), layers.Flatten()]),
    "Embedding_mask_LSTM": ((7,), "int32", _tokens(7, 20, zeros=True),
                            lambda: [layers.Embedding(20, 4, mask_zero=True), layers.LSTM(5)]),
    "Masking_GRU": ((6, 3), "float32", _floats(6, 3), lambda: [layers.Masking(0.0), layers.GRU(4)]),
    "Conv1D_causal": ((9, 3), "float32", _floats(9, 3),
                      lambda: [layers.Conv1D(4, 3, padding="causal", dilation_rate=2), layers.Flatten()]),
    "Conv1D_same_strided": ((9, 3), "float32", _floats(9, 3),
                            lambda: [layers.Conv1D(4, 3, strides=2, padding="same", activation="relu"),
                                     layers.GlobalMaxPooling1D()]),
    "MaxPooling1D": ((8, 3), "float32", _floats(8, 3), lambda: [layers.MaxPooling1D(2), layers.Flatten()]),
    "AveragePooling1D": ((8, 3), "float32", _floats(8, 3),
                         lambda: [layers.AveragePooling1D(3, strides=2, padding="same"), layers.Flatten()]),
    "GlobalAveragePooling1D": ((8, 3), "float32", _floats(8, 3), lambda: [layers.GlobalAveragePooling1D()]),
    "GlobalMaxPooling2D": ((5, 5, 2), "float32", _floats(5, 5, 2), lambda: [layers.GlobalMaxPooling2D()]),
    "UpSampling1D": ((4, 3), "float32", _floats(4, 3), lambda: [layers.UpSampling1D(2), layers.Flatten()]),
    "SimpleRNN": ((5, 3), "float32", _floats(5, 3), lambda: [layers.SimpleRNN(4)]),
    "LSTM_sequences_backwards": ((5, 3), "float32", _floats(5, 3),
                                 lambda: [layers.LSTM(4, return_sequences=True, go_backwards=True),
                                          layers.Flatten()]),
    "GRU_reset_before": ((5, 3), "float32", _floats(5, 3), lambda: [layers.GRU(4, reset_after=False)]),
    "Bidirectional_concat": ((5, 3), "float32", _floats(5, 3), lambda: [layers.Bidirectional(layers.LSTM(3))]),
    "Bidirectional_ave": ((5, 3), "float32", _floats(5, 3),
                          lambda: [layers.Bidirectional(layers.GRU(3, return_sequences=True), merge_mode="ave"),
                                   layers.Flatten()]),
    "TimeDistributed_RepeatVector": ((4,), "float32", _floats(4),
                                     lambda: [layers.RepeatVector(3), layers.TimeDistributed(layers.Dense(2)),
                                              layers.Flatten()]),
    "Conv2DTranspose": ((4, 4, 2), "float32", _floats(4, 4, 2),
                       lambda: [layers.Conv2DTranspose(3, 3, strides=2, padding="same"), layers.Flatten()]),
    "Conv2DTranspose_output_padding": ((3, 3, 2), "float32", _floats(3, 3, 2),
                                      lambda: [layers.Conv2DTranspose(2, 3, strides=2, output_padding=1),
                                               layers.Flatten()]),
    "UpSampling2D_bilinear": ((3, 3, 2), "float32", _floats(3, 3, 2),
                              lambda: [layers.UpSampling2D(2, interpolation="bilinear"), layers.Flatten()]),
    "ZeroPadding2D_Cropping2D": ((5, 5, 2), "float32", _floats(5, 5, 2),
                                 lambda: [layers.ZeroPadding2D(((1, 0), (2, 1))), layers.Cropping2D(1),
                                          layers.Flatten()]),
    "DepthwiseConv2D": ((6, 6, 3), "float32", _floats(6, 6, 3),
                        lambda: [layers.DepthwiseConv2D(3, depth_multiplier=2), layers.Flatten()]),
    "SeparableConv2D": ((6, 6, 3), "float32", _floats(6, 6, 3),
                        lambda: [layers.SeparableConv2D(4, 3, padding="same"), layers.Flatten()]),
    "LayerNormalization": ((5, 3), "float32", _floats(5, 3),
                           lambda: [layers.LayerNormalization(), layers.Flatten()]),
    "Activation_layers": ((6,), "float32", _floats(6),
                          lambda: [layers.ReLU(max_value=2.0), layers.Dense(6), layers.LeakyReLU(),
                                   layers.Dense(6), layers.PReLU(), layers.ELU(), layers.Softmax()]),
    "ActivityRegularization": ((6,), "float32", _floats(6),
                               lambda: [layers.Dense(4), layers.ActivityRegularization(l1=0.01, l2=0.01)]),
}


def _data(name, n=24, seed=0):
    shape, dtype, make, _ = CASES[name]
    rng = np.random.default_rng(seed)
    x = make(rng, n)
    y = (rng.random(n) > 0.5).astype(np.float32)[:, None]
    return x, y


def _sequential(name):
    shape, dtype, _, body = CASES[name]
    ember.set_random_seed(7)
    return ember.Sequential([ember.Input(shape, dtype=dtype)] + body() + [layers.Dense(1, activation="sigmoid")])


def _functional(name):
    shape, dtype, _, body = CASES[name]
    ember.set_random_seed(7)
    inputs = ember.Input(shape, dtype=dtype)
    h = inputs
    for layer in body():
        h = layer(h)
    return ember.Model(inputs, layers.Dense(1, activation="sigmoid")(h))


@pytest.mark.parametrize("name", sorted(CASES))
def test_trains_saves_and_reloads(name, tmp_path):
    x, y = _data(name)
    for make in (_sequential, _functional):
        model = make(name)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        before = model.evaluate(x, y, verbose=0)
        history = model.fit(x, y, batch_size=8, epochs=6, verbose=0)
        assert np.all(np.isfinite(history.history["loss"]))
        assert model.evaluate(x, y, verbose=0) < before, name
        path = tmp_path / f"{make.__name__}.ember"
        model.save(path)
        again = ember.models.load_model(path)
        np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
        rebuilt = type(model).from_config(model.get_config())
        rebuilt.set_weights(model.get_weights())
        np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("name", sorted(CASES))
def test_trains_on_the_device_as_on_the_cpu(name):
    x, y = _data(name, n=16)
    results = {}
    for device in ("cpu", "cuda"):
        model = _functional(name)
        model.compile(optimizer="adam", loss="binary_crossentropy")
        model.to(device)
        ember.set_random_seed(1)
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        results[device] = (history.history["loss"], model.get_weights(), model.predict(x, verbose=0))
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-4, atol=1e-6)
    for a, b in zip(results["cuda"][1], results["cpu"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(results["cuda"][2], results["cpu"][2], rtol=1e-3, atol=1e-5)
