"""Regularization layers (Keras 3 names and arguments): SpatialDropout1D/2D,
GaussianNoise, GaussianDropout, AlphaDropout and ActivityRegularization.
The noise is drawn with ``ember.random`` from a per-layer SeedGenerator
(from ember's seeded generator when ``seed`` is None), so a seeded run is
reproducible; the noise layers change their input only in training."""
import math

import numpy as np

from .. import ops, random, regularizers
from .base import Layer, _fraction, _shape_str
from .reshaping import _data_format


class _Noise(Layer):
    """A layer that adds or multiplies noise in training."""
    _mask_passthrough = True

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"Argument `seed` must be an int or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)
        self.seed_generator = random.SeedGenerator(self.seed)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class _SpatialDropout(_Noise):
    """Dropout of whole feature maps: one keep/drop draw per (sample,
    channel), shared by all the steps or pixels of that channel; the kept
    maps are scaled by 1 / (1 - rate)."""
    _rank = 3

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _fraction(rate, "rate", upper_open=True)

    def build(self, input_shape):
        if len(input_shape) != self._rank:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects input of rank {self._rank}. "
                             f"Received: input shape {_shape_str(tuple(input_shape))}")
        self.built = True

    def _noise_shape(self, shape):
        channel = 1 if getattr(self, "data_format", "channels_last") == "channels_first" else len(shape) - 1
        return tuple(d if i in (0, channel) else 1 for i, d in enumerate(shape))

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        u = random.uniform(self._noise_shape(inputs.shape), seed=self.seed_generator)
        keep = ops.multiply(ops.cast(ops.greater_equal(u, self.rate), "float32"), 1.0 / (1.0 - self.rate))
        return ops.multiply(inputs, keep)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class SpatialDropout1D(_SpatialDropout):
    """Drops whole channels of a (batch, steps, channels) input."""
    _rank = 3


class SpatialDropout2D(_SpatialDropout):
    """Drops whole channels of a (batch, rows, cols, channels) input (or of
    (batch, channels, rows, cols) with ``data_format='channels_first'``)."""
    _rank = 4

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        self.data_format = _data_format(data_format)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev``."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.stddev = _fraction(stddev, "stddev")

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        return ops.add(inputs, random.normal(inputs.shape, 0.0, self.stddev, seed=self.seed_generator))

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies by Gaussian noise of mean 1 and standard deviation
    sqrt(rate / (1 - rate))."""

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _fraction(rate, "rate", upper_open=True)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        std = math.sqrt(self.rate / (1.0 - self.rate))
        return ops.multiply(inputs, random.normal(inputs.shape, 1.0, std, seed=self.seed_generator))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout that keeps a SELU network's mean and variance: dropped values
    are set to SELU's negative saturation value, then an affine map a*x + b
    restores the moments."""
    _ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = _fraction(rate, "rate", upper_open=True)
        if noise_shape is not None:
            try:
                noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
            except (TypeError, ValueError):
                raise TypeError("Argument `noise_shape` must be a tuple of ints or None. "
                                f"Received: noise_shape={noise_shape!r}") from None
        self.noise_shape = noise_shape

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            if len(self.noise_shape) != len(shape):
                raise ValueError(f"AlphaDropout '{self.name}': `noise_shape` must have the input's rank. "
                                 f"Received: noise_shape={self.noise_shape} for input shape {shape}")
            shape = tuple(d if n is None else n for n, d in zip(self.noise_shape, shape))
        kept = ops.cast(ops.greater_equal(random.uniform(shape, seed=self.seed_generator), self.rate), "float32")
        rate, alpha_p = self.rate, self._ALPHA_P
        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        # a * (x * kept + alpha_p * (1 - kept)) + b
        dropped_value = ops.add(ops.multiply(ops.subtract(1.0, kept), a * alpha_p), b)
        return ops.add(ops.multiply(inputs, ops.multiply(kept, a)), dropped_value)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": None if self.noise_shape is None else list(self.noise_shape)}


class ActivityRegularization(Layer):
    """Passes its input through and adds ``l1 * sum|x| + l2 * sum x^2``,
    divided by the batch size (as Keras 3 does), to the layer's losses."""
    _mask_passthrough = True

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self._regularizer = regularizers.L1L2(l1=l1, l2=l2)  # checks l1, l2 >= 0
        self.l1, self.l2 = self._regularizer.l1, self._regularizer.l2

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def call(self, inputs):
        loss = self._regularizer(inputs)
        if inputs.ndim and inputs.shape[0]:
            loss = ops.divide(loss, float(inputs.shape[0]))
        self.add_loss(loss)
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
