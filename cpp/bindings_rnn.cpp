// pybind11 glue for the recurrent kernels (rnn.h): argument checks with
// Keras-style messages, device dispatch, GIL release.
#include <string>
#include <vector>

#include "bindings_common.h"
#include "rnn.h"

using namespace ember;
using namespace ember::bind;

namespace {

RnnCell cell_arg(const std::string& name) {
    if (name == "lstm") return RnnCell::Lstm;
    if (name == "gru") return RnnCell::Gru;
    if (name == "simple_rnn") return RnnCell::Simple;
    value_error("Argument `cell` must be one of 'simple_rnn', 'lstm', 'gru'. Received: cell='" + name + "'");
}

RnnAct act_arg(const std::string& name, const char* arg, bool gate) {
    if (!gate) {
        if (name == "tanh") return RnnAct::Tanh;
        if (name == "relu") return RnnAct::Relu;
        if (name == "linear") return RnnAct::Linear;
        if (name == "sigmoid") return RnnAct::Sigmoid;
        if (name == "hard_sigmoid") return RnnAct::HardSigmoid;
    } else {
        if (name == "sigmoid") return RnnAct::Sigmoid;
        if (name == "hard_sigmoid") return RnnAct::HardSigmoid;
        if (name == "tanh") return RnnAct::Tanh;
        if (name == "linear") return RnnAct::Linear;
        if (name == "relu") return RnnAct::Relu;
    }
    value_error(std::string("Argument `") + arg +
                "` must be one of 'tanh', 'relu', 'linear', 'sigmoid', 'hard_sigmoid'. Received: '" +
                name + "'");
}

struct RnnArgs {
    In x, kernel, rkernel, bias, h0, c0, mask, rdmask;
    RnnShape s;
    Device dev;
};

// Checks every argument against x (N, T, C) and the kernel's units.
RnnArgs rnn_args(py::handle x_, py::handle k_, py::handle rk_, py::handle b_, py::handle h0_,
                 py::handle c0_, py::handle mask_, py::handle rd_, const std::string& cell,
                 const std::string& act, const std::string& ract, bool reset_after,
                 bool go_backwards, bool zero_output) {
    RnnArgs a;
    a.s.cell = cell_arg(cell);
    a.s.act = act_arg(act, "activation", false);
    a.s.ract = act_arg(ract, "recurrent_activation", true);
    a.s.reset_after = reset_after;
    a.s.go_backwards = go_backwards;
    a.s.zero_output_for_mask = zero_output;
    a.x = input(x_, "x");
    a.kernel = input(k_, "kernel");
    a.rkernel = input(rk_, "recurrent_kernel");
    require_rank(a.x, "x", 3);
    require_rank(a.kernel, "kernel", 2);
    require_rank(a.rkernel, "recurrent_kernel", 2);
    const int64_t G = a.s.gates();
    a.s.N = a.x.t.dim(0);
    a.s.T = a.x.t.dim(1);
    a.s.C = a.x.t.dim(2);
    const int64_t U = a.rkernel.t.dim(0);
    a.s.U = U;
    if (U <= 0) value_error("Argument `recurrent_kernel` must have at least one unit. Received: shape " +
                            a.rkernel.t.shape_str());
    if (a.s.T <= 0)
        value_error("Argument `x` must have at least one time step. Received: shape " + a.x.t.shape_str());
    if ((double)a.s.N * (double)a.s.T * (double)(G * U + a.s.C) > 4e18)
        value_error("Argument `x` is too large. Received: shape " + a.x.t.shape_str());
    require_shape(a.rkernel, {U, G * U});
    if (a.kernel.t.dim(0) != a.s.C)
        value_error("Received: kernel shape " + a.kernel.t.shape_str() + " but input has " +
                    std::to_string(a.s.C) + " features (input shape " + a.x.t.shape_str() + ")");
    require_shape(a.kernel, {a.s.C, G * U});
    a.bias = optional_input(b_, "bias");
    if (a.s.cell == RnnCell::Gru && reset_after) require_shape(a.bias, {2, G * U});
    else require_shape(a.bias, {G * U});
    a.h0 = optional_input(h0_, "h0");
    require_shape(a.h0, {a.s.N, U});
    a.c0 = optional_input(c0_, "c0");
    if (a.c0.present && a.s.cell != RnnCell::Lstm)
        value_error("Argument `c0` is for LSTM only. Received: an array for cell='" + cell + "'");
    require_shape(a.c0, {a.s.N, U});
    a.mask = optional_input(mask_, "mask");
    require_shape(a.mask, {a.s.N, a.s.T});
    a.rdmask = optional_input(rd_, "recurrent_mask");
    require_shape(a.rdmask, {a.s.N, U});
    a.dev = device_of({&a.x, &a.kernel, &a.rkernel, &a.bias, &a.h0, &a.c0, &a.mask, &a.rdmask});
    return a;
}

// The shapes of what forward keeps for backward: gates, hs and aux (empty for SimpleRNN).
struct Saved {
    std::vector<int64_t> gates, hs, aux;
    bool has_aux;
};
Saved saved_shapes(const RnnShape& s) {
    const bool has_aux = s.cell != RnnCell::Simple;
    return {{s.N, s.T, s.gates() * s.U}, {s.N, s.T, s.U},
            has_aux ? std::vector<int64_t>{s.N, s.T, s.U} : std::vector<int64_t>{0}, has_aux};
}

py::tuple rnn_forward_py(py::handle x, py::handle k, py::handle rk, py::handle b, py::handle h0,
                         py::handle c0, py::handle mask, py::handle rd, const std::string& cell,
                         const std::string& act, const std::string& ract, bool reset_after,
                         bool go_backwards, bool zero_output) {
    RnnArgs a = rnn_args(x, k, rk, b, h0, c0, mask, rd, cell, act, ract, reset_after, go_backwards,
                         zero_output);
    const RnnShape& s = a.s;
    const Saved shapes = saved_shapes(s);
    Out out = output({s.N, s.out_rows(), s.U}, a.dev);
    Out gates = output(shapes.gates, a.dev), hs = output(shapes.hs, a.dev), aux = output(shapes.aux, a.dev);
    {
        py::gil_scoped_release nogil;
        EMBER_ON(a.dev, rnn_forward(out.p, gates.p, hs.p, shapes.has_aux ? aux.p : nullptr,
                                    a.x.t.data, a.kernel.t.data, a.rkernel.t.data, data_or_null(a.bias),
                                    data_or_null(a.h0), data_or_null(a.c0), data_or_null(a.mask),
                                    data_or_null(a.rdmask), s));
    }
    return py::make_tuple(out.obj, gates.obj, hs.obj, aux.obj);
}

py::tuple rnn_backward_py(py::handle dout_, py::handle gates_, py::handle hs_, py::handle aux_,
                          py::handle x, py::handle k, py::handle rk, py::handle b, py::handle h0,
                          py::handle c0, py::handle mask, py::handle rd, const std::string& cell,
                          const std::string& act, const std::string& ract, bool reset_after,
                          bool go_backwards, bool zero_output) {
    RnnArgs a = rnn_args(x, k, rk, b, h0, c0, mask, rd, cell, act, ract, reset_after, go_backwards,
                         zero_output);
    const RnnShape& s = a.s;
    const Saved shapes = saved_shapes(s);
    In dout = input(dout_, "dout"), gates = input(gates_, "gates"), hs = input(hs_, "hs");
    In aux = input(aux_, "aux");
    require_shape(dout, {s.N, s.out_rows(), s.U});
    require_shape(gates, shapes.gates);
    require_shape(hs, shapes.hs);
    require_shape(aux, shapes.aux);
    device_of({&a.x, &dout, &gates, &hs, &aux});  // on x's device, so on a.dev
    Out dx = output(a.x.t.shape, a.dev), dk = output(a.kernel.t.shape, a.dev);
    Out drk = output(a.rkernel.t.shape, a.dev);
    Out db = output(a.bias.present ? a.bias.t.shape : std::vector<int64_t>{0}, a.dev);
    Out dh0 = output({s.N, s.U}, a.dev);
    const bool lstm = s.cell == RnnCell::Lstm;
    Out dc0 = output(lstm ? std::vector<int64_t>{s.N, s.U} : std::vector<int64_t>{0}, a.dev);
    {
        py::gil_scoped_release nogil;
        EMBER_ON(a.dev, rnn_backward(dx.p, dk.p, drk.p, a.bias.present ? db.p : nullptr, dh0.p,
                                     lstm ? dc0.p : nullptr, dout.t.data, gates.t.data, hs.t.data,
                                     shapes.has_aux ? aux.t.data : nullptr, a.x.t.data, a.kernel.t.data,
                                     a.rkernel.t.data, data_or_null(a.h0), data_or_null(a.c0),
                                     data_or_null(a.mask), data_or_null(a.rdmask), s));
    }
    return py::make_tuple(dx.obj, dk.obj, drk.obj, none_or(a.bias.present, db), dh0.obj,
                          none_or(lstm, dc0));
}

}  // namespace

namespace ember {
namespace bind {

void register_rnn_ops(py::module_& m) {
    using namespace pybind11::literals;
    m.def("rnn_forward", &rnn_forward_py, "x"_a, "kernel"_a, "recurrent_kernel"_a, "bias"_a = py::none(),
          "h0"_a = py::none(), "c0"_a = py::none(), "mask"_a = py::none(), "recurrent_mask"_a = py::none(),
          "cell"_a = "lstm", "activation"_a = "tanh", "recurrent_activation"_a = "sigmoid",
          "reset_after"_a = true, "go_backwards"_a = false, "zero_output_for_mask"_a = false,
          "Recurrent layer forward over x (N, T, C), Keras weight layouts. Returns (out, gates, hs, aux):\n"
          "out (N, T + 1 (+1 for LSTM), U) holds the T outputs, the final h and (LSTM) the final c;\n"
          "gates, hs, aux are kept for rnn_backward.");
    m.def("rnn_backward", &rnn_backward_py, "dout"_a, "gates"_a, "hs"_a, "aux"_a, "x"_a, "kernel"_a,
          "recurrent_kernel"_a, "bias"_a = py::none(), "h0"_a = py::none(), "c0"_a = py::none(),
          "mask"_a = py::none(), "recurrent_mask"_a = py::none(), "cell"_a = "lstm",
          "activation"_a = "tanh", "recurrent_activation"_a = "sigmoid", "reset_after"_a = true,
          "go_backwards"_a = false, "zero_output_for_mask"_a = false,
          "Backward through time: returns (dx, dkernel, drecurrent_kernel, dbias, dh0, dc0).");
}

}  // namespace bind
}  // namespace ember
