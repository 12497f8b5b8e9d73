// A CPU emulator of the small part of CUDA that ember's kernels use, for
// testing them where no GPU is present. Built only with
// -DEMBER_CUDA_EMULATE=ON (never in a wheel a user installs): the .cu files
// are then compiled as C++ against this header instead of cuda_runtime.h.
//
// What it models: grids and blocks of threads, each CUDA thread a fiber
// (ucontext) so that __syncthreads() really suspends it until the whole
// block arrives; __shared__ arrays shared by a block's threads; device
// memory as a registry of allocations, so that a host pointer handed to a
// kernel or a cudaMemcpy in the wrong direction is an error, as on a GPU;
// the launch limits (1024 threads per block, grid.y and grid.z up to 65535).
// Threads of a block run one at a time, in forward order between one pair of
// barriers and in reverse order between the next, so a missing
// __syncthreads() shows up as a wrong result.
// What it does not model: timing, warps (no shuffles or warp-synchronous
// code may be used), memory coalescing, or concurrency between blocks.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <type_traits>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
using uint3 = dim3;

struct alignas(16) float4 {
    float x, y, z, w;
};

namespace ember {
namespace cuda {
namespace emu {
extern dim3 thread_idx, block_idx, block_dim, grid_dim;
void syncthreads();
// Runs body once per thread of every block; returns false (and records
// cudaErrorInvalidConfiguration) when the configuration is not launchable.
bool launch(const char* kernel, dim3 grid, dim3 block, const std::function<void()>& body);
bool is_device_pointer(const void* p);
// Records an error for the next cudaGetLastError (a host pointer passed to a
// kernel, say) and returns false.
bool fail_launch(const char* kernel, const char* why);
// A fault inside a kernel (a misaligned 16-byte access, say): recorded as
// that kernel's error, as a GPU reports it at the next synchronisation.
void device_fault(const char* why);
}  // namespace emu
}  // namespace cuda
}  // namespace ember

#define threadIdx (::ember::cuda::emu::thread_idx)
#define blockIdx (::ember::cuda::emu::block_idx)
#define blockDim (::ember::cuda::emu::block_dim)
#define gridDim (::ember::cuda::emu::grid_dim)
inline void __syncthreads() { ::ember::cuda::emu::syncthreads(); }

using std::isinf;
using std::isnan;
using std::max;
using std::min;

// ---------------------------------------------------------------- runtime API
enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorMisalignedAddress = 716,
    cudaErrorLaunchFailure = 719,
};
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
};
struct cudaDeviceProp {
    char name[256];
    size_t totalGlobalMem;
    int major, minor, multiProcessorCount;
};
struct EmuEvent;
struct EmuStream;
using cudaEvent_t = EmuEvent*;
using cudaStream_t = EmuStream*;

cudaError_t cudaMalloc(void** p, size_t bytes);
template <class T>
cudaError_t cudaMalloc(T** p, size_t bytes) { return cudaMalloc(reinterpret_cast<void**>(p), bytes); }
cudaError_t cudaFree(void* p);
cudaError_t cudaMallocHost(void** p, size_t bytes);
template <class T>
cudaError_t cudaMallocHost(T** p, size_t bytes) { return cudaMallocHost(reinterpret_cast<void**>(p), bytes); }
cudaError_t cudaFreeHost(void* p);
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
cudaError_t cudaMemset(void* p, int value, size_t bytes);
cudaError_t cudaGetLastError();
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetDeviceCount(int* count);
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device);
const char* cudaGetErrorName(cudaError_t err);
const char* cudaGetErrorString(cudaError_t err);
cudaError_t cudaEventCreate(cudaEvent_t* e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t stream = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
