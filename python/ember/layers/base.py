"""The Layer base class (Keras 3's build/call/get_config contract), the
symbolic graph of the functional API (nodes and KerasTensors), initializers
and Input."""
import inspect
import re

import numpy as np

from ..engine import KerasTensor, Tensor, Variable, any_symbolic, convert_to_tensor, flatten  # noqa: F401

_name_counts = {}


def _unique_name(base):
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().replace("2_d", "2d")


def initialize(kind, shape):
    """The float32 array a weight starts from: ``kind`` is anything
    ``ember.initializers.get`` takes (a Keras name such as 'glorot_uniform',
    an Initializer, a config dict, a callable ``f(shape, dtype)``)."""
    from .. import initializers
    return initializers.initial_value(kind, shape)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive int. Received: {name}={value!r}")
    return int(value)


def _fraction(value, name, upper_open=False):
    bad = isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer))
    if bad or not (0 <= value < 1 if upper_open else 0 <= value <= 1):
        expected = "[0, 1)" if upper_open else "[0, 1]"
        raise ValueError(f"Argument `{name}` must be a float in {expected}. Received: {name}={value!r}")
    return float(value)


def _axis_arg(axis):
    """An ``axis`` argument: an int, or a list of ints (from a list or tuple)."""
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if not axes or any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
        raise TypeError(f"Argument `axis` must be an int or a list of ints. Received: axis={axis!r}")
    return [int(a) for a in axes] if isinstance(axis, (list, tuple)) else int(axis)


def as_tuple(value, n, name):
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        value = tuple(int(v) for v in value)
    except TypeError:
        raise TypeError(f"Argument `{name}` must be an int or a tuple of {n} ints. Received: {value!r}")
    if len(value) != n or any(v <= 0 for v in value):
        raise ValueError(f"Argument `{name}` must be {n} positive integers. Received: {value!r}")
    return value


def check_padding(padding, causal=False):
    """'valid' or 'same' (or 'causal', for the 1-D convolution), any case."""
    allowed = ("valid", "same", "causal") if causal else ("valid", "same")
    if not isinstance(padding, str) or padding.lower() not in allowed:
        expected = "'valid', 'same' or 'causal'" if causal else "'valid' or 'same'"
        raise ValueError(f"Argument `padding` must be {expected}. Received: {padding!r}")
    return padding.lower()




def _shape_str(shape):
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_str(s) for s in shape) + "]"
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def map_structure(fn, x):
    if isinstance(x, list):
        return [map_structure(fn, v) for v in x]
    if isinstance(x, tuple):
        return tuple(map_structure(fn, v) for v in x)
    if isinstance(x, dict):
        return {k: map_structure(fn, v) for k, v in x.items()}
    return fn(x)


def _shapes(x):
    """The shape (or the nest of shapes) of a tensor structure, for build()."""
    if isinstance(x, (list, tuple)):
        return [_shapes(v) for v in x]
    if isinstance(x, dict):
        return {k: _shapes(v) for k, v in x.items()}
    return tuple(x.shape)


class Node:
    """One call of a layer on symbolic tensors: the layer, the call's
    arguments (holding KerasTensors), and the KerasTensors it made."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args = args
        self.kwargs = kwargs
        self.inputs = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        self.outputs = outputs  # the output structure
        self.flat_outputs = flatten(outputs)


_training_context = [False]
_outer_calls = [0]  # how many outermost layer calls have begun


def _call_args(cls):
    """Whether a class's ``call`` takes ``training`` and ``mask`` (cached)."""
    args = cls.__dict__.get("_ember_call_args")
    if args is None:
        params = inspect.signature(cls.call).parameters
        args = ("training" in params, "mask" in params)
        cls._ember_call_args = args
    return args


def _mask_of(x):
    return getattr(x, "_keras_mask", None)


class Layer:
    """The base of every layer, Keras 3's contract: ``build(input_shape)``
    makes the weights with ``add_weight``, ``call(inputs, training=None)``
    computes with ``ember.ops`` (gradients come from the engine),
    ``get_config`` returns the constructor's arguments. Weights and layers
    assigned as attributes are tracked. Called on symbolic tensors, a layer
    adds a node to the graph of a functional model; one layer object may be
    called many times (shared weights)."""

    # A layer class that takes Keras 2's ``input_length`` (Embedding) sets
    # this: the argument then declares the input shape (input_length,).
    _takes_input_length = False
    # Layers that map each step on its own (activations, noise, normalisation
    # of a sample) pass their input's mask on, as Keras's do.
    _mask_passthrough = False
    activity_regularizer = None  # set by __init__; the default serves subclasses that skip it

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None, batch_input_shape=None,
                 input_dim=None, activity_regularizer=None, autocast=True, **kwargs):
        input_length = kwargs.pop("input_length", None) if self._takes_input_length else None
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {sorted(kwargs)}")
        if dtype not in (None, "float32", np.float32) and not (isinstance(dtype, dict) or hasattr(dtype, "name")):
            raise ValueError(f"ember computes in float32. Received: dtype={dtype!r}")
        object.__setattr__(self, "_weights", [])
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Argument `name` must be a string. Received: {name!r}")
        self.name = name or _unique_name(_snake(type(self).__name__))
        self._trainable = bool(trainable)
        self.built = False
        self._inbound_nodes = []
        self._build_shape = None
        self._losses = []
        self._losses_call = 0  # the outermost call that added them
        self._regularized = []  # (weight, regularizer): their losses are computed afresh
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_dim is not None and input_shape is None:
            input_shape = (_positive_int(input_dim, "input_dim"),)
        if input_length is not None and input_shape is None:
            input_shape = (_positive_int(input_length, "input_length"),)
        from .. import regularizers
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self._declared_input_shape = tuple(input_shape) if input_shape is not None else None

    # ----- attribute tracking
    def __setattr__(self, name, value):
        weights = self.__dict__.get("_weights")
        if weights is not None and isinstance(value, Variable) and all(value is not w for w in weights):
            weights.append(value)
        object.__setattr__(self, name, value)

    @property
    def _tracked_layers(self):
        """The sublayers held in attributes (directly, or in lists, tuples and
        dicts, also ones appended after assignment), in assignment order."""
        out, seen = [], {id(self)}
        for value in self.__dict__.values():
            items = value if isinstance(value, (list, tuple)) else (
                value.values() if isinstance(value, dict) else (value,))
            for v in items:
                if isinstance(v, Layer) and id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    @property
    def _layers(self):
        return self._tracked_layers

    # ----- weights
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, autocast=True,
                   regularizer=None, constraint=None, aggregation="none", name=None, **kwargs):
        """Creates and tracks a weight. Keras 3's arguments (``shape`` first);
        ``initializer`` is a name ('glorot_uniform', 'zeros', ...) or a
        callable ``f(shape, dtype)``; the default is 'glorot_uniform' for
        float weights, as Keras."""
        if isinstance(shape, str) and name is None:  # add_weight("kernel", shape, initializer)
            shape, initializer, name = initializer, dtype if dtype is not None else None, shape
            initializer = kwargs.pop("init", initializer)
        if kwargs:
            raise TypeError(f"add_weight got unexpected keyword arguments: {sorted(kwargs)}")
        if shape is None:
            shape = ()
        try:
            shape = tuple(int(d) for d in shape)
        except TypeError:
            raise TypeError(f"add_weight expects `shape` as a tuple of ints. Received: {shape!r}") from None
        if any(d < 0 for d in shape):
            raise ValueError(f"add_weight expects non-negative dimensions. Received: shape={shape}")
        name = name or "variable"
        from .. import constraints, regularizers
        regularizer, constraint = regularizers.get(regularizer), constraints.get(constraint)
        var = Variable(initialize(initializer or "glorot_uniform", shape), name=name,
                       trainable=trainable)
        var.path = f"{self.name}/{name}"
        var.constraint = constraint  # applied by the optimizer after each update
        self._weights.append(var)
        if regularizer is not None:
            self._regularized.append((var, regularizer))
        return var

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for layer in self._sublayers_for_weights():
            layer.trainable = value

    def _all_weights(self):
        # As Keras: this layer's trainable weights, its non-trainable ones,
        # then each sublayer's.
        seen, out = set(), []
        own = [w for w in self._weights if w.trainable] + [w for w in self._weights if not w.trainable]
        for w in own:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        for layer in self._sublayers_for_weights():
            for w in layer.weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    def _sublayers_for_weights(self):
        return self._tracked_layers

    @property
    def weights(self):
        return self._all_weights()

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        out = [w for w in self._weights if w.trainable]  # noqa: the sublayers follow
        seen = {id(w) for w in self._weights}
        for layer in self._sublayers_for_weights():
            for w in layer.trainable_weights:
                if id(w) not in seen:
                    seen.add(id(w))
                    out.append(w)
        return out

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        trainable = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in trainable]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        weights = list(weights)
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"Layer '{self.name}' expects {len(mine)} weight arrays. "
                             f"Received: {len(weights)}")
        for var, value in zip(mine, weights):
            if tuple(np.shape(value)) != var.shape:
                raise ValueError(f"Weight '{var.path}' has shape {var.shape}. Received: an array of "
                                 f"shape {tuple(np.shape(value))}")
        for var, value in zip(mine, weights):
            var.assign(value)

    def count_params(self):
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    def _to(self, device):
        """Moves every weight of this layer (and of its sublayers) to device."""
        for w in self.weights:
            w.to(device)

    # ----- losses added during call (regularisation and the like)
    def add_loss(self, loss):
        """Adds a scalar tensor to the model's loss. Losses are collected
        afresh at each outermost call, as Keras does: the first add_loss of a
        new outermost call drops the ones of the previous call."""
        if self._losses_call != _outer_calls[0]:
            self._losses = []
            self._losses_call = _outer_calls[0]
        self._losses.append(loss)

    @property
    def losses(self):
        """Losses added in the last call, then the weights' regularization
        losses (computed now, so that a recording tape sees them)."""
        out = list(self._losses) + [reg(var) for var, reg in self._regularized]
        for layer in self._sublayers_for_weights():
            out.extend(layer.losses)
        return out

    # ----- the tensors of a layer called once on symbolic tensors
    def _single_node(self, what):
        """As Keras: the tensors of the layer's first call."""
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on symbolic tensors, "
                                 f"so it has no `{what}`.")
        return self._inbound_nodes[0]

    @property
    def output(self):
        return self._single_node("output").outputs

    @property
    def input(self):
        node = self._single_node("input")
        return node.inputs[0] if len(node.inputs) == 1 else node.inputs

    # ----- shapes
    def build(self, input_shape):
        self.built = True

    def compute_output_shape(self, input_shape):
        raise NotImplementedError

    def _has_output_shape(self):
        return type(self).compute_output_shape is not Layer.compute_output_shape

    def _maybe_build(self, args):
        if self.built:
            return
        first = args[0] if args else None
        shapes = _shapes(first) if first is not None else None
        if isinstance(shapes, list) and len(shapes) == 1 and not isinstance(first, (list, tuple)):
            shapes = shapes[0]
        self._build_shape = shapes
        self.build(shapes)
        self.built = True

    # ----- calls
    def __call__(self, *args, **kwargs):
        if any_symbolic(args) or (kwargs and any_symbolic(kwargs.values())):
            return self._symbolic_call(args, kwargs)
        if args and not isinstance(args[0], Tensor):
            args = (map_structure(lambda v: v if isinstance(v, Tensor) or v is None
                                  or isinstance(v, (bool, str)) else convert_to_tensor(v), args[0]),) + args[1:]
        self._maybe_build(args)
        takes_training, takes_mask = _call_args(type(self))
        # Masks ride on eager tensors (Keras's _keras_mask): a layer whose
        # call takes `mask` receives its first input's, unless given one.
        previous_mask = kwargs.get("mask")
        if previous_mask is None and args:
            previous_mask = map_structure(_mask_of, args[0])
            if takes_mask and any(m is not None for m in flatten(previous_mask)):
                kwargs["mask"] = previous_mask
        training = kwargs.get("training")
        if training is None:
            training = _training_context[-1]
        if takes_training:
            kwargs["training"] = training
        else:
            kwargs.pop("training", None)
        if len(_training_context) == 1:
            _outer_calls[0] += 1
        _training_context.append(bool(training))
        try:
            outputs = self.call(*args, **kwargs)
        finally:
            _training_context.pop()
        if self.supports_masking and args:
            self._set_output_masks(args[0], outputs, previous_mask)
        if self.activity_regularizer is not None:
            self._add_activity_loss(outputs)
        return outputs

    # ----- masks (Keras 3's contract)
    @property
    def supports_masking(self):
        """Whether the layer gives its outputs a mask (``compute_mask``):
        true when a class overrides ``compute_mask`` or sets it."""
        value = self.__dict__.get("_supports_masking")
        if value is None:
            return self._mask_passthrough or type(self).compute_mask is not Layer.compute_mask
        return value

    @supports_masking.setter
    def supports_masking(self, value):
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs, previous_mask):
        """The mask of the outputs: by default the input's, passed through."""
        return previous_mask

    def _set_output_masks(self, inputs, outputs, previous_mask):
        masks = self.compute_mask(inputs, previous_mask)
        if masks is None:
            return
        flat_out = flatten(outputs)
        flat_masks = flatten(masks) if isinstance(masks, (list, tuple)) else [masks] * len(flat_out)
        for t, m in zip(flat_out, flat_masks):
            if isinstance(t, Tensor) and m is not None and t._keras_mask is None:
                t._keras_mask = m if isinstance(m, Tensor) else convert_to_tensor(m)

    def _add_activity_loss(self, outputs):
        """As Keras 3: the activity regularizer of each output, divided by
        the batch size, joins the layer's losses."""
        from .. import ops
        for out in flatten(outputs):
            if isinstance(out, Tensor):
                loss = self.activity_regularizer(out)
                if out.ndim > 0 and out.shape[0] > 0:
                    loss = ops.divide(loss, float(out.shape[0]))
                self.add_loss(loss)

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def _check_input_shape(self, shapes):
        """A built layer with weights called on symbolic inputs whose last
        axis differs from the one it was built for."""
        built = self._build_shape
        if not self._weights or built is None or not isinstance(built, tuple) or not isinstance(shapes, tuple):
            return
        if built and shapes and built[-1] is not None and shapes[-1] is not None and built[-1] != shapes[-1]:
            raise ValueError(f"Layer '{self.name}' expects input {_shape_str(built)}; "
                             f"received {_shape_str(shapes)}")

    def _symbolic_call(self, args, kwargs):
        first = args[0] if args else None
        shapes = _shapes(first) if first is not None else None
        if self.built:
            self._check_input_shape(shapes)
        self._maybe_build(args)
        if self._has_output_shape():
            out_shapes = self.compute_output_shape(shapes)
            outputs = _make_outputs(out_shapes)
        else:
            outputs = self._infer_outputs(args, kwargs)
        node = Node(self, args, kwargs, outputs)
        index = len(self._inbound_nodes)
        self._inbound_nodes.append(node)
        for i, t in enumerate(node.flat_outputs):
            t._keras_history = (self, index, i)
            if t.name is None:
                t.name = f"{self.name}_{index}_{i}" if i or index else self.name
        return outputs

    def _infer_outputs(self, args, kwargs):
        """Output shapes found by running ``call`` on placeholder data (zeros
        with each unknown dimension set to 2, then to 3: a dimension that
        changes with them is unknown in the output too)."""
        results = []
        for fill in (2, 3):
            def concrete(v):
                if isinstance(v, KerasTensor):
                    return Tensor(np.zeros([fill if d is None else d for d in v.shape], np.float32),
                                  None if v.dtype == "float32" else v.dtype)
                return v
            a = map_structure(concrete, args)
            k = map_structure(concrete, dict(kwargs))
            results.append(self(*a, **k))
        def merge(x, y):
            shape = tuple(d1 if d1 == d2 else None for d1, d2 in zip(x.shape, y.shape))
            return KerasTensor(shape, x.dtype)
        return _zip_map(merge, results[0], results[1])

    # ----- config
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32"}
        if self.activity_regularizer is not None:
            from .. import regularizers
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        if self._declared_input_shape is not None:
            config["input_shape"] = list(self._declared_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _zip_map(fn, a, b):
    if isinstance(a, (list, tuple)):
        return type(a)(_zip_map(fn, x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return {k: _zip_map(fn, a[k], b[k]) for k in a}
    return fn(a, b)


def _make_outputs(shapes):
    if isinstance(shapes, list) or (isinstance(shapes, tuple) and shapes and isinstance(shapes[0], (tuple, list))):
        return [KerasTensor(s) for s in shapes]
    return KerasTensor(shapes)


class InputLayer(Layer):
    """The layer behind ``Input``: it makes the graph's input tensor."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, input_shape=None,
                 batch_shape=None, input_tensor=None, **kwargs):
        if batch_shape is not None:
            shape = tuple(batch_shape)[1:]
            batch_size = tuple(batch_shape)[0]
        shape = shape if shape is not None else input_shape
        if shape is None:
            raise ValueError("Input needs a `shape`, for example Input(shape=(28, 28, 1)).")
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        try:
            shape = tuple(None if d is None else int(d) for d in shape)
        except TypeError:
            raise TypeError(f"Input `shape` must be a tuple of ints or None. Received: {shape!r}") from None
        super().__init__(name=name or _unique_name("input_layer"), **kwargs)
        self.shape = (batch_size,) + shape
        self.batch_size = batch_size
        self.input_dtype = "float32" if dtype in (None, "float32", np.float32) else str(np.dtype(dtype).name)
        self.built = True
        tensor = KerasTensor(self.shape, self.input_dtype, name=self.name, history=(self, 0, 0))
        self._inbound_nodes.append(Node(self, (), {}, tensor))

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"name": self.name, "shape": list(self.shape[1:]), "batch_size": self.batch_size,
                "dtype": self.input_dtype}


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, **kwargs):
    """``Input(shape=(28, 28, 1))``: a symbolic tensor, the start of a
    functional model (or the first entry of a Sequential one)."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape, **kwargs).output
