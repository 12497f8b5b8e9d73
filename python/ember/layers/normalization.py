"""BatchNormalization over the last (channel) axis; LayerNormalization over
any axes of each sample."""
from .. import initializers, ops
from .base import Layer, _axis_arg
from .core import _options_config, _set_options


class BatchNormalization(Layer):
    """Keras semantics: batch statistics in training (biased variance), moving
    statistics in inference; weights in Keras order gamma, beta, moving_mean,
    moving_variance."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if axis not in (-1,):
            if not isinstance(axis, int):
                raise ValueError(f"BatchNormalization supports one axis. Received: axis={axis!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.initializers = tuple(initializers.get(i) for i in (gamma_initializer, beta_initializer,
                                                                 moving_mean_initializer, moving_variance_initializer))
        _set_options(self, beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                     beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)

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
                "moving_mean_initializer": mi, "moving_variance_initializer": vi, **_options_config(self)}


class LayerNormalization(Layer):
    """Normalises each sample over ``axis`` (an int or a list of ints):
    ``(x - mean) / sqrt(var + epsilon) * gamma + beta``, with the mean and the
    biased variance of the sample. Keras 3's arguments and weights (gamma,
    then beta, shaped as the normalised axes). ``rms_scaling=True`` is Keras's
    deprecated variant: ``x / sqrt(var + epsilon) * gamma``, without beta."""
    _mask_passthrough = True

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        axis = _axis_arg(axis)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon < 0:
            raise ValueError(f"Argument `epsilon` must be a non-negative float. Received: epsilon={epsilon!r}")
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center, self.scale, self.rms_scaling = bool(center), bool(scale), bool(rms_scaling)
        _set_options(self, beta_initializer=beta_initializer, gamma_initializer=gamma_initializer,
                     beta_regularizer=beta_regularizer, gamma_regularizer=gamma_regularizer,
                     beta_constraint=beta_constraint, gamma_constraint=gamma_constraint)
        self.gamma = self.beta = None

    def _resolve(self, input_shape):
        nd = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -nd <= a < nd:
                raise ValueError(f"LayerNormalization '{self.name}': axis {a} is out of bounds for input shape "
                                 f"{tuple(input_shape)}. Received: axis={self.axis}")
        out = sorted({a % nd for a in axes})
        if len(out) != len(axes):
            raise ValueError(f"LayerNormalization '{self.name}': `axis` repeats an axis. Received: axis={self.axis}")
        return out

    def build(self, input_shape):
        self._axes = self._resolve(input_shape)
        shape = tuple(input_shape[a] for a in self._axes)
        if any(d is None for d in shape):
            raise ValueError(f"LayerNormalization '{self.name}' needs the normalised axes {self._axes} to be "
                             f"known. Received: input shape {tuple(input_shape)}")
        # The weights' shape broadcast against the input.
        self._bshape = [input_shape[a] if a in self._axes else 1 for a in range(len(input_shape))]
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(shape=shape, initializer=self.gamma_initializer, name="gamma",
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(shape=shape, initializer=self.beta_initializer, name="beta",
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.built = True

    def compute_output_shape(self, input_shape):
        self._resolve(input_shape)
        return tuple(input_shape)

    def _broadcast(self, w):
        return w if self._axes == [len(self._bshape) - 1] else ops.reshape(w, self._bshape)

    def call(self, inputs):
        if inputs.ndim != len(self._bshape):
            raise ValueError(f"LayerNormalization '{self.name}' was built for rank {len(self._bshape)}. "
                             f"Received: input shape {inputs.shape}")
        mean = ops.mean(inputs, axis=self._axes, keepdims=True)
        var = ops.mean(ops.square(ops.subtract(inputs, mean)), axis=self._axes, keepdims=True)
        inv = ops.rsqrt(ops.add(var, self.epsilon))
        if self.gamma is not None:
            inv = ops.multiply(inv, self._broadcast(self.gamma))
        if self.rms_scaling:
            return ops.multiply(inputs, inv)
        shift = ops.negative(ops.multiply(mean, inv))
        if self.beta is not None:
            shift = ops.add(shift, self._broadcast(self.beta))
        return ops.add(ops.multiply(inputs, inv), shift)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": self.rms_scaling, **_options_config(self)}
