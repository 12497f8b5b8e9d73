// CUDA twins of cpp/image.cpp, with the same per-pixel arithmetic
// (image.h): the forward is one thread per output value; the backward one
// thread per (image, channel), scattering in the CPU's (oy, ox, tap) order,
// so both devices give the same bits with no atomics.
#include "../image.h"
#include "cuda_ops.h"
#include "runtime.h"

namespace ember {
namespace cuda {

namespace {

// y (N, OH, OW, C): one value per thread.
__global__ void affine_forward_kernel(float* y, const float* x, const float* transforms, AffineShape s) {
    EMBER_GRID_LOOP(idx, s.N * s.OH * s.OW * s.C) {
        const int64_t c = idx % s.C, ox = (idx / s.C) % s.OW;
        const int64_t oy = (idx / (s.C * s.OW)) % s.OH, n = idx / (s.C * s.OW * s.OH);
        const float* xn = x + n * s.H * s.W * s.C;
        float w[4];
        int64_t pix[4];
        const int taps = output_taps(transforms, n, ox, oy, s, pix, w);
        float acc = 0.0f;
        for (int k = 0; k < taps; ++k) acc += w[k] * (pix[k] >= 0 ? xn[pix[k] * s.C + c] : s.fill_value);
        y[idx] = acc;
    }
}

// dx (N, H, W, C), zeroed: thread (n, c) scatters image n's channel c.
__global__ void affine_backward_kernel(float* dx, const float* dy, const float* transforms, AffineShape s) {
    EMBER_GRID_LOOP(idx, s.N * s.C) {
        const int64_t n = idx / s.C, c = idx % s.C;
        float* dxn = dx + n * s.H * s.W * s.C;
        for (int64_t oy = 0; oy < s.OH; ++oy)
            for (int64_t ox = 0; ox < s.OW; ++ox) {
                float w[4];
                int64_t pix[4];
                const int taps = output_taps(transforms, n, ox, oy, s, pix, w);
                const float g = dy[((n * s.OH + oy) * s.OW + ox) * s.C + c];
                for (int k = 0; k < taps; ++k)
                    if (pix[k] >= 0) dxn[pix[k] * s.C + c] += w[k] * g;
            }
    }
}

}  // namespace

void affine_transform_forward(float* y, const float* x, const float* transforms, const AffineShape& s) {
    launch("affine_forward_kernel", affine_forward_kernel, grid_for(s.N * s.OH * s.OW * s.C), kThreads, y,
           x, transforms, s);
}

void affine_transform_backward(float* dx, const float* dy, const float* transforms, const AffineShape& s) {
    fill_zero(dx, s.N * s.H * s.W * s.C);
    launch("affine_backward_kernel", affine_backward_kernel, grid_for(s.N * s.C), kThreads, dx, dy,
           transforms, s);
}

}  // namespace cuda
}  // namespace ember
