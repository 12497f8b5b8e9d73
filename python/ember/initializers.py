"""Initializers as Keras 3 names them: objects called as ``init(shape,
dtype=None)`` that return a tensor, with Keras's formulas, defaults and
configs. Random ones draw from ember's seeded generator
(``ember.utils.set_random_seed``) when ``seed`` is None; an int ``seed``
gives the same values at every call (as Keras 3), a ``SeedGenerator`` new
ones at each call. ``get`` turns a name ('glorot_uniform', 'he_normal',
'orthogonal', ...), a config dict, a class or a callable into one; every
layer weight goes through it (``Layer.add_weight``)."""
import numpy as np

from . import random as _random
from .engine import Tensor, convert_to_tensor
from .serialization import check_number, lookup, serialize_object


def compute_fans(shape, input_axes=None, output_axes=None):
    """(fan_in, fan_out) of a weight shape, as Keras: a matrix is (in, out);
    a convolution kernel (..., in, out) multiplies both by its receptive
    field; a vector has fan_in = fan_out = its length; a scalar 1."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return int(np.prod([shape[a] for a in input_axes])), int(np.prod([shape[a] for a in output_axes]))
    if not shape:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """The base: ``__call__(shape, dtype=None)`` returns a float32 tensor."""

    def __call__(self, shape, dtype=None):
        shape = _random.check_shape(shape)
        if dtype not in (None, "float32", np.float32) and not self._any_dtype:
            raise ValueError(f"{type(self).__name__} draws float32 values (ember's storage type). "
                             f"Received: dtype={dtype!r}")
        values = np.asarray(self._draw(shape), dtype=np.float64)
        if dtype not in (None, "float32", np.float32):
            return convert_to_tensor(values, dtype)
        return Tensor(np.asarray(values, dtype=np.float32, order="C"))

    _any_dtype = False

    def _draw(self, shape):
        raise NotImplementedError(f"{type(self).__name__} must define __call__ or _draw.")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        return type(self).from_config(self.get_config())


class Zeros(Initializer):
    _any_dtype = True

    def _draw(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    _any_dtype = True

    def _draw(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    """Fills with ``value`` (a number, or an array broadcast to the shape)."""
    _any_dtype = True

    def __init__(self, value=0.0):
        if isinstance(value, (list, tuple, np.ndarray)):
            arr = np.asarray(value)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"Constant expects a number or a numeric array. Received: value={value!r}")
            value = arr.tolist()
        else:
            value = check_number(value, "value", non_negative=False)
        self.value = value

    def _draw(self, shape):
        value = np.asarray(self.value, np.float64)
        try:
            return np.broadcast_to(value, shape)
        except ValueError:
            raise ValueError(f"Constant's value of shape {value.shape} does not broadcast to the weight shape. "
                             f"Received: shape={shape}") from None

    def get_config(self):
        return {"value": self.value}


class RandomInitializer(Initializer):
    def __init__(self, seed=None):
        if isinstance(seed, dict):
            seed = _random.SeedGenerator.from_config(seed.get("config", seed))
        self.seed = _random.check_seed(seed)

    def _rng(self):
        return _random.rng_for(self.seed)

    def get_config(self):
        seed = self.seed
        if isinstance(seed, _random.SeedGenerator):
            seed = serialize_object(seed, "keras.random")
        return {"seed": seed}


class RandomNormal(RandomInitializer):
    """Draws from N(mean, stddev**2)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean = check_number(mean, "mean", non_negative=False)
        self.stddev = check_number(stddev, "stddev")
        super().__init__(seed)

    def _draw(self, shape):
        return self.mean + self.stddev * self._rng().standard_normal(shape)

    def get_config(self):
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """Draws from N(mean, stddev**2), redrawing values beyond two stddevs."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(mean, stddev, seed)

    def _draw(self, shape):
        return self.mean + self.stddev * _random.truncated_standard_normal(self._rng(), shape)


class RandomUniform(RandomInitializer):
    """Draws from U[minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval = check_number(minval, "minval", non_negative=False)
        self.maxval = check_number(maxval, "maxval", non_negative=False)
        super().__init__(seed)

    def _draw(self, shape):
        return self._rng().uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(RandomInitializer):
    """Draws with variance ``scale / n``, n the fan chosen by ``mode``:
    truncated normal (stddev corrected for the cut at two stddevs), plain
    normal, or uniform in [-sqrt(3 scale / n), sqrt(3 scale / n)]."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        scale = check_number(scale, "scale")
        if scale <= 0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale!r}")
        if not isinstance(mode, str) or mode.lower() not in _MODES:
            raise ValueError(f"Invalid `mode` argument. Expected one of {list(_MODES)}. Received: mode={mode!r}")
        if not isinstance(distribution, str) or distribution.lower() not in _DISTRIBUTIONS + ("normal",):
            raise ValueError(f"Invalid `distribution` argument. Expected one of {list(_DISTRIBUTIONS)}. "
                             f"Received: distribution={distribution!r}")
        distribution = distribution.lower()
        self.scale, self.mode = scale, mode.lower()
        self.distribution = "truncated_normal" if distribution == "normal" else distribution
        if (input_axes is None) != (output_axes is None):
            raise ValueError("`input_axes` and `output_axes` go together. "
                             f"Received: input_axes={input_axes!r}, output_axes={output_axes!r}")
        self.input_axes = None if input_axes is None else [int(a) for a in input_axes]
        self.output_axes = None if output_axes is None else [int(a) for a in output_axes]
        super().__init__(seed)

    def _variance(self, shape):
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return self.scale / max(1.0, n)

    def _draw(self, shape):
        variance = self._variance(shape)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = np.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return rng.standard_normal(shape) * np.sqrt(variance)
        # 0.8796... is the stddev of a standard normal cut at +-2.
        return _random.truncated_standard_normal(rng, shape) * (np.sqrt(variance) / 0.87962566103423978)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": RandomInitializer.get_config(self)["seed"], "input_axes": self.input_axes,
                "output_axes": self.output_axes}
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                           "__module__": __name__})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform", "U[-l, l], l = sqrt(6 / (fan_in + fan_out)).")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Truncated normal, variance 2 / (fan_in + fan_out).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform", "U[-l, l], l = sqrt(6 / fan_in).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal", "Truncated normal, variance 2 / fan_in.")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform", "U[-l, l], l = sqrt(3 / fan_in).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal", "Truncated normal, variance 1 / fan_in.")


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain``: the Q of the QR
    decomposition of a normal draw, its columns' signs fixed by R's diagonal
    so that the result is uniformly distributed. A kernel of more than two
    axes is treated as the matrix (prod(shape[:-1]), shape[-1])."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = check_number(gain, "gain", non_negative=False)
        super().__init__(seed)

    def _draw(self, shape):
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        signs = np.sign(np.diag(r))
        q = q * np.where(signs == 0, 1.0, signs)
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain}


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D weights only; a rectangular
    one has ones on its main diagonal)."""

    def __init__(self, gain=1.0):
        self.gain = check_number(gain, "gain", non_negative=False)

    def _draw(self, shape):
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return self.gain * np.eye(*shape)

    def get_config(self):
        return {"gain": self.gain}


# The lower-case names Keras exports are the classes themselves.
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal, variance_scaling = (RandomNormal, RandomUniform, TruncatedNormal,
                                                                     VarianceScaling)
glorot_uniform, glorot_normal, he_uniform, he_normal = GlorotUniform, GlorotNormal, HeUniform, HeNormal
lecun_uniform, lecun_normal, orthogonal, identity = LecunUniform, LecunNormal, Orthogonal, Identity
OrthogonalInitializer, IdentityInitializer = Orthogonal, Identity

_CLASSES = (Initializer, Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
            GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal, Identity)
_ALL = {cls.__name__: cls for cls in _CLASSES}
_ALL.update({"initializer": Initializer, "zeros": Zeros, "ones": Ones, "constant": Constant,
             "random_normal": RandomNormal, "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
             "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
             "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
             "lecun_normal": LecunNormal, "orthogonal": Orthogonal, "identity": Identity,
             # Keras's extra aliases
             "normal": RandomNormal, "uniform": RandomUniform, "one": Ones, "zero": Zeros,
             "OrthogonalInitializer": Orthogonal, "IdentityInitializer": Identity})


def _from_array(value):
    value = np.asarray(value.numpy() if isinstance(value, Tensor) else value)

    def initialize(shape, dtype=None):
        if _random.check_shape(shape) != value.shape:
            raise ValueError(f"Expected `shape` to be {value.shape} for an array used as initializer. "
                             f"Received: shape={tuple(shape)}")
        return convert_to_tensor(value.astype(np.float32) if dtype in (None, "float32") else value, dtype)
    return initialize


def get(identifier, custom_objects=None):
    """An initializer from a name, a config dict, an Initializer, a class, a
    callable ``f(shape, dtype=None)``, or an array of the weight's value."""
    if isinstance(identifier, (np.ndarray, np.generic, Tensor)):
        return _from_array(identifier)
    return lookup(identifier, _ALL, "initializer", Initializer, custom_objects)


def serialize(initializer):
    return serialize_object(initializer, "keras.initializers")


def deserialize(config, custom_objects=None):
    return get(config, custom_objects)


def initial_value(initializer, shape):
    """The float32 array a weight of ``shape`` starts from."""
    value = get(initializer)(tuple(shape), dtype="float32")
    value = np.asarray(value.numpy() if isinstance(value, Tensor) else value, dtype=np.float32)
    if value.shape != tuple(shape):
        raise ValueError(f"The initializer {initializer!r} returned shape {value.shape}. Expected: {tuple(shape)}"[:400])
    return np.asarray(value, order="C")
