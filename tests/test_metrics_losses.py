"""Keras 3 losses and metrics: every class, function and name against
float64 NumPy formulas written here (so they are checked without Keras),
against Keras 3 itself where it is installed, gradients against finite
differences, and compile(metrics=...) in a fit run."""
import os

import numpy as np
import pytest

import ember
from ember import losses, metrics

EPS = 1e-7


# ---------------------------------------------------------------- data
def _data(seed=0, n=7, c=4):
    rng = np.random.default_rng(seed)
    lg = rng.normal(size=(n, c))
    sm = np.exp(lg) / np.exp(lg).sum(-1, keepdims=True)
    return {
        "t": rng.random((n, c)), "p": rng.random((n, c)) + 0.05, "lg": lg, "sm": sm,
        "oh": np.eye(c)[rng.integers(0, c, n)], "sp": rng.integers(0, c, n),
        "bt": (rng.random((n, c)) > 0.5).astype(np.float64), "w": rng.random(n),
    }


def f32(a):
    return np.asarray(a, np.float32)


# ---------------------------------------------------------------- float64 references (one value per sample)
def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _hinge_t(t):
    return 2 * t - 1 if np.all((t == 0) | (t == 1)) else t


def _bce_el(t, p):
    p = np.clip(p, EPS, 1 - EPS)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def _unit(x):
    return x / np.maximum(np.sqrt((x * x).sum(-1, keepdims=True)), EPS)


def _ref_cce(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    if from_logits:
        return -(t * (p - p.max(-1, keepdims=True) - np.log(np.exp(p - p.max(-1, keepdims=True)).sum(-1, keepdims=True)))).sum(-1)
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -(t * np.log(q)).sum(-1)


def _ref_bce(t, p, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return (np.maximum(p, 0) - p * t + np.log1p(np.exp(-np.abs(p)))).mean(-1)
    return _bce_el(t, p).mean(-1)


def _ref_bfocal(t, p, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + 0.5 * label_smoothing
    p = _sig(p) if from_logits else p
    pt = t * p + (1 - t) * (1 - p)
    v = (1 - pt) ** gamma * _bce_el(t, p)
    if apply_class_balancing:
        v = (t * alpha + (1 - t) * (1 - alpha)) * v
    return v.mean(-1)


def _ref_cfocal(t, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0):
    t = t * (1 - label_smoothing) + label_smoothing / t.shape[-1]
    p = _softmax(p) if from_logits else p
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (alpha * (1 - q) ** gamma * -t * np.log(q)).sum(-1)


def _ref_huber(t, p, delta=1.0):
    e = np.abs(p - t)
    return np.where(e <= delta, 0.5 * e * e, delta * e - 0.5 * delta * delta).mean(-1)


REF = {
    "mean_squared_error": lambda t, p: ((p - t) ** 2).mean(-1),
    "mean_absolute_error": lambda t, p: np.abs(p - t).mean(-1),
    "mean_absolute_percentage_error": lambda t, p: 100 * (np.abs(t - p) / np.maximum(np.abs(t), EPS)).mean(-1),
    "mean_squared_logarithmic_error": lambda t, p: ((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(t, EPS) + 1)) ** 2).mean(-1),
    "log_cosh": lambda t, p: np.log(np.cosh(p - t)).mean(-1),
    "kl_divergence": lambda t, p: (np.clip(t, EPS, 1) * np.log(np.clip(t, EPS, 1) / np.clip(p, EPS, 1))).sum(-1),
    "poisson": lambda t, p: (p - t * np.log(p + EPS)).mean(-1),
    "cosine_similarity": lambda t, p: -(_unit(t) * _unit(p)).sum(-1),
    "hinge": lambda t, p: np.maximum(1 - _hinge_t(t) * p, 0).mean(-1),
    "squared_hinge": lambda t, p: (np.maximum(1 - _hinge_t(t) * p, 0) ** 2).mean(-1),
    "categorical_hinge": lambda t, p: np.maximum(((1 - t) * p).max(-1) - (t * p).sum(-1) + 1, 0),
}

# (class, kwargs, reference(t, p), labels key, predictions key)
LOSS_CASES = [
    ("MeanSquaredError", {}, REF["mean_squared_error"], "t", "p"),
    ("MeanAbsoluteError", {}, REF["mean_absolute_error"], "t", "p"),
    ("MeanAbsolutePercentageError", {}, REF["mean_absolute_percentage_error"], "t", "p"),
    ("MeanSquaredLogarithmicError", {}, REF["mean_squared_logarithmic_error"], "t", "p"),
    ("Huber", {}, _ref_huber, "t", "lg"),
    ("Huber", {"delta": 0.3}, lambda t, p: _ref_huber(t, p, 0.3), "t", "lg"),
    ("LogCosh", {}, REF["log_cosh"], "t", "lg"),
    ("KLDivergence", {}, REF["kl_divergence"], "sm", "p"),
    ("Poisson", {}, REF["poisson"], "t", "p"),
    ("CosineSimilarity", {}, REF["cosine_similarity"], "t", "lg"),
    ("Hinge", {}, REF["hinge"], "bt", "lg"),
    ("SquaredHinge", {}, REF["squared_hinge"], "bt", "lg"),
    ("CategoricalHinge", {}, REF["categorical_hinge"], "oh", "lg"),
    ("BinaryCrossentropy", {}, _ref_bce, "bt", "sm"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2},
     lambda t, p: _ref_bce(t, p, True, 0.2), "bt", "lg"),
    ("CategoricalCrossentropy", {}, _ref_cce, "oh", "sm"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, lambda t, p: _ref_cce(t, p, False, 0.1), "oh", "sm"),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.3},
     lambda t, p: _ref_cce(t, p, True, 0.3), "oh", "lg"),
    ("SparseCategoricalCrossentropy", {}, lambda t, p: _ref_cce(np.eye(p.shape[-1])[t], p), "sp", "sm"),
    ("SparseCategoricalCrossentropy", {"from_logits": True},
     lambda t, p: _ref_cce(np.eye(p.shape[-1])[t], p, True), "sp", "lg"),
    ("BinaryFocalCrossentropy", {}, _ref_bfocal, "bt", "sm"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1},
     lambda t, p: _ref_bfocal(t, p, True, 0.4, 1.5, False, 0.1), "bt", "sm"),
    ("BinaryFocalCrossentropy", {"from_logits": True}, lambda t, p: _ref_bfocal(t, p, from_logits=True), "bt", "lg"),
    ("CategoricalFocalCrossentropy", {}, _ref_cfocal, "oh", "sm"),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "gamma": 3.0},
     lambda t, p: _ref_cfocal(t, p, 0.25, 3.0, True, 0.1), "oh", "lg"),
]
REDUCTIONS = ["sum_over_batch_size", "mean", "sum", "none", None, "mean_with_sample_weight"]


def _ref_reduce(values, w, reduction):
    v = values if w is None else values * w
    if reduction in ("none", None):
        return v
    if reduction == "sum":
        return v.sum()
    if reduction == "mean_with_sample_weight" and w is not None:
        return v.sum() / w.sum()
    return v.sum() / v.size


def _case_id(case):
    return case[0] + ("" if not case[1] else "-" + "-".join(f"{k}={v}" for k, v in case[1].items()))


@pytest.mark.parametrize("case", LOSS_CASES, ids=_case_id)
def test_loss_classes_and_functions_match_float64_numpy(case):
    name, kwargs, ref, tk, pk = case
    d = _data()
    t, p = d[tk], d[pk]
    per_sample = ref(t, p)
    cls = getattr(losses, name)
    for reduction in REDUCTIONS:
        for w in (None, d["w"]):
            got = cls(reduction=reduction, **kwargs)(t, f32(p), sample_weight=w)
            np.testing.assert_allclose(np.asarray(got), _ref_reduce(per_sample, w, reduction), rtol=2e-5, atol=2e-6,
                                       err_msg=f"{name} {kwargs} reduction={reduction} weighted={w is not None}")
    fn = getattr(losses, ember.losses._CLASSES[name]().fn.__name__)
    np.testing.assert_allclose(np.asarray(fn(t, f32(p), **kwargs)), per_sample, rtol=2e-5, atol=2e-6)


def test_loss_strings_functions_and_configs():
    assert isinstance(losses.get("mae"), losses.MeanAbsoluteError)
    assert isinstance(losses.get("kld"), losses.KLDivergence)
    assert isinstance(losses.get("logcosh"), losses.LogCosh)
    assert isinstance(losses.get("huber"), losses.Huber)
    assert isinstance(losses.get("Huber"), losses.Huber)
    assert isinstance(losses.get(losses.mape), losses.MeanAbsolutePercentageError)
    assert losses.Huber().name == "huber_loss" and losses.LogCosh().name == "log_cosh"
    for name, cls in losses._CLASSES.items():
        obj = cls(name="custom", reduction="sum")
        config = obj.get_config()
        assert config["name"] == "custom" and config["reduction"] == "sum"
        again = losses.deserialize(losses.serialize(obj))
        assert type(again) is cls and again.get_config() == config
    focal = losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.1, gamma=3.0)
    assert focal.get_config()["alpha"] == 0.1 and focal.gamma == 3.0
    # Keras's positional order.
    assert losses.CategoricalCrossentropy(True, 0.1).label_smoothing == 0.1
    assert losses.Huber(2.0).delta == 2.0


def test_loss_errors():
    with pytest.raises(ValueError, match=r"Unknown loss: 'hubber'.*'huber'"):
        losses.get("hubber")
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanAbsoluteError(reduction="average")
    with pytest.raises(TypeError, match="unexpected keyword"):
        losses.Huber(delt=1.0)
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.CategoricalCrossentropy(label_smoothing=2.0)(np.eye(3), f32(np.full((3, 3), 1 / 3)))
    with pytest.raises(ValueError, match="same shape"):
        losses.MeanAbsoluteError()(np.zeros((4, 3)), f32(np.zeros((4, 2))))
    with pytest.raises(ValueError, match="same shape"):
        losses.mean_squared_error(np.zeros((4,)), f32(np.zeros((4, 3))))
    with pytest.raises(ValueError, match="sample_weight"):
        losses.MeanAbsoluteError()(np.zeros((4, 3)), f32(np.zeros((4, 3))), sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="integer labels"):
        losses.SparseCategoricalCrossentropy()(np.zeros((4, 3)), f32(np.full((4, 3), 1 / 3)))
    # (N,) against (N, 1) follows Keras's squeeze rule instead of failing.
    np.testing.assert_allclose(float(losses.MeanAbsoluteError()(np.arange(4.0), f32(np.zeros((4, 1))))), 1.5)


def test_sparse_crossentropy_ignore_class():
    d = _data()
    t = d["sp"].copy()
    t[:3] = 2
    full = _ref_cce(np.eye(4)[t], d["sm"])
    keep = t != 2
    got = float(losses.SparseCategoricalCrossentropy(ignore_class=2)(t, f32(d["sm"])))
    np.testing.assert_allclose(got, full[keep].mean(), rtol=1e-5)
    got = float(losses.SparseCategoricalCrossentropy(ignore_class=2, reduction="sum")(t, f32(d["sm"])))
    np.testing.assert_allclose(got, full[keep].sum(), rtol=1e-5)


# ---------------------------------------------------------------- gradients
GRAD_CASES = [c for c in LOSS_CASES if c[0] not in ("MeanAbsoluteError", "Hinge", "CategoricalHinge")] + [
    ("MeanAbsoluteError", {}, REF["mean_absolute_error"], "t", "p"),
    ("Hinge", {}, REF["hinge"], "bt", "lg"),
    ("CategoricalHinge", {}, REF["categorical_hinge"], "oh", "lg"),
]


@pytest.mark.parametrize("case", GRAD_CASES, ids=_case_id)
def test_loss_gradients_match_finite_differences(case):
    """d(mean loss)/d(y_pred) through the engine against float64 central
    differences of the NumPy formula (points away from kinks and clips)."""
    name, kwargs, ref, tk, pk = case
    d = _data(seed=3)
    t, p = d[tk], d[pk]
    w = d["w"]
    x = ember.Variable(f32(p))
    with ember.GradientTape() as tape:
        loss = getattr(losses, name)(**kwargs)(t, x, sample_weight=w)
    grad = np.asarray(tape.gradient(loss, x))
    p64 = f32(p).astype(np.float64)
    h = 1e-6
    num = np.zeros_like(p64)
    for idx in np.ndindex(p64.shape):  # the reference's finite differences, not the code under test
        up, down = p64.copy(), p64.copy()
        up[idx] += h
        down[idx] -= h
        num[idx] = ((ref(t, up) * w).mean() - (ref(t, down) * w).mean()) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=2e-3, atol=2e-5)


def test_focal_and_huber_gradients_train_a_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = (x[:, :1] + x[:, 1:2] > 0).astype(np.float32)
    for loss in (losses.BinaryFocalCrossentropy(from_logits=True), losses.Huber(0.5), losses.LogCosh()):
        model = ember.Sequential([ember.Input((5,)), ember.layers.Dense(1)])
        model.compile(ember.optimizers.SGD(0.5), loss=loss)
        hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0)
        assert hist.history["loss"][-1] < 0.8 * hist.history["loss"][0], (loss.name, hist.history["loss"])


# ---------------------------------------------------------------- metrics vs float64 NumPy
def _mean_metric_ref(per_sample_fn):
    def ref(batches, weighted):
        total = count = 0.0
        for t, p, w in batches:
            v = per_sample_fn(t, p)
            total += (v * w).sum() if weighted else v.sum()
            count += w.sum() if weighted else v.size
        return total / count
    return ref


def _rank_in_top_k(labels, p, k):
    at = p[np.arange(len(labels)), labels]
    return (1 + (p > at[:, None]).sum(-1) <= k).astype(float)


MEAN_METRIC_CASES = [
    ("MeanSquaredError", {}, REF["mean_squared_error"], "t", "p"),
    ("MeanAbsoluteError", {}, REF["mean_absolute_error"], "t", "p"),
    ("MeanAbsolutePercentageError", {}, REF["mean_absolute_percentage_error"], "t", "p"),
    ("MeanSquaredLogarithmicError", {}, REF["mean_squared_logarithmic_error"], "t", "p"),
    ("LogCoshError", {}, REF["log_cosh"], "t", "lg"),
    ("KLDivergence", {}, REF["kl_divergence"], "sm", "p"),
    ("Poisson", {}, REF["poisson"], "t", "p"),
    ("CosineSimilarity", {}, lambda t, p: -REF["cosine_similarity"](t, p), "t", "lg"),
    ("Hinge", {}, REF["hinge"], "bt", "lg"),
    ("SquaredHinge", {}, REF["squared_hinge"], "bt", "lg"),
    ("CategoricalHinge", {}, REF["categorical_hinge"], "oh", "lg"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.2},
     lambda t, p: _ref_bce(t, p, True, 0.2), "bt", "lg"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, lambda t, p: _ref_cce(t, p, False, 0.1), "oh", "sm"),
    ("SparseCategoricalCrossentropy", {"from_logits": True},
     lambda t, p: _ref_cce(np.eye(p.shape[-1])[t], p, True), "sp", "lg"),
    ("BinaryAccuracy", {"threshold": 0.3}, lambda t, p: ((p > 0.3) == (t > 0.5)).mean(-1), "bt", "sm"),
    ("CategoricalAccuracy", {}, lambda t, p: (t.argmax(-1) == p.argmax(-1)).astype(float), "oh", "sm"),
    ("SparseCategoricalAccuracy", {}, lambda t, p: (t == p.argmax(-1)).astype(float), "sp", "sm"),
    ("TopKCategoricalAccuracy", {"k": 2}, lambda t, p: _rank_in_top_k(t.argmax(-1), p, 2), "oh", "sm"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, lambda t, p: _rank_in_top_k(t, p, 3), "sp", "sm"),
]


@pytest.mark.parametrize("case", MEAN_METRIC_CASES, ids=_case_id)
def test_mean_metrics_accumulate_like_float64_numpy(case):
    name, kwargs, per_sample, tk, pk = case
    ref = _mean_metric_ref(per_sample)
    batches = [(d[tk], d[pk], d["w"]) for d in (_data(1, 7), _data(2, 5), _data(3, 3))]
    for weighted in (False, True):
        m = getattr(metrics, name)(**kwargs)
        for t, p, w in batches:
            m.update_state(t, f32(p), sample_weight=w if weighted else None)
        np.testing.assert_allclose(m.result(), ref(batches, weighted), rtol=2e-5, atol=1e-6)
        m.reset_state()
        assert m.result() == 0.0
        m.update_state(*batches[0][:2])
        np.testing.assert_allclose(m.result(), ref(batches[:1], False), rtol=2e-5, atol=1e-6)


def test_root_mean_squared_error_mean_and_sum():
    batches = [(_data(s)["t"], _data(s)["p"], _data(s)["w"]) for s in (1, 2)]
    m = metrics.RootMeanSquaredError()
    for t, p, w in batches:
        m.update_state(t, p, sample_weight=w)
    num = sum((((p - t) ** 2).mean(-1) * w).sum() for t, p, w in batches)
    den = sum(w.sum() for _, _, w in batches)
    np.testing.assert_allclose(m.result(), np.sqrt(num / den), rtol=1e-6)
    mean, total = metrics.Mean(), metrics.Sum()
    for t, _, w in batches:
        mean.update_state(t, sample_weight=w)
        total.update_state(t, sample_weight=w)
    np.testing.assert_allclose(mean.result(), num_den(batches), rtol=1e-6)
    np.testing.assert_allclose(total.result(), sum((t * w[:, None]).sum() for t, _, w in batches), rtol=1e-6)


def num_den(batches):
    return sum((t.mean(-1) * w).sum() for t, _, w in batches) / sum(w.sum() for _, _, w in batches)


def _confusion_ref(t, p, w, thresholds):
    """tp, fp, fn, tn per threshold by direct comparison (the reference)."""
    pos = t != 0
    above = p[None] > np.asarray(thresholds, float).reshape((-1,) + (1,) * p.ndim)
    ww = np.broadcast_to(w, p.shape)
    tp = (above & pos).reshape(len(thresholds), -1) @ ww.reshape(-1)
    fp = (above & ~pos).reshape(len(thresholds), -1) @ ww.reshape(-1)
    return tp, fp, (pos * ww).sum() - tp, (~pos * ww).sum() - fp


def _top_k_mask(p, k):
    order = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    keep = np.zeros(p.shape, bool)
    np.put_along_axis(keep, order, True, -1)
    return np.where(keep, p, -1e10)


@pytest.mark.parametrize("kwargs", [{}, {"thresholds": [0.1, 0.3, 0.7]}, {"top_k": 2}, {"class_id": 2},
                                    {"top_k": 1, "class_id": 1}, {"thresholds": 0.25}])
def test_precision_recall_like_float64_numpy(kwargs):
    batches = [_data(s, n) for s, n in ((1, 9), (2, 4))]
    thresholds = kwargs.get("thresholds", 0.5 if "top_k" not in kwargs else -1e10)
    thresholds = thresholds if isinstance(thresholds, list) else [thresholds]
    sums = 0
    for d in batches:
        p, t, w = d["sm"], d["bt"], d["w"][:, None] * np.ones((1, 4))
        if "top_k" in kwargs:
            p = _top_k_mask(p, kwargs["top_k"])
        if "class_id" in kwargs:
            c = kwargs["class_id"]
            p, t, w = p[:, c], t[:, c], w[:, c]
        sums = sums + np.array(_confusion_ref(t, p, w, thresholds))
    tp, fp, fn, _ = sums
    for cls, expected in ((metrics.Precision, tp / (tp + fp)), (metrics.Recall, tp / (tp + fn))):
        m = cls(**kwargs)
        for d in batches:
            m.update_state(d["bt"], d["sm"], sample_weight=d["w"])
        expected = expected[0] if len(thresholds) == 1 else expected
        np.testing.assert_allclose(m.result(), expected, rtol=1e-6)


def _auc_ref(t, p, w, num_thresholds, curve, summation, multi_label=False):
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    thr = [-EPS] + inner + [1 + EPS]
    if multi_label:
        return np.mean([_auc_ref(t[:, j], p[:, j], w[:, j], num_thresholds, curve, summation)
                        for j in range(t.shape[1])])
    tp, fp, fn, tn = _confusion_ref(t, p, w, thr)
    with np.errstate(invalid="ignore", divide="ignore"):
        if curve == "PR" and summation == "interpolation":
            total = 0.0
            for i in range(len(thr) - 1):  # per threshold interval (Davis & Goadrich)
                dtp, pa, pb = tp[i] - tp[i + 1], tp[i] + fp[i], tp[i + 1] + fp[i + 1]
                slope = dtp / (pa - pb) if pa - pb > 0 else 0.0
                intercept = tp[i + 1] - slope * pb
                ratio = pa / pb if pa > 0 and pb > 0 else 1.0
                denom = tp[i + 1] + fn[i + 1]
                total += slope * (dtp + intercept * np.log(ratio)) / denom if denom > 0 else 0.0
            return total
        rec = np.nan_to_num(tp / (tp + fn))
        if curve == "ROC":
            x, y = np.nan_to_num(fp / (fp + tn)), rec
        else:
            x, y = rec, np.nan_to_num(tp / (tp + fp))
    h = {"interpolation": (y[:-1] + y[1:]) / 2, "minoring": np.minimum(y[:-1], y[1:]),
         "majoring": np.maximum(y[:-1], y[1:])}[summation]
    return float(((x[:-1] - x[1:]) * h).sum())


@pytest.mark.parametrize("curve,summation,num,multi", [
    ("ROC", "interpolation", 200, False), ("PR", "interpolation", 200, False), ("ROC", "minoring", 50, False),
    ("PR", "majoring", 13, False), ("ROC", "interpolation", 200, True), ("PR", "interpolation", 21, True)])
def test_auc_like_float64_numpy(curve, summation, num, multi):
    batches = [_data(s, n) for s, n in ((4, 40), (5, 17))]
    t = np.concatenate([d["bt"] for d in batches])
    p = np.concatenate([d["sm"] for d in batches])
    w = np.concatenate([d["w"] for d in batches])[:, None] * np.ones((1, 4))
    m = metrics.AUC(num_thresholds=num, curve=curve, summation_method=summation, multi_label=multi)
    for d in batches:
        m.update_state(d["bt"], d["sm"], sample_weight=d["w"])
    np.testing.assert_allclose(m.result(), _auc_ref(t, p, w, num, curve, summation, multi), rtol=1e-6)


def test_auc_of_separable_and_random_scores():
    y = np.array([0, 0, 1, 1, 0, 1], np.float32)
    assert metrics.AUC()(y, np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7])) == pytest.approx(1.0)
    assert metrics.AUC()(y, np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.3])) == pytest.approx(0.0)
    assert metrics.AUC(from_logits=True)(y, np.array([-2, -1, 3, 4, -0.5, 1.0])) == pytest.approx(1.0)


@pytest.mark.parametrize("average,threshold,beta", [(None, None, 1.0), ("micro", 0.3, 1.0), ("macro", None, 2.0),
                                                    ("weighted", 0.4, 0.5)])
def test_fbeta_like_float64_numpy(average, threshold, beta):
    batches = [_data(s, n) for s, n in ((6, 11), (7, 6))]
    t = np.concatenate([d["oh"] for d in batches])
    p = np.concatenate([d["sm"] for d in batches])
    w = np.concatenate([d["w"] for d in batches])[:, None]
    pred = (p >= p.max(-1, keepdims=True)) if threshold is None else p > threshold
    axis = None if average == "micro" else 0
    tp, fp, fn = ((pred * t * w).sum(axis), (pred * (1 - t) * w).sum(axis), ((1 - pred) * t * w).sum(axis))
    prec, rec = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    f = (1 + beta ** 2) * prec * rec / (beta ** 2 * prec + rec + EPS)
    if average == "weighted":
        support = (t * w).sum(0)
        f = (f * support / (support.sum() + EPS)).sum()
    elif average:
        f = f.mean()
    m = metrics.FBetaScore(average=average, beta=beta, threshold=threshold) if beta != 1.0 else \
        metrics.F1Score(average=average, threshold=threshold)
    for d in batches:
        m.update_state(d["oh"], d["sm"], sample_weight=d["w"])
    np.testing.assert_allclose(m.result(), f, rtol=1e-6)


def test_metric_names_configs_and_lookup():
    defaults = {"MeanSquaredError": "mean_squared_error", "RootMeanSquaredError": "root_mean_squared_error",
                "LogCoshError": "logcosh", "AUC": "auc", "Precision": "precision", "F1Score": "f1_score",
                "FBetaScore": "fbeta_score", "TopKCategoricalAccuracy": "top_k_categorical_accuracy",
                "KLDivergence": "kl_divergence", "Mean": "mean", "Sum": "sum"}
    for cls, name in defaults.items():
        assert getattr(metrics, cls)().name == name
    for name, cls in metrics._CLASSES.items():
        m = cls(name="custom")
        config = m.get_config()
        assert config["name"] == "custom" and config["dtype"] == "float32"
        assert type(metrics.deserialize(metrics.serialize(m))).__name__ == name
    assert metrics.TopKCategoricalAccuracy(3).k == 3  # Keras's positional order
    for alias, cls in [("mae", metrics.MeanAbsoluteError), ("mse", metrics.MeanSquaredError),
                       ("mape", metrics.MeanAbsolutePercentageError), ("msle", metrics.MeanSquaredLogarithmicError),
                       ("root_mean_squared_error", metrics.RootMeanSquaredError), ("logcosh", metrics.LogCoshError),
                       ("log_cosh_error", metrics.LogCoshError), ("kld", metrics.KLDivergence),
                       ("kl_divergence", metrics.KLDivergence), ("cosine_similarity", metrics.CosineSimilarity),
                       ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy), ("auc", metrics.AUC),
                       ("precision", metrics.Precision), ("recall", metrics.Recall), ("f1_score", metrics.F1Score),
                       ("binary_crossentropy", metrics.BinaryCrossentropy), ("AUC", metrics.AUC)]:
        m = metrics.get(alias)
        assert isinstance(m, cls) and m.name == alias
    m = metrics.get(metrics.mean_absolute_error)
    assert isinstance(m, metrics.MeanAbsoluteError) and m.name == "mean_absolute_error"
    custom = metrics.get(lambda t, p: np.abs(np.asarray(p) - np.asarray(t)).max(-1))
    custom.update_state(np.zeros((2, 3)), np.array([[1.0, 2, 0], [0, 0, 4]]))
    assert custom.result() == pytest.approx(3.0)
    # Calling a metric updates it and returns the running result, as Keras.
    acc = metrics.BinaryAccuracy()
    assert acc(np.array([[1.0], [0.0]]), np.array([[0.9], [0.8]])) == 0.5
    assert acc(np.array([[1.0], [0.0]]), np.array([[0.9], [0.1]])) == 0.75


def test_metric_errors():
    with pytest.raises(ValueError, match=r"Unknown metric: 'mean_abs_error'.*'mean_absolute_error'"):
        metrics.get("mean_abs_error")
    with pytest.raises(ValueError, match="same shape"):
        metrics.MeanAbsoluteError().update_state(np.zeros((4, 3)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="same shape"):
        metrics.Precision().update_state(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="integer labels"):
        metrics.SparseCategoricalAccuracy().update_state(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="sample_weight"):
        metrics.MeanSquaredError().update_state(np.zeros((4, 3)), np.zeros((4, 3)), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="2D"):
        metrics.F1Score().update_state(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="DET")
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="class_id"):
        metrics.Recall(class_id=5).update_state(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="samples")
    with pytest.raises(TypeError, match="unexpected keyword"):
        metrics.BinaryAccuracy(treshold=0.5)


# ---------------------------------------------------------------- in compile / fit
def _binary_problem(n=48):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, :1] - x[:, 1:2] > 0).astype(np.float32)
    return x, y, rng.random(n).astype(np.float32)


def test_compile_metrics_history_keys_follow_keras_names():
    x, y, w = _binary_problem()
    model = ember.Sequential([ember.Input((3,)), ember.layers.Dense(1, activation="sigmoid")])
    names = ["mae", "mean_absolute_error", "mse", "root_mean_squared_error", "auc", "precision", "recall",
             "binary_crossentropy", "accuracy", "AUC", "logcosh"]
    model.compile("sgd", "binary_crossentropy", metrics=names + [metrics.F1Score(threshold=0.5)],
                  weighted_metrics=["mae", "auc"])
    hist = model.fit(x, y, sample_weight=w, batch_size=16, epochs=2, validation_split=0.25, verbose=0)
    expected = ["loss"] + names + ["f1_score", "weighted_mae", "weighted_auc"]
    assert sorted(hist.history) == sorted(expected + ["val_" + k for k in expected])
    assert hist.history["mae"] == hist.history["mean_absolute_error"]
    assert hist.history["mae"] != hist.history["weighted_mae"]  # only weighted_metrics see sample_weight
    assert np.shape(hist.history["f1_score"][0]) == (1,)
    # The metrics' values are those of the final weights over the data.
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    np.testing.assert_allclose(result["mae"], np.abs(pred - y).mean(), rtol=1e-5)
    np.testing.assert_allclose(result["weighted_mae"], np.abs(pred - y).mean(), rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)["weighted_mae"],
                               (np.abs(pred - y)[:, 0] * w).sum() / w.sum(), rtol=1e-5)
    np.testing.assert_allclose(result["root_mean_squared_error"], np.sqrt(((pred - y) ** 2).mean()), rtol=1e-5)


def test_compile_metrics_per_output_and_class_weight():
    x, y, _ = _binary_problem()
    inputs = ember.Input((3,))
    a = ember.layers.Dense(1, activation="sigmoid", name="a")(inputs)
    b = ember.layers.Dense(2, name="b")(inputs)
    model = ember.Model(inputs, [a, b])
    model.compile("adam", ["binary_crossentropy", "mse"], metrics={"a": ["auc"], "b": ["mae", "cosine_similarity"]})
    hist = model.fit(x, [y, np.concatenate([y, 1 - y], 1)], epochs=1, verbose=0)
    assert {"a_auc", "b_mae", "b_cosine_similarity"} <= set(hist.history)
    single = ember.Sequential([ember.Input((3,)), ember.layers.Dense(1, activation="sigmoid")])
    single.compile("sgd", "binary_crossentropy", weighted_metrics=["binary_accuracy"])
    logs = single.train_on_batch(x, y, class_weight={0: 0.0, 1: 1.0}, return_dict=True)
    assert logs["binary_accuracy"] == pytest.approx(float((single.predict(x, verbose=0)[y[:, 0] == 1] > 0.5).mean()),
                                                    abs=0.15)  # only class 1 counts (weights moved in the step)


def test_compile_metric_errors_at_compile_or_first_batch():
    x, y, _ = _binary_problem(8)
    model = ember.Sequential([ember.Input((3,)), ember.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=["mean_abs_error"])
    with pytest.raises(ValueError, match="Unknown metric"):
        model.fit(x, np.eye(3)[np.arange(8) % 3], verbose=0)
    model.compile("sgd", "categorical_crossentropy", metrics=["sparse_top_k_categorical_accuracy"])
    with pytest.raises(ValueError, match="integer labels"):
        model.fit(x, np.eye(3)[np.arange(8) % 3], verbose=0)
    with pytest.raises(ValueError, match="Unknown loss"):
        model.compile("sgd", "categorical_crossentropyy")


# ---------------------------------------------------------------- against Keras 3
@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("case", LOSS_CASES, ids=_case_id)
def test_losses_match_keras(keras, case):
    name, kwargs, _, tk, pk = case
    d = _data(9)
    t, p = d[tk], f32(d[pk])
    for reduction in REDUCTIONS:
        for w in (None, f32(d["w"])):
            expected = np.asarray(getattr(keras.losses, name)(reduction=reduction, **kwargs)(t, p, sample_weight=w))
            got = np.asarray(getattr(losses, name)(reduction=reduction, **kwargs)(t, p, sample_weight=w))
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=f"{name} {reduction}")
    got = losses.SparseCategoricalCrossentropy(ignore_class=1, from_logits=True)(d["sp"], f32(d["lg"]))
    expected = keras.losses.SparseCategoricalCrossentropy(ignore_class=1, from_logits=True)(d["sp"], f32(d["lg"]))
    np.testing.assert_allclose(float(got), float(expected), rtol=1e-5)


KERAS_METRIC_CASES = [(c[0], c[1], c[3], c[4]) for c in MEAN_METRIC_CASES] + [
    ("RootMeanSquaredError", {}, "t", "p"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1}, "sp", "sm"),
    ("Precision", {}, "bt", "sm"), ("Precision", {"thresholds": [0.1, 0.3, 0.7]}, "bt", "sm"),
    ("Precision", {"top_k": 2}, "bt", "sm"), ("Precision", {"top_k": 2, "class_id": 1}, "oh", "sm"),
    ("Recall", {"class_id": 3}, "bt", "sm"), ("Recall", {"top_k": 1}, "oh", "sm"),
    ("AUC", {}, "bt", "sm"), ("AUC", {"curve": "PR"}, "bt", "sm"),
    ("AUC", {"curve": "PR", "summation_method": "minoring"}, "bt", "sm"),
    ("AUC", {"summation_method": "majoring", "num_thresholds": 13}, "bt", "sm"),
    ("AUC", {"multi_label": True}, "bt", "sm"),
    ("AUC", {"multi_label": True, "label_weights": [1, 2, 0, 1], "curve": "PR"}, "bt", "sm"),
    ("AUC", {"from_logits": True, "thresholds": [0.2, 0.5, 0.6]}, "bt", "lg"),
    ("AUC", {"label_weights": [1, 2, 0.5, 1]}, "bt", "sm"),
    ("F1Score", {}, "oh", "sm"), ("F1Score", {"average": "micro", "threshold": 0.3}, "bt", "sm"),
    ("F1Score", {"average": "macro"}, "oh", "sm"), ("FBetaScore", {"beta": 2.0, "average": "weighted"}, "oh", "sm"),
]


@pytest.mark.parametrize("case", KERAS_METRIC_CASES, ids=lambda c: _case_id(c))
def test_metrics_match_keras(keras, case):
    name, kwargs, tk, pk = case
    batches = [_data(s, n) for s, n in ((11, 9), (12, 5))]
    for weighted in (False, True):
        k, e = getattr(keras.metrics, name)(**kwargs), getattr(metrics, name)(**kwargs)
        for d in batches:
            sw = f32(d["w"]) if weighted else None
            k.update_state(d[tk], f32(d[pk]), sample_weight=sw)
            e.update_state(d[tk], f32(d[pk]), sample_weight=sw)
        np.testing.assert_allclose(np.asarray(e.result()), np.asarray(k.result()), rtol=1e-4, atol=1e-5)
        k.reset_state()
        e.reset_state()
        k.update_state(batches[1][tk], f32(batches[1][pk]))
        e.update_state(batches[1][tk], f32(batches[1][pk]))
        np.testing.assert_allclose(np.asarray(e.result()), np.asarray(k.result()), rtol=1e-4, atol=1e-5)


def test_fit_history_matches_keras(keras):
    x, y, w = _binary_problem(40)
    names = ["mae", "mse", "mape", "msle", "mean_absolute_error", "root_mean_squared_error", "cosine_similarity",
             "kl_divergence", "auc", "precision", "recall", "binary_crossentropy", "hinge", "squared_hinge",
             "poisson", "accuracy", "acc", "AUC", "MeanAbsoluteError", "bce", "log_cosh_error"]
    keras.utils.set_random_seed(1)
    k = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    e = ember.Sequential([ember.Input((3,)), ember.layers.Dense(1, activation="sigmoid")])
    e.set_weights([np.asarray(v) for v in k.get_weights()])
    k.compile(keras.optimizers.SGD(0.1), "binary_crossentropy", metrics=names, weighted_metrics=["mae", "auc"])
    e.compile(ember.optimizers.SGD(0.1), "binary_crossentropy", metrics=names, weighted_metrics=["mae", "auc"])
    hk = k.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, sample_weight=w, validation_split=0.25)
    he = e.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, sample_weight=w, validation_split=0.25)
    assert sorted(he.history) == sorted(hk.history)
    for key, values in hk.history.items():
        np.testing.assert_allclose(he.history[key], values, rtol=2e-3, atol=1e-4, err_msg=key)
