// CUDA kernels for the tensor operations (tensor_ops.h), in its order. The
// element formulas are formulas.h's, shared with the CPU; the reductions
// fold the same fixed blocks in the same order in double, and take_backward
// adds the same terms in the same order in float, so those results equal
// the CPU's bit for bit. No atomics, no warp-level code.
#include <vector>

#include "../common.h"
#include "../formulas.h"
#include "../tensor_ops.h"
#include "cuda_ops.h"
#include "runtime.h"

namespace ember {
namespace cuda {

namespace {

// Operand k of the index space s at element i (a scalar, or its array).
__device__ inline float operand_at(const Operand& o, const Strided& s, int k, int64_t i) {
    if (!o.data) return o.scalar;
    return o.data[s.rank == 1 ? i * s.stride[k][0] : strided_offset(s, k, i)];
}

template <UnaryOp OP>
__global__ void unary_kernel(float* y, const float* x, int64_t n) {
    EMBER_GRID_LOOP(i, n) y[i] = unary_op<OP>(x[i]);
}

template <BinaryOp OP>
__global__ void binary_kernel(float* out, Operand a, Operand b, Strided s) {
    EMBER_GRID_LOOP(i, s.numel) out[i] = binary_op<OP>(operand_at(a, s, 0, i), operand_at(b, s, 1, i));
}

__global__ void where_kernel(float* out, Operand c, Operand a, Operand b, Strided s) {
    EMBER_GRID_LOOP(i, s.numel) out[i] = operand_at(c, s, 0, i) != 0.0f ? operand_at(a, s, 1, i)
                                                                        : operand_at(b, s, 2, i);
}

// Stage 1 of reduce: part[(a * nb + blk) * B + c], block blk of (a, c)
// folded in r order (the CPU's layout and order).
template <ReduceOp OP>
__global__ void reduce_blocks_kernel(double* part, const float* x, int64_t A, int64_t R, int64_t B,
                                     int64_t nb) {
    EMBER_GRID_LOOP(t, A * nb * B) {
        const int64_t c = t % B, blk = (t / B) % nb, a = t / (B * nb);
        const int64_t r1 = min(R, (blk + 1) * kReduceBlock);
        double acc = reduce_identity<OP>();
        for (int64_t r = blk * kReduceBlock; r < r1; ++r) acc = reduce_fold<OP>(acc, (double)x[(a * R + r) * B + c]);
        part[t] = acc;
    }
}

// Stage 2: each output's blocks in block order.
template <ReduceOp OP>
__global__ void reduce_combine_kernel(float* out, const double* part, int64_t A, int64_t R, int64_t B,
                                      int64_t nb) {
    EMBER_GRID_LOOP(o, A * B) {
        const int64_t a = o / B, c = o % B;
        double acc = part[a * nb * B + c];
        for (int64_t blk = 1; blk < nb; ++blk) acc = reduce_fold<OP>(acc, part[(a * nb + blk) * B + c]);
        out[o] = reduce_finish<OP>(acc, R);
    }
}

__global__ void arg_reduce_kernel(float* out, const float* x, int64_t A, int64_t R, int64_t B, bool is_max) {
    EMBER_GRID_LOOP(o, A * B) {
        out[o] = (float)arg_extreme(x + (o / B) * R * B + o % B, R, B, is_max);
    }
}

__global__ void gather_view_kernel(float* y, const float* x, Strided v) {
    EMBER_GRID_LOOP(i, v.numel) y[i] = x[v.rank == 1 ? i * v.stride[0][0] : strided_offset(v, 0, i)];
}

__global__ void scatter_view_kernel(float* x, const float* y, Strided v) {
    EMBER_GRID_LOOP(i, v.numel) x[v.rank == 1 ? i * v.stride[0][0] : strided_offset(v, 0, i)] = y[i];
}

// The last two axes swapped (see ember::strided_copy): per outer index b,
// y (P, Q) [p][q] = x[b's offset + p + q * sq], through a shared 32 x 32
// tile (33 wide: no bank conflicts) so that reads and writes both run along
// contiguous memory. Blocks of 32 x 8 threads; grid (Q tiles, P tiles, outer).
constexpr int kTile = 32, kTileRows = 8;

__global__ void transpose_tile_kernel(float* y, const float* x, Strided outer_dims, int64_t outer,
                                      int64_t P, int64_t Q, int64_t sq) {
    __shared__ float tile[kTile][kTile + 1];
    const int64_t p0 = (int64_t)blockIdx.y * kTile, q0 = (int64_t)blockIdx.x * kTile;
    const int tx = threadIdx.x, ty = threadIdx.y;
    for (int64_t b = blockIdx.z; b < outer; b += gridDim.z) {
        const float* xb = x + strided_offset(outer_dims, 0, b);
        float* yb = y + b * P * Q;
        for (int j = ty; j < kTile; j += kTileRows) {
            const int64_t p = p0 + tx, q = q0 + j;
            if (p < P && q < Q) tile[j][tx] = xb[p + q * sq];
        }
        __syncthreads();
        for (int j = ty; j < kTile; j += kTileRows) {
            const int64_t p = p0 + j, q = q0 + tx;
            if (p < P && q < Q) yb[p * Q + q] = tile[tx][j];
        }
        __syncthreads();
    }
}

__global__ void take_kernel(float* out, const float* x, const int64_t* idx, int64_t A, int64_t D,
                            int64_t B, int64_t I) {
    EMBER_GRID_LOOP(t, A * I * B) {
        const int64_t c = t % B, i = (t / B) % I, a = t / (B * I);
        out[t] = x[(a * D + idx[i]) * B + c];
    }
}

// dx[a, d, c] = the dy[a, i, c] of the positions i naming d, i ascending.
__global__ void take_backward_kernel(float* dx, const float* dy, const int64_t* start, const int64_t* pos,
                                     int64_t A, int64_t D, int64_t B, int64_t I) {
    EMBER_GRID_LOOP(t, A * D * B) {
        const int64_t c = t % B, d = (t / B) % D, a = t / (B * D);
        float acc = 0.0f;
        for (int64_t k = start[d]; k < start[d + 1]; ++k) acc += dy[(a * I + pos[k]) * B + c];
        dx[t] = acc;
    }
}

__global__ void fill_value_kernel(float* y, int64_t n, float value) {
    EMBER_GRID_LOOP(i, n) y[i] = value;
}

}  // namespace

// ------------------------------------------------------------------ host side

void unary(float* y, const float* x, int64_t n, UnaryOp op) {
    if (n <= 0) return;
    with_unary(op, [&](auto o) {
        launch("unary_kernel", unary_kernel<decltype(o)::value>, grid_for(n), kThreads, y, x, n);
    });
}

void binary(float* out, Operand a, Operand b, const Strided& s, BinaryOp op) {
    if (s.numel <= 0) return;
    with_binary(op, [&](auto o) {
        launch("binary_kernel", binary_kernel<decltype(o)::value>, grid_for(s.numel), kThreads, out, a, b, s);
    });
}

void where(float* out, Operand cond, Operand a, Operand b, const Strided& s) {
    if (s.numel <= 0) return;
    launch("where_kernel", where_kernel, grid_for(s.numel), kThreads, out, cond, a, b, s);
}

void reduce(float* out, const float* x, int64_t A, int64_t R, int64_t B, ReduceOp op) {
    if (A * B <= 0) return;
    const int64_t nb = (R + kReduceBlock - 1) / kReduceBlock;
    with_reduce(op, [&](auto o) {
        constexpr ReduceOp OP = decltype(o)::value;
        if (nb == 0) {
            fill(out, A * B, reduce_finish<OP>(reduce_identity<OP>(), 0));
            return;
        }
        Scratch<double> part((size_t)(A * nb * B));
        launch("reduce_blocks_kernel", reduce_blocks_kernel<OP>, grid_for(A * nb * B), kThreads, part.p, x,
               A, R, B, nb);
        launch("reduce_combine_kernel", reduce_combine_kernel<OP>, grid_for(A * B), kThreads, out,
               (const double*)part.p, A, R, B, nb);
    });
}

void arg_reduce(float* out, const float* x, int64_t A, int64_t R, int64_t B, bool is_max) {
    if (A * B <= 0) return;
    launch("arg_reduce_kernel", arg_reduce_kernel, grid_for(A * B), kThreads, out, x, A, R, B, is_max);
}

void strided_copy(float* y, const float* x, const Strided& v) {
    if (v.numel <= 0) return;
    const int r = v.rank;
    if (r >= 2 && v.stride[0][r - 2] == 1 && v.stride[0][r - 1] != 1) {
        const int64_t P = v.size[r - 2], Q = v.size[r - 1], outer = v.numel / (P * Q);
        const int64_t tp = (P + kTile - 1) / kTile, tq = (Q + kTile - 1) / kTile;
        if (tp <= 65535) {
            Strided o = v;
            o.rank = r > 2 ? r - 2 : 1;
            if (r == 2) o.size[0] = 1;
            const dim3 grid((unsigned)tq, (unsigned)tp, (unsigned)(outer < 65535 ? outer : 65535));
            launch("transpose_tile_kernel", transpose_tile_kernel, grid, dim3(kTile, kTileRows), y, x, o,
                   outer, P, Q, v.stride[0][r - 1]);
            return;
        }
    }
    launch("gather_view_kernel", gather_view_kernel, grid_for(v.numel), kThreads, y, x, v);
}

void strided_scatter(float* x, const float* y, const Strided& v) {
    if (v.numel <= 0) return;
    launch("scatter_view_kernel", scatter_view_kernel, grid_for(v.numel), kThreads, x, y, v);
}

void take(float* out, const float* x, const int64_t* indices, int64_t A, int64_t D, int64_t B, int64_t I) {
    if (A * I * B <= 0) return;
    Scratch<int64_t> idx((size_t)I);
    copy_to_device(idx.p, indices, (size_t)I * sizeof(int64_t));
    launch("take_kernel", take_kernel, grid_for(A * I * B), kThreads, out, x, (const int64_t*)idx.p, A, D,
           B, I);
}

void take_backward(float* dx, const float* dy, const int64_t* indices, int64_t A, int64_t D, int64_t B,
                   int64_t I) {
    if (A * D * B <= 0) return;
    std::vector<int64_t> start, pos;
    index_lists(indices, I, D, &start, &pos);
    if (I == 0) pos.push_back(0);  // a non-empty allocation
    Scratch<int64_t> ds(start.size()), dp(pos.size());
    copy_to_device(ds.p, start.data(), start.size() * sizeof(int64_t));
    copy_to_device(dp.p, pos.data(), pos.size() * sizeof(int64_t));
    launch("take_backward_kernel", take_backward_kernel, grid_for(A * D * B), kThreads, dx, dy,
           (const int64_t*)ds.p, (const int64_t*)dp.p, A, D, B, I);
}

void batch_matmul(float* c, const float* a, const float* b, const Strided& s, int64_t M, int64_t N,
                  int64_t K, bool ta, bool tb) {
    if (M == 0 || N == 0 || s.numel == 0) return;
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    if (!ta && !tb && s.rank == 1 && s.stride[0][0] == 1 && s.stride[1][0] == 0) {
        gemm(c, a, b, s.numel * M, N, K, false, false, 1.0f, 0.0f, lda, ldb, N);
        return;
    }
    for (int64_t i = 0; i < s.numel; ++i)
        gemm(c + i * M * N, a + strided_offset(s, 0, i) * M * K, b + strided_offset(s, 1, i) * K * N, M, N,
             K, ta, tb, 1.0f, 0.0f, lda, ldb, N);
}

void fill(float* y, int64_t n, float value) {
    if (n <= 0) return;
    launch("fill_value_kernel", fill_value_kernel, grid_for(n), kThreads, y, n, value);
}

}  // namespace cuda
}  // namespace ember
