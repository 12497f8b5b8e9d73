// Single-precision matrix product, BLIS-style: packed panels of A and B, a
// register-blocked micro-kernel (14x32 AVX-512 or 6x16 AVX2/FMA, chosen at
// run time, with a portable fallback), cache blocking with every block size defined here.
#pragma once
#include <cstdint>

#include "common.h"

namespace ember {

// Register blocks of the micro-kernels, MR rows of A times NR columns of B,
// one per CPU variant (chosen at run time, see common.h):
//   generic: portable C++, 6x16;
//   AVX2/FMA: 6x16, 12 ymm accumulators;
//   AVX-512: 14x32, 28 zmm accumulators + 2 for B + broadcasts of A.
constexpr int64_t kGemmMRGeneric = 6, kGemmNRGeneric = 16;
constexpr int64_t kGemmMRAvx2 = 6, kGemmNRAvx2 = 16;
constexpr int64_t kGemmMRAvx512 = 14, kGemmNRAvx512 = 32;
constexpr int64_t kGemmMRMax = 14, kGemmNRMax = 32;  // the largest of the above
// Depth of one K block, the same in every variant: each element of C is the
// sum of its KC-long FMA chains, so AVX2 and AVX-512 give the same bits (the
// generic variant, without FMA, rounds differently). A KC x NR panel of B
// (32 KiB for AVX-512) stays in L1 while the micro-kernel sweeps panels of A.
constexpr int64_t kGemmKC = 256;
// Rows of A packed per block: an MC x KC block stays in L2. It is chosen per
// variant from the L2 size the CPU reports (half of it), a multiple of MR
// between these bounds; it decides only how work is split, never the bits.
constexpr int64_t kGemmMCMin = 72, kGemmMCMax = 252;
constexpr int64_t kGemmMCDefault = 144;  // when the L2 size is unknown
// Columns of B per block (a KC x NC block in L3); a multiple of every NR.
constexpr int64_t kGemmNC = 3072;
// Small products: when N <= kGemmSmallN (at most this many columns, so A's
// rows are reused by few panels of B), the AVX-512 variant reads A and B in
// place instead of packing them (its micro-kernel handles partial tiles with
// masks). Below kGemmSmallFlops (2*M*N*K) the product runs on one thread.
constexpr int64_t kGemmSmallN = 128;
constexpr double kGemmSmallFlops = 2.0e6;

// Applied to each element of C once, after the last K block:
// C[i][j] = relu(C[i][j] + bias[j]). A null bias adds nothing; relu maps
// negative values to 0 and keeps NaN.
struct GemmEpilogue {
    const float* bias = nullptr;  // (N,)
    bool relu = false;
};

// C (M x N) = alpha * op(A) * op(B) + beta * C, all row-major.
// op(A) is (M x K): A is stored (M x K) with leading dimension lda, or, when
// trans_a, (K x M). op(B) is (K x N): B is (K x N) or, when trans_b, (N x K).
// beta == 0 ignores C's previous contents (NaN included), as BLAS does.
// nthreads <= 0 means "choose from the problem size"; 1 runs serially (for
// callers already inside a parallel region). The result's bits do not depend
// on nthreads: every element of C is accumulated by one thread in a fixed
// order (KC blocks in sequence, k ascending inside a block). `epilogue`, when
// given, fuses a bias and a ReLU into the write-out.
void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
          bool trans_a, bool trans_b, float alpha, float beta,
          int64_t lda, int64_t ldb, int64_t ldc, int nthreads = 0,
          const GemmEpilogue* epilogue = nullptr);

// Reference: the textbook triple loop, one float accumulator per element.
void gemm_naive(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
                bool trans_a, bool trans_b, float alpha, float beta,
                int64_t lda, int64_t ldb, int64_t ldc);

// Whether a micro-kernel with AVX2/FMA (AVX2 or AVX-512) is in use.
bool gemm_uses_avx2();
// Register and cache blocks of `v` on this CPU: {MR, NR, KC, MC, NC}.
struct GemmBlocks { int64_t mr, nr, kc, mc, nc; };
GemmBlocks gemm_blocks(CpuVariant v);

}  // namespace ember
