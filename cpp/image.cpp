// CPU kernels of image.h: one image per OpenMP task; within an image, output
// pixels in row-major order. The backward scatters each image's gradient by
// one thread in a fixed order, so its bits do not depend on the thread count.
#include "image.h"

#include <cstring>

#include "common.h"

namespace ember {

// Threads for a transform: ember's setting (set_num_threads), and one thread
// for a small one, as the other kernels (threads_for).
static int image_threads(const AffineShape& s) { return threads_for(s.N * s.OH * s.OW * s.C * 4); }

void affine_transform_forward(float* y, const float* x, const float* transforms, const AffineShape& s) {
    const int nt = image_threads(s);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < s.N; ++n) {
        const float* xn = x + n * s.H * s.W * s.C;
        for (int64_t oy = 0; oy < s.OH; ++oy)
            for (int64_t ox = 0; ox < s.OW; ++ox) {
                float w[4];
                int64_t pix[4];
                const int taps = output_taps(transforms, n, ox, oy, s, pix, w);
                float* out = y + ((n * s.OH + oy) * s.OW + ox) * s.C;
                for (int64_t c = 0; c < s.C; ++c) {
                    float acc = 0.0f;
                    for (int k = 0; k < taps; ++k)
                        acc += w[k] * (pix[k] >= 0 ? xn[pix[k] * s.C + c] : s.fill_value);
                    out[c] = acc;
                }
            }
    }
}

void affine_transform_backward(float* dx, const float* dy, const float* transforms, const AffineShape& s) {
    std::memset(dx, 0, sizeof(float) * (size_t)(s.N * s.H * s.W * s.C));
    const int nt = image_threads(s);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t n = 0; n < s.N; ++n) {
        float* dxn = dx + n * s.H * s.W * s.C;
        for (int64_t oy = 0; oy < s.OH; ++oy)
            for (int64_t ox = 0; ox < s.OW; ++ox) {
                float w[4];
                int64_t pix[4];
                const int taps = output_taps(transforms, n, ox, oy, s, pix, w);
                const float* g = dy + ((n * s.OH + oy) * s.OW + ox) * s.C;
                for (int k = 0; k < taps; ++k) {
                    if (pix[k] < 0) continue;
                    float* d = dxn + pix[k] * s.C;
                    for (int64_t c = 0; c < s.C; ++c) d[c] += w[k] * g[c];
                }
            }
    }
}

// ------------------------------------------------------------------ references

namespace {

int64_t floor_mod(int64_t a, int64_t m) { return ((a % m) + m) % m; }

// The pixel a fill mode reads for index i of an axis of `size`, -1 for fill_value.
int64_t naive_fix(int64_t i, int64_t size, FillMode mode) {
    if (i >= 0 && i < size) return i;
    switch (mode) {
        case FillMode::Constant: return -1;
        case FillMode::Nearest: return i < 0 ? 0 : size - 1;
        case FillMode::Wrap: return floor_mod(i, size);
        case FillMode::Mirror: {  // period 2(size-1): 0 1 .. size-1 .. 1
            if (size == 1) return 0;
            const int64_t r = floor_mod(i, 2 * (size - 1));
            return r < size ? r : 2 * (size - 1) - r;
        }
        case FillMode::Reflect: {  // period 2*size: 0 1 .. size-1 size-1 .. 0
            const int64_t r = floor_mod(i, 2 * size);
            return r < size ? r : 2 * size - 1 - r;
        }
    }
    return -1;
}

// The source point of output pixel (ox, oy); false where it is not finite
// (or absurdly far): the pixel is then fill_value.
bool naive_point(const float* t, int64_t ox, int64_t oy, float* sx, float* sy) {
    const float k = t[6] * ox + t[7] * oy + 1.0f;
    *sx = (t[0] * ox + t[1] * oy + t[2]) / k;
    *sy = (t[3] * ox + t[4] * oy + t[5]) / k;
    return fabsf(*sx) < 1e15f && fabsf(*sy) < 1e15f;
}

}  // namespace

// The value (or, for the backward, the adjoint) of one output pixel of one
// channel: the taps along y times the taps along x.
void affine_transform_forward_naive(float* y, const float* x, const float* transforms,
                                    const AffineShape& s) {
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oy = 0; oy < s.OH; ++oy)
            for (int64_t ox = 0; ox < s.OW; ++ox)
                for (int64_t c = 0; c < s.C; ++c) {
                    float sx, sy;
                    float acc = 0.0f;
                    if (!naive_point(transforms + (s.TN == 1 ? 0 : n * 8), ox, oy, &sx, &sy)) {
                        acc = s.fill_value;
                    } else if (!s.bilinear) {
                        const int64_t py = naive_fix((int64_t)roundf(sy), s.H, s.fill);
                        const int64_t px = naive_fix((int64_t)roundf(sx), s.W, s.fill);
                        acc = (py < 0 || px < 0) ? s.fill_value : x[((n * s.H + py) * s.W + px) * s.C + c];
                    } else {
                        const float fy = floorf(sy), fx = floorf(sx);
                        for (int a = 0; a < 2; ++a)
                            for (int b = 0; b < 2; ++b) {
                                const float wy = a ? sy - fy : 1.0f - (sy - fy);
                                const float wx = b ? sx - fx : 1.0f - (sx - fx);
                                const int64_t py = naive_fix((int64_t)fy + a, s.H, s.fill);
                                const int64_t px = naive_fix((int64_t)fx + b, s.W, s.fill);
                                const float v = (py < 0 || px < 0) ? s.fill_value
                                                                   : x[((n * s.H + py) * s.W + px) * s.C + c];
                                acc += (wy * wx) * v;
                            }
                    }
                    y[((n * s.OH + oy) * s.OW + ox) * s.C + c] = acc;
                }
}

void affine_transform_backward_naive(float* dx, const float* dy, const float* transforms,
                                     const AffineShape& s) {
    for (int64_t i = 0; i < s.N * s.H * s.W * s.C; ++i) dx[i] = 0.0f;
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oy = 0; oy < s.OH; ++oy)
            for (int64_t ox = 0; ox < s.OW; ++ox) {
                float sx, sy;
                if (!naive_point(transforms + (s.TN == 1 ? 0 : n * 8), ox, oy, &sx, &sy)) continue;
                const float fy = floorf(sy), fx = floorf(sx);
                for (int a = 0; a < 2; ++a)
                    for (int b = 0; b < 2; ++b) {
                        int64_t py, px;
                        float w;
                        if (s.bilinear) {
                            py = naive_fix((int64_t)fy + a, s.H, s.fill);
                            px = naive_fix((int64_t)fx + b, s.W, s.fill);
                            w = (a ? sy - fy : 1.0f - (sy - fy)) * (b ? sx - fx : 1.0f - (sx - fx));
                        } else {
                            if (a || b) continue;
                            py = naive_fix((int64_t)roundf(sy), s.H, s.fill);
                            px = naive_fix((int64_t)roundf(sx), s.W, s.fill);
                            w = 1.0f;
                        }
                        if (py < 0 || px < 0) continue;
                        for (int64_t c = 0; c < s.C; ++c)
                            dx[((n * s.H + py) * s.W + px) * s.C + c] +=
                                w * dy[((n * s.OH + oy) * s.OW + ox) * s.C + c];
                    }
            }
}

}  // namespace ember
