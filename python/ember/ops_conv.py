"""Convolution ops with their own C++ kernels, beyond ``ops.conv2d``: the
transposed convolution (the input gradient of a convolution, computed
forward) and the depthwise convolution. Each records a backward written
with the same kernels; layers in ``ember.layers.conv`` use them."""
from . import _core
from .engine import record


def transpose_padding(size, k, stride, dilation, padding, output_padding):
    """(output size, pad before, pad after) of a transposed convolution
    along one axis, with Keras's output size (``compute_conv_transpose_
    output_shape``). The pads are those of the forward convolution that maps
    the output back onto the input, whose input gradient this is."""
    ek = (k - 1) * dilation + 1
    if padding == "valid":
        extra = max(ek, stride) - ek if output_padding is None else output_padding
        out = (size - 1) * stride + ek + extra if size is not None else None
        left = ek - 1
    else:
        if output_padding is None:
            out = size * stride if size is not None else None
            total = stride + ek - 2
        else:
            out = (size - 1) * stride + ek - 2 * (ek // 2) + output_padding if size is not None else None
            total = ek + ek % 2 - 2 + output_padding
        left = min(total // 2 + total % 2, ek - 1)
    # The dilated input is padded by `left` before the flipped kernel runs
    # over it; the forward convolution's leading pad is the complement.
    before = ek - 1 - left
    after = None if size is None else (size - 1) * stride + ek - out - before
    return out, before, after


def conv2d_transpose(x, kernel, output_size, strides, pads, dilation_rate):
    """y (N, OH, OW, F) from x (N, H, W, C) and kernel (KH, KW, F, C), Keras's
    layout: the gradient, with respect to its input y, of conv2d(y, kernel)
    with explicit ``pads`` (top, bottom, left, right), applied to x."""
    xv, kv = x.value, kernel.value
    y_shape = (x.shape[0], output_size[0], output_size[1], kernel.shape[2])
    y = _core.conv2d_input_grad(xv, kv, y_shape, strides, pads, dilation_rate)

    def backward(dy, needs):
        dx = _core.conv2d(dy, kv, None, strides, pads, dilation_rate) if needs[0] else None
        dk = None
        if needs[1]:  # the kernel gradient of conv2d(dy) with x as its output gradient
            dk = _core.conv2d_backward(xv, dy, kv, strides, pads, dilation_rate, False, False)[1]
        return dx, dk
    return record(y, (x, kernel), backward, "conv2d_transpose")


def depthwise_conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    """y (N, OH, OW, C*M): each channel of x (N, H, W, C) convolved with its M
    filters of kernel (KH, KW, C, M), plus bias (C*M,)."""
    xv, kv = x.value, kernel.value
    y = _core.depthwise_conv2d(xv, kv, None if bias is None else bias.value, strides, padding,
                               dilation_rate)

    def backward(dy, needs):
        return _core.depthwise_conv2d_backward(dy, xv, kv, strides, padding, dilation_rate,
                                               bias is not None, bool(needs[0]))
    return record(y, (x, kernel, bias), backward, "depthwise_conv2d")
