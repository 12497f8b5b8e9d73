# Source: keras.io guide "Making new layers and models via subclassing" (sections up to get_config)
#   https://keras.io/guides/making_new_layers_and_models_via_subclassing/
#   (keras-team/keras-io guides/keras_core/making_new_layers_and_models_via_subclassing.py, Keras 3)
# Adaptations: the guide's successive Linear variants merged into the final one (build + get_config),
# tiny random data, verbose=0, assertions added. `training` arg + VAE sections: subclassing_vae.py.
# Keras APIs used:
# - keras.layers.Layer subclass: __init__(**kwargs) -> super().__init__(**kwargs), build(input_shape), call
# - self.add_weight(shape=, initializer="random_normal"|"zeros", trainable=True|False) in __init__ or build
# - variable.assign_add(...), returning a Variable from call, .numpy() on the result
# - layer.weights / trainable_weights / non_trainable_weights (order: creation order; nested layers tracked)
# - keras.activations.relu; ops.matmul, ops.sum(axis=), ops.mean, ops.ones, ops.zeros, ops.convert_to_numpy
# - self.add_loss(value); layer.losses (collected from inner layers, reset at each top-level __call__)
# - layers.Dense(units, kernel_regularizer=keras.regularizers.l2(1e-3)); dense.kernel; dense.losses
# - keras.Input(shape=), keras.Model(inputs, outputs); compile(optimizer="adam", loss="mse") -> add_loss
#   terms added to the loss; compile(optimizer="adam") with no loss; fit(x, y, verbose=0); evaluate(x, y)
# - get_config() via super().get_config() + update; Layer.from_config(config); layer.name
import numpy as np

import ember as keras
from ember import ops
from ember import layers

keras.utils.set_random_seed(0)  # added for the test: a fixed initialisation

rng = np.random.default_rng(0)


class Linear(keras.layers.Layer):
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


x = ops.ones((2, 2))
linear_layer = Linear(4)
y = linear_layer(x)  # weights are created lazily by build() on first call
assert linear_layer.weights == [linear_layer.w, linear_layer.b] and tuple(y.shape) == (2, 4)
np.testing.assert_allclose(ops.convert_to_numpy(y), np.ones((2, 2)) @ ops.convert_to_numpy(linear_layer.w), rtol=1e-5)


class ComputeSum(keras.layers.Layer):
    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


my_sum = ComputeSum(2)
y = my_sum(x)
y = my_sum(x)
np.testing.assert_allclose(y.numpy(), [4.0, 4.0])
assert len(my_sum.non_trainable_weights) == 1 and my_sum.trainable_weights == []


class MLPBlock(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = keras.activations.relu(x)
        x = self.linear_2(x)
        x = keras.activations.relu(x)
        return self.linear_3(x)


mlp = MLPBlock()
y = mlp(ops.ones(shape=(3, 64)))  # The first call to the `mlp` will create the weights
assert len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6 and tuple(y.shape) == (3, 1)


class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


class OuterLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularizationLayer(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


layer = OuterLayer()
assert len(layer.losses) == 0  # No losses yet since the layer has never been called
_ = layer(ops.zeros((1, 1)))
assert len(layer.losses) == 1  # We created one loss value
_ = layer(ops.ones((1, 1)))
assert len(layer.losses) == 1  # `layer.losses` gets reset at the start of each __call__
np.testing.assert_allclose(float(layer.losses[0]), 1e-2, rtol=1e-5)

dense = keras.layers.Dense(32, kernel_regularizer=keras.regularizers.l2(1e-3))
_ = dense(ops.zeros((1, 1)))
expected = 1e-3 * np.sum(ops.convert_to_numpy(dense.kernel) ** 2)
np.testing.assert_allclose(float(dense.losses[0]), expected, rtol=1e-4)

inputs = keras.Input(shape=(3,))
outputs = ActivityRegularizationLayer()(inputs)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="mse")
xa, ya = rng.random((2, 3)).astype("float32"), rng.random((2, 3)).astype("float32")
model.fit(xa, ya, verbose=0)
# the add_loss term is added to the compiled loss
np.testing.assert_allclose(
    model.evaluate(xa, ya, verbose=0), np.mean((xa - ya) ** 2) + 1e-2 * xa.mean(), rtol=1e-4)
model.compile(optimizer="adam")  # no compiled loss: add_loss alone is minimized
h = model.fit(xa, ya, verbose=0)
assert "loss" in h.history  # value not asserted: Keras 3.15 (TF) still reports the old "mse" here

config = Linear(64, name="lin").get_config()
new_layer = Linear.from_config(config)
assert config["units"] == 64 and new_layer.units == 64 and new_layer.name == "lin"
print("OK subclassing_layers")
