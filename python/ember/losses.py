"""Losses by object or by Keras name. Each is an op of the graph engine
that computes the mean loss over the batch and its gradient in one C++ call;
on the output of a softmax, cross-entropy runs fused with it (decided by the
engine from the graph, see ``ember.engine._plan_fusion``). Any
function ``f(y_true, y_pred)`` written with ``ember.ops`` also serves as a
loss: its gradient comes from the engine."""
import numpy as np

from . import ops


class Loss:
    name = "loss"
    # Whether the labels are class indices (sparse) rather than one-hot rows.
    sparse = False

    def __init__(self, from_logits=False, name=None):
        self.from_logits = bool(from_logits)
        if name:
            self.name = name

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The mean loss over the batch; with ``sample_weight`` (one weight
        per sample) ``sum(per_sample_loss * sample_weight) / batch_size``, as
        Keras's 'sum_over_batch_size' reduction."""
        if sample_weight is None:
            return self.call(y_true, y_pred)
        losses = self.per_sample(y_true, ops.convert_to_tensor(y_pred))
        if losses.ndim == 0:  # a function that already reduced: weights scale it on average
            return ops.multiply(losses, float(np.mean(np.asarray(sample_weight, np.float64))))
        w = ops.convert_to_tensor(np.asarray(sample_weight, np.float32).reshape(
            (-1,) + (1,) * (losses.ndim - 1)))
        if w.shape[0] != losses.shape[0]:
            raise ValueError(f"`sample_weight` needs one weight per sample ({losses.shape[0]}). "
                             f"Received: shape {tuple(np.shape(sample_weight))}")
        return ops.divide(ops.sum(ops.multiply(losses, w)), float(max(int(np.prod(losses.shape)), 1)))

    def call(self, y_true, y_pred):
        """The mean over the batch (the engine's fused kernels)."""
        return ops.mean(self.per_sample(y_true, ops.convert_to_tensor(y_pred)))

    def per_sample(self, y_true, y_pred):
        """One loss per sample, written with ember.ops."""
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

    def call(self, y_true, y_pred):
        return ops._cce_mean(y_true, y_pred, self.from_logits)

    def per_sample(self, y_true, y_pred):
        return ops.categorical_crossentropy(y_true, y_pred, self.from_logits)


class SparseCategoricalCrossentropy(Loss):
    name = "sparse_categorical_crossentropy"
    sparse = True

    def call(self, y_true, y_pred):
        return ops._cce_mean(y_true, y_pred, self.from_logits, sparse=True)

    def per_sample(self, y_true, y_pred):
        return ops.sparse_categorical_crossentropy(y_true, y_pred, self.from_logits)

    def check_shapes(self, y_true_shape, y_pred_shape):
        n_true = int(np.prod(y_true_shape[1:])) if len(y_true_shape) > 1 else 1
        if n_true != 1 or len(y_pred_shape) != 2:
            raise ValueError("SparseCategoricalCrossentropy expects integer labels of shape (None,) or "
                             f"(None, 1) for outputs (None, classes); received labels of shape "
                             f"{tuple(y_true_shape)} for outputs {tuple(y_pred_shape)}")


class BinaryCrossentropy(Loss):
    name = "binary_crossentropy"

    def call(self, y_true, y_pred):
        return ops._elementwise_loss_mean("binary_crossentropy", y_true, y_pred, self.from_logits)

    def per_sample(self, y_true, y_pred):
        return ops.binary_crossentropy(y_true, y_pred, self.from_logits)


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def __init__(self, name=None):
        super().__init__(False, name)

    def call(self, y_true, y_pred):
        return ops._elementwise_loss_mean("mean_squared_error", y_true, y_pred)

    def per_sample(self, y_true, y_pred):
        return ops.mean(ops.square(y_pred - ops.convert_to_tensor(y_true, "float32")), axis=-1)

    def get_config(self):
        return {"name": self.name}


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def __init__(self, name=None):
        super().__init__(False, name)

    def per_sample(self, y_true, y_pred):
        return ops.mean(ops.abs(y_pred - ops.convert_to_tensor(y_true, "float32")), axis=-1)

    def get_config(self):
        return {"name": self.name}


class LossFunctionWrapper(Loss):
    """A user's function ``f(y_true, y_pred)`` as a loss (mean of its result)."""

    def __init__(self, fn, name=None):
        super().__init__(False, name or getattr(fn, "__name__", "loss"))
        self.fn = fn

    def per_sample(self, y_true, y_pred):
        out = self.fn(y_true, y_pred)
        return ops.convert_to_tensor(out) if not isinstance(out, ops.Tensor) else out

    def call(self, y_true, y_pred):
        out = self.per_sample(y_true, y_pred)
        return ops.mean(out) if out.ndim else out

    def get_config(self):
        raise ValueError(f"The loss '{self.name}' is a Python function, which ember does not serialise.")


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
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
    elif callable(identifier):
        if getattr(identifier, "__name__", None) in _BY_NAME and identifier is globals().get(identifier.__name__):
            return _BY_NAME[identifier.__name__]()
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Unknown loss: {identifier!r}. Expected one of {', '.join(_BY_NAME)}, a Loss object "
                     "or a function of (y_true, y_pred).")


def serialize(loss):
    if isinstance(loss, list):
        return [serialize(l) for l in loss]
    if isinstance(loss, dict):
        return {k: serialize(v) for k, v in loss.items()}
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(spec):
    if isinstance(spec, list):
        return [deserialize(s) for s in spec]
    if "class_name" not in spec:
        return {k: deserialize(v) for k, v in spec.items()}
    return _CLASSES[spec["class_name"]](**spec["config"])


# Function forms, as Keras: one loss per sample.
def categorical_crossentropy(y_true, y_pred, from_logits=False):
    return ops.categorical_crossentropy(y_true, y_pred, from_logits)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    return ops.sparse_categorical_crossentropy(y_true, y_pred, from_logits)


def binary_crossentropy(y_true, y_pred, from_logits=False):
    return ops.binary_crossentropy(y_true, y_pred, from_logits)


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError().per_sample(y_true, ops.convert_to_tensor(y_pred))


def mean_absolute_error(y_true, y_pred):
    return MeanAbsoluteError().per_sample(y_true, ops.convert_to_tensor(y_pred))


mse = mean_squared_error
mae = mean_absolute_error
