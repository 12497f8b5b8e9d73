// Element-wise activations and row-wise softmax, forward and backward.
// Every backward takes the output gradient dy and the forward's input x.
#pragma once
#include <cstdint>

namespace ember {

enum class Act { Linear, Relu, Sigmoid, Tanh, LeakyRelu, Elu, Gelu };

// y (n) = act(x (n)); `alpha` is leaky_relu's negative slope or elu's alpha.
void activation_forward(float* y, const float* x, int64_t n, Act act, float alpha);
// dx (n) = dy * act'(x).
void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Act act,
                         float alpha);

// dx = dy where y > 0 else 0: ReLU's gradient from its output, which saves
// keeping the input alive (y > 0 exactly where x > 0).
void relu_backward_from_output(float* dx, const float* dy, const float* y, int64_t n);

// Softmax over the last axis: x and y are (rows, cols). Subtracts each row's
// maximum first, so large logits do not overflow.
void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols);
// dx = y * (dy - sum(dy * y)) per row, with y recomputed from x.
void softmax_backward(float* dx, const float* dy, const float* x, int64_t rows, int64_t cols);

}  // namespace ember
