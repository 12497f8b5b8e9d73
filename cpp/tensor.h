// The engine's tensor: a float32, contiguous, row-major view with a shape and
// a device tag. It does not own memory: the bindings wrap NumPy buffers in
// place (zero-copy both ways), and the CUDA build adds device buffers.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

enum class Device { CPU, CUDA };

inline const char* device_name(Device d) { return d == Device::CPU ? "cpu" : "cuda"; }

struct Tensor {
    float* data = nullptr;
    std::vector<int64_t> shape;
    Device device = Device::CPU;

    int rank() const { return (int)shape.size(); }
    int64_t dim(int i) const { return shape[i < 0 ? i + rank() : i]; }
    int64_t numel() const {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        return n;
    }
    std::string shape_str() const {
        std::string s = "(";
        for (size_t i = 0; i < shape.size(); ++i) {
            if (i) s += ", ";
            s += std::to_string(shape[i]);
        }
        if (shape.size() == 1) s += ",";
        return s + ")";
    }
};

}  // namespace ember
