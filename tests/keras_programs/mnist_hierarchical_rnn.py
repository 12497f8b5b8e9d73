# Source: keras-team/keras examples/mnist_hierarchical_rnn.py (Keras 2.x examples folder): a hierarchical
#   RNN (HRNN) that encodes each row of pixels with a TimeDistributed LSTM, then the rows with an LSTM.
# Adaptations: imports swapped; mnist.load_data() -> synthetic 12x12 images of 4 classes (which quadrant
#   holds a bright patch), 60000 -> 800 images; row_hidden/col_hidden 128 -> 16; epochs 5 -> 6, batch
#   32; verbose=0; seeded; assertions added.
# Keras APIs used: Input(shape=(row, col, pixel)); TimeDistributed(LSTM(row_hidden)); LSTM(col_hidden);
#   Dense(num_classes, activation='softmax'); Model(x, prediction); compile(loss='categorical_crossentropy',
#   optimizer='rmsprop', metrics=['accuracy']); keras.utils.to_categorical; fit(validation_data=);
#   evaluate.
import numpy as np

import ember as keras
from ember.models import Model
from ember.layers import Input, Dense, TimeDistributed
from ember.layers import LSTM

keras.utils.set_random_seed(0)  # added for the test

# Training parameters.
batch_size = 32
num_classes = 4
epochs = 6

# Embedding dimensions.
row_hidden = 16
col_hidden = 16


def load_data(n, rng):
    y = rng.integers(0, num_classes, n)
    x = rng.integers(0, 80, (n, 12, 12)).astype(np.uint8)
    for i, c in enumerate(y):
        r0, c0 = 6 * (c // 2), 6 * (c % 2)
        x[i, r0 + 1:r0 + 5, c0 + 1:c0 + 5] = 255
    return x, y


rng = np.random.default_rng(0)
# The data, split between train and test sets.
(x_train, y_train), (x_test, y_test) = load_data(800, rng), load_data(200, rng)

# Reshapes data to 4D for Hierarchical RNN.
x_train = x_train.reshape(x_train.shape[0], 12, 12, 1)
x_test = x_test.reshape(x_test.shape[0], 12, 12, 1)
x_train = x_train.astype('float32')
x_test = x_test.astype('float32')
x_train /= 255
x_test /= 255
print('x_train shape:', x_train.shape)
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')

# Converts class vectors to binary class matrices.
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

row, col, pixel = x_train.shape[1:]

# 4D input.
x = Input(shape=(row, col, pixel))

# Encodes a row of pixels using TimeDistributed Wrapper.
encoded_rows = TimeDistributed(LSTM(row_hidden))(x)

# Encodes columns of encoded rows.
encoded_columns = LSTM(col_hidden)(encoded_rows)

# Final predictions and model.
prediction = Dense(num_classes, activation='softmax')(encoded_columns)
model = Model(x, prediction)
model.compile(loss='categorical_crossentropy',
              optimizer='rmsprop',
              metrics=['accuracy'])

assert encoded_rows.shape == (None, row, row_hidden)

# Training.
history = model.fit(x_train, y_train,
                    batch_size=batch_size,
                    epochs=epochs,
                    verbose=0,
                    validation_data=(x_test, y_test))

# Evaluation.
scores = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', scores[0])
print('Test accuracy:', scores[1])
assert history.history['loss'][-1] < history.history['loss'][0] * 0.5, history.history['loss']
assert scores[1] > 0.9, scores
print("OK mnist_hierarchical_rnn")
