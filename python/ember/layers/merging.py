"""Merging layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot, and their function forms (``layers.add([a, b])``)."""
from functools import reduce

from .. import ops
from .base import Layer, _shape_str


def _broadcast_shapes(layer, shapes):
    out = []
    rank = max(len(s) for s in shapes)
    for dims in zip(*[(None,) * 0 + (1,) * (rank - len(s)) + tuple(s) for s in shapes]):
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) got inputs with "
                             f"incompatible shapes. Received: {', '.join(_shape_str(tuple(s)) for s in shapes)}")
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


class _Merge(Layer):
    _min_inputs = 2

    def _check_list(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not isinstance(input_shape[0], (list, tuple)):
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects a list of at least "
                             f"{self._min_inputs} inputs. Received: input shape {input_shape}")
        if len(input_shape) < self._min_inputs:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) expects at least "
                             f"{self._min_inputs} inputs. Received: {len(input_shape)} inputs")

    def build(self, input_shape):
        self._check_list(input_shape)
        self.compute_output_shape(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        return _broadcast_shapes(self, [tuple(s) for s in input_shape])

    def call(self, inputs):
        return reduce(self._merge, inputs)

    def compute_mask(self, inputs, previous_mask):
        """A step is kept where every masked input keeps it (Keras's rule)."""
        masks = [m for m in previous_mask or () if m is not None]
        return reduce(ops.logical_and, masks) if masks else None


class Add(_Merge):
    _merge = staticmethod(ops.add)


class Subtract(_Merge):
    _merge = staticmethod(ops.subtract)

    def _check_list(self, input_shape):
        super()._check_list(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"Layer '{self.name}' (Subtract) expects exactly 2 inputs. "
                             f"Received: {len(input_shape)} inputs")


class Multiply(_Merge):
    _merge = staticmethod(ops.multiply)


class Maximum(_Merge):
    _merge = staticmethod(ops.maximum)


class Minimum(_Merge):
    _merge = staticmethod(ops.minimum)


class Average(_Merge):
    def call(self, inputs):
        return ops.multiply(reduce(ops.add, inputs), 1.0 / len(inputs))


class Concatenate(_Merge):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        axis = self.axis % rank
        for s in shapes:
            if len(s) != rank or any(a is not None and b is not None and a != b
                                     for i, (a, b) in enumerate(zip(s, shapes[0])) if i != axis):
                raise ValueError(f"Layer '{self.name}' (Concatenate) needs inputs with matching shapes "
                                 f"except for the concatenation axis {self.axis}. Received: "
                                 f"{', '.join(_shape_str(x) for x in shapes)}")
        size = None if any(s[axis] is None for s in shapes) else sum(s[axis] for s in shapes)
        out = list(shapes[0])
        out[axis] = size
        return tuple(out)

    def call(self, inputs):
        return ops.concatenate(list(inputs), axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot product of two (batch, n) or (batch, m, n) tensors along ``axes``
    (batch axis excluded); ``normalize`` L2-normalises along them first."""

    def compute_mask(self, inputs, previous_mask):
        return None

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = (int(axes), int(axes)) if isinstance(axes, int) else tuple(int(a) for a in axes)
        self.normalize = bool(normalize)

    def _resolved(self, shapes):
        return [a % len(s) for a, s in zip(self.axes, shapes)]

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"Layer '{self.name}' (Dot) expects exactly 2 inputs. Received: {len(input_shape)}")
        s1, s2 = (tuple(s) for s in input_shape)
        a1, a2 = self._resolved([s1, s2])
        if s1[a1] is not None and s2[a2] is not None and s1[a1] != s2[a2]:
            raise ValueError(f"Layer '{self.name}' (Dot): dimension {s1[a1]} of axis {a1} of the first input "
                             f"does not match dimension {s2[a2]} of axis {a2} of the second. Received: "
                             f"{_shape_str(s1)} and {_shape_str(s2)}")
        out = s1[:a1] + s1[a1 + 1:] + s2[1:a2] + s2[a2 + 1:]
        return out if len(out) > 1 else out + (1,)

    def call(self, inputs):
        x1, x2 = inputs
        a1, a2 = self._resolved([x1.shape, x2.shape])
        if self.normalize:
            x1 = ops.divide(x1, ops.sqrt(ops.maximum(ops.sum(ops.square(x1), axis=a1, keepdims=True), 1e-12)))
            x2 = ops.divide(x2, ops.sqrt(ops.maximum(ops.sum(ops.square(x2), axis=a2, keepdims=True), 1e-12)))
        # Move the contracted axis last in x1 and right after the batch in x2.
        x1 = ops.moveaxis(x1, a1, -1)
        x2 = ops.moveaxis(x2, a2, 1)
        b = x1.shape[0]
        m = x1.shape[1:-1]
        n = x2.shape[2:]
        k = x1.shape[-1]
        y = ops.matmul(ops.reshape(x1, (b, -1, k)), ops.reshape(x2, (b, k, -1)))
        out = (b,) + tuple(m) + tuple(n)
        return ops.reshape(y, out if len(out) > 1 else (b, 1))

    def get_config(self):
        return {**super().get_config(), "axes": list(self.axes), "normalize": self.normalize}


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    return Dot(axes=axes, **kwargs)(inputs)
