"""Dense, Activation, Flatten, Reshape, Dropout."""
import numpy as np

from .. import _core, activations, utils
from .base import Layer


class _ActivationMixin:
    """Shared by layers with an ``activation`` argument. When the model fuses
    a final softmax into the loss, ``_emit_logits`` makes the layer return
    (and take gradients for) the pre-activation values in training."""

    _emit_logits = False

    @property
    def _fused_relu(self):
        # A ReLU runs inside the kernel's write-out (and its gradient inside
        # the backward kernel) instead of as a separate pass.
        return self.activation == "relu"

    def _activate(self, pre, training):
        if self._emit_logits and training:
            return pre
        return activations.forward(self.activation, pre)

    def _finish(self, x, pre, training):
        """Output from the kernel's result (already activated when the ReLU
        was fused), keeping what backward needs when training."""
        y = pre if self._fused_relu else self._activate(pre, training)
        if training:
            self._cache = (x, pre, y)
        return y

    def _activation_grad(self, dy, pre, y):
        if self._emit_logits:
            return dy
        return activations.backward(self.activation, dy, pre, y)


class Dense(_ActivationMixin, Layer):
    """``activation(x @ kernel + bias)``; kernel is (in, units) as in Keras."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Argument `units` must be a positive int. Received: {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense expects input of shape (batch, ..., features). Received: {tuple(input_shape)}")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), self.kernel_initializer)
        self.bias = self.add_weight("bias", (self.units,), self.bias_initializer) if self.use_bias else None
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, x, training=False):
        pre = _core.dense(x, self.kernel.value, self.bias.value if self.use_bias else None,
                          self._fused_relu)
        return self._finish(x, pre, training)

    def backward(self, dy):
        x, pre, y = self._cache
        if self._fused_relu:
            dpre = _core.relu_grad_from_output(dy, y)
        else:
            dpre = self._activation_grad(dy, pre, y)
        dx, dk, db = _core.dense_backward(dpre, x, self.kernel.value, self.use_bias)
        self.grads = [dk, db] if self.use_bias else [dk]
        return dx

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer}


class Activation(_ActivationMixin, Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, x, training=False):
        y = self._activate(x, training)
        if training:
            self._cache = (x, y)
        return y

    def backward(self, dy):
        x, y = self._cache
        return self._activation_grad(dy, x, y)

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class Flatten(Layer):
    def compute_output_shape(self, input_shape):
        dims = input_shape[1:]
        return (input_shape[0], None if None in dims else int(np.prod(dims)))

    def call(self, x, training=False):
        if training:
            self._in_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self._in_shape)


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape allows one -1 at most. Received: {self.target_shape}")

    def compute_output_shape(self, input_shape):
        total = int(np.prod(input_shape[1:]))
        known = int(np.prod([d for d in self.target_shape if d != -1]))
        if -1 in self.target_shape:
            if known == 0 or total % known:
                raise ValueError(f"Cannot reshape {tuple(input_shape[1:])} into {self.target_shape}")
            return (input_shape[0],) + tuple(total // known if d == -1 else d for d in self.target_shape)
        if known != total:
            raise ValueError(f"Cannot reshape input of shape {tuple(input_shape[1:])} ({total} values) "
                             f"into {self.target_shape} ({known} values)")
        return (input_shape[0],) + self.target_shape

    def call(self, x, training=False):
        if training:
            self._in_shape = x.shape
        return x.reshape((x.shape[0],) + self.output_shape[1:])

    def backward(self, dy):
        return dy.reshape(self._in_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Dropout(Layer):
    """Inverted dropout in training; identity in inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Argument `rate` must be in [0, 1). Received: {rate!r}")
        if noise_shape is not None:
            raise ValueError("Dropout's `noise_shape` is not supported; leave it None.")
        self.rate = float(rate)
        self.seed = seed
        self._calls = 0

    def call(self, x, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return x
        if self.seed is None:
            seed = utils.next_seed()
        else:
            seed = int(self.seed) * 1000003 + self._calls
        self._calls += 1
        y, self._mask = _core.dropout(x, self.rate, seed)
        return y

    def backward(self, dy):
        return dy if self._mask is None else _core.dropout_backward(dy, self._mask)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
