"""fit / evaluate / predict on streaming input: ember.utils.PyDataset (threads
and processes), generators and iterables of batches; determinism, clean
failure, Ctrl-C, bounded memory."""
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest

# Signals and fork need an interpreter that no other test has touched (the
# Keras comparisons elsewhere start JAX's threads, which make fork unsafe and
# can take SIGINT): test_streaming_isolated.py runs this file in its own.
if os.environ.get("EMBER_STREAMING_CHILD") != "1":
    pytest.skip("runs in its own interpreter (tests/test_streaming_isolated.py)", allow_module_level=True)

import ember  # noqa: E402
from ember import layers
from ember.utils import PyDataset, Sequence

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ArrayDataset(PyDataset):
    """Batches i*bs:(i+1)*bs of arrays, optionally slow, optionally failing."""

    def __init__(self, x, y=None, batch_size=16, sw=None, delay=0.0, fail_at=None, jitter=False, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.sw, self.bs = x, y, sw, batch_size
        self.delay, self.fail_at, self.jitter = delay, fail_at, jitter
        self.begins = self.ends = 0

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        if self.fail_at is not None and i == self.fail_at:
            raise KeyError(f"record {i} is missing")
        if self.delay:
            time.sleep(self.delay * ((i * 7919) % 5 / 4 if self.jitter else 1.0))
        s = slice(i * self.bs, (i + 1) * self.bs)
        if self.y is None:
            return self.x[s]
        if self.sw is not None:
            return self.x[s], self.y[s], self.sw[s]
        return self.x[s], self.y[s]

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


def _data(n=100, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


def _model(d=6, dropout=0.0):
    ember.set_random_seed(7)
    stack = [ember.Input((d,)), layers.Dense(12, activation="relu")]
    if dropout:
        stack.append(layers.Dropout(dropout))
    m = ember.Sequential(stack + [layers.Dense(2, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _same_weights(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a.get_weights(), b.get_weights()))


def _children():
    import multiprocessing
    return [p for p in multiprocessing.active_children() if p.name == "ember-pydataset"]


def _our_shm():
    try:
        return [f for f in os.listdir("/dev/shm") if f.startswith(f"ember_{os.getpid()}_")]
    except FileNotFoundError:
        return []


# ---------------------------------------------------------------- the class
def test_pydataset_contract():
    assert Sequence is PyDataset
    ds = ArrayDataset(*_data(40), batch_size=16, workers=3, use_multiprocessing=True, max_queue_size=4)
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (3, True, 4)
    assert ds.num_batches == len(ds) == 3
    batches = list(ds)
    assert len(batches) == 3 and batches[2][0].shape == (8, 6)
    ds.workers = 2
    assert ds.workers == 2

    class NoSuper(PyDataset):
        def __init__(self):
            self.n = 2

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return np.zeros((2, 6), np.float32), np.zeros(2, np.int64)
    with pytest.warns(UserWarning, match="super"):
        assert NoSuper().workers == 1
    with pytest.raises(NotImplementedError):
        PyDataset()[0]


# ---------------------------------------------------------------- same results as arrays
@pytest.mark.parametrize("kwargs", [dict(workers=0), dict(workers=1), dict(workers=2),
                                    dict(workers=2, use_multiprocessing=True)])
def test_pydataset_trains_exactly_as_arrays(kwargs):
    x, y = _data(100)
    ref = _model()
    h_ref = ref.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    m = _model()
    ds = ArrayDataset(x, y, 16, **kwargs)
    h = m.fit(ds, epochs=2, shuffle=False, verbose=0)
    assert _same_weights(ref, m)
    assert h.history == h_ref.history
    assert (ds.begins, ds.ends) == (2, 2)
    assert m.evaluate(ds, verbose=0) == ref.evaluate(x, y, batch_size=16, verbose=0)
    np.testing.assert_array_equal(m.predict(ds, verbose=0), ref.predict(x, verbose=0))
    assert not _children() and not _our_shm()


def test_worker_counts_give_the_same_weights_with_shuffle_and_dropout():
    x, y = _data(96)
    results = []
    for kwargs in (dict(workers=0), dict(workers=2), dict(workers=3, use_multiprocessing=True)):
        m = _model(dropout=0.3)
        m.fit(ArrayDataset(x, y, 16, delay=0.002, jitter=True, **kwargs), epochs=2, shuffle=True, verbose=0)
        results.append(m.get_weights())
    for other in results[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(results[0], other))


def test_shuffle_permutes_batch_order_and_visits_every_batch():
    seen = []

    class Recording(ArrayDataset):
        def __getitem__(self, i):
            seen.append(i)
            return super().__getitem__(i)
    x, y = _data(160)
    m = _model()
    m.fit(Recording(x, y, 16), epochs=2, shuffle=True, verbose=0)
    first, second = seen[:10], seen[10:]
    assert sorted(first) == sorted(second) == list(range(10))
    assert first != list(range(10)) and first != second
    seen.clear()
    m.fit(Recording(x, y, 16), epochs=1, shuffle=False, verbose=0)
    assert seen == list(range(10))


def test_predict_returns_every_row_in_order_with_out_of_order_workers():
    x, _ = _data(203)
    m = _model()
    expected = m.predict(x, batch_size=10, verbose=0)
    for kwargs in (dict(workers=4), dict(workers=3, use_multiprocessing=True)):
        ds = ArrayDataset(x, None, 10, delay=0.004, jitter=True, max_queue_size=6, **kwargs)
        got = m.predict(ds, verbose=0)
        assert got.shape == (203, 2)
        np.testing.assert_array_equal(got, expected)


def test_sample_weights_and_class_weight_from_batches_match_arrays():
    x, y = _data(64)
    sw = np.linspace(0.5, 2.0, 64).astype(np.float32)
    ref, m = _model(), _model()
    ref.fit(x, y, sample_weight=sw, batch_size=16, shuffle=False, verbose=0)
    m.fit(ArrayDataset(x, y, 16, sw=sw, workers=2), shuffle=False, verbose=0)
    assert _same_weights(ref, m)
    ref, m = _model(), _model()
    ref.fit(x, y, class_weight={0: 1.0, 1: 3.0}, batch_size=16, shuffle=False, verbose=0)
    m.fit(ArrayDataset(x, y, 16), class_weight={0: 1.0, 1: 3.0}, shuffle=False, verbose=0)
    assert _same_weights(ref, m)


def test_multi_input_dict_batches():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(48, 4)).astype(np.float32), rng.normal(size=(48, 3)).astype(np.float32)
    y = rng.normal(size=(48, 1)).astype(np.float32)

    def build():
        ember.set_random_seed(5)
        ia, ib = ember.Input((4,), name="a"), ember.Input((3,), name="b")
        out = layers.Dense(1)(layers.Concatenate()([ia, ib]))
        model = ember.Model([ia, ib], out)
        model.compile("sgd", "mse")
        return model

    class Dicts(PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            s = slice(16 * i, 16 * i + 16)
            return {"a": a[s], "b": b[s]}, y[s]
    ref, m = build(), build()
    ref.fit([a, b], y, batch_size=16, shuffle=False, verbose=0)
    m.fit(Dicts(workers=2, use_multiprocessing=True), shuffle=False, verbose=0)
    assert _same_weights(ref, m)


# ---------------------------------------------------------------- generators and iterables
def test_generator_with_steps_per_epoch_continues_across_epochs():
    x, y = _data(96)

    def gen():
        while True:
            for i in range(0, 96, 16):
                yield x[i:i + 16], y[i:i + 16]
    ref, m = _model(), _model()
    ref.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    h = m.fit(gen(), steps_per_epoch=6, epochs=3, verbose=0, validation_data=ArrayDataset(x, y, 32))
    assert _same_weights(ref, m)
    assert h.history["val_loss"][-1] == pytest.approx(m.evaluate(x, y, verbose=0)[0], rel=1e-6)


def test_generator_without_steps_runs_one_epoch_to_its_end():
    x, y = _data(50)
    m = _model()
    h = m.fit(((x[i:i + 16], y[i:i + 16]) for i in range(0, 50, 16)), verbose=0)
    assert len(h.history["loss"]) == 1
    with pytest.raises(ValueError, match="no batch in epoch 2.*Received: 0 batches"):
        m.fit(((x[i:i + 16], y[i:i + 16]) for i in range(0, 50, 16)), epochs=2, verbose=0)


def test_generator_ending_before_steps_per_epoch_is_an_error():
    x, y = _data(64)
    gen = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    with pytest.raises(ValueError, match=r"ran out of data at batch 4 of epoch 1: expected 6 .*Received: 4"):
        _model().fit(gen, steps_per_epoch=6, verbose=0)
    gen = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16))
    with pytest.raises(ValueError, match=r"batch 1 of epoch 2"):
        _model().fit(gen, steps_per_epoch=3, epochs=2, verbose=0)


def test_predict_and_evaluate_on_generators_and_iterables():
    x, y = _data(70)
    m = _model()
    expected = m.predict(x, verbose=0)
    got = m.predict((x[i:i + 16] for i in range(0, 70, 16)), verbose=0)
    np.testing.assert_array_equal(got, expected)
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 70, 16)]
    assert m.evaluate(iter(batches), verbose=0) == m.evaluate(x, y, batch_size=16, verbose=0)
    assert m.evaluate(iter(batches), steps=2, verbose=0) == m.evaluate(x[:32], y[:32], batch_size=16, verbose=0)


def test_fit_accepts_timeseries_dataset_from_array():
    rng = np.random.default_rng(2)
    series = rng.normal(size=(120, 3)).astype(np.float32)
    target = rng.integers(0, 2, 120)
    ds = ember.utils.timeseries_dataset_from_array(series, target, sequence_length=5, batch_size=16)
    windows = np.stack([series[i:i + 5] for i in range(116)])

    def build():
        ember.set_random_seed(9)
        model = ember.Sequential([ember.Input((5, 3)), layers.Flatten(), layers.Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        return model
    ref, m = build(), build()
    ref.fit(windows, target[:116], batch_size=16, epochs=2, shuffle=False, verbose=0)
    h = m.fit(ds, epochs=2, verbose=0, validation_data=ds)
    assert _same_weights(ref, m)
    assert len(h.history["val_loss"]) == 2
    assert m.predict(ds, verbose=0).shape == (116, 2)


# ---------------------------------------------------------------- bad input
class _Bad(PyDataset):
    def __init__(self, make, n=3, **kw):
        super().__init__(**kw)
        self.make, self.n = make, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.make(i)


def _xy(n=4, d=6, dtype=np.float32):
    return np.zeros((n, d), dtype), np.zeros(n, np.int64)


@pytest.mark.parametrize("make, err, pattern", [
    (lambda i: _xy() + (np.ones(4), 5), ValueError, r"Batch 0 .*Received: a tuple of 4"),
    (lambda i: "not a batch", TypeError, r"Batch 0 .*Received: str"),
    (lambda i: _xy(d=6 if i < 2 else 5), ValueError, r"Batch 2 .*differs from batch 0.*Received:"),
    (lambda i: _xy(dtype=np.float32 if i == 0 else np.float64), ValueError, r"Batch 1 .*differs.*Received:"),
    (lambda i: (np.zeros((4, 6), np.float32),), ValueError, r"Batch 0 .*need labels.*Received: a batch without y"),
    (lambda i: (np.zeros((4, 7), np.float32), np.zeros(4)), ValueError, r"Batch 0 .*shape"),
    (lambda i: (np.zeros((4, 6), np.float32), np.zeros(3)), ValueError, r"Batch 0 .*same number of samples"),
])
def test_bad_batches_name_the_batch(make, err, pattern):
    with pytest.raises(err, match=pattern):
        _model().fit(_Bad(make), shuffle=False, verbose=0)


def test_bad_arguments():
    x, y = _data(32)
    m = _model()
    ok = ArrayDataset(x, y, 16)
    with pytest.raises(ValueError, match=r"empty.*Received: len\(\)=0"):
        m.fit(_Bad(lambda i: _xy(), n=0), verbose=0)
    with pytest.raises(ValueError, match=r"steps_per_epoch.*Received: steps_per_epoch=-1"):
        m.fit(ok, steps_per_epoch=-1, verbose=0)
    with pytest.raises(ValueError, match=r"at most the PyDataset's length 2.*Received: steps_per_epoch=3"):
        m.fit(ok, steps_per_epoch=3, verbose=0)
    with pytest.raises(ValueError, match=r"steps.*Received: steps=0"):
        m.predict(ok, steps=0, verbose=0)
    with pytest.raises(ValueError, match=r"`y` must not be given.*Received: y"):
        m.fit(ok, y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split.*Received: validation_split=0.2"):
        m.fit(ok, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match=r"workers.*Received: workers=-1"):
        m.fit(ArrayDataset(x, y, 16, workers=-1), verbose=0)
    with pytest.raises(ValueError, match=r"max_queue_size.*Received: max_queue_size=0"):
        m.fit(ArrayDataset(x, y, 16, max_queue_size=0), verbose=0)
    with pytest.raises(TypeError, match=r"len\(\).*Received: 2.5"):
        m.fit(_Bad(lambda i: _xy(), n=2.5), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data.*Received: int"):
        m.fit(ok, validation_data=3, verbose=0)


# ---------------------------------------------------------------- failures, Ctrl-C
@pytest.mark.parametrize("kwargs, where", [(dict(workers=0), "__getitem__(5)."),
                                           (dict(workers=2), "worker thread"),
                                           (dict(workers=2, use_multiprocessing=True), "worker process")])
def test_exception_in_getitem_is_reraised_with_the_batch_index(kwargs, where):
    x, y = _data(160)
    ds = ArrayDataset(x, y, 16, fail_at=5, **kwargs)
    with pytest.raises(KeyError, match="record 5 is missing") as info:
        _model().fit(ds, epochs=2, verbose=0)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "ArrayDataset.__getitem__(5)" in notes and where in notes
    del info
    gc.collect()
    assert not _children() and not _our_shm()


def test_a_worker_process_that_dies_is_an_error_not_a_hang():
    class Dies(ArrayDataset):
        def __getitem__(self, i):
            if i == 2:
                os._exit(3)
            return super().__getitem__(i)
    x, y = _data(96)
    with pytest.raises(RuntimeError, match="died with exit code 3"):
        _model().fit(Dies(x, y, 16, workers=2, use_multiprocessing=True), verbose=0)
    assert not _children() and not _our_shm()


@pytest.mark.parametrize("kwargs", [dict(workers=0), dict(workers=2), dict(workers=2, use_multiprocessing=True)])
def test_ctrl_c_stops_fit_within_a_second(kwargs):
    x, y = _data(64)
    ds = ArrayDataset(x, y, 16, delay=0.3, **kwargs)
    timer = threading.Timer(0.8, os.kill, (os.getpid(), signal.SIGINT))
    start = time.perf_counter()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            _model().fit(ds, epochs=100, verbose=0)
        stopped = time.perf_counter() - start
    finally:
        timer.cancel()
    assert stopped < 0.8 + 1.0, stopped
    gc.collect()
    assert not _children() and not _our_shm()


def test_stop_training_mid_epoch_with_workers_ends_cleanly():
    class StopAt(ember.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True
    x, y = _data(160)
    for kwargs in (dict(workers=2), dict(workers=2, use_multiprocessing=True)):
        ds = ArrayDataset(x, y, 16, **kwargs)
        h = _model().fit(ds, epochs=5, verbose=0, callbacks=[StopAt()])
        assert len(h.history["loss"]) == 1 and ds.ends == 1
    assert not _children() and not _our_shm()


# ---------------------------------------------------------------- memory
_MEMORY_SCRIPT = r"""
import sys, threading, time
import numpy as np
import ember
from ember import layers

path, rows, cols, mp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"

def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
peak = {"VmRSS": 0, "RssAnon": 0}
done = threading.Event()
def sample():
    while not done.is_set():
        for k in peak:
            peak[k] = max(peak[k], status(k))
        time.sleep(0.005)

class Rows(ember.utils.PyDataset):
    def __init__(self, path, bs, **kw):
        super().__init__(**kw)
        self.path, self.bs = path, bs
        self.data = np.memmap(path, np.float32, "r", shape=(rows, cols))
    def __len__(self):
        return rows // self.bs
    def __getitem__(self, i):
        x = np.array(self.data[i * self.bs:(i + 1) * self.bs])
        return x, x[:, :1] * 0.5

ember.set_random_seed(0)
model = ember.Sequential([ember.Input((cols,)), layers.Dense(4, activation="relu"), layers.Dense(1)])
model.compile("sgd", "mse")
model.fit(Rows(path, 256), steps_per_epoch=2, verbose=0)  # warm up: allocations of a step
base = {k: status(k) for k in peak}
t = threading.Thread(target=sample); t.start()
model.fit(Rows(path, 256, workers=2, use_multiprocessing=mp), verbose=0)
done.set(); t.join()
growth = {k: peak[k] - base[k] for k in peak}
# Control: the same measure does see the file when it is read into memory.
whole = np.array(np.memmap(path, np.float32, "r", shape=(rows, cols)))
control = status("RssAnon") - base["RssAnon"]
print(growth["RssAnon"], growth["VmRSS"], control)
"""


@pytest.mark.parametrize("mp", [False, True])
def test_training_from_a_memmap_keeps_resident_memory_bounded(tmp_path, mp):
    rows, cols = 49152, 1024  # 192 MiB file; batches of 256 rows are 1 MiB
    path = tmp_path / "big.f32"
    mm = np.memmap(path, np.float32, "w+", shape=(rows, cols))
    for lo in range(0, rows, 8192):
        mm[lo:lo + 8192] = np.random.default_rng(lo).random((8192, cols), dtype=np.float32)
    mm.flush()
    del mm
    file_bytes = rows * cols * 4
    cap = 48 << 20
    out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, str(path), str(rows), str(cols), "1" if mp else "0"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(ember.__file__))})
    assert out.returncode == 0, out.stderr
    anon, rss, control = map(int, out.stdout.split()[-3:])
    assert control > 0.9 * file_bytes  # the measure is not blind
    assert anon < cap, (anon, file_bytes)
    if mp:
        # The memmap's pages are touched in the worker processes only: the
        # trainer's whole resident set stays bounded too.
        assert rss < cap, (rss, file_bytes)


# ---------------------------------------------------------------- Keras
def test_same_weights_as_keras_from_a_pydataset():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 5)).astype(np.float32)
    y = (x @ rng.normal(size=(5, 1))).astype(np.float32)

    def batches(base):
        class DS(base):
            def __init__(self, **kw):
                super().__init__(**kw)

            def __len__(self):
                return 4

            def __getitem__(self, i):
                return x[16 * i:16 * i + 16], y[16 * i:16 * i + 16]
        return DS

    k = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(1)])
    e = ember.Sequential([ember.Input((5,)), layers.Dense(3, activation="tanh"), layers.Dense(1)])
    e.set_weights(k.get_weights())
    for m in (k, e):
        m.compile(keras.optimizers.SGD(0.05) if m is k else ember.optimizers.SGD(0.05), "mse")
    # Keras reads in the calling thread with workers=1 (with workers=2, Keras
    # 3.15's own losses differ from its array path); ember uses 2 threads.
    hk = k.fit(batches(keras.utils.PyDataset)(workers=1), epochs=3, shuffle=False, verbose=0)
    he = e.fit(batches(PyDataset)(workers=2), epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(he.history["loss"], hk.history["loss"], rtol=1e-5)
    for a, b in zip(e.get_weights(), k.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # A Keras PyDataset object is read by ember as well.
    e2 = ember.Sequential([ember.Input((5,)), layers.Dense(3, activation="tanh"), layers.Dense(1)])
    e2.set_weights(e.get_weights())
    e2.compile(ember.optimizers.SGD(0.05), "mse")
    np.testing.assert_array_equal(e2.predict(batches(keras.utils.PyDataset)(), verbose=0), e.predict(x, verbose=0))


class _PidRows(PyDataset):
    """Batches of arrays with no epoch hooks; each __getitem__ records the
    process that made it in a file (one line per batch)."""

    def __init__(self, x, y, log, batch_size=16, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.log, self.bs = x, y, str(log), batch_size

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")
        s = slice(i * self.bs, (i + 1) * self.bs)
        return self.x[s], self.y[s]


class _PidRowsWithHook(_PidRows):
    def on_epoch_end(self):
        pass


@pytest.mark.parametrize("cls,persistent", [(_PidRows, True), (_PidRowsWithHook, False)])
def test_worker_processes_live_across_epochs_unless_the_dataset_has_epoch_hooks(tmp_path, cls, persistent):
    x, y = _data(96)
    log = tmp_path / "pids.txt"
    ds = cls(x, y, log, workers=2, use_multiprocessing=True, max_queue_size=3)
    m = _model()
    m.fit(ds, epochs=3, verbose=0, validation_data=cls(x, y, tmp_path / "val.txt", workers=2,
                                                         use_multiprocessing=True))
    pids = set(log.read_text().split())
    assert str(os.getpid()) not in pids
    if persistent:
        assert len(pids) <= 2  # the same two processes served all three epochs
    else:
        assert len(pids) >= 3  # forked anew for each epoch
    # the same weights as the same batches read in the calling thread
    ref = _model()
    ref.fit(cls(x, y, tmp_path / "ref.txt", workers=0), epochs=3, verbose=0,
            validation_data=cls(x, y, tmp_path / "val2.txt", workers=0))
    assert _same_weights(m, ref)
    # nothing left running or allocated after fit, evaluate and predict
    assert _children() == [] and _our_shm() == []
    m.evaluate(ds, verbose=0)
    assert m.predict(ds, verbose=0).shape == (96, 2)
    assert _children() == [] and _our_shm() == []
