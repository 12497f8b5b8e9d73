#include "pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"
#include "formulas.h"

namespace ember {

namespace {

// v when keep, else +0.0 (also for a NaN v), without a branch: the sign of
// a window's maximum is unpredictable, and a mispredicted branch per channel
// doubled the cost of the backward pass.
inline float keep_if(float v, bool keep) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits &= 0u - (uint32_t)keep;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

}  // namespace

void max_pool2d_forward(float* y, const float* x, const PoolShape& s) {
    const int nt = threads_for(s.N * s.OH * s.OW * s.C * s.PH * s.PW);
    // Each (n, oh) row of y belongs to one thread.
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow) {
                const PoolWindow wd = pool_window(s, oh, ow);
                float* out = y + ((n * s.OH + oh) * s.OW + ow) * s.C;
                for (int64_t c = 0; c < s.C; ++c) out[c] = -INFINITY;
                for (int64_t h = wd.h0; h < wd.h1; ++h)
                    for (int64_t w = wd.w0; w < wd.w1; ++w) {
                        const float* in = x + ((n * s.H + h) * s.W + w) * s.C;
                        for (int64_t c = 0; c < s.C; ++c) {
                            // v > best, or v is NaN, unless best already is NaN.
                            const float v = in[c], b = out[c];
                            out[c] = max_takes(v, b) ? v : b;
                        }
                    }
            }
}

void max_pool2d_backward(float* dx, const float* dy, const float* x, const PoolShape& s,
                         bool relu_input) {
    const int nt = threads_for(s.N * s.OH * s.OW * s.C * s.PH * s.PW);
    // Windows may overlap inside an image, so each image belongs to one thread.
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        std::vector<float> best(s.C);
        std::vector<int32_t> arg(s.C);  // window position of each channel's maximum
#pragma omp for schedule(static)
        for (int64_t n = 0; n < s.N; ++n) {
            // Zero this image's gradient just before scattering into it, so
            // the lines are still in cache (one pass over memory, not two).
            std::memset(dx + n * s.H * s.W * s.C, 0, s.H * s.W * s.C * sizeof(float));
            for (int64_t oh = 0; oh < s.OH; ++oh)
                for (int64_t ow = 0; ow < s.OW; ++ow) {
                    const PoolWindow wd = pool_window(s, oh, ow);
                    const int64_t ww = wd.w1 - wd.w0, count = (wd.h1 - wd.h0) * ww;
                    if (count <= 0) continue;
                    auto at = [&](int64_t pos) {
                        return x + ((n * s.H + wd.h0 + pos / ww) * s.W + wd.w0 + pos % ww) * s.C;
                    };
                    const float* first = at(0);
                    for (int64_t c = 0; c < s.C; ++c) {
                        best[c] = first[c];
                        arg[c] = 0;
                    }
                    // All channels at once, position by position; the first
                    // maximum (or first NaN) wins, as in the forward pass.
                    for (int32_t pos = 1; pos < count; ++pos) {
                        const float* in = at(pos);
                        for (int64_t c = 0; c < s.C; ++c) {
                            const float v = in[c], b = best[c];
                            const bool take = max_takes(v, b);
                            best[c] = take ? v : b;
                            arg[c] = take ? pos : arg[c];
                        }
                    }
                    const float* g = dy + ((n * s.OH + oh) * s.OW + ow) * s.C;
                    for (int64_t c = 0; c < s.C; ++c) {
                        float* d = dx + ((n * s.H + wd.h0 + arg[c] / ww) * s.W + wd.w0 + arg[c] % ww) * s.C;
                        d[c] += keep_if(g[c], (best[c] > 0.0f) | !relu_input);
                    }
                }
        }
    }
}

void avg_pool2d_forward(float* y, const float* x, const PoolShape& s) {
    const int nt = threads_for(s.N * s.OH * s.OW * s.C * s.PH * s.PW);
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow) {
                const PoolWindow wd = pool_window(s, oh, ow);
                float* out = y + ((n * s.OH + oh) * s.OW + ow) * s.C;
                for (int64_t c = 0; c < s.C; ++c) out[c] = 0.0f;
                for (int64_t h = wd.h0; h < wd.h1; ++h)
                    for (int64_t w = wd.w0; w < wd.w1; ++w) {
                        const float* in = x + ((n * s.H + h) * s.W + w) * s.C;
                        for (int64_t c = 0; c < s.C; ++c) out[c] += in[c];
                    }
                const int64_t count = (wd.h1 - wd.h0) * (wd.w1 - wd.w0);
                const float inv = count > 0 ? 1.0f / (float)count : 0.0f;
                for (int64_t c = 0; c < s.C; ++c) out[c] *= inv;
            }
}

void avg_pool2d_backward(float* dx, const float* dy, const PoolShape& s) {
    std::memset(dx, 0, s.N * s.H * s.W * s.C * sizeof(float));
    const int nt = threads_for(s.N * s.OH * s.OW * s.C * s.PH * s.PW);
    // Windows may overlap inside an image, so each image belongs to one thread.
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow) {
                const PoolWindow wd = pool_window(s, oh, ow);
                const int64_t count = (wd.h1 - wd.h0) * (wd.w1 - wd.w0);
                const float inv = count > 0 ? 1.0f / (float)count : 0.0f;
                const float* g = dy + ((n * s.OH + oh) * s.OW + ow) * s.C;
                for (int64_t h = wd.h0; h < wd.h1; ++h)
                    for (int64_t w = wd.w0; w < wd.w1; ++w) {
                        float* d = dx + ((n * s.H + h) * s.W + w) * s.C;
                        for (int64_t c = 0; c < s.C; ++c) d[c] += g[c] * inv;
                    }
            }
}

void global_avg_pool2d_forward(float* y, const float* x, int64_t N, int64_t H, int64_t W,
                               int64_t C) {
    const int nt = threads_for(N * H * W * C);
    const float inv = H * W > 0 ? 1.0f / (float)(H * W) : 0.0f;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < N; ++n) {
        float* out = y + n * C;
        for (int64_t c = 0; c < C; ++c) out[c] = 0.0f;
        for (int64_t p = 0; p < H * W; ++p)
            for (int64_t c = 0; c < C; ++c) out[c] += x[(n * H * W + p) * C + c];
        for (int64_t c = 0; c < C; ++c) out[c] *= inv;
    }
}

void global_avg_pool2d_backward(float* dx, const float* dy, int64_t N, int64_t H, int64_t W,
                                int64_t C) {
    const int nt = threads_for(N * H * W * C);
    const float inv = H * W > 0 ? 1.0f / (float)(H * W) : 0.0f;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < N; ++n)
        for (int64_t p = 0; p < H * W; ++p)
            for (int64_t c = 0; c < C; ++c) dx[(n * H * W + p) * C + c] = dy[n * C + c] * inv;
}

}  // namespace ember
