// pybind11 glue for the tensor operations (tensor_ops.h): argument checks,
// shape planning through tensor_ops.h's plan_* functions, GIL release. Every
// function runs on the device of its tensor arguments and returns a new
// float32 array there.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "bindings_common.h"
#include "tensor.h"
#include "tensor_ops.h"

using namespace ember;
using namespace ember::bind;

namespace {

std::string str(const std::vector<int64_t>& shape) { return Tensor{nullptr, shape}.shape_str(); }

// A tensor argument, or a Python number where one is allowed (a scalar of
// shape (), passed to the kernel by value whatever the device).
struct Arg {
    In in;
    Operand op;
    std::vector<int64_t> shape;
};

Arg arg(py::handle obj, const char* name, bool allow_scalar = true) {
    Arg a;
    if (allow_scalar && (py::isinstance<py::float_>(obj) || py::isinstance<py::int_>(obj))) {
        a.op.scalar = obj.cast<float>();
        a.in.name = name;
        return a;
    }
    a.in = input(obj, name);
    a.op.data = a.in.t.data;
    a.shape = a.in.t.shape;
    return a;
}

int normalize_axis(int64_t axis, int rank, const char* name = "axis") {
    if (axis < -rank || axis >= rank)
        value_error(std::string("Argument `") + name + "` is out of range. Received: " + name + "=" +
                    std::to_string(axis) + " for an input of rank " + std::to_string(rank));
    return (int)(axis < 0 ? axis + rank : axis);
}

// Looks `name` up in a table of (name, value); else ValueError listing them.
template <class E, size_t N>
E op_arg(const std::string& name, const std::pair<const char*, E> (&table)[N], const char* fn) {
    std::string valid;
    for (const auto& [n, e] : table) {
        if (name == n) return e;
        valid += (valid.empty() ? "" : ", ") + std::string(n);
    }
    value_error(std::string("Unknown op for `") + fn + "`. Expected one of: " + valid +
                ". Received: op='" + name + "'");
}

const std::pair<const char*, UnaryOp> kUnaryOps[] = {
    {"negative", UnaryOp::Negative}, {"abs", UnaryOp::Abs}, {"sign", UnaryOp::Sign},
    {"square", UnaryOp::Square}, {"sqrt", UnaryOp::Sqrt}, {"rsqrt", UnaryOp::Rsqrt},
    {"reciprocal", UnaryOp::Reciprocal}, {"exp", UnaryOp::Exp}, {"expm1", UnaryOp::Expm1},
    {"log", UnaryOp::Log}, {"log1p", UnaryOp::Log1p}, {"sin", UnaryOp::Sin}, {"cos", UnaryOp::Cos},
    {"tan", UnaryOp::Tan}, {"floor", UnaryOp::Floor}, {"ceil", UnaryOp::Ceil},
    {"round", UnaryOp::Round}, {"logical_not", UnaryOp::LogicalNot},
    {"softplus", UnaryOp::Softplus}, {"isnan", UnaryOp::IsNan}, {"isinf", UnaryOp::IsInf},
    {"isfinite", UnaryOp::IsFinite}};

const std::pair<const char*, BinaryOp> kBinaryOps[] = {
    {"add", BinaryOp::Add}, {"subtract", BinaryOp::Subtract}, {"multiply", BinaryOp::Multiply},
    {"divide", BinaryOp::Divide}, {"power", BinaryOp::Power}, {"maximum", BinaryOp::Maximum},
    {"minimum", BinaryOp::Minimum}, {"equal", BinaryOp::Equal}, {"not_equal", BinaryOp::NotEqual},
    {"greater", BinaryOp::Greater}, {"greater_equal", BinaryOp::GreaterEqual},
    {"less", BinaryOp::Less}, {"less_equal", BinaryOp::LessEqual},
    {"logical_and", BinaryOp::LogicalAnd}, {"logical_or", BinaryOp::LogicalOr},
    {"floor_divide", BinaryOp::FloorDivide}, {"mod", BinaryOp::Mod}, {"arctan2", BinaryOp::Arctan2}};

const std::pair<const char*, ReduceOp> kReduceOps[] = {
    {"sum", ReduceOp::Sum}, {"mean", ReduceOp::Mean}, {"max", ReduceOp::Max},
    {"min", ReduceOp::Min}, {"prod", ReduceOp::Prod}};

// A list of ints from Python (a single int counts as a list of one).
std::vector<int64_t> ints_arg(py::handle obj, const char* name) {
    try {
        if (py::isinstance<py::int_>(obj)) return {obj.cast<int64_t>()};
        return obj.cast<std::vector<int64_t>>();
    } catch (py::cast_error&) {
        throw py::type_error(std::string("Argument `") + name + "` must be a list of ints. Received: " +
                             std::string(py::repr(obj)));
    }
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& shape) {
    std::vector<int64_t> st(shape.size(), 1);
    for (size_t d = shape.size(); d-- > 1;) st[d - 1] = st[d] * shape[d];
    return st;
}

// ---------------------------------------------------------------- element-wise

py::object unary_py(py::handle x_, const std::string& op) {
    In x = input(x_, "x");
    const UnaryOp u = op_arg(op, kUnaryOps, "unary");
    const Device dev = x.t.device;
    Out y = output(x.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, unary(y.p, x.t.data, x.t.numel(), u));
    return y.obj;
}

py::object binary_py(py::handle a_, py::handle b_, const std::string& op, bool naive) {
    Arg a = arg(a_, "a"), b = arg(b_, "b");
    const BinaryOp o = op_arg(op, kBinaryOps, "binary");
    std::vector<int64_t> shape;
    const Strided s = plan_broadcast({a.shape, b.shape}, &shape);
    const Device dev = device_of({&a.in, &b.in});
    if (naive && (!a.op.data || !b.op.data)) value_error("binary_naive takes arrays only. Received: a number");
    if (naive) require_cpu(a.in, "binary_naive");
    Out out = output(shape, dev);
    py::gil_scoped_release nogil;
    if (naive) binary_naive(out.p, a.op.data, a.shape, b.op.data, b.shape, shape, o);
    else EMBER_ON(dev, binary(out.p, a.op, b.op, s, o));
    return out.obj;
}

py::object where_py(py::handle c_, py::handle a_, py::handle b_) {
    Arg c = arg(c_, "cond"), a = arg(a_, "a"), b = arg(b_, "b");
    std::vector<int64_t> shape;
    const Strided s = plan_broadcast({c.shape, a.shape, b.shape}, &shape);
    const Device dev = device_of({&c.in, &a.in, &b.in});
    Out out = output(shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, where(out.p, c.op, a.op, b.op, s));
    return out.obj;
}

// ---------------------------------------------------------------- reductions

// Normalised, distinct axes of an input of `rank`.
std::vector<int> axes_arg(py::handle axes_, int rank) {
    std::vector<int> axes;
    for (int64_t a : ints_arg(axes_, "axes")) {
        const int n = normalize_axis(a, rank);
        if (std::find(axes.begin(), axes.end(), n) != axes.end())
            value_error("Argument `axes` repeats an axis. Received: axes=" +
                        std::string(py::repr(axes_)));
        axes.push_back(n);
    }
    return axes;
}

// The output shape: reduced axes dropped, or kept as 1.
std::vector<int64_t> reduced_shape(const std::vector<int64_t>& shape, const std::vector<bool>& red,
                                   bool keepdims) {
    std::vector<int64_t> out;
    for (size_t d = 0; d < shape.size(); ++d)
        if (!red[d]) out.push_back(shape[d]);
        else if (keepdims) out.push_back(1);
    return out;
}

py::object reduce_py(py::handle x_, py::handle axes_, const std::string& op, bool keepdims,
                     bool naive) {
    In x = input(x_, "x");
    const ReduceOp r = op_arg(op, kReduceOps, "reduce");
    const std::vector<int> axes = axes_arg(axes_, x.t.rank());
    std::vector<bool> red(x.t.rank(), false);
    for (int a : axes) red[a] = true;
    const std::vector<int64_t> shape = reduced_shape(x.t.shape, red, keepdims);
    const Device dev = x.t.device;
    if (naive) require_cpu(x, "reduce_naive");
    const ReducePlan p = plan_reduce(x.t.shape, axes);
    if (p.R == 0 && p.A * p.B > 0 && (r == ReduceOp::Max || r == ReduceOp::Min))
        value_error("Cannot take the " + op + " over a zero-size axis (it has no identity). Received: "
                    "shape " + x.t.shape_str());
    Out out = output(shape, dev);
    if (naive) {
        py::gil_scoped_release nogil;
        reduce_naive(out.p, x.t.data, x.t.shape, red, r);
        return out.obj;
    }
    const float* src = x.t.data;
    Out moved;
    if (!p.perm.empty()) {  // the reduced axes last first, in one copy
        std::vector<int64_t> pshape, pstrides;
        const std::vector<int64_t> st = contiguous_strides(x.t.shape);
        for (int d : p.perm) {
            pshape.push_back(x.t.shape[d]);
            pstrides.push_back(st[d]);
        }
        moved = output(pshape, dev);
        const Strided v = plan_view(pshape, pstrides);
        py::gil_scoped_release nogil;
        EMBER_ON(dev, strided_copy(moved.p, x.t.data, v));
        src = moved.p;
    }
    py::gil_scoped_release nogil;
    EMBER_ON(dev, reduce(out.p, src, p.A, p.R, p.B, r));
    return out.obj;
}

py::object arg_reduce_py(py::handle x_, int64_t axis, const std::string& op, bool keepdims) {
    In x = input(x_, "x");
    if (op != "argmax" && op != "argmin")
        value_error("Unknown op for `arg_reduce`. Expected one of: argmax, argmin. Received: op='" + op + "'");
    const int ax = normalize_axis(axis, x.t.rank());
    std::vector<bool> red(x.t.rank(), false);
    red[ax] = true;
    const int64_t R = x.t.shape[ax];
    int64_t A = 1, B = 1;
    for (int d = 0; d < x.t.rank(); ++d)
        if (d < ax) A *= x.t.shape[d];
        else if (d > ax) B *= x.t.shape[d];
    if (R == 0)
        value_error("Cannot take the " + op + " of an empty axis. Received: axis=" +
                    std::to_string(axis) + " of shape " + x.t.shape_str());
    const Device dev = x.t.device;
    Out out = output(reduced_shape(x.t.shape, red, keepdims), dev);
    py::gil_scoped_release nogil;
    if (A * B > 0) EMBER_ON(dev, arg_reduce(out.p, x.t.data, A, R, B, op == "argmax"));
    return out.obj;
}

// ---------------------------------------------------------------- copies

// y = the view (shape, strides from x's first element + offset) of x.
py::object view_copy(const In& x, const std::vector<int64_t>& shape,
                     const std::vector<int64_t>& strides, int64_t offset) {
    const Strided v = plan_view(shape, strides);
    const Device dev = x.t.device;
    Out y = output(shape, dev);
    py::gil_scoped_release nogil;
    if (v.numel > 0) EMBER_ON(dev, strided_copy(y.p, x.t.data + offset, v));
    return y.obj;
}

std::vector<int> perm_arg(py::handle perm_, int rank) {
    const std::vector<int64_t> p = ints_arg(perm_, "perm");
    std::vector<int> perm;
    std::vector<bool> seen(rank, false);
    bool ok = (int)p.size() == rank;
    for (int64_t a : p) {
        if (!ok || a < -rank || a >= rank) { ok = false; break; }
        const int n = (int)(a < 0 ? a + rank : a);
        ok = !seen[n];
        seen[n] = true;
        perm.push_back(n);
    }
    if (!ok)
        value_error("Argument `perm` must be a permutation of the " + std::to_string(rank) +
                    " axes. Received: perm=" + std::string(py::repr(perm_)));
    return perm;
}

py::object transpose_py(py::handle x_, py::handle perm_, bool naive) {
    In x = input(x_, "x");
    const std::vector<int> perm = perm_arg(perm_, x.t.rank());
    const std::vector<int64_t> st = contiguous_strides(x.t.shape);
    std::vector<int64_t> shape, strides;
    for (int d : perm) {
        shape.push_back(x.t.shape[d]);
        strides.push_back(st[d]);
    }
    if (!naive) return view_copy(x, shape, strides, 0);
    require_cpu(x, "transpose_naive");
    Out y = output(shape, Device::CPU);
    py::gil_scoped_release nogil;
    transpose_naive(y.p, x.t.data, x.t.shape, perm);
    return y.obj;
}

py::object broadcast_to_py(py::handle x_, py::handle shape_) {
    In x = input(x_, "x");
    const std::vector<int64_t> shape = shape_arg(shape_, "shape");
    const int r = (int)shape.size(), xr = x.t.rank();
    std::vector<int64_t> strides(r, 0);
    const std::vector<int64_t> st = contiguous_strides(x.t.shape);
    bool ok = xr <= r;
    for (int d = 0; ok && d < xr; ++d) {
        const int64_t have = x.t.shape[d], want = shape[r - xr + d];
        ok = have == want || have == 1;
        strides[r - xr + d] = have == 1 ? 0 : st[d];
    }
    if (!ok)
        value_error("Cannot broadcast an array to the shape " + str(shape) + ". Received: shape " +
                    x.t.shape_str());
    return view_copy(x, shape, strides, 0);
}

// The per-axis lists of a slice, each of the input's rank.
std::vector<int64_t> per_axis(py::handle obj, const char* name, int rank) {
    std::vector<int64_t> v = ints_arg(obj, name);
    if ((int)v.size() != rank)
        value_error(std::string("Argument `") + name + "` must have one entry per axis (" +
                    std::to_string(rank) + "). Received: " + std::string(py::repr(obj)));
    return v;
}

// Elements of range(start, stop, step) along an axis of size n, checked to
// be a normalised NumPy slice (slice(...).indices(n)): for step > 0,
// 0 <= start, stop <= n; for step < 0, -1 <= start, stop <= n - 1.
int64_t slice_count(int64_t start, int64_t stop, int64_t step, int64_t n, int axis) {
    const bool ok = step > 0 ? (start >= 0 && start <= n && stop >= 0 && stop <= n)
                             : (step < 0 && start >= -1 && start < n && stop >= -1 && stop < n);
    if (!ok)
        value_error("Invalid slice along axis " + std::to_string(axis) + " of size " + std::to_string(n) +
                    ". Received: start=" + std::to_string(start) + ", stop=" + std::to_string(stop) +
                    ", step=" + std::to_string(step));
    if (step > 0) return stop > start ? (stop - start + step - 1) / step : 0;
    return start > stop ? (start - stop - step - 1) / -step : 0;
}

py::object slice_py(py::handle x_, py::handle starts_, py::handle stops_, py::handle steps_) {
    In x = input(x_, "x");
    const int r = x.t.rank();
    const auto starts = per_axis(starts_, "starts", r), stops = per_axis(stops_, "stops", r),
               steps = per_axis(steps_, "steps", r);
    const std::vector<int64_t> st = contiguous_strides(x.t.shape);
    std::vector<int64_t> shape(r), strides(r);
    int64_t offset = 0;
    for (int d = 0; d < r; ++d) {
        shape[d] = slice_count(starts[d], stops[d], steps[d], x.t.shape[d], d);
        strides[d] = steps[d] * st[d];
        offset += (shape[d] > 0 ? starts[d] : 0) * st[d];
    }
    if (checked_numel(shape, "The slice") == 0) offset = 0;
    return view_copy(x, shape, strides, offset);
}

py::object slice_backward_py(py::handle dy_, py::handle in_shape_, py::handle starts_, py::handle steps_) {
    In dy = input(dy_, "dy");
    const std::vector<int64_t> in_shape = shape_arg(in_shape_, "in_shape");
    const int r = (int)in_shape.size();
    if (dy.t.rank() != r)
        value_error("Argument `dy` must have the rank of `in_shape` " + str(in_shape) +
                    ". Received: shape " + dy.t.shape_str());
    const auto starts = per_axis(starts_, "starts", r), steps = per_axis(steps_, "steps", r);
    const std::vector<int64_t> st = contiguous_strides(in_shape);
    std::vector<int64_t> strides(r);
    int64_t offset = 0;
    for (int d = 0; d < r; ++d) {
        const int64_t cnt = dy.t.shape[d], n = in_shape[d];
        const int64_t last = starts[d] + (cnt - 1) * steps[d];
        if (steps[d] == 0 || (cnt > 0 && (starts[d] < 0 || starts[d] >= n || last < 0 || last >= n)))
            value_error("The slice of `dy` along axis " + std::to_string(d) + " does not fit `in_shape` " +
                        str(in_shape) + ". Received: start=" + std::to_string(starts[d]) + ", step=" +
                        std::to_string(steps[d]) + ", " + std::to_string(cnt) + " elements");
        strides[d] = steps[d] * st[d];
        offset += (cnt > 0 ? starts[d] : 0) * st[d];
    }
    const int64_t n = checked_numel(in_shape, "Argument `in_shape`");
    const Strided v = plan_view(dy.t.shape, strides);
    const Device dev = dy.t.device;
    Out dx = output(in_shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, fill(dx.p, n, 0.0f));
    if (v.numel > 0) EMBER_ON(dev, strided_scatter(dx.p + offset, dy.t.data, v));
    return dx.obj;
}

py::object concatenate_py(py::list arrays_, int64_t axis) {
    if (arrays_.empty()) value_error("Argument `arrays` must hold at least one array. Received: []");
    std::vector<In> xs;
    std::vector<std::string> names;
    for (size_t i = 0; i < arrays_.size(); ++i) names.push_back("arrays[" + std::to_string(i) + "]");
    for (size_t i = 0; i < arrays_.size(); ++i) xs.push_back(input(arrays_[i], names[i].c_str()));
    const int r = xs[0].t.rank();
    if (r == 0) value_error("Zero-dimensional arrays cannot be concatenated. Received: shape ()");
    const int ax = normalize_axis(axis, r);
    std::vector<int64_t> shape = xs[0].t.shape;
    shape[ax] = 0;
    std::vector<const In*> ins;
    for (size_t i = 0; i < xs.size(); ++i) {
        bool ok = xs[i].t.rank() == r;
        for (int d = 0; ok && d < r; ++d) ok = d == ax || xs[i].t.shape[d] == xs[0].t.shape[d];
        if (!ok)
            value_error("All arrays must have the same rank and sizes off axis " + std::to_string(ax) +
                        ". Received: arrays[" + std::to_string(i) + "] of shape " + xs[i].t.shape_str() +
                        " and arrays[0] of shape " + xs[0].t.shape_str());
        shape[ax] += xs[i].t.shape[ax];
        ins.push_back(&xs[i]);
    }
    Device dev = xs[0].t.device;
    for (const In* x : ins) dev = device_of({ins[0], x});
    checked_numel(shape, "The result");
    int64_t A = 1, B = 1;
    for (int d = 0; d < r; ++d)
        if (d < ax) A *= shape[d];
        else if (d > ax) B *= shape[d];
    Out out = output(shape, dev);
    py::gil_scoped_release nogil;
    int64_t col = 0;  // where the next array's block starts in a row of out (A, total * B)
    for (const In* x : ins) {
        const int64_t w = x->t.shape[ax] * B;
        const Strided v = plan_view({A, w}, {shape[ax] * B, 1});
        if (v.numel > 0) EMBER_ON(dev, strided_scatter(out.p + col, x->t.data, v));
        col += w;
    }
    return out.obj;
}

// ---------------------------------------------------------------- take

// Indices as int64 on the host, negatives wrapped, each checked against dim:
// an integer array, a float array of integral values, or a DeviceArray
// (copied back).
std::vector<int64_t> indices_arg(py::handle obj, int64_t dim, int axis, std::vector<int64_t>* shape) {
    py::array a = py::module_::import("numpy").attr("asarray")(obj);
    const char kind = a.dtype().kind();
    if (kind != 'i' && kind != 'u' && kind != 'f')
        throw py::type_error("Argument `indices` must hold integers. Received: dtype " +
                             std::string(py::str(a.dtype())));
    auto d = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(a);
    if (!d) throw py::error_already_set();
    shape->assign(d.shape(), d.shape() + d.ndim());
    std::vector<int64_t> out((size_t)d.size());
    const double* p = d.data();
    for (size_t i = 0; i < out.size(); ++i) {
        const double v = p[i];
        if (v != std::floor(v) || !std::isfinite(v))
            throw py::type_error("Argument `indices` must hold integers. Received: " + std::to_string(v) +
                                 " at position " + std::to_string(i));
        if (v < (double)-dim || v >= (double)dim)
            value_error("index " + std::to_string((int64_t)v) + " is out of bounds for axis " +
                        std::to_string(axis) + " with size " + std::to_string(dim) + ". Received: `indices` "
                        "position " + std::to_string(i));
        out[i] = (int64_t)v < 0 ? (int64_t)v + dim : (int64_t)v;
    }
    return out;
}

py::object take_py(py::handle x_, py::handle idx_, int64_t axis) {
    In x = input(x_, "x");
    const int ax = normalize_axis(axis, x.t.rank());
    std::vector<int64_t> ishape;
    const std::vector<int64_t> idx = indices_arg(idx_, x.t.shape[ax], ax, &ishape);
    std::vector<int64_t> shape(x.t.shape.begin(), x.t.shape.begin() + ax);
    shape.insert(shape.end(), ishape.begin(), ishape.end());
    shape.insert(shape.end(), x.t.shape.begin() + ax + 1, x.t.shape.end());
    checked_numel(shape, "The result");
    int64_t A = 1, B = 1;
    for (int d = 0; d < x.t.rank(); ++d)
        if (d < ax) A *= x.t.shape[d];
        else if (d > ax) B *= x.t.shape[d];
    const Device dev = x.t.device;
    Out out = output(shape, dev);
    py::gil_scoped_release nogil;
    const int64_t I = (int64_t)idx.size();
    if (A * I * B > 0) EMBER_ON(dev, take(out.p, x.t.data, idx.data(), A, x.t.shape[ax], B, I));
    return out.obj;
}

py::object take_backward_py(py::handle dy_, py::handle idx_, int64_t axis, int64_t dim) {
    In dy = input(dy_, "dy");
    if (dim < 0) value_error("Argument `dim` must be >= 0. Received: dim=" + std::to_string(dim));
    const py::array ia = py::module_::import("numpy").attr("asarray")(idx_);
    const int ni = (int)ia.ndim(), rank = dy.t.rank() - ni + 1;
    if (rank < 1)
        value_error("Argument `dy` must have at least the rank of `indices`. Received: shapes " +
                    dy.t.shape_str() + " and " + shape_of(ia));
    const int ax = normalize_axis(axis, rank);
    std::vector<int64_t> ishape;
    const std::vector<int64_t> idx = indices_arg(idx_, dim, ax, &ishape);
    if (!std::equal(ishape.begin(), ishape.end(), dy.t.shape.begin() + ax))
        value_error("Argument `dy` must hold the shape of `indices` " + str(ishape) + " at axis " +
                    std::to_string(ax) + ". Received: shape " + dy.t.shape_str());
    std::vector<int64_t> shape(dy.t.shape.begin(), dy.t.shape.begin() + ax);
    shape.push_back(dim);
    shape.insert(shape.end(), dy.t.shape.begin() + ax + ni, dy.t.shape.end());
    const int64_t n = checked_numel(shape, "The result");
    int64_t A = 1, B = 1;
    for (int d = 0; d < rank; ++d)
        if (d < ax) A *= shape[d];
        else if (d > ax) B *= shape[d];
    const Device dev = dy.t.device;
    Out dx = output(shape, dev);
    py::gil_scoped_release nogil;
    const int64_t I = (int64_t)idx.size();
    if (I == 0 || B == 0) EMBER_ON(dev, fill(dx.p, n, 0.0f));
    else if (n > 0) EMBER_ON(dev, take_backward(dx.p, dy.t.data, idx.data(), A, dim, B, I));
    return dx.obj;
}

// ---------------------------------------------------------------- matmul, full

py::object batch_matmul_py(py::handle a_, py::handle b_, bool ta, bool tb) {
    In a = input(a_, "a"), b = input(b_, "b");
    require_min_rank(a, "a", 2);
    require_min_rank(b, "b", 2);
    const int64_t M = ta ? a.t.dim(-1) : a.t.dim(-2), K = ta ? a.t.dim(-2) : a.t.dim(-1);
    const int64_t Kb = tb ? b.t.dim(-1) : b.t.dim(-2), N = tb ? b.t.dim(-2) : b.t.dim(-1);
    if (K != Kb)
        value_error("Inner dimensions of `a` and `b` must match. Received: a " + a.t.shape_str() +
                    (ta ? " (transposed)" : "") + " and b " + b.t.shape_str() + (tb ? " (transposed)" : ""));
    const std::vector<int64_t> ab(a.t.shape.begin(), a.t.shape.end() - 2),
        bb(b.t.shape.begin(), b.t.shape.end() - 2);
    std::vector<int64_t> shape;
    const Strided s = plan_broadcast({ab, bb}, &shape);
    shape.push_back(M);
    shape.push_back(N);
    const int64_t n = checked_numel(shape, "The result");
    const Device dev = device_of({&a, &b});
    Out c = output(shape, dev);
    py::gil_scoped_release nogil;
    if (K == 0) EMBER_ON(dev, fill(c.p, n, 0.0f));
    else if (n > 0) EMBER_ON(dev, batch_matmul(c.p, a.t.data, b.t.data, s, M, N, K, ta, tb));
    return c.obj;
}

py::object full_py(py::handle shape_, double value, const std::string& device) {
    const std::vector<int64_t> shape = shape_arg(shape_, "shape");
    const int64_t n = checked_numel(shape, "Argument `shape`");
    Device dev = Device::CPU;
    if (device == "cuda") {
#ifdef EMBER_CUDA
        dev = Device::CUDA;
#else
        value_error("Device 'cuda' needs ember built with CUDA. Received: device='cuda'");
#endif
    } else if (device != "cpu") {
        value_error("Argument `device` must be 'cpu' or 'cuda'. Received: device='" + device + "'");
    }
    Out y = output(shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, fill(y.p, n, (float)value));
    return y.obj;
}

}  // namespace

namespace ember {
namespace bind {

void register_tensor_ops(py::module_& m) {
    using namespace pybind11::literals;
    m.def("unary", &unary_py, "x"_a, "op"_a,
          "Element-wise op(x): negative, abs, sign, square, sqrt, rsqrt, reciprocal, exp, expm1, log,\n"
          "log1p, sin, cos, tan, floor, ceil, round, logical_not, softplus, isnan, isinf, isfinite.");
    m.def("binary", [](py::handle a, py::handle b, const std::string& op) { return binary_py(a, b, op, false); },
          "a"_a, "b"_a, "op"_a,
          "op(a, b) with NumPy broadcasting (a or b may be a number); comparisons give 1.0 / 0.0.");
    m.def("binary_naive", [](py::handle a, py::handle b, const std::string& op) { return binary_py(a, b, op, true); },
          "a"_a, "b"_a, "op"_a);
    m.def("where", &where_py, "cond"_a, "a"_a, "b"_a, "a where cond != 0 else b, broadcast.");
    m.def("reduce", [](py::handle x, py::handle axes, const std::string& op, bool keepdims) {
              return reduce_py(x, axes, op, keepdims, false);
          }, "x"_a, "axes"_a, "op"_a, "keepdims"_a = false,
          "sum, mean, max, min or prod over `axes` (none: a copy); deterministic (fixed blocks, double).");
    m.def("reduce_naive", [](py::handle x, py::handle axes, const std::string& op, bool keepdims) {
              return reduce_py(x, axes, op, keepdims, true);
          }, "x"_a, "axes"_a, "op"_a, "keepdims"_a = false);
    m.def("arg_reduce", &arg_reduce_py, "x"_a, "axis"_a, "op"_a, "keepdims"_a = false,
          "Float32 index of the first max ('argmax') or min ('argmin') along `axis`; NaN counts as both.");
    m.def("transpose", [](py::handle x, py::handle perm) { return transpose_py(x, perm, false); }, "x"_a, "perm"_a);
    m.def("transpose_naive", [](py::handle x, py::handle perm) { return transpose_py(x, perm, true); },
          "x"_a, "perm"_a);
    m.def("broadcast_to", &broadcast_to_py, "x"_a, "shape"_a);
    m.def("slice", &slice_py, "x"_a, "starts"_a, "stops"_a, "steps"_a,
          "x[start:stop:step, ...] with normalised bounds (as slice.indices gives them).");
    m.def("slice_backward", &slice_backward_py, "dy"_a, "in_shape"_a, "starts"_a, "steps"_a,
          "Zeros of in_shape with dy written into the slice.");
    m.def("concatenate", &concatenate_py, "arrays"_a, "axis"_a = 0);
    m.def("take", &take_py, "x"_a, "indices"_a, "axis"_a = 0);
    m.def("take_backward", &take_backward_py, "dy"_a, "indices"_a, "axis"_a, "dim"_a,
          "The gradient of take: dy's rows added into rows of zeros (dim along axis), in index order.");
    m.def("batch_matmul", &batch_matmul_py, "a"_a, "b"_a, "transpose_a"_a = false, "transpose_b"_a = false,
          "a (..., M, K) @ b (..., K, N) with the batch axes broadcast (NumPy matmul), each through the GEMM.");
    m.def("full", &full_py, "shape"_a, "value"_a, "device"_a = "cpu");
}

}  // namespace bind
}  // namespace ember
