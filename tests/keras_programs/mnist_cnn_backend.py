# Source: keras-team/keras examples/mnist_cnn.py (Keras 2.x examples folder): "Trains a simple convnet
#   on the MNIST dataset", which asks the backend for the image data format.
# Adaptations: imports swapped (`from ember import backend as K`, ...); mnist.load_data() -> synthetic
#   16x16 uint8 images of 4 classes (a bright patch in one quadrant, plus noise); num_classes 10 -> 4,
#   filters 32/64 -> 8/16, Dense 128 -> 32, 60000 -> 640 images, batch 128 -> 32, epochs 12 -> 4;
#   Adadelta() -> Adadelta(learning_rate=1.0), the default of the Keras 2 release the example was written
#   for (Keras 3's default is 0.001); verbose=0; seeded; assertions added.
# Keras APIs used: keras.backend.image_data_format(); Sequential().add(Conv2D(32, kernel_size=(3, 3),
#   activation='relu', input_shape=input_shape)); MaxPooling2D(pool_size=(2, 2)); Dropout; Flatten;
#   Dense; keras.utils.to_categorical; compile(loss=keras.losses.categorical_crossentropy (a function),
#   optimizer=keras.optimizers.Adadelta(...), metrics=['accuracy']); fit(validation_data=); evaluate.
import numpy as np

import ember as keras
from ember.models import Sequential
from ember.layers import Dense, Dropout, Flatten
from ember.layers import Conv2D, MaxPooling2D
from ember import backend as K

keras.utils.set_random_seed(0)  # added for the test

batch_size = 32
num_classes = 4
epochs = 4

# input image dimensions
img_rows, img_cols = 16, 16


def load_data(n, rng):
    y = rng.integers(0, num_classes, n)
    x = rng.integers(0, 60, (n, img_rows, img_cols)).astype(np.uint8)
    for i, c in enumerate(y):
        r0, c0 = 8 * (c // 2), 8 * (c % 2)
        x[i, r0 + 2:r0 + 6, c0 + 2:c0 + 6] = 255
    return x, y


rng = np.random.default_rng(0)
# the data, split between train and test sets
(x_train, y_train), (x_test, y_test) = load_data(640, rng), load_data(160, rng)

if K.image_data_format() == 'channels_first':
    x_train = x_train.reshape(x_train.shape[0], 1, img_rows, img_cols)
    x_test = x_test.reshape(x_test.shape[0], 1, img_rows, img_cols)
    input_shape = (1, img_rows, img_cols)
else:
    x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
    x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
    input_shape = (img_rows, img_cols, 1)

x_train = x_train.astype('float32')
x_test = x_test.astype('float32')
x_train /= 255
x_test /= 255
print('x_train shape:', x_train.shape)
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Conv2D(8, kernel_size=(3, 3), activation='relu', input_shape=input_shape))
model.add(Conv2D(16, (3, 3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(32, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(num_classes, activation='softmax'))

model.compile(loss=keras.losses.categorical_crossentropy,
              optimizer=keras.optimizers.Adadelta(learning_rate=1.0),
              metrics=['accuracy'])

history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                    validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
assert K.image_data_format() == 'channels_last' and input_shape == (16, 16, 1)
assert history.history['loss'][-1] < history.history['loss'][0] * 0.5, history.history['loss']
assert score[1] > 0.9, score
print("OK mnist_cnn_backend")
