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

template <Act A>
void forward_as(float* y, const float* x, int64_t n, float alpha) {
    map(y, x, n, [alpha](float v) { return activate<A>(v, alpha); });
}

template <Act A>
void backward_as(float* dx, const float* dy, const float* x, int64_t n, float alpha) {
    map2(dx, dy, x, n, [alpha](float g, float v) { return activate_grad<A>(g, v, alpha); });
}

}  // namespace

// One loop per activation (the switch stays outside the loop, which then
// vectorizes); the formulas are formulas.h's, shared with the CUDA kernels.
void activation_forward(float* y, const float* x, int64_t n, Act act, float alpha) {
    switch (act) {
        case Act::Linear: forward_as<Act::Linear>(y, x, n, alpha); break;
        case Act::Relu: forward_as<Act::Relu>(y, x, n, alpha); break;
        case Act::Sigmoid: forward_as<Act::Sigmoid>(y, x, n, alpha); break;
        case Act::Tanh: forward_as<Act::Tanh>(y, x, n, alpha); break;
        case Act::LeakyRelu: forward_as<Act::LeakyRelu>(y, x, n, alpha); break;
        case Act::Elu: forward_as<Act::Elu>(y, x, n, alpha); break;
        case Act::Gelu: forward_as<Act::Gelu>(y, x, n, alpha); break;
    }
}

void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Act act,
                         float alpha) {
    switch (act) {
        case Act::Linear: backward_as<Act::Linear>(dx, dy, x, n, alpha); break;
        case Act::Relu: backward_as<Act::Relu>(dx, dy, x, n, alpha); break;
        case Act::Sigmoid: backward_as<Act::Sigmoid>(dx, dy, x, n, alpha); break;
        case Act::Tanh: backward_as<Act::Tanh>(dx, dy, x, n, alpha); break;
        case Act::LeakyRelu: backward_as<Act::LeakyRelu>(dx, dy, x, n, alpha); break;
        case Act::Elu: backward_as<Act::Elu>(dx, dy, x, n, alpha); break;
        case Act::Gelu: backward_as<Act::Gelu>(dx, dy, x, n, alpha); break;
    }
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
