// The CPU emulator behind emulator.h (see there for what it models).
#include "emulator.h"

#include <ucontext.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ember {
namespace cuda {
namespace emu {

dim3 thread_idx, block_idx, block_dim, grid_dim;

namespace {

std::mutex launch_mutex;   // one kernel at a time, as on one stream
std::mutex memory_mutex;
std::map<uintptr_t, size_t> allocations;  // device base address -> bytes
cudaError_t last_error = cudaSuccess;
std::string last_message;

enum class State { Ready, AtBarrier, Done };

constexpr size_t kStackBytes = 64 * 1024;

struct Fiber {
    ucontext_t ctx;
    std::unique_ptr<char[]> stack;
    State state = State::Ready;
};

ucontext_t scheduler;
std::vector<Fiber> fibers;
int current = 0;
const std::function<void()>* body = nullptr;

void fiber_main() {
    (*body)();
    fibers[current].state = State::Done;
    // Returning resumes uc_link, the scheduler.
}

bool config_ok(dim3 grid, dim3 block) {
    const uint64_t threads = (uint64_t)block.x * block.y * block.z;
    return threads >= 1 && threads <= 1024 && block.z <= 64 && grid.x >= 1 &&
           grid.x <= 2147483647u && grid.y >= 1 && grid.y <= 65535 && grid.z >= 1 &&
           grid.z <= 65535;
}

}  // namespace

void syncthreads() {
    fibers[current].state = State::AtBarrier;
    swapcontext(&fibers[current].ctx, &scheduler);
}

bool fail_launch(const char* kernel, const char* why) {
    last_error = cudaErrorLaunchFailure;
    last_message = std::string(kernel) + ": " + why;
    return false;
}

namespace {
const char* running_kernel = "";
}

void device_fault(const char* why) {
    if (last_error != cudaSuccess) return;  // the first fault stands
    last_error = cudaErrorMisalignedAddress;
    last_message = std::string(running_kernel) + ": " + why;
}

bool launch(const char* kernel, dim3 grid, dim3 block, const std::function<void()>& fn) {
    std::lock_guard<std::mutex> lock(launch_mutex);
    running_kernel = kernel;
    if (!config_ok(grid, block)) {
        last_error = cudaErrorInvalidConfiguration;
        last_message = std::string(kernel) + ": grid (" + std::to_string(grid.x) + ", " +
                       std::to_string(grid.y) + ", " + std::to_string(grid.z) + "), block (" +
                       std::to_string(block.x) + ", " + std::to_string(block.y) + ", " +
                       std::to_string(block.z) + ")";
        return false;
    }
    const int T = (int)(block.x * block.y * block.z);
    if ((int)fibers.size() < T) fibers.resize(T);
    for (int t = 0; t < T; ++t)
        if (!fibers[t].stack) fibers[t].stack.reset(new char[kStackBytes]);
    body = &fn;
    grid_dim = grid;
    block_dim = block;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                block_idx = dim3(bx, by, bz);
                for (int t = 0; t < T; ++t) {
                    Fiber& f = fibers[t];
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = f.stack.get();
                    f.ctx.uc_stack.ss_size = kStackBytes;
                    f.ctx.uc_link = &scheduler;
                    makecontext(&f.ctx, fiber_main, 0);
                    f.state = State::Ready;
                }
                // Each phase runs every live thread up to its next barrier
                // (or its end); odd phases walk the threads backwards.
                for (int phase = 0;; ++phase) {
                    bool live = false;
                    for (int i = 0; i < T; ++i) {
                        const int t = phase % 2 ? T - 1 - i : i;
                        if (fibers[t].state == State::Done) continue;
                        live = true;
                        fibers[t].state = State::Ready;
                        current = t;
                        thread_idx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
                        swapcontext(&scheduler, &fibers[t].ctx);
                    }
                    if (!live) break;
                }
            }
    body = nullptr;
    return true;
}

bool is_device_pointer(const void* p) {
    const uintptr_t a = (uintptr_t)p;
    std::lock_guard<std::mutex> lock(memory_mutex);
    auto it = allocations.upper_bound(a);
    if (it == allocations.begin()) return false;
    --it;
    return a >= it->first && a < it->first + it->second;
}

}  // namespace emu
}  // namespace cuda
}  // namespace ember

using namespace ember::cuda::emu;

struct EmuEvent {
    std::chrono::steady_clock::time_point t;
};

cudaError_t cudaMalloc(void** p, size_t bytes) {
    void* q = std::malloc(bytes ? bytes : 1);  // exact: AddressSanitizer sees overruns
    if (!q) return cudaErrorMemoryAllocation;
    std::lock_guard<std::mutex> lock(memory_mutex);
    allocations[(uintptr_t)q] = bytes ? bytes : 1;
    *p = q;
    return cudaSuccess;
}

cudaError_t cudaFree(void* p) {
    if (!p) return cudaSuccess;
    {
        std::lock_guard<std::mutex> lock(memory_mutex);
        auto it = allocations.find((uintptr_t)p);
        if (it == allocations.end()) return cudaErrorInvalidDevicePointer;
        allocations.erase(it);
    }
    std::free(p);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void** p, size_t bytes) {
    *p = std::aligned_alloc(4096, ((bytes + 4095) / 4096) * 4096 + 4096);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFreeHost(void* p) {
    std::free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
    if (!bytes) return cudaSuccess;
    const bool dst_dev = is_device_pointer(dst), src_dev = is_device_pointer(src);
    const bool ok = (kind == cudaMemcpyHostToDevice && dst_dev && !src_dev) ||
                    (kind == cudaMemcpyDeviceToHost && !dst_dev && src_dev) ||
                    (kind == cudaMemcpyDeviceToDevice && dst_dev && src_dev) ||
                    (kind == cudaMemcpyHostToHost && !dst_dev && !src_dev);
    if (!ok || !is_device_pointer((const char*)(dst_dev ? dst : src) + bytes - 1))
        return cudaErrorInvalidValue;
    std::memmove(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t) {
    return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* p, int value, size_t bytes) {
    if (!bytes) return cudaSuccess;
    if (!is_device_pointer(p) || !is_device_pointer((char*)p + bytes - 1)) return cudaErrorInvalidValue;
    std::memset(p, value, bytes);
    return cudaSuccess;
}

cudaError_t cudaGetLastError() {
    const cudaError_t e = last_error;
    last_error = cudaSuccess;
    return e;
}

cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }

cudaError_t cudaGetDeviceCount(int* count) {
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int) {
    std::memset(prop, 0, sizeof(*prop));
    std::strcpy(prop->name, "ember CUDA emulator (CPU)");
    prop->major = 9;
    prop->multiProcessorCount = 1;
    return cudaSuccess;
}

const char* cudaGetErrorName(cudaError_t err) {
    switch (err) {
        case cudaSuccess: return "cudaSuccess";
        case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
        case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
        case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
        case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
        case cudaErrorMisalignedAddress: return "cudaErrorMisalignedAddress";
        default: return "cudaErrorLaunchFailure";
    }
}

const char* cudaGetErrorString(cudaError_t err) {
    if (err != cudaSuccess && !last_message.empty()) return last_message.c_str();
    return err == cudaSuccess ? "no error" : "emulated CUDA error";
}

cudaError_t cudaEventCreate(cudaEvent_t* e) {
    *e = new EmuEvent();
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t) {
    e->t = std::chrono::steady_clock::now();
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop) {
    *ms = std::chrono::duration<float, std::milli>(stop->t - start->t).count();
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
