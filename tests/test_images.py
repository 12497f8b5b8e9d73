"""Images: the affine_transform kernel (CPU and CUDA held to the naive
reference, and to keras.ops.image), the preprocessing/augmentation layers
(against Keras 3 where the transform is deterministic, else against NumPy
references of the same draws), and image_dataset_from_directory on folders
written here with Pillow (file order, splits and decoded values against
Keras's documented rules and a Pillow/NumPy reference)."""
import math
import os

import numpy as np
import pytest

import ember
from ember import _core, layers, ops_image

FILL_MODES = ["constant", "nearest", "wrap", "mirror", "reflect"]
gpu = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                         reason="no CUDA device, or ember built without CUDA")


def _images(shape=(2, 7, 9, 3), seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _transforms(n=2, angle=30.0):
    a = math.radians(angle)
    t = [[math.cos(a), -math.sin(a), 1.3, math.sin(a), math.cos(a), -0.7, 0, 0],
         [1.7, 0.2, -3.1, 0.1, 0.6, 2.2, 0, 0], [-1, 0, 8, 0, 1, 0, 0, 0], [0.4, 0, 0, 0, 2.5, -9, 0, 0]]
    return np.array(t[:n], np.float32)


def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "jax":
        pytest.skip("the Keras comparisons run with KERAS_BACKEND=jax")
    return keras


# ------------------------------------------------------------------ the kernel

@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_transform_matches_naive_reference(fill_mode, interpolation):
    x, t = _images((4, 6, 11, 2)), _transforms(4)
    for size in (None, (9, 5)):
        got = _core.affine_transform(x, t, size, interpolation, fill_mode, 0.25)
        want = _core.affine_transform_naive(x, t, size, interpolation, fill_mode, 0.25)
        np.testing.assert_array_equal(got, want)
    dy = _images((4, 6, 11, 2), seed=1)
    np.testing.assert_array_equal(_core.affine_transform_backward(dy, t, x.shape, interpolation, fill_mode),
                                  _core.affine_transform_backward_naive(dy, t, x.shape, interpolation, fill_mode))


def test_affine_transform_backward_is_the_adjoint():
    # <T x, dy> == <x, T^T dy> for the linear map x -> transform(x) (fill value 0).
    x, dy, t = _images((2, 5, 6, 3)), _images((2, 5, 6, 3), seed=2), _transforms(2)
    for fill in FILL_MODES:
        y = _core.affine_transform(x, t, None, "bilinear", fill, 0.0)
        dx = _core.affine_transform_backward(dy, t, x.shape, "bilinear", fill)
        assert np.isclose(np.sum(y * dy, dtype=np.float64), np.sum(x * dx, dtype=np.float64), rtol=1e-5)


def test_affine_transform_identity_translation_and_fill_value():
    x = _images((1, 4, 5, 1))
    eye = np.array([[1, 0, 0, 0, 1, 0, 0, 0]], np.float32)
    np.testing.assert_array_equal(_core.affine_transform(x, eye), x)
    shift = np.array([[1, 0, 2, 0, 1, 0, 0, 0]], np.float32)  # output (y, x) reads input (y, x + 2)
    y = _core.affine_transform(x, shift, None, "nearest", "constant", 9.0)
    np.testing.assert_array_equal(y[0, :, :3], x[0, :, 2:])
    assert np.all(y[0, :, 3:] == 9.0)
    nan = np.array([[np.nan] * 8], np.float32)  # no crash: the fill value
    assert np.all(_core.affine_transform(x, nan, None, "bilinear", "reflect", 3.0) == 3.0)


def test_affine_transform_bad_arguments():
    x = _images((2, 4, 4, 1))
    with pytest.raises(ValueError, match="transforms"):
        _core.affine_transform(x, np.zeros((3, 8), np.float32))
    with pytest.raises(ValueError, match="rank 4"):
        _core.affine_transform(x[0], np.zeros((1, 8), np.float32))
    with pytest.raises(ValueError, match="fill_mode"):
        _core.affine_transform(x, _transforms(2), None, "bilinear", "bogus")
    with pytest.raises(ValueError, match="interpolation"):
        ops_image.affine_transform(x, _transforms(2), interpolation="bicubic")
    with pytest.raises(ValueError, match="output_size"):
        _core.affine_transform(x, _transforms(2), (0, 3))


@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_transform_matches_keras(fill_mode, interpolation):
    keras = _keras()
    x, t = _images(), _transforms(2)
    want = np.asarray(keras.ops.image.affine_transform(x, t, interpolation=interpolation, fill_mode=fill_mode,
                                                       fill_value=0.5))
    got = ops_image.affine_transform(x, t, interpolation, fill_mode, 0.5).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("size", [(3, 4), (14, 5), (20, 31)])
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_resize_matches_keras(size, interpolation):
    keras = _keras()
    x = _images()
    for kw in ({}, {"crop_to_aspect_ratio": True}, {"pad_to_aspect_ratio": True, "fill_value": 0.3}):
        want = np.asarray(keras.ops.image.resize(x, size, interpolation=interpolation, **kw))
        got = ops_image.resize(x, size, interpolation, **kw).numpy()
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_gradient_flows_through_a_transform():
    x = ember.Variable(_images((2, 5, 6, 1)))
    t = _transforms(2)
    with ember.GradientTape() as tape:
        loss = ember.ops.sum(ops_image.affine_transform(x, t))
    g = tape.gradient(loss, x)
    want = _core.affine_transform_backward(np.ones((2, 5, 6, 1), np.float32), t, (2, 5, 6, 1))
    np.testing.assert_array_equal(np.asarray(g.numpy() if hasattr(g, "numpy") else g), want)


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("fill_mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_affine_transform_cuda_matches_reference(fill_mode, interpolation):
    x, t, dy = _images((3, 5, 7, 2)), _transforms(3), _images((3, 4, 6, 2), seed=3)
    got = _core.affine_transform(_core.to_device(x), t, (4, 6), interpolation, fill_mode, -1.0)
    want = _core.affine_transform_naive(x, t, (4, 6), interpolation, fill_mode, -1.0)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)
    dx = _core.affine_transform_backward(_core.to_device(dy), t, x.shape, interpolation, fill_mode)
    np.testing.assert_allclose(dx.numpy(), _core.affine_transform_backward_naive(dy, t, x.shape, interpolation,
                                                                                 fill_mode), rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
@gpu
def test_augmentation_layer_on_cuda_tensor_matches_cpu():
    x = (np.random.default_rng(0).random((2, 6, 8, 3)) * 255).astype(np.float32)
    cpu = layers.RandomRotation(0.2, seed=5)(x, training=True).numpy()
    dev = layers.RandomRotation(0.2, seed=5)(ember.Tensor(_core.to_device(x)), training=True)
    np.testing.assert_allclose(np.asarray(dev.numpy()), cpu, rtol=1e-5, atol=1e-4)


# ------------------------------------------------------------------ the layers

DETERMINISTIC = [
    ("RandomRotation", dict(factor=(0.1, 0.1))),
    ("RandomRotation", dict(factor=(-0.3, -0.3), fill_mode="constant", fill_value=7.0, interpolation="nearest")),
    ("RandomRotation", dict(factor=(0.25, 0.25), fill_mode="wrap")),
    ("RandomZoom", dict(height_factor=(0.2, 0.2), width_factor=(-0.3, -0.3), fill_mode="wrap")),
    ("RandomZoom", dict(height_factor=(-0.4, -0.4))),
    ("RandomTranslation", dict(height_factor=(0.1, 0.1), width_factor=(-0.25, -0.25), fill_mode="nearest")),
    ("RandomTranslation", dict(height_factor=(-0.3, -0.3), width_factor=(0.5, 0.5), fill_mode="constant")),
    ("Resizing", dict(height=5, width=13)),
    ("Resizing", dict(height=5, width=13, crop_to_aspect_ratio=True)),
    ("Resizing", dict(height=5, width=13, pad_to_aspect_ratio=True, interpolation="nearest")),
    ("CenterCrop", dict(height=5, width=7)),
    ("CenterCrop", dict(height=11, width=7)),
    ("Rescaling", dict(scale=1 / 255.0, offset=-0.5)),
]


@pytest.mark.parametrize("name,kwargs", DETERMINISTIC)
def test_layers_match_keras_when_deterministic(name, kwargs):
    keras = _keras()
    x = (np.random.default_rng(0).random((3, 8, 10, 3)) * 255).astype(np.float32)
    want = np.asarray(getattr(keras.layers, name)(**kwargs)(x, training=True))
    got = getattr(layers, name)(**kwargs)(x, training=True).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=3e-4)
    # and on one unbatched image
    np.testing.assert_allclose(getattr(layers, name)(**kwargs)(x[0], training=True).numpy(), want[0],
                               rtol=1e-6, atol=3e-4)


@pytest.mark.parametrize("name,kwargs", [(n, k) for n, k in DETERMINISTIC if n.startswith("Random")] +
                         [("RandomFlip", {}), ("RandomContrast", dict(factor=0.5))])
def test_random_layers_are_identity_in_inference(name, kwargs):
    x = (np.random.default_rng(1).random((2, 6, 7, 3)) * 255).astype(np.float32)
    np.testing.assert_array_equal(getattr(layers, name)(**kwargs)(x, training=False).numpy(), x)
    np.testing.assert_array_equal(getattr(layers, name)(**kwargs)(x).numpy(), x)


@pytest.mark.parametrize("name,kwargs", [("Resizing", dict(height=4, width=4)), ("CenterCrop", dict(height=3, width=3)),
                                         ("Rescaling", dict(scale=2.0))])
def test_always_active_layers_act_in_inference(name, kwargs):
    x = np.random.default_rng(1).random((2, 6, 7, 3)).astype(np.float32)
    layer = getattr(layers, name)(**kwargs)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), layer(x, training=True).numpy())
    assert layer(x).shape != x.shape or name == "Rescaling"


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_flips_each_image_along_its_axes(mode):
    x = np.random.default_rng(2).random((64, 5, 6, 2)).astype(np.float32)
    y = layers.RandomFlip(mode, seed=3)(x, training=True).numpy()
    allowed = {"horizontal": [(False, False), (False, True)], "vertical": [(False, False), (True, False)],
               "horizontal_and_vertical": [(False, False), (False, True), (True, False), (True, True)]}[mode]
    seen = set()
    for xi, yi in zip(x, y):
        found = [(v, h) for v, h in allowed
                 if np.array_equal(yi, xi[::-1 if v else 1, ::-1 if h else 1])]
        assert found, "an output image is not a flip of its input along the mode's axes"
        seen.add(found[0])
    assert seen == set(allowed)  # 64 images: every choice occurs


def test_random_contrast_against_numpy_reference():
    x = (np.random.default_rng(4).random((3, 5, 6, 3)) * 255).astype(np.float32)
    layer = layers.RandomContrast(0.5, seed=11)
    y = layer(x, training=True).numpy()
    f = np.random.default_rng(ember.random.SeedGenerator(11).next()).uniform(1.0, 1.5, 3)
    mean = x.mean(axis=(1, 2), keepdims=True)
    want = np.clip((x - mean) * f.reshape(3, 1, 1, 1).astype(np.float32) + mean, 0, 255)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-3)
    assert layer.get_config()["factor"] == (0.0, 0.5)  # Keras reads a number f as (0, f)


def test_random_layers_reproduce_with_a_seed_and_vary_between_calls():
    x = (np.random.default_rng(5).random((4, 8, 8, 3)) * 255).astype(np.float32)
    for make in (lambda: layers.RandomRotation(0.3, seed=7), lambda: layers.RandomZoom(0.3, seed=7),
                 lambda: layers.RandomTranslation(0.2, 0.2, seed=7), lambda: layers.RandomFlip(seed=7),
                 lambda: layers.RandomContrast(0.4, seed=7)):
        a, b = make(), make()
        ya1, ya2 = a(x, training=True).numpy(), a(x, training=True).numpy()
        np.testing.assert_array_equal(ya1, b(x, training=True).numpy())
        np.testing.assert_array_equal(ya2, b(x, training=True).numpy())
        assert not np.array_equal(ya1, ya2)
    ember.utils.set_random_seed(3)
    u = layers.RandomRotation(0.3)(x, training=True).numpy()
    ember.utils.set_random_seed(3)
    np.testing.assert_array_equal(layers.RandomRotation(0.3)(x, training=True).numpy(), u)


def test_layer_arguments_are_checked_as_keras():
    with pytest.raises(ValueError, match="factor"):
        layers.RandomRotation(1.5)
    with pytest.raises(ValueError, match="height_factor"):
        layers.RandomZoom(-1.0)
    with pytest.raises(ValueError, match="fill_mode"):
        layers.RandomTranslation(0.1, 0.1, fill_mode="mirror_all")
    with pytest.raises(ValueError, match="mode"):
        layers.RandomFlip("diagonal")
    with pytest.raises(ValueError, match="data_format"):
        layers.RandomFlip(data_format="channels_first")
    with pytest.raises(ValueError, match="height"):
        layers.Resizing(0, 3)
    with pytest.raises(ValueError, match="antialias"):
        layers.Resizing(3, 3, antialias=True)
    with pytest.raises(ValueError, match="rank"):
        layers.RandomFlip()(np.zeros((2, 3), np.float32), training=True)
    assert layers.RandomRotation(-0.2).factor == (-0.2, 0.2)


def test_augmentation_model_trains_saves_and_reloads(tmp_path):
    ember.utils.set_random_seed(0)
    x = (np.random.default_rng(6).random((32, 12, 12, 3)) * 255).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 127).astype(np.int64)
    model = ember.Sequential([
        layers.Input((12, 12, 3)), layers.Rescaling(1 / 255.0), layers.RandomFlip("horizontal", seed=1),
        layers.RandomRotation(0.1, seed=2), layers.RandomZoom(0.1, seed=3), layers.RandomTranslation(0.1, 0.1, seed=4),
        layers.RandomContrast(0.2, value_range=(0, 1), seed=5), layers.Resizing(10, 10), layers.CenterCrop(8, 8),
        layers.Conv2D(4, 3, activation="relu"), layers.GlobalAveragePooling2D(), layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    hist = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert np.all(np.isfinite(hist.history["loss"]))
    p = model.predict(x, verbose=0)
    path = str(tmp_path / "aug.keras")
    model.save(path)
    loaded = ember.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), p, rtol=1e-5, atol=1e-6)
    for a, b in zip(model.layers, loaded.layers):
        ca, cb = a.get_config(), b.get_config()
        ca.pop("name"), cb.pop("name")
        assert ca == cb


def test_configs_have_keras_keys():
    keras = _keras()
    for name, kwargs in DETERMINISTIC + [("RandomFlip", {}), ("RandomContrast", dict(factor=0.3))]:
        mine = set(getattr(layers, name)(**kwargs).get_config())
        theirs = set(getattr(keras.layers, name)(**kwargs).get_config())
        assert theirs - {"dtype"} <= mine, (name, theirs - mine)


# ------------------------------------------------------------------ image folders

def _pil():
    return pytest.importorskip("PIL.Image")


def _write_folder(root, sizes=None, classes=("cats", "dogs", "emus")):
    """Images of several formats and sizes in class subfolders (plus files
    Keras skips); returns {path: uint8 RGB array written}."""
    Image = _pil()
    rng = np.random.default_rng(0)
    written = {}
    fmts = [".png", ".bmp", ".gif", ".jpg", ".PNG", ".jpeg"]
    for ci, c in enumerate(classes):
        d = root / c
        d.mkdir(parents=True)
        (d / "notes.txt").write_text("not an image")
        for i in range(4 + ci):
            h, w = (sizes or [(9, 12), (16, 8), (10, 10)])[i % 3]
            a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            ext = fmts[(i + ci) % len(fmts)]
            p = d / f"img{i:02d}{ext}"
            if ext == ".gif":
                a = np.repeat(a[:, :, :1], 3, axis=2)  # a gray GIF keeps its exact values
            Image.fromarray(a).save(p, quality=95) if ext in (".jpg", ".jpeg") else Image.fromarray(a).save(p)
            written[str(p)] = a
    (root / ".hidden").mkdir()
    return written


def _reference_image(path, size, mode="RGB", interpolation="bilinear"):
    Image = _pil()
    with Image.open(path) as im:
        a = np.asarray(im.convert(mode), np.float32)
    if a.ndim == 2:
        a = a[:, :, None]
    return _core.affine_transform_naive(a[None], ops_image.resize_transform(a.shape[0], a.shape[1], *size),
                                        size, interpolation, "nearest", 0.0)[0]


def test_image_dataset_labels_order_and_values(tmp_path):
    written = _write_folder(tmp_path)
    ds = ember.utils.image_dataset_from_directory(tmp_path, batch_size=4, image_size=(8, 8), shuffle=False)
    assert ds.class_names == ["cats", "dogs", "emus"]
    assert isinstance(ds, ember.utils.PyDataset)
    files = sorted(written)  # class folders in order, names sorted: Keras's order
    assert ds.file_paths == [os.path.join(str(tmp_path), os.path.relpath(f, tmp_path)) for f in files]
    assert len(ds) == math.ceil(15 / 4)
    xs, ys = zip(*(ds[i] for i in range(len(ds))))
    x, y = np.concatenate(xs), np.concatenate(ys)
    assert x.shape == (15, 8, 8, 3) and x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(y, [0] * 4 + [1] * 5 + [2] * 6)
    for i, f in enumerate(files):
        np.testing.assert_allclose(x[i], _reference_image(f, (8, 8)), atol=1e-4)
        if f.lower().endswith((".png", ".bmp", ".gif")):  # lossless: the pixels written
            src = written[f].astype(np.float32)
            want = _core.affine_transform_naive(src[None], ops_image.resize_transform(*src.shape[:2], 8, 8),
                                                (8, 8), "bilinear", "nearest", 0.0)[0]
            np.testing.assert_allclose(x[i], want, atol=1e-4)


def test_image_dataset_label_modes_color_modes_and_sizes(tmp_path):
    _write_folder(tmp_path, classes=("a", "b"))
    kw = dict(image_size=(6, 5), shuffle=False, verbose=False)
    f = ember.utils.image_dataset_from_directory
    x, y = f(tmp_path, label_mode="categorical", batch_size=32, **kw)[0]
    np.testing.assert_array_equal(y, np.eye(2, dtype=np.float32)[[0] * 4 + [1] * 5])
    x, y = f(tmp_path, label_mode="binary", batch_size=32, **kw)[0]
    assert y.shape == (9, 1) and y.dtype == np.float32
    assert f(tmp_path, label_mode=None, batch_size=32, **kw)[0].shape == (9, 6, 5, 3)
    assert f(tmp_path, labels=None, batch_size=32, **kw)[0].shape == (9, 6, 5, 3)
    ds = f(tmp_path, color_mode="grayscale", batch_size=32, **kw)
    g = ds[0][0]
    assert g.shape == (9, 6, 5, 1)
    np.testing.assert_allclose(g[0], _reference_image(ds.file_paths[0], (6, 5), "L"), atol=1e-4)
    assert f(tmp_path, color_mode="rgba", batch_size=32, **kw)[0][0].shape == (9, 6, 5, 4)
    one = f(tmp_path, batch_size=None, **kw)
    assert len(one) == 9 and one[0][0].shape == (6, 5, 3) and one[0][1] == 0
    cropped = f(tmp_path, batch_size=32, crop_to_aspect_ratio=True, **kw)
    padded = f(tmp_path, batch_size=32, pad_to_aspect_ratio=True, interpolation="nearest", **kw)
    assert cropped[0][0].shape == padded[0][0].shape == (9, 6, 5, 3)
    labels = [3, 1, 4, 1, 5, 9, 2, 6, 5]
    listed = f(tmp_path, labels=labels, batch_size=32, **kw)
    np.testing.assert_array_equal(listed[0][1], labels)
    assert listed.class_names == ["1", "2", "3", "4", "5", "6", "9"]
    two = f(tmp_path, class_names=["b", "a"], batch_size=32, **kw)
    np.testing.assert_array_equal(two[0][1], [0] * 5 + [1] * 4)


def test_image_dataset_shuffle_and_split_follow_keras(tmp_path):
    _write_folder(tmp_path)
    f = ember.utils.image_dataset_from_directory
    plain = f(tmp_path, image_size=(4, 4), shuffle=False, verbose=False)
    paths = list(plain.file_paths)
    labels = np.concatenate([plain[i][1] for i in range(len(plain))])
    # Keras: np.random.RandomState(seed).shuffle of the paths, then of the labels
    np.random.RandomState(42).shuffle(paths)
    np.random.RandomState(42).shuffle(labels)
    train, val = f(tmp_path, image_size=(4, 4), seed=42, validation_split=0.2, subset="both", batch_size=5,
                   verbose=False)
    n_val = int(0.2 * 15)
    assert train.file_paths == paths[:-n_val] and val.file_paths == paths[-n_val:]
    np.testing.assert_array_equal(np.concatenate([val[i][1] for i in range(len(val))]), labels[-n_val:])
    only = f(tmp_path, image_size=(4, 4), seed=42, validation_split=0.2, subset="validation", verbose=False)
    assert only.file_paths == val.file_paths
    with pytest.raises(ValueError, match="seed"):
        f(tmp_path, validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="subset"):
        f(tmp_path, validation_split=0.2, seed=1, subset="test")


def test_image_dataset_trains_with_fit_and_workers(tmp_path):
    _write_folder(tmp_path, classes=("a", "b"))
    ds = ember.utils.image_dataset_from_directory(tmp_path, image_size=(8, 8), batch_size=4, seed=1, verbose=False)
    ds.workers = 2
    ember.utils.set_random_seed(0)
    model = ember.Sequential([layers.Input((8, 8, 3)), layers.Rescaling(1 / 255.0), layers.RandomFlip(seed=1),
                              layers.Flatten(), layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(ds, epochs=2, verbose=0)
    assert len(hist.history["loss"]) == 2
    assert model.predict(ds, verbose=0).shape == (9, 2)
    assert len(model.evaluate(ds, verbose=0)) == 2


def test_image_dataset_bad_files_and_arguments(tmp_path):
    _write_folder(tmp_path, classes=("a", "b"))
    (tmp_path / "a" / "broken.png").write_bytes(b"this is not a png")
    f = ember.utils.image_dataset_from_directory
    ds = f(tmp_path, image_size=(4, 4), batch_size=32, shuffle=False, verbose=False)
    with pytest.raises(ValueError, match="broken.png"):
        ds[0]
    empty = tmp_path / "empty"
    (empty / "c").mkdir(parents=True)
    with pytest.raises(ValueError, match="No images found"):
        f(empty, verbose=False)
    for kw, match in [(dict(label_mode="sparse"), "label_mode"), (dict(color_mode="cmyk"), "color_mode"),
                      (dict(image_size=(4,)), "image_size"), (dict(interpolation="bicubic"), "interpolation"),
                      (dict(labels="folders"), "labels"), (dict(class_names=["zzz"]), "class_names"),
                      (dict(label_mode="binary", class_names=["a"]), "binary"), (dict(batch_size=0), "batch_size"),
                      (dict(data_format="channels_first"), "channels_last"), (dict(labels=[1, 2]), "lengths"),
                      (dict(crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "Only one")]:
        with pytest.raises(ValueError, match=match):
            f(tmp_path, verbose=False, **kw)


def test_image_dataset_without_pillow_names_the_extra(tmp_path, monkeypatch):
    import builtins
    real = builtins.__import__

    def no_pil(name, *a, **k):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_pil)
    with pytest.raises(ImportError, match=r'pip install "ember\[images\]"'):
        ember.utils.image_dataset_from_directory(tmp_path)
