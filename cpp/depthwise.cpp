#include "depthwise.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "dense.h"

namespace ember {

namespace {

// out (C*F) += x (C) times k (C*F), channel by channel: an output row in the
// forward, a kernel position's gradient (k = dy) in the backward.
EMBER_TARGET_CLONES void add_products(float* __restrict out, const float* __restrict x,
                                      const float* __restrict k, int64_t C, int64_t F) {
    if (F == 1) {
        for (int64_t c = 0; c < C; ++c) out[c] += x[c] * k[c];
        return;
    }
    for (int64_t c = 0; c < C; ++c)
        for (int64_t f = 0; f < F; ++f) out[c * F + f] += x[c] * k[c * F + f];
}

// dx (C) += sum over f of g (C*F) times k (C*F), f ascending.
EMBER_TARGET_CLONES void add_input_grad(float* __restrict dx, const float* __restrict g,
                                        const float* __restrict k, int64_t C, int64_t F) {
    if (F == 1) {
        for (int64_t c = 0; c < C; ++c) dx[c] += g[c] * k[c];
        return;
    }
    for (int64_t c = 0; c < C; ++c)
        for (int64_t f = 0; f < F; ++f) dx[c] += g[c * F + f] * k[c * F + f];
}

}  // namespace

void depthwise_conv2d_forward(float* y, const float* x, const float* kernel, const float* bias,
                              const ConvShape& s) {
    const int64_t CF = s.C * s.F, rows = s.N * s.OH;
    const int nt = threads_for(rows * s.OW * CF * s.KH * s.KW);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t n = r / s.OH, oh = r % s.OH;
        for (int64_t ow = 0; ow < s.OW; ++ow) {
            float* out = y + (r * s.OW + ow) * CF;
            for (int64_t i = 0; i < CF; ++i) out[i] = bias ? bias[i] : 0.0f;
            for (int64_t kh = 0; kh < s.KH; ++kh) {
                const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
                if (ih < 0 || ih >= s.H) continue;
                for (int64_t kw = 0; kw < s.KW; ++kw) {
                    const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                    if (iw < 0 || iw >= s.W) continue;
                    add_products(out, x + ((n * s.H + ih) * s.W + iw) * s.C,
                                 kernel + (kh * s.KW + kw) * CF, s.C, s.F);
                }
            }
        }
    }
}

void depthwise_conv2d_backward(float* dx, float* dkernel, float* dbias, const float* dy,
                               const float* x, const float* kernel, const ConvShape& s) {
    const int64_t CF = s.C * s.F, KK = s.KH * s.KW;
    const int64_t work = s.N * s.OH * s.OW * CF * KK;
    if (dbias) column_sum(dbias, dy, s.N * s.OH * s.OW, CF);
    if (dx) {
        const int64_t rows = s.N * s.H;
        const int nt = threads_for(work);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t n = r / s.H, ih = r % s.H;
            for (int64_t iw = 0; iw < s.W; ++iw) {
                float* d = dx + (r * s.W + iw) * s.C;
                for (int64_t c = 0; c < s.C; ++c) d[c] = 0.0f;
                for (int64_t kh = 0; kh < s.KH; ++kh) {
                    const int64_t th = ih + s.PT - kh * s.DH;
                    if (th < 0 || th % s.SH) continue;
                    const int64_t oh = th / s.SH;
                    if (oh >= s.OH) continue;
                    for (int64_t kw = 0; kw < s.KW; ++kw) {
                        const int64_t tw = iw + s.PL - kw * s.DW;
                        if (tw < 0 || tw % s.SW) continue;
                        const int64_t ow = tw / s.SW;
                        if (ow >= s.OW) continue;
                        add_input_grad(d, dy + ((n * s.OH + oh) * s.OW + ow) * CF,
                                       kernel + (kh * s.KW + kw) * CF, s.C, s.F);
                    }
                }
            }
        }
    }
    if (dkernel) {
        const int64_t rows = s.N * s.OH, nblocks = (rows + kDepthwiseRows - 1) / kDepthwiseRows;
        const int64_t KN = KK * CF;
        std::vector<float> parts(std::max<int64_t>(nblocks, 1) * KN, 0.0f);
        const int nt = threads_for(work);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t b = 0; b < nblocks; ++b) {
            float* p = parts.data() + b * KN;  // this block's own partial gradient
            const int64_t r1 = std::min(rows, (b + 1) * kDepthwiseRows);
            for (int64_t r = b * kDepthwiseRows; r < r1; ++r) {
                const int64_t n = r / s.OH, oh = r % s.OH;
                for (int64_t ow = 0; ow < s.OW; ++ow) {
                    const float* g = dy + (r * s.OW + ow) * CF;
                    for (int64_t kh = 0; kh < s.KH; ++kh) {
                        const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
                        if (ih < 0 || ih >= s.H) continue;
                        for (int64_t kw = 0; kw < s.KW; ++kw) {
                            const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                            if (iw < 0 || iw >= s.W) continue;
                            add_products(p + (kh * s.KW + kw) * CF, x + ((n * s.H + ih) * s.W + iw) * s.C, g,
                                         s.C, s.F);
                        }
                    }
                }
            }
        }
        std::memcpy(dkernel, parts.data(), KN * sizeof(float));
        for (int64_t b = 1; b < nblocks; ++b) {
            const float* p = parts.data() + b * KN;
            for (int64_t i = 0; i < KN; ++i) dkernel[i] += p[i];
        }
    }
}

void depthwise_conv2d_forward_naive(float* y, const float* x, const float* kernel,
                                    const float* bias, const ConvShape& s) {
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow)
                for (int64_t c = 0; c < s.C; ++c)
                    for (int64_t f = 0; f < s.F; ++f) {
                        float acc = bias ? bias[c * s.F + f] : 0.0f;
                        for (int64_t kh = 0; kh < s.KH; ++kh)
                            for (int64_t kw = 0; kw < s.KW; ++kw) {
                                const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
                                const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                acc += x[((n * s.H + ih) * s.W + iw) * s.C + c] *
                                       kernel[((kh * s.KW + kw) * s.C + c) * s.F + f];
                            }
                        y[((n * s.OH + oh) * s.OW + ow) * s.C * s.F + c * s.F + f] = acc;
                    }
}

void depthwise_conv2d_backward_naive(float* dx, float* dkernel, float* dbias, const float* dy,
                                     const float* x, const float* kernel, const ConvShape& s) {
    const int64_t CF = s.C * s.F;
    if (dx) std::memset(dx, 0, s.N * s.H * s.W * s.C * sizeof(float));
    if (dkernel) std::memset(dkernel, 0, s.KH * s.KW * CF * sizeof(float));
    if (dbias) std::memset(dbias, 0, CF * sizeof(float));
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow)
                for (int64_t c = 0; c < s.C; ++c)
                    for (int64_t f = 0; f < s.F; ++f) {
                        const float g = dy[((n * s.OH + oh) * s.OW + ow) * CF + c * s.F + f];
                        if (dbias) dbias[c * s.F + f] += g;
                        for (int64_t kh = 0; kh < s.KH; ++kh)
                            for (int64_t kw = 0; kw < s.KW; ++kw) {
                                const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
                                const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                const int64_t xi = ((n * s.H + ih) * s.W + iw) * s.C + c;
                                const int64_t ki = ((kh * s.KW + kw) * s.C + c) * s.F + f;
                                if (dx) dx[xi] += g * kernel[ki];
                                if (dkernel) dkernel[ki] += g * x[xi];
                            }
                    }
}

}  // namespace ember
