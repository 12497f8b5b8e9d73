#include "activation.h"

#include "common.h"
#include "formulas.h"

namespace ember {

namespace {

template <class F>
void map(float* y, const float* x, int64_t n, F f) {
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

template <class F>
void map2(float* dx, const float* dy, const float* x, int64_t n, F f) {
    const int nt = threads_for(n * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) dx[i] = f(dy[i], x[i]);
}

}  // namespace

// One loop per activation (the switch stays outside the loop, which then
// vectorizes); the formulas are formulas.h's, shared with the CUDA kernels.
void activation_forward(float* y, const float* x, int64_t n, Act act, float alpha) {
    with_activation(act, [&](auto a) {
        map(y, x, n, [alpha](float v) { return activate<decltype(a)::value>(v, alpha); });
    });
}

void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Act act,
                         float alpha) {
    with_activation(act, [&](auto a) {
        map2(dx, dy, x, n,
             [alpha](float g, float v) { return activate_grad<decltype(a)::value>(g, v, alpha); });
    });
}

void relu_backward_from_output(float* dx, const float* dy, const float* y, int64_t n) {
    map2(dx, dy, y, n, [](float g, float v) { return v > 0.0f ? g : 0.0f; });
}

void softmax_forward(float* y, const float* x, int64_t rows, int64_t cols) {
    const int nt = threads_for(rows * cols * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; ++r) softmax_row(y + r * cols, x + r * cols, cols);
}

void softmax_backward(float* dx, const float* dy, const float* x, int64_t rows, int64_t cols) {
    softmax_forward(dx, x, rows, cols);  // dx holds y until it is overwritten row by row
    const int nt = threads_for(rows * cols * 4);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; ++r) softmax_backward_row(dx + r * cols, dy + r * cols, cols);
}

}  // namespace ember
