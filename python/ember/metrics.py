"""Metrics, accumulated over the batches of an epoch (vectorised, no
per-sample Python): Keras's ``update_state`` / ``result`` / ``reset_state``."""
import numpy as np


def _np(x):
    return x.numpy() if hasattr(x, "numpy") else np.asarray(x)


class Metric:
    name = "metric"

    def __init__(self, name=None):
        if name:
            self.name = name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._accumulate(self.matches(_np(y_true), _np(y_pred)), sample_weight)

    def _accumulate(self, values, sample_weight):
        """Adds per-sample values, weighted by ``sample_weight`` (one per sample)."""
        values = np.asarray(values, np.float64)
        if sample_weight is None:
            self.total += float(np.sum(values))
            self.count += int(values.size)
            return
        w = np.asarray(_np(sample_weight), np.float64).reshape((-1,) + (1,) * max(values.ndim - 1, 0))
        w = np.broadcast_to(w, values.shape)
        self.total += float(np.sum(values * w))
        self.count += float(np.sum(w))

    def result(self):
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred):
        hits = self.matches(_np(y_true), _np(y_pred))
        return float(np.mean(hits)) if hits.size else 0.0


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state``; models
    track their loss with one named 'loss'."""
    name = "mean"

    def update_state(self, values, sample_weight=None):
        v = _np(values).astype(np.float64)
        if sample_weight is not None and np.ndim(sample_weight) == 0:
            w = float(sample_weight)  # one weight for every value (a batch's size)
            self.total += float(np.sum(v)) * w
            self.count += v.size * w
        else:
            self._accumulate(v, sample_weight)

    def __call__(self, values):
        self.update_state(values)
        return self.result()


class _MeanOfError(Metric):
    def update_state(self, y_true, y_pred, sample_weight=None):
        p = _np(y_pred).astype(np.float64)
        err = self.error(p - _np(y_true).astype(np.float64).reshape(p.shape))
        self._accumulate(err.reshape(err.shape[0], -1).mean(axis=1) if err.ndim > 1 else err, sample_weight)

    def __call__(self, y_true, y_pred):
        err = self.error(_np(y_pred).astype(np.float64) - _np(y_true).astype(np.float64).reshape(_np(y_pred).shape))
        return float(np.mean(err))


class MeanSquaredError(_MeanOfError):
    name = "mean_squared_error"
    error = staticmethod(np.square)


class MeanAbsoluteError(_MeanOfError):
    name = "mean_absolute_error"
    error = staticmethod(np.abs)


class CategoricalAccuracy(Metric):
    name = "categorical_accuracy"

    @staticmethod
    def matches(y_true, y_pred):
        return np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)


class SparseCategoricalAccuracy(Metric):
    name = "sparse_categorical_accuracy"

    @staticmethod
    def matches(y_true, y_pred):
        return y_true.reshape(y_pred.shape[:-1]).astype(np.int64) == np.argmax(y_pred, axis=-1)


class BinaryAccuracy(Metric):
    name = "binary_accuracy"

    def __init__(self, name=None, threshold=0.5):
        self.threshold = threshold
        super().__init__(name)

    def matches(self, y_true, y_pred):
        return (y_pred > self.threshold) == (y_true > 0.5)


_BY_NAME = {"mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
            "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
            "categorical_accuracy": CategoricalAccuracy,
            "sparse_categorical_accuracy": SparseCategoricalAccuracy,
            "binary_accuracy": BinaryAccuracy}


def get(identifier, loss=None, output_shape=None):
    """A fresh metric object. 'accuracy' / 'acc' resolve as in Keras from the
    loss and the output's shape."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if identifier in ("accuracy", "acc"):
        if output_shape is not None and output_shape[-1] == 1 or getattr(loss, "name", "") == "binary_crossentropy":
            cls = BinaryAccuracy
        elif getattr(loss, "sparse", False):
            cls = SparseCategoricalAccuracy
        else:
            cls = CategoricalAccuracy
        return cls(name=identifier)
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier](name=identifier)
    if callable(identifier) and getattr(identifier, "__name__", None) in _BY_NAME:
        return _BY_NAME[identifier.__name__]()
    raise ValueError(f"Unknown metric: {identifier!r}. Expected 'accuracy' or one of {', '.join(_BY_NAME)}.")


def accuracy(y_true, y_pred):
    return CategoricalAccuracy()(y_true, y_pred)


def categorical_accuracy(y_true, y_pred):
    return CategoricalAccuracy()(y_true, y_pred)


def sparse_categorical_accuracy(y_true, y_pred):
    return SparseCategoricalAccuracy()(y_true, y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    return BinaryAccuracy(threshold=threshold)(y_true, y_pred)
