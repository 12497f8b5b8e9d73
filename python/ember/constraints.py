"""Weight constraints (Keras 3's ``keras.constraints``): called on a weight,
they return the projected weight. A layer's ``kernel_constraint`` /
``bias_constraint`` is kept on the weight (``Variable.constraint``), and the
optimizer assigns ``constraint(variable)`` after each update, as Keras does.
The norms are over ``axis`` (0 by default: for a Dense kernel (in, units),
the incoming weights of each unit)."""
import numpy as np

from . import config, ops
from .serialization import check_number, lookup, serialize_object


class Constraint:
    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _axis(axis):
    if isinstance(axis, (list, tuple)):
        if not axis or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axis):
            raise TypeError(f"`axis` must be an int or a list of ints. Received: axis={axis!r}")
        return [int(a) for a in axis]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"`axis` must be an int or a list of ints. Received: axis={axis!r}")
    return int(axis)


def _norms(w, axis):
    return ops.sqrt(ops.sum(ops.square(w), axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Scales the weights whose norm along ``axis`` exceeds ``max_value``
    back to it."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = check_number(max_value, "max_value")
        self.axis = _axis(axis)

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = ops.clip(norms, 0.0, float(self.max_value))
        return ops.multiply(w, ops.divide(desired, ops.add(norms, config.epsilon())))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets the negative weights to zero."""

    def __call__(self, w):
        return ops.multiply(w, ops.cast(ops.greater_equal(w, 0.0), "float32"))


class UnitNorm(Constraint):
    """Divides the weights by their norm along ``axis``."""

    def __init__(self, axis=0):
        self.axis = _axis(axis)

    def __call__(self, w):
        return ops.divide(w, ops.add(_norms(w, self.axis), config.epsilon()))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the norms along ``axis`` into [min_value, max_value]:
    ``rate`` 1 projects fully, a smaller rate goes part of the way."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = check_number(min_value, "min_value")
        self.max_value = check_number(max_value, "max_value")
        self.rate = check_number(rate, "rate")
        if self.min_value > self.max_value:
            raise ValueError(f"`min_value` must not exceed `max_value`. Received: min_value={min_value}, "
                             f"max_value={max_value}")
        self.axis = _axis(axis)

    def __call__(self, w):
        norms = _norms(w, self.axis)
        clipped = ops.clip(norms, float(self.min_value), float(self.max_value))
        desired = ops.add(ops.multiply(clipped, float(self.rate)), ops.multiply(norms, 1.0 - float(self.rate)))
        return ops.multiply(w, ops.divide(desired, ops.add(norms, config.epsilon())))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_ALL = {cls.__name__: cls for cls in (Constraint, MaxNorm, NonNeg, UnitNorm, MinMaxNorm)}
_ALL.update({"constraint": Constraint, "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
             "min_max_norm": MinMaxNorm})


def serialize(constraint):
    return serialize_object(constraint, "keras.constraints")


def deserialize(config, custom_objects=None):
    return get(config, custom_objects)


def get(identifier, custom_objects=None):
    """A constraint from a name ('max_norm', 'NonNeg', ...), a config dict,
    a Constraint, or a callable; None stays None."""
    return lookup(identifier, _ALL, "constraint", Constraint, custom_objects)


def apply_constraints(variables):
    """Projects each variable that carries a constraint (the optimizers'
    step after updating the weights)."""
    for var in variables:
        constraint = getattr(var, "constraint", None)
        if constraint is not None:
            var.assign(constraint(var))
