"""Recurrent ops: a whole SimpleRNN, LSTM or GRU layer over a sequence as
one C++ call (``_core.rnn_forward``: the time loop runs in C++ on the CPU or
the GPU), with backward through time as one call too. Used by
``ember.layers.SimpleRNN``/``LSTM``/``GRU``; Keras 3's weight layouts."""
import numpy as np

from . import _core, cuda, ops
from .engine import Tensor, record

__all__ = ["rnn"]

_CELLS = ("simple_rnn", "lstm", "gru")


def _raw_mask(mask, value):
    """A float32 (N, T) or (N, U) array on ``value``'s device, or None."""
    if mask is None:
        return None
    m = mask.value if isinstance(mask, Tensor) else np.asarray(mask, dtype=np.float32)
    if not cuda.is_device_array(m):
        m = np.ascontiguousarray(m, dtype=np.float32)
        if cuda.is_device_array(value):
            m = _core.to_device(m)
    return m


def rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None, mask=None, recurrent_mask=None,
        cell="lstm", activation="tanh", recurrent_activation="sigmoid", reset_after=True,
        go_backwards=False, zero_output_for_mask=False, return_sequences=True):
    """Runs a recurrent layer over ``x`` (N, T, C).

    ``initial_state`` is None or a list: [h0] ([h0, c0] for LSTM), each
    (N, U). ``mask`` (N, T): a step whose entry is 0 keeps the state and
    outputs the previous output (0 with ``zero_output_for_mask``).
    ``recurrent_mask`` (N, U) multiplies h before each recurrent product
    (recurrent dropout: one mask per sequence). Returns (outputs (N, T, U) in
    processing order, or with ``return_sequences=False`` only the last step's
    output (N, U), final h (N, U), final c (N, U) or None)."""
    if cell not in _CELLS:
        raise ValueError(f"Argument `cell` must be one of {_CELLS}. Received: cell={cell!r}")
    x = ops.convert_to_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"A recurrent layer expects inputs of shape (batch, timesteps, features). "
                         f"Received: shape {x.shape}")
    states = list(initial_state) if initial_state is not None else []
    want = 2 if cell == "lstm" else 1
    if states and len(states) != want:
        raise ValueError(f"`initial_state` of a {cell} layer must hold {want} tensor(s). "
                         f"Received: {len(states)}")
    states = [ops.convert_to_tensor(s) for s in states] + [None] * (want - len(states))
    h0 = states[0]
    c0 = states[1] if cell == "lstm" else None
    m = _raw_mask(mask, x.value)
    rm = _raw_mask(recurrent_mask, x.value)
    flags = dict(cell=cell, activation=activation, recurrent_activation=recurrent_activation,
                 reset_after=bool(reset_after), go_backwards=bool(go_backwards),
                 zero_output_for_mask=bool(zero_output_for_mask))
    xv, kv, rkv = x.value, kernel.value, recurrent_kernel.value
    bv = None if bias is None else bias.value
    h0v = None if h0 is None else h0.value
    c0v = None if c0 is None else c0.value
    out, gates, hs, aux = _core.rnn_forward(xv, kv, rkv, bv, h0v, c0v, m, rm, **flags)

    def backward(dout, needs):
        return _core.rnn_backward(dout, gates, hs, aux, xv, kv, rkv, bv, h0v, c0v, m, rm, **flags)

    packed = record(out, (x, kernel, recurrent_kernel, bias, h0, c0), backward, "rnn")
    n, t, u = x.shape[0], x.shape[1], recurrent_kernel.shape[0]
    if return_sequences:
        seq = ops.slice(packed, [0, 0, 0], [n, t, u])
    else:  # straight from the packed output: one slice (and its gradient) fewer
        seq = ops.reshape(ops.slice(packed, [0, t - 1, 0], [n, 1, u]), (n, u))
    h = ops.reshape(ops.slice(packed, [0, t, 0], [n, 1, u]), (n, u))
    c = ops.reshape(ops.slice(packed, [0, t + 1, 0], [n, 1, u]), (n, u)) if cell == "lstm" else None
    return seq, h, c

