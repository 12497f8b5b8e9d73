"""ember's single-file format for models and weights.

Layout: 8-byte magic, u32 version, u64 header length, a JSON header, the
float32 arrays back to back (little-endian), then the SHA-256 of everything
before it. Writes go to a temporary file in the same folder that replaces the
target only once complete, so an interrupted save leaves the old file intact.
A truncated, corrupted or foreign file raises ValueError on load.
"""
import hashlib
import json
import os
import struct
import tempfile

import numpy as np

MAGIC = b"EMBER\x00\x01\x00"
VERSION = 1
_PREFIX = struct.Struct("<IQ")
_DIGEST = 32


def write_file(path, header, arrays):
    path = os.fspath(path)
    entries, offset, blobs = [], 0, []
    for a in arrays:
        a = np.ascontiguousarray(a, dtype="<f4")
        entries.append({"shape": list(a.shape), "offset": offset})
        offset += a.nbytes
        blobs.append(a.tobytes())
    head = json.dumps({**header, "arrays": entries}).encode("utf-8")
    body = MAGIC + _PREFIX.pack(VERSION, len(head)) + head + b"".join(blobs)
    atomic_write(path, [body, hashlib.sha256(body).digest()], prefix=".ember-")


def atomic_write(path, chunks, prefix=".ember-"):
    """Writes the byte strings ``chunks`` to ``path`` through a temporary file
    in the same folder, fsynced, that replaces ``path`` only once complete:
    an interrupted write leaves the old file as it was."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                _write_all(f, chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_folder(folder)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _fsync_folder(folder):
    # Makes the rename itself durable; not every platform can open a folder.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_all(f, data):
    # A separate function so that tests can make the write fail midway.
    f.write(data)


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def sniff(path):
    """The format of a file: 'ember' for a '.ember' name, else by its first
    bytes: 'ember', 'zip' (a .keras archive), 'hdf5' (.h5 / .weights.h5) or
    'unknown'."""
    if os.fspath(path).lower().endswith(".ember"):
        return "ember"
    with open(os.fspath(path), "rb") as f:
        head = f.read(8)
    if head.startswith(MAGIC[:6]):
        return "ember"
    if head.startswith(b"PK"):
        return "zip"
    if head == _HDF5_MAGIC:
        return "hdf5"
    return "unknown"


def read_file(path, expected_kind=None):
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    minimum = len(MAGIC) + _PREFIX.size + _DIGEST
    if len(data) < minimum or not data.startswith(MAGIC):
        raise ValueError(f"'{path}' is not an ember file (expected magic {MAGIC!r}, "
                         f"received {data[:len(MAGIC)]!r}, {len(data)} bytes)")
    body, digest = data[:-_DIGEST], data[-_DIGEST:]
    if hashlib.sha256(body).digest() != digest:
        raise ValueError(f"'{path}' is corrupted or truncated: its SHA-256 checksum does not match")
    version, head_len = _PREFIX.unpack_from(body, len(MAGIC))
    if version != VERSION:
        raise ValueError(f"'{path}' has format version {version}; this ember reads version {VERSION}")
    start = len(MAGIC) + _PREFIX.size
    if start + head_len > len(body):
        raise ValueError(f"'{path}' is damaged: its header runs past the end of the file")
    try:
        header = json.loads(body[start:start + head_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"'{path}' is damaged: unreadable header ({e})") from None
    if expected_kind and header.get("kind") != expected_kind and not (
            expected_kind == "weights" and header.get("kind") == "model"):
        raise ValueError(f"'{path}' holds {header.get('kind')!r}, expected {expected_kind!r}")
    payload = memoryview(body)[start + head_len:]
    arrays = []
    for entry in header.get("arrays", []):
        shape = tuple(int(d) for d in entry["shape"])
        count = int(np.prod(shape)) if shape else 1
        off = int(entry["offset"])
        if off < 0 or off + 4 * count > len(payload):
            raise ValueError(f"'{path}' is damaged: an array runs past the end of the file")
        arrays.append(np.frombuffer(payload, dtype="<f4", count=count, offset=off)
                      .reshape(shape).astype(np.float32))
    return header, arrays
