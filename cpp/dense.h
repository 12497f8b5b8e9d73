// Fully connected layer: y = x @ kernel + bias, Keras layout.
#pragma once
#include <cstdint>

namespace ember {

// y (N, O) = x (N, I) @ kernel (I, O) + bias (O,), then a ReLU when `relu`
// (fused into the GEMM's write-out); bias may be null.
void dense_forward(float* y, const float* x, const float* kernel, const float* bias, int64_t N,
                   int64_t I, int64_t O, bool relu = false);
// dx (N, I) = dy @ kernel^T; dkernel (I, O) = x^T @ dy; dbias (O,) = column
// sums of dy (N, O). Any output may be null to skip it.
void dense_backward(float* dx, float* dkernel, float* dbias, const float* dy, const float* x,
                    const float* kernel, int64_t N, int64_t I, int64_t O);

// out (C,) = sum over the M rows of x (M, C), in fixed blocks of rows added in
// block order (the bias gradient of dense and conv layers).
void column_sum(float* out, const float* x, int64_t M, int64_t C);

}  // namespace ember
