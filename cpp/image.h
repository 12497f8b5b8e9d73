// Geometric image transforms, NHWC: each output pixel (oy, ox) of image n is
// sampled from its input at the point a projective transform of (n) maps it
// to, as TensorFlow's ImageProjectiveTransform and keras.ops.image.
// affine_transform define it. The transform of an image is 8 numbers
// [a0, a1, a2, b0, b1, b2, c0, c1]: with k = c0*ox + c1*oy + 1, the source
// point is x = (a0*ox + a1*oy + a2) / k, y = (b0*ox + b1*oy + b2) / k.
// Sampling is JAX's map_coordinates (order 0 or 1): bilinear takes the four
// integer neighbours (floor, floor + 1) with weights (1 - f, f); nearest
// rounds half away from zero. A neighbour outside the image is moved inside
// by the fill mode; with 'constant' it reads fill_value instead.
// The augmentation layers (RandomRotation, RandomZoom, RandomTranslation,
// RandomFlip) and Resizing are all this one operation.
#pragma once
#include <math.h>

#include <cstdint>

#ifdef __CUDACC__
#define EMBER_IMG_HD __host__ __device__ inline
#else
#define EMBER_IMG_HD inline
#endif

namespace ember {

// Keras's fill modes, named as JAX's map_coordinates names them:
// reflect (d c b a | a b c d | d c b a), mirror (d c b | a b c d | c b a),
// wrap (a b c d | a b c d), nearest (a a a | a b c d | d d d), constant.
enum class FillMode : int { Constant = 0, Nearest = 1, Wrap = 2, Mirror = 3, Reflect = 4 };

struct AffineShape {
    int64_t N, H, W, C;  // input x is (N, H, W, C)
    int64_t OH, OW;      // output y is (N, OH, OW, C)
    int64_t TN;          // transforms is (TN, 8), TN = N or 1 (one for every image)
    bool bilinear;       // else nearest
    FillMode fill;
    float fill_value;
};

// y (N, OH, OW, C) = x (N, H, W, C) sampled through transforms (TN, 8).
void affine_transform_forward(float* y, const float* x, const float* transforms, const AffineShape& s);
// dx (N, H, W, C) of affine_transform_forward from dy (N, OH, OW, C): each
// image's output pixels scattered back in (oy, ox, tap, c) order, one image
// per thread (so the sums do not depend on the thread count). The
// transforms get no gradient.
void affine_transform_backward(float* dx, const float* dy, const float* transforms, const AffineShape& s);

// References: the definition as plain loops, no threads, no shared helpers.
void affine_transform_forward_naive(float* y, const float* x, const float* transforms,
                                    const AffineShape& s);
void affine_transform_backward_naive(float* dx, const float* dy, const float* transforms,
                                     const AffineShape& s);

// ------------------------------------------------- shared per-pixel arithmetic

// i moved into [0, size) by the fill mode (Constant leaves it: the caller
// tests it). Floor division and modulo as NumPy's.
EMBER_IMG_HD int64_t fill_index(int64_t i, int64_t size, FillMode mode) {
    auto fmod_ = [](int64_t a, int64_t m) { const int64_t r = a % m; return r < 0 ? r + m : r; };
    auto mirror = [&](int64_t a, int64_t n) {
        const int64_t h = n - 1;  // half period
        if (h == 0) return (int64_t)0;
        const int64_t r = fmod_(a + h, 2 * h) - h;
        return r < 0 ? -r : r;
    };
    switch (mode) {
        case FillMode::Nearest: return i < 0 ? 0 : (i >= size ? size - 1 : i);
        case FillMode::Wrap: return fmod_(i, size);
        case FillMode::Mirror: return mirror(i, size);
        case FillMode::Reflect: return (mirror(2 * i + 1, 2 * size + 1) - 1) / 2;  // odd - 1 >= 0
        default: return i;
    }
}

// The source point of output pixel (ox, oy) under transform t (8 values).
EMBER_IMG_HD void source_point(const float* t, int64_t ox, int64_t oy, float* sx, float* sy) {
    const float fx = (float)ox, fy = (float)oy;
    const float k = t[6] * fx + t[7] * fy + 1.0f;
    *sx = (t[0] * fx + t[1] * fy + t[2]) / k;
    *sy = (t[3] * fx + t[4] * fy + t[5]) / k;
}

// The (up to) four taps of a source point: input pixel offsets (y * W + x)
// and weights, -1 for a tap that reads fill_value. Returns the tap count.
EMBER_IMG_HD int sample_taps(float sx, float sy, const AffineShape& s, int64_t* pix, float* w) {
    if (!(fabsf(sx) < 1e15f && fabsf(sy) < 1e15f)) {  // NaN, inf or absurd: fill_value
        pix[0] = -1;
        w[0] = 1.0f;
        return 1;
    }
    if (!s.bilinear) {
        const int64_t iy = (int64_t)roundf(sy), ix = (int64_t)roundf(sx);
        const int64_t fy = fill_index(iy, s.H, s.fill), fx = fill_index(ix, s.W, s.fill);
        const bool ok = fy >= 0 && fy < s.H && fx >= 0 && fx < s.W;
        pix[0] = ok ? fy * s.W + fx : -1;
        w[0] = 1.0f;
        return 1;
    }
    const float y0 = floorf(sy), x0 = floorf(sx);
    const float wy1 = sy - y0, wx1 = sx - x0;
    const float wy[2] = {1.0f - wy1, wy1}, wx[2] = {1.0f - wx1, wx1};
    const int64_t iy0 = (int64_t)y0, ix0 = (int64_t)x0;
    int n = 0;
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b, ++n) {
            const int64_t fy = fill_index(iy0 + a, s.H, s.fill), fx = fill_index(ix0 + b, s.W, s.fill);
            const bool ok = fy >= 0 && fy < s.H && fx >= 0 && fx < s.W;
            pix[n] = ok ? fy * s.W + fx : -1;
            w[n] = wy[a] * wx[b];
        }
    return n;
}

// The taps of output pixel (ox, oy) of image n.
EMBER_IMG_HD int output_taps(const float* transforms, int64_t n, int64_t ox, int64_t oy, const AffineShape& s,
                             int64_t* pix, float* w) {
    float sx, sy;
    source_point(transforms + (s.TN == 1 ? 0 : n * 8), ox, oy, &sx, &sy);
    return sample_taps(sx, sy, s, pix, w);
}

}  // namespace ember
