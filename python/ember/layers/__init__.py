"""Keras-style layers. Every numerical step runs in ember._core."""
from .base import Input, InputLayer, Layer, Variable
from .conv import (AveragePooling2D, AvgPool2D, Conv2D, GlobalAveragePooling2D, GlobalAvgPool2D,
                   MaxPool2D, MaxPooling2D)
from .core import Activation, Dense, Dropout, Flatten, Reshape
from .normalization import BatchNormalization

__all__ = ["Input", "InputLayer", "Layer", "Variable", "Dense", "Conv2D", "MaxPooling2D",
           "MaxPool2D", "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D",
           "GlobalAvgPool2D", "Flatten", "Reshape", "Dropout", "Activation",
           "BatchNormalization", "get"]

_CLASSES = {cls.__name__: cls for cls in (InputLayer, Dense, Conv2D, MaxPooling2D, AveragePooling2D,
                                          GlobalAveragePooling2D, Flatten, Reshape, Dropout,
                                          Activation, BatchNormalization)}


def get(class_name):
    """The layer class saved under ``class_name`` in a model's config."""
    try:
        return _CLASSES[class_name]
    except KeyError:
        raise ValueError(f"Unknown layer class: {class_name!r}") from None
