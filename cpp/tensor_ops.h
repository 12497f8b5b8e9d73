// The small tensor operations an autodiff engine is made of: element-wise
// maps with NumPy broadcasting, reductions, strided copies (transpose,
// broadcast_to, slice, concatenate), gathers and their scatter-add
// backward, batched matrix products and fills. All float32.
//
// Shapes are planned on the host (plan_broadcast, plan_view, plan_reduce:
// they also validate and throw std::invalid_argument, a ValueError in
// Python); the kernels take the planned, collapsed description, so the CPU
// kernels here and their CUDA twins (cpp/cuda/tensor_ops.cu) get the same
// arguments. Every reduction is deterministic: see reduce().
#pragma once
#include <cstdint>
#include <vector>

namespace ember {

enum class UnaryOp {
    Negative, Abs, Sign, Square, Sqrt, Rsqrt, Reciprocal, Exp, Expm1, Log, Log1p, Sin, Cos, Tan,
    Floor, Ceil, Round, LogicalNot, Softplus, IsNan, IsInf, IsFinite
};
enum class BinaryOp {
    Add, Subtract, Multiply, Divide, Power, Maximum, Minimum, Equal, NotEqual, Greater,
    GreaterEqual, Less, LessEqual, LogicalAnd, LogicalOr, FloorDivide, Mod, Arctan2
};
enum class ReduceOp { Sum, Mean, Max, Min, Prod };

// Most dimensions an index space may keep after collapsing (see Strided).
constexpr int kMaxDims = 8;

// An operand of an element-wise operation: an array, or (data == nullptr)
// the scalar `scalar` (a Python number, passed by value to either device).
struct Operand {
    const float* data = nullptr;
    float scalar = 0.0f;
};

// A row-major index space of `numel` elements over `rank` dimensions (at
// least 1, at most kMaxDims) and, for up to three operands, each one's
// element stride along every dimension (0 where it is broadcast, negative
// for a reversed slice). Dimensions of size 1 are dropped and neighbours
// that are contiguous in every operand merged, so that the innermost
// dimension is as long as possible: (N, C) + (C,) stays 2-d, a same-shape
// sum of any rank becomes 1-d.
struct Strided {
    int rank = 1;
    int64_t numel = 1;
    int64_t size[kMaxDims] = {1};
    int64_t stride[3][kMaxDims] = {};
};

// The NumPy broadcast of `shapes` (a scalar is the shape {}) into *out_shape,
// and its index space with each operand's strides (operands contiguous).
// Throws std::invalid_argument "Operands could not be broadcast together.
// Received: shapes (2, 3) and (4,)", or when a size overflows int64.
Strided plan_broadcast(const std::vector<std::vector<int64_t>>& shapes,
                       std::vector<int64_t>* out_shape);

// One operand's view: element (i0, i1, ...) of `shape` is at
// sum(i_d * strides[d]) from the view's first element. Collapsed as above.
Strided plan_view(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides);

// Product of `shape` (1 for {}); throws std::invalid_argument naming `what`
// when it overflows int64 or a size is negative.
int64_t checked_numel(const std::vector<int64_t>& shape, const char* what);

// A reduction over `axes` (normalised, distinct) of an array of `shape`,
// as x (A, R, B) -> (A, B): when the reduced axes are not one contiguous
// run (after dropping size-1 axes), `perm` is the permutation that moves
// them last (kept axes first, both in order), and the caller transposes
// first; then B == 1. perm is empty otherwise.
struct ReducePlan {
    int64_t A = 1, R = 1, B = 1;
    std::vector<int> perm;
};
ReducePlan plan_reduce(const std::vector<int64_t>& shape, const std::vector<int>& axes);

// For take_backward: the positions i of `indices` (I values in [0, D)) that
// name each row d, as lists start[d]..start[d+1] of pos, i ascending.
void index_lists(const int64_t* indices, int64_t I, int64_t D, std::vector<int64_t>* start,
                 std::vector<int64_t>* pos);

// ---------------------------------------------------------------- kernels
// Output first, then inputs, then sizes; every output is fully written.

// y (n) = op(x (n)); formulas in formulas.h.
void unary(float* y, const float* x, int64_t n, UnaryOp op);

// out (s.numel) = op(a, b) over the index space s (operands 0 and 1).
void binary(float* out, Operand a, Operand b, const Strided& s, BinaryOp op);
// Reference: the shapes as given (no collapsing), NumPy's broadcasting rule
// applied per element; contiguous a, b.
void binary_naive(float* out, const float* a, const std::vector<int64_t>& a_shape, const float* b,
                  const std::vector<int64_t>& b_shape, const std::vector<int64_t>& out_shape,
                  BinaryOp op);

// out = a where cond != 0 else b, over s (operands cond, a, b).
void where(float* out, Operand cond, Operand a, Operand b, const Strided& s);

// out (A, B) = op over r of x (A, R, B). Deterministic and independent of
// the thread count: the R values of each output are cut into blocks of
// kReduceBlock (common.h); each block is folded in r order in double, from
// the op's identity (0, 1, -inf, +inf), and the blocks' results are folded
// in block order, in double; then rounded once to float (mean divides the
// double sum by R first). max/min propagate NaN, as NumPy does. R == 0
// gives sum 0, prod 1, mean NaN (the bindings refuse max/min).
void reduce(float* out, const float* x, int64_t A, int64_t R, int64_t B, ReduceOp op);
// Reference: every element of x (`shape`) folded in double, in memory order,
// into the output of the axes where reduced[axis] is false.
void reduce_naive(float* out, const float* x, const std::vector<int64_t>& shape,
                  const std::vector<bool>& reduced, ReduceOp op);

// out (A, B) = the first r of x (A, R, B) holding the max (min) over r, as a
// float; a NaN counts as the extreme (NumPy's rule). R > 0.
void arg_reduce(float* out, const float* x, int64_t A, int64_t R, int64_t B, bool is_max);

// y (v.numel, contiguous) = the elements of the view v (operand 0) of x,
// where x points at the view's first element. Transpose, broadcast_to and
// slice. The swap of the last two axes runs in square tiles.
void strided_copy(float* y, const float* x, const Strided& v);
// The reverse: the view v of x (operand 0; x at its first element) = y
// (v.numel, contiguous). v must not repeat an element (no stride 0).
void strided_scatter(float* x, const float* y, const Strided& v);
// Reference for transpose: y = x (shape) with its axes permuted by perm.
void transpose_naive(float* y, const float* x, const std::vector<int64_t>& shape,
                     const std::vector<int>& perm);

// out (A, I, B) = x (A, D, B) gathered along D at `indices` (I values in
// [0, D), host memory, also for the CUDA version, which copies them over).
void take(float* out, const float* x, const int64_t* indices, int64_t A, int64_t D, int64_t B,
          int64_t I);
// dx (A, D, B) = sum over i with indices[i] == d of dy (A, I, B) at i: each
// element of dx sums its terms in i order, in float, from 0; no two threads
// write one element (rows of dx are shared out, not rows of dy).
void take_backward(float* dx, const float* dy, const int64_t* indices, int64_t A, int64_t D,
                   int64_t B, int64_t I);

// c (batch, M, N) = op(a) @ op(b) per batch entry, through the GEMM; the
// batch index space s has operand 0 = a, 1 = b with strides counted in whole
// matrices (0 where broadcast). a's matrices are (M, K), or (K, M) with ta;
// b's (K, N), or (N, K) with tb. With a single b and neither transposed, a
// contiguous batch of a is folded into one (batch * M, K) product.
void batch_matmul(float* c, const float* a, const float* b, const Strided& s, int64_t M,
                  int64_t N, int64_t K, bool ta, bool tb);

// y (n) = value.
void fill(float* y, int64_t n, float value);

}  // namespace ember
