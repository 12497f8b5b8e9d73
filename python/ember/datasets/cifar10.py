"""CIFAR-10: 50,000 + 10,000 colour images of 32x32 pixels in 10 classes, as
keras.datasets.cifar10."""
from . import _cifar

MIRRORS = ("https://www.cs.toronto.edu/~kriz",)
ARCHIVE = "cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_data():
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes
    (50000, 32, 32, 3), (50000, 1), (10000, 32, 32, 3), (10000, 1).

    The archive is taken from EMBER_DATASETS_DIR when it holds it, else from
    the cache (``$EMBER_HOME/datasets``), else downloaded there and checked
    against its SHA-256; the batches are read from it directly, unpickling
    nothing but NumPy arrays, lists and strings.
    """
    return _cifar.load(ARCHIVE, SHA256, MIRRORS, "cifar-10-batches-py",
                       [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "labels", "uint8")
