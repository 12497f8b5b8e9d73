// Batch normalisation over the last axis: x is viewed as (M, C) where C is the
// channel axis and M every other position (N*H*W for NHWC). Keras semantics:
// biased batch variance, moving = moving * momentum + batch * (1 - momentum).
#pragma once
#include <cstdint>

namespace ember {

// Training mode. y (M, C) = gamma * (x - mean) / sqrt(var + eps) + beta with
// the batch's mean and var (C,), which are written out; moving_mean and
// moving_var (C,) are updated in place. Sums run over fixed blocks of rows
// combined in order, so the bits do not depend on the thread count.
void batchnorm_forward_train(float* y, float* mean, float* var, float* moving_mean,
                             float* moving_var, const float* x, const float* gamma,
                             const float* beta, int64_t M, int64_t C, float momentum, float eps);
// Inference mode: normalises with moving_mean and moving_var.
void batchnorm_forward_infer(float* y, const float* x, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, int64_t M,
                             int64_t C, float eps);
// Gradients of the training-mode forward: dx (M, C), dgamma (C,), dbeta (C,).
// mean and var are the batch statistics the forward wrote.
void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                        const float* gamma, const float* mean, const float* var, int64_t M,
                        int64_t C, float eps);

}  // namespace ember
