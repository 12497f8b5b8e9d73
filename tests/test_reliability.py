"""Threads, memory and layer shapes under random configurations."""
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ember
from ember import _core, layers, models
from ember.utils import to_categorical

from conftest import input_grad


def test_set_num_threads_takes_effect(threads):
    for n in (1, 2, 3):
        ember.set_num_threads(n)
        assert _core.measured_team_size() == (n if _core.openmp_enabled() else 1)


@pytest.mark.parametrize("value", ["1", "2"])
def test_omp_num_threads_is_honoured(value):
    env = dict(os.environ, OMP_NUM_THREADS=value)
    code = "import ember, ember._core as c; print(ember.get_num_threads(), c.measured_team_size())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    expected = value if _core.openmp_enabled() else "1"
    assert out.stdout.split() == [value, expected]


def _convnet():
    model = models.Sequential([
        layers.Conv2D(8, 3, activation="relu", input_shape=(16, 16, 1)), layers.MaxPooling2D(),
        layers.Conv2D(8, 3, activation="relu"), layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_predict_from_four_threads_matches_sequential():
    ember.set_random_seed(0)
    model = _convnet()
    rng = np.random.default_rng(0)
    inputs = [rng.random((50, 16, 16, 1), dtype=np.float32) for _ in range(4)]
    expected = [model.predict(x, batch_size=16, verbose=0) for x in inputs]
    results = [None] * 4
    errors = []

    def work(i):
        try:
            for _ in range(5):
                out = model.predict(inputs[i], batch_size=16, verbose=0)
                assert out.tobytes() == expected[i].tobytes()
            results[i] = out
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for got, want in zip(results, expected):
        assert got.tobytes() == want.tobytes()


def _rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc to read memory")
def test_memory_is_flat_over_2000_training_steps():
    """2,000 steps of the convnet after a first epoch: resident memory grows
    by less than 5 MB (buffers are reused, nothing leaks per step)."""
    ember.set_random_seed(1)
    model = _convnet()
    rng = np.random.default_rng(1)
    x = rng.random((640, 16, 16, 1), dtype=np.float32)
    y = to_categorical(rng.integers(0, 10, 640), 10)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # first epoch: 40 steps
    before = _rss_mb()
    model.fit(x, y, batch_size=16, epochs=50, verbose=0)  # 2,000 steps
    growth = _rss_mb() - before
    print(f"RSS growth over 2,000 steps: {growth:.2f} MB")
    assert growth < 5.0, growth


def test_layer_output_shapes_match_compute_output_shape():
    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(["conv", "maxpool", "avgpool", "gap", "bn", "dropout", "flatten"]),
           st.integers(1, 3), st.integers(3, 9), st.integers(3, 9), st.integers(1, 4),
           st.sampled_from(["valid", "same"]), st.integers(1, 3), st.integers(1, 3))
    def check(kind, n, h, w, c, padding, k, s):
        make = {"conv": lambda: layers.Conv2D(3, k, strides=s, padding=padding, activation="tanh"),
                "maxpool": lambda: layers.MaxPooling2D(k, s, padding),
                "avgpool": lambda: layers.AveragePooling2D(k, s, padding),
                "gap": lambda: layers.GlobalAveragePooling2D(),
                "bn": lambda: layers.BatchNormalization(),
                "dropout": lambda: layers.Dropout(0.5),
                "flatten": lambda: layers.Flatten()}
        layer = make[kind]()
        x = np.random.default_rng(0).standard_normal((n, h, w, c)).astype(np.float32)
        if kind in ("conv", "maxpool", "avgpool") and padding == "valid" and k > min(h, w):
            with pytest.raises(ValueError):
                layer(x)
            return
        for training in (False, True):
            y = layer(x, training=training)
            assert (None,) + y.shape[1:] == tuple(layer.compute_output_shape((None, h, w, c)))
            assert input_grad(layer, x).shape == x.shape if training else True
    check()
