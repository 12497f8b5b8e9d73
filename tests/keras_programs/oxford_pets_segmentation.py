# Source: keras.io examples/vision/oxford_pets_image_segmentation.py (Keras 3 version, fchollet): a U-Net-like
#   network (SeparableConv2D downsampling with residuals, Conv2DTranspose + UpSampling2D upsampling).
# Adaptations: imports swapped; the Oxford-IIIT Pets download and the tf.data pipeline -> synthetic 32x32
#   images with a per-pixel 3-class mask (background, a bright square, a dark disc), 7390 -> 256 images;
#   img_size 160 -> 32; filter widths (64, 128, 256) -> (8, 16), 32 -> 8; epochs 50 -> 12, batch 32 -> 8,
#   Adam 1e-4 -> 3e-3; the checkpoint goes to a temporary folder; display code dropped; verbose=0; seeded;
#   assertions added.
# Keras APIs used: keras.Input(shape=img_size + (3,)); Conv2D(strides=2, padding="same"); BatchNormalization;
#   Activation("relu"); SeparableConv2D; MaxPooling2D(3, strides=2, padding="same"); layers.add;
#   Conv2DTranspose(filters, 3, padding="same"); UpSampling2D(2); Conv2D(num_classes, 3,
#   activation="softmax", padding="same"); compile(optimizer=keras.optimizers.Adam(...),
#   loss="sparse_categorical_crossentropy"); callbacks.ModelCheckpoint("oxford_segmentation.keras",
#   save_best_only=True); fit(validation_data=); predict.
import os
import tempfile

import numpy as np

import ember as keras
from ember import layers

keras.utils.set_random_seed(0)  # added for the test
os.chdir(tempfile.mkdtemp())  # added: the checkpoint is written to the current folder

img_size = (32, 32)
num_classes = 3
batch_size = 8


def make_data(n, rng):
    """Stands in for the pets images and trimaps: class 1 a bright square, class 2 a dark disc."""
    yy, xx = np.mgrid[0:32, 0:32]
    x = rng.uniform(0.3, 0.6, (n, 32, 32, 3)).astype("float32")
    y = np.zeros((n, 32, 32, 1), "uint8")
    for i in range(n):
        r, c = rng.integers(2, 18, 2)
        x[i, r:r + 10, c:c + 10] = 0.95
        y[i, r:r + 10, c:c + 10] = 1
        cy, cx = rng.integers(6, 26, 2)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < 20
        x[i, disc] = 0.05
        y[i, disc, 0] = 2
    return x, y


def get_model(img_size, num_classes):
    inputs = keras.Input(shape=img_size + (3,))

    ### [First half of the network: downsampling inputs] ###

    # Entry block
    x = layers.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    # Blocks 1, 2, 3 are identical apart from the feature depth.
    for filters in [8, 16]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    ### [Second half of the network: upsampling inputs] ###

    for filters in [16, 8, 8]:
        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.Conv2DTranspose(filters, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.UpSampling2D(2)(x)

        # Project residual
        residual = layers.UpSampling2D(2)(previous_block_activation)
        residual = layers.Conv2D(filters, 1, padding="same")(residual)
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    # Add a per-pixel classification layer
    outputs = layers.Conv2D(num_classes, 3, activation="softmax", padding="same")(x)

    # Define the model
    model = keras.Model(inputs, outputs)
    return model


# Build model
model = get_model(img_size, num_classes)
model.summary()
assert model.output_shape == (None, 64, 64, num_classes) or model.output_shape == (None, 32, 32, num_classes)

rng = np.random.default_rng(0)
train_x, train_y = make_data(256, rng)
val_x, val_y = make_data(64, rng)
if model.output_shape[1] != 32:  # three upsamplings after two poolings and a stride: crop the targets' size
    raise SystemExit("unexpected output size")

model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")

callbacks = [keras.callbacks.ModelCheckpoint("oxford_segmentation.keras", save_best_only=True)]

# Train the model, doing validation at the end of each epoch.
epochs = 12
history = model.fit(train_x, train_y, epochs=epochs, batch_size=batch_size, validation_data=(val_x, val_y),
                    callbacks=callbacks, verbose=0)
print([round(v, 4) for v in history.history["val_loss"]])

preds = np.argmax(model.predict(train_x, verbose=0), axis=-1)
fg = train_y[..., 0] > 0
pixel_acc = float(np.mean(preds[fg] == train_y[..., 0][fg]))  # on the square and disc pixels
print("foreground pixel accuracy", pixel_acc)
assert os.path.exists("oxford_segmentation.keras")
assert history.history["loss"][-1] < history.history["loss"][0] * 0.5, history.history["loss"]
assert pixel_acc > 0.5, pixel_acc
print("OK oxford_pets_segmentation")
