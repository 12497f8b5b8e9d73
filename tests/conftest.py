import numpy as np
import pytest

import ember


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same ember seed (initial weights, shuffles,
    dropout), so a run's outcome does not depend on the order or the number
    of the tests before it."""
    ember.set_random_seed(20261127)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def threads():
    """Restores the thread count after a test that changes it."""
    before = ember.get_num_threads()
    yield
    ember.set_num_threads(before)


@pytest.fixture(params=["generic", "avx2", "avx512"])
def cpu_variant(request):
    """Runs the test once per CPU variant of the kernels (skipping those the
    CPU lacks), restoring the variant in use afterwards."""
    from ember import _core
    if request.param not in _core.cpu_variants():
        pytest.skip(f"this CPU has no {request.param} kernels")
    before = _core.cpu_variant()
    _core.set_cpu_variant(request.param)
    yield request.param
    _core.set_cpu_variant(before)


def rand(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def assert_close(actual, expected, rtol=1e-4, atol=1e-5):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale)


def directional_check(f, x, grad, rng, h=1e-2, rtol=2e-2):
    """Compares <grad, v> with the central difference of the scalar f along a
    random direction v, in float64 arithmetic on float32 evaluations."""
    v = rng.standard_normal(x.shape).astype(np.float32)
    fp = float(f((x + h * v).astype(np.float32)))
    fm = float(f((x - h * v).astype(np.float32)))
    numeric = (fp - fm) / (2 * h)
    analytic = float(np.sum(grad.astype(np.float64) * v))
    assert abs(numeric - analytic) <= rtol * max(1.0, abs(analytic)), (numeric, analytic)


def input_grad(layer, x, dy=None, training=True):
    """d<layer(x), dy>/dx from the engine (GradientTape); dy defaults to ones."""
    xt = ember.ops.convert_to_tensor(x)
    with ember.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
    seed = np.ones(y.shape, np.float32) if dy is None else dy
    return tape.gradient(y, xt, output_gradients=[seed]).numpy()
