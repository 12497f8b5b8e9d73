# Source: keras.io examples/vision/image_classification_from_scratch.py (Keras 3 version, fchollet):
#   images read from a folder with image_dataset_from_directory, augmentation layers inside the model,
#   a small Xception-style network with SeparableConv2D and residual connections.
# Adaptations: imports swapped; the Cats vs Dogs download -> a folder of generated PNG images written in the
#   test (two classes: a bright disc or a bright bar on noise), 180x180 -> 32x32, 2x(1000) -> 2x96 images;
#   block widths (256, 512, 728) -> (16, 32), entry 128 -> 16, final 1024 -> 32; epochs 25 -> 6; the
#   matplotlib display and the tf.data prefetch/map calls dropped (ember's datasets are PyDatasets);
#   verbose=0; seeded; assertions added.
# Keras APIs used: keras.utils.image_dataset_from_directory(dir, validation_split=, subset="both",
#   seed=, image_size=, batch_size=) -> (train_ds, val_ds) with class_names; layers.RandomFlip("horizontal"),
#   layers.RandomRotation(0.1) as a data_augmentation list applied in a loop; layers.Rescaling(1.0 / 255);
#   Conv2D(strides=2, padding="same"); BatchNormalization; Activation("relu"); SeparableConv2D(padding=
#   "same"); MaxPooling2D(3, strides=2, padding="same"); layers.add; GlobalAveragePooling2D; Dropout;
#   Dense(1) with from_logits loss; compile(keras.optimizers.Adam(3e-4),
#   keras.losses.BinaryCrossentropy(from_logits=True), [keras.metrics.BinaryAccuracy(name="acc")]);
#   fit(train_ds, epochs=, validation_data=val_ds); keras.utils.load_img / img_to_array; predict.
import os
import tempfile

import numpy as np
from PIL import Image

import ember as keras
from ember import layers

keras.utils.set_random_seed(0)  # added for the test

# ---- added: a folder of images in the layout the example downloads (one sub-folder per class)
root = os.path.join(tempfile.mkdtemp(), "PetImages")
rng = np.random.default_rng(0)
yy, xx = np.mgrid[0:40, 0:40]
for label in ("Cat", "Dog"):
    os.makedirs(os.path.join(root, label))
    for i in range(96):
        img = rng.integers(0, 90, (40, 40, 3)).astype(np.uint8)
        cy, cx = rng.integers(12, 28, 2)
        if label == "Cat":
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < 64] = 230
        else:
            img[cy - 3:cy + 3, 4:36] = 230
        Image.fromarray(img).save(os.path.join(root, label, f"{i}.png"))
# ---- end of the addition

image_size = (32, 32)
batch_size = 16

train_ds, val_ds = keras.utils.image_dataset_from_directory(
    root,
    validation_split=0.2,
    subset="both",
    seed=1337,
    image_size=image_size,
    batch_size=batch_size,
)
print(train_ds.class_names)
assert train_ds.class_names == ["Cat", "Dog"]

data_augmentation_layers = [
    layers.RandomFlip("horizontal"),
    layers.RandomRotation(0.1),
]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)

    # Entry block
    x = data_augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(16, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    previous_block_activation = x  # Set aside residual

    for size in [16, 32]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)

        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)

        # Project residual
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])  # Add back residual
        previous_block_activation = x  # Set aside next residual

    x = layers.SeparableConv2D(32, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)

    x = layers.GlobalAveragePooling2D()(x)
    if num_classes == 2:
        units = 1
    else:
        units = num_classes

    x = layers.Dropout(0.25)(x)
    # We specify activation=None so as to return logits
    outputs = layers.Dense(units, activation=None)(x)
    return keras.Model(inputs, outputs)


model = make_model(input_shape=image_size + (3,), num_classes=2)

epochs = 6

model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(name="acc")],
)
history = model.fit(train_ds, epochs=epochs, validation_data=val_ds, verbose=0)
print({k: [round(float(v), 3) for v in vals] for k, vals in history.history.items()})

img = keras.utils.load_img(os.path.join(root, "Cat", "6.png"), target_size=image_size)
img_array = keras.utils.img_to_array(img)
img_array = np.expand_dims(img_array, 0)  # Create batch axis

predictions = model.predict(img_array, verbose=0)
score = float(1 / (1 + np.exp(-predictions[0][0])))
print(f"This image is {100 * (1 - score):.2f}% cat and {100 * score:.2f}% dog.")
assert history.history["loss"][-1] < history.history["loss"][0], history.history
assert history.history["acc"][-1] > 0.7, history.history
print("OK image_classification_from_scratch")
