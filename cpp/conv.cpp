#include "conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "gemm.h"

namespace ember {

namespace {

// Target size of one chunk's column buffer: a few images' worth of im2col
// rows that stay in L2. The chunk size depends only on the shapes, never on
// the thread count, so partial weight gradients are summed the same way
// whatever the thread count.
constexpr int64_t kColBytes = 512 * 1024;

int64_t conv_chunk(const ConvShape& s) {
    const int64_t bytes = s.OH * s.OW * s.KH * s.KW * s.C * (int64_t)sizeof(float);
    const int64_t most = std::max<int64_t>(1, std::min(bytes > 0 ? kColBytes / bytes : s.N, s.N));
    // Equal chunks (64 images in chunks of at most 21 become 4 of 16, not
    // 21+21+21+1), so that threads finish together.
    const int64_t nchunks = (s.N + most - 1) / most;
    return std::max<int64_t>(1, (s.N + nchunks - 1) / std::max<int64_t>(nchunks, 1));
}

// A 1x1, stride-1, unpadded convolution needs no im2col: x is already col.
bool is_pointwise(const ConvShape& s) {
    return s.KH == 1 && s.KW == 1 && s.SH == 1 && s.SW == 1 && s.PT == 0 && s.PL == 0 &&
           s.OH == s.H && s.OW == s.W;
}

// Runs body(chunk_index, gemm_threads) over every chunk: in parallel over
// chunks (each GEMM serial) when there are enough of them, else one chunk at
// a time with a parallel GEMM. Both give the same bits.
template <class Body>
void for_each_chunk(int64_t nchunks, int64_t work, Body body) {
    const int nt = threads_for(work);
    if (nt > 1 && nchunks >= nt) {
        // Chunks write disjoint rows of y / dx and their own partial buffers,
        // so the schedule cannot change the result.
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
        for (int64_t ci = 0; ci < nchunks; ++ci) body(ci, 1);
    } else {
        for (int64_t ci = 0; ci < nchunks; ++ci) body(ci, nt);
    }
}

// dst (n) = sum over parts p of src[p * n + i], parts added in order (part
// by part, so every read streams).
void sum_parts(float* dst, const float* src, int64_t parts, int64_t n) {
    std::memcpy(dst, src, n * sizeof(float));
    for (int64_t p = 1; p < parts; ++p) {
        const float* part = src + p * n;
        for (int64_t i = 0; i < n; ++i) dst[i] += part[i];
    }
}

}  // namespace

void conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t dilation, bool same,
                   int64_t* out, int64_t* pad_before) {
    const int64_t ek = (k - 1) * dilation + 1;
    if (same) {
        *out = (in + stride - 1) / stride;
        const int64_t pad = std::max<int64_t>((*out - 1) * stride + ek - in, 0);
        *pad_before = pad / 2;
    } else {
        *out = in >= ek ? (in - ek) / stride + 1 : 0;
        *pad_before = 0;
    }
}

EMBER_TARGET_CLONES void im2col(float* col, const float* x, const ConvShape& s) {
    const int64_t K = s.KH * s.KW * s.C, run = s.KW * s.C;
    for (int64_t oh = 0; oh < s.OH; ++oh)
        for (int64_t ow = 0; ow < s.OW; ++ow) {
            float* row = col + (oh * s.OW + ow) * K;
            const int64_t iw0 = ow * s.SW - s.PL;
            // Without horizontal dilation, a window row that lies inside the
            // image is KW*C contiguous floats: one copy instead of KW.
            const bool whole = s.DW == 1 && iw0 >= 0 && iw0 + s.KW <= s.W;
            for (int64_t kh = 0; kh < s.KH; ++kh) {
                const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
                float* dst = row + kh * run;
                if (ih < 0 || ih >= s.H) {
                    for (int64_t i = 0; i < run; ++i) dst[i] = 0.0f;
                    continue;
                }
                const float* xrow = x + ih * s.W * s.C;
                if (whole) {
                    const float* src = xrow + iw0 * s.C;
                    for (int64_t i = 0; i < run; ++i) dst[i] = src[i];
                    continue;
                }
                // Plain loops rather than memcpy: channel counts are often
                // tiny (1 or 3), where a call per pixel would dominate.
                for (int64_t kw = 0; kw < s.KW; ++kw) {
                    const int64_t iw = iw0 + kw * s.DW;
                    float* d = dst + kw * s.C;
                    if (iw >= 0 && iw < s.W) {
                        const float* src = xrow + iw * s.C;
                        for (int64_t c = 0; c < s.C; ++c) d[c] = src[c];
                    } else {
                        for (int64_t c = 0; c < s.C; ++c) d[c] = 0.0f;
                    }
                }
            }
        }
}

EMBER_TARGET_CLONES void col2im(float* dx, const float* dcol, const ConvShape& s) {
    const int64_t K = s.KH * s.KW * s.C;
    for (int64_t oh = 0; oh < s.OH; ++oh)
        for (int64_t ow = 0; ow < s.OW; ++ow) {
            const float* row = dcol + (oh * s.OW + ow) * K;
            for (int64_t kh = 0; kh < s.KH; ++kh) {
                const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
                if (ih < 0 || ih >= s.H) continue;
                for (int64_t kw = 0; kw < s.KW; ++kw) {
                    const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                    if (iw < 0 || iw >= s.W) continue;
                    const float* src = row + (kh * s.KW + kw) * s.C;
                    float* dst = dx + (ih * s.W + iw) * s.C;
                    for (int64_t c = 0; c < s.C; ++c) dst[c] += src[c];
                }
            }
        }
}

void conv2d_forward(float* y, const float* x, const float* kernel, const float* bias,
                    const ConvShape& s, bool relu) {
    const int64_t K = s.KH * s.KW * s.C, OHW = s.OH * s.OW, HWC = s.H * s.W * s.C;
    if (s.N == 0 || OHW == 0 || s.F == 0) return;
    const int64_t chunk = conv_chunk(s), nchunks = (s.N + chunk - 1) / chunk;
    const bool pointwise = is_pointwise(s);
    for_each_chunk(nchunks, s.N * OHW * K * s.F, [&](int64_t ci, int gemm_threads) {
        const int64_t n0 = ci * chunk, nb = std::min(chunk, s.N - n0), rows = nb * OHW;
        const float* col = x + n0 * HWC;
        if (!pointwise) {
            float* buf = scratch(kSlotCol).get(rows * K);
            for (int64_t b = 0; b < nb; ++b) im2col(buf + b * OHW * K, x + (n0 + b) * HWC, s);
            col = buf;
        }
        GemmEpilogue ep;
        ep.bias = bias;
        ep.relu = relu;
        gemm(y + n0 * OHW * s.F, col, kernel, rows, s.F, K, false, false, 1.0f, 0.0f, K, s.F, s.F,
             gemm_threads, &ep);
    });
}

void conv2d_backward(float* dx, float* dkernel, float* dbias, const float* dy, const float* x,
                     const float* kernel, const ConvShape& s, const float* relu_y) {
    const int64_t K = s.KH * s.KW * s.C, OHW = s.OH * s.OW, HWC = s.H * s.W * s.C;
    const int64_t chunk = conv_chunk(s), nchunks = (s.N + chunk - 1) / chunk;
    const bool pointwise = is_pointwise(s);
    if (s.N == 0 || OHW == 0 || s.F == 0) {
        if (dx) std::memset(dx, 0, s.N * HWC * sizeof(float));
        if (dkernel) std::memset(dkernel, 0, K * s.F * sizeof(float));
        if (dbias) std::memset(dbias, 0, s.F * sizeof(float));
        return;
    }
    // One partial weight / bias gradient per chunk, summed in chunk order.
    std::vector<float> kparts(dkernel && nchunks > 1 ? nchunks * K * s.F : 0);
    std::vector<float> bparts(dbias ? nchunks * s.F : 0);
    float* kpart = nchunks > 1 ? kparts.data() : dkernel;
    for_each_chunk(nchunks, 2 * s.N * OHW * K * s.F, [&](int64_t ci, int gemm_threads) {
        const int64_t n0 = ci * chunk, nb = std::min(chunk, s.N - n0), rows = nb * OHW;
        const float* dyc = dy + n0 * OHW * s.F;
        if (relu_y) {
            // The ReLU's gradient, applied to this chunk while it is in cache.
            float* masked = scratch(kSlotDy).get(rows * s.F);
            const float* yc = relu_y + n0 * OHW * s.F;
            for (int64_t i = 0; i < rows * s.F; ++i) masked[i] = yc[i] > 0.0f ? dyc[i] : 0.0f;
            dyc = masked;
        }
        if (dbias) {
            // This chunk's bias gradient; chunks are added in order below.
            float* __restrict db = bparts.data() + ci * s.F;
            for (int64_t f = 0; f < s.F; ++f) db[f] = 0.0f;
            for (int64_t r = 0; r < rows; ++r) {
                const float* __restrict g = dyc + r * s.F;
                for (int64_t f = 0; f < s.F; ++f) db[f] += g[f];
            }
        }
        if (dkernel) {
            const float* col = x + n0 * HWC;
            if (!pointwise) {
                float* buf = scratch(kSlotCol).get(rows * K);
                for (int64_t b = 0; b < nb; ++b) im2col(buf + b * OHW * K, x + (n0 + b) * HWC, s);
                col = buf;
            }
            gemm(kpart + ci * K * s.F, col, dyc, K, s.F, rows, true, false, 1.0f, 0.0f, K, s.F,
                 s.F, gemm_threads);
        }
        if (dx) {
            if (pointwise) {
                gemm(dx + n0 * HWC, dyc, kernel, rows, K, s.F, false, true, 1.0f, 0.0f, s.F, s.F,
                     K, gemm_threads);
            } else {
                float* dcol = scratch(kSlotTmp).get(rows * K);
                gemm(dcol, dyc, kernel, rows, K, s.F, false, true, 1.0f, 0.0f, s.F, s.F, K,
                     gemm_threads);
                // Zeroed chunk by chunk, right before col2im adds into it.
                std::memset(dx + n0 * HWC, 0, nb * HWC * sizeof(float));
                for (int64_t b = 0; b < nb; ++b) col2im(dx + (n0 + b) * HWC, dcol + b * OHW * K, s);
            }
        }
    });
    if (dkernel && nchunks > 1) sum_parts(dkernel, kparts.data(), nchunks, K * s.F);
    if (dbias) sum_parts(dbias, bparts.data(), nchunks, s.F);
}

void conv2d_forward_naive(float* y, const float* x, const float* kernel, const float* bias,
                          const ConvShape& s) {
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow)
                for (int64_t f = 0; f < s.F; ++f) {
                    float acc = bias ? bias[f] : 0.0f;
                    for (int64_t kh = 0; kh < s.KH; ++kh)
                        for (int64_t kw = 0; kw < s.KW; ++kw) {
                            const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
                            const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                            if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                            for (int64_t c = 0; c < s.C; ++c)
                                acc += x[((n * s.H + ih) * s.W + iw) * s.C + c] *
                                       kernel[((kh * s.KW + kw) * s.C + c) * s.F + f];
                        }
                    y[((n * s.OH + oh) * s.OW + ow) * s.F + f] = acc;
                }
}

void conv2d_backward_naive(float* dx, float* dkernel, float* dbias, const float* dy,
                           const float* x, const float* kernel, const ConvShape& s) {
    if (dx) std::memset(dx, 0, s.N * s.H * s.W * s.C * sizeof(float));
    if (dkernel) std::memset(dkernel, 0, s.KH * s.KW * s.C * s.F * sizeof(float));
    if (dbias) std::memset(dbias, 0, s.F * sizeof(float));
    for (int64_t n = 0; n < s.N; ++n)
        for (int64_t oh = 0; oh < s.OH; ++oh)
            for (int64_t ow = 0; ow < s.OW; ++ow)
                for (int64_t f = 0; f < s.F; ++f) {
                    const float g = dy[((n * s.OH + oh) * s.OW + ow) * s.F + f];
                    if (dbias) dbias[f] += g;
                    for (int64_t kh = 0; kh < s.KH; ++kh)
                        for (int64_t kw = 0; kw < s.KW; ++kw) {
                            const int64_t ih = oh * s.SH - s.PT + kh * s.DH;
                            const int64_t iw = ow * s.SW - s.PL + kw * s.DW;
                            if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                            for (int64_t c = 0; c < s.C; ++c) {
                                const int64_t xi = ((n * s.H + ih) * s.W + iw) * s.C + c;
                                const int64_t ki = ((kh * s.KW + kw) * s.C + c) * s.F + f;
                                if (dx) dx[xi] += g * kernel[ki];
                                if (dkernel) dkernel[ki] += g * x[xi];
                            }
                        }
                }
}

}  // namespace ember
