"""Weight regularizers (Keras 3 names): called on a weight, they return a
scalar loss tensor, which the layer adds to its ``losses``."""
from . import ops


class Regularizer:
    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)
        if self.l1 < 0 or self.l2 < 0:
            raise ValueError(f"Regularization factors must be non-negative. Received: l1={l1}, l2={l2}")

    def __call__(self, x):
        out = None
        if self.l1:
            out = ops.multiply(ops.sum(ops.abs(x)), self.l1)
        if self.l2:
            term = ops.multiply(ops.sum(ops.square(x)), self.l2)
            out = term if out is None else ops.add(out, term)
        return out if out is not None else ops.zeros(())

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def serialize(regularizer):
    """A JSON-able form for a layer's config: None, a name, or
    {"class_name", "config"} for a regularizer object of this module."""
    if regularizer is None or isinstance(regularizer, str):
        return regularizer
    if isinstance(regularizer, Regularizer) and type(regularizer) in (L1, L2, L1L2):
        return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
    raise ValueError(f"ember serialises the regularizers l1, l2 and l1_l2 only. Received: {regularizer!r}")


def get(identifier):
    if identifier is None or isinstance(identifier, Regularizer) or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]()
    if isinstance(identifier, dict) and identifier.get("class_name") in ("L1", "L2", "L1L2"):
        return {"L1": L1, "L2": L2, "L1L2": L1L2}[identifier["class_name"]](**identifier.get("config", {}))
    raise ValueError(f"Unknown regularizer: {identifier!r}. Expected one of {', '.join(_BY_NAME)} or a callable.")
