# Source: keras-team/keras examples/imdb_cnn.py (Keras 2.x examples folder): "This example demonstrates
#   the use of Convolution1D for text classification."
# Adaptations: imports swapped (`from ember.preprocessing import sequence`, `from ember.models import
#   Sequential`, ...); imdb.load_data -> synthetic ragged word-id lists (label from which group of
#   "sentiment" words the review holds); max_features 5000 -> 1000, maxlen 400 -> 60,
#   embedding_dims 50 -> 16, filters 250 -> 16, hidden_dims 250 -> 16, 25000 -> 800 reviews,
#   epochs 2 -> 6; verbose=0; seeded; assertions added.
# Keras APIs used: keras.preprocessing.sequence.pad_sequences(x, maxlen=); Sequential().add(...);
#   Embedding(max_features, embedding_dims, input_length=maxlen) (Keras 2 argument Keras 3 still takes);
#   Dropout; Conv1D(filters, kernel_size, padding='valid', activation='relu', strides=1);
#   GlobalMaxPooling1D; Dense; Activation('relu'|'sigmoid'); compile(loss='binary_crossentropy',
#   optimizer='adam', metrics=['accuracy']); fit(validation_data=).
import numpy as np

import ember
from ember.preprocessing import sequence
from ember.models import Sequential
from ember.layers import Dense, Dropout, Activation
from ember.layers import Embedding
from ember.layers import Conv1D, GlobalMaxPooling1D

ember.utils.set_random_seed(0)  # added for the test

# set parameters:
max_features = 1000
maxlen = 60
batch_size = 32
embedding_dims = 16
filters = 16
kernel_size = 3
hidden_dims = 16
epochs = 6

print('Loading data...')
rng = np.random.default_rng(1)


def load_data(n):
    xs, ys = [], []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        review = list(rng.integers(40, max_features, size=int(rng.integers(20, 100))))
        for _ in range(8):
            review[int(rng.integers(0, len(review)))] = int(rng.integers(10, 25) if label else rng.integers(25, 40))
        xs.append(review)
        ys.append(label)
    return xs, np.array(ys)


(x_train, y_train), (x_test, y_test) = load_data(800), load_data(200)
print(len(x_train), 'train sequences')
print(len(x_test), 'test sequences')

print('Pad sequences (samples x time)')
x_train = sequence.pad_sequences(x_train, maxlen=maxlen)
x_test = sequence.pad_sequences(x_test, maxlen=maxlen)
print('x_train shape:', x_train.shape)
print('x_test shape:', x_test.shape)

print('Build model...')
model = Sequential()

# we start off with an efficient embedding layer which maps
# our vocab indices into embedding_dims dimensions
model.add(Embedding(max_features, embedding_dims, input_length=maxlen))
model.add(Dropout(0.2))

# we add a Convolution1D, which will learn filters
# word group filters of size filter_length:
model.add(Conv1D(filters, kernel_size, padding='valid', activation='relu', strides=1))
# we use max pooling:
model.add(GlobalMaxPooling1D())

# We add a vanilla hidden layer:
model.add(Dense(hidden_dims))
model.add(Dropout(0.2))
model.add(Activation('relu'))

# We project onto a single unit output layer, and squash it with a sigmoid:
model.add(Dense(1))
model.add(Activation('sigmoid'))

model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                    validation_data=(x_test, y_test), verbose=0)

h = history.history
print({k: [round(v, 4) for v in vals] for k, vals in h.items()})
assert model.layers[2].kernel.shape == (kernel_size, embedding_dims, filters)
assert h["loss"][-1] < h["loss"][0] * 0.7, h["loss"]
assert h["val_accuracy"][-1] > 0.8, h["val_accuracy"]
print("OK imdb_cnn")
