// CUDA kernels for ember's operations. Every reduction is computed by one
// thread in a fixed order (no atomics), so results are deterministic from run
// to run, as on the CPU.
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "cuda_ops.h"

namespace ember {
namespace cuda {

namespace {

void check(cudaError_t err, const char* what) {
    if (err != cudaSuccess)
        throw std::runtime_error(std::string("CUDA call ") + what + " failed: " +
                                 cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}

void check_launch(const char* kernel) {
    check(cudaGetLastError(), kernel);
}

constexpr int kThreads = 256;

inline unsigned blocks_for(int64_t n) {
    return (unsigned)((n + kThreads - 1) / kThreads);
}

// ------------------------------------------------------------------ SGEMM
// 128x128 output tile per block, 8-deep K slices in shared memory, 8x8
// outputs per thread held in registers (256 threads).
constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;

template <bool TA, bool TB>
__global__ void sgemm_kernel(int64_t M, int64_t N, int64_t K, float alpha, const float* __restrict__ A,
                             int64_t lda, const float* __restrict__ B, int64_t ldb, float beta,
                             float* __restrict__ C, int64_t ldc, const float* __restrict__ bias,
                             bool relu) {
    __shared__ float As[BK][BM];
    __shared__ float Bs[BK][BN];
    const int tid = threadIdx.x;
    const int64_t row0 = (int64_t)blockIdx.y * BM, col0 = (int64_t)blockIdx.x * BN;
    const int tr = tid / (BN / TN), tc = tid % (BN / TN);
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

    for (int64_t k0 = 0; k0 < K; k0 += BK) {
        for (int i = tid; i < BM * BK; i += blockDim.x) {
            // Consecutive threads walk A's contiguous direction.
            const int m = TA ? i % BM : i / BK, k = TA ? i / BM : i % BK;
            const int64_t gm = row0 + m, gk = k0 + k;
            float v = 0.0f;
            if (gm < M && gk < K) v = TA ? A[gk * lda + gm] : A[gm * lda + gk];
            As[k][m] = v;
        }
        for (int i = tid; i < BK * BN; i += blockDim.x) {
            const int n = TB ? i / BK : i % BN, k = TB ? i % BK : i / BN;
            const int64_t gk = k0 + k, gn = col0 + n;
            float v = 0.0f;
            if (gk < K && gn < N) v = TB ? B[gn * ldb + gk] : B[gk * ldb + gn];
            Bs[k][n] = v;
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
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int64_t gm = row0 + tr * TM + i;
        if (gm >= M) continue;
#pragma unroll
        for (int j = 0; j < TN; ++j) {
            const int64_t gn = col0 + tc * TN + j;
            if (gn >= N) continue;
            float v = alpha * acc[i][j];
            float* c = C + gm * ldc + gn;
            if (beta != 0.0f) v += beta * *c;
            if (bias) v += bias[gn];
            if (relu) v = v < 0.0f ? 0.0f : v;
            *c = v;
        }
    }
}

// ------------------------------------------------------------------ conv helpers

// Position (n, h, w, c) of flat index idx in an (N, H, W, C) array.
struct Nhwc {
    int64_t n, h, w, c;
};
__device__ inline Nhwc unravel(int64_t idx, int64_t H, int64_t W, int64_t C) {
    return {idx / (C * W * H), (idx / (C * W)) % H, (idx / C) % W, idx % C};
}

// Grid-stride loop over [0, total).
#define EMBER_GRID_LOOP(idx, total)                                                       \
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < (total); \
         idx += (int64_t)gridDim.x * blockDim.x)

// col (N*OH*OW, KH*KW*C): one thread per element.
__global__ void im2col_kernel(float* col, const float* x, ConvShape s) {
    const int64_t K = s.KH * s.KW * s.C;
    const int64_t total = s.N * s.OH * s.OW * K;
    for (int64_t idx = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; idx < total;
         idx += (int64_t)gridDim.x * blockDim.x) {
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
        const int64_t n = p.n, ih = p.h, iw = p.w, c = p.c;
        float acc = 0.0f;
        for (int64_t kh = 0; kh < s.KH; ++kh) {
            const int64_t th = ih + s.PT - kh * s.DH;
            if (th < 0 || th % s.SH) continue;
            const int64_t oh = th / s.SH;
            if (oh >= s.OH) continue;
            for (int64_t kw = 0; kw < s.KW; ++kw) {
                const int64_t tw = iw + s.PL - kw * s.DW;
                if (tw < 0 || tw % s.SW) continue;
                const int64_t ow = tw / s.SW;
                if (ow >= s.OW) continue;
                acc += dcol[((n * s.OH + oh) * s.OW + ow) * K + (kh * s.KW + kw) * s.C + c];
            }
        }
        dx[idx] = acc;
    }
}

// out (C,) = column sums of x (M, C), each column summed by one thread in
// row order.
__global__ void column_sum_kernel(float* out, const float* x, int64_t M, int64_t C) {
    const int64_t c = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (c >= C) return;
    float acc = 0.0f;
    for (int64_t r = 0; r < M; ++r) acc += x[r * C + c];
    out[c] = acc;
}

// ------------------------------------------------------------------ pooling

__device__ inline bool takes(float v, float best) { return !(v <= best) && best == best; }

__global__ void max_pool_forward_kernel(float* y, const float* x, PoolShape s) {
    EMBER_GRID_LOOP(idx, s.N * s.OH * s.OW * s.C) {
        const Nhwc p = unravel(idx, s.OH, s.OW, s.C);
        const int64_t n = p.n, oh = p.h, ow = p.w, c = p.c;
        const int64_t h0 = oh * s.SH - s.PT, w0 = ow * s.SW - s.PL;
        float best = -INFINITY;
        for (int64_t h = max(h0, (int64_t)0); h < min(h0 + s.PH, s.H); ++h)
            for (int64_t w = max(w0, (int64_t)0); w < min(w0 + s.PW, s.W); ++w) {
                const float v = x[((n * s.H + h) * s.W + w) * s.C + c];
                if (takes(v, best)) best = v;
            }
        y[idx] = best;
    }
}

// Gather form: each input element adds dy of every window whose first
// maximum it is, windows in (oh, ow) order.
__global__ void max_pool_backward_kernel(float* dx, const float* dy, const float* x, PoolShape s) {
    EMBER_GRID_LOOP(idx, s.N * s.H * s.W * s.C) {
        const Nhwc p = unravel(idx, s.H, s.W, s.C);
        const int64_t n = p.n, ih = p.h, iw = p.w, c = p.c;
        float acc = 0.0f;
        for (int64_t oh = 0; oh < s.OH; ++oh) {
            const int64_t h0 = oh * s.SH - s.PT;
            if (ih < h0 || ih >= h0 + s.PH) continue;
            for (int64_t ow = 0; ow < s.OW; ++ow) {
                const int64_t w0 = ow * s.SW - s.PL;
                if (iw < w0 || iw >= w0 + s.PW) continue;
                float best = -INFINITY;
                int64_t arg_h = -1, arg_w = -1;
                for (int64_t h = max(h0, (int64_t)0); h < min(h0 + s.PH, s.H); ++h)
                    for (int64_t w = max(w0, (int64_t)0); w < min(w0 + s.PW, s.W); ++w) {
                        const float v = x[((n * s.H + h) * s.W + w) * s.C + c];
                        if (arg_h < 0 || takes(v, best)) { best = v; arg_h = h; arg_w = w; }
                    }
                if (arg_h == ih && arg_w == iw) acc += dy[((n * s.OH + oh) * s.OW + ow) * s.C + c];
            }
        }
        dx[idx] = acc;
    }
}

// ------------------------------------------------------------------ element-wise

__device__ inline float sigmoidf(float v) {
    return v >= 0.0f ? 1.0f / (1.0f + expf(-v)) : expf(v) / (1.0f + expf(v));
}

__global__ void activation_forward_kernel(float* y, const float* x, int64_t n, int act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const float v = x[i];
        y[i] = act == 1 ? (v < 0.0f ? 0.0f : v) : act == 2 ? sigmoidf(v) : act == 3 ? tanhf(v) : v;
    }
}

__global__ void activation_backward_kernel(float* dx, const float* dy, const float* x, int64_t n,
                                           int act) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const float v = x[i], g = dy[i];
        if (act == 1) dx[i] = v > 0.0f ? g : 0.0f;
        else if (act == 2) { const float s = sigmoidf(v); dx[i] = g * s * (1.0f - s); }
        else if (act == 3) { const float t = tanhf(v); dx[i] = g * (1.0f - t * t); }
        else dx[i] = g;
    }
}

// One thread per row (rows are short: class scores).
__global__ void softmax_kernel(float* y, const float* x, int64_t rows, int64_t cols) {
    const int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* in = x + r * cols;
    float* out = y + r * cols;
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = fmaxf(m, in[c]);
    if (isinf(m) && m > 0) m = 0.0f;
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) { out[c] = expf(in[c] - m); sum += out[c]; }
    for (int64_t c = 0; c < cols; ++c) out[c] /= sum;
}

__global__ void softmax_ce_kernel(float* dz, float* probs, float* row_loss, const float* t,
                                  const float* z, int64_t rows, int64_t cols) {
    const int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float* zr = z + r * cols;
    const float* tr = t + r * cols;
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = fmaxf(m, zr[c]);
    if (isinf(m) && m > 0) m = 0.0f;
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) sum += expf(zr[c] - m);
    const float lse = m + logf(sum);
    float loss = 0.0f, tsum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) { loss -= tr[c] * (zr[c] - lse); tsum += tr[c]; }
    row_loss[r] = loss;
    const float inv_rows = 1.0f / (float)rows;
    for (int64_t c = 0; c < cols; ++c) {
        const float p = expf(zr[c] - lse);
        if (probs) probs[r * cols + c] = p;
        dz[r * cols + c] = (p * tsum - tr[c]) * inv_rows;
    }
}

__global__ void adam_kernel(float* p, float* m, float* v, const float* g, int64_t n, float alpha,
                            float beta1, float beta2, float eps) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        const float gi = g[i];
        m[i] += (gi - m[i]) * (1.0f - beta1);
        v[i] += (gi * gi - v[i]) * (1.0f - beta2);
        p[i] -= alpha * m[i] / (sqrtf(v[i]) + eps);
    }
}

unsigned grid_for(int64_t n) {
    const int64_t b = (n + kThreads - 1) / kThreads;
    return (unsigned)(b < 65535 * 16 ? (b > 0 ? b : 1) : 65535 * 16);
}

}  // namespace

// ------------------------------------------------------------------ host side

bool available() {
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

std::string device_name() {
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    cudaDeviceProp prop;
    check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties");
    return prop.name;
}

Buffer::Buffer(size_t n) : n_(n) {
    if (n) check(cudaMalloc(&ptr_, n * sizeof(float)), "cudaMalloc");
}
Buffer::~Buffer() { reset(); }
void Buffer::reset() noexcept {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    n_ = 0;
}
void Buffer::upload(const float* host, size_t n) {
    if (n) check(cudaMemcpy(ptr_, host, n * sizeof(float), cudaMemcpyHostToDevice), "cudaMemcpy (to device)");
}
void Buffer::download(float* host, size_t n) const {
    if (n) check(cudaMemcpy(host, ptr_, n * sizeof(float), cudaMemcpyDeviceToHost), "cudaMemcpy (to host)");
}

void synchronize() { check(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

void gemm(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K,
          bool trans_a, bool trans_b, float alpha, float beta, int64_t lda, int64_t ldb,
          int64_t ldc, const float* bias, bool relu) {
    if (M <= 0 || N <= 0) return;
    const dim3 grid((unsigned)((N + BN - 1) / BN), (unsigned)((M + BM - 1) / BM));
    const dim3 block((BM / TM) * (BN / TN));
    if (!trans_a && !trans_b) sgemm_kernel<false, false><<<grid, block>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
    else if (trans_a && !trans_b) sgemm_kernel<true, false><<<grid, block>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
    else if (!trans_a && trans_b) sgemm_kernel<false, true><<<grid, block>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
    else sgemm_kernel<true, true><<<grid, block>>>(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, relu);
    check_launch("sgemm_kernel");
}

__global__ void fill_kernel(float* p, int64_t n, float scale) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        p[i] = scale * (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f * scale;
}

double benchmark_gemm(int64_t M, int64_t N, int64_t K, int reps) {
    Buffer a((size_t)(M * K)), b((size_t)(K * N)), c((size_t)(M * N));
    fill_kernel<<<grid_for(M * K), kThreads>>>(a.data(), M * K, 1.0f);
    fill_kernel<<<grid_for(K * N), kThreads>>>(b.data(), K * N, 1.0f);
    check_launch("fill_kernel");
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

void conv2d_forward(float* y, float* col, const float* x, const float* kernel, const float* bias,
                    const ConvShape& s, bool relu) {
    const int64_t K = s.KH * s.KW * s.C, rows = s.N * s.OH * s.OW;
    im2col_kernel<<<grid_for(rows * K), kThreads>>>(col, x, s);
    check_launch("im2col_kernel");
    gemm(y, col, kernel, rows, s.F, K, false, false, 1.0f, 0.0f, K, s.F, s.F, bias, relu);
}

void conv2d_backward(float* dx, float* dkernel, float* dbias, float* col, float* dcol,
                     const float* dy, const float* x, const float* kernel, const ConvShape& s) {
    const int64_t K = s.KH * s.KW * s.C, rows = s.N * s.OH * s.OW;
    im2col_kernel<<<grid_for(rows * K), kThreads>>>(col, x, s);
    check_launch("im2col_kernel");
    gemm(dkernel, col, dy, K, s.F, rows, true, false, 1.0f, 0.0f, K, s.F, s.F);
    if (dbias) {
        column_sum_kernel<<<blocks_for(s.F), kThreads>>>(dbias, dy, rows, s.F);
        check_launch("column_sum_kernel");
    }
    if (dx) {
        gemm(dcol, dy, kernel, rows, K, s.F, false, true, 1.0f, 0.0f, s.F, s.F, K);
        col2im_kernel<<<grid_for(s.N * s.H * s.W * s.C), kThreads>>>(dx, dcol, s);
        check_launch("col2im_kernel");
    }
}

void max_pool2d_forward(float* y, const float* x, const PoolShape& s) {
    max_pool_forward_kernel<<<grid_for(s.N * s.OH * s.OW * s.C), kThreads>>>(y, x, s);
    check_launch("max_pool_forward_kernel");
}

void max_pool2d_backward(float* dx, const float* dy, const float* x, const PoolShape& s) {
    max_pool_backward_kernel<<<grid_for(s.N * s.H * s.W * s.C), kThreads>>>(dx, dy, x, s);
    check_launch("max_pool_backward_kernel");
}

void activation_forward(float* y, const float* x, int64_t n, int act) {
    activation_forward_kernel<<<grid_for(n), kThreads>>>(y, x, n, act);
    check_launch("activation_forward_kernel");
}

void activation_backward(float* dx, const float* dy, const float* x, int64_t n, int act) {
    activation_backward_kernel<<<grid_for(n), kThreads>>>(dx, dy, x, n, act);
    check_launch("activation_backward_kernel");
}

void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
    softmax_kernel<<<blocks_for(rows), kThreads>>>(y, x, rows, cols);
    check_launch("softmax_kernel");
}

void softmax_crossentropy(float* dlogits, float* probs, float* row_loss, const float* y_true,
                          const float* logits, int64_t rows, int64_t cols) {
    softmax_ce_kernel<<<blocks_for(rows), kThreads>>>(dlogits, probs, row_loss, y_true, logits, rows, cols);
    check_launch("softmax_ce_kernel");
}

void adam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                 float beta1, float beta2, float eps, int64_t step) {
    const double alpha = (double)lr * std::sqrt(1.0 - std::pow((double)beta2, (double)step)) /
                         (1.0 - std::pow((double)beta1, (double)step));
    adam_kernel<<<grid_for(n), kThreads>>>(param, m, v, grad, n, (float)alpha, beta1, beta2, eps);
    check_launch("adam_kernel");
}

}  // namespace cuda
}  // namespace ember
