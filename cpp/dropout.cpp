#include "dropout.h"

#include "common.h"
#include "formulas.h"

namespace ember {


void dropout_forward(float* y, float* mask, const float* x, int64_t n, double rate,
                     uint64_t seed) {
    const float keep_scale = rate < 1.0 ? (float)(1.0 / (1.0 - rate)) : 0.0f;
    const float threshold = (float)rate;
    const uint64_t key = dropout_key(seed);
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) {
        mask[i] = dropout_mask(key, i, threshold, keep_scale);
        y[i] = x[i] * mask[i];
    }
}

void dropout_backward(float* dx, const float* dy, const float* mask, int64_t n) {
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}

}  // namespace ember
