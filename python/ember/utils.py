"""Utilities: labels to one-hot, the global random seed, the progress bar."""
import os
import sys
import time

import numpy as np

_rng = np.random.default_rng()


def set_random_seed(seed):
    """Seeds everything random in ember (initial weights, shuffling, dropout).
    With a seed, ``fit`` is bitwise reproducible, also across thread counts."""
    global _rng
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_random_seed expects an int. Received: {seed!r}")
    _rng = np.random.default_rng(int(seed))


def rng():
    """The generator behind every random choice ember makes."""
    return _rng


def next_seed():
    """A fresh 63-bit seed for a kernel's counter-based RNG (dropout)."""
    return int(_rng.integers(0, 2**63 - 1))


def to_categorical(x, num_classes=None):
    """Integer class vector to a one-hot float32 matrix, as in Keras."""
    x = np.asarray(x)
    if x.dtype.kind not in "iub" and not (x.dtype.kind == "f" and np.all(x == np.round(x))):
        raise ValueError(f"to_categorical expects integer class indices. Received: dtype {x.dtype}")
    x = x.astype(np.int64)
    if x.ndim > 1 and x.shape[-1] == 1:
        x = x.reshape(x.shape[:-1])
    if x.size and x.min() < 0:
        raise ValueError(f"to_categorical expects non-negative classes. Received: {int(x.min())}")
    if num_classes is None:
        num_classes = int(x.max()) + 1 if x.size else 0
    elif x.size and x.max() >= num_classes:
        raise ValueError(f"Class {int(x.max())} does not fit num_classes={num_classes}.")
    out = np.zeros(x.shape + (num_classes,), dtype=np.float32)
    np.put_along_axis(out, x[..., None], 1.0, axis=-1)
    return out


def _format_value(v):
    if np.ndim(v):  # a metric with one value per class or threshold
        return "[" + " ".join(_format_value(float(x)) for x in np.ravel(v)) + "]"
    v = float(v)
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


def _format_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


class Progbar:
    """A Keras-style progress bar.

    On a terminal it redraws one line in place (at most every ``interval``
    seconds) with the step count, ETA, time per step and the running values.
    When output is not a terminal (a log file, CI) it prints only one line
    when the target is reached, never a flood of carriage returns.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stream=None,
                 unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stream = stream if stream is not None else sys.stdout
        self.unit_name = unit_name
        isatty = getattr(self.stream, "isatty", None)
        self._dynamic = bool(isatty and isatty()) or "ipykernel" in sys.modules
        if os.environ.get("EMBER_PROGBAR") == "static":
            self._dynamic = False
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._values = {}
        self._seen = 0
        self._finished = False

    def update(self, current, values=None, finalize=None):
        if values:
            self._values.update(values)
        self._seen = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if self.verbose == 0 or self._finished:
            return
        now = time.perf_counter()
        if not finalize and (not self._dynamic or now - self._last_draw < self.interval):
            return
        self._last_draw = now
        line = self._line(current, now - self._start, finalize)
        if self._dynamic:
            self.stream.write("\r" + line + ("\n" if finalize else ""))
        elif finalize:
            self.stream.write(line + "\n")
        self.stream.flush()
        self._finished = finalize

    def _line(self, current, elapsed, finalize):
        parts = []
        if self.target is not None:
            digits = len(str(self.target))
            count = f"{current:{digits}d}/{self.target}"
            if self.verbose == 1:
                done = int(self.width * current / max(self.target, 1))
                bar = "=" * max(done - 1, 0) + (">" if done < self.width else "=") if done else ""
                parts.append(f"{count} [{bar:<{self.width}}]")
            else:
                parts.append(count)
        else:
            parts.append(f"{current}")
        per = elapsed / max(current, 1)
        if finalize:
            parts.append(f"{_format_time(elapsed)} {_per_step(per)}")
        else:
            eta = per * (self.target - current) if self.target else 0
            parts.append(f"ETA: {_format_time(eta)} {_per_step(per)}")
        for k, v in self._values.items():
            parts.append(f"{k}: {_format_value(v)}")
        return " - ".join(parts)


# ---------------------------------------------------------------- data and model utilities
# (Keras's keras.utils names; the code lives in ember.preprocessing and
# ember.model_visualization, which import nothing beyond NumPy at load time.)
from .preprocessing.sequence import pad_sequences  # noqa: E402
from .preprocessing.timeseries import timeseries_dataset_from_array  # noqa: E402
from .model_visualization import model_to_dot, plot_model  # noqa: E402


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis`` (a slice whose norm
    is 0 is left as it is), as Keras's ``keras.utils.normalize``. A NumPy
    array (or array-like) gives a NumPy array; an ember tensor gives a tensor
    (2-norm only)."""
    from .engine import Tensor
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"`axis` must be an int. Received: axis={axis!r}")
    if isinstance(x, Tensor):
        if order != 2:
            raise ValueError(f"normalize on an ember tensor supports order=2 only. Received: order={order!r}")
        from . import ops
        norm = ops.norm(x, axis=int(axis), keepdims=True)
        return ops.divide(x, ops.where(ops.equal(norm, 0.0), ops.ones_like(norm), norm))
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError(f"normalize expects an array with at least one axis. Received: {x!r}")
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"`axis` {axis} is out of range for an array of rank {x.ndim}. Received: axis={axis}")
    try:
        norm = np.linalg.norm(x, order, axis=int(axis), keepdims=True)
    except ValueError as e:
        raise ValueError(f"Invalid norm order for a vector. Received: order={order!r} ({e})") from None
    norm = np.where(norm == 0, 1, norm)
    return x / norm


# ---------------------------------------------------------------- files
# get_file lives in ember/_files.py, the one download/cache/extract
# implementation that ember.datasets also uses.
from ._files import get_file  # noqa: E402,F401
from .data_adapters import PyDataset, Sequence  # noqa: E402,F401
from .image_dataset import (array_to_img, image_dataset_from_directory, img_to_array, load_img,  # noqa: E402,F401
                            save_img)
