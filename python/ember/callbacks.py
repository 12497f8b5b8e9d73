"""Callbacks with Keras's hook names."""
import csv
import math
import os
import sys
import time
import warnings

import numpy as np

from . import saving, utils


class Callback:
    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    # As in Keras, the training-batch hooks default to the older batch hooks.
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs=logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class CallbackList:
    """Calls every hook on each callback in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        # As Keras does, every hook gets its logs positionally (None when the
        # loop has none), so plain functions such as LambdaCallback's
        # ``lambda epoch, logs: ...`` work with any hook.
        arity = 2 if ("epoch" in hook or "batch" in hook) else 1

        def call(*args, logs=None):
            args = args + (logs,) if len(args) < arity else args
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        # Kept on the instance, so the hooks fit calls at every step are not
        # rebuilt at every step (__getattr__ runs only for a missing name).
        self.__dict__[hook] = call
        return call


class History(Callback):
    """Records each epoch's logs: ``history.history['loss']`` and so on."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints 'Epoch i/n' and a progress bar (see ember.utils.Progbar)."""

    def __init__(self, verbose=1, stream=None):
        super().__init__()
        self.verbose = verbose
        self.stream = stream
        self._bar = None

    def on_epoch_begin(self, epoch, logs=None):
        stream = self.stream or sys.stdout
        epochs = self.params.get("epochs", 1)
        if self.verbose:
            stream.write(f"Epoch {epoch + 1}/{epochs}\n")
        self._bar = utils.Progbar(self.params.get("steps"), verbose=self.verbose, stream=stream)

    def on_train_batch_end(self, batch, logs=None):
        self._bar.update(batch + 1, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self.params.get("steps"), logs, finalize=True)


# Quantities that improve upward; anything else monitored in mode="auto" is
# minimised (losses and errors).
_UPWARD = ("acc", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2", "cosine_similarity")


def _check_int(value, name, minimum=0):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. Received: {name}={value!r}")
    return int(value)


class _MonitorCallback(Callback):
    """Shared by the callbacks that watch one logged quantity: picks the
    direction from ``mode`` ('min', 'max', or 'auto': from the name) and says
    whether a value improves on a reference by more than ``min_delta``."""

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"`mode` must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        if not isinstance(monitor, str):
            raise TypeError(f"`monitor` must be the name of a logged quantity. Received: monitor={monitor!r}")
        self.monitor, self.mode, self.baseline = monitor, mode, baseline
        self.min_delta = abs(float(min_delta))
        self.best = baseline

    @property
    def _maximize(self):
        if self.mode != "auto":
            return self.mode == "max"
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        for m in getattr(self.model, "metrics", None) or []:
            direction = getattr(m, "_direction", None)
            if getattr(m, "name", None) == name and direction in ("up", "down"):
                return direction == "up"
        return name != "loss" and any(word in name for word in _UPWARD)

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self._maximize:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def _monitored(self, logs, who):
        value = (logs or {}).get(self.monitor)
        if value is None:
            available = ", ".join(sorted(logs or {}))
            warnings.warn(f"{who} is conditioned on metric `{self.monitor}`, which is not available. "
                          f"Available metrics are: {available}", stacklevel=3)
        return value


class EarlyStopping(_MonitorCallback):
    """Stops training once ``monitor`` has not improved for ``patience``
    epochs, as Keras 3's: epochs before ``start_from_epoch`` are not
    watched, a ``baseline`` must be beaten before the patience resets, and
    with ``restore_best_weights`` the weights of the best epoch are put back
    when training ends."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = _check_int(patience, "patience")
        self.start_from_epoch = _check_int(start_from_epoch, "start_from_epoch")
        self.verbose, self.baseline = verbose, baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        current = self._monitored(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def _check_save_freq(save_freq):
    if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, (int, np.integer))
                                 or save_freq <= 0):
        raise ValueError(f"`save_freq` must be 'epoch' or a positive int (a number of batches). "
                         f"Received: save_freq={save_freq!r}")
    return save_freq if save_freq == "epoch" else int(save_freq)


class _BatchCounter:
    """Counts training batches across epochs for ``save_freq=N``: ``tick``
    says whether N batches have passed since the last save."""

    def __init__(self, every):
        self.every, self.seen = every, 0

    def tick(self):
        self.seen += 1
        if self.seen >= self.every:
            self.seen = 0
            return True
        return False


class ModelCheckpoint(_MonitorCallback):
    """Saves the model (or its weights) after each epoch, or every
    ``save_freq`` batches; ``filepath`` may hold format fields such as
    ``{epoch:02d}``, ``{batch}`` or ``{val_loss:.2f}``. With
    ``save_best_only`` it saves only when ``monitor`` improves (on
    ``initial_value_threshold`` at first, when given)."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        self.filepath, self.verbose = os.fspath(filepath), verbose
        self.save_best_only, self.save_weights_only = bool(save_best_only), bool(save_weights_only)
        self.save_freq = _check_save_freq(save_freq)
        self._counter = None if self.save_freq == "epoch" else _BatchCounter(self.save_freq)
        self._current_epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._counter is not None and self._counter.tick():
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields.setdefault("batch", batch + 1)
        try:
            return self.filepath.format(**fields)
        except KeyError as e:
            raise KeyError(f"Failed to format the ModelCheckpoint filepath {self.filepath!r}: the field {e} "
                           f"is not among the logged values. Received logs: {sorted(logs)}") from None

    def _save(self, epoch, batch, logs):
        logs = logs or {}
        path = self._path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint can save the best model only with {self.monitor} "
                              "available; saving anyway.", stacklevel=3)
            elif not self._is_improvement(current, self.best):
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            else:
                if self.verbose:
                    best = "None" if self.best is None else f"{self.best:.5f}"
                    print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                          f"{current:.5f}, saving model to {path}")
                self.best = current
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if os.path.isdir(path):
            raise IsADirectoryError(f"ModelCheckpoint needs a file path, not a directory. Received: {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
        if self.verbose and not self.save_best_only:
            print(f"\nEpoch {epoch + 1}: finished saving model to {path}")


class TerminateOnNaN(Callback):
    """Stops training when a batch's loss is NaN or infinite; with
    ``raise_error=True`` raises RuntimeError instead."""

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = bool(raise_error)

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   "Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LearningRateScheduler(Callback):
    """Sets the optimizer's learning rate from ``schedule(epoch, lr)`` at the
    start of every epoch."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = self.schedule(epoch, self.model.optimizer.learning_rate)
        if not isinstance(lr, (float, int, np.floating, np.integer)):
            raise ValueError(f"The schedule must return a number. Received: {lr!r}")
        self.model.optimizer.learning_rate = float(lr)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


_HOOKS = tuple(name for name in vars(Callback) if name.startswith("on_"))


class LambdaCallback(Callback):
    """A callback made of plain functions, one per hook, with Keras's
    signatures: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``,
    ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``;
    any other hook (``on_batch_end=...``, ``on_test_begin=...``) by keyword."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        unknown = sorted(k for k in kwargs if k not in _HOOKS)
        if unknown:
            raise TypeError(f"LambdaCallback got unexpected keyword arguments: {unknown}. "
                            f"Expected hook names among {list(_HOOKS)}")
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback's `{name}` must be callable. Received: {fn!r}"[:300])
            setattr(self, name, fn)


def _current_lr(optimizer):
    return float(optimizer.learning_rate)


class ReduceLROnPlateau(_MonitorCallback):
    """Multiplies the optimizer's learning rate by ``factor`` once ``monitor``
    has not improved by more than ``min_delta`` for ``patience`` epochs, never
    going below ``min_lr``; after a reduction it waits ``cooldown`` epochs
    before counting again. Adds ``learning_rate`` to each epoch's logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected keyword arguments: {sorted(kwargs)}")
        super().__init__(monitor, mode, min_delta=min_delta)
        if isinstance(factor, bool) or not isinstance(factor, (int, float, np.number)) or not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau needs 0 < factor < 1. Received: factor={factor!r}")
        if isinstance(min_lr, bool) or not isinstance(min_lr, (int, float, np.number)) or min_lr < 0:
            raise ValueError(f"`min_lr` must be a non-negative number. Received: min_lr={min_lr!r}")
        self.factor, self.min_lr, self.verbose = float(factor), float(min_lr), verbose
        self.patience = _check_int(patience, "patience")
        self.cooldown = _check_int(cooldown, "cooldown")
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self.best, self.cooldown_counter, self.wait = None, 0, 0

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = _current_lr(optimizer)
        current = self._monitored(logs, "Learning rate reduction")
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best, self.wait = current, 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old = _current_lr(optimizer)
        if old > np.float32(self.min_lr):
            new = max(old * self.factor, self.min_lr)
            optimizer.learning_rate = new
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
            self.cooldown_counter, self.wait = self.cooldown, 0


class CSVLogger(Callback):
    """Writes one CSV row per epoch: ``epoch`` (from 0) and the logged values
    in sorted order; with no validation data the ``val_`` columns are still
    there, holding ``NA``. With ``append=True`` rows go after an existing
    file's, without a second header."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"`separator` must be a single character. Received: separator={separator!r}")
        self.filename, self.sep, self.append = os.fspath(filename), separator, bool(append)
        self.keys = None
        self.csv_file = None
        self.writer = None
        self.append_header = True

    def on_train_begin(self, logs=None):
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as f:
                self.append_header = not f.readline()
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer, self.keys = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += ["val_" + k for k in self.keys]
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, delimiter=self.sep, lineterminator="\r\n")
            if self.append_header:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [_csv_value(logs.get(k, "NA")) for k in self.keys])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


def _csv_value(v):
    if isinstance(v, (str, bytes)) or np.ndim(v) == 0:
        return v
    return "[" + ", ".join(map(str, np.asarray(v).ravel())) + "]"


class BackupAndRestore(Callback):
    """Backs up the training state (weights, optimizer state, epoch) into
    ``backup_dir`` at the end of each epoch (or every ``save_freq`` batches),
    so that a ``fit`` interrupted by a crash resumes, when run again with this
    callback, from the last backup rather than from the start.

    The backup is one file, ``backup_dir/backup.ember``, written atomically
    (a temporary file in the same folder, flushed to disk, then renamed over
    the old one): a crash while writing leaves the previous backup whole.
    A backup taken mid-epoch resumes at the start of that epoch with the
    weights of that moment, as Keras does. With ``delete_checkpoint`` the
    backup is removed once ``fit`` completes. The model must be built (its
    input shape known) before ``fit`` so that a backup can be loaded."""

    FILENAME = "backup.ember"

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError(f"BackupAndRestore needs a non-empty `backup_dir`. Received: backup_dir={backup_dir!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = _check_save_freq(save_freq)
        self.delete_checkpoint = bool(delete_checkpoint)
        self._path = os.path.join(self.backup_dir, self.FILENAME)
        self._counter = None if self.save_freq == "epoch" else _BatchCounter(self.save_freq)
        self._completed_epochs = 0

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "built", True):
            raise ValueError("BackupAndRestore needs a built model (its input shape known) before fit(): "
                             f"model '{self.model.name}' is not built. Build it with an Input, "
                             "input_shape= on its first layer, or model.build(shape).")
        self._completed_epochs = 0
        if self._counter is not None:
            self._counter.seen = 0
        if not os.path.exists(self._path):
            return
        header, arrays = saving.read_file(self._path, expected_kind="backup")
        n = int(header["n_weights"])
        self.model._check_architecture(arrays[:n], self._path)
        self.model.set_weights(arrays[:n])
        optimizer = self.model.optimizer
        if optimizer is not None and len(arrays) > n:
            optimizer.set_state(self.model.trainable_weights, arrays[n:], header["iterations"])
        self._completed_epochs = int(header["epoch"])
        self.model._initial_epoch = self._completed_epochs

    def on_epoch_end(self, epoch, logs=None):
        self._completed_epochs = epoch + 1
        if self.save_freq == "epoch":
            self._backup(batch=0)

    def on_train_batch_end(self, batch, logs=None):
        if self._counter is not None and self._counter.tick():
            self._backup(batch=batch + 1)

    def _backup(self, batch):
        os.makedirs(self.backup_dir, exist_ok=True)
        arrays = self.model.get_weights()
        header = {"format": "ember", "kind": "backup", "n_weights": len(arrays),
                  "epoch": self._completed_epochs, "batch": batch}
        optimizer = self.model.optimizer
        if optimizer is not None:
            # set_state takes the raw count (accumulation steps included), as Model.save writes it
            header["iterations"] = int(optimizer._iterations)
            arrays += optimizer.get_state(self.model.trainable_weights)
        saving.write_file(self._path, header, arrays)

    def on_train_end(self, logs=None):
        if not self.delete_checkpoint:
            return
        if os.path.exists(self._path):
            os.remove(self._path)
        try:
            os.rmdir(self.backup_dir)  # only when nothing else lives there
        except OSError:
            pass


class TensorBoard(Callback):
    """Writes TensorBoard event files through the ``tensorboardX`` package
    (``pip install "ember[tensorboard]"``), laid out as Keras does:
    ``log_dir/train`` holds ``epoch_<name>`` scalars (with
    ``epoch_learning_rate``), ``batch_<name>`` scalars every ``update_freq``
    batches (``"batch"`` is every batch, ``"epoch"`` none), and every
    ``histogram_freq`` epochs a histogram of each weight tagged
    ``<weight path>/histogram``; ``log_dir/validation`` holds the
    ``val_`` values as ``epoch_<name>``. ``write_graph`` is accepted and
    ignored (ember has no graph format TensorBoard reads); images, profiling
    and embeddings are not supported."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("The TensorBoard callback writes its event files through the `tensorboardX` "
                              'package, which is not installed. Install it with: pip install "ember[tensorboard]"'
                              ) from None
        self._writer_class = SummaryWriter
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _check_int(histogram_freq, "histogram_freq")
        if update_freq == "batch":
            update_freq = 1
        elif update_freq != "epoch":
            update_freq = _check_int(update_freq, "update_freq", minimum=1)
        self.update_freq = update_freq
        self.write_graph = write_graph
        self.write_steps_per_second = bool(write_steps_per_second)
        unsupported = {"write_images": (write_images, False), "profile_batch": (profile_batch, 0),
                       "embeddings_freq": (embeddings_freq, 0), "embeddings_metadata": (embeddings_metadata, None)}
        for name, (value, off) in unsupported.items():
            if value != off:
                raise ValueError(f"ember's TensorBoard callback does not support `{name}`; leave it at {off!r}. "
                                 f"Received: {name}={value!r}")
        self._writers = {}
        self._global_train_batch = 0
        self._batch_start = None
        self._epoch_start = None

    def _writer(self, which):
        w = self._writers.get(which)
        if w is None:
            w = self._writers[which] = self._writer_class(os.path.join(self.log_dir, which))
        return w

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = (time.perf_counter(), self._global_train_batch)

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        step = self._global_train_batch
        writer = self._writer("train")
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), step)
        if self.write_steps_per_second and self._batch_start is not None:
            elapsed = time.perf_counter() - self._batch_start
            writer.add_scalar("batch_steps_per_second", 1.0 / max(elapsed, 1e-9), step)

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            train["learning_rate"] = _current_lr(optimizer)
        if self.write_steps_per_second and self._epoch_start is not None:
            start, first = self._epoch_start
            train["steps_per_second"] = (self._global_train_batch - first) / max(time.perf_counter() - start, 1e-9)
        for which, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for var, value in zip(self.model.weights, self.model.get_weights()):
                writer.add_histogram(f"{var.path.replace(':', '_')}/histogram", np.asarray(value, np.float64), epoch)
        for w in self._writers.values():
            w.flush()

    def on_train_end(self, logs=None):
        for w in self._writers.values():
            w.close()
        self._writers = {}
