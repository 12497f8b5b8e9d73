"""keras.config on ember: the global settings Keras programs read and set.

ember computes in float32 on channels_last (NHWC) images, so ``floatx`` and
``image_data_format`` can be read and set to those values only; setting
another one raises a ValueError that says so instead of silently computing
something else. ``epsilon`` is the fuzz factor that ember's constraints and
regularizers read when they are called.
"""
import math

import numpy as np

_EPSILON = 1e-7
_FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
_DATA_FORMATS = ("channels_first", "channels_last")


def backend():
    """The name of the backend computing: always ``"ember"``."""
    return "ember"


def floatx():
    """The default float type: ``"float32"`` (ember's one storage type)."""
    return "float32"


def set_floatx(value):
    """Accepts ``"float32"`` only: ember stores and computes in float32."""
    if not isinstance(value, str):
        raise TypeError(f"`floatx` must be a string such as 'float32'. Received: value={value!r}")
    if value not in _FLOAT_TYPES:
        raise ValueError(f"Unknown `floatx` value. Expected one of {list(_FLOAT_TYPES)}. "
                         f"Received: value={value!r}")
    if value != "float32":
        raise ValueError("ember stores and computes in float32 only, so `floatx` cannot be changed. "
                         f"Received: value={value!r}")


def epsilon():
    """The fuzz factor used in numeric expressions (default 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    """Sets the fuzz factor (a positive finite number)."""
    global _EPSILON
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"`epsilon` must be a positive float. Received: value={value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`epsilon` must be a positive finite float. Received: value={value!r}")
    _EPSILON = value


def image_data_format():
    """The image layout convention: always ``"channels_last"`` (NHWC)."""
    return "channels_last"


def set_image_data_format(data_format):
    """Accepts ``"channels_last"`` only: ember's image layers are NHWC."""
    value = str(data_format).lower()
    if value not in _DATA_FORMATS:
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format!r}")
    if value == "channels_first":
        raise ValueError("ember's image layers are channels_last (NHWC) only; transpose channels_first "
                         "data with ember.ops.transpose(x, (0, 2, 3, 1)) instead. "
                         f"Received: data_format={data_format!r}")
