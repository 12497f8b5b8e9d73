"""Losses by object, by function or by Keras name.

A loss object's ``call(y_true, y_pred)`` gives one loss per sample, written
with ``ember.ops`` (so its gradient comes from the engine); ``__call__``
weights it by ``sample_weight`` and reduces it as its ``reduction`` says
(Keras 3: "sum_over_batch_size" (= "mean"), "sum", "mean_with_sample_weight",
"none" / None). The common case, the batch mean of cross-entropy or squared
error with no weights, runs as one fused C++ kernel; on the output of a
softmax, cross-entropy runs fused with it (decided by the engine from the
graph, see ``ember.engine._plan_fusion``). Any function ``f(y_true, y_pred)``
written with ``ember.ops`` also serves as a loss."""
import numpy as np

from . import ops
from .engine import Tensor
from .serialization import from_class_table

_EPSILON = 1e-7
_REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def _labels(y_true, like=None):
    """y_true as a float32 tensor (labels are constants: no gradient)."""
    if isinstance(y_true, Tensor):
        return ops.cast(y_true, "float32") if y_true.dtype != "float32" else y_true
    return ops.convert_to_tensor(np.asarray(y_true, np.float32))


def _same_rank(y_true, y_pred, fn_name):
    """Keras's rule for labels and predictions whose ranks differ by a
    trailing 1 (``(N,)`` against ``(N, 1)``); any other mismatch raises
    instead of broadcasting."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = _labels(y_true)
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_true = ops.expand_dims(y_true, -1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"`{fn_name}` expects y_true and y_pred of the same shape. Received: "
                         f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}")
    return y_true, y_pred


def _check_probability(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not 0 <= value <= 1:
        raise ValueError(f"`{name}` must be a float in [0, 1]. Received: {name}={value!r}")
    return float(value)


def _check_axis(axis):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis!r}")
    return int(axis)


# ---------------------------------------------------------------- per-sample functions (Keras's keras.losses.*)
def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _same_rank(y_true, y_pred, "mean_squared_error")
    return ops.mean(ops.square(ops.subtract(y_pred, y_true)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _same_rank(y_true, y_pred, "mean_absolute_error")
    return ops.mean(ops.abs(ops.subtract(y_pred, y_true)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _same_rank(y_true, y_pred, "mean_absolute_percentage_error")
    ratio = ops.divide(ops.subtract(y_true, y_pred), ops.maximum(ops.abs(y_true), _EPSILON))
    return ops.multiply(ops.mean(ops.abs(ratio), axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _same_rank(y_true, y_pred, "mean_squared_logarithmic_error")
    diff = ops.subtract(ops.log1p(ops.maximum(y_pred, _EPSILON)), ops.log1p(ops.maximum(y_true, _EPSILON)))
    return ops.mean(ops.square(diff), axis=-1)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _same_rank(y_true, y_pred, "huber")
    delta = float(delta)
    err = ops.subtract(y_pred, y_true)
    a = ops.abs(err)
    quadratic = ops.multiply(ops.square(err), 0.5)
    linear = ops.subtract(ops.multiply(a, delta), 0.5 * delta * delta)
    return ops.mean(ops.where(ops.less_equal(a, delta), quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """log(cosh(x)) = x + softplus(-2x) - log(2), stable for large |x|."""
    y_true, y_pred = _same_rank(y_true, y_pred, "log_cosh")
    x = ops.subtract(y_pred, y_true)
    value = ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))), float(np.log(2.0)))
    return ops.mean(value, axis=-1)


def kl_divergence(y_true, y_pred):
    y_true, y_pred = _same_rank(y_true, y_pred, "kl_divergence")
    t = ops.clip(y_true, _EPSILON, 1.0)
    p = ops.clip(y_pred, _EPSILON, 1.0)
    return ops.sum(ops.multiply(t, ops.log(ops.divide(t, p))), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _same_rank(y_true, y_pred, "poisson")
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, ops.log(ops.add(y_pred, _EPSILON)))), axis=-1)


def _l2_normalize(x, axis):
    norm = ops.sqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return ops.divide(x, ops.maximum(norm, _EPSILON))


def _cosine(y_true, y_pred, axis, fn_name):
    y_true, y_pred = _same_rank(y_true, y_pred, fn_name)
    axis = _check_axis(axis)
    return ops.sum(ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis)), axis=axis)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The loss: minus the cosine similarity (-1 for vectors pointing the same way)."""
    return ops.negative(_cosine(y_true, y_pred, axis, "cosine_similarity"))


def _hinge_labels(y_true):
    """Labels in {0, 1} become {-1, 1}, as Keras's hinge losses do."""
    t = np.asarray(y_true.numpy() if isinstance(y_true, Tensor) else y_true, np.float32)
    if t.size and np.all((t == 0) | (t == 1)):
        t = 2.0 * t - 1.0
    return t


def hinge(y_true, y_pred):
    y_true, y_pred = _same_rank(_hinge_labels(y_true), y_pred, "hinge")
    return ops.mean(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    y_true, y_pred = _same_rank(_hinge_labels(y_true), y_pred, "squared_hinge")
    return ops.mean(ops.square(ops.maximum(ops.subtract(1.0, ops.multiply(y_true, y_pred)), 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    y_true, y_pred = _same_rank(y_true, y_pred, "categorical_hinge")
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


def _smooth(y_true, label_smoothing, n_classes):
    """Labels pulled towards the uniform distribution over ``n_classes``."""
    if not label_smoothing:
        return y_true
    return ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / n_classes)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _same_rank(y_true, y_pred, "binary_crossentropy")
    y_true = _smooth(y_true, _check_probability(label_smoothing, "label_smoothing"), 2)
    return ops.mean(ops.binary_crossentropy(y_true, y_pred, from_logits), axis=_check_axis(axis))


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    axis = _check_axis(axis)
    y_true, y_pred = _same_rank(y_true, y_pred, "categorical_crossentropy")
    y_true = _smooth(y_true, _check_probability(label_smoothing, "label_smoothing"), y_pred.shape[axis])
    return ops.categorical_crossentropy(y_true, y_pred, from_logits, axis=axis)


def _sparse_labels(y_true, y_pred, fn_name):
    """Integer labels of the prediction's shape without its class axis."""
    labels = np.asarray(y_true.numpy() if isinstance(y_true, Tensor) else y_true)
    want = tuple(y_pred.shape[:-1])
    if labels.shape != want and labels.shape == want + (1,):
        labels = labels.reshape(want)
    if labels.shape != want:
        raise ValueError(f"`{fn_name}` expects integer labels of shape {want} (or {want + (1,)}) for "
                         f"predictions of shape {tuple(y_pred.shape)}. Received: y_true.shape={labels.shape}")
    if labels.dtype.kind == "f" and not np.all(labels == np.round(labels)):
        raise ValueError(f"`{fn_name}` expects integer class indices. Received non-integer labels.")
    return labels.astype(np.int64)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    y_pred = ops.convert_to_tensor(y_pred)
    if _check_axis(axis) not in (-1, y_pred.ndim - 1):
        y_pred = ops.moveaxis(y_pred, axis, -1)
    labels = _sparse_labels(y_true, y_pred, "sparse_categorical_crossentropy")
    if ignore_class is None:
        return ops.sparse_categorical_crossentropy(labels, y_pred, from_logits)
    valid = labels != int(ignore_class)
    out = ops.sparse_categorical_crossentropy(np.where(valid, labels, 0), y_pred, from_logits)
    return ops.multiply(out, valid.astype(np.float32))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary cross-entropy scaled by (1 - p_t) ** gamma, p_t the
    probability given to the true label (Lin et al. 2017); with class
    balancing, also by alpha for positives and 1 - alpha for negatives."""
    y_true, y_pred = _same_rank(y_true, y_pred, "binary_focal_crossentropy")
    y_true = _smooth(y_true, _check_probability(label_smoothing, "label_smoothing"), 2)
    p = ops.sigmoid(y_pred) if from_logits else y_pred
    bce = ops.binary_crossentropy(y_true, p)
    p_t = ops.add(ops.multiply(y_true, p), ops.multiply(ops.subtract(1.0, y_true), ops.subtract(1.0, p)))
    focal = ops.multiply(ops.power(ops.subtract(1.0, p_t), float(gamma)), bce)
    if apply_class_balancing:
        weight = ops.add(ops.multiply(y_true, float(alpha)), ops.multiply(ops.subtract(1.0, y_true), 1.0 - alpha))
        focal = ops.multiply(weight, focal)
    return ops.mean(focal, axis=_check_axis(axis))


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical cross-entropy with each class's term scaled by
    alpha * (1 - p) ** gamma."""
    axis = _check_axis(axis)
    y_true, y_pred = _same_rank(y_true, y_pred, "categorical_focal_crossentropy")
    y_true = _smooth(y_true, _check_probability(label_smoothing, "label_smoothing"), y_pred.shape[axis])
    p = ops.softmax(y_pred, axis=axis) if from_logits else y_pred
    p = ops.clip(ops.divide(p, ops.sum(p, axis=axis, keepdims=True)), _EPSILON, 1 - _EPSILON)
    cce = ops.negative(ops.multiply(y_true, ops.log(p)))
    factor = ops.multiply(ops.power(ops.subtract(1.0, p), float(gamma)), float(alpha))
    return ops.sum(ops.multiply(factor, cce), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence
logcosh = log_cosh


# ---------------------------------------------------------------- reduction
def _weights_like(values, sample_weight):
    """sample_weight as a float32 array that multiplies ``values`` (its
    rank matched to theirs by a trailing 1); a shape that does not fit raises."""
    w = np.asarray(sample_weight.numpy() if isinstance(sample_weight, Tensor) else sample_weight, np.float32)
    shape = tuple(values.shape)
    if not shape:  # a loss already reduced to a scalar: scaled by the weights on average
        return w
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w.reshape(w.shape[:-1])
    elif len(shape) == w.ndim + 1 and shape[-1] == 1:
        w = w.reshape(w.shape + (1,))
    if w.ndim > len(shape) or any(a not in (1, b) for a, b in zip(w.shape, shape)):
        raise ValueError(f"`sample_weight` does not fit the losses: expected shape {shape[:1] or '()'} "
                         f"(one weight per sample) or {shape}. Received: shape {w.shape}")
    return w.reshape(w.shape + (1,) * (len(shape) - w.ndim))


def reduce_weighted_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Weights per-sample losses and reduces them as Keras's ``reduction``."""
    w = None
    if sample_weight is not None:
        w = _weights_like(values, sample_weight)
        values = ops.multiply(values, w)
    if reduction in (None, "none") or values.ndim == 0 or tuple(values.shape) == (0,):
        return values
    total = ops.sum(values)
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and w is not None:
        divisor = float(np.sum(w, dtype=np.float64))
    else:
        divisor = float(np.prod(values.shape))
    return ops.divide(total, divisor) if divisor else ops.multiply(total, 0.0)


def _mask_weights(mask, sample_weight, reduction):
    """Keras 3's rule for an output that carries a mask (a sequence after
    ``Embedding(mask_zero=True)``): masked steps weigh 0 and, for a mean, the
    kept ones weigh ``total / kept``, so the mean is over the kept steps."""
    m = np.asarray(mask, dtype=np.float64)
    if reduction in ("mean", "sum_over_batch_size"):
        m = m * (m.size / (m.sum() + 1e-7))
    if sample_weight is not None:
        w = np.asarray(sample_weight, dtype=np.float64)
        w = w.reshape(w.shape + (1,) * (m.ndim - w.ndim)) if w.ndim < m.ndim else w
        m = m * w
    return m.astype(np.float32)


# ---------------------------------------------------------------- classes
class Loss:
    """Base class of the losses: subclass it and define ``call(y_true,
    y_pred)`` returning one loss per sample, as in Keras."""
    name = "loss"
    # Whether the labels are class indices (sparse) rather than one-hot rows.
    sparse = False
    from_logits = False

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if reduction not in _REDUCTIONS:
            raise ValueError(f"Invalid value for argument `reduction`. Expected one of "
                             f"{[r for r in _REDUCTIONS]}. Received: reduction={reduction!r}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string. Received: name={name!r}")
        if name:
            self.name = name
        self.reduction = reduction
        self.dtype = dtype or "float32"

    def __call__(self, y_true, y_pred, sample_weight=None):
        """The losses of the batch, weighted by ``sample_weight`` and reduced
        (by default ``sum(loss * sample_weight) / number_of_losses``)."""
        y_pred = y_pred if isinstance(y_pred, Tensor) else ops.convert_to_tensor(y_pred)
        mask = y_pred._keras_mask
        if mask is None and sample_weight is None and \
                self.reduction in ("sum_over_batch_size", "mean", "mean_with_sample_weight"):
            fused = self._fused_mean(y_true, y_pred)
            if fused is not None:
                return fused
        losses = self.call(y_true, y_pred)
        if not isinstance(losses, Tensor):
            losses = ops.convert_to_tensor(losses)
        if mask is not None:
            sample_weight = _mask_weights(mask, sample_weight, self.reduction)
        return reduce_weighted_values(losses, sample_weight, self.reduction)

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred).")

    def _fused_mean(self, y_true, y_pred):
        """The unweighted batch mean as one fused kernel, or None."""
        return None

    def check_shapes(self, y_true_shape, y_pred_shape):
        """Raises ValueError when labels of this shape cannot go with outputs of that shape."""
        if tuple(y_true_shape[1:]) != tuple(y_pred_shape[1:]):
            raise ValueError(f"{type(self).__name__} expects labels shaped like the model output "
                             f"(None, {', '.join(map(str, y_pred_shape[1:]))}), received labels of shape "
                             f"{tuple(y_true_shape)}")

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class LossFunctionWrapper(Loss):
    """A function ``fn(y_true, y_pred, **kwargs)`` of per-sample losses as a
    Loss object (also a user's function, which may return a scalar)."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(name or getattr(fn, "__name__", "loss"), reduction, dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        out = self.fn(y_true, y_pred, **self._fn_kwargs)
        return out if isinstance(out, Tensor) else ops.convert_to_tensor(out)

    def get_config(self):
        if type(self) is LossFunctionWrapper:
            raise ValueError(f"The loss '{self.name}' is a Python function, which ember does not serialise.")
        return {**super().get_config(), **self._fn_kwargs}


def bind_arguments(class_name, names, args, kwargs):
    """The arguments of a call, by name, for a signature whose parameters
    are ``names`` in order; a TypeError for extra, repeated or unknown ones."""
    if len(args) > len(names):
        raise TypeError(f"{class_name} takes at most {len(names)} positional arguments. Received: {len(args)}")
    given = dict(zip(names, args))
    overlap = set(given) & set(kwargs)
    if overlap:
        raise TypeError(f"{class_name} got multiple values for {sorted(overlap)}")
    given.update(kwargs)
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise TypeError(f"{class_name} got unexpected keyword arguments {unknown}. Expected some of {names}")
    return given


def _wrapper_class(class_name, fn, default_name, params=(), doc="", **members):
    """A Keras loss class around ``fn``: ``params`` are its keyword
    arguments with their defaults, in Keras's order (before reduction);
    ``members`` are further methods and attributes."""
    def __init__(self, *args, **kwargs):
        given = bind_arguments(class_name, [p for p, _ in params] + ["reduction", "name", "dtype"], args, kwargs)
        fn_kwargs = {p: given.get(p, d) for p, d in params}
        self.from_logits = bool(fn_kwargs.get("from_logits", False))
        LossFunctionWrapper.__init__(self, fn, reduction=given.get("reduction", "sum_over_batch_size"),
                                     name=given.get("name") or default_name, dtype=given.get("dtype"),
                                     **fn_kwargs)
        for p, _ in params:
            setattr(self, p, fn_kwargs[p])
    return type(class_name, (LossFunctionWrapper,), {"__init__": __init__, "name": default_name,
                                                     "__doc__": doc or fn.__doc__,
                                                     "__module__": __name__, **members})


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


def _mse_fused(self, y_true, y_pred):
    if y_pred.ndim == 0 or _shape(y_true) != tuple(y_pred.shape):
        return None
    return ops._elementwise_loss_mean("mean_squared_error", y_true, y_pred)


def _bce_fused(self, y_true, y_pred):
    if self.label_smoothing or self.axis != -1 or y_pred.ndim == 0 or _shape(y_true) != tuple(y_pred.shape):
        return None
    return ops._elementwise_loss_mean("binary_crossentropy", y_true, y_pred, self.from_logits)


def _cce_fused(self, y_true, y_pred):
    if self.label_smoothing or self.axis != -1 or y_pred.ndim != 2 or _shape(y_true) != tuple(y_pred.shape):
        return None
    return ops._cce_mean(y_true, y_pred, self.from_logits)


def _scce_fused(self, y_true, y_pred):
    if self.axis != -1 or y_pred.ndim != 2:
        return None
    return ops._cce_mean(_sparse_labels(y_true, y_pred, self.name), y_pred, self.from_logits, sparse=True)


def _scce_call(self, y_true, y_pred, sample_weight=None):
    if self.ignore_class is None:
        return Loss.__call__(self, y_true, y_pred, sample_weight)
    # As Keras: ignored entries weigh 0 and, under a mean reduction, the
    # others count as if they were all there were.
    y_pred = ops.convert_to_tensor(y_pred)
    labels = _sparse_labels(y_true, y_pred, self.name)
    valid = (labels != int(self.ignore_class)).astype(np.float32)
    if self.reduction in ("sum_over_batch_size", "mean"):
        valid = valid * (valid.size / (valid.sum() + _EPSILON))
    w = valid if sample_weight is None else valid * _weights_like(valid, sample_weight)
    return reduce_weighted_values(self.call(labels, y_pred), w, self.reduction)


def _scce_check_shapes(self, y_true_shape, y_pred_shape):
    # One class index per prediction row: labels shaped as the outputs
    # without their class axis, or with a trailing 1 (per pixel for (N, H, W, C)).
    want = tuple(y_pred_shape[1:-1])
    if tuple(y_true_shape[1:]) not in (want, want + (1,)):
        raise ValueError("SparseCategoricalCrossentropy expects integer labels shaped as the outputs without "
                         f"their class axis, (None, {', '.join(map(str, want + ('[1]',)))}); received labels of "
                         f"shape {tuple(y_true_shape)} for outputs {tuple(y_pred_shape)}")


MeanSquaredError = _wrapper_class("MeanSquaredError", mean_squared_error, "mean_squared_error",
                                  _fused_mean=_mse_fused)
CategoricalCrossentropy = _wrapper_class(
    "CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
    (("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)), _fused_mean=_cce_fused)
SparseCategoricalCrossentropy = _wrapper_class(
    "SparseCategoricalCrossentropy", sparse_categorical_crossentropy, "sparse_categorical_crossentropy",
    (("from_logits", False), ("ignore_class", None), ("axis", -1)), sparse=True, _fused_mean=_scce_fused,
    __call__=_scce_call, check_shapes=_scce_check_shapes)
BinaryCrossentropy = _wrapper_class(
    "BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
    (("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)), _fused_mean=_bce_fused)
MeanAbsoluteError = _wrapper_class("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _wrapper_class("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                             "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _wrapper_class("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                             "mean_squared_logarithmic_error")
Huber = _wrapper_class("Huber", huber, "huber_loss", (("delta", 1.0),),
                       "Squared error below `delta`, linear above it.")
LogCosh = _wrapper_class("LogCosh", log_cosh, "log_cosh")
KLDivergence = _wrapper_class("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _wrapper_class("Poisson", poisson, "poisson")
CosineSimilarity = _wrapper_class("CosineSimilarity", cosine_similarity, "cosine_similarity", (("axis", -1),))
Hinge = _wrapper_class("Hinge", hinge, "hinge")
SquaredHinge = _wrapper_class("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _wrapper_class("CategoricalHinge", categorical_hinge, "categorical_hinge")
BinaryFocalCrossentropy = _wrapper_class(
    "BinaryFocalCrossentropy", binary_focal_crossentropy, "binary_focal_crossentropy",
    (("apply_class_balancing", False), ("alpha", 0.25), ("gamma", 2.0), ("from_logits", False),
     ("label_smoothing", 0.0), ("axis", -1)))
CategoricalFocalCrossentropy = _wrapper_class(
    "CategoricalFocalCrossentropy", categorical_focal_crossentropy, "categorical_focal_crossentropy",
    (("alpha", 0.25), ("gamma", 2.0), ("from_logits", False), ("label_smoothing", 0.0), ("axis", -1)))

_CLASSES = {cls.__name__: cls for cls in (
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Huber,
    LogCosh, KLDivergence, Poisson, CosineSimilarity, Hinge, SquaredHinge, CategoricalHinge,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy)}

# Short names Keras 3 accepts for losses and metrics alike (and a few Keras 2 spellings).
ALIASES = {"mse": "mean_squared_error", "MSE": "mean_squared_error", "mae": "mean_absolute_error",
           "MAE": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
           "MAPE": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
           "MSLE": "mean_squared_logarithmic_error", "kld": "kl_divergence", "KLD": "kl_divergence",
           "kullback_leibler_divergence": "kl_divergence", "bce": "binary_crossentropy",
           "BCE": "binary_crossentropy"}


def with_aliases(by_name):
    """A table of canonical names extended by the ALIASES of those names."""
    return {**by_name, **{a: by_name[n] for a, n in ALIASES.items() if n in by_name}}


# Every string Keras 3 accepts for a loss.
_BY_NAME = with_aliases({
    "mean_squared_error": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "huber": Huber, "huber_loss": Huber, "log_cosh": LogCosh, "logcosh": LogCosh, "kl_divergence": KLDivergence,
    "poisson": Poisson, "cosine_similarity": CosineSimilarity,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "binary_crossentropy": BinaryCrossentropy, "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
})
# The module's function forms, by object, so get(ember.losses.mae) gives the class.
_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              mean_absolute_percentage_error: MeanAbsolutePercentageError,
              mean_squared_logarithmic_error: MeanSquaredLogarithmicError, huber: Huber, log_cosh: LogCosh,
              kl_divergence: KLDivergence, poisson: Poisson, cosine_similarity: CosineSimilarity, hinge: Hinge,
              squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge,
              binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
              binary_focal_crossentropy: BinaryFocalCrossentropy,
              categorical_focal_crossentropy: CategoricalFocalCrossentropy}


def get(identifier):
    """A loss object from a Loss, a Loss class, a name (Keras's strings and
    class names), a config dict, or a function of (y_true, y_pred)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier]()
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
    elif callable(identifier):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]()
        return LossFunctionWrapper(identifier)
    raise ValueError(f"Unknown loss: {identifier!r}. Expected a Loss object, a "
                     f"function of (y_true, y_pred), or one of the names {sorted(set(_BY_NAME) | set(_CLASSES))}")


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
    return from_class_table(spec, _CLASSES, "loss")
