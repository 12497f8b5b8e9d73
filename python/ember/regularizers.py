"""Weight regularizers (Keras 3's ``keras.regularizers``): called on a
weight, they return a scalar loss tensor, written with ``ember.ops`` so that
its gradient reaches the weight. A layer's ``kernel_regularizer`` /
``bias_regularizer`` losses are in ``layer.losses`` (computed afresh each
time); its ``activity_regularizer`` adds the regularizer of its outputs,
divided by the batch size, at each call. ``fit`` adds them to the loss."""
import numpy as np

from . import config, ops
from .serialization import check_number, lookup, serialize_object


class Regularizer:
    def __call__(self, x):
        return ops.zeros(())

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _factor(value, name):
    return float(check_number(value, name))


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x**2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        out = ops.zeros(())
        if self.l1:
            out = ops.add(out, ops.multiply(ops.sum(ops.abs(x)), self.l1))
        if self.l2:
            out = ops.add(out, ops.multiply(ops.sum(ops.square(x)), self.l2))
        return out

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1=0.01):
        super().__init__(l1=0.01 if l1 is None else l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x**2)``."""

    def __init__(self, l2=0.01):
        super().__init__(l2=0.01 if l2 is None else l2)

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (``mode="rows"``) or the columns of a 2-D weight
    towards orthogonality: ``factor * 0.5 * sum(|off-diagonal of V V^T|) /
    (n (n - 1) / 2)`` with V the unit-normalised rows (or columns), n their
    number."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in ("rows", "columns"):
            raise ValueError("Invalid value for argument `mode`. Expected one of {'rows', 'columns'}. "
                             f"Received: mode={mode!r}")
        self.mode = mode

    def __call__(self, inputs):
        x = ops.convert_to_tensor(inputs)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: inputs.shape={x.shape}")
        axis = 1 if self.mode == "rows" else 0
        eps = config.epsilon()
        # x / max(norm, eps), written so that an all-zero row has gradient 0.
        norms2 = ops.maximum(ops.sum(ops.square(x), axis=axis, keepdims=True), eps * eps)
        v = ops.multiply(x, ops.rsqrt(norms2))
        if self.mode == "columns":
            v = ops.transpose(v)
        n = v.shape[0]
        if n < 2:
            return ops.zeros(())
        product = ops.matmul(v, ops.transpose(v))
        off = ops.multiply(product, ops.convert_to_tensor(1.0 - np.eye(n)))
        return ops.multiply(ops.sum(ops.abs(off)), self.factor * 0.5 / (n * (n - 1) / 2.0))

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2, l1_l2, orthogonal_regularizer = L1, L2, L1L2, OrthogonalRegularizer
_ALL = {cls.__name__: cls for cls in (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)}
_ALL.update({"regularizer": Regularizer, "l1": L1, "l2": L2, "l1l2": L1L2, "l1_l2": L1L2,
             "orthogonal_regularizer": OrthogonalRegularizer})


def serialize(regularizer):
    return serialize_object(regularizer, "keras.regularizers")


def deserialize(config, custom_objects=None):
    return get(config, custom_objects)


def get(identifier, custom_objects=None):
    """A regularizer from a name ('l2', 'L1L2', 'orthogonal_regularizer',
    ...), a config dict, a Regularizer, a class, or a callable; None stays
    None."""
    return lookup(identifier, _ALL, "regularizer", Regularizer, custom_objects)
