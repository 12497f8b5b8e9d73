"""imdb, reuters, cifar10, cifar100, boston_housing, california_housing and
ember.utils.get_file, served from a local HTTP server on 127.0.0.1 as small
generated files in the real formats (NumPy-written .npz with object arrays,
tar.gz of pickled dicts, json); compared with Keras 3's own loaders on the
same files where Keras is installed. Nothing is downloaded from the internet."""
import gzip
import hashlib
import io
import json
import os
import pathlib
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

from ember import utils
from ember.datasets import (boston_housing, california_housing, cifar10, cifar100, imdb, reuters)
from ember.datasets._safe_load import UnsafePickleError, load_npz, load_pickle
from test_datasets import _Server


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def md5(path):
    return hashlib.md5(pathlib.Path(path).read_bytes()).hexdigest()


def object_array(lists):
    out = np.empty(len(lists), dtype=object)
    for i, s in enumerate(lists):
        out[i] = s
    return out


def word_lists(rng, n, vocab=60, max_len=25):
    """Lists of Python ints, as in Keras's files (ranks start at 1)."""
    return [rng.integers(1, vocab, rng.integers(1, max_len)).tolist() for _ in range(n)]


def write_imdb(path, seed=0, n_train=40, n_test=30):
    rng = np.random.default_rng(seed)
    data = {"x_train": object_array(word_lists(rng, n_train)), "y_train": rng.integers(0, 2, n_train),
            "x_test": object_array(word_lists(rng, n_test)), "y_test": rng.integers(0, 2, n_test)}
    np.savez(path, **data)
    return data


def write_reuters(path, seed=1, n=50):
    rng = np.random.default_rng(seed)
    data = {"x": object_array(word_lists(rng, n, vocab=80)), "y": rng.integers(0, 46, n)}
    np.savez(path, **data)
    return data


class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 wrote its str (BINSTRING opcodes), as in the
    real CIFAR files, which Python 3 reads back with encoding="bytes"."""
    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        n = len(obj)
        self.write(pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + n.to_bytes(4, "little"))
        self.write(obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj):
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def cifar_tarball(path, folder, members, protocol="py2"):
    """members: {name: dict with bytes keys}, pickled as the Python-2 CIFAR
    files are unless protocol names a Python 3 pickle protocol."""
    with tarfile.open(path, "w:gz") as tar:
        for name, d in members.items():
            blob = py2_pickle(d) if protocol == "py2" else pickle.dumps(d, protocol=protocol)
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def cifar_batch(rng, n, label_keys):
    d = {b"batch_label": b"generated", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
         b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
    for key, classes in label_keys.items():
        d[key.encode()] = rng.integers(0, classes, n).tolist()
    return d


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


@pytest.fixture
def server(tmp_path):
    s = _Server(tmp_path / "www")
    s.root.mkdir()
    yield s
    s.close()


@pytest.fixture
def home(tmp_path, monkeypatch, server):
    """EMBER_HOME in tmp, mirrors pointing at the local server only."""
    h = tmp_path / "home"
    monkeypatch.setenv("EMBER_HOME", str(h))
    monkeypatch.delenv("EMBER_DATASETS_DIR", raising=False)
    monkeypatch.setenv("EMBER_DATASETS_MIRRORS", server.url)
    return h


@pytest.fixture
def keras_datasets(monkeypatch):
    """Keras 3's dataset modules, with their get_file answering from a dict of
    local files so that Keras reads exactly the files ember reads."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")
    import keras.src.datasets.boston_housing as kb
    import keras.src.datasets.california_housing as kc
    import keras.src.datasets.imdb as ki
    import keras.src.datasets.reuters as kr
    files = {}

    def local_get_file(fname=None, origin=None, **kwargs):
        return str(files[origin.rsplit("/", 1)[-1]])

    for mod in (ki, kr, kb, kc):
        monkeypatch.setattr(mod, "get_file", local_get_file)
    return files, {"imdb": ki, "reuters": kr, "boston_housing": kb, "california_housing": kc}


def serve(server, monkeypatch, module, key, path):
    """Copies path to the server root and points module's expected hash at it."""
    dest = server.root / key
    dest.write_bytes(pathlib.Path(path).read_bytes())
    if hasattr(module, "FILES"):
        monkeypatch.setitem(module.FILES, key, sha256(dest) if key.endswith(".npz") else md5(dest))
    else:
        monkeypatch.setattr(module, "SHA256", sha256(dest))
    return dest


def same_sequences(a, b):
    assert len(a) == len(b)
    assert all(list(x) == list(y) for x, y in zip(a, b))


# ---------------------------------------------------------------- imdb / reuters

IMDB_CASES = [
    {},
    {"num_words": 20},
    {"num_words": 30, "skip_top": 5},
    {"maxlen": 15},
    {"num_words": 25, "oov_char": None},
    {"start_char": None, "index_from": 0},
    {"start_char": None, "index_from": 2, "skip_top": 4, "oov_char": 9},
    {"seed": 7, "maxlen": 20, "num_words": 40, "skip_top": 2, "oov_char": None, "index_from": 5},
]


TEXT_CASES = ([("imdb", kw) for kw in IMDB_CASES]
              + [("reuters", kw) for kw in IMDB_CASES + [{"test_split": 0.5}, {"test_split": 0.0, "num_words": 10}]])


@pytest.mark.parametrize("name,kwargs", TEXT_CASES)
def test_text_datasets_match_keras(tmp_path, server, home, monkeypatch, keras_datasets, name, kwargs):
    files, k = keras_datasets
    module, key = {"imdb": (imdb, "imdb.npz"), "reuters": (reuters, "reuters.npz")}[name]
    (write_imdb if name == "imdb" else write_reuters)(tmp_path / key)
    files[key] = serve(server, monkeypatch, module, key, tmp_path / key)
    ours, theirs = module.load_data(**kwargs), k[name].load_data(**kwargs)
    for (x, y), (kx, ky) in zip(ours, theirs):
        same_sequences(x, kx)
        np.testing.assert_array_equal(y, ky)
        assert x.dtype == object and x.ndim == 1 and all(type(w) is int for s in x for w in s)


def test_reuters_label_names_match_keras(keras_datasets):
    _, k = keras_datasets
    assert reuters.get_label_names() == tuple(k["reuters"].get_label_names())
    assert len(reuters.get_label_names()) == 46


def test_imdb_semantics_without_keras(tmp_path, server, home, monkeypatch):
    """The recoding against a plain per-word transcription of the rules."""
    data = write_imdb(tmp_path / "imdb.npz", seed=3)
    serve(server, monkeypatch, imdb, "imdb.npz", tmp_path / "imdb.npz")
    (xtr, ytr), (xte, yte) = imdb.load_data(num_words=30, skip_top=4, index_from=3, maxlen=18)
    rng = np.random.RandomState(113)
    o_tr = np.arange(40)
    rng.shuffle(o_tr)
    o_te = np.arange(30)
    rng.shuffle(o_te)

    def expect(seqs, labels, order):
        out, lab = [], []
        for i in order:
            s = [1] + [w + 3 for w in seqs[i]]
            if len(s) < 18:
                out.append([w if 4 <= w < 30 else 2 for w in s])
                lab.append(labels[i])
        return out, lab

    ex_tr, ey_tr = expect(data["x_train"], data["y_train"], o_tr)
    ex_te, ey_te = expect(data["x_test"], data["y_test"], o_te)
    same_sequences(xtr, ex_tr)
    same_sequences(xte, ex_te)
    assert ytr.tolist() == ey_tr and yte.tolist() == ey_te
    assert max(max(s) for s in xtr) < 30


def test_imdb_cached_after_first_download(tmp_path, server, home, monkeypatch):
    write_imdb(tmp_path / "imdb.npz")
    serve(server, monkeypatch, imdb, "imdb.npz", tmp_path / "imdb.npz")
    a = imdb.load_data()
    assert server.requests == ["/imdb.npz"]
    assert (home / "datasets" / "imdb.npz").is_file()
    b = imdb.load_data()
    assert server.requests == ["/imdb.npz"]
    same_sequences(a[0][0], b[0][0])
    # a local copy given as a path is used as it is, without the network
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "copy.npz").write_bytes((tmp_path / "imdb.npz").read_bytes())
    same_sequences(imdb.load_data(path=str(tmp_path / "mine" / "copy.npz"))[0][0], a[0][0])
    with pytest.raises(FileNotFoundError, match="no file"):
        imdb.load_data(path=str(tmp_path / "mine" / "absent.npz"))
    monkeypatch.setenv("EMBER_DATASETS_DIR", str(tmp_path))
    imdb.load_data()
    assert server.requests == ["/imdb.npz"]


def test_word_indexes(tmp_path, server, home, monkeypatch):
    for module, key in ((imdb, "imdb_word_index.json"), (reuters, "reuters_word_index.json")):
        index = {"the": 1, "and": 2, "ünïcode": 3}
        (tmp_path / key).write_text(json.dumps(index), encoding="utf-8")
        serve(server, monkeypatch, module, key, tmp_path / key)
        assert module.get_word_index() == index
        assert (home / "datasets" / key).is_file()
    # the hashes of the word indexes are md5 (as Keras publishes them)
    assert len(imdb.FILES["imdb_word_index.json"]) == 32


def test_imdb_maxlen_too_small_and_bad_arguments(tmp_path, server, home, monkeypatch):
    write_imdb(tmp_path / "imdb.npz")
    serve(server, monkeypatch, imdb, "imdb.npz", tmp_path / "imdb.npz")
    with pytest.raises(ValueError, match="maxlen=2"):
        imdb.load_data(maxlen=2)
    with pytest.raises(TypeError, match="num_words"):
        imdb.load_data(num_words="10")
    with pytest.raises(ValueError, match="skip_top"):
        imdb.load_data(skip_top=-1)
    with pytest.raises(TypeError):
        imdb.load_data(nb_words=10)
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.0)


def test_object_arrays_need_no_pickle_permission(tmp_path):
    data = write_imdb(tmp_path / "imdb.npz")
    with pytest.raises(ValueError, match="allow_pickle"):
        np.load(tmp_path / "imdb.npz")["x_train"]
    loaded = load_npz(tmp_path / "imdb.npz")
    same_sequences(loaded["x_train"], data["x_train"])
    np.testing.assert_array_equal(loaded["y_test"], data["y_test"])


def _npz_with_member(path, name, payload):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name, payload)


def test_malicious_npz_is_refused(tmp_path, monkeypatch):
    """An object-array .npy whose pickle calls os.system: refused before any
    call, with an error naming the file and the function."""
    buf = io.BytesIO()
    header = {"descr": "|O", "fortran_order": False, "shape": (1,)}
    np.lib.format.write_array_header_1_0(buf, header)
    buf.write(pickle.dumps(Evil(), protocol=3))
    _npz_with_member(tmp_path / "evil.npz", "x_train.npy", buf.getvalue())
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd))
    with pytest.raises(UnsafePickleError, match=r"posix\.system|os\.system") as info:
        load_npz(tmp_path / "evil.npz")
    assert "evil.npz" in str(info.value) and isinstance(info.value, ValueError)
    assert calls == []


@pytest.mark.parametrize("target", ["builtins.eval", "subprocess.Popen", "numpy.load"])
def test_other_globals_are_refused(tmp_path, target):
    module, name = target.rsplit(".", 1)
    blob = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X\x01\x00\x00\x001\x85R."
    (tmp_path / "p").write_bytes(blob)
    with pytest.raises(UnsafePickleError, match=target.replace(".", r"\.")):
        load_pickle(tmp_path / "p")


def test_codecs_encode_only_for_latin1(tmp_path):
    ok = pickle.dumps({b"k": b"\xff\x00"}, protocol=2)  # Python 3 spells bytes as _codecs.encode
    (tmp_path / "ok").write_bytes(ok)
    assert load_pickle(tmp_path / "ok") == {b"k": b"\xff\x00"}
    bad = b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R."
    (tmp_path / "bad").write_bytes(bad)
    with pytest.raises(UnsafePickleError, match="zlib"):
        load_pickle(tmp_path / "bad")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing_key", "pickle_truncated", "not_lists"])
def test_damaged_npz_raises_valueerror(tmp_path, damage):
    path = tmp_path / "imdb.npz"
    write_imdb(path)
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[:len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif damage == "missing_key":
        np.savez(path, x_train=np.zeros(3))
    elif damage == "pickle_truncated":
        buf = io.BytesIO()
        np.save(buf, object_array([[1, 2], [3]]))
        _npz_with_member(path, "x_train.npy", buf.getvalue()[:-10])
    elif damage == "not_lists":
        np.savez(path, x_train=object_array([[1.5, 2.0]]), y_train=np.zeros(1), x_test=object_array([[1]]),
                 y_test=np.zeros(1))
    with pytest.raises(ValueError, match="imdb.npz"):
        imdb.load_data(path=str(path))


# ---------------------------------------------------------------- cifar

def test_cifar10(tmp_path, server, home, monkeypatch):
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": cifar_batch(rng, 4 + i, {"labels": 10}) for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(rng, 7, {"labels": 10})
    cifar_tarball(tmp_path / "c10.tgz", "cifar-10-batches-py", batches)
    serve(server, monkeypatch, cifar10, "cifar-10-python.tar.gz", tmp_path / "c10.tgz")
    (xtr, ytr), (xte, yte) = cifar10.load_data()
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    n = sum(len(b[b"labels"]) for b in train)
    assert xtr.shape == (n, 32, 32, 3) and ytr.shape == (n, 1) and xtr.dtype == ytr.dtype == np.uint8
    assert xte.shape == (7, 32, 32, 3) and yte.shape == (7, 1)
    flat = np.concatenate([b[b"data"] for b in train])
    # row layout: 1024 red, then 1024 green, then 1024 blue values, row-major
    assert np.array_equal(xtr[3, 5, 7], flat[3, [5 * 32 + 7, 1024 + 5 * 32 + 7, 2048 + 5 * 32 + 7]])
    assert np.array_equal(xtr.transpose(0, 3, 1, 2).reshape(n, 3072), flat)
    assert ytr[:, 0].tolist() == sum((b[b"labels"] for b in train), [])
    assert server.requests == ["/cifar-10-python.tar.gz"]
    cifar10.load_data()
    assert server.requests == ["/cifar-10-python.tar.gz"]


@pytest.mark.parametrize("protocol", ["py2", 2, 4])
@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_label_modes(tmp_path, server, home, monkeypatch, label_mode, protocol):
    rng = np.random.default_rng(1)
    batches = {"train": cifar_batch(rng, 9, {"fine_labels": 100, "coarse_labels": 20}),
               "test": cifar_batch(rng, 5, {"fine_labels": 100, "coarse_labels": 20})}
    cifar_tarball(tmp_path / "c100.tgz", "cifar-100-python", batches, protocol)
    serve(server, monkeypatch, cifar100, "cifar-100-python.tar.gz", tmp_path / "c100.tgz")
    (xtr, ytr), (xte, yte) = cifar100.load_data(label_mode=label_mode)
    key = f"{label_mode}_labels".encode()
    assert ytr[:, 0].tolist() == batches["train"][key] and yte[:, 0].tolist() == batches["test"][key]
    assert ytr.dtype == np.int64 and xte.shape == (5, 32, 32, 3)
    assert np.array_equal(xte.transpose(0, 3, 1, 2).reshape(5, 3072), batches["test"][b"data"])
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_cifar_batch_read_as_keras_reads_it(tmp_path, keras_datasets):
    from keras.src.datasets.cifar import load_batch
    from ember.datasets import _cifar
    rng = np.random.default_rng(2)
    batch = cifar_batch(rng, 6, {"labels": 10})
    cifar_tarball(tmp_path / "c.tgz", "d", {"b": batch})
    with tarfile.open(tmp_path / "c.tgz") as tar:
        tar.extractall(tmp_path, filter="data")
        x, y = _cifar._batch(tar, "c.tgz", "d/b", "labels")
    kx, ky = load_batch(str(tmp_path / "d" / "b"))
    assert np.array_equal(x, kx.transpose(0, 2, 3, 1)) and list(y) == list(ky)


def test_cifar_malicious_pickle_is_refused(tmp_path, server, home, monkeypatch):
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": cifar_batch(rng, 2, {"labels": 10}) for i in range(1, 6)}
    batches["test_batch"] = {b"data": Evil(), b"labels": [1]}
    cifar_tarball(tmp_path / "c10.tgz", "cifar-10-batches-py", batches)
    calls = []
    monkeypatch.setattr(os, "system", lambda cmd: calls.append(cmd))
    serve(server, monkeypatch, cifar10, "cifar-10-python.tar.gz", tmp_path / "c10.tgz")
    with pytest.raises(UnsafePickleError, match=r"refusing to load `(posix|os)\.system`") as info:
        cifar10.load_data()
    assert "test_batch" in str(info.value)
    assert calls == []


def test_cifar_damaged_archive(tmp_path, server, home, monkeypatch):
    rng = np.random.default_rng(0)
    cifar_tarball(tmp_path / "c.tgz", "cifar-100-python",
                  {"train": cifar_batch(rng, 3, {"fine_labels": 100, "coarse_labels": 20})})
    serve(server, monkeypatch, cifar100, "cifar-100-python.tar.gz", tmp_path / "c.tgz")
    with pytest.raises(ValueError, match="no member cifar-100-python/test"):
        cifar100.load_data()
    raw = (tmp_path / "c.tgz").read_bytes()
    (tmp_path / "cut.tgz").write_bytes(raw[:len(raw) // 2])
    serve(server, monkeypatch, cifar100, "cifar-100-python.tar.gz", tmp_path / "cut.tgz")
    with pytest.raises(ValueError, match="damaged"):
        cifar100.load_data()
    bad = {"train": {b"data": np.zeros((2, 100), np.uint8), b"fine_labels": [1, 2]}, "test": {}}
    cifar_tarball(tmp_path / "shape.tgz", "cifar-100-python", bad)
    serve(server, monkeypatch, cifar100, "cifar-100-python.tar.gz", tmp_path / "shape.tgz")
    with pytest.raises(ValueError, match=r"\(n, 3072\)"):
        cifar100.load_data()


# ---------------------------------------------------------------- housing

@pytest.mark.parametrize("test_split,seed", [(0.2, 113), (0.0, 1), (0.5, 5)])
def test_boston_matches_keras(tmp_path, server, home, monkeypatch, keras_datasets, test_split, seed):
    files, k = keras_datasets
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "b.npz", x=rng.normal(size=(31, 13)), y=rng.uniform(5, 50, 31))
    files["boston_housing.npz"] = serve(server, monkeypatch, boston_housing, "boston_housing.npz", tmp_path / "b.npz")
    ours = boston_housing.load_data(test_split=test_split, seed=seed)
    theirs = k["boston_housing"].load_data(test_split=test_split, seed=seed)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    assert len(ours[1][0]) == 31 - int(31 * (1 - test_split))


@pytest.mark.parametrize("version", ["large", "small"])
def test_california_matches_keras(tmp_path, server, home, monkeypatch, keras_datasets, version):
    files, k = keras_datasets
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "c.npz", x=rng.normal(size=(650, 8)).astype(np.float32), y=rng.uniform(1e4, 5e5, 650))
    files["california_housing.npz"] = serve(server, monkeypatch, california_housing, "california_housing.npz",
                                            tmp_path / "c.npz")
    ours = california_housing.load_data(version=version, test_split=0.25)
    theirs = k["california_housing"].load_data(version=version, test_split=0.25)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_array_equal(a, b)
    assert len(ours[0][0]) + len(ours[1][0]) == (650 if version == "large" else 600)


def test_housing_without_keras(tmp_path, server, home, monkeypatch):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 13)), rng.normal(size=20)
    np.savez(tmp_path / "b.npz", x=x, y=y)
    serve(server, monkeypatch, boston_housing, "boston_housing.npz", tmp_path / "b.npz")
    (xtr, ytr), (xte, yte) = boston_housing.load_data(test_split=0.25, seed=3)
    order = np.arange(20)
    np.random.RandomState(3).shuffle(order)
    np.testing.assert_array_equal(np.concatenate([xtr, xte]), x[order])
    np.testing.assert_array_equal(yte, y[order][15:])
    with pytest.raises(ValueError, match="version"):
        california_housing.load_data(version="medium")
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=-0.1)
    with pytest.raises(TypeError, match="test_split"):
        boston_housing.load_data(test_split="0.2")


# ---------------------------------------------------------------- downloads: hashes, truncation

def test_wrong_hash_is_not_cached(tmp_path, server, home, monkeypatch):
    write_imdb(tmp_path / "imdb.npz")
    serve(server, monkeypatch, imdb, "imdb.npz", tmp_path / "imdb.npz")
    monkeypatch.setitem(imdb.FILES, "imdb.npz", "0" * 64)
    with pytest.raises(OSError, match="sha256 mismatch: expected 0{64}, received [0-9a-f]{64}") as info:
        imdb.load_data()
    assert sha256(tmp_path / "imdb.npz") in str(info.value)
    assert "path=" in str(info.value)
    assert os.listdir(home / "datasets") == []


def test_truncated_download_is_not_cached(tmp_path, server, home, monkeypatch):
    np.savez(tmp_path / "b.npz", x=np.zeros((5, 13)), y=np.zeros(5))
    serve(server, monkeypatch, boston_housing, "boston_housing.npz", tmp_path / "b.npz")
    server.truncate.add("/boston_housing.npz")
    with pytest.raises(OSError, match="truncated|IncompleteRead"):
        boston_housing.load_data()
    assert os.listdir(home / "datasets") == []


def test_damaged_cache_entry_is_fetched_again(tmp_path, server, home, monkeypatch):
    np.savez(tmp_path / "b.npz", x=np.ones((5, 13)), y=np.ones(5))
    serve(server, monkeypatch, boston_housing, "boston_housing.npz", tmp_path / "b.npz")
    boston_housing.load_data()
    cached = home / "datasets" / "boston_housing.npz"
    cached.write_bytes(cached.read_bytes()[:50])
    (xtr, _), _ = boston_housing.load_data()
    assert xtr.shape == (4, 13) and len(server.requests) == 2
    assert sha256(cached) == sha256(tmp_path / "b.npz")


def test_second_mirror_after_404(tmp_path, server, home, monkeypatch):
    np.savez(tmp_path / "b.npz", x=np.ones((5, 13)), y=np.ones(5))
    serve(server, monkeypatch, boston_housing, "boston_housing.npz", tmp_path / "b.npz")
    monkeypatch.setenv("EMBER_DATASETS_MIRRORS", f"{server.url}/nothing-here {server.url}")
    boston_housing.load_data()
    assert server.requests == ["/nothing-here/boston_housing.npz", "/boston_housing.npz"]


# ---------------------------------------------------------------- get_file

def test_get_file_download_cache_and_hashes(tmp_path, server):
    (server.root / "data.txt").write_bytes(b"hello ember\n")
    good = sha256(server.root / "data.txt")
    cache = tmp_path / "cache"
    p = utils.get_file(origin=f"{server.url}/data.txt", file_hash=good, cache_dir=str(cache))
    assert p == str(cache / "datasets" / "data.txt")
    assert pathlib.Path(p).read_bytes() == b"hello ember\n"
    assert utils.get_file("data.txt", f"{server.url}/data.txt", file_hash=good, cache_dir=str(cache)) == p
    assert len(server.requests) == 1
    utils.get_file("data.txt", f"{server.url}/data.txt", cache_dir=str(cache), force_download=True)
    assert len(server.requests) == 2
    # md5 by its length, by md5_hash, and by hash_algorithm
    m = md5(server.root / "data.txt")
    utils.get_file("data.txt", f"{server.url}/data.txt", file_hash=m, cache_dir=str(cache))
    utils.get_file("data.txt", f"{server.url}/data.txt", md5_hash=m, cache_dir=str(cache))
    utils.get_file("data.txt", f"{server.url}/data.txt", file_hash=m, hash_algorithm="md5", cache_dir=str(cache))
    assert len(server.requests) == 2
    # cache_subdir, absolute or relative
    q = utils.get_file(origin=f"{server.url}/data.txt", cache_dir=str(cache), cache_subdir="models")
    assert q == str(cache / "models" / "data.txt")
    r = utils.get_file(origin=f"{server.url}/data.txt", cache_subdir=str(tmp_path / "abs"))
    assert r == str(tmp_path / "abs" / "data.txt")


def test_get_file_default_cache_is_ember_home(tmp_path, server, monkeypatch):
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "eh"))
    (server.root / "f.bin").write_bytes(b"\x00\x01")
    assert utils.get_file(origin=f"{server.url}/f.bin") == str(tmp_path / "eh" / "datasets" / "f.bin")


def test_get_file_wrong_hash_deleted_and_named(tmp_path, server):
    (server.root / "data.txt").write_bytes(b"payload")
    actual = sha256(server.root / "data.txt")
    with pytest.raises(ValueError) as info:
        utils.get_file("data.txt", f"{server.url}/data.txt", file_hash="a" * 64, cache_dir=str(tmp_path))
    assert "a" * 64 in str(info.value) and actual in str(info.value)
    assert os.listdir(tmp_path / "datasets") == []
    # a cached file that does not match is fetched again
    (tmp_path / "datasets" / "data.txt").write_bytes(b"stale")
    p = utils.get_file("data.txt", f"{server.url}/data.txt", file_hash=actual, cache_dir=str(tmp_path))
    assert pathlib.Path(p).read_bytes() == b"payload"


def test_get_file_network_errors(tmp_path, server):
    (server.root / "x").write_bytes(b"0123456789" * 100)
    server.truncate.add("/x")
    with pytest.raises(OSError, match="truncated|IncompleteRead"):
        utils.get_file("x", f"{server.url}/x", cache_dir=str(tmp_path))
    with pytest.raises(OSError, match="404"):
        utils.get_file("y", f"{server.url}/y", cache_dir=str(tmp_path))
    assert os.listdir(tmp_path / "datasets") == []


def test_get_file_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x")
    with pytest.raises(TypeError, match="origin"):
        utils.get_file("x", origin=5)
    with pytest.raises(ValueError, match="fname"):
        utils.get_file("a/b.txt", origin="http://127.0.0.1:9/b.txt", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="hash_algorithm"):
        utils.get_file("b", origin="http://127.0.0.1:9/b", hash_algorithm="sha1", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="file name"):
        utils.get_file(origin="http://127.0.0.1:9/", cache_dir=str(tmp_path))
    with pytest.raises(TypeError, match="file_hash"):
        utils.get_file("b", origin="http://127.0.0.1:9/b", file_hash=123, cache_dir=str(tmp_path))


def _tar(path, entries, mode="w:gz"):
    """entries: (name, bytes) for files, (name, None, linkname, type) for links."""
    with tarfile.open(path, mode) as tar:
        for e in entries:
            info = tarfile.TarInfo(e[0])
            if len(e) == 2:
                info.size = len(e[1])
                tar.addfile(info, io.BytesIO(e[1]))
            else:
                info.type, info.linkname = e[3], e[2]
                tar.addfile(info)


@pytest.mark.parametrize("fmt", ["w:gz", "w", "w:bz2", "zip"])
def test_get_file_extracts(tmp_path, server, fmt):
    name = "pack.zip" if fmt == "zip" else "pack.tar"
    if fmt == "zip":
        with zipfile.ZipFile(server.root / name, "w") as z:
            z.writestr("pack/a.txt", b"A")
            z.writestr("pack/sub/b.txt", b"B")
    else:
        _tar(server.root / name, [("pack/a.txt", b"A"), ("pack/sub/b.txt", b"B"),
                                  ("pack/link", None, "a.txt", tarfile.SYMTYPE)], fmt)
    # fname with an extension: archive kept as fname, folder <stem>_extracted
    d = utils.get_file(name, f"{server.url}/{name}", extract=True, cache_dir=str(tmp_path))
    assert d == str(tmp_path / "datasets" / "pack_extracted")
    assert (pathlib.Path(d) / "pack" / "sub" / "b.txt").read_bytes() == b"B"
    if fmt != "zip":
        assert (pathlib.Path(d) / "pack" / "link").read_bytes() == b"A"
    assert (tmp_path / "datasets" / name).is_file()
    # fname without extension: folder fname, archive fname_archive
    d2 = utils.get_file("thing", f"{server.url}/{name}", extract=True, cache_dir=str(tmp_path))
    assert d2 == str(tmp_path / "datasets" / "thing") and (tmp_path / "datasets" / "thing_archive").is_file()
    assert (pathlib.Path(d2) / "pack" / "a.txt").read_bytes() == b"A"
    # untar=True asks for tar only
    if fmt != "zip":
        d3 = utils.get_file("u", f"{server.url}/{name}", untar=True, cache_dir=str(tmp_path))
        assert (pathlib.Path(d3) / "pack" / "a.txt").is_file()
    leftovers = [f for f in os.listdir(tmp_path / "datasets") if f.startswith(".")]
    assert leftovers == []


@pytest.mark.parametrize("entries,message", [
    ([("../escaped.txt", b"x")], "path traversal"),
    ([("ok/../../escaped.txt", b"x")], "path traversal"),
    ([("/tmp/abs-escaped.txt", b"x")], "absolute"),
    ([("out", None, "../..", tarfile.SYMTYPE)], "symlink"),
    ([("out", None, "/etc", tarfile.SYMTYPE)], "symlink"),
    ([("here", None, ".", tarfile.SYMTYPE), ("up", None, "here/..", tarfile.SYMTYPE)], "symlink"),
    ([("d", None, "..", tarfile.SYMTYPE), ("d/escaped.txt", b"x")], "symlink"),
    ([("hard", None, "../../etc/passwd", tarfile.LNKTYPE)], "hard link"),
    ([("dev", None, "", tarfile.CHRTYPE)], "devices"),
])
def test_get_file_refuses_unsafe_tar(tmp_path, server, entries, message):
    _tar(server.root / "evil.tar.gz", [("fine.txt", b"ok")] + entries)
    cache = tmp_path / "c" / "deep"
    with pytest.raises(ValueError, match=message):
        utils.get_file("evil", f"{server.url}/evil.tar.gz", extract=True, cache_dir=str(cache))
    assert not (cache / "datasets" / "evil").exists()  # nothing half extracted
    assert not list(tmp_path.rglob("escaped.txt"))
    assert [f for f in os.listdir(cache / "datasets") if f.startswith(".")] == []


def test_get_file_refuses_unsafe_zip(tmp_path, server):
    with zipfile.ZipFile(server.root / "evil.zip", "w") as z:
        z.writestr("fine.txt", b"ok")
        z.writestr("../../escaped.txt", b"x")
    with pytest.raises(ValueError, match="path traversal"):
        utils.get_file("evil", f"{server.url}/evil.zip", extract=True, cache_dir=str(tmp_path))
    assert not list(tmp_path.rglob("escaped.txt"))


def test_get_file_extract_errors(tmp_path, server):
    (server.root / "plain.txt").write_bytes(b"not an archive")
    with pytest.raises(ValueError, match="not an archive"):
        utils.get_file("p", f"{server.url}/plain.txt", extract=True, cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="archive_format"):
        utils.get_file("p", f"{server.url}/plain.txt", extract=True, archive_format="rar", cache_dir=str(tmp_path))
    _tar(server.root / "t.tar.gz", [("a", b"x" * 5000)])
    raw = (server.root / "t.tar.gz").read_bytes()
    (server.root / "cut.tar.gz").write_bytes(gzip.compress(gzip.decompress(raw)[:1000]))
    with pytest.raises(ValueError, match="damaged"):
        utils.get_file("cut", f"{server.url}/cut.tar.gz", extract=True, cache_dir=str(tmp_path))
    assert not (tmp_path / "datasets" / "cut").exists()


def test_get_file_is_keras_compatible_in_layout(tmp_path, server, keras_datasets):
    """Same returned paths as keras.utils.get_file for the same arguments."""
    from keras.src.utils.file_utils import get_file as keras_get_file
    _tar(server.root / "pack.tar.gz", [("pack/a.txt", b"A")])
    for i, kwargs in enumerate(({"fname": "pack.tar.gz"}, {"fname": "pack.tar.gz", "extract": True},
                                {"fname": "pk", "extract": True}, {"extract": True}, {})):
        e, k = tmp_path / f"e{i}", tmp_path / f"k{i}"
        e.mkdir()
        k.mkdir()  # Keras falls back to /tmp/.keras for a folder that does not exist
        ours = utils.get_file(origin=f"{server.url}/pack.tar.gz", cache_dir=str(e), **kwargs)
        theirs = keras_get_file(origin=f"{server.url}/pack.tar.gz", cache_dir=str(k), **kwargs)
        assert os.path.relpath(ours, e) == os.path.relpath(theirs, k), kwargs
        assert os.path.isdir(ours) == os.path.isdir(theirs)
