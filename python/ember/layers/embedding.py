"""Embedding: rows of a (input_dim, output_dim) table looked up by integer
token ids, by the ``take`` op (a gather forward, a scatter-add backward, on
the CPU and the GPU)."""
import numpy as np

from .. import ops
from ..engine import Tensor
from .base import Layer, _positive_int
from .core import _options_config, _set_options


class Embedding(Layer):
    """Maps integer token ids of any shape (batch, ...) to vectors:
    output (batch, ..., output_dim). The weight ``embeddings`` is
    (input_dim, output_dim), as in Keras; 'uniform' initializes it from
    U(-0.05, 0.05). With ``mask_zero``, id 0 is padding and
    ``compute_mask`` gives ``inputs != 0``.

    Token ids must be integers: an integer array, or a float array holding
    whole numbers (``fit`` passes batches as float32). Fractional, boolean or
    ragged inputs raise TypeError / ValueError; an id outside
    [0, input_dim) raises ValueError naming it and its position."""

    _takes_input_length = True  # Keras 2's Embedding(..., input_length=n), which Keras 3 still takes

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = _positive_int(input_dim, "input_dim")
        self.output_dim = _positive_int(output_dim, "output_dim")
        if lora_rank is not None:
            raise ValueError(f"ember's Embedding has no LoRA. Received: lora_rank={lora_rank!r}")
        _set_options(self, embeddings_initializer=embeddings_initializer,
                     embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        if weights is not None:
            self.build(None)
            self.set_weights(weights if isinstance(weights, (list, tuple)) else [weights])

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer, name="embeddings",
                                          regularizer=self.embeddings_regularizer,
                                          constraint=self.embeddings_constraint)
        self.built = True

    def __call__(self, inputs, *args, **kwargs):
        if isinstance(inputs, (list, tuple)):
            inputs = self._token_array(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def _token_array(self, nested):
        try:
            arr = np.asarray(nested)
        except ValueError:
            arr = None
        if arr is None or arr.dtype == object:
            raise ValueError(f"Embedding '{self.name}' expects a rectangular array of token ids; ragged "
                             "sequences must be padded to one length first "
                             "(ember.utils.pad_sequences or by hand). Received: a ragged nested list")
        return arr

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def _indices(self, inputs):
        """The token ids as int64 on the host, checked."""
        if inputs.dtype == "bool":
            raise TypeError(f"Embedding '{self.name}' expects integer token ids. Received: a bool tensor")
        values = np.asarray(inputs.numpy())
        if values.dtype.kind == "f":
            whole = np.isfinite(values) & (values == np.floor(values))
            if not whole.all():
                pos = tuple(int(i) for i in np.argwhere(~whole)[0])
                raise TypeError(f"Embedding '{self.name}' expects integer token ids. Received: "
                                f"the non-integer value {float(values[pos])} at position {pos}")
        idx = values.astype(np.int64)
        bad = (idx < 0) | (idx >= self.input_dim)
        if bad.any():
            pos = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"Embedding '{self.name}': index {int(idx[pos])} at position {pos} is out of "
                             f"range; expected 0 <= index < input_dim={self.input_dim}")
        return idx

    def call(self, inputs):
        return ops.take(self.embeddings, self._indices(inputs), axis=0)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "mask_zero": self.mask_zero, **_options_config(self)}
