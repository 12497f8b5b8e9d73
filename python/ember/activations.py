"""Activations by name, as Keras spells them. Each maps to a C++ kernel pair."""
from . import _core

_NAMES = ("linear", "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "softmax")


def get(identifier):
    """Returns the canonical activation name for a string, None or a function
    from this module."""
    if identifier is None:
        return "linear"
    if callable(identifier) and getattr(identifier, "__name__", None) in _NAMES:
        return identifier.__name__
    if isinstance(identifier, str) and identifier in _NAMES:
        return identifier
    raise ValueError(f"Unknown activation: {identifier!r}. Expected one of {', '.join(_NAMES)}.")


def forward(name, x):
    if name == "linear":
        return x
    if name == "softmax":
        return _core.softmax(x)
    return _core.activation(x, name, 0.2 if name == "leaky_relu" else 1.0)


def backward(name, dy, x, y):
    """Gradient through the activation; x its input, y its output."""
    if name == "linear":
        return dy
    if name == "relu":
        return _core.relu_grad_from_output(dy, y)
    if name == "softmax":
        return _core.softmax_backward(dy, x)
    return _core.activation_backward(dy, x, name, 0.2 if name == "leaky_relu" else 1.0)


def _make(name):
    def fn(x):
        return forward(name, x)
    fn.__name__ = name
    return fn


linear, relu, sigmoid, tanh, leaky_relu, elu, gelu, softmax = (_make(n) for n in _NAMES)
