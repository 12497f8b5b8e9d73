// The arithmetic of one element or one row, shared by the CPU kernels and
// the CUDA kernels (cpp/cuda/kernels.cu) so that the two backends compute
// the same formulas; they differ only in how the work is spread over
// threads. Everything here is inline and callable from device code.
#pragma once
#include <math.h>

#include <cstdint>
#include <type_traits>
#include <utility>

#include "activation.h"
#include "optim.h"
#include "pool.h"
#include "tensor_ops.h"

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
// One element of each update, Keras's formulas (see optim.h). Each starts
// with prepare(), which decays the weight and returns the prepared gradient.

EMBER_HD float prepare(float& p, float g, const GradPrep& gp) {
    if (gp.decay != 0.0f) p -= p * gp.decay;
    g *= gp.scale;
    if (gp.clip_value > 0.0f) g = g < -gp.clip_value ? -gp.clip_value : (g > gp.clip_value ? gp.clip_value : g);
    return g;
}

EMBER_HD void sgd_element(float& p, float* vel, float g, float lr, float momentum, bool nesterov,
                          const GradPrep& gp) {
    g = prepare(p, g, gp);
    if (momentum == 0.0f || !vel) {
        p -= lr * g;
        return;
    }
    const float v = momentum * *vel - lr * g;
    *vel = v;
    p += nesterov ? momentum * v - lr * g : v;
}

// alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t); vhat null without amsgrad.
EMBER_HD void adam_element(float& p, float& m, float& v, float* vhat, float g, float alpha,
                           float beta1, float beta2, float eps, const GradPrep& gp) {
    g = prepare(p, g, gp);
    m += (g - m) * (1.0f - beta1);
    v += (g * g - v) * (1.0f - beta2);
    float den = v;
    if (vhat) {
        *vhat = fmaxf(*vhat, v);
        den = *vhat;
    }
    p -= m * alpha / (sqrtf(den) + eps);
}

EMBER_HD void rmsprop_element(float& p, float& vel, float* mom, float* avg, float g, float lr,
                              float rho, float momentum, float eps, bool centered,
                              const GradPrep& gp) {
    g = prepare(p, g, gp);
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

EMBER_HD void adagrad_element(float& p, float& acc, float g, float lr, float eps, const GradPrep& gp) {
    g = prepare(p, g, gp);
    acc += g * g;
    p -= lr * g / sqrtf(acc + eps);
}

EMBER_HD void adadelta_element(float& p, float& acc_g, float& acc_d, float g, float lr, float rho,
                               float eps, const GradPrep& gp) {
    g = prepare(p, g, gp);
    acc_g = rho * acc_g + (1.0f - rho) * (g * g);
    const float delta = -(sqrtf(acc_d + eps) * g) / sqrtf(acc_g + eps);
    acc_d = rho * acc_d + (1.0f - rho) * (delta * delta);
    p += lr * delta;
}

// bias = 1 - beta1^t.
EMBER_HD void adamax_element(float& p, float& m, float& u, float g, float lr, float beta1,
                             float beta2, float eps, float bias, const GradPrep& gp) {
    g = prepare(p, g, gp);
    m += (g - m) * (1.0f - beta1);
    u = fmaxf(beta2 * u, fabsf(g));
    p -= lr * m / (bias * (u + eps));
}

// cm = mu_{t+1} / (1 - u_product mu_{t+1}); cg = (1 - mu_t) / (1 - u_product);
// vbias = 1 - beta2^t.
EMBER_HD void nadam_element(float& p, float& m, float& v, float g, float lr, float beta1,
                            float beta2, float eps, float cm, float cg, float vbias,
                            const GradPrep& gp) {
    g = prepare(p, g, gp);
    m += (g - m) * (1.0f - beta1);
    v += (g * g - v) * (1.0f - beta2);
    const float m_hat = cm * m + cg * g;
    p -= m_hat * lr / (sqrtf(v / vbias) + eps);
}

// l2 already includes beta / (2 lr).
EMBER_HD void ftrl_element(float& p, float& acc, float& lin, float g, float lr, float lr_power,
                           float l1, float l2, float l2_shrinkage, const GradPrep& gp) {
    g = prepare(p, g, gp);
    const float g_shrunk = g + 2.0f * l2_shrinkage * p;
    const float acc_new = acc + g * g;
    const float pow_new = powf(acc_new, -lr_power);
    lin += g_shrunk - (pow_new - powf(acc, -lr_power)) / lr * p;
    const float quadratic = pow_new / lr + 2.0f * l2;
    const float clipped = lin < -l1 ? -l1 : (lin > l1 ? l1 : lin);
    p = (clipped - lin) / quadratic;
    acc = acc_new;
}

EMBER_HD void lion_element(float& p, float& m, float g, float lr, float beta1, float beta2,
                           const GradPrep& gp) {
    g = prepare(p, g, gp);
    const float c = m * beta1 + g * (1.0f - beta1);
    p -= lr * (float)((c > 0.0f) - (c < 0.0f));
    m = m * beta2 + g * (1.0f - beta2);
}

EMBER_HD void ema_element(float& avg, float& p, float momentum, bool overwrite) {
    if (momentum != 1.0f) avg = momentum * avg + (1.0f - momentum) * p;
    if (overwrite) p = avg;
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

// ---------------------------------------------------------------- tensor ops

// NumPy's float floor division and remainder (the remainder takes the
// divisor's sign): one fmod, then the quotient fixed up as npy_divmod does.
EMBER_HD float floor_divide_f(float a, float b) {
    float mod = fmodf(a, b);
    if (b == 0.0f) return a / b;
    float div = (a - mod) / b;
    if (mod != 0.0f && ((b < 0.0f) != (mod < 0.0f))) div -= 1.0f;
    if (div == 0.0f) return copysignf(0.0f, a / b);
    float fl = floorf(div);
    if (div - fl > 0.5f) fl += 1.0f;
    return fl;
}

EMBER_HD float mod_f(float a, float b) {
    float mod = fmodf(a, b);
    if (b == 0.0f) return mod;  // NaN
    if (mod != 0.0f) {
        if ((b < 0.0f) != (mod < 0.0f)) mod += b;
    } else {
        mod = copysignf(0.0f, b);
    }
    return mod;
}

template <UnaryOp OP>
EMBER_HD float unary_op(float x) {
    switch (OP) {
        case UnaryOp::Negative: return -x;
        case UnaryOp::Abs: return fabsf(x);
        case UnaryOp::Sign: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x);  // keeps 0 and NaN
        case UnaryOp::Square: return x * x;
        case UnaryOp::Sqrt: return sqrtf(x);
        case UnaryOp::Rsqrt: return 1.0f / sqrtf(x);
        case UnaryOp::Reciprocal: return 1.0f / x;
        case UnaryOp::Exp: return expf(x);
        case UnaryOp::Expm1: return expm1f(x);
        case UnaryOp::Log: return logf(x);
        case UnaryOp::Log1p: return log1pf(x);
        case UnaryOp::Sin: return sinf(x);
        case UnaryOp::Cos: return cosf(x);
        case UnaryOp::Tan: return tanf(x);
        case UnaryOp::Floor: return floorf(x);
        case UnaryOp::Ceil: return ceilf(x);
        case UnaryOp::Round: return rintf(x);  // the default rounding: half to even
        case UnaryOp::LogicalNot: return x == 0.0f ? 1.0f : 0.0f;
        case UnaryOp::Softplus: return log1pf(expf(-fabsf(x))) + (x > 0.0f ? x : 0.0f);
        case UnaryOp::IsNan: return x != x ? 1.0f : 0.0f;
        case UnaryOp::IsInf: return fabsf(x) == INFINITY ? 1.0f : 0.0f;
        case UnaryOp::IsFinite: return fabsf(x) < INFINITY ? 1.0f : 0.0f;
    }
    return x;
}

template <BinaryOp OP>
EMBER_HD float binary_op(float a, float b) {
    switch (OP) {
        case BinaryOp::Add: return a + b;
        case BinaryOp::Subtract: return a - b;
        case BinaryOp::Multiply: return a * b;
        case BinaryOp::Divide: return a / b;
        case BinaryOp::Power: return powf(a, b);
        case BinaryOp::Maximum: return (a > b || a != a) ? a : b;  // NaN wins, as in NumPy
        case BinaryOp::Minimum: return (a < b || a != a) ? a : b;
        case BinaryOp::Equal: return a == b ? 1.0f : 0.0f;
        case BinaryOp::NotEqual: return a != b ? 1.0f : 0.0f;
        case BinaryOp::Greater: return a > b ? 1.0f : 0.0f;
        case BinaryOp::GreaterEqual: return a >= b ? 1.0f : 0.0f;
        case BinaryOp::Less: return a < b ? 1.0f : 0.0f;
        case BinaryOp::LessEqual: return a <= b ? 1.0f : 0.0f;
        case BinaryOp::LogicalAnd: return (a != 0.0f && b != 0.0f) ? 1.0f : 0.0f;
        case BinaryOp::LogicalOr: return (a != 0.0f || b != 0.0f) ? 1.0f : 0.0f;
        case BinaryOp::FloorDivide: return floor_divide_f(a, b);
        case BinaryOp::Mod: return mod_f(a, b);
        case BinaryOp::Arctan2: return atan2f(a, b);
    }
    return a;
}

// Reductions fold in double from the op's identity (see ember::reduce).
template <ReduceOp OP>
EMBER_HD double reduce_identity() {
    switch (OP) {
        case ReduceOp::Sum: case ReduceOp::Mean: return 0.0;
        case ReduceOp::Prod: return 1.0;
        case ReduceOp::Max: return -INFINITY;
        case ReduceOp::Min: return INFINITY;
    }
    return 0.0;
}

template <ReduceOp OP>
EMBER_HD double reduce_fold(double acc, double v) {
    switch (OP) {
        case ReduceOp::Sum: case ReduceOp::Mean: return acc + v;
        case ReduceOp::Prod: return acc * v;
        case ReduceOp::Max: return (v > acc || v != v) ? v : acc;  // a NaN, once in, stays
        case ReduceOp::Min: return (v < acc || v != v) ? v : acc;
    }
    return acc;
}

template <ReduceOp OP>
EMBER_HD float reduce_finish(double acc, int64_t R) {
    return OP == ReduceOp::Mean ? (float)(acc / (double)R) : (float)acc;
}

// The first r < R at which p[r * stride] is the max (is_max) or the min: a
// NaN counts as the extreme, as in NumPy. R > 0.
EMBER_HD int64_t arg_extreme(const float* p, int64_t R, int64_t stride, bool is_max) {
    float best = p[0];
    int64_t arg = 0;
    for (int64_t r = 1; r < R && best == best; ++r) {
        const float v = p[r * stride];
        if (v != v || (is_max ? v > best : v < best)) {
            best = v;
            arg = r;
        }
    }
    return arg;
}

// Operand k's offset of element i of the index space s.
EMBER_HD int64_t strided_offset(const Strided& s, int k, int64_t i) {
    int64_t off = 0;
    for (int d = s.rank - 1; d >= 0; --d) {
        const int64_t n = s.size[d];
        off += (i % n) * s.stride[k][d];
        i /= n;
    }
    return off;
}

// Calls f(std::integral_constant<E, E(op)>()): the one switch from a
// run-time op to a compile-time one (as with_activation), over the values
// 0 .. N-1 of an enum that counts from 0 (those of tensor_ops.h). Host code.
template <class E, int... I, class F>
inline void with_enum(E op, std::integer_sequence<int, I...>, F f) {
    (void)(((int)op == I ? (f(std::integral_constant<E, (E)I>()), true) : false) || ...);
}

template <class F>
inline void with_unary(UnaryOp op, F f) {
    with_enum(op, std::make_integer_sequence<int, (int)UnaryOp::IsFinite + 1>(), f);
}
template <class F>
inline void with_binary(BinaryOp op, F f) {
    with_enum(op, std::make_integer_sequence<int, (int)BinaryOp::Arctan2 + 1>(), f);
}
template <class F>
inline void with_reduce(ReduceOp op, F f) {
    with_enum(op, std::make_integer_sequence<int, (int)ReduceOp::Prod + 1>(), f);
}

}  // namespace ember
