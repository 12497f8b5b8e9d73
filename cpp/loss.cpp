#include "loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "activation.h"
#include "common.h"

namespace ember {

namespace {

// Runs row(r) -> loss of row r (writing that row's gradient) for every row,
// then sums the row losses in row order in double precision.
template <class Row>
float reduce_rows(int64_t rows, int64_t cols, Row row) {
    std::vector<double> per_row(rows);
    const int nt = threads_for(rows * cols * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; ++r) per_row[r] = row(r);
    double total = 0.0;
    for (int64_t r = 0; r < rows; ++r) total += per_row[r];
    return rows > 0 ? (float)(total / (double)rows) : 0.0f;
}

inline float clip(float p) { return std::min(std::max(p, kLossEpsilon), 1.0f - kLossEpsilon); }

// log(softmax(z)) of row `z` written to `logp`; returns nothing.
void log_softmax_row(float* logp, const float* z, int64_t cols) {
    float m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = std::max(m, z[c]);
    if (std::isinf(m) && m > 0) m = 0.0f;
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(z[c] - m);
    const float lse = m + std::log(sum);
    for (int64_t c = 0; c < cols; ++c) logp[c] = z[c] - lse;
}

}  // namespace

float categorical_crossentropy(float* dpred, const float* y_true, const float* y_pred,
                               int64_t rows, int64_t cols) {
    const float inv_rows = rows > 0 ? 1.0f / (float)rows : 0.0f;
    return reduce_rows(rows, cols, [&](int64_t r) {
        const float* t = y_true + r * cols;
        const float* p = y_pred + r * cols;
        float* d = dpred + r * cols;
        float s = 0.0f;
        for (int64_t c = 0; c < cols; ++c) s += p[c];
        // q = clip(p / s); L = -sum t log q. dL/dq_c = -t_c / q_c where q is
        // not clipped; dL/dp_j = (dL/dq_j - sum_c dL/dq_c * p_c / s) / s.
        double loss = 0.0;
        float dot = 0.0f;
        for (int64_t c = 0; c < cols; ++c) {
            const float q0 = p[c] / s, q = clip(q0);
            loss -= (double)t[c] * std::log((double)q);
            const float g = (q0 == q) ? -t[c] / q : 0.0f;
            d[c] = g;
            dot += g * q0;
        }
        for (int64_t c = 0; c < cols; ++c) d[c] = (d[c] - dot) / s * inv_rows;
        return loss;
    });
}

float softmax_crossentropy(float* dlogits, float* probs, const float* y_true,
                           const float* logits, int64_t rows, int64_t cols) {
    const float inv_rows = rows > 0 ? 1.0f / (float)rows : 0.0f;
    return reduce_rows(rows, cols, [&](int64_t r) {
        const float* t = y_true + r * cols;
        float* d = dlogits + r * cols;
        log_softmax_row(d, logits + r * cols, cols);  // d holds log p for now
        double loss = 0.0;
        float tsum = 0.0f;
        for (int64_t c = 0; c < cols; ++c) {
            loss -= (double)t[c] * (double)d[c];
            tsum += t[c];
        }
        for (int64_t c = 0; c < cols; ++c) {
            const float p = std::exp(d[c]);
            if (probs) probs[r * cols + c] = p;
            d[c] = (p * tsum - t[c]) * inv_rows;
        }
        return loss;
    });
}

float sparse_categorical_crossentropy(float* dpred, const int64_t* labels, const float* y_pred,
                                      int64_t rows, int64_t cols, bool from_logits) {
    const float inv_rows = rows > 0 ? 1.0f / (float)rows : 0.0f;
    return reduce_rows(rows, cols, [&](int64_t r) {
        const int64_t k = labels[r];
        const float* p = y_pred + r * cols;
        float* d = dpred + r * cols;
        if (from_logits) {
            log_softmax_row(d, p, cols);
            const double loss = -(double)d[k];
            for (int64_t c = 0; c < cols; ++c) d[c] = (std::exp(d[c]) - (c == k ? 1.0f : 0.0f)) * inv_rows;
            return loss;
        }
        // Same scaling and clipping as categorical_crossentropy with a
        // one-hot target.
        float s = 0.0f;
        for (int64_t c = 0; c < cols; ++c) s += p[c];
        const float q0 = p[k] / s, q = clip(q0);
        const float g = (q0 == q) ? -1.0f / q : 0.0f;
        const float dot = g * q0;
        for (int64_t c = 0; c < cols; ++c) d[c] = ((c == k ? g : 0.0f) - dot) / s * inv_rows;
        return -std::log((double)q);
    });
}

float binary_crossentropy(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                          int64_t cols, bool from_logits) {
    const int64_t n = rows * cols;
    const float inv_n = n > 0 ? 1.0f / (float)n : 0.0f;
    const float mean = reduce_rows(rows, cols, [&](int64_t r) {
        double loss = 0.0;
        for (int64_t c = r * cols; c < (r + 1) * cols; ++c) {
            const float t = y_true[c], z = y_pred[c];
            if (from_logits) {
                // max(z, 0) - z t + log(1 + exp(-|z|)), stable for any z.
                loss += (double)(std::max(z, 0.0f) - z * t + std::log1p(std::exp(-std::fabs(z))));
                const float s = z >= 0 ? 1.0f / (1.0f + std::exp(-z)) : std::exp(z) / (1.0f + std::exp(z));
                dpred[c] = (s - t) * inv_n;
            } else {
                const float p = clip(z);
                loss -= (double)t * std::log((double)p) + (1.0 - t) * std::log(1.0 - (double)p);
                dpred[c] = (p == z) ? (-(t / p) + (1.0f - t) / (1.0f - p)) * inv_n : 0.0f;
            }
        }
        return loss;
    });
    return cols > 0 ? mean / (float)cols : 0.0f;
}

float mean_squared_error(float* dpred, const float* y_true, const float* y_pred, int64_t rows,
                         int64_t cols) {
    const int64_t n = rows * cols;
    const float scale = n > 0 ? 2.0f / (float)n : 0.0f;
    const float mean = reduce_rows(rows, cols, [&](int64_t r) {
        double loss = 0.0;
        for (int64_t c = r * cols; c < (r + 1) * cols; ++c) {
            const float e = y_pred[c] - y_true[c];
            loss += (double)e * e;
            dpred[c] = scale * e;
        }
        return loss;
    });
    return cols > 0 ? mean / (float)cols : 0.0f;
}

}  // namespace ember
