"""The tensor operations of ember._core (unary, binary, where, reduce,
arg_reduce, transpose, broadcast_to, slice, concatenate, take, batch_matmul,
full) against NumPy, their naive references, their errors, and bitwise
determinism across thread counts."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import ember
from ember import _core

from conftest import assert_close, rand

UNARY = {
    "negative": np.negative, "abs": np.abs, "sign": np.sign, "square": np.square, "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x), "reciprocal": np.reciprocal, "exp": np.exp, "expm1": np.expm1,
    "log": np.log, "log1p": np.log1p, "sin": np.sin, "cos": np.cos, "tan": np.tan, "floor": np.floor,
    "ceil": np.ceil, "round": np.round, "logical_not": np.logical_not,
    "softplus": lambda x: np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0),
    "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite,
}
BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "power": np.power, "maximum": np.maximum, "minimum": np.minimum, "equal": np.equal,
    "not_equal": np.not_equal, "greater": np.greater, "greater_equal": np.greater_equal,
    "less": np.less, "less_equal": np.less_equal, "logical_and": np.logical_and,
    "logical_or": np.logical_or, "floor_divide": np.floor_divide, "mod": np.mod, "arctan2": np.arctan2,
}
REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod}


def np32(f, *args):
    with np.errstate(all="ignore"):
        return np.asarray(f(*[np.float32(a) if np.isscalar(a) else a for a in args])).astype(np.float32)


def check(got, want, rtol=2e-6):
    got = np.asarray(got)
    assert got.dtype == np.float32 and got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6, equal_nan=True)


# ---------------------------------------------------------------- element-wise

SPECIAL = np.array([0.0, -0.0, 0.5, 1.5, 2.5, -2.5, -0.5, 1.0, -1.0, 3.7, -3.7, 100.0, -100.0,
                    np.inf, -np.inf, np.nan, 1e-30], np.float32)


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(rng, op):
    x = np.concatenate([SPECIAL, rand(rng, 1000) * 3]).reshape(-1, 1)
    if op in ("tan",):
        x = x[np.abs(x) < 1.4]  # away from the poles, where float32 rounding dominates
    check(_core.unary(x, op), np32(UNARY[op], x), rtol=1e-5)
    check(_core.unary(np.float32(2.5), op), np32(UNARY[op], np.float32(2.5)), rtol=1e-5)  # 0-d
    assert _core.unary(np.zeros((0, 3), np.float32), op).shape == (0, 3)


def test_unary_converts_dtypes_and_non_contiguous(rng):
    x = np.arange(12, dtype=np.int64).reshape(3, 4)
    check(_core.unary(x, "square"), (x * x).astype(np.float32))
    y = rand(rng, 6, 8)[:, ::2]
    check(_core.unary(y, "abs"), np.abs(y))
    check(_core.unary(np.array([True, False]), "logical_not"), np.array([0, 1], np.float32))


BCAST = [((3, 4), (3, 4)), ((5, 4), (4,)), ((4,), (5, 4)), ((2, 1, 3), (4, 1)), ((1,), (3, 2)),
         ((), (2, 3)), ((2, 3), ()), ((0, 3), (3,)), ((2, 1, 4, 1, 3), (5, 4, 1, 3)), ((3, 1), (1, 4)),
         ((6, 5, 4), (6, 1, 4)), ((1, 1, 1), (1,))]


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_all_ops(rng, op):
    a = np.concatenate([SPECIAL, rand(rng, 200) * 4, [7.0, -7.0, 7.0, -7.0, 0.0, 2.0]]).astype(np.float32)
    b = np.concatenate([SPECIAL[::-1], rand(rng, 200) * 4, [2.0, 2.0, -2.0, -2.0, 3.0, 0.0]]).astype(np.float32)
    if op == "power":
        a = np.abs(a)
    want = np32(BINARY[op], a, b)
    check(_core.binary(a, b, op), want, rtol=1e-5)
    check(_core.binary_naive(a, b, op), want, rtol=1e-5)
    check(_core.binary(a.reshape(-1, 1), b[:5], op), np32(BINARY[op], a.reshape(-1, 1), b[:5]), rtol=1e-5)
    check(_core.binary(a, 1.5, op), np32(BINARY[op], a, 1.5), rtol=1e-5)
    check(_core.binary(-2, b, op), np32(BINARY[op], -2.0, b), rtol=1e-5)


@pytest.mark.parametrize("sa,sb", BCAST)
def test_binary_broadcast_shapes(rng, sa, sb):
    a, b = rand(rng, *sa), rand(rng, *sb)
    for op in ("add", "subtract", "maximum", "greater"):
        want = np32(BINARY[op], a, b)
        check(_core.binary(a, b, op), want)
        check(_core.binary_naive(a, b, op), want)


def test_binary_fast_paths_large(rng):
    x, row = rand(rng, 300, 257), rand(rng, 257)
    check(_core.binary(x, row, "add"), x + row)            # (N, C) + (C,)
    check(_core.binary(x, x[::-1].copy(), "multiply"), x * x[::-1])
    check(_core.binary(x, 3.0, "divide"), x / np.float32(3.0))
    check(_core.binary(x[:, :1], row, "subtract"), x[:, :1] - row)
    col = rand(rng, 300)
    check(_core.binary(x.T, col, "add"), x.T + col)  # non-contiguous input
    check(_core.binary(np.arange(5), np.int8(2), "mod"), np.arange(5, dtype=np.float32) % 2)


dims = st.lists(st.integers(1, 4), min_size=0, max_size=5)


@settings(max_examples=40, deadline=None)
@given(dims, st.data())
def test_binary_broadcast_hypothesis(shape, data):
    # b takes a suffix of a's shape with some sizes replaced by 1, or the reverse.
    k = data.draw(st.integers(0, len(shape)))
    other = [d if data.draw(st.booleans()) else 1 for d in shape[len(shape) - k:]]
    if k == len(shape) and data.draw(st.booleans()):
        other = [data.draw(st.integers(1, 3))] + other
    rng = np.random.default_rng(len(shape) * 7 + k)
    a, b = rand(rng, *shape), rand(rng, *other)
    if data.draw(st.booleans()):
        a, b = b, a
    check(_core.binary(a, b, "subtract"), a - b)
    check(_core.binary_naive(a, b, "subtract"), a - b)


def test_where(rng):
    c = (rng.random((4, 1, 5)) > 0.5).astype(np.float32)
    a, b = rand(rng, 3, 5), rand(rng, 1, 5)
    check(_core.where(c, a, b), np.where(c != 0, a, b))
    check(_core.where(c, 1.0, b), np.where(c != 0, np.float32(1), b))
    check(_core.where(c, a, -2), np.where(c != 0, a, np.float32(-2)))
    check(_core.where(np.float32(0), a, b), np.where(False, a, b))
    check(_core.where(np.array([np.nan, 0.0]), 1.0, 2.0), np.array([1, 2], np.float32))
    with pytest.raises(ValueError, match="Received: shapes"):
        _core.where(c, rand(rng, 2, 4), b)


# ---------------------------------------------------------------- reductions

REDUCE_CASES = [((4, 5), [0]), ((4, 5), [1]), ((4, 5), [0, 1]), ((4, 5), []), ((3, 4, 5), [0, 2]),
                ((3, 4, 5), [1]), ((3, 4, 5), [-1, -2]), ((2, 3, 4, 5), [0, 2]), ((2, 3, 4, 5), [1, 3]),
                ((3, 1, 4), [0, 2]), ((3, 1, 4), [1]), ((), []), ((7,), [0]), ((1000, 3), [0]),
                ((3, 1000), [1]), ((600, 300), [0]), ((2, 700, 3), [1])]


@pytest.mark.parametrize("shape,axes", REDUCE_CASES)
@pytest.mark.parametrize("op", sorted(REDUCE))
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce(rng, shape, axes, op, keepdims):
    x = rand(rng, *shape) if op != "prod" else (1 + 0.01 * rand(rng, *shape))
    want = REDUCE[op](x.astype(np.float64), axis=tuple(axes), keepdims=keepdims)
    got = _core.reduce(x, axes, op, keepdims)
    check(got, want.astype(np.float32), rtol=1e-6)
    assert_close(_core.reduce_naive(x, axes, op, keepdims), got, rtol=1e-6, atol=1e-6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=4), st.data())
def test_reduce_hypothesis(shape, data):
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), unique_by=lambda a: a % len(shape)))
    op = data.draw(st.sampled_from(["sum", "mean", "prod"]))
    keep = data.draw(st.booleans())
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    with np.errstate(all="ignore"):
        want = REDUCE[op](x.astype(np.float64), axis=tuple(axes), keepdims=keep).astype(np.float32)
    check(_core.reduce(x, axes, op, keep), want, rtol=1e-5)
    check(_core.reduce_naive(x, axes, op, keep), want, rtol=1e-5)


def test_reduce_edge_cases():
    z = np.zeros((0, 3), np.float32)
    check(_core.reduce(z, [0], "sum"), np.zeros(3, np.float32))
    check(_core.reduce(z, [0], "prod"), np.ones(3, np.float32))
    assert np.isnan(_core.reduce(z, [0], "mean")).all()
    assert _core.reduce(z, [1], "max").shape == (0,)
    for op in ("max", "min"):
        with pytest.raises(ValueError, match="Received"):
            _core.reduce(z, [0], op)
    x = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 3.0]], np.float32)
    check(_core.reduce(x, [1], "max"), np.array([np.nan, 3.0], np.float32))
    check(_core.reduce(x, [1], "min"), np.array([np.nan, 1.0], np.float32))
    check(_core.reduce(np.float32(3.0), [], "sum"), np.float32(3.0))


def test_reduce_precision_one_million(rng):
    x = rng.standard_normal(1_000_000).astype(np.float32) + 0.5
    want = np.sum(x.astype(np.float64))
    assert abs(float(_core.reduce(x, [0], "sum")) - want) <= 1e-6 * abs(want)
    assert abs(float(_core.reduce(x.reshape(1000, 1000), [0, 1], "sum")) - want) <= 1e-6 * abs(want)


def test_arg_reduce(rng):
    x = rand(rng, 4, 7, 5)
    x[1, 3, 2] = x[1, 5, 2] = 10.0  # ties: the first wins
    for axis in (0, 1, 2, -1):
        for op, f in (("argmax", np.argmax), ("argmin", np.argmin)):
            check(_core.arg_reduce(x, axis, op), f(x, axis=axis).astype(np.float32))
            check(_core.arg_reduce(x, axis, op, True),
                  np.expand_dims(f(x, axis=axis), axis).astype(np.float32))
    y = np.array([[1.0, np.nan, 5.0, np.nan], [3.0, 2.0, 2.0, 0.0]], np.float32)
    check(_core.arg_reduce(y, 1, "argmax"), np.argmax(y, axis=1).astype(np.float32))
    check(_core.arg_reduce(y, 1, "argmin"), np.argmin(y, axis=1).astype(np.float32))
    with pytest.raises(ValueError, match="Received"):
        _core.arg_reduce(np.zeros((2, 0)), 1, "argmax")
    with pytest.raises(ValueError, match="Received"):
        _core.arg_reduce(y, 0, "argfoo")


# ---------------------------------------------------------------- copies

@pytest.mark.parametrize("shape,perm", [((3, 4), [1, 0]), ((2, 3, 4), [0, 2, 1]), ((2, 3, 4), [2, 0, 1]),
                                        ((2, 3, 4, 5), [3, 1, 0, 2]), ((70, 45), [1, 0]),
                                        ((3, 66, 33), [0, 2, 1]), ((1, 5, 1), [2, 0, 1]), ((), []),
                                        ((0, 4), [1, 0]), ((5,), [-1])])
def test_transpose(rng, shape, perm):
    x = rand(rng, *shape)
    want = np.transpose(x, perm)
    check(_core.transpose(x, perm), want)
    check(_core.transpose_naive(x, perm), want)


def test_transpose_large_blocked(rng):
    x = rand(rng, 4, 300, 200)
    np.testing.assert_array_equal(_core.transpose(x, [0, 2, 1]), x.transpose(0, 2, 1))


def test_broadcast_to(rng):
    for shape, to in [((3,), (4, 3)), ((1,), (2, 3)), ((2, 1), (2, 5)), ((), (3, 2)), ((2, 3), (2, 3)),
                      ((1, 3), (0, 3)), ((3, 1, 2), (4, 3, 5, 2))]:
        x = rand(rng, *shape)
        check(_core.broadcast_to(x, list(to)), np.broadcast_to(x, to))
    with pytest.raises(ValueError, match="Received"):
        _core.broadcast_to(rand(rng, 2, 3), [4, 3])
    with pytest.raises(ValueError, match="Received"):
        _core.broadcast_to(rand(rng, 2, 3), [3])


SLICES = [(slice(1, 3), slice(None)), (slice(None, None, -1), slice(0, 5, 2)), (slice(3, 0, -2), slice(4, None, -3)),
          (slice(2, 2), slice(None)), (slice(5, None), slice(1, 2)), (slice(None, None, 3), slice(None, None, -1))]


@pytest.mark.parametrize("sl", SLICES)
def test_slice_and_backward(rng, sl):
    x = rand(rng, 6, 7)
    idx = [s.indices(n) for s, n in zip(sl, x.shape)]
    starts, stops, steps = [list(v) for v in zip(*idx)]
    y = _core.slice(x, starts, stops, steps)
    check(y, x[sl])
    dy = rand(rng, *x[sl].shape)
    want = np.zeros_like(x)
    want[sl] = dy
    check(_core.slice_backward(dy, list(x.shape), starts, steps), want)


def test_slice_errors_and_0d(rng):
    x = rand(rng, 4, 5)
    check(_core.slice(np.float32(2.0), [], [], []), np.float32(2.0))
    for args in ([[0, 0], [5, 5], [1, 1]], [[0, 0], [4, 5], [0, 1]], [[0], [4], [1]], [[-2, 0], [4, 5], [1, 1]]):
        with pytest.raises(ValueError, match="Received"):
            _core.slice(x, *args)
    with pytest.raises(ValueError, match="Received"):
        _core.slice_backward(rand(rng, 3, 5), [4, 5], [2, 0], [1, 1])
    with pytest.raises(ValueError, match="Received"):
        _core.slice_backward(rand(rng, 3, 5), [4, 5], [0, 0], [0, 1])


def test_concatenate(rng):
    a, b, c = rand(rng, 2, 3, 4), rand(rng, 2, 1, 4), rand(rng, 2, 0, 4)
    check(_core.concatenate([a, b, c], 1), np.concatenate([a, b, c], 1))
    check(_core.concatenate([a, a], -1), np.concatenate([a, a], -1))
    check(_core.concatenate([a, a.astype(np.float64)], 0), np.concatenate([a, a], 0))
    check(_core.concatenate([np.arange(3)], 0), np.arange(3, dtype=np.float32))
    with pytest.raises(ValueError, match=r"Received: arrays\[1\]"):
        _core.concatenate([a, b], 0)
    with pytest.raises(ValueError, match="Received"):
        _core.concatenate([a, rand(rng, 2, 3)], 0)
    with pytest.raises(ValueError, match="Received"):
        _core.concatenate([], 0)
    with pytest.raises(ValueError, match="Received"):
        _core.concatenate([np.float32(1)], 0)


# ---------------------------------------------------------------- take

@pytest.mark.parametrize("shape,axis,ishape", [((5, 3), 0, (4,)), ((5, 3), 1, (2, 2)), ((2, 5, 3), 1, (7,)),
                                               ((2, 5, 3), -1, ()), ((6,), 0, (3, 2)), ((5, 0), 0, (3,)),
                                               ((5, 3), 0, (0,))])
def test_take_and_backward(rng, shape, axis, ishape):
    x = rand(rng, *shape)
    dim = shape[axis]
    idx = rng.integers(-dim, dim, size=ishape)
    want = np.take(x, idx, axis=axis)
    check(_core.take(x, idx, axis), want)
    check(_core.take(x, idx.astype(np.int32), axis), want)
    check(_core.take(x, idx.astype(np.float32), axis), want)
    dy = rand(rng, *want.shape)
    ax = axis % len(shape)
    dx = np.zeros(shape, np.float64)
    pre = (slice(None),) * ax
    for j in np.ndindex(*ishape):
        dx[pre + (idx[j] % dim,)] += dy[pre + j]
    check(_core.take_backward(dy, idx, axis, dim), dx.astype(np.float32), rtol=1e-5)


def test_take_repeated_rows_accumulate_in_order(rng):
    dy = rand(rng, 1000, 8)
    idx = rng.integers(0, 3, 1000)
    got = _core.take_backward(dy, idx, 0, 3)
    want = np.zeros((3, 8), np.float32)
    for i, k in enumerate(idx):  # float32, in index order: the same bits
        want[k] += dy[i]
    np.testing.assert_array_equal(got, want)


def test_take_errors(rng):
    x = rand(rng, 5, 3)
    with pytest.raises(ValueError, match="index 7 is out of bounds for axis 0 with size 5"):
        _core.take(x, np.array([1, 7]), 0)
    with pytest.raises(ValueError, match="Received"):
        _core.take(x, np.array([-6]), 0)
    with pytest.raises(TypeError, match="Received"):
        _core.take(x, np.array([1.5]), 0)
    with pytest.raises(TypeError, match="Received"):
        _core.take(x, np.array(["a"]), 0)
    with pytest.raises(ValueError, match="Received: axis=2 for an input of rank 2"):
        _core.take(x, np.array([1]), 2)
    with pytest.raises(ValueError, match="Received"):
        _core.take_backward(rand(rng, 4, 3), np.array([1, 2]), 0, 5)


# ---------------------------------------------------------------- batch_matmul, full

@pytest.mark.parametrize("sa,sb", [((3, 4, 5), (3, 5, 6)), ((3, 4, 5), (5, 6)), ((4, 5), (2, 3, 5, 6)),
                                   ((2, 1, 4, 5), (3, 5, 2)), ((4, 5), (5, 6)), ((0, 4, 5), (5, 6)),
                                   ((2, 4, 0), (2, 0, 3))])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_batch_matmul(rng, sa, sb, ta, tb):
    a, b = rand(rng, *sa), rand(rng, *sb)
    a_ = np.swapaxes(a, -1, -2).copy() if ta else a
    b_ = np.swapaxes(b, -1, -2).copy() if tb else b
    got = _core.batch_matmul(a_, b_, ta, tb)
    assert_close(got, np.matmul(a.astype(np.float64), b), rtol=1e-5)


def test_batch_matmul_errors(rng):
    with pytest.raises(ValueError, match="Received"):
        _core.batch_matmul(rand(rng, 2, 3, 4), rand(rng, 5, 6))
    with pytest.raises(ValueError, match="Received"):
        _core.batch_matmul(rand(rng, 2, 3, 4), rand(rng, 3, 4, 6))
    with pytest.raises(ValueError, match="Received"):
        _core.batch_matmul(rand(rng, 4), rand(rng, 4, 6))


def test_full():
    check(_core.full([2, 3], 1.5), np.full((2, 3), 1.5, np.float32))
    check(_core.full([], 2.0), np.float32(2.0))
    assert _core.full([0, 4], 1.0).shape == (0, 4)
    with pytest.raises(ValueError, match="Received"):
        _core.full([2], 0.0, "tpu")
    if not ember.cuda.built():
        with pytest.raises(ValueError, match="Received"):
            _core.full([2], 0.0, "cuda")
    with pytest.raises(ValueError, match="Received"):
        _core.full([1 << 40, 1 << 40], 0.0)
    with pytest.raises(ValueError, match="Received"):
        _core.full([-1], 0.0)


# ---------------------------------------------------------------- errors, determinism

def test_errors_name_what_was_received(rng):
    x = rand(rng, 2, 3)
    for call, exc in [
        (lambda: _core.unary(x, "nope"), ValueError),
        (lambda: _core.binary(x, x, "nope"), ValueError),
        (lambda: _core.binary(x, rand(rng, 4), "add"), ValueError),
        (lambda: _core.binary(x, "s", "add"), TypeError),
        (lambda: _core.reduce(x, [3], "sum"), ValueError),
        (lambda: _core.reduce(x, [0, -2], "sum"), ValueError),
        (lambda: _core.reduce(x, [0], "median"), ValueError),
        (lambda: _core.transpose(x, [0, 0]), ValueError),
        (lambda: _core.transpose(x, [0]), ValueError),
        (lambda: _core.arg_reduce(x, -3, "argmax"), ValueError),
        (lambda: _core.where(x, None, x), TypeError),
    ]:
        with pytest.raises(exc, match="Received"):
            call()
    with pytest.raises(ValueError, match=r"Received: shapes \(2, 3\) and \(4,\)"):
        _core.binary(x, rand(rng, 4), "add")
    with pytest.raises(ValueError, match="Received: axis=3 for an input of rank 2"):
        _core.reduce(x, [3], "sum")
    with pytest.raises(ValueError, match="more than 8"):
        _core.binary(rand(rng, *[2, 1] * 5), rand(rng, *[1, 2] * 5), "add")


def test_bitwise_determinism_across_thread_counts(rng, threads):
    if not _core.openmp_enabled():
        pytest.skip("built without OpenMP")
    x = rand(rng, 3000, 257)
    idx = rng.integers(0, 50, 3000)
    a, b = rand(rng, 16, 64, 96), rand(rng, 16, 96, 80)
    runs = []
    for n in (1, 2):
        ember.set_num_threads(n)
        runs.append([_core.reduce(x, [0], "sum"), _core.reduce(x, [1], "mean"), _core.reduce(x, [0, 1], "sum"),
                     _core.reduce(x.reshape(3, 1000, 257), [0, 2], "sum"),
                     _core.take_backward(x, idx, 0, 50), _core.batch_matmul(a, b),
                     _core.batch_matmul(a, b[0]), _core.binary(x, x[0], "add")])
    for u, v in zip(*runs):
        np.testing.assert_array_equal(u, v)
