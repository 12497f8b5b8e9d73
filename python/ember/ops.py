"""ember.ops: Keras 3's ``keras.ops`` on ember tensors, with gradients.

Each function takes tensors, variables, NumPy arrays or Python numbers,
computes its result with one C++ call (``ember._core``, on the CPU or the
GPU by the inputs' device) and, while a ``GradientTape`` records, a node whose
backward is written with the same kernels. On symbolic tensors (the
functional API) an op becomes a node of the model's graph. The engine's
kernel-level functions on raw arrays live in ``ember.kernels``.
"""
import builtins
import functools

import numpy as np

from . import _core, cuda
from .engine import K, KerasTensor, Tensor, Variable, any_symbolic, convert_to_tensor, record, _dtype_name

__all__ = [
    "add", "subtract", "multiply", "divide", "true_divide", "negative", "power", "matmul", "dot",
    "sum", "mean", "max", "min", "prod", "var", "std", "argmax", "argmin", "square", "sqrt",
    "rsqrt", "exp", "expm1", "log", "log1p", "abs", "absolute", "sign", "sin", "cos", "tan",
    "floor", "ceil", "round", "reciprocal", "floor_divide", "mod", "arctan2", "maximum", "minimum",
    "clip", "where", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
    "logical_and", "logical_or", "logical_not", "isnan", "isinf", "isfinite", "reshape",
    "transpose", "expand_dims", "squeeze", "concatenate", "stack", "split", "take", "one_hot",
    "cast", "relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax", "softplus", "silu",
    "swish", "gelu", "elu", "leaky_relu", "logsumexp", "convert_to_tensor", "convert_to_numpy",
    "shape", "zeros", "ones", "zeros_like", "ones_like", "full", "full_like", "arange", "eye",
    "broadcast_to", "tile", "repeat", "flatten", "ravel", "stop_gradient", "slice", "norm",
    "average", "moveaxis", "swapaxes", "count_nonzero", "all", "any", "is_tensor",
    "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
    "conv", "max_pool", "average_pool", "dtype", "size", "ndim", "pad",
]


# ---------------------------------------------------------------- helpers
def _op(fn):
    """An op that becomes a graph node when called on symbolic tensors."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if any_symbolic(args) or (kwargs and any_symbolic(kwargs.values())):
            from .layers.core import _symbolic_op
            return _symbolic_op(wrapper, args, kwargs)
        return fn(*args, **kwargs)
    return wrapper


def _t(x):
    return x if isinstance(x, Tensor) else convert_to_tensor(x)


def _operand(x):
    """A raw value for a binary kernel: a Python float stays a scalar."""
    if isinstance(x, Tensor):
        return x.value
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool):
        return float(x)
    return _t(x).value


def _co_locate(*values):
    """Host arrays (NumPy data mixed with tensors on the GPU) move to the GPU,
    as Keras places constants on the device of the computation."""
    if not builtins.any(cuda.is_device_array(v) for v in values):
        return values
    return tuple(_core.to_device(v) if isinstance(v, np.ndarray) else v for v in values)


def _shape_of(v):
    return () if isinstance(v, float) else tuple(v.shape)


def _reshape_raw(v, shape):
    shape = tuple(int(d) for d in shape)
    if tuple(v.shape) == shape:
        return v
    return v.reshape(shape) if cuda.is_device_array(v) else np.ascontiguousarray(v).reshape(shape)


def _unbroadcast(g, shape):
    """Sums g over the axes along which a value of ``shape`` was broadcast."""
    gshape = tuple(g.shape)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = list(range(lead)) + [i + lead for i, d in enumerate(shape) if d == 1 and gshape[i + lead] != 1]
    if axes:
        g = K.reduce(g, axes, "sum", False)
    return _reshape_raw(g, shape)


def _axes(axis, ndim, name="axis"):
    if axis is None:
        return list(range(ndim))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"`{name}` must be an int or a tuple of ints. Received: {axis!r}")
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ValueError(f"`{name}` {a} is out of bounds for a tensor of rank {ndim}. Received: {name}={axis!r}")
        out.append(int(a) % builtins.max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` holds a repeated axis. Received: {name}={axis!r}")
    return sorted(out)


def _axis_or_flat(x, axis):
    """(x, axis) for ops whose axis=None means "the flattened tensor"."""
    if axis is None:
        return reshape(x, (-1,)), 0
    return x, _axes(axis, x.ndim)[0]


def _float_out(dtype):
    return None if dtype in (None, "float32") else dtype


# ---------------------------------------------------------------- elementwise
def _binary(op, grad_fn=None, bool_out=False, float_out=False):
    def f(x1, x2):
        a, b = _operand(x1), _operand(x2)
        if type(a) is not type(b):
            a, b = _co_locate(a, b)
        out = K.binary(a, b, op)
        if bool_out:
            return Tensor(out, "bool")
        ta = x1 if isinstance(x1, Tensor) else None
        tb = x2 if isinstance(x2, Tensor) else None
        dtype = None if float_out else _result_dtype(x1, x2)
        if grad_fn is None or (ta is None and tb is None):
            return Tensor(out, dtype)
        sa, sb = _shape_of(a), _shape_of(b)

        def backward(dy, needs):
            ga, gb = grad_fn(dy, a, b, out, needs)
            return (_unbroadcast(ga, sa) if needs[0] and ga is not None else None,
                    _unbroadcast(gb, sb) if needs[1] and gb is not None else None)
        return record(out, (ta, tb), backward, op, dtype)
    f.__name__ = op
    return _op(f)


def _result_dtype(x1, x2):
    """float32 (None) unless both operands are integer-valued: then the
    first integer tensor's dtype."""
    if getattr(x1, "_dtype", None) is None and getattr(x2, "_dtype", None) is None:
        return None
    dtypes = []
    for x in (x1, x2):
        if isinstance(x, Tensor):
            dtypes.append(x.dtype)
        elif isinstance(x, (float, np.floating)):
            return None
    ints = [d for d in dtypes if d in ("int32", "int64")]
    if ints and builtins.all(d in ("int32", "int64", "bool") for d in dtypes):
        return ints[0]
    return None


def _mul(a, b):
    return K.binary(a, b, "multiply")


add = _binary("add", lambda dy, a, b, y, n: (dy, dy))
subtract = _binary("subtract", lambda dy, a, b, y, n: (dy, K.unary(dy, "negative") if n[1] else None))
multiply = _binary("multiply", lambda dy, a, b, y, n: (_mul(dy, b) if n[0] else None,
                                                       _mul(dy, a) if n[1] else None))
divide = _binary("divide", float_out=True, grad_fn=lambda dy, a, b, y, n: (
    K.binary(dy, b, "divide") if n[0] else None,
    K.unary(_mul(K.binary(dy, b, "divide"), y), "negative") if n[1] else None))
true_divide = divide
maximum = _binary("maximum", lambda dy, a, b, y, n: (
    _mul(dy, K.binary(a, b, "greater_equal")) if n[0] else None,
    _mul(dy, K.binary(a, b, "less")) if n[1] else None))
minimum = _binary("minimum", lambda dy, a, b, y, n: (
    _mul(dy, K.binary(a, b, "less_equal")) if n[0] else None,
    _mul(dy, K.binary(a, b, "greater")) if n[1] else None))


def _power_grad(dy, a, b, y, n):
    ga = gb = None
    if n[0]:  # b * a ** (b - 1)
        bm1 = b - 1.0 if isinstance(b, float) else K.binary(b, 1.0, "subtract")
        ga = _mul(dy, _mul(b, K.binary(a, bm1, "power")))
    if n[1]:  # y * log(a)
        la = np.float32(np.log(a)) if isinstance(a, float) else K.unary(a, "log")
        gb = _mul(dy, _mul(y, float(la) if isinstance(a, float) else la))
    return ga, gb


power = _binary("power", _power_grad)
arctan2 = _binary("arctan2", lambda dy, a, b, y, n: (
    _mul(dy, K.binary(b, K.binary(_mul(a, a), _mul(b, b), "add"), "divide")) if n[0] else None,
    _mul(dy, K.unary(K.binary(a, K.binary(_mul(a, a), _mul(b, b), "add"), "divide"), "negative"))
    if n[1] else None))
floor_divide = _binary("floor_divide")
mod = _binary("mod", lambda dy, a, b, y, n: (
    dy, K.unary(_mul(dy, K.binary(a, b, "floor_divide")), "negative") if n[1] else None))
equal = _binary("equal", bool_out=True)
not_equal = _binary("not_equal", bool_out=True)
greater = _binary("greater", bool_out=True)
greater_equal = _binary("greater_equal", bool_out=True)
less = _binary("less", bool_out=True)
less_equal = _binary("less_equal", bool_out=True)
logical_and = _binary("logical_and", bool_out=True)
logical_or = _binary("logical_or", bool_out=True)


_INT_PRESERVING = ("negative", "abs", "sign", "square", "floor", "ceil", "round")


def _unary(op, grad_fn=None, bool_out=False):
    def f(x):
        x = _t(x)
        out = K.unary(x.value, op)
        if bool_out:
            return Tensor(out, "bool")
        dtype = x._dtype if op in _INT_PRESERVING and x._dtype != "bool" else None
        if grad_fn is None:
            return Tensor(out, dtype)
        xv = x.value
        return record(out, (x,), lambda dy, needs: (grad_fn(dy, xv, out),), op, dtype)
    f.__name__ = op
    return _op(f)


negative = _unary("negative", lambda dy, x, y: K.unary(dy, "negative"))
abs = _unary("abs", lambda dy, x, y: _mul(dy, K.unary(x, "sign")))
absolute = abs
sign = _unary("sign")
square = _unary("square", lambda dy, x, y: _mul(dy, K.binary(x, 2.0, "multiply")))
sqrt = _unary("sqrt", lambda dy, x, y: K.binary(dy, K.binary(y, 2.0, "multiply"), "divide"))
rsqrt = _unary("rsqrt", lambda dy, x, y: _mul(dy, K.binary(K.binary(y, -0.5, "multiply"), x, "divide")))
reciprocal = _unary("reciprocal", lambda dy, x, y: K.unary(_mul(dy, _mul(y, y)), "negative"))
exp = _unary("exp", lambda dy, x, y: _mul(dy, y))
expm1 = _unary("expm1", lambda dy, x, y: _mul(dy, K.binary(y, 1.0, "add")))
log = _unary("log", lambda dy, x, y: K.binary(dy, x, "divide"))
log1p = _unary("log1p", lambda dy, x, y: K.binary(dy, K.binary(x, 1.0, "add"), "divide"))
sin = _unary("sin", lambda dy, x, y: _mul(dy, K.unary(x, "cos")))
cos = _unary("cos", lambda dy, x, y: K.unary(_mul(dy, K.unary(x, "sin")), "negative"))
tan = _unary("tan", lambda dy, x, y: _mul(dy, K.binary(_mul(y, y), 1.0, "add")))
floor = _unary("floor")
ceil = _unary("ceil")
round = _unary("round")
logical_not = _unary("logical_not", bool_out=True)
isnan = _unary("isnan", bool_out=True)
isinf = _unary("isinf", bool_out=True)
isfinite = _unary("isfinite", bool_out=True)
softplus = _unary("softplus", lambda dy, x, y: _mul(dy, _core.activation(x, "sigmoid", 0.0)))


@_op
def clip(x, x_min, x_max):
    return minimum(maximum(x, x_min), x_max)


@_op
def where(condition, x1=None, x2=None):
    if x1 is None and x2 is None:
        c = np.asarray(_t(condition).numpy())
        return tuple(Tensor(np.ascontiguousarray(i, np.float32), "int64") for i in np.nonzero(c))
    c, a, b = _co_locate(_operand(condition), _operand(x1), _operand(x2))
    out = K.where(c, a, b)
    ta = x1 if isinstance(x1, Tensor) else None
    tb = x2 if isinstance(x2, Tensor) else None
    sa, sb = _shape_of(a), _shape_of(b)

    def backward(dy, needs):
        return (None,
                _unbroadcast(K.where(c, dy, 0.0), sa) if needs[1] else None,
                _unbroadcast(K.where(c, 0.0, dy), sb) if needs[2] else None)
    return record(out, (None, ta, tb), backward, "where")


# ---------------------------------------------------------------- activations
def _activation(name, alpha=0.0):
    def f(x):
        x = _t(x)
        y = _core.activation(x.value, name, alpha)
        xv = x.value
        if name == "relu":
            return record(y, (x,), lambda dy, needs: (_core.relu_grad_from_output(dy, y),), name)
        return record(y, (x,), lambda dy, needs: (_core.activation_backward(dy, xv, name, alpha),), name)
    f.__name__ = name
    return f


_relu = _activation("relu")
_sigmoid = _activation("sigmoid")
_tanh = _activation("tanh")
_gelu = _activation("gelu")


@_op
def relu(x):
    return _relu(x)


@_op
def sigmoid(x):
    return _sigmoid(x)


@_op
def tanh(x):
    return _tanh(x)


@_op
def gelu(x, approximate=True):
    return _gelu(x)


@_op
def elu(x, alpha=1.0):
    return _activation("elu", float(alpha))(x)


@_op
def leaky_relu(x, negative_slope=0.2):
    return _activation("leaky_relu", float(negative_slope))(x)


@_op
def relu6(x):
    return minimum(relu(x), 6.0)


@_op
def silu(x):
    return multiply(x, sigmoid(x))


swish = silu


def _last_axis(x, axis):
    if axis not in (-1, x.ndim - 1):
        perm = list(range(x.ndim))
        a = _axes(axis, x.ndim)[0]
        perm[a], perm[-1] = perm[-1], perm[a]
        return perm
    return None


@_op
def softmax(x, axis=-1):
    x = _t(x)
    perm = _last_axis(x, axis)
    if perm is not None:
        return transpose(softmax(transpose(x, perm)), perm)
    xv = x.value
    y = record(_core.softmax(xv), (x,), lambda dy, needs: (_core.softmax_backward(dy, xv),), "softmax")
    y._logits = x
    return y


@_op
def log_softmax(x, axis=-1):
    x = _t(x)
    return subtract(x, logsumexp(x, axis=axis, keepdims=True))


@_op
def logsumexp(x, axis=None, keepdims=False):
    x = _t(x)
    m = stop_gradient(max(x, axis=axis, keepdims=True))
    out = add(log(sum(exp(subtract(x, m)), axis=axis, keepdims=True)), m)
    if not keepdims:
        out = squeeze(out, axis=tuple(_axes(axis, x.ndim)) if axis is not None else None) \
            if x.ndim else out
    return out


# ---------------------------------------------------------------- reductions
def _reduce(op):
    def f(x, axis=None, keepdims=False):
        x = _t(x)
        axes = _axes(axis, x.ndim)
        out = K.reduce(x.value, axes, op, bool(keepdims))
        in_shape = x.shape
        kept = [1 if i in axes else d for i, d in enumerate(in_shape)]
        xv = x.value

        def backward(dy, needs):
            g = _reshape_raw(dy, kept)
            if op == "sum":
                return (K.broadcast_to(g, list(in_shape)),)
            if op == "mean":
                n = int(np.prod([in_shape[i] for i in axes])) if axes else 1
                return (K.broadcast_to(K.binary(g, 1.0 / builtins.max(n, 1), "multiply"), list(in_shape)),)
            if op == "prod":
                # d/dx_i = product of the others, also where x_i == 0.
                zero = K.binary(xv, 0.0, "equal")
                safe = K.where(zero, 1.0, xv)
                p_rest = K.reduce(safe, axes, "prod", True)
                n_zero = K.reduce(zero, axes, "sum", True)
                others = K.where(zero, K.where(K.binary(n_zero, 1.0, "equal"), p_rest, 0.0),
                                 K.where(K.binary(n_zero, 0.0, "equal"), K.binary(p_rest, safe, "divide"), 0.0))
                return (_mul(g, others),)
            # max / min: the gradient is shared among the tied extrema.
            y = _reshape_raw(out, kept)
            mask = K.binary(xv, y, "equal")
            count = K.reduce(mask, axes, "sum", True)
            return (_mul(mask, K.binary(g, count, "divide")),)
        dtype = x._dtype if op in ("max", "min", "sum", "prod") else None
        if dtype == "bool" and op in ("sum", "prod"):
            dtype = "int32"
        return record(out, (x,), backward, op, dtype)
    f.__name__ = op
    return _op(f)


sum = _reduce("sum")
mean = _reduce("mean")
max = _reduce("max")
min = _reduce("min")
prod = _reduce("prod")


@_op
def var(x, axis=None, keepdims=False):
    x = _t(x)
    m = mean(x, axis=axis, keepdims=True)
    return mean(square(subtract(x, m)), axis=axis, keepdims=keepdims)


@_op
def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis=axis, keepdims=keepdims))


@_op
def average(x, axis=None, weights=None):
    if weights is None:
        return mean(x, axis=axis)
    w = _t(weights)
    x = _t(x)
    if axis is not None and w.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[_axes(axis, x.ndim)[0]] = w.shape[0]
        w = reshape(w, shape)
    return divide(sum(multiply(x, w), axis=axis), sum(broadcast_to(w, x.shape), axis=axis))


@_op
def norm(x, ord=None, axis=None, keepdims=False):
    if ord not in (None, 2, "fro", "euclidean"):
        raise ValueError(f"ember's norm supports the 2-norm only. Received: ord={ord!r}")
    return sqrt(sum(square(x), axis=axis, keepdims=keepdims))


def _arg(op):
    def f(x, axis=None, keepdims=False):
        x, a = _axis_or_flat(_t(x), axis)
        return Tensor(K.arg_reduce(x.value, a, op, bool(keepdims)), "int32")
    f.__name__ = op
    return _op(f)


argmax = _arg("argmax")
argmin = _arg("argmin")


@_op
def count_nonzero(x, axis=None):
    return cast(sum(not_equal(x, 0.0), axis=axis), "int32")


@_op
def all(x, axis=None, keepdims=False):
    return cast(min(not_equal(x, 0.0), axis=axis, keepdims=keepdims), "bool")


@_op
def any(x, axis=None, keepdims=False):
    return cast(max(not_equal(x, 0.0), axis=axis, keepdims=keepdims), "bool")


# ---------------------------------------------------------------- shapes
@_op
def reshape(x, newshape):
    x = _t(x)
    if isinstance(newshape, (int, np.integer)):
        newshape = (newshape,)
    newshape = tuple(int(d) if d is not None else -1 for d in newshape)
    total = int(np.prod(x.shape))
    if newshape.count(-1) > 1:
        raise ValueError(f"reshape allows one -1 at most. Received: newshape={newshape}")
    known = int(np.prod([d for d in newshape if d != -1]))
    if -1 in newshape:
        if known == 0 or total % known:
            raise ValueError(f"Cannot reshape a tensor of shape {x.shape} into {newshape}")
        newshape = tuple(total // known if d == -1 else d for d in newshape)
    elif known != total:
        raise ValueError(f"Cannot reshape a tensor of shape {x.shape} ({total} values) into "
                         f"{newshape} ({known} values)")
    in_shape = x.shape
    return record(_reshape_raw(x.value, newshape), (x,),
                  lambda dy, needs: (_reshape_raw(dy, in_shape),), "reshape", x._dtype)


@_op
def flatten(x):
    return reshape(x, (-1,))


ravel = flatten


@_op
def transpose(x, axes=None):
    x = _t(x)
    perm = list(range(x.ndim))[::-1] if axes is None else [int(a) % builtins.max(x.ndim, 1) for a in axes]
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"transpose expects a permutation of the {x.ndim} axes. Received: axes={axes!r}")
    if perm == list(range(x.ndim)):
        return x
    inv = list(np.argsort(perm))
    return record(K.transpose(x.value, perm), (x,),
                  lambda dy, needs: (K.transpose(dy, inv),), "transpose", x._dtype)


@_op
def moveaxis(x, source, destination):
    x = _t(x)
    src = [int(a) % x.ndim for a in ([source] if isinstance(source, (int, np.integer)) else source)]
    dst = [int(a) % x.ndim for a in ([destination] if isinstance(destination, (int, np.integer)) else destination)]
    if len(src) != len(dst):
        raise ValueError(f"moveaxis needs as many destinations as sources. Received: source={source!r}, "
                         f"destination={destination!r}")
    perm = [a for a in range(x.ndim) if a not in src]
    for d, a in sorted(zip(dst, src)):
        perm.insert(d, a)
    return transpose(x, perm)


@_op
def swapaxes(x, axis1, axis2):
    x = _t(x)
    perm = list(range(x.ndim))
    a, b = _axes(axis1, x.ndim)[0], _axes(axis2, x.ndim)[0]
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, perm)


@_op
def expand_dims(x, axis):
    x = _t(x)
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    nd = x.ndim + len(axes)
    axes = [a % nd for a in axes]
    shape, it = [], iter(x.shape)
    for i in range(nd):
        shape.append(1 if i in axes else next(it))
    return reshape(x, shape)


@_op
def squeeze(x, axis=None):
    x = _t(x)
    if axis is None:
        shape = [d for d in x.shape if d != 1]
    else:
        axes = _axes(axis, x.ndim)
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(f"Cannot squeeze axis {a} of size {x.shape[a]}. Received: shape {x.shape}")
        shape = [d for i, d in enumerate(x.shape) if i not in axes]
    return reshape(x, shape)


@_op
def broadcast_to(x, shape):
    x = _t(x)
    shape = tuple(int(d) for d in shape)
    in_shape = x.shape
    if in_shape == shape:
        return x
    out = K.broadcast_to(x.value, list(shape))
    return record(out, (x,), lambda dy, needs: (_unbroadcast(dy, in_shape),), "broadcast_to", x._dtype)


@_op
def concatenate(xs, axis=0):
    if not isinstance(xs, (list, tuple)) or not xs:
        raise ValueError(f"concatenate expects a non-empty list of tensors. Received: {xs!r}"[:200])
    ts = [_t(x) for x in xs]
    nd = ts[0].ndim
    a = _axes(axis, nd)[0]
    out = K.concatenate(list(_co_locate(*[t.value for t in ts])), a)
    sizes = [t.shape[a] for t in ts]

    def backward(dy, needs):
        grads, start = [], 0
        shape = list(dy.shape)
        for size, need in zip(sizes, needs):
            if need:
                starts = [0] * nd
                stops = list(shape)
                starts[a], stops[a] = start, start + size
                grads.append(K.slice(dy, starts, stops, [1] * nd))
            else:
                grads.append(None)
            start += size
        return tuple(grads)
    return record(out, tuple(ts), backward, "concatenate", ts[0]._dtype)


@_op
def stack(xs, axis=0):
    if not isinstance(xs, (list, tuple)) or not xs:
        raise ValueError(f"stack expects a non-empty list of tensors. Received: {xs!r}"[:200])
    ts = [_t(x) for x in xs]
    nd = ts[0].ndim + 1
    a = axis % nd
    return concatenate([expand_dims(t, a) for t in ts], axis=a)


def _slice_raw_op(x, starts, stops, steps):
    in_shape = list(x.shape)
    out = K.slice(x.value, starts, stops, steps)
    return record(out, (x,), lambda dy, needs: (K.slice_backward(dy, in_shape, starts, steps),),
                  "slice", x._dtype)


@_op
def split(x, indices_or_sections, axis=0):
    x = _t(x)
    a = _axes(axis, x.ndim)[0]
    n = x.shape[a]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split cannot divide axis {a} of size {n} into {k} equal sections. "
                             f"Received: indices_or_sections={indices_or_sections}")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    parts = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        starts, stops = [0] * x.ndim, list(x.shape)
        starts[a], stops[a] = lo, builtins.max(lo, hi)
        parts.append(_slice_raw_op(x, starts, stops, [1] * x.ndim))
    return parts


@_op
def slice(inputs, start_indices, shape):
    x = _t(inputs)
    starts = [int(s) for s in start_indices]
    stops = [s + (x.shape[i] - s if int(d) == -1 else int(d)) for i, (s, d) in enumerate(zip(starts, shape))]
    return _slice_raw_op(x, starts, stops, [1] * x.ndim)


def _pad_widths(pad_width, ndim):
    """((before, after), ...) per axis from an int, a pair, or one pair per
    axis (NumPy's forms), each a non-negative int."""
    try:
        w = np.asarray(pad_width)
    except (TypeError, ValueError):
        w = None
    ok = w is not None and w.dtype.kind in "iu" and (w.ndim == 0 or w.shape in ((2,), (1, 2), (ndim, 2)))
    if not ok or (w < 0).any():
        raise ValueError(f"`pad_width` must hold non-negative ints: one, a pair, or a pair per axis of the "
                         f"rank-{ndim} input. Received: pad_width={pad_width!r}")
    w = np.broadcast_to(w.reshape(-1, 1) if w.ndim == 0 else w.reshape(-1, 2), (ndim, 2))
    return [(int(a), int(b)) for a, b in w]


@_op
def pad(x, pad_width, mode="constant", constant_values=None):
    """``x`` with ``pad_width[i] = (before, after)`` values added along axis
    i, all equal to ``constant_values`` (0 by default). The gradient is the
    slice of the output gradient that covers ``x``."""
    x = _t(x)
    if mode != "constant":
        raise ValueError(f"ember's pad supports mode='constant'. Received: mode={mode!r}")
    widths = _pad_widths(pad_width, x.ndim)
    starts = [a for a, _ in widths]
    out_shape = [d + a + b for d, (a, b) in zip(x.shape, widths)]
    ones = [1] * x.ndim
    in_shape = list(x.shape)
    out = record(K.slice_backward(x.value, out_shape, starts, ones), (x,),
                 lambda dy, needs: (K.slice(dy, starts, [s + d for s, d in zip(starts, in_shape)], ones),),
                 "pad", x._dtype)
    if constant_values:
        border = K.binary(1.0, K.slice_backward(K.full(in_shape, 1.0, x.device), out_shape, starts, ones),
                          "subtract")
        out = add(out, Tensor(K.binary(border, float(constant_values), "multiply")))
    return out


@_op
def take(x, indices, axis=None):
    x, a = _axis_or_flat(_t(x), axis)
    idx = indices.numpy() if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind == "f":
        if not np.all(idx == np.round(idx)):
            raise ValueError("take expects integer indices. Received: non-integral float indices")
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    dim = x.shape[a]
    out = K.take(x.value, idx, a)
    return record(out, (x,), lambda dy, needs: (K.take_backward(dy, idx, a, dim),), "take", x._dtype)


@_op
def tile(x, repeats):
    x = _t(x)
    reps = [int(repeats)] if isinstance(repeats, (int, np.integer)) else [int(r) for r in repeats]
    nd = builtins.max(x.ndim, len(reps))
    reps = [1] * (nd - len(reps)) + reps
    x = reshape(x, [1] * (nd - x.ndim) + list(x.shape))
    # (d,) -> (r, d) -> (r * d,) on each axis.
    inter = []
    for r, d in zip(reps, x.shape):
        inter += [1, d]
    x = reshape(x, inter)
    target = []
    for r, d in zip(reps, x.shape[1::2]):
        target += [r, d]
    x = broadcast_to(x, target)
    return reshape(x, [r * d for r, d in zip(reps, target[1::2])])


@_op
def repeat(x, repeats, axis=None):
    x, a = _axis_or_flat(_t(x), axis)
    idx = np.repeat(np.arange(x.shape[a]), repeats)
    return take(x, idx, axis=a)


def _index(x, key):
    """x[key] for ints, slices, None, Ellipsis and one integer (or boolean)
    array index."""
    x = _t(x)
    if isinstance(key, Tensor) and key.dtype == "bool" or isinstance(key, np.ndarray) and key.dtype == bool:
        mask = key.numpy() if isinstance(key, Tensor) else key
        if mask.ndim > 1 or mask.ndim == x.ndim:
            if mask.shape != x.shape[:mask.ndim]:
                raise IndexError(f"A boolean mask must match the indexed dimensions {x.shape[:mask.ndim]}. "
                                 f"Received: mask of shape {mask.shape}")
            flat = reshape(x, (-1,) + x.shape[mask.ndim:])
            return take(flat, np.flatnonzero(mask), axis=0)
    if not isinstance(key, tuple):
        key = (key,)
    if builtins.any(isinstance(k, bool) for k in key):
        raise IndexError("ember tensors do not take Python bools as indices.")
    key = tuple(k.numpy() if isinstance(k, Tensor) and k.ndim > 0 else k for k in key)
    n_real = builtins.sum(1 for k in key if k is not None and k is not Ellipsis)
    if n_real > x.ndim:
        raise IndexError(f"Too many indices for a tensor of rank {x.ndim}. Received: {key!r}")
    if builtins.any(k is Ellipsis for k in key):
        i = [j for j, k in enumerate(key) if k is Ellipsis][0]
        key = key[:i] + (builtins.slice(None),) * (x.ndim - n_real) + key[i + 1:]
    else:
        key = key + (builtins.slice(None),) * (x.ndim - n_real)
    starts, stops, steps, array = [], [], [], None
    dim = 0
    for k in key:
        if k is None:
            continue
        size = x.shape[dim]
        if isinstance(k, builtins.slice):
            st, sp, stp = k.indices(size)
            starts.append(st), stops.append(sp), steps.append(stp)
        elif isinstance(k, (int, np.integer)) or (isinstance(k, Tensor) and k.ndim == 0):
            i = int(k)
            if not -size <= i < size:
                raise IndexError(f"Index {i} is out of bounds for axis {dim} with size {size}")
            i %= size
            starts.append(i), stops.append(i + 1), steps.append(1)
        else:
            if array is not None:
                raise IndexError("ember tensors take one integer-array index at most.")
            k = np.asarray(k)
            array = (dim, np.nonzero(k)[0] if k.dtype == bool else k)
            starts.append(0), stops.append(size), steps.append(1)
        dim += 1
    y = x
    if (starts, stops, steps) != ([0] * x.ndim, list(x.shape), [1] * x.ndim):
        y = _slice_raw_op(x, starts, stops, steps)
    kn = 0
    if array is not None:
        y = take(y, array[1], axis=array[0])
        kn = array[1].ndim
    final, dim = [], 0
    for k in key:
        if k is None:
            final.append(1)
        elif isinstance(k, builtins.slice):
            final.append(y.shape[dim])
            dim += 1
        elif isinstance(k, (int, np.integer)) or (isinstance(k, Tensor) and k.ndim == 0):
            dim += 1
        else:
            final.extend(y.shape[dim:dim + kn])
            dim += kn
    return reshape(y, final) if tuple(final) != y.shape else y


# ---------------------------------------------------------------- linear algebra
@_op
def matmul(x1, x2):
    a, b = _t(x1), _t(x2)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul does not take scalars. Received: shapes {a.shape} and {b.shape}")
    av, bv = _co_locate(a.value, b.value)
    a2 = _reshape_raw(av, (1,) + a.shape) if a.ndim == 1 else av
    b2 = _reshape_raw(bv, b.shape + (1,)) if b.ndim == 1 else bv
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"matmul: incompatible shapes {a.shape} and {b.shape} (inner dimensions "
                         f"{a2.shape[-1]} and {b2.shape[-2]} differ)")
    if len(a2.shape) == 2 and len(b2.shape) == 2:
        out = _core.matmul(a2, b2)
    else:
        out = K.batch_matmul(a2, b2, False, False)
    out_shape = list(out.shape)
    if a.ndim == 1:
        del out_shape[-2]
    if b.ndim == 1:
        del out_shape[-1]
    res = _reshape_raw(out, out_shape)
    sa, sb = tuple(a2.shape), tuple(b2.shape)
    full = tuple(out.shape)

    def backward(dy, needs):
        g = _reshape_raw(dy, full)
        ga = gb = None
        if needs[0]:
            ga = (_core.matmul(g, b2, False, True) if len(full) == 2 and len(sb) == 2
                  else K.batch_matmul(g, b2, False, True))
            ga = _reshape_raw(_unbroadcast(ga, sa), a.shape)
        if needs[1]:
            gb = (_core.matmul(a2, g, True, False) if len(full) == 2 and len(sa) == 2
                  else K.batch_matmul(a2, g, True, False))
            gb = _reshape_raw(_unbroadcast(gb, sb), b.shape)
        return ga, gb
    return record(res, (a, b), backward, "matmul")


@_op
def dot(x1, x2):
    a, b = _t(x1), _t(x2)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if b.ndim > 2:
        raise ValueError(f"ember's dot supports a second operand of rank 1 or 2. Received: {b.shape}")
    return matmul(a, b)


# ---------------------------------------------------------------- creation and dtypes
def zeros(shape, dtype="float32"):
    return full(shape, 0, dtype)


def ones(shape, dtype="float32"):
    return full(shape, 1, dtype)


def full(shape, fill_value, dtype="float32"):
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    dtype = _dtype_name(dtype or "float32")
    return Tensor(K.full(list(shape), float(fill_value), "cpu"), _float_out(dtype))


@_op
def zeros_like(x, dtype=None):
    x = _t(x)
    return Tensor(K.full(list(x.shape), 0.0, x.device), _float_out(dtype and _dtype_name(dtype)))


@_op
def ones_like(x, dtype=None):
    x = _t(x)
    return Tensor(K.full(list(x.shape), 1.0, x.device), _float_out(dtype and _dtype_name(dtype)))


@_op
def full_like(x, fill_value, dtype=None):
    x = _t(x)
    return Tensor(K.full(list(x.shape), float(fill_value), x.device),
                  _float_out(dtype and _dtype_name(dtype)))


def arange(start, stop=None, step=1, dtype=None):
    values = np.arange(start, stop, step)
    if dtype is None:
        dtype = "float32" if values.dtype.kind == "f" else "int32"
    return convert_to_tensor(values, dtype)


def eye(N, M=None, k=0, dtype="float32"):
    return convert_to_tensor(np.eye(N, M, k), dtype)


@_op
def cast(x, dtype):
    x = _t(x)
    dtype = _dtype_name(dtype)
    value = x.value
    if dtype in ("int32", "int64") and x.dtype in ("float32",):
        value = K.unary(K.binary(K.unary(value, "abs"), 0.0, "add"), "floor")
        value = K.where(K.binary(x.value, 0.0, "less"), K.unary(value, "negative"), value)  # towards zero
    elif dtype == "bool":
        value = K.binary(value, 0.0, "not_equal")
    if dtype == "float32":
        return record(value, (x,), lambda dy, needs: (dy,), "cast") if x.dtype == "float32" else Tensor(value)
    return Tensor(value, dtype)


def dtype(x):
    return _t(x).dtype


def shape(x):
    return tuple(x.shape)


def size(x):
    return int(np.prod(_t(x).shape))


def ndim(x):
    return len(_t(x).shape)


def is_tensor(x):
    return isinstance(x, Tensor)


def convert_to_numpy(x):
    if isinstance(x, Tensor):
        return x.numpy()
    return np.asarray(x)


@_op
def stop_gradient(x):
    x = _t(x)
    return Tensor(x.value, x._dtype)


@_op
def one_hot(x, num_classes, axis=-1, dtype="float32"):
    idx = np.asarray(_t(x).numpy()).astype(np.int64)
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
        raise ValueError(f"one_hot expects a positive int `num_classes`. Received: {num_classes!r}")
    eye_ = np.eye(num_classes, dtype=np.float32)
    valid = (idx >= 0) & (idx < num_classes)
    out = np.where(valid[..., None], eye_[np.clip(idx, 0, num_classes - 1)], 0).astype(np.float32)
    if axis not in (-1, out.ndim - 1):
        out = np.moveaxis(out, -1, axis)
    return convert_to_tensor(out, dtype)


# ---------------------------------------------------------------- nn: losses and fused layers
def _as_labels(y, sparse=False):
    if isinstance(y, Tensor):
        return y.numpy() if sparse else y.value
    return np.asarray(y) if sparse else np.asarray(y, np.float32)


def _loss_node(loss, grad_fn, y_pred, kind, logits=None):
    """A scalar loss tensor. ``grad_fn(logits)`` gives the gradient with
    respect to y_pred, or, when the engine fuses this loss with the softmax
    that made y_pred (``logits=True``), with respect to the softmax's input."""
    def backward(dy, needs, logits=False):
        s = float(np.asarray(dy))
        g = grad_fn(logits)
        return (g if s == 1.0 else K.binary(g, s, "multiply"),)
    return record(np.asarray(loss, np.float32).reshape(()), (y_pred,), backward, kind,
                  fuse="from_softmax" if logits is not None else None)


def _cce_mean(target, output, from_logits=False, sparse=False):
    """Mean categorical cross-entropy over the batch, one fused kernel. On
    the output of a softmax its value comes from the logits (exact, as
    Keras does), in training and in evaluation alike; the engine decides at
    backward time whether the gradient skips the softmax."""
    output = _t(output)
    if sparse:
        y = np.ascontiguousarray(_as_labels(target, sparse=True).reshape(-1), dtype=np.int64)
    else:
        y = _as_labels(target)
    logits = None if from_logits else output._logits
    if logits is not None:
        if sparse:
            loss, dlogits = _core.sparse_categorical_crossentropy(y, logits.value, True)
        else:
            loss, dlogits, _ = _core.softmax_crossentropy(y, logits.value)
        probs = output.value

        def grad(fused):
            if fused:
                return dlogits
            if sparse:
                return _core.sparse_categorical_crossentropy(y, probs, False)[1]
            return _core.loss(y, probs, "categorical_crossentropy", False)[1]
        return _loss_node(loss, grad, output, "cross_entropy", logits)
    if sparse:
        loss, g = _core.sparse_categorical_crossentropy(y, output.value, bool(from_logits))
    else:
        loss, g = _core.loss(y, output.value, "categorical_crossentropy", bool(from_logits))
    return _loss_node(loss, lambda fused: g, output, "cross_entropy")


def _elementwise_loss_mean(kind, target, output, from_logits=False):
    output = _t(output)
    loss, g = _core.loss(_as_labels(target), output.value, kind, bool(from_logits))
    return _loss_node(loss, lambda fused: g, output, kind)


_EPSILON = 1e-7


@_op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Per-sample categorical cross-entropy (Keras's ``keras.ops``): shape of
    output without the class axis. Probabilities are scaled to sum to one and
    clipped to [1e-7, 1 - 1e-7]; on a softmax's output the logits are used."""
    output = _t(output)
    y = convert_to_tensor(target, "float32")
    logits = output._logits if not from_logits else output
    if logits is not None:
        return negative(sum(multiply(y, log_softmax(logits, axis=axis)), axis=axis))
    p = divide(output, sum(output, axis=axis, keepdims=True))
    return negative(sum(multiply(y, log(clip(p, _EPSILON, 1 - _EPSILON))), axis=axis))


@_op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    output = _t(output)
    labels = np.asarray(_as_labels(target, sparse=True)).astype(np.int64)
    return categorical_crossentropy(one_hot(labels.reshape(output.shape[:-1]), output.shape[-1]), output,
                                    from_logits, axis)


@_op
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise binary cross-entropy (as Keras's ``keras.ops``: the
    shape of output; ``keras.losses.binary_crossentropy`` averages it over
    the last axis)."""
    output = _t(output)
    y = convert_to_tensor(target, "float32")
    if from_logits:
        return add(subtract(relu(output), multiply(output, y)), log1p(exp(negative(abs(output)))))
    p = clip(output, _EPSILON, 1 - _EPSILON)
    return negative(add(multiply(y, log(p)), multiply(subtract(1.0, y), log(subtract(1.0, p)))))


def dense(x, kernel, bias=None, relu=False):
    """``x @ kernel + bias`` (ReLU in the GEMM's write-out when ``relu``)."""
    xv = x.value
    kv = kernel.value
    y = _core.dense(xv, kv, None if bias is None else bias.value, relu)

    def backward(dy, needs, premasked=False):
        dpre = _core.relu_grad_from_output(dy, y) if relu and not premasked else dy
        return _core.dense_backward(dpre, xv, kv, bias is not None, bool(needs[0]))
    return record(y, (x, kernel, bias), backward, "dense", fuse="relu_output" if relu else None)


def conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1), relu=False):
    """NHWC convolution, Keras kernel layout; ReLU fused when ``relu``."""
    xv, kv = x.value, kernel.value
    y = _core.conv2d(xv, kv, None if bias is None else bias.value, strides, padding, dilation_rate, relu)

    def backward(dy, needs, premasked=False):
        relu_output = y if relu and not premasked else None
        dx, dk, db = _core.conv2d_backward(dy, xv, kv, strides, padding, dilation_rate,
                                           bias is not None, bool(needs[0]), relu_output)
        return dx, dk, db
    return record(y, (x, kernel, bias), backward, "conv2d", fuse="relu_output" if relu else None)


def _pool(kind, x, pool_size, strides, padding):
    xv = x.value
    if kind == "max":
        y = _core.max_pool2d(xv, pool_size, strides, padding)

        def backward(dy, needs, relu_input=False):
            return (_core.max_pool2d_backward(dy, xv, pool_size, strides, padding, relu_input),)
        return record(y, (x,), backward, "max_pool2d")
    y = _core.avg_pool2d(xv, pool_size, strides, padding)
    return record(y, (x,), lambda dy, needs: (_core.avg_pool2d_backward(dy, xv, pool_size, strides, padding),),
                  "avg_pool2d")


def global_avg_pool2d(x):
    xv = x.value
    return record(_core.global_avg_pool2d(xv), (x,),
                  lambda dy, needs: (_core.global_avg_pool2d_backward(dy, xv),), "global_avg_pool2d")


def dropout_op(x, rate, seed):
    y, mask = _core.dropout(x.value, rate, seed)
    return record(y, (x,), lambda dy, needs: (_core.dropout_backward(dy, mask),), "dropout")


def batch_norm_train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon):
    xv, gv = x.value, gamma.value
    y, m, v = _core.batch_norm_train(xv, gv, beta.value, moving_mean.value, moving_var.value,
                                     momentum, epsilon)

    def backward(dy, needs):
        return _core.batch_norm_backward(dy, xv, gv, m, v, epsilon)
    return record(y, (x, gamma, beta), backward, "batch_norm")


def batch_norm_infer(x, gamma, beta, moving_mean, moving_var, epsilon):
    return Tensor(_core.batch_norm_infer(x.value, gamma.value, beta.value, moving_mean.value,
                                         moving_var.value, epsilon))


def _hw(v, name):
    if isinstance(v, (int, np.integer)):
        return (int(v), int(v))
    v = tuple(int(i) for i in v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise ValueError(f"`{name}` must be an int or a pair for 2-D inputs. Received: {v}")
    return v


@_op
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    x, k = _t(inputs), _t(kernel)
    if x.ndim != 4:
        raise ValueError(f"ember's conv takes 2-D images (N, H, W, C). Received: shape {x.shape}")
    return conv2d(x, k, None, _hw(strides, "strides"), padding.lower(), _hw(dilation_rate, "dilation_rate"))


@_op
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    ps = _hw(pool_size, "pool_size")
    return _pool("max", _t(inputs), ps, _hw(strides, "strides") if strides is not None else ps, padding.lower())


@_op
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    ps = _hw(pool_size, "pool_size")
    return _pool("avg", _t(inputs), ps, _hw(strides, "strides") if strides is not None else ps, padding.lower())


# ---------------------------------------------------------------- operators
def _install_operators(cls):
    def rev(f):
        return lambda self, other: f(other, self)
    ops = {"__add__": add, "__radd__": rev(add), "__sub__": subtract, "__rsub__": rev(subtract),
           "__mul__": multiply, "__rmul__": rev(multiply), "__truediv__": divide,
           "__rtruediv__": rev(divide), "__matmul__": matmul, "__rmatmul__": rev(matmul),
           "__pow__": power, "__rpow__": rev(power), "__neg__": negative, "__pos__": lambda s: s,
           "__abs__": abs, "__floordiv__": floor_divide, "__rfloordiv__": rev(floor_divide),
           "__mod__": mod, "__rmod__": rev(mod), "__lt__": less, "__le__": less_equal,
           "__gt__": greater, "__ge__": greater_equal, "__and__": logical_and, "__or__": logical_or,
           "__invert__": logical_not, "__getitem__": _op(_index)}
    for name, fn in ops.items():
        setattr(cls, name, fn)
    cls.__eq__ = lambda self, other: equal(self, other)
    cls.__ne__ = lambda self, other: not_equal(self, other)
    cls.__hash__ = object.__hash__
    cls.T = property(lambda self: transpose(self))
    cls.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape)
    cls.astype = lambda self, dtype: cast(self, dtype)
    for name in ("sum", "mean", "max", "min", "prod", "argmax", "argmin"):
        fn = globals()[name]
        setattr(cls, name, lambda self, axis=None, keepdims=False, _fn=fn: _fn(self, axis=axis, keepdims=keepdims))


_install_operators(Tensor)
_install_operators(KerasTensor)
