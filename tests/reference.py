"""float64 NumPy references for the engine's kernels (NHWC, Keras layouts)."""
import numpy as np


def same_pad(size, k, stride, dilation=1):
    ek = (k - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + ek - size, 0)
    return out, total // 2, total - total // 2


def out_and_pads(size, k, stride, dilation, padding):
    if padding == "same":
        return same_pad(size, k, stride, dilation)
    ek = (k - 1) * dilation + 1
    return (size - ek) // stride + 1, 0, 0


def conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1)):
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    oh, pt, pb = out_and_pads(h, kh, strides[0], dilation[0], padding)
    ow, pl, pr = out_and_pads(wd, kw, strides[1], dilation[1], padding)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    y = np.zeros((n, oh, ow, f))
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilation[0], j * dilation[1]
            patch = xp[:, r0:r0 + (oh - 1) * strides[0] + 1:strides[0],
                       c0:c0 + (ow - 1) * strides[1] + 1:strides[1], :]
            y += patch @ w[i, j]
    if b is not None:
        y += b
    return y


def conv2d_backward(dy, x, w, strides=(1, 1), padding="valid", dilation=(1, 1)):
    dy = dy.astype(np.float64)
    x = x.astype(np.float64)
    w = w.astype(np.float64)
    n, h, wd, c = x.shape
    kh, kw, _, f = w.shape
    oh, pt, pb = out_and_pads(h, kh, strides[0], dilation[0], padding)
    ow, pl, pr = out_and_pads(wd, kw, strides[1], dilation[1], padding)
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for i in range(kh):
        for j in range(kw):
            r0, c0 = i * dilation[0], j * dilation[1]
            rs = slice(r0, r0 + (oh - 1) * strides[0] + 1, strides[0])
            cs = slice(c0, c0 + (ow - 1) * strides[1] + 1, strides[1])
            dw[i, j] = np.einsum("nhwc,nhwf->cf", xp[:, rs, cs, :], dy)
            dxp[:, rs, cs, :] += dy @ w[i, j].T
    dx = dxp[:, pt:pt + h, pl:pl + wd, :]
    return dx, dw, dy.sum(axis=(0, 1, 2))


def pool2d(x, pool, strides, padding, mode):
    x = x.astype(np.float64)
    n, h, wd, c = x.shape
    oh, pt, _ = out_and_pads(h, pool[0], strides[0], 1, padding)
    ow, pl, _ = out_and_pads(wd, pool[1], strides[1], 1, padding)
    y = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * strides[0] - pt, j * strides[1] - pl
            win = x[:, max(h0, 0):min(h0 + pool[0], h), max(w0, 0):min(w0 + pool[1], wd), :]
            y[:, i, j, :] = win.max(axis=(1, 2)) if mode == "max" else win.mean(axis=(1, 2))
    return y


def softmax(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- recurrent layers
class _NumpyMath:
    """The array functions rnn() needs, for NumPy; tests pass a PyTorch twin
    to get gradients from the same equations."""
    tanh = staticmethod(np.tanh)
    where = staticmethod(np.where)

    @staticmethod
    def sigmoid(v):
        return 1.0 / (1.0 + np.exp(-v))

    @staticmethod
    def relu(v):
        return np.maximum(v, 0.0)

    @staticmethod
    def hard_sigmoid(v):
        return np.clip((v + 3.0) / 6.0, 0.0, 1.0)

    @staticmethod
    def stack(values, axis):
        return np.stack(values, axis=axis)

    @staticmethod
    def zeros(n, u, like):
        return np.zeros((n, u))


def _act(F, name):
    if name == "linear":
        return lambda v: v
    return getattr(F, name)


def rnn(x, kernel, rkernel, bias, cell, h0=None, c0=None, mask=None, rdmask=None, activation="tanh",
        recurrent_activation="sigmoid", reset_after=True, go_backwards=False, zero_output_for_mask=False,
        F=_NumpyMath):
    """Keras 3's recurrent layers step by step (float64 with NumPy): returns
    (outputs (N, T, U) in processing order, final h, final c or None)."""
    if F is _NumpyMath:
        x, kernel, rkernel = (np.asarray(a, np.float64) for a in (x, kernel, rkernel))
        bias = None if bias is None else np.asarray(bias, np.float64)
        h0 = None if h0 is None else np.asarray(h0, np.float64)
        c0 = None if c0 is None else np.asarray(c0, np.float64)
        rdmask = None if rdmask is None else np.asarray(rdmask, np.float64)
    n, steps, _ = x.shape
    u = rkernel.shape[0]
    act, ract = _act(F, activation), _act(F, recurrent_activation)
    h = h0 if h0 is not None else F.zeros(n, u, x)
    c = c0 if c0 is not None else F.zeros(n, u, x)
    outs = []
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    for t in order:
        xt = x[:, t]
        hm = h * rdmask if rdmask is not None else h
        cn = c
        if cell == "lstm":
            z = xt @ kernel + hm @ rkernel
            if bias is not None:
                z = z + bias
            i, f, g, o = (z[:, k * u:(k + 1) * u] for k in range(4))
            cn = ract(f) * c + ract(i) * act(g)
            hn = ract(o) * act(cn)
        elif cell == "gru":
            if reset_after:
                xz, rz = xt @ kernel, hm @ rkernel
                if bias is not None:
                    xz, rz = xz + bias[0], rz + bias[1]
                zg = ract(xz[:, :u] + rz[:, :u])
                rg = ract(xz[:, u:2 * u] + rz[:, u:2 * u])
                hh = act(xz[:, 2 * u:] + rg * rz[:, 2 * u:])
            else:
                xz = xt @ kernel
                if bias is not None:
                    xz = xz + bias
                rz = hm @ rkernel[:, :2 * u]
                zg = ract(xz[:, :u] + rz[:, :u])
                rg = ract(xz[:, u:2 * u] + rz[:, u:])
                hh = act(xz[:, 2 * u:] + (rg * hm) @ rkernel[:, 2 * u:])
            hn = zg * h + (1 - zg) * hh
        else:
            z = xt @ kernel + hm @ rkernel
            if bias is not None:
                z = z + bias
            hn = act(z)
        out = hn
        if mask is not None:
            keep = mask[:, t:t + 1] != 0
            out = F.where(keep, hn, 0 * hn if zero_output_for_mask else h)
            hn = F.where(keep, hn, h)
            cn = F.where(keep, cn, c)
        outs.append(out)
        h, c = hn, cn
    return F.stack(outs, 1), h, (c if cell == "lstm" else None)
