"""Image preprocessing and augmentation layers (Keras 3 names, arguments,
defaults and config keys): Rescaling, Resizing and CenterCrop always act;
RandomFlip, RandomRotation, RandomZoom, RandomTranslation and RandomContrast
act in training only (identity in inference). Every geometric one is the
C++ ``affine_transform`` op (ember.ops_image) with one transform per image,
built here from the layer's random draws; the draws come from the layer's
SeedGenerator, so a seeded layer (or a run under ``set_random_seed``)
reproduces. Images are channels_last, (H, W, C) or (N, H, W, C)."""
import math

import numpy as np

from .. import ops, ops_image, random
from ..engine import convert_to_tensor
from .base import Layer, _positive_int, _shape_str


def _data_format(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError("ember's image layers support data_format='channels_last' only. "
                         f"Received: data_format={data_format!r}")
    return "channels_last"


def _number(v):
    return not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))


def _seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise ValueError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
    return None if seed is None else int(seed)


def _float_tensor(inputs):
    x = convert_to_tensor(inputs)
    return x if x.dtype == "float32" else ops.cast(x, "float32")


def _range(factor, name, lo, hi, clip_lower=None):
    """(lower, upper) from a number f (-|f|, |f|) or a pair (sorted), each
    within [lo, hi], as Keras's image layers read their factors."""
    msg = (f"The `{name}` argument should be a number (or a list of two numbers) in the range "
           f"[{lo}, {hi}]. Received: {name}={factor!r}")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(_number(f) for f in factor):
            raise ValueError(msg)
        lower, upper = sorted(float(f) for f in factor)
        if lower < lo or upper > hi:
            raise ValueError(msg)
        return lower, upper
    if not _number(factor) or not lo <= factor <= hi:
        raise ValueError(msg)
    f = abs(float(factor))
    return (max(-f, clip_lower) if clip_lower is not None else -f), f


class _ImageLayer(Layer):
    """Shared by the image layers: rank 3 or 4 channels_last input."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = _data_format(data_format)

    def _check_rank(self, shape):
        if len(shape) not in (3, 4):
            raise ValueError(f"{type(self).__name__} '{self.name}' expects images of rank 3 (H, W, C) or 4 "
                             f"(N, H, W, C). Received: input shape {_shape_str(tuple(shape))}")

    def build(self, input_shape):
        self._check_rank(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs, training=False):
        x = _float_tensor(inputs)
        self._check_rank(x.shape)
        single = x.ndim == 3
        if single:
            x = ops.expand_dims(x, 0)
        y = self._call_batch(x, training)
        return ops.squeeze(y, 0) if single else y

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class _RandomAffine(_ImageLayer):
    """A random geometric layer: per-image transforms through affine_transform."""
    _FILL_MODES = ("reflect", "wrap", "constant", "nearest")

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        if fill_mode not in self._FILL_MODES:
            raise ValueError(f"Argument `fill_mode` must be one of {self._FILL_MODES}. "
                             f"Received: fill_mode={fill_mode!r}")
        if interpolation not in ops_image.INTERPOLATIONS:
            raise ValueError(f"Argument `interpolation` must be one of {ops_image.INTERPOLATIONS}. "
                             f"Received: interpolation={interpolation!r}")
        if not _number(fill_value):
            raise ValueError(f"Argument `fill_value` must be a number. Received: fill_value={fill_value!r}")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)
        self.seed = _seed(seed)
        self.seed_generator = random.SeedGenerator(self.seed)

    def _call_batch(self, x, training):
        if not training:
            return x
        n, h, w = (int(d) for d in x.shape[:3])
        t = self.transforms(random.rng_for(self.seed_generator), n, h, w)
        return ops_image._transform_raw(x, t, None, self.interpolation, self.fill_mode, self.fill_value)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "interpolation": self.interpolation,
                "seed": self.seed, "fill_value": self.fill_value}


def rotation_transforms(angles, h, w):
    """(n, 8) transforms rotating images by `angles` (radians) about their
    centre ((w - 1) / 2, (h - 1) / 2), Keras's rotation matrix."""
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    c, s = np.cos(angles), np.sin(angles)
    z = np.zeros_like(c)
    return np.stack([c, -s, cx - cx * c + cy * s, s, c, cy - cx * s - cy * c, z, z], 1).astype(np.float32)


def zoom_transforms(zx, zy, h, w):
    """(n, 8) transforms scaling the sampling grid by (zx, zy) about the centre."""
    z = np.zeros_like(zx)
    return np.stack([zx, z, (w - 1) / 2.0 * (1 - zx), z, zy, (h - 1) / 2.0 * (1 - zy), z, z],
                    1).astype(np.float32)


def translation_transforms(dx, dy):
    """(n, 8) transforms shifting images by (dx, dy) pixels."""
    o, z = np.ones_like(dx), np.zeros_like(dx)
    return np.stack([o, z, -dx, z, o, -dy, z, z], 1).astype(np.float32)


class RandomRotation(_RandomAffine):
    """Rotates each image in training by a random angle in
    ``factor`` * 2 pi (a number f: [-f, f]; a pair: [lower, upper]), filling
    the uncovered area by ``fill_mode``."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _range(factor, "factor", -1.0, 1.0, clip_lower=-1.0)

    def transforms(self, rng, n, h, w):
        degrees = rng.uniform(self.factor[0] * 360.0, self.factor[1] * 360.0, n)
        return rotation_transforms(np.radians(degrees), h, w)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_RandomAffine):
    """Zooms each image in training: ``height_factor`` (a number f:
    [-f, f]; a pair) is the fraction by which the sampled height grows
    (positive: zoom out, negative: zoom in), in (-1, 1]; ``width_factor``
    likewise, None: the height's zoom (aspect ratio kept)."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = self._zoom_range(height_factor, "height_factor")
        self._w = None if width_factor is None else self._zoom_range(width_factor, "width_factor")

    @staticmethod
    def _zoom_range(factor, name):
        lower, upper = _range(factor, name, -1.0, 1.0)
        if lower <= -1.0:
            raise ValueError(f"The `{name}` argument should be a number (or a list of two numbers) in the "
                             f"range (-1.0, 1.0]. Received: {name}={factor!r}")
        return lower, upper

    def transforms(self, rng, n, h, w):
        zy = rng.uniform(1 + self._h[0], 1 + self._h[1], n)
        zx = zy if self._w is None else rng.uniform(1 + self._w[0], 1 + self._w[1], n)
        return zoom_transforms(zx, zy, h, w)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomTranslation(_RandomAffine):
    """Shifts each image in training by a random fraction of its height
    (``height_factor``: a number f: [-f, f]; a pair) and width
    (``width_factor``), each in [-1, 1]."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._h = _range(height_factor, "height_factor", -1.0, 1.0)
        self._w = _range(width_factor, "width_factor", -1.0, 1.0)

    def transforms(self, rng, n, h, w):
        dy = rng.uniform(self._h[0], self._h[1], n) * h
        dx = rng.uniform(self._w[0], self._w[1], n) * w
        return translation_transforms(dx, dy)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class RandomFlip(_RandomAffine):
    """Flips each image in training, with probability 1/2 per axis, along
    ``mode``: 'horizontal', 'vertical' or 'horizontal_and_vertical'."""
    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__("reflect", "nearest", seed, 0.0, data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(f"RandomFlip layer {self.name} received an unknown mode argument {mode!r}. "
                             f"Expected one of {self._MODES}.")
        self.mode = mode

    def transforms(self, rng, n, h, w):
        fx = (rng.uniform(size=n) < 0.5) if self.mode != "vertical" else np.zeros(n, bool)
        fy = (rng.uniform(size=n) < 0.5) if self.mode != "horizontal" else np.zeros(n, bool)
        sx, sy = np.where(fx, -1.0, 1.0), np.where(fy, -1.0, 1.0)
        z = np.zeros(n)
        return np.stack([sx, z, np.where(fx, w - 1.0, 0.0), z, sy, np.where(fy, h - 1.0, 0.0), z, z],
                        1).astype(np.float32)

    def get_config(self):
        config = _ImageLayer.get_config(self)
        return {**config, "seed": self.seed, "mode": self.mode}


class RandomContrast(_ImageLayer):
    """Scales each image's contrast in training: per channel,
    (x - mean) * f + mean with f drawn from [1 - lower, 1 + upper] of
    ``factor`` (a number in [0, 1]: [0, f]; a pair), clipped to
    ``value_range``."""

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.factor = _range(factor, "factor", 0.0, 1.0, clip_lower=0.0)
        if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
                or not all(_number(v) for v in value_range) or value_range[0] > value_range[1]):
            raise ValueError("Argument `value_range` must be a pair (low, high) with low <= high. "
                             f"Received: value_range={value_range!r}")
        self.value_range = tuple(value_range)
        self.seed = _seed(seed)
        self.seed_generator = random.SeedGenerator(self.seed)

    def _call_batch(self, x, training):
        if not training:
            return x
        n = int(x.shape[0])
        f = random.rng_for(self.seed_generator).uniform(1 - self.factor[0], 1 + self.factor[1], n)
        f = convert_to_tensor(f.astype(np.float32).reshape(n, 1, 1, 1))
        mean = ops.mean(x, axis=(1, 2), keepdims=True)
        y = ops.add(ops.multiply(ops.subtract(x, mean), f), mean)
        return ops.clip(y, float(self.value_range[0]), float(self.value_range[1]))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range,
                "seed": self.seed}


class Rescaling(Layer):
    """``inputs * scale + offset`` (scale and offset are numbers, or arrays
    broadcast over the channels), in training and inference."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for name, v in (("scale", scale), ("offset", offset)):
            if not _number(v) and not isinstance(v, (list, tuple, np.ndarray)):
                raise ValueError(f"Argument `{name}` must be a number or an array. Received: {name}={v!r}")
        self.scale, self.offset = scale, offset

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs, training=False):
        x = _float_tensor(inputs)
        scale = np.asarray(self.scale, np.float32)
        offset = np.asarray(self.offset, np.float32)
        return ops.add(ops.multiply(x, convert_to_tensor(scale)), convert_to_tensor(offset))

    def get_config(self):
        plain = lambda v: v.tolist() if isinstance(v, np.ndarray) else v  # noqa: E731
        return {**super().get_config(), "scale": plain(self.scale), "offset": plain(self.offset)}


class Resizing(_ImageLayer):
    """Resizes images to (``height``, ``width``) (``keras.ops.image.resize``):
    bilinear or nearest; ``crop_to_aspect_ratio`` takes the largest centred
    window of the target's aspect ratio first, ``pad_to_aspect_ratio`` pads
    with ``fill_value`` instead."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _positive_int(height, "height"), _positive_int(width, "width")
        ops_image._choice(interpolation, ops_image.INTERPOLATIONS, "interpolation")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
        if fill_mode != "constant":
            raise ValueError(f"Argument `fill_mode` must be 'constant'. Received: fill_mode={fill_mode!r}")
        if antialias:
            raise ValueError("ember's Resizing has no antialiasing (bilinear and nearest sampling only). "
                             f"Received: antialias={antialias!r}")
        self.interpolation = interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value, self.antialias = fill_mode, float(fill_value), bool(antialias)

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def _call_batch(self, x, training):
        return ops_image.resize(x, (self.height, self.width), self.interpolation,
                                crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                                pad_to_aspect_ratio=self.pad_to_aspect_ratio, fill_value=self.fill_value)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}


class CenterCrop(_ImageLayer):
    """The central (``height``, ``width``) window of each image; an image
    smaller than that along an axis is resized to it instead, after cropping
    to the target's aspect ratio (Keras's smart_resize)."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _positive_int(height, "height"), _positive_int(width, "width")

    def compute_output_shape(self, input_shape):
        self._check_rank(input_shape)
        return tuple(input_shape[:-3]) + (self.height, self.width, input_shape[-1])

    def _call_batch(self, x, training):
        h, w = int(x.shape[1]), int(x.shape[2])
        if h >= self.height and w >= self.width:
            top, left = (h - self.height) // 2, (w - self.width) // 2
            return x[:, top:top + self.height, left:left + self.width, :]
        return ops_image.resize(x, (self.height, self.width), crop_to_aspect_ratio=True)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}
