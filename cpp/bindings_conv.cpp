// pybind11 glue for the convolutions (bindings_common.h is the ritual):
// Conv2D forward and backward, with 'valid', 'same' or explicit padding
// (Conv1D's 'causal' and the transposed convolutions use explicit padding),
// the input gradient alone for a given input shape (the forward of a
// transposed convolution), and the depthwise convolution. No arithmetic
// lives here.

#include <string>
#include <vector>

#include "activation.h"
#include "bindings_common.h"
#include "conv.h"
#include "depthwise.h"
#include "tensor.h"

namespace ember {
namespace bind {

namespace {

// Explicit paddings beyond this are refused (they could only make huge outputs).
constexpr int64_t kMaxPad = int64_t(1) << 24;

std::string pad_str(py::handle padding) {
    return py::isinstance<py::str>(padding) ? "'" + padding.cast<std::string>() + "'"
                                            : std::string(py::repr(padding));
}

// The output size along one axis and its leading padding: Keras's 'valid' /
// 'same', or explicit (before, after) where `before` >= 0 and `after` may be
// negative (the last input rows then lie outside every window).
void axis_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, py::handle padding,
               int64_t before, int64_t after, int64_t* out, int64_t* pad_before) {
    if (py::isinstance<py::str>(padding)) {
        conv_out_size(in, k, stride, dilation, padding_arg(padding.cast<std::string>()), out, pad_before);
        return;
    }
    const int64_t ek = (k - 1) * dilation + 1, span = in + before + after;
    *out = span >= ek ? (span - ek) / stride + 1 : 0;
    *pad_before = before;
}

// (top, bottom, left, right) from an explicit padding; zeros for a string.
std::vector<int64_t> explicit_pads(py::handle padding) {
    if (py::isinstance<py::str>(padding)) return {0, 0, 0, 0};
    std::vector<int64_t> p;
    try {
        p = padding.cast<std::vector<int64_t>>();
    } catch (py::cast_error&) {
        p.clear();
    }
    if (p.size() != 4)
        throw py::type_error("Argument `padding` must be 'valid', 'same' or 4 ints (top, bottom, left, "
                             "right). Received: " + std::string(py::repr(padding)));
    for (size_t i = 0; i < p.size(); ++i)
        if (p[i] < -kMaxPad || p[i] > kMaxPad || (i % 2 == 0 && p[i] < 0))
            value_error("Argument `padding` must hold top and left paddings >= 0 and sizes below 2**24. "
                        "Received: " + std::string(py::repr(padding)));
    return p;
}

// Every size of a convolution of an input of shape `xs` (N, H, W, C) by `k`
// (KH, KW, C, F). For a depthwise one, F is the depth multiplier.
ConvShape conv_shape(const std::vector<int64_t>& xs, const In& k, py::handle strides,
                     py::handle padding, py::handle dilation) {
    const std::string xstr = Tensor{nullptr, xs}.shape_str();
    if (xs.size() != 4) value_error("Argument `x` must have rank 4. Received: shape " + xstr);
    require_rank(k, "kernel", 4);
    auto [sh, sw] = pair_arg(strides, "strides");
    auto [dh, dw] = pair_arg(dilation, "dilation_rate");
    const std::vector<int64_t> pads = explicit_pads(padding);
    if ((sh > 1 || sw > 1) && (dh > 1 || dw > 1))
        value_error("`strides` > 1 is not compatible with `dilation_rate` > 1 (as in Keras).");
    ConvShape s{};
    s.N = xs[0]; s.H = xs[1]; s.W = xs[2]; s.C = xs[3];
    s.KH = k.t.dim(0); s.KW = k.t.dim(1); s.F = k.t.dim(3);
    s.SH = sh; s.SW = sw; s.DH = dh; s.DW = dw;
    if (k.t.dim(2) != s.C)
        value_error("Received: kernel shape " + k.t.shape_str() + " but input has " +
                    std::to_string(s.C) + " channels (input shape " + xstr + ")");
    if (s.KH <= 0 || s.KW <= 0 || s.F <= 0)
        value_error("Argument `kernel` must have positive sizes. Received: shape " + k.t.shape_str());
    axis_size(s.H, s.KH, sh, dh, padding, pads[0], pads[1], &s.OH, &s.PT);
    axis_size(s.W, s.KW, sw, dw, padding, pads[2], pads[3], &s.OW, &s.PL);
    if (s.OH <= 0 || s.OW <= 0)
        value_error("The kernel " + k.t.shape_str() + " with dilation (" + std::to_string(dh) + ", " +
                    std::to_string(dw) + ") does not fit the input " + xstr + " with padding " +
                    pad_str(padding));
    return s;
}

py::object conv2d(py::handle x_, py::handle k_, py::handle b_, py::handle strides,
                  py::handle padding, py::handle dilation, bool relu, bool naive) {
    In x = input(x_, "x"), k = input(k_, "kernel");
    ConvShape s = conv_shape(x.t.shape, k, strides, padding, dilation);
    In b = bias_arg(b_, s.F);
    const Device dev = device_of({&x, &k, &b});
    if (naive) require_cpu(x, "conv2d_naive");
    Out y = output({s.N, s.OH, s.OW, s.F}, dev);
    py::gil_scoped_release nogil;
    const float* bias = data_or_null(b);
    if (naive) {
        conv2d_forward_naive(y.p, x.t.data, k.t.data, bias, s);
        if (relu) activation_forward(y.p, y.p, s.N * s.OH * s.OW * s.F, Act::Relu, 0.0f);
    } else {
        EMBER_ON(dev, conv2d_forward(y.p, x.t.data, k.t.data, bias, s, relu));
    }
    return y.obj;
}

py::tuple conv2d_backward_py(py::handle dy_, py::handle x_, py::handle k_, py::handle strides,
                             py::handle padding, py::handle dilation, bool use_bias,
                             bool need_dx, py::handle relu_y_, bool naive) {
    In dy = input(dy_, "dy"), x = input(x_, "x"), k = input(k_, "kernel");
    ConvShape s = conv_shape(x.t.shape, k, strides, padding, dilation);
    const std::vector<int64_t> yshape{s.N, s.OH, s.OW, s.F};
    require_shape(dy, yshape);
    In relu_y = optional_input(relu_y_, "relu_output");
    require_shape(relu_y, yshape);
    if (naive && relu_y.present) value_error("The naive reference takes no `relu_output`.");
    const Device dev = device_of({&dy, &x, &k, &relu_y});
    if (naive) require_cpu(x, "conv2d_backward_naive");
    Out dx = output(need_dx ? x.t.shape : std::vector<int64_t>{0}, dev);
    Out dk = output(k.t.shape, dev), db = output({use_bias ? s.F : 0}, dev);
    {
        py::gil_scoped_release nogil;
        float* dxp = need_dx ? dx.p : nullptr;
        float* dbp = use_bias ? db.p : nullptr;
        if (naive) conv2d_backward_naive(dxp, dk.p, dbp, dy.t.data, x.t.data, k.t.data, s);
        else EMBER_ON(dev, conv2d_backward(dxp, dk.p, dbp, dy.t.data, x.t.data, k.t.data, s,
                                           data_or_null(relu_y)));
    }
    return py::make_tuple(none_or(need_dx, dx), dk.obj, none_or(use_bias, db));
}

// dx (x_shape) of a convolution, from dy alone: the forward of the
// transposed convolution of dy by the same kernel.
py::object conv2d_input_grad(py::handle dy_, py::handle k_, py::handle x_shape, py::handle strides,
                             py::handle padding, py::handle dilation, bool naive) {
    In dy = input(dy_, "dy"), k = input(k_, "kernel");
    const std::vector<int64_t> xs = shape_arg(x_shape, "x_shape");
    ConvShape s = conv_shape(xs, k, strides, padding, dilation);
    require_shape(dy, {s.N, s.OH, s.OW, s.F});
    const Device dev = device_of({&dy, &k});
    if (naive) require_cpu(dy, "conv2d_input_grad_naive");
    Out dx = output(xs, dev);
    py::gil_scoped_release nogil;
    if (naive) conv2d_backward_naive(dx.p, nullptr, nullptr, dy.t.data, nullptr, k.t.data, s);
    else EMBER_ON(dev, conv2d_backward(dx.p, nullptr, nullptr, dy.t.data, nullptr, k.t.data, s, nullptr));
    return dx.obj;
}

py::object depthwise_conv2d(py::handle x_, py::handle k_, py::handle b_, py::handle strides,
                            py::handle padding, py::handle dilation, bool naive) {
    In x = input(x_, "x"), k = input(k_, "kernel");
    ConvShape s = conv_shape(x.t.shape, k, strides, padding, dilation);
    In b = bias_arg(b_, s.C * s.F);
    const Device dev = device_of({&x, &k, &b});
    if (naive) require_cpu(x, "depthwise_conv2d_naive");
    Out y = output({s.N, s.OH, s.OW, s.C * s.F}, dev);
    py::gil_scoped_release nogil;
    const float* bias = data_or_null(b);
    if (naive) depthwise_conv2d_forward_naive(y.p, x.t.data, k.t.data, bias, s);
    else EMBER_ON(dev, depthwise_conv2d_forward(y.p, x.t.data, k.t.data, bias, s));
    return y.obj;
}

py::tuple depthwise_conv2d_backward_py(py::handle dy_, py::handle x_, py::handle k_,
                                       py::handle strides, py::handle padding, py::handle dilation,
                                       bool use_bias, bool need_dx, bool naive) {
    In dy = input(dy_, "dy"), x = input(x_, "x"), k = input(k_, "kernel");
    ConvShape s = conv_shape(x.t.shape, k, strides, padding, dilation);
    require_shape(dy, {s.N, s.OH, s.OW, s.C * s.F});
    const Device dev = device_of({&dy, &x, &k});
    if (naive) require_cpu(x, "depthwise_conv2d_backward_naive");
    Out dx = output(need_dx ? x.t.shape : std::vector<int64_t>{0}, dev);
    Out dk = output(k.t.shape, dev), db = output({use_bias ? s.C * s.F : 0}, dev);
    {
        py::gil_scoped_release nogil;
        float* dxp = need_dx ? dx.p : nullptr;
        float* dbp = use_bias ? db.p : nullptr;
        if (naive) depthwise_conv2d_backward_naive(dxp, dk.p, dbp, dy.t.data, x.t.data, k.t.data, s);
        else EMBER_ON(dev, depthwise_conv2d_backward(dxp, dk.p, dbp, dy.t.data, x.t.data, k.t.data, s));
    }
    return py::make_tuple(none_or(need_dx, dx), dk.obj, none_or(use_bias, db));
}

}  // namespace

void register_conv_ops(py::module_& m) {
    using namespace pybind11::literals;
    const auto one = py::make_tuple(1, 1);
    for (bool naive : {false, true}) {
        const std::string sfx = naive ? "_naive" : "";
        m.def(("conv2d" + sfx).c_str(),
              [naive](py::handle x, py::handle k, py::handle b, py::handle s, py::handle p,
                      py::handle d, bool relu) { return conv2d(x, k, b, s, p, d, relu, naive); },
              "x"_a, "kernel"_a, "bias"_a = py::none(), "strides"_a = one, "padding"_a = "valid",
              "dilation_rate"_a = one, "relu"_a = false,
              "y (N, OH, OW, F) = conv(x (N, H, W, C), kernel (KH, KW, C, F)) + bias. padding is\n"
              "'valid', 'same' or explicit (top, bottom, left, right).");
        m.def(("conv2d_input_grad" + sfx).c_str(),
              [naive](py::handle dy, py::handle k, py::handle xs, py::handle s, py::handle p,
                      py::handle d) { return conv2d_input_grad(dy, k, xs, s, p, d, naive); },
              "dy"_a, "kernel"_a, "x_shape"_a, "strides"_a = one, "padding"_a = "valid",
              "dilation_rate"_a = one,
              "The gradient (x_shape) of conv2d's input from dy alone: a transposed convolution.");
        m.def(("depthwise_conv2d" + sfx).c_str(),
              [naive](py::handle x, py::handle k, py::handle b, py::handle s, py::handle p,
                      py::handle d) { return depthwise_conv2d(x, k, b, s, p, d, naive); },
              "x"_a, "kernel"_a, "bias"_a = py::none(), "strides"_a = one, "padding"_a = "valid",
              "dilation_rate"_a = one,
              "y (N, OH, OW, C*F): each channel of x (N, H, W, C) by its F filters of kernel\n"
              "(KH, KW, C, F), plus bias (C*F,).");
        m.def(("depthwise_conv2d_backward" + sfx).c_str(),
              [naive](py::handle dy, py::handle x, py::handle k, py::handle s, py::handle p,
                      py::handle d, bool ub, bool ndx) {
                  return depthwise_conv2d_backward_py(dy, x, k, s, p, d, ub, ndx, naive);
              },
              "dy"_a, "x"_a, "kernel"_a, "strides"_a = one, "padding"_a = "valid",
              "dilation_rate"_a = one, "use_bias"_a = true, "need_dx"_a = true);
    }
    m.def("conv2d_backward",
          [](py::handle dy, py::handle x, py::handle k, py::handle s, py::handle p, py::handle d,
             bool ub, bool ndx, py::handle relu_y) {
              return conv2d_backward_py(dy, x, k, s, p, d, ub, ndx, relu_y, false);
          },
          "dy"_a, "x"_a, "kernel"_a, "strides"_a = one, "padding"_a = "valid",
          "dilation_rate"_a = one, "use_bias"_a = true, "need_dx"_a = true,
          "relu_output"_a = py::none());
    m.def("conv2d_backward_naive",
          [](py::handle dy, py::handle x, py::handle k, py::handle s, py::handle p, py::handle d,
             bool ub, bool ndx) {
              return conv2d_backward_py(dy, x, k, s, p, d, ub, ndx, py::none(), true);
          },
          "dy"_a, "x"_a, "kernel"_a, "strides"_a = one, "padding"_a = "valid",
          "dilation_rate"_a = one, "use_bias"_a = true, "need_dx"_a = true);
}

}  // namespace bind
}  // namespace ember
