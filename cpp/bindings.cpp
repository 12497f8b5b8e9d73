// pybind11 glue for the layer kernels: argument checks, NumPy <-> Tensor
// views (bindings_common.h), GIL release. No arithmetic lives here; every
// number is computed in the kernel files. The tensor operations' bindings
// are in bindings_tensor.cpp, registered from the module below.

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "activation.h"
#include "batchnorm.h"
#include "bindings_common.h"
#include "common.h"
#include "conv.h"
#include "dense.h"
#include "dropout.h"
#include "gemm.h"
#include "loss.h"
#include "optim.h"
#include "pool.h"
#include "tensor.h"

using namespace ember;
using namespace ember::bind;

namespace {

float finite_arg(double v, const char* name, double lo, double hi) {
    if (!(v >= lo && v <= hi))
        value_error(std::string("Argument `") + name + "` must be in [" + std::to_string(lo) +
                    ", " + std::to_string(hi) + "]. Received: " + std::to_string(v));
    return (float)v;
}


// ---------------------------------------------------------------- GEMM

py::object matmul(py::handle a_, py::handle b_, bool ta, bool tb, double alpha, double beta,
                  py::handle c_, bool naive) {
    In a = input(a_, "a"), b = input(b_, "b");
    require_rank(a, "a", 2);
    require_rank(b, "b", 2);
    const int64_t M = ta ? a.t.dim(1) : a.t.dim(0), K = ta ? a.t.dim(0) : a.t.dim(1);
    const int64_t Kb = tb ? b.t.dim(1) : b.t.dim(0), N = tb ? b.t.dim(0) : b.t.dim(1);
    if (K != Kb)
        value_error("Inner dimensions of `a` and `b` must match. Received: a " + a.t.shape_str() +
                    (ta ? " (transposed)" : "") + " and b " + b.t.shape_str() +
                    (tb ? " (transposed)" : ""));
    In ci;
    if (beta != 0.0) {
        if (c_.is_none()) value_error("Argument `c` is required when beta != 0. Received: None");
        ci = input(c_, "c");
        if (ci.t.shape != std::vector<int64_t>{M, N})
            value_error("Argument `c` must have shape (" + std::to_string(M) + ", " +
                        std::to_string(N) + "). Received: " + ci.t.shape_str());
    }
    const Device dev = device_of({&a, &b, &ci});
    Out c = output({M, N}, dev);
    py::gil_scoped_release nogil;
    if (beta != 0.0) {
#ifdef EMBER_CUDA
        if (dev == Device::CUDA) cuda::copy_on_device(c.p, ci.t.data, M * N * sizeof(float));
        else
#endif
            std::memcpy(c.p, ci.t.data, M * N * sizeof(float));
    }
    if (naive)
        EMBER_ON(dev, gemm_naive(c.p, a.t.data, b.t.data, M, N, K, ta, tb, (float)alpha, (float)beta,
                                 a.t.dim(1), b.t.dim(1), N));
    else
        EMBER_ON(dev, gemm(c.p, a.t.data, b.t.data, M, N, K, ta, tb, (float)alpha, (float)beta,
                           a.t.dim(1), b.t.dim(1), N));
    return c.obj;
}

// ---------------------------------------------------------------- Dense

// x is (..., I), kernel (I, O): the leading axes are flattened into rows.
struct DenseDims {
    int64_t N, I, O;
};
DenseDims dense_dims(const In& x, const In& kernel) {
    require_min_rank(x, "x", 2);
    require_rank(kernel, "kernel", 2);
    const int64_t I = x.t.dim(-1);
    if (kernel.t.dim(0) != I)
        value_error("Received: kernel shape " + kernel.t.shape_str() + " but input has " +
                    std::to_string(I) + " features (input shape " + x.t.shape_str() + ")");
    int64_t N = 1;
    for (int i = 0; i < x.t.rank() - 1; ++i) N *= x.t.dim(i);
    return {N, I, kernel.t.dim(1)};
}

py::object dense(py::handle x_, py::handle k_, py::handle b_, bool relu) {
    In x = input(x_, "x"), k = input(k_, "kernel");
    DenseDims d = dense_dims(x, k);
    In b = bias_arg(b_, d.O);
    const Device dev = device_of({&x, &k, &b});
    std::vector<int64_t> shape = x.t.shape;
    shape.back() = d.O;
    Out y = output(shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, dense_forward(y.p, x.t.data, k.t.data, data_or_null(b), d.N, d.I,
                                d.O, relu));
    return y.obj;
}

py::tuple dense_backward_py(py::handle dy_, py::handle x_, py::handle k_, bool use_bias, bool need_dx) {
    In dy = input(dy_, "dy"), x = input(x_, "x"), k = input(k_, "kernel");
    DenseDims d = dense_dims(x, k);
    const Device dev = device_of({&dy, &x, &k});
    std::vector<int64_t> yshape = x.t.shape;
    yshape.back() = d.O;
    if (dy.t.shape != yshape)
        value_error("Argument `dy` must have the output's shape " + Tensor{nullptr, yshape}.shape_str() +
                    ". Received: " + dy.t.shape_str());
    // The input gradient of a first layer is never used: need_dx=False skips its GEMM.
    std::vector<int64_t> dx_shape = x.t.shape;
    if (!need_dx) dx_shape.assign(1, 0);
    Out dx = output(dx_shape, dev), dk = output(k.t.shape, dev);
    Out db = output({use_bias ? d.O : 0}, dev);
    {
        py::gil_scoped_release nogil;
        EMBER_ON(dev, dense_backward(need_dx ? dx.p : nullptr, dk.p, use_bias ? db.p : nullptr, dy.t.data,
                                     x.t.data, k.t.data, d.N, d.I, d.O));
    }
    return py::make_tuple(none_or(need_dx, dx), dk.obj, none_or(use_bias, db));
}

// ---------------------------------------------------------------- Pooling

PoolShape pool_shape(const In& x, py::handle pool_size, py::handle strides,
                     const std::string& padding) {
    require_rank(x, "x", 4);
    auto [ph, pw] = pair_arg(pool_size, "pool_size");
    auto [sh, sw] = strides.is_none() ? std::make_pair(ph, pw) : pair_arg(strides, "strides");
    const bool same = padding_arg(padding);
    PoolShape s{};
    s.N = x.t.dim(0); s.H = x.t.dim(1); s.W = x.t.dim(2); s.C = x.t.dim(3);
    s.PH = ph; s.PW = pw; s.SH = sh; s.SW = sw;
    conv_out_size(s.H, ph, sh, 1, same, &s.OH, &s.PT);
    conv_out_size(s.W, pw, sw, 1, same, &s.OW, &s.PL);
    if (s.OH <= 0 || s.OW <= 0)
        value_error("Pool size (" + std::to_string(ph) + ", " + std::to_string(pw) +
                    ") does not fit the input " + x.t.shape_str() + " with padding 'valid'");
    return s;
}

void check_dy(const In& dy, const std::vector<int64_t>& shape) {
    if (dy.t.shape != shape)
        value_error("Argument `dy` must have the output's shape " + Tensor{nullptr, shape}.shape_str() +
                    ". Received: " + dy.t.shape_str());
}

py::object pool2d(py::handle x_, py::handle pool_size, py::handle strides, const std::string& padding,
                  bool is_max) {
    In x = input(x_, "x");
    PoolShape s = pool_shape(x, pool_size, strides, padding);
    const Device dev = x.t.device;
    Out y = output({s.N, s.OH, s.OW, s.C}, dev);
    py::gil_scoped_release nogil;
    if (is_max) EMBER_ON(dev, max_pool2d_forward(y.p, x.t.data, s));
    else EMBER_ON(dev, avg_pool2d_forward(y.p, x.t.data, s));
    return y.obj;
}

py::object pool2d_backward(py::handle dy_, py::handle x_, py::handle pool_size, py::handle strides,
                           const std::string& padding, bool is_max, bool relu_input = false) {
    In dy = input(dy_, "dy"), x = input(x_, "x");
    PoolShape s = pool_shape(x, pool_size, strides, padding);
    check_dy(dy, {s.N, s.OH, s.OW, s.C});
    const Device dev = device_of({&dy, &x});
    Out dx = output(x.t.shape, dev);
    py::gil_scoped_release nogil;
    if (is_max) EMBER_ON(dev, max_pool2d_backward(dx.p, dy.t.data, x.t.data, s, relu_input));
    else EMBER_ON(dev, avg_pool2d_backward(dx.p, dy.t.data, s));
    return dx.obj;
}

py::object global_avg_pool(py::handle x_) {
    In x = input(x_, "x");
    require_rank(x, "x", 4);
    const Device dev = x.t.device;
    Out y = output({x.t.dim(0), x.t.dim(3)}, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, global_avg_pool2d_forward(y.p, x.t.data, x.t.dim(0), x.t.dim(1), x.t.dim(2),
                                            x.t.dim(3)));
    return y.obj;
}

py::object global_avg_pool_backward(py::handle dy_, py::handle x_) {
    In dy = input(dy_, "dy"), x = input(x_, "x");
    require_rank(x, "x", 4);
    check_dy(dy, {x.t.dim(0), x.t.dim(3)});
    const Device dev = device_of({&dy, &x});
    Out dx = output(x.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, global_avg_pool2d_backward(dx.p, dy.t.data, x.t.dim(0), x.t.dim(1), x.t.dim(2),
                                             x.t.dim(3)));
    return dx.obj;
}

// ---------------------------------------------------------------- Activations

Act act_arg(const std::string& name) {
    if (name == "linear") return Act::Linear;
    if (name == "relu") return Act::Relu;
    if (name == "sigmoid") return Act::Sigmoid;
    if (name == "tanh") return Act::Tanh;
    if (name == "leaky_relu") return Act::LeakyRelu;
    if (name == "elu") return Act::Elu;
    if (name == "gelu") return Act::Gelu;
    value_error("Unknown activation: '" + name +
                "'. Expected one of: linear, relu, sigmoid, tanh, leaky_relu, elu, gelu, softmax");
}

py::object activation(py::handle x_, const std::string& name, double alpha) {
    In x = input(x_, "x");
    Act act = act_arg(name);
    const Device dev = x.t.device;
    Out y = output(x.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, activation_forward(y.p, x.t.data, x.t.numel(), act, (float)alpha));
    return y.obj;
}

py::object activation_backward_py(py::handle dy_, py::handle x_, const std::string& name,
                                  double alpha) {
    In dy = input(dy_, "dy"), x = input(x_, "x");
    Act act = act_arg(name);
    require_same_shape(dy, "dy", x, "x");
    const Device dev = device_of({&dy, &x});
    Out dx = output(x.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, activation_backward(dx.p, dy.t.data, x.t.data, x.t.numel(), act, (float)alpha));
    return dx.obj;
}

py::object relu_grad_from_output(py::handle dy_, py::handle y_) {
    In dy = input(dy_, "dy"), y = input(y_, "y");
    require_same_shape(dy, "dy", y, "y");
    const Device dev = device_of({&dy, &y});
    Out dx = output(y.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, relu_backward_from_output(dx.p, dy.t.data, y.t.data, y.t.numel()));
    return dx.obj;
}

py::object softmax(py::handle x_) {
    In x = input(x_, "x");
    require_min_rank(x, "x", 1);
    const int64_t cols = x.t.dim(-1), rows = cols ? x.t.numel() / cols : 0;
    const Device dev = x.t.device;
    Out y = output(x.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, softmax_forward(y.p, x.t.data, rows, cols));
    return y.obj;
}

py::object softmax_backward_py(py::handle dy_, py::handle x_) {
    In dy = input(dy_, "dy"), x = input(x_, "x");
    require_min_rank(x, "x", 1);
    require_same_shape(dy, "dy", x, "x");
    const int64_t cols = x.t.dim(-1), rows = cols ? x.t.numel() / cols : 0;
    const Device dev = device_of({&dy, &x});
    Out dx = output(x.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, softmax_backward(dx.p, dy.t.data, x.t.data, rows, cols));
    return dx.obj;
}

// ---------------------------------------------------------------- Losses

struct LossDims {
    int64_t rows, cols;
};
LossDims loss_dims(const In& t, const In& p) {
    require_min_rank(p, "y_pred", 1);
    require_same_shape(t, "y_true", p, "y_pred");
    const int64_t cols = p.t.dim(-1);
    return {cols ? p.t.numel() / cols : 0, cols};
}

py::tuple loss_py(py::handle t_, py::handle p_, const std::string& kind, bool from_logits) {
    In t = input(t_, "y_true"), p = input(p_, "y_pred");
    LossDims d = loss_dims(t, p);
    if (kind != "categorical_crossentropy" && kind != "binary_crossentropy" &&
        kind != "mean_squared_error")
        value_error("Argument `kind` must be categorical_crossentropy, binary_crossentropy or "
                    "mean_squared_error. Received: '" + kind + "'");
    const Device dev = p.t.device;
    move_like(t, dev);
    Out dp = output(p.t.shape, dev);
    float loss;
    {
        py::gil_scoped_release nogil;
        if (kind == "categorical_crossentropy") {
            if (from_logits)
                loss = EMBER_ON(dev, softmax_crossentropy(dp.p, nullptr, t.t.data, p.t.data, d.rows, d.cols));
            else
                loss = EMBER_ON(dev, categorical_crossentropy(dp.p, t.t.data, p.t.data, d.rows, d.cols));
        } else if (kind == "binary_crossentropy") {
            loss = EMBER_ON(dev, binary_crossentropy(dp.p, t.t.data, p.t.data, d.rows, d.cols, from_logits));
        } else {
            loss = EMBER_ON(dev, mean_squared_error(dp.p, t.t.data, p.t.data, d.rows, d.cols));
        }
    }
    return py::make_tuple(loss, dp.obj);
}

py::tuple softmax_crossentropy_py(py::handle t_, py::handle z_) {
    In t = input(t_, "y_true"), z = input(z_, "logits");
    LossDims d = loss_dims(t, z);
    const Device dev = z.t.device;
    move_like(t, dev);
    Out dz = output(z.t.shape, dev), probs = output(z.t.shape, dev);
    float loss;
    {
        py::gil_scoped_release nogil;
        loss = EMBER_ON(dev, softmax_crossentropy(dz.p, probs.p, t.t.data, z.t.data, d.rows, d.cols));
    }
    return py::make_tuple(loss, dz.obj, probs.obj);
}

py::tuple sparse_cce_py(py::handle t_, py::handle p_, bool from_logits) {
    In p = input(p_, "y_pred");
    require_min_rank(p, "y_pred", 1);
    py::array labels_any = py::module_::import("numpy").attr("asarray")(t_);
    const char kind = labels_any.dtype().kind();
    if (kind != 'i' && kind != 'u' && kind != 'f')
        throw py::type_error("Argument `y_true` must hold integer class indices. Received: dtype " +
                             std::string(py::str(labels_any.dtype())));
    auto labels = py::array_t<int64_t, py::array::c_style | py::array::forcecast>::ensure(labels_any);
    const int64_t cols = p.t.dim(-1), rows = cols ? p.t.numel() / cols : 0;
    if (labels.size() != rows)
        value_error("Argument `y_true` must hold one label per row of `y_pred` " + p.t.shape_str() +
                    " (" + std::to_string(rows) + " labels). Received: shape " + shape_of(labels));
    const int64_t* lab = labels.data();
    for (int64_t r = 0; r < rows; ++r)
        if (lab[r] < 0 || lab[r] >= cols)
            value_error("Label " + std::to_string(lab[r]) + " at index " + std::to_string(r) +
                        " is out of range for " + std::to_string(cols) + " classes.");
    const Device dev = p.t.device;
    Out dp = output(p.t.shape, dev);
    float loss;
    {
        py::gil_scoped_release nogil;
        // Labels stay on the host here; the CUDA version copies them over.
        loss = EMBER_ON(dev, sparse_categorical_crossentropy(dp.p, lab, p.t.data, rows, cols, from_logits));
    }
    return py::make_tuple(loss, dp.obj);
}

// ---------------------------------------------------------------- Dropout, BatchNorm

py::tuple dropout_py(py::handle x_, double rate, uint64_t seed) {
    In x = input(x_, "x");
    finite_arg(rate, "rate", 0.0, 1.0);
    if (rate >= 1.0) value_error("Argument `rate` must be in [0, 1). Received: " + std::to_string(rate));
    const Device dev = x.t.device;
    Out y = output(x.t.shape, dev), mask = output(x.t.shape, dev);
    {
        py::gil_scoped_release nogil;
        EMBER_ON(dev, dropout_forward(y.p, mask.p, x.t.data, x.t.numel(), rate, seed));
    }
    return py::make_tuple(y.obj, mask.obj);
}

py::object dropout_backward_py(py::handle dy_, py::handle mask_) {
    In dy = input(dy_, "dy"), m = input(mask_, "mask");
    require_same_shape(dy, "dy", m, "mask");
    const Device dev = device_of({&dy, &m});
    Out dx = output(dy.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, dropout_backward(dx.p, dy.t.data, m.t.data, dy.t.numel()));
    return dx.obj;
}

int64_t channels(const In& x) {
    require_min_rank(x, "x", 1);
    return x.t.dim(-1);
}

void require_vec(const In& v, const char* name, int64_t C) {
    if (v.t.shape != std::vector<int64_t>{C})
        value_error(std::string("Argument `") + name + "` must have shape (" + std::to_string(C) +
                    ",). Received: " + v.t.shape_str());
}

// An in-place argument must be where the tensors are.
void require_on(const Tensor& t, const char* name, Device dev) {
    if (t.data && t.device != dev)
        value_error(std::string("Argument `") + name + "` is on " + device_name(t.device) +
                    " but the other arguments are on " + device_name(dev));
}

py::tuple bn_train(py::handle x_, py::handle g_, py::handle b_, py::handle mm_, py::handle mv_,
                   double momentum, double eps) {
    In x = input(x_, "x"), g = input(g_, "gamma"), b = input(b_, "beta");
    const int64_t C = channels(x), M = C ? x.t.numel() / C : 0;
    require_vec(g, "gamma", C);
    require_vec(b, "beta", C);
    const Device dev = device_of({&x, &g, &b});
    Tensor mm = inplace(mm_, "moving_mean", C), mv = inplace(mv_, "moving_var", C);
    require_on(mm, "moving_mean", dev);
    require_on(mv, "moving_var", dev);
    const float mom = finite_arg(momentum, "momentum", 0.0, 1.0);
    const float e = finite_arg(eps, "epsilon", 0.0, 1e30);
    Out y = output(x.t.shape, dev), mean = output({C}, dev), var = output({C}, dev);
    {
        py::gil_scoped_release nogil;
        EMBER_ON(dev, batchnorm_forward_train(y.p, mean.p, var.p, mm.data, mv.data, x.t.data,
                                              g.t.data, b.t.data, M, C, mom, e));
    }
    return py::make_tuple(y.obj, mean.obj, var.obj);
}

py::object bn_infer(py::handle x_, py::handle g_, py::handle b_, py::handle mm_, py::handle mv_,
                    double eps) {
    In x = input(x_, "x"), g = input(g_, "gamma"), b = input(b_, "beta");
    In mm = input(mm_, "moving_mean"), mv = input(mv_, "moving_var");
    const int64_t C = channels(x), M = C ? x.t.numel() / C : 0;
    require_vec(g, "gamma", C);
    require_vec(b, "beta", C);
    require_vec(mm, "moving_mean", C);
    require_vec(mv, "moving_var", C);
    const Device dev = device_of({&x, &g, &b, &mm, &mv});
    const float e = finite_arg(eps, "epsilon", 0.0, 1e30);
    Out y = output(x.t.shape, dev);
    py::gil_scoped_release nogil;
    EMBER_ON(dev, batchnorm_forward_infer(y.p, x.t.data, g.t.data, b.t.data, mm.t.data, mv.t.data,
                                          M, C, e));
    return y.obj;
}

py::tuple bn_backward(py::handle dy_, py::handle x_, py::handle g_, py::handle mean_,
                      py::handle var_, double eps) {
    In dy = input(dy_, "dy"), x = input(x_, "x"), g = input(g_, "gamma");
    In mean = input(mean_, "mean"), var = input(var_, "var");
    const int64_t C = channels(x), M = C ? x.t.numel() / C : 0;
    require_same_shape(dy, "dy", x, "x");
    require_vec(g, "gamma", C);
    require_vec(mean, "mean", C);
    require_vec(var, "var", C);
    const Device dev = device_of({&dy, &x, &g, &mean, &var});
    const float e = finite_arg(eps, "epsilon", 0.0, 1e30);
    Out dx = output(x.t.shape, dev), dg = output({C}, dev), db = output({C}, dev);
    {
        py::gil_scoped_release nogil;
        EMBER_ON(dev, batchnorm_backward(dx.p, dg.p, db.p, dy.t.data, x.t.data, g.t.data,
                                         mean.t.data, var.t.data, M, C, e));
    }
    return py::make_tuple(dx.obj, dg.obj, db.obj);
}

// ---------------------------------------------------------------- Optimizers

// What every update shares: the gradient (read) and the weight and slot
// buffers (updated in place), all on the gradient's device.
struct Update {
    In g;
    int64_t n;
    Device dev;
    Tensor p;
    Update(py::handle p_, py::handle g_)
        : g(input(g_, "grad")), n(g.t.numel()), dev(g.t.device), p(inplace(p_, "param", n)) {
        require_on(p, "param", dev);
    }
    // A slot buffer; `use` false leaves it null (an unused optional slot).
    Tensor slot(py::handle s, const char* name, bool use = true) {
        Tensor t;
        if (use) t = inplace(s, name, n);
        require_on(t, name, dev);
        return t;
    }
};

// The GradPrep of optim.h from the arguments every update takes.
GradPrep grad_prep(double lr, double weight_decay, double grad_scale, double clipvalue) {
    GradPrep gp;
    gp.decay = (float)lr * finite_arg(weight_decay, "weight_decay", 0.0, 1e30);
    gp.scale = (float)grad_scale;  // NaN allowed: Keras turns a non-finite global norm into NaN updates
    gp.clip_value = finite_arg(clipvalue, "clipvalue", 0.0, 1e30);
    return gp;
}

float lr_arg(double lr) { return finite_arg(lr, "learning_rate", -1e30, 1e30); }

int64_t step_arg(int64_t step) {
    if (step < 1) value_error("Argument `step` must be >= 1. Received: " + std::to_string(step));
    return step;
}

void sgd_py(py::handle p_, py::handle g_, py::handle v_, double lr, double momentum,
            bool nesterov, double wd, double gs, double cv) {
    Update u(p_, g_);
    const float mom = finite_arg(momentum, "momentum", 0.0, 1.0);
    Tensor v = u.slot(v_, "velocity", mom > 0.0f);
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, sgd_update(u.p.data, v.data, u.g.t.data, u.n, (float)lr, mom, nesterov, gp));
}

void adam_py(py::handle p_, py::handle g_, py::handle m_, py::handle v_, double lr, double b1,
             double b2, double eps, int64_t step, double wd, py::handle vhat_, double gs, double cv) {
    Update u(p_, g_);
    Tensor m = u.slot(m_, "m"), v = u.slot(v_, "v"), vhat = u.slot(vhat_, "v_hat", !vhat_.is_none());
    step_arg(step);
    const float fb1 = finite_arg(b1, "beta_1", 0.0, 1.0 - 1e-12);
    const float fb2 = finite_arg(b2, "beta_2", 0.0, 1.0 - 1e-12);
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, adam_update(u.p.data, m.data, v.data, vhat.data, u.g.t.data, u.n, (float)lr, fb1, fb2,
                                (float)eps, step, gp));
}

void rmsprop_py(py::handle p_, py::handle g_, py::handle vel_, py::handle mom_, py::handle avg_,
                double lr, double rho, double momentum, double eps, bool centered, double wd,
                double gs, double cv) {
    Update u(p_, g_);
    Tensor vel = u.slot(vel_, "velocity");
    const float fm = finite_arg(momentum, "momentum", 0.0, 1.0);
    Tensor mom = u.slot(mom_, "momentum_buffer", fm > 0.0f);
    Tensor avg = u.slot(avg_, "average_gradient", centered);
    const float frho = finite_arg(rho, "rho", 0.0, 1.0);
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, rmsprop_update(u.p.data, vel.data, mom.data, avg.data, u.g.t.data, u.n, (float)lr, frho,
                                   fm, (float)eps, centered, gp));
}

void adagrad_py(py::handle p_, py::handle g_, py::handle acc_, double lr, double eps, double wd,
                double gs, double cv) {
    Update u(p_, g_);
    Tensor acc = u.slot(acc_, "accumulator");
    const float e = finite_arg(eps, "epsilon", 0.0, 1e30);
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, adagrad_update(u.p.data, acc.data, u.g.t.data, u.n, lr_arg(lr), e, gp));
}

void adadelta_py(py::handle p_, py::handle g_, py::handle ag_, py::handle ad_, double lr, double rho,
                 double eps, double wd, double gs, double cv) {
    Update u(p_, g_);
    Tensor ag = u.slot(ag_, "accumulated_grad"), ad = u.slot(ad_, "accumulated_delta_var");
    const float frho = finite_arg(rho, "rho", 0.0, 1.0);
    const float e = finite_arg(eps, "epsilon", 0.0, 1e30);
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, adadelta_update(u.p.data, ag.data, ad.data, u.g.t.data, u.n, lr_arg(lr), frho, e, gp));
}

void adamax_py(py::handle p_, py::handle g_, py::handle m_, py::handle norm_, double lr, double b1,
               double b2, double eps, int64_t step, double wd, double gs, double cv) {
    Update u(p_, g_);
    Tensor m = u.slot(m_, "m"), norm = u.slot(norm_, "u");
    step_arg(step);
    const float fb1 = finite_arg(b1, "beta_1", 0.0, 1.0 - 1e-12);
    const float fb2 = finite_arg(b2, "beta_2", 0.0, 1.0);
    const float e = finite_arg(eps, "epsilon", 0.0, 1e30);
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, adamax_update(u.p.data, m.data, norm.data, u.g.t.data, u.n, lr_arg(lr), fb1, fb2, e,
                                  step, gp));
}

void nadam_py(py::handle p_, py::handle g_, py::handle m_, py::handle v_, double lr, double b1,
              double b2, double eps, int64_t step, double u_product, double wd, double gs, double cv) {
    Update u(p_, g_);
    Tensor m = u.slot(m_, "m"), v = u.slot(v_, "v");
    step_arg(step);
    const float fb1 = finite_arg(b1, "beta_1", 0.0, 1.0);
    const float fb2 = finite_arg(b2, "beta_2", 0.0, 1.0 - 1e-12);
    const float e = finite_arg(eps, "epsilon", 0.0, 1e30);
    if (!(u_product >= 0.0 && u_product < 1.0))
        value_error("Argument `u_product` must be in [0, 1). Received: " + std::to_string(u_product));
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, nadam_update(u.p.data, m.data, v.data, u.g.t.data, u.n, lr_arg(lr), fb1, fb2, e, step,
                                 u_product, gp));
}

void ftrl_py(py::handle p_, py::handle g_, py::handle acc_, py::handle lin_, double lr, double lr_power,
             double l1, double l2, double l2_shrinkage, double beta, double wd, double gs, double cv) {
    Update u(p_, g_);
    Tensor acc = u.slot(acc_, "accumulator"), lin = u.slot(lin_, "linear");
    const float flr = lr_arg(lr);
    if (!(flr > 0.0f)) value_error("Argument `learning_rate` must be > 0 for Ftrl. Received: " + std::to_string(lr));
    const float fp = finite_arg(lr_power, "learning_rate_power", -1e30, 0.0);
    const float fl1 = finite_arg(l1, "l1_regularization_strength", 0.0, 1e30);
    const float fl2 = finite_arg(l2, "l2_regularization_strength", 0.0, 1e30);
    const float fl2s = finite_arg(l2_shrinkage, "l2_shrinkage_regularization_strength", 0.0, 1e30);
    const float fbeta = finite_arg(beta, "beta", 0.0, 1e30);
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, ftrl_update(u.p.data, acc.data, lin.data, u.g.t.data, u.n, flr, fp, fl1, fl2, fl2s,
                                fbeta, gp));
}

void lion_py(py::handle p_, py::handle g_, py::handle m_, double lr, double b1, double b2, double wd,
             double gs, double cv) {
    Update u(p_, g_);
    Tensor m = u.slot(m_, "m");
    const float fb1 = finite_arg(b1, "beta_1", 0.0, 1.0);
    const float fb2 = finite_arg(b2, "beta_2", 0.0, 1.0);
    const GradPrep gp = grad_prep(lr, wd, gs, cv);
    py::gil_scoped_release nogil;
    EMBER_ON(u.dev, lion_update(u.p.data, m.data, u.g.t.data, u.n, lr_arg(lr), fb1, fb2, gp));
}

void ema_py(py::handle avg_, py::handle p_, double momentum, bool overwrite) {
    In probe = input(avg_, "average");  // for its size and device
    const int64_t n = probe.t.numel();
    Tensor avg = inplace(avg_, "average", n), p = inplace(p_, "param", n);
    require_on(avg, "average", probe.t.device);
    require_on(p, "param", probe.t.device);
    const float mom = finite_arg(momentum, "momentum", 0.0, 1.0);
    py::gil_scoped_release nogil;
    EMBER_ON(probe.t.device, ema_update(avg.data, p.data, n, mom, overwrite));
}

void accumulate_py(py::handle acc_, py::handle g_, double grad_scale, double out_scale) {
    In g = input(g_, "grad");
    const int64_t n = g.t.numel();
    Tensor acc = inplace(acc_, "accumulator", n);
    require_on(acc, "accumulator", g.t.device);
    const float gs = finite_arg(grad_scale, "grad_scale", -1e30, 1e30);
    const float os = finite_arg(out_scale, "out_scale", -1e30, 1e30);
    py::gil_scoped_release nogil;
    EMBER_ON(g.t.device, accumulate_gradient(acc.data, g.t.data, n, gs, os));
}

double sum_squares_py(py::handle x_) {
    In x = input(x_, "x");
    py::gil_scoped_release nogil;
    return EMBER_ON(x.t.device, sum_squares(x.t.data, x.t.numel()));
}


#ifdef EMBER_CUDA
// ---------------------------------------------------------------- DeviceArray


py::array device_to_numpy(const DeviceArray& d) {
    FArray out = output(d.shape);
    py::gil_scoped_release nogil;
    d.buf->download(ptr(out), (size_t)d.numel());
    return out;
}


// reshape(2, -1) or reshape((2, -1)): one -1 at most, the size unchanged.
std::vector<int64_t> reshaped(const DeviceArray& d, py::args args) {
    std::vector<int64_t> shape =
        args.size() == 1 ? shape_arg(args[0], "shape", true) : shape_arg(args, "shape", true);
    int64_t known = 1, unknown = -1;
    for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1 && unknown < 0) unknown = (int64_t)i;
        else if (shape[i] < 0) value_error("Argument `shape` allows one -1 and no other negative size. "
                                           "Received: " + Tensor{nullptr, shape}.shape_str());
        else known *= shape[i];
    }
    if (unknown >= 0 && known > 0 && d.numel() % known == 0) shape[unknown] = d.numel() / known;
    if (Tensor{nullptr, shape}.numel() != d.numel() || (unknown >= 0 && shape[unknown] < 0))
        value_error("Cannot reshape an array of shape " + Tensor{nullptr, d.shape}.shape_str() +
                    " into " + Tensor{nullptr, shape}.shape_str());
    return shape;
}

py::tuple shape_tuple(const std::vector<int64_t>& shape) {
    py::tuple t(shape.size());
    for (size_t i = 0; i < shape.size(); ++i) t[i] = py::int_(shape[i]);
    return t;
}

// A NumPy array in page-locked host memory, freed with it.
py::array pinned_empty(py::handle shape_) {
    std::vector<int64_t> shape = shape_arg(shape_, "shape");
    const int64_t n = Tensor{nullptr, shape}.numel();
    void* p = cuda::pinned_alloc((size_t)n * sizeof(float));
    py::capsule owner(p, [](void* q) { cuda::pinned_free(q); });
    std::vector<py::ssize_t> dims(shape.begin(), shape.end());
    return py::array_t<float>(dims, static_cast<float*>(p), owner);
}
#endif  // EMBER_CUDA

}  // namespace

PYBIND11_MODULE(_core, m) {
    m.doc() = "ember's compiled engine (private: use ember.ops)";
    using namespace pybind11::literals;

    m.def("set_num_threads", [](int n) {
        if (n < 1) value_error("Argument `n` must be >= 1. Received: " + std::to_string(n));
        set_num_threads(n);
    }, "n"_a);
    m.def("get_num_threads", &num_threads);
    m.def("measured_team_size", &measured_team_size,
          "Threads that a kernel's parallel region actually runs with.");
    m.def("has_avx2", &gemm_uses_avx2,
          "Whether a GEMM micro-kernel with AVX2/FMA (the avx2 or avx512 variant) is in use.");
    m.def("cpu_variant", []() { return std::string(cpu_variant_name(cpu_variant())); },
          "The CPU variant of the kernels in use: 'avx512', 'avx2' or 'generic'.");
    m.def("cpu_variants", []() {
        std::vector<std::string> out;
        for (int v = 0; v <= (int)cpu_best_variant(); ++v)
            out.push_back(cpu_variant_name((CpuVariant)v));
        return out;
    }, "The CPU variants this CPU runs, narrowest first.");
    m.def("set_cpu_variant", [](const std::string& name) {
        for (int v = 0; v <= (int)CpuVariant::kAvx512; ++v)
            if (name == cpu_variant_name((CpuVariant)v)) {
                if (!set_cpu_variant((CpuVariant)v))
                    value_error("This CPU does not support the '" + name + "' kernels (it supports up to '" +
                                cpu_variant_name(cpu_best_variant()) + "'). Received: variant='" + name + "'");
                return;
            }
        value_error("Argument `variant` must be one of 'avx512', 'avx2', 'generic'. Received: variant='" +
                    name + "'");
    }, "variant"_a, "Selects the kernels' CPU variant (for tests and benchmarks; not thread-safe\n"
       "with kernels running at the same time).");
    m.def("gemm_blocks", []() {
        const GemmBlocks b = gemm_blocks(cpu_variant());
        return py::dict(py::arg("mr") = b.mr, py::arg("nr") = b.nr, py::arg("kc") = b.kc,
                        py::arg("mc") = b.mc, py::arg("nc") = b.nc);
    }, "Register and cache blocks of the GEMM variant in use.");
    m.def("openmp_enabled", []() {
#ifdef _OPENMP
        return true;
#else
        return false;
#endif
    });

    m.def("matmul", [](py::handle a, py::handle b, bool ta, bool tb, double alpha, double beta,
                       py::handle c) { return matmul(a, b, ta, tb, alpha, beta, c, false); },
          "a"_a, "b"_a, "transpose_a"_a = false, "transpose_b"_a = false, "alpha"_a = 1.0,
          "beta"_a = 0.0, "c"_a = py::none(),
          "alpha * op(a) @ op(b) + beta * c. a is (M, K), or (K, M) with transpose_a; b is (K, N),\n"
          "or (N, K) with transpose_b; c (M, N) is needed only when beta != 0. Returns (M, N).");
    m.def("matmul_naive", [](py::handle a, py::handle b, bool ta, bool tb, double alpha,
                             double beta, py::handle c) { return matmul(a, b, ta, tb, alpha, beta, c, true); },
          "a"_a, "b"_a, "transpose_a"_a = false, "transpose_b"_a = false, "alpha"_a = 1.0,
          "beta"_a = 0.0, "c"_a = py::none());

    m.def("dense", &dense, "x"_a, "kernel"_a, "bias"_a = py::none(), "relu"_a = false);
    m.def("dense_backward", &dense_backward_py, "dy"_a, "x"_a, "kernel"_a, "use_bias"_a = true,
          "need_dx"_a = true);

    m.def("max_pool2d", [](py::handle x, py::handle ps, py::handle s, const std::string& p) {
        return pool2d(x, ps, s, p, true); }, "x"_a, "pool_size"_a = py::make_tuple(2, 2),
          "strides"_a = py::none(), "padding"_a = "valid");
    m.def("max_pool2d_backward", [](py::handle dy, py::handle x, py::handle ps, py::handle s,
                                    const std::string& p, bool relu_input) {
              return pool2d_backward(dy, x, ps, s, p, true, relu_input);
          },
          "dy"_a, "x"_a, "pool_size"_a = py::make_tuple(2, 2), "strides"_a = py::none(),
          "padding"_a = "valid", "relu_input"_a = false);
    m.def("avg_pool2d", [](py::handle x, py::handle ps, py::handle s, const std::string& p) {
        return pool2d(x, ps, s, p, false); }, "x"_a, "pool_size"_a = py::make_tuple(2, 2),
          "strides"_a = py::none(), "padding"_a = "valid");
    m.def("avg_pool2d_backward", [](py::handle dy, py::handle x, py::handle ps, py::handle s,
                                    const std::string& p) { return pool2d_backward(dy, x, ps, s, p, false); },
          "dy"_a, "x"_a, "pool_size"_a = py::make_tuple(2, 2), "strides"_a = py::none(),
          "padding"_a = "valid");
    m.def("global_avg_pool2d", &global_avg_pool, "x"_a);
    m.def("global_avg_pool2d_backward", &global_avg_pool_backward, "dy"_a, "x"_a);

    m.def("activation", &activation, "x"_a, "name"_a, "alpha"_a = 0.0);
    m.def("activation_backward", &activation_backward_py, "dy"_a, "x"_a, "name"_a, "alpha"_a = 0.0);
    m.def("relu_grad_from_output", &relu_grad_from_output, "dy"_a, "y"_a);
    m.def("softmax", &softmax, "x"_a);
    m.def("softmax_backward", &softmax_backward_py, "dy"_a, "x"_a);

    m.def("loss", &loss_py, "y_true"_a, "y_pred"_a, "kind"_a, "from_logits"_a = false);
    m.def("softmax_crossentropy", &softmax_crossentropy_py, "y_true"_a, "logits"_a);
    m.def("sparse_categorical_crossentropy", &sparse_cce_py, "y_true"_a, "y_pred"_a,
          "from_logits"_a = false);

    m.def("dropout", &dropout_py, "x"_a, "rate"_a, "seed"_a);
    m.def("dropout_backward", &dropout_backward_py, "dy"_a, "mask"_a);
    m.def("batch_norm_train", &bn_train, "x"_a, "gamma"_a, "beta"_a, "moving_mean"_a,
          "moving_var"_a, "momentum"_a = 0.99, "epsilon"_a = 1e-3);
    m.def("batch_norm_infer", &bn_infer, "x"_a, "gamma"_a, "beta"_a, "moving_mean"_a,
          "moving_var"_a, "epsilon"_a = 1e-3);
    m.def("batch_norm_backward", &bn_backward, "dy"_a, "x"_a, "gamma"_a, "mean"_a, "var"_a,
          "epsilon"_a = 1e-3);

    // Every update also takes weight_decay (p -= p * lr * weight_decay first),
    // grad_scale (g *= grad_scale) and clipvalue (g clipped to +-clipvalue; 0: off).
#define EMBER_PREP_ARGS "weight_decay"_a = 0.0, "grad_scale"_a = 1.0, "clipvalue"_a = 0.0
    m.def("sgd_update", &sgd_py, "param"_a, "grad"_a, "velocity"_a = py::none(),
          "learning_rate"_a = 0.01, "momentum"_a = 0.0, "nesterov"_a = false, EMBER_PREP_ARGS);
    m.def("adam_update", &adam_py, "param"_a, "grad"_a, "m"_a, "v"_a, "learning_rate"_a = 0.001,
          "beta_1"_a = 0.9, "beta_2"_a = 0.999, "epsilon"_a = 1e-7, "step"_a = 1,
          "weight_decay"_a = 0.0, "v_hat"_a = py::none(), "grad_scale"_a = 1.0, "clipvalue"_a = 0.0);
    m.def("rmsprop_update", &rmsprop_py, "param"_a, "grad"_a, "velocity"_a,
          "momentum_buffer"_a = py::none(), "average_gradient"_a = py::none(),
          "learning_rate"_a = 0.001, "rho"_a = 0.9, "momentum"_a = 0.0, "epsilon"_a = 1e-7,
          "centered"_a = false, EMBER_PREP_ARGS);
    m.def("adagrad_update", &adagrad_py, "param"_a, "grad"_a, "accumulator"_a, "learning_rate"_a = 0.001,
          "epsilon"_a = 1e-7, EMBER_PREP_ARGS);
    m.def("adadelta_update", &adadelta_py, "param"_a, "grad"_a, "accumulated_grad"_a,
          "accumulated_delta_var"_a, "learning_rate"_a = 0.001, "rho"_a = 0.95, "epsilon"_a = 1e-7,
          EMBER_PREP_ARGS);
    m.def("adamax_update", &adamax_py, "param"_a, "grad"_a, "m"_a, "u"_a, "learning_rate"_a = 0.001,
          "beta_1"_a = 0.9, "beta_2"_a = 0.999, "epsilon"_a = 1e-7, "step"_a = 1, EMBER_PREP_ARGS);
    m.def("nadam_update", &nadam_py, "param"_a, "grad"_a, "m"_a, "v"_a, "learning_rate"_a = 0.001,
          "beta_1"_a = 0.9, "beta_2"_a = 0.999, "epsilon"_a = 1e-7, "step"_a = 1, "u_product"_a,
          EMBER_PREP_ARGS);
    m.def("ftrl_update", &ftrl_py, "param"_a, "grad"_a, "accumulator"_a, "linear"_a,
          "learning_rate"_a = 0.001, "learning_rate_power"_a = -0.5, "l1_regularization_strength"_a = 0.0,
          "l2_regularization_strength"_a = 0.0, "l2_shrinkage_regularization_strength"_a = 0.0,
          "beta"_a = 0.0, EMBER_PREP_ARGS);
    m.def("lion_update", &lion_py, "param"_a, "grad"_a, "m"_a, "learning_rate"_a = 0.001,
          "beta_1"_a = 0.9, "beta_2"_a = 0.99, EMBER_PREP_ARGS);
#undef EMBER_PREP_ARGS
    m.def("ema_update", &ema_py, "average"_a, "param"_a, "momentum"_a, "overwrite"_a = false);
    m.def("accumulate_gradient", &accumulate_py, "accumulator"_a, "grad"_a, "grad_scale"_a = 1.0,
          "out_scale"_a = 1.0);
    m.def("sum_squares", &sum_squares_py, "x"_a, "Sum of x^2 in double, in fixed blocks (deterministic).");

    register_tensor_ops(m);
    register_conv_ops(m);
    register_rnn_ops(m);
    register_image_ops(m);

#ifdef EMBER_CUDA
    m.attr("cuda_built") = true;
#ifdef EMBER_CUDA_EMULATE
    m.attr("cuda_emulated") = true;
#else
    m.attr("cuda_emulated") = false;
#endif
    m.def("cuda_available", &cuda::available);
    m.def("cuda_device_name", &cuda::device_name);
    m.def("cuda_synchronize", []() {
        py::gil_scoped_release nogil;
        cuda::synchronize();
    });
    m.def("cuda_benchmark_gemm", [](int64_t M, int64_t N, int64_t K, int reps) {
        if (M <= 0 || N <= 0 || K <= 0 || reps <= 0)
            value_error("M, N, K and reps must be positive. Received: " + std::to_string(M) + ", " +
                        std::to_string(N) + ", " + std::to_string(K) + ", " + std::to_string(reps));
        py::gil_scoped_release nogil;
        return cuda::benchmark_gemm(M, N, K, reps);
    }, "M"_a, "N"_a, "K"_a, "reps"_a = 10);

    py::class_<DeviceArray>(m, "DeviceArray",
                            "A float32 array in GPU memory (a tensor on the 'cuda' device). Every "
                            "ember._core operation takes it where it takes a NumPy array and then "
                            "returns DeviceArrays. np.asarray() or .numpy() copies it to the host.")
        .def_property_readonly("shape", [](const DeviceArray& d) { return shape_tuple(d.shape); })
        .def_property_readonly("ndim", [](const DeviceArray& d) { return (int)d.shape.size(); })
        .def_property_readonly("size", &DeviceArray::numel)
        .def_property_readonly("nbytes", [](const DeviceArray& d) { return d.numel() * 4; })
        .def_property_readonly("dtype", [](const DeviceArray&) { return py::dtype::of<float>(); })
        .def_property_readonly("device", [](const DeviceArray&) { return "cuda"; })
        .def("numpy", &device_to_numpy, "A NumPy copy on the host.")
        .def("__array__", [](const DeviceArray& d, py::object dtype, py::object copy) -> py::object {
            py::array a = device_to_numpy(d);
            return dtype.is_none() ? py::object(a) : a.attr("astype")(dtype);
        }, "dtype"_a = py::none(), "copy"_a = py::none())
        .def("reshape", [](const DeviceArray& d, py::args args) {
            return DeviceArray{d.buf, reshaped(d, args)};
        }, "A view with another shape, sharing the memory.")
        .def("copy_from", [](DeviceArray& d, py::handle src) {
            In h = input(src, "src");
            if (h.t.numel() != d.numel())
                value_error("Argument `src` must have " + std::to_string(d.numel()) +
                            " elements. Received: shape " + h.t.shape_str());
            py::gil_scoped_release nogil;
            if (h.t.device == Device::CUDA) cuda::copy_on_device(d.data(), h.t.data, (size_t)d.numel() * 4);
            else d.buf->upload(h.t.data, (size_t)d.numel());
        }, "src"_a, "Overwrites the contents with another array's, host or device (same number of elements).")
        .def("__len__", [](const DeviceArray& d) {
            if (d.shape.empty()) throw py::type_error("len() of a 0-d DeviceArray");
            return d.shape[0];
        })
        .def("__repr__", [](const DeviceArray& d) {
            return "DeviceArray(shape=" + Tensor{nullptr, d.shape}.shape_str() + ", dtype=float32, device='cuda')";
        });
    m.def("to_device", [](py::handle a) -> py::object {
        In h = input(a, "array");
        if (h.t.device == Device::CUDA) return py::reinterpret_borrow<py::object>(a);
        return py::cast(to_device_array(h));
    }, "array"_a, "A copy of a host array in GPU memory (the array itself if it is there already).");
    m.def("device_zeros", [](py::handle shape_) {
        std::vector<int64_t> shape = shape_arg(shape_, "shape");
        DeviceArray d = new_device_array(shape);
        cuda::fill_zero(d.data(), d.numel());
        return d;
    }, "shape"_a);
    m.def("pinned_empty", &pinned_empty, "shape"_a,
          "An uninitialised float32 NumPy array in page-locked host memory.");
#else
    m.attr("cuda_built") = false;
    m.attr("cuda_emulated") = false;
    m.def("cuda_available", []() { return false; });
#endif
}
