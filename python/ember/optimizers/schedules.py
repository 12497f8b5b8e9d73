"""Learning-rate schedules with Keras 3's names, arguments and formulas
(``keras.optimizers.schedules``). A schedule maps the optimizer's step count
(0 on the first update) to a learning rate; an optimizer given one evaluates
it once per update, on the host, in double precision."""
import math
import numbers

from ..serialization import serialize_object

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize", "get"]


def _number(value, name, positive=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"Argument `{name}` must be a finite number. Received: {name}={value!r}")
    if positive and value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")
    return value


def _step(step):
    step = float(step)
    if not math.isfinite(step) or step < 0:
        raise ValueError(f"A schedule's step must be a non-negative number. Received: step={step}")
    return step


class LearningRateSchedule:
    """Base class: subclasses define ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class _DecayOverSteps(LearningRateSchedule):
    """The arguments ExponentialDecay and InverseTimeDecay share; ``_decay(p)``
    maps p = step / decay_steps (floored with ``staircase``) to the rate."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.decay_rate = _number(decay_rate, "decay_rate")
        self.staircase = bool(staircase)
        self.name = name or type(self).__name__

    def __call__(self, step):
        p = _step(step) / self.decay_steps
        return self._decay(math.floor(p) if self.staircase else p)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_DecayOverSteps):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``, the
    exponent floored with ``staircase``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def _decay(self, p):
        return self.initial_learning_rate * self.decay_rate ** p


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while step <= boundaries[0], ``values[i]`` while
    boundaries[i-1] < step <= boundaries[i], ``values[-1]`` after the last."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. "
                             f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                             f"values={values} of length {len(values)}.")
        for i, b in enumerate(boundaries):
            _number(b, f"boundaries[{i}]")
        for i, v in enumerate(values):
            _number(v, f"values[{i}]")
        if any(b1 > b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ValueError(f"`boundaries` must be in increasing order. Received: boundaries={boundaries}")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        step = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From ``initial_learning_rate`` to ``end_learning_rate`` along
    ``(1 - step / decay_steps) ** power``; with ``cycle`` the decay restarts
    over a multiple of decay_steps instead of staying at the end value."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.end_learning_rate = _number(end_learning_rate, "end_learning_rate")
        self.power = _number(power, "power")
        self.cycle = bool(cycle)
        self.name = name

    def __call__(self, step):
        step, steps = _step(step), float(self.decay_steps)
        if self.cycle:
            steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, steps)
        fraction = 1.0 - step / steps
        return (self.initial_learning_rate - self.end_learning_rate) * fraction ** self.power + \
            self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_DecayOverSteps):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``, the
    ratio floored with ``staircase``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def _decay(self, p):
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)


def _cosine(fraction, alpha, scale=1.0):
    """(1 - alpha) * scale * (1 + cos(pi * fraction)) / 2 + alpha."""
    return (1.0 - alpha) * (0.5 * scale * (1.0 + math.cos(math.pi * fraction))) + alpha


class CosineDecay(LearningRateSchedule):
    """Cosine decay over ``decay_steps`` down to ``alpha`` times the start
    value; with ``warmup_target``, first a linear warm-up over
    ``warmup_steps`` from initial_learning_rate to warmup_target, which the
    decay then starts from."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _number(decay_steps, "decay_steps", positive=True)
        self.alpha = _number(alpha, "alpha")
        self.name = name
        self.warmup_target = None if warmup_target is None else _number(warmup_target, "warmup_target")
        self.warmup_steps = _number(warmup_steps, "warmup_steps")
        if self.warmup_steps < 0:
            raise ValueError(f"Argument `warmup_steps` must be >= 0. Received: warmup_steps={warmup_steps}")

    def __call__(self, step):
        step = _step(step)
        if self.warmup_target is None:
            step = min(step, self.decay_steps)
            return self.initial_learning_rate * _cosine(step / self.decay_steps, self.alpha)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * fraction + self.initial_learning_rate
        return self.warmup_target * _cosine((step - self.warmup_steps) / self.decay_steps, self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods of
    ``first_decay_steps * t_mul ** i`` steps, the i-th starting from
    ``initial_learning_rate * m_mul ** i``."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        self.initial_learning_rate = _number(initial_learning_rate, "initial_learning_rate")
        self.first_decay_steps = _number(first_decay_steps, "first_decay_steps", positive=True)
        self._t_mul = _number(t_mul, "t_mul", positive=True)
        self._m_mul = _number(m_mul, "m_mul")
        self.alpha = _number(alpha, "alpha")
        self.name = name

    def __call__(self, step):
        fraction = _step(step) / self.first_decay_steps
        t_mul = float(self._t_mul)
        if t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            # Periods 1, t, t^2, ...: restart i begins at (1 - t^i) / (1 - t).
            restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            start = (1.0 - t_mul ** restart) / (1.0 - t_mul)
            fraction = (fraction - start) / t_mul ** restart
        return self.initial_learning_rate * _cosine(fraction, self.alpha, self._m_mul ** restart)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                          InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(schedule):
    """Keras's serialized form: a dict with module, class_name and config."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"Expected a LearningRateSchedule. Received: {schedule!r}")
    return serialize_object(schedule, "keras.optimizers.schedules")


def deserialize(config, custom_objects=None):
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a dict with 'class_name' and 'config'. Received: {config!r}")
    classes = {**_CLASSES, **(custom_objects or {})}
    cls = classes.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown learning rate schedule: {config['class_name']!r}. Expected one of "
                         f"{', '.join(sorted(_CLASSES))}.")
    return cls.from_config(dict(config.get("config", {})))


def get(identifier):
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    return deserialize(identifier)
