// The recurrent kernels on the GPU: rnn_impl.h's time loops over cuda::gemm
// and one element kernel per phase of a step (the same formulas as the CPU).
#include "../rnn_impl.h"
#include "runtime.h"

namespace ember {
namespace cuda {

namespace {

template <class F>
__global__ void rnn_each_kernel(int64_t n, F f) {
    EMBER_GRID_LOOP(i, n) f(i);
}

__global__ void rnn_copy_rows_kernel(float* dst, int64_t dst_stride, const float* src,
                                     int64_t src_stride, int64_t rows, int64_t cols) {
    EMBER_GRID_LOOP(i, rows * cols) {
        const int64_t r = i / cols, c = i - r * cols;
        dst[r * dst_stride + c] = src[r * src_stride + c];
    }
}

struct CudaRnnOps {
    struct Buf {
        Scratch<float> mem;
        float* p;
        explicit Buf(int64_t n) : mem((size_t)(n > 0 ? n : 1)), p(mem.p) {}
    };
    Buf buf(int64_t n) { return Buf(n); }
    void gemm(float* c, const float* a, const float* b, int64_t M, int64_t N, int64_t K, bool ta,
              bool tb, int64_t lda, int64_t ldb, int64_t ldc, const float* bias) {
        cuda::gemm(c, a, b, M, N, K, ta, tb, 1.0f, 0.0f, lda, ldb, ldc, bias, false);
    }
    // The step products read rk itself (transposed backward).
    RnnWeights<Buf> recurrent_weights(const float* rk, int64_t U, int64_t GU, bool transpose) {
        return RnnWeights<Buf>{buf(1), rk, GU, transpose};
    }
    void step_gemm(float* c, const float* a, const float* b, int64_t M, int64_t N, int64_t K, bool tb,
                   int64_t lda, int64_t ldb, int64_t ldc, const float* bias) {
        gemm(c, a, b, M, N, K, false, tb, lda, ldb, ldc, bias);
    }
    void gemm_tn(float* c, const float* a, const float* b, int64_t M, int64_t N, int64_t K,
                 int64_t lda, int64_t ldb, int64_t ldc) {
        cuda::gemm(c, a, b, M, N, K, true, false, 1.0f, 0.0f, lda, ldb, ldc, nullptr, false);
    }
    template <class F>
    void each(int64_t n, const F& f) {
        if (n > 0) launch("rnn_each_kernel", rnn_each_kernel<F>, grid_for(n), kThreads, n, f);
    }
    void copy(float* dst, const float* src, int64_t n) {
        copy_on_device(dst, src, (size_t)n * sizeof(float));
    }
    void zero(float* p, int64_t n) { fill_zero(p, n); }
    void copy_rows(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows,
                   int64_t cols) {
        if (rows * cols > 0)
            launch("rnn_copy_rows_kernel", rnn_copy_rows_kernel, grid_for(rows * cols), kThreads, dst,
                   dst_stride, src, src_stride, rows, cols);
    }
    void colsum(float* out, const float* x, int64_t M, int64_t C) { column_sum(out, x, M, C); }
};

}  // namespace

EMBER_RNN_ENTRY_POINTS(CudaRnnOps)

}  // namespace cuda
}  // namespace ember
