"""Activation layers (Keras 3 names and arguments): ReLU, LeakyReLU, PReLU,
ELU and Softmax, each written with ``ember.ops``."""
import numpy as np

from .. import ops
from .base import Layer, _axis_arg, _shape_str
from .core import _options_config, _set_options


def _number(value, name, allow_none=False, minimum=None):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"Argument `{name}` must be a number{' or None' if allow_none else ''}. "
                         f"Received: {name}={value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"Argument `{name}` must be >= {minimum}. Received: {name}={value!r}")
    return float(value)


class _Elementwise(Layer):
    _mask_passthrough = True
    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(_Elementwise):
    """``max_value`` (clip) if x >= max_value, x if threshold < x, else
    ``negative_slope * (x - threshold)``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number(max_value, "max_value", allow_none=True, minimum=0.0)
        self.negative_slope = _number(negative_slope, "negative_slope", minimum=0.0)
        self.threshold = _number(threshold, "threshold", minimum=0.0)

    def call(self, inputs):
        slope, top, thr = self.negative_slope, self.max_value, self.threshold
        if top is None and thr == 0:
            return ops.relu(inputs) if slope == 0 else ops.leaky_relu(inputs, slope)
        y = ops.where(ops.greater(inputs, thr), inputs, 0.0) if thr else ops.relu(inputs)
        if top is not None:
            y = ops.minimum(y, top)
        if slope:
            y = ops.subtract(y, ops.multiply(ops.relu(ops.subtract(thr, inputs)), slope))
        return y

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(_Elementwise):
    """x if x > 0 else ``negative_slope * x`` (0.3 by default, as Keras 3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:  # Keras 2's name, still accepted by Keras 3
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        self.negative_slope = _number(negative_slope, "negative_slope", minimum=0.0)

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class PReLU(_Elementwise):
    """x if x > 0 else ``alpha * x`` with a learned ``alpha`` of the input's
    shape (without the batch axis); ``shared_axes`` share one alpha along
    those axes (1 is the first non-batch axis)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        if shared_axes is not None:
            shared = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) or a < 1 for a in shared):
                raise ValueError("Argument `shared_axes` must hold ints >= 1 (axis 0 is the batch). "
                                 f"Received: shared_axes={shared_axes!r}")
            shared_axes = [int(a) for a in shared]
        self.shared_axes = shared_axes
        _set_options(self, alpha_initializer=alpha_initializer, alpha_regularizer=alpha_regularizer,
                     alpha_constraint=alpha_constraint)

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes or ():
            if a > len(shape):
                raise ValueError(f"PReLU '{self.name}': shared axis {a} is out of bounds for input shape "
                                 f"{_shape_str(tuple(input_shape))}. Received: shared_axes={self.shared_axes}")
            shape[a - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU '{self.name}' needs every non-shared axis known. Received: input shape "
                             f"{_shape_str(tuple(input_shape))}, shared_axes={self.shared_axes}")
        self.alpha = self.add_weight(shape=tuple(shape), initializer=self.alpha_initializer, name="alpha",
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        self.built = True

    def call(self, inputs):
        return ops.subtract(ops.relu(inputs), ops.multiply(self.alpha, ops.relu(ops.negative(inputs))))

    def get_config(self):
        return {**super().get_config(), **_options_config(self),
                "shared_axes": self.shared_axes}


class ELU(_Elementwise):
    """x if x > 0 else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(alpha, "alpha")

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(_Elementwise):
    """Softmax over ``axis`` (an int or a list of ints). With a boolean
    ``mask`` broadcastable to the input, masked positions take -1e9 before
    the softmax and 0 after it, as Keras does."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = _axis_arg(axis)

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = ops.convert_to_tensor(mask)
            ms, xs = tuple(mask.shape), tuple(inputs.shape)
            if len(ms) > len(xs) or any(m not in (1, x) for m, x in zip(ms[::-1], xs[::-1])):
                raise ValueError(f"Softmax '{self.name}': the mask must broadcast to the input. Received: "
                                 f"inputs.shape={xs}, mask.shape={ms}")
            if mask.dtype != "bool":
                mask = ops.greater(mask, 0.5)
            inputs = ops.where(mask, inputs, -1e9)
        if isinstance(self.axis, list) and len(self.axis) > 1:
            y = ops.exp(ops.subtract(inputs, ops.logsumexp(inputs, axis=self.axis, keepdims=True)))
        else:
            y = ops.softmax(inputs, axis=self.axis[0] if isinstance(self.axis, list) else self.axis)
        return y if mask is None else ops.where(mask, y, 0.0)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
