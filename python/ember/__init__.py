"""ember: a Keras-style deep-learning library whose compute runs in C++.

The compiled engine is the private module ``ember._core``. ``ember.ops`` is
Keras 3's ``keras.ops`` on ember tensors with automatic gradients;
``ember.kernels`` holds the engine's kernels as functions on raw arrays;
``ember.layers`` / ``ember.models`` are the Keras faces. A Keras program runs
with ``import ember as keras``.
"""
import os as _os

from . import _core
from ._core import get_num_threads

# EMBER_CPU_VARIANT=avx2|generic forces kernels narrower than the widest the
# CPU runs (avx512 > avx2 > generic); ember.cpu_variant() says which is in use.
if _os.environ.get("EMBER_CPU_VARIANT"):
    _core.set_cpu_variant(_os.environ["EMBER_CPU_VARIANT"].strip().lower())


def cpu_variant():
    """The instruction-set variant of ember's CPU kernels in use: 'avx512',
    'avx2' or 'generic' (see EMBER_CPU_VARIANT)."""
    return _core.cpu_variant()

__version__ = "0.2.0"


def set_num_threads(n):
    """Sets how many threads ember's kernels use (default: OMP_NUM_THREADS,
    else the number of cores). Results are bitwise identical for any value."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads expects a positive int. Received: {n!r}")
    _core.set_num_threads(n)


from . import engine  # noqa: E402
from . import (activations, backend, callbacks, config, constraints, cuda, datasets, initializers, kernels, layers, losses,  # noqa: E402
               metrics, models, ops, optimizers, random, regularizers, utils)
from . import preprocessing  # noqa: E402
from .engine import GradientTape, KerasTensor, Tensor, Variable  # noqa: E402
from .layers import Input, Layer  # noqa: E402
from .models import Model, Sequential, load_model  # noqa: E402
from .utils import set_random_seed, to_categorical  # noqa: E402

__all__ = ["ops", "kernels", "layers", "models", "losses", "metrics", "optimizers", "callbacks",
           "datasets", "utils", "preprocessing", "backend", "config", "constraints", "initializers", "random", "regularizers", "activations", "Input", "Model", "Sequential", "Layer", "Variable",
           "Tensor", "KerasTensor", "GradientTape", "load_model", "set_random_seed",
           "to_categorical", "set_num_threads", "get_num_threads", "__version__"]
