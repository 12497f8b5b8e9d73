"""Streaming input benchmarks (issue 14).

1. prefetch: an MLP trained from in-memory arrays, then from a PyDataset
   whose __getitem__ waits as long as one training step (an I/O-bound reader)
   with workers=0 (no prefetch), workers=2 threads and workers=2 processes.
   Figures are images/s, medians over --repeat epochs, ratio to in-memory.
2. transport: reading large batches from worker processes through shared
   memory (ember's path) versus pickling them through a pipe.
3. memory: training from a memory-mapped file; growth of the resident set
   (anonymous and total) against the file size.

    PYTHONPATH=python python bench/streaming.py [--repeat 5] [--memory-mb 512]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import ember
from ember import data_adapters, layers
from ember.utils import PyDataset

HERE = os.path.dirname(os.path.abspath(__file__))


class Slow(PyDataset):
    def __init__(self, x, y, bs, delay, **kw):
        super().__init__(**kw)
        self.x, self.y, self.bs, self.delay = x, y, bs, delay

    def __len__(self):
        return len(self.x) // self.bs

    def __getitem__(self, i):
        time.sleep(self.delay)  # stands for reading the batch from disk or network
        s = slice(i * self.bs, (i + 1) * self.bs)
        return self.x[s], self.y[s]


def _model(d):
    ember.set_random_seed(0)
    m = ember.Sequential([ember.Input((d,)), layers.Dense(512, activation="relu"),
                          layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy")
    return m


def _epoch_rate(model, data, n, epochs=1, **fit_kw):
    t = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, **fit_kw)
    return n * epochs / (time.perf_counter() - t)


def prefetch(repeat, steps, bs=128, d=784):
    rng = np.random.default_rng(0)
    n = steps * bs
    x = rng.random((n, d), dtype=np.float32)
    y = rng.integers(0, 10, n)
    m = _model(d)
    m.fit(x, y, batch_size=bs, epochs=1, verbose=0)  # warm up
    mem = [_epoch_rate(m, x, n, y=y, batch_size=bs, shuffle=False) for _ in range(repeat)]
    step_s = bs / statistics.median(mem)
    print(f"in-memory: {statistics.median(mem):.0f} img/s, step {step_s * 1e3:.1f} ms "
          f"(range {min(mem):.0f}-{max(mem):.0f})")
    rows = {"in-memory arrays": mem}
    for label, kw in (("PyDataset workers=0 (no prefetch)", dict(workers=0)),
                      ("PyDataset workers=2 threads", dict(workers=2)),
                      ("PyDataset workers=2 processes", dict(workers=2, use_multiprocessing=True)),
                      # The processes are forked once per fit and serve every epoch.
                      ("PyDataset workers=2 processes, fit of 3 epochs", dict(workers=2, use_multiprocessing=True,
                                                                              epochs=3))):
        rates = []
        epochs = kw.pop("epochs", 1)
        for _ in range(repeat):
            # Interleave an in-memory epoch so both see the same machine load.
            rows["in-memory arrays"].append(_epoch_rate(m, x, n, y=y, batch_size=bs, shuffle=False))
            rates.append(_epoch_rate(m, Slow(x, y, bs, step_s, **kw), n, epochs, shuffle=False))
        rows[label] = rates
    base = statistics.median(rows["in-memory arrays"])
    print(f"\n__getitem__ waits {step_s * 1e3:.1f} ms (one step); {steps} steps of {bs} per epoch; "
          f"median of {repeat} epochs (in-memory: of {len(rows['in-memory arrays'])})")
    print("| input | img/s (median) | range | ratio to in-memory |\n| --- | --- | --- | --- |")
    for label, rates in rows.items():
        med = statistics.median(rates)
        print(f"| {label} | {med:.0f} | {min(rates):.0f}-{max(rates):.0f} | {med / base:.2f}x |")


class Big(PyDataset):
    def __init__(self, shape, n, **kw):
        super().__init__(**kw)
        self.shape, self.n = shape, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full(self.shape, i, np.float32), np.full(self.shape[0], i, np.int64)


def transport(repeat, shape=(32, 3, 224, 224), n=40):
    mb = np.prod(shape) * 4 / 2**20
    results = {}
    for label, pickled in (("shared memory", False), ("pickled through a pipe", True)):
        grow = data_adapters._ProcessFeeder._grow
        if pickled:
            data_adapters._ProcessFeeder._grow = lambda self, slot, nbytes: None
        try:
            times = []
            for _ in range(repeat):
                ad = data_adapters.StreamAdapter(Big(shape, n, workers=2, use_multiprocessing=True), None, False,
                                                 "steps")
                t = time.perf_counter()
                for _, batch in ad.raw_batches():
                    pass
                times.append(n / (time.perf_counter() - t))
        finally:
            data_adapters._ProcessFeeder._grow = grow
        results[label] = times
    print(f"\n{n} batches of {mb:.1f} MiB from 2 worker processes, batches/s, median of {repeat} "
          "(includes forking the workers)")
    print("| transport | batches/s | MiB/s |\n| --- | --- | --- |")
    for label, times in results.items():
        med = statistics.median(times)
        print(f"| {label} | {med:.1f} (range {min(times):.1f}-{max(times):.1f}) | {med * mb:.0f} |")


def memory(mb):
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    from test_streaming import _MEMORY_SCRIPT
    cols = 1024
    rows = mb * 2**20 // (cols * 4) // 256 * 256
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.f32")
        mm = np.memmap(path, np.float32, "w+", shape=(rows, cols))
        for lo in range(0, rows, 8192):
            mm[lo:lo + 8192] = np.random.default_rng(lo).random((min(8192, rows - lo), cols), dtype=np.float32)
        mm.flush()
        del mm
        print(f"\nmemmap file {rows * cols * 4 / 2**20:.0f} MiB, batches of 256 rows (1 MiB), workers=2; "
              "peak growth of the trainer's resident memory during one epoch")
        print("| workers | RssAnon growth | VmRSS growth | control: RssAnon after reading the whole file |")
        print("| --- | --- | --- | --- |")
        for mp in ("0", "1"):
            out = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, path, str(rows), str(cols), mp],
                                 capture_output=True, text=True, check=True)
            anon, rss, control = (int(v) / 2**20 for v in out.stdout.split()[-3:])
            print(f"| {'processes' if mp == '1' else 'threads'} | {anon:.1f} MiB | {rss:.1f} MiB | {control:.0f} MiB |")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--memory-mb", type=int, default=512)
    p.add_argument("--only", choices=["prefetch", "transport", "memory"])
    a = p.parse_args()
    if a.only in (None, "prefetch"):
        prefetch(a.repeat, a.steps)
    if a.only in (None, "transport"):
        transport(a.repeat)
    if a.only in (None, "memory"):
        memory(a.memory_mb)


if __name__ == "__main__":
    main()
