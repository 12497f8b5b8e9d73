#include "gemm.h"

#include <algorithm>
#include <cstring>

#include <unistd.h>

#include "common.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define EMBER_X86 1
#endif

namespace ember {

namespace {

constexpr int64_t KC = kGemmKC, NC = kGemmNC;

// What a micro-kernel does with its sums acc when it writes them to C:
// C = alpha*acc (+ beta*C), or, when `accumulate` (a later K block),
// C += alpha*acc; then, when given, adds bias (NR,, zero-padded) and applies
// the ReLU. Every variant does these operations in this order (gemm.cpp is
// compiled without FMA contraction), so that only the K-loop differs.
struct Tail {
    float alpha, beta;
    bool accumulate;
    const float* bias;
    bool relu;
};

// A micro-kernel: the mr x nr tile of C at C (rows ldc apart) from a kc-deep
// product. Element (i, p) of A is at A[i*rsa + p*csa] (a packed panel: rsa 1,
// csa MR); row p of B is at B + p*ldb (a packed panel: ldb NR, zero-padded
// past nr). Kernels without partial-tile support get mr == MR, nr == NR only.
using UKernel = void (*)(int64_t kc, const float* A, int64_t rsa, int64_t csa, const float* B,
                        int64_t ldb, float* C, int64_t ldc, int64_t mr, int64_t nr,
                        const Tail& t);

// Portable micro-kernel, MR x NR of the generic variant.
void ukernel_generic(int64_t kc, const float* A, int64_t rsa, int64_t csa, const float* B,
                     int64_t ldb, float* C, int64_t ldc, int64_t mr, int64_t nr, const Tail& t) {
    constexpr int64_t MR = kGemmMRGeneric, NR = kGemmNRGeneric;
    float acc[MR * NR] = {0.0f};
    for (int64_t p = 0; p < kc; ++p) {
        const float* a = A + p * csa;
        const float* b = B + p * ldb;
        for (int64_t i = 0; i < MR; ++i)
            for (int64_t j = 0; j < NR; ++j) acc[i * NR + j] += a[i * rsa] * b[j];
    }
    for (int64_t i = 0; i < MR; ++i)
        for (int64_t j = 0; j < NR; ++j) {
            float v = t.alpha * acc[i * NR + j];
            float* c = C + i * ldc + j;
            if (t.accumulate) v = *c + v;
            else if (t.beta != 0.0f) v = v + t.beta * *c;
            if (t.bias) v = v + t.bias[j];
            if (t.relu) v = v < 0.0f ? 0.0f : v;
            *c = v;
        }
}

#ifdef EMBER_X86
// AVX2/FMA micro-kernel, 6x16, A packed (rsa == 1).
__attribute__((target("avx2,fma"))) void ukernel_avx2(int64_t kc, const float* Ap, int64_t rsa,
                                                      int64_t csa, const float* Bp, int64_t ldbp,
                                                      float* C, int64_t ldc, int64_t mr,
                                                      int64_t nr, const Tail& t) {
    constexpr int64_t MR = kGemmMRAvx2, NR = kGemmNRAvx2;
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
        Ap += csa;
        Bp += ldbp;
    }
    const __m256 va = _mm256_set1_ps(t.alpha), vb = _mm256_set1_ps(t.beta);
    const __m256 zero = _mm256_setzero_ps();
    __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int64_t i = 0; i < MR; ++i) {
        float* c = C + i * ldc;
        for (int h = 0; h < 2; ++h) {
            __m256 v = _mm256_mul_ps(va, rows[i][h]);
            if (t.accumulate) v = _mm256_add_ps(_mm256_loadu_ps(c + 8 * h), v);
            else if (t.beta != 0.0f) v = _mm256_add_ps(v, _mm256_mul_ps(vb, _mm256_loadu_ps(c + 8 * h)));
            if (t.bias) v = _mm256_add_ps(v, _mm256_loadu_ps(t.bias + 8 * h));
            // v < 0 ? 0 : v, which keeps NaN (max_ps would not).
            if (t.relu) v = _mm256_blendv_ps(v, zero, _mm256_cmp_ps(v, zero, _CMP_LT_OQ));
            _mm256_storeu_ps(c + 8 * h, v);
        }
    }
}

// AVX-512 micro-kernel, 14x32: 28 zmm accumulators, two zmm rows of B, A
// broadcast from memory. Partial tiles are handled in place: B and C are
// read and written through masks (masked-off lanes never fault), rows past mr
// are computed from a repeated row of A and not stored. kRowsA: A is read in
// place, row-major (csa == 1, rows rsa apart), instead of from a packed panel
// (rsa == 1).
template <bool kRowsA>
__attribute__((target("avx512f,avx2,fma"))) void ukernel_avx512(
    int64_t kc, const float* A, int64_t rsa, int64_t csa, const float* B, int64_t ldb, float* C,
    int64_t ldc, int64_t mr, int64_t nr, const Tail& t) {
    constexpr int MR = (int)kGemmMRAvx512;
    static_assert(kGemmNRAvx512 == 32, "two zmm per row of B");
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1u);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF
                                  : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1u) : (__mmask16)0;
    for (int64_t i = 0; i < mr; ++i) {
        _mm_prefetch((const char*)(C + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char*)(C + i * ldc + 16), _MM_HINT_T0);
        _mm_prefetch((const char*)(C + i * ldc + 31), _MM_HINT_T0);
    }
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) c0[i] = c1[i] = _mm512_setzero_ps();
    if (kRowsA) {
        const float* a[MR];
#pragma GCC unroll 14
        for (int i = 0; i < MR; ++i) a[i] = A + std::min<int64_t>(i, mr - 1) * rsa;
        for (int64_t p = 0; p < kc; ++p) {
            const __m512 b0 = _mm512_maskz_loadu_ps(m0, B), b1 = _mm512_maskz_loadu_ps(m1, B + 16);
#pragma GCC unroll 14
            for (int i = 0; i < MR; ++i) {
                const __m512 av = _mm512_set1_ps(a[i][p]);
                c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
                c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
            }
            B += ldb;
        }
    } else {
        for (int64_t p = 0; p < kc; ++p) {
            const __m512 b0 = _mm512_maskz_loadu_ps(m0, B), b1 = _mm512_maskz_loadu_ps(m1, B + 16);
#pragma GCC unroll 14
            for (int i = 0; i < MR; ++i) {
                const __m512 av = _mm512_set1_ps(A[i]);
                c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
                c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
            }
            A += csa;
            B += ldb;
        }
    }
    const __m512 va = _mm512_set1_ps(t.alpha), vb = _mm512_set1_ps(t.beta);
    const __m512 zero = _mm512_setzero_ps();
    __m512 bias0 = zero, bias1 = zero;
    if (t.bias) {
        bias0 = _mm512_loadu_ps(t.bias);
        bias1 = _mm512_loadu_ps(t.bias + 16);
    }
#pragma GCC unroll 14
    for (int i = 0; i < MR; ++i) {
        if (i >= mr) break;
        float* c = C + i * ldc;
        __m512 v0 = _mm512_mul_ps(va, c0[i]), v1 = _mm512_mul_ps(va, c1[i]);
        if (t.accumulate) {
            v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), v0);
            v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), v1);
        } else if (t.beta != 0.0f) {
            v0 = _mm512_add_ps(v0, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m0, c)));
            v1 = _mm512_add_ps(v1, _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16)));
        }
        if (t.bias) {
            v0 = _mm512_add_ps(v0, bias0);
            v1 = _mm512_add_ps(v1, bias1);
        }
        if (t.relu) {  // v < 0 ? 0 : v, which keeps NaN (max_ps would not)
            v0 = _mm512_mask_mov_ps(v0, _mm512_cmp_ps_mask(v0, zero, _CMP_LT_OQ), zero);
            v1 = _mm512_mask_mov_ps(v1, _mm512_cmp_ps_mask(v1, zero, _CMP_LT_OQ), zero);
        }
        _mm512_mask_storeu_ps(c, m0, v0);
        _mm512_mask_storeu_ps(c + 16, m1, v1);
    }
}
#endif

// One CPU variant of the GEMM: its register block and micro-kernels.
struct Variant {
    int64_t MR, NR, MC;
    UKernel packed;   // A from packed panels
    UKernel rows_a;   // A read in place, row-major; null when not offered
    bool edges;       // the kernels take partial tiles
};

int64_t mc_for(int64_t mr) {
    static const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    int64_t mc = l2 > 0 ? (int64_t)l2 / 2 / (KC * (int64_t)sizeof(float)) : kGemmMCDefault;
    mc = std::max(kGemmMCMin, std::min(kGemmMCMax, mc));
    return std::max(mr, mc / mr * mr);
}

Variant variant_for(CpuVariant v) {
#ifdef EMBER_X86
    if (v == CpuVariant::kAvx512)
        return {kGemmMRAvx512, kGemmNRAvx512, mc_for(kGemmMRAvx512), ukernel_avx512<false>,
                ukernel_avx512<true>, true};
    if (v == CpuVariant::kAvx2)
        return {kGemmMRAvx2, kGemmNRAvx2, mc_for(kGemmMRAvx2), ukernel_avx2, nullptr, false};
#endif
    return {kGemmMRGeneric, kGemmNRGeneric, mc_for(kGemmMRGeneric), ukernel_generic, nullptr, false};
}

// Packs rows [i0, i0+mr) x columns [p0, p0+kc) of A (element (i,p) at
// A[i*rs + p*cs]) into Ap (kc x MR, k-major), zero-padding rows past mr.
// The loop order follows A's contiguous direction, so reads stream.
void pack_a(float* Ap, int64_t MR, const float* A, int64_t rs, int64_t cs, int64_t i0,
            int64_t mr, int64_t p0, int64_t kc) {
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
void pack_b(float* Bp, int64_t NR, const float* B, int64_t rs, int64_t cs, int64_t p0,
            int64_t kc, int64_t j0, int64_t nr) {
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

bool gemm_uses_avx2() { return cpu_variant() != CpuVariant::kGeneric; }

GemmBlocks gemm_blocks(CpuVariant v) {
    const Variant var = variant_for(v);
    return {var.MR, var.NR, KC, var.MC, NC};
}

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
    // The variant is read once: a concurrent set_cpu_variant cannot mix two.
    static const Variant variants[3] = {variant_for(CpuVariant::kGeneric),
                                        variant_for(CpuVariant::kAvx2),
                                        variant_for(CpuVariant::kAvx512)};
    const Variant& V = variants[(int)cpu_variant()];
    const int64_t MR = V.MR, NR = V.NR, MC = V.MC;
    const float* ep_bias = epilogue ? epilogue->bias : nullptr;
    const bool ep_relu = epilogue && epilogue->relu;
    const int64_t rsa = trans_a ? 1 : lda, csa = trans_a ? lda : 1;
    const int64_t rsb = trans_b ? 1 : ldb, csb = trans_b ? ldb : 1;
    int nt = nthreads;
    if (nt <= 0) nt = (2.0 * M * N * K < kGemmSmallFlops) ? 1 : num_threads();

    const int64_t m_panels = (M + MR - 1) / MR;
    const int64_t mc_panels = MC / MR;
    const int64_t m_blocks = (M + MC - 1) / MC;
    // Tall products give each thread whole MC-row blocks of A, packed into
    // its own buffer right before use (hot in L2). Short ones share one
    // packed A and split the work over (row block, column panel) pairs.
    const bool tall = m_blocks >= 2 * (int64_t)nt || nt == 1;
    // When few row panels share each panel of B (or B is narrow) and B's rows
    // are contiguous, the micro-kernel reads B in place: packing it would
    // cost as much as the arithmetic it feeds. Likewise A, read in place by
    // a kernel that can, when few panels of B reuse each panel of A.
    const bool small = N <= kGemmSmallN;
    const bool direct_b = !trans_b && (V.edges ? (m_panels <= 4 || small)
                                               : (N % NR == 0 && m_panels <= 4));
    const bool direct_a = !trans_a && V.rows_a && small;
    float* Bp = direct_b ? nullptr : scratch(kSlotPackB).get(((std::min(N, NC) + NR - 1) / NR) * NR * KC);
    float* Ashared = (tall || direct_a) ? nullptr : scratch(kSlotPackA).get(m_panels * MR * KC);

    // C block rows [ip0, ip1) panels x column panel jp, with A panels at Ap
    // (unless A is read in place).
    auto compute = [&](const float* Ap, int64_t ip0, int64_t ip1, int64_t jc, int64_t nc,
                       int64_t jp, int64_t pc, int64_t kc, bool accumulate, bool last) {
        const int64_t j0 = jc + jp * NR, nr = std::min(NR, nc - jp * NR);
        const float* bp = direct_b ? B + pc * rsb + j0 : Bp + jp * NR * kc;
        const int64_t ldbp = direct_b ? rsb : NR;
        // The epilogue runs with the last K block only.
        alignas(64) float bias_pad[kGemmNRMax] = {0.0f};
        Tail t{alpha, beta, accumulate, nullptr, last && ep_relu};
        if (last && ep_bias) {
            for (int64_t j = 0; j < nr; ++j) bias_pad[j] = ep_bias[j0 + j];
            t.bias = bias_pad;
        }
        for (int64_t ip = ip0; ip < ip1; ++ip) {
            const int64_t i0 = ip * MR, mr = std::min(MR, M - i0);
            float* c = C + i0 * ldc + j0;
            if (direct_a) {
                V.rows_a(kc, A + i0 * lda + pc, lda, 1, bp, ldbp, c, ldc, mr, nr, t);
                continue;
            }
            const float* ap = Ap + (ip - ip0) * MR * kc;
            if (V.edges || (mr == MR && nr == NR)) {
                V.packed(kc, ap, 1, MR, bp, ldbp, c, ldc, mr, nr, t);
            } else {
                alignas(64) float tile[kGemmMRMax * kGemmNRMax] = {0.0f};
                for (int64_t i = 0; i < mr; ++i)
                    for (int64_t j = 0; j < nr; ++j) tile[i * NR + j] = c[i * ldc + j];
                V.packed(kc, ap, 1, MR, bp, ldbp, tile, NR, MR, NR, t);
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
            // The work of one K block, inside a parallel region of `team`
            // threads (par: worksharing loops split among them) or, for one
            // thread, run directly: small products then enter no parallel
            // region at all. (An orphaned `omp for` would bind to a caller's
            // region when gemm runs inside one, hence the explicit flag.)
            auto kblock = [&](bool par) {
                auto loop = [par](bool dynamic, int64_t n, auto&& f) {
                    if (!par) {
                        for (int64_t i = 0; i < n; ++i) f(i);
                    } else if (dynamic) {
#pragma omp for schedule(dynamic, 1)
                        for (int64_t i = 0; i < n; ++i) f(i);
                    } else {
#pragma omp for schedule(static)
                        for (int64_t i = 0; i < n; ++i) f(i);
                    }
                };
                loop(false, direct_b ? 0 : n_panels, [&](int64_t jp) {
                    pack_b(Bp + jp * NR * kc, NR, B, rsb, csb, pc, kc, jc + jp * NR,
                           std::min(NR, nc - jp * NR));
                });
                if (tall) {
                    // Each MC block of C belongs to one thread.
                    float* Ap = direct_a ? nullptr : scratch(kSlotPackA).get(mc_panels * MR * KC);
                    loop(true, m_blocks, [&](int64_t ib) {
                        const int64_t ip0 = ib * mc_panels, ip1 = std::min(m_panels, ip0 + mc_panels);
                        for (int64_t ip = ip0; ip < (direct_a ? ip0 : ip1); ++ip)
                            pack_a(Ap + (ip - ip0) * MR * kc, MR, A, rsa, csa, ip * MR,
                                   std::min(MR, M - ip * MR), pc, kc);
                        for (int64_t jp = 0; jp < n_panels; ++jp)
                            compute(Ap, ip0, ip1, jc, nc, jp, pc, kc, accumulate, last);
                    });
                } else {
                    loop(false, direct_a ? 0 : m_panels, [&](int64_t ip) {
                        pack_a(Ashared + ip * MR * kc, MR, A, rsa, csa, ip * MR,
                               std::min(MR, M - ip * MR), pc, kc);
                    });
                    // Each (row block, column panel) of C belongs to one thread.
                    loop(false, m_blocks * n_panels, [&](int64_t t) {
                        const int64_t ib = t / n_panels, jp = t % n_panels;
                        const int64_t ip0 = ib * mc_panels, ip1 = std::min(m_panels, ip0 + mc_panels);
                        compute(direct_a ? nullptr : Ashared + ip0 * MR * kc, ip0, ip1, jc, nc, jp,
                                pc, kc, accumulate, last);
                    });
                }
            };
            if (team > 1) {
#pragma omp parallel num_threads(team)
                kblock(true);
            } else {
                kblock(false);
            }
        }
    }
}

}  // namespace ember
