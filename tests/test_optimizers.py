"""Optimizers, their options and the learning-rate schedules: ember against a
float64 NumPy transcription of Keras 3's formulas (everywhere), against
Keras 3 itself (where it is installed; KERAS_BACKEND=jax), and each update
kernel on the CUDA device (or its CPU emulator) against the CPU."""
import math
import os
import re

import numpy as np
import pytest

import ember
from ember import _core, layers, optimizers
from ember.engine import Variable
from ember.optimizers import schedules

from conftest import assert_close

os.environ.setdefault("KERAS_BACKEND", "jax")

gpu = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                         reason="no CUDA device, or ember built without CUDA")


@pytest.fixture(scope="module")
def keras():
    return pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")


# ---------------------------------------------------------------- the NumPy reference

SLOTS = {"sgd": 1, "adam": 2, "adamw": 2, "rmsprop": 3, "adagrad": 1, "adadelta": 2, "adamax": 2,
         "nadam": 2, "ftrl": 2, "lion": 1}
CLASS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
         "adadelta": "Adadelta", "adamax": "Adamax", "nadam": "Nadam", "ftrl": "Ftrl", "lion": "Lion"}
DEFAULTS = {  # Keras 3's defaults, written out for the reference
    "sgd": dict(learning_rate=0.01, momentum=0.0, nesterov=False),
    "adam": dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
    "adamw": dict(weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
    "rmsprop": dict(rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
    "adagrad": dict(initial_accumulator_value=0.1, epsilon=1e-7),
    "adadelta": dict(rho=0.95, epsilon=1e-7),
    "adamax": dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "nadam": dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "ftrl": dict(learning_rate_power=-0.5, initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0, beta=0.0),
    "lion": dict(beta_1=0.9, beta_2=0.99),
}


class Reference:
    """Keras 3's optimizer step, written plainly in float64 NumPy."""

    def __init__(self, kind, cfg):
        self.kind = kind
        c = {"learning_rate": 0.001, "weight_decay": None, "clipnorm": None, "clipvalue": None,
             "global_clipnorm": None, "use_ema": False, "ema_momentum": 0.99,
             "ema_overwrite_frequency": None, "loss_scale_factor": None,
             "gradient_accumulation_steps": None, **DEFAULTS[kind], **cfg}
        self.c, self.raw_iterations, self.slots, self.u_product = c, 0, None, 1.0

    @property
    def iterations(self):
        steps = self.c["gradient_accumulation_steps"]
        return self.raw_iterations // steps if steps else self.raw_iterations

    def lr(self):
        lr = self.c["learning_rate"]
        return lr(self.raw_iterations) if callable(lr) else lr

    def apply(self, grads, params):
        c, k = self.c, self.kind
        if self.slots is None:
            init = {"adagrad": [c.get("initial_accumulator_value")], "ftrl": [c.get("initial_accumulator_value"), 0]}
            fills = init.get(k, [0.0] * SLOTS[k]) + ([0.0] if c.get("amsgrad") else [])
            self.slots = [[np.full(p.shape, f, np.float64) for f in fills] for p in params]
            self.avg = [np.zeros_like(p) for p in params]
            self.acc = [np.zeros_like(p) for p in params]
        grads = [np.asarray(g, np.float64) for g in grads]
        if c["loss_scale_factor"]:
            grads = [g / c["loss_scale_factor"] for g in grads]
        update = True
        if c["gradient_accumulation_steps"]:
            n = c["gradient_accumulation_steps"]
            update = (self.raw_iterations + 1) % n == 0
            if update:
                grads = [(g + a) / n for g, a in zip(grads, self.acc)]
                self.acc = [np.zeros_like(a) for a in self.acc]
            else:
                self.acc = [a + g for a, g in zip(self.acc, grads)]
        if update:
            if c["clipnorm"]:
                grads = [g * c["clipnorm"] / max(np.sqrt(np.sum(g * g)), c["clipnorm"]) for g in grads]
            elif c["global_clipnorm"]:
                norm = np.sqrt(sum(np.sum(g * g) for g in grads))
                grads = [g * c["global_clipnorm"] * min(1 / norm, 1 / c["global_clipnorm"]) for g in grads]
            elif c["clipvalue"]:
                grads = [np.clip(g, -c["clipvalue"], c["clipvalue"]) for g in grads]
            lr, t = self.lr(), self.iterations + 1
            if c["weight_decay"]:
                params = [p - p * c["weight_decay"] * lr for p in params]
            if k == "nadam":
                self.u_product *= c["beta_1"] * (1 - 0.5 * 0.96 ** t)
            params = [self.step(p, g, s, lr, t) for p, g, s in zip(params, grads, self.slots)]
        if c["use_ema"]:
            mom = c["ema_momentum"] if self.iterations != 0 else 0.0
            self.avg = [mom * a + (1 - mom) * p for a, p in zip(self.avg, params)]
            freq = c["ema_overwrite_frequency"]
            if freq and (self.iterations + 1) % freq == 0:
                params = [a.copy() for a in self.avg]
        self.raw_iterations += 1
        return params

    def step(self, p, g, s, lr, t):
        c, k = self.c, self.kind
        if k == "sgd":
            m = c["momentum"]
            if not m:
                return p - lr * g
            s[0][:] = m * s[0] - lr * g
            return p + (m * s[0] - lr * g if c["nesterov"] else s[0])
        if k in ("adam", "adamw"):
            b1, b2 = c["beta_1"], c["beta_2"]
            s[0] += (g - s[0]) * (1 - b1)
            s[1] += (g * g - s[1]) * (1 - b2)
            v = s[1]
            if c["amsgrad"]:
                s[2][:] = np.maximum(s[2], s[1])
                v = s[2]
            return p - s[0] * (lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)) / (np.sqrt(v) + c["epsilon"])
        if k == "rmsprop":
            rho, eps = c["rho"], c["epsilon"]
            s[0][:] = rho * s[0] + (1 - rho) * g * g
            den = s[0] + eps
            if c["centered"]:
                s[2][:] = rho * s[2] + (1 - rho) * g
                den = s[0] - s[2] ** 2 + eps
            inc = lr * g / np.sqrt(den)
            if c["momentum"] > 0:
                s[1][:] = c["momentum"] * s[1] + inc
                return p - s[1]
            return p - inc
        if k == "adagrad":
            s[0] += g * g
            return p - lr * g / np.sqrt(s[0] + c["epsilon"])
        if k == "adadelta":
            rho, eps = c["rho"], c["epsilon"]
            s[0][:] = rho * s[0] + (1 - rho) * g * g
            delta = -np.sqrt(s[1] + eps) * g / np.sqrt(s[0] + eps)
            s[1][:] = rho * s[1] + (1 - rho) * delta * delta
            return p + lr * delta
        if k == "adamax":
            b1 = c["beta_1"]
            s[0] += (g - s[0]) * (1 - b1)
            s[1][:] = np.maximum(c["beta_2"] * s[1], np.abs(g))
            return p - lr * s[0] / ((1 - b1 ** t) * (s[1] + c["epsilon"]))
        if k == "nadam":
            b1, b2 = c["beta_1"], c["beta_2"]
            mu_t, mu_next = b1 * (1 - 0.5 * 0.96 ** t), b1 * (1 - 0.5 * 0.96 ** (t + 1))
            s[0] += (g - s[0]) * (1 - b1)
            s[1] += (g * g - s[1]) * (1 - b2)
            m_hat = mu_next * s[0] / (1 - self.u_product * mu_next) + (1 - mu_t) * g / (1 - self.u_product)
            return p - m_hat * lr / (np.sqrt(s[1] / (1 - b2 ** t)) + c["epsilon"])
        if k == "ftrl":
            power, l1 = c["learning_rate_power"], c["l1_regularization_strength"]
            l2 = c["l2_regularization_strength"] + c["beta"] / (2 * lr)
            g2 = g + 2 * c["l2_shrinkage_regularization_strength"] * p
            new = s[0] + g * g
            s[1] += g2 - (new ** -power - s[0] ** -power) / lr * p
            quadratic = new ** -power / lr + 2 * l2
            s[0][:] = new
            return (np.clip(s[1], -l1, l1) - s[1]) / quadratic
        if k == "lion":
            b1, b2 = c["beta_1"], c["beta_2"]
            p = p - lr * np.sign(s[0] * b1 + g * (1 - b1))
            s[0][:] = s[0] * b2 + g * (1 - b2)
            return p
        raise AssertionError(k)


# ---------------------------------------------------------------- cases

def _sched():
    return schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)


CASES = [
    ("sgd", {}), ("sgd", dict(learning_rate=0.05, momentum=0.9)),
    ("sgd", dict(learning_rate=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("adam", dict(learning_rate=0.01)), ("adam", dict(learning_rate=0.01, amsgrad=True)),
    ("adamw", dict(learning_rate=0.01, amsgrad=True)), ("adamw", dict(learning_rate=0.01, weight_decay=0.05)),
    ("rmsprop", dict(learning_rate=0.01)), ("rmsprop", dict(learning_rate=0.01, momentum=0.5, centered=True)),
    ("adagrad", dict(learning_rate=0.05)), ("adagrad", dict(learning_rate=0.05, initial_accumulator_value=0.5)),
    ("adadelta", dict(learning_rate=1.0)), ("adadelta", dict(learning_rate=0.5, rho=0.8, epsilon=1e-5)),
    ("adamax", dict(learning_rate=0.01)), ("adamax", dict(learning_rate=0.02, beta_1=0.8, beta_2=0.9)),
    ("nadam", dict(learning_rate=0.01)), ("nadam", dict(learning_rate=0.02, beta_1=0.8, beta_2=0.95)),
    ("ftrl", dict(learning_rate=0.05)),
    ("ftrl", dict(learning_rate=0.05, l1_regularization_strength=0.01, l2_regularization_strength=0.02,
                  l2_shrinkage_regularization_strength=0.01, beta=0.1, learning_rate_power=-0.7)),
    ("lion", dict(learning_rate=0.01)), ("lion", dict(learning_rate=0.01, beta_1=0.7, beta_2=0.9)),
    # the options every optimizer takes
    ("adam", dict(learning_rate=0.01, clipnorm=0.5)),
    ("nadam", dict(learning_rate=0.01, global_clipnorm=0.7)),
    ("rmsprop", dict(learning_rate=0.01, clipvalue=0.3)),
    ("adagrad", dict(learning_rate=0.05, weight_decay=0.2)),
    ("lion", dict(learning_rate=0.01, weight_decay=0.5, clipnorm=0.5)),
    ("ftrl", dict(learning_rate=0.05, weight_decay=0.1, l1_regularization_strength=0.001)),
    ("adamax", dict(learning_rate=0.01, use_ema=True, ema_momentum=0.7)),
    ("sgd", dict(learning_rate=0.1, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)),
    ("adadelta", dict(learning_rate=1.0, loss_scale_factor=8.0)),
    ("adam", dict(learning_rate=0.01, gradient_accumulation_steps=2)),
    ("nadam", dict(learning_rate=0.01, gradient_accumulation_steps=3, global_clipnorm=0.5,
                   loss_scale_factor=2.0)),
    ("adam", dict(learning_rate="schedule")), ("adagrad", dict(learning_rate="schedule", clipvalue=0.2)),
]


def _config(cfg, make_schedule):
    return {k: (make_schedule() if v == "schedule" else v) for k, v in cfg.items()}


def _problem(seed=0, steps=6):
    rng = np.random.default_rng(seed)
    w0 = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    grads = [[rng.standard_normal(w.shape).astype(np.float32) for w in w0] for _ in range(steps)]
    return w0, grads


def _run_ember(kind, cfg, w0, grads, device="cpu"):
    opt = optimizers.get(kind).__class__(**_config(cfg, _sched))
    vs = [Variable(w.copy(), name=f"w{i}") for i, w in enumerate(w0)]
    for v in vs:
        v.to(device)
    for gs in grads:
        opt.apply_gradients(zip([ember.cuda.place(g, device) for g in gs], vs))
    return [v.numpy() for v in vs], opt


def _run_reference(kind, cfg, w0, grads):
    ref = Reference(kind, _config(cfg, _sched))
    params = [w.astype(np.float64) for w in w0]
    for gs in grads:
        params = ref.apply(gs, params)
    return params


def _run_keras(keras, kind, cfg, w0, grads):
    def schedule():
        return keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5)
    opt = getattr(keras.optimizers, CLASS[kind])(**_config(cfg, schedule))
    vs = [keras.Variable(w.copy()) for w in w0]
    for gs in grads:
        opt.apply_gradients(zip([g.copy() for g in gs], vs))
    return [np.array(v.value) for v in vs]


def _case_id(case):
    kind, cfg = case
    return kind + "-" + "-".join(f"{k}={v}" for k, v in cfg.items())


@pytest.mark.parametrize("kind,cfg", CASES, ids=[_case_id(c) for c in CASES])
def test_against_numpy_reference(kind, cfg):
    w0, grads = _problem()
    got, opt = _run_ember(kind, cfg, w0, grads)
    want = _run_reference(kind, cfg, w0, grads)
    for g, w in zip(got, want):
        assert_close(g, w, rtol=2e-5, atol=2e-6)
    steps = cfg.get("gradient_accumulation_steps") or 1
    assert opt.iterations == len(grads) // steps


@pytest.mark.parametrize("kind,cfg", CASES, ids=[_case_id(c) for c in CASES])
def test_against_keras(keras, kind, cfg):
    w0, grads = _problem(seed=1)
    got, _ = _run_ember(kind, cfg, w0, grads)
    want = _run_keras(keras, kind, cfg, w0, grads)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-6)


def test_update_kernel_with_every_grad_prep_option(rng):
    """A binding called directly: weight decay, gradient scale and clip value
    in one fused step, against the reference."""
    p0, g = rng.standard_normal(50).astype(np.float32), rng.standard_normal(50).astype(np.float32)
    p, acc, lin = p0.copy(), np.full(50, 0.1, np.float32), np.zeros(50, np.float32)
    _core.ftrl_update(p, g, acc, lin, 0.1, -0.5, 0.0, 0.0, 0.0, 0.0, weight_decay=0.1, grad_scale=0.5,
                      clipvalue=0.2)
    ref = Reference("ftrl", dict(learning_rate=0.1))
    slots = [np.full(50, 0.1), np.zeros(50)]
    p64 = p0.astype(np.float64)
    want = ref.step(p64 - p64 * 0.1 * 0.1, np.clip(g * 0.5, -0.2, 0.2), slots, 0.1, 1)
    assert_close(p, want, rtol=1e-5)
    assert_close(acc, slots[0], rtol=1e-6)
    assert_close(lin, slots[1], rtol=1e-5)


# ---------------------------------------------------------------- schedules

SCHEDULES = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.9, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[5, 12], values=[0.1, 0.05, 0.01])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=20)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=8, end_learning_rate=0.01, power=2.0,
                             cycle=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5, staircase=True)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=20)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=20, alpha=0.1)),
    ("CosineDecay", dict(initial_learning_rate=0.0, decay_steps=15, warmup_target=0.2, warmup_steps=6,
                         alpha=0.05)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=5)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=4, t_mul=1.0, m_mul=0.5,
                                 alpha=0.1)),
    ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=3, t_mul=1.5, m_mul=0.8)),
]
STEPS = list(range(0, 45))


def _schedule_reference(name, c, step):
    """Each schedule's formula, written from its documentation, in float64."""
    if name == "ExponentialDecay":
        p = step / c["decay_steps"]
        return c["initial_learning_rate"] * c["decay_rate"] ** (math.floor(p) if c.get("staircase") else p)
    if name == "PiecewiseConstantDecay":
        return c["values"][sum(step > b for b in c["boundaries"])]
    if name == "PolynomialDecay":
        end, power, steps = c.get("end_learning_rate", 1e-4), c.get("power", 1.0), c["decay_steps"]
        if c.get("cycle"):
            steps = steps * max(1, math.ceil(step / steps))
        else:
            step = min(step, steps)
        return (c["initial_learning_rate"] - end) * (1 - step / steps) ** power + end
    if name == "InverseTimeDecay":
        p = step / c["decay_steps"]
        return c["initial_learning_rate"] / (1 + c["decay_rate"] * (math.floor(p) if c.get("staircase") else p))
    if name == "CosineDecay":
        alpha, warm, target = c.get("alpha", 0.0), c.get("warmup_steps", 0), c.get("warmup_target")
        start = c["initial_learning_rate"]
        if target is not None:
            if step < warm:
                return start + (target - start) * step / warm
            step, start = step - warm, target
        step = min(step, c["decay_steps"])
        return start * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / c["decay_steps"])) + alpha)
    if name == "CosineDecayRestarts":
        t_mul, m_mul, alpha = c.get("t_mul", 2.0), c.get("m_mul", 1.0), c.get("alpha", 0.0)
        period, begin, i = c["first_decay_steps"], 0.0, 0
        while step >= begin + period:  # walk the restarts one by one
            begin, period, i = begin + period, period * t_mul, i + 1
        fraction = (step - begin) / period
        return c["initial_learning_rate"] * ((1 - alpha) * 0.5 * m_mul ** i * (1 + math.cos(math.pi * fraction)) + alpha)
    raise AssertionError(name)


@pytest.mark.parametrize("name,cfg", SCHEDULES, ids=[f"{n}{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedule_formula_and_config(name, cfg):
    s = getattr(schedules, name)(**cfg)
    got = [s(t) for t in STEPS]
    want = [_schedule_reference(name, cfg, t) for t in STEPS]
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    again = schedules.deserialize(schedules.serialize(s))
    assert type(again) is type(s) and again.get_config() == s.get_config()
    assert [again(t) for t in STEPS] == got


@pytest.mark.parametrize("name,cfg", SCHEDULES, ids=[f"{n}{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedule_against_keras(keras, name, cfg):
    k = getattr(keras.optimizers.schedules, name)(**cfg)
    s = getattr(schedules, name)(**cfg)
    want = [float(k(t)) for t in STEPS]  # Keras computes in float32
    np.testing.assert_allclose([s(t) for t in STEPS], want, rtol=2e-6, atol=1e-8)
    assert s.get_config() == k.get_config()


def test_schedule_bad_arguments():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="1 less than"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(TypeError, match="Received"):
        schedules.CosineDecay("0.1", 10)
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


def test_optimizer_follows_its_schedule():
    s = schedules.PiecewiseConstantDecay([1], [1.0, 0.5])
    opt = optimizers.SGD(s)
    v = Variable(np.zeros(2, np.float32))
    seen = []
    for _ in range(3):
        seen.append(opt.learning_rate)
        opt.apply_gradients([(np.ones(2, np.float32), v)])
    assert seen == [1.0, 1.0, 0.5] and opt.iterations == 3
    np.testing.assert_allclose(v.numpy(), [-2.5, -2.5])
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1
    opt.learning_rate = schedules.ExponentialDecay(0.2, 1, 0.5)  # a schedule replaces a schedule
    assert opt.learning_rate == pytest.approx(0.2 * 0.5 ** 3)


# ---------------------------------------------------------------- API

ALL = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "ftrl", "lion"]


@pytest.mark.parametrize("name", ALL)
def test_get_and_config_round_trip(name):
    opt = optimizers.get(name)
    assert opt.name == {"adamw": "adam_w", "rmsprop": "rm_sprop"}.get(name, name)  # Keras's names
    assert optimizers.get(name.upper()).__class__ is opt.__class__
    cfg = opt.get_config()
    for key in ("name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm", "clipvalue",
                "use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                "gradient_accumulation_steps"):
        assert key in cfg
    again = type(opt).from_config(cfg)
    assert again.get_config() == cfg
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == cfg
    assert optimizers.get(optimizers.serialize(opt)).get_config() == cfg


@pytest.mark.parametrize("name", ALL)
def test_config_keys_match_keras(keras, name):
    k = keras.optimizers.get(name).get_config()
    k["name"] = re.sub(r"_\d+$", "", k["name"])  # Keras numbers the second 'sgd' 'sgd_1'; ember does not
    e = optimizers.get(name).get_config()
    assert sorted(e) == sorted(k)
    for key, value in k.items():
        if key != "learning_rate" and isinstance(value, float):
            assert e[key] == pytest.approx(value), key
        elif key != "learning_rate":
            assert e[key] == value, key
    assert e["learning_rate"] == pytest.approx(k["learning_rate"], rel=1e-6)


def test_schedule_in_config_round_trips():
    opt = optimizers.Adam(schedules.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=5))
    cfg = opt.get_config()
    assert cfg["learning_rate"]["class_name"] == "CosineDecay"
    again = optimizers.Adam.from_config(cfg)
    assert isinstance(again._learning_rate, schedules.CosineDecay)
    assert again.learning_rate == opt.learning_rate == 0.1


def test_unknown_names_and_bad_arguments():
    with pytest.raises(ValueError, match="Unknown optimizer.*adadelta.*ftrl.*lion"):
        optimizers.get("adafactorx")
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.Adam(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.SGD(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_overwrite_frequency"):
        optimizers.SGD(use_ema=True, ema_overwrite_frequency=0)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        optimizers.Ftrl(learning_rate_power=0.5)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(TypeError, match="Received"):
        optimizers.Adagrad(epsilon="small")
    with pytest.raises(TypeError, match="unexpected keyword"):
        optimizers.Nadam(momentum=0.9)
    with pytest.raises(ValueError, match="u_product"):
        _core.nadam_update(np.zeros(2, np.float32), np.zeros(2, np.float32), np.zeros(2, np.float32),
                           np.zeros(2, np.float32), u_product=1.5)


def test_learning_rate_is_readable_and_settable():
    opt = optimizers.Adadelta(learning_rate=0.5)
    assert opt.learning_rate == 0.5 and isinstance(opt.learning_rate, float)
    opt.learning_rate = 0.25  # what ReduceLROnPlateau / LearningRateScheduler do
    assert opt.learning_rate == 0.25 and opt.get_config()["learning_rate"] == 0.25
    opt.learning_rate = np.float32(0.125)
    assert opt.learning_rate == 0.125
    with pytest.raises(ValueError):
        opt.learning_rate = -1.0
    opt.learning_rate = lambda: 0.3  # a callable, called at each step
    assert opt.learning_rate == 0.3


def test_weight_decay_exclusion():
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    a, b = Variable(np.ones(2, np.float32), name="kernel"), Variable(np.ones(2, np.float32), name="bias")
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply_gradients([(np.zeros(2, np.float32), a), (np.zeros(2, np.float32), b)])
    np.testing.assert_allclose(a.numpy(), 0.95)
    np.testing.assert_allclose(b.numpy(), 1.0)


def test_global_clipnorm_nonfinite_norm_gives_nan_like_keras():
    opt = optimizers.SGD(0.1, global_clipnorm=1.0)
    v = Variable(np.ones(2, np.float32))
    opt.apply_gradients([(np.array([np.inf, 1.0], np.float32), v)])
    assert np.isnan(v.numpy()).all()


def test_apply_without_variables_uses_the_built_ones():
    opt = optimizers.Lion(0.1)
    v = Variable(np.zeros(3, np.float32))
    opt.build([v])
    opt.apply([np.array([1.0, -1.0, 0.0], np.float32)])
    np.testing.assert_allclose(v.numpy(), [-0.1, 0.1, 0.0])
    with pytest.raises(ValueError, match="built with"):
        opt.apply([np.zeros(3, np.float32)] * 2)


# ---------------------------------------------------------------- in fit

def _model():
    model = ember.Sequential([layers.Input((4,)), layers.Dense(8, activation="tanh"), layers.Dense(1)])
    return model


def _data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 4)).astype(np.float32)
    return x, (x @ np.array([1.0, -2.0, 0.5, 0.0], np.float32))[:, None]


def test_fit_with_ema_ends_on_the_moving_average():
    x, y = _data()
    ember.set_random_seed(1)
    model = _model()
    model.compile(optimizer=optimizers.Adam(0.01, use_ema=True, ema_momentum=0.9), loss="mse")
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
    opt = model.optimizer
    for v in model.trainable_weights:
        np.testing.assert_array_equal(v.numpy(), np.asarray(opt._state[id(v)][2]))


def test_fit_with_loss_scale_factor_matches_unscaled():
    x, y = _data()
    results = []
    for factor in (None, 64.0):
        ember.set_random_seed(1)
        model = _model()
        model.compile(optimizer=optimizers.SGD(0.05, loss_scale_factor=factor), loss="mse")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
        results.append([v.numpy() for v in model.trainable_weights])
    for a, b in zip(*results):
        assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opt", [
    lambda: optimizers.Nadam(0.01, use_ema=True, gradient_accumulation_steps=2),
    lambda: optimizers.Ftrl(0.05, l1_regularization_strength=0.001),
    lambda: optimizers.Adam(schedules.ExponentialDecay(0.01, 3, 0.9), amsgrad=True),
])
def test_save_and_resume(tmp_path, opt):
    """Training 3 + 3 epochs with a save in between gives the same weights as 6."""
    x, y = _data()
    ember.set_random_seed(2)
    a = _model()
    a.compile(optimizer=opt(), loss="mse")
    a.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    a.save(str(tmp_path / "m.ember"))
    b = ember.models.load_model(str(tmp_path / "m.ember"))
    assert b.optimizer.get_config() == a.optimizer.get_config()
    assert b.optimizer.iterations == a.optimizer.iterations
    for m in (a, b):
        m.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
    for va, vb in zip(a.trainable_weights, b.trainable_weights):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())


@pytest.mark.parametrize("name", ALL)
def test_every_optimizer_trains(name):
    x, y = _data()
    ember.set_random_seed(4)
    model = _model()
    lr = {"adadelta": 5.0, "ftrl": 0.2, "sgd": 0.05, "adagrad": 0.1}.get(name, 0.01)
    model.compile(optimizer=optimizers.get(name).__class__(learning_rate=lr), loss="mse")
    h = model.fit(x, y, batch_size=16, epochs=12, verbose=0)
    assert h.history["loss"][-1] < 0.8 * h.history["loss"][0]


# ---------------------------------------------------------------- determinism

@pytest.mark.parametrize("kind,cfg", [("adam", dict(amsgrad=True, weight_decay=0.01)), ("nadam", {}),
                                      ("ftrl", dict(l1_regularization_strength=0.01)), ("lion", {}),
                                      ("adadelta", dict(global_clipnorm=1.0)), ("adagrad", dict(clipnorm=1.0)),
                                      ("adamax", dict(use_ema=True))])
def test_same_bits_for_any_thread_count(threads, kind, cfg):
    rng = np.random.default_rng(5)
    w0 = [rng.standard_normal(300_000).astype(np.float32)]
    grads = [[rng.standard_normal(300_000).astype(np.float32)] for _ in range(3)]
    results = []
    for n in (1, 2, 4):
        ember.set_num_threads(n)
        results.append(_run_ember(kind, cfg, w0, grads)[0][0])
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_sum_squares_is_deterministic_and_accurate(threads):
    x = np.random.default_rng(6).standard_normal(1_000_003).astype(np.float32)
    sums = []
    for n in (1, 2, 3):
        ember.set_num_threads(n)
        sums.append(_core.sum_squares(x))
    assert sums[0] == sums[1] == sums[2]
    assert sums[0] == pytest.approx(math.fsum(float(v) ** 2 for v in x.astype(np.float64)), rel=1e-12)
    assert _core.sum_squares(np.zeros(0, np.float32)) == 0.0


# ---------------------------------------------------------------- CUDA against the CPU

GPU_CASES = [("sgd", dict(momentum=0.9, nesterov=True, weight_decay=0.01)), ("adam", dict(amsgrad=True)),
             ("rmsprop", dict(centered=True, momentum=0.5, clipvalue=0.5)), ("adagrad", dict(clipnorm=1.0)),
             ("adadelta", dict(learning_rate=1.0, global_clipnorm=2.0)), ("adamax", dict(weight_decay=0.1)),
             ("nadam", dict(loss_scale_factor=4.0)),
             ("ftrl", dict(learning_rate=0.05, l1_regularization_strength=0.01, l2_regularization_strength=0.01,
                           l2_shrinkage_regularization_strength=0.01, beta=0.1)),
             ("lion", dict(use_ema=True, ema_overwrite_frequency=2)),
             ("adam", dict(gradient_accumulation_steps=2, use_ema=True))]


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("kind,cfg", GPU_CASES, ids=[_case_id(c) for c in GPU_CASES])
def test_update_kernels_on_cuda_match_cpu(kind, cfg):
    w0, grads = _problem(seed=7, steps=4)
    cpu, cpu_opt = _run_ember(kind, cfg, w0, grads, "cpu")
    dev, dev_opt = _run_ember(kind, cfg, w0, grads, "cuda")
    for c, d in zip(cpu, dev):
        assert_close(d, c, rtol=1e-5, atol=1e-6)
    for v_c, v_d in zip(cpu_opt._built, dev_opt._built):
        for s_c, s_d in zip(cpu_opt._state[id(v_c)], dev_opt._state[id(v_d)]):
            assert ember.cuda.is_device_array(s_d)
            assert_close(np.asarray(s_d), s_c, rtol=1e-5, atol=1e-6)


@gpu
@pytest.mark.gpu
def test_sum_squares_on_cuda_matches_cpu():
    x = np.random.default_rng(8).standard_normal(100_001).astype(np.float32)
    assert _core.sum_squares(ember.cuda.to_device(x)) == pytest.approx(_core.sum_squares(x), rel=1e-14)
