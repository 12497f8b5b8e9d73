#include "dropout.h"

#include "common.h"

namespace ember {

namespace {
// SplitMix64's finaliser: a bijective 64-bit mix.
inline uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
}  // namespace

void dropout_forward(float* y, float* mask, const float* x, int64_t n, double rate,
                     uint64_t seed) {
    const float keep_scale = rate < 1.0 ? (float)(1.0 / (1.0 - rate)) : 0.0f;
    const float threshold = (float)rate;
    const uint64_t key = mix(seed + 0x9e3779b97f4a7c15ULL);
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) {
        // 24 random bits give a uniform float in [0, 1).
        const float u = (float)(mix(key ^ (uint64_t)i) >> 40) * (1.0f / 16777216.0f);
        mask[i] = u >= threshold ? keep_scale : 0.0f;
        y[i] = x[i] * mask[i];
    }
}

void dropout_backward(float* dx, const float* dy, const float* mask, int64_t n) {
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * mask[i];
}

}  // namespace ember
