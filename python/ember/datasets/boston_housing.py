"""Boston house prices (506 suburbs, 13 features, price in k$), as
keras.datasets.boston_housing."""
from . import _housing

SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """Returns ``(x_train, y_train), (x_test, y_test)``: float64 features
    (n, 13) and prices (n,), shuffled with ``seed``; the last ``test_split``
    of the rows form the test split. ``path`` is the file's name in the cache
    (``$EMBER_HOME/datasets``) or the path of a local copy."""
    return _housing.load(path, "boston_housing.npz", SHA256, "boston_housing.load_data", test_split, seed)
