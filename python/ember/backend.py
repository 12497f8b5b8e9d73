"""keras.backend on ember (``from ember import backend as K``): what Keras 3
keeps there. The settings are ember.config's; ``clear_session`` resets the
counters behind automatic layer names, as Keras does."""
import gc

from .config import (backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx,  # noqa: F401
                     set_image_data_format)
from .engine import KerasTensor
from .utils import set_random_seed  # noqa: F401


def clear_session(free_memory=True):
    """Forgets the names given so far: the next Dense is 'dense' again.
    With ``free_memory``, also runs Python's garbage collector."""
    from .layers import base
    base._name_counts.clear()
    if free_memory:
        gc.collect()


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic tensor of the functional API."""
    return isinstance(x, KerasTensor)


__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format", "is_keras_tensor",
           "set_epsilon", "set_floatx", "set_image_data_format", "set_random_seed"]
