"""Optimizers, their options and the learning-rate schedules: ember against a
float64 NumPy transcription of Keras 3's formulas (everywhere), against
Keras 3 itself (where it is installed; KERAS_BACKEND=jax), and each update
kernel on the CUDA device (or its CPU emulator) against the CPU."""
import math
import os

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
    return [np.asarray(v.numpy()) for v in vs]


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
