// Single-precision matrix product, BLIS-style: packed panels of A and B, a
// register-blocked micro-kernel (6x16 AVX2/FMA, chosen at run time, with a
// portable fallback), cache blocking with every block size defined here.
#pragma once
#include <cstdint>

namespace ember {

// Register block of the micro-kernel: MR rows of A times NR columns of B.
constexpr int64_t kGemmMR = 6;
constexpr int64_t kGemmNR = 16;
// Cache blocks: a KC x NR panel of B stays in L1 (16 KiB), an MC x KC block
// of A in L2 (144 KiB), a KC x NC block of B in L3.
constexpr int64_t kGemmKC = 256;
constexpr int64_t kGemmMC = 144;  // multiple of MR
constexpr int64_t kGemmNC = 3072; // multiple of NR

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

// Whether the AVX2/FMA micro-kernel was selected on this CPU.
bool gemm_uses_avx2();

}  // namespace ember
