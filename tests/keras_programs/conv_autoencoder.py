# Source: keras.io examples/vision/autoencoder.py (Keras 3 version, Santiago L. Valdarrama):
#   "Convolutional autoencoder for image denoising".
# Adaptations: imports swapped; MNIST -> synthetic 16x16 images (a bright square at a random place)
#   so nothing is downloaded; 28x28 -> 16x16; 60000/10000 -> 512/128 images; epochs 50/100 -> 6/6,
#   batch 128 -> 64; the matplotlib display() dropped; verbose=0; seeded; assertions added.
# Keras APIs used: layers.Input(shape=(16, 16, 1)); Conv2D(32, (3, 3), activation="relu",
#   padding="same"); MaxPooling2D((2, 2), padding="same"); Conv2DTranspose(32, (3, 3), strides=2,
#   activation="relu", padding="same"); Conv2D(1, (3, 3), activation="sigmoid", padding="same");
#   Model(input, x); compile(optimizer="adam", loss="binary_crossentropy"); fit(x=, y=, shuffle=True,
#   validation_data=); predict; summary.
import numpy as np

import ember as keras
from ember import layers
from ember.models import Model

keras.utils.set_random_seed(0)  # added for the test


def preprocess(array):
    """Normalizes the supplied array and reshapes it."""
    array = array.astype("float32") / 255.0
    array = np.reshape(array, (len(array), 16, 16, 1))
    return array


def noise(array):
    """Adds random noise to each image in the supplied array."""
    noise_factor = 0.4
    noisy_array = array + noise_factor * np.random.normal(loc=0.0, scale=1.0, size=array.shape)
    return np.clip(noisy_array, 0.0, 1.0)


def load_data(n, rng):
    """Stands in for mnist.load_data(): images with one bright 5x5 square."""
    images = np.zeros((n, 16, 16), np.uint8)
    for i, (r, c) in enumerate(rng.integers(0, 11, size=(n, 2))):
        images[i, r:r + 5, c:c + 5] = 255
    return images


np.random.seed(0)
rng = np.random.default_rng(0)
train_data, test_data = load_data(512, rng), load_data(128, rng)

# Normalize and reshape the data
train_data = preprocess(train_data)
test_data = preprocess(test_data)

# Create a copy of the data with added noise
noisy_train_data = noise(train_data)
noisy_test_data = noise(test_data)

input = layers.Input(shape=(16, 16, 1))

# Encoder
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)

# Decoder
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

# Autoencoder
autoencoder = Model(input, x)
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
autoencoder.summary()
assert autoencoder.output.shape == (None, 16, 16, 1)

before = autoencoder.evaluate(test_data, test_data, verbose=0)
history = autoencoder.fit(x=train_data, y=train_data, epochs=6, batch_size=64, shuffle=True,
                          validation_data=(test_data, test_data), verbose=0)
predictions = autoencoder.predict(test_data, verbose=0)
assert predictions.shape == test_data.shape

# Denoising: train the same autoencoder from the noisy images to the clean ones.
history2 = autoencoder.fit(x=noisy_train_data, y=train_data, epochs=6, batch_size=64, shuffle=True,
                           validation_data=(noisy_test_data, test_data), verbose=0)
predictions = autoencoder.predict(noisy_test_data, verbose=0)

err_noisy = float(np.mean((noisy_test_data - test_data) ** 2))
err_denoised = float(np.mean((predictions - test_data) ** 2))
print("reconstruction loss", before, history.history["val_loss"], history2.history["val_loss"])
print("mse noisy", err_noisy, "denoised", err_denoised)
assert history.history["val_loss"][-1] < before * 0.7
assert err_denoised < err_noisy * 0.5, (err_noisy, err_denoised)
print("OK conv_autoencoder")
