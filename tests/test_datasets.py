"""Datasets: the IDX reader, the download path against a real HTTP server on
127.0.0.1, and training on real MNIST / Fashion-MNIST when they are present."""
import gzip
import hashlib
import http.server
import os
import pathlib
import sys
import threading

import numpy as np
import pytest

import ember
from ember import layers, models
from ember.datasets import _download, fashion_mnist, mnist, read_idx
from ember.datasets._idx import parse_idx
from ember.utils import to_categorical

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "examples"))
from mnist import build_model  # noqa: E402
MNIST_T10K = pathlib.Path(os.environ.get("EMBER_SHARED_DIR", REPO.parent / "shared")) / "datasets" / "mnist-t10k"
FASHION_DEBIAN = pathlib.Path("/usr/share/datasets/fashion-mnist")


def idx_bytes(arr):
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.tobytes()


def fake_dataset(folder, n_train=20, n_test=10, seed=0):
    """Writes the four gzipped IDX files of a tiny MNIST-shaped dataset and
    returns their sha256 checksums."""
    rng = np.random.default_rng(seed)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test)}
    sums = {}
    os.makedirs(folder, exist_ok=True)
    for stem, arr in arrays.items():
        blob = gzip.compress(idx_bytes(arr), mtime=0)
        (pathlib.Path(folder) / (stem + ".gz")).write_bytes(blob)
        sums[stem] = hashlib.sha256(blob).hexdigest()
    return arrays, sums


# ---------------------------------------------------------------- IDX reader

def test_idx_reader_reads_good_files(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "raw").write_bytes(idx_bytes(arr))
    (tmp_path / "gz").write_bytes(gzip.compress(idx_bytes(arr)))
    assert np.array_equal(read_idx(tmp_path / "raw"), arr)
    assert np.array_equal(read_idx(tmp_path / "gz", expected_ndim=3), arr)


@pytest.mark.parametrize("damage,message", [
    (lambda b: b"\x01" + b[1:], "magic"),
    (lambda b: b[:2] + b"\x42" + b[3:], "dtype byte"),
    (lambda b: b[:-5], "truncated"),
    (lambda b: b + b"\x00\x00", "trailing"),
    (lambda b: b[:3] + b"\x01" + b[4:], "dimensions"),
    (lambda b: b[:2], "too short"),
    (lambda b: b[:10], "truncated IDX header|payload"),
])
def test_idx_reader_rejects_damaged_files(tmp_path, damage, message):
    blob = damage(idx_bytes(np.zeros((3, 4, 5), np.uint8)))
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(blob)
    with pytest.raises(ValueError, match=message) as info:
        read_idx(path, expected_ndim=3)
    assert str(path) in str(info.value)


def test_idx_reader_rejects_damaged_gzip(tmp_path):
    blob = gzip.compress(idx_bytes(np.zeros((3, 4), np.uint8)))
    path = tmp_path / "x.gz"
    path.write_bytes(blob[:len(blob) // 2])
    with pytest.raises(ValueError, match="gzip"):
        read_idx(path)


def test_parse_idx_other_dtypes():
    data = bytes([0, 0, 0x0D, 1]) + (2).to_bytes(4, "big") + np.array([1.5, -2], ">f4").tobytes()
    assert parse_idx(data).tolist() == [1.5, -2.0]


# ---------------------------------------------------------------- downloads

class _Server:
    """http.server on 127.0.0.1 serving folders as /<name>/..., counting
    requests, optionally lying about Content-Length to simulate truncation."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.requests = []
        self.truncate = set()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                path = server.root / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.path in server.truncate:
                    data = data[:len(data) // 2]
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    s = _Server(tmp_path / "www")
    yield s
    s.close()


@pytest.fixture
def ember_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("EMBER_HOME", str(home))
    monkeypatch.delenv("EMBER_DATASETS_DIR", raising=False)
    monkeypatch.delenv("EMBER_DATASETS_MIRRORS", raising=False)
    return home


def test_download_from_good_mirror_then_cache_hit(server, ember_home, tmp_path):
    arrays, sums = fake_dataset(server.root / "good")
    (xtr, ytr), (xte, yte) = _download.load("fake", sums, [server.url + "/good"])
    assert np.array_equal(xtr, arrays["train-images-idx3-ubyte"])
    assert xtr.dtype == np.uint8 and xtr.shape == (20, 28, 28) and yte.shape == (10,)
    assert len(server.requests) == 4
    cached = sorted(os.listdir(ember_home / "datasets" / "fake"))
    assert cached == sorted(s + ".gz" for s in sums)
    _download.load("fake", sums, [server.url + "/good"])
    assert len(server.requests) == 4  # the second call touched no network


def test_wrong_checksum_is_not_cached(server, ember_home):
    _, sums = fake_dataset(server.root / "good")
    wrong = dict(sums, **{"train-labels-idx1-ubyte": "0" * 64})
    with pytest.raises(OSError, match="sha256 mismatch") as info:
        _download.load("fake", wrong, [server.url + "/good"])
    assert "load_data(path=" in str(info.value)
    assert not (ember_home / "datasets" / "fake" / "train-labels-idx1-ubyte.gz").exists()
    leftovers = [f for f in os.listdir(ember_home / "datasets" / "fake") if f.startswith(".")]
    assert leftovers == []


def test_truncated_download_is_deleted(server, ember_home):
    _, sums = fake_dataset(server.root / "good")
    server.truncate.add("/good/train-images-idx3-ubyte.gz")
    with pytest.raises(OSError, match="truncated|mismatch|IncompleteRead|Connection"):
        _download.load("fake", sums, [server.url + "/good"])
    assert not (ember_home / "datasets" / "fake" / "train-images-idx3-ubyte.gz").exists()


def test_404_on_first_mirror_then_second(server, ember_home, monkeypatch):
    arrays, sums = fake_dataset(server.root / "second")
    monkeypatch.setenv("EMBER_DATASETS_MIRRORS", f"{server.url}/missing, {server.url}/second")
    (xtr, _), _ = _download.load("fake", sums, ["http://127.0.0.1:9/never-used"])
    assert np.array_equal(xtr, arrays["train-images-idx3-ubyte"])
    assert any(r.startswith("/missing/") for r in server.requests)
    assert sum(r.startswith("/second/") for r in server.requests) == 4


def test_no_network_no_cache_says_what_was_tried(ember_home, monkeypatch):
    monkeypatch.setenv("EMBER_DATASETS_MIRRORS", "http://127.0.0.1:9/a http://127.0.0.1:9/b")
    with pytest.raises(OSError) as info:
        mnist.load_data()
    text = str(info.value)
    assert "http://127.0.0.1:9/a/train-images-idx3-ubyte.gz" in text
    assert "http://127.0.0.1:9/b/train-images-idx3-ubyte.gz" in text
    assert "path=" in text


def test_local_folder_gz_or_raw(tmp_path, ember_home, monkeypatch):
    arrays, _ = fake_dataset(tmp_path / "data")
    raw = tmp_path / "raw"
    raw.mkdir()
    for stem in _download.FILES:
        (raw / stem).write_bytes(gzip.decompress((tmp_path / "data" / (stem + ".gz")).read_bytes()))
    for folder in (tmp_path / "data", raw):
        (xtr, ytr), _ = mnist.load_data(path=folder)
        assert np.array_equal(ytr, arrays["train-labels-idx1-ubyte"])
    monkeypatch.setenv("EMBER_DATASETS_DIR", str(raw))
    assert mnist.load_data()[0][0].shape == (20, 28, 28)
    with pytest.raises(FileNotFoundError, match="train-images"):
        mnist.load_data(path=tmp_path)


def test_mismatched_counts_are_reported(tmp_path, ember_home):
    fake_dataset(tmp_path / "d")
    blob = gzip.compress(idx_bytes(np.zeros(7, np.uint8)))
    (tmp_path / "d" / "train-labels-idx1-ubyte.gz").write_bytes(blob)
    with pytest.raises(ValueError, match="20 images but 7 labels"):
        mnist.load_data(path=tmp_path / "d")


# ---------------------------------------------------------------- real data

def _classic_convnet():
    model = build_model()  # examples/mnist.py: the program users run
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.slow
@pytest.mark.skipif(not (MNIST_T10K / "t10k-images-idx3-ubyte.gz").exists(),
                    reason=f"real MNIST test split not found at {MNIST_T10K} (set EMBER_SHARED_DIR)")
def test_real_mnist_digits_train_8000_test_2000():
    images = read_idx(MNIST_T10K / "t10k-images-idx3-ubyte.gz", 3)
    labels = read_idx(MNIST_T10K / "t10k-labels-idx1-ubyte.gz", 1)
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)
    x = images.reshape(-1, 28, 28, 1).astype("float32") / 255
    y = to_categorical(labels)
    ember.set_random_seed(0)
    model = _classic_convnet()
    model.fit(x[:8000], y[:8000], epochs=3, batch_size=64, verbose=0)
    _, acc = model.evaluate(x[8000:], y[8000:], verbose=0)
    assert acc >= 0.95, acc


@pytest.mark.slow
@pytest.mark.skipif(not (FASHION_DEBIAN / "train-images-idx3-ubyte.gz").exists(),
                    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist_brief_training():
    (xtr, ytr), (xte, yte) = fashion_mnist.load_data()
    assert xtr.shape == (60000, 28, 28) and yte.shape == (10000,)
    assert np.bincount(ytr).tolist() == [6000] * 10
    ember.set_random_seed(0)
    model = _classic_convnet()
    model.fit(xtr[:12000].reshape(-1, 28, 28, 1).astype("float32") / 255, to_categorical(ytr[:12000]),
              epochs=1, batch_size=64, verbose=0)
    _, acc = model.evaluate(xte.reshape(-1, 28, 28, 1).astype("float32") / 255, to_categorical(yte),
                            verbose=0)
    assert acc >= 0.75, acc
