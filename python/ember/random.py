"""keras.random on ember: normal, uniform, truncated_normal, randint,
categorical, shuffle, dropout and SeedGenerator, with Keras 3's signatures.

``seed`` is as in Keras 3: an int makes a call stateless (the same int gives
the same numbers at every call), a ``SeedGenerator`` gives a new draw at each
call (the same start seed gives the same sequence), and None draws from
ember's global generator (``ember.utils.set_random_seed``). Draws are made in
float64 by NumPy's PCG64 and stored as float32; dropout runs in the C++
kernel with its counter-based mask."""
import numpy as np

from . import ops, utils
from .engine import Tensor, convert_to_tensor

_SEED_ERROR = ("`seed` argument should be an instance of `ember.random.SeedGenerator()` or an integer. "
               "Received: seed={!r}")


class SeedGenerator:
    """A stream of seeds: ``SeedGenerator(1337)`` gives the same sequence of
    draws in every run; each draw advances it. Without a seed, the start is
    drawn from ember's global generator (reproducible under
    ``set_random_seed``)."""

    def __init__(self, seed=None, name=None, **kwargs):
        kwargs.pop("backend", None)  # Keras's argument naming its backend
        if kwargs:
            raise TypeError(f"SeedGenerator got unexpected keyword arguments: {sorted(kwargs)}")
        if seed is None:
            seed = int(utils.rng().integers(0, 2**31 - 1))
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"Argument `seed` must be an integer. Received: seed={seed!r}")
        self.seed = int(seed)
        self.name = name or "seed_generator"
        self._rng = np.random.default_rng(self.seed & (2**64 - 1))

    def next(self, ordered=True):
        """The next seed of the stream (a non-negative 63-bit int)."""
        return int(self._rng.integers(0, 2**63 - 1))

    def get_config(self):
        return {"seed": self.seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator seed={self.seed}>"


def check_seed(seed):
    """Raises unless ``seed`` is None, an int or a SeedGenerator."""
    if seed is None or isinstance(seed, SeedGenerator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(_SEED_ERROR.format(seed))
    return int(seed)


def rng_for(seed):
    """The NumPy generator one draw uses, from a Keras 3 ``seed``."""
    seed = check_seed(seed)
    if seed is None:
        return utils.rng()
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed.next())
    return np.random.default_rng(seed & (2**64 - 1))


def _int_seed(seed):
    """A 63-bit seed for a C++ kernel's counter-based RNG."""
    seed = check_seed(seed)
    if seed is None:
        return utils.next_seed()
    if isinstance(seed, SeedGenerator):
        return seed.next()
    return seed & (2**63 - 1)


def check_shape(shape):
    """A shape as a tuple of non-negative ints (an int n means (n,))."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        out = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"`shape` must be a tuple of non-negative ints. Received: shape={shape!r}") from None
    if any(d < 0 for d in out):
        raise ValueError(f"`shape` must be a tuple of non-negative ints. Received: shape={shape!r}")
    return out


def _float_dtype(dtype, fn):
    if dtype is None or dtype in ("float32", np.float32) or np.dtype(dtype) == np.float32:
        return
    raise ValueError(f"`ember.random.{fn}` draws float32 values (ember's storage type). "
                     f"Received: dtype={dtype!r}")


def _tensor(values):
    return Tensor(np.asarray(values, dtype=np.float32, order="C"))


def _number(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`{name}` must be a number. Received: {name}={value!r}")
    return float(value)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from N(mean, stddev**2)."""
    _float_dtype(dtype, "normal")
    shape, mean, stddev = check_shape(shape), _number(mean, "mean"), _number(stddev, "stddev")
    return _tensor(mean + stddev * rng_for(seed).standard_normal(shape))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Draws from U[minval, maxval)."""
    _float_dtype(dtype, "uniform")
    shape, lo, hi = check_shape(shape), _number(minval, "minval"), _number(maxval, "maxval")
    return _tensor(rng_for(seed).uniform(lo, hi, shape))


def truncated_standard_normal(rng, shape):
    """Standard normal draws, each redrawn until it lies within two standard
    deviations (Keras's truncated normal)."""
    out = rng.standard_normal(shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Draws from N(mean, stddev**2) cut at two standard deviations (values
    further out are redrawn)."""
    _float_dtype(dtype, "truncated_normal")
    shape, mean, stddev = check_shape(shape), _number(mean, "mean"), _number(stddev, "stddev")
    return _tensor(mean + stddev * truncated_standard_normal(rng_for(seed), shape))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Integers drawn uniformly from [minval, maxval)."""
    shape = check_shape(shape)
    if np.dtype(dtype).kind not in "iu":
        raise ValueError(f"`ember.random.randint` requires an integer `dtype`. Received: dtype={dtype!r}")
    for name, v in (("minval", minval), ("maxval", maxval)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"`{name}` must be an int. Received: {name}={v!r}")
    if maxval <= minval:
        raise ValueError(f"`maxval` must be greater than `minval`. Received: minval={minval}, maxval={maxval}")
    if max(abs(int(minval)), abs(int(maxval))) > 2**24:
        # Tensors store float32 values: larger integers would round.
        raise ValueError(f"ember's integer tensors hold values up to 2**24 exactly. "
                         f"Received: minval={minval}, maxval={maxval}")
    return convert_to_tensor(rng_for(seed).integers(int(minval), int(maxval), shape), np.dtype(dtype).name)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """For each row of ``logits`` (batch, classes), ``num_samples`` class
    indices drawn with probabilities softmax(row): (batch, num_samples)."""
    logits = np.asarray(ops.convert_to_numpy(logits) if isinstance(logits, Tensor) else logits, np.float64)
    if logits.ndim != 2 or logits.shape[1] == 0:
        raise ValueError(f"`logits` must be a 2-D (batch, classes) array with at least one class. "
                         f"Received: logits.shape={logits.shape}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 0:
        raise ValueError(f"`num_samples` must be a non-negative int. Received: num_samples={num_samples!r}")
    if np.dtype(dtype).kind not in "iu":
        raise ValueError(f"`ember.random.categorical` requires an integer `dtype`. Received: dtype={dtype!r}")
    batch, classes = logits.shape
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    cdf = np.cumsum(p, axis=1)
    cdf /= cdf[:, -1:]
    u = rng_for(seed).random((batch, int(num_samples)))
    # One searchsorted for all rows: row r's CDF is shifted to [r, r + 1].
    rows = np.arange(batch, dtype=np.float64)[:, None]
    idx = np.searchsorted((cdf + rows).ravel(), (u + rows).ravel(), side="right").reshape(batch, -1)
    idx = np.minimum(idx - np.arange(batch)[:, None] * classes, classes - 1)
    return convert_to_tensor(idx, np.dtype(dtype).name)


def shuffle(x, axis=0, seed=None):
    """``x`` with its entries along ``axis`` in a random order (the same
    permutation for every position of the other axes)."""
    x = ops.convert_to_tensor(x)
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < max(x.ndim, 1):
        raise ValueError(f"`axis` must be an int in [-{x.ndim}, {x.ndim}). Received: axis={axis!r}")
    perm = rng_for(seed).permutation(x.shape[axis])
    return ops.take(x, perm, axis=int(axis))


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zeroes each entry with probability ``rate`` and scales the others by
    1 / (1 - rate). ``noise_shape`` (None entries taken from ``inputs``)
    shares one draw along the axes where it is 1."""
    x = ops.convert_to_tensor(inputs)
    rate = _number(rate, "rate")
    if not 0 <= rate < 1:
        raise ValueError(f"`rate` must be in [0, 1). Received: rate={rate!r}")
    if noise_shape is None:
        return ops.dropout_op(x, rate, _int_seed(seed))
    noise = tuple(x.shape[i] if d is None else d for i, d in enumerate(noise_shape)) \
        if len(noise_shape) == x.ndim else None
    if noise is None or any(d not in (1, s) for d, s in zip(noise, x.shape)):
        raise ValueError(f"`noise_shape` must have one entry per axis of the input, each 1, None or that "
                         f"axis's size. Received: noise_shape={noise_shape!r} for inputs of shape {x.shape}")
    keep = rng_for(seed).random(noise) >= rate
    return ops.multiply(x, _tensor(keep / (1.0 - rate)))  # the mask follows x to its device


__all__ = ["SeedGenerator", "normal", "uniform", "truncated_normal", "randint", "categorical", "shuffle",
           "dropout"]
