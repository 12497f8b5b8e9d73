// CUDA kernels for ember's operations and their host-side wrappers, in the
// order of cuda_ops.h. No atomics: each output element is written by one
// thread, and every sum over many values is split into fixed blocks whose
// partial sums are then added in order (the CPU engine's scheme), so the
// results are the same from run to run.
#include <cmath>
#include <vector>

#include "../formulas.h"
#include "cuda_ops.h"
#include "runtime.h"

namespace ember {
namespace cuda {

namespace {

// Rows per block of a column sum; the CPU's kReduceBlock.
constexpr int64_t kReduceRows = 256;

// ------------------------------------------------------------------ SGEMM
// 128x128 output tile per block, 8-deep K slices in shared memory, 8x8
// outputs per thread held in registers (256 threads).
constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;

// Split-K: a product with few output tiles and a long K (a weight gradient,
// K = batch * OH * OW) would keep only a few blocks busy, so K is cut into
// chunks of kSplitChunk (grid z), each chunk's product is written to its
// own slice of a workspace, and a second kernel adds the slices in chunk
// order. The split depends only on M, N and K, so results repeat exactly.
constexpr int64_t kSplitTiles = 64;     // split only below this many output tiles
constexpr int64_t kSplitChunk = 2048;   // K per chunk (a multiple of BK)
constexpr int64_t kMaxSplits = 256;

// Element (i, j) of op(X) for a row-major X with leading dimension ld.
template <bool T>
__device__ inline float at(const float* X, int64_t ld, int64_t i, int64_t j) {
    return T ? X[j * ld + i] : X[i * ld + j];
}

// C = alpha * acc + beta * C, + bias, ReLU: every GEMM's write-out.
__device__ inline float epilogue(float acc, float alpha, float beta, const float* c,
                                 const float* bias, int64_t gn, bool relu) {
    float v = alpha * acc;
    if (beta != 0.0f) v += beta * *c;
    if (bias) v += bias[gn];
    return relu && v < 0.0f ? 0.0f : v;
}

// A thread's TM x TN block of results at (r0, c0): the raw sums into a
// split-K slice (M x N) when there is one, else into C through the epilogue.
__device__ __forceinline__ void write_block(const float (&acc)[TM][TN], int64_t r0, int64_t c0, int64_t M,
                                            int64_t N, float alpha, float beta, float* C, int64_t ldc,
                                            const float* bias, bool relu, float* slice) {
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int64_t gm = r0 + i;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int64_t gn = c0 + j;
            if (gn >= N) continue;
            if (slice) slice[gm * N + gn] = acc[i][j];
            else C[gm * ldc + gn] = epilogue(acc[i][j], alpha, beta, C + gm * ldc + gn, bias, gn, relu);
        }
    }
}

// Block (x, y, z) computes rows x*BM.., columns y*BN.. over K range
// [z * kchunk, (z + 1) * kchunk). With a workspace (split-K), the raw sums go
// to slice z of it and the epilogue waits for splitk_reduce_kernel.
template <bool TA, bool TB>
__global__ void sgemm_kernel(int64_t M, int64_t N, int64_t K, int64_t kchunk, float alpha,
                             const float* __restrict__ A, int64_t lda, const float* __restrict__ B,
                             int64_t ldb, float beta, float* __restrict__ C, int64_t ldc,
                             const float* __restrict__ bias, bool relu, float* __restrict__ work) {
    __shared__ float As[BK][BM];
    __shared__ float Bs[BK][BN];
    const int tid = threadIdx.x;
    // Row tiles on x (up to 2^31 - 1 of them), column tiles on y (65535).
    const int64_t row0 = (int64_t)blockIdx.x * BM, col0 = (int64_t)blockIdx.y * BN;
    const int64_t kbeg = (int64_t)blockIdx.z * kchunk, kend = min(K, kbeg + kchunk);
    const int tr = tid / (BN / TN), tc = tid % (BN / TN);
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    for (int64_t k0 = kbeg; k0 < kend; k0 += BK) {
        for (int i = tid; i < BM * BK; i += blockDim.x) {
            // Consecutive threads walk A's contiguous direction.
            const int m = TA ? i % BM : i / BK, k = TA ? i / BM : i % BK;
            const int64_t gm = row0 + m, gk = k0 + k;
            As[k][m] = (gm < M && gk < kend) ? at<TA>(A, lda, gm, gk) : 0.0f;
        }
        for (int i = tid; i < BK * BN; i += blockDim.x) {
            const int n = TB ? i / BK : i % BN, k = TB ? i % BK : i / BN;
            const int64_t gk = k0 + k, gn = col0 + n;
            Bs[k][n] = (gk < kend && gn < N) ? at<TB>(B, ldb, gk, gn) : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float a[TM], b[TN];
#pragma unroll
            for (int i = 0; i < TM; ++i) a[i] = As[k][tr * TM + i];
#pragma unroll
            for (int j = 0; j < TN; ++j) b[j] = Bs[k][tc * TN + j];
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }
    write_block(acc, row0 + tr * TM, col0 + tc * TN, M, N, alpha, beta, C, ldc, bias, relu,
                work ? work + (int64_t)blockIdx.z * M * N : nullptr);
}

// 16-byte loads and stores (LDG.128, LDS.128, STS.128). A GPU faults on a
// misaligned one; the emulator checks for that too.
__device__ inline float4 load4(const float* p) {
#ifdef EMBER_CUDA_EMULATE
    if ((uintptr_t)p % 16) emu::device_fault("misaligned 16-byte load");
    return float4{p[0], p[1], p[2], p[3]};
#else
    return *reinterpret_cast<const float4*>(p);
#endif
}

__device__ inline void store4(float* p, float4 v) {
#ifdef EMBER_CUDA_EMULATE
    if ((uintptr_t)p % 16) emu::device_fault("misaligned 16-byte store");
    p[0] = v.x, p[1] = v.y, p[2] = v.z, p[3] = v.w;
#else
    *reinterpret_cast<float4*>(p) = v;
#endif
}

// Four consecutive elements p[0..3] of which the first `valid` exist (zeros
// after): one 16-byte load when all four do.
__device__ inline float4 load4_partial(const float* p, int64_t valid) {
    if (valid >= 4) return load4(p);
    return float4{valid > 0 ? p[0] : 0.0f, valid > 1 ? p[1] : 0.0f, valid > 2 ? p[2] : 0.0f, 0.0f};
}

// sgemm_kernel<false, false> for rows of A and B that start 16-byte aligned
// (A, B aligned; lda, ldb multiples of 4): the same tiles and per-thread 8x8
// block, with 16-byte global and shared-memory accesses and a double-buffered
// shared tile, so that the next K slice's loads are in flight during this
// slice's FMAs and one barrier per slice suffices. Same sums in the same
// order as sgemm_kernel, so the same results.
__global__ void __launch_bounds__(256)
sgemm_nn_vec_kernel(int64_t M, int64_t N, int64_t K, int64_t kchunk, float alpha,
                    const float* __restrict__ A, int64_t lda, const float* __restrict__ B, int64_t ldb,
                    float beta, float* __restrict__ C, int64_t ldc, const float* __restrict__ bias,
                    bool relu, float* __restrict__ work) {
    __shared__ __align__(16) float As[2][BK][BM];  // A's slice transposed: As[k][m]
    __shared__ __align__(16) float Bs[2][BK][BN];
    const int tid = threadIdx.x;
    const int64_t row0 = (int64_t)blockIdx.x * BM, col0 = (int64_t)blockIdx.y * BN;
    const int64_t kbeg = (int64_t)blockIdx.z * kchunk, kend = min(K, kbeg + kchunk);
    const int tr = tid / (BN / TN), tc = tid % (BN / TN);
    // Per slice, each thread moves 4 floats of A (row am, k ak..ak+3) and 4
    // of B (k row bk, columns bn..bn+3).
    const int am = tid / 2, ak = (tid % 2) * 4, bk = tid / 32, bn = (tid % 32) * 4;
    float4 ra, rb;
    auto fetch = [&](int64_t k0) {
        const int64_t gm = row0 + am, gk = k0 + ak, gkb = k0 + bk, gn = col0 + bn;
        ra = gm < M ? load4_partial(A + gm * lda + gk, kend - gk) : float4{0.0f, 0.0f, 0.0f, 0.0f};
        rb = gkb < kend ? load4_partial(B + gkb * ldb + gn, N - gn) : float4{0.0f, 0.0f, 0.0f, 0.0f};
    };
    auto stash = [&](int buf) {
        As[buf][ak + 0][am] = ra.x;
        As[buf][ak + 1][am] = ra.y;
        As[buf][ak + 2][am] = ra.z;
        As[buf][ak + 3][am] = ra.w;
        store4(&Bs[buf][bk][bn], rb);
    };
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    int buf = 0;
    if (kbeg < kend) {
        fetch(kbeg);
        stash(0);
    }
    __syncthreads();
    for (int64_t k0 = kbeg; k0 < kend; k0 += BK) {
        const bool more = k0 + BK < kend;
        if (more) fetch(k0 + BK);  // in flight during the FMAs below
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            const float4 a0 = load4(&As[buf][k][tr * TM]), a1 = load4(&As[buf][k][tr * TM + 4]);
            const float4 b0 = load4(&Bs[buf][k][tc * TN]), b1 = load4(&Bs[buf][k][tc * TN + 4]);
            const float a[TM] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
            const float b[TN] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
        // The other buffer was last read before the previous barrier.
        if (more) stash(buf ^ 1);
        __syncthreads();
        buf ^= 1;
    }
    write_block(acc, row0 + tr * TM, col0 + tc * TN, M, N, alpha, beta, C, ldc, bias, relu,
                work ? work + (int64_t)blockIdx.z * M * N : nullptr);
}

// C (M, N) from the split-K slices, added in chunk order.
__global__ void splitk_reduce_kernel(float* C, const float* work, int64_t splits, int64_t M, int64_t N,
                                     int64_t ldc, float alpha, float beta, const float* bias, bool relu) {
    EMBER_GRID_LOOP(idx, M * N) {
        float acc = 0.0f;
        for (int64_t z = 0; z < splits; ++z) acc += work[z * M * N + idx];
        const int64_t gm = idx / N, gn = idx % N;
        C[gm * ldc + gn] = epilogue(acc, alpha, beta, C + gm * ldc + gn, bias, gn, relu);
    }
}

// Reference: one thread per element of C, k ascending, one accumulator.
template <bool TA, bool TB>
__global__ void gemm_naive_kernel(int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                                  int64_t lda, const float* B, int64_t ldb, float beta, float* C,
                                  int64_t ldc) {
    EMBER_GRID_LOOP(idx, M * N) {
        const int64_t gm = idx / N, gn = idx % N;
        float acc = 0.0f;
        for (int64_t k = 0; k < K; ++k) acc += at<TA>(A, lda, gm, k) * at<TB>(B, ldb, k, gn);
        C[gm * ldc + gn] = epilogue(acc, alpha, beta, C + gm * ldc + gn, nullptr, gn, false);
    }
}

__global__ void fill_kernel(float* p, int64_t n, float scale) {
    EMBER_GRID_LOOP(i, n) p[i] = scale * (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f * scale;
}

// ------------------------------------------------------------------ column sums
// Stage 1: partial[b * C + c] = f(r, c) summed over the rows r of block b,
// in row order. Stage 2: out[c] = the partials of column c in block order.
struct Plain {
    const float* x;
    __device__ float operator()(int64_t r, int64_t c, int64_t C) const { return x[r * C + c]; }
};

template <class Acc, class F>
__global__ void block_sums_kernel(Acc* partial, F f, int64_t M, int64_t C) {
    const int64_t nblocks = (M + kReduceRows - 1) / kReduceRows;
    EMBER_GRID_LOOP(idx, nblocks * C) {
        const int64_t b = idx / C, c = idx % C;
        const int64_t r1 = min((b + 1) * kReduceRows, M);
        Acc acc = 0;
        for (int64_t r = b * kReduceRows; r < r1; ++r) acc += (Acc)f(r, c, C);
        partial[idx] = acc;
    }
}

template <class Acc, class Out>
__global__ void sum_blocks_kernel(Out* out, const Acc* partial, int64_t nblocks, int64_t C) {
    EMBER_GRID_LOOP(c, C) {
        Acc acc = 0;
        for (int64_t b = 0; b < nblocks; ++b) acc += partial[b * C + c];
        out[c] = (Out)acc;
    }
}

template <class Acc, class Out, class F>
void column_sums(Out* out, F f, int64_t M, int64_t C) {
    if (C <= 0) return;
    const int64_t nblocks = (M + kReduceRows - 1) / kReduceRows;
    if (nblocks == 0) {
        check(cudaMemset(out, 0, (size_t)C * sizeof(Out)), "cudaMemset");
        return;
    }
    Scratch<Acc> partial((size_t)(nblocks * C));
    launch("block_sums_kernel", block_sums_kernel<Acc, F>, grid_for(nblocks * C), kThreads,
           partial.p, f, M, C);
    launch("sum_blocks_kernel", sum_blocks_kernel<Acc, Out>, grid_for(C), kThreads, out,
           (const Acc*)partial.p, nblocks, C);
}

// ------------------------------------------------------------------ convolution

// Position (n, h, w, c) of flat index idx in an (N, H, W, C) array.
struct Nhwc {
    int64_t n, h, w, c;
};
__device__ inline Nhwc unravel(int64_t idx, int64_t H, int64_t W, int64_t C) {
    return {idx / (C * W * H), (idx / (C * W)) % H, (idx / C) % W, idx % C};
}

// col (N*OH*OW, KH*KW*C): one thread per element.
__global__ void im2col_kernel(float* col, const float* x, ConvShape s) {
    const int64_t K = s.KH * s.KW * s.C;
    EMBER_GRID_LOOP(idx, s.N * s.OH * s.OW * K) {
        const int64_t r = idx / K, q = idx % K;
        const int64_t c = q % s.C, kw = (q / s.C) % s.KW, kh = q / (s.C * s.KW);
        const int64_t ow = r % s.OW, oh = (r / s.OW) % s.OH, n = r / (s.OW * s.OH);
        const int64_t ih = oh * s.SH - s.PT + kh * s.DH, iw = ow * s.SW - s.PL + kw * s.DW;
        col[idx] = (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W)
                       ? x[((n * s.H + ih) * s.W + iw) * s.C + c]
                       : 0.0f;
    }
}

// dx (N, H, W, C): each element gathers its col entries in (kh, kw) order.
__global__ void col2im_kernel(float* dx, const float* dcol, ConvShape s) {
    const int64_t K = s.KH * s.KW * s.C;
    EMBER_GRID_LOOP(idx, s.N * s.H * s.W * s.C) {
        const Nhwc p = unravel(idx, s.H, s.W, s.C);
        float acc = 0.0f;
        for (int64_t kh = 0; kh < s.KH; ++kh) {
            const int64_t th = p.h + s.PT - kh * s.DH;
            if (th < 0 || th % s.SH) continue;
            const int64_t oh = th / s.SH;
            if (oh >= s.OH) continue;
            for (int64_t kw = 0; kw < s.KW; ++kw) {
                const int64_t tw = p.w + s.PL - kw * s.DW;
                if (tw < 0 || tw % s.SW) continue;
                const int64_t ow = tw / s.SW;
                if (ow >= s.OW) continue;
                acc += dcol[((p.n * s.OH + oh) * s.OW + ow) * K + (kh * s.KW + kw) * s.C + p.c];
            }
        }
        dx[idx] = acc;
    }
}

// ------------------------------------------------------------------ pooling

__global__ void max_pool_forward_kernel(float* y, const float* x, PoolShape s) {
    EMBER_GRID_LOOP(idx, s.N * s.OH * s.OW * s.C) {
        const Nhwc p = unravel(idx, s.OH, s.OW, s.C);
        const PoolWindow wd = pool_window(s, p.h, p.w);
        float best = 0.0f;
        bool first = true;
        for (int64_t h = wd.h0; h < wd.h1; ++h)
            for (int64_t w = wd.w0; w < wd.w1; ++w) {
                const float v = x[((p.n * s.H + h) * s.W + w) * s.C + p.c];
                if (first || max_takes(v, best)) best = v;
                first = false;
            }
        y[idx] = best;
    }
}

// Calls f(oh, ow, window) for every output whose window holds input row h,
// column w, in (oh, ow) order: a gather that replaces the CPU's scatter, so
// that no two threads write one element.
template <class F>
__device__ inline void for_windows_over(const PoolShape& s, int64_t h, int64_t w, F f) {
    // oh * SH - PT <= h < oh * SH - PT + PH, the same for w.
    const int64_t oh0 = max((int64_t)0, (h + s.PT - s.PH + s.SH) / s.SH);
    const int64_t oh1 = min(s.OH - 1, (h + s.PT) / s.SH);
    const int64_t ow0 = max((int64_t)0, (w + s.PL - s.PW + s.SW) / s.SW);
    const int64_t ow1 = min(s.OW - 1, (w + s.PL) / s.SW);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
        for (int64_t ow = ow0; ow <= ow1; ++ow) {
            const PoolWindow wd = pool_window(s, oh, ow);
            if (h >= wd.h0 && h < wd.h1 && w >= wd.w0 && w < wd.w1) f(oh, ow, wd);
        }
}

// Each input element adds dy of every window whose first maximum it is.
// With relu_input, a window whose maximum is not positive passes nothing
// (the ReLU's gradient, as on the CPU).
__global__ void max_pool_backward_kernel(float* dx, const float* dy, const float* x, PoolShape s,
                                         bool relu_input) {
    EMBER_GRID_LOOP(idx, s.N * s.H * s.W * s.C) {
        const Nhwc p = unravel(idx, s.H, s.W, s.C);
        float acc = 0.0f;
        for_windows_over(s, p.h, p.w, [&](int64_t oh, int64_t ow, const PoolWindow& wd) {
            float best = 0.0f;
            int64_t arg_h = -1, arg_w = -1;
            for (int64_t h = wd.h0; h < wd.h1; ++h)
                for (int64_t w = wd.w0; w < wd.w1; ++w) {
                    const float v = x[((p.n * s.H + h) * s.W + w) * s.C + p.c];
                    if (arg_h < 0 || max_takes(v, best)) { best = v; arg_h = h; arg_w = w; }
                }
            if (arg_h == p.h && arg_w == p.w && (best > 0.0f || !relu_input))
                acc += dy[((p.n * s.OH + oh) * s.OW + ow) * s.C + p.c];
        });
        dx[idx] = acc;
    }
}

// The mean over the window's positions inside the image.
__global__ void avg_pool_forward_kernel(float* y, const float* x, PoolShape s) {
    EMBER_GRID_LOOP(idx, s.N * s.OH * s.OW * s.C) {
        const Nhwc p = unravel(idx, s.OH, s.OW, s.C);
        const PoolWindow wd = pool_window(s, p.h, p.w);
        const int64_t count = (wd.h1 - wd.h0) * (wd.w1 - wd.w0);
        float acc = 0.0f;
        for (int64_t h = wd.h0; h < wd.h1; ++h)
            for (int64_t w = wd.w0; w < wd.w1; ++w) acc += x[((p.n * s.H + h) * s.W + w) * s.C + p.c];
        y[idx] = count > 0 ? acc * (1.0f / (float)count) : 0.0f;
    }
}

__global__ void avg_pool_backward_kernel(float* dx, const float* dy, PoolShape s) {
    EMBER_GRID_LOOP(idx, s.N * s.H * s.W * s.C) {
        const Nhwc p = unravel(idx, s.H, s.W, s.C);
        float acc = 0.0f;
        for_windows_over(s, p.h, p.w, [&](int64_t oh, int64_t ow, const PoolWindow& wd) {
            const int64_t count = (wd.h1 - wd.h0) * (wd.w1 - wd.w0);
            acc += dy[((p.n * s.OH + oh) * s.OW + ow) * s.C + p.c] * (1.0f / (float)count);
        });
        dx[idx] = acc;
    }
}

// One thread per (n, c): the mean over H*W positions in order.
__global__ void global_avg_forward_kernel(float* y, const float* x, int64_t N, int64_t HW, int64_t C) {
    EMBER_GRID_LOOP(idx, N * C) {
        const int64_t n = idx / C, c = idx % C;
        float acc = 0.0f;
        for (int64_t i = 0; i < HW; ++i) acc += x[(n * HW + i) * C + c];
        y[idx] = HW > 0 ? acc / (float)HW : 0.0f;
    }
}

__global__ void global_avg_backward_kernel(float* dx, const float* dy, int64_t N, int64_t HW, int64_t C) {
    EMBER_GRID_LOOP(idx, N * HW * C) {
        const int64_t n = idx / (HW * C), c = idx % C;
        dx[idx] = dy[n * C + c] / (float)HW;
    }
}

// ------------------------------------------------------------------ element-wise
// The formulas are formulas.h's, shared with the CPU kernels.

// One kernel per activation (picked on the host by with_activation).
template <Act A>
__global__ void activation_forward_kernel(float* y, const float* x, int64_t n, float alpha) {
    EMBER_GRID_LOOP(i, n) y[i] = activate<A>(x[i], alpha);
}

template <Act A>
__global__ void activation_backward_kernel(float* dx, const float* dy, const float* x, int64_t n,
                                           float alpha) {
    EMBER_GRID_LOOP(i, n) dx[i] = activate_grad<A>(dy[i], x[i], alpha);
}

__global__ void relu_from_output_kernel(float* dx, const float* dy, const float* y, int64_t n) {
    EMBER_GRID_LOOP(i, n) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// One thread per row (rows are short: class scores).
__global__ void softmax_kernel(float* y, const float* x, int64_t rows, int64_t cols) {
    EMBER_GRID_LOOP(r, rows) softmax_row(y + r * cols, x + r * cols, cols);
}

// dx already holds softmax(x).
__global__ void softmax_backward_kernel(float* dx, const float* dy, int64_t rows, int64_t cols) {
    EMBER_GRID_LOOP(r, rows) softmax_backward_row(dx + r * cols, dy + r * cols, cols);
}

// ------------------------------------------------------------------ losses
// One thread per row; each writes its row's gradient and its loss (double).

__global__ void cce_kernel(float* dpred, double* row_loss, const float* y_true, const float* y_pred,
                           int64_t rows, int64_t cols) {
    const float inv_rows = 1.0f / (float)rows;
    EMBER_GRID_LOOP(r, rows)
        row_loss[r] = cce_row(dpred + r * cols, y_true + r * cols, y_pred + r * cols, cols, inv_rows);
}

__global__ void softmax_ce_kernel(float* dz, float* probs, double* row_loss, const float* y_true,
                                  const float* z, int64_t rows, int64_t cols) {
    const float inv_rows = 1.0f / (float)rows;
    EMBER_GRID_LOOP(r, rows)
        row_loss[r] = softmax_ce_row(dz + r * cols, probs ? probs + r * cols : nullptr,
                                     y_true + r * cols, z + r * cols, cols, inv_rows);
}

__global__ void sparse_ce_kernel(float* dpred, double* row_loss, const int64_t* labels,
                                 const float* y_pred, int64_t rows, int64_t cols, bool from_logits) {
    const float inv_rows = 1.0f / (float)rows;
    EMBER_GRID_LOOP(r, rows)
        row_loss[r] = sparse_ce_row(dpred + r * cols, labels[r], y_pred + r * cols, cols, inv_rows,
                                    from_logits);
}

__global__ void bce_kernel(float* dpred, double* row_loss, const float* y_true, const float* y_pred,
                           int64_t rows, int64_t cols, bool from_logits) {
    const float inv_n = 1.0f / (float)(rows * cols);
    EMBER_GRID_LOOP(r, rows)
        row_loss[r] = bce_row(dpred + r * cols, y_true + r * cols, y_pred + r * cols, cols, inv_n,
                              from_logits);
}

__global__ void mse_kernel(float* dpred, double* row_loss, const float* y_true, const float* y_pred,
                           int64_t rows, int64_t cols) {
    const float scale = 2.0f / (float)(rows * cols);
    EMBER_GRID_LOOP(r, rows)
        row_loss[r] = mse_row(dpred + r * cols, y_true + r * cols, y_pred + r * cols, cols, scale);
}

// ------------------------------------------------------------------ dropout

// The CPU's mask for the same seed: a counter-based hash of the element index.
__global__ void dropout_kernel(float* y, float* mask, const float* x, int64_t n, float threshold,
                               float keep_scale, uint64_t key) {
    EMBER_GRID_LOOP(i, n) {
        mask[i] = dropout_mask(key, i, threshold, keep_scale);
        y[i] = x[i] * mask[i];
    }
}

__global__ void multiply_kernel(float* out, const float* a, const float* b, int64_t n) {
    EMBER_GRID_LOOP(i, n) out[i] = a[i] * b[i];
}

// ------------------------------------------------------------------ batch norm

struct Deviation2 {  // (x - mean)^2 in double
    const float* x;
    const float* mean;
    __device__ double operator()(int64_t r, int64_t c, int64_t C) const {
        const double d = (double)x[r * C + c] - (double)mean[c];
        return d * d;
    }
};

struct DyXhat {  // dy * (x - mean) * inv_std in double
    const float* dy;
    const float* x;
    const float* mean;
    const float* inv_std;
    __device__ double operator()(int64_t r, int64_t c, int64_t C) const {
        return (double)dy[r * C + c] * ((double)x[r * C + c] - mean[c]) * inv_std[c];
    }
};

__global__ void bn_mean_kernel(float* mean, const double* sum, int64_t M, int64_t C) {
    EMBER_GRID_LOOP(c, C) mean[c] = M > 0 ? (float)(sum[c] / (double)M) : 0.0f;
}

__global__ void bn_var_kernel(float* var, float* moving_mean, float* moving_var, const float* mean,
                              const double* sq, int64_t M, int64_t C, float momentum) {
    EMBER_GRID_LOOP(c, C) {
        var[c] = M > 0 ? (float)(sq[c] / (double)M) : 0.0f;
        moving_mean[c] = moving_mean[c] * momentum + mean[c] * (1.0f - momentum);
        moving_var[c] = moving_var[c] * momentum + var[c] * (1.0f - momentum);
    }
}

// out[c] = gamma[c] / sqrt(var[c] + eps), or 1 / sqrt(...) without gamma: the
// per-channel factors, computed once (as on the CPU), not once per element.
__global__ void bn_scale_kernel(float* out, const float* gamma, const float* var, int64_t C, float eps) {
    EMBER_GRID_LOOP(c, C) out[c] = (gamma ? gamma[c] : 1.0f) / sqrtf(var[c] + eps);
}

__global__ void bn_normalize_kernel(float* y, const float* x, const float* scale, const float* beta,
                                    const float* mean, int64_t M, int64_t C) {
    EMBER_GRID_LOOP(i, M * C) {
        const int64_t c = i % C;
        y[i] = (x[i] - mean[c]) * scale[c] + beta[c];
    }
}

// Per channel: dbeta, dgamma and the coefficients of
// dx = k1 * (dy - k2 - xhat * k3), k1 = gamma * inv_std, k2 = mean(dy),
// k3 = mean(dy * xhat).
__global__ void bn_param_grads_kernel(float* dgamma, float* dbeta, float* k, const float* gamma,
                                      const float* inv_std, const double* sdy, const double* sdyx,
                                      int64_t M, int64_t C) {
    EMBER_GRID_LOOP(c, C) {
        dbeta[c] = (float)sdy[c];
        dgamma[c] = (float)sdyx[c];
        k[c] = gamma[c] * inv_std[c];
        k[C + c] = M > 0 ? (float)(sdy[c] / (double)M) : 0.0f;
        k[2 * C + c] = M > 0 ? (float)(sdyx[c] / (double)M) : 0.0f;
    }
}

__global__ void bn_dx_kernel(float* dx, const float* dy, const float* x, const float* mean,
                             const float* inv_std, const float* k, int64_t M, int64_t C) {
    EMBER_GRID_LOOP(i, M * C) {
        const int64_t c = i % C;
        const float xhat = (x[i] - mean[c]) * inv_std[c];
        dx[i] = k[c] * (dy[i] - k[C + c] - xhat * k[2 * C + c]);
    }
}

// ------------------------------------------------------------------ optimizers

__global__ void sgd_kernel(float* p, float* vel, const float* g, int64_t n, float lr, float momentum,
                           bool nesterov, GradPrep gp) {
    EMBER_GRID_LOOP(i, n) sgd_element(p[i], vel ? vel + i : nullptr, g[i], lr, momentum, nesterov, gp);
}

__global__ void adam_kernel(float* p, float* m, float* v, float* vhat, const float* g, int64_t n,
                            float alpha, float beta1, float beta2, float eps, GradPrep gp) {
    EMBER_GRID_LOOP(i, n)
        adam_element(p[i], m[i], v[i], vhat ? vhat + i : nullptr, g[i], alpha, beta1, beta2, eps, gp);
}

__global__ void rmsprop_kernel(float* p, float* vel, float* mom, float* avg, const float* g, int64_t n,
                               float lr, float rho, float momentum, float eps, bool centered, GradPrep gp) {
    EMBER_GRID_LOOP(i, n)
        rmsprop_element(p[i], vel[i], mom ? mom + i : nullptr, avg ? avg + i : nullptr, g[i], lr, rho,
                        momentum, eps, centered, gp);
}

__global__ void adagrad_kernel(float* p, float* acc, const float* g, int64_t n, float lr, float eps,
                               GradPrep gp) {
    EMBER_GRID_LOOP(i, n) adagrad_element(p[i], acc[i], g[i], lr, eps, gp);
}

__global__ void adadelta_kernel(float* p, float* acc_g, float* acc_d, const float* g, int64_t n, float lr,
                                float rho, float eps, GradPrep gp) {
    EMBER_GRID_LOOP(i, n) adadelta_element(p[i], acc_g[i], acc_d[i], g[i], lr, rho, eps, gp);
}

__global__ void adamax_kernel(float* p, float* m, float* u, const float* g, int64_t n, float lr,
                              float beta1, float beta2, float eps, float bias, GradPrep gp) {
    EMBER_GRID_LOOP(i, n) adamax_element(p[i], m[i], u[i], g[i], lr, beta1, beta2, eps, bias, gp);
}

__global__ void nadam_kernel(float* p, float* m, float* v, const float* g, int64_t n, float lr,
                             float beta1, float beta2, float eps, NadamCoefficients c, GradPrep gp) {
    EMBER_GRID_LOOP(i, n)
        nadam_element(p[i], m[i], v[i], g[i], lr, beta1, beta2, eps, c.cm, c.cg, c.vbias, gp);
}

__global__ void ftrl_kernel(float* p, float* acc, float* lin, const float* g, int64_t n, float lr,
                            float lr_power, float l1, float l2, float l2_shrinkage, GradPrep gp) {
    EMBER_GRID_LOOP(i, n) ftrl_element(p[i], acc[i], lin[i], g[i], lr, lr_power, l1, l2, l2_shrinkage, gp);
}

__global__ void lion_kernel(float* p, float* m, const float* g, int64_t n, float lr, float beta1,
                            float beta2, GradPrep gp) {
    EMBER_GRID_LOOP(i, n) lion_element(p[i], m[i], g[i], lr, beta1, beta2, gp);
}

__global__ void ema_kernel(float* avg, float* p, int64_t n, float momentum, bool overwrite) {
    EMBER_GRID_LOOP(i, n) ema_element(avg[i], p[i], momentum, overwrite);
}

__global__ void accumulate_kernel(float* acc, const float* g, int64_t n, float grad_scale, float out_scale) {
    EMBER_GRID_LOOP(i, n) acc[i] = (acc[i] + g[i] * grad_scale) * out_scale;
}

struct Squares {  // x^2 in double, of an (n, 1) column
    const float* x;
    __device__ double operator()(int64_t r, int64_t, int64_t) const {
        const double v = x[r];
        return v * v;
    }
};

// Mean of the per-row losses, summed on the host in row order (as the CPU).
float mean_of_rows(const Scratch<double>& row_loss, int64_t rows) {
    std::vector<double> host((size_t)rows);
    copy_to_host(host.data(), row_loss.p, (size_t)rows * sizeof(double));
    double total = 0.0;
    for (double v : host) total += v;
    return rows > 0 ? (float)(total / (double)rows) : 0.0f;
}

}  // namespace

// ------------------------------------------------------------------ host side

void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
          bool trans_a, bool trans_b, float alpha, float beta, int64_t lda, int64_t ldb,
          int64_t ldc, const float* bias, bool relu) {
    if (M <= 0 || N <= 0) return;
    const int64_t mt = (M + BM - 1) / BM, nt = (N + BN - 1) / BN;
    int64_t kchunk = K > 0 ? K : 1, splits = 1;
    if (mt * nt < kSplitTiles && K >= 2 * kSplitChunk) {
        kchunk = kSplitChunk;
        if ((K + kchunk - 1) / kchunk > kMaxSplits)  // longer chunks, still a multiple of BK
            kchunk = ((K + kMaxSplits - 1) / kMaxSplits + BK - 1) / BK * BK;
        splits = (K + kchunk - 1) / kchunk;
    }
    auto* kernel = trans_a ? (trans_b ? sgemm_kernel<true, true> : sgemm_kernel<true, false>)
                           : (trans_b ? sgemm_kernel<false, true> : sgemm_kernel<false, false>);
    auto aligned = [](const float* p) { return (uintptr_t)p % 16 == 0; };
    const bool vec = !trans_a && !trans_b && lda % 4 == 0 && ldb % 4 == 0 && aligned(A) && aligned(B);
    if (vec) kernel = sgemm_nn_vec_kernel;
    const char* name = vec ? "sgemm_nn_vec_kernel" : "sgemm_kernel";
    const dim3 grid((unsigned)mt, (unsigned)nt, (unsigned)splits);
    const dim3 block((BM / TM) * (BN / TN));
    if (splits == 1) {
        launch(name, kernel, grid, block, M, N, K, kchunk, alpha, A, lda, B, ldb, beta, C, ldc, bias,
               relu, (float*)nullptr);
        return;
    }
    Buffer work((size_t)(splits * M * N));
    launch(name, kernel, grid, block, M, N, K, kchunk, alpha, A, lda, B, ldb, beta,
           C, ldc, bias, relu, work.data());
    launch("splitk_reduce_kernel", splitk_reduce_kernel, grid_for(M * N), kThreads, C,
           (const float*)work.data(), splits, M, N, ldc, alpha, beta, bias, relu);
}

void gemm_naive(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
                bool trans_a, bool trans_b, float alpha, float beta, int64_t lda, int64_t ldb,
                int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    auto* kernel = trans_a ? (trans_b ? gemm_naive_kernel<true, true> : gemm_naive_kernel<true, false>)
                           : (trans_b ? gemm_naive_kernel<false, true> : gemm_naive_kernel<false, false>);
    launch("gemm_naive_kernel", kernel, grid_for(M * N), kThreads, M, N, K, alpha, A, lda, B, ldb,
           beta, C, ldc);
}

double benchmark_gemm(int64_t M, int64_t N, int64_t K, int reps) {
    Buffer a((size_t)(M * K)), b((size_t)(K * N)), c((size_t)(M * N));
    launch("fill_kernel", fill_kernel, grid_for(M * K), kThreads, a.data(), M * K, 1.0f);
    launch("fill_kernel", fill_kernel, grid_for(K * N), kThreads, b.data(), K * N, 1.0f);
    gemm(c.data(), a.data(), b.data(), M, N, K, false, false, 1.0f, 0.0f, K, N, N);
    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), "cudaEventCreate");
    check(cudaEventCreate(&stop), "cudaEventCreate");
    check(cudaEventRecord(start), "cudaEventRecord");
    for (int r = 0; r < reps; ++r)
        gemm(c.data(), a.data(), b.data(), M, N, K, false, false, 1.0f, 0.0f, K, N, N);
    check(cudaEventRecord(stop), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return ms / 1e3 / (reps > 0 ? reps : 1);
}

void column_sum(float* out, const float* x, int64_t M, int64_t C) {
    column_sums<float>(out, Plain{x}, M, C);
}

void dense_forward(float* y, const float* x, const float* kernel, const float* bias, int64_t N,
                   int64_t I, int64_t O, bool relu) {
    gemm(y, x, kernel, N, O, I, false, false, 1.0f, 0.0f, I, O, O, bias, relu);
}

void dense_backward(float* dx, float* dkernel, float* dbias, const float* dy, const float* x,
                    const float* kernel, int64_t N, int64_t I, int64_t O) {
    if (dx) gemm(dx, dy, kernel, N, I, O, false, true, 1.0f, 0.0f, O, O, I);
    if (dkernel) gemm(dkernel, x, dy, I, O, N, true, false, 1.0f, 0.0f, I, O, O);
    if (dbias) column_sum(dbias, dy, N, O);
}

void conv2d_forward(float* y, const float* x, const float* kernel, const float* bias,
                    const ConvShape& s, bool relu) {
    const int64_t K = s.KH * s.KW * s.C, rows = s.N * s.OH * s.OW;
    Buffer col((size_t)(rows * K));
    launch("im2col_kernel", im2col_kernel, grid_for(rows * K), kThreads, col.data(), x, s);
    gemm(y, col.data(), kernel, rows, s.F, K, false, false, 1.0f, 0.0f, K, s.F, s.F, bias, relu);
}

void conv2d_backward(float* dx, float* dkernel, float* dbias, const float* dy, const float* x,
                     const float* kernel, const ConvShape& s, const float* relu_y) {
    const int64_t K = s.KH * s.KW * s.C, rows = s.N * s.OH * s.OW;
    Buffer masked;
    if (relu_y) {  // the fused ReLU's gradient first
        masked = Buffer((size_t)(rows * s.F));
        relu_backward_from_output(masked.data(), dy, relu_y, rows * s.F);
        dy = masked.data();
    }
    if (dkernel) {
        Buffer col((size_t)(rows * K));
        launch("im2col_kernel", im2col_kernel, grid_for(rows * K), kThreads, col.data(), x, s);
        gemm(dkernel, col.data(), dy, K, s.F, rows, true, false, 1.0f, 0.0f, K, s.F, s.F);
    }
    if (dbias) column_sum(dbias, dy, rows, s.F);
    if (dx) {
        Buffer dcol((size_t)(rows * K));
        gemm(dcol.data(), dy, kernel, rows, K, s.F, false, true, 1.0f, 0.0f, s.F, s.F, K);
        launch("col2im_kernel", col2im_kernel, grid_for(s.N * s.H * s.W * s.C), kThreads, dx,
               (const float*)dcol.data(), s);
    }
}

void max_pool2d_forward(float* y, const float* x, const PoolShape& s) {
    launch("max_pool_forward_kernel", max_pool_forward_kernel, grid_for(s.N * s.OH * s.OW * s.C),
           kThreads, y, x, s);
}

void max_pool2d_backward(float* dx, const float* dy, const float* x, const PoolShape& s,
                         bool relu_input) {
    launch("max_pool_backward_kernel", max_pool_backward_kernel, grid_for(s.N * s.H * s.W * s.C),
           kThreads, dx, dy, x, s, relu_input);
}

void avg_pool2d_forward(float* y, const float* x, const PoolShape& s) {
    launch("avg_pool_forward_kernel", avg_pool_forward_kernel, grid_for(s.N * s.OH * s.OW * s.C),
           kThreads, y, x, s);
}

void avg_pool2d_backward(float* dx, const float* dy, const PoolShape& s) {
    launch("avg_pool_backward_kernel", avg_pool_backward_kernel, grid_for(s.N * s.H * s.W * s.C),
           kThreads, dx, dy, s);
}

void global_avg_pool2d_forward(float* y, const float* x, int64_t N, int64_t H, int64_t W, int64_t C) {
    launch("global_avg_forward_kernel", global_avg_forward_kernel, grid_for(N * C), kThreads, y, x,
           N, H * W, C);
}

void global_avg_pool2d_backward(float* dx, const float* dy, int64_t N, int64_t H, int64_t W,
                                int64_t C) {
    launch("global_avg_backward_kernel", global_avg_backward_kernel, grid_for(N * H * W * C),
           kThreads, dx, dy, N, H * W, C);
}

void activation_forward(float* y, const float* x, int64_t n, Act act, float alpha) {
    with_activation(act, [&](auto a) {
        launch("activation_forward_kernel", activation_forward_kernel<decltype(a)::value>, grid_for(n),
               kThreads, y, x, n, alpha);
    });
}

void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Act act,
                         float alpha) {
    with_activation(act, [&](auto a) {
        launch("activation_backward_kernel", activation_backward_kernel<decltype(a)::value>, grid_for(n),
               kThreads, dx, dy, x, n, alpha);
    });
}

void relu_backward_from_output(float* dx, const float* dy, const float* y, int64_t n) {
    launch("relu_from_output_kernel", relu_from_output_kernel, grid_for(n), kThreads, dx, dy, y, n);
}

void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
    launch("softmax_kernel", softmax_kernel, grid_for(rows), kThreads, y, x, rows, cols);
}

void softmax_backward(float* dx, const float* dy, const float* x, int64_t rows, int64_t cols) {
    softmax_forward(dx, x, rows, cols);
    launch("softmax_backward_kernel", softmax_backward_kernel, grid_for(rows), kThreads, dx, dy,
           rows, cols);
}

float categorical_crossentropy(float* dpred, const float* y_true, const float* y_pred,
                               int64_t rows, int64_t cols) {
    if (rows <= 0) return 0.0f;
    Scratch<double> rl((size_t)rows);
    launch("cce_kernel", cce_kernel, grid_for(rows), kThreads, dpred, rl.p, y_true, y_pred, rows, cols);
    return mean_of_rows(rl, rows);
}

float softmax_crossentropy(float* dlogits, float* probs, const float* y_true,
                           const float* logits, int64_t rows, int64_t cols) {
    if (rows <= 0) return 0.0f;
    Scratch<double> rl((size_t)rows);
    launch("softmax_ce_kernel", softmax_ce_kernel, grid_for(rows), kThreads, dlogits, probs, rl.p,
           y_true, logits, rows, cols);
    return mean_of_rows(rl, rows);
}

float sparse_categorical_crossentropy(float* dpred, const int64_t* labels, const float* y_pred,
                                      int64_t rows, int64_t cols, bool from_logits) {
    if (rows <= 0) return 0.0f;
    Scratch<int64_t> dlabels((size_t)rows);
    copy_to_device(dlabels.p, labels, (size_t)rows * sizeof(int64_t));
    Scratch<double> rl((size_t)rows);
    launch("sparse_ce_kernel", sparse_ce_kernel, grid_for(rows), kThreads, dpred, rl.p,
           (const int64_t*)dlabels.p, y_pred, rows, cols, from_logits);
    return mean_of_rows(rl, rows);
}

float binary_crossentropy(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                          int64_t cols, bool from_logits) {
    if (rows <= 0 || cols <= 0) return 0.0f;
    Scratch<double> rl((size_t)rows);
    launch("bce_kernel", bce_kernel, grid_for(rows), kThreads, dpred, rl.p, y_true, y_pred, rows,
           cols, from_logits);
    return mean_of_rows(rl, rows) / (float)cols;
}

float mean_squared_error(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                         int64_t cols) {
    if (rows <= 0 || cols <= 0) return 0.0f;
    Scratch<double> rl((size_t)rows);
    launch("mse_kernel", mse_kernel, grid_for(rows), kThreads, dpred, rl.p, y_true, y_pred, rows, cols);
    return mean_of_rows(rl, rows) / (float)cols;
}

void dropout_forward(float* y, float* mask, const float* x, int64_t n, double rate, uint64_t seed) {
    const float keep_scale = rate < 1.0 ? (float)(1.0 / (1.0 - rate)) : 0.0f;
    const uint64_t key = dropout_key(seed);
    launch("dropout_kernel", dropout_kernel, grid_for(n), kThreads, y, mask, x, n, (float)rate,
           keep_scale, key);
}

void dropout_backward(float* dx, const float* dy, const float* mask, int64_t n) {
    launch("multiply_kernel", multiply_kernel, grid_for(n), kThreads, dx, dy, mask, n);
}

void batchnorm_forward_train(float* y, float* mean, float* var, float* moving_mean,
                             float* moving_var, const float* x, const float* gamma,
                             const float* beta, int64_t M, int64_t C, float momentum, float eps) {
    Scratch<double> sum((size_t)C), sq((size_t)C);
    column_sums<double>(sum.p, Plain{x}, M, C);
    launch("bn_mean_kernel", bn_mean_kernel, grid_for(C), kThreads, mean, (const double*)sum.p, M, C);
    column_sums<double>(sq.p, Deviation2{x, mean}, M, C);
    launch("bn_var_kernel", bn_var_kernel, grid_for(C), kThreads, var, moving_mean, moving_var,
           (const float*)mean, (const double*)sq.p, M, C, momentum);
    batchnorm_forward_infer(y, x, gamma, beta, mean, var, M, C, eps);
}

void batchnorm_forward_infer(float* y, const float* x, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, int64_t M,
                             int64_t C, float eps) {
    Buffer scale((size_t)C);
    launch("bn_scale_kernel", bn_scale_kernel, grid_for(C), kThreads, scale.data(), gamma, moving_var, C, eps);
    launch("bn_normalize_kernel", bn_normalize_kernel, grid_for(M * C), kThreads, y, x,
           (const float*)scale.data(), beta, moving_mean, M, C);
}

void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                        const float* gamma, const float* mean, const float* var, int64_t M,
                        int64_t C, float eps) {
    Buffer inv_std((size_t)C), k((size_t)(3 * C));
    launch("bn_scale_kernel", bn_scale_kernel, grid_for(C), kThreads, inv_std.data(), (const float*)nullptr,
           var, C, eps);
    Scratch<double> sdy((size_t)C), sdyx((size_t)C);
    column_sums<double>(sdy.p, Plain{dy}, M, C);
    column_sums<double>(sdyx.p, DyXhat{dy, x, mean, inv_std.data()}, M, C);
    launch("bn_param_grads_kernel", bn_param_grads_kernel, grid_for(C), kThreads, dgamma, dbeta, k.data(),
           gamma, (const float*)inv_std.data(), (const double*)sdy.p, (const double*)sdyx.p, M, C);
    launch("bn_dx_kernel", bn_dx_kernel, grid_for(M * C), kThreads, dx, dy, x, mean,
           (const float*)inv_std.data(), (const float*)k.data(), M, C);
}

void sgd_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                float momentum, bool nesterov, GradPrep prep) {
    launch("sgd_kernel", sgd_kernel, grid_for(n), kThreads, param, velocity, grad, n, lr, momentum,
           nesterov, prep);
}

void adam_update(float* param, float* m, float* v, float* v_hat, const float* grad, int64_t n,
                 float lr, float beta1, float beta2, float eps, int64_t step, GradPrep prep) {
    launch("adam_kernel", adam_kernel, grid_for(n), kThreads, param, m, v, v_hat, grad, n,
           (float)adam_alpha(lr, beta1, beta2, step), beta1, beta2, eps, prep);
}

void rmsprop_update(float* param, float* velocity, float* momentum_buf, float* avg_grad,
                    const float* grad, int64_t n, float lr, float rho, float momentum,
                    float eps, bool centered, GradPrep prep) {
    launch("rmsprop_kernel", rmsprop_kernel, grid_for(n), kThreads, param, velocity, momentum_buf,
           avg_grad, grad, n, lr, rho, momentum, eps, centered, prep);
}

void adagrad_update(float* param, float* accumulator, const float* grad, int64_t n, float lr,
                    float eps, GradPrep prep) {
    launch("adagrad_kernel", adagrad_kernel, grid_for(n), kThreads, param, accumulator, grad, n, lr, eps,
           prep);
}

void adadelta_update(float* param, float* acc_grad, float* acc_delta, const float* grad,
                     int64_t n, float lr, float rho, float eps, GradPrep prep) {
    launch("adadelta_kernel", adadelta_kernel, grid_for(n), kThreads, param, acc_grad, acc_delta, grad, n,
           lr, rho, eps, prep);
}

void adamax_update(float* param, float* m, float* u, const float* grad, int64_t n, float lr,
                   float beta1, float beta2, float eps, int64_t step, GradPrep prep) {
    launch("adamax_kernel", adamax_kernel, grid_for(n), kThreads, param, m, u, grad, n, lr, beta1, beta2,
           eps, (float)bias_correction(beta1, step), prep);
}

void nadam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                  float beta1, float beta2, float eps, int64_t step, double u_product,
                  GradPrep prep) {
    launch("nadam_kernel", nadam_kernel, grid_for(n), kThreads, param, m, v, grad, n, lr, beta1, beta2,
           eps, nadam_coefficients(beta1, beta2, step, u_product), prep);
}

void ftrl_update(float* param, float* accumulator, float* linear, const float* grad, int64_t n,
                 float lr, float lr_power, float l1, float l2, float l2_shrinkage, float beta,
                 GradPrep prep) {
    launch("ftrl_kernel", ftrl_kernel, grid_for(n), kThreads, param, accumulator, linear, grad, n, lr,
           lr_power, l1, l2 + beta / (2.0f * lr), l2_shrinkage, prep);
}

void lion_update(float* param, float* m, const float* grad, int64_t n, float lr, float beta1,
                 float beta2, GradPrep prep) {
    launch("lion_kernel", lion_kernel, grid_for(n), kThreads, param, m, grad, n, lr, beta1, beta2, prep);
}

void ema_update(float* average, float* param, int64_t n, float momentum, bool overwrite) {
    launch("ema_kernel", ema_kernel, grid_for(n), kThreads, average, param, n, momentum, overwrite);
}

void accumulate_gradient(float* acc, const float* grad, int64_t n, float grad_scale,
                         float out_scale) {
    launch("accumulate_kernel", accumulate_kernel, grid_for(n), kThreads, acc, grad, n, grad_scale,
           out_scale);
}

// The CPU's blocks (kReduceRows = kReduceBlock elements) added in the same
// order, so the two devices agree to the bit.
double sum_squares(const float* x, int64_t n) {
    Scratch<double> out(1);
    column_sums<double>(out.p, Squares{x}, n, 1);
    double host = 0.0;
    copy_to_host(&host, out.p, sizeof(double));
    return host;
}

}  // namespace cuda
}  // namespace ember
