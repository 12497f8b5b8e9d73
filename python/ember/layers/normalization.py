"""BatchNormalization over the last (channel) axis."""
from .. import ops
from .base import Layer


class BatchNormalization(Layer):
    """Keras semantics: batch statistics in training (biased variance), moving
    statistics in inference; weights in Keras order gamma, beta, moving_mean,
    moving_variance."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
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
        self.gamma = self.add_weight(shape=(c,), initializer=gi if self.scale else "ones",
                                     trainable=self.scale, name="gamma")
        self.beta = self.add_weight(shape=(c,), initializer=bi if self.center else "zeros",
                                    trainable=self.center, name="beta")
        self.moving_mean = self.add_weight(shape=(c,), initializer=mi, trainable=False,
                                           name="moving_mean")
        self.moving_variance = self.add_weight(shape=(c,), initializer=vi, trainable=False,
                                               name="moving_variance")
        if not self.scale:
            self._weights.remove(self.gamma)
        if not self.center:
            self._weights.remove(self.beta)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs, training=False):
        # As Keras: a frozen BatchNormalization normalises with its moving
        # statistics, also in training.
        if training and self.trainable:
            return ops.batch_norm_train(inputs, self.gamma, self.beta, self.moving_mean,
                                        self.moving_variance, self.momentum, self.epsilon)
        return ops.batch_norm_infer(inputs, self.gamma, self.beta, self.moving_mean,
                                    self.moving_variance, self.epsilon)

    def get_config(self):
        gi, bi, mi, vi = self.initializers
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "gamma_initializer": gi, "beta_initializer": bi,
                "moving_mean_initializer": mi, "moving_variance_initializer": vi}
