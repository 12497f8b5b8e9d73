"""The graph engine on a GPU: a functional model with a residual branch and
a custom layer (small ops on the device), trained on 'cuda' and on 'cpu' from
the same weights; prints the largest weight difference and the loss curves.

    python bench/gpu_engine_check.py     # ember built with CUDA, on a GPU
"""
import numpy as np

import ember
from ember import layers, ops


class Gate(layers.Layer):
    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="alpha")

    def call(self, x):
        return ops.tanh(x * self.alpha) + ops.square(x) * 0.1


def make():
    ember.set_random_seed(0)
    inputs = ember.Input(shape=(12, 12, 1))
    h = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    r = layers.Conv2D(8, 3, padding="same")(h)
    h = layers.add([h, Gate()(r)])
    h = layers.MaxPooling2D()(h)
    h = layers.Flatten()(h)
    h = layers.concatenate([h, layers.Dense(8)(h)])
    out = layers.Dense(2, activation="softmax")(h)
    model = ember.Model(inputs, out)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    rng = np.random.default_rng(0)
    x = rng.random((256, 12, 12, 1), dtype=np.float32)
    y = ember.to_categorical((x[:, :6].mean((1, 2, 3)) > x[:, 6:].mean((1, 2, 3))).astype(int), 2)
    curves, weights = {}, {}
    for device in ("cpu", "cuda"):
        model = make()
        model.to(device)
        ember.set_random_seed(1)
        hist = model.fit(x, y, batch_size=32, epochs=3, verbose=0)
        model.to("cpu")
        curves[device] = hist.history["loss"]
        weights[device] = model.get_weights()
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(weights["cpu"], weights["cuda"]))
    print("device:", ember.cuda.device_name())
    print("loss cpu :", [round(v, 5) for v in curves["cpu"]])
    print("loss cuda:", [round(v, 5) for v in curves["cuda"]])
    print(f"max |w_cpu - w_cuda| after 24 steps: {diff:.2e}")
    assert diff < 1e-3, diff


if __name__ == "__main__":
    main()
