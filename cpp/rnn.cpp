#include "rnn.h"

#include <cstring>
#include <memory>

#include "common.h"
#include "dense.h"
#include "gemm.h"
#include "rnn_impl.h"

namespace ember {

namespace {

// The CPU backend of the time loops (rnn_impl.h): ember's GEMM, OpenMP
// loops over elements (each element's arithmetic is independent of the
// thread count), column sums in fixed blocks.
struct CpuRnnOps {
    struct Buf {
        std::unique_ptr<float[]> own;
        float* p;
    };
    Buf buf(int64_t n) {
        Buf b{std::unique_ptr<float[]>(new float[(size_t)(n > 0 ? n : 1)]), nullptr};
        b.p = b.own.get();
        return b;
    }
    void gemm(float* c, const float* a, const float* b, int64_t M, int64_t N, int64_t K, bool ta,
              bool tb, int64_t lda, int64_t ldb, int64_t ldc, const float* bias) {
        GemmEpilogue ep;
        ep.bias = bias;
        ember::gemm(c, a, b, M, N, K, ta, tb, 1.0f, 0.0f, lda, ldb, ldc, 0, bias ? &ep : nullptr);
    }
    void gemm_tn(float* c, const float* a, const float* b, int64_t M, int64_t N, int64_t K,
                 int64_t lda, int64_t ldb, int64_t ldc) {
        ember::gemm(c, a, b, M, N, K, true, false, 1.0f, 0.0f, lda, ldb, ldc);
    }
    template <class F>
    void each(int64_t n, const F& f) {
        const int nt = threads_for(n * 16);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t i = 0; i < n; ++i) f(i);
    }
    void copy(float* dst, const float* src, int64_t n) { std::memcpy(dst, src, (size_t)n * sizeof(float)); }
    void zero(float* p, int64_t n) { std::memset(p, 0, (size_t)n * sizeof(float)); }
    void copy_rows(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t rows,
                   int64_t cols) {
        for (int64_t r = 0; r < rows; ++r)
            std::memcpy(dst + r * dst_stride, src + r * src_stride, (size_t)cols * sizeof(float));
    }
    void colsum(float* out, const float* x, int64_t M, int64_t C) { column_sum(out, x, M, C); }
};

}  // namespace

void rnn_forward(float* out, float* gates, float* hs, float* aux, const float* x,
                 const float* kernel, const float* rkernel, const float* bias, const float* h0,
                 const float* c0, const float* mask, const float* rdmask, const RnnShape& s) {
    CpuRnnOps o;
    rnn_forward_loop(o, out, gates, hs, aux, x, kernel, rkernel, bias, h0, c0, mask, rdmask, s);
}

void rnn_backward(float* dx, float* dkernel, float* drkernel, float* dbias, float* dh0, float* dc0,
                  const float* dout, const float* gates, const float* hs, const float* aux,
                  const float* x, const float* kernel, const float* rkernel, const float* h0,
                  const float* c0, const float* mask, const float* rdmask, const RnnShape& s) {
    CpuRnnOps o;
    rnn_backward_loop(o, dx, dkernel, drkernel, dbias, dh0, dc0, dout, gates, hs, aux, x, kernel,
                      rkernel, h0, c0, mask, rdmask, s);
}

}  // namespace ember
