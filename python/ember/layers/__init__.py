"""Keras-style layers. Every numerical step runs in ember._core, through
``ember.ops``; gradients come from the engine."""
from .base import Input, InputLayer, Layer
from ..engine import Variable
from .conv import (AveragePooling2D, AvgPool2D, Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose,
                   Convolution1D, Convolution1DTranspose, Convolution2DTranspose, DepthwiseConv2D,
                   GlobalAveragePooling2D, GlobalAvgPool2D, MaxPool2D, MaxPooling2D, SeparableConv2D,
                   SeparableConvolution2D)
from .embedding import Embedding
from .pooling import (AveragePooling1D, AvgPool1D, GlobalAveragePooling1D, GlobalAvgPool1D,
                      GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPooling1D, GlobalMaxPooling2D,
                      MaxPool1D, MaxPooling1D)
from .core import Activation, Dense, Dropout, Flatten, Lambda, Reshape
from .merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add,
                      average, concatenate, dot, maximum, minimum, multiply, subtract)
from .normalization import BatchNormalization

__all__ = ["Input", "InputLayer", "Layer", "Variable", "Dense", "Conv2D", "MaxPooling2D",
           "MaxPool2D", "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D",
           "GlobalAvgPool2D", "Flatten", "Reshape", "Dropout", "Activation", "Lambda",
           "BatchNormalization", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Concatenate", "Dot", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "dot", "get", "Conv1D", "Convolution1D", "Conv2DTranspose",
           "Convolution2DTranspose", "Conv1DTranspose", "Convolution1DTranspose", "DepthwiseConv2D",
           "SeparableConv2D", "SeparableConvolution2D", "Embedding", "MaxPooling1D", "MaxPool1D",
           "AveragePooling1D", "AvgPool1D", "GlobalMaxPooling1D", "GlobalMaxPool1D",
           "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPooling2D", "GlobalMaxPool2D"]

_CLASSES = {cls.__name__: cls for cls in (InputLayer, Dense, Conv2D, MaxPooling2D, AveragePooling2D,
                                          GlobalAveragePooling2D, Flatten, Reshape, Dropout,
                                          Activation, BatchNormalization, Add, Subtract, Multiply,
                                          Average, Maximum, Minimum, Concatenate, Dot, Conv1D,
                                          Conv2DTranspose, Conv1DTranspose, DepthwiseConv2D,
                                          SeparableConv2D, Embedding, MaxPooling1D, AveragePooling1D,
                                          GlobalMaxPooling1D, GlobalAveragePooling1D, GlobalMaxPooling2D)}


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
