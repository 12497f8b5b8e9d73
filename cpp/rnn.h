// Recurrent layers (SimpleRNN, LSTM, GRU) with the time loop in C++: the
// input projection of every step as one GEMM up front, then per step the
// recurrent GEMM and the fused gate arithmetic; backward through time in one
// call, the weight gradients as GEMMs over all steps at once. Keras 3 weight
// layouts: kernel (C, G*U), recurrent_kernel (U, G*U), with G = 4 gates
// i, f, c, o for LSTM, 3 gates z, r, h for GRU, 1 for SimpleRNN; bias (G*U,)
// or, for GRU with reset_after, (2, 3U): the input bias then the recurrent
// bias. Activations: x is (N, T, C), batch-major.
#pragma once
#include <cstdint>

namespace ember {

enum class RnnCell { Simple, Lstm, Gru };
enum class RnnAct { Tanh, Relu, Linear, Sigmoid, HardSigmoid };

struct RnnShape {
    int64_t N = 0, T = 0, C = 0, U = 0;
    RnnCell cell = RnnCell::Lstm;
    bool reset_after = true;          // GRU only
    bool go_backwards = false;        // step s reads x[:, T-1-s]
    bool zero_output_for_mask = false;  // a masked step outputs 0 instead of the previous output
    RnnAct act = RnnAct::Tanh;
    RnnAct ract = RnnAct::Sigmoid;    // LSTM and GRU gates
    int64_t gates() const { return cell == RnnCell::Lstm ? 4 : (cell == RnnCell::Gru ? 3 : 1); }
    // Rows of the packed output per sample: T outputs, then h_T, then c_T (LSTM).
    int64_t out_rows() const { return T + (cell == RnnCell::Lstm ? 2 : 1); }
};

// Forward over all T steps. Inputs: x (N, T, C), kernel (C, GU),
// rkernel (U, GU), bias (GU,) or (2, GU) (GRU reset_after) or null, h0 and
// c0 (N, U) or null (zeros; c0 for LSTM only), mask (N, T) or null (nonzero
// = the step counts; a masked step keeps the state and outputs the previous
// output, or 0 with zero_output_for_mask), rdmask (N, U) or null: a fixed
// recurrent-dropout mask multiplying h before each recurrent product.
// Outputs: out (N, out_rows, U): out[:, s] the output of step s (in
// processing order, as Keras), out[:, T] the final h, out[:, T+1] the final c
// (LSTM). Saved for backward: gates (N, T, GU) after their activations, hs
// (N, T, U) the state h after reading x[:, t], aux (N, T, U): LSTM the cell
// state c after x[:, t]; GRU the recurrent part of the candidate
// (reset_after) or r * h_prev (not); unused (may be null) for SimpleRNN.
void rnn_forward(float* out, float* gates, float* hs, float* aux, const float* x,
                 const float* kernel, const float* rkernel, const float* bias, const float* h0,
                 const float* c0, const float* mask, const float* rdmask, const RnnShape& s);

// Backward through time. dout (N, out_rows, U) is the gradient of `out`;
// gates, hs, aux from the forward. Outputs dx (N, T, C), dkernel (C, GU),
// drkernel (U, GU), dbias (bias's shape; null when there is no bias), dh0 and
// dc0 (N, U; dc0 LSTM only, either may be null).
void rnn_backward(float* dx, float* dkernel, float* drkernel, float* dbias, float* dh0, float* dc0,
                  const float* dout, const float* gates, const float* hs, const float* aux,
                  const float* x, const float* kernel, const float* rkernel, const float* h0,
                  const float* c0, const float* mask, const float* rdmask, const RnnShape& s);

}  // namespace ember
