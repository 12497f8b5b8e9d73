// The CUDA backend: the CPU engine's operations under the same names and
// with the same arguments, on device pointers (namespace ember::cuda beside
// ember). Compiled only with -DEMBER_CUDA=ON (or, for tests without a GPU,
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
#include "../conv.h"
#include "../pool.h"

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
// Reference: one thread per element of C, k ascending.
void gemm_naive(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
                bool trans_a, bool trans_b, float alpha, float beta, int64_t lda, int64_t ldb,
                int64_t ldc);

// out (C,) = column sums of x (M, C): blocks of kReduceBlock rows, then the
// blocks' sums in order.
void column_sum(float* out, const float* x, int64_t M, int64_t C);

void dense_forward(float* y, const float* x, const float* kernel, const float* bias, int64_t N,
                   int64_t I, int64_t O, bool relu = false);
void dense_backward(float* dx, float* dkernel, float* dbias, const float* dy, const float* x,
                    const float* kernel, int64_t N, int64_t I, int64_t O);

void conv2d_forward(float* y, const float* x, const float* kernel, const float* bias,
                    const ConvShape& s, bool relu = false);
void conv2d_backward(float* dx, float* dkernel, float* dbias, const float* dy, const float* x,
                     const float* kernel, const ConvShape& s, const float* relu_y = nullptr);

void max_pool2d_forward(float* y, const float* x, const PoolShape& s);
void max_pool2d_backward(float* dx, const float* dy, const float* x, const PoolShape& s,
                         bool relu_input = false);
void avg_pool2d_forward(float* y, const float* x, const PoolShape& s);
void avg_pool2d_backward(float* dx, const float* dy, const PoolShape& s);
void global_avg_pool2d_forward(float* y, const float* x, int64_t N, int64_t H, int64_t W,
                               int64_t C);
void global_avg_pool2d_backward(float* dx, const float* dy, int64_t N, int64_t H, int64_t W,
                                int64_t C);

void activation_forward(float* y, const float* x, int64_t n, Act act, float alpha);
void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Act act,
                         float alpha);
void relu_backward_from_output(float* dx, const float* dy, const float* y, int64_t n);
void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols);
void softmax_backward(float* dx, const float* dy, const float* x, int64_t rows, int64_t cols);

// The losses return the mean loss (per-row losses summed on the host in row
// order, in double, as on the CPU). labels are on the host and copied over.
float categorical_crossentropy(float* dpred, const float* y_true, const float* y_pred,
                               int64_t rows, int64_t cols);
float softmax_crossentropy(float* dlogits, float* probs, const float* y_true,
                           const float* logits, int64_t rows, int64_t cols);
float sparse_categorical_crossentropy(float* dpred, const int64_t* labels, const float* y_pred,
                                      int64_t rows, int64_t cols, bool from_logits);
float binary_crossentropy(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                          int64_t cols, bool from_logits);
float mean_squared_error(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                         int64_t cols);

void dropout_forward(float* y, float* mask, const float* x, int64_t n, double rate,
                     uint64_t seed);
void dropout_backward(float* dx, const float* dy, const float* mask, int64_t n);

void batchnorm_forward_train(float* y, float* mean, float* var, float* moving_mean,
                             float* moving_var, const float* x, const float* gamma,
                             const float* beta, int64_t M, int64_t C, float momentum, float eps);
void batchnorm_forward_infer(float* y, const float* x, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, int64_t M,
                             int64_t C, float eps);
void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                        const float* gamma, const float* mean, const float* var, int64_t M,
                        int64_t C, float eps);

void sgd_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                float momentum, bool nesterov);
void adam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                 float beta1, float beta2, float eps, int64_t step, float weight_decay);
void rmsprop_update(float* param, float* velocity, float* momentum_buf, float* avg_grad,
                    const float* grad, int64_t n, float lr, float rho, float momentum,
                    float eps, bool centered);

}  // namespace cuda
}  // namespace ember
