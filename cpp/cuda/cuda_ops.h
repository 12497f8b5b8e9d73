// The CUDA backend: the same operations as the CPU kernels, on device
// pointers. Compiled only with -DEMBER_CUDA=ON; nothing here is included by
// the default build. Every CUDA call is checked and failures throw
// std::runtime_error naming the call (the bindings turn it into RuntimeError).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "../conv.h"
#include "../pool.h"

namespace ember {
namespace cuda {

bool available();
std::string device_name();

// Device memory, freed on destruction.
class Buffer {
  public:
    explicit Buffer(size_t n = 0);
    ~Buffer();
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    Buffer(Buffer&& o) noexcept : ptr_(o.ptr_), n_(o.n_) { o.ptr_ = nullptr; o.n_ = 0; }
    Buffer& operator=(Buffer&& o) noexcept {
        if (this != &o) {
            reset();
            ptr_ = o.ptr_;
            n_ = o.n_;
            o.ptr_ = nullptr;
            o.n_ = 0;
        }
        return *this;
    }
    void reset() noexcept;  // frees the memory
    float* data() const { return ptr_; }
    size_t size() const { return n_; }
    void upload(const float* host, size_t n);
    void download(float* host, size_t n) const;
  private:
    float* ptr_ = nullptr;
    size_t n_ = 0;
};

void synchronize();

// Seconds per call of gemm on device-resident M x K and K x N matrices
// (random values), timed with CUDA events over `reps` calls after a warm-up.
double benchmark_gemm(int64_t M, int64_t N, int64_t K, int reps);

// C (M x N) = alpha * op(A) * op(B) + beta * C, row-major, then bias (N,) and
// a ReLU when given; the same contract as ember::gemm.
void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
          bool trans_a, bool trans_b, float alpha, float beta, int64_t lda, int64_t ldb,
          int64_t ldc, const float* bias = nullptr, bool relu = false);

// x is (N, H, W, C), kernel (KH, KW, C, F), y (N, OH, OW, F); col is scratch
// of N*OH*OW*KH*KW*C floats.
void conv2d_forward(float* y, float* col, const float* x, const float* kernel, const float* bias,
                    const ConvShape& s, bool relu);
// dx may be null. dcol is scratch like col.
void conv2d_backward(float* dx, float* dkernel, float* dbias, float* col, float* dcol,
                     const float* dy, const float* x, const float* kernel, const ConvShape& s);

void max_pool2d_forward(float* y, const float* x, const PoolShape& s);
void max_pool2d_backward(float* dx, const float* dy, const float* x, const PoolShape& s);

// act: 0 linear, 1 relu, 2 sigmoid, 3 tanh (the CPU's Act order).
void activation_forward(float* y, const float* x, int64_t n, int act);
void activation_backward(float* dx, const float* dy, const float* x, int64_t n, int act);
void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols);
// Per-row losses go to row_loss (rows,); the caller sums them in order.
void softmax_crossentropy(float* dlogits, float* probs, float* row_loss, const float* y_true,
                          const float* logits, int64_t rows, int64_t cols);
void adam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                 float beta1, float beta2, float eps, int64_t step);

}  // namespace cuda
}  // namespace ember
