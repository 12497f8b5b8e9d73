"""BatchNormalization over the last (channel) axis."""
from .. import _core
from .base import Layer


class BatchNormalization(Layer):
    """Keras semantics: batch statistics in training (biased variance), moving
    statistics in inference; weights in Keras order gamma, beta, moving_mean,
    moving_variance."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1,):
            if not isinstance(axis, int):
                raise ValueError(f"BatchNormalization supports one axis. Received: axis={axis!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.initializers = (gamma_initializer, beta_initializer, moving_mean_initializer,
                             moving_variance_initializer)

    def build(self, input_shape):
        if self.axis not in (-1, len(input_shape) - 1):
            raise ValueError(f"ember's BatchNormalization normalises the last axis. Received: axis={self.axis} "
                             f"for input shape {tuple(input_shape)}")
        c = input_shape[-1]
        gi, bi, mi, vi = self.initializers
        self.gamma = self.add_weight("gamma", (c,), gi if self.scale else "ones", trainable=self.scale)
        self.beta = self.add_weight("beta", (c,), bi if self.center else "zeros", trainable=self.center)
        self.moving_mean = self.add_weight("moving_mean", (c,), mi, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (c,), vi, trainable=False)
        if not self.scale:
            self._weights.remove(self.gamma)
        if not self.center:
            self._weights.remove(self.beta)
        super().build(input_shape)

    def call(self, x, training=False):
        if not training:
            return _core.batch_norm_infer(x, self.gamma.value, self.beta.value, self.moving_mean.value,
                                          self.moving_variance.value, self.epsilon)
        y, mean, var = _core.batch_norm_train(x, self.gamma.value, self.beta.value,
                                              self.moving_mean.value, self.moving_variance.value,
                                              self.momentum, self.epsilon)
        self._cache = (x, mean, var)
        return y

    def backward(self, dy):
        x, mean, var = self._cache
        dx, dgamma, dbeta = _core.batch_norm_backward(dy, x, self.gamma.value, mean, var, self.epsilon)
        self.grads = ([dgamma] if self.scale else []) + ([dbeta] if self.center else [])
        return dx

    def get_config(self):
        gi, bi, mi, vi = self.initializers
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "gamma_initializer": gi, "beta_initializer": bi,
                "moving_mean_initializer": mi, "moving_variance_initializer": vi}
