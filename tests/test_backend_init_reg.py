"""ember.backend / ember.config, ember.random, ember.initializers,
ember.regularizers and ember.constraints: Keras 3's names, defaults and
numbers. Deterministic results are compared with Keras 3 exactly where it is
installed, and with float64 NumPy formulas everywhere; random ones by their
statistics (Keras's seeded streams differ from ember's)."""
import inspect
import os

import numpy as np
import pytest

import ember
from ember import backend as K, constraints, initializers, layers, models, optimizers, regularizers
from ember import random as erandom


@pytest.fixture
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    return pytest.importorskip("keras", reason="Keras 3 is not installed (pip install keras jax)")


def _np(x):
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float64)


# ----------------------------------------------------------------- backend/config
def test_backend_settings():
    assert K.image_data_format() == ember.config.image_data_format() == "channels_last"
    assert K.floatx() == ember.config.floatx() == "float32"
    assert K.backend() == ember.config.backend() == "ember"
    assert K.epsilon() == ember.config.epsilon() == 1e-7
    K.set_image_data_format("channels_last")
    K.set_image_data_format("Channels_Last")
    ember.config.set_floatx("float32")
    assert K.is_keras_tensor(layers.Input((3,))) and not K.is_keras_tensor(ember.ops.zeros((3,)))


def test_set_epsilon_changes_what_constraints_read():
    try:
        K.set_epsilon(0.5)
        assert ember.config.epsilon() == 0.5
        w = np.array([[3.0], [4.0]], np.float32)  # norm 5
        np.testing.assert_allclose(_np(constraints.UnitNorm()(ember.ops.convert_to_tensor(w))),
                                   w / 5.5, rtol=1e-6)
    finally:
        ember.config.set_epsilon(1e-7)
    assert K.epsilon() == 1e-7


def test_backend_setting_errors():
    with pytest.raises(ValueError, match="channels_last.*Received: data_format='channels_first'"):
        K.set_image_data_format("channels_first")
    with pytest.raises(ValueError, match="Received: data_format='nchw'"):
        ember.config.set_image_data_format("nchw")
    with pytest.raises(ValueError, match="float32 only.*Received: value='float64'"):
        K.set_floatx("float64")
    with pytest.raises(ValueError, match="Unknown `floatx`.*Received: value='double'"):
        ember.config.set_floatx("double")
    with pytest.raises(TypeError, match="Received: value=32"):
        K.set_floatx(32)
    with pytest.raises(ValueError, match="Received: value=-1"):
        K.set_epsilon(-1)
    with pytest.raises(TypeError, match="Received: value='small'"):
        ember.config.set_epsilon("small")
    assert K.image_data_format() == "channels_last" and K.floatx() == "float32"


def test_clear_session_resets_layer_names():
    K.clear_session()
    first = [layers.Dense(2).name, layers.Dense(2).name, layers.Conv2D(2, 3).name]
    K.clear_session(free_memory=False)
    again = [layers.Dense(2).name, layers.Dense(2).name, layers.Conv2D(2, 3).name]
    assert first == again == ["dense", "dense_1", "conv2d"]


def test_set_random_seed_alias():
    assert K.set_random_seed is ember.utils.set_random_seed
    kernels = []
    for _ in range(2):
        K.set_random_seed(3)
        d = layers.Dense(4)
        d.build((None, 3))
        kernels.append(d.kernel.numpy())
    np.testing.assert_array_equal(*kernels)


def test_backend_and_config_names_exist_in_keras(keras):
    for name in ("backend", "clear_session", "epsilon", "floatx", "image_data_format", "is_keras_tensor",
                 "set_epsilon", "set_floatx", "set_image_data_format"):
        assert hasattr(keras.backend, name) and callable(getattr(K, name)), name
    for name in ("backend", "epsilon", "floatx", "image_data_format", "set_epsilon", "set_floatx",
                 "set_image_data_format"):
        assert hasattr(keras.config, name) and callable(getattr(ember.config, name)), name
    assert K.epsilon() == keras.backend.epsilon()
    assert K.image_data_format() == keras.backend.image_data_format()
    assert K.floatx() == keras.backend.floatx()


# ----------------------------------------------------------------- random
def test_random_signatures_match_keras(keras):
    for name in ("normal", "uniform", "truncated_normal", "dropout", "shuffle", "randint", "categorical"):
        ours = list(inspect.signature(getattr(erandom, name)).parameters.items())
        theirs = list(inspect.signature(getattr(keras.random, name)).parameters.items())
        assert [(k, p.default) for k, p in ours] == [(k, p.default) for k, p in theirs], name


def test_random_int_seed_is_stateless_and_generator_advances():
    a = erandom.normal((3, 4), seed=7).numpy()
    np.testing.assert_array_equal(a, erandom.normal((3, 4), seed=7).numpy())
    assert not np.array_equal(a, erandom.normal((3, 4), seed=8).numpy())
    g1, g2 = erandom.SeedGenerator(42), erandom.SeedGenerator(42)
    x1, y1 = erandom.uniform((5,), seed=g1).numpy(), erandom.uniform((5,), seed=g1).numpy()
    x2, y2 = erandom.uniform((5,), seed=g2).numpy(), erandom.uniform((5,), seed=g2).numpy()
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, y1)
    assert erandom.SeedGenerator(5).get_config()["seed"] == 5


def test_random_without_seed_follows_the_global_seed():
    draws = []
    for _ in range(2):
        ember.utils.set_random_seed(11)
        gen = erandom.SeedGenerator()
        draws.append([erandom.normal((4,)).numpy(), erandom.truncated_normal((4,)).numpy(),
                      erandom.randint((4,), 0, 9).numpy(), erandom.uniform((3,), seed=gen).numpy(),
                      erandom.shuffle(np.arange(8.0)).numpy(), erandom.dropout(np.ones((4, 4)), 0.5).numpy()])
    for a, b in zip(*draws):
        np.testing.assert_array_equal(a, b)


def test_random_distributions():
    n = 200_000
    x = _np(erandom.normal((n,), mean=1.5, stddev=0.5, seed=1))
    assert abs(x.mean() - 1.5) < 0.01 and abs(x.std() - 0.5) < 0.01
    u = _np(erandom.uniform((n,), minval=-2.0, maxval=3.0, seed=2))
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.02
    t = _np(erandom.truncated_normal((n,), mean=-1.0, stddev=2.0, seed=3))
    assert t.min() >= -5.0 and t.max() <= 3.0
    assert abs(t.std() - 2.0 * 0.87962566103423978) < 0.01
    r = erandom.randint((n,), 3, 8, seed=4)
    assert r.dtype == "int32" and set(np.unique(r.numpy())) == {3, 4, 5, 6, 7}
    assert erandom.normal((2, 3)).dtype == "float32" and erandom.normal((2, 3)).shape == (2, 3)


def test_categorical_frequencies():
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    with np.errstate(divide="ignore"):
        logits = np.log(probs)
    s = erandom.categorical(logits, 50_000, seed=5)
    assert s.shape == (3, 50_000) and s.dtype == "int32"
    counts = np.stack([np.bincount(row, minlength=3) for row in s.numpy()]) / 50_000
    np.testing.assert_allclose(counts, probs, atol=0.01)
    assert counts[1, 2] == 0 and counts[2, 2] == 1


def test_shuffle_and_dropout():
    x = np.arange(24.0).reshape(6, 4)
    s = erandom.shuffle(x, seed=3).numpy()
    assert sorted(map(tuple, s)) == sorted(map(tuple, x)) and not np.array_equal(s, x)
    c = erandom.shuffle(x, axis=1, seed=3).numpy()
    np.testing.assert_array_equal(np.sort(c, axis=1), x)
    assert len({tuple(np.argsort(row)) for row in c}) == 1  # one permutation for every row
    d = _np(erandom.dropout(np.ones((400, 500)), 0.3, seed=9))
    assert set(np.unique(d)) <= {0.0, np.float64(np.float32(1 / 0.7))}
    assert abs((d == 0).mean() - 0.3) < 0.01
    shared = _np(erandom.dropout(np.ones((300, 8)), 0.5, noise_shape=(None, 1), seed=2))
    assert np.all(shared == shared[:, :1]) and 0.4 < (shared[:, 0] == 0).mean() < 0.6
    np.testing.assert_array_equal(erandom.dropout(np.ones((5, 5)), 0.5, seed=4).numpy(),
                                  erandom.dropout(np.ones((5, 5)), 0.5, seed=4).numpy())


def test_dropout_gradient():
    x = ember.Variable(np.ones((3, 4), np.float32))
    with ember.GradientTape() as tape:
        y = erandom.dropout(x, 0.5, noise_shape=(3, 1), seed=1)
        loss = ember.ops.sum(y)
    g = np.asarray(tape.gradient(loss, [x])[0])
    np.testing.assert_allclose(g, y.numpy())  # dy/dx is the mask (0 or 2)


def test_random_errors():
    with pytest.raises(ValueError, match="Received: seed='a'"):
        erandom.normal((2,), seed="a")
    with pytest.raises(ValueError, match="Received: seed=1.5"):
        erandom.SeedGenerator(1.5)
    with pytest.raises(ValueError, match="Received: dtype='int32'"):
        erandom.uniform((2,), dtype="int32")
    with pytest.raises(ValueError, match="integer `dtype`.*Received: dtype='float32'"):
        erandom.randint((2,), 0, 3, dtype="float32")
    with pytest.raises(ValueError, match="Received: minval=3, maxval=3"):
        erandom.randint((2,), 3, 3)
    with pytest.raises(TypeError, match="Received: shape='ab'"):
        erandom.normal("ab")
    with pytest.raises(ValueError, match="Received: rate=1.0"):
        erandom.dropout(np.ones(3), 1.0)
    with pytest.raises(ValueError, match="Received: noise_shape=\\(2,\\)"):
        erandom.dropout(np.ones((3, 3)), 0.5, noise_shape=(2,))
    with pytest.raises(ValueError, match="Received: axis=2"):
        erandom.shuffle(np.ones((3, 3)), axis=2)
    with pytest.raises(ValueError, match="Received: logits.shape=\\(3,\\)"):
        erandom.categorical(np.ones(3), 2)


# ----------------------------------------------------------------- initializers
_RANDOM_INITIALIZERS = [
    # (class, kwargs, expected mean, expected std as a function of (fan_in, fan_out), bound or None)
    ("RandomNormal", {"mean": 0.1, "stddev": 0.2}, 0.1, lambda fi, fo: 0.2, None),
    ("RandomUniform", {"minval": -0.3, "maxval": 0.1}, -0.1, lambda fi, fo: 0.4 / np.sqrt(12), lambda fi, fo: 0.3),
    ("TruncatedNormal", {"mean": 0.0, "stddev": 0.5}, 0.0, lambda fi, fo: 0.5 * 0.87962566, lambda fi, fo: 1.0),
    ("GlorotUniform", {}, 0.0, lambda fi, fo: np.sqrt(2 / (fi + fo)), lambda fi, fo: np.sqrt(6 / (fi + fo))),
    ("GlorotNormal", {}, 0.0, lambda fi, fo: np.sqrt(2 / (fi + fo)),
     lambda fi, fo: 2 * np.sqrt(2 / (fi + fo)) / 0.87962566),
    ("HeUniform", {}, 0.0, lambda fi, fo: np.sqrt(2 / fi), lambda fi, fo: np.sqrt(6 / fi)),
    ("HeNormal", {}, 0.0, lambda fi, fo: np.sqrt(2 / fi), lambda fi, fo: 2 * np.sqrt(2 / fi) / 0.87962566),
    ("LecunUniform", {}, 0.0, lambda fi, fo: np.sqrt(1 / fi), lambda fi, fo: np.sqrt(3 / fi)),
    ("LecunNormal", {}, 0.0, lambda fi, fo: np.sqrt(1 / fi), lambda fi, fo: 2 * np.sqrt(1 / fi) / 0.87962566),
    ("VarianceScaling", {"scale": 3.0, "mode": "fan_out", "distribution": "untruncated_normal"}, 0.0,
     lambda fi, fo: np.sqrt(3 / fo), None),
    ("VarianceScaling", {"scale": 0.5, "mode": "fan_avg", "distribution": "uniform"}, 0.0,
     lambda fi, fo: np.sqrt(0.5 / ((fi + fo) / 2)), lambda fi, fo: np.sqrt(1.5 / ((fi + fo) / 2))),
]


@pytest.mark.parametrize("shape", [(300, 200), (3, 3, 40, 64), (5, 60, 70)])
@pytest.mark.parametrize("name,kwargs,mean,std,bound", _RANDOM_INITIALIZERS,
                         ids=[f"{r[0]}{i}" for i, r in enumerate(_RANDOM_INITIALIZERS)])
def test_random_initializer_statistics(name, kwargs, mean, std, bound, shape):
    fi, fo = initializers.compute_fans(shape)
    w = _np(getattr(initializers, name)(seed=1, **kwargs)(shape))
    assert w.shape == shape
    s = std(fi, fo)
    assert abs(w.mean() - mean) < 5 * s / np.sqrt(w.size) + 1e-9
    assert abs(w.std() / s - 1) < 0.03
    if bound is not None:
        assert np.abs(w - mean).max() <= bound(fi, fo) * (1 + 1e-6)


@pytest.mark.parametrize("name,kwargs,mean,std,bound", _RANDOM_INITIALIZERS,
                         ids=[f"{r[0]}{i}" for i, r in enumerate(_RANDOM_INITIALIZERS)])
def test_random_initializer_statistics_match_keras(keras, name, kwargs, mean, std, bound):
    shape = (3, 3, 40, 64)
    ours = _np(getattr(initializers, name)(seed=2, **kwargs)(shape))
    theirs = np.asarray(getattr(keras.initializers, name)(seed=2, **kwargs)(shape), np.float64)
    assert abs(ours.std() / theirs.std() - 1) < 0.03
    assert abs(ours.mean() - theirs.mean()) < 10 * theirs.std() / np.sqrt(ours.size)
    q = [1, 10, 25, 50, 75, 90, 99]
    np.testing.assert_allclose(np.percentile(ours, q), np.percentile(theirs, q), atol=0.05 * theirs.std())
    if bound is not None:  # the same cut
        np.testing.assert_allclose(np.abs(ours - mean).max(), np.abs(theirs - mean).max(), rtol=0.01)


@pytest.mark.parametrize("shape", [(), (7,), (3, 4), (3, 5, 7), (2, 3, 4, 5), (2, 2, 2, 3, 4)])
def test_fans_match_keras(keras, shape):
    from keras.src.initializers.random_initializers import compute_fans
    assert initializers.compute_fans(shape) == compute_fans(shape)
    assert initializers.compute_fans((2, 3, 4, 5), [0, 1], [2, 3]) == compute_fans((2, 3, 4, 5), [0, 1], [2, 3])


@pytest.mark.parametrize("make", [
    lambda m: m.Zeros(), lambda m: m.Ones(), lambda m: m.Constant(3.25), lambda m: m.Constant(-2),
    lambda m: m.Identity(), lambda m: m.Identity(gain=2.5)], ids=["zeros", "ones", "const", "const_int",
                                                                  "identity", "identity_gain"])
@pytest.mark.parametrize("shape", [(3, 5), (4, 4), (6, 2)])
def test_deterministic_initializers_equal_keras(keras, make, shape):
    ours = make(initializers)(shape)
    theirs = np.asarray(make(keras.initializers)(shape))
    assert ours.dtype == "float32"
    np.testing.assert_array_equal(ours.numpy(), theirs)


def test_deterministic_initializers_numpy():
    np.testing.assert_array_equal(initializers.Identity(gain=3)((2, 4)).numpy(), 3 * np.eye(2, 4))
    np.testing.assert_array_equal(initializers.Constant([1.0, 2.0])((3, 2)).numpy(), [[1, 2]] * 3)
    np.testing.assert_array_equal(initializers.Zeros()((2, 3), dtype="int32").numpy(), np.zeros((2, 3), int))
    assert initializers.Zeros()((2,), dtype="int32").dtype == "int32"
    assert initializers.Ones()(()).shape == ()


@pytest.mark.parametrize("shape,gain", [((6, 4), 1.0), ((4, 6), 1.0), ((5, 5), 2.0), ((3, 3, 4, 8), 0.5)])
def test_orthogonal(shape, gain):
    w = _np(initializers.Orthogonal(gain=gain, seed=3)(shape))
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    small = min(m.shape)
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(small), atol=1e-5)
    np.testing.assert_array_equal(w, _np(initializers.Orthogonal(gain=gain, seed=3)(shape)))


def test_orthogonal_is_the_sign_fixed_q_of_a_normal_draw():
    a = np.random.default_rng(7).standard_normal((5, 3))
    q, r = np.linalg.qr(a)
    expected = q * np.sign(np.diag(r))
    np.testing.assert_allclose(_np(initializers.Orthogonal(seed=7)((5, 3))), expected, atol=1e-6)
    np.testing.assert_allclose(_np(initializers.Orthogonal(seed=7)((3, 5))), expected.T, atol=1e-6)


def test_orthogonal_matches_keras_properties(keras):
    theirs = np.asarray(keras.initializers.Orthogonal(gain=1.5, seed=1)((8, 5)), np.float64)
    ours = _np(initializers.Orthogonal(gain=1.5, seed=1)((8, 5)))
    np.testing.assert_allclose(ours.T @ ours, theirs.T @ theirs, atol=1e-5)


def test_initializer_seeds():
    init = initializers.GlorotUniform(seed=5)
    np.testing.assert_array_equal(init((4, 3)).numpy(), init((4, 3)).numpy())  # Keras 3: same each call
    gen_init = initializers.RandomNormal(seed=erandom.SeedGenerator(5))
    assert not np.array_equal(gen_init((4, 3)).numpy(), gen_init((4, 3)).numpy())
    unseeded = initializers.HeNormal()
    assert not np.array_equal(unseeded((4, 3)).numpy(), unseeded((4, 3)).numpy())
    ember.utils.set_random_seed(1)
    a = unseeded((4, 3)).numpy()
    ember.utils.set_random_seed(1)
    np.testing.assert_array_equal(a, unseeded((4, 3)).numpy())


def test_initializer_get_accepts_every_keras_alias(keras):
    from keras.src.initializers import ALL_OBJECTS_DICT
    names = [n for n in ALL_OBJECTS_DICT if "stft" not in n.lower()]
    assert len(names) > 30
    for name in names:  # (Keras's own get("constant") fails: its Constant needs a value in the config)
        assert type(initializers.get(name)).__name__ == ALL_OBJECTS_DICT[name].__name__, name
    for name in ("glorot_uniform", "he_normal", "orthogonal", "identity", "random_normal", "truncated_normal",
                 "variance_scaling", "lecun_uniform", "constant", "zeros", "ones"):
        assert getattr(initializers, name) is type(initializers.get(name))


@pytest.mark.parametrize("make", [
    lambda m: m.Zeros(), lambda m: m.Ones(), lambda m: m.Constant(0.5), lambda m: m.RandomNormal(0.1, 0.2, seed=3),
    lambda m: m.RandomUniform(-1, 2, seed=1), lambda m: m.TruncatedNormal(stddev=0.3),
    lambda m: m.VarianceScaling(2.0, "fan_out", "uniform", seed=4), lambda m: m.GlorotUniform(seed=1),
    lambda m: m.GlorotNormal(), lambda m: m.HeUniform(), lambda m: m.HeNormal(seed=2), lambda m: m.LecunUniform(),
    lambda m: m.LecunNormal(), lambda m: m.Orthogonal(gain=2.0, seed=5)])
def test_initializer_configs_equal_keras(keras, make):
    ours, theirs = make(initializers), make(keras.initializers)
    assert ours.get_config() == theirs.get_config()
    assert initializers.serialize(ours) == keras.initializers.serialize(theirs)
    again = initializers.get(initializers.serialize(ours))
    assert type(again) is type(ours) and again.get_config() == ours.get_config()


def test_initializer_from_keras_config_and_identity_config():
    spec = {"module": "keras.initializers", "class_name": "VarianceScaling",
            "config": {"scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": 3}}
    init = initializers.get(spec)
    assert init.distribution == "truncated_normal" and init.seed == 3
    assert initializers.Identity(gain=2.0).get_config() == {"gain": 2.0}
    assert initializers.get(initializers.serialize(initializers.Identity(gain=2.0))).gain == 2.0
    assert isinstance(initializers.get(initializers.HeUniform), initializers.HeUniform)


def test_layers_use_initializers_everywhere():
    d = layers.Dense(3, kernel_initializer=initializers.Constant(0.5), bias_initializer="ones")
    d.build((None, 4))
    np.testing.assert_array_equal(d.kernel.numpy(), np.full((4, 3), 0.5))
    np.testing.assert_array_equal(d.bias.numpy(), np.ones(3))
    d = layers.Dense(4, kernel_initializer="orthogonal")
    d.build((None, 6))
    np.testing.assert_allclose(_np(d.kernel).T @ _np(d.kernel), np.eye(4), atol=1e-5)
    d = layers.Dense(5, kernel_initializer={"class_name": "Identity", "config": {"gain": 2.0}})
    d.build((None, 5))
    np.testing.assert_array_equal(d.kernel.numpy(), 2 * np.eye(5))
    c1, c2 = (layers.Conv2D(4, 3, kernel_initializer=initializers.HeNormal(seed=3)) for _ in range(2))
    c1.build((None, 8, 8, 2))
    c2.build((None, 8, 8, 2))
    np.testing.assert_array_equal(c1.kernel.numpy(), c2.kernel.numpy())
    bn = layers.BatchNormalization(gamma_initializer=initializers.Constant(2.0))
    bn.build((None, 3))
    np.testing.assert_array_equal(bn.gamma.numpy(), [2, 2, 2])
    lam = layers.Dense(2, kernel_initializer=lambda shape, dtype=None: np.full(shape, 7.0))
    lam.build((None, 2))
    np.testing.assert_array_equal(lam.kernel.numpy(), np.full((2, 2), 7.0))

    class Custom(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="identity")

        def call(self, x):
            return ember.ops.matmul(x, self.w)
    c = Custom()
    c(np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(c.w.numpy(), np.eye(2))


def test_model_with_initializer_objects_saves_and_loads(tmp_path):
    model = models.Sequential([layers.Input((4,)),
                               layers.Dense(3, kernel_initializer=initializers.Orthogonal(seed=2),
                                            kernel_regularizer=regularizers.L1L2(0.01, 0.02),
                                            kernel_constraint=constraints.MaxNorm(1.5),
                                            activity_regularizer="l2"),
                               layers.Dense(1, bias_initializer=initializers.Constant(0.25))])
    path = tmp_path / "m.ember"
    model.save(path)
    loaded = models.load_model(path)
    first = loaded.layers[0]
    assert isinstance(first.kernel_initializer, initializers.Orthogonal)
    assert first.kernel_regularizer.get_config() == {"l1": 0.01, "l2": 0.02}
    assert first.kernel.constraint.get_config() == {"max_value": 1.5, "axis": 0}
    assert isinstance(first.activity_regularizer, regularizers.L2)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_initializer_errors():
    with pytest.raises(ValueError, match="Unknown initializer: 'magic'.*Received: 'magic'"):
        initializers.get("magic")
    with pytest.raises(ValueError, match="Unknown initializer"):
        layers.Dense(2, kernel_initializer="magic")
    with pytest.raises(TypeError, match="Received: 3.5"):
        initializers.get(3.5)
    with pytest.raises(ValueError, match="Received: mode='fan_sum'"):
        initializers.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="Received: distribution='cauchy'"):
        initializers.VarianceScaling(distribution="cauchy")
    with pytest.raises(ValueError, match="Received: scale=0"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="Received: seed='x'"):
        initializers.GlorotUniform(seed="x")
    with pytest.raises(ValueError, match="at least two-dimensional.*Received: shape=\\(3,\\)"):
        initializers.Orthogonal()((3,))
    with pytest.raises(ValueError, match="2D matrices.*Received: shape=\\(2, 2, 2\\)"):
        initializers.Identity()((2, 2, 2))
    with pytest.raises(TypeError, match="Received: shape='ab'"):
        initializers.Zeros()("ab")
    with pytest.raises(ValueError, match="Received: dtype='int32'"):
        initializers.HeNormal()((2, 2), dtype="int32")
    with pytest.raises(TypeError, match="Received: stddev='big'"):
        initializers.RandomNormal(stddev="big")
    with pytest.raises(ValueError, match="Received: shape=\\(3,\\)"):
        initializers.Constant([1.0, 2.0])((3,))


# ----------------------------------------------------------------- regularizers
def _orthogonal_reg_np(w, factor, mode):
    w = np.asarray(w, np.float64)
    v = w / np.maximum(np.linalg.norm(w, axis=1 if mode == "rows" else 0, keepdims=True), 1e-7)
    if mode == "columns":
        v = v.T
    n = v.shape[0]
    p = v @ v.T
    return factor * 0.5 * np.abs(p - np.diag(np.diag(p))).sum() / (n * (n - 1) / 2)


@pytest.mark.parametrize("make,formula", [
    (lambda m: m.L1(0.3), lambda w: 0.3 * np.abs(w).sum()),
    (lambda m: m.L2(0.2), lambda w: 0.2 * (w ** 2).sum()),
    (lambda m: m.L1L2(l1=0.1, l2=0.05), lambda w: 0.1 * np.abs(w).sum() + 0.05 * (w ** 2).sum()),
    (lambda m: m.L1L2(), lambda w: 0.0),
    (lambda m: m.l1(), lambda w: 0.01 * np.abs(w).sum()),
    (lambda m: m.l2(), lambda w: 0.01 * (w ** 2).sum()),
    (lambda m: m.OrthogonalRegularizer(0.5, "rows"), lambda w: _orthogonal_reg_np(w, 0.5, "rows")),
    (lambda m: m.OrthogonalRegularizer(0.2, "columns"), lambda w: _orthogonal_reg_np(w, 0.2, "columns")),
])
def test_regularizer_values(make, formula):
    w = np.random.default_rng(3).standard_normal((6, 4)).astype(np.float32)
    value = make(regularizers)(ember.ops.convert_to_tensor(w))
    assert value.shape == ()
    np.testing.assert_allclose(float(value), formula(w.astype(np.float64)), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("make", [
    lambda m: m.L1(0.3), lambda m: m.L2(0.2), lambda m: m.L1L2(l1=0.1, l2=0.05), lambda m: m.L1L2(),
    lambda m: m.OrthogonalRegularizer(0.5, "rows"), lambda m: m.OrthogonalRegularizer(0.2, "columns")])
def test_regularizer_values_equal_keras(keras, make):
    w = np.random.default_rng(4).standard_normal((5, 7)).astype(np.float32)
    w[1] = 0.0  # a zero row
    ours, theirs = make(regularizers), make(keras.regularizers)
    expected = float(theirs(keras.ops.convert_to_tensor(w)))
    np.testing.assert_allclose(float(ours(ember.ops.convert_to_tensor(w))), expected, rtol=1e-5, atol=1e-7)
    assert ours.get_config() == pytest.approx(theirs.get_config())


def test_regularizer_get_and_serialize(keras):
    for name in ("l1", "l2", "l1l2", "L1", "L2", "L1L2", "orthogonal_regularizer", "OrthogonalRegularizer"):
        assert type(regularizers.get(name)).__name__ == type(keras.regularizers.get(name)).__name__, name
        assert regularizers.get(name).get_config() == pytest.approx(keras.regularizers.get(name).get_config())
    reg = regularizers.l1_l2(l1=0.001, l2=0.002)
    assert regularizers.serialize(reg) == keras.regularizers.serialize(keras.regularizers.L1L2(0.001, 0.002))
    back = regularizers.get(keras.regularizers.serialize(keras.regularizers.L2(1e-4)))
    assert isinstance(back, regularizers.L2) and back.l2 == 1e-4


def test_weight_regularizers_add_to_the_loss_and_its_gradient():
    d = layers.Dense(3, kernel_regularizer=regularizers.l2(0.1), bias_regularizer=regularizers.l1(0.2),
                     bias_initializer=initializers.Constant(-0.5))
    d.build((None, 4))
    k = _np(d.kernel)
    expected = 0.1 * (k ** 2).sum() + 0.2 * 1.5
    np.testing.assert_allclose(sum(float(v) for v in d.losses), expected, rtol=1e-6)
    with ember.GradientTape() as tape:
        loss = ember.ops.add(d.losses[0], d.losses[1])
    gk, gb = tape.gradient(loss, [d.kernel, d.bias])
    np.testing.assert_allclose(np.asarray(gk), 0.2 * k, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gb), [-0.2] * 3, rtol=1e-6)
    c = layers.Conv2D(2, 2, kernel_regularizer="l1", bias_regularizer=regularizers.L2(1.0))
    c.build((None, 4, 4, 3))
    np.testing.assert_allclose(float(c.losses[0]), 0.01 * np.abs(_np(c.kernel)).sum(), rtol=1e-6)


def test_activity_regularizer_matches_keras(keras):
    x = np.random.default_rng(5).standard_normal((6, 4)).astype(np.float32)
    kd = keras.layers.Dense(3, activity_regularizer=keras.regularizers.L2(0.3))
    kd(x)
    ours = layers.Dense(3, activity_regularizer=regularizers.L2(0.3))
    ours.build((None, 4))
    ours.set_weights([np.asarray(w) for w in kd.get_weights()])
    y = ours(x)
    np.testing.assert_allclose(float(ours.losses[0]), 0.3 * (y.numpy().astype(np.float64) ** 2).sum() / 6, rtol=1e-5)
    np.testing.assert_allclose(float(ours.losses[0]), float(kd.losses[0]), rtol=1e-5)


def test_regularizers_enter_fit():
    x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
    y = np.zeros((16, 1), np.float32)

    def run(**kwargs):
        ember.utils.set_random_seed(2)
        model = models.Sequential([layers.Input((3,)), layers.Dense(1, kernel_initializer=initializers.Ones(),
                                                                   **kwargs)])
        model.compile(optimizer=optimizers.SGD(0.1), loss="mse")
        return model, model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False).history["loss"][0]
    plain_model, plain = run()
    reg_model, reg = run(kernel_regularizer=regularizers.L2(0.5))
    np.testing.assert_allclose(reg - plain, 0.5 * 3.0, rtol=1e-5)  # kernel is ones before the step
    # the step also shrinks the kernel by lr * 2 * 0.5 * w = 0.1 * w
    np.testing.assert_allclose(_np(reg_model.layers[0].kernel), _np(plain_model.layers[0].kernel) - 0.1, rtol=1e-5)
    act_model, act = run(activity_regularizer=regularizers.L1(0.25))
    out = x.astype(np.float64).sum(axis=1)  # the first prediction: kernel ones, bias zero
    np.testing.assert_allclose(act - plain, 0.25 * np.abs(out).sum() / 16, rtol=1e-5)


def test_regularizer_errors():
    with pytest.raises(ValueError, match="Received: l2=-1"):
        regularizers.L2(-1)
    with pytest.raises(TypeError, match="Received: l1='a'"):
        regularizers.L1("a")
    with pytest.raises(ValueError, match="Received: mode='diagonal'"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank 2.*Received: inputs.shape=\\(2, 2, 2\\)"):
        regularizers.OrthogonalRegularizer()(np.ones((2, 2, 2), np.float32))
    with pytest.raises(ValueError, match="Unknown regularizer: 'l3'.*Received"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="Unknown regularizer"):
        layers.Dense(2, kernel_regularizer="l3")


# ----------------------------------------------------------------- constraints
def _norm(w, axis):
    return np.sqrt((w ** 2).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("make,formula", [
    (lambda m: m.MaxNorm(), lambda w: w * np.clip(_norm(w, 0), 0, 2) / (1e-7 + _norm(w, 0))),
    (lambda m: m.MaxNorm(1.0, axis=1), lambda w: w * np.clip(_norm(w, 1), 0, 1) / (1e-7 + _norm(w, 1))),
    (lambda m: m.NonNeg(), lambda w: w * (w >= 0)),
    (lambda m: m.UnitNorm(), lambda w: w / (1e-7 + _norm(w, 0))),
    (lambda m: m.UnitNorm(axis=[0, 1]), lambda w: w / (1e-7 + _norm(w, (0, 1)))),
    (lambda m: m.MinMaxNorm(0.5, 1.5, rate=0.5),
     lambda w: w * (0.5 * np.clip(_norm(w, 0), 0.5, 1.5) + 0.5 * _norm(w, 0)) / (1e-7 + _norm(w, 0))),
    (lambda m: m.MinMaxNorm(axis=1), lambda w: w * np.clip(_norm(w, 1), 0, 1) / (1e-7 + _norm(w, 1))),
])
def test_constraint_values(make, formula):
    w = (np.random.default_rng(6).standard_normal((5, 4)) * np.array([0.05, 0.5, 1, 3])).astype(np.float32)
    np.testing.assert_allclose(_np(make(constraints)(ember.ops.convert_to_tensor(w))),
                               formula(w.astype(np.float64)), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("make", [
    lambda m: m.MaxNorm(), lambda m: m.MaxNorm(0.7, axis=1), lambda m: m.NonNeg(), lambda m: m.UnitNorm(),
    lambda m: m.MinMaxNorm(0.5, 1.5, rate=0.5), lambda m: m.MinMaxNorm(axis=1)])
def test_constraint_values_equal_keras(keras, make):
    w = (np.random.default_rng(7).standard_normal((6, 3)) * np.array([0.05, 1, 3])).astype(np.float32)
    ours, theirs = make(constraints), make(keras.constraints)
    np.testing.assert_allclose(_np(ours(ember.ops.convert_to_tensor(w))), np.asarray(theirs(w)), rtol=1e-5,
                               atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    assert constraints.serialize(ours) == keras.constraints.serialize(theirs)


def test_constraint_get(keras):
    from keras.src.constraints import ALL_OBJECTS_DICT
    for name in ALL_OBJECTS_DICT:
        assert type(constraints.get(name)).__name__ == type(keras.constraints.get(name)).__name__, name
    assert constraints.max_norm is constraints.MaxNorm and constraints.get(None) is None


def _train_one_step(layer, optimizer=None):
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    y = np.random.default_rng(2).standard_normal((8, 3)).astype(np.float32) * 10
    model = models.Sequential([layers.Input((4,)), layer])
    model.compile(optimizer=optimizer or optimizers.SGD(0.5), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    return _np(layer.kernel), _np(layer.bias)


def test_constraints_hold_after_a_training_step():
    k, b = _train_one_step(layers.Dense(3, kernel_constraint=constraints.NonNeg(), bias_constraint="non_neg"))
    assert k.min() >= 0 and b.min() >= 0 and (k > 0).any()
    k, _ = _train_one_step(layers.Dense(3, kernel_initializer=initializers.Constant(2.0),
                                        kernel_constraint=constraints.MaxNorm(1.0)))
    np.testing.assert_array_less(_norm(k, 0), 1.0 + 1e-6)
    k, _ = _train_one_step(layers.Dense(3, kernel_constraint="unit_norm"), optimizers.Adam(0.1))
    np.testing.assert_allclose(_norm(k, 0), 1.0, rtol=1e-5)
    k, _ = _train_one_step(layers.Dense(3, kernel_constraint=constraints.MinMaxNorm(2.0, 3.0)), optimizers.RMSprop())
    assert np.all((_norm(k, 0) > 2 - 1e-5) & (_norm(k, 0) < 3 + 1e-5))


def test_constraint_step_equals_projection_of_the_plain_step():
    def step(constraint):
        ember.utils.set_random_seed(4)
        return _train_one_step(layers.Dense(3, kernel_constraint=constraint))[0]
    np.testing.assert_allclose(step(constraints.MaxNorm(0.3)),
                               _np(constraints.MaxNorm(0.3)(ember.ops.convert_to_tensor(step(None)))), rtol=1e-6)


def test_apply_gradients_applies_the_variable_constraint():
    v = ember.Variable(np.array([[1.0, -1.0], [2.0, -2.0]], np.float32))
    v.constraint = constraints.NonNeg()
    optimizers.SGD(1.0).apply_gradients([(np.full((2, 2), 0.5, np.float32), v)])
    np.testing.assert_array_equal(v.numpy(), [[0.5, 0.0], [1.5, 0.0]])
    layer = layers.Dense(2, kernel_constraint="max_norm")
    layer.build((None, 2))
    assert isinstance(layer.kernel.constraint, constraints.MaxNorm) and layer.bias.constraint is None


def test_constraint_errors():
    with pytest.raises(ValueError, match="Unknown constraint: 'positive'.*Received"):
        constraints.get("positive")
    with pytest.raises(TypeError, match="Received: 5"):
        constraints.get(5)
    with pytest.raises(ValueError, match="Received: max_value=-1"):
        constraints.MaxNorm(-1)
    with pytest.raises(TypeError, match="Received: axis='rows'"):
        constraints.UnitNorm(axis="rows")
    with pytest.raises(ValueError, match="Received: min_value=2, max_value=1"):
        constraints.MinMaxNorm(2, 1)


# ----------------------------------------------------------------- layer arguments
def test_input_dim_dtype_name():
    model = models.Sequential([layers.Dense(4, input_dim=8, activation="relu", name="first"), layers.Dense(1)])
    assert model.layers[0].name == "first"
    assert model.predict(np.ones((2, 8), np.float32), verbose=0).shape == (2, 1)
    assert model.layers[0].kernel.shape == (8, 4)
    assert model.layers[0].get_config()["input_shape"] == [8]
    assert layers.Dense(2, dtype="float32").get_config()["dtype"] == "float32"
    with pytest.raises(ValueError, match="float32.*Received: dtype='float64'"):
        layers.Dense(2, dtype="float64")
    with pytest.raises(ValueError, match="Received: input_dim=0"):
        layers.Dense(2, input_dim=0)
    with pytest.raises(TypeError, match="unexpected keyword arguments: \\['input_length'\\]"):
        layers.Dense(2, input_length=3)
    with pytest.raises(TypeError, match="unexpected keyword arguments: \\['kernel_init'\\]"):
        layers.Dense(2, kernel_init="zeros")


def test_input_length_for_layers_that_take_it():
    class Lookup(layers.Layer):  # the way Embedding declares Keras 2's input_length
        _takes_input_length = True

        def compute_output_shape(self, input_shape):
            return tuple(input_shape) + (2,)

        def call(self, x):
            return ember.ops.stack([x, x], axis=-1)
    layer = Lookup(input_length=5)
    assert layer.get_config()["input_shape"] == [5]
    model = models.Sequential([layer, layers.Flatten(), layers.Dense(1)])
    assert model.predict(np.ones((3, 5), np.float32), verbose=0).shape == (3, 1)
    with pytest.raises(ValueError, match="Received: input_length=-2"):
        Lookup(input_length=-2)


_gpu = pytest.mark.skipif(not ember.cuda.is_available() and not os.environ.get("EMBER_REQUIRE_CUDA"),
                          reason="no CUDA device, or ember built without CUDA")


@pytest.mark.gpu
@_gpu
def test_regularizers_and_constraints_on_the_gpu_equal_the_cpu():
    x = np.random.default_rng(1).standard_normal((8, 4)).astype(np.float32)
    y = np.random.default_rng(2).standard_normal((8, 3)).astype(np.float32)

    def run(device):
        ember.utils.set_random_seed(5)
        model = models.Sequential([layers.Input((4,)), layers.Dense(
            3, kernel_regularizer=regularizers.OrthogonalRegularizer(0.1), bias_regularizer="l1",
            activity_regularizer=regularizers.L2(0.01), kernel_constraint=constraints.MaxNorm(0.5),
            bias_constraint=constraints.NonNeg())])
        model.compile(optimizer=optimizers.SGD(0.3), loss="mse", device=device)
        loss = model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False).history["loss"]
        return loss, [np.asarray(w) for w in model.get_weights()]
    cpu_loss, cpu_w = run("cpu")
    gpu_loss, gpu_w = run("cuda")
    np.testing.assert_allclose(gpu_loss, cpu_loss, rtol=1e-4)
    for a, b in zip(gpu_w, cpu_w):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert np.all(_norm(cpu_w[0], 0) <= 0.5 + 1e-6) and cpu_w[1].min() >= 0
    v = erandom.dropout(ember.Tensor(ember.cuda.place(np.ones((4, 6), np.float32), "cuda")), 0.5,
                        noise_shape=(4, 1), seed=3)
    assert v.device == "cuda"
