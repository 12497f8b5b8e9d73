#include "rnn.h"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>

#include "common.h"
#include "dense.h"
#include "gemm.h"
#include "rnn_impl.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define EMBER_RNN_X86 1
#endif

namespace ember {

namespace {

// LSTM rows with compile-time activations and unaliased pointers (but x and
// g: the gates overwrite their pre-activations, each unit's read first), so that
// the compiler vectorizes the unit loop (the formulas are rnn_impl.h's).
template <class A, class RA>
__attribute__((noinline)) void lstm_forward_row(const float* x, const float* __restrict r, float* g,
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

using ForwardRow = void (*)(const float*, const float*, float*, float*, float*, float*, float*, float*,
                            int64_t);
using BackwardRow = void (*)(const float*, float*, const float*, const float*, const float*, const float*,
                             float*, float*, float*, int64_t);

#ifdef EMBER_RNN_X86
// The default LSTM's rows eight units at a time with AVX2/FMA, compiled for
// that target only and chosen by the CPU variant in use (common.h), as the GEMM's;
// the same formulas as rnn_impl.h's rnn_exp, rnn_sigmoid and rnn_tanh, with
// fused multiply-adds (so the last bit may differ from the scalar path; the
// relative error of exp stays within about 2 ulp, that of sigmoid and tanh
// within about 1e-6). Units past the last multiple of 8 take the scalar unit.
#define EMBER_AVX2 __attribute__((target("avx2,fma")))

EMBER_AVX2 inline __m256 exp8(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));  // x > -87 ? x : -87, as the scalar
    x = _mm256_min_ps(x, _mm256_set1_ps(88.0f));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fmadd_ps(k, _mm256_set1_ps(2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

EMBER_AVX2 inline __m256 sigmoid8(__m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f);
    return _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
}

EMBER_AVX2 inline __m256 tanh8(__m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 big = _mm256_sub_ps(
        one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(exp8(_mm256_add_ps(v, v)), one)));
    __m256 vc = _mm256_max_ps(v, _mm256_set1_ps(-0.125f));
    vc = _mm256_min_ps(vc, _mm256_set1_ps(0.125f));
    const __m256 v2 = _mm256_mul_ps(vc, vc);
    __m256 q = _mm256_fnmadd_ps(v2, _mm256_set1_ps(0.0539682540f), _mm256_set1_ps(0.133333333f));
    q = _mm256_fmadd_ps(v2, q, _mm256_set1_ps(-0.333333333f));
    q = _mm256_fmadd_ps(v2, q, one);
    const __m256 small = _mm256_mul_ps(vc, q);
    const __m256 near0 = _mm256_cmp_ps(_mm256_mul_ps(v, v), _mm256_set1_ps(0.0156f), _CMP_LT_OQ);
    return _mm256_blendv_ps(big, small, near0);
}

EMBER_AVX2 void lstm_forward_row_avx2(const float* x, const float* __restrict r, float* g,
                                      float* __restrict c, float* __restrict h, float* __restrict cs, float* __restrict hs, float* __restrict o,
                                      int64_t U) {
    int64_t u = 0;
    for (; u + 8 <= U; u += 8) {
        const __m256 ig = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(x + u), _mm256_loadu_ps(r + u)));
        const __m256 fg = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(x + U + u), _mm256_loadu_ps(r + U + u)));
        const __m256 cg = tanh8(_mm256_add_ps(_mm256_loadu_ps(x + 2 * U + u), _mm256_loadu_ps(r + 2 * U + u)));
        const __m256 og = sigmoid8(_mm256_add_ps(_mm256_loadu_ps(x + 3 * U + u), _mm256_loadu_ps(r + 3 * U + u)));
        const __m256 cn = _mm256_fmadd_ps(fg, _mm256_loadu_ps(c + u), _mm256_mul_ps(ig, cg));
        const __m256 hn = _mm256_mul_ps(og, tanh8(cn));
        _mm256_storeu_ps(g + u, ig);
        _mm256_storeu_ps(g + U + u, fg);
        _mm256_storeu_ps(g + 2 * U + u, cg);
        _mm256_storeu_ps(g + 3 * U + u, og);
        _mm256_storeu_ps(c + u, cn);
        _mm256_storeu_ps(cs + u, cn);
        _mm256_storeu_ps(h + u, hn);
        _mm256_storeu_ps(hs + u, hn);
        _mm256_storeu_ps(o + u, hn);
    }
    for (; u < U; ++u) lstm_forward_unit(Tanh{}, Sigmoid{}, x, r, g, c, h, cs, hs, o, u, U);
}

EMBER_AVX2 void lstm_backward_row_avx2(const float* __restrict dy, float* __restrict dh,
                                       const float* __restrict g, const float* __restrict cs,
                                       const float* __restrict cp, const float* __restrict hp,
                                       float* __restrict hpm, float* __restrict dc, float* __restrict d,
                                       int64_t U) {
    const __m256 one = _mm256_set1_ps(1.0f);
    int64_t u = 0;
    for (; u + 8 <= U; u += 8) {
        const __m256 gh = _mm256_add_ps(_mm256_loadu_ps(dh + u), _mm256_loadu_ps(dy + u));
        const __m256 ig = _mm256_loadu_ps(g + u), fg = _mm256_loadu_ps(g + U + u);
        const __m256 cg = _mm256_loadu_ps(g + 2 * U + u), og = _mm256_loadu_ps(g + 3 * U + u);
        const __m256 ac = tanh8(_mm256_loadu_ps(cs + u));
        // dcn = dc + gh * og * (1 - ac^2)
        const __m256 dcn = _mm256_fmadd_ps(_mm256_mul_ps(gh, og), _mm256_fnmadd_ps(ac, ac, one),
                                           _mm256_loadu_ps(dc + u));
        const __m256 dsi = _mm256_mul_ps(ig, _mm256_sub_ps(one, ig));
        const __m256 dsf = _mm256_mul_ps(fg, _mm256_sub_ps(one, fg));
        const __m256 dso = _mm256_mul_ps(og, _mm256_sub_ps(one, og));
        _mm256_storeu_ps(d + u, _mm256_mul_ps(_mm256_mul_ps(dcn, cg), dsi));
        _mm256_storeu_ps(d + U + u, _mm256_mul_ps(_mm256_mul_ps(dcn, _mm256_loadu_ps(cp + u)), dsf));
        _mm256_storeu_ps(d + 2 * U + u, _mm256_mul_ps(_mm256_mul_ps(dcn, ig), _mm256_fnmadd_ps(cg, cg, one)));
        _mm256_storeu_ps(d + 3 * U + u, _mm256_mul_ps(_mm256_mul_ps(gh, ac), dso));
        _mm256_storeu_ps(dc + u, _mm256_mul_ps(dcn, fg));
        _mm256_storeu_ps(dh + u, _mm256_setzero_ps());
        _mm256_storeu_ps(hpm + u, _mm256_loadu_ps(hp + u));
    }
    for (; u < U; ++u) {
        lstm_backward_unit(Tanh{}, Sigmoid{}, dh[u] + dy[u], g, cs, cp, dc, d, u, U);
        dh[u] = 0.0f;
        hpm[u] = hp[u];
    }
}

#endif

// The default LSTM's rows for the CPU variant in use (common.h, read once per
// call): AVX2/FMA with either SIMD variant, the portable rows otherwise.
ForwardRow forward_row(CpuVariant v) {
#ifdef EMBER_RNN_X86
    if (v != CpuVariant::kGeneric) return lstm_forward_row_avx2;
#endif
    (void)v;
    return lstm_forward_row<Tanh, Sigmoid>;
}
BackwardRow backward_row(CpuVariant v) {
#ifdef EMBER_RNN_X86
    if (v != CpuVariant::kGeneric) return lstm_backward_row_avx2;
#endif
    (void)v;
    return lstm_backward_row<Tanh, Sigmoid>;
}

// The CPU backend of the time loops (rnn_impl.h): ember's GEMM, OpenMP
// loops over elements (each element's arithmetic is independent of the
// thread count), column sums in fixed blocks.
struct CpuRnnOps {
    int nt = 0;  // 1: serial (inside a sub-batch's thread); 0: the GEMM and loops choose
    CpuVariant variant;  // picks the default LSTM's rows (cpu_variant(), read once per call)
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
        ember::gemm(c, a, b, M, N, K, ta, tb, 1.0f, 0.0f, lda, ldb, ldc, nt, bias ? &ep : nullptr);
    }
    // The step products' B: W = rk (U, GU), or rk^T when `transpose`, copied
    // once per call with rows padded by one register panel, so that the GEMM
    // reads it in place (no packing per step; the padding keeps its rows off
    // the same cache sets).
    RnnWeights<Buf> recurrent_weights(const float* rk, int64_t U, int64_t GU, bool transpose) {
        const int64_t rows = transpose ? GU : U, cols = transpose ? U : GU;
        const int64_t ld = (cols + kGemmNRMax - 1) / kGemmNRMax * kGemmNRMax + kGemmNRMax;
        RnnWeights<Buf> w{buf(rows * ld), nullptr, ld, false};
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) w.own.p[r * ld + c] = transpose ? rk[c * GU + r] : rk[r * GU + c];
        w.p = w.own.p;
        return w;
    }
    // A step's product: serially in blocks of at most 4 register rows, which
    // the GEMM computes reading a B of whole panels in place.
    void step_gemm(float* c, const float* a, const float* b, int64_t M, int64_t N, int64_t K, bool tb,
                   int64_t lda, int64_t ldb, int64_t ldc, const float* bias) {
        const int64_t rows = 4 * kGemmMRMax;
        if (nt != 1 || tb || N % kGemmNRMax != 0 || M <= rows)
            return gemm(c, a, b, M, N, K, false, tb, lda, ldb, ldc, bias);
        for (int64_t i = 0; i < M; i += rows)
            gemm(c + i * ldc, a + i * lda, b, std::min(rows, M - i), N, K, false, false, lda, ldb, ldc, bias);
    }
    // C = A^T B with A (K, M): A is transposed first (the same products in
    // the same order; the GEMM packs a row-major A faster).
    void gemm_tn(float* c, const float* a, const float* b, int64_t M, int64_t N, int64_t K,
                 int64_t lda, int64_t ldb, int64_t ldc) {
        auto at = buf(M * K);
        constexpr int64_t B = 32;
        for (int64_t k0 = 0; k0 < K; k0 += B)
            for (int64_t m0 = 0; m0 < M; m0 += B)
                for (int64_t m = m0; m < std::min(M, m0 + B); ++m)
                    for (int64_t k = k0; k < std::min(K, k0 + B); ++k) at.p[m * K + k] = a[k * lda + m];
        ember::gemm(c, at.p, b, M, N, K, false, false, 1.0f, 0.0f, K, ldb, ldc, nt);
    }
    template <class F>
    void each(int64_t n, const F& f) {
        const int team = nt == 1 ? 1 : threads_for(n * 16);
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
        for (int64_t i = 0; i < n; ++i) f(i);
    }
    // Keras's default LSTM (tanh, sigmoid) by rows; masked rows, recurrent
    // dropout and other activations take the element-wise path.
    template <class F, class Row>
    void by_rows(int64_t n, const F& f, Row row) {
        const int64_t U = f.U, N = n / U;
        const int team = nt == 1 ? 1 : threads_for(n * 16);
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
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
        const ForwardRow rows = forward_row(variant);
        by_rows(n, f, [&](int64_t b, int64_t row) {
            rows(f.xw + row * GU, f.rec + b * GU, f.gates + row * GU, f.c + b * U, f.h + b * U,
                 f.aux + row * U, f.hs + row * U, f.out + (b * f.R + f.step) * U, U);
        });
    }
    void each(int64_t n, const RnnBackwardStep& f) {
        if (f.phase != 0 || f.rdmask || !default_lstm(f.cell, f.act, f.ract)) return each<RnnBackwardStep>(n, f);
        const int64_t U = f.U, GU = 4 * U;
        const BackwardRow rows = backward_row(variant);
        by_rows(n, f, [&](int64_t b, int64_t row) {
            rows(f.dout + (b * f.R + f.step) * U, f.dh + b * U, f.gates + row * GU, f.aux + row * U,
                 f.cprev + b * f.cstride, f.hprev + b * f.hstride, f.hpm + row * U, f.dc + b * U,
                 f.dz + row * GU, U);
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

#ifdef _OPENMP
int64_t team_rank() { return omp_get_thread_num(); }
int64_t team_size() { return omp_get_num_threads(); }
#else
int64_t team_rank() { return 0; }
int64_t team_size() { return 1; }
#endif

// Runs f inside a parallel region, keeping the first exception for the
// caller to rethrow after the region (one may not leave it by a throw).
template <class F>
void guarded(std::exception_ptr& err, const F& f) {
    try {
        f();
    } catch (...) {
#pragma omp critical(ember_rnn_error)
        if (!err) err = std::current_exception();
    }
}

// Runs body(ops, n0, nb) over sub-batches [n0, n0 + nb) of the N samples,
// one per thread, each with serial ops: the samples' time loops are
// independent, so the steps need no barrier, and each element's arithmetic
// (GEMM rows included) does not depend on how the batch is split.
template <class Body>
void over_samples(int64_t N, const Body& body) {
    const CpuVariant variant = cpu_variant();
    const int64_t parts = std::min<int64_t>(num_threads(), N);
    if (parts <= 1) {
        CpuRnnOps o{0, variant};
        body(o, int64_t(0), N);
        return;
    }
    std::exception_ptr err;
#pragma omp parallel for schedule(static, 1) num_threads((int)parts)
    for (int64_t p = 0; p < parts; ++p) {
        guarded(err, [&] {
            CpuRnnOps o{1, variant};
            const int64_t n0 = N * p / parts, n1 = N * (p + 1) / parts;
            body(o, n0, n1 - n0);
        });
    }
    if (err) std::rethrow_exception(err);
}

// p + k, or null for a null p.
template <class P>
P at(P p, int64_t k) { return p ? p + k : p; }

}  // namespace

void rnn_forward(float* out, float* gates, float* hs, float* aux, const float* x, const float* kernel,
                 const float* rkernel, const float* bias, const float* h0, const float* c0,
                 const float* mask, const float* rdmask, const RnnShape& s) {
    const int64_t T = s.T, C = s.C, U = s.U, GU = s.gates() * U, R = s.out_rows();
    over_samples(s.N, [&](CpuRnnOps& o, int64_t n0, int64_t nb) {
        RnnShape sub = s;
        sub.N = nb;
        rnn_forward_loop(o, out + n0 * R * U, gates + n0 * T * GU, hs + n0 * T * U, at(aux, n0 * T * U),
                         x + n0 * T * C, kernel, rkernel, bias, at(h0, n0 * U), at(c0, n0 * U),
                         at(mask, n0 * T), at(rdmask, n0 * U), sub);
    });
}

void rnn_backward(float* dx, float* dkernel, float* drkernel, float* dbias, float* dh0, float* dc0,
                  const float* dout, const float* gates, const float* hs, const float* aux,
                  const float* x, const float* kernel, const float* rkernel, const float* h0,
                  const float* c0, const float* mask, const float* rdmask, const RnnShape& s) {
    const int64_t T = s.T, U = s.U, GU = s.gates() * U, R = s.out_rows(), NT = s.N * T;
    const bool ra = s.cell == RnnCell::Gru && s.reset_after;
    CpuRnnOps o{0, cpu_variant()};
    auto dz = o.buf(NT * GU), drec = o.buf(ra ? NT * GU : 1), hpm = o.buf(NT * U);
    float* dr = ra ? drec.p : nullptr;
    // One team: each thread runs its samples' time loop (and dx rows), then,
    // after the one barrier, its columns of the weight gradients.
    const int64_t parts = std::min<int64_t>(num_threads(), s.N);
    const int64_t panels = (GU + kGemmNRMax - 1) / kGemmNRMax;
    std::exception_ptr err;
#pragma omp parallel num_threads((int)std::max<int64_t>(parts, 1)) if (parts > 1)
    {
        CpuRnnOps so{team_size() > 1 ? 1 : 0, o.variant};
        const int64_t p = team_rank(), np = team_size();
        guarded(err, [&] {
            const int64_t n0 = s.N * p / np, nb = s.N * (p + 1) / np - n0;
            RnnShape sub = s;
            sub.N = nb;
            rnn_backward_steps(so, dx + n0 * T * s.C, dz.p + n0 * T * GU, at(dr, n0 * T * GU), hpm.p + n0 * T * U,
                               at(dh0, n0 * U), at(dc0, n0 * U), dout + n0 * R * U, gates + n0 * T * GU,
                               hs + n0 * T * U, at(aux, n0 * T * U), kernel, rkernel, at(h0, n0 * U),
                               at(c0, n0 * U), at(mask, n0 * T), at(rdmask, n0 * U), sub);
        });
#pragma omp barrier
        guarded(err, [&] {
            const int64_t j0 = std::min(GU, panels * p / np * kGemmNRMax);
            const int64_t j1 = std::min(GU, panels * (p + 1) / np * kGemmNRMax);
            rnn_backward_weights(so, dkernel, drkernel, dz.p, dr, hpm.p, x, aux, s, j0, j1);
            // The bias's columns: column_sum's fixed row blocks, so the same bits.
            for (int k = 0; dbias && k < (ra ? 2 : 1); ++k) {
                const float* src = k ? dr : dz.p;
                column_sums<float>(dbias + k * GU + j0, NT, j1 - j0,
                                   [src, GU, j0](int64_t r, int64_t c) { return src[r * GU + j0 + c]; });
            }
        });
    }
    if (err) std::rethrow_exception(err);
}

}  // namespace ember
