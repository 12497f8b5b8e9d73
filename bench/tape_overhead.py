"""Python cost of the graph engine (ember.engine's tape).

    python bench/tape_overhead.py

1. Per recorded op: an ``ops.multiply`` on a (64, 32) tensor, inside a
   GradientTape with a watched input, against the bare kernel call on the
   same arrays (``_core.binary``) — the difference is the tape's Python.
2. Per training step: the classic Dense model on a batch of 64, with and
   without a custom layer of 4 small ops (multiply, tanh, square, add) in the
   middle, trained with ``train_on_batch``; the difference is what the custom
   layer adds to a step (its kernels included).
Medians of repeated runs; prints microseconds.
"""
import time

import numpy as np

import ember
from ember import _core, layers, ops


def median_us(fn, repeat=7, number=2000):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number * 1e6)
    return float(np.median(times))


class Small(layers.Layer):
    """Four small ops."""

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(), initializer="ones", name="alpha")

    def call(self, x):
        return ops.tanh(x * self.alpha) + ops.square(x)


def model(with_custom):
    inputs = ember.Input(shape=(32,))
    h = layers.Dense(32, activation="relu")(inputs)
    if with_custom:
        h = Small()(h)
    out = layers.Dense(10, activation="softmax")(h)
    m = ember.Model(inputs, out)
    m.compile(optimizer="adam", loss="categorical_crossentropy")
    return m


def main():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 32)).astype(np.float32)
    b = rng.standard_normal((64, 32)).astype(np.float32)
    ta, tb = ops.convert_to_tensor(a), ops.convert_to_tensor(b)
    kernel = median_us(lambda: _core.binary(a, b, "multiply") if hasattr(_core, "binary") else a * b)
    with ember.GradientTape() as tape:
        tape.watch(ta)
        recorded = median_us(lambda: ops.multiply(ta, tb))
    eager = median_us(lambda: ops.multiply(ta, tb))
    print(f"bare kernel call      {kernel:7.2f} us")
    print(f"ops.multiply, no tape {eager:7.2f} us  (+{eager - kernel:.2f} us)")
    print(f"ops.multiply, taped   {recorded:7.2f} us  (+{recorded - kernel:.2f} us per recorded op)")

    x = rng.standard_normal((64, 32)).astype(np.float32)
    y = ember.to_categorical(rng.integers(0, 10, 64), 10)
    models = {}
    for custom in (False, True):
        ember.set_random_seed(0)
        models[custom] = model(custom)
        models[custom].train_on_batch(x, y)
    # Interleaved blocks, so that drift in the machine's speed hits both.
    times = {False: [], True: []}
    for _ in range(15):
        for custom in (False, True):
            m = models[custom]
            t0 = time.perf_counter()
            for _ in range(200):
                m.train_on_batch(x, y)
            times[custom].append((time.perf_counter() - t0) / 200 * 1e6)
    steps = {k: float(np.median(v)) for k, v in times.items()}
    extra = float(np.median(np.subtract(times[True], times[False])))
    print(f"train step, Dense model            {steps[False]:8.1f} us")
    print(f"train step, + custom layer (4 ops) {steps[True]:8.1f} us  (+{extra:.1f} us, median of paired blocks)")


if __name__ == "__main__":
    main()
