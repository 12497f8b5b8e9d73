"""IMDB movie-review sentiment (25,000 + 25,000 reviews as word-index
sequences), as keras.datasets.imdb."""
import numpy as np

from . import _text
from ._download import dataset_file
from ._safe_load import load_npz, require

MIRRORS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets",)

# The hashes Keras 3 checks: sha256 for the data, md5 (the only one Keras
# publishes) for the word index.
FILES = {
    "imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    "imdb_word_index.json": "bfafd718b763782e994055a2d397834f",
}


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3):
    """Returns ``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of
    word-index lists and int label arrays (1 positive, 0 negative).

    Words are ranked by frequency, so index i is the i-th most frequent word;
    each index is shifted up by ``index_from`` to leave room for 0 (padding),
    ``start_char`` (put before each review unless None) and ``oov_char``.
    Both splits are shuffled with ``seed``. ``maxlen`` drops reviews of
    ``maxlen`` words or more; words outside ``[skip_top, num_words)`` become
    ``oov_char``, or are removed when it is None.

    ``path`` is the file's name in the cache (``$EMBER_HOME/datasets``), or
    the path of a local copy; the file is downloaded once, checked against
    its SHA-256, and read without unpickling anything but NumPy arrays.
    """
    what = "imdb.load_data"
    _text.check_sequence_args(what, num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    file = dataset_file(path, "imdb.npz", FILES["imdb.npz"], MIRRORS, what)
    x_train, y_train, x_test, y_test = require(load_npz(file), ("x_train", "y_train", "x_test", "y_test"), file)
    for x, y, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(x) != len(y):
            raise ValueError(f"{file}: {split} split has {len(x)} reviews but {len(y)} labels")
    rng = np.random.RandomState(seed)
    order_train, order_test = _text.shuffled(len(x_train), rng), _text.shuffled(len(x_test), rng)
    flat_train, len_train = _text.flatten(x_train[order_train], file)
    flat_test, len_test = _text.flatten(x_test[order_test], file)
    labels = np.concatenate([y_train[order_train], y_test[order_test]])
    seqs, labels, n_train = _text.recode(np.concatenate([flat_train, flat_test]), np.concatenate([len_train, len_test]),
                                         labels, len(x_train), num_words, skip_top, maxlen, start_char, oov_char,
                                         index_from)
    if maxlen and (n_train == 0 or n_train == len(seqs)):
        raise ValueError(f"{what}: no review shorter than maxlen={maxlen} is left in the "
                         f"{'train' if n_train == 0 else 'test'} split; increase maxlen.")
    return _text.splits(seqs, labels, n_train)


def get_word_index(path="imdb_word_index.json"):
    """``{word: rank}``; rank r appears in load_data's sequences as
    ``r + index_from`` (3 by default)."""
    return _text.word_index(path, "imdb_word_index.json", FILES["imdb_word_index.json"], MIRRORS,
                            "imdb.get_word_index")
