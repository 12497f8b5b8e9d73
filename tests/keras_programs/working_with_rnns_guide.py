# Source: keras.io guide "Working with RNNs" (keras-io guides/working_with_rnns.py, Keras 3 version,
#   Scott Zhu and Francois Chollet).
# Adaptations: imports swapped; sizes shrunk (units 128/256/64 -> 16/24/16); the MNIST-as-sequences
#   section trains on synthetic 28x28 "images" whose class is the row holding a bright stroke, 2000
#   samples, epochs 1 -> 3; the LSTMCell/RNN(cell) variant of build_model, the cross-batch statefulness
#   section and the custom-cell section are left out (ember has no RNN(cell) wrapper yet); training of
#   the encoder-decoder and the bidirectional model on synthetic targets added; seeded; assertions added.
# Keras APIs used: Sequential().add(Embedding(input_dim=1000, output_dim=64)); LSTM(128); GRU(256,
#   return_sequences=True); SimpleRNN(128); Dense; LSTM(64, return_sequences=True, return_state=True);
#   LSTM(64, return_state=True, name="encoder") -> [output, state_h, state_c];
#   LSTM(64, name="decoder")(x, initial_state=encoder_state); layers.Input(shape=(None,));
#   Bidirectional(LSTM(64, return_sequences=True), input_shape=(5, 10)); LSTM(units,
#   input_shape=(None, input_dim)); BatchNormalization; SparseCategoricalCrossentropy(from_logits=True);
#   compile(optimizer="sgd"); fit(validation_data=); model.summary(); layer.output shapes.
import numpy as np

import ember as keras
from ember import layers

keras.utils.set_random_seed(0)  # added for the test
rng = np.random.default_rng(0)

# ## Built-in RNN layers: a simple example
model = keras.Sequential()
# Add an Embedding layer expecting input vocab of size 1000, and
# output embedding dimension of size 64.
model.add(layers.Embedding(input_dim=1000, output_dim=64))
# Add a LSTM layer with 128 internal units.
model.add(layers.LSTM(16))
# Add a Dense layer with 10 units.
model.add(layers.Dense(10))
model.summary()
assert model(rng.integers(0, 1000, (3, 7))).shape == (3, 10)

model = keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
# The output of GRU will be a 3D tensor of shape (batch_size, timesteps, 256)
model.add(layers.GRU(24, return_sequences=True))
# The output of SimpleRNN will be a 2D tensor of shape (batch_size, 128)
model.add(layers.SimpleRNN(16))
model.add(layers.Dense(10))
model.summary()
assert model(rng.integers(0, 1000, (3, 7))).shape == (3, 10)
assert model.layers[1].get_weights()[2].shape == (2, 72)  # GRU bias (2, 3 * units): reset_after

# ## Outputs and states
encoder_vocab = 1000
decoder_vocab = 2000

encoder_input = layers.Input(shape=(None,))
encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(encoder_input)

# Return states in addition to output
output, state_h, state_c = layers.LSTM(16, return_state=True, name="encoder")(encoder_embedded)
encoder_state = [state_h, state_c]

decoder_input = layers.Input(shape=(None,))
decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(decoder_input)

# Pass the 2 states to a new LSTM layer, as initial state
decoder_output = layers.LSTM(16, name="decoder")(decoder_embedded, initial_state=encoder_state)
output = layers.Dense(10)(decoder_output)

model = keras.Model([encoder_input, decoder_input], output)
model.summary()

# added: the decoder must learn a class that only the encoder's input shows (through the states)
n = 512
enc = rng.integers(1, encoder_vocab, (n, 6))
dec = rng.integers(1, decoder_vocab, (n, 5))
target = enc[:, 0] % 10
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
h = model.fit([enc, dec], target, batch_size=32, epochs=8, verbose=0).history
print("encoder-decoder", [round(v, 3) for v in h["accuracy"]])
assert h["accuracy"][-1] > 0.6, h

# ## Bidirectional RNNs
model = keras.Sequential()
model.add(layers.Bidirectional(layers.LSTM(16, return_sequences=True), input_shape=(5, 10)))
model.add(layers.Bidirectional(layers.LSTM(8)))
model.add(layers.Dense(10))
model.summary()
assert model.layers[0].output.shape == (None, 5, 32) and model.layers[1].output.shape == (None, 16)
# added: a target that needs both ends of the sequence
xb = rng.normal(size=(512, 5, 10)).astype("float32")
yb = (xb[:, 0, 0] > 0).astype(int) + 2 * (xb[:, -1, 0] > 0).astype(int)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
h = model.fit(xb, yb, batch_size=32, epochs=10, verbose=0).history
print("bidirectional", [round(v, 3) for v in h["accuracy"]])
assert h["accuracy"][-1] > 0.8, h

# ## Performance optimization and CuDNN kernels (the LSTM layer)
batch_size = 64
# Each MNIST image batch is a tensor of shape (batch_size, 28, 28).
# Each input sequence will be of size (28, 28) (height is treated like time).
input_dim = 28

units = 32
output_size = 10  # labels are from 0 to 9


# Build the RNN model
def build_model():
    lstm_layer = keras.layers.LSTM(units, input_shape=(None, input_dim))
    model = keras.models.Sequential(
        [
            lstm_layer,
            keras.layers.BatchNormalization(),
            keras.layers.Dense(output_size),
        ]
    )
    return model


def fake_mnist(n):
    """Stands in for mnist.load_data(): the class is the row (of the first ten) holding a stroke."""
    y = rng.integers(0, 10, n)
    x = rng.uniform(0, 0.3, (n, 28, 28)).astype("float32")
    x[np.arange(n), y * 2 + 4, 5:20] = 1.0
    return x, y


(x_train, y_train), (x_test, y_test) = fake_mnist(2000), fake_mnist(400)
sample, sample_label = x_train[0], y_train[0]

model = build_model()

model.compile(
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    optimizer="sgd",
    metrics=["accuracy"],
)

history = model.fit(x_train, y_train, validation_data=(x_test, y_test), batch_size=batch_size, epochs=3,
                    verbose=0)
print("mnist-as-sequences", history.history)
result = np.argmax(model.predict(np.expand_dims(sample, 0), verbose=0), axis=1)[0]
print("Predicted result is: %s, target result is: %s" % (result, sample_label))
assert history.history["loss"][-1] < history.history["loss"][0], history.history
assert history.history["accuracy"][-1] > history.history["accuracy"][0], history.history
print("OK working_with_rnns_guide")
