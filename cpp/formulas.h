// The arithmetic of one element or one row, shared by the CPU kernels and
// the CUDA kernels (cpp/cuda/kernels.cu) so that the two backends compute
// the same formulas; they differ only in how the work is spread over
// threads. Everything here is inline and callable from device code.
#pragma once
#include <math.h>

#include <cstdint>
#include <type_traits>

#include "activation.h"
#include "pool.h"

#ifdef __CUDACC__
#define EMBER_HD __host__ __device__ inline
#else
#define EMBER_HD inline
#endif

namespace ember {

constexpr float kLossEpsilon = 1e-7f;  // Keras's backend epsilon

// ---------------------------------------------------------------- activations

// Two branches keep exp() from overflowing for large |v|.
EMBER_HD float sigmoidf(float v) {
    if (v >= 0.0f) return 1.0f / (1.0f + expf(-v));
    const float e = expf(v);
    return e / (1.0f + e);
}

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// act(v); alpha is leaky_relu's negative slope or elu's alpha.
template <Act A>
EMBER_HD float activate(float v, float alpha) {
    switch (A) {
        case Act::Linear: return v;
        case Act::Relu: return v < 0.0f ? 0.0f : v;  // keeps NaN
        case Act::Sigmoid: return sigmoidf(v);
        case Act::Tanh: return tanhf(v);
        case Act::LeakyRelu: return v >= 0.0f ? v : alpha * v;
        case Act::Elu: return v > 0.0f ? v : alpha * expm1f(v);
        case Act::Gelu: return 0.5f * v * (1.0f + erff(v * kInvSqrt2));
    }
    return v;
}

// g * act'(v), v the activation's input.
template <Act A>
EMBER_HD float activate_grad(float g, float v, float alpha) {
    switch (A) {
        case Act::Linear: return g;
        case Act::Relu: return v > 0.0f ? g : 0.0f;
        case Act::Sigmoid: {
            const float s = sigmoidf(v);
            return g * s * (1.0f - s);
        }
        case Act::Tanh: {
            const float t = tanhf(v);
            return g * (1.0f - t * t);
        }
        case Act::LeakyRelu: return v >= 0.0f ? g : alpha * g;
        case Act::Elu: return v > 0.0f ? g : g * alpha * expf(v);
        case Act::Gelu: {
            const float cdf = 0.5f * (1.0f + erff(v * kInvSqrt2));
            const float pdf = kInvSqrt2Pi * expf(-0.5f * v * v);
            return g * (cdf + v * pdf);
        }
    }
    return g;
}

// Calls f(std::integral_constant<Act, A>()) with the A that act names: the
// one switch from a run-time activation to a compile-time one, so that each
// backend runs a loop (or kernel) specialised for it. Host code.
template <class F>
inline void with_activation(Act act, F f) {
    switch (act) {
        case Act::Linear: f(std::integral_constant<Act, Act::Linear>()); break;
        case Act::Relu: f(std::integral_constant<Act, Act::Relu>()); break;
        case Act::Sigmoid: f(std::integral_constant<Act, Act::Sigmoid>()); break;
        case Act::Tanh: f(std::integral_constant<Act, Act::Tanh>()); break;
        case Act::LeakyRelu: f(std::integral_constant<Act, Act::LeakyRelu>()); break;
        case Act::Elu: f(std::integral_constant<Act, Act::Elu>()); break;
        case Act::Gelu: f(std::integral_constant<Act, Act::Gelu>()); break;
    }
}

// ---------------------------------------------------------------- softmax rows

// The row's maximum, with +inf mapped to 0 (+inf logits give NaN either way).
EMBER_HD float row_max(const float* z, int64_t cols) {
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = z[c] > m ? z[c] : m;
    return m == INFINITY ? 0.0f : m;
}

EMBER_HD void softmax_row(float* y, const float* x, int64_t cols) {
    const float m = row_max(x, cols);
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
        y[c] = expf(x[c] - m);
        sum += y[c];
    }
    const float inv = 1.0f / sum;
    for (int64_t c = 0; c < cols; ++c) y[c] *= inv;
}

// d holds softmax(x) of the row and becomes y * (dy - sum(dy * y)).
EMBER_HD void softmax_backward_row(float* d, const float* g, int64_t cols) {
    float dot = 0.0f;
    for (int64_t c = 0; c < cols; ++c) dot += g[c] * d[c];
    for (int64_t c = 0; c < cols; ++c) d[c] = d[c] * (g[c] - dot);
}

// log(softmax(z)) of one row, into logp.
EMBER_HD void log_softmax_row(float* logp, const float* z, int64_t cols) {
    const float m = row_max(z, cols);
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) sum += expf(z[c] - m);
    const float lse = m + logf(sum);
    for (int64_t c = 0; c < cols; ++c) logp[c] = z[c] - lse;
}

// ---------------------------------------------------------------- loss rows
// Each writes one row's gradient of the batch mean (inv_rows = 1 / rows, or
// 1 / (rows * cols) for the element-wise losses) and returns the row's loss
// in double; the callers sum the rows in order.

EMBER_HD float clip_probability(float p) {
    return p < kLossEpsilon ? kLossEpsilon : (p > 1.0f - kLossEpsilon ? 1.0f - kLossEpsilon : p);
}

// Categorical cross-entropy on probabilities: q = clip(p / sum(p)),
// L = -sum t log q. dL/dq_c = -t_c / q_c where q is not clipped;
// dL/dp_j = (dL/dq_j - sum_c dL/dq_c * p_c / s) / s.
EMBER_HD double cce_row(float* d, const float* t, const float* p, int64_t cols, float inv_rows) {
    float s = 0.0f;
    for (int64_t c = 0; c < cols; ++c) s += p[c];
    double loss = 0.0;
    float dot = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
        const float q0 = p[c] / s, q = clip_probability(q0);
        loss -= (double)t[c] * log((double)q);
        const float g = (q0 == q) ? -t[c] / q : 0.0f;
        d[c] = g;
        dot += g * q0;
    }
    for (int64_t c = 0; c < cols; ++c) d[c] = (d[c] - dot) / s * inv_rows;
    return loss;
}

// Softmax + cross-entropy on logits z; probs (may be null) gets softmax(z).
EMBER_HD double softmax_ce_row(float* d, float* probs, const float* t, const float* z,
                               int64_t cols, float inv_rows) {
    log_softmax_row(d, z, cols);  // d holds log p for now
    double loss = 0.0;
    float tsum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
        loss -= (double)t[c] * (double)d[c];
        tsum += t[c];
    }
    for (int64_t c = 0; c < cols; ++c) {
        const float p = expf(d[c]);
        if (probs) probs[c] = p;
        d[c] = (p * tsum - t[c]) * inv_rows;
    }
    return loss;
}

// Sparse categorical cross-entropy of class k: the one-hot case of the two
// above (probabilities, scaled and clipped; or logits).
EMBER_HD double sparse_ce_row(float* d, int64_t k, const float* p, int64_t cols, float inv_rows,
                              bool from_logits) {
    if (from_logits) {
        log_softmax_row(d, p, cols);
        const double loss = -(double)d[k];
        for (int64_t c = 0; c < cols; ++c) d[c] = (expf(d[c]) - (c == k ? 1.0f : 0.0f)) * inv_rows;
        return loss;
    }
    float s = 0.0f;
    for (int64_t c = 0; c < cols; ++c) s += p[c];
    const float q0 = p[k] / s, q = clip_probability(q0);
    const float g = (q0 == q) ? -1.0f / q : 0.0f;
    const float dot = g * q0;
    for (int64_t c = 0; c < cols; ++c) d[c] = ((c == k ? g : 0.0f) - dot) / s * inv_rows;
    return -log((double)q);
}

// Binary cross-entropy, element by element: probabilities clipped to
// [eps, 1 - eps], or logits (max(z, 0) - z t + log(1 + exp(-|z|)), stable).
EMBER_HD double bce_row(float* d, const float* t, const float* z, int64_t cols, float inv_n,
                        bool from_logits) {
    double loss = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
        if (from_logits) {
            loss += (double)(fmaxf(z[c], 0.0f) - z[c] * t[c] + log1pf(expf(-fabsf(z[c]))));
            d[c] = (sigmoidf(z[c]) - t[c]) * inv_n;
        } else {
            const float p = clip_probability(z[c]);
            loss -= (double)t[c] * log((double)p) + (1.0 - t[c]) * log(1.0 - (double)p);
            d[c] = (p == z[c]) ? (-(t[c] / p) + (1.0f - t[c]) / (1.0f - p)) * inv_n : 0.0f;
        }
    }
    return loss;
}

// scale = 2 / (rows * cols).
EMBER_HD double mse_row(float* d, const float* t, const float* p, int64_t cols, float scale) {
    double loss = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
        const float e = p[c] - t[c];
        loss += (double)e * e;
        d[c] = scale * e;
    }
    return loss;
}

// ---------------------------------------------------------------- dropout

// SplitMix64's finaliser: a bijective 64-bit mix.
EMBER_HD uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

EMBER_HD uint64_t dropout_key(uint64_t seed) { return mix64(seed + 0x9e3779b97f4a7c15ULL); }

// Element i's mask value: 0, or keep_scale with probability 1 - threshold.
// 24 random bits give a uniform float in [0, 1).
EMBER_HD float dropout_mask(uint64_t key, int64_t i, float threshold, float keep_scale) {
    const float u = (float)(mix64(key ^ (uint64_t)i) >> 40) * (1.0f / 16777216.0f);
    return u >= threshold ? keep_scale : 0.0f;
}

// ---------------------------------------------------------------- optimizers
// One element of each update, Keras's formulas.

EMBER_HD void sgd_element(float& p, float* vel, float g, float lr, float momentum, bool nesterov) {
    if (momentum == 0.0f || !vel) {
        p -= lr * g;
        return;
    }
    const float v = momentum * *vel - lr * g;
    *vel = v;
    p += nesterov ? momentum * v - lr * g : v;
}

// alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t); decay = lr * weight_decay.
EMBER_HD void adam_element(float& p, float& m, float& v, float g, float alpha, float beta1,
                           float beta2, float eps, float decay) {
    if (decay != 0.0f) p -= p * decay;
    m += (g - m) * (1.0f - beta1);
    v += (g * g - v) * (1.0f - beta2);
    p -= alpha * m / (sqrtf(v) + eps);
}

EMBER_HD void rmsprop_element(float& p, float& vel, float* mom, float* avg, float g, float lr,
                              float rho, float momentum, float eps, bool centered) {
    vel = rho * vel + (1.0f - rho) * g * g;
    float denom = vel + eps;
    if (centered) {
        *avg = rho * *avg + (1.0f - rho) * g;
        denom = vel - *avg * *avg + eps;
    }
    const float inc = lr * g / sqrtf(denom);
    if (momentum > 0.0f) {
        *mom = momentum * *mom + inc;
        p -= *mom;
    } else {
        p -= inc;
    }
}

// ---------------------------------------------------------------- pooling

// Bounds of output (oh, ow)'s window, clipped to the image.
struct PoolWindow {
    int64_t h0, h1, w0, w1;
};
EMBER_HD PoolWindow pool_window(const PoolShape& s, int64_t oh, int64_t ow) {
    const int64_t h = oh * s.SH - s.PT, w = ow * s.SW - s.PL;
    return {h > 0 ? h : 0, h + s.PH < s.H ? h + s.PH : s.H, w > 0 ? w : 0,
            w + s.PW < s.W ? w + s.PW : s.W};
}

// Max pooling's selection: the first maximum wins, and a NaN once taken
// stays (branch-free, so the CPU's loop vectorizes).
EMBER_HD bool max_takes(float v, float best) { return !(v <= best) & (best == best); }

}  // namespace ember
