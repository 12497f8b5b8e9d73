"""ember: a Keras-style deep-learning library whose compute runs in C++.

The compiled engine is the private module ``ember._core``; ``ember.ops`` is
its public functional face, and ``ember.layers`` / ``ember.models`` the Keras
one.
"""
from . import _core
from ._core import get_num_threads

__version__ = "0.1.0"


def set_num_threads(n):
    """Sets how many threads ember's kernels use (default: OMP_NUM_THREADS,
    else the number of cores). Results are bitwise identical for any value."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"set_num_threads expects a positive int. Received: {n!r}")
    _core.set_num_threads(n)


from . import (activations, callbacks, cuda, datasets, layers, losses, metrics, models,  # noqa: E402
               ops, optimizers, utils)
from .models import Sequential, load_model  # noqa: E402
from .utils import set_random_seed, to_categorical  # noqa: E402

__all__ = ["ops", "layers", "models", "losses", "metrics", "optimizers", "callbacks", "datasets",
           "utils", "activations", "Sequential", "load_model", "set_random_seed", "to_categorical",
           "set_num_threads", "get_num_threads", "__version__"]
