"""The tensor operations' CUDA kernels (cpp/cuda/tensor_ops.cu) against the
CPU's, through the same ember._core functions called with DeviceArrays.
Element formulas within 1e-5 relative (a GPU's libm differs in the last
bits); copies, gathers, take_backward and the reductions bit for bit (the
same sums in the same order). Small shapes: on the emulator every CUDA
thread is a fiber."""
import os

import numpy as np
import pytest

import ember
from ember import _core

from conftest import rand

gpu = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                         reason="no CUDA device, or ember built without CUDA "
                                f"(built with CUDA: {ember.cuda.built()})")
pytestmark = [pytest.mark.gpu, gpu]


def dev(a):
    return _core.to_device(a)


def same(got, want, rtol=1e-5, exact=False):
    assert isinstance(got, ember.cuda.DeviceArray), type(got)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    if exact:
        np.testing.assert_array_equal(got.numpy(), want)
    else:
        np.testing.assert_allclose(got.numpy(), want, rtol=rtol, atol=1e-6, equal_nan=True)


SPECIAL = np.array([0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 3.7, -3.7, np.inf, -np.inf, np.nan, 7.0, -7.0], np.float32)

UNARY = ["negative", "abs", "sign", "square", "sqrt", "rsqrt", "reciprocal", "exp", "expm1", "log",
         "log1p", "sin", "cos", "tan", "floor", "ceil", "round", "logical_not", "softplus", "isnan",
         "isinf", "isfinite"]
BINARY = ["add", "subtract", "multiply", "divide", "power", "maximum", "minimum", "equal", "not_equal",
          "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or", "floor_divide",
          "mod", "arctan2"]


def test_unary_all_ops(rng):
    x = np.concatenate([SPECIAL, rand(rng, 40)]).reshape(-1, 1)
    dx = dev(x)
    for op in UNARY:
        same(_core.unary(dx, op), _core.unary(x, op))
    same(_core.unary(dev(np.float32(2.0)), "exp"), _core.unary(np.float32(2.0), "exp"))


def test_binary_all_ops_and_broadcasting(rng):
    a = np.concatenate([SPECIAL, rand(rng, 30)]).astype(np.float32)
    b = np.concatenate([SPECIAL[::-1], rand(rng, 30)]).astype(np.float32)
    da, db = dev(a), dev(b)
    for op in BINARY:
        same(_core.binary(da, db, op), _core.binary(a, b, op))
        same(_core.binary(da, 2.0, op), _core.binary(a, 2.0, op))
    for sa, sb in [((5, 4), (4,)), ((3, 1), (1, 4)), ((2, 1, 3), (4, 1)), ((), (2, 3)), ((0, 3), (3,)),
                   ((2, 3, 1, 2), (3, 4, 1))]:
        x, y = rand(rng, *sa), rand(rng, *sb)
        same(_core.binary(dev(x), dev(y), "subtract"), _core.binary(x, y, "subtract"), exact=True)
        same(_core.binary(dev(x), -1, "maximum"), _core.binary(x, -1, "maximum"), exact=True)
    with pytest.raises(ValueError, match="one device"):
        _core.binary(da, b, "add")


def test_where(rng):
    c = (rng.random((3, 1, 4)) > 0.5).astype(np.float32)
    a, b = rand(rng, 2, 4), rand(rng, 1, 4)
    same(_core.where(dev(c), dev(a), dev(b)), _core.where(c, a, b), exact=True)
    same(_core.where(dev(c), 1.0, dev(b)), _core.where(c, 1.0, b), exact=True)


@pytest.mark.parametrize("shape,axes", [((5, 7), [0]), ((5, 7), [1]), ((5, 7), [0, 1]), ((3, 4, 5), [0, 2]),
                                        ((3, 4, 5), [1]), ((600,), [0]), ((2, 300, 3), [1]), ((4, 5), []),
                                        ((0, 3), [0]), ((), [])])
def test_reduce_bitwise(rng, shape, axes):
    x = rand(rng, *shape)
    dx = dev(x)
    for op in ("sum", "mean", "max", "min", "prod"):
        if op in ("max", "min") and 0 in shape:
            continue
        for keep in (False, True):
            same(_core.reduce(dx, axes, op, keep), _core.reduce(x, axes, op, keep), exact=True)


def test_arg_reduce(rng):
    x = rand(rng, 3, 6, 4)
    x[0, 2, 1] = x[0, 4, 1] = 9.0
    x[1, 3, 2] = np.nan
    for axis in (0, 1, -1):
        for op in ("argmax", "argmin"):
            same(_core.arg_reduce(dev(x), axis, op, True), _core.arg_reduce(x, axis, op, True), exact=True)


@pytest.mark.parametrize("shape,perm", [((3, 4), [1, 0]), ((2, 33, 40), [0, 2, 1]), ((2, 3, 4, 5), [3, 1, 0, 2]),
                                        ((2, 3, 4), [1, 0, 2]), ((), []), ((0, 3), [1, 0])])
def test_transpose(rng, shape, perm):
    x = rand(rng, *shape)
    same(_core.transpose(dev(x), perm), np.transpose(x, perm), exact=True)


def test_broadcast_slice_concatenate(rng):
    x = rand(rng, 3, 1, 4)
    same(_core.broadcast_to(dev(x), [2, 3, 5, 4]), np.broadcast_to(x, (2, 3, 5, 4)), exact=True)
    y = rand(rng, 6, 7)
    for sl in [(slice(1, 5, 2), slice(None, None, -1)), (slice(4, 0, -3), slice(2, 3)), (slice(3, 3), slice(None))]:
        starts, stops, steps = [list(v) for v in zip(*[s.indices(n) for s, n in zip(sl, y.shape)])]
        same(_core.slice(dev(y), starts, stops, steps), y[sl], exact=True)
        dy = rand(rng, *y[sl].shape)
        same(_core.slice_backward(dev(dy), [6, 7], starts, steps),
             _core.slice_backward(dy, [6, 7], starts, steps), exact=True)
    a, b = rand(rng, 2, 3, 4), rand(rng, 2, 2, 4)
    same(_core.concatenate([dev(a), dev(b)], 1), np.concatenate([a, b], 1), exact=True)
    with pytest.raises(ValueError, match="one device"):
        _core.concatenate([dev(a), b], 1)


def test_take_and_backward(rng):
    x = rand(rng, 5, 3, 4)
    idx = np.array([[4, -1], [0, 0], [2, 4]])
    same(_core.take(dev(x), idx, 0), np.take(x, idx, 0), exact=True)
    same(_core.take(dev(x), idx % 3, 1), np.take(x, idx % 3, 1), exact=True)
    same(_core.take(dev(x), dev(idx.astype(np.float32)), 0), np.take(x, idx, 0), exact=True)
    dy = rand(rng, 5, 3, 2, 4)
    same(_core.take_backward(dev(dy), idx % 3, 1, 3), _core.take_backward(dy, idx % 3, 1, 3), exact=True)
    big = rand(rng, 300, 4)
    rows = rng.integers(0, 3, 300)
    same(_core.take_backward(dev(big), rows, 0, 3), _core.take_backward(big, rows, 0, 3), exact=True)
    with pytest.raises(ValueError, match="out of bounds"):
        _core.take(dev(x), np.array([5]), 0)


@pytest.mark.parametrize("sa,sb,ta,tb", [((3, 4, 5), (5, 6), False, False), ((3, 4, 5), (3, 5, 6), False, False),
                                         ((2, 1, 5, 4), (3, 6, 5), True, True), ((4, 5), (2, 5, 6), False, False)])
def test_batch_matmul(rng, sa, sb, ta, tb):
    a, b = rand(rng, *sa), rand(rng, *sb)
    same(_core.batch_matmul(dev(a), dev(b), ta, tb), _core.batch_matmul(a, b, ta, tb), rtol=1e-5)


def test_full():
    same(_core.full([2, 3], 1.5, "cuda"), np.full((2, 3), 1.5, np.float32), exact=True)
    same(_core.full([], -1.0, "cuda"), np.float32(-1.0), exact=True)
    assert _core.full([0], 0.0, "cuda").shape == (0,)
