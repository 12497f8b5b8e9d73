# Source: keras.io examples/timeseries/timeseries_classification_from_scratch.py (Keras 3 version,
#   hfawaz): a fully convolutional network on the FordA univariate time series.
# Adaptations: imports swapped; the FordA .tsv files -> synthetic univariate series (two classes:
#   slow vs fast noisy oscillations, 128 steps), 3601 -> 480 training series; filters 64 -> 16;
#   epochs 500 -> 30, batch 32 -> 16; ReduceLROnPlateau patience 20 -> 5, EarlyStopping patience
#   50 -> 10; verbose=0;
#   the plotting (matplotlib) dropped; the checkpoint goes to a temporary folder; seeded; assertions added.
# Keras APIs used: keras.layers.Input(input_shape); Conv1D(filters=, kernel_size=3, padding="same");
#   BatchNormalization(); ReLU() layer; GlobalAveragePooling1D(); Dense(softmax);
#   keras.models.Model(inputs=, outputs=); callbacks ModelCheckpoint("best_model.keras",
#   save_best_only=True, monitor="val_loss"), ReduceLROnPlateau(monitor=, factor=, patience=, min_lr=),
#   EarlyStopping(monitor=, patience=); compile(loss="sparse_categorical_crossentropy",
#   metrics=["sparse_categorical_accuracy"]); fit(validation_split=0.2); keras.models.load_model;
#   evaluate.
import os
import tempfile

import numpy as np

import ember as keras

keras.utils.set_random_seed(0)  # added for the test
os.chdir(tempfile.mkdtemp())  # added: the checkpoint is written to the current folder


def readucr(n, rng):
    """Stands in for reading FordA: (n, 128) series and labels in {-1, 1}."""
    t = np.arange(128)
    y = rng.choice([-1, 1], size=n)
    freq = np.where(y == 1, 0.25, 0.08)[:, None] * rng.uniform(0.8, 1.2, (n, 1))
    x = np.sin(freq * t + rng.uniform(0, 6.28, (n, 1))) + 0.6 * rng.standard_normal((n, 128))
    return x.astype(np.float32), y


rng = np.random.default_rng(0)
x_train, y_train = readucr(480, rng)
x_test, y_test = readucr(160, rng)

x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
x_test = x_test.reshape((x_test.shape[0], x_test.shape[1], 1))

num_classes = len(np.unique(y_train))

idx = np.random.RandomState(0).permutation(len(x_train))
x_train = x_train[idx]
y_train = y_train[idx]

y_train[y_train == -1] = 0
y_test[y_test == -1] = 0


def make_model(input_shape):
    input_layer = keras.layers.Input(input_shape)

    conv1 = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(input_layer)
    conv1 = keras.layers.BatchNormalization()(conv1)
    conv1 = keras.layers.ReLU()(conv1)

    conv2 = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(conv1)
    conv2 = keras.layers.BatchNormalization()(conv2)
    conv2 = keras.layers.ReLU()(conv2)

    conv3 = keras.layers.Conv1D(filters=16, kernel_size=3, padding="same")(conv2)
    conv3 = keras.layers.BatchNormalization()(conv3)
    conv3 = keras.layers.ReLU()(conv3)

    gap = keras.layers.GlobalAveragePooling1D()(conv3)

    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

    return keras.models.Model(inputs=input_layer, outputs=output_layer)


model = make_model(input_shape=x_train.shape[1:])

epochs = 30
batch_size = 16

callbacks = [
    keras.callbacks.ModelCheckpoint("best_model.keras", save_best_only=True, monitor="val_loss"),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=5, min_lr=0.0001),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=10, verbose=1),
]
model.compile(
    optimizer="adam",
    loss="sparse_categorical_crossentropy",
    metrics=["sparse_categorical_accuracy"],
)
history = model.fit(
    x_train,
    y_train,
    batch_size=batch_size,
    epochs=epochs,
    callbacks=callbacks,
    validation_split=0.2,
    verbose=0,
)

model = keras.models.load_model("best_model.keras")

test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)

print("Test accuracy", test_acc)
print("Test loss", test_loss)
h = history.history
print({k: [round(float(v), 4) for v in vals] for k, vals in h.items()})
assert "sparse_categorical_accuracy" in h and "val_sparse_categorical_accuracy" in h
assert h["loss"][-1] < h["loss"][0], h["loss"]
assert test_acc > 0.85, test_acc
print("OK timeseries_classification")
