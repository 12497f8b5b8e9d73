"""Finding, downloading and caching dataset files (through ember._files, the
implementation behind ember.utils.get_file)."""
import os

import numpy as np

from .. import _files
from ._idx import read_idx

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def cache_dir(name):
    """``$EMBER_HOME/datasets/<name>`` when EMBER_HOME is set, else
    ``~/.ember/datasets/<name>``."""
    return os.path.join(_files.ember_home(), "datasets", name)


def mirrors(default):
    """EMBER_DATASETS_MIRRORS (base URLs separated by commas or spaces)
    replaces the built-in list when set."""
    env = os.environ.get("EMBER_DATASETS_MIRRORS")
    if env:
        return [m for m in env.replace(",", " ").split() if m]
    return list(default)


def _find_local(folder, stem):
    for fname in (stem + ".gz", stem):
        p = os.path.join(folder, fname)
        if os.path.isfile(p):
            return p
    return None


def _local_set(folder):
    paths = [_find_local(folder, stem) for stem in FILES]
    return paths if all(paths) else None


def fetch(name, checksums, default_mirrors, path=None, system_dirs=()):
    """Paths of the four files: from `path` (or EMBER_DATASETS_DIR), a system
    folder, the cache, or downloaded into the cache from the mirrors."""
    folder = path if path is not None else os.environ.get("EMBER_DATASETS_DIR")
    if folder is not None:
        folder = os.fspath(folder)
        for candidate in (folder, os.path.join(folder, name)):
            found = _local_set(candidate)
            if found:
                return found
        if path is not None:
            missing = [s for s in FILES if not _find_local(folder, s)]
            raise FileNotFoundError(f"{folder} does not hold the {name} files {', '.join(missing)} "
                                    "(.gz or raw)")
    for d in system_dirs:
        found = _local_set(d)
        if found:
            return found
    cache = cache_dir(name)
    urls = mirrors(default_mirrors)
    hint = ("Without network access, download the four files elsewhere and pass "
            "load_data(path='folder') or set EMBER_DATASETS_DIR.")
    paths = []
    for stem in FILES:
        dest = os.path.join(cache, stem + ".gz")
        _files.ensure(dest, [base.rstrip("/") + "/" + stem + ".gz" for base in urls], checksums[stem],
                      "sha256", hint=hint)
        paths.append(dest)
    return paths


def dataset_file(fname, remote_name, file_hash, default_mirrors, what):
    """Path of one file of a dataset (as Keras's loaders' ``path``).

    fname is the name in the cache ``$EMBER_HOME/datasets/``; a fname holding
    a folder names an existing local file, which is used as it is. Otherwise
    ``$EMBER_DATASETS_DIR/<fname>`` is used when present, else the cached copy
    after its hash check, else remote_name is downloaded from the mirrors
    (EMBER_DATASETS_MIRRORS overrides them) into the cache."""
    if not isinstance(fname, (str, os.PathLike)):
        raise TypeError(f"{what} expects `path` to be a file name. Received: path={fname!r}")
    fname = os.fspath(fname)
    if os.path.dirname(fname):
        if not os.path.isfile(fname):
            raise FileNotFoundError(f"{what}: no file at path={fname!r}")
        return fname
    local = os.environ.get("EMBER_DATASETS_DIR")
    if local and os.path.isfile(os.path.join(local, fname)):
        return os.path.join(local, fname)
    dest = os.path.join(_files.ember_home(), "datasets", fname)
    hint = (f"Without network access, download {remote_name} elsewhere and pass its path as "
            f"path='/folder/{fname}', or put it in the folder named by EMBER_DATASETS_DIR.")
    _files.ensure(dest, [base.rstrip("/") + "/" + remote_name for base in mirrors(default_mirrors)], file_hash,
                  "auto", hint=hint)
    return dest


def load(name, checksums, default_mirrors, path=None, system_dirs=()):
    """``(x_train, y_train), (x_test, y_test)`` as uint8 arrays."""
    tr_x, tr_y, te_x, te_y = fetch(name, checksums, default_mirrors, path, system_dirs)
    x_train, y_train = read_idx(tr_x, 3), read_idx(tr_y, 1)
    x_test, y_test = read_idx(te_x, 3), read_idx(te_y, 1)
    for x, y, what in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"{name} {what} split: {x.shape[0]} images but {y.shape[0]} labels")
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            raise ValueError(f"{name} {what} split: expected uint8 data, received {x.dtype} and {y.dtype}")
    return (x_train, y_train), (x_test, y_test)
