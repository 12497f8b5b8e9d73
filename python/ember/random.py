"""keras.random: normal, uniform, dropout and SeedGenerator. Draws come from
ember's seeded generator (``ember.utils.set_random_seed``) or from the given
seed; dropout runs in the C++ kernel with its counter-based mask."""
import numpy as np

from . import ops, utils
from .engine import Tensor


class SeedGenerator:
    """A stream of seeds: the same start seed gives the same draws."""

    def __init__(self, seed=None, name=None):
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def next(self):
        return int((self._rng or utils.rng()).integers(0, 2**63 - 1))


def _rng(seed):
    if isinstance(seed, SeedGenerator):
        return np.random.default_rng(seed.next())
    if seed is None:
        return utils.rng()
    return np.random.default_rng(int(seed))


def _shape(shape):
    return tuple(int(d) for d in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return Tensor(np.asarray(_rng(seed).normal(mean, stddev, _shape(shape)), np.float32, order="C"))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return Tensor(np.asarray(_rng(seed).uniform(minval, maxval, _shape(shape)), np.float32, order="C"))


def dropout(inputs, rate, noise_shape=None, seed=None):
    if noise_shape is not None:
        raise ValueError("ember's dropout does not support `noise_shape`. Received: "
                         f"noise_shape={noise_shape!r}")
    if not 0 <= float(rate) < 1:
        raise ValueError(f"`rate` must be in [0, 1). Received: {rate!r}")
    s = seed.next() if isinstance(seed, SeedGenerator) else (utils.next_seed() if seed is None else int(seed))
    return ops.dropout_op(ops.convert_to_tensor(inputs), float(rate), s)
