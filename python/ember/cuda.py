"""The optional CUDA backend.

Build it with ``pip install . -Ccmake.define.EMBER_CUDA=ON`` (needs nvcc; the
default build never does). ``is_available()`` tells whether this ember was
built with CUDA and a GPU is visible.

A tensor on the GPU is a ``DeviceArray``. Every operation in ``ember.ops``
(and ``ember._core``) takes DeviceArrays where it takes NumPy arrays, runs
the CUDA kernel of the same name, and returns DeviceArrays; ``np.asarray`` or
``.numpy()`` copies one back. A whole model moves with ``model.to("cuda")``:
weights, activations, gradients and optimizer state then stay on the GPU.
"""
import numpy as np

from . import _core

__all__ = ["is_available", "built", "emulated", "device_name", "DeviceArray", "to_device",
           "synchronize", "check_device"]

DeviceArray = getattr(_core, "DeviceArray", None)


def built():
    """Whether this ember was compiled with the CUDA backend."""
    return bool(getattr(_core, "cuda_built", False))


def emulated():
    """True for a test build (-Ccmake.define.EMBER_CUDA_EMULATE=ON) whose CUDA
    kernels run on a CPU emulator of the GPU, not on a GPU."""
    return bool(getattr(_core, "cuda_emulated", False))


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


def to_device(array):
    """A copy of ``array`` (float32) in GPU memory, as a DeviceArray."""
    _require()
    return _core.to_device(array)


def synchronize():
    """Waits until every kernel queued on the GPU has finished."""
    _require()
    _core.cuda_synchronize()


def check_device(device):
    """'cpu' or 'cuda' from what a user may write ('gpu', 'cuda:0', ...);
    raises when the device is unknown or not usable here."""
    name = str(device).lower() if isinstance(device, str) else None
    if name in ("cpu",):
        return "cpu"
    if name in ("cuda", "gpu", "cuda:0", "gpu:0"):
        _require()
        return "cuda"
    raise ValueError(f"Unknown device: {device!r}. Expected 'cpu' or 'cuda'.")


def is_device_array(value):
    return DeviceArray is not None and isinstance(value, DeviceArray)


def place(value, device):
    """``value`` (a NumPy array or a DeviceArray) on ``device``."""
    if device == "cuda":
        return _core.to_device(value)
    return value.numpy() if is_device_array(value) else value


def zeros_like(value):
    """Zeros of value's shape, on value's device."""
    if is_device_array(value):
        return _core.device_zeros(value.shape)
    return np.zeros_like(value)


def host_buffer(shape, device):
    """A float32 host array for staging batches: page-locked (so the copy to
    the GPU runs at full bus speed) when the device is 'cuda'."""
    if device == "cuda":
        return _core.pinned_empty(tuple(shape))
    return np.empty(shape, np.float32)
