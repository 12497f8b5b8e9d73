"""Dense, Activation, Flatten, Reshape, Dropout, Lambda, and the layer that
an op on symbolic tensors becomes."""
import numpy as np

from .. import activations, constraints, initializers, ops, regularizers, utils
from .base import Layer, _fraction, _positive_int, _unique_name


_WEIGHT_OPTIONS = ("kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer",
                   "kernel_constraint", "bias_constraint")
_OPTION_MODULES = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}


def _set_options(layer, **options):
    """Resolves a layer's ``<weight>_initializer``, ``_regularizer`` and
    ``_constraint`` arguments (names, dicts, objects) as Keras does at
    construction, and keeps them as attributes of the same names."""
    for key, value in options.items():
        setattr(layer, key, _OPTION_MODULES[key.rsplit("_", 1)[1]].get(value))
    layer._option_keys = tuple(getattr(layer, "_option_keys", ())) + tuple(options)


def _options_config(layer):
    """Those arguments as they appear in a Keras config."""
    return {key: _OPTION_MODULES[key.rsplit("_", 1)[1]].serialize(getattr(layer, key))
            for key in getattr(layer, "_option_keys", ())}


def _set_weight_options(layer, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                        kernel_constraint, bias_constraint):
    """The kernel-and-bias layers' options (see _set_options)."""
    _set_options(layer, **dict(zip(_WEIGHT_OPTIONS, (kernel_initializer, bias_initializer, kernel_regularizer,
                                                      bias_regularizer, kernel_constraint, bias_constraint))))


class _ActivationMixin:
    def _activate(self, y):
        """The activation after the kernel; a ReLU already ran inside it."""
        if self.activation == "relu":
            return y
        return activations.apply(self.activation, y)

    @property
    def _fused_relu(self):
        return self.activation == "relu"


class Dense(_ActivationMixin, Layer):
    """``activation(inputs @ kernel + bias)``; kernel is (in, units) as in Keras.
    A ReLU runs inside the GEMM's write-out."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self.units = _positive_int(units, "units")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        _set_weight_options(self, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                            kernel_constraint, bias_constraint)

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ValueError(f"Dense expects input of shape (batch, ..., features). Received: {tuple(input_shape)}")
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = self.add_weight(shape=(self.units,), initializer=self.bias_initializer,
                                    name="bias", regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def call(self, inputs):
        return self._activate(ops.dense(inputs, self.kernel, self.bias, self._fused_relu))

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **_options_config(self)}


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def call(self, inputs):
        return activations.apply(self.activation, inputs)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Flatten(Layer):
    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)

    def compute_output_shape(self, input_shape):
        dims = input_shape[1:]
        return (input_shape[0], None if None in dims else int(np.prod(dims)))

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0], -1))


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1:
            raise ValueError(f"Reshape allows one -1 at most. Received: {self.target_shape}")

    def compute_output_shape(self, input_shape):
        if None in input_shape[1:]:
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
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

    def call(self, inputs):
        return ops.reshape(inputs, (inputs.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


class Dropout(Layer):
    """Inverted dropout in training; identity in inference."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.rate = _fraction(rate, "rate", upper_open=True)
        if noise_shape is not None:
            raise ValueError("Dropout's `noise_shape` is not supported; leave it None.")
        self.seed = seed
        self._calls = 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.seed is None:
            seed = utils.next_seed()
        else:
            seed = int(self.seed) * 1000003 + self._calls
        self._calls += 1
        return ops.dropout_op(inputs, self.rate, seed)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class Lambda(Layer):
    """Wraps a function of tensors written with ``ember.ops`` as a layer;
    its gradient comes from the engine."""

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(f"Lambda expects a callable. Received: {function!r}")
        self.function = function
        self.arguments = dict(arguments or {})
        self._output_shape = output_shape

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            raise NotImplementedError
        if callable(self._output_shape):
            return tuple(self._output_shape(input_shape))
        return (input_shape[0],) + tuple(self._output_shape)

    def _has_output_shape(self):
        return self._output_shape is not None

    def get_config(self):
        raise ValueError(f"Lambda layer '{self.name}' wraps Python code, which ember does not "
                         "serialise; rebuild the model in code and use save_weights/load_weights.")


class _OpLayer(Layer):
    """An ``ember.ops`` function called on symbolic tensors: a graph node."""

    def __init__(self, fn, **kwargs):
        super().__init__(name=_unique_name(getattr(fn, "__name__", "op")), **kwargs)
        self.fn = fn
        self.built = True

    def call(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def get_config(self):
        raise ValueError(f"The graph holds the op '{self.fn.__name__}' applied to symbolic tensors, "
                         "which ember does not serialise; use save_weights/load_weights.")


def _symbolic_op(fn, args, kwargs):
    return _OpLayer(fn)(*args, **kwargs)
