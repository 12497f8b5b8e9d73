# Source: keras.io examples/nlp/bidirectional_lstm_imdb.py (Keras 3 version, fchollet).
# Adaptations: imports swapped; keras.datasets.imdb.load_data() -> synthetic ragged review lists (word
#   ids, the label decided by which of two groups of "sentiment" words a review holds) so nothing is
#   downloaded; max_features 20000 -> 2000, maxlen 200 -> 40, LSTM 64 -> 16, 25000 -> 640 reviews;
#   epochs 2 -> 4; verbose=0; seeded; assertions added.
# Keras APIs used: keras.Input(shape=(None,), dtype="int32"); layers.Embedding(max_features, 128);
#   layers.Bidirectional(layers.LSTM(64, return_sequences=True)); layers.Bidirectional(layers.LSTM(64));
#   keras.utils.pad_sequences(x, maxlen=); compile("adam", "binary_crossentropy", ["accuracy"]);
#   fit(validation_data=); evaluate; model.summary().
import numpy as np

import ember as keras
from ember import layers

keras.utils.set_random_seed(0)  # added for the test

max_features = 2000  # Only consider the top 2k words
maxlen = 40  # Only consider the first 40 words of each movie review

# Input for variable-length sequences of integers
inputs = keras.Input(shape=(None,), dtype="int32")
# Embed each integer in a 128-dimensional vector
x = layers.Embedding(max_features, 128)(inputs)
# Add 2 bidirectional LSTMs
x = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(16))(x)
# Add a classifier
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()


def fake_imdb(n, rng):
    """Reviews of 10-80 word ids; positive ones hold words 10-19, negative ones 20-29."""
    xs, ys = [], []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        review = list(rng.integers(30, max_features, size=int(rng.integers(10, 80))))
        for _ in range(3):
            review[int(rng.integers(0, len(review)))] = int(rng.integers(10, 20) if label else rng.integers(20, 30))
        xs.append(review)
        ys.append(label)
    return xs, np.array(ys)


rng = np.random.default_rng(0)
(x_train, y_train), (x_val, y_val) = fake_imdb(640, rng), fake_imdb(160, rng)
print(len(x_train), "Training sequences")
print(len(x_val), "Validation sequences")
# Use pad sequence to standardize sequence length:
# this will truncate sequences longer than 40 words and zero-pad sequences shorter than 40 words.
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)
assert x_train.shape == (640, maxlen) and x_train.dtype == np.int32

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=32, epochs=4, validation_data=(x_val, y_val), verbose=0)

loss = history.history["loss"]
val_acc = history.history["val_accuracy"]
print("loss", [round(v, 4) for v in loss], "val_accuracy", [round(v, 4) for v in val_acc])
assert loss[-1] < loss[0] * 0.6, loss
assert val_acc[-1] > 0.8, val_acc
assert model.evaluate(x_val, y_val, verbose=0)[1] > 0.8
print("OK imdb_bidirectional_lstm")
