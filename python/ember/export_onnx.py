"""ONNX export: ``model.export(path, format="onnx")`` or ``ember.export.to_onnx``.
Needs the ``onnx`` package (``pip install "ember[onnx]"``).

The exported graph takes the model's inputs as the model does (NHWC images,
float32, any batch size) and computes its outputs in inference mode
(dropout and noise layers are identities, BatchNormalization uses its
moving statistics). Each layer becomes a few standard ONNX operators;
convolutions and pools run in ONNX's NCHW layout between two transposes.
A layer without a converter raises ValueError naming it.
"""
import os

import numpy as np

from . import saving

DEFAULT_OPSET = 17


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError('ONNX export needs the onnx package: pip install "ember[onnx]"') from None
    return onnx, helper, numpy_helper


class _Builder:
    def __init__(self, model):
        self.onnx, self.helper, self.numpy_helper = _onnx()
        self.model = model
        self.nodes, self.initializers = [], []
        self._count = 0

    def name(self, base):
        self._count += 1
        return f"{base}_{self._count}"

    def const(self, value, base="const", dtype=np.float32):
        name = self.name(base)
        self.initializers.append(self.numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def ints(self, values, base="shape"):
        return self.const(np.asarray(values, np.int64), base, np.int64)

    def op(self, op_type, inputs, base=None, **attrs):
        out = self.name(base or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=self.name(op_type), **attrs))
        return out


# ---------------------------------------------------------------- activations
def _activation(b, x, name, where):
    if name in (None, "linear"):
        return x
    if name == "relu":
        return b.op("Relu", [x])
    if name == "sigmoid":
        return b.op("Sigmoid", [x])
    if name == "tanh":
        return b.op("Tanh", [x])
    if name == "softmax":
        return b.op("Softmax", [x], axis=-1)
    if name == "log_softmax":
        return b.op("LogSoftmax", [x], axis=-1)
    if name == "softplus":
        return b.op("Softplus", [x])
    if name == "exponential":
        return b.op("Exp", [x])
    if name in ("silu", "swish"):
        return b.op("Mul", [x, b.op("Sigmoid", [x])])
    if name == "relu6":
        return b.op("Clip", [x, b.const(0.0), b.const(6.0)])
    if name == "leaky_relu":
        return b.op("LeakyRelu", [x], alpha=0.2)
    if name == "elu":
        return b.op("Elu", [x], alpha=1.0)
    if name == "gelu":  # exact form: x * (1 + erf(x / sqrt 2)) / 2
        e = b.op("Erf", [b.op("Mul", [x, b.const(1 / np.sqrt(2.0))])])
        return b.op("Mul", [b.op("Mul", [x, b.op("Add", [e, b.const(1.0)])]), b.const(0.5)])
    raise ValueError(f"ONNX export: {where} uses the activation {name!r}, which has no ONNX "
                     "converter in ember")


# ---------------------------------------------------------------- convolution and pooling (N spatial axes)
def _to_channels_first(b, x, rank):
    return b.op("Transpose", [x], perm=[0, rank - 1] + list(range(1, rank - 1)))


def _to_channels_last(b, x, rank):
    return b.op("Transpose", [x], perm=[0] + list(range(2, rank)) + [1])


def _pads(layer, in_shape, kernel, strides, dilation):
    """ONNX pads for Keras's padding ('same' puts the odd pixel at the end)."""
    n = len(kernel)
    if getattr(layer, "padding", "valid") == "valid":
        return {"pads": [0] * (2 * n)}
    spatial = in_shape[1:1 + n]
    if any(d is None for d in spatial):
        return {"auto_pad": "SAME_UPPER"}
    begin, end = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilation):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        begin.append(total // 2)
        end.append(total - total // 2)
    return {"pads": begin + end}


def _shape_of(node_input):
    return tuple(node_input.shape)


def _conv(b, layer, x, in_shape):
    kernel = layer.kernel.numpy()  # (*k, in, out)
    n = kernel.ndim - 2
    rank = n + 2
    w = np.transpose(kernel, (n + 1, n) + tuple(range(n)))  # (out, in, *k)
    strides = list(getattr(layer, "strides", (1,) * n))
    dilation = list(getattr(layer, "dilation_rate", (1,) * n))
    attrs = dict(kernel_shape=list(kernel.shape[:n]), strides=strides, dilations=dilation,
                 **_pads(layer, in_shape, kernel.shape[:n], strides, dilation))
    inputs = [_to_channels_first(b, x, rank), b.const(w, "kernel")]
    if getattr(layer, "use_bias", True) and getattr(layer, "bias", None) is not None:
        inputs.append(b.const(layer.bias.numpy(), "bias"))
    y = _to_channels_last(b, b.op("Conv", inputs, **attrs), rank)
    return _activation(b, y, getattr(layer, "activation", None), f"layer '{layer.name}'")


def _depthwise(b, layer, x, in_shape, kernel=None, bias=True, activation=True):
    """Depthwise convolution: a grouped Conv, one group per input channel.
    Keras's kernel is (*k, in, multiplier); output channel c*m + j reads channel c."""
    if kernel is None:  # Keras's DepthwiseConv2D calls it `kernel`
        kernel = getattr(layer, "depthwise_kernel", None)
        kernel = (layer.kernel if kernel is None else kernel).numpy()
    n = kernel.ndim - 2
    cin, mult = kernel.shape[n], kernel.shape[n + 1]
    w = np.transpose(kernel, (n, n + 1) + tuple(range(n))).reshape((cin * mult, 1) + kernel.shape[:n])
    strides = list(layer.strides)
    dilation = list(getattr(layer, "dilation_rate", (1,) * n))
    attrs = dict(kernel_shape=list(kernel.shape[:n]), strides=strides, dilations=dilation, group=int(cin),
                 **_pads(layer, in_shape, kernel.shape[:n], strides, dilation))
    inputs = [_to_channels_first(b, x, n + 2), b.const(w, "depthwise_kernel")]
    if bias and getattr(layer, "use_bias", True) and getattr(layer, "bias", None) is not None:
        inputs.append(b.const(layer.bias.numpy(), "bias"))
    y = _to_channels_last(b, b.op("Conv", inputs, **attrs), n + 2)
    return _activation(b, y, getattr(layer, "activation", None), f"layer '{layer.name}'") if activation else y


def _separable(b, layer, x, in_shape):
    """Depthwise convolution, then a 1x1 convolution (a MatMul on channels)."""
    y = _depthwise(b, layer, x, in_shape, layer.depthwise_kernel.numpy(), bias=False, activation=False)
    pointwise = layer.pointwise_kernel.numpy()
    y = b.op("MatMul", [y, b.const(pointwise.reshape(pointwise.shape[-2:]), "pointwise_kernel")])
    if getattr(layer, "use_bias", True) and getattr(layer, "bias", None) is not None:
        y = b.op("Add", [y, b.const(layer.bias.numpy(), "bias")])
    return _activation(b, y, getattr(layer, "activation", None), f"layer '{layer.name}'")


def _conv_transpose(b, layer, x, in_shape):
    """Keras's kernel is (*k, filters, in); ONNX's ConvTranspose takes
    (in, filters, *k). The output lengths are Keras's: 'valid' gives
    i*s + max(k - s, 0), 'same' gives i*s (the odd pixel cropped at the end)."""
    kernel = layer.kernel.numpy()
    n = kernel.ndim - 2
    strides = list(layer.strides)
    if any(d != 1 for d in getattr(layer, "dilation_rate", (1,) * n)) or \
            getattr(layer, "output_padding", None) is not None:
        raise ValueError(f"ONNX export: layer '{layer.name}' ({type(layer).__name__}) with dilation or "
                         "output_padding has no converter")
    ks = list(kernel.shape[:n])
    begin, end, extra = [], [], []
    for k, st in zip(ks, strides):
        total = max(k - st, 0) if layer.padding == "same" else 0
        begin.append(total // 2)
        end.append(total - total // 2)
        extra.append(max(st - k, 0))
    w = np.transpose(kernel, (n + 1, n) + tuple(range(n)))
    inputs = [_to_channels_first(b, x, n + 2), b.const(w, "kernel")]
    if getattr(layer, "use_bias", True) and getattr(layer, "bias", None) is not None:
        inputs.append(b.const(layer.bias.numpy(), "bias"))
    y = b.op("ConvTranspose", inputs, kernel_shape=ks, strides=strides, pads=begin + end, output_padding=extra)
    y = _to_channels_last(b, y, n + 2)
    return _activation(b, y, getattr(layer, "activation", None), f"layer '{layer.name}'")


def _pool(op_type):
    def convert(b, layer, x, in_shape):
        pool = list(layer.pool_size)
        n = len(pool)
        strides = list(layer.strides)
        attrs = dict(kernel_shape=pool, strides=strides, **_pads(layer, in_shape, pool, strides, [1] * n))
        y = b.op(op_type, [_to_channels_first(b, x, n + 2)], **attrs)
        return _to_channels_last(b, y, n + 2)
    return convert


def _global_pool(op_type):
    def convert(b, layer, x, in_shape):
        axes = list(range(1, len(in_shape) - 1))
        keep = int(bool(getattr(layer, "keepdims", False)))
        if op_type == "ReduceMean":  # opset 17: axes as an attribute
            return b.op("ReduceMean", [x], axes=axes, keepdims=keep)
        return b.op("ReduceMax", [x], axes=axes, keepdims=keep)
    return convert


# ---------------------------------------------------------------- other layers
def _dense(b, layer, x, in_shape):
    y = b.op("MatMul", [x, b.const(layer.kernel.numpy(), "kernel")])
    if getattr(layer, "use_bias", True) and getattr(layer, "bias", None) is not None:
        y = b.op("Add", [y, b.const(layer.bias.numpy(), "bias")])
    return _activation(b, y, layer.activation, f"layer '{layer.name}'")


def _identity(b, layer, x, in_shape):
    return x


def _activation_layer(b, layer, x, in_shape):
    return _activation(b, x, layer.activation, f"layer '{layer.name}'")


def _relu(b, layer, x, in_shape):
    if layer.threshold != 0 or layer.negative_slope != 0:
        raise ValueError(f"ONNX export: layer '{layer.name}' (ReLU) with a threshold or negative slope "
                         "has no converter")
    y = b.op("Relu", [x])
    if layer.max_value is not None:
        y = b.op("Min", [y, b.const(float(layer.max_value))])
    return y


def _leaky_relu(b, layer, x, in_shape):
    return b.op("LeakyRelu", [x], alpha=float(layer.negative_slope))


def _elu(b, layer, x, in_shape):
    return b.op("Elu", [x], alpha=float(layer.alpha))


def _prelu(b, layer, x, in_shape):
    return b.op("PRelu", [x, b.const(layer.alpha.numpy(), "alpha")])


def _softmax(b, layer, x, in_shape):
    if not isinstance(layer.axis, int):
        raise ValueError(f"ONNX export: layer '{layer.name}' (Softmax) over several axes has no converter")
    return b.op("Softmax", [x], axis=layer.axis)


def _batch_norm(b, layer, x, in_shape):
    axis = layer.axis if isinstance(layer.axis, int) else layer.axis[0]
    rank = len(in_shape)
    axis = axis % rank
    scale = layer.gamma.numpy() / np.sqrt(layer.moving_variance.numpy() + layer.epsilon)
    shift = layer.beta.numpy() - layer.moving_mean.numpy() * scale
    bshape = [1] * (rank - 1)
    bshape[axis - 1] = -1
    return b.op("Add", [b.op("Mul", [x, b.const(scale.reshape(bshape), "bn_scale")]),
                        b.const(shift.reshape(bshape), "bn_shift")])


def _layer_norm(b, layer, x, in_shape):
    rank = len(in_shape)
    axes = sorted(a % rank for a in (layer.axis if isinstance(layer.axis, list) else [layer.axis]))
    if getattr(layer, "rms_scaling", False) or axes != list(range(axes[0], rank)):
        raise ValueError(f"ONNX export: layer '{layer.name}' (LayerNormalization) over axes {layer.axis} "
                         "has no converter (trailing axes only, no rms_scaling)")
    norm_shape = [in_shape[a] for a in axes]
    gamma = layer.gamma.numpy().reshape(norm_shape) if layer.gamma is not None else np.ones(norm_shape, np.float32)
    inputs = [x, b.const(gamma, "ln_gamma")]
    if layer.beta is not None:
        inputs.append(b.const(layer.beta.numpy().reshape(norm_shape), "ln_beta"))
    return b.op("LayerNormalization", inputs, axis=axes[0], epsilon=float(layer.epsilon))


def _flatten(b, layer, x, in_shape):
    return b.op("Flatten", [x], axis=1)


def _reshape(b, layer, x, in_shape):
    return b.op("Reshape", [x, b.ints([0] + list(layer.target_shape))])


def _permute(b, layer, x, in_shape):
    return b.op("Transpose", [x], perm=[0] + [int(d) for d in layer.dims])


def _repeat_vector(b, layer, x, in_shape):
    y = b.op("Unsqueeze", [x, b.ints([1])])
    return b.op("Tile", [y, b.ints([1, int(layer.n), 1])])


def _zero_padding(b, layer, x, in_shape):
    pads = [tuple(p) for p in layer.padding] if isinstance(layer.padding[0], (tuple, list)) \
        else [tuple(layer.padding)]
    begin = [0] + [p[0] for p in pads] + [0]
    end = [0] + [p[1] for p in pads] + [0]
    return b.op("Pad", [x, b.ints(begin + end)])


def _cropping(b, layer, x, in_shape):
    crops = [tuple(c) for c in layer.cropping] if isinstance(layer.cropping[0], (tuple, list)) \
        else [tuple(layer.cropping)]
    axes = list(range(1, 1 + len(crops)))
    starts = [c[0] for c in crops]
    ends = [in_shape[a] - c[1] for a, c in zip(axes, crops)]
    if any(e is None for e in ends):
        raise ValueError(f"ONNX export: layer '{layer.name}' needs known spatial sizes")
    return b.op("Slice", [x, b.ints(starts), b.ints(ends), b.ints(axes)])


def _upsampling(b, layer, x, in_shape):
    if getattr(layer, "interpolation", "nearest") != "nearest":
        raise ValueError(f"ONNX export: layer '{layer.name}' with interpolation "
                         f"{layer.interpolation!r} has no converter (nearest only)")
    size = list(layer.size) if isinstance(layer.size, (tuple, list)) else [int(layer.size)]
    scales = b.const(np.array([1.0] + [float(s) for s in size] + [1.0], np.float32), "scales")
    return b.op("Resize", [x, "", scales], mode="nearest", coordinate_transformation_mode="asymmetric",
                nearest_mode="floor")


def _embedding(b, layer, x, in_shape):
    return b.op("Gather", [b.const(layer.embeddings.numpy(), "embeddings"), b.op("Cast", [x], to=7)])


def _merge(op_type):
    def convert(b, layer, xs, in_shapes):
        out = xs[0]
        for other in xs[1:]:
            out = b.op(op_type, [out, other])
        return out
    return convert


def _average(b, layer, xs, in_shapes):
    return b.op("Mul", [_merge("Add")(b, layer, xs, in_shapes), b.const(1.0 / len(xs))])


def _subtract(b, layer, xs, in_shapes):
    return b.op("Sub", [xs[0], xs[1]])


def _concatenate(b, layer, xs, in_shapes):
    return b.op("Concat", list(xs), axis=int(layer.axis))


# ---------------------------------------------------------------- recurrent layers
# ONNX's LSTM/GRU/RNN take time-major input and per-direction weights W
# (G*units, in), R (G*units, units) and B (2*G*units: input then recurrent
# biases). Keras's LSTM gates are i, f, c, o and ONNX's i, o, f, c; GRU's
# z, r, h are the same in both, reset_after being linear_before_reset=1.
_ONNX_ACTIVATIONS = {"tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu"}


def _rnn_weights(layer):
    """(W, R, B) of one direction, in ONNX's layout."""
    u, kind = layer.units, type(layer).__name__
    kernel, recurrent = layer.kernel.numpy(), layer.recurrent_kernel.numpy()
    gates = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[kind]
    if layer.bias is None:
        bias = np.zeros(2 * gates * u, np.float32)
    else:
        bias = layer.bias.numpy().reshape(-1)
        if bias.size == gates * u:  # one bias: the input side's
            bias = np.concatenate([bias, np.zeros_like(bias)])
    if kind == "LSTM":
        order = np.concatenate([np.arange(u) + g * u for g in (0, 3, 1, 2)])  # i, o, f, c
        kernel, recurrent = kernel[:, order], recurrent[:, order]
        bias = np.concatenate([bias[:4 * u][order], bias[4 * u:][order]])
    return kernel.T, recurrent.T, bias


def _rnn_attrs(layer):
    kind = type(layer).__name__
    where = f"layer '{layer.name}' ({kind})"
    names = [layer.activation] if kind == "SimpleRNN" else [layer.recurrent_activation, layer.activation] + (
        [layer.activation] if kind == "LSTM" else [])
    if any(n not in _ONNX_ACTIVATIONS for n in names):
        raise ValueError(f"ONNX export: {where} with activations {names} has no converter "
                         f"(supported: {sorted(_ONNX_ACTIVATIONS)})")
    attrs = {"hidden_size": int(layer.units), "activations": [_ONNX_ACTIVATIONS[n] for n in names]}
    if kind == "GRU":
        attrs["linear_before_reset"] = int(layer.reset_after)
    return attrs


def _rnn_op(b, layers, x, direction):
    """The ONNX recurrent node over x (N, T, C); returns (Y (T, D, N, U), Y_h (D, N, U))."""
    first = layers[0]
    op_type = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "RNN"}[type(first).__name__]
    weights = [_rnn_weights(layer) for layer in layers]
    w, r, bias = (np.stack([wt[i] for wt in weights]) for i in range(3))
    attrs = _rnn_attrs(first)
    attrs["activations"] = attrs["activations"] * len(layers)
    xt = b.op("Transpose", [x], perm=[1, 0, 2])
    y, y_h = b.name("rnn_y"), b.name("rnn_h")
    outputs = [y, y_h] + ([b.name("rnn_c")] if op_type == "LSTM" else [])
    b.nodes.append(b.helper.make_node(op_type, [xt, b.const(w, "W"), b.const(r, "R"), b.const(bias, "B")],
                                      outputs, name=b.name(op_type), direction=direction, **attrs))
    return y, y_h


def _recurrent(b, layer, x, in_shape):
    where = f"layer '{layer.name}' ({type(layer).__name__})"
    if layer.return_state:
        raise ValueError(f"ONNX export: {where} with return_state has no converter")
    if layer.go_backwards and layer.return_sequences:
        raise ValueError(f"ONNX export: {where} with go_backwards and return_sequences has no converter")
    y, y_h = _rnn_op(b, [layer], x, "reverse" if layer.go_backwards else "forward")
    if layer.return_sequences:  # (T, 1, N, U) -> (N, T, U)
        return b.op("Transpose", [b.op("Squeeze", [y, b.ints([1])])], perm=[1, 0, 2])
    return b.op("Squeeze", [y_h, b.ints([0])])


def _bidirectional(b, layer, x, in_shape):
    fl, bl = layer.forward_layer, layer.backward_layer
    where = f"layer '{layer.name}' (Bidirectional)"
    if layer.return_state or type(fl) is not type(bl) or fl.units != bl.units or fl.go_backwards \
            or not bl.go_backwards or _rnn_attrs(fl) != _rnn_attrs(bl):
        raise ValueError(f"ONNX export: {where} with return_state or unlike forward and backward layers "
                         "has no converter")
    y, y_h = _rnn_op(b, [fl, bl], x, "bidirectional")
    if layer.return_sequences:  # (T, 2, N, U) -> (N, T, 2, U)
        both = b.op("Transpose", [y], perm=[2, 0, 1, 3])
        axis = 2
    else:  # (2, N, U) -> (N, 2, U)
        both = b.op("Transpose", [y_h], perm=[1, 0, 2])
        axis = 1
    mode = layer.merge_mode
    if mode == "concat":
        shape = [0, 0, -1] if layer.return_sequences else [0, -1]
        return b.op("Reshape", [both, b.ints(shape)])
    if mode in ("sum", "ave"):
        if mode == "sum":
            return b.op("ReduceSum", [both, b.ints([axis])], keepdims=0)
        return b.op("ReduceMean", [both], axes=[axis], keepdims=0)  # opset 17: axes as an attribute
    if mode == "mul":
        halves = [b.name("half"), b.name("half")]
        b.nodes.append(b.helper.make_node("Split", [both, b.ints([1, 1])], halves, name=b.name("Split"), axis=axis))
        return b.op("Squeeze", [b.op("Mul", halves), b.ints([axis])])
    raise ValueError(f"ONNX export: {where} with merge_mode={mode!r} has no converter")


_CONVERTERS = {
    "Dense": _dense, "Conv1D": _conv, "Conv2D": _conv, "Conv3D": _conv,
    "DepthwiseConv1D": _depthwise, "DepthwiseConv2D": _depthwise,
    "SeparableConv1D": _separable, "SeparableConv2D": _separable,
    "Conv1DTranspose": _conv_transpose, "Conv2DTranspose": _conv_transpose,
    "MaxPooling1D": _pool("MaxPool"), "MaxPooling2D": _pool("MaxPool"),
    "AveragePooling1D": _pool("AveragePool"), "AveragePooling2D": _pool("AveragePool"),
    "GlobalAveragePooling1D": _global_pool("ReduceMean"), "GlobalAveragePooling2D": _global_pool("ReduceMean"),
    "GlobalMaxPooling1D": _global_pool("ReduceMax"), "GlobalMaxPooling2D": _global_pool("ReduceMax"),
    "Flatten": _flatten, "Reshape": _reshape, "Permute": _permute, "RepeatVector": _repeat_vector,
    "Dropout": _identity, "SpatialDropout1D": _identity, "SpatialDropout2D": _identity,
    "GaussianNoise": _identity, "GaussianDropout": _identity, "AlphaDropout": _identity,
    "ActivityRegularization": _identity,
    "Activation": _activation_layer, "ReLU": _relu, "LeakyReLU": _leaky_relu, "ELU": _elu,
    "PReLU": _prelu, "Softmax": _softmax,
    "BatchNormalization": _batch_norm, "LayerNormalization": _layer_norm,
    "ZeroPadding1D": _zero_padding, "ZeroPadding2D": _zero_padding,
    "Cropping1D": _cropping, "Cropping2D": _cropping,
    "UpSampling2D": _upsampling, "Embedding": _embedding,
    "SimpleRNN": _recurrent, "LSTM": _recurrent, "GRU": _recurrent, "Bidirectional": _bidirectional,
}
_MERGES = {"Add": _merge("Add"), "Multiply": _merge("Mul"), "Maximum": _merge("Max"),
           "Minimum": _merge("Min"), "Average": _average, "Subtract": _subtract,
           "Concatenate": _concatenate}


def _convert_graph(b, model, inputs):
    """Adds the ONNX nodes of ``model`` (Sequential or functional) applied to
    the ONNX value names ``inputs``; returns the output value names."""
    from .engine import KerasTensor
    from .layers.base import flatten
    from .models.model import Model
    graph = model._graph
    if graph is None:
        raise ValueError(f"ONNX export: model '{model.name}' is subclassed; only Sequential and "
                         "functional models export")
    values = {id(t): name for t, name in zip(graph.inputs, inputs)}
    for node in graph.nodes:
        layer = node.layer
        kind = type(layer).__name__
        if node.kwargs and any(isinstance(v, KerasTensor) for v in flatten(node.kwargs)):
            raise ValueError(f"ONNX export: layer '{layer.name}' ({kind}) is called with tensor keyword "
                             "arguments, which have no converter")
        xs = [values[id(t)] for t in node.inputs]
        shapes = [tuple(t.shape) for t in node.inputs]
        if isinstance(layer, Model):
            outs = _convert_graph(b, layer, xs)
        elif kind in _MERGES:
            outs = [_MERGES[kind](b, layer, xs, shapes)]
        elif kind in _CONVERTERS and len(xs) == 1:
            outs = [_CONVERTERS[kind](b, layer, xs[0], shapes[0])]
        else:
            raise ValueError(f"ONNX export: layer '{layer.name}' ({kind}) has no ONNX converter in ember")
        if len(outs) != len(node.flat_outputs):
            raise ValueError(f"ONNX export: layer '{layer.name}' ({kind}) has several outputs, which "
                             "have no converter")
        for t, name in zip(node.flat_outputs, outs):
            values[id(t)] = name
    return [values[id(t)] for t in graph.outputs]


def _all_layers(model):
    from .models.model import Model
    for layer in model.layers:
        yield layer
        if isinstance(layer, Model) and layer._graph is not None:
            yield from _all_layers(layer)


def to_onnx(model, filepath, opset_version=DEFAULT_OPSET):
    """Writes ``model`` as an ONNX file (atomically) and returns the ONNX
    ModelProto. Inputs keep the model's layout (NHWC images) with a free
    batch dimension."""
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) or opset_version < 17:
        raise ValueError(f"`opset_version` must be an int >= 17. Received: {opset_version!r}")
    model._require_built("export")
    b = _Builder(model)
    onnx, helper = b.onnx, b.helper
    graph = model._graph
    if graph is None:
        raise ValueError(f"ONNX export: model '{model.name}' is subclassed; only Sequential and "
                         "functional models export")

    def value_info(t, name):
        dims = ["batch" if i == 0 else ("d%d" % i if d is None else int(d)) for i, d in enumerate(t.shape)]
        dtype = onnx.TensorProto.FLOAT if t.dtype in (None, "float32") else \
            helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype))
        return helper.make_tensor_value_info(name, dtype, dims)

    kinds = {type(layer).__name__: layer for layer in _all_layers(model)}
    masking = [l for l in kinds.values() if type(l).__name__ == "Masking" or getattr(l, "mask_zero", False)]
    if masking and any(k in kinds for k in ("SimpleRNN", "LSTM", "GRU", "Bidirectional")):
        raise ValueError(f"ONNX export: layer '{masking[0].name}' makes a mask for the recurrent layers; "
                         "masks have no ONNX converter in ember")
    in_names = [t.name or f"input_{i}" for i, t in enumerate(graph.inputs)]
    outs = _convert_graph(b, model, in_names)
    out_names, seen = [], set(in_names)
    for i, (t, name) in enumerate(zip(graph.outputs, outs)):
        final = (t.name or f"output_{i}")
        if final in seen:
            final = f"{final}_output"
        seen.add(final)
        b.nodes.append(helper.make_node("Identity", [name], [final], name=b.name("output")))
        out_names.append(final)
    proto_graph = helper.make_graph(
        b.nodes, model.name, [value_info(t, n) for t, n in zip(graph.inputs, in_names)],
        [value_info(t, n) for t, n in zip(graph.outputs, out_names)],
        initializer=b.initializers)
    proto = helper.make_model(proto_graph, opset_imports=[helper.make_opsetid("", opset_version)],
                              producer_name="ember")
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto)
    saving.atomic_write(os.fspath(filepath), [proto.SerializeToString()], prefix=".onnx-")
    return proto
