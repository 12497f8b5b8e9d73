"""The optional CUDA backend.

Build it with ``pip install . -Ccmake.define.EMBER_CUDA=ON`` (needs nvcc; the
default build never does). ``is_available()`` tells whether this ember was
built with CUDA and a GPU is visible. The functions below run one operation on
the GPU for NumPy arrays: the inputs are copied to the device once, the result
copied back once. Training a whole model on the GPU is not there yet.
"""
from . import _core

__all__ = ["is_available", "built", "device_name", "matmul", "conv2d", "conv2d_backward",
           "max_pool2d", "max_pool2d_backward", "activation", "activation_backward", "softmax",
           "softmax_categorical_crossentropy", "adam_update"]


def built():
    """Whether this ember was compiled with the CUDA backend."""
    return bool(getattr(_core, "cuda_built", False))


def is_available():
    """True when ember was built with CUDA and a CUDA device is visible."""
    return built() and bool(_core.cuda_available())


def device_name():
    """Name of the current CUDA device, e.g. 'NVIDIA H100 80GB HBM3'."""
    if not built():
        raise RuntimeError("ember was built without CUDA: reinstall with "
                           "pip install . -Ccmake.define.EMBER_CUDA=ON")
    return _core.cuda_device_name()


def _require():
    if not is_available():
        raise RuntimeError("No CUDA device: ember.cuda.is_available() is False "
                           f"(built with CUDA: {built()}).")
    return _core


def matmul(a, b, transpose_a=False, transpose_b=False):
    return _require().cuda_matmul(a, b, transpose_a, transpose_b)


def conv2d(x, kernel, bias=None, strides=(1, 1), padding="valid", dilation_rate=(1, 1), relu=False):
    return _require().cuda_conv2d(x, kernel, bias, strides, padding, dilation_rate, relu)


def conv2d_backward(dy, x, kernel, strides=(1, 1), padding="valid", dilation_rate=(1, 1)):
    return _require().cuda_conv2d_backward(dy, x, kernel, strides, padding, dilation_rate)


def max_pool2d(x, pool_size=(2, 2), strides=None, padding="valid"):
    return _require().cuda_max_pool2d(x, pool_size, strides, padding)


def max_pool2d_backward(dy, x, pool_size=(2, 2), strides=None, padding="valid"):
    return _require().cuda_max_pool2d_backward(dy, x, pool_size, strides, padding)


def activation(x, name):
    return _require().cuda_activation(x, name)


def activation_backward(dy, x, name):
    return _require().cuda_activation_backward(dy, x, name)


def softmax(x):
    return _require().cuda_softmax(x)


def softmax_categorical_crossentropy(y_true, logits):
    return _require().cuda_softmax_crossentropy(y_true, logits)


def adam_update(param, grad, m, v, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, step=1):
    return _require().cuda_adam_update(param, grad, m, v, learning_rate, beta_1, beta_2, epsilon, step)
