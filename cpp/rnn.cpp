#include "rnn.h"

#include <cstring>
#include <memory>

#include "common.h"
#include "dense.h"
#include "gemm.h"
#include "rnn_impl.h"

namespace ember {

namespace {

// LSTM rows with compile-time activations and unaliased pointers, so that
// the compiler vectorizes the unit loop (the formulas are rnn_impl.h's).
template <class A, class RA>
__attribute__((noinline)) void lstm_forward_row(const float* __restrict x, const float* __restrict r, float* __restrict g,
                      float* __restrict c, float* __restrict h, float* __restrict cs,
                      float* __restrict hs, float* __restrict o, int64_t U) {
    for (int64_t u = 0; u < U; ++u) lstm_forward_unit(A{}, RA{}, x, r, g, c, h, cs, hs, o, u, U);
}

template <class A, class RA>
__attribute__((noinline)) void lstm_backward_row(const float* __restrict dy, float* __restrict dh, const float* __restrict g,
                       const float* __restrict cs, const float* __restrict cp, const float* __restrict hp,
                       float* __restrict hpm, float* __restrict dc, float* __restrict d, int64_t U) {
    for (int64_t u = 0; u < U; ++u) {
        lstm_backward_unit(A{}, RA{}, dh[u] + dy[u], g, cs, cp, dc, d, u, U);
        dh[u] = 0.0f;
        hpm[u] = hp[u];
    }
}

using Tanh = ActC<RnnAct::Tanh>;
using Sigmoid = ActC<RnnAct::Sigmoid>;

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
    // Keras's default LSTM (tanh, sigmoid) by rows; masked rows, recurrent
    // dropout and other activations take the element-wise path.
    template <class F, class Row>
    void by_rows(int64_t n, const F& f, Row row) {
        const int64_t U = f.U, N = n / U;
        const int nt = threads_for(n * 16);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t b = 0; b < N; ++b) {
            const int64_t r = b * f.T + f.t;
            if (f.mask && f.mask[r] == 0.0f) {
                for (int64_t u = 0; u < U; ++u) f(b * U + u);
                continue;
            }
            row(b, r);
        }
    }
    static bool default_lstm(RnnCell cell, RnnAct act, RnnAct ract) {
        return cell == RnnCell::Lstm && act == RnnAct::Tanh && ract == RnnAct::Sigmoid;
    }
    void each(int64_t n, const RnnForwardStep& f) {
        if (!default_lstm(f.cell, f.act, f.ract)) return each<RnnForwardStep>(n, f);
        const int64_t U = f.U, GU = 4 * U;
        by_rows(n, f, [&](int64_t b, int64_t row) {
            lstm_forward_row<Tanh, Sigmoid>(f.xw + row * GU, f.rec + b * GU, f.gates + row * GU, f.c + b * U,
                                            f.h + b * U, f.aux + row * U, f.hs + row * U,
                                            f.out + (b * f.R + f.step) * U, U);
        });
    }
    void each(int64_t n, const RnnBackwardStep& f) {
        if (f.phase != 0 || f.rdmask || !default_lstm(f.cell, f.act, f.ract)) return each<RnnBackwardStep>(n, f);
        const int64_t U = f.U, GU = 4 * U;
        by_rows(n, f, [&](int64_t b, int64_t row) {
            lstm_backward_row<Tanh, Sigmoid>(f.dout + (b * f.R + f.step) * U, f.dh + b * U, f.gates + row * GU,
                                             f.aux + row * U, f.cprev + b * f.cstride, f.hprev + b * f.hstride,
                                             f.hpm + row * U, f.dc + b * U, f.dz + row * GU, U);
        });
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

EMBER_RNN_ENTRY_POINTS(CpuRnnOps)

}  // namespace ember
