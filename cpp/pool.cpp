#include "pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "common.h"

namespace ember {

namespace {

// Window bounds of output (oh, ow), clipped to the image.
struct Window {
    int64_t h0, h1, w0, w1;
};
inline Window window(const PoolShape& s, int64_t oh, int64_t ow) {
    const int64_t h = oh * s.SH - s.PT, w = ow * s.SW - s.PL;
    return {std::max<int64_t>(h, 0), std::min(h + s.PH, s.H), std::max<int64_t>(w, 0),
            std::min(w + s.PW, s.W)};
}

}  // namespace

void max_pool2d_forward(float* y, const float* x, const PoolShape& s) {
    const int nt = threads_for(s.N * s.OH * s.OW * s.C * s.PH * s.PW);
    // Each (n, oh) row of y belongs to one thread.
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow) {
                const Window wd = window(s, oh, ow);
                float* out = y + ((n * s.OH + oh) * s.OW + ow) * s.C;
                for (int64_t c = 0; c < s.C; ++c) out[c] = -INFINITY;
                for (int64_t h = wd.h0; h < wd.h1; ++h)
                    for (int64_t w = wd.w0; w < wd.w1; ++w) {
                        const float* in = x + ((n * s.H + h) * s.W + w) * s.C;
                        for (int64_t c = 0; c < s.C; ++c)
                            // NaN propagates: once out[c] is NaN it stays.
                            out[c] = (in[c] > out[c] || std::isnan(in[c])) && !std::isnan(out[c]) ? in[c] : out[c];
                    }
            }
}

void max_pool2d_backward(float* dx, const float* dy, const float* x, const PoolShape& s) {
    std::memset(dx, 0, s.N * s.H * s.W * s.C * sizeof(float));
    const int nt = threads_for(s.N * s.OH * s.OW * s.C * s.PH * s.PW);
    // Windows may overlap inside an image, so each image belongs to one thread.
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        std::vector<float> best(s.C);
        std::vector<int64_t> arg(s.C);
#pragma omp for schedule(static)
        for (int64_t n = 0; n < s.N; ++n)
            for (int64_t oh = 0; oh < s.OH; ++oh)
                for (int64_t ow = 0; ow < s.OW; ++ow) {
                    const Window wd = window(s, oh, ow);
                    // Scan the window position by position, all channels at
                    // once; the first maximum (or first NaN) wins, as in forward.
                    bool first = true;
                    for (int64_t h = wd.h0; h < wd.h1; ++h)
                        for (int64_t w = wd.w0; w < wd.w1; ++w) {
                            const int64_t base = ((n * s.H + h) * s.W + w) * s.C;
                            const float* in = x + base;
                            for (int64_t c = 0; c < s.C; ++c) {
                                const bool take = first || ((in[c] > best[c] || std::isnan(in[c])) &&
                                                            !std::isnan(best[c]));
                                best[c] = take ? in[c] : best[c];
                                arg[c] = take ? base + c : arg[c];
                            }
                            first = false;
                        }
                    if (first) continue;  // empty window
                    const float* g = dy + ((n * s.OH + oh) * s.OW + ow) * s.C;
                    for (int64_t c = 0; c < s.C; ++c) dx[arg[c]] += g[c];
                }
    }
}

void avg_pool2d_forward(float* y, const float* x, const PoolShape& s) {
    const int nt = threads_for(s.N * s.OH * s.OW * s.C * s.PH * s.PW);
#pragma omp parallel for collapse(2) schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow) {
                const Window wd = window(s, oh, ow);
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
                const Window wd = window(s, oh, ow);
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
