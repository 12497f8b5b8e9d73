// The CUDA backend: the CPU engine's operations under the same names and
// with the same types, on device pointers (namespace ember::cuda beside
// ember); the bindings pick one or the other by the tensors' device. Compiled only with -DEMBER_CUDA=ON (or, for tests without a GPU,
// -DEMBER_CUDA_EMULATE=ON); the default build includes none of it.
//
// Every CUDA call is checked and a failure throws std::runtime_error naming
// the call (the bindings turn it into RuntimeError). Reductions are split
// into fixed blocks combined in a fixed order, never atomics, so results are
// deterministic. Kernels run on the default stream; a function that returns
// a host value (the losses) synchronises, the others do not.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "../activation.h"
#include "../batchnorm.h"
#include "../conv.h"
#include "../dense.h"
#include "../depthwise.h"
#include "../dropout.h"
#include "../gemm.h"
#include "../image.h"
#include "../loss.h"
#include "../optim.h"
#include "../pool.h"
#include "../rnn.h"
#include "../tensor_ops.h"

namespace ember {
namespace cuda {

bool available();
std::string device_name();
void synchronize();

// Device memory of n floats, freed on destruction. Allocations go through a
// cache of freed blocks (as PyTorch's allocator does), so that the many
// same-sized buffers of a training step cost no cudaMalloc/cudaFree.
class Buffer {
  public:
    explicit Buffer(size_t n = 0);
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&& o) noexcept : ptr_(o.ptr_), n_(o.n_) { o.ptr_ = nullptr; o.n_ = 0; }
    Buffer& operator=(Buffer&& o) noexcept;
    float* data() const { return ptr_; }
    size_t size() const { return n_; }
    void upload(const float* host, size_t n);     // host -> device, n floats
    void download(float* host, size_t n) const;   // device -> host
  private:
    void reset() noexcept;
    float* ptr_ = nullptr;
    size_t n_ = 0;
};

// Bytes of raw device memory through the same cache (for int64 labels).
void* device_alloc(size_t bytes);
void device_free(void* p, size_t bytes) noexcept;
// Page-locked host memory: copies from it run at full bus speed.
void* pinned_alloc(size_t bytes);
void pinned_free(void* p) noexcept;
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_on_device(void* dst, const void* src, size_t bytes);
void fill_zero(float* p, int64_t n);

// Seconds per call of gemm on device-resident M x K and K x N matrices
// (pseudo-random values), timed with CUDA events over `reps` calls.
double benchmark_gemm(int64_t M, int64_t N, int64_t K, int reps);

// C (M x N) = alpha * op(A) * op(B) + beta * C, row-major, then bias (N,)
// and a ReLU when given; ember::gemm's contract. Shared-memory tiles with
// register blocking; a long K with few output tiles is split into fixed
// chunks (split-K) whose partial products are added in order.
void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
          bool trans_a, bool trans_b, float alpha, float beta, int64_t lda, int64_t ldb,
          int64_t ldc, const float* bias = nullptr, bool relu = false);
// The rest have the CPU kernel's name and exact type, which these lines
// take from the CPU headers (where each is documented); pointers are device
// pointers, except sparse_categorical_crossentropy's labels: host memory,
// copied over. The losses return the mean loss with the per-row losses
// summed on the host in row order, in double, as on the CPU. Default
// arguments are not part of a type: callers pass every argument.
#define EMBER_AS_ON_CPU(name) decltype(::ember::name) name
EMBER_AS_ON_CPU(gemm_naive);  // one thread per element of C, k ascending
EMBER_AS_ON_CPU(column_sum);  // blocks of rows, then the blocks' sums in order
EMBER_AS_ON_CPU(dense_forward);
EMBER_AS_ON_CPU(dense_backward);
EMBER_AS_ON_CPU(conv2d_forward);
EMBER_AS_ON_CPU(conv2d_backward);
EMBER_AS_ON_CPU(depthwise_conv2d_forward);   // cuda/depthwise.cu
EMBER_AS_ON_CPU(depthwise_conv2d_backward);
EMBER_AS_ON_CPU(max_pool2d_forward);
EMBER_AS_ON_CPU(max_pool2d_backward);
EMBER_AS_ON_CPU(avg_pool2d_forward);
EMBER_AS_ON_CPU(avg_pool2d_backward);
EMBER_AS_ON_CPU(global_avg_pool2d_forward);
EMBER_AS_ON_CPU(global_avg_pool2d_backward);
EMBER_AS_ON_CPU(activation_forward);
EMBER_AS_ON_CPU(activation_backward);
EMBER_AS_ON_CPU(relu_backward_from_output);
EMBER_AS_ON_CPU(softmax_forward);
EMBER_AS_ON_CPU(softmax_backward);
EMBER_AS_ON_CPU(categorical_crossentropy);
EMBER_AS_ON_CPU(softmax_crossentropy);
EMBER_AS_ON_CPU(sparse_categorical_crossentropy);
EMBER_AS_ON_CPU(binary_crossentropy);
EMBER_AS_ON_CPU(mean_squared_error);
EMBER_AS_ON_CPU(dropout_forward);
EMBER_AS_ON_CPU(dropout_backward);
EMBER_AS_ON_CPU(batchnorm_forward_train);
EMBER_AS_ON_CPU(batchnorm_forward_infer);
EMBER_AS_ON_CPU(batchnorm_backward);
EMBER_AS_ON_CPU(sgd_update);
EMBER_AS_ON_CPU(adam_update);
EMBER_AS_ON_CPU(rmsprop_update);
EMBER_AS_ON_CPU(adagrad_update);
EMBER_AS_ON_CPU(adadelta_update);
EMBER_AS_ON_CPU(adamax_update);
EMBER_AS_ON_CPU(nadam_update);
EMBER_AS_ON_CPU(ftrl_update);
EMBER_AS_ON_CPU(lion_update);
EMBER_AS_ON_CPU(ema_update);
EMBER_AS_ON_CPU(accumulate_gradient);
EMBER_AS_ON_CPU(sum_squares);  // returns to the host (synchronises)
// Recurrent layers (rnn.h): the same time loops, one element kernel per step phase.
EMBER_AS_ON_CPU(rnn_forward);
EMBER_AS_ON_CPU(rnn_backward);
// Tensor operations (tensor_ops.h); take's and take_backward's indices are
// host memory, copied over; batch_matmul runs cuda::gemm per batch entry.
EMBER_AS_ON_CPU(unary);
EMBER_AS_ON_CPU(binary);
EMBER_AS_ON_CPU(where);
EMBER_AS_ON_CPU(reduce);
EMBER_AS_ON_CPU(arg_reduce);
EMBER_AS_ON_CPU(strided_copy);
EMBER_AS_ON_CPU(strided_scatter);
EMBER_AS_ON_CPU(take);
EMBER_AS_ON_CPU(take_backward);
EMBER_AS_ON_CPU(batch_matmul);
EMBER_AS_ON_CPU(fill);
// Image transforms (image.h, cuda/image.cu).
EMBER_AS_ON_CPU(affine_transform_forward);
EMBER_AS_ON_CPU(affine_transform_backward);
#undef EMBER_AS_ON_CPU

}  // namespace cuda
}  // namespace ember
