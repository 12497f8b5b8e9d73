"""Sequential: compile, fit, evaluate, predict, summary, save and load.

One loop over NumPy arrays: each batch is gathered (shuffled rows) into a
reused float32 buffer, every layer hands it to ember._core, and the
optimizer updates the weights in place. No per-sample Python.
"""
import math
import sys

import numpy as np

from . import _core, callbacks as callbacks_module, cuda, layers as layers_module, losses, metrics
from . import optimizers, saving, utils
from .layers.base import InputLayer, Layer, _unique_name


def _shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


class Sequential:
    """A linear stack of layers, built from a list or with ``add``."""

    def __init__(self, layers=None, name=None, trainable=True):
        self.name = name or _unique_name("sequential")
        self.trainable = trainable
        self._layers = []
        self._input_shape = None  # without the batch axis
        self.built = False
        self.optimizer = None
        self.loss = None
        self.compiled = False
        self.stop_training = False
        self.history = None
        self._device = "cpu"
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------ structure
    def add(self, layer):
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer. Received: {layer!r}")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("An Input must come first in a Sequential model.")
            self._input_shape = tuple(layer.shape[1:])
            return
        if not self._layers and self._input_shape is None and layer._declared_input_shape is not None:
            self._input_shape = tuple(layer._declared_input_shape)
        self._layers.append(layer)
        self.built = False
        if self._input_shape is not None:
            self.build()

    def pop(self):
        if not self._layers:
            raise ValueError("There are no layers to pop.")
        layer = self._layers.pop()
        self.built = False
        return layer

    @property
    def layers(self):
        return list(self._layers)

    @property
    def input_shape(self):
        return None if self._input_shape is None else (None,) + self._input_shape

    @property
    def output_shape(self):
        self._require_built("output_shape")
        return self._layers[-1].output_shape if self._layers else self.input_shape

    def build(self, input_shape=None):
        if input_shape is not None:
            input_shape = tuple(input_shape)
            self._input_shape = input_shape[1:] if len(input_shape) and input_shape[0] is None else input_shape
        if self._input_shape is None:
            raise ValueError("The model's input shape is unknown: give the first layer `input_shape=`, "
                             "start with Input(shape=...), or call build((None, ...)).")
        shape = (None,) + tuple(self._input_shape)
        for layer in self._layers:
            if layer.built and layer.input_shape is not None and tuple(layer.input_shape[1:]) != tuple(shape[1:]):
                raise ValueError(f"Layer '{layer.name}' was built for input {_shape_str(layer.input_shape)}, "
                                 f"received {_shape_str(shape)}")
            layer._ensure_built(shape)
            shape = layer.output_shape
        for i, layer in enumerate(self._layers):
            # The first layer's input gradient is never used: skip computing it.
            if hasattr(layer, "_need_dx"):
                layer._need_dx = i > 0
            # Conv2D(relu) then MaxPooling2D: the pooling backward applies the
            # ReLU's gradient, and the convolution skips its own mask pass.
            if hasattr(layer, "_grad_premasked"):
                nxt = self._layers[i + 1] if i + 1 < len(self._layers) else None
                fuse = isinstance(nxt, layers_module.MaxPooling2D) and layer._fused_relu
                layer._grad_premasked = fuse
                if nxt is not None and hasattr(nxt, "_relu_input"):
                    nxt._relu_input = fuse
        if self._device != "cpu":
            for layer in self._layers:
                layer._to(self._device)
        self.built = True

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
        for layer in self._layers:
            if layer.built:
                layer._to(device)
        if self.optimizer is not None:
            self.optimizer._to(device)
        return self

    def _require_built(self, what):
        if not self.built:
            raise ValueError(f"This model has not been built yet, so `{what}` is unknown. Give the first "
                             "layer an `input_shape`, or call build() or fit() first.")

    # ------------------------------------------------------------ weights
    @property
    def weights(self):
        return [w for layer in self._layers for w in layer.weights]

    @property
    def trainable_weights(self):
        return [w for layer in self._layers for w in layer.trainable_weights] if self.trainable else []

    @property
    def non_trainable_weights(self):
        tw = {id(w) for w in self.trainable_weights}
        return [w for w in self.weights if id(w) not in tw]

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        self._require_built("weights")
        weights = list(weights)
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(f"Model '{self.name}' expects {len(mine)} weight arrays. Received: {len(weights)}")
        for var, value in zip(mine, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise ValueError(f"Weight '{var.name}' has shape {var.shape}; received an array of shape {value.shape}")
        for var, value in zip(mine, weights):
            var.assign(value)

    def count_params(self):
        return sum(layer.count_params() for layer in self._layers)

    # ------------------------------------------------------------ summary
    def summary(self, line_length=None, print_fn=None):
        self._require_built("summary")
        widths = [33, 26, 12]
        if line_length:
            widths = [max(10, int(line_length * f)) for f in (0.45, 0.35, 0.2)]
        total = sum(widths)
        lines = [f'Model: "{self.name}"', "_" * total,
                 "Layer (type)".ljust(widths[0]) + "Output Shape".ljust(widths[1]) + "Param #".rjust(widths[2]),
                 "=" * total]
        for i, layer in enumerate(self._layers):
            lines.append(f"{layer.name} ({type(layer).__name__})"[:widths[0] - 1].ljust(widths[0])
                         + _shape_str(layer.output_shape).ljust(widths[1])
                         + f"{layer.count_params():,}".rjust(widths[2]))
            lines.append("_" * total if i < len(self._layers) - 1 else "=" * total)
        if not self._layers:
            lines.append("=" * total)
        trainable = sum(w.value.size for w in self.trainable_weights)
        lines += [f"Total params: {self.count_params():,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {self.count_params() - trainable:,}", "_" * total]
        text = "\n".join(lines)
        (print_fn or print)(text)
        return None

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, device=None,
                **kwargs):
        if kwargs.get("run_eagerly") not in (None, False, True) or set(kwargs) - {"run_eagerly", "jit_compile", "steps_per_execution"}:
            raise TypeError(f"compile got unexpected keyword arguments: {sorted(kwargs)}")
        if loss is None:
            raise ValueError("compile needs a `loss`, for example loss='categorical_crossentropy'.")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, str):
            metrics = [metrics]
        if not isinstance(metrics, (list, tuple)):
            raise ValueError(f"`metrics` must be a list. Received: {metrics!r}")
        self._metric_specs = list(metrics)
        self._metrics = None
        self.compiled = True
        self._configure_fusion()
        if device is not None:
            self.to(device)
        elif self._device != "cpu":
            self.optimizer._to(self._device)

    def _configure_fusion(self):
        """A softmax output trained with (sparse) categorical cross-entropy
        on probabilities runs through the fused softmax + cross-entropy
        kernel: exact and cheaper than the two steps apart."""
        for layer in self._layers:
            layer._emit_logits = False
        last = self._layers[-1] if self._layers else None
        self._fused = (last is not None and getattr(last, "activation", None) == "softmax"
                       and isinstance(self.loss, (losses.CategoricalCrossentropy,
                                                  losses.SparseCategoricalCrossentropy))
                       and not self.loss.from_logits)
        if self._fused:
            last._emit_logits = True

    def _require_compiled(self, what):
        if not self.compiled:
            raise ValueError(f"You must call compile() before {what}().")

    def _metric_objects(self):
        if self._metrics is None:
            shape = self.output_shape if self.built else None
            self._metrics = [metrics.get(m, self.loss, shape) for m in self._metric_specs]
        return self._metrics

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in self._metric_objects()] if self.compiled else []

    # ------------------------------------------------------------ data
    def _prepare_x(self, x, what="x"):
        if x is None:
            raise ValueError(f"`{what}` is required. Received: None")
        arr = np.asarray(x)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"`{what}` must be a numeric array. Received: dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        if not self.built and self._input_shape is None and arr.ndim >= 1:
            self.build((None,) + arr.shape[1:])
        self._require_built("input shape")
        if arr.ndim == 0 or tuple(arr.shape[1:]) != tuple(self._input_shape):
            raise ValueError(f"Input has the wrong shape: expected input shape {_shape_str(self.input_shape)}, "
                             f"received {tuple(arr.shape)}")
        return arr

    def _prepare_y(self, y, n):
        if y is None:
            raise ValueError("`y` is required for training and evaluation. Received: None")
        arr = np.asarray(y)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"`y` must be a numeric array. Received: dtype {arr.dtype}")
        if arr.ndim == 0 or arr.shape[0] != n:
            raise ValueError(f"`x` and `y` must hold the same number of samples. Received: "
                             f"{n} inputs and labels of shape {tuple(arr.shape)}")
        out_shape = self.output_shape
        if self.loss.sparse:
            self.loss.check_shapes(arr.shape, out_shape)
            arr = arr.reshape(n)
            if arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
                raise ValueError("Sparse labels must be integer class indices.")
            return np.ascontiguousarray(arr, dtype=np.int64)
        if arr.ndim == 1 and out_shape[-1] == 1 and len(out_shape) == 2:
            arr = arr.reshape(n, 1)
        if tuple(arr.shape[1:]) != tuple(out_shape[1:]):
            hint = ""
            if arr.ndim == 1 and isinstance(self.loss, losses.CategoricalCrossentropy):
                hint = " (use to_categorical on integer labels, or loss='sparse_categorical_crossentropy')"
            raise ValueError(f"Labels do not fit the model output: expected labels of shape "
                             f"{_shape_str(out_shape)} for loss '{self.loss.name}', received "
                             f"{tuple(arr.shape)}{hint}")
        return np.ascontiguousarray(arr, dtype=np.float32)

    # ------------------------------------------------------------ steps
    def _forward(self, x, training):
        if self._device == "cuda":
            x = _core.to_device(x)  # the batch's one copy in
        for layer in self._layers:
            x = layer.call(x, training=training)
        return x

    def _train_step(self, x, y):
        out = self._forward(x, training=True)
        if self._fused:
            if self.loss.sparse:
                loss, dout = _core.sparse_categorical_crossentropy(y, out, True)
                # Probabilities are only needed by the metrics.
                probs = _core.softmax(out) if self._metric_specs else None
            else:
                loss, dout, probs = _core.softmax_crossentropy(y, out)
        else:
            loss, dout = self.loss.loss_and_grad(y, out)
            probs = out
        if math.isfinite(loss):
            grads, variables = [], []
            for layer in reversed(self._layers):
                dout = layer.backward(dout)
                if layer.trainable and self.trainable:
                    grads.extend(layer.grads)
                    variables.extend(layer.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, variables))
        return loss, probs

    def train_on_batch(self, x, y, return_dict=False):
        self._require_compiled("train_on_batch")
        x = self._prepare_x(x)
        y = self._prepare_y(y, x.shape[0])
        loss, probs = self._train_step(x, y)
        return self._batch_result(loss, y, probs, return_dict)

    def test_on_batch(self, x, y, return_dict=False):
        self._require_compiled("test_on_batch")
        x = self._prepare_x(x)
        y = self._prepare_y(y, x.shape[0])
        out = self._forward(x, training=False)
        return self._batch_result(self.loss.loss_and_grad(y, out)[0], y, out, return_dict)

    def _batch_result(self, loss, y, out, return_dict):
        ms = self._metric_objects()
        values = {"loss": float(loss)}
        for m in ms:
            values[m.name] = m(y, out)
        if return_dict:
            return values
        return values["loss"] if not ms else list(values.values())

    def predict_on_batch(self, x):
        return np.asarray(self._forward(self._prepare_x(x), training=False))

    def __call__(self, x, training=False):
        return self._forward(self._prepare_x(x), training=training)

    # ------------------------------------------------------------ loops
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            check_finite=False, steps_per_epoch=None, class_weight=None, sample_weight=None):
        self._require_compiled("fit")
        if class_weight is not None or sample_weight is not None:
            raise ValueError("class_weight and sample_weight are not supported by ember yet.")
        batch_size = self._check_batch_size(batch_size)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"`epochs` must be a non-negative int. Received: {epochs!r}")
        x = self._prepare_x(x)
        y = self._prepare_y(y, x.shape[0])
        if not 0 <= validation_split < 1:
            raise ValueError(f"`validation_split` must be in [0, 1). Received: {validation_split}")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise ValueError("`validation_data` must be a tuple (x_val, y_val).")
            vx = self._prepare_x(validation_data[0], "validation_data[0]")
            vy = self._prepare_y(validation_data[1], vx.shape[0])
        elif validation_split:
            # As Keras: the last fraction of the data, taken before shuffling.
            split = int(x.shape[0] * (1 - validation_split))
            x, vx, y, vy = x[:split], x[split:], y[:split], y[split:]
        else:
            vx = vy = None
        if check_finite:
            self._check_finite(x, "x")
            self._check_finite(y, "y")
        verbose = 1 if verbose == "auto" else int(verbose)
        n = x.shape[0]
        steps = steps_per_epoch or max(1, -(-n // batch_size))
        history = callbacks_module.History()
        cbs = [history] + list(callbacks or [])
        if verbose:
            cbs.append(callbacks_module.ProgbarLogger(verbose))
        cblist = callbacks_module.CallbackList(cbs, self, {"epochs": epochs, "steps": steps,
                                                           "verbose": verbose, "batch_size": batch_size})
        xb = cuda.host_buffer((min(batch_size, n),) + x.shape[1:], self._device)
        yb = np.empty((min(batch_size, n),) + y.shape[1:], y.dtype)
        ms = self._metric_objects()
        self.stop_training = False
        cblist.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            for m in ms:
                m.reset_state()
            cblist.on_epoch_begin(epoch)
            order = utils.rng().permutation(n) if shuffle else None
            loss_sum, seen = 0.0, 0
            for step in range(steps):
                lo = (step * batch_size) % max(n, 1)
                hi = min(lo + batch_size, n)
                if order is not None:
                    idx = order[lo:hi]
                    bx, by = xb[:hi - lo], yb[:hi - lo]
                    np.take(x, idx, axis=0, out=bx)
                    np.take(y, idx, axis=0, out=by)
                else:
                    bx, by = x[lo:hi], y[lo:hi]
                cblist.on_train_batch_begin(step)
                loss, probs = self._train_step(bx, by)
                if not math.isfinite(loss):
                    msg = (f"Non-finite loss ({loss}) at epoch {epoch + 1}, step {step + 1}: "
                           "training stopped. Lower the learning rate or check the data "
                           "(fit(..., check_finite=True) reports NaN or inf in the inputs).")
                    print(msg, file=sys.stderr)
                    self.stop_training = True
                    logs = {"loss": float(loss)}
                    cblist.on_train_batch_end(step, logs)
                    break
                loss_sum += loss * (hi - lo)
                seen += hi - lo
                for m in ms:
                    m.update_state(by, probs)
                logs = {"loss": loss_sum / seen, **{m.name: m.result() for m in ms}}
                cblist.on_train_batch_end(step, logs)
                if self.stop_training:
                    break
            if vx is not None and not self.stop_training:
                val = self._evaluate_arrays(vx, vy, batch_size)
                logs.update({"val_" + k: v for k, v in val.items()})
            cblist.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        cblist.on_train_end(logs)
        self.history = history
        return history

    @staticmethod
    def _check_batch_size(batch_size):
        if batch_size is None:
            return 32
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"`batch_size` must be a positive int. Received: {batch_size!r}")
        return int(batch_size)

    @staticmethod
    def _check_finite(arr, name):
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            bad = np.argwhere(~np.isfinite(arr.reshape(arr.shape[0], -1)))
            raise ValueError(f"`{name}` holds {len(bad)} NaN or infinite values; the first is in sample {bad[0][0]}.")

    def _evaluate_arrays(self, x, y, batch_size, bar=None):
        """Loss and metrics over (x, y) in inference mode, batch by batch;
        serves evaluate() and fit()'s validation."""
        ms = [metrics.get(m, self.loss, self.output_shape) for m in self._metric_specs]
        total, n = 0.0, x.shape[0]
        steps = -(-n // batch_size)
        for step in range(steps):
            lo, hi = step * batch_size, min((step + 1) * batch_size, n)
            out = self._forward(x[lo:hi], training=False)
            total += self.loss.loss_and_grad(y[lo:hi], out)[0] * (hi - lo)
            for m in ms:
                m.update_state(y[lo:hi], out)
            if bar:
                bar.update(step + 1, {"loss": total / hi, **{m.name: m.result() for m in ms}},
                           finalize=step + 1 == steps)
        return {"loss": total / max(n, 1), **{m.name: m.result() for m in ms}}

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False,
                 callbacks=None):
        self._require_compiled("evaluate")
        batch_size = self._check_batch_size(batch_size)
        x = self._prepare_x(x)
        y = self._prepare_y(y, x.shape[0])
        verbose = 1 if verbose == "auto" else int(verbose)
        bar = utils.Progbar(-(-x.shape[0] // batch_size), verbose=verbose) if verbose else None
        result = self._evaluate_arrays(x, y, batch_size, bar)
        if return_dict:
            return result
        return result["loss"] if len(result) == 1 else list(result.values())

    def predict(self, x, batch_size=None, verbose="auto", callbacks=None):
        batch_size = self._check_batch_size(batch_size)
        x = self._prepare_x(x)
        out = np.empty((x.shape[0],) + tuple(self.output_shape[1:]), np.float32)
        for lo in range(0, x.shape[0], batch_size):
            hi = min(lo + batch_size, x.shape[0])
            out[lo:hi] = np.asarray(self._forward(x[lo:hi], training=False))  # one copy back
        return out

    # ------------------------------------------------------------ config and files
    def get_config(self):
        return {"name": self.name, "input_shape": None if self._input_shape is None else list(self._input_shape),
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._layers]}

    @classmethod
    def from_config(cls, config):
        model = cls(name=config.get("name"))
        if config.get("input_shape") is not None:
            model._input_shape = tuple(config["input_shape"])
        for spec in config["layers"]:
            layer_cfg = dict(spec["config"])
            layer_cfg.pop("name", None)
            model._layers.append(layers_module.get(spec["class_name"]).from_config(layer_cfg))
        if model._input_shape is not None:
            model.build()
        return model

    def save(self, filepath, overwrite=True):
        """Writes architecture, weights and optimizer state to one file, atomically."""
        self._require_built("save")
        header = {"format": "ember", "kind": "model", "config": self.get_config(),
                  "n_weights": len(self.weights)}
        arrays = self.get_weights()
        if self.compiled:
            header["compile"] = {"optimizer": optimizers.serialize(self.optimizer),
                                 "loss": losses.serialize(self.loss),
                                 "metrics": [m if isinstance(m, str) else m.name for m in self._metric_specs],
                                 "iterations": self.optimizer.iterations}
            arrays += self.optimizer.get_state(self.trainable_weights)
        saving.write_file(filepath, header, arrays)

    def save_weights(self, filepath, overwrite=True):
        self._require_built("save_weights")
        shapes = [list(w.shape) for w in self.weights]
        saving.write_file(filepath, {"format": "ember", "kind": "weights", "shapes": shapes,
                                     "n_weights": len(shapes)}, self.get_weights())

    def load_weights(self, filepath):
        self._require_built("load_weights")
        header, arrays = saving.read_file(filepath, expected_kind="weights")
        n = int(header.get("n_weights", len(arrays)))
        self._check_architecture(arrays[:n], filepath)
        self.set_weights(arrays[:n])

    def _check_architecture(self, arrays, filepath):
        mine = self.weights
        if len(arrays) != len(mine):
            raise ValueError(f"'{filepath}' holds {len(arrays)} weight arrays but model '{self.name}' has "
                             f"{len(mine)}: the architectures do not match")
        for var, arr in zip(mine, arrays):
            if tuple(arr.shape) != tuple(var.shape):
                raise ValueError(f"Architecture mismatch loading '{filepath}': weight '{var.name}' has shape "
                                 f"{tuple(var.shape)} in the model but {tuple(arr.shape)} in the file")


def load_model(filepath, compile=True):
    """Restores a model written by ``model.save``: architecture, weights and,
    when compiled, the optimizer with its state, so training resumes."""
    header, arrays = saving.read_file(filepath, expected_kind="model")
    try:
        model = Sequential.from_config(header["config"])
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"'{filepath}' holds a model config that ember cannot rebuild: {e}") from None
    n = int(header["n_weights"])
    model._check_architecture(arrays[:n], filepath)
    model.set_weights(arrays[:n])
    spec = header.get("compile")
    if compile and spec:
        model.compile(optimizer=optimizers.deserialize(spec["optimizer"]),
                      loss=losses.deserialize(spec["loss"]), metrics=spec["metrics"])
        model.optimizer.set_state(model.trainable_weights, arrays[n:], spec["iterations"])
    return model


Model = Sequential
