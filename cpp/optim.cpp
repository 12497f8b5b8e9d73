#include "optim.h"

#include <cmath>

#include "common.h"
#include "formulas.h"

namespace ember {

namespace {

// f(i) for every element, spread over threads: each element is written by
// one thread only, so the result does not depend on the thread count.
template <class F>
void each_element(int64_t n, int64_t flops_per_element, F f) {
    const int nt = threads_for(n * flops_per_element);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) f(i);
}

}  // namespace

void sgd_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                float momentum, bool nesterov, GradPrep prep) {
    each_element(n, 4, [&](int64_t i) {
        sgd_element(param[i], velocity ? velocity + i : nullptr, grad[i], lr, momentum, nesterov, prep);
    });
}

void adam_update(float* param, float* m, float* v, float* v_hat, const float* grad, int64_t n,
                 float lr, float beta1, float beta2, float eps, int64_t step, GradPrep prep) {
    const float alpha = (float)adam_alpha(lr, beta1, beta2, step);
    each_element(n, 8, [&](int64_t i) {
        adam_element(param[i], m[i], v[i], v_hat ? v_hat + i : nullptr, grad[i], alpha, beta1, beta2,
                     eps, prep);
    });
}

void rmsprop_update(float* param, float* velocity, float* momentum_buf, float* avg_grad,
                    const float* grad, int64_t n, float lr, float rho, float momentum,
                    float eps, bool centered, GradPrep prep) {
    each_element(n, 8, [&](int64_t i) {
        rmsprop_element(param[i], velocity[i], momentum_buf ? momentum_buf + i : nullptr,
                        avg_grad ? avg_grad + i : nullptr, grad[i], lr, rho, momentum, eps, centered,
                        prep);
    });
}

void adagrad_update(float* param, float* accumulator, const float* grad, int64_t n, float lr,
                    float eps, GradPrep prep) {
    each_element(n, 8, [&](int64_t i) { adagrad_element(param[i], accumulator[i], grad[i], lr, eps, prep); });
}

void adadelta_update(float* param, float* acc_grad, float* acc_delta, const float* grad,
                     int64_t n, float lr, float rho, float eps, GradPrep prep) {
    each_element(n, 16, [&](int64_t i) {
        adadelta_element(param[i], acc_grad[i], acc_delta[i], grad[i], lr, rho, eps, prep);
    });
}

void adamax_update(float* param, float* m, float* u, const float* grad, int64_t n, float lr,
                   float beta1, float beta2, float eps, int64_t step, GradPrep prep) {
    const float bias = (float)bias_correction(beta1, step);
    each_element(n, 8, [&](int64_t i) {
        adamax_element(param[i], m[i], u[i], grad[i], lr, beta1, beta2, eps, bias, prep);
    });
}

void nadam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                  float beta1, float beta2, float eps, int64_t step, double u_product,
                  GradPrep prep) {
    const NadamCoefficients c = nadam_coefficients(beta1, beta2, step, u_product);
    each_element(n, 12, [&](int64_t i) {
        nadam_element(param[i], m[i], v[i], grad[i], lr, beta1, beta2, eps, c.cm, c.cg, c.vbias, prep);
    });
}

void ftrl_update(float* param, float* accumulator, float* linear, const float* grad, int64_t n,
                 float lr, float lr_power, float l1, float l2, float l2_shrinkage, float beta,
                 GradPrep prep) {
    const float l2_total = l2 + beta / (2.0f * lr);
    each_element(n, 64, [&](int64_t i) {
        ftrl_element(param[i], accumulator[i], linear[i], grad[i], lr, lr_power, l1, l2_total,
                     l2_shrinkage, prep);
    });
}

void lion_update(float* param, float* m, const float* grad, int64_t n, float lr, float beta1,
                 float beta2, GradPrep prep) {
    each_element(n, 8, [&](int64_t i) { lion_element(param[i], m[i], grad[i], lr, beta1, beta2, prep); });
}

void ema_update(float* average, float* param, int64_t n, float momentum, bool overwrite) {
    each_element(n, 4, [&](int64_t i) { ema_element(average[i], param[i], momentum, overwrite); });
}

void accumulate_gradient(float* acc, const float* grad, int64_t n, float grad_scale,
                         float out_scale) {
    each_element(n, 4, [&](int64_t i) { acc[i] = (acc[i] + grad[i] * grad_scale) * out_scale; });
}

double sum_squares(const float* x, int64_t n) {
    double out = 0.0;
    column_sums<double>(&out, n, 1, [x](int64_t r, int64_t) {
        const double v = x[r];
        return v * v;
    });
    return out;
}

}  // namespace ember
