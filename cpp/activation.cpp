#include "activation.h"

#include <cmath>
#include <vector>

#include "common.h"

namespace ember {

namespace {

inline float sigmoid(float v) {
    // Two branches keep exp() from overflowing for large |v|.
    if (v >= 0.0f) return 1.0f / (1.0f + std::exp(-v));
    const float e = std::exp(v);
    return e / (1.0f + e);
}

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

template <class F>
void map(float* y, const float* x, int64_t n, F f) {
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class F>
void map2(float* dx, const float* dy, const float* x, int64_t n, F f) {
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) dx[i] = f(dy[i], x[i]);
}

}  // namespace

void activation_forward(float* y, const float* x, int64_t n, Act act, float alpha) {
    switch (act) {
        case Act::Linear: map(y, x, n, [](float v) { return v; }); break;
        case Act::Relu: map(y, x, n, [](float v) { return v < 0.0f ? 0.0f : v; }); break;  // keeps NaN
        case Act::Sigmoid: map(y, x, n, [](float v) { return sigmoid(v); }); break;
        case Act::Tanh: map(y, x, n, [](float v) { return std::tanh(v); }); break;
        case Act::LeakyRelu: map(y, x, n, [alpha](float v) { return v >= 0.0f ? v : alpha * v; }); break;
        case Act::Elu: map(y, x, n, [alpha](float v) { return v > 0.0f ? v : alpha * std::expm1(v); }); break;
        case Act::Gelu:
            map(y, x, n, [](float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); });
            break;
    }
}

void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Act act,
                         float alpha) {
    switch (act) {
        case Act::Linear: map2(dx, dy, x, n, [](float g, float) { return g; }); break;
        case Act::Relu: map2(dx, dy, x, n, [](float g, float v) { return v > 0.0f ? g : 0.0f; }); break;
        case Act::Sigmoid:
            map2(dx, dy, x, n, [](float g, float v) { float s = sigmoid(v); return g * s * (1.0f - s); });
            break;
        case Act::Tanh:
            map2(dx, dy, x, n, [](float g, float v) { float t = std::tanh(v); return g * (1.0f - t * t); });
            break;
        case Act::LeakyRelu:
            map2(dx, dy, x, n, [alpha](float g, float v) { return v >= 0.0f ? g : alpha * g; });
            break;
        case Act::Elu:
            map2(dx, dy, x, n, [alpha](float g, float v) { return v > 0.0f ? g : g * alpha * std::exp(v); });
            break;
        case Act::Gelu:
            map2(dx, dy, x, n, [](float g, float v) {
                const float cdf = 0.5f * (1.0f + std::erf(v * kInvSqrt2));
                const float pdf = kInvSqrt2Pi * std::exp(-0.5f * v * v);
                return g * (cdf + v * pdf);
            });
            break;
    }
}

void relu_backward_from_output(float* dx, const float* dy, const float* y, int64_t n) {
    map2(dx, dy, y, n, [](float g, float v) { return v > 0.0f ? g : 0.0f; });
}

void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
    const int nt = threads_for(rows * cols * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; ++r) {
        const float* in = x + r * cols;
        float* out = y + r * cols;
        float m = -INFINITY;
        for (int64_t c = 0; c < cols; ++c) m = in[c] > m ? in[c] : m;
        if (std::isinf(m) && m > 0) m = 0.0f;  // +inf logits give NaN either way
        float sum = 0.0f;
        for (int64_t c = 0; c < cols; ++c) {
            out[c] = std::exp(in[c] - m);
            sum += out[c];
        }
        const float inv = 1.0f / sum;
        for (int64_t c = 0; c < cols; ++c) out[c] *= inv;
    }
}

void softmax_backward(float* dx, const float* dy, const float* x, int64_t rows, int64_t cols) {
    softmax_forward(dx, x, rows, cols);  // dx holds y until it is overwritten row by row
    const int nt = threads_for(rows * cols * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; ++r) {
        float* d = dx + r * cols;
        const float* g = dy + r * cols;
        float dot = 0.0f;
        for (int64_t c = 0; c < cols; ++c) dot += g[c] * d[c];
        for (int64_t c = 0; c < cols; ++c) d[c] = d[c] * (g[c] - dot);
    }
}

}  // namespace ember
