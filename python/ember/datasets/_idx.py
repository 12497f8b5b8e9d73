"""Reader for the IDX format of MNIST-style files (gzipped or raw)."""
import gzip
import os
import zlib

import numpy as np

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data, name="<bytes>", expected_ndim=None):
    """Parses IDX bytes, checking the magic number, the dtype byte, the
    dimensions and the exact payload length."""
    if len(data) < 4:
        raise ValueError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    zero, dtype_code, ndim = data[0] << 8 | data[1], data[2], data[3]
    if zero != 0:
        raise ValueError(f"{name}: bad IDX magic number 0x{int.from_bytes(data[:4], 'big'):08x} "
                         "(expected 0x0000 then a dtype byte)")
    if dtype_code not in _DTYPES:
        raise ValueError(f"{name}: unknown IDX dtype byte 0x{dtype_code:02x}")
    if expected_ndim is not None and ndim != expected_ndim:
        magic = (dtype_code << 8) | ndim
        raise ValueError(f"{name}: expected {expected_ndim} dimensions (magic {(0x08 << 8) | expected_ndim}), "
                         f"received {ndim} (magic {magic})")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name}: truncated IDX header")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[dtype_code])
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    payload = len(data) - header
    if payload != expected:
        raise ValueError(f"{name}: payload is {payload} bytes, but dimensions {dims} need {expected} "
                         f"({'truncated' if payload < expected else 'trailing bytes'})")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path, expected_ndim=None):
    """Reads an IDX file, gunzipping when it starts with the gzip magic."""
    name = os.fspath(path)
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{name}: damaged gzip data ({e})") from None
    return parse_idx(raw, name, expected_ndim)
