"""The tape: gradients of every ember.ops function against float64 central
differences, broadcasting, reuse of a value, GradientTape's semantics, and
Python operators on tensors."""
import numpy as np
import pytest

import ember
from ember import ops

from conftest import rand


def numeric_grad(f, xs, i, h=1e-3):
    """Central differences (float64) of sum(f(*xs) * w) along every entry of xs[i]."""
    x = xs[i].astype(np.float64)
    g = np.zeros_like(x)
    flat = x.reshape(-1)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + h
        fp = f(*[x if k == i else xs[k] for k in range(len(xs))])
        flat[j] = old - h
        fm = f(*[x if k == i else xs[k] for k in range(len(xs))])
        flat[j] = old
        g.reshape(-1)[j] = (fp - fm) / (2 * h)
    return g


def check_grads(op, *arrays, rtol=2e-2, atol=2e-3, h=1e-3):
    """Engine gradients of sum(op(...) * w) for a fixed random w against
    central differences computed on float64 copies of the inputs."""
    rng = np.random.default_rng(7)
    ts = [ops.convert_to_tensor(a) for a in arrays]
    with ember.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        y = op(*ts)
    w = rng.standard_normal(y.shape).astype(np.float32)
    grads = tape.gradient(y, ts, output_gradients=[w])

    def f(*xs):
        out = op(*[ops.convert_to_tensor(np.asarray(x, np.float32)) for x in xs])
        return float(np.sum(np.asarray(out, np.float64) * w))

    for i, g in enumerate(grads):
        assert g is not None, f"no gradient for input {i}"
        num = numeric_grad(f, [np.asarray(a, np.float64) for a in arrays], i, h)
        np.testing.assert_allclose(g.numpy(), num, rtol=rtol, atol=atol * max(1.0, np.abs(num).max()))


@pytest.fixture
def r():
    return np.random.default_rng(3)


BINARY = [ops.add, ops.subtract, ops.multiply, ops.divide, ops.maximum, ops.minimum]


@pytest.mark.parametrize("op", BINARY, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((2, 3, 4), (4,)), ((3, 1), (1, 5)), ((), (2, 2))])
def test_binary_gradients_with_broadcasting(op, shapes, r):
    a = rand(r, *shapes[0])
    b = rand(r, *shapes[1])
    if op is ops.divide:
        b = np.sign(b) * (np.abs(b) + 0.5)
    if op in (ops.maximum, ops.minimum):
        b = b + 0.05  # keep ties away from the kink
    check_grads(op, a, b)
    np.testing.assert_allclose(np.asarray(op(a, b)), getattr(np, op.__name__)(a, b), rtol=1e-6)


UNARY = {
    "negative": (ops.negative, None), "abs": (ops.abs, "nonzero"), "square": (ops.square, None),
    "sqrt": (ops.sqrt, "positive"), "exp": (ops.exp, None), "log": (ops.log, "positive"),
    "sin": (ops.sin, None), "cos": (ops.cos, None), "tanh": (ops.tanh, None),
    "sigmoid": (ops.sigmoid, None), "relu": (ops.relu, "nonzero"), "softplus": (ops.softplus, None),
    "reciprocal": (ops.reciprocal, "positive"), "rsqrt": (ops.rsqrt, "positive"),
    "log1p": (ops.log1p, "positive"), "expm1": (ops.expm1, None), "silu": (ops.silu, None),
    "elu": (ops.elu, "nonzero"), "gelu": (ops.gelu, None),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients(name, r):
    op, domain = UNARY[name]
    x = rand(r, 3, 5)
    if domain == "positive":
        x = np.abs(x) + 0.5
    elif domain == "nonzero":
        x = np.sign(x) * (np.abs(x) + 0.1)
    check_grads(op, x)


@pytest.mark.parametrize("name,axis,keepdims", [
    ("sum", None, False), ("sum", 1, False), ("sum", (0, 2), True), ("mean", -1, False),
    ("mean", None, True), ("max", 1, False), ("min", (0, 1), False), ("prod", 2, False),
    ("var", 1, False), ("std", 0, False), ("logsumexp", -1, False)])
def test_reduction_gradients(name, axis, keepdims, r):
    x = rand(r, 3, 4, 2) + np.arange(24, dtype=np.float32).reshape(3, 4, 2) * 0.01
    op = getattr(ops, name)
    if name == "logsumexp":
        check_grads(lambda t: op(t, axis=axis), x)
        ref = np.log(np.sum(np.exp(x.astype(np.float64)), axis=axis))
    else:
        check_grads(lambda t: op(t, axis=axis, keepdims=keepdims), x)
        ref = getattr(np, name)(x.astype(np.float64), axis=axis, keepdims=keepdims)
        if name == "std":
            pass
    np.testing.assert_allclose(np.asarray(op(x, axis=axis) if name == "logsumexp"
                                          else op(x, axis=axis, keepdims=keepdims)), ref, rtol=1e-5, atol=1e-6)


SHAPE_OPS = {
    "reshape": lambda t: ops.reshape(t, (4, 6)),
    "transpose": lambda t: ops.transpose(t, (2, 0, 1)),
    "expand_squeeze": lambda t: ops.squeeze(ops.expand_dims(t, 1), 1),
    "concatenate": lambda t: ops.concatenate([t, ops.multiply(t, 2.0)], axis=1),
    "stack": lambda t: ops.stack([t, ops.square(t)], axis=-1),
    "split": lambda t: ops.multiply(ops.split(t, 2, axis=2)[0], ops.split(t, 2, axis=2)[1]),
    "take": lambda t: ops.take(t, np.array([2, 0, 2, 1]), axis=1),
    "index": lambda t: t[1:, ::2, -1],
    "index_int": lambda t: t[0, 1] * t[-1],
    "broadcast_to": lambda t: ops.broadcast_to(ops.sum(t, axis=0, keepdims=True), (5, 4, 2)),
    "tile": lambda t: ops.tile(t, (1, 2, 1)),
    "where": lambda t: ops.where(ops.greater(t, 0.0), t, ops.multiply(t, 0.1)),
    "clip": lambda t: ops.clip(t, -0.5, 0.5),
    "matmul": lambda t: ops.matmul(ops.reshape(t, (4, 6)), ops.transpose(ops.reshape(t, (4, 6)))),
    "batch_matmul": lambda t: ops.matmul(t, ops.transpose(t, (0, 2, 1))),
    "softmax": lambda t: ops.softmax(t, axis=1),
    "log_softmax": lambda t: ops.log_softmax(t),
    "power": lambda t: ops.power(ops.abs(t) + 0.5, 1.7),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_and_composite_gradients(name, r):
    x = rand(r, 3, 4, 2)
    x = np.sign(x) * (np.abs(x) + 0.05)  # no values at kinks
    check_grads(SHAPE_OPS[name], x)


def test_shape_ops_match_numpy(r):
    x = rand(r, 3, 4, 2)
    np.testing.assert_array_equal(np.asarray(x_t := ops.convert_to_tensor(x))[1:, ::2, -1], x[1:, ::2, -1])
    np.testing.assert_array_equal(np.asarray(x_t[None, ..., 0]), x[None, ..., 0])
    np.testing.assert_array_equal(np.asarray(x_t[np.array([2, 0])]), x[np.array([2, 0])])
    np.testing.assert_array_equal(np.asarray(ops.transpose(x, (1, 2, 0))), np.transpose(x, (1, 2, 0)))
    np.testing.assert_array_equal(np.asarray(ops.take(x, [1, 1], axis=2)), np.take(x, [1, 1], axis=2))
    np.testing.assert_array_equal(np.asarray(ops.concatenate([x, x], axis=-1)), np.concatenate([x, x], -1))
    parts = ops.split(x, [1, 3], axis=1)
    for p, q in zip(parts, np.split(x, [1, 3], axis=1)):
        np.testing.assert_array_equal(np.asarray(p), q)
    assert ops.argmax(x, axis=1).dtype == "int32"
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.argmax(x, axis=1)), np.argmax(x, axis=1))
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.one_hot(np.array([0, 2, 1]), 3)), np.eye(3)[[0, 2, 1]])
    assert ops.convert_to_numpy(ops.greater(x, 0)).dtype == bool
    assert ops.shape(x_t) == (3, 4, 2)
    np.testing.assert_array_equal(ops.convert_to_numpy(ops.cast(ops.convert_to_tensor([1.7, -1.7]), "int32")),
                                  np.array([1, -1]))


def test_python_operators(r):
    a, b = rand(r, 2, 3), rand(r, 3)
    ta, tb = ops.convert_to_tensor(a), ops.convert_to_tensor(b)
    np.testing.assert_allclose(np.asarray(ta + tb), a + b, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(2.0 - ta), 2.0 - a, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ta * 3), a * 3, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(1.0 / (ta * ta + 1)), 1 / (a * a + 1), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ta @ ta.T), a @ a.T, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(-ta ** 2), -a ** 2, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(ta > tb), a > b)
    np.testing.assert_allclose(np.asarray(a + tb), a + b, rtol=1e-6)  # ndarray + Tensor


def test_value_used_twice_gets_the_sum_of_its_gradients():
    x = ops.convert_to_tensor(np.array([1.0, 2.0, 3.0], np.float32))
    with ember.GradientTape() as tape:
        tape.watch(x)
        y = ops.sum(x * x + ops.exp(x) + x)
    g = tape.gradient(y, x).numpy()
    np.testing.assert_allclose(g, 2 * x.numpy() + np.exp(x.numpy()) + 1, rtol=1e-6)


def test_gradient_tape_semantics():
    v = ember.Variable(np.array([2.0, -1.0], np.float32), name="v")
    frozen = ember.Variable(np.ones(2, np.float32), trainable=False)
    c = ops.convert_to_tensor(np.array([3.0, 4.0], np.float32))
    with ember.GradientTape() as tape:
        y = ops.sum(v * frozen * c)
    gv, gf, gc = tape.gradient(y, [v, frozen, c])
    np.testing.assert_allclose(gv.numpy(), [3.0, 4.0])
    assert gf is None and gc is None  # not watched
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, [v])
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(c)
        y1 = ops.sum(v * c)
        y2 = ops.sum(ops.square(c))
    np.testing.assert_allclose(tape.gradient(y1, c).numpy(), [2.0, -1.0])
    np.testing.assert_allclose(tape.gradient(y2, c).numpy(), [6.0, 8.0])
    with ember.GradientTape(watch_accessed_variables=False) as tape:
        y = ops.sum(v * c)
    assert tape.gradient(y, v) is None
    with pytest.raises(ValueError, match="variables or watched tensors"):
        with ember.GradientTape() as tape:
            y = ops.sum(v * c)
        tape.gradient(y, [np.ones(2)])
    # Outside a tape nothing is recorded.
    y = v * c
    assert y._node is None


def test_custom_training_loop_with_apply_gradients(r):
    w = ember.Variable(np.zeros((3, 1), np.float32), name="w")
    x = rand(r, 64, 3)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    opt = ember.optimizers.SGD(learning_rate=0.1)
    for _ in range(200):
        with ember.GradientTape() as tape:
            loss = ops.mean(ops.square(ops.matmul(x, w) - y))
        grads = tape.gradient(loss, [w])
        opt.apply_gradients(zip(grads, [w]))
    np.testing.assert_allclose(w.numpy().ravel(), [1.0, -2.0, 0.5], atol=1e-3)


def test_errors_say_what_was_received():
    with pytest.raises(ValueError, match="Received"):
        ops.add(np.ones((2, 3)), np.ones((4,)))
    with pytest.raises(ValueError, match="Received"):
        ops.sum(np.ones((2, 3)), axis=2)
    with pytest.raises(ValueError, match="Cannot reshape"):
        ops.reshape(np.ones((2, 3)), (4, 2))
    with pytest.raises(ValueError, match="matmul"):
        ops.matmul(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="permutation"):
        ops.transpose(np.ones((2, 3)), (0, 0))
    with pytest.raises(TypeError, match="Received"):
        ops.convert_to_tensor(np.array(["a"]))
    with pytest.raises(ValueError, match="out of bounds|Received"):
        ops.take(np.ones((2, 3)), [5], axis=1)


def test_each_tape_sees_only_what_it_recorded():
    W = ember.Variable(np.array([1.0, 2.0], np.float32))
    v = ember.Variable(np.array([3.0, 3.0], np.float32))
    with ember.GradientTape():
        h = W * 5.0
    with ember.GradientTape() as t2:
        loss = ops.sum(h * v)
    gw, gv = t2.gradient(loss, [W, v])
    assert gw is None  # h was recorded by another tape: a constant here, as in TensorFlow
    np.testing.assert_allclose(gv.numpy(), [5.0, 10.0])
    x = ops.convert_to_tensor(np.array([1.0, 2.0], np.float32))
    with ember.GradientTape() as outer:
        outer.watch(x)
        with ember.GradientTape() as inner:
            inner.watch(x)
            with inner.stop_recording():
                y = ops.sum(x * x)
        assert inner.gradient(y, x) is None
    np.testing.assert_allclose(outer.gradient(y, x).numpy(), [2.0, 4.0])
    with pytest.raises(ValueError, match="stop_recording"):
        inner.stop_recording()


def test_a_non_persistent_tape_lets_go_of_the_graph():
    w = ember.Variable(np.ones((3, 3), np.float32))
    with ember.GradientTape() as tape:
        loss = ops.sum(ops.tanh(w @ w))
    tape.gradient(loss, [w])
    assert loss._node is None  # a kept loss does not hold the activations


def test_a_variable_updated_after_recording_is_refused():
    w = ember.Variable(np.array([1.0, 2.0], np.float32))
    with ember.GradientTape(persistent=True) as tape:
        a = ops.sum(w * w)
        b = ops.sum(w * w * w)
    g = tape.gradient(a, [w])
    ember.optimizers.SGD(0.1).apply_gradients(zip(g, [w]))
    with pytest.raises(RuntimeError, match="updated in place"):
        tape.gradient(b, [w])


def test_fusion_never_hides_a_gradient_that_was_asked_for(rng):
    x = ops.convert_to_tensor(rand(rng, 2, 6, 6, 1))
    k = ember.Variable(rand(rng, 3, 3, 1, 2))
    for fused in (True, False):
        with ember.GradientTape(persistent=True) as tape:
            tape.watch(x)
            if fused:
                r = ops.conv2d(x, k, None, (1, 1), "valid", (1, 1), relu=True)
            else:
                r = ops.relu(ops.conv2d(x, k, None, (1, 1), "valid", (1, 1)))
            p = ops.max_pool(r, 2)
            loss = ops.sum(p) + ops.sum(r * 0.5)
        got = (tape.gradient(loss, k).numpy(), tape.gradient([p, r], k).numpy(), tape.gradient(p, r).numpy())
        if fused:
            first = got
    for a, b in zip(first, got):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    z = ops.convert_to_tensor(np.array([[2.0, 0.5, -1.0]], np.float32))
    y = np.array([[0.0, 1.0, 0.0]], np.float32)
    with ember.GradientTape(persistent=True) as tape:
        tape.watch(z)
        probs = ops.softmax(z)
        loss = ember.losses.CategoricalCrossentropy()(y, probs)
    gp = tape.gradient(loss, probs)
    # Keras normalises the probabilities first: d/dp -sum(y log(p / sum p)) = -y/p + 1.
    np.testing.assert_allclose(gp.numpy(), -y / probs.numpy() + 1.0, rtol=1e-5, atol=1e-6)
    gz = tape.gradient(loss, z)
    np.testing.assert_allclose(gz.numpy(), probs.numpy() - y, rtol=1e-5, atol=1e-7)


def test_softmax_cross_entropy_has_one_value_in_training_and_evaluation():
    """On saturated logits the loss comes from the logits in both modes."""
    inputs = ember.Input(shape=(2,))
    out = ember.layers.Dense(3, activation="softmax")(inputs)
    model = ember.Model(inputs, out)
    model.set_weights([np.array([[40.0, -40.0, 0.0], [0.0, 0.0, 0.0]], np.float32), np.zeros(3, np.float32)])
    model.compile(optimizer=ember.optimizers.SGD(0.0), loss="categorical_crossentropy")
    x, y = np.array([[1.0, 0.0]], np.float32), np.array([[0.0, 1.0, 0.0]], np.float32)
    assert model.test_on_batch(x, y) == pytest.approx(model.train_on_batch(x, y), rel=1e-6)
    assert model.test_on_batch(x, y) == pytest.approx(80.0, rel=1e-5)


def test_op_semantics_found_in_review():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert ops.moveaxis(x, 0, -1).shape == (3, 4, 2)
    np.testing.assert_array_equal(np.asarray(ops.moveaxis(x, [0, 1], [-1, 0])), np.moveaxis(x, [0, 1], [-1, 0]))
    m = ops.convert_to_tensor(np.array([[1.0, -2.0], [-3.0, 4.0]], np.float32))
    np.testing.assert_array_equal(np.asarray(m[m > 0]), [1.0, 4.0])
    s = ops.sum(m > 0)
    assert s.dtype == "int32" and int(s) == 2
    q = ops.convert_to_tensor([5, 6]) / 2
    assert q.dtype == "float32"
    np.testing.assert_allclose(np.asarray(q), [2.5, 3.0])
    check_grads(lambda t: ops.prod(t, axis=-1), np.array([[0.0, 2.0, 3.0], [1.5, 2.0, 0.5]], np.float32))
    check_grads(lambda t: ops.prod(t), np.array([0.0, 2.0, 0.0], np.float32))
    check_grads(lambda a, b: ops.mod(a, b), np.array([5.3, -2.2, 7.9], np.float32),
                np.array([2.0, 1.5, 3.1], np.float32))


def test_convert_to_tensor_of_a_variable_is_a_snapshot_with_gradients():
    w = ember.Variable(np.array([1.0, 2.0], np.float32))
    with ember.GradientTape() as tape:
        t = ops.convert_to_tensor(w)
        loss = ops.sum(t * t)
    w.assign([10.0, 20.0])
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    # The gradient uses the snapshot's values, as TensorFlow's does.
    np.testing.assert_array_equal(tape.gradient(loss, w).numpy(), [2.0, 4.0])
