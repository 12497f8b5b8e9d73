"""Reuters newswire topics (11,228 newswires as word-index sequences, 46
topics), as keras.datasets.reuters."""
import numpy as np

from . import _text
from ._download import dataset_file
from ._safe_load import load_npz, require

MIRRORS = ("https://storage.googleapis.com/tensorflow/tf-keras-datasets",)

# The hashes Keras 3 checks: sha256 for the data, md5 (the only one Keras
# publishes) for the word index.
FILES = {
    "reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921",
}

# Topic names in label order.
LABEL_NAMES = tuple(
    "cocoa grain veg-oil earn acq wheat copper housing money-supply coffee sugar trade reserves ship "
    "cotton carcass crude nat-gas cpi money-fx interest gnp meal-feed alum oilseed gold tin "
    "strategic-metal livestock retail ipi iron-steel rubber heat jobs lei bop zinc orange pet-chem dlr "
    "gas silver wpi hog lead".split())


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3):
    """Returns ``(x_train, y_train), (x_test, y_test)``: 1-D object arrays of
    word-index lists and int topic labels (0..45, see get_label_names).

    The newswires are shuffled with ``seed``, recoded as in
    ``imdb.load_data`` (``index_from``, ``start_char``, ``maxlen``,
    ``skip_top``, ``num_words``, ``oov_char``), then the last ``test_split``
    of them form the test split. ``path`` is the file's name in the cache or
    the path of a local copy.
    """
    what = "reuters.load_data"
    _text.check_sequence_args(what, num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)
    _text.check_test_split(what, test_split)
    file = dataset_file(path, "reuters.npz", FILES["reuters.npz"], MIRRORS, what)
    xs, labels = require(load_npz(file), ("x", "y"), file)
    if len(xs) != len(labels):
        raise ValueError(f"{file}: {len(xs)} newswires but {len(labels)} labels")
    order = _text.shuffled(len(xs), np.random.RandomState(seed))
    flat, lengths = _text.flatten(xs[order], file)
    seqs, labels, _ = _text.recode(flat, lengths, np.asarray(labels)[order], len(xs), num_words, skip_top, maxlen,
                                   start_char, oov_char, index_from)
    n_train = int(len(seqs) * (1 - test_split))
    return _text.splits(seqs, labels, n_train)


def get_word_index(path="reuters_word_index.json"):
    """``{word: rank}``; rank r appears in load_data's sequences as
    ``r + index_from`` (3 by default)."""
    return _text.word_index(path, "reuters_word_index.json", FILES["reuters_word_index.json"], MIRRORS,
                            "reuters.get_word_index")


def get_label_names():
    """The 46 topic names, indexed by label."""
    return LABEL_NAMES
