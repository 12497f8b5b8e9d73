"""Reading the datasets' pickles without letting them run code.

IMDB and Reuters keep ragged word sequences as NumPy object arrays inside
.npz files, which NumPy can only store as pickles; the CIFAR batches are
pickled dicts. ``np.load(allow_pickle=True)`` or ``pickle.load`` would call
whatever a tampered file names (``os.system``, ``eval``...). Here the unpickler
resolves only the names that rebuilding NumPy arrays needs; lists, dicts,
ints, floats, strings and bytes come from pickle opcodes and need no names.
Anything else raises ``UnsafePickleError`` before it is called.
"""
import codecs
import io
import os
import pickle
import zipfile
import zlib

import numpy as np

try:  # NumPy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - NumPy 1.x
    from numpy.core import multiarray as _multiarray


class UnsafePickleError(pickle.UnpicklingError, ValueError):
    """A pickle asked for a function or class outside the allow-list."""


def _latin1_bytes(text, encoding="latin1"):
    # Python 3 writes bytes into protocol-2 pickles as _codecs.encode(str, "latin1").
    if codecs.lookup(encoding).name != "iso8859-1" or not isinstance(text, str):
        raise UnsafePickleError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


_ALLOWED = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy.core.multiarray", "scalar"): _multiarray.scalar,
    ("numpy._core.multiarray", "scalar"): _multiarray.scalar,
    ("_codecs", "encode"): _latin1_bytes,
}


class RestrictedUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves only the names in _ALLOWED."""

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refusing to load `{module}.{name}` from a pickle: a dataset file may only hold NumPy "
                "arrays, lists, dicts, numbers and strings. The file is damaged or malicious.") from None


def restricted_load(fp, where, encoding="ASCII"):
    try:
        return RestrictedUnpickler(fp, encoding=encoding).load()
    except UnsafePickleError as e:
        raise UnsafePickleError(f"{where}: {e}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, UnicodeDecodeError) as e:
        raise ValueError(f"{where}: damaged pickle data ({type(e).__name__}: {e})") from None


def load_pickle(path, encoding="bytes"):
    """The object pickled in the file at path, restricted as above.
    ``encoding="bytes"`` reads Python 2 strings (the CIFAR files) as bytes."""
    with open(path, "rb") as f:
        return restricted_load(f, os.fspath(path), encoding)


def _read_npy(raw, where):
    fp = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:  # 3.0 differs from 2.0 only in the header's text encoding
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        if not dtype.hasobject:
            fp.seek(0)
            arr = np.lib.format.read_array(fp, allow_pickle=False)
            if arr.shape != shape:
                raise ValueError(f"holds {arr.size} values for shape {shape}")
            return arr
    except (ValueError, EOFError, OSError) as e:
        raise ValueError(f"{where}: damaged .npy data ({e})") from None
    arr = restricted_load(fp, where)
    if not isinstance(arr, np.ndarray) or arr.shape != shape or arr.dtype != dtype:
        got = f"{arr.dtype} array of shape {arr.shape}" if isinstance(arr, np.ndarray) else type(arr).__name__
        raise ValueError(f"{where}: the header announces a {dtype} array of shape {shape}, the pickle holds {got}")
    return arr


def load_npz(path):
    """``{name: array}`` of an .npz file; numeric arrays are read with pickle
    disabled, object arrays with the restricted unpickler. Damaged files raise
    ValueError naming the file."""
    name = os.fspath(path)
    out = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    out[member[:-4]] = _read_npy(archive.read(member), f"{name}[{member}]")
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise ValueError(f"{name}: damaged .npz file ({type(e).__name__}: {e})") from None
    return out


def require(arrays, keys, where):
    """arrays[k] for each k, with a clear error when one is missing."""
    missing = [k for k in keys if k not in arrays]
    if missing:
        raise ValueError(f"{where}: expected arrays {list(keys)}, missing {missing}; found {sorted(arrays)}")
    return [arrays[k] for k in keys]
