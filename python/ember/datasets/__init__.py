"""Datasets in the keras.datasets style: ``mnist.load_data()``,
``fashion_mnist.load_data()``."""
from . import fashion_mnist, mnist
from ._idx import read_idx

__all__ = ["mnist", "fashion_mnist", "read_idx"]
