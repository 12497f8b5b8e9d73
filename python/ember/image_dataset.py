"""``ember.utils.image_dataset_from_directory``: Keras 3's arguments and
file order, returning a PyDataset that decodes each batch's files when the
batch is asked for (Pillow, the optional extra ``ember[images]``) and
resizes them with ember's resize kernel (the one keras.ops.image.resize's
bilinear/nearest sampling matches), so the images never all sit in memory."""
import os

import numpy as np

from .data_adapters import PyDataset

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_CHANNELS = {"grayscale": ("L", 1), "rgb": ("RGB", 3), "rgba": ("RGBA", 4)}


def _pillow():
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("image_dataset_from_directory decodes images with Pillow, which is not installed. "
                          'Install it with: pip install "ember[images]"') from None
    return Image


def _valid_files(directory, follow_links):
    """(root, name) of every allowed file under `directory`, roots and names
    in sorted order (Keras's walk)."""
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links), key=lambda w: w[0]):
        for name in sorted(files):
            if name.lower().endswith(ALLOWLIST_FORMATS):
                yield root, name


def index_directory(directory, labels, class_names, shuffle, seed, follow_links, verbose):
    """(file paths, integer labels or None, class names) as Keras lists them."""
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of "
                                 f"the target directory. Expected: {subdirs} (or a subset of it), but "
                                 f"received: class_names={class_names}")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified."
                             if labels is None else
                             "When argument `labels` is specified, argument `class_names` cannot be specified "
                             "(the `class_names` will be the sorted list of labels).")
        subdirs = [""]
    paths, found = [], []
    for index, sub in enumerate(subdirs):
        for root, name in _valid_files(os.path.join(directory, sub), follow_links):
            paths.append(os.path.join(root, name))
            found.append(index)
    if labels == "inferred":
        labels, class_names = np.asarray(found, np.int32), list(subdirs)
    elif labels is not None:
        if len(labels) != len(paths):
            raise ValueError("Expected the lengths of `labels` to match the number of files in the target "
                             f"directory. len(labels) is {len(labels)} while we found {len(paths)} files in "
                             f"directory {directory}.")
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iu":
            raise ValueError(f"`labels` must be a list of integers. Received: dtype {labels.dtype}")
        class_names = [str(c) for c in sorted(set(labels.tolist()))]
        labels = labels.astype(np.int32)
    else:
        class_names = None
    if verbose:
        print(f"Found {len(paths)} files." if labels is None else
              f"Found {len(paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, class_names


class ImageFolderDataset(PyDataset):
    """Batches of (images, labels) (or images alone) from a list of image
    files, decoded on demand: ``__getitem__(i)`` opens only batch i's
    files. ``class_names`` and ``file_paths`` as on Keras's dataset. With
    ``shuffle``, the file order is drawn again (seeded) after each epoch.
    A file that cannot be decoded raises ValueError naming it (as Keras's
    decoding op fails on it)."""

    def __init__(self, file_paths, labels, label_mode, class_names, color_mode, batch_size, image_size,
                 interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, shuffle, seed, **kwargs):
        super().__init__(**kwargs)
        self.file_paths = list(file_paths)
        self._labels = None if labels is None else np.asarray(labels, np.int32)
        self.label_mode, self.class_names = label_mode, class_names
        self.color_mode, self.batch_size = color_mode, batch_size
        self.image_size, self.interpolation = tuple(int(v) for v in image_size), interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = crop_to_aspect_ratio, pad_to_aspect_ratio
        self._shuffle, self._seed, self._epoch = shuffle, seed, 0

    def __len__(self):
        n = len(self.file_paths)
        return n if self.batch_size is None else -(-n // self.batch_size)

    def load_image(self, path):
        """One file as a float32 (height, width, channels) array."""
        from . import _core, ops_image
        mode, _ = _CHANNELS[self.color_mode]
        try:
            with _pillow().open(path) as im:
                im.seek(0)  # the first frame of an animation, as Keras
                a = np.asarray(im.convert(mode), dtype=np.float32)
        except Exception as e:  # noqa: BLE001 - Pillow raises many kinds
            raise ValueError(f"Could not decode the image file {path!r}: {type(e).__name__}: {e}") from None
        if a.ndim == 2:
            a = a[:, :, None]
        oh, ow = self.image_size
        h, w = a.shape[:2]
        if self.crop_to_aspect_ratio:
            top, left, ch, cw = ops_image.aspect_crop(h, w, oh, ow)
            a = a[top:top + ch, left:left + cw]
        elif self.pad_to_aspect_ratio:
            t, b, l, r = ops_image.aspect_pad(h, w, oh, ow)
            a = np.pad(a, ((t, b), (l, r), (0, 0)))
        h, w = a.shape[:2]
        if (h, w) == (oh, ow):
            return np.ascontiguousarray(a)
        return _core.affine_transform(np.ascontiguousarray(a)[None], ops_image.resize_transform(h, w, oh, ow),
                                      (oh, ow), self.interpolation, "nearest", 0.0)[0]

    def _labels_of(self, idx):
        y = self._labels[idx]
        if self.label_mode == "binary":
            return y.astype(np.float32).reshape(-1, 1) if np.ndim(y) else np.float32([y])
        if self.label_mode == "categorical":
            return np.eye(len(self.class_names), dtype=np.float32)[y]
        return y

    def __getitem__(self, index):
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < len(self):
            raise IndexError(f"Batch index out of range: {index!r} (the dataset has {len(self)} batches)")
        if self.batch_size is None:
            x, idx = self.load_image(self.file_paths[index]), index
        else:
            idx = np.arange(index * self.batch_size, min((index + 1) * self.batch_size, len(self.file_paths)))
            x = np.stack([self.load_image(self.file_paths[i]) for i in idx])
        return x if self._labels is None or self.label_mode is None else (x, self._labels_of(idx))

    def on_epoch_end(self):
        if self._shuffle:
            self._epoch += 1
            order = np.random.RandomState((self._seed + self._epoch) % 2**32).permutation(len(self.file_paths))
            self.file_paths = [self.file_paths[i] for i in order]
            if self._labels is not None:
                self._labels = self._labels[order]


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False, pad_to_aspect_ratio=False,
                                 data_format=None, verbose=True):
    """Images in class subfolders of ``directory`` (``labels='inferred'``),
    or anywhere under it (``labels=None`` or a list of integer labels in the
    files' sorted order), as ``keras.utils.image_dataset_from_directory``:
    files ending in .bmp, .gif, .jpeg, .jpg or .png, decoded with Pillow to
    ``color_mode`` ('grayscale', 'rgb', 'rgba') and resized to
    ``image_size`` (bilinear or nearest; ``crop_to_aspect_ratio`` or
    ``pad_to_aspect_ratio`` first), float32 values in [0, 255]. Labels by
    ``label_mode``: 'int' (int32), 'categorical' (one-hot float32), 'binary'
    (float32 (n, 1), two classes) or None. ``validation_split`` with
    ``subset`` 'training', 'validation' or 'both' (a list of the two) splits
    the shuffled files as Keras does (same seed, same files).

    Returns a PyDataset (``fit``, ``evaluate`` and ``predict`` take it) that
    reads each batch's files when it is needed; ``class_names`` and
    ``file_paths`` are attributes. Set ``dataset.workers`` to decode batches
    ahead in threads. ``batch_size=None`` gives one image per item."""
    _pillow()
    if data_format not in (None, "channels_last"):
        raise ValueError(f"ember reads images as channels_last only. Received: data_format={data_format!r}")
    if not isinstance(directory, (str, os.PathLike)) or not os.path.isdir(directory):
        raise ValueError(f"`directory` must be an existing directory. Received: directory={directory!r}")
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple, np.ndarray)):
        raise ValueError("`labels` argument should be a list/tuple of integer labels, of the same size as the "
                         'number of image files in the target directory. If you wish to infer the labels from '
                         'the subdirectory names in the target directory, pass `labels="inferred"`. If you wish '
                         f"to get a dataset that only contains images (no labels), pass `labels=None`. "
                         f"Received: labels={labels!r}")
    if isinstance(labels, np.ndarray):
        labels = labels.tolist()
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError('`label_mode` argument must be one of "int", "categorical", "binary", or None. '
                         f"Received: label_mode={label_mode!r}")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in _CHANNELS:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size <= 0):
        raise ValueError(f"`batch_size` must be a positive integer or None. Received: batch_size={batch_size!r}")
    if (not isinstance(image_size, (list, tuple)) or len(image_size) != 2 or
            any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0 for v in image_size)):
        raise ValueError(f"Invalid `image_size` value. Expected a tuple of 2 integers. Received: "
                         f"image_size={image_size!r}")
    interpolation = str(interpolation).lower()
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError("Argument `interpolation` must be 'bilinear' or 'nearest' (ember resizes with those "
                         f"two). Received: interpolation={interpolation!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be set to `True`.")
    if validation_split is not None and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split!r}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset!r}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` "
                         "argument, to make sure that there is no overlap between the training and validation "
                         "subset.")
    if seed is None:
        seed = int(np.random.randint(1e6))
    paths, labels, class_names = index_directory(directory, labels, class_names, shuffle, seed, follow_links,
                                                 verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError('When passing `label_mode="binary"`, there must be exactly 2 class_names. '
                         f"Received: class_names={class_names}")

    def split(part):
        if not validation_split:
            return paths, labels
        n_val = int(validation_split * len(paths))
        if verbose:
            print(f"Using {len(paths) - n_val if part == 'training' else n_val} files for {part}.")
        cut = slice(None, len(paths) - n_val) if part == "training" else slice(len(paths) - n_val, None)
        return paths[cut], None if labels is None else labels[cut]

    def make(part, reshuffle):
        p, y = split(part)
        if not p:
            raise ValueError(f"No {'' if part is None else part + ' '}images found in directory {directory}. "
                             f"Allowed formats: {ALLOWLIST_FORMATS}")
        return ImageFolderDataset(p, y, label_mode, class_names, color_mode, batch_size, image_size,
                                  interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, reshuffle, seed)

    if subset == "both":
        return [make("training", shuffle), make("validation", False)]
    return make(subset, shuffle)


# ---------------------------------------------------------------- single images (keras.utils.load_img & co.)
_PIL_RESAMPLE = {"nearest": 0, "bilinear": 2, "bicubic": 3, "lanczos": 1, "box": 4, "hamming": 5}


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False):
    """A Pillow image from a file, as Keras's ``keras.utils.load_img``:
    converted to ``color_mode`` and, with ``target_size=(height, width)``,
    resized (first center-cropped to that aspect ratio when ``keep_aspect_ratio``)."""
    Image = _pillow()
    if color_mode not in _CHANNELS:
        raise ValueError(f"Argument `color_mode` must be one of {list(_CHANNELS)}. Received: {color_mode!r}")
    if interpolation not in _PIL_RESAMPLE:
        raise ValueError(f"Argument `interpolation` must be one of {list(_PIL_RESAMPLE)}. "
                         f"Received: interpolation={interpolation!r}")
    with open(os.fspath(path), "rb") as f:
        img = Image.open(f)
        img.load()
    img = img.convert(_CHANNELS[color_mode][0])
    if target_size is not None:
        h, w = (int(v) for v in target_size)
        if (img.height, img.width) != (h, w):
            if keep_aspect_ratio:
                crop_h = min(img.height, img.width * h // w)
                crop_w = min(img.width, img.height * w // h)
                top, left = (img.height - crop_h) // 2, (img.width - crop_w) // 2
                img = img.crop((left, top, left + crop_w, top + crop_h))
            img = img.resize((w, h), _PIL_RESAMPLE[interpolation])
    return img


def img_to_array(img, data_format=None, dtype=None):
    """A Pillow image as a (height, width, channels) float32 array."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"ember is channels_last. Received: data_format={data_format!r}")
    x = np.asarray(img, dtype=dtype or np.float32)
    return x[:, :, None] if x.ndim == 2 else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A (height, width, channels) array as a Pillow image; ``scale`` maps
    its range onto 0-255 first, as Keras does."""
    Image = _pillow()
    if data_format not in (None, "channels_last"):
        raise ValueError(f"ember is channels_last. Received: data_format={data_format!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"array_to_img expects an array of shape (height, width, 1, 3 or 4). Received: {x.shape}")
    if scale:
        x = x - x.min()
        x = x / x.max() * 255.0 if x.max() > 0 else x
    x = x.astype(np.uint8)
    return Image.fromarray(x[:, :, 0] if x.shape[-1] == 1 else x, {1: "L", 3: "RGB", 4: "RGBA"}[x.shape[-1]])


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Writes an array as an image file (the format from the name, or ``file_format``)."""
    array_to_img(x, data_format=data_format, scale=scale).save(os.fspath(path), format=file_format, **kwargs)
