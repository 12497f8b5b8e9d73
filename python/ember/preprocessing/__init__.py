"""Keras's ``keras.preprocessing``: ``sequence.pad_sequences`` and
``timeseries_dataset_from_array`` (which yields NumPy batches: ember has no
tf.data)."""
from . import sequence
from .sequence import pad_sequences
from .timeseries import timeseries_dataset_from_array

__all__ = ["sequence", "pad_sequences", "timeseries_dataset_from_array"]
