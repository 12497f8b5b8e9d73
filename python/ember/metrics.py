"""Accuracy metrics, accumulated over the batches of an epoch (vectorised,
no per-sample Python)."""
import numpy as np


class Metric:
    name = "metric"

    def __init__(self, name=None):
        if name:
            self.name = name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0

    def update_state(self, y_true, y_pred):
        hits = self.matches(np.asarray(y_true), np.asarray(y_pred))
        self.total += float(np.sum(hits))
        self.count += int(hits.size)

    def result(self):
        return self.total / self.count if self.count else 0.0

    def __call__(self, y_true, y_pred):
        hits = self.matches(np.asarray(y_true), np.asarray(y_pred))
        return float(np.mean(hits)) if hits.size else 0.0


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


_BY_NAME = {"categorical_accuracy": CategoricalAccuracy,
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
        return _BY_NAME[identifier]()
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
