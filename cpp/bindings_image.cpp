// pybind11 glue for the image transforms (image.h): argument checks with
// Keras-style messages, device dispatch, GIL release. No arithmetic here.
#include <string>
#include <vector>

#include "bindings_common.h"
#include "image.h"

namespace ember {
namespace bind {

namespace {

FillMode fill_mode_arg(const std::string& m) {
    if (m == "constant") return FillMode::Constant;
    if (m == "nearest") return FillMode::Nearest;
    if (m == "wrap") return FillMode::Wrap;
    if (m == "mirror") return FillMode::Mirror;
    if (m == "reflect") return FillMode::Reflect;
    value_error("Argument `fill_mode` must be one of 'constant', 'nearest', 'wrap', 'mirror', 'reflect'. "
                "Received: fill_mode='" + m + "'");
}

bool interpolation_arg(const std::string& m) {
    if (m == "bilinear") return true;
    if (m == "nearest") return false;
    value_error("Argument `interpolation` must be 'bilinear' or 'nearest'. Received: interpolation='" + m + "'");
}

// The sizes of a transform of x_shape (N, H, W, C) by transforms (N or 1, 8)
// into (OH, OW) (None: the input's size).
AffineShape affine_shape(const std::vector<int64_t>& xs, const In& t, py::handle output_size,
                         const std::string& interpolation, const std::string& fill_mode, float fill_value) {
    const std::string xstr = Tensor{nullptr, xs}.shape_str();
    if (xs.size() != 4) value_error("Argument `images` must have rank 4 (N, H, W, C). Received: shape " + xstr);
    AffineShape s{};
    s.N = xs[0]; s.H = xs[1]; s.W = xs[2]; s.C = xs[3];
    if (s.H <= 0 || s.W <= 0)
        value_error("Argument `images` must have a positive height and width. Received: shape " + xstr);
    require_rank(t, "transforms", 2);
    s.TN = t.t.dim(0);
    if (t.t.dim(1) != 8 || (s.TN != s.N && s.TN != 1))
        value_error("Argument `transforms` must have shape (" + std::to_string(s.N) +
                    ", 8) or (1, 8). Received: " + t.t.shape_str());
    if (output_size.is_none()) {
        s.OH = s.H;
        s.OW = s.W;
    } else {
        auto [oh, ow] = pair_arg(output_size, "output_size");
        s.OH = oh;
        s.OW = ow;
        if ((double)s.N * (double)oh * (double)ow * (double)s.C > 4e18)
            value_error("Argument `output_size` is too large. Received: " + std::string(py::repr(output_size)));
    }
    s.bilinear = interpolation_arg(interpolation);
    s.fill = fill_mode_arg(fill_mode);
    s.fill_value = fill_value;
    return s;
}

py::object affine_transform(py::handle x_, py::handle t_, py::handle output_size, const std::string& interp,
                            const std::string& fill_mode, float fill_value, bool naive) {
    In x = input(x_, "images"), t = input(t_, "transforms");
    AffineShape s = affine_shape(x.t.shape, t, output_size, interp, fill_mode, fill_value);
    const Device dev = x.t.device;
    move_like(t, dev);
    if (naive) require_cpu(x, "affine_transform_naive");
    Out y = output({s.N, s.OH, s.OW, s.C}, dev);
    py::gil_scoped_release nogil;
    if (naive) affine_transform_forward_naive(y.p, x.t.data, t.t.data, s);
    else EMBER_ON(dev, affine_transform_forward(y.p, x.t.data, t.t.data, s));
    return y.obj;
}

py::object affine_transform_backward_py(py::handle dy_, py::handle t_, py::handle x_shape,
                                        const std::string& interp, const std::string& fill_mode, bool naive) {
    In dy = input(dy_, "dy"), t = input(t_, "transforms");
    const std::vector<int64_t> xs = shape_arg(x_shape, "x_shape");
    require_rank(dy, "dy", 4);
    AffineShape s = affine_shape(xs, t, py::make_tuple(dy.t.dim(1), dy.t.dim(2)), interp, fill_mode, 0.0f);
    if (dy.t.shape != std::vector<int64_t>{s.N, s.OH, s.OW, s.C})
        value_error("Argument `dy` must have shape (" + std::to_string(s.N) + ", OH, OW, " + std::to_string(s.C) +
                    "). Received: " + dy.t.shape_str());
    const Device dev = dy.t.device;
    move_like(t, dev);
    if (naive) require_cpu(dy, "affine_transform_backward_naive");
    Out dx = output(xs, dev);
    py::gil_scoped_release nogil;
    if (naive) affine_transform_backward_naive(dx.p, dy.t.data, t.t.data, s);
    else EMBER_ON(dev, affine_transform_backward(dx.p, dy.t.data, t.t.data, s));
    return dx.obj;
}

}  // namespace

void register_image_ops(py::module_& m) {
    using namespace pybind11::literals;
    for (bool naive : {false, true}) {
        const std::string sfx = naive ? "_naive" : "";
        m.def(("affine_transform" + sfx).c_str(),
              [naive](py::handle x, py::handle t, py::handle size, const std::string& interp,
                      const std::string& fill, float value) {
                  return affine_transform(x, t, size, interp, fill, value, naive);
              },
              "images"_a, "transforms"_a, "output_size"_a = py::none(), "interpolation"_a = "bilinear",
              "fill_mode"_a = "constant", "fill_value"_a = 0.0f,
              "y (N, OH, OW, C): images (N, H, W, C) sampled at the points transforms (N or 1, 8)\n"
              "[a0, a1, a2, b0, b1, b2, c0, c1] map each output pixel to (keras.ops.image.affine_transform).");
        m.def(("affine_transform_backward" + sfx).c_str(),
              [naive](py::handle dy, py::handle t, py::handle xs, const std::string& interp,
                      const std::string& fill) {
                  return affine_transform_backward_py(dy, t, xs, interp, fill, naive);
              },
              "dy"_a, "transforms"_a, "x_shape"_a, "interpolation"_a = "bilinear", "fill_mode"_a = "constant",
              "The gradient (x_shape) of affine_transform's images from dy.");
    }
}

}  // namespace bind
}  // namespace ember
