#include "gemm.h"

#include <algorithm>
#include <cstring>

#include "common.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define EMBER_X86 1
#endif

namespace ember {

namespace {

constexpr int64_t MR = kGemmMR, NR = kGemmNR, KC = kGemmKC, MC = kGemmMC, NC = kGemmNC;

// Writes acc (MR x NR, row-major) into C: C = alpha*acc (+ beta*C), or, when
// `accumulate` (a later KC block), C += alpha*acc; then, when given, adds
// bias (NR,) and applies the ReLU.
inline void write_tile(float* C, int64_t ldc, const float* acc, float alpha, float beta,
                       bool accumulate, const float* bias, bool relu) {
    for (int64_t i = 0; i < MR; ++i)
        for (int64_t j = 0; j < NR; ++j) {
            float v = alpha * acc[i * NR + j];
            float* c = C + i * ldc + j;
            if (accumulate) v = *c + v;
            else if (beta != 0.0f) v = v + beta * *c;
            if (bias) v += bias[j];
            if (relu) v = v < 0.0f ? 0.0f : v;
            *c = v;
        }
}

// Portable micro-kernel: Ap is (kc x MR) packed k-major; Bp is a kc x NR
// panel whose rows are ldbp apart (NR when packed, ldb when read in place).
void ukernel_generic(int64_t kc, const float* Ap, const float* Bp, int64_t ldbp, float* C,
                     int64_t ldc, float alpha, float beta, bool accumulate, const float* bias,
                     bool relu) {
    float acc[MR * NR] = {0.0f};
    for (int64_t p = 0; p < kc; ++p) {
        const float* a = Ap + p * MR;
        const float* b = Bp + p * ldbp;
        for (int64_t i = 0; i < MR; ++i)
            for (int64_t j = 0; j < NR; ++j) acc[i * NR + j] += a[i] * b[j];
    }
    write_tile(C, ldc, acc, alpha, beta, accumulate, bias, relu);
}

#ifdef EMBER_X86
__attribute__((target("avx2,fma"))) void ukernel_avx2(int64_t kc, const float* Ap,
                                                      const float* Bp, int64_t ldbp, float* C,
                                                      int64_t ldc,
                                                      float alpha, float beta,
                                                      bool accumulate, const float* bias,
                                                      bool relu) {
    // Fetch the C tile while the k-loop runs: it is usually not in cache, and
    // its misses would otherwise stall the write-out.
    for (int64_t i = 0; i < MR; ++i) {
        _mm_prefetch((const char*)(C + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char*)(C + i * ldc + NR - 1), _MM_HINT_T0);
    }
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t p = 0; p < kc; ++p) {
        __m256 b0 = _mm256_loadu_ps(Bp);
        __m256 b1 = _mm256_loadu_ps(Bp + 8);
        __m256 a;
        a = _mm256_broadcast_ss(Ap + 0); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(Ap + 1); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(Ap + 2); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(Ap + 3); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(Ap + 4); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(Ap + 5); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
        Ap += MR;
        Bp += ldbp;
    }
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    const __m256 zero = _mm256_setzero_ps();
    __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int64_t i = 0; i < MR; ++i) {
        float* c = C + i * ldc;
        for (int h = 0; h < 2; ++h) {
            __m256 v = _mm256_mul_ps(va, rows[i][h]);
            if (accumulate) v = _mm256_add_ps(_mm256_loadu_ps(c + 8 * h), v);
            else if (beta != 0.0f) v = _mm256_add_ps(v, _mm256_mul_ps(vb, _mm256_loadu_ps(c + 8 * h)));
            if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + 8 * h));
            // v < 0 ? 0 : v, which keeps NaN (max_ps would not).
            if (relu) v = _mm256_blendv_ps(v, zero, _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
            _mm256_storeu_ps(c + 8 * h, v);
        }
    }
}

bool detect_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
bool detect_avx2() { return false; }
#endif

using UKernel = void (*)(int64_t, const float*, const float*, int64_t, float*, int64_t, float, float,
                        bool, const float*, bool);

UKernel select_ukernel() {
#ifdef EMBER_X86
    if (detect_avx2()) return ukernel_avx2;
#endif
    return ukernel_generic;
}

const UKernel g_ukernel = select_ukernel();

// Packs rows [i0, i0+mr) x columns [p0, p0+kc) of A (element (i,p) at
// A[i*rs + p*cs]) into Ap (kc x MR, k-major), zero-padding rows past mr.
// The loop order follows A's contiguous direction, so reads stream.
void pack_a(float* Ap, const float* A, int64_t rs, int64_t cs, int64_t i0, int64_t mr,
            int64_t p0, int64_t kc) {
    if (cs == 1) {
        for (int64_t i = 0; i < MR; ++i) {
            if (i >= mr) {
                for (int64_t p = 0; p < kc; ++p) Ap[p * MR + i] = 0.0f;
                continue;
            }
            const float* src = A + (i0 + i) * rs + p0;
            for (int64_t p = 0; p < kc; ++p) Ap[p * MR + i] = src[p];
        }
        return;
    }
    for (int64_t p = 0; p < kc; ++p) {
        const float* src = A + i0 * rs + (p0 + p) * cs;
        float* dst = Ap + p * MR;
        int64_t i = 0;
        for (; i < mr; ++i) dst[i] = src[i * rs];
        for (; i < MR; ++i) dst[i] = 0.0f;
    }
}

// Packs rows [p0, p0+kc) x columns [j0, j0+nr) of B (element (p,j) at
// B[p*rs + j*cs]) into Bp (kc x NR), zero-padding columns past nr.
void pack_b(float* Bp, const float* B, int64_t rs, int64_t cs, int64_t p0, int64_t kc,
            int64_t j0, int64_t nr) {
    if (cs != 1 && rs == 1) {
        // B transposed: columns are contiguous, so walk each column.
        for (int64_t j = 0; j < NR; ++j) {
            if (j >= nr) {
                for (int64_t p = 0; p < kc; ++p) Bp[p * NR + j] = 0.0f;
                continue;
            }
            const float* src = B + (j0 + j) * cs + p0;
            for (int64_t p = 0; p < kc; ++p) Bp[p * NR + j] = src[p];
        }
        return;
    }
    for (int64_t p = 0; p < kc; ++p) {
        const float* src = B + (p0 + p) * rs + j0 * cs;
        float* dst = Bp + p * NR;
        if (cs == 1 && nr == NR) {
            std::memcpy(dst, src, NR * sizeof(float));
            continue;
        }
        int64_t j = 0;
        for (; j < nr; ++j) dst[j] = src[j * cs];
        for (; j < NR; ++j) dst[j] = 0.0f;
    }
}

void scale_c(float* C, int64_t M, int64_t N, int64_t ldc, float beta, const GemmEpilogue* ep) {
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
            float v = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
            if (ep && ep->bias) v += ep->bias[j];
            if (ep && ep->relu) v = v < 0.0f ? 0.0f : v;
            C[i * ldc + j] = v;
        }
}

}  // namespace

bool gemm_uses_avx2() { return g_ukernel != ukernel_generic; }

void gemm_naive(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
                bool trans_a, bool trans_b, float alpha, float beta, int64_t lda, int64_t ldb,
                int64_t ldc) {
    for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
            float s = 0.0f;
            for (int64_t p = 0; p < K; ++p) {
                float a = trans_a ? A[p * lda + i] : A[i * lda + p];
                float b = trans_b ? B[j * ldb + p] : B[p * ldb + j];
                s += a * b;
            }
            float* c = C + i * ldc + j;
            *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
        }
}

void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
          bool trans_a, bool trans_b, float alpha, float beta, int64_t lda, int64_t ldb,
          int64_t ldc, int nthreads, const GemmEpilogue* epilogue) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(C, M, N, ldc, beta, epilogue);
        return;
    }
    const float* ep_bias = epilogue ? epilogue->bias : nullptr;
    const bool ep_relu = epilogue && epilogue->relu;
    const int64_t rsa = trans_a ? 1 : lda, csa = trans_a ? lda : 1;
    const int64_t rsb = trans_b ? 1 : ldb, csb = trans_b ? ldb : 1;
    int nt = nthreads;
    if (nt <= 0) nt = (2.0 * M * N * K < 2.0e6) ? 1 : num_threads();

    const int64_t m_panels = (M + MR - 1) / MR;
    const int64_t mc_panels = MC / MR;
    const int64_t m_blocks = (M + MC - 1) / MC;
    // Tall products give each thread whole MC-row blocks of A, packed into
    // its own buffer right before use (hot in L2). Short ones share one
    // packed A and split the work over (row block, column panel) pairs.
    const bool tall = m_blocks >= 2 * (int64_t)nt || nt == 1;
    // When few row panels share each panel of B and B's rows are contiguous
    // full panels, the micro-kernel reads B in place: packing it would cost
    // as much as the arithmetic it feeds.
    const bool direct_b = !trans_b && N % NR == 0 && m_panels <= 4;
    float* Bp = direct_b ? nullptr : scratch(kSlotPackB).get(((std::min(N, NC) + NR - 1) / NR) * NR * KC);
    float* Ashared = tall ? nullptr : scratch(kSlotPackA).get(m_panels * MR * KC);

    // C block rows [ip0, ip1) panels x column panel jp, with A panels at Ap.
    auto compute = [&](const float* Ap, int64_t ip0, int64_t ip1, int64_t jc, int64_t nc,
                       int64_t jp, int64_t pc, int64_t kc, bool accumulate, bool last) {
        const int64_t j0 = jc + jp * NR, nr = std::min(NR, nc - jp * NR);
        const float* bp = direct_b ? B + pc * rsb + j0 : Bp + jp * NR * kc;
        const int64_t ldbp = direct_b ? rsb : NR;
        // The epilogue runs with the last K block only.
        const bool relu = last && ep_relu;
        alignas(64) float bias_pad[NR] = {0.0f};
        const float* bias = nullptr;
        if (last && ep_bias) {
            for (int64_t j = 0; j < nr; ++j) bias_pad[j] = ep_bias[j0 + j];
            bias = bias_pad;
        }
        for (int64_t ip = ip0; ip < ip1; ++ip) {
            const int64_t i0 = ip * MR, mr = std::min(MR, M - i0);
            const float* ap = Ap + (ip - ip0) * MR * kc;
            float* c = C + i0 * ldc + j0;
            if (mr == MR && nr == NR) {
                g_ukernel(kc, ap, bp, ldbp, c, ldc, alpha, beta, accumulate, bias, relu);
            } else {
                alignas(64) float tile[MR * NR] = {0.0f};
                for (int64_t i = 0; i < mr; ++i)
                    for (int64_t j = 0; j < nr; ++j) tile[i * NR + j] = c[i * ldc + j];
                g_ukernel(kc, ap, bp, ldbp, tile, NR, alpha, beta, accumulate, bias, relu);
                for (int64_t i = 0; i < mr; ++i)
                    for (int64_t j = 0; j < nr; ++j) c[i * ldc + j] = tile[i * NR + j];
            }
        }
    };

    for (int64_t jc = 0; jc < N; jc += NC) {
        const int64_t nc = std::min(NC, N - jc);
        const int64_t n_panels = (nc + NR - 1) / NR;
        for (int64_t pc = 0; pc < K; pc += KC) {
            const int64_t kc = std::min(KC, K - pc);
            const bool accumulate = pc > 0, last = pc + kc == K;
            const int team = (int)std::min<int64_t>(nt, tall ? m_blocks : m_blocks * n_panels);
#pragma omp parallel num_threads(team) if (team > 1)
            {
#pragma omp for schedule(static)
                for (int64_t jp = 0; jp < (direct_b ? 0 : n_panels); ++jp)
                    pack_b(Bp + jp * NR * kc, B, rsb, csb, pc, kc, jc + jp * NR,
                           std::min(NR, nc - jp * NR));
                if (tall) {
                    // Each MC block of C belongs to one thread.
                    float* Ap = scratch(kSlotPackA).get(mc_panels * MR * KC);
#pragma omp for schedule(dynamic, 1)
                    for (int64_t ib = 0; ib < m_blocks; ++ib) {
                        const int64_t ip0 = ib * mc_panels, ip1 = std::min(m_panels, ip0 + mc_panels);
                        for (int64_t ip = ip0; ip < ip1; ++ip)
                            pack_a(Ap + (ip - ip0) * MR * kc, A, rsa, csa, ip * MR,
                                   std::min(MR, M - ip * MR), pc, kc);
                        for (int64_t jp = 0; jp < n_panels; ++jp)
                            compute(Ap, ip0, ip1, jc, nc, jp, pc, kc, accumulate, last);
                    }
                } else {
#pragma omp for schedule(static)
                    for (int64_t ip = 0; ip < m_panels; ++ip)
                        pack_a(Ashared + ip * MR * kc, A, rsa, csa, ip * MR,
                               std::min(MR, M - ip * MR), pc, kc);
                    // Each (row block, column panel) of C belongs to one thread.
#pragma omp for schedule(static)
                    for (int64_t t = 0; t < m_blocks * n_panels; ++t) {
                        const int64_t ib = t / n_panels, jp = t % n_panels;
                        const int64_t ip0 = ib * mc_panels, ip1 = std::min(m_panels, ip0 + mc_panels);
                        compute(Ashared + ip0 * MR * kc, ip0, ip1, jc, nc, jp, pc, kc, accumulate, last);
                    }
                }
            }
        }
    }
}

}  // namespace ember
