// The recurrent kernels' shared parts (rnn.h): the gate formulas of one
// element, callable from device code, and the time loops, written once over
// a backend `Ops` (the CPU's GEMM and OpenMP loops in rnn.cpp, CUDA's in
// cuda/rnn.cu), so that both backends compute the same arithmetic in the
// same order. Internal: included by rnn.cpp and cuda/rnn.cu only.
//
// Storage: every per-step array is kept by input time index t in (N, T, *)
// layout (row n * T + t), so that the input projection, dx and the weight
// gradients are single GEMMs over all N * T rows; a step's rows are strided
// by T rows, which the GEMMs take as their leading dimension.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "formulas.h"
#include "rnn.h"

namespace ember {

// ---------------------------------------------------------------- formulas

// exp(x) without libm: 2^k * p(r) with r = x - k ln 2 and Cephes's degree-6
// polynomial (about 1 ulp); branch-free (clamped to float's range) so that the
// CPU's element loops vectorize, and the same arithmetic on the GPU.
EMBER_HD float rnn_exp(float x) {
    x = x > -87.0f ? x : -87.0f;  // two plain selects (NaN passes): they vectorize
    x = x < 88.0f ? x : 88.0f;
    const float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;  // round to nearest
    const float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)k + 127) << 23;
#ifdef __CUDA_ARCH__
    return p * __int_as_float(bits);
#else
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
#endif
}

EMBER_HD float rnn_sigmoid(float v) { return 1.0f / (1.0f + rnn_exp(-v)); }

// tanh(v) = 1 - 2 / (exp(2v) + 1), and its odd Taylor polynomial near 0
// (where the first form would lose digits to cancellation), blended by
// arithmetic rather than a branch, so that loops over it vectorize.
EMBER_HD float rnn_tanh(float v) {
    const float big = 1.0f - 2.0f / (rnn_exp(2.0f * v) + 1.0f);
    float vc = v > -0.125f ? v : -0.125f;
    vc = vc < 0.125f ? vc : 0.125f;
    const float v2 = vc * vc;
    const float small = vc * (1.0f + v2 * (-0.333333333f + v2 * (0.133333333f - v2 * 0.0539682540f)));
    const float w = (float)(v * v < 0.0156f);
    return w * small + (1.0f - w) * big;
}

EMBER_HD float rnn_act(RnnAct a, float v) {
    switch (a) {
        case RnnAct::Tanh: return rnn_tanh(v);
        case RnnAct::Relu: return v < 0.0f ? 0.0f : v;
        case RnnAct::Linear: return v;
        case RnnAct::Sigmoid: return rnn_sigmoid(v);
        case RnnAct::HardSigmoid: {  // relu6(v + 3) / 6, as Keras 3
            const float y = (v + 3.0f) * (1.0f / 6.0f);
            return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
        }
    }
    return v;
}

// act'(v) from y = act(v): every supported activation's derivative is a
// function of its output, so backward reads only the saved outputs.
EMBER_HD float rnn_dact(RnnAct a, float y) {
    switch (a) {
        case RnnAct::Tanh: return 1.0f - y * y;
        case RnnAct::Relu: return y > 0.0f ? 1.0f : 0.0f;
        case RnnAct::Linear: return 1.0f;
        case RnnAct::Sigmoid: return y * (1.0f - y);
        case RnnAct::HardSigmoid: return (y > 0.0f && y < 1.0f) ? (1.0f / 6.0f) : 0.0f;
    }
    return 1.0f;
}

// An activation chosen at run time (ActR) or at compile time (ActC: the
// CPU's vectorized LSTM rows), with its derivative from the output.
struct ActR {
    RnnAct a;
    EMBER_HD float operator()(float v) const { return rnn_act(a, v); }
    EMBER_HD float d(float y) const { return rnn_dact(a, y); }
};
template <RnnAct A>
struct ActC {
    EMBER_HD float operator()(float v) const { return rnn_act(A, v); }
    EMBER_HD float d(float y) const { return rnn_dact(A, y); }
};

// LSTM, one unit u of one sample: x and r are the sample's input and
// recurrent projections (4U), g its gates (4U), c and h its state (updated),
// cs, hs and o where the step's c, h and output go.
template <class A, class RA>
EMBER_HD void lstm_forward_unit(A act, RA ract, const float* x, const float* r, float* g, float* c,
                                float* h, float* cs, float* hs, float* o, int64_t u, int64_t U) {
    const float ig = ract(x[u] + r[u]);
    const float fg = ract(x[U + u] + r[U + u]);
    const float cg = act(x[2 * U + u] + r[2 * U + u]);
    const float og = ract(x[3 * U + u] + r[3 * U + u]);
    const float cn = fg * c[u] + ig * cg;
    const float hn = og * act(cn);
    g[u] = ig; g[U + u] = fg; g[2 * U + u] = cg; g[3 * U + u] = og;
    c[u] = cn; cs[u] = cn;
    h[u] = hn; hs[u] = hn; o[u] = hn;
}

// Its backward: gh the gradient of the new h (output's included), dc that of
// the new c, becoming the previous c's; d the gates' pre-activation
// gradients (4U).
template <class A, class RA>
EMBER_HD void lstm_backward_unit(A act, RA ract, float gh, const float* g, const float* cs,
                                 const float* cp, float* dc, float* d, int64_t u, int64_t U) {
    const float ig = g[u], fg = g[U + u], cg = g[2 * U + u], og = g[3 * U + u];
    const float ac = act(cs[u]);
    const float dcn = dc[u] + gh * og * act.d(ac);
    d[u] = dcn * cg * ract.d(ig);
    d[U + u] = dcn * cp[u] * ract.d(fg);
    d[2 * U + u] = dcn * ig * act.d(cg);
    d[3 * U + u] = gh * ac * ract.d(og);
    dc[u] = dcn * fg;
}

// One step's element (n, u) for i = n * U + u. Phase 0 is the whole cell;
// GRU without reset_after runs phase 1 (z, r and r * h before the second
// recurrent GEMM) and phase 2 (the candidate and the new state).
struct RnnForwardStep {
    RnnCell cell;
    RnnAct act, ract;
    bool zero_output;
    int phase;
    int64_t T, U, G, R, t, step;  // R: rows of `out` per sample
    const float* xw;      // (N, T, GU): input projection plus input bias; `gates` itself,
                          // each element read before the step overwrites it
    const float* rec;     // (N, GU): this step's recurrent projection
    const float* mask;    // (N, T) or null
    const float* rdmask;  // (N, U) or null
    float* h;             // (N, U) state, updated in place
    float* c;             // (N, U) LSTM cell state
    float* gates;         // (N, T, GU)
    float* hs;            // (N, T, U)
    float* aux;           // (N, T, U)
    float* out;           // (N, R, U)

    EMBER_HD void operator()(int64_t i) const {
        const int64_t n = i / U, u = i - n * U, GU = G * U, row = n * T + t;
        const float* x = xw + row * GU;
        const float* r = rec + n * GU;
        float* g = gates + row * GU;
        const float hp = h[i];
        float* o = out + (n * R + step) * U + u;
        const bool keep = mask == nullptr || mask[row] != 0.0f;
        if (!keep) {
            for (int64_t k = 0; k < G; ++k) g[k * U + u] = 0.0f;
            if (aux) aux[row * U + u] = cell == RnnCell::Lstm ? c[i] : 0.0f;
            if (phase != 1) {
                hs[row * U + u] = hp;
                *o = zero_output ? 0.0f : hp;
            }
            return;
        }
        float hn;
        if (cell == RnnCell::Simple) {
            hn = rnn_act(act, x[u] + r[u]);
            g[u] = hn;
        } else if (cell == RnnCell::Lstm) {
            lstm_forward_unit(ActR{act}, ActR{ract}, x, r, g, c + n * U, h + n * U, aux + row * U,
                              hs + row * U, out + (n * R + step) * U, u, U);
            return;
        } else if (phase == 0) {  // GRU, reset_after: r scales the recurrent part
            const float z = rnn_act(ract, x[u] + r[u]);
            const float rr = rnn_act(ract, x[U + u] + r[U + u]);
            const float hh = rnn_act(act, x[2 * U + u] + rr * r[2 * U + u]);
            hn = z * hp + (1.0f - z) * hh;
            g[u] = z; g[U + u] = rr; g[2 * U + u] = hh;
            aux[row * U + u] = r[2 * U + u];
        } else if (phase == 1) {  // GRU, reset before: r * h feeds the second GEMM
            const float z = rnn_act(ract, x[u] + r[u]);
            const float rr = rnn_act(ract, x[U + u] + r[U + u]);
            g[u] = z; g[U + u] = rr;
            aux[row * U + u] = rr * hp * (rdmask ? rdmask[i] : 1.0f);
            return;
        } else {
            const float z = g[u];
            const float hh = rnn_act(act, x[2 * U + u] + r[2 * U + u]);
            hn = z * hp + (1.0f - z) * hh;
            g[2 * U + u] = hh;
        }
        h[i] = hn;
        hs[row * U + u] = hn;
        *o = hn;
    }
};

// hm = h * rdmask: the recurrent GEMM's input under recurrent dropout.
struct RnnMaskState {
    float* hm;
    const float* h;
    const float* rdmask;
    EMBER_HD void operator()(int64_t i) const { hm[i] = h[i] * rdmask[i]; }
};

// Backward of one step for element i = n * U + u. On entry dh holds the
// gradient reaching the state after this step (from later steps); phase 0
// adds the step's output gradient, writes the pre-activation gradients dz
// (and drec for GRU reset_after) and leaves in dh the part of the previous
// state's gradient that does not go through the recurrent kernel. For GRU
// without reset_after, phase 3 follows the GEMM that gives drh (the gradient
// of r * h) and completes dr. Phase 4 adds the recurrent GEMM's dhm.
struct RnnBackwardStep {
    RnnCell cell;
    RnnAct act, ract;
    bool zero_output, reset_after;
    int phase;
    int64_t T, U, G, R, t, step;
    const float* dout;    // (N, R, U)
    const float* gates;   // (N, T, GU)
    const float* aux;     // (N, T, U)
    const float* hprev;   // h before this step: row n at hprev[n * hstride]
    int64_t hstride;
    const float* cprev;   // LSTM c before this step, likewise
    int64_t cstride;
    const float* mask;
    const float* rdmask;
    float* dh;            // (N, U)
    float* dc;            // (N, U)
    float* dz;            // (N, T, GU)
    float* drec;          // (N, T, GU) GRU reset_after, else null
    float* hpm;           // (N, T, U): h before the step times rdmask
    const float* dhm;     // (N, U): a GEMM's result (phases 3 and 4)

    EMBER_HD void operator()(int64_t i) const {
        const int64_t n = i / U, u = i - n * U, GU = G * U, row = n * T + t;
        const float rm = rdmask ? rdmask[i] : 1.0f;
        const bool keep = mask == nullptr || mask[row] != 0.0f;
        const float* g = gates + row * GU;
        float* d = dz + row * GU;
        if (phase == 4) {
            if (keep) dh[i] += dhm[i] * rm;
            return;
        }
        const float hp = hprev[n * hstride + u];
        if (phase == 3) {
            if (!keep) return;
            const float drh = dhm[i];
            const float rr = g[U + u];
            d[U + u] = drh * hp * rm * rnn_dact(ract, rr);
            dh[i] += drh * rr * rm;
            return;
        }
        hpm[row * U + u] = hp * rm;
        const float dy = dout[(n * R + step) * U + u];
        if (!keep) {
            for (int64_t k = 0; k < G; ++k) d[k * U + u] = 0.0f;
            if (drec)
                for (int64_t k = 0; k < G; ++k) drec[row * GU + k * U + u] = 0.0f;
            dh[i] += zero_output ? 0.0f : dy;
            return;
        }
        const float gh = dh[i] + dy;
        if (cell == RnnCell::Simple) {
            d[u] = gh * rnn_dact(act, g[u]);
            dh[i] = 0.0f;
        } else if (cell == RnnCell::Lstm) {
            lstm_backward_unit(ActR{act}, ActR{ract}, gh, g, aux + row * U, cprev + n * cstride, dc + n * U,
                               d, u, U);
            dh[i] = 0.0f;
        } else {
            const float z = g[u], rr = g[U + u], hh = g[2 * U + u];
            const float dpz = gh * (hp - hh) * rnn_dact(ract, z);
            const float dph = gh * (1.0f - z) * rnn_dact(act, hh);
            d[u] = dpz;
            d[2 * U + u] = dph;
            dh[i] = gh * z;
            if (reset_after) {
                const float dpr = dph * aux[row * U + u] * rnn_dact(ract, rr);
                d[U + u] = dpr;
                float* dr = drec + row * GU;
                dr[u] = dpz;
                dr[U + u] = dpr;
                dr[2 * U + u] = dph * rr;
            } else {
                d[U + u] = 0.0f;  // phase 3 sets it
            }
        }
    }
};

// ---------------------------------------------------------------- time loops

// The recurrent kernel as the B operand of the step products: W = rk (U, GU)
// forward, W = rk^T (GU, U) backward, element (k, j) of W at p[k * ld + j],
// or at p[j * ld + k] when trans (a backend may pass rk itself, or a copy laid
// out for its GEMM, made once per call). `own` keeps a copy alive.
template <class Buf>
struct RnnWeights {
    Buf own;
    const float* p;
    int64_t ld;
    bool trans;
    const float* rows(int64_t r) const { return trans ? p + r : p + r * ld; }  // W from row r
    const float* cols(int64_t c) const { return trans ? p + c * ld : p + c; }  // W from column c
};

template <class Ops>
void rnn_forward_loop(Ops& o, float* out, float* gates, float* hs, float* aux, const float* x,
                      const float* kernel, const float* rk, const float* bias, const float* h0,
                      const float* c0, const float* mask, const float* rdmask, const RnnShape& s) {
    const int64_t N = s.N, T = s.T, C = s.C, U = s.U, G = s.gates(), GU = G * U, R = s.out_rows();
    const bool lstm = s.cell == RnnCell::Lstm, gru = s.cell == RnnCell::Gru;
    const bool split = gru && !s.reset_after;
    if (N == 0 || T == 0) return;
    // The input projection goes into `gates`, which each step then overwrites
    // with its activations (no separate (N, T, GU) buffer).
    o.gemm(gates, x, kernel, N * T, GU, C, false, false, C, GU, GU, bias);
    const float* rbias = (gru && s.reset_after && bias) ? bias + GU : nullptr;
    auto hbuf = o.buf(N * U), cbuf = o.buf(lstm ? N * U : 1), rec = o.buf(N * GU);
    auto hmb = o.buf(rdmask ? N * U : 1);
    if (h0) o.copy(hbuf.p, h0, N * U); else o.zero(hbuf.p, N * U);
    if (lstm) { if (c0) o.copy(cbuf.p, c0, N * U); else o.zero(cbuf.p, N * U); }
    const float* hm = rdmask ? hmb.p : hbuf.p;
    const auto w = o.recurrent_weights(rk, U, GU, false);
    RnnForwardStep f{s.cell, s.act, s.ract, s.zero_output_for_mask, 0, T, U, G, R, 0, 0,
                     gates, rec.p, mask, rdmask, hbuf.p, cbuf.p, gates, hs, aux, out};
    for (int64_t step = 0; step < T; ++step) {
        const int64_t t = s.go_backwards ? T - 1 - step : step;
        f.t = t;
        f.step = step;
        if (rdmask) o.each(N * U, RnnMaskState{hmb.p, hbuf.p, rdmask});
        if (split) {
            o.step_gemm(rec.p, hm, w.cols(0), N, 2 * U, U, w.trans, U, w.ld, GU, nullptr);
            f.phase = 1;
            o.each(N * U, f);
            o.step_gemm(rec.p + 2 * U, aux + t * U, w.cols(2 * U), N, U, U, w.trans, T * U, w.ld, GU, nullptr);
            f.phase = 2;
            o.each(N * U, f);
        } else {
            o.step_gemm(rec.p, hm, w.cols(0), N, GU, U, w.trans, U, w.ld, GU, rbias);
            f.phase = 0;
            o.each(N * U, f);
        }
    }
    // The final states after the outputs: out[:, T] = h, out[:, T + 1] = c.
    o.copy_rows(out + T * U, R * U, hbuf.p, U, N, U);
    if (lstm) o.copy_rows(out + (T + 1) * U, R * U, cbuf.p, U, N, U);
}

// The backward time loop over the samples of x (s.N of them): the
// pre-activation gradients dz (N, T, GU), drec (N, T, GU; GRU reset_after,
// else null), hpm (N, T, U: h before each step, times rdmask), dh0, dc0, and
// then dx (N, T, C).
// Samples are independent here, so a backend may run it over sub-batches.
template <class Ops>
void rnn_backward_steps(Ops& o, float* dx, float* dz, float* drec, float* hpm, float* dh0, float* dc0,
                        const float* dout, const float* gates, const float* hs, const float* aux,
                        const float* kernel, const float* rk, const float* h0, const float* c0, const float* mask,
                        const float* rdmask, const RnnShape& s) {
    const int64_t N = s.N, T = s.T, U = s.U, G = s.gates(), GU = G * U, R = s.out_rows();
    const bool lstm = s.cell == RnnCell::Lstm, gru = s.cell == RnnCell::Gru;
    const bool split = gru && !s.reset_after, ra = gru && s.reset_after;
    auto dh = o.buf(N * U), dc = o.buf(lstm ? N * U : 1), dhm = o.buf(N * U), zeros = o.buf(N * U);
    o.zero(zeros.p, N * U);
    // The final states' gradients sit after the outputs' in dout.
    o.copy_rows(dh.p, U, dout + T * U, R * U, N, U);
    if (lstm) o.copy_rows(dc.p, U, dout + (T + 1) * U, R * U, N, U);
    const float* dr = ra ? drec : dz;
    const auto w = o.recurrent_weights(rk, U, GU, true);  // rk^T
    RnnBackwardStep b{s.cell, s.act, s.ract, s.zero_output_for_mask, s.reset_after, 0, T, U, G, R,
                      0, 0, dout, gates, aux, nullptr, 0, nullptr, 0, mask, rdmask, dh.p, dc.p,
                      dz, ra ? drec : nullptr, hpm, dhm.p};
    for (int64_t step = T - 1; step >= 0; --step) {
        const int64_t t = s.go_backwards ? T - 1 - step : step;
        b.t = t;
        b.step = step;
        if (step == 0) {
            b.hprev = h0 ? h0 : zeros.p;
            b.hstride = U;
            b.cprev = c0 ? c0 : zeros.p;
            b.cstride = U;
        } else {
            const int64_t tp = s.go_backwards ? t + 1 : t - 1;
            b.hprev = hs + tp * U;
            b.hstride = T * U;
            b.cprev = lstm ? aux + tp * U : zeros.p;
            b.cstride = lstm ? T * U : U;
        }
        b.phase = 0;
        o.each(N * U, b);
        if (split) {
            o.step_gemm(dhm.p, dz + t * GU + 2 * U, w.rows(2 * U), N, U, U, w.trans, T * GU, w.ld, U, nullptr);
            b.phase = 3;
            o.each(N * U, b);
            o.step_gemm(dhm.p, dz + t * GU, w.rows(0), N, U, 2 * U, w.trans, T * GU, w.ld, U, nullptr);
        } else {
            o.step_gemm(dhm.p, dr + t * GU, w.rows(0), N, U, GU, w.trans, T * GU, w.ld, U, nullptr);
        }
        b.phase = 4;
        o.each(N * U, b);
    }
    if (dh0) o.copy(dh0, dh.p, N * U);
    if (dc0 && lstm) o.copy(dc0, dc.p, N * U);
    o.gemm(dx, dz, kernel, N * T, s.C, GU, false, true, GU, GU, s.C, nullptr);
}

// After the time loop: columns [j0, j1) of the weight gradients (sums over
// all N * T rows), so that a backend may split them by columns.
template <class Ops>
void rnn_backward_weights(Ops& o, float* dkernel, float* drk, const float* dz, const float* drec,
                          const float* hpm, const float* x, const float* aux, const RnnShape& s,
                          int64_t j0, int64_t j1) {
    const int64_t NT = s.N * s.T, C = s.C, U = s.U, GU = s.gates() * U;
    const bool gru = s.cell == RnnCell::Gru;
    const bool split = gru && !s.reset_after, ra = gru && s.reset_after;
    if (j1 <= j0) return;
    o.gemm_tn(dkernel + j0, x, dz + j0, C, j1 - j0, NT, C, GU, GU);
    // Without reset_after, GRU's candidate columns [2U, 3U) come from r * h.
    const int64_t jh = split ? std::min(j1, std::max(j0, 2 * U)) : j1;
    if (jh > j0) o.gemm_tn(drk + j0, hpm, (ra ? drec : dz) + j0, U, jh - j0, NT, U, GU, GU);
    if (j1 > jh) o.gemm_tn(drk + jh, aux, dz + jh, U, j1 - jh, NT, U, GU, GU);
}

template <class Ops>
void rnn_backward_bias(Ops& o, float* dbias, const float* dz, const float* drec, const RnnShape& s) {
    const int64_t NT = s.N * s.T, GU = s.gates() * s.U;
    if (!dbias) return;
    o.colsum(dbias, dz, NT, GU);
    if (drec) o.colsum(dbias + GU, drec, NT, GU);
}

template <class Ops>
void rnn_backward_loop(Ops& o, float* dx, float* dkernel, float* drk, float* dbias, float* dh0,
                       float* dc0, const float* dout, const float* gates, const float* hs,
                       const float* aux, const float* x, const float* kernel, const float* rk,
                       const float* h0, const float* c0, const float* mask, const float* rdmask,
                       const RnnShape& s) {
    const int64_t NT = s.N * s.T, GU = s.gates() * s.U;
    const bool ra = s.cell == RnnCell::Gru && s.reset_after;
    auto dz = o.buf(NT * GU), drec = o.buf(ra ? NT * GU : 1), hpm = o.buf(NT * s.U);
    float* dr = ra ? drec.p : nullptr;
    rnn_backward_steps(o, dx, dz.p, dr, hpm.p, dh0, dc0, dout, gates, hs, aux, kernel, rk, h0, c0, mask,
                       rdmask, s);
    rnn_backward_weights(o, dkernel, drk, dz.p, dr, hpm.p, x, aux, s, 0, GU);
    rnn_backward_bias(o, dbias, dz.p, dr, s);
}

// rnn.h's two entry points over the backend OPS, expanded by rnn.cpp (in
// ember) and cuda/rnn.cu (in ember::cuda).
#define EMBER_RNN_ENTRY_POINTS(OPS)                                                                    \
    void rnn_forward(float* out, float* gates, float* hs, float* aux, const float* x,                 \
                     const float* kernel, const float* rkernel, const float* bias, const float* h0,   \
                     const float* c0, const float* mask, const float* rdmask, const RnnShape& s) {    \
        OPS o;                                                                                         \
        rnn_forward_loop(o, out, gates, hs, aux, x, kernel, rkernel, bias, h0, c0, mask, rdmask, s);  \
    }                                                                                                  \
    void rnn_backward(float* dx, float* dkernel, float* drkernel, float* dbias, float* dh0,           \
                      float* dc0, const float* dout, const float* gates, const float* hs,             \
                      const float* aux, const float* x, const float* kernel, const float* rkernel,    \
                      const float* h0, const float* c0, const float* mask, const float* rdmask,       \
                      const RnnShape& s) {                                                             \
        OPS o;                                                                                         \
        rnn_backward_loop(o, dx, dkernel, drkernel, dbias, dh0, dc0, dout, gates, hs, aux, x, kernel, \
                          rkernel, h0, c0, mask, rdmask, s);                                           \
    }

}  // namespace ember
