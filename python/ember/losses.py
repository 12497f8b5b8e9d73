"""Losses by object or by Keras name. Each computes the mean loss over the
batch and its gradient in one C++ call."""
import numpy as np

from . import _core


class Loss:
    name = "loss"
    # Whether the labels are class indices (sparse) rather than one-hot rows.
    sparse = False

    def __init__(self, from_logits=False, name=None):
        self.from_logits = bool(from_logits)
        if name:
            self.name = name

    def __call__(self, y_true, y_pred):
        return self.loss_and_grad(y_true, y_pred)[0]

    def loss_and_grad(self, y_true, y_pred):
        raise NotImplementedError

    def check_shapes(self, y_true_shape, y_pred_shape):
        """Raises ValueError when labels of this shape cannot go with outputs of that shape."""
        if tuple(y_true_shape[1:]) != tuple(y_pred_shape[1:]):
            raise ValueError(f"{type(self).__name__} expects labels shaped like the model output "
                             f"(None, {', '.join(map(str, y_pred_shape[1:]))}), received labels of shape "
                             f"{tuple(y_true_shape)}")

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}


class CategoricalCrossentropy(Loss):
    name = "categorical_crossentropy"

    def loss_and_grad(self, y_true, y_pred):
        return _core.loss(y_true, y_pred, "categorical_crossentropy", self.from_logits)


class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"
    sparse = True

    def loss_and_grad(self, y_true, y_pred):
        return _core.sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)

    def check_shapes(self, y_true_shape, y_pred_shape):
        n_true = int(np.prod(y_true_shape[1:])) if len(y_true_shape) > 1 else 1
        if n_true != 1 or len(y_pred_shape) != 2:
            raise ValueError("SparseCategoricalCrossentropy expects integer labels of shape (None,) or "
                             f"(None, 1) for outputs (None, classes); received labels of shape "
                             f"{tuple(y_true_shape)} for outputs {tuple(y_pred_shape)}")


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"

    def loss_and_grad(self, y_true, y_pred):
        return _core.loss(y_true, y_pred, "binary_crossentropy", self.from_logits)


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def __init__(self, name=None):
        super().__init__(False, name)

    def loss_and_grad(self, y_true, y_pred):
        return _core.loss(y_true, y_pred, "mean_squared_error", False)

    def get_config(self):
        return {"name": self.name}


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}
_CLASSES = {cls.__name__: cls for cls in set(_BY_NAME.values())}


def get(identifier):
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]()
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
    if callable(identifier) and getattr(identifier, "__name__", None) in _BY_NAME:
        return _BY_NAME[identifier.__name__]()
    raise ValueError(f"Unknown loss: {identifier!r}. Expected one of {', '.join(_BY_NAME)} or a Loss object.")


def serialize(loss):
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(spec):
    return _CLASSES[spec["class_name"]](**spec["config"])


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return CategoricalCrossentropy(from_logits)(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return SparseCategoricalCrossentropy(from_logits)(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return BinaryCrossentropy(from_logits)(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError()(y_true, y_pred)


mse = mean_squared_error
