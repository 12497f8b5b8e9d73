// In-place optimizer updates with Keras 3's formulas and defaults. Every
// array is (n,); the slot buffers (velocity, m, v, ...) persist across steps.
// Each update first prepares its gradient and decays its weight as the
// GradPrep says, then applies its own formula (cpp/formulas.h), all in one
// pass over the elements.
#pragma once
#include <cmath>
#include <cstdint>

namespace ember {

// What every optimizer does to an element before its own update, in order:
// p -= p * decay (Keras's weight decay, decay = lr * weight_decay);
// g *= scale (1 / loss_scale_factor times the clipnorm / global_clipnorm
// factor, computed on the host); then, when clip_value > 0, g is clipped to
// [-clip_value, clip_value] (clipvalue).
struct GradPrep {
    float scale = 1.0f;
    float clip_value = 0.0f;
    float decay = 0.0f;
};

// Host-side constants of one step, shared by the CPU and CUDA updates.
// 1 - beta^step, the bias correction of a moving average after `step` steps.
inline double bias_correction(float beta, int64_t step) {
    return 1.0 - std::pow((double)beta, (double)step);
}
// Adam's step size lr * sqrt(1 - beta2^step) / (1 - beta1^step).
inline double adam_alpha(float lr, float beta1, float beta2, int64_t step) {
    return (double)lr * std::sqrt(bias_correction(beta2, step)) / bias_correction(beta1, step);
}
// Nadam's cm, cg and vbias (see nadam_update below).
struct NadamCoefficients {
    float cm, cg, vbias;
};
inline NadamCoefficients nadam_coefficients(float beta1, float beta2, int64_t step, double u_product) {
    const double mu_t = (double)beta1 * (1.0 - 0.5 * std::pow(0.96, (double)step));
    const double mu_next = (double)beta1 * (1.0 - 0.5 * std::pow(0.96, (double)(step + 1)));
    return {(float)(mu_next / (1.0 - u_product * mu_next)), (float)((1.0 - mu_t) / (1.0 - u_product)),
            (float)bias_correction(beta2, step)};
}

// velocity = momentum * velocity - lr * grad;
// param += nesterov ? momentum * velocity - lr * grad : velocity.
// With momentum == 0, velocity may be null and param -= lr * grad.
void sgd_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                float momentum, bool nesterov, GradPrep prep);

// Adam (step counts from 1): m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2);
// with amsgrad (v_hat not null) v_hat = max(v_hat, v) is used in place of v;
// param -= lr * sqrt(1 - beta2^step) / (1 - beta1^step) * m / (sqrt(v) + eps).
void adam_update(float* param, float* m, float* v, float* v_hat, const float* grad, int64_t n,
                 float lr, float beta1, float beta2, float eps, int64_t step, GradPrep prep);

// RMSprop: velocity = rho v + (1 - rho) g^2; with centered, avg = rho avg +
// (1 - rho) g and the denominator is velocity - avg^2 + eps, else velocity +
// eps; increment = lr g / sqrt(denominator); with momentum > 0, mom =
// momentum mom + increment and param -= mom, else param -= increment.
void rmsprop_update(float* param, float* velocity, float* momentum_buf, float* avg_grad,
                    const float* grad, int64_t n, float lr, float rho, float momentum,
                    float eps, bool centered, GradPrep prep);

// Adagrad: accumulator += g^2; param -= lr g / sqrt(accumulator + eps).
void adagrad_update(float* param, float* accumulator, const float* grad, int64_t n, float lr,
                    float eps, GradPrep prep);

// Adadelta: acc_grad = rho acc_grad + (1 - rho) g^2;
// delta = -sqrt(acc_delta + eps) g / sqrt(acc_grad + eps);
// acc_delta = rho acc_delta + (1 - rho) delta^2; param += lr delta.
void adadelta_update(float* param, float* acc_grad, float* acc_delta, const float* grad,
                     int64_t n, float lr, float rho, float eps, GradPrep prep);

// Adamax (step from 1): m += (g - m)(1 - beta1); u = max(beta2 u, |g|);
// param -= lr m / ((1 - beta1^step)(u + eps)).
void adamax_update(float* param, float* m, float* u, const float* grad, int64_t n, float lr,
                   float beta1, float beta2, float eps, int64_t step, GradPrep prep);

// Nadam (step t from 1): mu_k = beta1 (1 - 0.5 * 0.96^k); u_product is the
// product of mu_1 .. mu_t (the caller keeps it across steps);
// m += (g - m)(1 - beta1); v += (g^2 - v)(1 - beta2);
// m_hat = mu_{t+1} m / (1 - u_product mu_{t+1}) + (1 - mu_t) g / (1 - u_product);
// param -= lr m_hat / (sqrt(v / (1 - beta2^t)) + eps).
void nadam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                  float beta1, float beta2, float eps, int64_t step, double u_product,
                  GradPrep prep);

// FTRL-proximal, Keras's form (lr_power <= 0; beta is folded into l2 as
// l2 + beta / (2 lr)): g2 = g + 2 l2_shrinkage param; new = acc + g^2;
// linear += g2 - (new^-lr_power - acc^-lr_power) / lr * param;
// param = (clip(linear, -l1, l1) - linear) / (new^-lr_power / lr + 2 l2);
// acc = new.
void ftrl_update(float* param, float* accumulator, float* linear, const float* grad, int64_t n,
                 float lr, float lr_power, float l1, float l2, float l2_shrinkage, float beta,
                 GradPrep prep);

// Lion: param -= lr sign(beta1 m + (1 - beta1) g); m = beta2 m + (1 - beta2) g.
void lion_update(float* param, float* m, const float* grad, int64_t n, float lr, float beta1,
                 float beta2, GradPrep prep);

// Exponential moving average of a weight: average = momentum average +
// (1 - momentum) param; then, with overwrite, param = average.
void ema_update(float* average, float* param, int64_t n, float momentum, bool overwrite);

// Gradient accumulation: acc = (acc + grad * grad_scale) * out_scale.
void accumulate_gradient(float* acc, const float* grad, int64_t n, float grad_scale,
                         float out_scale);

// Sum of x[i]^2 in double: blocks of kReduceBlock elements, block sums added
// in block order (the same bits for any thread count, and on CUDA).
double sum_squares(const float* x, int64_t n);

}  // namespace ember
