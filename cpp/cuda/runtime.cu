// Device queries, memory (a cache of freed blocks), copies.
#include <map>
#include <mutex>

#include "cuda_ops.h"
#include "runtime.h"

namespace ember {
namespace cuda {

bool available() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        cudaGetLastError();  // clear it: no driver is not an error here
        return false;
    }
    return count > 0;
}

std::string device_name() {
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    cudaDeviceProp prop;
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    return prop.name;
}

void synchronize() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

namespace {

// Freed blocks by size, reused by the next request of the same rounded size.
// cudaFree synchronises the device, so a training step must not call it.
std::mutex cache_mutex;
std::multimap<size_t, void*>& free_blocks() {
    static auto* m = new std::multimap<size_t, void*>();  // never destroyed: the driver may be gone at exit
    return *m;
}

size_t rounded(size_t bytes) {
#ifdef EMBER_CUDA_EMULATE
    return bytes;  // exact sizes, so that AddressSanitizer sees any overrun
#endif
    const size_t unit = bytes < (1u << 20) ? 512 : (2u << 20);
    return ((bytes + unit - 1) / unit) * unit;
}

}  // namespace

void* device_alloc(size_t bytes) {
    if (!bytes) return nullptr;
    const size_t size = rounded(bytes);
    {
        std::lock_guard<std::mutex> lock(cache_mutex);
        auto it = free_blocks().find(size);
        if (it != free_blocks().end()) {
            void* p = it->second;
            free_blocks().erase(it);
            return p;
        }
    }
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, size);
    if (err == cudaErrorMemoryAllocation) {
        // Out of memory: give the cached blocks back and try once more.
        cudaGetLastError();
        std::lock_guard<std::mutex> lock(cache_mutex);
        for (auto& kv : free_blocks()) cudaFree(kv.second);
        free_blocks().clear();
        err = cudaMalloc(&p, size);
    }
    check(err, "cudaMalloc");
    return p;
}

void device_free(void* p, size_t bytes) noexcept {
    if (!p) return;
    std::lock_guard<std::mutex> lock(cache_mutex);
    free_blocks().emplace(rounded(bytes), p);
}

void* pinned_alloc(size_t bytes) {
    void* p = nullptr;
    check(cudaMallocHost(&p, bytes ? bytes : 1), "cudaMallocHost");
    return p;
}

void pinned_free(void* p) noexcept { cudaFreeHost(p); }

void copy_to_device(void* dst, const void* src, size_t bytes) {
    if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy (host to device)");
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
    if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy (device to host)");
}

void copy_on_device(void* dst, const void* src, size_t bytes) {
    if (bytes) check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice), "cudaMemcpy (device to device)");
}

void fill_zero(float* p, int64_t n) {
    if (n > 0) check(cudaMemset(p, 0, (size_t)n * sizeof(float)), "cudaMemset");
}

Buffer::Buffer(size_t n) : n_(n) { ptr_ = static_cast<float*>(device_alloc(n * sizeof(float))); }
Buffer::~Buffer() { reset(); }
Buffer& Buffer::operator=(Buffer&& o) noexcept {
    if (this != &o) {
        reset();
        ptr_ = o.ptr_;
        n_ = o.n_;
        o.ptr_ = nullptr;
        o.n_ = 0;
    }
    return *this;
}
void Buffer::reset() noexcept {
    device_free(ptr_, n_ * sizeof(float));
    ptr_ = nullptr;
    n_ = 0;
}
void Buffer::upload(const float* host, size_t n) { copy_to_device(ptr_, host, n * sizeof(float)); }
void Buffer::download(float* host, size_t n) const { copy_to_host(host, ptr_, n * sizeof(float)); }

}  // namespace cuda
}  // namespace ember
