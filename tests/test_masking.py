"""Masks ride on eager tensors as in Keras 3: a layer that makes one
(``compute_mask``) attaches it to its outputs, layers that support masking
pass it on, a layer whose ``call`` takes ``mask`` receives it, and the
functional API carries it from layer to layer at run time."""
import numpy as np

import ember
from ember import layers, ops


class MakeMask(layers.Layer):
    """Masks the steps whose first feature is zero."""

    def call(self, x):
        return x * 2.0

    def compute_mask(self, inputs, previous_mask=None):
        return ops.not_equal(inputs[..., 0], 0)


class Spy(layers.Layer):
    def call(self, x, mask=None):
        self.seen = None if mask is None else np.asarray(mask)
        return x


X = np.array([[[1.0], [0.0], [3.0]], [[0.0], [2.0], [2.0]]], np.float32)
EXPECTED = X[..., 0] != 0


def test_a_mask_reaches_a_layer_that_takes_one_through_mask_supporting_layers():
    spy = Spy()
    spy(layers.Dropout(0.5)(layers.Dense(2)(MakeMask()(X))))
    np.testing.assert_array_equal(spy.seen, EXPECTED)


def test_a_layer_without_masking_support_drops_the_mask():
    spy = Spy()
    spy(layers.Flatten()(MakeMask()(X)))
    assert spy.seen is None


def test_an_explicit_mask_argument_wins():
    spy = Spy()
    given = np.ones((2, 3), bool)
    spy(MakeMask()(X), mask=given)
    np.testing.assert_array_equal(spy.seen, given)


def test_merging_layers_keep_a_step_only_where_every_mask_keeps_it():
    a = MakeMask()(X)
    b = MakeMask()(X[:, ::-1].copy())
    spy = Spy()
    spy(layers.Add()([a, b]))
    np.testing.assert_array_equal(spy.seen, EXPECTED & EXPECTED[:, ::-1])


def test_the_functional_api_carries_masks_at_run_time():
    inp = ember.Input((3, 1))
    spy = Spy()
    out = spy(layers.Dense(4)(MakeMask()(inp)))
    model = ember.Model(inp, out)
    model.predict(X, verbose=0)
    np.testing.assert_array_equal(spy.seen, EXPECTED)
    spy2 = Spy()
    seq = ember.Sequential([ember.Input((3, 1)), MakeMask(), layers.Dense(4), spy2])
    seq.predict(X, verbose=0)
    np.testing.assert_array_equal(spy2.seen, EXPECTED)


def test_supports_masking_follows_keras():
    assert layers.Dense(2).supports_masking
    assert not layers.Flatten().supports_masking
    assert MakeMask().supports_masking
    layer = layers.Flatten()
    layer.supports_masking = True
    assert layer.supports_masking


def test_a_loss_on_a_masked_output_averages_over_the_kept_steps_only():
    inp = ember.Input((3, 1))
    model = ember.Model(inp, layers.Dense(2)(MakeMask()(inp)))
    model.compile(optimizer="sgd", loss="mse")
    y = np.zeros((2, 3, 2), np.float32)
    per_step = np.mean(model.predict(X, verbose=0).astype(np.float64) ** 2, axis=-1)
    np.testing.assert_allclose(model.evaluate(X, y, verbose=0), per_step[EXPECTED].mean(), rtol=1e-5)
    weights = np.array([1.0, 3.0], np.float32)
    kept = EXPECTED.astype(np.float64)
    want = np.sum(per_step * kept * weights[:, None]) * kept.size / kept.sum() / kept.size
    np.testing.assert_allclose(model.evaluate(X, y, sample_weight=weights, verbose=0), want, rtol=1e-5)
