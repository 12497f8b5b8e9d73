"""Initializers as Keras 3 names them: objects called as ``init(shape,
dtype=None)`` that return a tensor, drawn from ember's seeded generator
(``ember.utils.set_random_seed``) unless given a seed of their own."""
import numpy as np

from . import utils
from .engine import Tensor
from .layers.base import _fans, truncated_normal


class Initializer:
    def __call__(self, shape, dtype=None):
        return Tensor(np.asarray(self._draw(tuple(int(d) for d in shape)), dtype=np.float32, order="C"))

    def _rng(self):
        seed = getattr(self, "seed", None)
        return utils.rng() if seed is None else np.random.default_rng(int(seed))

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class Zeros(Initializer):
    def _draw(self, shape):
        return np.zeros(shape)


class Ones(Initializer):
    def _draw(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = float(value)

    def _draw(self, shape):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = float(mean), float(stddev), seed

    def _draw(self, shape):
        return self._rng().normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(RandomNormal):
    def _draw(self, shape):
        return self.mean + self.stddev * truncated_normal(self._rng(), shape)


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = float(minval), float(maxval), seed

    def _draw(self, shape):
        return self._rng().uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class VarianceScaling(Initializer):
    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"`mode` must be 'fan_in', 'fan_out' or 'fan_avg'. Received: {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError("`distribution` must be 'truncated_normal', 'untruncated_normal' or 'uniform'. "
                             f"Received: {distribution!r}")
        self.scale, self.mode, self.distribution, self.seed = float(scale), mode, distribution, seed

    def _draw(self, shape):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "uniform":
            limit = np.sqrt(3.0 * scale)
            return rng.uniform(-limit, limit, shape)
        if self.distribution == "untruncated_normal":
            return rng.standard_normal(shape) * np.sqrt(scale)
        std = np.sqrt(scale) / 0.87962566103423978
        return truncated_normal(rng, shape) * std

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _scaling(name, scale, mode, distribution):
    def init(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}
    return type(name, (VarianceScaling,), {"__init__": init, "get_config": get_config})


GlorotUniform = _scaling("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _scaling("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _scaling("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _scaling("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _scaling("LecunNormal", 1.0, "fan_in", "truncated_normal")

zeros, ones = Zeros, Ones


# ---------------------------------------------------------------- orthogonal (recurrent layers)
# A minimal orthogonal draw for the recurrent layers' default
# recurrent_initializer; kept apart so an Orthogonal class can build on it.
def _orthogonal(shape, gain=1.0, seed=None):
    """A (semi-)orthogonal float32 matrix of ``shape`` (the leading axes
    flattened into rows): Q of the QR decomposition of a standard normal
    matrix, each column's sign fixed by R's diagonal so that Q is uniformly
    distributed, times ``gain``."""
    shape = tuple(int(d) for d in shape)
    if len(shape) < 2:
        raise ValueError(f"The orthogonal initializer needs a shape of rank >= 2. Received: shape={shape}")
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    rng = utils.rng() if seed is None else np.random.default_rng(int(seed))
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(np.float32)
