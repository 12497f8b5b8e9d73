# Sources: github.com/keras-team/keras examples/demo_functional.py (part 1)
#          github.com/keras-team/keras examples/demo_mnist_convnet.py (part 2)
# Adaptations: imports swapped; verbose=0; evaluate() before training for comparison; assertions added.
#  part 1: 512 -> 32 units, 100 -> 20 features, 50000 -> 512 samples, learnable targets instead of
#          random ones; keras.config.disable_traceback_filtering() dropped (debug only).
#  part 2: keras.datasets.mnist.load_data() -> synthetic 16x16x1 images (4 classes: a bright 4x4 patch
#          in one quadrant + noise); filters 32/64 -> 8/16; batch 128 -> 32; epochs 3 -> 5.
# Keras APIs used:
# - layers.Input(shape_tuple) (positional) / layers.Input(shape=...); KerasTensor `x += residual`
#   (symbolic residual add through the operator, no Add layer)
# - keras.Model(inputs, outputs); keras.Sequential([layers.Input(shape=...), layer, ...])
# - layers.Dense(units, activation="relu"|"softmax"), layers.Conv2D(filters, kernel_size=(3, 3),
#   activation="relu") (valid padding, channels_last), layers.MaxPooling2D(pool_size=(2, 2)),
#   layers.Flatten(), layers.Dropout(0.5)
# - compile(optimizer=optimizers.Adam(learning_rate=), loss=losses.MeanSquaredError(),
#   metrics=[metrics.CategoricalAccuracy(name="acc"), metrics.MeanSquaredError(name="mse")])
# - compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
# - fit(x, y, batch_size=, epochs=, validation_split=, verbose=0) -> History.history
# - evaluate(x, y, return_dict=True, verbose=0) -> dict; evaluate(x, y, verbose=0) -> [loss, acc]
# - predict(x, verbose=0) -> np.ndarray; model(x); model.summary(); model.trainable_weights;
#   model.layers (Input not counted); layer.output.shape; model.count_params()
# - keras.utils.to_categorical(y, num_classes); ops.convert_to_numpy
import numpy as np

import ember as keras
from ember import Model
from ember import layers
from ember import losses
from ember import metrics
from ember import ops
from ember import optimizers
from ember.utils import to_categorical

keras.utils.set_random_seed(0)  # added for the test: a fixed initialisation

rng = np.random.default_rng(0)

# ---------------- part 1: demo_functional.py ----------------
inputs = layers.Input((20,))
x = layers.Dense(32, activation="relu")(inputs)
residual = x
x = layers.Dense(32, activation="relu")(x)
x = layers.Dense(32, activation="relu")(x)
x += residual
x = layers.Dense(32, activation="relu")(x)
residual = x
x = layers.Dense(32, activation="relu")(x)
x = layers.Dense(32, activation="relu")(x)
x += residual
residual = x
x = layers.Dense(32, activation="relu")(x)
x = layers.Dense(32, activation="relu")(x)
x += residual
outputs = layers.Dense(16)(x)
model = Model(inputs, outputs)
model.summary()

x = rng.random((512, 20)).astype("float32")
w_true = rng.normal(size=(20, 16)).astype("float32") / np.sqrt(20)
y = (np.tanh(x @ w_true) + 0.5).astype("float32")
batch_size = 32
epochs = 5

model.compile(
    optimizer=optimizers.Adam(learning_rate=0.001),
    loss=losses.MeanSquaredError(),
    metrics=[metrics.CategoricalAccuracy(name="acc"), metrics.MeanSquaredError(name="mse")],
)
scores_before = model.evaluate(x, y, return_dict=True, verbose=0)

history = model.fit(x, y, batch_size=batch_size, epochs=epochs, validation_split=0.2, verbose=0)
scores = model.evaluate(x, y, return_dict=True, verbose=0)
pred = model.predict(x, verbose=0)
print(scores, pred.shape)
assert len(model.trainable_weights) == 9 * 2  # 9 Dense layers, kernel+bias each
assert set(history.history) == {"loss", "acc", "mse", "val_loss", "val_acc", "val_mse"}
assert all(len(v) == epochs for v in history.history.values())
assert history.history["loss"][-1] < history.history["loss"][0]
assert set(scores) == {"loss", "acc", "mse"}
assert scores["loss"] < 0.5 * scores_before["loss"], (scores_before, scores)
assert abs(scores["loss"] - scores["mse"]) < 1e-4  # no regularization: the loss IS the mse metric
assert isinstance(pred, np.ndarray) and pred.shape == (512, 16)
np.testing.assert_allclose(pred[:8], ops.convert_to_numpy(model(x[:8])), rtol=1e-4, atol=1e-5)
assert abs(float(np.mean((pred - y) ** 2)) - scores["mse"]) < 1e-3

# ---------------- part 2: demo_mnist_convnet.py ----------------
num_classes = 4
input_shape = (16, 16, 1)


def make_data(n):
    labels = rng.integers(0, num_classes, size=n)
    images = rng.random((n, 16, 16)).astype("float32") * 0.5
    for i, c in enumerate(labels):
        r, q = divmod(int(c), 2)
        images[i, 2 + 8 * r : 6 + 8 * r, 2 + 8 * q : 6 + 8 * q] += 1.0
    return images, labels


(x_train, y_train), (x_test, y_test) = make_data(1000), make_data(200)
x_train = x_train.astype("float32") / 1.5  # Scale images to the [0, 1] range
x_test = x_test.astype("float32") / 1.5
x_train = np.expand_dims(x_train, -1)  # Make sure images have shape (16, 16, 1)
x_test = np.expand_dims(x_test, -1)
# convert class vectors to binary class matrices
y_train = to_categorical(y_train, num_classes)
y_test = to_categorical(y_test, num_classes)
assert y_train.shape == (1000, num_classes) and np.all(y_train.sum(axis=1) == 1)

batch_size = 32
epochs = 5

model = keras.Sequential(
    [
        layers.Input(shape=input_shape),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(16, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

model.summary()
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
score_before = model.evaluate(x_test, y_test, verbose=0)
history = model.fit(
    x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=0
)
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0], "Test accuracy:", score[1])
assert len(model.layers) == 7  # the Input is not counted as a layer
assert model.layers[0].output.shape == (None, 14, 14, 8)
assert model.layers[3].output.shape == (None, 2, 2, 16)
assert model.layers[4].output.shape == (None, 64)
assert model.count_params() == (9 * 8 + 8) + (9 * 8 * 16 + 16) + (64 * 4 + 4)
assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
assert score[0] < score_before[0]
assert score[1] > 0.8, score
probs = model.predict(x_test, verbose=0)
assert probs.shape == (200, num_classes)
np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
# inference is deterministic (Dropout inactive outside training)
np.testing.assert_allclose(probs, model.predict(x_test, verbose=0), rtol=1e-6)
print("OK keras_demos_fit")
