"""Layers: forward against NumPy, gradients against finite differences,
configs, weights in Keras layout, summary."""
import numpy as np
import pytest

import ember
from ember import layers, models

import reference as ref
from conftest import assert_close, directional_check, input_grad, rand


def _grad_check(layer, x, rng, h=1e-2):
    """Input and weight gradients from the engine (GradientTape) against
    central differences of <layer(x), dy>."""
    y = layer(x, training=True)
    dy = rand(rng, *y.shape)
    xt = ember.ops.convert_to_tensor(x)
    with ember.GradientTape() as tape:
        tape.watch(xt)
        out = layer(xt, training=True)
    grads = tape.gradient(out, [xt] + layer.trainable_weights, output_gradients=[dy])

    def f(xx):
        return np.sum(np.asarray(layer(xx, training=True), np.float64) * dy)

    directional_check(f, x, grads[0].numpy(), rng, h=h)
    for var, grad in zip(layer.trainable_weights, grads[1:]):
        original = var.numpy()

        def g(w, var=var):
            var.assign(w)
            return np.sum(np.asarray(layer(x, training=True), np.float64) * dy)

        directional_check(g, original, grad.numpy(), rng, h=h)
        var.assign(original)


def test_dense_layer(rng):
    layer = layers.Dense(5, activation="tanh")
    x = rand(rng, 7, 3)
    y = layer(x)
    k, b = layer.get_weights()
    assert k.shape == (3, 5) and b.shape == (5,)
    assert_close(y, np.tanh(x.astype(np.float64) @ k + b))
    _grad_check(layer, x, rng)


@pytest.mark.parametrize("padding,strides", [("valid", 1), ("same", 2)])
def test_conv2d_layer(rng, padding, strides):
    layer = layers.Conv2D(4, 3, strides=strides, padding=padding, activation="relu",
                          bias_initializer="random_normal")
    x = rand(rng, 2, 9, 8, 3)
    y = layer(x)
    k, b = layer.get_weights()
    assert k.shape == (3, 3, 3, 4)
    assert_close(y, np.maximum(ref.conv2d(x, k, b, (strides, strides), padding), 0))
    assert layer.compute_output_shape((None, 9, 8, 3)) == (None,) + y.shape[1:]
    _grad_check(layer, x, rng, h=1e-4)  # ReLU kinks need a small step


def test_pooling_layers(rng):
    x = rand(rng, 2, 6, 7, 3)
    assert_close(layers.MaxPooling2D()(x), ref.pool2d(x, (2, 2), (2, 2), "valid", "max"))
    assert_close(layers.AveragePooling2D(3, 2, "same")(x), ref.pool2d(x, (3, 3), (2, 2), "same", "avg"))
    gap = layers.GlobalAveragePooling2D()
    assert_close(gap(x), x.astype(np.float64).mean(axis=(1, 2)))
    _grad_check(layers.AveragePooling2D(3, 2, "same"), x, rng)
    _grad_check(gap, x, rng)


def test_flatten_reshape_activation(rng):
    x = rand(rng, 4, 3, 2, 5)
    assert layers.Flatten()(x).shape == (4, 30)
    assert layers.Reshape((6, -1))(x).shape == (4, 6, 5)
    with pytest.raises(ValueError):
        layers.Reshape((7, 7)).compute_output_shape((None, 3, 2, 5))
    act = layers.Activation("sigmoid")
    assert_close(act(x), 1 / (1 + np.exp(-x.astype(np.float64))))
    _grad_check(act, x, rng, h=1e-3)
    sm = layers.Activation("softmax")
    _grad_check(sm, rand(rng, 4, 6), rng, h=1e-3)


def test_dropout_layer(rng):
    x = rand(rng, 50, 40)
    d = layers.Dropout(0.5)
    assert np.array_equal(d(x), x)              # inference: identity
    y = np.asarray(d(x, training=True))
    dropped = y == 0
    assert 0.4 < dropped.mean() < 0.6
    assert_close(y[~dropped], 2 * x[~dropped])
    ember.set_random_seed(3)
    y = np.asarray(d(x, training=True))
    ember.set_random_seed(3)
    dx = input_grad(d, x)
    assert np.array_equal(dx == 0, y == 0)


def test_batch_normalization_layer(rng):
    bn = layers.BatchNormalization()
    x = rand(rng, 8, 4, 4, 3) * 3 + 2
    y = bn(x, training=True)
    flat = y.reshape(-1, 3).astype(np.float64)
    assert_close(flat.mean(0), np.zeros(3), atol=1e-5)
    gamma, beta, mm, mv = bn.get_weights()
    assert len(bn.trainable_weights) == 2 and len(bn.non_trainable_weights) == 2
    assert_close(mm, 0.01 * x.reshape(-1, 3).astype(np.float64).mean(0))
    inf = bn(x)
    assert_close(inf, (x - mm) / np.sqrt(mv + 1e-3))
    _grad_check(bn, x, rng, h=1e-3)


def test_layer_configs_round_trip():
    for layer in [layers.Dense(3, activation="relu", use_bias=False),
                  layers.Conv2D(8, (3, 2), strides=(2, 1), padding="same", dilation_rate=1,
                                activation="elu"),
                  layers.MaxPooling2D((3, 3), strides=1, padding="same"),
                  layers.AveragePooling2D(), layers.GlobalAveragePooling2D(), layers.Flatten(),
                  layers.Reshape((2, -1)), layers.Dropout(0.25, seed=3), layers.Activation("gelu"),
                  layers.BatchNormalization(momentum=0.9)]:
        config = layer.get_config()
        clone = type(layer).from_config({k: v for k, v in config.items() if k != "name"})
        config.pop("name")
        clone_config = clone.get_config()
        clone_config.pop("name")
        assert clone_config == config


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="Unknown activation"):
        layers.Dense(3, activation="swishy")
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="units"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="kernel_size"):
        layers.Conv2D(3, (3, 0))
    with pytest.raises(ValueError, match="Unknown initializer"):
        layers.Dense(3, kernel_initializer="magic").build((None, 2))
    with pytest.raises(TypeError, match="unexpected keyword"):
        layers.Dense(3, colour="red")
    with pytest.raises(ValueError, match="rate"):
        layers.Dropout(1.5)
    with pytest.raises(ValueError, match="channels_last"):
        layers.Conv2D(3, 3, data_format="channels_first")


def _convnet():
    return models.Sequential([
        layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def test_summary_matches_keras(capsys):
    model = _convnet()
    model.summary()
    out = capsys.readouterr().out
    for row in ["(None, 26, 26, 32)", "320", "(None, 13, 13, 32)", "18,496", "(None, 3, 3, 64)",
                "36,928", "(None, 576)", "650", "Total params: 93,322", "Trainable params: 93,322",
                "Non-trainable params: 0"]:
        assert row in out, row
    assert "Conv2D" in out and "MaxPooling2D" in out and "Dense" in out


def test_weights_are_in_keras_order_and_layout():
    shapes = [w.shape for w in _convnet().get_weights()]
    assert shapes == [(3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (3, 3, 64, 64), (64,),
                      (576, 64), (64,), (64, 10), (10,)]


def test_set_weights_gives_identical_predictions(rng):
    a, b = _convnet(), _convnet()
    b.set_weights(a.get_weights())
    x = rand(rng, 5, 28, 28, 1)
    assert np.array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))


def test_input_layer_and_build():
    model = models.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    lazy = models.Sequential([layers.Dense(3)])
    lazy.summary()  # as Keras 3: an unbuilt Sequential lists its layers with unknown shapes
    lazy.build((None, 5))
    assert lazy.count_params() == 18
