// Internal to the CUDA backend: the CUDA runtime (or, for tests on a machine
// without a GPU, the CPU emulator), checked calls and kernel launches.
#pragma once
#ifdef EMBER_CUDA_EMULATE
#include "emulator.h"
#else
#include <cuda_runtime.h>
#endif

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "cuda_ops.h"

namespace ember {
namespace cuda {

// Throws std::runtime_error naming the call when err is not cudaSuccess.
inline void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess)
        throw std::runtime_error(std::string("CUDA call ") + what + " failed: " +
                                 cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}

constexpr int kThreads = 256;

// Blocks for a grid-stride loop over n elements (at least one, at most
// 65535 * 16: each thread then takes several elements).
inline unsigned grid_for(int64_t n) {
    const int64_t b = (n + kThreads - 1) / kThreads;
    return (unsigned)(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

#ifdef EMBER_CUDA_EMULATE
template <class T>
bool device_arg_ok(const T& v) {
    if constexpr (std::is_pointer_v<T>) return v == nullptr || emu::is_device_pointer(v);
    return true;
}
#endif

// Grid-stride loop over [0, total).
#define EMBER_GRID_LOOP(idx, total)                                                       \
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < (total); \
         idx += (int64_t)gridDim.x * blockDim.x)

// Device memory of n values of T (device_alloc, cuda_ops.h), returned to the
// cache on destruction.
template <class T>
struct Scratch {
    T* p;
    size_t n;
    explicit Scratch(size_t n_) : p(static_cast<T*>(device_alloc(n_ * sizeof(T)))), n(n_) {}
    ~Scratch() { device_free(p, n * sizeof(T)); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
};

// kernel<<<grid, block>>>(args...), then the launch's error check.
template <class... P, class... A>
void launch(const char* name, void (*kernel)(P...), dim3 grid, dim3 block, A... args) {
#ifdef EMBER_CUDA_EMULATE
    // As on a GPU, a kernel may only be handed device pointers.
    if (!(device_arg_ok(args) && ...)) emu::fail_launch(name, "a host pointer was passed to the kernel");
    else emu::launch(name, grid, block, [&] { kernel(args...); });
#else
    kernel<<<grid, block>>>(args...);
#endif
    check(cudaGetLastError(), name);
}

}  // namespace cuda
}  // namespace ember
