// CUDA twins of cpp/depthwise.cpp: one thread per output value for the
// forward and for the input gradient (a gather in the CPU's order, no
// atomics); the kernel gradient sums the CPU's blocks of kDepthwiseRows
// output rows, one thread per (block, kernel value), then adds the blocks
// in order.
#include "cuda_ops.h"
#include "runtime.h"

namespace ember {
namespace cuda {

namespace {

// y (N, OH, OW, C*F): each value sums its window in (kh, kw) order after the bias.
__global__ void depthwise_forward_kernel(float* y, const float* x, const float* kernel,
                                         const float* bias, ConvShape s) {
    const int64_t CF = s.C * s.F;
    EMBER_GRID_LOOP(idx, s.N * s.OH * s.OW * CF) {
        const int64_t j = idx % CF, c = j / s.F, ow = (idx / CF) % s.OW;
        const int64_t oh = (idx / (CF * s.OW)) % s.OH, n = idx / (CF * s.OW * s.OH);
        float acc = bias ? bias[j] : 0.0f;
        for (int64_t kh = 0; kh < s.KH; ++kh) {
            const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
            if (ih < 0 || ih >= s.H) continue;
            for (int64_t kw = 0; kw < s.KW; ++kw) {
                const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                if (iw < 0 || iw >= s.W) continue;
                acc += x[((n * s.H + ih) * s.W + iw) * s.C + c] * kernel[(kh * s.KW + kw) * CF + j];
            }
        }
        y[idx] = acc;
    }
}

// dx (N, H, W, C): the outputs whose window covers this pixel, in (kh, kw, f) order.
__global__ void depthwise_input_grad_kernel(float* dx, const float* dy, const float* kernel,
                                            ConvShape s) {
    const int64_t CF = s.C * s.F;
    EMBER_GRID_LOOP(idx, s.N * s.H * s.W * s.C) {
        const int64_t c = idx % s.C, iw = (idx / s.C) % s.W;
        const int64_t ih = (idx / (s.C * s.W)) % s.H, n = idx / (s.C * s.W * s.H);
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
                const float* g = dy + ((n * s.OH + oh) * s.OW + ow) * CF + c * s.F;
                const float* k = kernel + (kh * s.KW + kw) * CF + c * s.F;
                for (int64_t f = 0; f < s.F; ++f) acc += g[f] * k[f];
            }
        }
        dx[idx] = acc;
    }
}

// parts (nblocks, KH*KW*C*F): block b's sum over its rows (n, oh) and ow, in that order.
__global__ void depthwise_kernel_grad_blocks(float* parts, const float* dy, const float* x,
                                             ConvShape s, int64_t nblocks) {
    const int64_t CF = s.C * s.F, KN = s.KH * s.KW * CF, rows = s.N * s.OH;
    EMBER_GRID_LOOP(idx, nblocks * KN) {
        const int64_t b = idx / KN, q = idx % KN;
        const int64_t j = q % CF, c = j / s.F, kw = (q / CF) % s.KW, kh = q / (CF * s.KW);
        const int64_t r1 = min(rows, (b + 1) * kDepthwiseRows);
        float acc = 0.0f;
        for (int64_t r = b * kDepthwiseRows; r < r1; ++r) {
            const int64_t n = r / s.OH, oh = r % s.OH;
            const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
            if (ih < 0 || ih >= s.H) continue;
            for (int64_t ow = 0; ow < s.OW; ++ow) {
                const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                if (iw < 0 || iw >= s.W) continue;
                acc += x[((n * s.H + ih) * s.W + iw) * s.C + c] * dy[(r * s.OW + ow) * CF + j];
            }
        }
        parts[idx] = acc;
    }
}

// dkernel (KN) = the blocks' partial sums added in block order.
__global__ void depthwise_sum_blocks(float* dkernel, const float* parts, int64_t nblocks, int64_t KN) {
    EMBER_GRID_LOOP(i, KN) {
        float acc = parts[i];
        for (int64_t b = 1; b < nblocks; ++b) acc += parts[b * KN + i];
        dkernel[i] = acc;
    }
}

}  // namespace

void depthwise_conv2d_forward(float* y, const float* x, const float* kernel, const float* bias,
                              const ConvShape& s) {
    const int64_t total = s.N * s.OH * s.OW * s.C * s.F;
    launch("depthwise_forward_kernel", depthwise_forward_kernel, grid_for(total), kThreads, y, x,
           kernel, bias, s);
}

void depthwise_conv2d_backward(float* dx, float* dkernel, float* dbias, const float* dy,
                               const float* x, const float* kernel, const ConvShape& s) {
    const int64_t CF = s.C * s.F, KN = s.KH * s.KW * CF;
    if (dbias) column_sum(dbias, dy, s.N * s.OH * s.OW, CF);
    if (dx)
        launch("depthwise_input_grad_kernel", depthwise_input_grad_kernel,
               grid_for(s.N * s.H * s.W * s.C), kThreads, dx, dy, kernel, s);
    if (dkernel) {
        const int64_t rows = s.N * s.OH;
        const int64_t nblocks = rows > 0 ? (rows + kDepthwiseRows - 1) / kDepthwiseRows : 1;
        Buffer parts((size_t)(nblocks * KN));
        launch("depthwise_kernel_grad_blocks", depthwise_kernel_grad_blocks, grid_for(nblocks * KN),
               kThreads, parts.data(), dy, x, s, nblocks);
        launch("depthwise_sum_blocks", depthwise_sum_blocks, grid_for(KN), kThreads, dkernel,
               (const float*)parts.data(), nblocks, KN);
    }
}

}  // namespace cuda
}  // namespace ember
