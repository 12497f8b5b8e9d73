"""Reshaping layers (Keras 3 names and arguments): RepeatVector, UpSampling1D,
UpSampling2D, ZeroPadding1D/2D, Cropping1D/2D, Permute, and the
TimeDistributed wrapper. Each is a few ``ember.ops`` calls, so gradients come
from the engine and every layer runs on the CPU and the GPU alike."""
import numpy as np

from .. import ops
from .base import Layer, _call_args, _shape_str


def _int_arg(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Argument `{name}` must be an int. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"Argument `{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return int(value)


def _int_tuple(value, n, name, minimum):
    """An int (repeated n times) or n ints, each >= minimum."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * n
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise ValueError(f"Argument `{name}` must be an int or a tuple of {n} ints. Received: {name}={value!r}")
    return tuple(_int_arg(v, name, minimum) for v in value)


def _pairs(value, name):
    """((a, b), (c, d)) from an int, a pair of ints (symmetric per axis) or
    a pair of pairs, as ZeroPadding2D and Cropping2D take them."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (_int_tuple(value, 2, name, 0),) * 2
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"Argument `{name}` must be an int, a tuple of 2 ints, or a tuple of 2 tuples of "
                         f"2 ints ((top, bottom), (left, right)). Received: {name}={value!r}")
    return tuple(_int_tuple(v, 2, name, 0) for v in value)


def _data_format(data_format):
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("Argument `data_format` must be 'channels_last' or 'channels_first'. "
                         f"Received: data_format={data_format!r}")
    return data_format


def _check_rank(layer, input_shape, rank, what):
    if len(input_shape) != rank:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' expects input of rank {rank}, {what}. "
                         f"Received: input shape {_shape_str(tuple(input_shape))}")


def _spatial_axes(data_format, n):
    """The spatial axes of a (batch, ..., channels) or (batch, channels, ...) input."""
    return tuple(range(1, n + 1)) if data_format == "channels_last" else tuple(range(2, n + 2))


class RepeatVector(Layer):
    """(batch, features) -> (batch, n, features): the input repeated n times."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = _int_arg(n, "n")

    def build(self, input_shape):
        _check_rank(self, input_shape, 2, "(batch, features)")
        self.built = True

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, 2, "(batch, features)")
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs):
        n, f = inputs.shape
        return ops.broadcast_to(ops.reshape(inputs, (n, 1, f)), (n, self.n, f))

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class _Spatial(Layer):
    """A layer acting on the spatial axes of a channels-last or -first input."""
    _rank = 3
    _what = "(batch, steps, features)"

    def build(self, input_shape):
        _check_rank(self, input_shape, self._rank, self._what)
        self.built = True

    def _axes(self):
        return _spatial_axes(getattr(self, "data_format", "channels_last"), self._rank - 2)

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, self._rank, self._what)
        out = list(input_shape)
        for i, axis in enumerate(self._axes()):
            if out[axis] is not None:
                out[axis] = self._new_size(i, out[axis], input_shape)
        return tuple(out)


class UpSampling1D(_Spatial):
    """Repeats each step ``size`` times along the time axis."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = _int_arg(size, "size")

    def _new_size(self, i, n, input_shape):
        return n * self.size

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=1) if self.size > 1 else inputs

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def bilinear_matrix(n_in, factor):
    """The (n_in * factor, n_in) matrix of bilinear upsampling with half-pixel
    centres, as jax.image.resize(method='bilinear') (Keras's UpSampling2D on
    JAX): output i samples input coordinate (i + 0.5) / factor - 0.5 with a
    triangle kernel, the weights normalised over the input's extent (so the
    edges repeat the border values)."""
    n_out = n_in * factor
    src = (np.arange(n_out) + 0.5) / factor - 0.5
    w = np.maximum(0.0, 1.0 - np.abs(src[:, None] - np.arange(n_in)[None, :]))
    return (w / w.sum(axis=1, keepdims=True)).astype(np.float32)


class UpSampling2D(_Spatial):
    """Upsamples images by integer factors: 'nearest' repeats rows and
    columns; 'bilinear' interpolates, as two products with fixed
    interpolation matrices (one per axis)."""
    _rank = 4
    _what = "(batch, rows, cols, channels)"
    _INTERPOLATIONS = ("nearest", "bilinear")

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = _int_tuple(size, 2, "size", 1)
        self.data_format = _data_format(data_format)
        if not isinstance(interpolation, str) or interpolation.lower() not in self._INTERPOLATIONS:
            raise ValueError(f"Argument `interpolation` must be one of {', '.join(self._INTERPOLATIONS)}. "
                             f"Received: interpolation={interpolation!r}")
        self.interpolation = interpolation.lower()

    def _new_size(self, i, n, input_shape):
        return n * self.size[i]

    def call(self, inputs):
        ah, aw = self._axes()
        fh, fw = self.size
        if self.interpolation == "nearest":
            x = ops.repeat(inputs, fh, axis=ah) if fh > 1 else inputs
            return ops.repeat(x, fw, axis=aw) if fw > 1 else x
        x = inputs
        shape = x.shape
        h, w = shape[ah], shape[aw]
        if fw > 1:  # along the width: x @ Mw^T over the (last or next-to-last) axis
            mw = bilinear_matrix(w, fw)
            if self.data_format == "channels_first":
                x = ops.matmul(x, mw.T)
            else:
                n, hh, _, c = x.shape
                x = ops.reshape(ops.matmul(mw, ops.reshape(x, (n * hh, w, c))), (n, hh, w * fw, c))
        if fh > 1:  # along the height: Mh @ x
            mh = bilinear_matrix(h, fh)
            if self.data_format == "channels_first":
                x = ops.matmul(mh, x)
            else:
                n, _, ww, c = x.shape
                x = ops.reshape(ops.matmul(mh, ops.reshape(x, (n, h, ww * c))), (n, h * fh, ww, c))
        return x

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class ZeroPadding1D(_Spatial):
    """Adds zeros at the start and the end of the time axis."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _int_tuple(padding, 2, "padding", 0)
        self.data_format = _data_format(data_format)

    def _new_size(self, i, n, input_shape):
        return n + sum(self.padding)

    def call(self, inputs):
        widths = [(0, 0)] * 3
        widths[self._axes()[0]] = self.padding
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": list(self.padding), "data_format": self.data_format}


class ZeroPadding2D(_Spatial):
    """Adds rows and columns of zeros: ``padding`` is an int, (rows, cols) or
    ((top, bottom), (left, right))."""
    _rank = 4
    _what = "(batch, rows, cols, channels)"

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = _pairs(padding, "padding")
        self.data_format = _data_format(data_format)

    def _new_size(self, i, n, input_shape):
        return n + sum(self.padding[i])

    def call(self, inputs):
        widths = [(0, 0)] * 4
        for axis, p in zip(self._axes(), self.padding):
            widths[axis] = p
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}


class _Cropping(_Spatial):
    def _crops(self):
        return self.cropping if self._rank == 4 else (self.cropping,)

    def _new_size(self, i, n, input_shape):
        crop = self._crops()[i]
        if sum(crop) >= n:
            raise ValueError(f"{type(self).__name__} '{self.name}': `cropping` must leave at least one "
                             f"element of each cropped axis. Received: cropping={self.get_config()['cropping']} "
                             f"for input shape {_shape_str(tuple(input_shape))}")
        return n - sum(crop)

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)  # checks the crop fits
        starts, shape = [0] * inputs.ndim, list(inputs.shape)
        for axis, (a, b) in zip(self._axes(), self._crops()):
            starts[axis], shape[axis] = a, shape[axis] - a - b
        return ops.slice(inputs, starts, shape)


class Cropping1D(_Cropping):
    """Removes ``cropping = (start, end)`` steps from the time axis."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = _int_tuple(cropping, 2, "cropping", 0)

    def get_config(self):
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(_Cropping):
    """Removes rows and columns: ``cropping`` is an int, (rows, cols) or
    ((top, bottom), (left, right))."""
    _rank = 4
    _what = "(batch, rows, cols, channels)"

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = _pairs(cropping, "cropping")
        self.data_format = _data_format(data_format)

    def get_config(self):
        return {**super().get_config(), "cropping": [list(c) for c in self.cropping],
                "data_format": self.data_format}


class Permute(Layer):
    """Permutes the non-batch axes: ``dims`` is a permutation of 1..rank-1."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            raise TypeError(f"Argument `dims` must be a tuple of ints. Received: dims={dims!r}") from None
        if sorted(dims) != list(range(1, len(dims) + 1)) or any(isinstance(d, bool) for d in dims):
            raise ValueError("Argument `dims` must be a permutation of 1, ..., n (the batch axis 0 is not "
                             f"included). Received: dims={dims!r}")
        self.dims = tuple(int(d) for d in dims)

    def build(self, input_shape):
        _check_rank(self, input_shape, len(self.dims) + 1, f"as `dims` {self.dims} says")
        self.built = True

    def compute_output_shape(self, input_shape):
        _check_rank(self, input_shape, len(self.dims) + 1, f"as `dims` {self.dims} says")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}


class TimeDistributed(Layer):
    """Applies ``layer`` to every step of a (batch, time, ...) input: the
    batch and time axes are merged, the layer is called once on the
    (batch * time, ...) tensor, and the result is split back. The wrapped
    layer's weights are shared by all steps; a (batch, time) mask reaches the
    layer as its (batch * time,) slice mask."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed wraps a Layer instance. Received: layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def _inner_shape(self, input_shape):
        if not isinstance(input_shape, tuple) or len(input_shape) < 3:
            raise ValueError(f"TimeDistributed '{self.name}' expects input of rank 3 or more, (batch, time, "
                             f"...). Received: input shape {_shape_str(tuple(input_shape))}")
        n, t = input_shape[:2]
        return (None if n is None or t is None else n * t,) + tuple(input_shape[2:])

    def _wrap_error(self, input_shape, inner_shape, error):
        return ValueError(f"TimeDistributed '{self.name}' cannot apply layer '{self.layer.name}' "
                          f"({type(self.layer).__name__}) to slices of shape {_shape_str(inner_shape)}: "
                          f"{error} Received: input shape {_shape_str(tuple(input_shape))}")

    def build(self, input_shape):
        inner = self._inner_shape(input_shape)
        if not self.layer.built:
            try:
                self.layer._build_shape = inner
                self.layer.build(inner)
                self.layer.built = True
            except (ValueError, TypeError) as e:
                raise self._wrap_error(input_shape, inner, e) from None
        self.built = True

    def _has_output_shape(self):
        return self.layer._has_output_shape()

    def compute_output_shape(self, input_shape):
        inner = self._inner_shape(input_shape)
        try:
            out = tuple(self.layer.compute_output_shape(inner))
        except (ValueError, TypeError) as e:
            raise self._wrap_error(input_shape, inner, e) from None
        return tuple(input_shape[:2]) + out[1:]

    def call(self, inputs, training=None, mask=None):
        shape = inputs.shape
        inner = self._inner_shape(shape)
        kwargs = {"training": training}
        if mask is not None:
            mshape = tuple(mask.shape)
            if len(mshape) < 2 or mshape[:2] != shape[:2]:
                raise ValueError(f"TimeDistributed '{self.name}' expects a mask of shape (batch, time, ...) "
                                 f"{_shape_str(shape[:2])}. Received: mask of shape {_shape_str(mshape)}")
            if _call_args(type(self.layer))[1]:  # its call takes `mask`
                kwargs["mask"] = ops.reshape(mask, (inner[0],) + mshape[2:])
        try:
            y = self.layer(ops.reshape(inputs, inner), **kwargs)
        except (ValueError, TypeError) as e:
            raise self._wrap_error(shape, inner, e) from None
        return ops.reshape(y, tuple(shape[:2]) + tuple(y.shape[1:]))

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(),
                "layer": {"class_name": type(self.layer).__name__, "config": self.layer.get_config()}}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from . import get
        config = dict(config)
        config.pop("dtype", None)
        spec = config.pop("layer")
        inner = get(spec["class_name"], custom_objects).from_config(dict(spec["config"]))
        return cls(inner, **config)


class Masking(Layer):
    """Masks the steps whose features all equal ``mask_value``: they become
    zeros, and ``compute_mask`` gives the (batch, time) boolean mask that
    later layers (recurrent ones) receive."""

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float, np.integer, np.floating)):
            raise TypeError(f"Argument `mask_value` must be a number. Received: mask_value={mask_value!r}")
        self.mask_value = float(mask_value)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, self.mask_value), axis=-1)

    def call(self, inputs):
        keep = ops.any(ops.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return ops.where(keep, inputs, 0.0)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
