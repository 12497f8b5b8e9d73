// Pooling over NHWC activations: max, average (padding excluded from the
// count, as in Keras/TensorFlow) and global average.
#pragma once
#include <cstdint>

namespace ember {

struct PoolShape {
    int64_t N, H, W, C;   // x is (N, H, W, C)
    int64_t PH, PW;       // pool size
    int64_t SH, SW;       // strides
    int64_t PT, PL;       // top and left padding ('same')
    int64_t OH, OW;       // y is (N, OH, OW, C)
};

// y = max over each window; padded positions never win.
void max_pool2d_forward(float* y, const float* x, const PoolShape& s);
// dx (N,H,W,C) receives each dy at the first maximum of its window (row-major
// scan); overlapping windows add up. When x is a ReLU's output
// (`relu_input`), a window whose maximum is not positive passes no gradient:
// that is the ReLU's own gradient, fused here so that the layer before need
// not mask dx again.
void max_pool2d_backward(float* dx, const float* dy, const float* x, const PoolShape& s,
                         bool relu_input = false);

// y = mean over the window's positions inside the image.
void avg_pool2d_forward(float* y, const float* x, const PoolShape& s);
void avg_pool2d_backward(float* dx, const float* dy, const PoolShape& s);

// y (N, C) = mean over H and W of x (N, H, W, C).
void global_avg_pool2d_forward(float* y, const float* x, int64_t N, int64_t H, int64_t W,
                               int64_t C);
void global_avg_pool2d_backward(float* dx, const float* dy, int64_t N, int64_t H, int64_t W,
                                int64_t C);

}  // namespace ember
