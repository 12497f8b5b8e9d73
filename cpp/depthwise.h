// Depthwise 2-D convolution, NHWC: each input channel is convolved with its
// own F filters (F = Keras's depth_multiplier), as DepthwiseConv2D does.
// Direct loops (a depthwise convolution has too little arithmetic per value
// for im2col + GEMM to pay); one pass over x per output row.
#pragma once
#include <cstdint>

#include "conv.h"

namespace ember {

// Rows (n, oh) per block of the kernel gradient: each block sums its own
// partial gradient, and the blocks are added in block order, so the bits do
// not depend on the thread count (nor on the device: the CUDA kernels use
// the same blocks).
constexpr int64_t kDepthwiseRows = 64;

// The sizes are a ConvShape whose F is the depth multiplier:
// x is (N, H, W, C), kernel (KH, KW, C, F), bias (C*F,),
// y (N, OH, OW, C*F) with y[..., c*F + f] from input channel c and filter f.

// y = depthwise(x, kernel) + bias; bias may be null. Each output sums its
// window in (kh, kw) order, after the bias.
void depthwise_conv2d_forward(float* y, const float* x, const float* kernel, const float* bias,
                              const ConvShape& s);
// Gradients of depthwise_conv2d_forward; any output may be null to skip it.
// dx (N, H, W, C) gathers, for each input pixel, the outputs whose window
// covers it in (kh, kw, f) order; dkernel (KH, KW, C, F) sums blocks of
// kDepthwiseRows output rows; dbias (C*F,) is column_sum of dy.
void depthwise_conv2d_backward(float* dx, float* dkernel, float* dbias, const float* dy,
                               const float* x, const float* kernel, const ConvShape& s);

// References: the definitions as plain loops, no threads.
void depthwise_conv2d_forward_naive(float* y, const float* x, const float* kernel,
                                    const float* bias, const ConvShape& s);
void depthwise_conv2d_backward_naive(float* dx, float* dkernel, float* dbias, const float* dy,
                                     const float* x, const float* kernel, const ConvShape& s);

}  // namespace ember
