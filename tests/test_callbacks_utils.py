"""Keras 3 callbacks (LambdaCallback, ReduceLROnPlateau, CSVLogger,
BackupAndRestore, TensorBoard, EarlyStopping, ModelCheckpoint,
TerminateOnNaN) judged by their effect on a small model, and the data
utilities (pad_sequences, timeseries_dataset_from_array, normalize,
plot_model) against Keras 3 or float64 NumPy references."""
import csv
import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports keras

import numpy as np
import pytest

import ember
from ember import callbacks, layers, models, optimizers, saving


def blobs(n=96, seed=0, classes=3, dim=4):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, dim)) * 3
    labels = rng.integers(0, classes, n)
    x = (centers[labels] + rng.standard_normal((n, dim))).astype(np.float32)
    return x, labels


def mlp(optimizer="adam", metrics=("accuracy",)):
    model = models.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=list(metrics))
    return model


# ---------------------------------------------------------------- LambdaCallback
def test_lambda_callback_calls_each_hook_in_order():
    x, y = blobs()
    events = []
    cb = callbacks.LambdaCallback(
        on_train_begin=lambda logs: events.append("train_begin"),
        on_epoch_begin=lambda epoch, logs: events.append(("epoch_begin", epoch)),
        on_train_batch_end=lambda batch, logs: events.append(("batch_end", batch, sorted(logs))),
        on_epoch_end=lambda epoch, logs: events.append(("epoch_end", epoch, round(logs["loss"], 6))),
        on_train_end=lambda logs: events.append("train_end"))
    h = mlp().fit(x, y, epochs=2, batch_size=48, verbose=0, callbacks=[cb])
    assert events[0] == "train_begin" and events[-1] == "train_end"
    assert events[1] == ("epoch_begin", 0)
    assert events[2] == ("batch_end", 0, ["accuracy", "loss"])
    assert [e[1] for e in events if e[0] == "batch_end"] == [0, 1, 0, 1]
    assert [e[2] for e in events if e[0] == "epoch_end"] == [round(v, 6) for v in h.history["loss"]]


def test_lambda_callback_old_batch_hooks_and_other_hooks_by_keyword():
    x, y = blobs()
    seen = []
    cb = callbacks.LambdaCallback(on_batch_begin=lambda b, logs: seen.append(("begin", b)),
                                  on_batch_end=lambda b, logs: seen.append(("end", b)))
    mlp().fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[cb])
    assert seen == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1), ("begin", 2), ("end", 2)]


def test_lambda_callback_rejects_unknown_hooks_and_non_callables():
    with pytest.raises(TypeError, match="on_epoch_ending"):
        callbacks.LambdaCallback(on_epoch_ending=print)
    with pytest.raises(TypeError, match="Received: 3"):
        callbacks.LambdaCallback(on_epoch_end=3)


# ---------------------------------------------------------------- ReduceLROnPlateau
def test_reduce_lr_on_plateau_lowers_the_rate_after_patience_and_cooldown():
    # SGD at rate 0 keeps the loss exactly flat: a plateau from the first epoch.
    x, y = blobs()
    model = mlp(optimizers.SGD(0.0))
    model.optimizer.learning_rate = 1e-12  # too small to move the loss in float32: a flat plateau
    rates = []
    cb = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=2, cooldown=1, min_lr=0.0)
    record = callbacks.LambdaCallback(on_epoch_end=lambda e, logs: rates.append(model.optimizer.learning_rate))
    h = model.fit(x, y, epochs=8, batch_size=96, shuffle=False, verbose=0, callbacks=[cb, record])
    assert len(set(h.history["loss"])) == 1
    # Epoch 0 sets the best; 1 and 2 wait, reduce at 2; the cooldown epoch 3
    # counts down and then waits (as Keras's does), so the next reductions
    # come at 4 and 6.
    expected = [1e-12, 1e-12, 5e-13, 5e-13, 2.5e-13, 2.5e-13, 1.25e-13, 1.25e-13]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    # History (after the user's callbacks) records the rate each epoch ran with.
    np.testing.assert_allclose(h.history["learning_rate"], [1e-12] + expected[:-1], rtol=1e-12)


def test_reduce_lr_on_plateau_respects_min_lr_and_leaves_improving_runs_alone():
    x, y = blobs()
    model = mlp(optimizers.SGD(0.0))
    model.optimizer.learning_rate = 1e-12
    cb = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.1, patience=0, min_lr=4e-13, min_delta=0)
    model.fit(x, y, epochs=4, batch_size=96, verbose=0, callbacks=[cb])
    assert model.optimizer.learning_rate == pytest.approx(4e-13, rel=1e-12)
    model = mlp(optimizers.SGD(0.1))
    cb = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.1, patience=1)
    h = model.fit(x, y, epochs=4, batch_size=96, shuffle=False, verbose=0, callbacks=[cb])
    assert all(b < a for a, b in zip(h.history["loss"], h.history["loss"][1:]))
    assert model.optimizer.learning_rate == pytest.approx(0.1)


def test_reduce_lr_on_plateau_matches_keras_schedule():
    keras = pytest.importorskip("keras")
    losses = [1.0, 0.9, 0.95, 0.91, 0.9, 0.89995, 0.5, 0.6, 0.6, 0.6, 0.6]

    def run(module, opt):
        cb = module.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.3, patience=2, cooldown=1,
                                                min_delta=1e-3, min_lr=0.02)

        class M:
            optimizer = opt
            stop_training = False
        cb.set_model(M())
        cb.on_train_begin()
        out = []
        for epoch, value in enumerate(losses):
            cb.on_epoch_end(epoch, {"loss": value})
            out.append(float(np.asarray(opt.learning_rate)))
        return out
    mine = run(ember, optimizers.SGD(0.5))
    theirs = run(keras, keras.optimizers.SGD(0.5))
    np.testing.assert_allclose(mine, theirs, rtol=1e-6)


def test_reduce_lr_on_plateau_argument_errors():
    with pytest.raises(ValueError, match="Received: factor=1.5"):
        callbacks.ReduceLROnPlateau(factor=1.5)
    with pytest.raises(ValueError, match="Received: mode='up'"):
        callbacks.ReduceLROnPlateau(mode="up")
    with pytest.raises(ValueError, match="Received: patience=-1"):
        callbacks.ReduceLROnPlateau(patience=-1)
    with pytest.raises(TypeError, match="epsilon"):
        callbacks.ReduceLROnPlateau(epsilon=1e-3)


# ---------------------------------------------------------------- CSVLogger
def test_csv_logger_writes_header_and_one_row_per_epoch(tmp_path):
    x, y = blobs()
    path = tmp_path / "log.csv"
    h = mlp().fit(x, y, epochs=3, batch_size=32, verbose=0, validation_data=(x[:20], y[:20]),
                  callbacks=[callbacks.CSVLogger(path)])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    for i, row in enumerate(rows[1:]):
        assert float(row[2]) == h.history["loss"][i]
        assert float(row[4]) == h.history["val_loss"][i]


def test_csv_logger_separator_append_and_na_for_missing_validation(tmp_path):
    x, y = blobs()
    path = tmp_path / "log.tsv"
    model = mlp()
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, separator="\t")])
    model.fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.CSVLogger(path, separator="\t", append=True)])
    lines = path.read_text().splitlines()
    assert lines[0].split("\t") == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(lines) == 4 and [l.split("\t")[0] for l in lines[1:]] == ["0", "0", "1"]
    assert all(l.split("\t")[3:] == ["NA", "NA"] for l in lines[1:])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, separator="\t")])
    assert len(path.read_text().splitlines()) == 2  # append=False starts the file again
    with pytest.raises(ValueError, match="Received: separator=';;'"):
        callbacks.CSVLogger(path, separator=";;")


# ---------------------------------------------------------------- BackupAndRestore
class Crash(RuntimeError):
    pass


def _crash_at(epoch):
    def hook(e, logs):
        if e == epoch:
            raise Crash(f"simulated crash at epoch {e}")
    return callbacks.LambdaCallback(on_epoch_begin=hook)


def _fresh_model(seed=3):
    ember.set_random_seed(seed)
    return mlp()


def test_backup_and_restore_resumes_after_a_crash_exactly(tmp_path):
    x, y = blobs()
    reference = _fresh_model()
    ref_hist = reference.fit(x, y, epochs=5, batch_size=32, shuffle=False, verbose=0)

    backup = tmp_path / "backup"
    model = _fresh_model()
    with pytest.raises(Crash):
        model.fit(x, y, epochs=5, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(backup), _crash_at(3)])
    assert os.listdir(backup) == ["backup.ember"]
    header, _ = saving.read_file(backup / "backup.ember", expected_kind="backup")
    assert header["epoch"] == 3

    # A new process: a fresh model (other initial weights) resumes from the backup.
    model = _fresh_model(seed=99)
    epochs_run = []
    h = model.fit(x, y, epochs=5, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(backup),
                             callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))])
    assert epochs_run == [3, 4] and len(h.history["loss"]) == 2
    assert h.history["loss"] == ref_hist.history["loss"][3:]
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer.iterations == reference.optimizer.iterations
    assert not backup.exists()  # delete_checkpoint=True once fit completes


def test_backup_restores_the_step_count_with_gradient_accumulation(tmp_path):
    # iterations counts updates (steps / accumulation); the backup must hold
    # the raw step count that set_state restores, as Model.save writes it.
    x, y = blobs()

    def model():
        m = models.Sequential([layers.Input((x.shape[1],)), layers.Dense(3, activation="softmax")])
        m.compile(optimizer=optimizers.SGD(0.01, gradient_accumulation_steps=2),
                  loss="sparse_categorical_crossentropy")
        return m
    backup = tmp_path / "backup"
    first = model()
    with pytest.raises(Crash):
        first.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(backup), _crash_at(2)])
    second = model()
    restore = callbacks.BackupAndRestore(backup)
    restore.set_model(second)
    restore.on_train_begin()
    assert second.optimizer._iterations == first.optimizer._iterations
    assert second.optimizer.iterations == first.optimizer.iterations


def test_backup_survives_a_crash_while_writing(tmp_path, monkeypatch):
    x, y = blobs()
    backup = tmp_path / "b"
    model = _fresh_model()
    writes = []
    real_write = saving._write_all

    def failing_write(f, data):
        writes.append(1)
        if len(writes) == 3:  # the second backup's first block
            raise OSError("disk full (simulated)")
        real_write(f, data)
    monkeypatch.setattr(saving, "_write_all", failing_write)
    with pytest.raises(OSError, match="disk full"):
        model.fit(x, y, epochs=4, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    monkeypatch.setattr(saving, "_write_all", real_write)
    assert os.listdir(backup) == ["backup.ember"]  # no temporary file left behind
    header, _ = saving.read_file(backup / "backup.ember", expected_kind="backup")
    assert header["epoch"] == 1
    epochs_run = []
    model = _fresh_model(seed=5)
    model.fit(x, y, epochs=4, batch_size=32, shuffle=False, verbose=0,
              callbacks=[callbacks.BackupAndRestore(backup, delete_checkpoint=False),
                         callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))])
    assert epochs_run == [1, 2, 3]
    assert os.path.exists(backup / "backup.ember")  # delete_checkpoint=False keeps it
    assert saving.read_file(backup / "backup.ember")[0]["epoch"] == 4


def test_backup_every_n_batches_resumes_mid_epoch_weights(tmp_path):
    x, y = blobs()
    backup = tmp_path / "b"
    model = _fresh_model()
    saved = []

    def crash(batch, logs):
        if len(saved) == 4:
            raise Crash("stop")
    bk = callbacks.BackupAndRestore(backup, save_freq=2)
    spy = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: saved.append(model.get_weights())
                                   if os.path.exists(backup / "backup.ember") else None)
    with pytest.raises(Crash):
        model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[bk, spy, callbacks.LambdaCallback(on_train_batch_begin=crash)])
    # 3 batches per epoch, a backup every 2: after batches 2 and 4 (epoch 1, batch 1).
    header, arrays = saving.read_file(backup / "backup.ember", expected_kind="backup")
    assert header["epoch"] == 1 and header["batch"] == 1
    restored = _fresh_model(seed=8)
    runs = []
    restored.fit(x, y, epochs=1, batch_size=32, verbose=0,
                 callbacks=[callbacks.BackupAndRestore(backup, save_freq=2, delete_checkpoint=False),
                            callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: runs.append(e))])
    assert runs == []  # epochs=1 and one epoch already completed: nothing left to run
    for a, b in zip(restored.get_weights(), arrays):
        np.testing.assert_array_equal(a, b)


def test_backup_and_restore_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="Received: backup_dir=''"):
        callbacks.BackupAndRestore("")
    with pytest.raises(ValueError, match="Received: save_freq='batch'"):
        callbacks.BackupAndRestore(tmp_path, save_freq="batch")
    with pytest.raises(ValueError, match="Received: save_freq=0"):
        callbacks.BackupAndRestore(tmp_path, save_freq=0)
    saving.write_file(tmp_path / "backup.ember", {"kind": "weights", "n_weights": 0}, [])
    model = _fresh_model()
    with pytest.raises(ValueError, match="expected 'backup'"):
        model.fit(*blobs(), epochs=1, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path)])


# ---------------------------------------------------------------- TerminateOnNaN
def test_terminate_on_nan_stops_or_raises():
    class M:
        stop_training = False
    cb = callbacks.TerminateOnNaN()
    cb.set_model(M())
    cb.on_train_batch_end(3, {"loss": 1.0})
    assert not cb.model.stop_training
    cb.on_train_batch_end(4, {"loss": float("nan")})
    assert cb.model.stop_training
    cb = callbacks.TerminateOnNaN(raise_error=True)
    cb.set_model(M())
    with pytest.raises(RuntimeError, match="batch 2"):
        cb.on_train_batch_end(2, {"loss": float("inf")})


def test_a_progbar_logger_of_ones_own_replaces_fits(capsys):
    x, y = blobs()
    mlp().fit(x, y, epochs=1, verbose=1, callbacks=[callbacks.ProgbarLogger()])
    assert capsys.readouterr().out.count("Epoch 1/1") == 1


# ---------------------------------------------------------------- EarlyStopping / ModelCheckpoint
class _WeightsModel:
    """Just what EarlyStopping touches: weights that change each epoch."""

    def __init__(self):
        self.stop_training = False
        self.w = 0
        self.metrics = []

    def get_weights(self):
        return [np.array(self.w)]

    def set_weights(self, ws):
        self.w = int(ws[0])


def test_early_stopping_matches_keras_on_value_sequences():
    keras = pytest.importorskip("keras")
    cases = [
        dict(patience=2), dict(patience=1, min_delta=0.05), dict(patience=2, baseline=0.5),
        dict(patience=1, start_from_epoch=3), dict(patience=2, mode="max"),
        dict(patience=2, restore_best_weights=True), dict(patience=0),
    ]
    values = [1.0, 0.8, 0.82, 0.79, 0.9, 0.95, 0.7, 0.71, 0.72, 0.73]
    for kwargs in cases:
        results = []
        for module in (ember, keras):
            model = _WeightsModel()
            cb = module.callbacks.EarlyStopping(monitor="val_loss", **kwargs)
            cb.set_model(model)
            cb.on_train_begin()
            stopped = None
            for epoch, v in enumerate(values):
                model.w = epoch
                cb.on_epoch_end(epoch, {"val_loss": v})
                if model.stop_training:
                    stopped = epoch
                    break
            cb.on_train_end()
            results.append((stopped, cb.best, model.w, cb.stopped_epoch))
        assert results[0] == results[1], kwargs


def test_early_stopping_restores_best_weights_in_fit():
    x, y = blobs()
    model = mlp(optimizers.SGD(0.0))
    model.optimizer.learning_rate = 0.0
    best = {}

    class Shift(callbacks.Callback):
        # Moves the weights each epoch; loss is flat so epoch 0 stays the best.
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                best["w"] = self.model.get_weights()
            self.model.set_weights([w + 1.0 for w in self.model.get_weights()])
    stopper = callbacks.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    model.fit(x, y, epochs=10, batch_size=96, verbose=0, callbacks=[stopper, Shift()])
    assert stopper.stopped_epoch == 2 and stopper.best_epoch == 0
    for a, b in zip(model.get_weights(), best["w"]):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_formats_names_and_keeps_only_the_best(tmp_path):
    x, y = blobs()
    model = mlp()
    path = str(tmp_path / "m-{epoch:02d}-{loss:.3f}.weights.ember")
    h = model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True,
                                                       save_weights_only=True)])
    names = sorted(os.listdir(tmp_path))
    losses = h.history["loss"]
    expected = [f"m-{i + 1:02d}-{losses[i]:.3f}.weights.ember" for i in range(3)
                if losses[i] == min(losses[:i + 1])]
    assert names == expected
    assert saving.read_file(tmp_path / names[-1])[0]["kind"] == "weights"
    loaded = mlp()
    loaded.load_weights(tmp_path / names[-1])
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_every_n_batches_and_threshold(tmp_path):
    x, y = blobs()
    mlp().fit(x, y, epochs=2, batch_size=32, verbose=0,
              callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "sub" / "e{epoch}-b{batch}.ember"),
                                                   save_freq=2)])
    # 3 batches an epoch, a save every 2 batches: epoch 1 batch 2, epoch 2 batches 1 and 3.
    assert sorted(os.listdir(tmp_path / "sub")) == ["e1-b2.ember", "e2-b1.ember", "e2-b3.ember"]
    out = tmp_path / "best.ember"
    mlp().fit(x, y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(
        out, monitor="loss", save_best_only=True, initial_value_threshold=1e-9)])
    assert not out.exists()  # no epoch beat the threshold
    with pytest.raises(KeyError, match="val_acc"):
        mlp().fit(x, y, epochs=1, verbose=0,
                  callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "{val_acc}.ember"))])
    with pytest.raises(ValueError, match="Received: save_freq='batch'"):
        callbacks.ModelCheckpoint(out, save_freq="batch")


# ---------------------------------------------------------------- TensorBoard
def _events(folder):
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea_mod.EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    return acc


def test_tensorboard_writes_epoch_and_batch_scalars_and_histograms(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = blobs()
    model = mlp()
    cb = callbacks.TensorBoard(log_dir=tmp_path, histogram_freq=2, update_freq=2)
    batch_logs = []
    rec = callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: batch_logs.append(dict(logs)))
    h = model.fit(x, y, epochs=3, batch_size=32, shuffle=False, verbose=0,
                  validation_data=(x[:30], y[:30]), callbacks=[rec, cb])
    train = _events(tmp_path / "train")
    tags = train.Tags()
    assert {"epoch_loss", "epoch_accuracy", "epoch_learning_rate", "batch_loss", "batch_accuracy"} <= \
        set(tags["scalars"])
    epoch_loss = train.Scalars("epoch_loss")
    assert [e.step for e in epoch_loss] == [0, 1, 2]
    np.testing.assert_allclose([e.value for e in epoch_loss], h.history["loss"], rtol=1e-6)
    np.testing.assert_allclose([e.value for e in train.Scalars("epoch_learning_rate")], [0.001] * 3, rtol=1e-6)
    batch_loss = train.Scalars("batch_loss")
    # 9 batches in all, numbered from 1; update_freq=2 writes every second one.
    assert [e.step for e in batch_loss] == [2, 4, 6, 8]
    np.testing.assert_allclose([e.value for e in batch_loss],
                               [batch_logs[i - 1]["loss"] for i in (2, 4, 6, 8)], rtol=1e-6)
    val = _events(tmp_path / "validation")
    assert set(val.Tags()["scalars"]) == {"epoch_loss", "epoch_accuracy"}
    np.testing.assert_allclose([e.value for e in val.Scalars("epoch_loss")], h.history["val_loss"], rtol=1e-6)
    hist_tags = [t for t in tags["histograms"]]
    assert len(hist_tags) == len(model.weights) and all(t.endswith("/histogram") for t in hist_tags)
    kernel = model.weights[0]
    events = train.Histograms(f"{kernel.path}/histogram")
    assert [e.step for e in events] == [0, 2]  # histogram_freq=2
    final = events[-1].histogram_value
    w = model.get_weights()[0]
    assert final.num == w.size
    assert final.min == pytest.approx(float(w.min()), rel=1e-6)
    assert final.max == pytest.approx(float(w.max()), rel=1e-6)
    assert final.sum == pytest.approx(float(w.astype(np.float64).sum()), rel=1e-5, abs=1e-6)


def test_tensorboard_epoch_only_writes_no_batch_scalars(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = blobs()
    mlp().fit(x, y, epochs=2, batch_size=32, verbose=0,
              callbacks=[callbacks.TensorBoard(log_dir=str(tmp_path), write_graph=True)])
    train = _events(tmp_path / "train")
    assert not [t for t in train.Tags()["scalars"] if t.startswith("batch_")]
    assert not train.Tags()["histograms"]
    assert not (tmp_path / "validation").exists()
    with pytest.raises(ValueError, match="Received: update_freq=0"):
        callbacks.TensorBoard(log_dir=str(tmp_path), update_freq=0)
    with pytest.raises(ValueError, match="Received: write_images=True"):
        callbacks.TensorBoard(log_dir=str(tmp_path), write_images=True)


def test_tensorboard_without_tensorboardx_names_the_extra(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_tbx(name, *args, **kwargs):
        if name == "tensorboardX" or name.startswith("tensorboardX."):
            raise ImportError("No module named 'tensorboardX'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_tbx)
    with pytest.raises(ImportError, match=r'pip install "ember\[tensorboard\]"'):
        callbacks.TensorBoard()


# ---------------------------------------------------------------- pad_sequences
RAGGED = [[1, 2, 3], [4], [], [5, 6, 7, 8, 9, 10], [11, 12]]


@pytest.mark.parametrize("maxlen", [None, 1, 3, 4, 8])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_pad_sequences_matches_keras(maxlen, padding, truncating):
    keras = pytest.importorskip("keras")
    for value, dtype in ((0.0, "int32"), (-1, "int64"), (0.5, "float32")):
        kw = dict(maxlen=maxlen, padding=padding, truncating=truncating, value=value, dtype=dtype)
        mine = ember.utils.pad_sequences(RAGGED, **kw)
        theirs = keras.utils.pad_sequences(RAGGED, **kw)
        assert mine.dtype == theirs.dtype and mine.shape == theirs.shape, kw
        np.testing.assert_array_equal(mine, theirs)


def test_pad_sequences_items_with_shape_strings_and_arrays_match_keras():
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    vectors = [rng.standard_normal((n, 2)) for n in (3, 0, 5, 1)]
    for kw in (dict(dtype="float32"), dict(maxlen=2, truncating="post", padding="post", dtype="float64", value=9.0)):
        np.testing.assert_array_equal(ember.preprocessing.sequence.pad_sequences(vectors, **kw),
                                      keras.preprocessing.sequence.pad_sequences(vectors, **kw))
    words = [["the", "cat"], ["a"], ["on", "the", "mat", "today"]]
    for kw in (dict(dtype=object, value="<pad>"), dict(dtype="<U5", value="", maxlen=3, padding="post")):
        mine = ember.utils.pad_sequences(words, **kw)
        theirs = keras.utils.pad_sequences(words, **kw)
        assert mine.dtype == theirs.dtype
        assert mine.tolist() == theirs.tolist()
    floats = [[1.7, -2.5], [3.9]]  # converted to int32 as NumPy casts, as Keras does
    np.testing.assert_array_equal(ember.utils.pad_sequences(floats), keras.utils.pad_sequences(floats))
    arrays = [np.arange(4), np.arange(2)]
    np.testing.assert_array_equal(ember.utils.pad_sequences(arrays, maxlen=3),
                                  keras.utils.pad_sequences(arrays, maxlen=3))


def test_pad_sequences_without_keras_and_edge_cases():
    out = ember.utils.pad_sequences(RAGGED, maxlen=3, padding="post", truncating="pre", value=-1)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[1, 2, 3], [4, -1, -1], [-1, -1, -1], [8, 9, 10], [11, 12, -1]])
    assert ember.utils.pad_sequences([]).shape == (0, 0)
    assert ember.utils.pad_sequences([[], []]).shape == (2, 0)
    assert ember.utils.pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    assert ember.utils.pad_sequences is ember.preprocessing.sequence.pad_sequences


def test_pad_sequences_errors_say_what_they_received():
    with pytest.raises(ValueError, match="Received: padding='middle'"):
        ember.utils.pad_sequences(RAGGED, padding="middle")
    with pytest.raises(ValueError, match="Received: truncating='end'"):
        ember.utils.pad_sequences(RAGGED, truncating="end")
    with pytest.raises(ValueError, match="Received: maxlen=-2"):
        ember.utils.pad_sequences(RAGGED, maxlen=-2)
    with pytest.raises(ValueError, match="Received: maxlen=2.5"):
        ember.utils.pad_sequences(RAGGED, maxlen=2.5)
    with pytest.raises(ValueError, match="non-iterable 5 at position 1"):
        ember.utils.pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="Received: 7"):
        ember.utils.pad_sequences(7)
    with pytest.raises(ValueError, match="Received: value='x'"):
        ember.utils.pad_sequences([["a"]], value="x")
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        ember.utils.pad_sequences([[[1, 2]], [[1, 2, 3]]])
    with pytest.raises(TypeError, match="Received: dtype='nonsense'"):
        ember.utils.pad_sequences(RAGGED, dtype="nonsense")


# ---------------------------------------------------------------- timeseries_dataset_from_array
def _windows_reference(data, targets, length, stride, rate, start, end):
    """The windows, one by one in float64, straight from the definition."""
    data = np.asarray(data, np.float64)
    end = len(data) if end is None else end
    start = start or 0
    xs, ys = [], []
    s = start
    while s + (length - 1) * rate < end and (targets is None or s < len(targets)):
        xs.append(np.stack([data[s + k * rate] for k in range(length)]))
        if targets is not None:
            ys.append(np.float64(targets[s]))
        s += stride
    return xs, ys


@pytest.mark.parametrize("length,stride,rate,start,end,batch", [
    (3, 1, 1, None, None, 4), (4, 2, 3, None, None, 5), (2, 3, 2, 5, 40, 3), (5, 1, 1, 10, None, None),
    (1, 7, 1, None, 30, 128), (10, 4, 4, 2, None, 2)])
def test_timeseries_windows_match_a_float64_reference(length, stride, rate, start, end, batch):
    rng = np.random.default_rng(1)
    data = rng.standard_normal((50, 3)).astype(np.float32)
    targets = rng.standard_normal(50)
    ds = ember.utils.timeseries_dataset_from_array(data, targets, length, sequence_stride=stride,
                                                   sampling_rate=rate, batch_size=batch,
                                                   start_index=start, end_index=end)
    ref_x, ref_y = _windows_reference(data, targets, length, stride, rate, start, end)
    batches = list(ds)
    assert len(batches) == len(ds)
    if batch is None:
        xs = [x for x, _ in batches]
        ys = [y for _, y in batches]
    else:
        assert all(len(x) == batch for x, _ in batches[:-1])
        assert all(x.shape[1:] == (length, 3) and x.dtype == np.float32 for x, _ in batches)
        xs = [w for x, _ in batches for w in x]
        ys = [v for _, y in batches for v in y]
    assert len(xs) == len(ref_x) and len(xs) > 0
    np.testing.assert_array_equal(np.asarray(xs, np.float64), np.asarray(ref_x))
    np.testing.assert_array_equal(np.asarray(ys, np.float64), np.asarray(ref_y))
    assert [b[0].tolist() for b in ds] == [b[0].tolist() for b in batches]  # iterable again


def test_timeseries_keras_docstring_examples_and_shuffle():
    # Keras's documented example: steps 0..99, windows of 10 with targets 10 steps later.
    data = np.arange(100)
    ds = ember.utils.timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10, batch_size=32)
    x, y = next(iter(ds))
    assert x.shape == (32, 10)
    np.testing.assert_array_equal(x[0], np.arange(10))
    assert y[0] == 10
    assert sum(len(b[0]) for b in ds) == 81
    # Without targets: windows alone.
    ds = ember.preprocessing.timeseries_dataset_from_array(data, None, sequence_length=5, sequence_stride=5,
                                                           batch_size=None)
    assert [w.tolist() for w in ds][:2] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]] and len(ds) == 20
    # Shuffled: the start positions are permuted as Keras's RandomState(seed) permutes them.
    ds = ember.utils.timeseries_dataset_from_array(data, data, sequence_length=3, batch_size=7, shuffle=True,
                                                   seed=42)
    first = np.concatenate([y for _, y in ds])
    expected = np.arange(98)
    np.random.RandomState(42).shuffle(expected)
    np.testing.assert_array_equal(first, expected)
    second = np.concatenate([y for _, y in ds])
    assert sorted(second) == list(range(98)) and not np.array_equal(first, second)
    for x, y in ds:
        np.testing.assert_array_equal(x[:, 0], y)


def test_timeseries_errors_say_what_they_received():
    data = np.zeros((20, 2))
    f = ember.utils.timeseries_dataset_from_array
    for kwargs, match in [(dict(sequence_length=0), "Received: sequence_length=0"),
                          (dict(sequence_length=2, sampling_rate=0), "Received: sampling_rate=0"),
                          (dict(sequence_length=2, sampling_rate=20), "Received: sampling_rate=20"),
                          (dict(sequence_length=2, sequence_stride=-1), "Received: sequence_stride=-1"),
                          (dict(sequence_length=2, batch_size=0), "Received: batch_size=0"),
                          (dict(sequence_length=2, start_index=-1), "Received: start_index=-1"),
                          (dict(sequence_length=2, start_index=20), "Received: start_index=20"),
                          (dict(sequence_length=2, start_index=5, end_index=5), "Received: end_index=5"),
                          (dict(sequence_length=2, end_index=21), "Received: end_index=21")]:
        with pytest.raises(ValueError, match=match):
            f(data, None, **kwargs)
    with pytest.raises(ValueError, match="Received"):
        f(3.0, None, 2)
    assert len(f(data, None, sequence_length=30)) == 0  # longer than the data: no windows


# ---------------------------------------------------------------- normalize
def test_normalize_matches_keras_and_numpy():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5))
    x[1] = 0.0
    keras = pytest.importorskip("keras")
    for order in (1, 2, np.inf):
        np.testing.assert_allclose(ember.utils.normalize(x, order=order), keras.utils.normalize(x, order=order),
                                   rtol=1e-12)
    x64 = x.astype(np.float64)
    out = ember.utils.normalize(x64, axis=0)
    np.testing.assert_allclose(out, x64 / np.linalg.norm(x64, axis=0, keepdims=True), rtol=1e-12)
    t = ember.utils.normalize(ember.Tensor(x.astype(np.float32)))
    np.testing.assert_allclose(np.asarray(t.value), ember.utils.normalize(x), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="Received: axis=3"):
        ember.utils.normalize(x, axis=3)
    with pytest.raises(TypeError, match="Received: axis=None"):
        ember.utils.normalize(x, axis=None)
    with pytest.raises(ValueError, match="Received: order=3"):
        ember.utils.normalize(ember.Tensor(x.astype(np.float32)), order=3)


# ---------------------------------------------------------------- plot_model
def _branchy_model():
    inp = ember.Input(shape=(6,), name="features")
    a = layers.Dense(4, activation="relu", name="left")(inp)
    b = layers.Dense(4, name="right")(inp)
    out = layers.Dense(2, activation="softmax", name="head")(layers.Concatenate(name="join")([a, b]))
    return models.Model(inp, out, name="branchy")


def test_model_to_dot_has_a_box_per_layer_and_the_graph_edges():
    pytest.importorskip("pydot")
    model = _branchy_model()
    dot = ember.utils.model_to_dot(model, show_shapes=True, show_layer_activations=True, rankdir="LR")
    labels = {n.get_name(): n.get_label().strip('"') for n in dot.get_nodes() if n.get_name() not in ("node",)}
    by_layer = {lab.split(" ")[0]: name for name, lab in labels.items()}
    assert set(by_layer) == {"features", "left", "right", "join", "head"}
    edges = {(e.get_source(), e.get_destination()) for e in dot.get_edges()}
    names = {v: k for k, v in by_layer.items()}
    assert {(names[s], names[d]) for s, d in edges} == {
        ("features", "left"), ("features", "right"), ("left", "join"), ("right", "join"), ("join", "head")}
    head = labels[by_layer["head"]]
    assert "(Dense)" in head and "Output shape: (None, 2)" in head and "Input shape: (None, 8)" in head
    assert "Activation: softmax" in head
    assert "Input shape: [(None, 4), (None, 4)]" in labels[by_layer["join"]]
    assert dot.get("rankdir") == "LR"


def test_plot_model_writes_png_and_svg(tmp_path):
    pytest.importorskip("pydot")
    import shutil
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    model = models.Sequential([layers.Dense(3, input_shape=(4,), name="hidden"), layers.Dense(1, name="out")])
    png = tmp_path / "m.png"
    ember.utils.plot_model(model, to_file=png, show_shapes=True, dpi=50)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = tmp_path / "deep" / "m.svg"
    ember.utils.plot_model(_branchy_model(), to_file=str(svg), show_layer_names=True)
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    assert all(name in text for name in ("features", "left", "right", "join", "head"))


def test_plot_model_names_the_missing_packages(monkeypatch, tmp_path):
    import builtins
    import shutil
    real_import = builtins.__import__
    model = _branchy_model()

    def no_pydot(name, *args, **kwargs):
        if name == "pydot":
            raise ImportError("No module named 'pydot'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_pydot)
    with pytest.raises(ImportError, match="pip install pydot.*apt-get install graphviz"):
        ember.utils.plot_model(model, to_file=tmp_path / "x.png")
    monkeypatch.setattr(builtins, "__import__", real_import)
    pytest.importorskip("pydot")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match="Graphviz.*apt-get install graphviz"):
        ember.utils.plot_model(model, to_file=tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_plot_model_argument_errors(tmp_path):
    model = _branchy_model()
    with pytest.raises(ValueError, match="Received: rankdir='sideways'"):
        ember.utils.plot_model(model, to_file=tmp_path / "x.png", rankdir="sideways")
    with pytest.raises(ValueError, match="Received: dpi=0"):
        ember.utils.model_to_dot(model, dpi=0)
    with pytest.raises(ValueError, match="Received: expand_nested=True"):
        ember.utils.model_to_dot(model, expand_nested=True)
    with pytest.raises(ValueError, match="build it first"):
        ember.utils.model_to_dot(models.Sequential([layers.Dense(2)]))
    with pytest.raises(TypeError, match="Received: to_file=5"):
        ember.utils.plot_model(model, to_file=5)
