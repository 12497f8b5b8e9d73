// The bindings' shared ritual, for every bindings_*.cpp: NumPy <-> Tensor
// views (input, inplace, output), device arrays, the device check that all
// tensor arguments agree, and the argument checks that raise ValueError or
// TypeError with "Received: ...". No arithmetic lives here.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor.h"
#ifdef EMBER_CUDA
#include "cuda/cuda_ops.h"
#endif

namespace ember {
namespace bind {

namespace py = pybind11;

using FArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

inline std::string shape_of(const py::array& a) {
    std::string s = "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i) {
        if (i) s += ", ";
        s += std::to_string(a.shape(i));
    }
    if (a.ndim() == 1) s += ",";
    return s + ")";
}

[[noreturn]] inline void value_error(const std::string& msg) { throw py::value_error(msg); }

// A float32 C-contiguous view of `obj`: zero-copy when it already is one,
// otherwise converted once. Bool, integer and float inputs are accepted;
// anything else raises TypeError naming the argument.
struct In {
    FArray arr;
    Tensor t;
    const char* name = "";
    bool present = false;  // false for an optional argument left None
    py::object keep;       // a temporary copy this view points into
};

#ifdef EMBER_CUDA
// A float32 array in GPU memory: a tensor on the 'cuda' device. Views made by
// reshape share the buffer.
struct DeviceArray {
    std::shared_ptr<cuda::Buffer> buf;
    std::vector<int64_t> shape;
    int64_t numel() const { return Tensor{nullptr, shape}.numel(); }
    float* data() const { return buf->data(); }
};

inline DeviceArray new_device_array(const std::vector<int64_t>& shape) {
    DeviceArray d{nullptr, shape};
    d.buf = std::make_shared<cuda::Buffer>((size_t)d.numel());
    return d;
}

inline DeviceArray to_device_array(const In& host);
#endif

inline In input(py::handle obj, const char* name) {
    In in;
    in.name = name;
    in.present = true;
    if (FArray::check_(obj)) {
        // Already a C-contiguous float32 array: a view, no conversion call.
        in.arr = py::reinterpret_borrow<FArray>(obj);
        in.t.data = const_cast<float*>(in.arr.data());
        in.t.shape.assign(in.arr.shape(), in.arr.shape() + in.arr.ndim());
        return in;
    }
    if (obj.is_none()) throw py::type_error(std::string("Argument `") + name +
                                            "` must be a float32 array. Received: None");
#ifdef EMBER_CUDA
    if (py::isinstance<DeviceArray>(obj)) {
        const DeviceArray& d = obj.cast<const DeviceArray&>();
        in.t.data = d.data();
        in.t.shape = d.shape;
        in.t.device = Device::CUDA;
        return in;
    }
#endif
    py::array a;
    if (py::isinstance<py::array>(obj)) {
        a = py::reinterpret_borrow<py::array>(obj);
    } else {
        try {
            a = py::module_::import("numpy").attr("asarray")(obj);
        } catch (py::error_already_set&) {
            throw py::type_error(std::string("Argument `") + name +
                                 "` must be convertible to a float32 array. Received: " +
                                 std::string(py::str(py::type::of(obj).attr("__name__"))));
        }
    }
    const char kind = a.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
        throw py::type_error(std::string("Argument `") + name +
                             "` must be a numeric array (float32 expected). Received: dtype " +
                             std::string(py::str(a.dtype())));
    in.arr = FArray::ensure(a);
    if (!in.arr) throw py::error_already_set();
    in.t.data = const_cast<float*>(in.arr.data());
    for (py::ssize_t i = 0; i < in.arr.ndim(); ++i) in.t.shape.push_back(in.arr.shape(i));
    return in;
}

// An array the kernel updates in place: it must already be a writable,
// C-contiguous float32 array (a converted copy would silently drop updates).
inline Tensor inplace(py::handle obj, const char* name, int64_t numel) {
#ifdef EMBER_CUDA
    if (py::isinstance<DeviceArray>(obj)) {
        const DeviceArray& d = obj.cast<const DeviceArray&>();
        if (d.numel() != numel)
            value_error(std::string("Argument `") + name + "` must have " + std::to_string(numel) +
                        " elements. Received: shape " + Tensor{nullptr, d.shape}.shape_str());
        return Tensor{d.data(), d.shape, Device::CUDA};
    }
#endif
    if (!py::isinstance<py::array>(obj))
        throw py::type_error(std::string("Argument `") + name +
                             "` must be a float32 NumPy array updated in place. Received: " +
                             std::string(py::str(py::type::of(obj).attr("__name__"))));
    auto a = py::reinterpret_borrow<py::array>(obj);
    if (!a.dtype().is(py::dtype::of<float>()))
        throw py::type_error(std::string("Argument `") + name +
                             "` must have dtype float32. Received: dtype " +
                             std::string(py::str(a.dtype())));
    if (!(a.flags() & py::array::c_style))
        value_error(std::string("Argument `") + name + "` must be C-contiguous.");
    if (!a.writeable()) value_error(std::string("Argument `") + name + "` is read-only.");
    if (a.size() != numel)
        value_error(std::string("Argument `") + name + "` must have " + std::to_string(numel) +
                    " elements. Received: shape " + shape_of(a));
    Tensor t;
    t.data = static_cast<float*>(a.mutable_data());
    for (py::ssize_t i = 0; i < a.ndim(); ++i) t.shape.push_back(a.shape(i));
    return t;
}

inline FArray output(const std::vector<int64_t>& shape) {
    std::vector<py::ssize_t> s(shape.begin(), shape.end());
    return FArray(s);
}

inline float* ptr(FArray& a) { return a.mutable_data(); }

// A new result on `dev`: a NumPy array, or a DeviceArray on the GPU.
struct Out {
    py::object obj;
    float* p = nullptr;
};

inline Out output(const std::vector<int64_t>& shape, Device dev) {
    Out o;
#ifdef EMBER_CUDA
    if (dev == Device::CUDA) {
        DeviceArray d = new_device_array(shape);
        o.p = d.data();
        o.obj = py::cast(std::move(d));
        return o;
    }
#endif
    FArray a = output(shape);
    o.p = ptr(a);
    o.obj = std::move(a);
    return o;
}

inline py::object none_or(bool keep, const Out& o) { return keep ? o.obj : py::none(); }

// The device every present tensor argument is on; all must agree.
inline Device device_of(std::initializer_list<const In*> args) {
    const In* first = nullptr;
    for (const In* a : args) {
        if (!a->present) continue;
        if (!first) first = a;
        else if (a->t.device != first->t.device)
            value_error(std::string("All tensor arguments must be on one device. Received: `") +
                        first->name + "` on " + device_name(first->t.device) + " and `" + a->name +
                        "` on " + device_name(a->t.device));
    }
    return first ? first->t.device : Device::CPU;
}

// Targets (labels) may be NumPy arrays whatever the device: they are copied
// to the GPU when the predictions are there.
inline void move_like(In& t, Device dev) {
#ifdef EMBER_CUDA
    if (dev == Device::CUDA && t.t.device == Device::CPU) {
        DeviceArray d = to_device_array(t);
        t.t.data = d.data();
        t.t.device = Device::CUDA;
        t.keep = py::cast(std::move(d));
    }
#endif
}

// The kernel of `call` on dev: cuda::call on the GPU, ember::call on the CPU
// (the two backends share names and arguments).
#ifdef EMBER_CUDA
#define EMBER_ON(dev, call) ((dev) == Device::CUDA ? cuda::call : ember::call)
#else
#define EMBER_ON(dev, call) (ember::call)
#endif

inline void require_rank(const In& in, const char* name, int rank) {
    if (in.t.rank() != rank)
        value_error(std::string("Argument `") + name + "` must have rank " + std::to_string(rank) +
                    ". Received: shape " + in.t.shape_str());
}

inline void require_min_rank(const In& in, const char* name, int rank) {
    if (in.t.rank() < rank)
        value_error(std::string("Argument `") + name + "` must have rank >= " +
                    std::to_string(rank) + ". Received: shape " + in.t.shape_str());
}

inline void require_same_shape(const In& a, const char* an, const In& b, const char* bn) {
    if (a.t.shape != b.t.shape)
        value_error(std::string("Arguments `") + an + "` and `" + bn +
                    "` must have the same shape. Received: " + a.t.shape_str() + " and " +
                    b.t.shape_str());
}


inline void require_cpu(const In& in, const char* what) {
    if (in.t.device != Device::CPU)
        value_error(std::string(what) + " runs on the cpu device only. Received: `" + in.name +
                    "` on " + device_name(in.t.device));
}

// A shape from Python: an int or a sequence of ints, each >= -1 (-1 only
// where allow_unknown), whose product stays far from overflow.
inline std::vector<int64_t> shape_arg(py::handle obj, const char* name, bool allow_unknown = false) {
    std::vector<int64_t> shape;
    try {
        if (py::isinstance<py::int_>(obj)) shape.push_back(obj.cast<int64_t>());
        else shape = obj.cast<std::vector<int64_t>>();
    } catch (py::cast_error&) {
        throw py::type_error(std::string("Argument `") + name + "` must be a tuple of ints. Received: " +
                             std::string(py::repr(obj)));
    }
    double total = 1.0;
    for (int64_t d : shape) {
        if (d < (allow_unknown ? -1 : 0))
            value_error(std::string("Argument `") + name + "` must hold non-negative sizes. Received: " +
                        Tensor{nullptr, shape}.shape_str());
        total *= (double)(d < 0 ? 1 : d);
    }
    if (total > 4e18)
        value_error(std::string("Argument `") + name + "` is too large. Received: " +
                    Tensor{nullptr, shape}.shape_str());
    return shape;
}

// An int or a pair of positive ints (strides, pool sizes, dilation rates).
inline std::pair<int64_t, int64_t> pair_arg(py::handle obj, const char* name) {
    int64_t a, b;
    try {
        if (py::isinstance<py::int_>(obj)) {
            a = b = obj.cast<int64_t>();
        } else {
            auto v = obj.cast<std::vector<int64_t>>();
            if (v.size() != 2) throw py::cast_error();
            a = v[0];
            b = v[1];
        }
    } catch (py::cast_error&) {
        throw py::type_error(std::string("Argument `") + name +
                             "` must be an int or a tuple of 2 ints. Received: " +
                             std::string(py::repr(obj)));
    }
    if (a <= 0 || b <= 0)
        value_error(std::string("Argument `") + name + "` must hold positive integers. Received: " +
                    std::string(py::repr(obj)));
    return {a, b};
}

// 'valid' (false) or 'same' (true).
inline bool padding_arg(const std::string& padding) {
    if (padding == "valid") return false;
    if (padding == "same") return true;
    value_error("Argument `padding` must be 'valid' or 'same'. Received: '" + padding + "'");
}

// An optional tensor argument: absent (present false) when None.
inline In optional_input(py::handle obj, const char* name) {
    In in;
    in.name = name;
    if (!obj.is_none()) in = input(obj, name);
    return in;
}

// A tensor argument's data, or null when it is absent.
inline const float* data_or_null(const In& a) { return a.present ? a.t.data : nullptr; }

// A present argument must have exactly `shape` (an absent one passes).
inline void require_shape(const In& a, const std::vector<int64_t>& shape) {
    if (a.present && a.t.shape != shape)
        value_error(std::string("Argument `") + a.name + "` must have shape " +
                    Tensor{nullptr, shape}.shape_str() + ". Received: " + a.t.shape_str());
}

// An optional bias (C,): absent when None.
inline In bias_arg(py::handle b_, int64_t C) {
    In b = optional_input(b_, "bias");
    require_shape(b, {C});
    return b;
}

#ifdef EMBER_CUDA
inline DeviceArray to_device_array(const In& host) {
    DeviceArray d = new_device_array(host.t.shape);
    py::gil_scoped_release nogil;
    d.buf->upload(host.t.data, (size_t)d.numel());
    return d;
}
#endif

// The tensor operations' bindings (bindings_tensor.cpp), added to the module.
void register_tensor_ops(py::module_& m);
// The convolutions' bindings (bindings_conv.cpp).
void register_conv_ops(py::module_& m);
// The recurrent layers' bindings (bindings_rnn.cpp).
void register_rnn_ops(py::module_& m);
// The image transforms' bindings (bindings_image.cpp).
void register_image_ops(py::module_& m);

}  // namespace bind
}  // namespace ember
