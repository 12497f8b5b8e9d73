"""Model: a Layer that trains. Functional (``Model(inputs, outputs)``),
subclassed (``class M(Model)`` with ``call``) and Sequential models share
this one trainer: compile, fit, evaluate, predict, train_step, summary,
save and load.

The loops are plain Python over batches: each batch is gathered (shuffled
rows) into a reused buffer, the forward pass records on a GradientTape, the
engine computes the gradients and the optimizer updates the weights in
place, every number in C++. No per-sample Python.
"""
import math
import sys

import numpy as np

from .. import _core, callbacks as callbacks_module, cuda, losses as losses_module, metrics as metrics_module
from .. import data_adapters, optimizers, saving, utils
from ..engine import GradientTape, KerasTensor, Tensor, convert_to_tensor
from ..layers.base import InputLayer, Layer, _shape_str, flatten, map_structure
from .functional import Graph


def _to_array(v):
    return v.numpy() if isinstance(v, Tensor) else np.asarray(v)


def _n_samples(struct):
    flat = flatten(struct)
    return flat[0].shape[0] if flat and hasattr(flat[0], "shape") and len(flat[0].shape) else None


def unpack_x_y_sample_weight(data):
    if isinstance(data, tuple):
        if len(data) == 1:
            return data[0], None, None
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data
    return data, None, None


class Model(Layer):
    """``Model(inputs, outputs)`` builds a functional model; subclass it
    and define ``call`` for a subclassed one."""

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "inputs" in kwargs or "outputs" in kwargs):
            from . import Functional
            return object.__new__(Functional)
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if len(args) > 0 else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        if kwargs:
            raise TypeError(f"Model got unexpected keyword arguments: {sorted(kwargs)}")
        Layer.__init__(self, name=name or utils_name(type(self)), trainable=trainable)
        self._device = "cpu"
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._graph = None
        self._compile_metrics = []
        self._loss_tracker = metrics_module.Mean(name="loss")
        if inputs is not None or outputs is not None:
            if inputs is None or outputs is None:
                raise ValueError("A functional Model needs both `inputs` and `outputs`.")
            self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        self._graph = Graph(inputs, outputs, self.name)
        self.built = True

    # ------------------------------------------------------------ structure
    @property
    def layers(self):
        if self._graph is not None:
            inputs = [t._keras_history[0] for t in self._graph.inputs]
            return inputs + self._graph.layers
        return [l for l in self._tracked_layers]

    def _sublayers_for_weights(self):
        if self._graph is not None:
            return self._graph.layers
        return self._tracked_layers

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: {[l.name for l in self.layers]}")

    @property
    def inputs(self):
        return None if self._graph is None else self._graph.inputs

    @property
    def outputs(self):
        return None if self._graph is None else self._graph.outputs

    @property
    def input(self):
        return None if self._graph is None else self._graph.inputs_struct

    @property
    def output(self):
        return None if self._graph is None else self._graph.outputs_struct

    @property
    def input_shape(self):
        if self._graph is None:
            return None
        shapes = [t.shape for t in self._graph.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        self._require_built("output_shape")
        shapes = [t.shape for t in self._graph.outputs] if self._graph is not None else [self._output_shape]
        return shapes[0] if len(shapes) == 1 else shapes

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"This model has not been built yet, so `{what}` is unknown. Give the first "
                             "layer an `input_shape`, or call build() or fit() first.")

    def build(self, input_shape=None):
        """Builds a subclassed model by calling it on zeros of input_shape
        (unknown dimensions taken as 1)."""
        self.built = True
        if self._graph is not None or input_shape is None:
            return
        shapes = input_shape
        def zeros(shape):
            return np.zeros([1 if d is None else d for d in shape], np.float32)
        if isinstance(shapes, list) and shapes and isinstance(shapes[0], (tuple, list)):
            x = [zeros(s) for s in shapes]
        else:
            x = zeros(tuple(shapes))
        out = Layer.__call__(self, x, training=False)
        self._output_shape = (None,) + tuple(flatten(out)[0].shape[1:])

    # ------------------------------------------------------------ calls
    def call(self, inputs, training=None, mask=None):
        if self._graph is None:
            raise NotImplementedError(f"Model {type(self).__name__} must define call(), or be built "
                                      "from inputs and outputs.")
        return self._graph.run(inputs, _call_layer)

    def __call__(self, *args, **kwargs):
        if self._device != "cpu" and args and not any(isinstance(t, KerasTensor) for t in flatten(args[0])):
            args = (map_structure(lambda v: v if isinstance(v, Tensor) and v.device == self._device
                                  else Tensor(_core.to_device(np.asarray(v, np.float32))), args[0]),) + args[1:]
        return Layer.__call__(self, *args, **kwargs)

    def _maybe_build(self, args):
        # A subclassed model builds its layers as its call first runs them.
        if not self.built:
            self.built = True
            if args and not any(isinstance(t, KerasTensor) for t in flatten(args[0])):
                self._output_shape = None

    def compute_output_shape(self, input_shape):
        if self._graph is None:
            raise NotImplementedError
        out = [t.shape for t in self._graph.outputs]
        return out[0] if len(out) == 1 else out

    def _has_output_shape(self):
        return self._graph is not None

    # ------------------------------------------------------------ device
    @property
    def device(self):
        """'cpu', or 'cuda' after ``to("cuda")``."""
        return self._device

    def to(self, device):
        """Moves the model to ``device`` ('cpu' or 'cuda') and returns it.
        On 'cuda' the weights, activations, gradients and optimizer state
        stay in GPU memory; fit copies each batch in once, and predict copies
        each batch's output back once. Needs ember built with CUDA."""
        device = cuda.check_device(device)
        self._device = device
        self._to(device)
        if self.optimizer is not None:
            self.optimizer._to(device)
        return self

    # ------------------------------------------------------------ weights
    def set_weights(self, weights):
        self._require_built("weights")
        weights = list(weights)
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"Model '{self.name}' expects {len(mine)} weight arrays. Received: {len(weights)}")
        for var, value in zip(mine, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise ValueError(f"Weight '{var.path}' has shape {var.shape}; received an array of shape {value.shape}")
        for var, value in zip(mine, weights):
            var.assign(value)

    # ------------------------------------------------------------ summary
    def _summary_rows(self):
        rows = []
        if self._graph is not None:
            for t in self._graph.inputs:
                layer = t._keras_history[0]
                rows.append((layer, t.shape, []))
            for node in self._graph.nodes:
                shapes = [t.shape for t in node.flat_outputs]
                parents = [t.name or "?" for t in node.inputs]
                rows.append((node.layer, shapes[0] if len(shapes) == 1 else shapes, parents))
        else:
            for layer in self._tracked_layers:
                # A subclassed model's layers show their shapes once called symbolically.
                shape = layer._inbound_nodes[0].flat_outputs[0].shape if layer._inbound_nodes else "?"
                rows.append((layer, shape, []))
        return rows

    def summary(self, line_length=None, print_fn=None, **kwargs):
        if type(self).__name__ != "Sequential":  # an unbuilt Sequential lists its layers, as Keras's does
            self._require_built("summary")
        rows = self._summary_rows()
        connected = self._graph is not None and any(len(p) > 1 for _, _, p in rows) or \
            (self._graph is not None and len(self._graph.inputs) > 1)
        widths = [33, 26, 12] + ([30] if connected else [])
        if line_length:
            widths = [max(10, int(line_length * f)) for f in (0.45, 0.35, 0.2)] + ([30] if connected else [])
        total = sum(widths)
        kind = "Sequential" if type(self).__name__ == "Sequential" else ("Functional" if self._graph is not None else type(self).__name__)
        head = "Layer (type)".ljust(widths[0]) + "Output Shape".ljust(widths[1]) + "Param #".rjust(widths[2])
        if connected:
            head += "  Connected to"
        lines = [f'Model: "{self.name}" ({kind})', "_" * total, head, "=" * total]
        for i, (layer, shape, parents) in enumerate(rows):
            shape_s = shape if isinstance(shape, str) else (
                _shape_str(list(shape)) if isinstance(shape, list) else _shape_str(shape))
            line = (f"{layer.name} ({type(layer).__name__})"[:widths[0] - 1].ljust(widths[0])
                    + shape_s.ljust(widths[1]) + f"{layer.count_params():,}".rjust(widths[2]))
            if connected:
                line += "  " + ", ".join(parents)
            lines.append(line)
            lines.append("_" * total if i < len(rows) - 1 else "=" * total)
        if not rows:
            lines.append("=" * total)
        trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
        count = self.count_params()
        lines += [f"Total params: {count:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {count - trainable:,}", "_" * total]
        (print_fn or print)("\n".join(lines))

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True, device=None):
        self.optimizer = optimizers.get(optimizer)
        self._loss_fns = self._resolve_losses(loss)
        self.loss = loss if self._loss_fns is None or not isinstance(self._loss_fns, losses_module.Loss) \
            else self._loss_fns
        self._loss_weights = loss_weights
        if metrics is None:
            metrics = []
        if isinstance(metrics, str):
            metrics = [metrics]
        if not isinstance(metrics, (list, tuple, dict)):
            raise ValueError(f"`metrics` must be a list. Received: {metrics!r}")
        if isinstance(weighted_metrics, str):
            weighted_metrics = [weighted_metrics]
        if weighted_metrics is not None and not isinstance(weighted_metrics, (list, tuple, dict)):
            raise ValueError(f"`weighted_metrics` must be a list, tuple or dict. Received: {weighted_metrics!r}")
        self._metric_specs = metrics
        self._weighted_metric_specs = weighted_metrics or []
        self._compile_metrics = None
        self._loss_trackers = None
        self.compiled = True
        if device is not None:
            self.to(device)
        elif self._device != "cpu":
            self.optimizer._to(self._device)

    def _resolve_losses(self, loss):
        if loss is None:
            return None
        if isinstance(loss, (list, tuple)):
            return [losses_module.get(l) for l in loss]
        if isinstance(loss, dict):
            return {k: losses_module.get(v) for k, v in loss.items()}
        return losses_module.get(loss)

    def _require_compiled(self, what):
        if not self.compiled:
            raise ValueError(f"You must call compile() before {what}().")

    def _output_shape_list(self):
        if self._graph is not None:
            return [t.shape for t in self._graph.outputs]
        shape = getattr(self, "_output_shape", None)
        return [shape] if shape is not None else [None]

    def _metric_objects(self):
        """The compiled metrics; ``_metric_outputs`` pairs each with the
        index of the output it scores and whether it takes the sample weights
        (``weighted_metrics`` do, ``metrics`` do not, as in Keras). For
        several outputs, metrics are given per output (a dict by name or a
        list of lists), named '<output>_<metric>' as Keras does."""
        if self._compile_metrics is None:
            pairs = self._metric_pairs(self._metric_specs, False)
            taken = {m.name for _, m, _ in pairs}
            for index, m, _ in self._metric_pairs(self._weighted_metric_specs, True):
                if m.name in taken:  # Keras's name for a weighted twin of a metric
                    prefix = self._output_names()[index] + "_" if len(self._output_names()) > 1 else ""
                    m.name = prefix + "weighted_" + m.name[len(prefix):]
                taken.add(m.name)
                pairs.append((index, m, True))
            self._metric_outputs = pairs
            self._compile_metrics = [m for _, m, _ in pairs]
        return self._compile_metrics

    def _metric_pairs(self, specs, weighted):
        """The metrics of one compile() argument, as (output index, metric, weighted)."""
        names = self._output_names()
        shapes = self._output_shape_list()
        fns = self._per_output(self._loss_fns, "loss") if self._loss_fns is not None else [None] * len(names)
        if len(names) == 1:
            per_output = [specs if isinstance(specs, (list, tuple)) else [specs]]
            if isinstance(specs, dict):
                per_output = [self._per_output(specs, "metrics", [])[0]]
        elif isinstance(specs, dict) or (specs and all(isinstance(m, (list, tuple)) or m is None for m in specs)):
            per_output = self._per_output(specs, "metrics", [])
        elif specs:
            raise ValueError(f"The model has {len(names)} outputs {names}: give `metrics` per output, as a "
                             "dict by output name or a list of lists. Received: "
                             f"{specs!r}"[:300])
        else:
            per_output = [[] for _ in names]
        pairs = []
        for index, (ms, fn, shape) in enumerate(zip(per_output, fns, shapes)):
            for spec in ([ms] if isinstance(ms, str) else list(ms or [])):
                m = metrics_module.get(spec, fn, shape)
                if len(names) > 1:
                    m.name = f"{names[index]}_{m.name}"
                pairs.append((index, m, weighted))
        return pairs

    @property
    def metrics(self):
        if not self.compiled:
            return []
        return [self._loss_tracker] + self._metric_objects() + self._output_loss_trackers()

    def _output_loss_trackers(self):
        """With a loss on more than one output, the mean of each output's
        unweighted loss, logged as '<output>_loss' (as Keras 3 does)."""
        if self._loss_trackers is None:  # made once per compile(), as the metrics are
            names = self._output_names()
            trackers = []
            if isinstance(self._loss_fns, (list, dict)) or (self._loss_fns is not None and len(names) > 1):
                fns = self._per_output(self._loss_fns, "loss")
                if sum(fn is not None for fn in fns) > 1:
                    trackers = [None if fn is None else metrics_module.Mean(name=f"{name}_loss")
                                for fn, name in zip(fns, names)]
            self._loss_trackers = trackers
        return [t for t in self._loss_trackers if t is not None]

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    # ------------------------------------------------------------ steps
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """compile()'s loss(es) of (y, y_pred), weighted, plus the losses the
        layers added during the forward pass (``add_loss``)."""
        total = self._compiled_loss(y, y_pred, sample_weight)
        extra = self.losses
        if extra:
            from .. import ops
            for value in extra:
                total = value if total is None else ops.add(total, value)
        if total is None:
            raise ValueError("compile() was called without a `loss`, and no layer added one: pass one, "
                             "or override compute_loss / train_step.")
        return total

    def _output_names(self):
        """Output names, in the order of the flattened outputs: a dict's keys
        for dict outputs, else the output layers' names."""
        if self._graph is None:
            return ["output"]
        if isinstance(self._graph.outputs_struct, dict):
            return sorted(self._graph.outputs_struct)
        return [t.name for t in self._graph.outputs]

    def _per_output(self, spec, what, default=None):
        """A compile() argument (one value, a list, or a dict by output name)
        as one entry per output."""
        names = self._output_names()
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - set(names))
            if unknown:
                raise ValueError(f"`{what}` names outputs {unknown} that the model does not have. "
                                 f"Expected some of {names}")
            return [spec.get(n, default) for n in names]
        if isinstance(spec, (list, tuple)):
            if len(spec) != len(names):
                raise ValueError(f"The model has {len(names)} outputs {names}; `{what}` has {len(spec)} entries.")
            return list(spec)
        return [spec] * len(names)

    def _targets_per_output(self, y):
        names = self._output_names()
        if isinstance(y, dict):
            missing = [n for n in names if n not in y]
            if missing and len(names) > 1:
                raise ValueError(f"The targets lack the outputs {missing}. Received keys: {sorted(y)}")
            return [y.get(n) for n in names]
        ys = flatten(y) if isinstance(y, (list, tuple)) else [y]
        if len(ys) != len(names):
            raise ValueError(f"The model has {len(names)} outputs {names}. Received: {len(ys)} targets")
        return ys

    def _compiled_loss(self, y, y_pred, sample_weight=None):
        fns = self._loss_fns
        if fns is None:
            return None
        preds = flatten(y_pred)
        if len(preds) == 1 and not isinstance(fns, (list, dict)):
            return _apply_loss(fns, y, y_pred if not isinstance(y_pred, (list, tuple, dict)) else preds[0],
                               sample_weight)
        fn_list = self._per_output(fns, "loss")
        weights = self._per_output(self._loss_weights, "loss_weights", 1.0) if self._loss_weights is not None \
            else [1.0] * len(fn_list)
        ys = self._targets_per_output(y)
        total = None
        from .. import ops
        self._output_loss_trackers()
        trackers = self._loss_trackers or [None] * len(fn_list)
        for fn, t, p, w, tracker in zip(fn_list, ys, preds, weights, trackers):
            if fn is None:
                continue
            value = _apply_loss(fn, t, p, sample_weight)
            if tracker is not None:
                tracker.update_state(float(value), sample_weight=_n_samples(p) or 1)
            if w != 1.0:
                value = ops.multiply(value, float(w))
            total = value if total is None else ops.add(total, value)
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        pairs = self._metric_objects()
        if pairs:
            ys = self._targets_per_output(y)
            preds = flatten(y_pred)
            for index, m, weighted in self._metric_outputs:
                m.update_state(_to_array(ys[index]), _to_array(preds[index]),
                               sample_weight=sample_weight if weighted else None)
        return self.get_metrics_result()

    def get_metrics_result(self):
        return {m.name: _log_value(m.result()) for m in self.metrics}

    def train_step(self, data):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        with GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            scaled = self.optimizer.scale_loss(loss)  # loss_scale_factor; apply divides it back out
        value = float(loss)
        self._loss_tracker.update_state(value, sample_weight=_n_samples(x) or 1)
        if math.isfinite(value):
            variables = self.trainable_weights
            grads = tape.gradient(scaled, variables)
            self.optimizer.apply_gradients(zip(grads, variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=False)
        self._loss_tracker.update_state(float(loss), sample_weight=_n_samples(x) or 1)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = unpack_x_y_sample_weight(data)
        return self(x, training=False)

    # ------------------------------------------------------------ data
    def _prepare_x(self, x, what="x"):
        if x is None:
            raise ValueError(f"`{what}` is required. Received: None")
        def one(v):
            arr = _to_array(v)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"`{what}` must be a numeric array. Received: dtype {arr.dtype}")
            return np.ascontiguousarray(arr, dtype=np.float32)
        x = map_structure(one, x)
        if isinstance(x, dict) and self._graph is not None and not isinstance(self._graph.inputs_struct, dict):
            missing = [t.name for t in self._graph.inputs if t.name not in x]
            if missing:
                raise ValueError(f"`{what}` is a dict; it lacks the model inputs {missing}. Received keys: {sorted(x)}")
            x = [x[t.name] for t in self._graph.inputs]
            if len(x) == 1:
                x = x[0]
        flat = flatten(x)
        if self._graph is not None:
            if len(flat) != len(self._graph.inputs):
                raise ValueError(f"Model '{self.name}' expects {len(self._graph.inputs)} inputs. "
                                 f"Received: {len(flat)}")
            for t, arr in zip(self._graph.inputs, flat):
                if arr.ndim != len(t.shape) or any(a is not None and a != b for a, b in zip(t.shape[1:], arr.shape[1:])):
                    raise ValueError(f"Input has the wrong shape: expected input shape {_shape_str(t.shape)}, "
                                     f"received {tuple(arr.shape)}")
        n = flat[0].shape[0] if flat and flat[0].ndim else None
        if n is None or any(a.ndim == 0 or a.shape[0] != n for a in flat):
            raise ValueError(f"Every input array must hold the same number of samples. Received shapes "
                             f"{[tuple(a.shape) for a in flat]}")
        if not self.built:
            self.build(map_structure(lambda a: (None,) + a.shape[1:], x))
        return x

    def _prepare_y(self, y, n):
        if y is None:
            if self._loss_fns is None:
                return None
            raise ValueError("`y` is required for training and evaluation. Received: None")
        fns = self._loss_fns
        shapes = self._output_shape_list()

        def check(arr, fn, out_shape):
            arr = _to_array(arr)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"`y` must be a numeric array. Received: dtype {arr.dtype}")
            if arr.ndim == 0 or arr.shape[0] != n:
                raise ValueError(f"`x` and `y` must hold the same number of samples. Received: "
                                 f"{n} inputs and labels of shape {tuple(arr.shape)}")
            if not isinstance(fn, losses_module.Loss) or out_shape is None:
                return np.ascontiguousarray(arr, dtype=np.float32 if arr.dtype.kind == "f" else arr.dtype)
            if fn.sparse:
                fn.check_shapes(arr.shape, out_shape)
                if arr.ndim == len(out_shape):  # a trailing 1: one class index per output row
                    arr = arr.reshape(arr.shape[:-1])
                if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
                    raise ValueError("Sparse labels must be integer class indices.")
                return np.ascontiguousarray(arr, dtype=np.int64)
            if arr.ndim == 1 and out_shape[-1] == 1 and len(out_shape) == 2:
                arr = arr.reshape(n, 1)
            if tuple(arr.shape[1:]) != tuple(out_shape[1:]) and None not in out_shape[1:]:
                hint = ""
                if arr.ndim == 1 and isinstance(fn, losses_module.CategoricalCrossentropy):
                    hint = " (use to_categorical on integer labels, or loss='sparse_categorical_crossentropy')"
                raise ValueError(f"Labels do not fit the model output: expected labels of shape "
                                 f"{_shape_str(out_shape)} for loss '{fn.name}', received "
                                 f"{tuple(arr.shape)}{hint}")
            return np.ascontiguousarray(arr, dtype=np.float32)

        names = self._output_names()
        if len(names) > 1 or isinstance(fns, (list, dict)):
            fn_list = self._per_output(fns, "loss") if fns is not None else [None] * len(names)
            ys = self._targets_per_output(y)
            checked = [None if a is None else check(a, f, sh) for a, f, sh in zip(ys, fn_list, shapes)]
            return dict(zip(names, checked)) if isinstance(y, dict) else checked
        return check(flatten(y)[0] if isinstance(y, (list, tuple)) else y, fns, shapes[0])

    @staticmethod
    def _check_batch_size(batch_size):
        if batch_size is None:
            return 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive int. Received: {batch_size!r}")
        return int(batch_size)

    @staticmethod
    def _check_finite(arr, name):
        for a in flatten(arr):
            if a.dtype.kind == "f" and not np.isfinite(a).all():
                bad = np.argwhere(~np.isfinite(a.reshape(a.shape[0], -1)))
                raise ValueError(f"`{name}` holds {len(bad)} NaN or infinite values; the first is in sample {bad[0][0]}.")

    def _device_batch(self, x):
        if self._device == "cpu":
            return map_structure(Tensor, x)
        return map_structure(lambda a: Tensor(_core.to_device(a)), x)

    # ------------------------------------------------------------ loops
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            check_finite=False, steps_per_epoch=None, class_weight=None, sample_weight=None,
            validation_batch_size=None, validation_freq=1, validation_steps=None):
        self._require_compiled("fit")
        batch_size = self._check_batch_size(batch_size)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"`epochs` must be a non-negative int. Received: {epochs!r}")
        # A PyDataset, generator or iterable of batches is read batch by batch.
        stream = data_adapters.get_adapter(x, y, sample_weight, steps_per_epoch, shuffle)
        if stream is not None and validation_split:
            raise ValueError("`validation_split` needs arrays; with a PyDataset, generator or iterable give "
                             f"`validation_data`. Received: validation_split={validation_split}")
        if stream is not None:
            x = y = sw = None
            n, steps = 0, stream.steps
        else:
            if isinstance(x, tuple) and y is None and len(x) in (2, 3) and not self._graph_takes_tuple(x):
                x, y = x[0], x[1]
            x = self._prepare_x(x)
            n = _n_samples(x)
            y = self._prepare_y(y, n)
            sw = self._sample_weights(sample_weight, class_weight, y, n)
        if not 0 <= validation_split < 1:
            raise ValueError(f"`validation_split` must be in [0, 1). Received: {validation_split}")
        vstream = data_adapters.get_adapter(validation_data, steps=validation_steps, steps_name="validation_steps",
                                            what="validation_data")
        if vstream is not None:
            vx = vy = None
        elif validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("`validation_data` must be a tuple (x_val, y_val), a PyDataset, a generator or "
                                 f"an iterable of batches. Received: {type(validation_data).__name__}")
            vx = self._prepare_x(validation_data[0], "validation_data[0]")
            vy = self._prepare_y(validation_data[1], _n_samples(vx))
            vsw = self._sample_weights(validation_data[2], None, vy, _n_samples(vx)) \
                if len(validation_data) == 3 else None
        elif validation_split:
            # As Keras: the last fraction of the data, taken before shuffling.
            split = int(n * (1 - validation_split))
            vx = map_structure(lambda a: a[split:], x)
            vy = map_structure(lambda a: a[split:], y)
            x = map_structure(lambda a: a[:split], x)
            y = map_structure(lambda a: a[:split], y)
            vsw = None if sw is None else sw[split:]
            sw = None if sw is None else sw[:split]
            n = split
        else:
            vx = vy = vsw = None
        if check_finite and stream is None:
            self._check_finite(x, "x")
            if y is not None:
                self._check_finite(y, "y")
        if stream is None:
            steps = steps_per_epoch or max(1, -(-n // batch_size))
            m = min(batch_size, max(n, 1))
            xb = map_structure(lambda a: cuda.host_buffer((m,) + a.shape[1:], self._device) if a.dtype == np.float32
                               else np.empty((m,) + a.shape[1:], a.dtype), x)
            yb = map_structure(lambda a: np.empty((m,) + a.shape[1:], a.dtype), y)
            wb = None if sw is None else np.empty((m,), np.float32)

        def epoch_batches():
            if stream is not None:
                return stream.batches(self, class_weight=class_weight)
            order = utils.rng().permutation(n) if shuffle else None
            return _array_batches(x, y, sw, n, batch_size, steps, order, (xb, yb, wb))

        def validate(cblist):
            if vstream is not None:
                return self._evaluate_batches(vstream.batches(self), cblist=cblist)
            if vx is None:
                return None
            vn = _n_samples(vx)
            return self._evaluate_batches(_array_batches(vx, vy, vsw, vn, batch_size), None,
                                          -(-vn // batch_size), cblist)
        try:
            return self._fit_loop(epoch_batches, steps, epochs, initial_epoch, verbose, callbacks, batch_size,
                                  validate)
        finally:  # worker processes kept across epochs stop here
            for s in (stream, vstream):
                if s is not None:
                    s.close()

    def _fit_loop(self, epoch_batches, steps, epochs, initial_epoch, verbose, callbacks, batch_size, validate):
        """fit's epochs: callbacks around train_step on each batch that
        ``epoch_batches()`` yields, then ``validate()``'s logs as val_*."""
        verbose = 1 if verbose == "auto" else int(verbose)
        history = callbacks_module.History()
        # As in Keras, History comes after the user's callbacks, so it records
        # what they add to the logs (ReduceLROnPlateau's learning_rate).
        cbs = list(callbacks or []) + [history]
        if verbose and not any(isinstance(c, callbacks_module.ProgbarLogger) for c in cbs):
            cbs.append(callbacks_module.ProgbarLogger(verbose))
        cblist = callbacks_module.CallbackList(cbs, self, {"epochs": epochs, "steps": steps,
                                                           "verbose": verbose, "batch_size": batch_size})
        self.stop_training = False
        self._initial_epoch = None
        cblist.on_train_begin()
        # BackupAndRestore sets _initial_epoch in on_train_begin to resume.
        initial_epoch = self._initial_epoch or initial_epoch
        self._initial_epoch = None
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cblist.on_epoch_begin(epoch)
            for step, (bx, by, bw) in enumerate(epoch_batches()):
                cblist.on_train_batch_begin(step)
                data = (self._device_batch(bx), by) if bw is None else (self._device_batch(bx), by, bw)
                logs = self.train_step(data)
                logs = {k: _log_value(v) for k, v in logs.items()}
                loss = logs.get("loss", 0.0)
                if not math.isfinite(loss):
                    msg = (f"Non-finite loss ({loss}) at epoch {epoch + 1}, step {step + 1}: "
                           "training stopped. Lower the learning rate or check the data "
                           "(fit(..., check_finite=True) reports NaN or inf in the inputs).")
                    print(msg, file=sys.stderr)
                    self.stop_training = True
                    cblist.on_train_batch_end(step, logs)
                    break
                cblist.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            val = None if self.stop_training else validate(cblist)
            if val is not None:
                logs.update({"val_" + k: v for k, v in val.items()})
            cblist.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        if epochs > initial_epoch:  # use_ema: the weights become their moving average, as in Keras
            self.optimizer.finalize_variable_values(self.trainable_weights)
        cblist.on_train_end(logs)
        self.history = history
        return history

    def _sample_weights(self, sample_weight, class_weight, y, n):
        """One float32 weight per sample, from ``sample_weight`` and/or
        ``class_weight`` (a dict class -> weight, applied to the labels)."""
        w = None
        if sample_weight is not None:
            w = np.asarray(_to_array(sample_weight), np.float32).reshape(-1)
            if w.shape[0] != n:
                raise ValueError(f"`sample_weight` needs one weight per sample ({n}). "
                                 f"Received: shape {tuple(np.shape(sample_weight))}")
        if class_weight is not None:
            if not isinstance(class_weight, dict):
                raise ValueError(f"`class_weight` must be a dict of class: weight. Received: {class_weight!r}")
            labels = flatten(y)[0]
            classes = labels.reshape(n) if labels.ndim == 1 or labels.shape[-1] == 1 else np.argmax(labels, axis=-1)
            if labels.ndim > 1 and labels.shape[-1] == 1:
                classes = (labels.reshape(n) > 0.5).astype(np.int64) if labels.dtype.kind == "f" else labels.reshape(n)
            cw = np.array([float(class_weight.get(int(c), 1.0)) for c in range(int(classes.max()) + 1)], np.float32)
            cls_w = cw[classes.astype(np.int64)]
            w = cls_w if w is None else w * cls_w
        return w

    def _graph_takes_tuple(self, x):
        return self._graph is not None and isinstance(self._graph.inputs_struct, tuple) and \
            len(x) == len(self._graph.inputs)

    def _evaluate_batches(self, batches, bar=None, steps=None, cblist=None):
        """Loss and metrics over the (x, y, sample_weight) batches in
        inference mode (evaluate's, fit's validation; from a stream or
        ``_array_batches``); a CallbackList gets the test hooks."""
        self.reset_metrics()
        logs = {}
        if cblist is not None:
            cblist.on_test_begin()
        step = 0
        for step, (bx, by, bw) in enumerate(batches, 1):
            if cblist is not None:
                cblist.on_test_batch_begin(step - 1)
            data = (self._device_batch(bx), by) if bw is None else (self._device_batch(bx), by, bw)
            logs = {k: _log_value(v) for k, v in self.test_step(data).items()}
            if cblist is not None:
                cblist.on_test_batch_end(step - 1, logs)
            if bar:
                bar.update(step, logs, finalize=step == steps)
        if bar and steps is None:
            bar.update(step, logs, finalize=True)
        if cblist is not None:
            cblist.on_test_end(logs)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False,
                 callbacks=None, steps=None, sample_weight=None):
        self._require_compiled("evaluate")
        batch_size = self._check_batch_size(batch_size)
        verbose = 1 if verbose == "auto" else int(verbose)
        stream = data_adapters.get_adapter(x, y, sample_weight, steps, steps_name="steps")
        if stream is not None:
            steps = stream.steps
            batches = stream.batches(self)
        else:
            x = self._prepare_x(x)
            n = _n_samples(x)
            y = self._prepare_y(y, n)
            steps = -(-n // batch_size)
            batches = _array_batches(x, y, self._sample_weights(sample_weight, None, y, n), n, batch_size)
        bar = utils.Progbar(steps, verbose=verbose) if verbose else None
        # As Keras: the callbacks get the test hooks.
        cblist = callbacks_module.CallbackList(list(callbacks or []), self, {
            "steps": steps, "verbose": verbose, "batch_size": batch_size})
        try:
            result = self._evaluate_batches(batches, bar, steps, cblist)
        finally:
            if stream is not None:
                stream.close()
        if return_dict:
            return result
        return result["loss"] if len(result) == 1 else list(result.values())

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        batch_size = self._check_batch_size(batch_size)
        stream = data_adapters.get_adapter(x, steps=steps, steps_name="steps")
        if stream is not None:
            inputs = (bx for bx, _, _ in stream.batches(self, need_y=False))
        else:
            x = self._prepare_x(x)
            n = _n_samples(x)
            inputs = (bx for bx, _, _ in _array_batches(x, None, None, n, batch_size))
        chunks = []
        cblist = callbacks_module.CallbackList(list(callbacks or []), self, {
            "steps": stream.steps if stream is not None else -(-n // batch_size), "verbose": verbose,
            "batch_size": batch_size})
        cblist.on_predict_begin()
        try:
            for step, bx in enumerate(inputs):
                cblist.on_predict_batch_begin(step)
                out = self.predict_step(self._device_batch(bx))
                chunks.append(map_structure(lambda t: np.asarray(t.value if isinstance(t, Tensor) else t,
                                                                 dtype=np.float32), out))
                cblist.on_predict_batch_end(step, {"outputs": chunks[-1]})
        finally:  # its worker processes stop when predict ends, however it ends
            if stream is not None:
                stream.close()
        cblist.on_predict_end()
        if not chunks:
            return np.zeros((0,), np.float32)
        first = chunks[0]
        if isinstance(first, np.ndarray):
            return np.concatenate(chunks, axis=0)
        return _zip_concat(chunks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        self._require_compiled("train_on_batch")
        x = self._prepare_x(x)
        y = self._prepare_y(y, _n_samples(x))
        self.reset_metrics()
        sw = self._sample_weights(sample_weight, class_weight, y, _n_samples(x))
        data = (self._device_batch(x), y) if sw is None else (self._device_batch(x), y, sw)
        logs = {k: _log_value(v) for k, v in self.train_step(data).items()}
        return self._batch_result(logs, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        self._require_compiled("test_on_batch")
        x = self._prepare_x(x)
        y = self._prepare_y(y, _n_samples(x))
        self.reset_metrics()
        sw = self._sample_weights(sample_weight, None, y, _n_samples(x))
        data = (self._device_batch(x), y) if sw is None else (self._device_batch(x), y, sw)
        logs = {k: _log_value(v) for k, v in self.test_step(data).items()}
        return self._batch_result(logs, return_dict)

    @staticmethod
    def _batch_result(logs, return_dict):
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def predict_on_batch(self, x):
        out = self.predict_step(self._device_batch(self._prepare_x(x)))
        return map_structure(lambda t: np.asarray(t.value if isinstance(t, Tensor) else t), out)

    # ------------------------------------------------------------ config and files
    def get_config(self):
        if self._graph is None:
            return {"name": self.name, "trainable": self.trainable}
        return _functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config:
            return _functional_from_config(config, custom_objects)
        return cls(**config)

    def save(self, filepath, overwrite=True, **kwargs):
        """Writes architecture, weights and optimizer state to one file,
        atomically, in the format the extension names: ``.keras`` (Keras 3's
        archive), ``.h5``/``.hdf5`` (the legacy Keras format), else ember's
        own checksummed format (``.ember``)."""
        self._require_built("save")
        kind = _file_kind(filepath)
        if kind != "ember":
            from .. import saving_keras
            return (saving_keras.save_keras if kind == "keras" else saving_keras.save_legacy_h5)(self, filepath)
        header = {"format": "ember", "kind": "model", "class_name": type(self).__name__,
                  "config": self.get_config(), "n_weights": len(self.weights)}
        arrays = self.get_weights()
        if self.compiled:
            header["compile"] = {"optimizer": optimizers.serialize(self.optimizer),
                                 "loss": losses_module.serialize(self._loss_fns),
                                 "metrics": map_structure(lambda m: m if isinstance(m, str) else m.name, self._metric_specs),
                                 "iterations": self.optimizer._iterations}
            arrays += self.optimizer.get_state(self.trainable_weights)
        saving.write_file(filepath, header, arrays)

    def save_weights(self, filepath, overwrite=True, **kwargs):
        """``.weights.h5``: Keras 3's weights file; ``.h5``: the legacy
        layout; else ember's own format."""
        self._require_built("save_weights")
        kind = _file_kind(filepath)
        if kind != "ember":
            from .. import saving_keras
            if kind == "keras":
                raise ValueError(f"save_weights writes weights only: use a '.weights.h5' name, or "
                                 f"model.save() for a .keras file. Received: filepath={filepath!r}")
            return (saving_keras.save_weights_h5 if kind == "weights.h5"
                    else saving_keras.save_legacy_weights)(self, filepath)
        shapes = [list(w.shape) for w in self.weights]
        saving.write_file(filepath, {"format": "ember", "kind": "weights", "shapes": shapes,
                                     "n_weights": len(shapes)}, self.get_weights())

    def load_weights(self, filepath, skip_mismatch=False, by_name=False, **kwargs):
        """Reads weights written by ``save_weights`` or ``save`` (ember's
        format, ``.weights.h5``, ``.keras`` or legacy ``.h5``, told apart by
        their content). ``skip_mismatch`` skips layers whose weights do not
        fit (Keras formats); ``by_name`` matches legacy ``.h5`` layers by name."""
        self._require_built("load_weights")
        if kwargs:
            raise TypeError(f"load_weights got unexpected keyword arguments: {sorted(kwargs)}")
        if saving.sniff(filepath) != "ember":
            from .. import saving_keras
            return saving_keras.load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name)
        header, arrays = saving.read_file(filepath, expected_kind="weights")
        n = int(header.get("n_weights", len(arrays)))
        self._check_architecture(arrays[:n], filepath)
        self.set_weights(arrays[:n])

    def export(self, filepath, format="onnx", verbose=None, input_signature=None, **kwargs):
        """Keras 3's ``export``; ember writes ``format="onnx"`` (needs
        ``pip install "ember[onnx]"``); ``opset_version`` may be given."""
        if format != "onnx":
            raise ValueError(f"ember exports format='onnx' only. Received: format={format!r}")
        from .. import export_onnx
        return export_onnx.to_onnx(self, filepath, **kwargs)

    def _check_architecture(self, arrays, filepath):
        mine = self.weights
        if len(arrays) != len(mine):
            raise ValueError(f"'{filepath}' holds {len(arrays)} weight arrays but model '{self.name}' has "
                             f"{len(mine)}: the architectures do not match")
        for var, arr in zip(mine, arrays):
            if tuple(arr.shape) != tuple(var.shape):
                raise ValueError(f"Architecture mismatch loading '{filepath}': weight '{var.path}' has shape "
                                 f"{tuple(var.shape)} in the model but {tuple(arr.shape)} in the file")


def _log_value(v):
    """A metric's result for the logs: a float, or an array for a metric
    with one value per class or threshold (as Keras logs them)."""
    return float(v) if np.ndim(v) == 0 else np.asarray(v, np.float64)


def _file_kind(filepath):
    """The format a file name asks for, by extension, as Keras 3 chooses."""
    import os
    name = os.fspath(filepath).lower()
    if name.endswith(".keras"):
        return "keras"
    if name.endswith(".weights.h5"):
        return "weights.h5"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    return "ember"


def utils_name(cls):
    from ..layers.base import _snake, _unique_name
    base = "functional" if cls.__name__ in ("Model", "Functional") else _snake(cls.__name__)
    return _unique_name(base)


def _call_layer(layer, args, kwargs):
    return layer(*args, **kwargs)


def _apply_loss(fn, y_true, y_pred, sample_weight=None):
    from .. import ops
    if isinstance(y_true, Tensor) or y_true is None:
        yt = y_true
    else:
        yt = np.asarray(y_true)
    if sample_weight is not None:
        if not isinstance(fn, losses_module.Loss):
            fn = losses_module.LossFunctionWrapper(fn)
        out = fn(yt, y_pred, sample_weight=sample_weight)
    else:
        out = fn(yt, y_pred)
    if not isinstance(out, Tensor):
        out = convert_to_tensor(out)
    if out.ndim:
        out = ops.mean(out)
    return out


def _array_batches(x, y, sw, n, batch_size, steps=None, order=None, buffers=None):
    """(x, y, sample_weight) batches of the n samples of arrays, as fit,
    evaluate and predict read them: ``steps`` batches (enough for one pass
    when None), wrapping around past the end; in the given ``order`` (a
    permutation), gathered into ``buffers`` (xb, yb, wb), else sliced in place."""
    steps = -(-n // batch_size) if steps is None else steps
    for step in range(steps):
        lo = (step * batch_size) % max(n, 1)
        hi = min(lo + batch_size, n)
        if order is not None:
            idx = order[lo:hi]
            yield tuple(_zip_take(src, buf, idx, hi - lo) for src, buf in zip((x, y, sw), buffers))
        else:
            yield tuple(None if src is None else map_structure(lambda a: a[lo:hi], src) for src in (x, y, sw))


def _zip_take(src, buf, idx, count):
    if src is None:
        return None
    if isinstance(src, (list, tuple)):
        return type(src)(_zip_take(s, b, idx, count) for s, b in zip(src, buf))
    if isinstance(src, dict):
        return {k: _zip_take(src[k], buf[k], idx, count) for k in src}
    out = buf[:count]
    np.take(src, idx, axis=0, out=out)
    return out


def _zip_concat(chunks):
    first = chunks[0]
    if isinstance(first, (list, tuple)):
        return type(first)(_zip_concat([c[i] for c in chunks]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _zip_concat([c[k] for c in chunks]) for k in first}
    return np.concatenate(chunks, axis=0)


# ---------------------------------------------------------------- functional config
def _functional_config(model):
    graph = model._graph
    node_ids = {}
    layers_cfg = []
    for layer in [t._keras_history[0] for t in graph.inputs] + graph.layers:
        entry = {"class_name": type(layer).__name__, "name": layer.name, "config": layer.get_config(),
                 "inbound_nodes": []}
        layers_cfg.append(entry)
    by_name = {e["name"]: e for e in layers_cfg}
    for node in graph.nodes:
        layer = node.layer
        index = layer._inbound_nodes.index(node)

        def ref(v):
            if isinstance(v, KerasTensor):
                l, i, j = v._keras_history
                return {"__keras_tensor__": [l.name, i, j]}
            return v
        by_name[layer.name]["inbound_nodes"].append(
            {"node_index": index, "args": map_structure(ref, list(node.args)),
             "kwargs": map_structure(ref, dict(node.kwargs))})

    def tensor_ref(t):
        l, i, j = t._keras_history
        return [l.name, i, j]
    return {"name": model.name, "trainable": model.trainable, "layers": layers_cfg,
            "input_layers": map_structure(tensor_ref, graph.inputs_struct),
            "output_layers": map_structure(tensor_ref, graph.outputs_struct)}


def _functional_from_config(config, custom_objects=None):
    from .. import layers as layers_module
    created = {}
    tensors = {}
    for entry in config["layers"]:
        if "__layer__" in entry:  # made already (ember.saving_keras)
            layer = entry["__layer__"]
            if isinstance(layer, InputLayer):
                tensors[(layer.name, 0, 0)] = layer.output
            created[entry["name"]] = layer
            continue
        cls = layers_module.get(entry["class_name"], custom_objects)
        cfg = dict(entry["config"])
        if cls is InputLayer:
            layer = InputLayer(shape=cfg["shape"], batch_size=cfg.get("batch_size"), dtype=cfg.get("dtype"),
                               name=cfg["name"])
            tensors[(layer.name, 0, 0)] = layer.output
        else:
            layer = cls.from_config(cfg)
        created[entry["name"]] = layer
    pending = [(e, n) for e in config["layers"] for n in e["inbound_nodes"]]
    # Recreate calls in an order that has every argument available.
    progress = True
    while pending and progress:
        progress = False
        rest = []
        for entry, node in pending:
            refs = _refs(node)
            if all(r in tensors for r in refs):
                def deref(v):
                    if isinstance(v, dict) and "__keras_tensor__" in v:
                        return tensors[tuple(v["__keras_tensor__"])]
                    if isinstance(v, dict):
                        return {k: deref(x) for k, x in v.items()}
                    if isinstance(v, list):
                        return [deref(x) for x in v]
                    return v
                layer = created[entry["name"]]
                args = deref(node["args"])
                kwargs = deref(node["kwargs"])
                out = layer(*args, **kwargs)
                for j, t in enumerate(flatten(out)):
                    tensors[(entry["name"], node["node_index"], j)] = t
                progress = True
            else:
                rest.append((entry, node))
        pending = rest
    if pending:
        raise ValueError("The functional config cannot be rebuilt: some layer calls refer to tensors "
                         "that no call produces.")

    def get(ref):
        return tensors[tuple(ref)]

    def is_ref(v):
        return isinstance(v, list) and len(v) == 3 and isinstance(v[0], str)

    def build(v):
        if is_ref(v):
            return get(v)
        if isinstance(v, dict):
            return {k: build(x) for k, x in v.items()}
        return [build(x) for x in v]
    from . import Functional
    return Functional(build(config["input_layers"]), build(config["output_layers"]), name=config.get("name"))


def _refs(node):
    out = []

    def walk(v):
        if isinstance(v, dict):
            if "__keras_tensor__" in v:
                out.append(tuple(v["__keras_tensor__"]))
            else:
                for x in v.values():
                    walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(node["args"])
    walk(node["kwargs"])
    return out

