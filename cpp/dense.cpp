#include "dense.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common.h"
#include "gemm.h"

namespace ember {

void dense_forward(float* y, const float* x, const float* kernel, const float* bias, int64_t N,
                   int64_t I, int64_t O, bool relu) {
    GemmEpilogue ep;
    ep.bias = bias;
    ep.relu = relu;
    gemm(y, x, kernel, N, O, I, false, false, 1.0f, 0.0f, I, O, O, 0, &ep);
}

void dense_backward(float* dx, float* dkernel, float* dbias, const float* dy, const float* x,
                    const float* kernel, int64_t N, int64_t I, int64_t O) {
    if (dx) gemm(dx, dy, kernel, N, I, O, false, true, 1.0f, 0.0f, O, O, I);
    if (dkernel) gemm(dkernel, x, dy, I, O, N, true, false, 1.0f, 0.0f, I, O, O);
    if (dbias) column_sum(dbias, dy, N, O);
}

void column_sum(float* out, const float* x, int64_t M, int64_t C) {
    column_sums<float>(out, M, C, [x, C](int64_t r, int64_t c) { return x[r * C + c]; });
}

}  // namespace ember
