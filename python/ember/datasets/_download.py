"""Finding, downloading and caching the MNIST-style IDX files."""
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request

import numpy as np

from .. import utils
from ._idx import read_idx

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def cache_dir(name):
    """``$EMBER_HOME/datasets/<name>`` when EMBER_HOME is set, else
    ``~/.ember/datasets/<name>``."""
    home = os.environ.get("EMBER_HOME") or os.path.join(os.path.expanduser("~"), ".ember")
    return os.path.join(home, "datasets", name)


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


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _download(url, dest, sha256, timeout=30):
    """Fetches url into dest atomically with a progress bar; deletes and
    raises on any failure or checksum mismatch."""
    folder = os.path.dirname(dest)
    fd, tmp = tempfile.mkstemp(prefix=".download-", dir=folder)
    try:
        h = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=timeout) as resp, os.fdopen(fd, "wb") as out:
            total = resp.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            bar = utils.Progbar(total, verbose=1, stream=sys.stderr, unit_name="byte") if total else None
            done = 0
            while True:
                chunk = resp.read(1 << 16)
                if not chunk:
                    break
                out.write(chunk)
                h.update(chunk)
                done += len(chunk)
                if bar:
                    bar.update(min(done, total), finalize=False)
            if bar:
                bar.update(done, finalize=True)
            if total is not None and done != total:
                raise ValueError(f"truncated download: {done} of {total} bytes")
        if h.hexdigest() != sha256:
            raise ValueError(f"sha256 mismatch: expected {sha256}, received {h.hexdigest()}")
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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
    os.makedirs(cache, exist_ok=True)
    paths = []
    urls = mirrors(default_mirrors)
    for stem in FILES:
        dest = os.path.join(cache, stem + ".gz")
        if os.path.isfile(dest):
            if _sha256(dest) == checksums[stem]:
                paths.append(dest)
                continue
            os.unlink(dest)  # damaged cache entry: fetch again
        errors = []
        for base in urls:
            url = base.rstrip("/") + "/" + stem + ".gz"
            try:
                _download(url, dest, checksums[stem])
                break
            except (OSError, ValueError, urllib.error.URLError) as e:
                errors.append(f"{url}: {e}")
        else:
            raise OSError(f"Could not download {name} file {stem}.gz. Tried:\n  " + "\n  ".join(errors or ["(no mirrors)"])
                          + f"\nWithout network access, download the four files elsewhere and pass "
                            f"load_data(path='folder') or set EMBER_DATASETS_DIR.")
        paths.append(dest)
    return paths


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
