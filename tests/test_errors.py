"""Bad input from Python raises ValueError / TypeError with a message that
says what was expected and what was received; nothing crashes."""
import numpy as np
import pytest

import ember
from ember import _core, kernels


def f32(*shape):
    return np.ones(shape, np.float32)


def test_conv_channel_mismatch_message():
    with pytest.raises(ValueError, match=r"Received: kernel shape \(3, 3, 2, 8\) but input has 3 channels"):
        kernels.conv2d(f32(1, 5, 5, 3), f32(3, 3, 2, 8))


@pytest.mark.parametrize("call", [
    lambda: kernels.conv2d(f32(5, 5, 3), f32(3, 3, 3, 8)),
    lambda: kernels.conv2d(f32(1, 5, 5, 3), f32(3, 3, 3)),
    lambda: kernels.conv2d(f32(1, 5, 5, 3), f32(3, 3, 3, 8), padding="full"),
    lambda: kernels.conv2d(f32(1, 5, 5, 3), f32(3, 3, 3, 8), strides=0),
    lambda: kernels.conv2d(f32(1, 5, 5, 3), f32(3, 3, 3, 8), strides=(1, -1)),
    lambda: kernels.conv2d(f32(1, 2, 2, 3), f32(3, 3, 3, 8)),
    lambda: kernels.conv2d(f32(1, 5, 5, 3), f32(3, 3, 3, 8), f32(7)),
    lambda: kernels.conv2d(f32(1, 9, 9, 3), f32(3, 3, 3, 8), strides=2, dilation_rate=2),
    lambda: kernels.conv2d_backward(f32(1, 2, 2, 8), f32(1, 5, 5, 3), f32(3, 3, 3, 8)),
    lambda: kernels.matmul(f32(3, 4), f32(5, 6)),
    lambda: kernels.matmul(f32(3), f32(3, 2)),
    lambda: kernels.dense(f32(2, 3), f32(4, 5)),
    lambda: kernels.dense(f32(2, 3), f32(3, 5), f32(4)),
    lambda: kernels.max_pool2d(f32(1, 4, 4)),
    lambda: kernels.max_pool2d(f32(1, 1, 1, 1), (2, 2)),
    lambda: kernels.max_pool2d(f32(1, 4, 4, 1), (0, 2)),
    lambda: kernels.max_pool2d_backward(f32(1, 3, 3, 1), f32(1, 4, 4, 1)),
    lambda: kernels.softmax_backward(f32(2, 3), f32(2, 4)),
    lambda: kernels.categorical_crossentropy(f32(2, 3), f32(2, 4)),
    lambda: kernels.sparse_categorical_crossentropy(np.array([0, 5]), f32(2, 3)),
    lambda: kernels.sparse_categorical_crossentropy(np.array([0, -1]), f32(2, 3)),
    lambda: kernels.sparse_categorical_crossentropy(np.array([0, 1, 2]), f32(2, 3)),
    lambda: kernels.dropout(f32(3), 1.0),
    lambda: kernels.dropout(f32(3), -0.1),
    lambda: kernels.dropout(f32(3), float("nan")),
    lambda: _core.activation(f32(3), "swish"),
    lambda: kernels.batch_normalization(f32(2, 3), f32(4), f32(3), f32(3), f32(3)),
    lambda: kernels.adam_update(f32(3), f32(4), f32(3), f32(3)),
    lambda: kernels.adam_update(f32(3), f32(3), f32(3), f32(3), step=0),
    lambda: kernels.adam_update(f32(3).copy(order="C")[::-1], f32(3), f32(3), f32(3)),
    lambda: ember.set_num_threads(0),
    lambda: _core.matmul(f32(2, 2), f32(2, 2), beta=1.0),
])
def test_value_errors(call):
    with pytest.raises(ValueError):
        call()


@pytest.mark.parametrize("call", [
    lambda: kernels.relu(None),
    lambda: kernels.relu(np.array(["a", "b"])),
    lambda: kernels.relu(np.array([1 + 2j])),
    lambda: kernels.relu(object()),
    lambda: kernels.matmul(f32(2, 2), {"a": 1}),
    lambda: kernels.conv2d(f32(1, 5, 5, 3), f32(3, 3, 3, 8), strides="2"),
    lambda: kernels.conv2d(f32(1, 5, 5, 3), f32(3, 3, 3, 8), padding=None),
    lambda: kernels.adam_update([1.0, 2.0], f32(2), f32(2), f32(2)),
    lambda: kernels.adam_update(np.ones(2), f32(2), f32(2), f32(2)),
    lambda: kernels.sparse_categorical_crossentropy(np.array(["x", "y"]), f32(2, 3)),
    lambda: ember.set_num_threads(1.5),
])
def test_type_errors(call):
    with pytest.raises(TypeError):
        call()


def test_read_only_parameter_is_refused():
    p = f32(4)
    p.setflags(write=False)
    with pytest.raises(ValueError, match="read-only"):
        kernels.sgd_update(p, f32(4), None, 0.1)


def test_read_only_inputs_are_fine():
    x = f32(2, 3)
    x.setflags(write=False)
    assert kernels.relu(x).shape == (2, 3)


@pytest.mark.parametrize("shape", [(0, 4), (0, 5, 5, 3)])
def test_empty_batches_do_not_crash(shape):
    x = np.zeros(shape, np.float32)
    assert kernels.relu(x).shape == shape
    if len(shape) == 4:
        assert kernels.conv2d(x, f32(3, 3, 3, 2)).shape == (0, 3, 3, 2)
        assert kernels.max_pool2d(x).shape == (0, 2, 2, 3)
    else:
        assert kernels.dense(x, f32(4, 2)).shape == (0, 2)
        loss, d, _ = kernels.softmax_categorical_crossentropy(x, x)
        assert loss == 0.0 and d.shape == shape


def test_nan_propagates_through_max_pool_and_relu():
    x = np.array([[1.0, np.nan], [0.5, 2.0]], np.float32).reshape(1, 2, 2, 1)
    assert np.isnan(kernels.max_pool2d(x)).all()
    assert np.isnan(kernels.relu(np.array([np.nan], np.float32))).all()
