"""Conv2D, pooling and global pooling over NHWC images."""
from .. import activations, ops
from .base import Layer, as_tuple, check_padding
from .core import _ActivationMixin, _set_weight_options, _weight_options_config


def _out_size(size, k, stride, dilation, padding):
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    return (size - ((k - 1) * dilation + 1)) // stride + 1


def _check_image(layer, input_shape):
    if len(input_shape) != 4:
        raise ValueError(f"{type(layer).__name__} expects input of shape (batch, height, width, "
                         f"channels). Received: {tuple(input_shape)}")


def _check_fits(layer, input_shape, window):
    """Raises before any weight is made when the window leaves no output."""
    out = layer.compute_output_shape(tuple(input_shape))
    if any(d is not None and d <= 0 for d in out[1:3]):
        raise ValueError(f"{type(layer).__name__} window {window} does not fit input "
                         f"{tuple(input_shape)} with padding '{layer.padding}'")


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
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"Argument `filters` must be a positive int. Received: {filters!r}")
        _check_data_format(data_format)
        self.filters = filters
        self.kernel_size = as_tuple(kernel_size, 2, "kernel_size")
        self.strides = as_tuple(strides, 2, "strides")
        self.padding = check_padding(padding)
        self.dilation_rate = as_tuple(dilation_rate, 2, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides` > 1 is not compatible with `dilation_rate` > 1. "
                             f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)

    def build(self, input_shape):
        _check_image(self, input_shape)
        _check_fits(self, input_shape, self.kernel_size)
        shape = self.kernel_size + (input_shape[-1], self.filters)
        self.kernel = self.add_weight(shape=shape, initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight(shape=(self.filters,), initializer=self.bias_initializer,
                                    name="bias", regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        return (n, _out_size(h, self.kernel_size[0], self.strides[0], self.dilation_rate[0], self.padding),
                _out_size(w, self.kernel_size[1], self.strides[1], self.dilation_rate[1], self.padding),
                self.filters)

    def call(self, inputs):
        return self._activate(ops.conv2d(inputs, self.kernel, self.bias, self.strides, self.padding,
                                         self.dilation_rate, self._fused_relu))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "dilation_rate": list(self.dilation_rate),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_weight_options_config(self)}


class _Pooling2D(Layer):
    _max = True

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(data_format)
        self.pool_size = as_tuple(pool_size, 2, "pool_size")
        self.strides = as_tuple(strides, 2, "strides") if strides is not None else self.pool_size
        self.padding = check_padding(padding)

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
