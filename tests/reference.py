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
