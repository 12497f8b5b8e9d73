"""Image ops with their own C++ kernel (``_core.affine_transform``), with
the names and arguments of ``keras.ops.image``: ``affine_transform`` and
``resize`` (a resize is an affine map of the output grid onto the input's,
sampled with the 'nearest' fill mode). Each records its backward, so the
layers built on them (ember.layers.preprocessing) pass gradients."""
import numpy as np

from . import _core
from .engine import Tensor, convert_to_tensor, record

INTERPOLATIONS = ("bilinear", "nearest")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _channels_last(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError("ember's image ops support data_format='channels_last' only. "
                         f"Received: data_format={data_format!r}")


def _choice(value, allowed, name):
    if value not in allowed:
        raise ValueError(f"Argument `{name}` must be one of {allowed}. Received: {name}={value!r}")
    return value


def _transform_raw(x, transforms, size, interpolation, fill_mode, fill_value):
    """The recorded op on a rank-4 tensor x and a NumPy (n, 8) transform."""
    xv, shape = x.value, tuple(x.shape)
    y = _core.affine_transform(xv, transforms, size, interpolation, fill_mode, float(fill_value))

    def backward(dy, needs):
        return (_core.affine_transform_backward(dy, transforms, shape, interpolation, fill_mode),)
    return record(y, (x,), backward, "affine_transform", reads_inputs=False)


def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0,
                     data_format=None):
    """``images`` (H, W, C) or (N, H, W, C) sampled at the points each
    ``transform`` [a0, a1, a2, b0, b1, b2, c0, c1] maps its output pixels to
    (x = (a0*ox + a1*oy + a2) / k, y = (b0*ox + b1*oy + b2) / k with
    k = c0*ox + c1*oy + 1), as ``keras.ops.image.affine_transform``."""
    _channels_last(data_format)
    _choice(interpolation, INTERPOLATIONS, "interpolation")
    _choice(fill_mode, FILL_MODES, "fill_mode")
    x = convert_to_tensor(images)
    t = np.asarray(transform.value if isinstance(transform, Tensor) else transform, dtype=np.float32)
    if x.ndim not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
                         f"Received: images.shape={tuple(x.shape)}")
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError("Invalid transform: expected shape (8,) or (batch, 8). "
                         f"Received: transform.shape={t.shape}")
    single = x.ndim == 3
    if single:
        x = x.reshape((1,) + tuple(x.shape))
    y = _transform_raw(x, np.ascontiguousarray(t.reshape(-1, 8)), None, interpolation, fill_mode, fill_value)
    return y.reshape(tuple(y.shape)[1:]) if single else y


def resize_transform(in_h, in_w, out_h, out_w):
    """The transform (1, 8) mapping an (out_h, out_w) grid onto an
    (in_h, in_w) image with half-pixel centres (jax.image.resize's and
    TensorFlow's convention)."""
    sy, sx = in_h / out_h, in_w / out_w
    return np.array([[sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5, 0, 0]], np.float32)


def aspect_crop(h, w, target_h, target_w):
    """(top, left, height, width) of the largest centred window of an
    (h, w) image with the target's aspect ratio (Keras's smart_resize)."""
    ch = max(min(h, int(w * target_h / target_w)), 1)
    cw = max(min(w, int(h * target_w / target_h)), 1)
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def aspect_pad(h, w, target_h, target_w):
    """(top, bottom, left, right) padding that gives an (h, w) image
    (about) the target's aspect ratio: the same on both sides, as Keras pads
    (an odd difference loses its last row)."""
    ph = max(int(w * target_h / target_w), h)
    pw = max(int(h * target_w / target_h), w)
    return (ph - h) // 2, (ph - h) // 2, (pw - w) // 2, (pw - w) // 2


def _size_arg(size):
    if (not isinstance(size, (tuple, list)) or len(size) != 2 or
            any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0 for v in size)):
        raise ValueError("Expected `size` to be a tuple of 2 positive integers. "
                         f"Received: size={size!r}")
    return int(size[0]), int(size[1])


def resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
           pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, data_format=None):
    """``images`` (H, W, C) or (N, H, W, C) resized to ``size`` = (height,
    width), as ``keras.ops.image.resize`` (bilinear or nearest; no
    antialiasing). ``crop_to_aspect_ratio`` first takes the largest centred
    window of the target's aspect ratio; ``pad_to_aspect_ratio`` instead pads
    with ``fill_value``."""
    _channels_last(data_format)
    oh, ow = _size_arg(size)
    _choice(interpolation, INTERPOLATIONS, "interpolation")
    if antialias:
        raise ValueError("ember's resize has no antialiasing (bilinear and nearest sampling only). "
                         f"Received: antialias={antialias!r}")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be True.")
    if fill_mode != "constant":
        raise ValueError(f"Argument `fill_mode` must be 'constant'. Received: fill_mode={fill_mode!r}")
    from . import ops
    x = convert_to_tensor(images)
    if x.ndim not in (3, 4):
        raise ValueError("Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
                         f"Received: images.shape={tuple(x.shape)}")
    single = x.ndim == 3
    if single:
        x = x.reshape((1,) + tuple(x.shape))
    h, w = int(x.shape[1]), int(x.shape[2])
    if crop_to_aspect_ratio:
        top, left, ch, cw = aspect_crop(h, w, oh, ow)
        if (ch, cw) != (h, w):
            x = x[:, top:top + ch, left:left + cw, :]
    elif pad_to_aspect_ratio:
        pads = aspect_pad(h, w, oh, ow)
        if any(pads):
            x = ops.pad(x, ((0, 0), pads[:2], pads[2:], (0, 0)), constant_values=float(fill_value))
    h, w = int(x.shape[1]), int(x.shape[2])
    y = x if (h, w) == (oh, ow) else _transform_raw(x, resize_transform(h, w, oh, ow), (oh, ow),
                                                      interpolation, "nearest", 0.0)
    return y.reshape(tuple(y.shape)[1:]) if single else y
