"""Activations by Keras name: functions on tensors (``ember.ops``), each a
C++ kernel pair. Layers take a name, None or one of these functions."""
from . import ops

_NAMES = ("linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softmax", "softplus",
          "silu", "swish", "relu6", "log_softmax", "exponential")


def linear(x):
    return x


relu, sigmoid, tanh, softmax = ops.relu, ops.sigmoid, ops.tanh, ops.softmax
softplus, silu, swish, relu6, log_softmax = ops.softplus, ops.silu, ops.silu, ops.relu6, ops.log_softmax
exponential = ops.exp


def leaky_relu(x, negative_slope=0.2):
    return ops.leaky_relu(x, negative_slope)


def elu(x, alpha=1.0):
    return ops.elu(x, alpha)


def gelu(x, approximate=False):
    return ops.gelu(x)


_FUNCTIONS = {"linear": linear, "relu": relu, "sigmoid": sigmoid, "tanh": tanh,
              "leaky_relu": leaky_relu, "elu": elu, "gelu": gelu, "softmax": softmax,
              "softplus": softplus, "silu": silu, "swish": swish, "relu6": relu6,
              "log_softmax": log_softmax, "exponential": exponential}


def get(identifier):
    """The canonical activation name for a string, None or a function from
    this module; any other callable is returned as it is."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return identifier
    elif callable(identifier):
        for name, fn in _FUNCTIONS.items():
            if identifier is fn or identifier is getattr(ops, name, None):
                return name
        return identifier
    raise ValueError(f"Unknown activation: {identifier!r}. Expected one of {', '.join(_NAMES)} or a callable.")


def apply(activation, x):
    """Applies an activation given by name (from ``get``) or callable."""
    if activation == "linear":
        return x
    fn = _FUNCTIONS.get(activation) if isinstance(activation, str) else activation
    return fn(x)


def serialize(activation):
    return activation if isinstance(activation, str) else getattr(activation, "__name__", "custom")
