#include "batchnorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

namespace ember {

namespace {

void normalize(float* y, const float* x, const float* gamma, const float* beta,
               const float* mean, const float* var, int64_t M, int64_t C, float eps) {
    // (x - mean) * scale + beta, as Keras computes it: folding the mean into
    // the shift (x * scale + shift) cancels catastrophically when |mean| is
    // large next to the spread.
    std::vector<float> scale(C);
    for (int64_t c = 0; c < C; ++c) scale[c] = gamma[c] / std::sqrt(var[c] + eps);
    const int nt = threads_for(M * C * 2);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < M; ++r)
        for (int64_t c = 0; c < C; ++c) y[r * C + c] = (x[r * C + c] - mean[c]) * scale[c] + beta[c];
}

}  // namespace

void batchnorm_forward_train(float* y, float* mean, float* var, float* moving_mean,
                             float* moving_var, const float* x, const float* gamma,
                             const float* beta, int64_t M, int64_t C, float momentum, float eps) {
    std::vector<double> sum(C), sq(C);
    column_sums<double>(sum.data(), M, C, [&](int64_t r, int64_t c) { return (double)x[r * C + c]; });
    for (int64_t c = 0; c < C; ++c) mean[c] = M > 0 ? (float)(sum[c] / (double)M) : 0.0f;
    column_sums<double>(sq.data(), M, C, [&](int64_t r, int64_t c) {
        const double d = (double)x[r * C + c] - (double)mean[c];
        return d * d;
    });
    for (int64_t c = 0; c < C; ++c) {
        var[c] = M > 0 ? (float)(sq[c] / (double)M) : 0.0f;
        moving_mean[c] = moving_mean[c] * momentum + mean[c] * (1.0f - momentum);
        moving_var[c] = moving_var[c] * momentum + var[c] * (1.0f - momentum);
    }
    normalize(y, x, gamma, beta, mean, var, M, C, eps);
}

void batchnorm_forward_infer(float* y, const float* x, const float* gamma, const float* beta,
                             const float* moving_mean, const float* moving_var, int64_t M,
                             int64_t C, float eps) {
    normalize(y, x, gamma, beta, moving_mean, moving_var, M, C, eps);
}

void batchnorm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                        const float* gamma, const float* mean, const float* var, int64_t M,
                        int64_t C, float eps) {
    std::vector<float> inv_std(C);
    for (int64_t c = 0; c < C; ++c) inv_std[c] = 1.0f / std::sqrt(var[c] + eps);
    std::vector<double> sdy(C), sdyx(C);
    column_sums<double>(sdy.data(), M, C, [&](int64_t r, int64_t c) { return (double)dy[r * C + c]; });
    column_sums<double>(sdyx.data(), M, C, [&](int64_t r, int64_t c) {
        return (double)dy[r * C + c] * ((double)x[r * C + c] - mean[c]) * inv_std[c];
    });
    std::vector<float> k1(C), k2(C), k3(C);
    for (int64_t c = 0; c < C; ++c) {
        dbeta[c] = (float)sdy[c];
        dgamma[c] = (float)sdyx[c];
        // dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat))
        k1[c] = gamma[c] * inv_std[c];
        k2[c] = M > 0 ? (float)(sdy[c] / (double)M) : 0.0f;
        k3[c] = M > 0 ? (float)(sdyx[c] / (double)M) : 0.0f;
    }
    const int nt = threads_for(M * C * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < M; ++r)
        for (int64_t c = 0; c < C; ++c) {
            const float xhat = (x[r * C + c] - mean[c]) * inv_std[c];
            dx[r * C + c] = k1[c] * (dy[r * C + c] - k2[c] - xhat * k3[c]);
        }
}

}  // namespace ember
