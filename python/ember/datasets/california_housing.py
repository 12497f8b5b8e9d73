"""California house values (20,640 block groups, 8 features, value in $),
as keras.datasets.california_housing."""
from . import _housing

SHA256 = "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"


def load_data(version="large", path="california_housing.npz", test_split=0.2, seed=113):
    """Returns ``(x_train, y_train), (x_test, y_test)``: features (n, 8) and
    values (n,), shuffled with ``seed``; the last ``test_split`` of the rows
    form the test split. ``version="small"`` keeps only the first 600 rows.
    ``path`` is the file's name in the cache or the path of a local copy."""
    if version not in ("large", "small"):
        raise ValueError(f"california_housing.load_data expects version 'large' or 'small'. "
                         f"Received: version={version!r}")
    return _housing.load(path, "california_housing.npz", SHA256, "california_housing.load_data", test_split, seed,
                         first=600 if version == "small" else None)
