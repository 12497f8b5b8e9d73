"""Recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional) and their fused
kernels: forward and gradients against float64 references (NumPy from
Keras's equations, PyTorch autograd on the same equations, PyTorch's own
modules with converted weights, and Keras 3 where installed), determinism
across thread counts, bad input, saving."""
import os

import numpy as np
import pytest

import ember
from ember import _core, layers, rnn_ops

import reference
from conftest import rand

CELLS = {"lstm": 4, "gru": 3, "simple_rnn": 1}
LAYER = {"lstm": layers.LSTM, "gru": layers.GRU, "simple_rnn": layers.SimpleRNN}


def _weights(rng, cell, C, U, reset_after=True, use_bias=True):
    G = CELLS[cell]
    k = rand(rng, C, G * U, scale=0.5)
    rk = rand(rng, U, G * U, scale=0.5)
    b = None
    if use_bias:
        b = rand(rng, *((2, G * U) if cell == "gru" and reset_after else (G * U,)), scale=0.5)
    return k, rk, b


# Option sets: (reset_after, go_backwards, masked, initial state, recurrent mask, activation, recurrent_activation)
CASES = [
    (True, False, False, False, False, "tanh", "sigmoid"),
    (True, True, False, True, False, "tanh", "sigmoid"),
    (False, False, True, True, False, "tanh", "sigmoid"),
    (True, True, True, False, True, "tanh", "hard_sigmoid"),
    (False, True, True, True, True, "relu", "sigmoid"),
    (True, False, True, True, False, "linear", "sigmoid"),
]


def _case(rng, cell, case, N=3, T=6, C=4, U=5):
    ra, gb, masked, init, rd, act, ract = case
    x = rand(rng, N, T, C)
    k, rk, b = _weights(rng, cell, C, U, ra)
    h0 = rand(rng, N, U) if init else None
    c0 = rand(rng, N, U) if init and cell == "lstm" else None
    mask = None
    if masked:
        mask = (rng.random((N, T)) > 0.35).astype(np.float32)
        mask[0, :2] = 0  # leading masked steps
        mask[1, -1] = 0  # a masked last step
    rdmask = ((rng.random((N, U)) > 0.3) / 0.7).astype(np.float32) if rd else None
    flags = dict(activation=act, recurrent_activation=ract, reset_after=ra, go_backwards=gb)
    return x, k, rk, b, h0, c0, mask, rdmask, flags


def _unpack(out, cell, T):
    return out[:, :T], out[:, T], (out[:, T + 1] if cell == "lstm" else None)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("zero_output", [False, True])
def test_forward_matches_numpy_reference(rng, cell, case, zero_output):
    x, k, rk, b, h0, c0, mask, rdmask, flags = _case(rng, cell, case)
    out, _, _, _ = _core.rnn_forward(x, k, rk, b, h0, c0, mask, rdmask, cell=cell,
                                     zero_output_for_mask=zero_output, **flags)
    want = reference.rnn(x, k, rk, b, cell, h0, c0, mask, rdmask, zero_output_for_mask=zero_output, **flags)
    for got, ref in zip(_unpack(out, cell, x.shape[1]), want):
        if ref is not None:
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=2e-6)


# ---------------------------------------------------------------- gradients
torch = None


def _torch():
    global torch
    torch = pytest.importorskip("torch", reason="PyTorch gives the float64 gradient reference")
    return torch


class _TorchMath:
    @staticmethod
    def tanh(v):
        return torch.tanh(v)

    @staticmethod
    def sigmoid(v):
        return torch.sigmoid(v)

    @staticmethod
    def relu(v):
        return torch.relu(v)

    @staticmethod
    def hard_sigmoid(v):
        return torch.clamp((v + 3.0) / 6.0, 0.0, 1.0)

    @staticmethod
    def where(c, a, b):
        return torch.where(torch.as_tensor(c), a, b)

    @staticmethod
    def stack(values, axis):
        return torch.stack(values, dim=axis)

    @staticmethod
    def zeros(n, u, like):
        return torch.zeros((n, u), dtype=torch.float64)


def _ember_grads(cell, x, k, rk, b, h0, c0, mask, rdmask, seeds, flags, zero_output=False):
    """Gradients of sum(seed * output) over the outputs, final h and final c."""
    tensors = [ember.ops.convert_to_tensor(a) if a is not None else None for a in (x, k, rk, b, h0, c0)]
    with ember.GradientTape() as tape:
        for t in tensors:
            if t is not None:
                tape.watch(t)
        init = None if h0 is None else [tensors[4]] + ([tensors[5]] if cell == "lstm" else [])
        seq, h, c = rnn_ops.rnn(tensors[0], tensors[1], tensors[2], tensors[3], init, mask, rdmask, cell=cell,
                                zero_output_for_mask=zero_output, **flags)
        loss = ember.ops.sum(seq * seeds[0]) + ember.ops.sum(h * seeds[1])
        if c is not None:
            loss = loss + ember.ops.sum(c * seeds[2])
    present = [t for t in tensors if t is not None]
    grads = tape.gradient(loss, present)
    return [g.numpy() for g in grads]


def _torch_grads(cell, x, k, rk, b, h0, c0, mask, rdmask, seeds, flags, zero_output=False):
    _torch()
    leaves = [torch.tensor(a, dtype=torch.float64, requires_grad=True) if a is not None else None
              for a in (x, k, rk, b, h0, c0)]
    rd = None if rdmask is None else torch.tensor(rdmask, dtype=torch.float64)
    m = None if mask is None else torch.tensor(mask)
    seq, h, c = reference.rnn(*leaves[:4], cell, leaves[4], leaves[5], m, rd, zero_output_for_mask=zero_output,
                              F=_TorchMath, **flags)
    loss = (seq * torch.tensor(seeds[0], dtype=torch.float64)).sum() + (h * torch.tensor(seeds[1], dtype=torch.float64)).sum()
    if c is not None:
        loss = loss + (c * torch.tensor(seeds[2], dtype=torch.float64)).sum()
    present = [t for t in leaves if t is not None]
    return [g.numpy() for g in torch.autograd.grad(loss, present)]


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("case", CASES)
def test_gradients_match_torch_autograd_of_keras_equations(rng, cell, case):
    _torch()
    x, k, rk, b, h0, c0, mask, rdmask, flags = _case(rng, cell, case)
    N, T, _ = x.shape
    U = rk.shape[0]
    seeds = (rand(rng, N, T, U), rand(rng, N, U), rand(rng, N, U))
    got = _ember_grads(cell, x, k, rk, b, h0, c0, mask, rdmask, seeds, flags, zero_output=True)
    want = _torch_grads(cell, x, k, rk, b, h0, c0, mask, rdmask, seeds, flags, zero_output=True)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5 * max(1.0, np.abs(w).max()))


def _to_torch_weights(cell, k, rk, b, U):
    """Keras layouts -> PyTorch's (W_ih, W_hh, b_ih, b_hh), gates reordered."""
    if cell == "lstm":  # Keras i, f, c, o == torch i, f, g, o
        order = [0, 1, 2, 3]
    elif cell == "gru":  # Keras z, r, h -> torch r, z, n
        order = [1, 0, 2]
    else:
        order = [0]

    def cols(a):
        return np.concatenate([a[..., g * U:(g + 1) * U] for g in order], axis=-1)
    w_ih, w_hh = cols(k).T, cols(rk).T
    if cell == "gru":
        b_ih, b_hh = cols(b[0]), cols(b[1])
    else:
        b_ih, b_hh = cols(b), np.zeros_like(b)
    return w_ih, w_hh, b_ih, b_hh


@pytest.mark.parametrize("cell", list(CELLS))
def test_layers_match_torch_modules(rng, cell):
    _torch()
    N, T, C, U = 4, 7, 5, 6
    layer = LAYER[cell](U, return_sequences=True, return_state=True)
    x = rand(rng, N, T, C)
    layer(x)
    k, rk, b = _weights(rng, cell, C, U)
    layer.set_weights([k, rk, b])
    mod = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[cell](C, U, batch_first=True)
    mod = mod.double()
    with torch.no_grad():
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                               _to_torch_weights(cell, k, rk, b, U)):
            getattr(mod, name).copy_(torch.tensor(value))
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y, state = mod(xt)
    h = state[0][0] if cell == "lstm" else state[0]
    seed = rand(rng, N, T, U)
    (y * torch.tensor(seed, dtype=torch.float64)).sum().backward()

    xe = ember.ops.convert_to_tensor(x)
    with ember.GradientTape() as tape:
        tape.watch(xe)
        outs = layer(xe)
        loss = ember.ops.sum(outs[0] * seed)
    gx, gk = tape.gradient(loss, [xe, layer.kernel])
    np.testing.assert_allclose(outs[0].numpy(), y.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(outs[1].numpy(), h.detach().numpy(), rtol=1e-5, atol=1e-5)
    if cell == "lstm":
        np.testing.assert_allclose(outs[2].numpy(), state[1][0].detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    gk_torch = _to_torch_weights(cell, gk.numpy(), rk, b, U)[0]
    np.testing.assert_allclose(gk_torch, mod.weight_ih_l0.grad.numpy(), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- determinism
@pytest.mark.parametrize("cell", list(CELLS))
def test_bitwise_identical_across_thread_counts(rng, cell, threads):
    x, k, rk, b, h0, c0, mask, rdmask, flags = _case(rng, cell, CASES[4], N=37, T=9, C=19, U=33)
    dout = rand(rng, 37, 9 + (2 if cell == "lstm" else 1), 33)
    results = []
    for n in (1, 2):
        ember.set_num_threads(n)
        fwd = _core.rnn_forward(x, k, rk, b, h0, c0, mask, rdmask, cell=cell, **flags)
        bwd = _core.rnn_backward(dout, *fwd[1:], x, k, rk, b, h0, c0, mask, rdmask, cell=cell, **flags)
        results.append([np.asarray(a) for a in list(fwd) + list(bwd) if a is not None])
    for a, b_ in zip(*results):
        np.testing.assert_array_equal(a, b_)



# ---------------------------------------------------------------- the CPU's fast paths
# Sizes that take the vectorized LSTM rows (U = 20: two blocks of 8 units and
# a scalar tail), the step products in blocks of 24 rows read in place (GU a
# multiple of 16) and a split of the batch over threads.
FAST = dict(N=53, T=5, C=6, U=20)


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("case", [CASES[0], CASES[2]])
def test_fast_paths_match_references(rng, cell, case, threads):
    _torch()
    ember.set_num_threads(2)
    x, k, rk, b, h0, c0, mask, rdmask, flags = _case(rng, cell, case, **FAST)
    out, _, _, _ = _core.rnn_forward(x, k, rk, b, h0, c0, mask, rdmask, cell=cell, **flags)
    want = reference.rnn(x, k, rk, b, cell, h0, c0, mask, rdmask, **flags)
    for got, ref in zip(_unpack(out, cell, x.shape[1]), want):
        if ref is not None:
            np.testing.assert_allclose(got, ref, rtol=1e-5, atol=2e-6)
    N, T, U = FAST["N"], FAST["T"], FAST["U"]
    seeds = (rand(rng, N, T, U), rand(rng, N, U), rand(rng, N, U))
    got = _ember_grads(cell, x, k, rk, b, h0, c0, mask, rdmask, seeds, flags)
    want = _torch_grads(cell, x, k, rk, b, h0, c0, mask, rdmask, seeds, flags)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5 * max(1.0, np.abs(w).max()))


@pytest.mark.parametrize("cell", list(CELLS))
def test_fast_paths_bitwise_identical_across_thread_counts(rng, cell, threads):
    x, k, rk, b, h0, c0, mask, rdmask, flags = _case(rng, cell, CASES[0], **FAST)
    dout = rand(rng, FAST["N"], FAST["T"] + (2 if cell == "lstm" else 1), FAST["U"])
    results = []
    for n in (1, 2, 3):
        ember.set_num_threads(n)
        fwd = _core.rnn_forward(x, k, rk, b, h0, c0, mask, rdmask, cell=cell, **flags)
        bwd = _core.rnn_backward(dout, *fwd[1:], x, k, rk, b, h0, c0, mask, rdmask, cell=cell, **flags)
        results.append([np.asarray(a) for a in list(fwd) + list(bwd) if a is not None])
    for other in results[1:]:
        for a, b_ in zip(results[0], other):
            np.testing.assert_array_equal(a, b_)


def test_lstm_gate_activations_accuracy():
    """With a zero kernel and state the saved gates are the activations of the
    bias itself: sigmoid and tanh (the CPU's own exp) within 2e-6 relative."""
    U = 512
    vals = np.concatenate([np.linspace(-40, 40, 4096), np.linspace(-0.5, 0.5, 2048)]).astype(np.float32)
    x, k, rk = np.zeros((1, 1, 1), np.float32), np.zeros((1, 4 * U), np.float32), np.zeros((U, 4 * U), np.float32)
    for i in range(0, len(vals), U):
        v = vals[i:i + U]
        g = _core.rnn_forward(x, k, rk, np.tile(v, 4))[1][0, 0].astype(np.float64)
        v64 = v.astype(np.float64)
        sig, th = 1.0 / (1.0 + np.exp(-v64)), np.tanh(v64)
        for got in (g[:U], g[U:2 * U], g[3 * U:]):
            np.testing.assert_allclose(got, sig, rtol=2e-6, atol=0)
        np.testing.assert_allclose(g[2 * U:3 * U], th, rtol=2e-6, atol=0)


# ---------------------------------------------------------------- layers
def test_lstm_unit_forget_bias_and_orthogonal_recurrent_kernel():
    layer = layers.LSTM(8)
    layer(np.zeros((2, 3, 5), np.float32))
    bias = layer.bias.numpy()
    np.testing.assert_array_equal(bias[8:16], 1.0)
    np.testing.assert_array_equal(bias[:8], 0.0)
    np.testing.assert_array_equal(bias[16:], 0.0)
    rk = layer.recurrent_kernel.numpy()  # (8, 32): orthonormal rows
    np.testing.assert_allclose(rk @ rk.T, np.eye(8), atol=1e-5)


def test_mask_matches_reference_through_the_layer(rng):
    layer = layers.GRU(4, return_sequences=True)
    x = rand(rng, 3, 5, 2)
    mask = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 1, 1, 1, 1]], bool)
    y = layer(x, mask=mask).numpy()
    k, rk, b = layer.get_weights()
    want = reference.rnn(x, k, rk, b, "gru", mask=mask.astype(np.float32))[0]
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_dropout_and_recurrent_dropout_in_training_only(rng):
    layer = layers.LSTM(6, dropout=0.3, recurrent_dropout=0.4, seed=3)
    x = rand(rng, 8, 5, 4)
    infer = layer(x, training=False).numpy()
    plain = layers.LSTM(6)
    plain(x)
    plain.set_weights(layer.get_weights())
    np.testing.assert_array_equal(infer, plain(x).numpy())
    train = layer(x, training=True).numpy()
    assert not np.allclose(train, infer)
    # Training gradients exist for every weight.
    with ember.GradientTape() as tape:
        loss = ember.ops.sum(layer(x, training=True))
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(np.isfinite(g.numpy()).all() and np.abs(g.numpy()).sum() > 0 for g in grads)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_matches_reference(rng, merge_mode):
    x = rand(rng, 3, 6, 4)
    mask = np.ones((3, 6), np.float32)
    mask[0, 4:] = 0
    bi = layers.Bidirectional(layers.LSTM(5, return_sequences=True), merge_mode=merge_mode)
    out = bi(x, mask=mask)
    kf, rkf, bf, kb, rkb, bb = bi.get_weights()
    f = reference.rnn(x, kf, rkf, bf, "lstm", mask=mask, zero_output_for_mask=True)[0]
    b = reference.rnn(x, kb, rkb, bb, "lstm", mask=mask, go_backwards=True, zero_output_for_mask=True)[0][:, ::-1]
    want = {"concat": lambda: np.concatenate([f, b], -1), "sum": lambda: f + b, "mul": lambda: f * b,
            "ave": lambda: (f + b) / 2, None: lambda: None}[merge_mode]()
    if merge_mode is None:
        np.testing.assert_allclose(out[0].numpy(), f, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out[1].numpy(), b, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)


def test_bidirectional_return_state_and_backward_layer(rng):
    x = rand(rng, 2, 4, 3)
    bi = layers.Bidirectional(layers.GRU(3, return_state=True),
                              backward_layer=layers.GRU(3, return_state=True, go_backwards=True))
    out, hf, hb = bi(x)
    assert out.shape == (2, 6) and hf.shape == (2, 3) and hb.shape == (2, 3)
    np.testing.assert_array_equal(out.numpy()[:, :3], hf.numpy())
    cfg = bi.get_config()
    again = layers.Bidirectional.from_config(cfg)
    assert again.backward_layer.go_backwards


@pytest.mark.parametrize("cls", [layers.SimpleRNN, layers.LSTM, layers.GRU])
def test_get_config_round_trip(cls):
    layer = cls(7, return_sequences=True, go_backwards=True, dropout=0.1, activation="relu")
    config = layer.get_config()
    assert config["units"] == 7 and config["go_backwards"] and config["activation"] == "relu"
    again = cls.from_config(config)
    assert again.get_config() == config


def test_model_with_recurrent_layers_saves_and_loads(tmp_path, rng):
    model = ember.models.Sequential([layers.Input((6, 3)), layers.Bidirectional(layers.GRU(4, return_sequences=True)),
                                     layers.LSTM(5), layers.Dense(2)])
    x = rand(rng, 4, 6, 3)
    y = model.predict(x, verbose=0)
    path = str(tmp_path / "m.ember")
    model.save(path)
    loaded = ember.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), y)


def test_lstm_trains_in_a_sequential_model(rng):
    # The target is the sign of the sum of the first feature over time.
    x = rand(rng, 256, 10, 3)
    y = (x[:, :, 0].sum(1) > 0).astype(np.float32)[:, None]
    model = ember.models.Sequential([layers.Input((10, 3)), layers.LSTM(16), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=ember.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=8, batch_size=32, verbose=0).history
    assert hist["loss"][-1] < 0.6 * hist["loss"][0]
    assert hist["accuracy"][-1] > 0.85


def test_functional_model_with_initial_state_and_return_state(rng):
    inp = ember.Input((5, 3))
    seq, h, c = layers.LSTM(4, return_sequences=True, return_state=True)(inp)
    out = layers.GRU(4)(seq, initial_state=[h])
    model = ember.Model(inp, [out, c])
    a, b = model.predict(rand(rng, 2, 5, 3), verbose=0)
    assert a.shape == (2, 4) and b.shape == (2, 4)


# ---------------------------------------------------------------- bad input
def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="stateful"):
        layers.LSTM(4, stateful=True)
    with pytest.raises(ValueError, match="activation"):
        layers.GRU(4, activation="softmax")
    with pytest.raises(ValueError, match="dropout"):
        layers.SimpleRNN(4, dropout=1.5)
    with pytest.raises(ValueError, match="merge_mode"):
        layers.Bidirectional(layers.LSTM(3), merge_mode="max")
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(3))
    with pytest.raises(ValueError, match="timesteps"):
        layers.LSTM(3)(np.zeros((2, 3), np.float32))
    layer = layers.LSTM(3)
    layer(np.zeros((2, 4, 5), np.float32))
    with pytest.raises(ValueError, match="5 features"):
        layer(np.zeros((2, 4, 6), np.float32))
    with pytest.raises(ValueError, match="initial state"):
        layer(np.zeros((2, 4, 5), np.float32), initial_state=[np.zeros((2, 4)), np.zeros((2, 4))])
    with pytest.raises(ValueError, match="mask"):
        layer(np.zeros((2, 4, 5), np.float32), mask=np.ones((2, 5), bool))


def test_kernel_checks_shapes(rng):
    x = rand(rng, 2, 3, 4)
    k, rk, b = _weights(rng, "lstm", 4, 5)
    with pytest.raises(ValueError, match="recurrent_kernel"):
        _core.rnn_forward(x, k, rk[:, :-1], b)
    with pytest.raises(ValueError, match="bias"):
        _core.rnn_forward(x, k, rk, b[:-1])
    with pytest.raises(ValueError, match="features"):
        _core.rnn_forward(rand(rng, 2, 3, 5), k, rk, b)
    with pytest.raises(ValueError, match="time step"):
        _core.rnn_forward(rand(rng, 2, 0, 4), k, rk, b)
    with pytest.raises(ValueError, match="cell"):
        _core.rnn_forward(x, k, rk, b, cell="elman")
    with pytest.raises(ValueError, match="recurrent_activation"):
        _core.rnn_forward(x, k, rk, b, recurrent_activation="softmax")
    with pytest.raises(ValueError, match="mask"):
        _core.rnn_forward(x, k, rk, b, mask=np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="c0"):
        _core.rnn_forward(x, k[:, :15], rk[:, :15], b[:15], c0=np.zeros((2, 5), np.float32), cell="gru",
                          reset_after=False)
    with pytest.raises(TypeError):
        _core.rnn_forward(x, "kernel", rk, b)


# ---------------------------------------------------------------- Keras 3
def _keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")


@pytest.mark.parametrize("name,kwargs", [("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
                                         ("SimpleRNN", {}), ("LSTM", {"go_backwards": True}),
                                         ("GRU", {"recurrent_activation": "hard_sigmoid", "activation": "relu"})])
def test_matches_keras(rng, name, kwargs):
    keras = _keras()
    x = rand(rng, 3, 6, 4)
    mask = np.ones((3, 6), bool)
    mask[0, 3:] = False
    mask[2, :2] = False
    ours = getattr(layers, name)(5, return_sequences=True, return_state=True, **kwargs)
    theirs = getattr(keras.layers, name)(5, return_sequences=True, return_state=True, **kwargs)
    ours(x)
    theirs(x)
    weights = [w + rand(rng, *w.shape, scale=0.3) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    for m in (None, mask):
        got = ours(x, mask=m)
        want = theirs(x, mask=m)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.numpy(), np.asarray(w), rtol=1e-5, atol=2e-6)


def test_bidirectional_matches_keras(rng):
    keras = _keras()
    x = rand(rng, 3, 5, 4)
    mask = np.ones((3, 5), bool)
    mask[1, 3:] = False
    ours = layers.Bidirectional(layers.LSTM(4, return_sequences=True))
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))
    ours(x)
    theirs(x)
    weights = [w + rand(rng, *w.shape, scale=0.3) for w in ours.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    np.testing.assert_allclose(ours(x, mask=mask).numpy(), np.asarray(theirs(x, mask=mask)), rtol=1e-5, atol=2e-6)


# ---------------------------------------------------------------- the CUDA kernels
gpu = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                         reason="no CUDA device, or ember built without CUDA")


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("case", [CASES[1], CASES[3], CASES[4]])
def test_cuda_matches_cpu_and_reference(rng, cell, case):
    x, k, rk, b, h0, c0, mask, rdmask, flags = _case(rng, cell, case, N=3, T=4, C=3, U=4)
    dev = _core.to_device
    args = [x, k, rk, b, h0, c0, mask, rdmask]
    dargs = [None if a is None else dev(a) for a in args]
    fwd = _core.rnn_forward(*args, cell=cell, **flags)
    dfwd = _core.rnn_forward(*dargs, cell=cell, **flags)
    for a, d in zip(fwd, dfwd):
        np.testing.assert_allclose(np.asarray(d.numpy()), a, rtol=1e-5, atol=1e-6)
    want = reference.rnn(x, k, rk, b, cell, h0, c0, mask, rdmask, **flags)
    np.testing.assert_allclose(dfwd[0].numpy()[:, :4], want[0], rtol=1e-5, atol=2e-6)
    dout = rand(rng, *fwd[0].shape)
    bwd = _core.rnn_backward(dout, *fwd[1:], *args, cell=cell, **flags)
    dbwd = _core.rnn_backward(dev(dout), *dfwd[1:], *dargs, cell=cell, **flags)
    for a, d in zip(bwd, dbwd):
        if a is None:
            assert d is None
        else:
            np.testing.assert_allclose(d.numpy(), a, rtol=1e-4, atol=1e-5)
