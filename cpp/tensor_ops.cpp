#include "tensor_ops.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "common.h"
#include "formulas.h"
#include "gemm.h"
#include "tensor.h"

namespace ember {

// ---------------------------------------------------------------- planning

namespace {

std::string shape_str(const std::vector<int64_t>& shape) { return Tensor{nullptr, shape}.shape_str(); }

// Drops size-1 dimensions and merges neighbours contiguous in every operand.
// `dims` holds (size, strides...) outer to inner.
Strided collapse(const std::vector<int64_t>& size, const std::vector<std::vector<int64_t>>& strides,
                 int64_t numel) {
    const int nops = (int)strides.size();
    Strided s;
    s.numel = numel;
    s.rank = 0;
    std::vector<int64_t> sz;
    std::vector<std::vector<int64_t>> st(nops);
    for (size_t d = 0; d < size.size(); ++d) {
        if (size[d] == 1) continue;
        bool merge = !sz.empty();
        for (int k = 0; k < nops && merge; ++k)
            merge = st[k].back() == strides[k][d] * size[d];
        if (merge) {
            sz.back() *= size[d];
            for (int k = 0; k < nops; ++k) st[k].back() = strides[k][d];
        } else {
            sz.push_back(size[d]);
            for (int k = 0; k < nops; ++k) st[k].push_back(strides[k][d]);
        }
    }
    if (sz.empty()) {  // a single element (or a 0-d array)
        s.rank = 1;
        s.size[0] = 1;
        return s;
    }
    if ((int)sz.size() > kMaxDims)
        throw std::invalid_argument("The operation needs more than " + std::to_string(kMaxDims) +
                                    " dimensions after merging contiguous ones. Received: shape " +
                                    shape_str(size));
    s.rank = (int)sz.size();
    for (int d = 0; d < s.rank; ++d) {
        s.size[d] = sz[d];
        for (int k = 0; k < nops; ++k) s.stride[k][d] = st[k][d];
    }
    return s;
}

}  // namespace

int64_t checked_numel(const std::vector<int64_t>& shape, const char* what) {
    int64_t n = 1;
    bool zero = false;
    for (int64_t d : shape) {
        if (d < 0)
            throw std::invalid_argument(std::string(what) + " must hold non-negative sizes. Received: " +
                                        shape_str(shape));
        zero = zero || d == 0;
    }
    for (int64_t d : shape)
        if (!zero && __builtin_mul_overflow(n, d, &n))
            throw std::invalid_argument(std::string(what) + " is too large (its size overflows int64). "
                                        "Received: " + shape_str(shape));
    return zero ? 0 : n;
}

Strided plan_broadcast(const std::vector<std::vector<int64_t>>& shapes,
                       std::vector<int64_t>* out_shape) {
    size_t rank = 0;
    for (const auto& sh : shapes) rank = std::max(rank, sh.size());
    std::vector<int64_t> out(rank, 1);
    bool ok = true;
    for (const auto& sh : shapes)
        for (size_t i = 0; i < sh.size(); ++i) {
            int64_t& o = out[rank - sh.size() + i];
            if (o == 1) o = sh[i];
            else if (sh[i] != 1 && sh[i] != o) ok = false;
        }
    if (!ok) {
        std::string msg = "Operands could not be broadcast together. Received: shapes ";
        for (size_t k = 0; k < shapes.size(); ++k)
            msg += (k ? (k + 1 == shapes.size() ? " and " : ", ") : "") + shape_str(shapes[k]);
        throw std::invalid_argument(msg);
    }
    const int64_t numel = checked_numel(out, "The broadcast shape");
    std::vector<std::vector<int64_t>> strides(shapes.size(), std::vector<int64_t>(rank, 0));
    for (size_t k = 0; k < shapes.size(); ++k) {
        int64_t st = 1;
        for (size_t i = shapes[k].size(); i-- > 0;) {
            const int64_t d = shapes[k][i];
            strides[k][rank - shapes[k].size() + i] = d == 1 ? 0 : st;
            st *= d;
        }
    }
    if (out_shape) *out_shape = out;
    return collapse(out, strides, numel);
}

Strided plan_view(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
    return collapse(shape, {strides}, checked_numel(shape, "The view's shape"));
}

ReducePlan plan_reduce(const std::vector<int64_t>& shape, const std::vector<int>& axes) {
    const int rank = (int)shape.size();
    std::vector<bool> red(rank, false);
    for (int a : axes) red[a] = true;
    // Size-1 axes may go anywhere; the reduced ones among the rest must be
    // one run for the (A, R, B) form.
    int first = -1, last = -1;
    for (int d = 0; d < rank; ++d)
        if (shape[d] != 1 && red[d]) {
            if (first < 0) first = d;
            last = d;
        }
    bool split = false;
    for (int d = first + 1; first >= 0 && d < last; ++d) split = split || (shape[d] != 1 && !red[d]);
    ReducePlan p;
    for (int d = 0; d < rank; ++d) {
        if (red[d]) p.R *= shape[d];
        else if (split || first < 0 || d < first) p.A *= shape[d];
        else p.B *= shape[d];
    }
    if (split) {
        for (int d = 0; d < rank; ++d)
            if (!red[d]) p.perm.push_back(d);
        for (int d = 0; d < rank; ++d)
            if (red[d]) p.perm.push_back(d);
    }
    return p;
}

void index_lists(const int64_t* indices, int64_t I, int64_t D, std::vector<int64_t>* start,
                 std::vector<int64_t>* pos) {
    start->assign((size_t)D + 1, 0);
    pos->resize((size_t)I);
    for (int64_t i = 0; i < I; ++i) ++(*start)[indices[i] + 1];
    for (int64_t d = 0; d < D; ++d) (*start)[d + 1] += (*start)[d];
    std::vector<int64_t> next(start->begin(), start->end() - 1);
    for (int64_t i = 0; i < I; ++i) (*pos)[next[indices[i]]++] = i;  // stable: i ascending
}

// ---------------------------------------------------------------- element-wise

namespace {

// Walks the index space s in chunks shared out over threads: row(i, off,
// len) handles elements [i, i + len) of one innermost run, whose operands
// start at offsets off[0..nops). `work` sizes the thread count.
template <int NOPS, class Row>
void walk(const Strided& s, int64_t work, Row row) {
    const int64_t n = s.numel;
    if (n <= 0) return;
    const int r = s.rank;
    const int nt = threads_for(work);
    const int64_t nchunks = nt > 1 ? (int64_t)nt * 4 : 1;
    const int64_t chunk = (n + nchunks - 1) / nchunks;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t c = 0; c < nchunks; ++c) {
        int64_t i = c * chunk;
        const int64_t end = std::min(n, i + chunk);
        if (i >= end) continue;
        int64_t idx[kMaxDims], off[NOPS];
        int64_t rem = i;
        for (int k = 0; k < NOPS; ++k) off[k] = 0;
        for (int d = r - 1; d >= 0; --d) {
            idx[d] = rem % s.size[d];
            rem /= s.size[d];
            for (int k = 0; k < NOPS; ++k) off[k] += idx[d] * s.stride[k][d];
        }
        while (i < end) {
            const int64_t len = std::min(end - i, s.size[r - 1] - idx[r - 1]);
            row(i, off, len);
            i += len;
            // Advance the multi-index by len (to the next row, or the chunk's end).
            for (int k = 0; k < NOPS; ++k) off[k] += len * s.stride[k][r - 1];
            idx[r - 1] += len;
            for (int d = r - 1; d > 0 && idx[d] == s.size[d]; --d) {
                for (int k = 0; k < NOPS; ++k) off[k] += s.stride[k][d - 1] - s.size[d] * s.stride[k][d];
                idx[d] = 0;
                ++idx[d - 1];
            }
        }
    }
}

// o[j] = f(a[j * SA], b[j * SB]): the inner loop, specialised for the
// strides 0 and 1 that contiguous operands have there, so that it vectorizes.
template <int SA, int SB, class F>
void row2(float* o, const float* a, const float* b, int64_t n, F f) {
    for (int64_t j = 0; j < n; ++j) o[j] = f(a[j * SA], b[j * SB]);
}

template <class F>
void map2(float* out, Operand a, Operand b, const Strided& s, F f) {
    const float* pa = a.data ? a.data : &a.scalar;
    const float* pb = b.data ? b.data : &b.scalar;
    const int64_t sa = s.stride[0][s.rank - 1], sb = s.stride[1][s.rank - 1];
    walk<2>(s, s.numel * 2, [&](int64_t i, const int64_t* off, int64_t len) {
        const float* x = pa + off[0];
        const float* y = pb + off[1];
        if (sa == 1 && sb == 1) row2<1, 1>(out + i, x, y, len, f);
        else if (sa == 1 && sb == 0) row2<1, 0>(out + i, x, y, len, f);
        else if (sa == 0 && sb == 1) row2<0, 1>(out + i, x, y, len, f);
        else
            for (int64_t j = 0; j < len; ++j) out[i + j] = f(x[j * sa], y[j * sb]);
    });
}

}  // namespace

void unary(float* y, const float* x, int64_t n, UnaryOp op) {
    with_unary(op, [&](auto o) {
        const int nt = threads_for(n * 8);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t i = 0; i < n; ++i) y[i] = unary_op<decltype(o)::value>(x[i]);
    });
}

void binary(float* out, Operand a, Operand b, const Strided& s, BinaryOp op) {
    with_binary(op, [&](auto o) {
        map2(out, a, b, s, [](float u, float v) { return binary_op<decltype(o)::value>(u, v); });
    });
}

void binary_naive(float* out, const float* a, const std::vector<int64_t>& a_shape, const float* b,
                  const std::vector<int64_t>& b_shape, const std::vector<int64_t>& out_shape,
                  BinaryOp op) {
    const int r = (int)out_shape.size();
    int64_t n = 1;
    for (int64_t d : out_shape) n *= d;
    // Index of out element i in an operand: its own dims, right-aligned,
    // index 0 along a dim of size 1.
    auto at = [&](const std::vector<int64_t>& sh, int64_t i) {
        int64_t off = 0, st = 1;
        for (int d = r - 1, e = (int)sh.size() - 1; e >= 0; --d, --e) {
            const int64_t id = i % out_shape[d];
            i /= out_shape[d];
            if (sh[e] != 1) off += id * st;
            st *= sh[e];
        }
        return off;
    };
    with_binary(op, [&](auto o) {
        for (int64_t i = 0; i < n; ++i)
            out[i] = binary_op<decltype(o)::value>(a[at(a_shape, i)], b[at(b_shape, i)]);
    });
}

void where(float* out, Operand cond, Operand a, Operand b, const Strided& s) {
    const float* p[3] = {cond.data ? cond.data : &cond.scalar, a.data ? a.data : &a.scalar,
                         b.data ? b.data : &b.scalar};
    const int64_t st[3] = {s.stride[0][s.rank - 1], s.stride[1][s.rank - 1], s.stride[2][s.rank - 1]};
    walk<3>(s, s.numel * 2, [&](int64_t i, const int64_t* off, int64_t len) {
        const float *c = p[0] + off[0], *x = p[1] + off[1], *y = p[2] + off[2];
        for (int64_t j = 0; j < len; ++j) out[i + j] = c[j * st[0]] != 0.0f ? x[j * st[1]] : y[j * st[2]];
    });
}

// ---------------------------------------------------------------- reductions

namespace {

template <ReduceOp OP>
void reduce_impl(float* out, const float* x, int64_t A, int64_t R, int64_t B) {
    if (A * B == 0) return;
    const int64_t nb = (R + kReduceBlock - 1) / kReduceBlock;
    if (nb == 0) {
        for (int64_t i = 0; i < A * B; ++i) out[i] = reduce_finish<OP>(reduce_identity<OP>(), 0);
        return;
    }
    // Stage 1: part[(a * nb + blk) * B + c] = block blk of column (a, c),
    // folded in r order. Tasks are (a, blk, column chunk): columns are
    // independent, so the chunking does not change any result.
    std::vector<double> part((size_t)(A * nb * B));
    const int nt = threads_for(A * R * B);
    const int64_t cchunk = B == 1 ? 1 : std::max<int64_t>(64, (B + 4 * nt - 1) / (4 * nt));
    const int64_t ncc = (B + cchunk - 1) / cchunk;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < A * nb * ncc; ++t) {
        const int64_t cc = t % ncc, blk = (t / ncc) % nb, a = t / (ncc * nb);
        const int64_t r0 = blk * kReduceBlock, r1 = std::min(R, r0 + kReduceBlock);
        const int64_t c0 = cc * cchunk, c1 = std::min(B, c0 + cchunk);
        double* p = part.data() + (a * nb + blk) * B;
        const float* xa = x + a * R * B;
        if (B == 1) {
            double acc = reduce_identity<OP>();
            for (int64_t r = r0; r < r1; ++r) acc = reduce_fold<OP>(acc, (double)xa[r]);
            p[0] = acc;
        } else {
            for (int64_t c = c0; c < c1; ++c) p[c] = reduce_identity<OP>();
            for (int64_t r = r0; r < r1; ++r) {
                const float* row = xa + r * B;
                for (int64_t c = c0; c < c1; ++c) p[c] = reduce_fold<OP>(p[c], (double)row[c]);
            }
        }
    }
    // Stage 2: the blocks of each output in block order.
    const int nt2 = threads_for(A * B * nb);
#pragma omp parallel for schedule(static) num_threads(nt2) if (nt2 > 1)
    for (int64_t o = 0; o < A * B; ++o) {
        const int64_t a = o / B, c = o % B;
        double acc = part[(size_t)(a * nb * B + c)];
        for (int64_t blk = 1; blk < nb; ++blk) acc = reduce_fold<OP>(acc, part[(size_t)((a * nb + blk) * B + c)]);
        out[o] = reduce_finish<OP>(acc, R);
    }
}

}  // namespace

void reduce(float* out, const float* x, int64_t A, int64_t R, int64_t B, ReduceOp op) {
    with_reduce(op, [&](auto o) { reduce_impl<decltype(o)::value>(out, x, A, R, B); });
}

void reduce_naive(float* out, const float* x, const std::vector<int64_t>& shape,
                  const std::vector<bool>& reduced, ReduceOp op) {
    int64_t n = 1, on = 1, R = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
        n *= shape[d];
        (reduced[d] ? R : on) *= shape[d];
    }
    with_reduce(op, [&](auto o) {
        constexpr ReduceOp OP = decltype(o)::value;
        std::vector<double> acc((size_t)on, reduce_identity<OP>());
        for (int64_t i = 0; i < n; ++i) {
            int64_t rem = i, oi = 0, ost = 1;
            for (size_t d = shape.size(); d-- > 0;) {
                const int64_t id = rem % shape[d];
                rem /= shape[d];
                if (!reduced[d]) {
                    oi += id * ost;
                    ost *= shape[d];
                }
            }
            acc[oi] = reduce_fold<OP>(acc[oi], (double)x[i]);
        }
        for (int64_t i = 0; i < on; ++i) out[i] = reduce_finish<OP>(acc[i], R);
    });
}

void arg_reduce(float* out, const float* x, int64_t A, int64_t R, int64_t B, bool is_max) {
    const int nt = threads_for(A * R * B);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t o = 0; o < A * B; ++o) {
        const int64_t a = o / B, c = o % B;
        out[o] = (float)arg_extreme(x + a * R * B + c, R, B, is_max);
    }
}

// ---------------------------------------------------------------- copies

namespace {

constexpr int64_t kTile = 32;

// y = x's view v when its innermost output dimension reads x with a stride
// and the one before reads it contiguously (the last two axes swapped):
// square tiles, so that both sides stay in cache.
bool tiled_transpose(float* y, const float* x, const Strided& v) {
    const int r = v.rank;
    if (r < 2 || v.stride[0][r - 2] != 1 || v.stride[0][r - 1] == 1) return false;
    const int64_t P = v.size[r - 2], Q = v.size[r - 1], sq = v.stride[0][r - 1];
    const int64_t outer = v.numel / (P * Q), tp = (P + kTile - 1) / kTile, tq = (Q + kTile - 1) / kTile;
    Strided o = v;  // the outer dims' offsets
    o.rank = r - 2 > 0 ? r - 2 : 1;
    if (r == 2) o.size[0] = 1;
    const int nt = threads_for(v.numel);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < outer * tp * tq; ++t) {
        const int64_t b = t / (tp * tq), p0 = (t / tq) % tp * kTile, q0 = t % tq * kTile;
        const float* xb = x + strided_offset(o, 0, b);
        float* yb = y + b * P * Q;
        const int64_t p1 = std::min(P, p0 + kTile), q1 = std::min(Q, q0 + kTile);
        for (int64_t p = p0; p < p1; ++p)
            for (int64_t q = q0; q < q1; ++q) yb[p * Q + q] = xb[p + q * sq];
    }
    return true;
}

}  // namespace

void strided_copy(float* y, const float* x, const Strided& v) {
    if (v.numel <= 0 || tiled_transpose(y, x, v)) return;
    const int64_t s = v.stride[0][v.rank - 1];
    walk<1>(v, v.numel, [&](int64_t i, const int64_t* off, int64_t len) {
        const float* src = x + off[0];
        if (s == 1) std::memcpy(y + i, src, (size_t)len * sizeof(float));
        else
            for (int64_t j = 0; j < len; ++j) y[i + j] = src[j * s];
    });
}

void strided_scatter(float* x, const float* y, const Strided& v) {
    const int64_t s = v.stride[0][v.rank - 1];
    walk<1>(v, v.numel, [&](int64_t i, const int64_t* off, int64_t len) {
        float* dst = x + off[0];
        if (s == 1) std::memcpy(dst, y + i, (size_t)len * sizeof(float));
        else
            for (int64_t j = 0; j < len; ++j) dst[j * s] = y[i + j];
    });
}

void transpose_naive(float* y, const float* x, const std::vector<int64_t>& shape,
                     const std::vector<int>& perm) {
    const int r = (int)shape.size();
    std::vector<int64_t> xst(r, 1);
    for (int d = r - 2; d >= 0; --d) xst[d] = xst[d + 1] * shape[d + 1];
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    for (int64_t i = 0; i < n; ++i) {
        int64_t rem = i, off = 0;
        for (int d = r - 1; d >= 0; --d) {
            const int64_t sz = shape[perm[d]];
            off += (rem % sz) * xst[perm[d]];
            rem /= sz;
        }
        y[i] = x[off];
    }
}

// ---------------------------------------------------------------- gather / scatter

void take(float* out, const float* x, const int64_t* indices, int64_t A, int64_t D, int64_t B,
          int64_t I) {
    const int nt = threads_for(A * I * B);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < A * I; ++t) {
        const int64_t a = t / I, i = t % I;
        std::memcpy(out + t * B, x + (a * D + indices[i]) * B, (size_t)B * sizeof(float));
    }
}

void take_backward(float* dx, const float* dy, const int64_t* indices, int64_t A, int64_t D,
                   int64_t B, int64_t I) {
    std::vector<int64_t> start, pos;
    index_lists(indices, I, D, &start, &pos);
    const int nt = threads_for(A * (D + I) * B);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < A * D; ++t) {
        const int64_t a = t / D, d = t % D;
        float* row = dx + t * B;
        for (int64_t c = 0; c < B; ++c) row[c] = 0.0f;
        for (int64_t k = start[d]; k < start[d + 1]; ++k) {
            const float* src = dy + (a * I + pos[k]) * B;
            for (int64_t c = 0; c < B; ++c) row[c] += src[c];
        }
    }
}

// ---------------------------------------------------------------- matmul, fill

void batch_matmul(float* c, const float* a, const float* b, const Strided& s, int64_t M,
                  int64_t N, int64_t K, bool ta, bool tb) {
    if (M == 0 || N == 0 || s.numel == 0) return;
    const int64_t lda = ta ? M : K, ldb = tb ? K : N;
    const int64_t batch = s.numel;
    // One b for every entry, a's entries back to back: one tall product.
    if (!ta && !tb && s.rank == 1 && s.stride[0][0] == 1 && s.stride[1][0] == 0) {
        gemm(c, a, b, batch * M, N, K, false, false, 1.0f, 0.0f, lda, ldb, N);
        return;
    }
    // Many small products: one per thread; else each product threaded.
    // The GEMM's bits do not depend on its thread count either way.
    const bool per_thread = batch >= num_threads() && M * N * K < (int64_t)1 << 21;
    const int nt = per_thread ? threads_for(batch * M * N * K) : 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < batch; ++i)
        gemm(c + i * M * N, a + strided_offset(s, 0, i) * M * K, b + strided_offset(s, 1, i) * K * N,
             M, N, K, ta, tb, 1.0f, 0.0f, lda, ldb, N, per_thread ? 1 : 0);
}

void fill(float* y, int64_t n, float value) {
    const int nt = threads_for(n);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; ++i) y[i] = value;
}

}  // namespace ember
