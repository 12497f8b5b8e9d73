"""Sequential end to end: fit/evaluate/predict, History, callbacks, save and
load, reproducibility, and every error a user can trigger."""
import io
import os

import numpy as np
import pytest

import ember
from ember import callbacks, layers, losses, models, optimizers, saving
from ember.utils import to_categorical


def blobs(n=600, seed=0, classes=3, dim=4):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, dim)) * 3
    labels = rng.integers(0, classes, n)
    x = (centers[labels] + rng.standard_normal((n, dim))).astype(np.float32)
    return x, labels


def mlp(classes=3, dim=4):
    return models.Sequential([layers.Dense(16, activation="relu", input_shape=(dim,)),
                              layers.Dense(classes, activation="softmax")])


def small_convnet():
    return models.Sequential([
        layers.Conv2D(8, 3, activation="relu", input_shape=(12, 12, 1)),
        layers.MaxPooling2D(),
        layers.Conv2D(8, 3, activation="relu", padding="same"),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])


def stripes(n=256, seed=0):
    """Horizontal vs vertical bars: a task only a convnet-ish model gets right."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.random((n, 12, 12, 1), dtype=np.float32) * 0.3
    pos = rng.integers(2, 10, n)
    for i in range(n):  # data generation only; not part of ember
        if y[i]:
            x[i, :, pos[i], 0] += 1
        else:
            x[i, pos[i], :, 0] += 1
    return x, to_categorical(y, 2)


def test_fit_crosses_accuracy_threshold_and_history():
    ember.set_random_seed(1)
    x, labels = blobs()
    y = to_categorical(labels)
    model = mlp()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=32, validation_split=0.2, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 15 for v in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["val_accuracy"][-1] >= 0.9
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc >= 0.9 and loss < 0.5
    assert model.predict(x[:7], verbose=0).shape == (7, 3)
    np.testing.assert_allclose(model.predict(x[:7], verbose=0).sum(1), 1, rtol=1e-5)


def test_convnet_learns_stripes():
    ember.set_random_seed(2)
    x, y = stripes()
    model = small_convnet()
    model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    xt, yt = stripes(128, seed=9)
    assert model.evaluate(xt, yt, verbose=0)[1] >= 0.9


@pytest.mark.parametrize("opt", ["sgd", "rmsprop", "adamw", optimizers.SGD(0.1, momentum=0.9, nesterov=True)])
def test_optimizers_reduce_loss(opt):
    ember.set_random_seed(3)
    x, labels = blobs(300)
    model = mlp()
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    h = model.fit(x, labels, epochs=8, batch_size=32, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


@pytest.mark.parametrize("loss,last,target", [
    ("binary_crossentropy", "sigmoid", "binary"),
    ("mean_squared_error", None, "binary"),
    (losses.CategoricalCrossentropy(from_logits=True), None, "onehot"),
    ("sparse_categorical_crossentropy", "softmax", "sparse"),
])
def test_losses_train(loss, last, target):
    ember.set_random_seed(4)
    x, labels = blobs(300, classes=2)
    units = 1 if target == "binary" else 2
    y = {"binary": labels.astype(np.float32), "onehot": to_categorical(labels, 2), "sparse": labels}[target]
    model = models.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                               layers.Dense(units, activation=last)])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    h = model.fit(x, y, epochs=10, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_evaluate_without_metrics_returns_scalar_and_batch_methods():
    ember.set_random_seed(5)
    x, labels = blobs(64)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    assert isinstance(model.evaluate(x, labels, verbose=0), float)
    assert isinstance(model.train_on_batch(x[:16], labels[:16]), float)
    assert isinstance(model.test_on_batch(x[:16], labels[:16]), float)
    assert model.predict_on_batch(x[:5]).shape == (5, 3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, acc = model.train_on_batch(x[:16], labels[:16])
    assert 0 <= acc <= 1
    assert set(model.evaluate(x, labels, verbose=0, return_dict=True)) == {"loss", "accuracy"}


def test_validation_data_and_callbacks(tmp_path):
    ember.set_random_seed(6)
    x, labels = blobs(200)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    seen = []

    class Recorder(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, sorted(logs)))

    ckpt = str(tmp_path / "ckpt-{epoch:02d}.ember")
    sched = callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))
    model.fit(x, labels, epochs=3, validation_data=(x[:50], labels[:50]), verbose=0,
              callbacks=[Recorder(), callbacks.ModelCheckpoint(ckpt), sched])
    assert [e for e, _ in seen] == [0, 1, 2]
    assert seen[0][1] == ["accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"] or \
        seen[0][1] == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert sorted(os.listdir(tmp_path)) == ["ckpt-01.ember", "ckpt-02.ember", "ckpt-03.ember"]
    assert model.optimizer.learning_rate == pytest.approx(0.01 / 3)


def test_early_stopping_stops():
    ember.set_random_seed(7)
    x, labels = blobs(100)
    model = mlp()
    model.compile(optimizer=optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    stopper = callbacks.EarlyStopping(monitor="loss", patience=1)
    h = model.fit(x, labels, epochs=20, verbose=0, callbacks=[stopper])
    assert len(h.history["loss"]) < 20 and stopper.stopped_epoch > 0


def test_nan_loss_stops_training_with_epoch_and_step(capsys):
    ember.set_random_seed(8)
    x, labels = blobs(128)
    x[70] = np.nan
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    h = model.fit(x, labels, epochs=3, batch_size=32, shuffle=False, verbose=0)
    err = capsys.readouterr().err
    assert "Non-finite loss" in err and "epoch 1, step 3" in err
    assert len(h.history["loss"]) == 1
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.fit(x, labels, epochs=1, verbose=0, check_finite=True)


def test_terminate_on_nan_callback():
    cb = callbacks.TerminateOnNaN()

    class M:
        stop_training = False
    cb.set_model(M())
    cb.on_train_batch_end(0, {"loss": float("inf")})
    assert cb.model.stop_training


def test_progress_bar_is_one_line_per_epoch_off_terminal(capsys):
    ember.set_random_seed(9)
    x, labels = blobs(256)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, labels, epochs=2, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = [l for l in out.splitlines() if l.strip()]
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("16/16 [") and "loss:" in lines[1] and "accuracy:" in lines[1]


def test_progress_bar_redraws_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True
    stream = Tty()
    bar = ember.utils.Progbar(3, stream=stream, interval=0)
    for i in range(1, 4):
        bar.update(i, {"loss": 1.0 / i})
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and "ETA" in text


def test_seeded_fit_is_bitwise_reproducible_across_threads(threads):
    x, y = stripes(128)
    weights = []
    for n_threads in (1, 2, 2):
        ember.set_num_threads(n_threads)
        ember.set_random_seed(42)
        model = models.Sequential([layers.Conv2D(8, 3, activation="relu", input_shape=(12, 12, 1)),
                                   layers.BatchNormalization(), layers.MaxPooling2D(),
                                   layers.Dropout(0.2), layers.Flatten(),
                                   layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(weights[0], weights[1]):
        assert a.tobytes() == b.tobytes()
    for a, b in zip(weights[1], weights[2]):
        assert a.tobytes() == b.tobytes()


def test_save_load_round_trip_resumes_identically(tmp_path):
    x, y = stripes(96)
    ember.set_random_seed(10)
    model = small_convnet()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "model.ember"
    model.save(path)
    restored = models.load_model(path)
    assert np.array_equal(model.predict(x, verbose=0), restored.predict(x, verbose=0))
    assert restored.optimizer.iterations == model.optimizer.iterations
    for m in (model, restored):
        ember.set_random_seed(11)
        m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        assert a.tobytes() == b.tobytes()


def test_save_weights_and_architecture_mismatch(tmp_path):
    a = small_convnet()
    path = tmp_path / "w.ember"
    a.save_weights(path)
    b = small_convnet()
    b.load_weights(path)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert np.array_equal(wa, wb)
    other = models.Sequential([layers.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 1)),
                               layers.MaxPooling2D(), layers.Conv2D(8, 3, padding="same"),
                               layers.Flatten(), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"\(3, 3, 1, 4\).*\(3, 3, 1, 8\)"):
        other.load_weights(path)


def test_damaged_files_raise_clear_errors(tmp_path):
    model = mlp()
    path = tmp_path / "m.ember"
    model.save(path)
    data = path.read_bytes()
    cases = {"truncated": data[:len(data) // 2], "empty": b"",
             "foreign": b"PK\x03\x04 this is a zip file" * 10,
             "flipped": data[:100] + bytes([data[100] ^ 0x10]) + data[101:]}
    for name, blob in cases.items():
        bad = tmp_path / f"{name}.ember"
        bad.write_bytes(blob)
        with pytest.raises(ValueError, match="not an ember file|corrupted or truncated"):
            models.load_model(bad)


def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch):
    model = mlp()
    path = tmp_path / "m.ember"
    model.save(path)
    before = path.read_bytes()
    calls = {"n": 0}
    real = saving._write_all

    def failing(f, data):
        calls["n"] += 1
        real(f, data[:len(data) // 2])
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(saving, "_write_all", failing)
    model.layers[0].kernel.value[...] += 1
    with pytest.raises(OSError, match="simulated"):
        model.save(path)
    assert calls["n"] == 1
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.ember"]
    models.load_model(path)


def test_error_messages():
    model = small_convnet()
    with pytest.raises(ValueError, match=r"compile\(\) before fit"):
        model.fit(np.zeros((4, 12, 12, 1)), np.zeros((4, 2)))
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    with pytest.raises(ValueError, match=r"expected input shape \(None, 12, 12, 1\), received \(64, 12, 12\)"):
        model.fit(np.zeros((64, 12, 12)), np.zeros((64, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"expected labels of shape \(None, 2\).*received \(4,\)"):
        model.fit(np.zeros((4, 12, 12, 1)), np.zeros(4), verbose=0)
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(np.zeros((4, 12, 12, 1)), np.zeros((5, 2)), verbose=0)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        model.compile(optimizer="adamaxx", loss="mse")
    with pytest.raises(ValueError, match="Unknown loss"):
        model.compile(optimizer="adam", loss="hinge_loss")
    with pytest.raises(ValueError, match="Unknown metric"):
        model.compile(optimizer="adam", loss="mse", metrics=["f1"])
        model.fit(np.zeros((4, 12, 12, 1)), np.zeros((4, 2)), verbose=0)
    sparse = small_convnet()
    sparse.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="Sparse|integer labels"):
        sparse.fit(np.zeros((4, 12, 12, 1)), np.zeros((4, 2)), verbose=0)
    with pytest.raises(ValueError, match="out of range"):
        sparse.fit(np.zeros((4, 12, 12, 1)), np.array([0, 1, 2, 1]), verbose=0)
    with pytest.raises(TypeError, match="numeric"):
        sparse.predict(np.array([["a"] * 3] * 2))
    with pytest.raises(ValueError, match="batch_size"):
        sparse.predict(np.zeros((4, 12, 12, 1)), batch_size=0)


def test_fused_conv_relu_pool_gradients_match_unfused():
    """The engine fuses Conv2D(relu) -> MaxPooling2D's ReLU gradient into the
    pooling backward (decided from the graph); the weights after a step must
    match the plain chain, which has nothing to fuse."""
    x, y = stripes(32)
    ember.set_random_seed(12)
    fused = small_convnet()
    plain = models.Sequential([layers.Conv2D(8, 3, input_shape=(12, 12, 1)), layers.Activation("relu"),
                               layers.MaxPooling2D(), layers.Conv2D(8, 3, padding="same"),
                               layers.Activation("relu"), layers.Flatten(),
                               layers.Dense(2, activation="softmax")])
    plain.set_weights(fused.get_weights())
    for m, expected in ((fused, 1), (plain, 0)):
        with ember.GradientTape() as tape:
            out = m(x, training=True)
        assert len(ember.engine._plan_fusion(ember.engine._topo_order([out]))) == expected
    for m in (fused, plain):
        m.compile(optimizer=optimizers.SGD(0.1), loss="categorical_crossentropy")
        m.train_on_batch(x, y)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
