"""Functional and subclassed models, custom layers, Lambda, shared layers,
custom training loops and train_step, against Sequential equivalents and
analytic float64 results."""
import numpy as np
import pytest

import ember
from ember import layers, ops

from conftest import rand


def blobs(n=128, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((k, d)) * 3
    y = rng.integers(0, k, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(np.float32)
    return x, ember.to_categorical(y, k)


def _seq():
    return ember.Sequential([layers.Input(shape=(6,)), layers.Dense(16, activation="relu"),
                             layers.Dense(3, activation="softmax")])


def _functional():
    inputs = ember.Input(shape=(6,))
    x = layers.Dense(16, activation="relu")(inputs)
    outputs = layers.Dense(3, activation="softmax")(x)
    return ember.Model(inputs, outputs)


class _Subclassed(ember.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(16, activation="relu")
        self.out = layers.Dense(3, activation="softmax")

    def call(self, inputs, training=False):
        return self.out(self.hidden(inputs))


@pytest.mark.parametrize("make", [_functional, _Subclassed], ids=["functional", "subclassed"])
def test_same_bits_as_sequential(make):
    """The same computation gives the same bits through any model API."""
    x, y = blobs()
    ember.set_random_seed(5)
    seq = _seq()
    ember.set_random_seed(5)
    other = make()
    if not other.built:
        other.build((None, 6))
    assert len(other.weights) == 4
    other.set_weights(seq.get_weights())
    for m in (seq, other):
        ember.set_random_seed(1)
        m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        m.fit(x, y, batch_size=16, epochs=10, verbose=0)
    for a, b in zip(seq.get_weights(), other.get_weights()):
        assert a.tobytes() == b.tobytes()
    assert seq.predict(x, verbose=0).tobytes() == other.predict(x, verbose=0).tobytes()
    assert seq.evaluate(x, y, verbose=0)[1] > 0.9


def test_functional_multi_input_output_residual_and_summary(capsys):
    a = ember.Input(shape=(4,), name="a")
    b = ember.Input(shape=(4,), name="b")
    h = layers.Dense(4, activation="tanh")(a)
    h = layers.add([h, b])                      # residual from another input
    h = h + layers.Dense(4)(h)                  # an operator on symbolic tensors
    c = layers.Concatenate()([h, a])
    out1 = layers.Dense(1, name="reg")(c)
    out2 = layers.Dense(2, activation="softmax", name="cls")(c)
    model = ember.Model(inputs=[a, b], outputs=[out1, out2])
    assert model.output_shape == [(None, 1), (None, 2)]
    model.summary()
    text = capsys.readouterr().out
    assert "Connected to" in text and "concatenate" in text
    rng = np.random.default_rng(0)
    xa, xb = rand(rng, 64, 4), rand(rng, 64, 4)
    yr = (xa.sum(1, keepdims=True) - xb[:, :1]).astype(np.float32)
    yc = ember.to_categorical((xa[:, 0] > 0).astype(int), 2)
    model.compile(optimizer=ember.optimizers.Adam(0.02), loss=["mse", "categorical_crossentropy"],
                  loss_weights=[1.0, 0.5])
    before = model.evaluate([xa, xb], [yr, yc], verbose=0)
    model.fit([xa, xb], [yr, yc], epochs=30, batch_size=16, verbose=0)
    after = model.evaluate([xa, xb], [yr, yc], return_dict=True, verbose=0)
    # As Keras 3: with a loss per output, each output's unweighted loss is logged too.
    assert set(after) == {"loss", "reg_loss", "cls_loss"}
    assert after["loss"] < before[0] * 0.5
    np.testing.assert_allclose(after["loss"], after["reg_loss"] + 0.5 * after["cls_loss"], rtol=1e-4)
    p1, p2 = model.predict([xa, xb], verbose=0)
    assert p1.shape == (64, 1) and p2.shape == (64, 2)
    np.testing.assert_allclose(p2.sum(1), 1, rtol=1e-5)


def test_shared_layer_gets_the_sum_of_its_gradients():
    """One Dense called on two inputs: its kernel's gradient is the sum of
    both uses, checked against the float64 analytic result."""
    shared = layers.Dense(2, use_bias=False)
    a, b = ember.Input(shape=(3,)), ember.Input(shape=(3,))
    model = ember.Model([a, b], layers.add([shared(a), shared(b)]))
    assert len(model.weights) == 1
    rng = np.random.default_rng(1)
    xa, xb, w = rand(rng, 5, 3), rand(rng, 5, 3), rand(rng, 5, 2)
    with ember.GradientTape() as tape:
        y = model([xa, xb])
        loss = ops.sum(y * w)
    (g,) = tape.gradient(loss, model.trainable_weights)
    expected = xa.astype(np.float64).T @ w + xb.astype(np.float64).T @ w
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_nested_models_and_sequential_as_a_layer():
    encoder = ember.Sequential([layers.Dense(8, activation="relu"), layers.Dense(4)], name="encoder")
    inputs = ember.Input(shape=(6,))
    z = encoder(inputs)
    inner = ember.Model(inputs, z)
    outer_in = ember.Input(shape=(6,))
    out = layers.Dense(3, activation="softmax")(inner(outer_in))
    model = ember.Model(outer_in, out)
    assert len(model.weights) == 6
    x, y = blobs()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


class Linear(layers.Layer):
    """A custom layer as the Keras guide writes it."""

    def __init__(self, units=4, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                 trainable=True, name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="b")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class Scale(layers.Layer):
    """Four small ops per call, and a non-trainable counter weight."""

    def build(self, input_shape):
        self.alpha = self.add_weight(shape=(), initializer="ones", name="alpha")
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False, name="calls")

    def call(self, x):
        return ops.tanh(x * self.alpha) + ops.square(x) * 0.01


def test_custom_layers_train_in_a_functional_model():
    inputs = ember.Input(shape=(6,))
    h = Linear(16)(inputs)
    h = Scale()(h)
    h = layers.Lambda(lambda t: ops.maximum(t, 0.0))(h)
    out = layers.Dense(3, activation="softmax")(h)
    model = ember.Model(inputs, out)
    assert [w.name for w in model.layers[1].weights] == ["w", "b"]
    assert len(model.trainable_weights) == 5 and len(model.non_trainable_weights) == 1
    x, y = blobs()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0] * 0.5
    assert model.evaluate(x, y, verbose=0)[1] > 0.9


def test_gradient_tape_loop_matches_fit():
    """A hand-written loop (GradientTape + apply_gradients) gives the same
    bits as fit on the same batches."""
    x, y = blobs(64)
    ember.set_random_seed(3)
    a = _functional()
    ember.set_random_seed(3)
    b = _functional()
    b.set_weights(a.get_weights())
    a.compile(optimizer=ember.optimizers.SGD(0.1), loss="categorical_crossentropy")
    a.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    opt = ember.optimizers.SGD(0.1)
    loss_fn = ember.losses.CategoricalCrossentropy()
    for i in range(0, 64, 16):
        with ember.GradientTape() as tape:
            loss = loss_fn(y[i:i + 16], b(x[i:i + 16], training=True))
        grads = tape.gradient(loss, b.trainable_weights)
        opt.apply_gradients(zip(grads, b.trainable_weights))
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        assert wa.tobytes() == wb.tobytes()


def test_custom_loss_function_and_overridden_train_step():
    calls = {"n": 0}

    class Custom(ember.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(1)
            self.tracker = ember.metrics.Mean(name="loss")

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            calls["n"] += 1
            x, y = data
            with ember.GradientTape() as tape:
                pred = self(x, training=True)
                loss = self.compute_loss(y=y, y_pred=pred)
            grads = tape.gradient(loss, self.trainable_weights)
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
            self.tracker.update_state(loss)
            return {"loss": self.tracker.result()}

        @property
        def metrics(self):
            return [self.tracker]

    def huberish(y_true, y_pred):
        d = y_pred - y_true
        return ops.mean(ops.sqrt(d * d + 1.0) - 1.0, axis=-1)

    rng = np.random.default_rng(0)
    x = rand(rng, 128, 3)
    y = (x @ np.array([[2.0], [-1.0], [0.5]], np.float32) + 0.3).astype(np.float32)
    model = Custom()
    model.compile(optimizer=ember.optimizers.Adam(0.05), loss=huberish)
    hist = model.fit(x, y, epochs=40, batch_size=32, verbose=0)
    assert calls["n"] == 40 * 4
    assert hist.history["loss"][-1] < 0.05 * hist.history["loss"][0]
    np.testing.assert_allclose(model.dense.kernel.numpy().ravel(), [2.0, -1.0, 0.5], atol=0.1)


def test_residual_model_is_bitwise_deterministic_across_thread_counts(threads):
    def run(n_threads):
        ember.set_num_threads(n_threads)
        ember.set_random_seed(11)
        inputs = ember.Input(shape=(12, 12, 1))
        h = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
        r = layers.Conv2D(8, 3, padding="same")(h)
        h = layers.Activation("relu")(layers.add([h, r]))
        h = layers.MaxPooling2D()(h)
        h = layers.Flatten()(h)
        out = layers.Dense(2, activation="softmax")(h)
        model = ember.Model(inputs, out)
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        rng = np.random.default_rng(0)
        x = rng.random((96, 12, 12, 1), dtype=np.float32)
        y = ember.to_categorical((x[:, :6].mean((1, 2, 3)) > x[:, 6:].mean((1, 2, 3))).astype(int), 2)
        model.fit(x, y, batch_size=32, epochs=2, verbose=0)
        return [w.tobytes() for w in model.get_weights()]
    assert run(1) == run(2)


def test_layer_reuse_and_sequential_edits():
    d = layers.Dense(4, activation="relu")
    model = ember.Sequential([layers.Input(shape=(4,)), d, d, layers.Dense(2)])
    assert len(model.weights) == 4  # the shared Dense counts once
    x = rand(np.random.default_rng(0), 8, 4)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :2], epochs=2, verbose=0)
    model.pop()
    model.add(layers.Dense(3))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x[:, :3], epochs=2, verbose=0)
    assert model.output_shape == (None, 3)
    with pytest.raises(ValueError, match=r"Layer 'dense_\d+' expects input \(None, 4\); received \(None, 3\)"):
        ember.Sequential([layers.Input(shape=(4,)), layers.Dense(3), model.layers[0]])


def test_functional_config_round_trip_and_save(tmp_path):
    inputs = ember.Input(shape=(6,))
    h = layers.Dense(8, activation="relu")(inputs)
    out = layers.Dense(3, activation="softmax")(layers.concatenate([h, inputs]))
    model = ember.Model(inputs, out)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = blobs()
    model.fit(x, y, epochs=2, verbose=0)
    clone = ember.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), model.predict(x, verbose=0))
    model.save(tmp_path / "m.ember")
    loaded = ember.load_model(tmp_path / "m.ember")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded.fit(x, y, epochs=1, verbose=0)


def test_graph_errors_name_the_problem():
    a, b = ember.Input(shape=(3,)), ember.Input(shape=(4,))
    h = layers.Dense(2)(b)
    with pytest.raises(ValueError, match="disconnected"):
        ember.Model(a, h)
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(None, 3\).*\(None, 4\)"):
        layers.Add()([a, b])
    with pytest.raises(ValueError, match="Concatenate"):
        layers.Concatenate(axis=1)([ember.Input(shape=(2, 3)), ember.Input(shape=(4, 5))])
    with pytest.raises(TypeError, match="symbolic tensor"):
        ember.Model(a, np.ones(3))
    with pytest.raises(ValueError, match="not an Input"):
        ember.Model(h, layers.Dense(1)(h))
    dense = layers.Dense(5)
    dense(ember.Input(shape=(8,)))
    with pytest.raises(ValueError, match=r"expects input \(None, 8\); received \(None, 4\)"):
        dense(b)
    with pytest.raises(ValueError, match="no value"):
        np.asarray(a.numpy())


def test_sample_weight_and_class_weight_follow_keras_reduction():
    """sum(per-sample loss * weight) / batch size; zero-weight samples have no
    influence on the weights."""
    x, y = blobs(64)
    w = np.full(64, 2.0, np.float32)
    w[::2] = 0.0
    loss = ember.losses.CategoricalCrossentropy()
    pred = np.full((64, 3), 1 / 3, np.float32)
    value = float(loss(y, pred, sample_weight=w))
    assert value == pytest.approx(np.log(3) * 2 * 32 / 64, rel=1e-5)
    ember.set_random_seed(2)
    a = _functional()
    ember.set_random_seed(2)
    b = _functional()
    b.set_weights(a.get_weights())
    for m in (a, b):
        m.compile(optimizer=ember.optimizers.SGD(0.1), loss="categorical_crossentropy")
    y_noise = y.copy()
    y_noise[::2] = y_noise[::2, ::-1]                  # corrupt the zero-weight half
    a.fit(x, y_noise, sample_weight=w, batch_size=64, epochs=1, shuffle=False, verbose=0)
    b.fit(x[1::2], y[1::2], batch_size=32, epochs=1, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):  # same gradient: sum(2 * l) / 64 == mean over 32
        np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    c = _functional()
    c.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    hist = c.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()


def test_regularizers_add_to_the_loss_and_the_gradient():
    d = layers.Dense(2, kernel_regularizer=ember.regularizers.L2(0.5), use_bias=False)
    x = np.zeros((4, 3), np.float32)
    d(x)
    k = d.kernel.numpy()
    assert len(d.losses) == 1
    assert float(d.losses[0]) == pytest.approx(0.5 * np.sum(k.astype(np.float64) ** 2), rel=1e-5)
    inputs = ember.Input(shape=(3,))
    model = ember.Model(inputs, d(inputs))
    with ember.GradientTape() as tape:
        out = model(x)
        loss = ops.sum(out) + sum(model.losses)
    (g,) = tape.gradient(loss, model.trainable_weights)
    np.testing.assert_allclose(g.numpy(), k, rtol=1e-6)   # d/dk 0.5*|k|^2 = k (x is zero)


def test_layers_appended_to_a_list_attribute_are_tracked():
    class Blocks(layers.Layer):
        def __init__(self):
            super().__init__()
            self.blocks = []
            for _ in range(3):
                self.blocks.append(layers.Dense(4))

        def call(self, x):
            for b in self.blocks:
                x = b(x)
            return x

    layer = Blocks()
    layer(np.ones((2, 4), np.float32))
    assert len(layer.trainable_weights) == 6


def test_weights_list_trainable_first_as_keras():
    class Counter(layers.Layer):
        def build(self, input_shape):
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False, name="count")
            self.w = self.add_weight(shape=(input_shape[-1],), name="w")

        def call(self, x):
            return x * self.w

    c = Counter()
    c(np.ones((1, 2), np.float32))
    assert [w.name for w in c.weights] == ["w", "count"]


def test_from_config_with_a_layer_shared_across_calls():
    shared = layers.Dense(3, name="shared_dense")
    shared(ember.Input(shape=(3,)))            # a call outside the model
    a = ember.Input(shape=(3,))
    h1 = shared(a)
    h2 = shared(h1)
    model = ember.Model(a, [h1, h2])
    clone = ember.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = rand(np.random.default_rng(0), 4, 3)
    for p, q in zip(model.predict(x, verbose=0), clone.predict(x, verbose=0)):
        np.testing.assert_array_equal(p, q)
    assert clone.outputs[0] is not clone.outputs[1]


def test_freezing_a_functional_model_freezes_its_layers():
    inputs = ember.Input(shape=(4,))
    base = ember.Model(inputs, layers.BatchNormalization()(layers.Dense(4)(inputs)))
    base.trainable = False
    assert all(not l.trainable for l in base.layers[1:]) and base.trainable_weights == []
    outer_in = ember.Input(shape=(4,))
    model = ember.Model(outer_in, layers.Dense(1)(base(outer_in)))
    model.compile(optimizer="sgd", loss="mse")
    before = [w.numpy() for w in base.weights]
    x = rand(np.random.default_rng(1), 16, 4) + 3.0
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    for a, b in zip(before, base.weights):  # moving statistics too: a frozen BN runs in inference mode
        np.testing.assert_array_equal(a, b.numpy())


def test_multi_output_compile_by_name_and_per_output_metrics():
    a = ember.Input(shape=(3,))
    model = ember.Model(a, {"first": layers.Dense(1)(a), "second": layers.Dense(2, activation="softmax")(a)})
    model.compile(optimizer="sgd", loss={"first": "mse", "second": "categorical_crossentropy"},
                  loss_weights={"first": 1.0, "second": 0.0}, metrics={"second": ["accuracy"]})
    rng = np.random.default_rng(0)
    x = rand(rng, 8, 3)
    y = {"first": rand(rng, 8, 1), "second": ember.to_categorical(rng.integers(0, 2, 8), 2)}
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "second_accuracy", "first_loss", "second_loss"}  # as Keras 3.15
    mse = float(np.mean((np.asarray(model.predict(x, verbose=0)["first"]) - y["first"]) ** 2))
    assert logs["loss"] == pytest.approx(mse, rel=1e-5)  # the second output weighs 0
    with pytest.raises(ValueError, match="per output"):
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
        model.evaluate(x, y, verbose=0)


def test_scalar_custom_loss_with_sample_weight_and_sequential_built_by_a_call(tmp_path):
    model = ember.Sequential([layers.Dense(4), layers.Dense(2)])
    x = rand(np.random.default_rng(0), 4, 3)
    model(x)
    model.summary(print_fn=lambda s: None)
    model.compile("sgd", loss=lambda y, p: ops.mean(ops.square(y - p)))
    model.fit(x, x[:, :2], sample_weight=np.ones(4), verbose=0)
    model.save_weights(tmp_path / "w.ember")
    other = ember.Sequential([layers.Dense(4), layers.Dense(2)])
    other.build((None, 3))
    other.load_weights(tmp_path / "w.ember")
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    per_sample = ember.losses.mean_squared_error(x[:, :2], model.predict(x, verbose=0))
    assert per_sample.shape == (4,)


def test_merging_layers_against_numpy():
    rng = np.random.default_rng(4)
    a, b, c = rand(rng, 3, 4), rand(rng, 3, 4), rand(rng, 3, 4)
    cases = {layers.Add: a + b + c, layers.Multiply: a * b * c, layers.Maximum: np.maximum(np.maximum(a, b), c),
             layers.Minimum: np.minimum(np.minimum(a, b), c), layers.Average: (a + b + c) / 3}
    for cls, want in cases.items():
        np.testing.assert_allclose(np.asarray(cls()([a, b, c])), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(layers.Subtract()([a, b])), a - b, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layers.Concatenate(axis=0)([a, b])), np.concatenate([a, b]), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(layers.Dot(axes=1)([a, b])), np.sum(a * b, axis=1, keepdims=True),
                               rtol=1e-5)
    x, y = rand(rng, 2, 3, 5), rand(rng, 2, 4, 5)
    np.testing.assert_allclose(np.asarray(layers.Dot(axes=(2, 2))([x, y])), np.einsum("bik,bjk->bij", x, y),
                               rtol=1e-5, atol=1e-6)
    x2 = rand(rng, 2, 5, 3)
    np.testing.assert_allclose(np.asarray(layers.Dot(axes=(1, 2))([x2, y])), np.einsum("bki,bjk->bij", x2, y),
                               rtol=1e-5, atol=1e-6)
    n = np.asarray(layers.Dot(axes=1, normalize=True)([a, b]))
    cos = np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    np.testing.assert_allclose(n.ravel(), cos, rtol=1e-5)
    # Symbolic shapes agree with the eager results.
    sa, sy = ember.Input(shape=(5, 3)), ember.Input(shape=(4, 5))
    assert layers.Dot(axes=(1, 2))([sa, sy]).shape == (None, 3, 4)
