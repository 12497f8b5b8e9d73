#include "optim.h"

#include <cmath>

#include "common.h"
#include "formulas.h"

namespace ember {

void sgd_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                float momentum, bool nesterov) {
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i)
        sgd_element(param[i], velocity ? velocity + i : nullptr, grad[i], lr, momentum, nesterov);
}

void adam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                 float beta1, float beta2, float eps, int64_t step, float weight_decay) {
    const double b1p = std::pow((double)beta1, (double)step);
    const double b2p = std::pow((double)beta2, (double)step);
    const float alpha = (float)((double)lr * std::sqrt(1.0 - b2p) / (1.0 - b1p));
    const float decay = lr * weight_decay;
    const int nt = threads_for(n * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i)
        adam_element(param[i], m[i], v[i], grad[i], alpha, beta1, beta2, eps, decay);
}

void rmsprop_update(float* param, float* velocity, float* momentum_buf, float* avg_grad,
                    const float* grad, int64_t n, float lr, float rho, float momentum,
                    float eps, bool centered) {
    const int nt = threads_for(n * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i)
        rmsprop_element(param[i], velocity[i], momentum_buf ? momentum_buf + i : nullptr,
                        avg_grad ? avg_grad + i : nullptr, grad[i], lr, rho, momentum, eps, centered);
}

}  // namespace ember
