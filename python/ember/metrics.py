"""Metrics, accumulated over the batches of an epoch: Keras 3's
``update_state`` / ``result`` / ``reset_state``, by object or by name.

Each update is vectorised over the batch (the loss-like metrics run the
losses' ember ops, the others NumPy), never Python per sample. Labels and
predictions whose shapes do not fit raise ValueError at the first batch
instead of broadcasting."""
import numpy as np

from . import losses as _losses
from .engine import Tensor, convert_to_tensor
from .serialization import from_class_table

_EPSILON = 1e-7
_NEG_INF = -1e10


def _np(x, dtype=np.float64):
    value = x.numpy() if hasattr(x, "numpy") else x
    return np.asarray(value, dtype)


def _same_rank(x1, x2, expand_rank_1=True):
    """Keras's rule for arrays whose ranks differ by a trailing 1."""
    if x1.ndim == x2.ndim + 1 and x1.shape[-1] == 1:
        if x2.ndim == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif x2.ndim == x1.ndim + 1 and x2.shape[-1] == 1:
        if x1.ndim == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _pair(y_true, y_pred, what):
    """y_true, y_pred as float64 arrays of one shape; anything else raises."""
    t, p = _same_rank(_np(y_true), _np(y_pred))
    if t.shape != p.shape:
        raise ValueError(f"{what} expects y_true and y_pred of the same shape. Received: "
                         f"y_true.shape={t.shape}, y_pred.shape={p.shape}")
    return t, p


def _sparse_pair(y_true, y_pred, what):
    """Integer labels and (..., classes) predictions."""
    p = _np(y_pred)
    t = _np(y_true)
    want = p.shape[:-1]
    if p.ndim == 0 or (t.shape != want and t.shape != want + (1,)):
        raise ValueError(f"{what} expects integer labels of shape {want} (or {want + (1,)}) for "
                         f"predictions of shape {p.shape}. Received: y_true.shape={t.shape}")
    return t.reshape(want).astype(np.int64), p


def _weights(sample_weight, shape, what):
    """sample_weight broadcast to ``shape`` (one weight per sample, or one per value)."""
    w = _np(sample_weight)
    if w.ndim == len(shape) + 1 and w.shape[-1] == 1:
        w = w[..., 0]
    w = w.reshape(w.shape + (1,) * max(len(shape) - w.ndim, 0))
    try:
        return np.broadcast_to(w, shape)
    except ValueError:
        raise ValueError(f"{what}: `sample_weight` of shape {np.shape(sample_weight)} does not fit values of "
                         f"shape {tuple(shape)}; expected one weight per sample.") from None


def _divide_no_nan(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


def _scalar_or_array(x):
    x = np.asarray(x, np.float64)
    return float(x) if x.ndim == 0 else x


# ---------------------------------------------------------------- base classes
class Metric:
    """Base class: ``update_state`` accumulates, ``result`` reads,
    ``reset_state`` clears; calling a metric updates it and returns its result."""
    name = "metric"

    def __init__(self, name=None, dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"`name` must be a string. Received: name={name!r}")
        if name:
            self.name = name
        self.dtype = dtype or "float32"
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define update_state().")

    def result(self):
        return float(_divide_no_nan(self.total, self.count))

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


def _samplewise(values, sample_weight, reduce_fn, what):
    """Per-sample values (reduced over the non-batch axes) multiplied by
    their weights, and the per-sample weights (None without weights), as
    Keras's reduction metrics."""
    v = _np(values)
    w = None
    if sample_weight is not None:
        w = _np(sample_weight)
        v, w = _same_rank(v, w)
        if v.ndim > w.ndim:
            v = reduce_fn(v, axis=tuple(range(w.ndim, v.ndim)))
        try:
            w = np.broadcast_to(w, v.shape)
        except ValueError:
            raise ValueError(f"{what}: `sample_weight` of shape {np.shape(sample_weight)} does not fit values "
                             f"of shape {v.shape}; expected one weight per sample.") from None
        v = v * w
        if w.ndim > 1:
            w = reduce_fn(w, axis=tuple(range(1, w.ndim)))
    if v.ndim > 1:
        v = reduce_fn(v, axis=tuple(range(1, v.ndim)))
    return v, w


class Mean(Metric):
    """The (weighted) mean of the values given to ``update_state``; models
    track their loss with one named 'loss'."""
    name = "mean"

    def update_state(self, values, sample_weight=None):
        v, w = _samplewise(values, sample_weight, np.mean, self.name)
        self.total += float(np.sum(v))
        self.count += float(np.sum(w)) if w is not None else (v.shape[0] if v.ndim else 1)


class Sum(Metric):
    """The (weighted) sum of the values given to ``update_state``."""
    name = "sum"

    def update_state(self, values, sample_weight=None):
        v, _ = _samplewise(values, sample_weight, np.sum, self.name)
        self.total += float(np.sum(v))

    def result(self):
        return float(self.total)


class MeanMetricWrapper(Mean):
    """The weighted mean over samples of ``fn(y_true, y_pred, **kwargs)``,
    a function giving one value per sample."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self._fn = fn
        self._fn_kwargs = kwargs
        super().__init__(name or getattr(fn, "__name__", None) or self.name, dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(self._fn(y_true, y_pred, **self._fn_kwargs), sample_weight)

    def get_config(self):
        return {**super().get_config(), **self._fn_kwargs}


def _wrapped(class_name, fn, default_name, params=(), order=("name", "dtype"), doc=""):
    """A MeanMetricWrapper class around ``fn`` with Keras's signature:
    ``order`` lists the arguments as Keras orders them ("name", "dtype" and
    the names in ``params``, each (argument, default))."""
    defaults = dict(params)
    names = list(order) + [p for p in defaults if p not in order]

    def __init__(self, *args, **kwargs):
        given = _losses.bind_arguments(class_name, names, args, kwargs)
        fn_kwargs = {p: given.get(p, d) for p, d in defaults.items()}
        for p, v in fn_kwargs.items():
            setattr(self, p, v)
        MeanMetricWrapper.__init__(self, fn, name=given.get("name") or default_name, dtype=given.get("dtype"),
                                   **fn_kwargs)
    return type(class_name, (MeanMetricWrapper,), {"__init__": __init__, "name": default_name,
                                                   "__doc__": doc or fn.__doc__, "__module__": __name__})


# ---------------------------------------------------------------- accuracy functions (one value per sample)
def _accuracy_values(y_true, y_pred, what, threshold=None):
    t, p = _pair(y_true, y_pred, what)
    if threshold is None:
        return (t == p).astype(np.float32)
    return ((p > threshold) == (t > 0.5)).astype(np.float32)


def accuracy(y_true, y_pred):
    """1 where y_pred equals y_true (Keras's ``Accuracy``)."""
    return convert_to_tensor(_accuracy_values(y_true, y_pred, "accuracy"))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where y_pred > threshold agrees with the label."""
    return convert_to_tensor(_accuracy_values(y_true, y_pred, "binary_accuracy", float(threshold)))


def categorical_accuracy(y_true, y_pred):
    t, p = _pair(y_true, y_pred, "categorical_accuracy")
    return convert_to_tensor((np.argmax(t, axis=-1) == np.argmax(p, axis=-1)).astype(np.float32))


def sparse_categorical_accuracy(y_true, y_pred):
    t, p = _sparse_pair(y_true, y_pred, "sparse_categorical_accuracy")
    return convert_to_tensor((t == np.argmax(p, axis=-1)).astype(np.float32))


def _in_top_k(labels, p, k):
    """Whether each label's score ranks among the k highest (ties count in)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`k` must be a positive int. Received: k={k!r}")
    if p.ndim == 0 or np.any(labels < 0) or np.any(labels >= p.shape[-1]):
        raise ValueError(f"Labels must be class indices in [0, {p.shape[-1] if p.ndim else 0}). "
                         f"Received: labels from {labels.min(initial=0)} to {labels.max(initial=0)}")
    at_label = np.take_along_axis(p, labels[..., None], axis=-1)
    at_label = np.where(np.isnan(at_label), -np.inf, at_label)
    rank = 1 + np.sum(p > at_label, axis=-1)
    return (rank <= k).astype(np.float32)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    t, p = _pair(y_true, y_pred, "top_k_categorical_accuracy")
    return convert_to_tensor(_in_top_k(np.argmax(t, axis=-1), p, k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """With ``from_sorted_ids``, y_pred holds each sample's class ids sorted
    by score (best first) instead of the scores."""
    if from_sorted_ids:
        p = _np(y_pred)
        t = _np(y_true)
        if t.shape != p.shape[:-1] and t.shape != p.shape[:-1] + (1,):
            raise ValueError(f"sparse_top_k_categorical_accuracy expects labels of shape {p.shape[:-1]}. "
                             f"Received: y_true.shape={t.shape}")
        return convert_to_tensor(np.any(p[..., :k] == t.reshape(p.shape[:-1])[..., None], axis=-1)
                                 .astype(np.float32))
    t, p = _sparse_pair(y_true, y_pred, "sparse_top_k_categorical_accuracy")
    return convert_to_tensor(_in_top_k(t, p, k))


def cosine_similarity(y_true, y_pred, axis=-1):
    """The cosine similarity along ``axis`` (1 for vectors pointing the same way)."""
    return _losses._cosine(y_true, y_pred, axis, "cosine_similarity")


def _sparse_crossentropy_metric(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    return _losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits, ignore_class, axis)


def _root_mean_squared_error_values(y_true, y_pred):
    t, p = _pair(y_true, y_pred, "root_mean_squared_error")
    return np.square(p - t)


# Function forms Keras keeps in keras.metrics: the losses' functions.
mean_squared_error = mse = _losses.mean_squared_error
mean_absolute_error = mae = _losses.mean_absolute_error
mean_absolute_percentage_error = mape = _losses.mean_absolute_percentage_error
mean_squared_logarithmic_error = msle = _losses.mean_squared_logarithmic_error
log_cosh = logcosh = _losses.log_cosh
kl_divergence = kld = _losses.kl_divergence
poisson = _losses.poisson
hinge = _losses.hinge
squared_hinge = _losses.squared_hinge
categorical_hinge = _losses.categorical_hinge
binary_crossentropy = _losses.binary_crossentropy
categorical_crossentropy = _losses.categorical_crossentropy
sparse_categorical_crossentropy = _losses.sparse_categorical_crossentropy
huber = _losses.huber


# ---------------------------------------------------------------- mean-of-values metrics
Accuracy = _wrapped("Accuracy", accuracy, "accuracy")
BinaryAccuracy = _wrapped("BinaryAccuracy", binary_accuracy, "binary_accuracy", (("threshold", 0.5),),
                          ("name", "dtype", "threshold"))
CategoricalAccuracy = _wrapped("CategoricalAccuracy", categorical_accuracy, "categorical_accuracy")
SparseCategoricalAccuracy = _wrapped("SparseCategoricalAccuracy", sparse_categorical_accuracy,
                                     "sparse_categorical_accuracy")
TopKCategoricalAccuracy = _wrapped("TopKCategoricalAccuracy", top_k_categorical_accuracy,
                                   "top_k_categorical_accuracy", (("k", 5),), ("k", "name", "dtype"))
SparseTopKCategoricalAccuracy = _wrapped(
    "SparseTopKCategoricalAccuracy", sparse_top_k_categorical_accuracy, "sparse_top_k_categorical_accuracy",
    (("k", 5), ("from_sorted_ids", False)), ("k", "name", "dtype", "from_sorted_ids"))
MeanSquaredError = _wrapped("MeanSquaredError", mean_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapped("MeanAbsoluteError", mean_absolute_error, "mean_absolute_error")
MeanAbsolutePercentageError = _wrapped("MeanAbsolutePercentageError", mean_absolute_percentage_error,
                                       "mean_absolute_percentage_error")
MeanSquaredLogarithmicError = _wrapped("MeanSquaredLogarithmicError", mean_squared_logarithmic_error,
                                       "mean_squared_logarithmic_error")
CosineSimilarity = _wrapped("CosineSimilarity", cosine_similarity, "cosine_similarity", (("axis", -1),),
                            ("name", "dtype", "axis"))
LogCoshError = _wrapped("LogCoshError", log_cosh, "logcosh")
KLDivergence = _wrapped("KLDivergence", kl_divergence, "kl_divergence")
Poisson = _wrapped("Poisson", poisson, "poisson")
Hinge = _wrapped("Hinge", hinge, "hinge")
SquaredHinge = _wrapped("SquaredHinge", squared_hinge, "squared_hinge")
CategoricalHinge = _wrapped("CategoricalHinge", categorical_hinge, "categorical_hinge")
BinaryCrossentropy = _wrapped("BinaryCrossentropy", binary_crossentropy, "binary_crossentropy",
                              (("from_logits", False), ("label_smoothing", 0)),
                              ("name", "dtype", "from_logits", "label_smoothing"))
CategoricalCrossentropy = _wrapped("CategoricalCrossentropy", categorical_crossentropy, "categorical_crossentropy",
                                   (("from_logits", False), ("label_smoothing", 0), ("axis", -1)),
                                   ("name", "dtype", "from_logits", "label_smoothing", "axis"))
SparseCategoricalCrossentropy = _wrapped(
    "SparseCategoricalCrossentropy", _sparse_crossentropy_metric, "sparse_categorical_crossentropy",
    (("from_logits", False), ("ignore_class", None), ("axis", -1)),
    ("name", "dtype", "from_logits", "ignore_class", "axis"))


def _scce_metric_update(self, y_true, y_pred, sample_weight=None):
    # Entries labelled ignore_class score 0; as in Keras 3, they also drop
    # out of the mean when sample weights are given (their weight becomes 0),
    # but count in it without weights.
    if self.ignore_class is not None and sample_weight is not None:
        y_pred = convert_to_tensor(y_pred)  # the loss reads labels the same way; no host copy of y_pred
        labels = _losses._sparse_labels(y_true, y_pred, self.name)
        valid = (labels != int(self.ignore_class)).astype(np.float64)
        sample_weight = valid * _weights(sample_weight, valid.shape, self.name)
    MeanMetricWrapper.update_state(self, y_true, y_pred, sample_weight)


SparseCategoricalCrossentropy.update_state = _scce_metric_update


class RootMeanSquaredError(Mean):
    """The square root of the (weighted) mean squared error."""
    name = "root_mean_squared_error"

    def update_state(self, y_true, y_pred, sample_weight=None):
        super().update_state(_root_mean_squared_error_values(y_true, y_pred), sample_weight)

    def result(self):
        return float(np.sqrt(_divide_no_nan(self.total, self.count)))


# ---------------------------------------------------------------- confusion-matrix metrics
def _check_thresholds(thresholds, default):
    if thresholds is None:
        return [default], True
    single = isinstance(thresholds, (int, float, np.integer, np.floating)) and not isinstance(thresholds, bool)
    values = [thresholds] if single else list(thresholds)
    for t in values:
        if isinstance(t, bool) or not isinstance(t, (int, float, np.integer, np.floating)) or not 0 <= t <= 1:
            raise ValueError(f"Threshold values must be in [0, 1]. Received: {thresholds!r}")
    return [float(t) for t in values], single or len(values) == 1


def _filter_top_k(p, k):
    """Scores outside each row's k highest become -1e10 (ties: the lower index wins)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`top_k` must be a positive int. Received: top_k={k!r}")
    order = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(p.shape, bool)
    np.put_along_axis(keep, order, True, axis=-1)
    return np.where(keep, p, _NEG_INF)


def _weight_above(p, w, thresholds):
    """For each threshold, the summed weight of the entries whose score
    exceeds it (NaN scores never do): one sort, then a search per threshold."""
    p = np.where(np.isnan(p), -np.inf, p).reshape(-1)
    order = np.argsort(p, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(w.reshape(-1)[order])])
    return cum[-1] - cum[np.searchsorted(p[order], thresholds, side="right")]


class _ConfusionMetric(Metric):
    """Accumulates true/false positives/negatives per threshold."""

    def _inputs(self, y_true, y_pred, sample_weight, top_k=None, class_id=None):
        t, p = _pair(y_true, y_pred, type(self).__name__)
        w = np.ones(p.shape) if sample_weight is None else _weights(sample_weight, p.shape, self.name)
        if top_k is not None:
            p = _filter_top_k(p, top_k)
        if class_id is not None:
            if p.ndim < 2 or not 0 <= int(class_id) < p.shape[-1]:
                raise ValueError(f"`class_id` {class_id} needs predictions of shape (num_samples, num_classes) "
                                 f"with more than {class_id} classes. Received: y_pred.shape={p.shape}")
            t, p, w = t[..., class_id], p[..., class_id], w[..., class_id]
        return t, p, w

    def _counts(self, t, p, w, thresholds):
        """(tp, fp, fn, tn) per threshold; labels count as positive when non-zero."""
        pos = t != 0
        tp = _weight_above(p[pos], w[pos], thresholds)
        fp = _weight_above(p[~pos], w[~pos], thresholds)
        return tp, fp, float(np.sum(w[pos])) - tp, float(np.sum(w[~pos])) - fp


class _PrecisionRecall(_ConfusionMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self.thresholds, self._single = _check_thresholds(thresholds, 0.5 if top_k is None else _NEG_INF)
        super().__init__(name, dtype)

    def reset_state(self):
        n = len(self.thresholds)
        self.true_positives = np.zeros(n)
        self.false_positives = np.zeros(n)
        self.false_negatives = np.zeros(n)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p, w = self._inputs(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        tp, fp, fn, _ = self._counts(t, p, w, np.asarray(self.thresholds))
        self.true_positives += tp
        self.false_positives += fp
        self.false_negatives += fn

    def _finish(self, value):
        return float(value[0]) if self._single else value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """tp / (tp + fp) at each threshold (predictions above it count as positive)."""
    name = "precision"

    def result(self):
        return self._finish(_divide_no_nan(self.true_positives, self.true_positives + self.false_positives))


class Recall(_PrecisionRecall):
    """tp / (tp + fn) at each threshold."""
    name = "recall"

    def result(self):
        return self._finish(_divide_no_nan(self.true_positives, self.true_positives + self.false_negatives))


class AUC(_ConfusionMetric):
    """Area under the ROC or precision-recall curve, from confusion counts
    at ``num_thresholds`` thresholds spread evenly over [0, 1] (Riemann sum;
    PR with 'interpolation' uses the interpolation of Davis & Goadrich)."""
    name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        if str(curve).upper() not in ("ROC", "PR"):
            raise ValueError(f'Invalid `curve` argument value "{curve}". Expected one of: "ROC", "PR"')
        if str(summation_method).lower() not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f'Invalid `summation_method` argument value "{summation_method}". Expected one of: '
                             '"interpolation", "minoring", "majoring"')
        self.curve = str(curve).upper()
        self.summation_method = str(summation_method).lower()
        if thresholds is not None:
            inner, _ = _check_thresholds(thresholds, None)
            inner = sorted(inner)
            num_thresholds = len(inner) + 2
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, (int, np.integer)) \
                    or num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds!r}")
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds = int(num_thresholds)
        self._init_thresholds = thresholds
        self._thresholds = np.array([-_EPSILON] + inner + [1.0 + _EPSILON])
        self.multi_label = bool(multi_label)
        self.num_labels = self._init_num_labels = num_labels
        self.label_weights = None if label_weights is None else np.asarray(_np(label_weights))
        if self.label_weights is not None and np.any(self.label_weights < 0):
            raise ValueError(f"All values of `label_weights` must be non-negative. Received: {label_weights!r}")
        self.from_logits = bool(from_logits)
        super().__init__(name, dtype)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def reset_state(self):
        shape = (self.num_thresholds,) + ((self.num_labels,) if self.multi_label and self.num_labels else ())
        self.true_positives = np.zeros(shape)
        self.false_positives = np.zeros(shape)
        self.true_negatives = np.zeros(shape)
        self.false_negatives = np.zeros(shape)

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p, w = self._inputs(y_true, y_pred, sample_weight)
        if self.from_logits:
            p = 1.0 / (1.0 + np.exp(-p))
        if self.multi_label:
            if p.ndim != 2 or (self.num_labels and p.shape[1] != self.num_labels):
                raise ValueError(f"AUC(multi_label=True) expects predictions of shape (num_samples, "
                                 f"{self.num_labels or 'num_labels'}). Received: y_pred.shape={p.shape}")
            columns = [self._counts(t[:, j], p[:, j], w[:, j], self._thresholds) for j in range(p.shape[1])]
            counts = [np.stack(c, axis=1) for c in zip(*columns)]
        else:
            if self.label_weights is not None:
                w = w * _weights(self.label_weights[None], p.shape, self.name) if p.ndim > 1 else w
            counts = self._counts(t, p, w, self._thresholds)
        if self.true_positives.shape != counts[0].shape:
            if np.any(self.true_positives):
                raise ValueError(f"AUC was updated with {self.true_positives.shape[1:]} labels before and "
                                 f"{counts[0].shape[1:]} now.")
            self.num_labels = counts[0].shape[1] if self.multi_label else self.num_labels
            self.reset_state()
        self.true_positives += counts[0]
        self.false_positives += counts[1]
        self.false_negatives += counts[2]
        self.true_negatives += counts[3]

    def _average(self, by_threshold):
        per_label = np.sum(by_threshold, axis=0)
        if not self.multi_label:
            return float(per_label)
        if self.label_weights is None:
            return float(np.mean(per_label))
        return float(_divide_no_nan(np.sum(per_label * self.label_weights), np.sum(self.label_weights)))

    def result(self):
        tp, fp, fn, tn = self.true_positives, self.false_positives, self.false_negatives, self.true_negatives
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:-1] - tp[1:]
            pos = tp + fp
            dp = pos[:-1] - pos[1:]
            slope = _divide_no_nan(dtp, np.maximum(dp, 0))
            intercept = tp[1:] - slope * pos[1:]
            both = (pos[:-1] > 0) & (pos[1:] > 0)
            ratio = np.where(both, _divide_no_nan(pos[:-1], np.maximum(pos[1:], 0)), 1.0)
            return self._average(_divide_no_nan(slope * (dtp + intercept * np.log(ratio)),
                                                np.maximum(tp[1:] + fn[1:], 0)))
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self):
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "thresholds": self._init_thresholds,
                "multi_label": self.multi_label, "num_labels": self._init_num_labels,
                "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                "from_logits": self.from_logits}


class FBetaScore(Metric):
    """F-beta score per class of (num_samples, num_classes) labels and
    predictions; ``average`` None (per class), 'micro', 'macro' or
    'weighted'. Without ``threshold`` the highest score of each row counts
    as the predicted class."""
    name = "fbeta_score"

    def __init__(self, average=None, beta=1.0, threshold=None, name=None, dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.integer, np.floating)) or beta <= 0:
            raise ValueError(f"`beta` must be a positive float. Received: beta={beta!r}")
        if threshold is not None and (isinstance(threshold, bool) or
                                      not isinstance(threshold, (float, np.floating)) or not 0 < threshold <= 1):
            raise ValueError(f"`threshold` must be a float in (0, 1]. Received: threshold={threshold!r}")
        self.average = average
        self.beta = float(beta)
        self.threshold = threshold
        super().__init__(name, dtype)

    def reset_state(self):
        self.true_positives = self.false_positives = self.false_negatives = self.intermediate_weights = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        t, p = _np(y_true), _np(y_pred)
        if t.ndim != 2 or p.ndim != 2 or t.shape != p.shape:
            raise ValueError(f"{type(self).__name__} expects 2D inputs of one shape (batch_size, output_dim). "
                             f"Received: y_true.shape={t.shape}, y_pred.shape={p.shape}")
        if self.threshold is None:
            pred = (p >= np.max(p, axis=-1, keepdims=True)) & (np.abs(p) > 1e-9)
        else:
            pred = p > self.threshold
        pred = pred.astype(np.float64)
        w = np.ones((t.shape[0], 1)) if sample_weight is None else _weights(sample_weight, t.shape[:1], self.name)[:, None]
        axis = None if self.average == "micro" else 0
        self.true_positives = self.true_positives + np.sum(pred * t * w, axis=axis)
        self.false_positives = self.false_positives + np.sum(pred * (1 - t) * w, axis=axis)
        self.false_negatives = self.false_negatives + np.sum((1 - pred) * t * w, axis=axis)
        self.intermediate_weights = self.intermediate_weights + np.sum(t * w, axis=axis)

    def result(self):
        tp = np.asarray(self.true_positives, np.float64)
        precision = tp / (tp + self.false_positives + _EPSILON)
        recall = tp / (tp + self.false_negatives + _EPSILON)
        b2 = self.beta ** 2
        score = (1 + b2) * precision * recall / (b2 * precision + recall + _EPSILON)
        if self.average == "weighted":
            weights = np.asarray(self.intermediate_weights, np.float64)
            score = np.sum(score * weights / (np.sum(weights) + _EPSILON))
        elif self.average is not None:
            score = np.mean(score)
        return _scalar_or_array(score)

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F-1 score (FBetaScore with beta = 1)."""
    name = "f1_score"

    def __init__(self, average=None, threshold=None, name=None, dtype=None):
        super().__init__(average, 1.0, threshold, name, dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


# ---------------------------------------------------------------- lookup
_CLASSES = {cls.__name__: cls for cls in (
    Mean, Sum, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, TopKCategoricalAccuracy,
    SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, RootMeanSquaredError, CosineSimilarity, LogCoshError, KLDivergence, Poisson,
    Hinge, SquaredHinge, CategoricalHinge, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, Precision, Recall, AUC, F1Score, FBetaScore)}

# Every string Keras 3 accepts for a metric (and a few Keras 2 spellings).
_BY_NAME = _losses.with_aliases({
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mean_squared_error": MeanSquaredError, "mean_absolute_error": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "root_mean_squared_error": RootMeanSquaredError, "cosine_similarity": CosineSimilarity,
    "log_cosh_error": LogCoshError, "logcosh": LogCoshError, "log_cosh": LogCoshError,
    "kl_divergence": KLDivergence, "poisson": Poisson, "hinge": Hinge, "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge, "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "auc": AUC, "precision": Precision, "recall": Recall, "f1_score": F1Score, "fbeta_score": FBetaScore,
    "f_beta_score": FBetaScore, "mean": Mean, "sum": Sum,
})
# Function forms, by object, so get(ember.metrics.mae) gives the class.
_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              mean_absolute_percentage_error: MeanAbsolutePercentageError,
              mean_squared_logarithmic_error: MeanSquaredLogarithmicError, log_cosh: LogCoshError,
              kl_divergence: KLDivergence, poisson: Poisson, hinge: Hinge, squared_hinge: SquaredHinge,
              categorical_hinge: CategoricalHinge, binary_crossentropy: BinaryCrossentropy,
              categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy, cosine_similarity: CosineSimilarity,
              binary_accuracy: BinaryAccuracy, categorical_accuracy: CategoricalAccuracy,
              sparse_categorical_accuracy: SparseCategoricalAccuracy,
              top_k_categorical_accuracy: TopKCategoricalAccuracy,
              sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy}


def _accuracy_for(loss, output_shape):
    """'accuracy' as Keras resolves it: binary for one output unit (or a
    binary cross-entropy), sparse for integer labels, else categorical."""
    if output_shape is not None and output_shape[-1] == 1 or getattr(loss, "name", "") == "binary_crossentropy":
        return BinaryAccuracy
    if getattr(loss, "sparse", False):
        return SparseCategoricalAccuracy
    return CategoricalAccuracy


def get(identifier, loss=None, output_shape=None):
    """A fresh metric object from a Metric, a Metric class, a name (Keras's
    strings and class names; the name becomes the metric's name, as in
    ``compile``), a config dict, or a function of (y_true, y_pred) giving
    one value per sample. ``loss`` and ``output_shape`` resolve 'accuracy'."""
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.lower() in ("accuracy", "acc"):
            return _accuracy_for(loss, output_shape)(name=identifier)
        cls = _BY_NAME.get(identifier) or _CLASSES.get(identifier)
        if cls is not None:
            return cls(name=identifier)
    elif callable(identifier):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier](name=identifier.__name__)
        if identifier is accuracy:
            return Accuracy()
        return MeanMetricWrapper(identifier)
    raise ValueError(f"Unknown metric: {identifier!r}. Expected a Metric object, a function of "
                     f"(y_true, y_pred), 'accuracy', or one of the names "
                     f"{sorted(set(_BY_NAME) | set(_CLASSES))}")


def serialize(metric):
    return {"class_name": type(metric).__name__, "config": metric.get_config()}


def deserialize(spec):
    return from_class_table(spec, _CLASSES, "metric")
