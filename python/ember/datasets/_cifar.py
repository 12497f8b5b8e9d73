"""Reading CIFAR batches straight from the python tarball: each member is a
pickled dict (written by Python 2) of a uint8 ``data`` array of shape (n, 3072)
and label lists, read with the restricted unpickler."""
import io
import tarfile
import zlib

import numpy as np

from ._download import dataset_file
from ._safe_load import restricted_load


def _batch(tar, archive, member, label_key):
    where = f"{archive}[{member}]"
    try:
        f = tar.extractfile(member)
    except KeyError:
        raise ValueError(f"{archive}: no member {member}; is this the CIFAR python archive?") from None
    if f is None:
        raise ValueError(f"{where}: not a regular file")
    d = restricted_load(io.BytesIO(f.read()), where, encoding="bytes")
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected a pickled dict. Received: {type(d).__name__}")
    d = {k.decode("utf-8") if isinstance(k, bytes) else k: v for k, v in d.items()}
    if "data" not in d or label_key not in d:
        raise ValueError(f"{where}: expected keys 'data' and {label_key!r}. Received: {sorted(map(str, d))}")
    data, labels = d["data"], np.asarray(d[label_key])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise ValueError(f"{where}: expected uint8 data of shape (n, 3072). Received: "
                         f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}")
    if labels.shape != (data.shape[0],) or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"{where}: expected {data.shape[0]} integer labels. Received: {labels.dtype} {labels.shape}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def load(archive_name, sha256, mirrors, folder, train, test, label_key, label_dtype):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images (n, 32, 32, 3)
    (channels last) and labels (n, 1) of label_dtype."""
    archive = dataset_file(archive_name, archive_name, sha256, mirrors, f"{archive_name} loader")
    splits = []
    try:
        with tarfile.open(archive) as tar:
            for members in (train, test):
                parts = [_batch(tar, archive, f"{folder}/{m}", label_key) for m in members]
                x = np.ascontiguousarray(np.concatenate([p[0] for p in parts]))
                y = np.concatenate([p[1] for p in parts]).astype(label_dtype).reshape(-1, 1)
                splits.append((x, y))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise ValueError(f"{archive}: damaged tar archive ({type(e).__name__}: {e})") from None
    return tuple(splits)
