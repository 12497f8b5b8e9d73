"""What imdb and reuters share: argument checks, the word-sequence recoding
(start mark, index offset, length filter, vocabulary cut) on one flat int64
array rather than word by word, and the word-index json."""
import json

import numpy as np

from ._download import dataset_file


def check_int(what, name, value, minimum=0, optional=False):
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "None or an int" if optional else "an int"
        raise (TypeError if not isinstance(value, (int, np.integer)) or isinstance(value, bool) else ValueError)(
            f"{what} expects `{name}` to be {kind} >= {minimum}. Received: {name}={value!r}")


def check_test_split(what, test_split):
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float, np.floating, np.integer)):
        raise TypeError(f"{what} expects `test_split` to be a float in [0, 1). Received: test_split={test_split!r}")
    if not 0 <= test_split < 1:
        raise ValueError(f"{what} expects `test_split` in [0, 1). Received: test_split={test_split!r}")


def check_sequence_args(what, num_words, skip_top, maxlen, seed, start_char, oov_char, index_from):
    check_int(what, "num_words", num_words, 1, optional=True)
    check_int(what, "skip_top", skip_top)
    check_int(what, "maxlen", maxlen, 1, optional=True)
    check_int(what, "seed", seed)
    check_int(what, "start_char", start_char, optional=True)
    check_int(what, "oov_char", oov_char, optional=True)
    check_int(what, "index_from", index_from)


def shuffled(n, rng):
    order = np.arange(n)
    rng.shuffle(order)
    return order


def flatten(seqs, where):
    """(flat int64 values, lengths) of a 1-D object array of integer lists."""
    if not isinstance(seqs, np.ndarray) or seqs.ndim != 1:
        raise ValueError(f"{where}: expected a 1-D array of word-index lists. Received: "
                         f"{getattr(seqs, 'shape', type(seqs).__name__)}")
    parts = [np.asarray(s) for s in seqs]
    for p in parts:
        if p.ndim != 1 or (p.size and p.dtype.kind not in "iu"):
            raise ValueError(f"{where}: expected lists of word indices (ints). Received: {p.dtype} of shape {p.shape}")
    lengths = np.array([p.size for p in parts], dtype=np.int64)
    flat = np.concatenate([p.astype(np.int64, copy=False) for p in parts]) if parts else np.zeros(0, np.int64)
    return flat.astype(np.int64, copy=False), lengths


def recode(flat, lengths, labels, n_first, num_words, skip_top, maxlen, start_char, oov_char, index_from):
    """Keras's recoding of word-index sequences (the concatenation of two
    splits, the first n_first long). Returns (lists, labels, n_first kept).

    Each index gains index_from, start_char (unless None) is put in front,
    sequences of length >= maxlen are dropped, and every value outside
    [skip_top, num_words) becomes oov_char, or is removed when oov_char is
    None. Without num_words the bound is the largest value, which (as in
    Keras) is itself out of range."""
    n = lengths.size
    flat = flat + index_from
    if start_char is not None:
        starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        keep_mask = np.ones(flat.size + n, dtype=bool)
        keep_mask[starts] = False
        out = np.empty(flat.size + n, dtype=np.int64)
        out[starts] = start_char
        out[keep_mask] = flat
        flat, lengths = out, lengths + 1
    seq_id = np.repeat(np.arange(n), lengths)
    if maxlen:
        kept = lengths < maxlen
        values_kept = kept[seq_id]
        flat, seq_id = flat[values_kept], (np.cumsum(kept) - 1)[seq_id[values_kept]]
        labels, lengths = labels[kept], lengths[kept]
        n_first = int(kept[:n_first].sum())
        n = lengths.size
    if num_words is None:
        num_words = int(flat.max()) if flat.size else 0
    in_vocab = (flat >= skip_top) & (flat < num_words)
    if oov_char is not None:
        flat = np.where(in_vocab, flat, oov_char)
    else:
        flat, seq_id = flat[in_vocab], seq_id[in_vocab]
        lengths = np.bincount(seq_id, minlength=n)
    pieces = np.split(flat, np.cumsum(lengths)[:-1]) if n else []
    return [p.tolist() for p in pieces], labels, n_first


def object_array(lists):
    """1-D object array of the lists (never 2-D, even when all lengths agree)."""
    out = np.empty(len(lists), dtype=object)
    for i, s in enumerate(lists):
        out[i] = s
    return out


def splits(seqs, labels, n_train):
    """``(x_train, y_train), (x_test, y_test)`` with the first n_train."""
    return ((object_array(seqs[:n_train]), labels[:n_train]),
            (object_array(seqs[n_train:]), labels[n_train:]))


def word_index(path, remote_name, file_hash, mirrors, what):
    """The ``{word: rank}`` json of a text dataset, found or fetched as its data."""
    return load_word_index(dataset_file(path, remote_name, file_hash, mirrors, what))


def load_word_index(path):
    try:
        with open(path, encoding="utf-8") as f:
            index = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: damaged word-index json ({e})") from None
    if not isinstance(index, dict):
        raise ValueError(f"{path}: expected a json object of word: index. Received: {type(index).__name__}")
    return index
