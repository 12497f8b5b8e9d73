"""BatchNormalization over the last (channel) axis."""
from .. import constraints, initializers, ops, regularizers
from .base import Layer


class BatchNormalization(Layer):
    """Keras semantics: batch statistics in training (biased variance), moving
    statistics in inference; weights in Keras order gamma, beta, moving_mean,
    moving_variance."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if axis not in (-1,):
            if not isinstance(axis, int):
                raise ValueError(f"BatchNormalization supports one axis. Received: axis={axis!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.initializers = tuple(initializers.get(i) for i in (gamma_initializer, beta_initializer,
                                                                 moving_mean_initializer, moving_variance_initializer))
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.beta_constraint = constraints.get(beta_constraint)

    def build(self, input_shape):
        if self.axis not in (-1, len(input_shape) - 1):
            raise ValueError(f"ember's BatchNormalization normalises the last axis. Received: axis={self.axis} "
                             f"for input shape {tuple(input_shape)}")
        c = input_shape[-1]
        gi, bi, mi, vi = self.initializers
        self.gamma = self.add_weight(shape=(c,), initializer=gi if self.scale else "ones",
                                     trainable=self.scale, name="gamma",
                                     regularizer=self.gamma_regularizer if self.scale else None,
                                     constraint=self.gamma_constraint if self.scale else None)
        self.beta = self.add_weight(shape=(c,), initializer=bi if self.center else "zeros",
                                    trainable=self.center, name="beta",
                                    regularizer=self.beta_regularizer if self.center else None,
                                    constraint=self.beta_constraint if self.center else None)
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
        gi, bi, mi, vi = (initializers.serialize(i) for i in self.initializers)
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "gamma_initializer": gi, "beta_initializer": bi,
                "moving_mean_initializer": mi, "moving_variance_initializer": vi,
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}
