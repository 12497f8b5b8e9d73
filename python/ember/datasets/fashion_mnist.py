"""Fashion-MNIST (Zalando), as keras.datasets.fashion_mnist."""
from ._download import load

MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
)

SHA256 = {
    "train-images-idx3-ubyte": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}

# Debian's dataset-fashion-mnist package installs the files here.
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)


def load_data(path=None):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 arrays of shapes
    (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    Looks in ``path`` (or EMBER_DATASETS_DIR), then in Debian's
    /usr/share/datasets/fashion-mnist, then in the cache, and downloads into
    the cache as a last resort (see ember.datasets.mnist.load_data).
    """
    return load("fashion_mnist", SHA256, MIRRORS, path, SYSTEM_DIRS)
