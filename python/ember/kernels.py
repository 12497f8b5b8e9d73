"""ember.kernels: every engine kernel as a function on raw arrays.

Inputs are float32 arrays (C-contiguous float32 goes in without a copy; other
numeric arrays are converted once); results are new float32 NumPy arrays.
With ember built with CUDA, the same functions take ``ember.cuda.DeviceArray``
inputs (all on the GPU; only labels may stay on the host), run the CUDA
kernels and return DeviceArrays.
Activations are NHWC: images are ``(N, H, W, C)``. Weights use Keras layouts:
Dense kernel ``(in, out)``, Conv2D kernel ``(kh, kw, in_channels, filters)``.

Each backward is named after its forward plus ``_backward``, takes the output
gradient ``dy`` first and returns the input gradients in argument order.
Losses return ``(mean loss over the batch, gradient w.r.t. y_pred)``.
"""
from . import _core

__all__ = [
    "matmul", "dense", "dense_backward", "conv2d", "conv2d_backward",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward",
    "relu", "sigmoid", "tanh", "leaky_relu", "elu", "gelu", "linear", "softmax",
    "relu_backward", "sigmoid_backward", "tanh_backward", "leaky_relu_backward",
    "elu_backward", "gelu_backward", "linear_backward", "softmax_backward",
    "categorical_crossentropy", "sparse_categorical_crossentropy",
    "binary_crossentropy", "mean_squared_error", "softmax_categorical_crossentropy",
    "dropout", "dropout_backward", "batch_normalization", "batch_normalization_backward",
    "sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "adadelta_update",
    "adamax_update", "nadam_update", "ftrl_update", "lion_update", "ema_update",
    "accumulate_gradient", "sum_squares",
]


# The binding itself, with no Python wrapper in between: small products are
# where call overhead shows. matmul(a, b, transpose_a=False, transpose_b=False,
# alpha=1.0, beta=0.0, c=None) -> alpha * op(a) @ op(b) + beta * c.
matmul = _core.matmul


def dense(x, kernel, bias=None):
    """``x @ kernel + bias``: x is (..., in), kernel (in, out), bias (out,);
    returns (..., out)."""
    return _core.dense(x, kernel, bias)


def dense_backward(dy, x, kernel, bias=None):
    """Returns ``(dx, dkernel, dbias)``; dbias is None when bias is None."""
    return _core.dense_backward(dy, x, kernel, use_bias=bias is not None)


def conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    """2-D convolution. x is (N, H, W, C), kernel (kh, kw, C, F), bias (F,);
    padding 'valid' or 'same' (Keras semantics); returns (N, OH, OW, F)."""
    return _core.conv2d(x, kernel, bias, strides, padding, dilation_rate)


def conv2d_backward(dy, x, kernel, strides=(1, 1), padding="valid", dilation_rate=(1, 1),
                    bias=True):
    """dy is (N, OH, OW, F). Returns ``(dx, dkernel, dbias)`` shaped like x,
    kernel and (F,); dbias is None when ``bias`` is None or False."""
    use_bias = bias is not None and bias is not False
    return _core.conv2d_backward(dy, x, kernel, strides, padding, dilation_rate, use_bias)


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Max pooling of x (N, H, W, C); strides default to pool_size."""
    return _core.max_pool2d(x, pool_size, strides, padding)


def max_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid"):
    """Returns dx (N, H, W, C): each dy goes to its window's first maximum."""
    return _core.max_pool2d_backward(dy, x, pool_size, strides, padding)


def avg_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    """Average pooling of x (N, H, W, C); padded positions are not counted."""
    return _core.avg_pool2d(x, pool_size, strides, padding)


def avg_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid"):
    """Returns dx (N, H, W, C)."""
    return _core.avg_pool2d_backward(dy, x, pool_size, strides, padding)


def global_avg_pool2d(x):
    """Mean over H and W: x (N, H, W, C) -> (N, C)."""
    return _core.global_avg_pool2d(x)


def global_avg_pool2d_backward(dy, x):
    """dy (N, C) -> dx (N, H, W, C)."""
    return _core.global_avg_pool2d_backward(dy, x)


def _activation(name, alpha=0.0):
    def forward(x):
        return _core.activation(x, name, alpha)

    def backward(dy, x):
        return _core.activation_backward(dy, x, name, alpha)

    forward.__name__, backward.__name__ = name, name + "_backward"
    forward.__doc__ = f"Element-wise {name}; any shape."
    backward.__doc__ = f"Gradient of {name}: dy and x have the same shape; returns dx."
    return forward, backward


relu, relu_backward = _activation("relu")
sigmoid, sigmoid_backward = _activation("sigmoid")
tanh, tanh_backward = _activation("tanh")
gelu, gelu_backward = _activation("gelu")
linear, linear_backward = _activation("linear")


def leaky_relu(x, negative_slope=0.2):
    """``x if x >= 0 else negative_slope * x`` (Keras 3 default slope 0.2)."""
    return _core.activation(x, "leaky_relu", negative_slope)


def leaky_relu_backward(dy, x, negative_slope=0.2):
    return _core.activation_backward(dy, x, "leaky_relu", negative_slope)


def elu(x, alpha=1.0):
    """``x if x > 0 else alpha * (exp(x) - 1)``."""
    return _core.activation(x, "elu", alpha)


def elu_backward(dy, x, alpha=1.0):
    return _core.activation_backward(dy, x, "elu", alpha)


def softmax(x):
    """Softmax over the last axis, numerically stable."""
    return _core.softmax(x)


def softmax_backward(dy, x):
    """Gradient of softmax over the last axis; returns dx."""
    return _core.softmax_backward(dy, x)


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """y_true one-hot (or soft) (..., classes); y_pred probabilities (scaled to
    sum to one and clipped to [1e-7, 1 - 1e-7], as Keras does) or logits.
    Returns ``(loss, dy_pred)``."""
    return _core.loss(y_true, y_pred, "categorical_crossentropy", from_logits)


def softmax_categorical_crossentropy(y_true, logits):
    """Softmax and categorical cross-entropy fused on logits. Returns
    ``(loss, dlogits, probabilities)``."""
    return _core.softmax_crossentropy(y_true, logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """y_true integer class indices (N,); y_pred (N, classes). Returns
    ``(loss, dy_pred)``."""
    return _core.sparse_categorical_crossentropy(y_true, y_pred, from_logits)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """Element-wise binary cross-entropy, mean over all elements. Returns
    ``(loss, dy_pred)``."""
    return _core.loss(y_true, y_pred, "binary_crossentropy", from_logits)


def mean_squared_error(y_true, y_pred):
    """``mean((y_pred - y_true) ** 2)``. Returns ``(loss, dy_pred)``."""
    return _core.loss(y_true, y_pred, "mean_squared_error", False)


def dropout(x, rate, seed=0):
    """Inverted dropout. Returns ``(y, mask)`` with mask 0 or 1/(1-rate)."""
    return _core.dropout(x, rate, seed)


def dropout_backward(dy, mask):
    return _core.dropout_backward(dy, mask)


def batch_normalization(x, gamma, beta, moving_mean, moving_var, training=False,
                        momentum=0.99, epsilon=1e-3):
    """Normalises over every axis but the last. In training mode returns
    ``(y, batch_mean, batch_var)`` and updates moving_mean / moving_var in
    place (float32 arrays); in inference mode returns y."""
    if training:
        return _core.batch_norm_train(x, gamma, beta, moving_mean, moving_var, momentum, epsilon)
    return _core.batch_norm_infer(x, gamma, beta, moving_mean, moving_var, epsilon)


def batch_normalization_backward(dy, x, gamma, mean, var, epsilon=1e-3):
    """Returns ``(dx, dgamma, dbeta)`` for the training-mode forward."""
    return _core.batch_norm_backward(dy, x, gamma, mean, var, epsilon)


sgd_update = _core.sgd_update
adam_update = _core.adam_update
rmsprop_update = _core.rmsprop_update
adagrad_update = _core.adagrad_update
adadelta_update = _core.adadelta_update
adamax_update = _core.adamax_update
nadam_update = _core.nadam_update
ftrl_update = _core.ftrl_update
lion_update = _core.lion_update
ema_update = _core.ema_update
accumulate_gradient = _core.accumulate_gradient
sum_squares = _core.sum_squares
