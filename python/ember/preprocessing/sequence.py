"""``pad_sequences``: a list of variable-length sequences to one array."""
import numpy as np


def _is_text_dtype(dtype):
    return dtype is object or np.dtype(dtype).kind in "USO"


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre", value=0.0):
    """Pads (or cuts) each sequence to ``maxlen`` steps, as Keras does.

    ``sequences`` is a list of sequences (lists or arrays; their items may
    themselves be arrays of one common shape). The result has shape
    ``(len(sequences), maxlen) + item_shape`` and ``dtype``; ``maxlen``
    defaults to the longest sequence. ``padding="pre"`` puts the ``value``
    fill before each sequence, ``"post"`` after; ``truncating="pre"`` drops
    the start of a longer sequence, ``"post"`` its end. For strings use
    ``dtype=object`` (or a NumPy string dtype) and a string ``value``.
    """
    if not hasattr(sequences, "__len__") or isinstance(sequences, (str, bytes)):
        raise ValueError(f"`sequences` must be a list of iterables. Received: {sequences!r}"[:300])
    if padding not in ("pre", "post"):
        raise ValueError(f"`padding` must be 'pre' or 'post'. Received: padding={padding!r}")
    if truncating not in ("pre", "post"):
        raise ValueError(f"`truncating` must be 'pre' or 'post'. Received: truncating={truncating!r}")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0):
        raise ValueError(f"`maxlen` must be None or an int >= 0. Received: maxlen={maxlen!r}")
    try:
        np.dtype(dtype)
    except TypeError:
        raise TypeError(f"`dtype` must be a NumPy dtype or its name. Received: dtype={dtype!r}") from None
    if isinstance(value, str) and not _is_text_dtype(dtype):
        raise ValueError(f"`dtype` {dtype} cannot hold the string `value`; use dtype=object for "
                         f"variable-length strings. Received: value={value!r}")

    n = len(sequences)
    lengths = np.zeros(n, np.int64)
    parts, sample_shape = [], None
    for i, seq in enumerate(sequences):
        try:
            lengths[i] = len(seq)
        except TypeError:
            raise ValueError(f"`sequences` must be a list of iterables. Received the non-iterable "
                             f"{seq!r} at position {i}"[:300]) from None
        if not lengths[i]:
            continue
        arr = np.asarray(seq, dtype=dtype)
        if sample_shape is None:
            sample_shape = arr.shape[1:]
        elif arr.shape[1:] != sample_shape:
            raise ValueError(f"Every item of every sequence must have shape {sample_shape}; the sequence at "
                             f"position {i} has items of shape {arr.shape[1:]}")
        parts.append(arr)
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = int(lengths.max()) if n else 0
    maxlen = int(maxlen)
    out = np.full((n, maxlen) + sample_shape, value, dtype=dtype)
    if not parts or maxlen == 0:
        return out

    # One gather/scatter for all sequences: each keeps its last (truncating
    # "pre") or first ("post") `kept` items, written at the end ("pre") or
    # the start ("post") of its row.
    flat = np.concatenate(parts, axis=0)
    kept = np.minimum(lengths, maxlen)
    starts = np.cumsum(lengths) - lengths
    src = starts + (lengths - kept if truncating == "pre" else 0)
    dst = maxlen - kept if padding == "pre" else np.zeros_like(kept)
    within = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
    rows = np.repeat(np.arange(n), kept)
    out[rows, np.repeat(dst, kept) + within] = flat[np.repeat(src, kept) + within]
    return out


__all__ = ["pad_sequences"]
