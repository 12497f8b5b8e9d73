"""Keras's files in and out: ember loads .keras / .h5 / .weights.h5 files that
Keras 3 wrote and Keras loads the ones ember writes, with equal predictions;
training resumes with the optimizer's state; damaged and crafted files raise
ValueError naming the file; ONNX exports run in onnxruntime with ember's
predictions. The round trips need Keras 3 (with JAX) and h5py; ONNX needs
onnx and onnxruntime: each part skips where its package is missing."""
import io
import json
import os
import sys
import warnings
import zipfile

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
h5py = pytest.importorskip("h5py", reason='h5py is not installed (pip install "ember[keras]")')

import ember  # noqa: E402
from ember import layers as el, models as em, saving_keras  # noqa: E402


def _keras():
    return pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")


def _ort():
    pytest.importorskip("onnx", reason='onnx is not installed (pip install "ember[onnx]")')
    return pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")


def _close(a, b, tol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(1.0, float(np.abs(b).max(initial=0.0)))
    assert np.abs(a - b).max(initial=0.0) <= tol * scale, np.abs(a - b).max()


# ---------------------------------------------------------------- Keras models, one per family
def _mnist(k, L):
    return k.Sequential([k.Input((28, 28, 1)), L.Conv2D(32, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
                         L.Conv2D(64, (3, 3), activation="relu"), L.MaxPooling2D((2, 2)),
                         L.Conv2D(64, (3, 3), activation="relu"), L.Flatten(), L.Dense(64, activation="relu"),
                         L.Dense(10, activation="softmax")]), (28, 28, 1)


def _residual(k, L):
    inp = k.Input((10, 10, 3))
    h = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
    b = L.Conv2D(8, 3, padding="same")(h)
    b = L.BatchNormalization()(b)
    b = L.Activation("relu")(b)
    h = L.add([h, b])
    h = L.AveragePooling2D(2, padding="same")(h)
    h = L.GlobalAveragePooling2D()(h)
    h = L.Dropout(0.2)(h)
    return k.Model(inp, L.Dense(4, activation="softmax")(h)), (10, 10, 3)


def _dense_family(k, L):
    return k.Sequential([k.Input((12,)), L.Dense(16, activation="tanh"), L.Dropout(0.1),
                         L.Dense(8, activation="sigmoid", use_bias=False), L.Dense(8, activation="elu"),
                         L.Dense(3)]), (12,)


def _activation_family(k, L):
    return k.Sequential([k.Input((6,)), L.Dense(10), L.ReLU(max_value=3.0), L.Dense(10), L.LeakyReLU(0.1),
                         L.Dense(10), L.PReLU(), L.Dense(10), L.ELU(0.5), L.Dense(4), L.Softmax()]), (6,)


def _normalization_family(k, L):
    inp = k.Input((5, 6))
    h = L.LayerNormalization()(inp)
    h = L.BatchNormalization(momentum=0.5)(h)
    h = L.LayerNormalization(center=False)(L.Dense(7)(h))
    return k.Model(inp, L.Flatten()(h)), (5, 6)


def _merging_family(k, L):
    a, b = k.Input((6,), name="a"), k.Input((6,), name="b")
    da, db = L.Dense(5)(a), L.Dense(5)(b)
    outs = [L.Add()([da, db]), L.Subtract()([da, db]), L.Multiply()([da, db]), L.Average()([da, db]),
            L.Maximum()([da, db]), L.Minimum()([da, db])]
    return k.Model([a, b], L.Dense(3)(L.Concatenate()(outs))), [(6,), (6,)]


def _reshaping_family(k, L):
    return k.Sequential([k.Input((6, 6, 2)), L.ZeroPadding2D(1), L.Conv2D(3, 3, strides=2, padding="same"),
                         L.UpSampling2D(2), L.Cropping2D(((1, 0), (0, 1))), L.Permute((2, 1, 3)),
                         L.Reshape((-1, 3)), L.Flatten(), L.RepeatVector(2), L.Flatten(),
                         L.Dense(2)]), (6, 6, 2)


def _conv_family(k, L):
    return k.Sequential([k.Input((9, 9, 2)), L.Conv2D(4, 3, dilation_rate=2, activation="relu"),
                         L.Conv2D(4, (2, 3), strides=(2, 1), padding="same"), L.MaxPooling2D(2, strides=1),
                         L.GlobalAveragePooling2D(), L.Dense(2)]), (9, 9, 2)


# Layers other branches add: the tests run once ember has them.
def _recurrent_family(k, L):
    return k.Sequential([k.Input((5, 3)), L.SimpleRNN(4, return_sequences=True),
                         L.LSTM(4, return_sequences=True), L.Bidirectional(L.GRU(3)), L.Dense(2)]), (5, 3)


def _embedding_family(k, L):
    return k.Sequential([k.Input((7,)), L.Embedding(20, 4), L.Conv1D(5, 3, padding="same", activation="relu"),
                         L.MaxPooling1D(2), L.AveragePooling1D(1), L.GlobalAveragePooling1D(), L.Dense(2)]), "ints"


def _separable_family(k, L):
    return k.Sequential([k.Input((8, 8, 3)), L.DepthwiseConv2D(3, depth_multiplier=2),
                         L.SeparableConv2D(4, 3, padding="same"), L.Conv2DTranspose(3, 3, strides=2),
                         L.Conv2DTranspose(2, (3, 2), strides=(2, 3), padding="same", activation="relu"),
                         L.GlobalMaxPooling2D(), L.Dense(2)]), (8, 8, 3)


FAMILIES = {"mnist_convnet": _mnist, "residual_bn": _residual, "dense": _dense_family,
            "activations": _activation_family, "normalization": _normalization_family,
            "merging": _merging_family, "reshaping": _reshaping_family, "conv": _conv_family,
            "recurrent": _recurrent_family, "embedding": _embedding_family, "separable": _separable_family}


def _classes(model):
    out = set()
    for layer in model.layers:
        out.add(type(layer).__name__)
        for attr in ("layer", "forward_layer"):
            if hasattr(layer, attr):
                out.add(type(getattr(layer, attr)).__name__)
    return out - {"InputLayer"}


def _data(shape, n=6, seed=0):
    rng = np.random.default_rng(seed)
    if shape == "ints":
        return rng.integers(0, 20, (n, 7)).astype("float32")
    if isinstance(shape, list):
        return [rng.standard_normal((n,) + s).astype("float32") for s in shape]
    return rng.standard_normal((n,) + shape).astype("float32")


def _trained_keras(family):
    keras = _keras()
    keras.utils.set_random_seed(1)
    model, shape = FAMILIES[family](keras, keras.layers)
    missing = sorted(c for c in _classes(model) if not hasattr(el, c))
    if missing:
        pytest.skip(f"ember has no {', '.join(missing)} yet")
    x = _data(shape)
    y = np.random.default_rng(2).standard_normal((6,) + tuple(model.output_shape[1:])).astype("float32")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=2, batch_size=3, verbose=0)  # moves BatchNormalization's statistics too
    return model, x, y


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_keras_file_loads_in_ember_and_back(tmp_path, family, ext):
    keras = _keras()
    kmodel, x, y = _trained_keras(family)
    path = tmp_path / f"keras{ext}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmodel.save(path)
    expected = kmodel.predict(x, verbose=0)
    model = em.load_model(path)
    _close(model.predict(x, verbose=0), expected)
    assert model.compiled and type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.iterations == int(kmodel.optimizer.iterations)

    back = tmp_path / f"ember{ext}"
    model.save(back)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kback = keras.saving.load_model(back)
    _close(kback.predict(x, verbose=0), expected)
    # The optimizer state came along: one more step on each side stays equal
    # (where no layer draws random numbers in training).
    if any("Dropout" in c or "Noise" in c for c in _classes(kmodel)):
        return
    kmodel.train_on_batch(x, y)
    model.train_on_batch(x, y)
    _close(model.predict(x, verbose=0), kmodel.predict(x, verbose=0), 1e-4)
    if ext == ".keras":
        # (Keras 3.15 cannot train a model it loaded from a legacy .h5 with
        # optimizer weights, even one it wrote itself: it builds the optimizer
        # on model._trainable_variables, which is empty.)
        assert int(kback.optimizer.iterations) == int(kmodel.optimizer.iterations) - 1
        kback.train_on_batch(x, y)
        _close(kback.predict(x, verbose=0), kmodel.predict(x, verbose=0), 1e-4)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_onnx_export_matches_ember(tmp_path, family):
    ort = _ort()
    kmodel, x, _ = _trained_keras(family)
    path = tmp_path / "k.keras"
    kmodel.save(path)
    model = em.load_model(path)
    try:
        model.export(tmp_path / "m.onnx", format="onnx")
    except ValueError as e:
        assert "no ONNX converter" in str(e) and "layer '" in str(e)
        pytest.skip(f"no converter yet: {e}")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    xs = x if isinstance(x, list) else [x]
    got = session.run(None, {i.name: v for i, v in zip(session.get_inputs(), xs)})[0]
    _close(got, model.predict(x, verbose=0))


# ---------------------------------------------------------------- optimizers and resumed training
@pytest.mark.parametrize("opt", ["adam", "sgd_momentum", "sgd", "rmsprop_centered", "adamw"])
def test_optimizer_state_matches_keras(tmp_path, opt):
    """Keras trains, saves; ember loads and takes a step; Keras takes the
    same step: equal weights prove the slots were mapped to the right places."""
    keras = _keras()
    keras.utils.set_random_seed(3)
    make = {"adam": lambda o: o.Adam(0.01), "sgd_momentum": lambda o: o.SGD(0.05, momentum=0.9, nesterov=True),
            "sgd": lambda o: o.SGD(0.05), "rmsprop_centered": lambda o: o.RMSprop(0.01, momentum=0.5, centered=True),
            "adamw": lambda o: o.AdamW(0.01, weight_decay=0.1)}[opt]
    kmodel = keras.Sequential([keras.Input((4,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)])
    kmodel.compile(optimizer=make(keras.optimizers), loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 4)).astype("float32"), rng.standard_normal((8, 2)).astype("float32")
    kmodel.fit(x, y, epochs=3, batch_size=4, verbose=0)
    kmodel.save(tmp_path / "k.keras")
    model = em.load_model(tmp_path / "k.keras")
    for _ in range(2):
        kmodel.train_on_batch(x, y)
        model.train_on_batch(x, y)
    for a, b in zip(model.get_weights(), kmodel.get_weights()):
        _close(a, b, 1e-5)


def _ember_model():
    inp = ember.Input((6, 6, 1))
    h = el.Conv2D(3, 3, activation="relu")(inp)
    h = el.BatchNormalization()(h)
    h = el.Flatten()(h)
    return ember.Model(inp, el.Dense(2, activation="softmax")(h))


@pytest.mark.parametrize("ext", [".keras", ".h5", ".weights.h5"])
@pytest.mark.parametrize("opt", ["adam", "rmsprop", "sgd"])
def test_resumed_training_equals_uninterrupted(tmp_path, ext, opt):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((16, 6, 6, 1)).astype("float32")
    y = np.eye(2, dtype="float32")[rng.integers(0, 2, 16)]
    optimizer = {"adam": "adam", "rmsprop": ember.optimizers.RMSprop(momentum=0.5, centered=True),
                 "sgd": ember.optimizers.SGD(0.1, momentum=0.9)}[opt]

    def fresh():
        ember.set_random_seed(7)
        m = _ember_model()
        m.compile(optimizer=optimizer if isinstance(optimizer, str) else type(optimizer)(**optimizer.get_config()),
                  loss="categorical_crossentropy", metrics=["accuracy"])
        return m
    whole = fresh()
    whole.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    first = fresh()
    first.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    path = tmp_path / f"m{ext}"
    if ext == ".weights.h5":
        first.save_weights(path)
        resumed = fresh()
        resumed.load_weights(path)
    else:
        first.save(path)
        resumed = em.load_model(path)
    resumed.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    for a, b in zip(resumed.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- weights files
def test_weights_h5_both_ways(tmp_path):
    keras = _keras()
    kmodel, x, _ = _trained_keras("residual_bn")
    kmodel.save_weights(tmp_path / "k.weights.h5")
    model = em.load_model(_saved(kmodel, tmp_path / "arch.keras"))
    for w in model.weights:
        w.assign(np.zeros(w.shape, np.float32))
    model.load_weights(tmp_path / "k.weights.h5")
    _close(model.predict(x, verbose=0), kmodel.predict(x, verbose=0))
    model.save_weights(tmp_path / "e.weights.h5")
    other = keras.models.clone_model(kmodel)
    other.load_weights(tmp_path / "e.weights.h5")
    _close(other.predict(x, verbose=0), kmodel.predict(x, verbose=0))
    # A .keras file serves as a weights file too.
    model.load_weights(tmp_path / "arch.keras")


def _saved(kmodel, path):
    kmodel.save(path)
    return path


def test_load_weights_skip_mismatch_and_by_name(tmp_path):
    ember.set_random_seed(1)
    a = em.Sequential([el.Input((4,)), el.Dense(3, name="d1"), el.Dense(2, name="d2")])
    b = em.Sequential([el.Input((4,)), el.Dense(3, name="d1"), el.Dense(5, name="d2")])
    a.save_weights(tmp_path / "a.weights.h5")
    with pytest.raises(ValueError, match="a.weights.h5.*shape"):
        b.load_weights(tmp_path / "a.weights.h5")
    with pytest.warns(UserWarning, match="skipping"):
        b.load_weights(tmp_path / "a.weights.h5", skip_mismatch=True)
    np.testing.assert_array_equal(b.layers[0].get_weights()[0], a.layers[0].get_weights()[0])
    # Legacy .h5: by name, whatever the order of the layers.
    a.save_weights(tmp_path / "a.h5")
    c = em.Sequential([el.Input((4,)), el.Dense(3, name="other"), el.Dense(3, name="d1")])
    with pytest.raises(ValueError, match="a.h5"):
        c.load_weights(tmp_path / "a.h5")
    before = c.layers[0].get_weights()[0].copy()
    with pytest.raises(ValueError, match="d1"):
        c.load_weights(tmp_path / "a.h5", by_name=True)  # d1 has the wrong input size here
    c2 = em.Sequential([el.Input((3,)), el.Dense(3, name="x"), el.Dense(2, name="d2")])
    c2.load_weights(tmp_path / "a.h5", by_name=True)
    np.testing.assert_array_equal(c2.layers[1].get_weights()[0], a.layers[1].get_weights()[0])
    np.testing.assert_array_equal(c.layers[0].get_weights()[0], before)


def test_legacy_keras2_style_config(tmp_path):
    """A Keras 2 (tf.keras) style .h5: batch_input_shape, list inbound nodes,
    weight names with ':0'."""
    rng = np.random.default_rng(0)
    k1, b1 = rng.standard_normal((4, 3)).astype("f4"), rng.standard_normal(3).astype("f4")
    k2, b2 = rng.standard_normal((3, 2)).astype("f4"), rng.standard_normal(2).astype("f4")
    config = {"class_name": "Functional", "config": {"name": "model", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32",
                                                "sparse": False, "ragged": False, "name": "input_1"},
         "name": "input_1", "inbound_nodes": []},
        {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 3,
                                           "activation": "relu", "use_bias": True,
                                           "kernel_initializer": {"class_name": "GlorotUniform",
                                                                  "config": {"seed": None}},
                                           "bias_initializer": {"class_name": "Zeros", "config": {}},
                                           "kernel_regularizer": None, "bias_regularizer": None,
                                           "activity_regularizer": None, "kernel_constraint": None,
                                           "bias_constraint": None},
         "name": "dense", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
        {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True, "dtype": "float32", "units": 2,
                                           "activation": "softmax", "use_bias": True},
         "name": "dense_1", "inbound_nodes": [[["dense", 0, 0, {}]]]}],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["dense_1", 0, 0]]}}
    path = tmp_path / "keras2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.12.0"
        g = f.create_group("model_weights")
        g.attrs["layer_names"] = [b"input_1", b"dense", b"dense_1"]
        g.create_group("input_1").attrs["weight_names"] = []
        for name, (k, b) in (("dense", (k1, b1)), ("dense_1", (k2, b2))):
            lg = g.create_group(name)
            lg.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            lg[f"{name}/kernel:0"] = k
            lg[f"{name}/bias:0"] = b
    model = em.load_model(path)
    x = rng.standard_normal((5, 4)).astype("f4")
    h = np.maximum(x @ k1 + b1, 0) @ k2 + b2
    e = np.exp(h - h.max(1, keepdims=True))
    _close(model.predict(x, verbose=0), e / e.sum(1, keepdims=True))


# ---------------------------------------------------------------- formats, atomicity, extras
def test_default_formats_stay_ember(tmp_path):
    model = _ember_model()
    model.compile("adam", "categorical_crossentropy")
    model.save(tmp_path / "m.ember")
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    assert ember.saving.sniff(tmp_path / "m.ember") == "ember"
    assert zipfile.is_zipfile(tmp_path / "m.keras")
    assert ember.saving.sniff(tmp_path / "m.h5") == "hdf5"
    assert ember.callbacks.BackupAndRestore.FILENAME.endswith(".ember")
    with pytest.raises(ValueError, match="weights.h5"):
        model.save_weights(tmp_path / "w.keras")


@pytest.mark.parametrize("ext", [".keras", ".h5", ".weights.h5"])
def test_interrupted_write_keeps_old_file(tmp_path, monkeypatch, ext):
    model = _ember_model()
    path = tmp_path / f"m{ext}"
    (model.save_weights if ext == ".weights.h5" else model.save)(path)
    before = path.read_bytes()

    def fail(f, data):
        f.write(data[:10])
        raise OSError("disk full")
    monkeypatch.setattr(ember.saving, "_write_all", fail)
    for w in model.weights:
        w.assign(np.ones(w.shape, np.float32))
    with pytest.raises(OSError, match="disk full"):
        (model.save_weights if ext == ".weights.h5" else model.save)(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_missing_extras_name_them(tmp_path, monkeypatch):
    model = _ember_model()
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"ember\[keras\]"):
        model.save(tmp_path / "m.keras")
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"ember\[onnx\]"):
        model.export(tmp_path / "m.onnx")


def test_onnx_export_errors(tmp_path):
    _ort()
    inp = ember.Input((4,))
    model = ember.Model(inp, el.Lambda(lambda t: t * 2)(el.Dense(3)(inp)))
    with pytest.raises(ValueError, match=r"lambda.*\(Lambda\).*no ONNX converter"):
        model.export(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="format='onnx'"):
        model.export(tmp_path / "m", format="tf_saved_model")
    with pytest.raises(ValueError, match="opset_version"):
        model.export(tmp_path / "m.onnx", opset_version=11)
    assert not (tmp_path / "m.onnx").exists()


# ---------------------------------------------------------------- damaged and crafted files
def _archive(tmp_path, config, weights=None, extra=(), name="crafted.keras"):
    model = em.Sequential([el.Input((3,)), el.Dense(2)])
    if weights is None:
        buffer = io.BytesIO()
        with h5py.File(buffer, "w") as f:
            saving_keras.write_variable_tree(f, model)
        weights = buffer.getvalue()
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", "{}")
        z.writestr("config.json", json.dumps(config) if not isinstance(config, (bytes, str)) else config)
        z.writestr("model.weights.h5", weights)
        for member, data in extra:
            z.writestr(member, data)
    return path


def _config(layers_extra=None, dense=None):
    dense_cfg = {"name": "dense", "units": 2, "activation": "linear"}
    dense_cfg.update(dense or {})
    layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 3], "name": "input_layer"}},
              {"module": "keras.layers", "class_name": "Dense", "config": dense_cfg}]
    layers += layers_extra or []
    return {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": layers}}


def test_crafted_archive_round_trip_baseline(tmp_path):
    model = em.load_model(_archive(tmp_path, _config()))
    assert model.predict(np.ones((1, 3), np.float32), verbose=0).shape == (1, 2)


def test_truncated_and_damaged_files(tmp_path):
    model = _ember_model()
    for ext in (".keras", ".h5"):
        path = tmp_path / f"m{ext}"
        model.save(path)
        data = path.read_bytes()
        cut = tmp_path / f"cut{ext}"
        cut.write_bytes(data[:len(data) // 2])
        with pytest.raises(ValueError, match=f"cut{ext}"):
            em.load_model(cut)
    with pytest.raises(ValueError, match="config.json"):
        em.load_model(_archive(tmp_path, b"{not json"))
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(ValueError, match="garbage.keras"):
        em.load_model(garbage)
    with pytest.raises(ValueError, match="HDF5"):
        em.load_model(_archive(tmp_path, _config(), weights=b"not an hdf5 file", name="w.keras"))


def test_zip_paths_outside_are_refused(tmp_path):
    (tmp_path / "inner").mkdir()
    path = _archive(tmp_path / "inner", _config(), extra=[("../../evil.txt", "x"), ("assets/ok.txt", "y")])
    with pytest.raises(ValueError, match="unsafe path"):
        em.load_model(path)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_lambda_code_needs_safe_mode_off(tmp_path):
    keras = _keras()
    kmodel = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2),
                               keras.layers.Lambda(lambda t: t * 2.0 + 1.0)])
    kmodel.save(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="lam.keras.*Lambda.*safe_mode=False"):
        em.load_model(tmp_path / "lam.keras")
    model = em.load_model(tmp_path / "lam.keras", safe_mode=False)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    _close(model.predict(x, verbose=0), kmodel.predict(x, verbose=0))


def test_named_function_lambda_from_custom_objects(tmp_path):
    def twice(t):
        return t * 2.0
    config = _config(layers_extra=[{"module": "keras.layers", "class_name": "Lambda", "config": {
        "name": "lam", "function": {"module": "builtins", "class_name": "function", "config": "twice",
                                    "registered_name": "function"}, "output_shape": None, "arguments": {}}}])
    path = _archive(tmp_path, config)
    with pytest.raises(ValueError, match="safe_mode"):
        em.load_model(path)
    with pytest.raises(ValueError, match="custom_objects"):
        em.load_model(path, safe_mode=False)
    model = em.load_model(path, safe_mode=False, custom_objects={"twice": twice})
    x = np.ones((1, 3), np.float32)
    _close(model.predict(x, verbose=0), 2 * model.layers[0](x).numpy())


def test_custom_and_unknown_classes_and_arguments(tmp_path):
    custom = _config(layers_extra=[{"module": "my_package.layers", "class_name": "Evil",
                                    "config": {"name": "evil"}, "registered_name": "my_package>Evil"}])
    with pytest.raises(ValueError, match="custom object.*custom_objects"):
        em.load_model(_archive(tmp_path, custom))
    unknown = _config(layers_extra=[{"module": "keras.layers", "class_name": "NoSuchLayer", "config": {"name": "n"}}])
    with pytest.raises(ValueError, match="NoSuchLayer"):
        em.load_model(_archive(tmp_path, unknown, name="u.keras"))
    constraint = _config(dense={"kernel_constraint": {"class_name": "MaxNorm", "config": {"max_value": 2}}})
    # Weight constraints load as ember.constraints objects.
    loaded = em.load_model(_archive(tmp_path, constraint, name="c.keras"))
    dense = [layer for layer in loaded.layers if layer.name == "dense"][0]
    assert type(dense.kernel_constraint).__name__ == "MaxNorm" and dense.kernel_constraint.max_value == 2
    dtype = _config(dense={"dtype": "float16"})
    with pytest.raises(ValueError, match="dtype"):
        em.load_model(_archive(tmp_path, dtype, name="d.keras"))
    not_model = {"class_name": "Dense", "config": {}}
    with pytest.raises(ValueError, match="Sequential and functional"):
        em.load_model(_archive(tmp_path, not_model, name="n.keras"))


def _weights_file(build):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        build(f)
    return buffer.getvalue()


@pytest.mark.parametrize("case", ["huge", "wrong_shape", "string_dtype", "missing", "extra", "external_link",
                                  "soft_link", "bad_names"])
def test_crafted_weights_are_refused(tmp_path, case):
    target = tmp_path / "secret.h5"
    with h5py.File(target, "w") as f:
        f["vars/0"] = np.ones((3, 2), np.float32)

    def build(f):
        g = f.create_group("layers/dense/vars")
        if case == "huge":  # a header claiming 2^60 elements, no data behind it
            g.create_dataset("0", shape=(2 ** 30, 2 ** 30), dtype="f4", chunks=(1, 1))
        elif case == "wrong_shape":
            g["0"] = np.ones((2, 3), np.float32)
        elif case == "string_dtype":
            g["0"] = np.array([b"abc"] * 6).reshape(3, 2)
        elif case == "external_link":
            g["0"] = h5py.ExternalLink(str(target), "/vars/0")
        elif case == "soft_link":
            f["elsewhere"] = np.ones((3, 2), np.float32)
            g["0"] = h5py.SoftLink("/elsewhere")
        elif case == "bad_names":
            g["zero"] = np.ones((3, 2), np.float32)
        else:
            g["0"] = np.ones((3, 2), np.float32)
        if case not in ("missing", "bad_names"):
            g["1"] = np.ones(2, np.float32)
        if case == "extra":
            g["2"] = np.ones(2, np.float32)
    path = _archive(tmp_path, _config(), weights=_weights_file(build))
    with pytest.raises(ValueError, match=r"crafted\.keras.*dense") as info:
        em.load_model(path)
    assert "MemoryError" not in repr(info.value)


def test_failed_load_assigns_nothing(tmp_path):
    """Every array is checked before any is assigned: a file whose second
    layer is wrong leaves the first layer's weights as they were."""
    model = em.Sequential([el.Input((3,)), el.Dense(2, name="a"), el.Dense(2, name="b")])
    model.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "a") as f:
        f["layers/dense/vars/0"][...] = 7.0
        del f["layers/dense_1/vars/0"]
        f["layers/dense_1/vars/0"] = np.ones((5, 5), np.float32)
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"w\.weights\.h5.*dense_1"):
        model.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


_RECURRENT_ONNX = {
    "lstm_sequences": lambda: [el.LSTM(4, return_sequences=True), el.Flatten()],
    "lstm_backwards": lambda: [el.LSTM(4, go_backwards=True)],
    "gru_reset_after": lambda: [el.GRU(3, return_sequences=True), el.GRU(3)],
    "gru_reset_before": lambda: [el.GRU(3, reset_after=False)],
    "simple_rnn_relu": lambda: [el.SimpleRNN(5, activation="relu")],
    "bidirectional_concat": lambda: [el.Bidirectional(el.LSTM(3, return_sequences=True)), el.Flatten()],
    "bidirectional_sum": lambda: [el.Bidirectional(el.GRU(3), merge_mode="sum")],
    "bidirectional_ave": lambda: [el.Bidirectional(el.SimpleRNN(3), merge_mode="ave")],
    "bidirectional_mul": lambda: [el.Bidirectional(el.LSTM(3, return_sequences=True), merge_mode="mul"),
                                  el.Flatten()],
}


@pytest.mark.parametrize("case", sorted(_RECURRENT_ONNX))
def test_onnx_export_of_recurrent_layers(tmp_path, case):
    """ONNX's LSTM/GRU/RNN nodes (gates reordered, reset_after as linear_before_reset, both
    directions in one node for Bidirectional) give ember's predictions."""
    ort = _ort()
    rng = np.random.default_rng(5)
    model = em.Sequential([ember.Input((6, 4))] + _RECURRENT_ONNX[case]() + [el.Dense(2)])
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in model.get_weights()])
    x = rng.normal(size=(3, 6, 4)).astype(np.float32)
    model.export(tmp_path / "m.onnx", format="onnx")
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    _close(got, model.predict(x, verbose=0))


def test_onnx_export_refuses_masks_for_recurrent_layers(tmp_path):
    _ort()
    model = em.Sequential([ember.Input((5,), dtype="int32"), el.Embedding(10, 3, mask_zero=True), el.LSTM(2)])
    with pytest.raises(ValueError, match="mask"):
        model.export(tmp_path / "m.onnx", format="onnx")
