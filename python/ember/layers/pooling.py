"""Pooling over sequences (batch, steps, channels) and global poolings.
The 1-D poolings run on the 2-D pooling kernels with the steps as a row;
the global ones are reductions (``ember.ops``)."""
from .. import ops
from .base import Layer
from .conv import _check_data_format, _check_fits, _check_rank, _out_size, _pool_args


class _Pooling1D(Layer):
    _kind = "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(data_format)
        _pool_args(self, pool_size, strides, padding, 1)

    def build(self, input_shape):
        _check_rank(self, input_shape, 3)
        _check_fits(self, input_shape, self.pool_size)
        self.built = True

    def compute_output_shape(self, input_shape):
        n, t, c = input_shape
        return (n, _out_size(t, self.pool_size[0], self.strides[0], 1, self.padding), c)

    def call(self, inputs):
        n, t, c = inputs.shape
        y = ops._pool(self._kind, ops.reshape(inputs, (n, 1, t, c)), (1, self.pool_size[0]),
                      (1, self.strides[0]), self.padding)
        return ops.reshape(y, (n, y.shape[2], c))

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": "channels_last"}


class MaxPooling1D(_Pooling1D):
    _kind = "max"


class AveragePooling1D(_Pooling1D):
    _kind = "avg"


class _GlobalPooling(Layer):
    """Max or mean over the steps (rank 3) or the pixels (rank 4)."""
    _rank = 3
    _reduce = staticmethod(ops.max)

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _check_data_format(data_format)
        self.keepdims = bool(keepdims)

    @property
    def _axes(self):
        return tuple(range(1, self._rank - 1))

    def build(self, input_shape):
        _check_rank(self, input_shape, self._rank)
        self.built = True

    def compute_output_shape(self, input_shape):
        if self.keepdims:
            return (input_shape[0],) + (1,) * (self._rank - 2) + (input_shape[-1],)
        return (input_shape[0], input_shape[-1])

    def call(self, inputs):
        return self._reduce(inputs, axis=self._axes, keepdims=self.keepdims)

    def get_config(self):
        return {**super().get_config(), "data_format": "channels_last", "keepdims": self.keepdims}


class GlobalMaxPooling1D(_GlobalPooling):
    _rank = 3


class GlobalMaxPooling2D(_GlobalPooling):
    _rank = 4


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean over the steps; with a mask (batch, steps), the mean over
    the unmasked steps (a row with none gives NaN, as in Keras)."""
    _rank = 3
    _reduce = staticmethod(ops.mean)

    def call(self, inputs, mask=None):
        if mask is None:
            return super().call(inputs)
        m = ops.cast(mask, "float32")
        if tuple(m.shape) != tuple(inputs.shape[:2]):
            raise ValueError(f"GlobalAveragePooling1D '{self.name}' expects a mask of shape (batch, steps) "
                             f"= {tuple(inputs.shape[:2])}. Received: {tuple(m.shape)}")
        m = ops.expand_dims(m, 2)
        total = ops.sum(ops.multiply(inputs, m), axis=1, keepdims=self.keepdims)
        return ops.divide(total, ops.sum(m, axis=1, keepdims=self.keepdims))


MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
GlobalMaxPool2D = GlobalMaxPooling2D
GlobalAvgPool1D = GlobalAveragePooling1D
