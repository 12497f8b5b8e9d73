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
from .normalization import BatchNormalization, LayerNormalization
from .rnn import GRU, LSTM, Bidirectional, SimpleRNN
from .activations import ELU, LeakyReLU, PReLU, ReLU, Softmax
from .regularization import (ActivityRegularization, AlphaDropout, GaussianDropout, GaussianNoise,
                             SpatialDropout1D, SpatialDropout2D)
from .preprocessing import (CenterCrop, RandomContrast, RandomFlip, RandomRotation, RandomTranslation,
                            RandomZoom, Rescaling, Resizing)
from .reshaping import (Cropping1D, Cropping2D, Masking, Permute, RepeatVector, TimeDistributed,
                        UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D)

__all__ = ["Input", "InputLayer", "Layer", "Variable", "Dense", "Conv2D", "MaxPooling2D", "MaxPool2D",
           "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D", "GlobalAvgPool2D", "Flatten",
           "Reshape", "Dropout", "Activation", "Lambda", "BatchNormalization", "Add", "Subtract",
           "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add", "subtract", "multiply",
           "average", "maximum", "minimum", "concatenate", "dot", "get", "LayerNormalization", "ReLU",
           "LeakyReLU", "PReLU", "ELU", "Softmax", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise",
           "GaussianDropout", "AlphaDropout", "ActivityRegularization", "RepeatVector", "UpSampling1D",
           "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "Permute",
           "TimeDistributed", "Masking", "Conv1D", "Convolution1D", "Conv2DTranspose",
           "Convolution2DTranspose", "Conv1DTranspose", "Convolution1DTranspose", "DepthwiseConv2D",
           "SeparableConv2D", "SeparableConvolution2D", "Embedding", "MaxPooling1D", "MaxPool1D",
           "AveragePooling1D", "AvgPool1D", "GlobalMaxPooling1D", "GlobalMaxPool1D",
           "GlobalAveragePooling1D", "GlobalAvgPool1D", "GlobalMaxPooling2D", "GlobalMaxPool2D",
           "SimpleRNN", "LSTM", "GRU", "Bidirectional", "RandomFlip", "RandomRotation", "RandomZoom",
           "RandomTranslation", "RandomContrast", "Rescaling", "Resizing", "CenterCrop"]

# Every Layer class exported here, under its own name (the name a saved
# config records); aliases such as MaxPool2D map to the same class.
_CLASSES = {obj.__name__: obj for obj in (globals().get(n) for n in __all__)
            if isinstance(obj, type) and issubclass(obj, Layer) and obj is not Layer}


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
