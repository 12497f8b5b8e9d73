"""Embedding, Conv1D, the 1-D and global poolings, Conv2DTranspose /
Conv1DTranspose, DepthwiseConv2D and SeparableConv2D: forward values and
gradients (input and weights) against float64 references (PyTorch where it
is installed, NumPy otherwise), the kernels against their naive references,
Keras 3 itself where installed, symbolic shapes, configs, errors, training,
and the CUDA kernels (emulated in CI) against the CPU's."""
import os

import numpy as np
import pytest

import ember
from ember import _core, layers, models, ops, ops_conv

from conftest import assert_close, rand

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the references that need PyTorch skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (float64 references)")
gpu = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                         reason="no CUDA device, or ember built without CUDA")


def run(layer, x, dy=None, mask=None):
    """The layer's output and the gradients of <output, dy> with respect to
    the input and each trainable weight, from the engine."""
    xt = ops.convert_to_tensor(x)
    with ember.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt) if mask is None else layer(xt, mask=mask)
    if dy is None:
        dy = np.random.default_rng(7).standard_normal(y.shape).astype(np.float32)
    grads = tape.gradient(y, [xt] + layer.trainable_weights, output_gradients=[dy])
    return y.numpy(), dy, [None if g is None else g.numpy() for g in grads]


def torch_ref(fn, x, weights, dy):
    """fn(x, *weights) in float64 with PyTorch, and the gradients of
    <fn(...), dy> with respect to x and each weight (NumPy in, NumPy out)."""
    tx = torch.tensor(np.asarray(x, np.float64), requires_grad=True)
    tw = [torch.tensor(np.asarray(w, np.float64), requires_grad=True) for w in weights]
    y = fn(tx, *tw)
    (y * torch.tensor(np.asarray(dy, np.float64))).sum().backward()
    return y.detach().numpy(), [tx.grad.numpy()] + [w.grad.numpy() for w in tw]


def same_pads(size, k, stride, dilation):
    """TensorFlow's 'same' padding (before, after) along one axis."""
    ek = (k - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + ek - size, 0)
    return total // 2, total - total // 2


def check_all(got, want, rtol=1e-4, atol=1e-5):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_close(g, w, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- Embedding
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64, np.float32])
def test_embedding_looks_up_rows_of_any_integer_dtype(dtype, rng):
    layer = layers.Embedding(11, 4)
    ids = rng.integers(0, 11, (3, 5, 2)).astype(dtype)
    out, dy, (gx, gtable) = run(layer, ids)
    table = layer.embeddings.numpy()
    assert layer.embeddings.shape == (11, 4) and layer.embeddings.path.endswith("/embeddings")
    np.testing.assert_array_equal(out, table[ids.astype(np.int64)])
    want = np.zeros((11, 4))
    np.add.at(want, ids.astype(np.int64).reshape(-1), dy.reshape(-1, 4).astype(np.float64))
    assert_close(gtable, want)  # a scatter-add: repeated ids add up
    assert np.abs(table).max() <= 0.05 and table.std() > 0.01  # 'uniform': U(-0.05, 0.05)


def test_embedding_bad_inputs_name_the_problem():
    layer = layers.Embedding(10, 3, name="emb")
    with pytest.raises(ValueError, match=r"index 10 at position \(1, 2\)"):
        layer(np.array([[1, 2, 3], [4, 5, 10]]))
    with pytest.raises(ValueError, match=r"index -1 at position \(0, 0\)"):
        layer(np.array([[-1, 2]]))
    with pytest.raises(TypeError, match=r"integer token ids.*1\.5 at position \(0, 1\)"):
        layer(np.array([[1.0, 1.5]], np.float32))
    with pytest.raises(TypeError, match="bool"):
        layer(np.array([[True, False]]))
    with pytest.raises(ValueError, match="ragged"):
        layer([[1, 2, 3], [4]])
    for bad in ({"input_dim": 0, "output_dim": 3}, {"input_dim": 4, "output_dim": 2.5}):
        with pytest.raises(ValueError, match="Received"):
            layers.Embedding(**bad)
    # Whole-number floats are ids (fit passes batches as float32), as Keras casts them.
    np.testing.assert_array_equal(layer(np.array([[1.0, 9.0]], np.float32)).numpy(),
                                  layer(np.array([[1, 9]])).numpy())


def test_embedding_mask_and_config():
    layer = layers.Embedding(6, 2, mask_zero=True, embeddings_initializer="zeros")
    ids = np.array([[3, 0, 5], [0, 0, 1]])
    np.testing.assert_array_equal(layer.compute_mask(ops.convert_to_tensor(ids)).numpy(), ids != 0)
    assert layers.Embedding(6, 2).compute_mask(ops.convert_to_tensor(ids)) is None
    cfg = layer.get_config()
    assert cfg["input_dim"] == 6 and cfg["output_dim"] == 2 and cfg["mask_zero"] is True
    assert layers.Embedding.from_config(cfg).get_config() == cfg
    preset = np.arange(12, dtype=np.float32).reshape(6, 2)
    np.testing.assert_array_equal(layers.Embedding(6, 2, weights=[preset])(np.array([5])).numpy(), preset[[5]])


def test_embedding_in_a_functional_model_with_int_input():
    inputs = layers.Input(shape=(7,), dtype="int32")
    h = layers.Embedding(20, 5)(inputs)
    assert h.shape == (None, 7, 5)
    h = layers.Conv1D(4, 3, padding="causal", activation="relu")(h)
    assert h.shape == (None, 7, 4)
    out = layers.GlobalMaxPooling1D()(h)
    assert out.shape == (None, 4)
    model = models.Model(inputs, out)
    ids = np.random.default_rng(0).integers(0, 20, (3, 7)).astype(np.int32)
    assert model.predict(ids, verbose=0).shape == (3, 4)


# ---------------------------------------------------------------- Conv1D
CONV1D_CASES = [("valid", 1, 1, 1), ("same", 1, 1, 1), ("causal", 1, 1, 1), ("valid", 2, 1, 1),
                ("same", 3, 1, 1), ("causal", 2, 1, 1), ("same", 1, 2, 1), ("causal", 1, 3, 1),
                ("valid", 1, 1, 2), ("same", 2, 1, 3)]


@needs_torch
@pytest.mark.parametrize("padding,strides,dilation,groups", CONV1D_CASES)
@pytest.mark.parametrize("activation", [None, "relu"])
def test_conv1d_matches_torch(padding, strides, dilation, groups, activation, rng):
    x = rand(rng, 2, 13, 6)
    layer = layers.Conv1D(6, 3, strides=strides, padding=padding, dilation_rate=dilation, groups=groups,
                          activation=activation, bias_initializer="glorot_uniform")
    out, dy, grads = run(layer, x)
    assert layer.kernel.shape == (3, 6 // groups, 6)
    assert out.shape == layer.compute_output_shape((2, 13, 6))

    def fn(tx, k, b):
        t = tx.permute(0, 2, 1)
        ek = 2 * dilation + 1
        pads = {"valid": (0, 0), "causal": (ek - 1, 0), "same": same_pads(13, 3, strides, dilation)}[padding]
        y = F.conv1d(F.pad(t, pads), k.permute(2, 1, 0), b, stride=strides, dilation=dilation, groups=groups)
        y = y.permute(0, 2, 1)
        return torch.relu(y) if activation else y
    want_y, want_grads = torch_ref(fn, x, [w.numpy() for w in layer.weights], dy)
    assert_close(out, want_y)
    check_all(grads, want_grads)


def test_conv1d_without_torch_is_the_numpy_sum(rng):
    x = rand(rng, 2, 9, 3)
    layer = layers.Conv1D(4, 3, padding="causal", dilation_rate=2, use_bias=False)
    layer.build(x.shape)
    k = layer.kernel.numpy()
    xp = np.concatenate([np.zeros((2, 4, 3)), x], axis=1)
    want = sum(np.einsum("ntc,cf->ntf", xp[:, 2 * j:2 * j + 9], k[j]) for j in range(3))
    assert_close(layer(x).numpy(), want)


# ---------------------------------------------------------------- pooling
def _np_pool1d(x, p, s, padding, kind):
    n, t, c = x.shape
    if padding == "same":
        out = -(-t // s)
        before, _ = same_pads(t, p, s, 1)
    else:
        out, before = (t - p) // s + 1, 0
    y = np.zeros((n, out, c))
    for o in range(out):
        lo, hi = max(o * s - before, 0), min(o * s - before + p, t)
        win = x[:, lo:hi]
        y[:, o] = win.max(1) if kind == "max" else win.mean(1)
    return y


@pytest.mark.parametrize("cls,kind", [(layers.MaxPooling1D, "max"), (layers.AveragePooling1D, "avg")])
@pytest.mark.parametrize("pool,strides,padding", [(2, None, "valid"), (3, 2, "valid"), (3, 2, "same"),
                                                  (2, 1, "same"), (4, 3, "same")])
def test_pooling1d_matches_numpy(cls, kind, pool, strides, padding, rng):
    x = rand(rng, 3, 11, 4)
    layer = cls(pool, strides, padding)
    out, dy, (gx,) = run(layer, x)
    assert_close(out, _np_pool1d(x, pool, strides or pool, padding, kind))
    assert out.shape == layer.compute_output_shape((3, 11, 4))
    # The input gradient: finite differences of <pool(x), dy> (x has no ties).
    eps = 1e-3
    v = rand(rng, *x.shape)
    f = lambda z: float(np.sum(_np_pool1d(z, pool, strides or pool, padding, kind) * dy))  # noqa: E731
    numeric = (f(x + eps * v) - f(x - eps * v)) / (2 * eps)
    assert abs(numeric - float(np.sum(gx * v))) < 1e-2 * max(1.0, abs(numeric))


@pytest.mark.parametrize("keepdims", [False, True])
def test_global_poolings(keepdims, rng):
    x3, x4 = rand(rng, 3, 7, 5), rand(rng, 2, 4, 6, 3)
    for cls, x, axes, red in [(layers.GlobalMaxPooling1D, x3, (1,), np.max),
                              (layers.GlobalAveragePooling1D, x3, (1,), np.mean),
                              (layers.GlobalMaxPooling2D, x4, (1, 2), np.max)]:
        layer = cls(keepdims=keepdims)
        out, dy, (gx,) = run(layer, x)
        assert_close(out, red(x, axis=axes, keepdims=keepdims))
        assert out.shape == layer.compute_output_shape(x.shape)
        if red is np.max:  # the gradient reaches the (unique) maximum only
            hit = x == x.max(axis=axes, keepdims=True)
            want = np.where(hit, np.broadcast_to(dy.reshape(red(x, axis=axes, keepdims=True).shape), x.shape), 0)
        else:
            want = np.broadcast_to(dy.reshape(x.shape[0], 1, -1), x.shape) / x.shape[1]
        assert_close(gx, want)
        assert cls.from_config(layer.get_config()).get_config() == layer.get_config()


def test_global_average_pooling1d_honours_the_mask(rng):
    x = rand(rng, 3, 5, 2)
    mask = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 1, 0, 1, 0]], bool)
    out, dy, (gx,) = run(layers.GlobalAveragePooling1D(), x, mask=mask)
    m = mask[..., None].astype(np.float64)
    assert_close(out, (x * m).sum(1) / m.sum(1))
    assert_close(gx, m * dy[:, None, :] / m.sum(1, keepdims=True))
    with pytest.raises(ValueError, match="mask of shape"):
        layers.GlobalAveragePooling1D()(x, mask=mask[:, :4])


# ---------------------------------------------------------------- transposed convolutions
TRANSPOSE_CASES = [("valid", 1, None, 1), ("valid", 2, None, 1), ("same", 2, None, 1), ("same", 1, None, 1),
                   ("valid", 2, 1, 1), ("same", 2, 1, 1), ("same", 3, 2, 1), ("same", 3, 0, 1),
                   ("valid", 3, None, 1), ("same", 1, None, 2), ("valid", 1, None, 2)]


def _torch_transpose(tx, k, b, layer, size_hw):
    """Keras's transposed convolution in PyTorch: the full one (no padding),
    then the rows and columns of Keras's output (zeros past the end)."""
    t = tx.permute(0, 3, 1, 2)
    full = F.conv_transpose2d(t, k.permute(3, 2, 0, 1), stride=layer.strides, dilation=layer.dilation_rate)
    pads = []
    for axis, (size, kk, s, d) in enumerate(zip(size_hw, layer.kernel_size, layer.strides, layer.dilation_rate)):
        op = None if layer.output_padding is None else layer.output_padding[axis]
        out, before, _ = ops_conv.transpose_padding(size, kk, s, d, layer.padding, op)
        pads.append((-before, out + before - full.shape[2 + axis]))
    y = F.pad(full, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    return y.permute(0, 2, 3, 1) + b


@needs_torch
@pytest.mark.parametrize("padding,strides,output_padding,dilation", TRANSPOSE_CASES)
@pytest.mark.parametrize("kernel_size", [(3, 3), (2, 4)])
def test_conv2d_transpose_matches_torch(padding, strides, output_padding, dilation, kernel_size, rng):
    x = rand(rng, 2, 5, 4, 3)
    layer = layers.Conv2DTranspose(4, kernel_size, strides, padding, output_padding, dilation_rate=dilation,
                                   bias_initializer="glorot_uniform")
    out, dy, grads = run(layer, x)
    assert layer.kernel.shape == kernel_size + (4, 3)
    assert out.shape == layer.compute_output_shape((2, 5, 4, 3))
    want_y, want_grads = torch_ref(lambda tx, k, b: _torch_transpose(tx, k, b, layer, (5, 4)), x,
                                   [w.numpy() for w in layer.weights], dy)
    assert_close(out, want_y)
    check_all(grads, want_grads)


@needs_torch
@pytest.mark.parametrize("padding,strides,output_padding", [("valid", 2, None), ("same", 2, 1), ("same", 3, None)])
def test_conv1d_transpose_matches_torch(padding, strides, output_padding, rng):
    x = rand(rng, 2, 6, 3)
    layer = layers.Conv1DTranspose(5, 3, strides, padding, output_padding, activation="tanh")
    out, dy, grads = run(layer, x)
    assert layer.kernel.shape == (3, 5, 3)
    out_t, before, _ = ops_conv.transpose_padding(6, 3, strides, 1, padding, output_padding)
    assert out.shape == (2, out_t, 5) == layer.compute_output_shape((2, 6, 3))

    def fn(tx, k, b):
        full = F.conv_transpose1d(tx.permute(0, 2, 1), k.permute(2, 1, 0), stride=strides)
        y = F.pad(full, (-before, out_t + before - full.shape[2])).permute(0, 2, 1) + b
        return torch.tanh(y)
    want_y, want_grads = torch_ref(fn, x, [w.numpy() for w in layer.weights], dy)
    assert_close(out, want_y)
    check_all(grads, want_grads)


def test_transpose_output_size_is_keras_formula():
    # compute_conv_transpose_output_shape, written out for a few cases.
    cases = {("valid", 2, None, 3): 11, ("same", 2, None, 3): 10, ("same", 2, 1, 3): 10,
             ("same", 2, 0, 3): 9, ("valid", 1, None, 3): 7, ("valid", 3, None, 2): 15,
             ("valid", 3, 2, 2): 16, ("same", 3, 2, 4): 14}
    for (padding, stride, op, k), want in cases.items():
        assert ops_conv.transpose_padding(5, k, stride, 1, padding, op)[0] == want, (padding, stride, op, k)


# ---------------------------------------------------------------- depthwise and separable
def _torch_depthwise(t, k, layer, size_hw):
    c, m = k.shape[2], k.shape[3]
    pads = [(0, 0), (0, 0)]
    if layer.padding == "same":
        pads = [same_pads(s, kk, st, d) for s, kk, st, d in
                zip(size_hw, layer.kernel_size, layer.strides, layer.dilation_rate)]
    t = F.pad(t, (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
    w = k.permute(2, 3, 0, 1).reshape(c * m, 1, k.shape[0], k.shape[1])
    return F.conv2d(t, w, stride=layer.strides, dilation=layer.dilation_rate, groups=c)


DEPTHWISE_CASES = [((3, 3), 1, "valid", 1, 1), ((3, 3), 1, "same", 2, 1), ((3, 2), 2, "same", 1, 1),
                   ((2, 2), 2, "valid", 3, 1), ((3, 3), 1, "same", 1, 2), ((1, 1), 1, "valid", 2, 1)]


@needs_torch
@pytest.mark.parametrize("kernel_size,strides,padding,multiplier,dilation", DEPTHWISE_CASES)
def test_depthwise_conv2d_matches_torch(kernel_size, strides, padding, multiplier, dilation, rng):
    x = rand(rng, 2, 7, 6, 3)
    layer = layers.DepthwiseConv2D(kernel_size, strides, padding, multiplier, dilation_rate=dilation,
                                   bias_initializer="glorot_uniform", activation="relu")
    out, dy, grads = run(layer, x)
    assert layer.kernel.shape == kernel_size + (3, multiplier) and layer.bias.shape == (3 * multiplier,)
    assert out.shape == layer.compute_output_shape((2, 7, 6, 3))

    def fn(tx, k, b):
        y = _torch_depthwise(tx.permute(0, 3, 1, 2), k, layer, (7, 6)).permute(0, 2, 3, 1) + b
        return torch.relu(y)
    want_y, want_grads = torch_ref(fn, x, [w.numpy() for w in layer.weights], dy)
    assert_close(out, want_y)
    check_all(grads, want_grads)


@needs_torch
@pytest.mark.parametrize("kernel_size,strides,padding,multiplier,dilation", DEPTHWISE_CASES[:4])
def test_separable_conv2d_matches_torch(kernel_size, strides, padding, multiplier, dilation, rng):
    x = rand(rng, 2, 7, 6, 3)
    layer = layers.SeparableConv2D(5, kernel_size, strides, padding, depth_multiplier=multiplier,
                                   bias_initializer="glorot_uniform", activation="relu")
    out, dy, grads = run(layer, x)
    assert [w.name for w in layer.weights] == ["depthwise_kernel", "pointwise_kernel", "bias"]
    assert layer.pointwise_kernel.shape == (1, 1, 3 * multiplier, 5)
    assert out.shape == layer.compute_output_shape((2, 7, 6, 3))

    def fn(tx, dk, pk, b):
        h = _torch_depthwise(tx.permute(0, 3, 1, 2), dk, layer, (7, 6))
        return torch.relu(F.conv2d(h, pk.permute(3, 2, 0, 1)).permute(0, 2, 3, 1) + b)
    want_y, want_grads = torch_ref(fn, x, [w.numpy() for w in layer.weights], dy)
    assert_close(out, want_y)
    check_all(grads, want_grads)


# ---------------------------------------------------------------- kernels against the naive references
KERNEL_PADS = ["valid", "same", (1, 0, 2, 1), (0, -1, 1, 0), (2, 2, 0, 3)]


@pytest.mark.parametrize("padding", KERNEL_PADS)
@pytest.mark.parametrize("strides,dilation", [((1, 1), (1, 1)), ((2, 3), (1, 1)), ((1, 1), (2, 1))])
def test_kernels_match_naive_references(padding, strides, dilation, rng):
    x = rand(rng, 3, 9, 8, 4)
    k = rand(rng, 3, 2, 4, 2)
    b = rand(rng, 8)
    y = _core.depthwise_conv2d(x, k, b, strides, padding, dilation)
    assert_close(y, _core.depthwise_conv2d_naive(x, k, b, strides, padding, dilation))
    dy = rand(rng, *y.shape)
    check_all(_core.depthwise_conv2d_backward(dy, x, k, strides, padding, dilation),
              _core.depthwise_conv2d_backward_naive(dy, x, k, strides, padding, dilation))
    kc = rand(rng, 3, 2, 4, 5)
    yc = _core.conv2d(x, kc, None, strides, padding, dilation)
    assert_close(yc, _core.conv2d_naive(x, kc, None, strides, padding, dilation))
    dyc = rand(rng, *yc.shape)
    want_dx = _core.conv2d_backward_naive(dyc, x, kc, strides, padding, dilation, False, True)[0]
    assert_close(_core.conv2d_input_grad(dyc, kc, x.shape, strides, padding, dilation), want_dx)
    assert_close(_core.conv2d_input_grad_naive(dyc, kc, x.shape, strides, padding, dilation), want_dx)


def test_depthwise_kernel_gradient_is_thread_count_independent(rng, threads):
    x, k = rand(rng, 8, 40, 30, 6), rand(rng, 3, 3, 6, 2)
    dy = rand(rng, 8, 40, 30, 12)
    results = []
    for n in (1, 2, 3):
        ember.set_num_threads(n)
        results.append(_core.depthwise_conv2d_backward(dy, x, k, 1, "same", 1))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_kernel_argument_errors(rng):
    x, k = rand(rng, 1, 5, 5, 2), rand(rng, 3, 3, 2, 1)
    with pytest.raises(ValueError, match="does not fit"):
        _core.depthwise_conv2d(rand(rng, 1, 2, 5, 2), k)
    with pytest.raises(ValueError, match="channels"):
        _core.depthwise_conv2d(x, rand(rng, 3, 3, 3, 1))
    with pytest.raises(ValueError, match="padding"):
        _core.conv2d(x, k, None, 1, (-1, 0, 0, 0))
    with pytest.raises(TypeError, match="padding"):
        _core.conv2d(x, k, None, 1, (1, 0, 0))
    with pytest.raises(ValueError, match="dy"):
        _core.conv2d_input_grad(rand(rng, 1, 4, 4, 1), k, x.shape)
    with pytest.raises(ValueError, match="rank 4"):
        _core.conv2d_input_grad(rand(rng, 1, 3, 3, 1), k, (5, 5, 2))
    with pytest.raises(ValueError, match="non-negative"):
        _core.conv2d_input_grad(rand(rng, 1, 3, 3, 1), k, (1, -5, 5, 2))


# ---------------------------------------------------------------- layer errors, shapes, configs
def test_layer_argument_and_shape_errors(rng):
    with pytest.raises(ValueError, match="rank 3"):
        layers.Conv1D(2, 3)(rand(rng, 2, 5, 5, 1))
    with pytest.raises(ValueError, match="rank 3"):
        layers.MaxPooling1D()(rand(rng, 2, 5))
    with pytest.raises(ValueError, match="rank 4"):
        layers.Conv2DTranspose(2, 3)(rand(rng, 2, 5, 1))
    with pytest.raises(ValueError, match="rank 4"):
        layers.DepthwiseConv2D(3)(rand(rng, 2, 5, 1))
    with pytest.raises(ValueError, match="rank 4"):
        layers.GlobalMaxPooling2D()(rand(rng, 2, 5, 1))
    with pytest.raises(ValueError, match="does not fit"):
        layers.Conv1D(2, 5)(rand(rng, 2, 4, 1))
    with pytest.raises(ValueError, match="does not fit"):
        layers.MaxPooling1D(6)(rand(rng, 2, 4, 1))
    with pytest.raises(ValueError, match="does not fit"):
        layers.SeparableConv2D(2, 4)(rand(rng, 2, 3, 8, 1))
    with pytest.raises(ValueError, match="causal"):
        layers.Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2DTranspose(2, 3, padding="causal")
    with pytest.raises(ValueError, match="groups"):
        layers.Conv1D(5, 3, groups=2)
    with pytest.raises(ValueError, match="groups"):
        layers.Conv1D(4, 3, groups=2)(rand(rng, 1, 6, 3))
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="output_padding"):
        layers.Conv2DTranspose(2, 3, strides=2, output_padding=-1)
    with pytest.raises(ValueError, match="depth_multiplier"):
        layers.DepthwiseConv2D(3, depth_multiplier=0)
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv1D(2, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="channels_last"):
        layers.Conv1D(2, 3, data_format="channels_first")


ALL_LAYERS = [
    (lambda: layers.Conv1D(4, 3, strides=2, padding="causal", groups=2), (None, 11, 6)),
    (lambda: layers.MaxPooling1D(3, 2, "same"), (None, 11, 6)),
    (lambda: layers.AveragePooling1D(2), (None, 11, 6)),
    (lambda: layers.GlobalMaxPooling1D(keepdims=True), (None, 11, 6)),
    (lambda: layers.GlobalAveragePooling1D(), (None, 11, 6)),
    (lambda: layers.GlobalMaxPooling2D(), (None, 5, 4, 6)),
    (lambda: layers.Conv2DTranspose(3, 3, 2, "same", output_padding=1), (None, 5, 4, 6)),
    (lambda: layers.Conv1DTranspose(3, 3, 2, "valid"), (None, 11, 6)),
    (lambda: layers.DepthwiseConv2D(3, 2, "same", depth_multiplier=2), (None, 5, 4, 6)),
    (lambda: layers.SeparableConv2D(3, 3, padding="same", depth_multiplier=2), (None, 5, 4, 6)),
    (lambda: layers.Embedding(30, 4, mask_zero=True), (None, 9)),
]


@pytest.mark.parametrize("make,shape", ALL_LAYERS)
def test_symbolic_shapes_configs_and_save_load(make, shape, tmp_path, rng):
    layer = make()
    dtype = "int32" if isinstance(layer, layers.Embedding) else "float32"
    inputs = layers.Input(shape=shape[1:], dtype=dtype)
    symbolic = layer(inputs)
    model = models.Model(inputs, symbolic)
    data = rng.integers(0, 30, (2,) + shape[1:]) if dtype == "int32" else rand(rng, 2, *shape[1:])
    out = model.predict(data, verbose=0)
    assert symbolic.shape == (None,) + out.shape[1:]
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone.get_config() == {**cfg, "name": cfg["name"]}
    assert layers.get(type(layer).__name__) is type(layer)
    model.save(tmp_path / "m.ember")
    restored = models.load_model(tmp_path / "m.ember")
    np.testing.assert_array_equal(restored.predict(data, verbose=0), out)


# ---------------------------------------------------------------- training
def test_conv1d_text_classifier_trains():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 30, (512, 16))
    y = (x == 7).any(axis=1)  # does the key token occur?
    model = models.Sequential([layers.Input(shape=(16,), dtype="int32"), layers.Embedding(30, 8),
                               layers.Conv1D(16, 3, padding="same", activation="relu"),
                               layers.MaxPooling1D(2), layers.Conv1D(16, 3, activation="relu"),
                               layers.GlobalMaxPooling1D(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=ember.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y.astype(np.float32), batch_size=32, epochs=12, verbose=0)
    assert hist.history["loss"][-1] < 0.6 * hist.history["loss"][0]
    assert hist.history["accuracy"][-1] > 0.8


def test_conv_autoencoder_trains():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:12, 0:12]
    centers = rng.integers(3, 9, (128, 2))
    images = np.exp(-((yy - centers[:, :1, None]) ** 2 + (xx - centers[:, 1:, None]) ** 2) / 6.0)
    images = images[..., None].astype(np.float32)
    model = models.Sequential([
        layers.Input(shape=(12, 12, 1)),
        layers.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
        layers.SeparableConv2D(8, 3, padding="same", activation="relu"),
        layers.DepthwiseConv2D(3, padding="same", activation="relu"),
        layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
        layers.Conv2DTranspose(1, 3, padding="same", activation="sigmoid")])
    assert model.output_shape == (None, 12, 12, 1)
    model.compile(optimizer="adam", loss="mse")
    hist = model.fit(images, images, batch_size=16, epochs=10, verbose=0)
    assert hist.history["loss"][-1] < 0.5 * hist.history["loss"][0]


# ---------------------------------------------------------------- Keras 3 itself
@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")


KERAS_CASES = [
    ("Conv1D", (2, 12, 4), dict(filters=5, kernel_size=3, strides=2, padding="same")),
    ("Conv1D", (2, 12, 4), dict(filters=4, kernel_size=3, padding="causal", dilation_rate=2, groups=2)),
    ("MaxPooling1D", (2, 11, 4), dict(pool_size=3, strides=2, padding="same")),
    ("AveragePooling1D", (2, 11, 4), dict(pool_size=3, strides=2, padding="same")),
    ("GlobalMaxPooling1D", (2, 11, 4), dict(keepdims=True)),
    ("GlobalAveragePooling1D", (2, 11, 4), dict()),
    ("GlobalMaxPooling2D", (2, 5, 6, 3), dict()),
    ("Conv2DTranspose", (2, 5, 4, 3), dict(filters=4, kernel_size=3, strides=2, padding="same")),
    ("Conv2DTranspose", (2, 5, 4, 3), dict(filters=4, kernel_size=3, strides=2, padding="same", output_padding=0)),
    ("Conv2DTranspose", (2, 5, 4, 3), dict(filters=4, kernel_size=(4, 3), strides=3, padding="valid",
                                           output_padding=(2, 1))),
    ("Conv2DTranspose", (2, 5, 4, 3), dict(filters=2, kernel_size=5, strides=(3, 2), padding="same",
                                           output_padding=(1, 1))),
    ("Conv1DTranspose", (2, 6, 3), dict(filters=4, kernel_size=4, strides=2, padding="same", output_padding=1)),
    ("DepthwiseConv2D", (2, 7, 6, 3), dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2)),
    ("SeparableConv2D", (2, 7, 6, 3), dict(filters=4, kernel_size=3, padding="same", depth_multiplier=2)),
]


@pytest.mark.parametrize("name,shape,kwargs", KERAS_CASES)
def test_matches_keras(keras, name, shape, kwargs, rng):
    x = rand(rng, *shape)
    ours = getattr(layers, name)(**kwargs)
    theirs = getattr(keras.layers, name)(**kwargs)
    out = ours(x).numpy()
    theirs.build(shape)
    assert [tuple(w.shape) for w in theirs.weights] == [w.shape for w in ours.weights]
    theirs.set_weights([w + 0.1 if w.ndim == 1 else w for w in ours.get_weights()])
    ours.set_weights(theirs.get_weights())
    want = np.asarray(theirs(x))
    assert tuple(theirs.compute_output_shape(shape)) == ours.compute_output_shape(shape)
    assert_close(ours(x).numpy(), want)
    assert out.shape == want.shape


def test_embedding_and_masked_average_match_keras(keras, rng):
    ids = rng.integers(0, 9, (3, 6))
    ids[:, -2:] = 0
    ours, theirs = layers.Embedding(9, 4, mask_zero=True), keras.layers.Embedding(9, 4, mask_zero=True)
    theirs.build((None, 6))
    ours.build((None, 6))
    ours.set_weights(theirs.get_weights())
    assert_close(ours(ids).numpy(), np.asarray(theirs(ids)))
    mask = ours.compute_mask(ops.convert_to_tensor(ids))
    np.testing.assert_array_equal(mask.numpy(), np.asarray(theirs.compute_mask(ids)))
    emb = ours(ids).numpy()
    got = layers.GlobalAveragePooling1D()(emb, mask=mask).numpy()
    assert_close(got, np.asarray(keras.layers.GlobalAveragePooling1D()(emb, mask=ids != 0)))
    assert set(theirs.get_config()) >= set(ours.get_config()) - {"input_shape"}


# ---------------------------------------------------------------- CUDA (emulated in CI)
def dev(a):
    return _core.to_device(np.ascontiguousarray(a, np.float32))


@gpu
@pytest.mark.gpu
@pytest.mark.parametrize("padding,strides,dilation", [("valid", (1, 1), (1, 1)), ("same", (2, 2), (1, 1)),
                                                      ((1, 0, 2, 1), (1, 1), (2, 1)), ((0, -1, 1, 0), (2, 1), (1, 1))])
@pytest.mark.parametrize("multiplier", [1, 3])
def test_cuda_kernels_match_the_cpu(padding, strides, dilation, multiplier, rng):
    x, k, b = rand(rng, 2, 7, 6, 3), rand(rng, 3, 2, 3, multiplier), rand(rng, 3 * multiplier)
    y = _core.depthwise_conv2d(x, k, b, strides, padding, dilation)
    yd = _core.depthwise_conv2d(dev(x), dev(k), dev(b), strides, padding, dilation)
    assert isinstance(yd, ember.cuda.DeviceArray)
    assert_close(yd.numpy(), y, rtol=1e-5, atol=1e-6)
    dy = rand(rng, *y.shape)
    for need_dx in (True, False):
        want = _core.depthwise_conv2d_backward(dy, x, k, strides, padding, dilation, True, need_dx)
        got = _core.depthwise_conv2d_backward(dev(dy), dev(x), dev(k), strides, padding, dilation, True, need_dx)
        for g, w in zip(got, want):
            assert (g is None) == (w is None)
            if w is not None:
                assert_close(g.numpy(), w, rtol=1e-5, atol=1e-6)
    kc = rand(rng, 3, 2, 3, 4)
    yc = _core.conv2d(x, kc, None, strides, padding, dilation)
    assert_close(_core.conv2d(dev(x), dev(kc), None, strides, padding, dilation).numpy(), yc, rtol=1e-5)
    dyc = rand(rng, *yc.shape)
    assert_close(_core.conv2d_input_grad(dev(dyc), dev(kc), x.shape, strides, padding, dilation).numpy(),
                 _core.conv2d_input_grad(dyc, kc, x.shape, strides, padding, dilation), rtol=1e-5)


@gpu
@pytest.mark.gpu
def test_new_layers_train_on_the_device_as_on_the_cpu():
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 12, (32, 10))
    y = ((ids == 3).any(axis=1)).astype(np.float32)
    images = rng.random((32, 6, 6, 2), dtype=np.float32)

    def text():
        return models.Sequential([layers.Input(shape=(10,), dtype="int32"), layers.Embedding(12, 4),
                                  layers.Conv1D(6, 3, padding="causal", activation="relu"),
                                  layers.AveragePooling1D(2), layers.Conv1D(6, 2, groups=2),
                                  layers.GlobalAveragePooling1D(), layers.Dense(1, activation="sigmoid")])

    def image():
        return models.Sequential([layers.Input(shape=(6, 6, 2)),
                                  layers.SeparableConv2D(4, 3, padding="same", activation="relu"),
                                  layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2),
                                  layers.Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1),
                                  layers.GlobalMaxPooling2D(),
                                  layers.Dense(1)])
    for make, x in ((text, ids), (image, images)):
        results = {}
        for device in ("cpu", "cuda"):
            ember.set_random_seed(4)
            model = make()
            model.compile(optimizer="adam", loss="mse")
            model.to(device)
            hist = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
            results[device] = (hist.history["loss"], model.get_weights())
        np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-4)
        for a, b in zip(results["cuda"][1], results["cpu"][1]):
            assert_close(a, b, rtol=1e-4, atol=1e-5)
