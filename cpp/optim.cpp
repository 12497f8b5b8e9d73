#include "optim.h"

#include <cmath>

#include "common.h"

namespace ember {

void sgd_update(float* param, float* velocity, const float* grad, int64_t n, float lr,
                float momentum, bool nesterov) {
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) {
        if (momentum == 0.0f || !velocity) {
            param[i] -= lr * grad[i];
            continue;
        }
        const float v = momentum * velocity[i] - lr * grad[i];
        velocity[i] = v;
        param[i] += nesterov ? momentum * v - lr * grad[i] : v;
    }
}

void adam_update(float* param, float* m, float* v, const float* grad, int64_t n, float lr,
                 float beta1, float beta2, float eps, int64_t step, float weight_decay) {
    const double b1p = std::pow((double)beta1, (double)step);
    const double b2p = std::pow((double)beta2, (double)step);
    const float alpha = (float)((double)lr * std::sqrt(1.0 - b2p) / (1.0 - b1p));
    const float decay = lr * weight_decay;
    const int nt = threads_for(n * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) {
        if (decay != 0.0f) param[i] -= param[i] * decay;
        const float g = grad[i];
        m[i] += (g - m[i]) * (1.0f - beta1);
        v[i] += (g * g - v[i]) * (1.0f - beta2);
        param[i] -= alpha * m[i] / (std::sqrt(v[i]) + eps);
    }
}

void rmsprop_update(float* param, float* velocity, float* momentum_buf, float* avg_grad,
                    const float* grad, int64_t n, float lr, float rho, float momentum,
                    float eps, bool centered) {
    const int nt = threads_for(n * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) {
        const float g = grad[i];
        velocity[i] = rho * velocity[i] + (1.0f - rho) * g * g;
        float denom = velocity[i] + eps;
        if (centered) {
            avg_grad[i] = rho * avg_grad[i] + (1.0f - rho) * g;
            denom = velocity[i] - avg_grad[i] * avg_grad[i] + eps;
        }
        const float inc = lr * g / std::sqrt(denom);
        if (momentum > 0.0f) {
            momentum_buf[i] = momentum * momentum_buf[i] + inc;
            param[i] -= momentum_buf[i];
        } else {
            param[i] -= inc;
        }
    }
}

}  // namespace ember
