"""Convolutions over sequences (NTC) and images (NHWC): Conv1D, Conv2D,
their transposes, DepthwiseConv2D and SeparableConv2D; 2-D pooling (the
1-D and global poolings are in pooling.py)."""
import numpy as np

from .. import activations, ops, ops_conv
from .base import Layer, _positive_int, as_tuple, check_padding
from .core import _ActivationMixin, _options_config, _set_options, _set_weight_options


def _out_size(size, k, stride, dilation, padding):
    if size is None:
        return None
    if padding in ("same", "causal"):
        return -(-size // stride)
    return (size - ((k - 1) * dilation + 1)) // stride + 1


_LAYOUTS = {3: "(batch, steps, channels)", 4: "(batch, height, width, channels)"}


def _check_rank(layer, input_shape, rank):
    if len(input_shape) != rank:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' expects input of shape "
                         f"{_LAYOUTS[rank]} (rank {rank}). Received: {tuple(input_shape)}")


def _check_image(layer, input_shape):
    _check_rank(layer, input_shape, 4)


def _check_fits(layer, input_shape, window):
    """Raises before any weight is made when the window leaves no output."""
    out = layer.compute_output_shape(tuple(input_shape))
    if any(d is not None and d <= 0 for d in out[1:-1]):
        raise ValueError(f"{type(layer).__name__} window {window} does not fit input "
                         f"{tuple(input_shape)} with padding '{layer.padding}'")


def _make_bias(layer, size):
    """The bias weight (size,) of a layer with use_bias, else None."""
    if not layer.use_bias:
        return None
    return layer.add_weight(shape=(size,), initializer=layer.bias_initializer, name="bias",
                            regularizer=layer.bias_regularizer, constraint=layer.bias_constraint)


def _check_strides_dilation(strides, dilation_rate):
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError("`strides` > 1 is not compatible with `dilation_rate` > 1. "
                         f"Received: strides={strides}, dilation_rate={dilation_rate}")


def _window_args(layer, kernel_size, strides, padding, dilation_rate, rank=2, causal=False):
    """Checks and sets a convolution window's kernel_size, strides, padding
    and dilation_rate (``rank`` spatial axes)."""
    layer.kernel_size = as_tuple(kernel_size, rank, "kernel_size")
    layer.strides = as_tuple(strides, rank, "strides")
    layer.padding = check_padding(padding, causal)
    layer.dilation_rate = as_tuple(dilation_rate, rank, "dilation_rate")
    _check_strides_dilation(layer.strides, layer.dilation_rate)


def _pool_args(layer, pool_size, strides, padding, rank):
    """Checks and sets a pooling window's pool_size, strides (the pool size
    when None) and padding."""
    layer.pool_size = as_tuple(pool_size, rank, "pool_size")
    layer.strides = as_tuple(strides, rank, "strides") if strides is not None else layer.pool_size
    layer.padding = check_padding(padding)


def _check_data_format(data_format):
    if data_format not in (None, "channels_last"):
        raise ValueError(f"ember layers are channels_last (NHWC). Received: data_format={data_format!r}")


class Conv2D(_ActivationMixin, Layer):
    """2-D convolution; kernel is (kh, kw, in_channels, filters) as in Keras."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _set_weight_options(self, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                            kernel_constraint, bias_constraint)
        self.filters = _positive_int(filters, "filters")
        _check_data_format(data_format)
        _window_args(self, kernel_size, strides, padding, dilation_rate)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        _check_image(self, input_shape)
        _check_fits(self, input_shape, self.kernel_size)
        shape = self.kernel_size + (input_shape[-1], self.filters)
        self.kernel = self.add_weight(shape=shape, initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = _make_bias(self, self.filters)
        self.built = True

    def compute_output_shape(self, input_shape):
        return _image_output_shape(self, input_shape, self.filters)

    def call(self, inputs):
        return self._activate(ops.conv2d(inputs, self.kernel, self.bias, self.strides, self.padding,
                                         self.dilation_rate, self._fused_relu))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_options_config(self)}


class _Pooling2D(Layer):
    _max = True

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(data_format)
        _pool_args(self, pool_size, strides, padding, 2)

    def build(self, input_shape):
        _check_image(self, input_shape)
        _check_fits(self, input_shape, self.pool_size)
        self.built = True

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, _out_size(h, self.pool_size[0], self.strides[0], 1, self.padding),
                _out_size(w, self.pool_size[1], self.strides[1], 1, self.padding), c)

    def call(self, inputs):
        return ops._pool("max" if self._max else "avg", inputs, self.pool_size, self.strides,
                         self.padding)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    _max = True


class AveragePooling2D(_Pooling2D):
    _max = False


class GlobalAveragePooling2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(data_format)
        self.keepdims = bool(keepdims)

    def build(self, input_shape):
        _check_image(self, input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        n, _, _, c = input_shape
        return (n, 1, 1, c) if self.keepdims else (n, c)

    def call(self, inputs):
        y = ops.global_avg_pool2d(inputs)
        return ops.reshape(y, (y.shape[0], 1, 1, y.shape[1])) if self.keepdims else y

    def get_config(self):
        return {**super().get_config(), "keepdims": self.keepdims}


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D


def _check_groups(groups, filters):
    groups = _positive_int(groups, "groups")
    if filters % groups:
        raise ValueError(f"The number of filters must be divisible by `groups`. Received: "
                         f"filters={filters}, groups={groups}")
    return groups


def _channels(layer, input_shape):
    c = input_shape[-1]
    if c is None:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' needs a known channel axis (the last). "
                         f"Received: input shape {tuple(input_shape)}")
    return int(c)


def _bias_and_activation(layer, y):
    """The bias (when the kernel call did not add it) and the activation."""
    if layer.use_bias:
        y = ops.add(y, layer.bias)
    return activations.apply(layer.activation, y)


class Conv1D(_ActivationMixin, Layer):
    """1-D convolution over (batch, steps, channels); kernel is
    (kernel_size, in_channels / groups, filters) as in Keras. 'causal'
    padding puts (kernel_size - 1) * dilation_rate zeros before the first
    step. It runs on the 2-D convolution kernel, the steps as a row."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = _positive_int(filters, "filters")
        _check_data_format(data_format)
        _window_args(self, kernel_size, strides, padding, dilation_rate, rank=1, causal=True)
        self.groups = _check_groups(groups, self.filters)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        _set_weight_options(self, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                            kernel_constraint, bias_constraint)

    def build(self, input_shape):
        _check_rank(self, input_shape, 3)
        channels = _channels(self, input_shape)
        if channels % self.groups:
            raise ValueError(f"Conv1D '{self.name}': the input channels must be divisible by `groups`. "
                             f"Received: {channels} channels, groups={self.groups}")
        _check_fits(self, input_shape, self.kernel_size)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = _make_bias(self, self.filters)
        self.built = True

    def compute_output_shape(self, input_shape):
        n, t, _ = input_shape
        return (n, _out_size(t, self.kernel_size[0], self.strides[0], self.dilation_rate[0], self.padding),
                self.filters)

    def call(self, inputs):
        n, t, c = inputs.shape
        k, d = self.kernel_size[0], self.dilation_rate[0]
        padding = (0, 0, (k - 1) * d, 0) if self.padding == "causal" else self.padding
        x = ops.reshape(inputs, (n, 1, t, c))
        kernel = ops.reshape(self.kernel, (1,) + self.kernel.shape)
        args = ((1, self.strides[0]), padding, (1, d))
        if self.groups == 1:
            y = self._activate(ops.conv2d(x, kernel, self.bias, *args, relu=self._fused_relu))
        else:
            # One convolution per group of channels, the results side by side.
            parts = [ops.conv2d(xg, kg, None, *args) for xg, kg in
                     zip(ops.split(x, self.groups, axis=3), ops.split(kernel, self.groups, axis=3))]
            y = _bias_and_activation(self, ops.concatenate(parts, axis=3))
        return ops.reshape(y, (n, y.shape[2], self.filters))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": "channels_last",
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_options_config(self)}


def _output_padding(value, n):
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"Argument `output_padding` must be None, an int or a tuple of {n} ints. "
                        f"Received: {value!r}") from None
    if len(value) != n or any(v < 0 for v in value):
        raise ValueError(f"Argument `output_padding` must be {n} non-negative integers. Received: {value!r}")
    return value


class _ConvTranspose(Layer):
    """The transposed convolution (the input gradient of a convolution,
    computed forward); kernel is (*kernel_size, filters, in_channels) as in
    Keras, and the output size is Keras's."""
    _rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        r = self._rank
        self.filters = _positive_int(filters, "filters")
        _check_data_format(data_format)
        _window_args(self, kernel_size, strides, padding, dilation_rate, rank=r)
        self.output_padding = _output_padding(output_padding, r)
        if self.output_padding is not None and any(p >= s for p, s in zip(self.output_padding, self.strides)):
            raise ValueError(f"Each `output_padding` must be smaller than its stride. Received: "
                             f"output_padding={self.output_padding}, strides={self.strides}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        _set_weight_options(self, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                            kernel_constraint, bias_constraint)

    def build(self, input_shape):
        _check_rank(self, input_shape, self._rank + 2)
        channels = _channels(self, input_shape)
        self.kernel = self.add_weight(shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = _make_bias(self, self.filters)
        self.built = True

    def _axes(self, sizes):
        """(output size, pad before, pad after) along each spatial axis."""
        ops_pad = self.output_padding or (None,) * self._rank
        return [ops_conv.transpose_padding(size, k, s, d, self.padding, p) for size, k, s, d, p in
                zip(sizes, self.kernel_size, self.strides, self.dilation_rate, ops_pad)]

    def compute_output_shape(self, input_shape):
        sizes = [a[0] for a in self._axes(input_shape[1:-1])]
        return (input_shape[0], *sizes, self.filters)

    def _transpose(self, x, kernel, axes, strides, dilation):
        (oh, pt, pb), (ow, pl, pr) = axes
        y = ops_conv.conv2d_transpose(x, kernel, (oh, ow), strides, (pt, pb, pl, pr), dilation)
        return _bias_and_activation(self, y)

    def call(self, inputs):
        return self._transpose(inputs, self.kernel, self._axes(inputs.shape[1:3]), self.strides,
                               self.dilation_rate)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding,
                "output_padding": None if self.output_padding is None else list(self.output_padding),
                "data_format": "channels_last", "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_options_config(self)}


class Conv2DTranspose(_ConvTranspose):
    _rank = 2


class Conv1DTranspose(_ConvTranspose):
    """The 1-D transposed convolution, on the 2-D one with the steps as a row."""
    _rank = 1

    def call(self, inputs):
        n, t, c = inputs.shape
        x = ops.reshape(inputs, (n, 1, t, c))
        kernel = ops.reshape(self.kernel, (1,) + self.kernel.shape)
        axes = [(1, 0, 0)] + self._axes((t,))
        y = self._transpose(x, kernel, axes, (1, self.strides[0]), (1, self.dilation_rate[0]))
        return ops.reshape(y, (n, y.shape[2], self.filters))


def _image_output_shape(layer, input_shape, channels):
    n, h, w = input_shape[:3]
    return (n, _out_size(h, layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0], layer.padding),
            _out_size(w, layer.kernel_size[1], layer.strides[1], layer.dilation_rate[1], layer.padding),
            channels)


class DepthwiseConv2D(Layer):
    """Each input channel convolved with its own depth_multiplier filters;
    kernel is (kh, kw, in_channels, depth_multiplier) and the output has
    in_channels * depth_multiplier channels, as in Keras."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _check_data_format(data_format)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier")
        _window_args(self, kernel_size, strides, padding, dilation_rate)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        _set_options(self, depthwise_initializer=depthwise_initializer, bias_initializer=bias_initializer,
                     depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                     depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)

    def build(self, input_shape):
        _check_image(self, input_shape)
        channels = _channels(self, input_shape)
        _check_fits(self, input_shape, self.kernel_size)
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, self.depth_multiplier),
                                      initializer=self.depthwise_initializer, name="kernel",
                                      regularizer=self.depthwise_regularizer, constraint=self.depthwise_constraint)
        self.bias = _make_bias(self, channels * self.depth_multiplier)
        self.built = True

    def compute_output_shape(self, input_shape):
        c = input_shape[-1]
        return _image_output_shape(self, input_shape, None if c is None else c * self.depth_multiplier)

    def call(self, inputs):
        y = ops_conv.depthwise_conv2d(inputs, self.kernel, self.bias, self.strides, self.padding,
                                      self.dilation_rate)
        return activations.apply(self.activation, y)

    def get_config(self):
        return {**super().get_config(), "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "depth_multiplier": self.depth_multiplier, "data_format": "channels_last",
                "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_options_config(self)}


class SeparableConv2D(_ActivationMixin, Layer):
    """A depthwise convolution, then a 1x1 convolution mixing the channels:
    depthwise_kernel (kh, kw, in, depth_multiplier), pointwise_kernel
    (1, 1, in * depth_multiplier, filters) and bias (filters,), as in Keras."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = _positive_int(filters, "filters")
        _check_data_format(data_format)
        _window_args(self, kernel_size, strides, padding, dilation_rate)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        _set_options(self, depthwise_initializer=depthwise_initializer, pointwise_initializer=pointwise_initializer,
                     bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                     pointwise_regularizer=pointwise_regularizer, bias_regularizer=bias_regularizer,
                     depthwise_constraint=depthwise_constraint, pointwise_constraint=pointwise_constraint,
                     bias_constraint=bias_constraint)

    def build(self, input_shape):
        _check_image(self, input_shape)
        channels = _channels(self, input_shape)
        _check_fits(self, input_shape, self.kernel_size)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier), initializer=self.depthwise_initializer,
            name="depthwise_kernel", regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            shape=(1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, name="pointwise_kernel",
            regularizer=self.pointwise_regularizer, constraint=self.pointwise_constraint)
        self.bias = _make_bias(self, self.filters)
        self.built = True

    def compute_output_shape(self, input_shape):
        return _image_output_shape(self, input_shape, self.filters)

    def call(self, inputs):
        h = ops_conv.depthwise_conv2d(inputs, self.depthwise_kernel, None, self.strides, self.padding,
                                      self.dilation_rate)
        return self._activate(ops.conv2d(h, self.pointwise_kernel, self.bias, relu=self._fused_relu))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": "channels_last",
                "dilation_rate": list(self.dilation_rate), "depth_multiplier": self.depth_multiplier,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_options_config(self)}


Convolution1D = Conv1D
Convolution2DTranspose = Conv2DTranspose
Convolution1DTranspose = Conv1DTranspose
SeparableConvolution2D = SeparableConv2D
