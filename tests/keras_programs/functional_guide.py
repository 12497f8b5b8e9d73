# Source: keras.io guide "The Functional API" -- https://keras.io/guides/functional_api/
#   (keras-team/keras-io guides/functional_api.py, Keras 3 version guides/keras_core/functional_api.py)
# Sections kept: first MLP + train/evaluate, ensembling nested models, toy ResNet, custom layer
# + get_config/from_config. MNIST/CIFAR10 downloads -> synthetic data; dims shrunk; plot_model,
# model.save/load_model, Conv2DTranspose autoencoder and VGG19 sections dropped; asserts added.
# Keras APIs used:
# - keras.Input(shape=, name=), KerasTensor .shape / .dtype
# - layers.Dense(units, activation=), layers.Conv2D(filters, 3, activation=, padding="same"|default),
#   layers.MaxPooling2D(3), layers.GlobalAveragePooling2D(), layers.Dropout(0.5)
# - layers.add([a, b]) (functional merge), layers.average([y1, y2, y3])
# - keras.Model(inputs=, outputs=, name=), calling a Model on a KerasTensor (nested models)
# - model.summary(), model.name, model.layers, model.get_weights()/set_weights()
# - compile(loss=losses.SparseCategoricalCrossentropy(from_logits=True) | losses.CategoricalCrossentropy(
#   from_logits=True), optimizer=optimizers.RMSprop() | optimizers.RMSprop(1e-3), metrics=["accuracy"]|["acc"])
# - fit(x, y, batch_size=, epochs=, validation_split=, verbose=), evaluate(x, y, verbose=) -> [loss, acc]
# - predict(x, verbose=0); keras.utils.to_categorical
# - layers.Layer subclass with build/add_weight(initializer="random_normal"), ops.matmul, get_config;
#   model.get_config(), keras.Model.from_config(config, custom_objects={...})
import numpy as np

import ember as keras
from ember import layers, ops

keras.utils.set_random_seed(0)  # added for the test: a fixed initialisation

rng = np.random.default_rng(0)

# ---- A first model: train / evaluate ----
inputs = keras.Input(shape=(64,))
assert tuple(inputs.shape) == (None, 64) and inputs.dtype == "float32"
dense = layers.Dense(64, activation="relu")
x = dense(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
model.summary()

centers = rng.normal(size=(10, 64))  # 10 Gaussian blobs stand in for the 10 digits
y_train, y_test = rng.integers(0, 10, size=1000), rng.integers(0, 10, size=200)
x_train = (centers[y_train] + rng.normal(size=(1000, 64))).astype("float32")
x_test = (centers[y_test] + rng.normal(size=(200, 64))).astype("float32")

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer=keras.optimizers.RMSprop(),
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2, verbose=0)
test_scores = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", test_scores[0], "Test accuracy:", test_scores[1])
assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
assert test_scores[1] > 0.8, test_scores  # chance is 0.1


# ---- All models are callable, just like layers: ensembling ----
def get_model():
    inputs = keras.Input(shape=(128,))
    outputs = layers.Dense(1)(inputs)
    return keras.Model(inputs, outputs)


model1, model2, model3 = get_model(), get_model(), get_model()
inputs = keras.Input(shape=(128,))
y1, y2, y3 = model1(inputs), model2(inputs), model3(inputs)
outputs = layers.average([y1, y2, y3])
ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
xe = rng.normal(size=(5, 128)).astype("float32")
expected = sum(m.predict(xe, verbose=0) for m in (model1, model2, model3)) / 3
np.testing.assert_allclose(ensemble_model.predict(xe, verbose=0), expected, rtol=1e-4, atol=1e-5)
assert len(ensemble_model.trainable_weights) == 6  # weights of the 3 nested models are reused

# ---- A toy ResNet model ----
inputs = keras.Input(shape=(16, 16, 3), name="img")
x = layers.Conv2D(8, 3, activation="relu")(inputs)
x = layers.Conv2D(16, 3, activation="relu")(x)
block_1_output = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(16, 3, activation="relu", padding="same")(block_1_output)
x = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
block_2_output = layers.add([x, block_1_output])
x = layers.Conv2D(16, 3, activation="relu", padding="same")(block_2_output)
x = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
block_3_output = layers.add([x, block_2_output])
x = layers.Conv2D(16, 3, activation="relu")(block_3_output)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(32, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs, outputs, name="toy_resnet")
model.summary()
assert model.name == "toy_resnet" and tuple(block_1_output.shape) == (None, 4, 4, 16)

labels = rng.integers(0, 10, size=400)
x_img = (rng.random((400, 16, 16, 3)) * 0.2 + labels[:, None, None, None] / 10.0).astype("float32")
y_img = keras.utils.to_categorical(labels, 10)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-3),
    loss=keras.losses.CategoricalCrossentropy(from_logits=True),
    metrics=["acc"],
)
loss0 = model.evaluate(x_img, y_img, verbose=0)[0]
hist = model.fit(x_img, y_img, batch_size=32, epochs=5, validation_split=0.2, verbose=0)
assert "acc" in hist.history and "val_acc" in hist.history
loss1 = model.evaluate(x_img, y_img, verbose=0)[0]
print("toy_resnet loss before/after:", loss0, loss1)
assert loss1 < loss0
assert model.predict(x_img[:3], verbose=0).shape == (3, 10)


# ---- Extend the API using custom layers (+ serialization) ----
class CustomDense(layers.Layer):
    def __init__(self, units=32):
        super().__init__()
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True
        )
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {"units": self.units}


inputs = keras.Input((4,))
outputs = CustomDense(10)(inputs)
model = keras.Model(inputs, outputs)
config = model.get_config()
new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
new_model.set_weights(model.get_weights())
xc = rng.normal(size=(3, 4)).astype("float32")
np.testing.assert_allclose(new_model.predict(xc, verbose=0), model.predict(xc, verbose=0), rtol=1e-5)
assert new_model.layers[-1].units == 10 and new_model.layers[-1] is not model.layers[-1]
print("OK functional_guide")
