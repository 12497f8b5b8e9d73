"""The graph engine: tensors with automatic gradients (a tape).

A ``Tensor`` wraps a value computed in C++: a float32 NumPy array on the
CPU, or a ``DeviceArray`` on the GPU (integer NumPy arrays also pass through,
for labels and indices). Every operation in ``ember.ops`` computes its value
with one ``_core`` call and, while a ``GradientTape`` is recording and one of
its inputs is watched, records a ``Node``: the inputs and a backward function
that maps the output gradient to input gradients. ``GradientTape.gradient``
walks the nodes in reverse topological order; a value used several times
receives the sum of its gradients, added in that fixed order, so gradients are
bitwise reproducible. Gradients are raw arrays (no second derivatives).

Fusion is decided here, in one place, from the recorded graph
(``_plan_fusion``), never by layers flagging their neighbours.
"""
import numpy as np

from . import _core, cuda

# The small-op kernels (elementwise, reductions, shape ops): C++ on the CPU,
# CUDA on the GPU, chosen by the arguments' device.
K = _core

__all__ = ["Tensor", "Variable", "GradientTape", "convert_to_tensor", "is_tensor"]

_tapes = []  # the tapes recording now, innermost last
_tape_ids = iter(range(1, 1 << 62))  # serial numbers: id() of a freed tape can be reused


def _float32(value):
    if cuda.is_device_array(value):
        return value
    return np.asarray(value, dtype=np.float32, order="C")


class Node:
    """How a tensor was computed: ``backward(dy, needs)`` returns one
    gradient (or None) per input; ``needs[i]`` says whether input i wants
    one. ``kind`` names the op; ``fuse`` holds what the fusion plan may use.
    ``tapes`` are the ids of the tapes that recorded it; ``versions`` the
    versions of the variables among the inputs when it was recorded."""
    __slots__ = ("inputs", "backward", "kind", "fuse", "tapes", "versions")

    def __init__(self, inputs, backward, kind, fuse, tapes, versions):
        self.inputs = inputs
        self.backward = backward
        self.kind = kind
        self.fuse = fuse
        self.tapes = tapes
        self.versions = versions


class Tensor:
    """An eager tensor. ``numpy()`` (or ``np.asarray``) gives its value on
    the host. Python operators map to ``ember.ops``."""
    __slots__ = ("value", "_node", "_dtype", "_logits", "_keras_mask", "__weakref__")
    __array_priority__ = 100  # ndarray <op> Tensor defers to Tensor

    def __init__(self, value, dtype=None, node=None):
        self.value = value
        self._node = node
        self._dtype = dtype
        self._logits = None  # set by softmax: its input, for exact cross-entropy
        self._keras_mask = None  # (N, T) bool tensor set by a masking layer (Embedding, Masking)

    # ----- properties
    @property
    def shape(self):
        return tuple(self.value.shape)

    @property
    def ndim(self):
        return len(self.value.shape)

    @property
    def dtype(self):
        # Values are float32 (the engine's one storage type); integer and
        # bool tensors carry their logical dtype in _dtype.
        return self._dtype or "float32"

    @property
    def device(self):
        return "cuda" if cuda.is_device_array(self.value) else "cpu"

    def numpy(self):
        value = np.asarray(self.value)
        if self._dtype is not None:
            value = value.astype(self._dtype)
        return value

    def __array__(self, dtype=None, copy=None):
        value = self.numpy()
        return value if dtype is None else value.astype(dtype)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __float__(self):
        return float(self.numpy())

    def __int__(self):
        return int(self.numpy())

    def __bool__(self):
        return bool(self.numpy())

    def __index__(self):
        return int(self.numpy())

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        return f"<ember.Tensor shape={self.shape} dtype={self.dtype}\n{self.numpy()!r}>"

    # Python operators: defined in ember.ops (see _install_operators there).


class Variable(Tensor):
    """A weight: a tensor whose value optimizers update in place, and which a
    ``GradientTape`` watches when it is trainable."""
    __slots__ = ("name", "trainable", "path", "_version", "constraint")

    def __init__(self, initializer=None, shape=None, dtype=None, trainable=True, name=None,
                 value=None):
        if value is None:
            value = initializer
        if callable(value):
            if shape is None:
                raise ValueError("A Variable made from an initializer needs a `shape`.")
            value = value(tuple(shape), dtype=dtype or "float32")
        if isinstance(value, Tensor):
            value = value.value
        super().__init__(_float32(value))
        if shape is not None and tuple(shape) != self.shape:
            raise ValueError(f"Variable value has shape {self.shape}; expected shape {tuple(shape)}")
        self.name = name or "variable"
        self.path = self.name
        self.trainable = bool(trainable)
        self._version = 0  # bumped by every in-place update
        self.constraint = None  # a callable the optimizer applies after each update (Keras 3)

    def numpy(self):
        """A host copy of the value (later updates do not change it)."""
        return np.array(self.value, dtype=np.float32, copy=True)

    def assign(self, value):
        if isinstance(value, Tensor):
            value = value.value
        if cuda.is_device_array(value):
            value = np.asarray(value)
        value = np.asarray(value, dtype=np.float32, order="C")
        if value.shape != self.shape:
            raise ValueError(f"Cannot assign to variable '{self.name}': expected shape "
                             f"{self.shape}. Received: {value.shape}")
        if cuda.is_device_array(self.value):
            self.value.copy_from(value)
        else:
            self.value[...] = value
        self._version += 1
        return self

    def assign_add(self, delta):
        return self.assign(self.numpy() + np.asarray(delta, np.float32))

    def assign_sub(self, delta):
        return self.assign(self.numpy() - np.asarray(delta, np.float32))

    def to(self, device):
        self.value = cuda.place(self.value, device)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype=float32>"


def any_symbolic(values):
    """Whether a KerasTensor is among ``values`` or inside its lists, tuples
    and dicts (one level or more): the test that sends a layer call or an op
    to the functional API."""
    for v in values:
        if isinstance(v, KerasTensor):
            return True
        if isinstance(v, (list, tuple)):
            if any_symbolic(v):
                return True
        elif isinstance(v, dict):
            if any_symbolic(v.values()):
                return True
    return False


def is_tensor(x):
    return isinstance(x, Tensor)


def convert_to_tensor(x, dtype=None):
    """A Tensor from a Tensor, NumPy array, list or number (float32 unless
    ``dtype`` or the data says int/bool)."""
    if isinstance(x, Variable):
        # As TensorFlow: a snapshot of the variable's value (later updates do
        # not change it), through which gradients still reach the variable.
        x = record(K.broadcast_to(x.value, list(x.shape)), (x,), lambda dy, needs: (dy,), "read_variable",
                   reads_inputs=False)
    if isinstance(x, Tensor):
        if dtype is not None and dtype != x.dtype:
            from . import ops
            return ops.cast(x, dtype)
        return x
    if cuda.is_device_array(x):
        return Tensor(x)
    arr = np.asarray(x)
    if dtype is not None:
        dtype = _dtype_name(dtype)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Cannot convert {type(x).__name__} of dtype {arr.dtype} to a tensor. "
                        f"Received: {x!r}"[:300])
    if dtype is None:
        dtype = "float32" if arr.dtype.kind == "f" else ("bool" if arr.dtype.kind == "b" else "int32")
        if arr.dtype.kind in "iu" and arr.dtype.itemsize == 8:
            dtype = "int64"
    if dtype == "float32":
        return Tensor(np.asarray(arr, dtype=np.float32, order="C"))
    return Tensor(np.asarray(arr, dtype=np.float32, order="C"), dtype=dtype)


_DTYPES = {"float32": "float32", "float64": "float32", "float16": "float32", "bfloat16": "float32",
           "int32": "int32", "int64": "int64", "int8": "int32", "int16": "int32", "uint8": "int32",
           "bool": "bool"}


def _dtype_name(dtype):
    """ember stores every tensor as float32; integer and bool tensors keep
    their logical dtype for ``convert_to_numpy`` (exact up to 2**24)."""
    name = dtype if isinstance(dtype, str) else getattr(np.dtype(dtype), "name", str(dtype))
    if name not in _DTYPES:
        raise ValueError(f"Unsupported dtype. Expected one of {sorted(_DTYPES)}. Received: {dtype!r}")
    return _DTYPES[name]


# ---------------------------------------------------------------- recording
def _watched_by(tape, t):
    node = t._node
    if node is not None and tape._serial in node.tapes:
        return True
    return id(t) in tape._watched or (tape._auto and isinstance(t, Variable) and t.trainable)


def record(out_value, inputs, backward, kind, dtype=None, fuse=None, reads_inputs=True):
    """Wraps an op's result as a Tensor and attaches the node that computed
    it for each recording tape that watches one of its inputs.
    ``reads_inputs=False`` says the backward does not read the inputs'
    values, so variables may change before it runs."""
    node = None
    if _tapes and backward is not None:
        tapes = tuple(tape._serial for tape in _tapes
                      if any(t is not None and _watched_by(tape, t) for t in inputs))
        if tapes:
            versions = tuple(t._version if reads_inputs and isinstance(t, Variable) else None for t in inputs)
            node = Node(inputs, backward, kind, fuse, tapes, versions)
    return Tensor(out_value, dtype, node)


class GradientTape:
    """Records operations for automatic differentiation, with TensorFlow's
    semantics::

        with ember.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_weights)

    Trainable variables are watched automatically
    (``watch_accessed_variables=True``); ``watch(t)`` adds any tensor. A
    non-persistent tape answers one ``gradient`` call."""

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._serial = next(_tape_ids)
        self._persistent = bool(persistent)
        self._auto = bool(watch_accessed_variables)
        self._watched = {}
        self._used = False
        self._recording = False

    def __enter__(self):
        _tapes.append(self)
        self._recording = True
        return self

    def __exit__(self, *exc):
        if self in _tapes:
            _tapes.remove(self)
        self._recording = False
        return False

    def watch(self, tensor):
        for t in flatten(tensor):
            if not isinstance(t, Tensor):
                raise ValueError(f"GradientTape.watch expects tensors or variables. Received: {type(t).__name__}")
            self._watched[id(t)] = t

    def stop_recording(self):
        """A context in which this tape records nothing."""
        if self not in _tapes:
            raise ValueError("stop_recording() is only valid inside the tape's `with` block.")
        tape = self

        class _Pause:
            def __enter__(self_inner):
                _tapes.remove(tape)

            def __exit__(self_inner, *exc):
                _tapes.append(tape)
        return _Pause()

    def gradient(self, target, sources, output_gradients=None):
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one set of "
                               "gradients. Use GradientTape(persistent=True) for more.")
        self._used = True
        flat_sources = flatten(sources)
        for s in flat_sources:
            if not isinstance(s, Tensor):
                raise ValueError("GradientTape.gradient expects sources that are variables or watched "
                                 f"tensors. Received: {type(s).__name__}")
        targets = flatten(target)
        seeds = None if output_gradients is None else flatten(output_gradients)
        # As TensorFlow: only what this tape watched (trainable variables,
        # watch()ed tensors and what was computed from them) has a gradient.
        watched = [_watched_by(self, s) for s in flat_sources]
        grads = gradients(targets, flat_sources, seeds, self._serial, release=not self._persistent)
        out = [Tensor(g) if g is not None and w else None for g, w in zip(grads, watched)]
        return _pack_like(sources, out)


def flatten(x):
    """The leaves of a nest of lists, tuples and dicts (dicts by sorted key)."""
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in flatten(item)]
    if isinstance(x, dict):
        return [y for k in sorted(x) for y in flatten(x[k])]
    return [x]


def _pack_like(structure, flat):
    it = iter(flat)

    def pack(s):
        if isinstance(s, (list, tuple)):
            return type(s)(pack(v) for v in s) if isinstance(s, list) else tuple(pack(v) for v in s)
        if isinstance(s, dict):
            return {k: pack(s[k]) for k in sorted(s)}
        return next(it)
    return pack(structure)


# ---------------------------------------------------------------- backward
def _recorded(t, tape):
    node = t._node
    return node is not None and (tape is None or tape in node.tapes)


def _topo_order(targets, tape=None):
    """Tensors reachable from targets through nodes that ``tape`` recorded
    (any tape when None), inputs before outputs (iterative depth-first
    search in a fixed order)."""
    order, seen = [], set()
    for root in targets:
        if not _recorded(root, tape) or id(root) in seen:
            continue
        stack = [(root, 0)]
        seen.add(id(root))
        while stack:
            t, i = stack.pop()
            inputs = t._node.inputs
            while i < len(inputs):
                child = inputs[i]
                i += 1
                if child is not None and _recorded(child, tape) and id(child) not in seen:
                    seen.add(id(child))
                    stack.append((t, i))
                    stack.append((child, 0))
                    break
            else:
                order.append(t)
    return order


def _plan_fusion(order, protected=frozenset(), tape=None):
    """What fuses in this backward pass, decided here from the graph alone.
    An intermediate value can be skipped only when this pass needs its
    gradient for nothing else: it is used once, and is neither a source nor
    a target (``protected``).

    - A max pooling whose input is the output of a ReLU fused into a
      convolution's or dense layer's write-out applies the ReLU's gradient
      itself, and the producer skips its mask pass ("relu_input").
    - A cross-entropy on the output of a softmax takes its gradient straight
      to the logits, (softmax - labels) / N, skipping the softmax's backward
      ("logits").

    Returns {id(output tensor): mode} for the nodes that run fused."""
    uses = {}
    for t in order:
        for x in t._node.inputs:
            if x is not None:
                uses[id(x)] = uses.get(id(x), 0) + 1
    plan = {}
    for t in order:
        node = t._node
        if node.kind == "max_pool2d" or node.fuse == "from_softmax":
            x = node.inputs[0]
            if not _recorded(x, tape) or uses.get(id(x)) != 1 or id(x) in protected:
                continue
            if node.kind == "max_pool2d" and x._node.fuse == "relu_output":
                plan[id(t)] = "relu_input"
            elif node.kind != "max_pool2d" and x._node.kind == "softmax":
                plan[id(t)] = "logits"
    return plan


def _accumulate(grads, key, g):
    prev = grads.get(key)
    grads[key] = g if prev is None else K.binary(prev, g, "add")


_STALE = ("A variable used in the recorded computation was updated in place after it was recorded "
          "(an optimizer step or assign) before this gradient was asked for; compute the gradients first, "
          "or record the computation again.")


def gradients(targets, sources, seeds=None, tape=None, release=False):
    """Raw gradient arrays of sum(targets) with respect to each source (None
    where a source does not influence the targets), through the nodes that
    ``tape`` recorded. ``release`` drops the walked nodes afterwards (a
    non-persistent tape), so kept results do not hold the whole graph."""
    grads = {}
    for i, t in enumerate(targets):
        if not isinstance(t, Tensor):
            raise ValueError(f"GradientTape.gradient expects a tensor target. Received: {type(t).__name__}")
        seed = seeds[i].value if seeds is not None and isinstance(seeds[i], Tensor) else (
            None if seeds is None else _float32(seeds[i]))
        if seed is None:
            seed = K.full(list(t.shape), 1.0, t.device)
        elif tuple(seed.shape) != t.shape:
            raise ValueError(f"output_gradients[{i}] must have the target's shape {t.shape}. "
                             f"Received: shape {tuple(seed.shape)}")
        _accumulate(grads, id(t), seed)
    source_ids = {id(s) for s in sources}
    order = _topo_order(targets, tape)
    # Only values that lead to a source need gradients.
    wanted = set(source_ids)
    for t in order:
        for x in t._node.inputs:
            if x is not None and id(x) in wanted:
                wanted.add(id(t))
                break
    plan = _plan_fusion(order, source_ids | {id(t) for t in targets}, tape)
    premasked = set()
    for t in reversed(order):
        key = id(t)
        if key not in wanted:
            continue
        g = grads.get(key) if key in source_ids else grads.pop(key, None)
        if g is None:
            continue
        node = t._node
        inputs = node.inputs
        for x, version in zip(inputs, node.versions):
            if version is not None and x._version != version:
                raise RuntimeError(_STALE)
        needs = tuple(x is not None and id(x) in wanted for x in inputs)
        mode = plan.get(key)
        if mode == "logits":
            # Straight to the softmax's input; the softmax's backward is skipped.
            _accumulate(grads, id(inputs[0]._node.inputs[0]), node.backward(g, needs, logits=True)[0])
            continue
        if mode == "relu_input":
            in_grads = node.backward(g, needs, relu_input=True)
            premasked.add(id(inputs[0]))
        elif key in premasked:
            in_grads = node.backward(g, needs, premasked=True)
        else:
            in_grads = node.backward(g, needs)
        for x, gx, need in zip(inputs, in_grads, needs):
            if need and gx is not None:
                _accumulate(grads, id(x), gx)
    result = [grads.get(id(s)) for s in sources]
    if release:
        for t in order:
            if t._node.tapes == (tape,):
                t._node = None
    return result


class KerasTensor:
    """A symbolic tensor of the functional API: a shape (None where
    unknown, as the batch axis), a dtype, and the layer call that makes it
    (``_keras_history``: layer, node index, output index)."""

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = dtype
        self.name = name
        self._keras_history = history
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    def numpy(self):
        raise ValueError("A symbolic tensor (from keras.Input or a layer called on one) has no value: "
                         "build a Model from it and call the model on data.")

    def __array__(self, *args, **kwargs):
        self.numpy()

    def __bool__(self):
        raise TypeError("A symbolic tensor cannot be used as a Python bool.")

    def __len__(self):
        if not self.shape or self.shape[0] is None:
            raise TypeError(f"len() is unknown for a symbolic tensor of shape {self.shape}")
        return self.shape[0]

    def __iter__(self):
        raise TypeError("A symbolic tensor cannot be iterated over.")

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"
