"""What boston_housing and california_housing share: an .npz of x (n, d)
and y (n,), shuffled with a seed and split by test_split."""
import numpy as np

from . import _text
from ._download import dataset_file
from ._safe_load import load_npz, require

MIRRORS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets",)


def load(path, remote_name, sha256, what, test_split, seed, first=None):
    _text.check_test_split(what, test_split)
    _text.check_int(what, "seed", seed)
    file = dataset_file(path, remote_name, sha256, MIRRORS, what)
    x, y = require(load_npz(file), ("x", "y"), file)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"{file}: expected x of shape (n, features) and y of shape (n,). "
                         f"Received: {x.shape} and {y.shape}")
    if first is not None:
        x, y = x[:first], y[:first]
    order = _text.shuffled(len(x), np.random.RandomState(seed))
    x, y = x[order], y[order]
    n_train = int(len(x) * (1 - test_split))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])
