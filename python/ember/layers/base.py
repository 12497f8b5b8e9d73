"""The Layer base class, weights (Variable), initializers and Input."""
import re

import numpy as np

from .. import cuda, utils

_name_counts = {}


def _unique_name(base):
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace("2_d", "2d")


class Variable:
    """A weight that optimizers update in place: a float32 NumPy array, or a
    DeviceArray once its model has moved to the GPU (``model.to("cuda")``)."""

    def __init__(self, value, name, trainable=True):
        self.value = np.ascontiguousarray(value, dtype=np.float32)
        self.name = name
        self.trainable = trainable

    @property
    def shape(self):
        return tuple(self.value.shape)

    @property
    def device(self):
        return "cuda" if cuda.is_device_array(self.value) else "cpu"

    def numpy(self):
        """A host copy of the value."""
        return np.array(self.value, dtype=np.float32, copy=True)

    def assign(self, value):
        value = np.ascontiguousarray(value, dtype=np.float32)
        if value.shape != self.shape:
            raise ValueError(f"Cannot assign to variable '{self.name}': expected shape "
                             f"{self.shape}, received {value.shape}")
        if cuda.is_device_array(self.value):
            self.value.copy_from(value)
        else:
            self.value[...] = value

    def to(self, device):
        self.value = cuda.place(self.value, device)

    def __repr__(self):
        return f"<Variable {self.name} shape={self.shape}>"


def _fans(shape):
    if len(shape) == 2:
        return shape[0], shape[1]
    if len(shape) == 4:
        receptive = shape[0] * shape[1]
        return shape[2] * receptive, shape[3] * receptive
    n = int(np.prod(shape)) if shape else 1
    return n, n


_INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
                 "lecun_normal", "zeros", "ones", "random_normal", "random_uniform")


def initialize(kind, shape):
    """Initial weights drawn from ember's seeded generator, Keras formulas."""
    if not isinstance(kind, str) or kind not in _INITIALIZERS:
        raise ValueError(f"Unknown initializer: {kind!r}. Expected one of {', '.join(_INITIALIZERS)}.")
    rng = utils.rng()
    fan_in, fan_out = _fans(shape)
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    if kind == "ones":
        return np.ones(shape, np.float32)
    if kind == "random_normal":
        return (rng.standard_normal(shape) * 0.05).astype(np.float32)
    if kind == "random_uniform":
        return rng.uniform(-0.05, 0.05, shape).astype(np.float32)
    scale = {"glorot": 2.0 / max(fan_in + fan_out, 1), "he": 2.0 / max(fan_in, 1),
             "lecun": 1.0 / max(fan_in, 1)}[kind.split("_")[0]]
    if kind.endswith("uniform"):
        limit = np.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape).astype(np.float32)
    # Truncated normal at two standard deviations, as Keras's variance scaling.
    std = np.sqrt(scale) / 0.87962566103423978
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return (out * std).astype(np.float32)


def as_tuple(value, n, name):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"Argument `{name}` must be an int or a tuple of {n} ints. Received: {value!r}")
    if len(value) != n or any(v <= 0 for v in value):
        raise ValueError(f"Argument `{name}` must be {n} positive integers. Received: {value!r}")
    return value


def check_padding(padding):
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"Argument `padding` must be 'valid' or 'same'. Received: {padding!r}")
    return padding.lower()


class Layer:
    """Base layer: ``build`` creates weights for an input shape, ``call`` runs
    the forward pass (keeping what ``backward`` needs when training),
    ``backward`` returns the input gradient and sets ``self.grads``, one per
    trainable weight."""

    def __init__(self, name=None, trainable=True, input_shape=None, batch_input_shape=None,
                 dtype=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32):
            raise ValueError(f"ember computes in float32. Received: dtype={dtype!r}")
        self.name = name or _unique_name(_snake(type(self).__name__))
        self.trainable = trainable
        self.built = False
        self._weights = []
        self.grads = []
        self.input_shape = None
        self.output_shape = None
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        self._declared_input_shape = tuple(input_shape) if input_shape is not None else None

    # ----- weights
    def add_weight(self, name, shape, initializer="zeros", trainable=True):
        var = Variable(initialize(initializer, tuple(shape)), f"{self.name}/{name}", trainable)
        self._weights.append(var)
        return var

    @property
    def weights(self):
        return list(self._weights)

    @property
    def trainable_weights(self):
        return [w for w in self._weights if w.trainable] if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return list(self._weights)
        return [w for w in self._weights if not w.trainable]

    def get_weights(self):
        return [w.numpy() for w in self._weights]

    def set_weights(self, weights):
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ValueError(f"Layer '{self.name}' expects {len(self._weights)} weight arrays. "
                             f"Received: {len(weights)}")
        for var, value in zip(self._weights, weights):
            var.assign(value)

    def count_params(self):
        return int(sum(w.value.size for w in self._weights))

    def _to(self, device):
        """Moves every variable of this layer (weights, and any kept outside
        the weight list) to device."""
        for value in vars(self).values():
            if isinstance(value, Variable):
                value.to(device)

    # ----- shapes and calls
    def build(self, input_shape):
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def _ensure_built(self, input_shape):
        if not self.built:
            self.build(tuple(input_shape))

    def __call__(self, x, training=False):
        x = np.ascontiguousarray(x, dtype=np.float32)
        self._ensure_built((None,) + x.shape[1:])
        return self.call(x, training=training)

    def call(self, x, training=False):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError(f"{type(self).__name__} has no backward pass")

    # ----- config
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable}
        if self._declared_input_shape is not None:
            config["input_shape"] = list(self._declared_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class InputLayer(Layer):
    """Declares the input shape (without the batch axis) of a Sequential model."""

    def __init__(self, shape=None, batch_size=None, name=None, input_shape=None, **kwargs):
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("Input needs a `shape`, for example Input(shape=(28, 28, 1)).")
        shape = tuple(int(d) for d in shape)
        super().__init__(name=name, input_shape=shape, **kwargs)
        self.shape = (None,) + shape

    def call(self, x, training=False):
        return x

    def backward(self, dy):
        return dy

    def get_config(self):
        return {"name": self.name, "shape": list(self.shape[1:])}


def Input(shape=None, batch_size=None, name=None, **kwargs):
    """``Input(shape=(28, 28, 1))``: the first entry of a Sequential model."""
    return InputLayer(shape=shape, batch_size=batch_size, name=name, **kwargs)
