"""LSTM speed: ember's fused recurrent kernels beside PyTorch's CPU LSTM,
and beside the time its GEMMs alone take at ember's GEMM rate.

    python bench/rnn.py [--threads 2] [--repeat 7]

1. LSTM(128) over x (64, 50, 32), forward + backward (the gradients of x,
   the weights and the bias), ember (_core.rnn_forward/rnn_backward, and the
   layer under a GradientTape) vs torch.nn.LSTM (same threads).
2. The same GEMMs alone through ember's GEMM (input projection, 50 recurrent
   products forward and 50 backward, dx, dkernel, drecurrent_kernel).
3. The IMDB-style model (Embedding 20000x128 as a take on a weight, LSTM
   128, Dense 1 sigmoid, binary cross-entropy, Adam): one training step on a
   batch of 32 sequences of 80 tokens, ember's train_on_batch vs PyTorch.
Each is timed in alternating blocks (ember, PyTorch, ...): medians.
"""
import argparse
import statistics
import time

import numpy as np

import ember
from ember import _core, layers, ops


def block(fn, seconds=0.3):
    fn()
    times, start = [], time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 3:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def lstm_fns(N=64, T=50, C=32, U=128):
    import torch
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, T, C), dtype=np.float32)
    k = (rng.standard_normal((C, 4 * U)) * 0.1).astype(np.float32)
    rk = (rng.standard_normal((U, 4 * U)) * 0.1).astype(np.float32)
    b = np.zeros(4 * U, np.float32)
    dout = rng.standard_normal((N, T + 2, U), dtype=np.float32)

    def ember_kernel():
        out, g, hs, aux = _core.rnn_forward(x, k, rk, b)
        _core.rnn_backward(dout, g, hs, aux, x, k, rk, b)

    layer = layers.LSTM(U, return_sequences=True)
    layer(x[:1])
    xt_e = ember.ops.convert_to_tensor(x)
    seed = dout[:, :T]

    def ember_layer():
        with ember.GradientTape() as tape:
            tape.watch(xt_e)
            loss = ops.sum(layer(xt_e) * seed)
        tape.gradient(loss, [xt_e] + layer.trainable_weights)

    mod = torch.nn.LSTM(C, U, batch_first=True)
    xt = torch.tensor(x, requires_grad=True)
    st = torch.tensor(seed)

    def torch_lstm():
        mod.zero_grad()
        xt.grad = None
        y, _ = mod(xt)
        (y * st).sum().backward()

    # The GEMMs of one forward + backward, same shapes and transposes.
    G = 4 * U
    a_x = x.reshape(N * T, C)
    h = rng.standard_normal((N, U), dtype=np.float32)
    dz = rng.standard_normal((N * T, G), dtype=np.float32)
    dzs = dz[:N]
    hp = rng.standard_normal((N * T, U), dtype=np.float32)

    def gemms():
        _core.matmul(a_x, k)
        for _ in range(T):
            _core.matmul(h, rk)
        for _ in range(T):
            _core.matmul(dzs, rk, transpose_b=True)
        _core.matmul(dz, k, transpose_b=True)
        _core.matmul(a_x, dz, transpose_a=True)
        _core.matmul(hp, dz, transpose_a=True)
    flops = 2.0 * (N * T * C * G * 3 + 2 * T * N * U * G + U * G * N * T)
    return ember_kernel, ember_layer, torch_lstm, gemms, flops


def imdb_fns(vocab=20000, dim=128, units=128, batch=32, steps=80):
    import torch
    rng = np.random.default_rng(1)
    ids = rng.integers(0, vocab, (batch, steps))
    y = rng.integers(0, 2, (batch, 1)).astype(np.float32)

    class Embed(layers.Layer):  # Embedding as a take on a weight
        def build(self, input_shape):
            self.embeddings = self.add_weight(shape=(vocab, dim), initializer="random_uniform", name="embeddings")

        def call(self, inputs):
            return ops.take(self.embeddings, inputs, axis=0)

        def compute_output_shape(self, input_shape):
            return tuple(input_shape) + (dim,)

    model = ember.models.Sequential([layers.Input((steps,), dtype="int32"), Embed(), layers.LSTM(units),
                                     layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    ids32 = ids.astype(np.int32)

    def ember_step():
        model.train_on_batch(ids32, y)

    class TorchModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(vocab, dim)
            self.lstm = torch.nn.LSTM(dim, units, batch_first=True)
            self.fc = torch.nn.Linear(units, 1)

        def forward(self, t):
            out, _ = self.lstm(self.emb(t))
            return torch.sigmoid(self.fc(out[:, -1]))

    tm = TorchModel()
    opt = torch.optim.Adam(tm.parameters(), 1e-3)
    ti, ty = torch.tensor(ids), torch.tensor(y)
    lossf = torch.nn.BCELoss()

    def torch_step():
        opt.zero_grad()
        lossf(tm(ti), ty).backward()
        opt.step()
    return ember_step, torch_step


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    ember.set_num_threads(args.threads)
    ek, el, tl, gm, flops = lstm_fns()
    rows = {"ember kernels": [], "ember layer+tape": [], "torch LSTM": [], "GEMMs alone": []}
    for _ in range(args.repeat):
        for name, fn in zip(rows, (ek, el, tl, gm)):
            rows[name].append(block(fn))
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"LSTM(128), x (64, 50, 32), forward + backward, {args.threads} threads; "
          f"{flops / 1e9:.2f} GFLOP in GEMMs")
    for name, t in med.items():
        print(f"  {name:18s} {t * 1e3:8.2f} ms  ({flops / t / 1e9:6.1f} GFLOP/s)")
    print(f"  torch / ember kernels: {med['torch LSTM'] / med['ember kernels']:.2f}x;"
          f"  torch / ember layer: {med['torch LSTM'] / med['ember layer+tape']:.2f}x;"
          f"  ember kernels / GEMMs alone: {med['ember kernels'] / med['GEMMs alone']:.2f}x")
    es, ts = imdb_fns()
    e_t, t_t = [], []
    for _ in range(args.repeat):
        e_t.append(block(es))
        t_t.append(block(ts))
    me, mt = statistics.median(e_t), statistics.median(t_t)
    print(f"IMDB-style training step (Embedding 20000x128, LSTM 128, Dense 1; batch 32, T 80):")
    print(f"  ember {me * 1e3:8.2f} ms   torch {mt * 1e3:8.2f} ms   torch / ember: {mt / me:.2f}x")


if __name__ == "__main__":
    main()
