// 2-D convolution, NHWC, by im2col + GEMM (Caffe-style), with the column
// buffer tiled over the batch so that it stays in cache.
#pragma once
#include <cstdint>

namespace ember {

// Every size of one convolution. Padding is explicit (pad_top, pad_left);
// the bottom/right padding follows from the output size.
struct ConvShape {
    int64_t N, H, W, C;      // x is (N, H, W, C)
    int64_t KH, KW, F;       // kernel is (KH, KW, C, F)
    int64_t SH, SW;          // strides
    int64_t DH, DW;          // dilation
    int64_t PT, PL;          // top and left padding
    int64_t OH, OW;          // y is (N, OH, OW, F)
};

// Output size and leading padding for Keras's 'valid' / 'same' (TensorFlow
// semantics: 'same' gives ceil(in / stride) and puts the odd pixel of padding
// at the bottom/right). Returns out <= 0 when the window does not fit.
void conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, bool same,
                   int64_t* out, int64_t* pad_before);

// col is (OH*OW, KH*KW*C): row (oh*OW+ow) holds the receptive field of that
// output pixel in (kh, kw, c) order, zeros where it falls in the padding.
// x is one image (H, W, C).
void im2col(float* col, const float* x, const ConvShape& s);
// Adds each entry of dcol (OH*OW, KH*KW*C) back into dx (H, W, C).
void col2im(float* dx, const float* dcol, const ConvShape& s);

// y (N, OH, OW, F) = conv(x (N, H, W, C), kernel (KH, KW, C, F)) + bias (F,),
// followed by a ReLU when `relu` (fused into the GEMM's write-out). bias may
// be null.
void conv2d_forward(float* y, const float* x, const float* kernel, const float* bias,
                    const ConvShape& s, bool relu = false);
// Gradients of conv2d_forward. dx (N,H,W,C), dkernel (KH,KW,C,F), dbias (F,);
// any output may be null to skip it. dy is (N, OH, OW, F). When relu_y (the
// forward's output, (N, OH, OW, F)) is given, the forward had a fused ReLU
// and dy is masked where relu_y <= 0, chunk by chunk.
void conv2d_backward(float* dx, float* dkernel, float* dbias, const float* dy, const float* x,
                     const float* kernel, const ConvShape& s, const float* relu_y = nullptr);

// References: direct seven-deep loops, no im2col, no threads.
void conv2d_forward_naive(float* y, const float* x, const float* kernel, const float* bias,
                          const ConvShape& s);
void conv2d_backward_naive(float* dx, float* dkernel, float* dbias, const float* dy,
                           const float* x, const float* kernel, const ConvShape& s);

}  // namespace ember
