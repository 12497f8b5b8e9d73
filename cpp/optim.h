// In-place optimizer updates with Keras 3's formulas and defaults. Every
// array is (n,); the slot buffers (velocity, m, v, ...) persist across steps.
#pragma once
#include <cstdint>

namespace ember {

// velocity = momentum * velocity - lr * grad;
// param += nesterov ? momentum * velocity - lr * grad : velocity.
// With momentum == 0, velocity may be null and param -= lr * grad.
void sgd_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                float momentum, bool nesterov);

// Adam (step counts from 1): m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2);
// param -= lr * sqrt(1 - beta2^step) / (1 - beta1^step) * m / (sqrt(v) + eps).
// weight_decay > 0 first applies param -= lr * weight_decay * param (AdamW).
void adam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                 float beta1, float beta2, float eps, int64_t step, float weight_decay);

// RMSprop: velocity = rho v + (1 - rho) g^2; with centered, avg = rho avg +
// (1 - rho) g and the denominator is velocity - avg^2 + eps, else velocity +
// eps; increment = lr g / sqrt(denominator); with momentum > 0, mom =
// momentum mom + increment and param -= mom, else param -= increment.
void rmsprop_update(float* param, float* velocity, float* momentum_buf, float* avg_grad,
                    const float* grad, int64_t n, float lr, float rho, float momentum,
                    float eps, bool centered);

}  // namespace ember
