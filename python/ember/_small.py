"""TEMPORARY NumPy stand-in for the C++ small-op kernels (removed once
_core has them)."""
import numpy as np

f32 = np.float32


def _a(x):
    return np.asarray(x, dtype=f32)


_UN = {"negative": np.negative, "abs": np.abs, "sign": np.sign, "square": np.square,
       "sqrt": np.sqrt, "rsqrt": lambda x: 1 / np.sqrt(x), "reciprocal": lambda x: 1 / x,
       "exp": np.exp, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "sin": np.sin,
       "cos": np.cos, "tan": np.tan, "floor": np.floor, "ceil": np.ceil, "round": np.round,
       "logical_not": lambda x: x == 0, "softplus": lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0),
       "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite}
_BIN = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
        "power": np.power, "maximum": np.maximum, "minimum": np.minimum, "equal": np.equal,
        "not_equal": np.not_equal, "greater": np.greater, "greater_equal": np.greater_equal,
        "less": np.less, "less_equal": np.less_equal,
        "logical_and": lambda a, b: (a != 0) & (b != 0), "logical_or": lambda a, b: (a != 0) | (b != 0),
        "floor_divide": np.floor_divide, "mod": np.mod, "arctan2": np.arctan2}


def unary(x, op):
    with np.errstate(all="ignore"):
        return np.asarray(_UN[op](_a(x)), dtype=f32, order="C")


def binary(a, b, op):
    with np.errstate(all="ignore"):
        return np.asarray(_BIN[op](_a(a), _a(b)), dtype=f32, order="C")


def where(c, a, b):
    return np.asarray(np.where(_a(c) != 0, _a(a), _a(b)), dtype=f32, order="C")


def reduce(x, axes, op, keepdims):
    fn = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod}[op]
    return np.asarray(fn(_a(x), axis=tuple(axes), keepdims=keepdims), dtype=f32, order="C")


def arg_reduce(x, axis, op, keepdims=False):
    fn = np.argmax if op == "argmax" else np.argmin
    return np.asarray(fn(_a(x), axis=axis, keepdims=keepdims), dtype=f32, order="C")


def transpose(x, perm):
    return np.asarray(order="C", a=np.transpose(_a(x), perm))


def broadcast_to(x, shape):
    return np.asarray(order="C", a=np.broadcast_to(_a(x), tuple(shape)))


def slice(x, starts, stops, steps):
    key = tuple(builtins_slice(a, None if (b < 0 and c < 0) else b, c) for a, b, c in zip(starts, stops, steps))
    return np.asarray(order="C", a=_a(x)[key])


import builtins  # noqa: E402
builtins_slice = builtins.slice


def slice_backward(dy, in_shape, starts, steps):
    dx = np.zeros(tuple(in_shape), f32)
    dy = _a(dy)
    key = tuple(builtins_slice(a, a + c * n if a + c * n >= 0 else None, c)
                for a, c, n in zip(starts, steps, dy.shape))
    dx[key] = dy
    return dx


def concatenate(arrays, axis):
    return np.asarray(order="C", a=np.concatenate([_a(a) for a in arrays], axis=axis))


def take(x, indices, axis):
    return np.asarray(order="C", a=np.take(_a(x), np.asarray(indices).astype(np.int64), axis=axis))


def take_backward(dy, indices, axis, dim):
    dy = _a(dy)
    idx = np.asarray(indices).astype(np.int64) % dim
    shape = dy.shape[:axis] + (dim,) + dy.shape[axis + idx.ndim:]
    dx = np.zeros(shape, f32)
    moved = np.moveaxis(dx, axis, 0)
    g = dy.reshape(dy.shape[:axis] + (idx.size,) + dy.shape[axis + idx.ndim:])
    g = np.moveaxis(g, axis, 0)
    np.add.at(moved, idx.reshape(-1), g)
    return dx


def batch_matmul(a, b, transpose_a=False, transpose_b=False):
    a, b = _a(a), _a(b)
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    if transpose_b:
        b = np.swapaxes(b, -1, -2)
    return np.asarray(np.matmul(a, b), dtype=f32, order="C")


def full(shape, value, device="cpu"):
    return np.full(tuple(shape), value, f32)
