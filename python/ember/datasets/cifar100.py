"""CIFAR-100: 50,000 + 10,000 colour images of 32x32 pixels in 100 classes
(20 superclasses), as keras.datasets.cifar100."""
from . import _cifar

MIRRORS = ("https://www.cs.toronto.edu/~kriz",)
ARCHIVE = "cifar-100-python.tar.gz"
SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode="fine"):
    """Returns ``(x_train, y_train), (x_test, y_test)``: uint8 images of shapes
    (50000, 32, 32, 3) and (10000, 32, 32, 3), int64 labels of shapes
    (50000, 1) and (10000, 1): the 100 classes with ``label_mode="fine"``,
    the 20 superclasses with ``"coarse"``. Found, cached and checked as
    ``cifar10.load_data``.
    """
    if label_mode not in ("fine", "coarse"):
        raise ValueError("cifar100.load_data expects label_mode 'fine' or 'coarse'. "
                         f"Received: label_mode={label_mode!r}")
    return _cifar.load(ARCHIVE, SHA256, MIRRORS, "cifar-100-python", ["train"], ["test"],
                       f"{label_mode}_labels", "int64")
