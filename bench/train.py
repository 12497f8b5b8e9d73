"""Training and inference throughput of the classic MNIST convnet: ember, and
PyTorch beside it (same model, threads, batch, data) when it is installed.

    python bench/train.py                  # 2 threads, batch 64
    python bench/train.py --threads 1
    python bench/train.py --steps 300 --repeat 3
    python bench/train.py --rounds 5       # ember and PyTorch alternate 5 times
    python bench/train.py --device cuda    # ember built with CUDA, on a GPU

Uses Fashion-MNIST from Debian's dataset-fashion-mnist package when present,
random images otherwise. Prints a table and the ember/PyTorch ratios.
"""
import argparse
import os
import sys
import time

import numpy as np


def load_data(n):
    try:
        from ember.datasets import fashion_mnist
        (x, y), (xt, yt) = fashion_mnist.load_data(path="/usr/share/datasets/fashion-mnist")
        source = "Fashion-MNIST (Debian package)"
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, 60000).astype(np.uint8)
        xt, yt = x[:10000], y[:10000]
        source = "random images"
    x = (x[:n].reshape(-1, 28, 28, 1).astype(np.float32) / 255)
    xt = xt.reshape(-1, 28, 28, 1).astype(np.float32) / 255
    return x, y[:n].astype(np.int64), xt, yt.astype(np.int64), source


def bench_ember(x, y, xt, yt, batch, threads, steps, repeat, device="cpu"):
    import ember
    from ember.utils import to_categorical
    ember.set_num_threads(threads)
    ember.set_random_seed(0)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
    from mnist import build_model  # the model of examples/mnist.py
    model = build_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.to(device)
    yc = to_categorical(y, 10)
    n = steps * batch
    model.fit(x[:batch * 5], yc[:batch * 5], batch_size=batch, epochs=1, verbose=0)  # warm-up
    train = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        model.fit(x[:n], yc[:n], batch_size=batch, epochs=1, verbose=0)
        train.append(n / (time.perf_counter() - t0))
    infer = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        model.predict(xt, batch_size=batch, verbose=0)
        infer.append(len(xt) / (time.perf_counter() - t0))
    return float(np.median(train)), float(np.median(infer))


def bench_torch(x, y, xt, yt, batch, threads, steps, repeat, device="cpu"):
    import torch
    from torch import nn
    if device == "cuda" and not torch.cuda.is_available():
        raise ImportError("PyTorch without CUDA")
    dev = torch.device(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    xs = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    ys = torch.from_numpy(y)
    xts = torch.from_numpy(xt.transpose(0, 3, 1, 2).copy())
    n = steps * batch

    def epoch(count):
        model.train()
        perm = torch.randperm(count)
        for i in range(0, count, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            # The batch is copied in each step, as ember's fit does.
            loss = loss_fn(model(xs[idx].to(dev)), ys[idx].to(dev))
            loss.backward()
            opt.step()

    epoch(batch * 5)  # warm-up
    train = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        epoch(n)
        sync()
        train.append(n / (time.perf_counter() - t0))
    infer = []
    model.eval()
    with torch.no_grad():
        for _ in range(repeat):
            t0 = time.perf_counter()
            for i in range(0, len(xts), batch):
                torch.softmax(model(xts[i:i + batch].to(dev)), dim=1).cpu()
            infer.append(len(xts) / (time.perf_counter() - t0))
    return float(np.median(train)), float(np.median(infer)), torch.__version__


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=200, help="training steps per timed run")
    p.add_argument("--repeat", type=int, default=3, help="timed runs; the median is reported")
    p.add_argument("--rounds", type=int, default=1,
                   help="ember and PyTorch measured alternately this many times (a loaded machine's "
                        "slow phases then hit both); medians over rounds, ratios per round")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--test-images", type=int, default=10000, help="images for the inference timing")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="where both libraries run (cuda: ember built with CUDA, and a GPU)")
    args = p.parse_args(argv)
    x, y, xt, yt, source = load_data(args.steps * args.batch_size)
    xt, yt = xt[:args.test_images], yt[:args.test_images]
    print(f"data: {source}; device {args.device}; threads {args.threads}; batch {args.batch_size}; "
          f"{args.steps} training steps x {args.repeat} runs; inference over {len(xt)} images")
    import ember
    print(f"ember CPU variant: {ember.cpu_variant()}")
    ember_runs, torch_runs, version = [], [], None
    for _ in range(max(1, args.rounds)):
        ember_runs.append(bench_ember(x, y, xt, yt, args.batch_size, args.threads, args.steps,
                                      args.repeat, args.device))
        if not args.no_torch and version is not False:
            try:
                tr, inf, version = bench_torch(x, y, xt, yt, args.batch_size, args.threads, args.steps,
                                               args.repeat, args.device)
                torch_runs.append((tr, inf))
            except ImportError as e:
                print(f"PyTorch is not usable here ({e}): ember only.", file=sys.stderr)
                version = False
    med = lambda runs, i: float(np.median([r[i] for r in runs]))  # noqa: E731
    rows = [("ember", med(ember_runs, 0), med(ember_runs, 1))]
    if torch_runs:
        rows.append((f"PyTorch {version}", med(torch_runs, 0), med(torch_runs, 1)))
    print(f"{'library':22s} {'train img/s':>12s} {'s/epoch(60k)':>13s} {'infer img/s':>12s}")
    for name, tr, inf in rows:
        print(f"{name:22s} {tr:12.0f} {60000 / tr:13.1f} {inf:12.0f}")
    if torch_runs:
        rt = [e[0] / t[0] for e, t in zip(ember_runs, torch_runs)]
        ri = [e[1] / t[1] for e, t in zip(ember_runs, torch_runs)]
        print(f"ratio ember/PyTorch (median over {len(rt)} rounds): training {np.median(rt):.2f}x, "
              f"inference {np.median(ri):.2f}x")
    return rows


if __name__ == "__main__":
    main()
