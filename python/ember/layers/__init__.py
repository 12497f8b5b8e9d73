"""Keras-style layers. Every numerical step runs in ember._core, through
``ember.ops``; gradients come from the engine."""
from .base import Input, InputLayer, Layer
from ..engine import Variable
from .conv import (AveragePooling2D, AvgPool2D, Conv2D, GlobalAveragePooling2D, GlobalAvgPool2D,
                   MaxPool2D, MaxPooling2D)
from .core import Activation, Dense, Dropout, Flatten, Lambda, Reshape
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                      average, concatenate, dot, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization
from .rnn import GRU, LSTM, Bidirectional, SimpleRNN

__all__ = ["Input", "InputLayer", "Layer", "Variable", "Dense", "Conv2D", "MaxPooling2D",
           "MaxPool2D", "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D",
           "GlobalAvgPool2D", "Flatten", "Reshape", "Dropout", "Activation", "Lambda",
           "BatchNormalization", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot", "get", "SimpleRNN", "LSTM", "GRU", "Bidirectional"]

_CLASSES = {cls.__name__: cls for cls in (InputLayer, Dense, Conv2D, MaxPooling2D, AveragePooling2D,
                                          GlobalAveragePooling2D, Flatten, Reshape, Dropout,
                                          Activation, BatchNormalization, Add, Subtract, Multiply,
                                          Average, Maximum, Minimum, Concatenate, Dot, SimpleRNN,
                                          LSTM, GRU, Bidirectional)}


def get(class_name, custom_objects=None):
    """The layer class saved under ``class_name`` in a model's config."""
    if custom_objects and class_name in custom_objects:
        return custom_objects[class_name]
    if class_name in _CLASSES:
        return _CLASSES[class_name]
    from .. import models
    if class_name in ("Sequential", "Functional", "Model"):
        return getattr(models, "Functional" if class_name == "Model" else class_name)
    raise ValueError(f"Unknown layer class: {class_name!r}. Pass custom layers in `custom_objects`.")
