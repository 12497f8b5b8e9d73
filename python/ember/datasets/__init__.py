"""Datasets in the keras.datasets style: ``mnist.load_data()``,
``fashion_mnist``, ``imdb``, ``reuters``, ``cifar10``, ``cifar100``,
``boston_housing``, ``california_housing``."""
from . import boston_housing, california_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters
from ._idx import read_idx

__all__ = ["mnist", "fashion_mnist", "imdb", "reuters", "cifar10", "cifar100", "boston_housing",
           "california_housing", "read_idx"]
