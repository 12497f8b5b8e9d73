"""Recurrent layers (SimpleRNN, LSTM, GRU) and the Bidirectional wrapper,
Keras 3's arguments, defaults and weight layouts. Each layer's whole time
loop, forward and backward, is one C++ call (``ember.rnn_ops.rnn``)."""
import numpy as np

from .. import activations, ops, rnn_ops, utils
from ..engine import Tensor
from .base import Layer, _fraction, _positive_int, initialize
from .core import _options_config, _set_options

_ACTIVATIONS = ("tanh", "relu", "linear", "sigmoid", "hard_sigmoid")


def _activation_name(value, arg):
    if value is None:
        return "linear"
    if isinstance(value, str) and value in _ACTIVATIONS:
        return value
    name = value if isinstance(value, str) else getattr(value, "__name__", None)
    if not isinstance(value, str) and callable(value):
        try:
            name = activations.get(value)
        except ValueError:
            pass
    if name in _ACTIVATIONS:
        return name
    raise ValueError(f"Argument `{arg}` of a recurrent layer must be one of {', '.join(_ACTIVATIONS)}. "
                     f"Received: {arg}={value!r}")


class _RNN(Layer):
    """The common part: arguments, weights, masks, dropout and outputs."""
    _cell = None
    _gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, seed=None,
                 zero_output_for_mask=False, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if stateful:
            raise ValueError(f"{type(self).__name__}: `stateful=True` is not supported by ember; "
                             "pass the states with `initial_state` and `return_state=True` instead. "
                             "Received: stateful=True")
        self.units = _positive_int(units, "units")
        self.activation = _activation_name(activation, "activation")
        self.recurrent_activation = _activation_name(recurrent_activation, "recurrent_activation")
        self.use_bias = bool(use_bias)
        _set_options(self, kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                     bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                     recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                     kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                     bias_constraint=bias_constraint)
        self.dropout = _fraction(dropout, "dropout")
        self.recurrent_dropout = _fraction(recurrent_dropout, "recurrent_dropout")
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)  # accepted, ignored: the loop runs in C++ either way
        self.seed = seed
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self._calls = 0

    # ----- weights
    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (batch, timesteps, features). "
                             f"Received: {tuple(input_shape)}")
        if input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} needs a known number of features. "
                             f"Received: input shape {tuple(input_shape)}")
        gu = self._gates * self.units
        self.kernel = self.add_weight(shape=(input_shape[-1], gu), initializer=self.kernel_initializer,
                                      name="kernel", regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, gu), initializer=self.recurrent_initializer,
                                                name="recurrent_kernel", regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = self.add_weight(shape=self._bias_shape(), initializer=self._bias_initializer(), name="bias",
                                    regularizer=self.bias_regularizer,
                                    constraint=self.bias_constraint) if self.use_bias else None
        self.built = True

    @property
    def _state_count(self):
        return 2 if self._cell == "lstm" else 1

    def compute_output_shape(self, input_shape):
        n, t = input_shape[0], input_shape[1]
        out = (n, t, self.units) if self.return_sequences else (n, self.units)
        if self.return_state:
            return [out] + [(n, self.units)] * self._state_count
        return out

    def compute_mask(self, inputs, previous_mask):
        """As Keras: a returned sequence keeps the input's mask; a last
        output and the states have none."""
        out = previous_mask if self.return_sequences else None
        return [out] + [None] * self._state_count if self.return_state else out

    # ----- the call
    def _dropout_mask(self, shape, rate):
        """A per-sequence dropout mask of ones scaled by 1 / (1 - rate)."""
        if self.seed is None:
            seed = utils.next_seed()
        else:
            seed = int(self.seed) * 1000003 + self._calls
            self._calls += 1
        return ops.dropout_op(Tensor(np.ones(shape, np.float32)), rate, seed)

    def _extra_args(self):
        return {}

    def call(self, inputs, initial_state=None, mask=None, training=None):
        x = ops.convert_to_tensor(inputs)
        if x.ndim != 3:
            raise ValueError(f"{type(self).__name__} expects inputs of shape (batch, timesteps, features). "
                             f"Received: shape {x.shape}")
        if x.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{type(self).__name__} '{self.name}' was built for {self.kernel.shape[0]} features. "
                             f"Received: input shape {x.shape}")
        n = x.shape[0]
        if training and 0 < self.dropout < 1:
            x = ops.multiply(x, ops.reshape(self._dropout_mask((n, x.shape[2]), self.dropout),
                                            (n, 1, x.shape[2])))
        elif training and self.dropout >= 1:
            x = ops.multiply(x, 0.0)
        rmask = None
        if training and self.recurrent_dropout > 0:
            rmask = (np.zeros((n, self.units), np.float32) if self.recurrent_dropout >= 1
                     else self._dropout_mask((n, self.units), self.recurrent_dropout).value)
        if initial_state is not None and not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        if initial_state is not None:
            for s in initial_state:
                if tuple(s.shape) != (n, self.units):
                    raise ValueError(f"{type(self).__name__} '{self.name}': each initial state must have shape "
                                     f"({n}, {self.units}). Received: {tuple(s.shape)}")
        if mask is not None:
            mask = ops.convert_to_tensor(mask)
            if tuple(mask.shape) != tuple(x.shape[:2]):
                raise ValueError(f"{type(self).__name__} '{self.name}': `mask` must have shape {x.shape[:2]}. "
                                 f"Received: {tuple(mask.shape)}")
        seq, h, c = rnn_ops.rnn(x, self.kernel, self.recurrent_kernel, self.bias, initial_state, mask, rmask,
                                cell=self._cell, activation=self.activation,
                                recurrent_activation=self.recurrent_activation,
                                go_backwards=self.go_backwards, zero_output_for_mask=self.zero_output_for_mask,
                                return_sequences=self.return_sequences, **self._extra_args())
        out = seq
        if self.return_state:
            return [out, h] + ([c] if c is not None else [])
        return out

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "recurrent_activation": self.recurrent_activation, "use_bias": self.use_bias,
                **_options_config(self), "dropout": self.dropout,
                "recurrent_dropout": self.recurrent_dropout, "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll, "seed": self.seed,
                "zero_output_for_mask": self.zero_output_for_mask}


class SimpleRNN(_RNN):
    """A fully connected RNN: h = activation(x @ kernel + h @ recurrent_kernel + bias)."""
    _cell = "simple_rnn"
    _gates = 1

    def __init__(self, units, activation="tanh", **kwargs):
        if "recurrent_activation" in kwargs:
            raise TypeError("SimpleRNN got an unexpected keyword argument 'recurrent_activation'")
        super().__init__(units, activation=activation, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("recurrent_activation")
        return config


class LSTM(_RNN):
    """Long short-term memory (Hochreiter 1997), Keras 3's layout: gates i, f, c, o."""
    _cell = "lstm"
    _gates = 4

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        init, u = self.bias_initializer, self.units

        def forget_one(shape, dtype=None):
            return np.concatenate([initialize(init, (u,)), np.ones(u, np.float32), initialize(init, (2 * u,))])
        return forget_one

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRU(_RNN):
    """Gated recurrent unit, Keras 3's layout: gates z, r, h; ``reset_after``
    (the default) applies the reset gate after the recurrent product, with a
    bias of shape (2, 3 * units)."""
    _cell = "gru"
    _gates = 3

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _extra_args(self):
        return {"reset_after": self.reset_after}

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy of it backwards over the
    sequence and merges their outputs (``merge_mode``: 'concat', 'sum', 'mul',
    'ave' or None for a list of both)."""

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if not isinstance(layer, _RNN):
            raise ValueError("Bidirectional needs a recurrent layer (SimpleRNN, LSTM or GRU). "
                             f"Received: layer={layer!r}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Argument `merge_mode` must be one of {_MERGE_MODES}. Received: merge_mode={merge_mode!r}")
        super().__init__(**kwargs)
        config = layer.get_config()
        config["name"] = "forward_" + layer.name
        self.forward_layer = type(layer).from_config(config)
        self._custom_backward = backward_layer is not None
        if backward_layer is None:
            config = layer.get_config()
            config["name"] = "backward_" + layer.name
            config["go_backwards"] = not layer.go_backwards
            backward_layer = type(layer).from_config(config)
        elif not isinstance(backward_layer, _RNN):
            raise ValueError(f"`backward_layer` must be a recurrent layer. Received: {backward_layer!r}")
        self.backward_layer = backward_layer
        fl, bl = self.forward_layer, self.backward_layer
        for attr in ("return_sequences", "return_state"):
            if getattr(fl, attr) != getattr(bl, attr):
                raise ValueError(f"Bidirectional: the forward and backward layers must share `{attr}`. "
                                 f"Received: {getattr(fl, attr)} and {getattr(bl, attr)}")
        if fl.go_backwards == bl.go_backwards:
            raise ValueError("Bidirectional: `backward_layer` must run in the other direction "
                             f"(go_backwards={not fl.go_backwards}). Received: go_backwards={bl.go_backwards}")
        if merge_mode in ("sum", "mul", "ave") and fl.units != bl.units:
            raise ValueError(f"Bidirectional with merge_mode={merge_mode!r} needs layers with equal units. "
                             f"Received: {fl.units} and {bl.units}")
        # As Keras: a masked step outputs zeros when sequences are returned.
        fl.zero_output_for_mask = bl.zero_output_for_mask = fl.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = fl.return_sequences
        self.return_state = fl.return_state
        self._layer_config = {"class_name": type(layer).__name__, "config": layer.get_config()}
        self._backward_config = {"class_name": type(bl).__name__, "config": bl.get_config()}
        if weights is not None:
            self._initial_weights = weights

    def build(self, input_shape):
        for layer in (self.forward_layer, self.backward_layer):
            if not layer.built:
                layer.build(tuple(input_shape))
                layer._build_shape = tuple(input_shape)
                layer.built = True
        self.built = True
        if getattr(self, "_initial_weights", None) is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def compute_output_shape(self, input_shape):
        f = self.forward_layer.compute_output_shape(input_shape)
        b = self.backward_layer.compute_output_shape(input_shape)
        if self.return_state:
            f, fs = f[0], f[1:]
            b, bs = b[0], b[1:]
        if self.merge_mode == "concat":
            out = f[:-1] + (f[-1] + b[-1],)
        elif self.merge_mode is None:
            out = [f, b]
        else:
            out = f
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + list(fs) + list(bs)
        return out

    def call(self, inputs, initial_state=None, mask=None, training=None):
        fs = bs = None
        if initial_state is not None:
            states = list(initial_state)
            half = len(states) // 2
            fs, bs = states[:half], states[half:]
        y_f = self.forward_layer(inputs, initial_state=fs, mask=mask, training=training)
        y_b = self.backward_layer(inputs, initial_state=bs, mask=mask, training=training)
        states = []
        if self.return_state:
            states = list(y_f[1:]) + list(y_b[1:])
            y_f, y_b = y_f[0], y_b[0]
        if self.return_sequences:
            t = y_b.shape[1]
            y_b = ops.take(y_b, np.arange(t - 1, -1, -1), axis=1)
        if self.merge_mode == "concat":
            out = ops.concatenate([y_f, y_b], axis=-1)
        elif self.merge_mode == "sum":
            out = ops.add(y_f, y_b)
        elif self.merge_mode == "mul":
            out = ops.multiply(y_f, y_b)
        elif self.merge_mode == "ave":
            out = ops.multiply(ops.add(y_f, y_b), 0.5)
        else:
            out = [y_f, y_b]
        if self.return_state:
            return (out if isinstance(out, list) else [out]) + states
        return out

    def get_config(self):
        config = {**super().get_config(), "layer": self._layer_config, "merge_mode": self.merge_mode}
        if self._custom_backward:
            config["backward_layer"] = self._backward_config
        return config

    @classmethod
    def from_config(cls, config):
        from . import get
        config = dict(config)
        config.pop("dtype", None)
        spec = config.pop("layer")
        layer = get(spec["class_name"]).from_config(spec["config"])
        back = config.pop("backward_layer", None)
        if back is not None:
            back = get(back["class_name"]).from_config(back["config"])
        return cls(layer, backward_layer=back, **config)
