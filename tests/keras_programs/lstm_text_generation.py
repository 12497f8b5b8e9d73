# Source: keras-team/keras examples/lstm_text_generation.py (Keras 2.x examples folder): "Example script
#   to generate text from Nietzsche's writings", a character-level LSTM with a LambdaCallback.
# Adaptations: imports swapped (Keras 3 moved get_file from keras.utils.data_utils to keras.utils); the
#   corpus is a small generated text served from a local HTTP server on 127.0.0.1 (get_file's origin
#   points there; cache_dir is a temporary folder) instead of s3.amazonaws.com; np.bool -> bool (NumPy
#   removed the alias); maxlen 40 -> 20, LSTM 128 -> 64, 400 -> 40 generated characters, two
#   diversities instead of four, epochs 60 -> 4; verbose=0; seeded; assertions added.
# Keras APIs used: keras.utils.get_file(fname, origin=, cache_dir=); Sequential().add(LSTM(128,
#   input_shape=(maxlen, len(chars)))); Dense(softmax); RMSprop(learning_rate=0.01);
#   compile(loss='categorical_crossentropy'); LambdaCallback(on_epoch_end=); fit(callbacks=);
#   predict(x, verbose=0) on boolean one-hot inputs.
import http.server
import io
import os
import tempfile
import threading

import numpy as np

import ember
from ember.callbacks import LambdaCallback
from ember.models import Sequential
from ember.layers import Dense
from ember.layers import LSTM
from ember.optimizers import RMSprop
from ember.utils import get_file

ember.utils.set_random_seed(0)  # added for the test
np.random.seed(0)

# ---- added: serve a small corpus on 127.0.0.1 so that get_file downloads nothing from the internet
corpus_dir = tempfile.mkdtemp()
words = ["the", "will", "to", "power", "is", "truth", "of", "a", "free", "spirit", "and", "man"]
rng = np.random.default_rng(0)
with open(os.path.join(corpus_dir, "nietzsche.txt"), "w", encoding="utf-8") as f:
    f.write(" ".join(" ".join(words[j] for j in rng.permutation(4) + 4 * (i % 3)) + "." for i in range(300)).upper())


class Quiet(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=corpus_dir, **k)

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
origin = f"http://127.0.0.1:{server.server_address[1]}/nietzsche.txt"
# ---- end of the addition

path = get_file('nietzsche.txt', origin=origin, cache_dir=tempfile.mkdtemp())
with io.open(path, encoding='utf-8') as f:
    text = f.read().lower()
print('corpus length:', len(text))

chars = sorted(list(set(text)))
print('total chars:', len(chars))
char_indices = dict((c, i) for i, c in enumerate(chars))
indices_char = dict((i, c) for i, c in enumerate(chars))

# cut the text in semi-redundant sequences of maxlen characters
maxlen = 20
step = 3
sentences = []
next_chars = []
for i in range(0, len(text) - maxlen, step):
    sentences.append(text[i: i + maxlen])
    next_chars.append(text[i + maxlen])
print('nb sequences:', len(sentences))

print('Vectorization...')
x = np.zeros((len(sentences), maxlen, len(chars)), dtype=bool)
y = np.zeros((len(sentences), len(chars)), dtype=bool)
for i, sentence in enumerate(sentences):
    for t, char in enumerate(sentence):
        x[i, t, char_indices[char]] = 1
    y[i, char_indices[next_chars[i]]] = 1


# build the model: a single LSTM
print('Build model...')
model = Sequential()
model.add(LSTM(64, input_shape=(maxlen, len(chars))))
model.add(Dense(len(chars), activation='softmax'))

optimizer = RMSprop(learning_rate=0.01)
model.compile(loss='categorical_crossentropy', optimizer=optimizer)


def sample(preds, temperature=1.0):
    # helper function to sample an index from a probability array
    preds = np.asarray(preds).astype('float64')
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    probas = np.random.multinomial(1, preds, 1)
    return np.argmax(probas)


generated_texts = []


def on_epoch_end(epoch, _):
    # Function invoked at end of each epoch. Prints generated text.
    print()
    print('----- Generating text after Epoch: %d' % epoch)

    start_index = np.random.randint(0, len(text) - maxlen - 1)
    for diversity in [0.2, 1.0]:
        print('----- diversity:', diversity)

        generated = ''
        sentence = text[start_index: start_index + maxlen]
        generated += sentence
        print('----- Generating with seed: "' + sentence + '"')

        for i in range(40):
            x_pred = np.zeros((1, maxlen, len(chars)))
            for t, char in enumerate(sentence):
                x_pred[0, t, char_indices[char]] = 1.

            preds = model.predict(x_pred, verbose=0)[0]
            next_index = sample(preds, diversity)
            next_char = indices_char[next_index]

            sentence = sentence[1:] + next_char
            generated += next_char
        print(generated)
        generated_texts.append(generated)


print_callback = LambdaCallback(on_epoch_end=on_epoch_end)

history = model.fit(x, y, batch_size=128, epochs=4, callbacks=[print_callback], verbose=0)
server.shutdown()

loss = history.history["loss"]
print("loss", [round(v, 4) for v in loss])
assert len(generated_texts) == 8 and all(len(g) == maxlen + 40 for g in generated_texts)
assert loss[-1] < loss[0] * 0.7, loss
# At low temperature the trained model writes the corpus's words.
inner = generated_texts[-2][maxlen:].split()[1:-1]
assert inner and sum(w in words for w in inner) >= 0.6 * len(inner), inner
print("OK lstm_text_generation")
