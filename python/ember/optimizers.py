"""Optimizers with Keras's argument names and defaults. Updates run in place
in C++, one call per weight."""
import numpy as np

from . import _core, constraints, cuda
from .engine import Tensor, Variable


class Optimizer:
    _slots = ()

    def __init__(self, learning_rate=0.001, name=None, weight_decay=None, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments: {sorted(kwargs)}")
        self.learning_rate = learning_rate
        self.name = name or type(self).__name__.lower()
        self.weight_decay = weight_decay
        self.iterations = 0
        self._state = {}

    @property
    def learning_rate(self):
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        value = float(value)
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"`learning_rate` must be a non-negative number. Received: {value}")
        self._learning_rate = value

    def _slots_for(self, var):
        state = self._state.get(id(var))
        if state is None:
            state = [cuda.zeros_like(var.value) for _ in self._slots]
            self._state[id(var)] = state
        return state

    def apply_gradients(self, grads_and_vars):
        """Updates each variable in place from its gradient (a tensor or an
        array on the variable's device); pairs whose gradient is None are
        skipped, as for a weight the loss does not depend on."""
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        self.iterations += 1
        for grad, var in pairs:
            if not isinstance(var, Variable):
                raise ValueError(f"apply_gradients expects (gradient, Variable) pairs. Received: {var!r}"[:300])
            if isinstance(grad, Tensor):
                grad = grad.value
            if tuple(grad.shape) != var.shape:
                raise ValueError(f"Gradient for '{var.path}' has shape {tuple(grad.shape)}; expected {var.shape}")
            self._update(var.value, grad, self._slots_for(var))
            var._version += 1
        constraints.apply_constraints(v for _, v in pairs)  # kernel_constraint & co, as Keras 3

    def apply(self, grads, trainable_variables=None):
        """Keras 3's form: ``apply(grads, variables)``."""
        self.apply_gradients(zip(grads, trainable_variables))

    def get_state(self, variables):
        """Host copies of each variable's slot arrays, in order, for saving."""
        return [np.array(s, dtype=np.float32) for v in variables for s in self._slots_for(v)]

    def set_state(self, variables, arrays, iterations):
        arrays = list(arrays)
        expected = len(variables) * len(self._slots)
        if len(arrays) != expected:
            raise ValueError(f"Optimizer state holds {len(arrays)} arrays; this model needs {expected}")
        for i, v in enumerate(variables):
            slots = arrays[i * len(self._slots):(i + 1) * len(self._slots)]
            for s in slots:
                if s.shape != v.shape:
                    raise ValueError(f"Optimizer state for '{v.name}' has shape {s.shape}, expected {v.shape}")
            self._state[id(v)] = [cuda.place(np.ascontiguousarray(s, dtype=np.float32), v.device)
                                  for s in slots]
        self.iterations = int(iterations)

    def _to(self, device):
        """Moves the slot arrays to device (with the model's weights)."""
        for key, slots in self._state.items():
            self._state[key] = [cuda.place(s, device) for s in slots]

    def get_config(self):
        return {"learning_rate": self.learning_rate, "name": self.name}


class SGD(Optimizer):
    _slots = ("velocity",)

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= momentum <= 1:
            raise ValueError(f"`momentum` must be in [0, 1]. Received: {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)

    def _update(self, param, grad, slots):
        _core.sgd_update(param, grad, slots[0], self.learning_rate, self.momentum, self.nesterov)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    _slots = ("m", "v")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        if amsgrad:
            raise ValueError("amsgrad is not supported by ember's Adam.")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _decay(self):
        return 0.0

    def _update(self, param, grad, slots):
        _core.adam_update(param, grad, slots[0], slots[1], self.learning_rate, self.beta_1,
                          self.beta_2, self.epsilon, self.iterations, self._decay())

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class AdamW(Adam):
    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **kwargs)
        self.weight_decay = float(weight_decay)

    def _decay(self):
        return self.weight_decay

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    _slots = ("velocity", "momentum", "average_gradient")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)

    def _update(self, param, grad, slots):
        _core.rmsprop_update(param, grad, slots[0], slots[1], slots[2], self.learning_rate,
                             self.rho, self.momentum, self.epsilon, self.centered)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop}


def get(identifier):
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Unknown optimizer: {identifier!r}. Expected one of {', '.join(_BY_NAME)} "
                     "or an Optimizer object.")


def serialize(opt):
    return {"class_name": type(opt).__name__, "config": opt.get_config()}


def deserialize(spec):
    classes = {cls.__name__: cls for cls in _BY_NAME.values()}
    return classes[spec["class_name"]](**spec["config"])
