"""Optimizers with Keras 3's names, arguments, defaults and update formulas.

Each update runs in place in C++ (CPU or CUDA, by where the weight lives), one
fused kernel call per weight: weight decay, gradient scaling and clipping and
the optimizer's own formula in one pass (cpp/optim.h, cpp/formulas.h).

``optimizer.learning_rate`` reads as a Python float: the current value (a
schedule's value at the current step), and can be set to a number, a
``LearningRateSchedule`` or a callable, as in Keras (setting a number when the
optimizer was built with a schedule raises TypeError, as Keras does).
``optimizer.iterations`` is the number of updates applied so far (an int)."""
import math
import numbers
import re

import numpy as np

from .. import _core, constraints, cuda
from ..engine import Tensor, Variable
from ..serialization import serialize_object
from . import schedules
from .schedules import LearningRateSchedule

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam",
           "Ftrl", "Lion", "get", "serialize", "deserialize", "schedules"]


def _real(value, name, lo=None, hi=None, allow_none=False):
    """value as a float, checked: a real number (not a bool) within [lo, hi]."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise TypeError(f"Argument `{name}` must be a finite number. Received: {name}={value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"Argument `{name}` must be in [{lo}, {hi}]. Received: {name}={value}")
    return float(value)


def _snake_case(name):
    """Keras's default optimizer names: 'AdamW' -> 'adam_w', 'RMSprop' -> 'rm_sprop'."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _filled_like(value, fill):
    """An array of value's shape and device holding `fill`."""
    if fill == 0.0:
        return cuda.zeros_like(value)
    host = np.full(tuple(value.shape), fill, np.float32)
    return cuda.place(host, "cuda") if cuda.is_device_array(value) else host


def _as_array(grad):
    return grad.value if isinstance(grad, Tensor) else grad


class Optimizer:
    """Base class. A subclass names its per-weight slots (``_slot_names``),
    their initial values (``_slot_initial``) and runs its kernel in
    ``_update(param, grad, slots, lr, step, prep)``; the base class does
    the rest of Keras's ``apply``: loss-scale unscaling, gradient
    accumulation, clipping, weight decay (passed to the kernel), the moving
    average of the weights (``use_ema``) and the step count."""
    _slots = ()

    def __init__(self, learning_rate=0.001, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        kwargs.pop("decay", None)  # Keras 3 ignores the legacy `decay` argument too
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {sorted(kwargs)}")
        self.name = name or _snake_case(type(self).__name__)
        self.weight_decay = _real(weight_decay, "weight_decay", 0.0, allow_none=True)
        self.clipnorm = _real(clipnorm, "clipnorm", 0.0, allow_none=True)
        self.clipvalue = _real(clipvalue, "clipvalue", 0.0, allow_none=True)
        self.global_clipnorm = _real(global_clipnorm, "global_clipnorm", 0.0, allow_none=True)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.use_ema = bool(use_ema)
        self.ema_momentum = _real(ema_momentum, "ema_momentum", 0.0, 1.0)
        if ema_overwrite_frequency is not None and (
                isinstance(ema_overwrite_frequency, bool) or not isinstance(ema_overwrite_frequency, int)
                or ema_overwrite_frequency < 1):
            raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                             f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = _real(loss_scale_factor, "loss_scale_factor", allow_none=True)
        if self.loss_scale_factor == 0.0:
            raise ValueError("`loss_scale_factor` must be non-zero. Received: loss_scale_factor=0")
        if gradient_accumulation_steps is not None and (
                isinstance(gradient_accumulation_steps, bool) or not isinstance(gradient_accumulation_steps, int)
                or gradient_accumulation_steps < 2):
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. "
                             f"Received: gradient_accumulation_steps={gradient_accumulation_steps}")
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self._learning_rate = None
        self.learning_rate = learning_rate
        self._iterations = 0  # every apply() call, accumulation steps included
        self._state = {}      # id(variable) -> [slots..., ema average?, gradient accumulator?]
        self._built = []      # the variables seen, in order (the EMA covers them all)
        self._exclude_ids, self._exclude_pattern = set(), None

    # ------------------------------------------------------------ learning rate
    @property
    def learning_rate(self):
        """The current learning rate as a float (a schedule is evaluated at
        the current step; a callable is called)."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self._iterations))
        if callable(lr):
            return float(lr())
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, LearningRateSchedule) or (callable(value) and not isinstance(value, Tensor)):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as its "
                            "`learning_rate` constructor argument, hence its learning rate is not "
                            "settable. If you need the learning rate to be settable, you should "
                            "instantiate the optimizer with a float `learning_rate` argument.")
        if isinstance(value, Tensor):
            value = float(value)
        if isinstance(value, np.ndarray) and value.size == 1:
            value = float(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError("Argument `learning_rate` should be float, or an instance of "
                             "LearningRateSchedule, or a callable (that takes in the current iteration "
                             "value and returns the corresponding learning rate value). "
                             f"Received instead: learning_rate={value!r}")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"`learning_rate` must be a non-negative number. Received: {value}")
        self._learning_rate = value

    @property
    def iterations(self):
        """Updates applied so far (with gradient accumulation, the number of
        accumulated updates, as in Keras)."""
        if self.gradient_accumulation_steps:
            return self._iterations // self.gradient_accumulation_steps
        return self._iterations

    @iterations.setter
    def iterations(self, value):
        self._iterations = int(value) * (self.gradient_accumulation_steps or 1)

    # ------------------------------------------------------------ state
    def _slot_names(self):
        return self._slots

    def _slot_initial(self):
        return [0.0] * len(self._slot_names())

    def _state_size(self):
        return len(self._slot_names()) + int(self.use_ema) + int(bool(self.gradient_accumulation_steps))

    def _slots_for(self, var):
        state = self._state.get(id(var))
        if state is None:
            state = [_filled_like(var.value, f) for f in self._slot_initial()]
            if self.use_ema:
                state.append(cuda.zeros_like(var.value))
            if self.gradient_accumulation_steps:
                state.append(cuda.zeros_like(var.value))
            self._state[id(var)] = state
            self._built.append(var)
        return state

    def build(self, variables):
        """Creates the slots of each variable (apply() does it on first use)."""
        for v in variables:
            self._slots_for(v)

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Variables (by object, or by a substring of their name) that weight
        decay leaves alone."""
        self._exclude_ids = {id(v) for v in (var_list or [])}
        self._exclude_pattern = re.compile("|".join(map(re.escape, set(var_names)))) if var_names else None

    def _use_weight_decay(self, var):
        if id(var) in self._exclude_ids:
            return False
        return not (self._exclude_pattern and self._exclude_pattern.search(var.name))

    def scale_loss(self, loss):
        """The loss times loss_scale_factor (gradients are divided back in apply)."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # ------------------------------------------------------------ applying
    def apply_gradients(self, grads_and_vars):
        """Updates each variable in place from its gradient (a tensor or an
        array on the variable's device); pairs whose gradient is None are
        skipped, as for a weight the loss does not depend on."""
        pairs = list(grads_and_vars)
        for _, var in pairs:
            if not isinstance(var, Variable):
                raise ValueError(f"apply_gradients expects (gradient, Variable) pairs. Received: {var!r}"[:300])
        grads, variables = [], []
        for grad, var in pairs:
            self._slots_for(var)
            if grad is None:
                continue
            grad = _as_array(grad)
            if tuple(grad.shape) != var.shape:
                raise ValueError(f"Gradient for '{var.path}' has shape {tuple(grad.shape)}; expected {var.shape}")
            grads.append(grad)
            variables.append(var)
        self._apply(grads, variables)
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """Keras 3's form: ``apply(grads, variables)``; without variables, the
        ones the optimizer was built with, in order."""
        if trainable_variables is None:
            trainable_variables = self._built
            if len(grads) != len(trainable_variables):
                raise ValueError(f"`apply` got {len(grads)} gradients for the {len(trainable_variables)} "
                                 "variables this optimizer was built with.")
        self.apply_gradients(zip(grads, trainable_variables))

    def _apply(self, grads, variables):
        steps = self.gradient_accumulation_steps
        unscale = 1.0 / self.loss_scale_factor if self.loss_scale_factor is not None else 1.0
        update = not steps or (self._iterations + 1) % steps == 0
        if steps:
            # Accumulators hold the sum of the unscaled gradients; on the
            # update step, the mean (accumulator + gradient) / steps.
            for g, v in zip(grads, variables):
                _core.accumulate_gradient(self._state[id(v)][-1], g, unscale, 1.0 / steps if update else 1.0)
            grads = [self._state[id(v)][-1] for v in variables]
            unscale = 1.0
        if update and variables:
            lr, step = self.learning_rate, self.iterations + 1
            n_slots, decay = len(self._slot_names()), self.weight_decay or 0.0
            prep = {"clipvalue": self.clipvalue or 0.0}  # the kernel's keyword arguments, filled per weight
            for g, v, scale in zip(grads, variables, self._grad_scales(grads, unscale)):
                prep["weight_decay"] = decay if decay and self._use_weight_decay(v) else 0.0
                prep["grad_scale"] = scale
                self._update(v.value, g, self._state[id(v)][:n_slots], lr, step, prep)
                v._version += 1
            constraints.apply_constraints(variables)  # kernel_constraint & co, after the update as Keras 3
            if steps:
                for v in variables:
                    self._state[id(v)][-1] = cuda.zeros_like(v.value)
        if self.use_ema:
            self._update_ema()
        self._iterations += 1

    def _grad_scales(self, grads, unscale):
        """The factor each gradient is multiplied by: the loss-scale unscaling
        times the clipnorm / global_clipnorm factor (Keras's formulas; norms
        from the deterministic C++ sum of squares)."""
        if self.clipnorm:
            scales = []
            for g in grads:
                norm = math.sqrt(_core.sum_squares(g)) * abs(unscale)
                scales.append(unscale * self.clipnorm / max(norm, self.clipnorm))
            return scales
        if self.global_clipnorm:
            norm = math.sqrt(math.fsum(_core.sum_squares(g) for g in grads)) * abs(unscale)
            if not math.isfinite(norm):
                factor = math.nan  # Keras turns a non-finite norm into NaN updates
            else:
                factor = self.global_clipnorm * min(1.0 / norm if norm else math.inf, 1.0 / self.global_clipnorm)
            return [unscale * factor] * len(grads)
        return [unscale] * len(grads)

    def _update_ema(self):
        momentum = self.ema_momentum if self.iterations != 0 else 0.0
        freq = self.ema_overwrite_frequency
        overwrite = bool(freq) and (self.iterations + 1) % freq == 0
        index = len(self._slot_names())
        for v in self._built:
            _core.ema_update(self._state[id(v)][index], v.value, momentum, overwrite)
            if overwrite:
                v._version += 1

    def finalize_variable_values(self, var_list):
        """With use_ema, sets each variable to its moving average (fit does
        this after the last epoch, as Keras's fit does)."""
        if not self.use_ema:
            return
        index = len(self._slot_names())
        for v in var_list:
            state = self._state.get(id(v))
            if state is not None:
                _core.ema_update(state[index], v.value, 1.0, True)
                v._version += 1

    # ------------------------------------------------------------ saving
    def get_state(self, variables):
        """Host copies of each variable's slot arrays, in order, for saving."""
        return [np.array(s, dtype=np.float32) for v in variables for s in self._slots_for(v)]

    def set_state(self, variables, arrays, iterations):
        arrays = list(arrays)
        per = self._state_size()
        expected = len(variables) * per
        if len(arrays) != expected:
            raise ValueError(f"Optimizer state holds {len(arrays)} arrays; this model needs {expected}")
        for i, v in enumerate(variables):
            slots = arrays[i * per:(i + 1) * per]
            for s in slots:
                if s.shape != v.shape:
                    raise ValueError(f"Optimizer state for '{v.name}' has shape {s.shape}, expected {v.shape}")
            if id(v) not in self._state:
                self._built.append(v)
            self._state[id(v)] = [cuda.place(np.ascontiguousarray(s, dtype=np.float32), v.device)
                                  for s in slots]
        self._iterations = int(iterations)

    def _to(self, device):
        """Moves the slot arrays to device (with the model's weights)."""
        for key, slots in self._state.items():
            self._state[key] = [cuda.place(s, device) for s in slots]

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        elif callable(lr):
            lr = float(lr())  # a plain callable cannot be serialized: its current value
        return {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                "clipvalue": self.clipvalue, "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "loss_scale_factor": self.loss_scale_factor,
                "gradient_accumulation_steps": self.gradient_accumulation_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)


class SGD(Optimizer):
    _slots = ("velocity",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = _real(momentum, "momentum", 0.0, 1.0)
        self.nesterov = bool(nesterov)

    def _update(self, param, grad, slots, lr, step, prep):
        _core.sgd_update(param, grad, slots[0], lr, self.momentum, self.nesterov, **prep)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class _Moments(Optimizer):
    """The arguments of the Adam family (Adam, AdamW, Adamax, Nadam)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _real(beta_1, "beta_1", 0.0, 1.0)
        self.beta_2 = _real(beta_2, "beta_2", 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", 0.0)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class Adam(_Moments):
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.amsgrad = bool(amsgrad)

    def _slot_names(self):
        return ("m", "v", "v_hat") if self.amsgrad else ("m", "v")

    def _update(self, param, grad, slots, lr, step, prep):
        _core.adam_update(param, grad, slots[0], slots[1], lr, self.beta_1, self.beta_2, self.epsilon,
                          step, v_hat=slots[2] if self.amsgrad else None, **prep)

    def get_config(self):
        return {**super().get_config(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, **kwargs):
        if weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay=weight_decay, **kwargs)


class RMSprop(Optimizer):
    _slots = ("velocity", "momentum", "average_gradient")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _real(rho, "rho", 0.0, 1.0)
        self.momentum = _real(momentum, "momentum", 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", 0.0)
        self.centered = bool(centered)

    def _update(self, param, grad, slots, lr, step, prep):
        _core.rmsprop_update(param, grad, slots[0], slots[1], slots[2], lr, self.rho, self.momentum,
                             self.epsilon, self.centered, **prep)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adagrad(Optimizer):
    _slots = ("accumulator",)

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = _real(initial_accumulator_value, "initial_accumulator_value", 0.0)
        self.epsilon = _real(epsilon, "epsilon", 0.0)

    def _slot_initial(self):
        return [self.initial_accumulator_value]

    def _update(self, param, grad, slots, lr, step, prep):
        _core.adagrad_update(param, grad, slots[0], lr, self.epsilon, **prep)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


class Adadelta(Optimizer):
    _slots = ("accumulated_grad", "accumulated_delta_var")

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho = _real(rho, "rho", 0.0, 1.0)
        self.epsilon = _real(epsilon, "epsilon", 0.0)

    def _update(self, param, grad, slots, lr, step, prep):
        _core.adadelta_update(param, grad, slots[0], slots[1], lr, self.rho, self.epsilon, **prep)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adamax(_Moments):
    _slots = ("momentum", "norm")

    def _update(self, param, grad, slots, lr, step, prep):
        _core.adamax_update(param, grad, slots[0], slots[1], lr, self.beta_1, self.beta_2, self.epsilon,
                            step, **prep)


class Nadam(_Moments):
    _slots = ("momentum", "velocity")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self._u_cache = (0, 1.0)  # (t, product of mu_1 .. mu_t)

    def _u_product(self, t):
        """prod over k = 1..t of beta_1 (1 - 0.5 * 0.96^k), kept step to step
        (recomputed after a jump, e.g. restored iterations)."""
        k, prod = self._u_cache if self._u_cache[0] <= t else (0, 1.0)
        while k < t:
            k += 1
            prod *= self.beta_1 * (1.0 - 0.5 * 0.96 ** k)
        self._u_cache = (t, prod)
        return prod

    def _update(self, param, grad, slots, lr, step, prep):
        _core.nadam_update(param, grad, slots[0], slots[1], lr, self.beta_1, self.beta_2, self.epsilon,
                           step, self._u_product(step), **prep)


class Ftrl(Optimizer):
    _slots = ("accumulator", "linear")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if _real(initial_accumulator_value, "initial_accumulator_value") < 0.0:
            raise ValueError("`initial_accumulator_value` needs to be positive or zero. Received: "
                             f"initial_accumulator_value={initial_accumulator_value}.")
        if _real(learning_rate_power, "learning_rate_power") > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        for arg, value in (("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength)):
            if _real(value, arg) < 0.0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: {arg}={value}.")
        self.learning_rate_power = float(learning_rate_power)
        self.initial_accumulator_value = float(initial_accumulator_value)
        self.l1_regularization_strength = float(l1_regularization_strength)
        self.l2_regularization_strength = float(l2_regularization_strength)
        self.l2_shrinkage_regularization_strength = float(l2_shrinkage_regularization_strength)
        self.beta = _real(beta, "beta", 0.0)

    def _slot_initial(self):
        return [self.initial_accumulator_value, 0.0]

    def _update(self, param, grad, slots, lr, step, prep):
        _core.ftrl_update(param, grad, slots[0], slots[1], lr, self.learning_rate_power,
                          self.l1_regularization_strength, self.l2_regularization_strength,
                          self.l2_shrinkage_regularization_strength, self.beta, **prep)

    def get_config(self):
        return {**super().get_config(), "learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}


class Lion(Optimizer):
    _slots = ("momentum",)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta_1 = _real(beta_1, "beta_1")
        self.beta_2 = _real(beta_2, "beta_2", 0.0, 1.0)
        if self.beta_1 <= 0 or self.beta_1 > 1:
            raise ValueError("Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                             f"degenerates to SignSGD. Received: beta_1={beta_1}.")

    def _update(self, param, grad, slots, lr, step, prep):
        _core.lion_update(param, grad, slots[0], lr, self.beta_1, self.beta_2, **prep)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}


_CLASSES = (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, Nadam, Ftrl, Lion)
_BY_NAME = {cls.__name__.lower(): cls for cls in _CLASSES}


def get(identifier):
    """An optimizer from an instance, a name ('adam', 'Adadelta', ...; any
    case) or a serialized dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer: {identifier!r}. Expected one of {', '.join(_BY_NAME)} "
                     "or an Optimizer object.")


def serialize(optimizer):
    return serialize_object(optimizer, "keras.optimizers")


def deserialize(config, custom_objects=None):
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Expected a dict with 'class_name' and 'config'. Received: {config!r}"[:300])
    classes = {**{cls.__name__: cls for cls in _CLASSES}, **_BY_NAME, **(custom_objects or {})}
    cls = classes.get(config["class_name"])
    if cls is None:
        raise ValueError(f"Unknown optimizer: {config['class_name']!r}. Expected one of "
                         f"{', '.join(cls.__name__ for cls in _CLASSES)}.")
    return cls.from_config(config.get("config", {}), custom_objects)
