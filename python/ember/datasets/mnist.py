"""MNIST handwritten digits, as keras.datasets.mnist."""
from ._download import load

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist",
    "https://storage.googleapis.com/cvdf-datasets/mnist",
    "http://yann.lecun.com/exdb/mnist",
)

SHA256 = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}


def load_data(path=None):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes
    (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    ``path`` (or EMBER_DATASETS_DIR) names a folder holding the four IDX files,
    gzipped or raw. Otherwise the files are read from the cache
    (``$EMBER_HOME/datasets/mnist`` or ``~/.ember/datasets/mnist``), or
    downloaded there from the mirrors (EMBER_DATASETS_MIRRORS overrides them),
    each checked against its SHA-256.
    """
    return load("mnist", SHA256, MIRRORS, path)
