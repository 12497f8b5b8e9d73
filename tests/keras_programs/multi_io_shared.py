# Source: keras.io guide "The Functional API" -- https://keras.io/guides/functional_api/
#   sections "Models with multiple inputs and outputs" and "Shared layers"
#   (keras-team/keras-io guides/functional_api.py).
# Adaptations: vocab 10000->500, dims shrunk, RMSprop lr 1e-3->1e-2; ONE shared Embedding for title and body (the guide's
# "Shared layers" section) instead of two; LSTM(128)/LSTM(32) -> LSTM(16)/LSTM(8); learnable synthetic
# targets; asserts added.
# Keras APIs used:
# - keras.Input(shape=(None,), name=, dtype="int32"), keras.Input(shape=(num_tags,), name=)
# - layers.Embedding(input_dim, output_dim) called on two different inputs (shared weights)
# - layers.LSTM(units) on variable-length sequences
# - layers.Dense(units, activation=, name=), layers.concatenate([...]) (functional merge)
# - keras.Model(inputs=[...], outputs=[...]); model.trainable_weights
# - compile(optimizer=optimizers.RMSprop(1e-2), loss=[losses.BinaryCrossentropy(from_logits=True),
#   losses.CategoricalCrossentropy(from_logits=True)], loss_weights=[1.0, 0.2])
# - compile(..., loss={"priority": ..., "department": ...}, loss_weights={"priority": 1.0, "department": 0.2})
# - fit({"title":..,"body":..,"tags":..}, {"priority":..,"department":..}, epochs=, batch_size=, verbose=)
# - evaluate(dict, dict, return_dict=True) -> {"loss", "priority_loss", "department_loss"}
# - predict(dict) -> list of 2 arrays; model(list_of_arrays)
import numpy as np

import ember as keras
from ember import layers, ops

rng = np.random.default_rng(0)

num_tags = 12  # Number of unique issue tags
num_words = 500  # Size of vocabulary obtained when preprocessing text data
num_departments = 4  # Number of departments for predictions

title_input = keras.Input(shape=(None,), name="title", dtype="int32")  # Variable-length ints
body_input = keras.Input(shape=(None,), name="body", dtype="int32")  # Variable-length ints
tags_input = keras.Input(shape=(num_tags,), name="tags")  # Binary vectors of size `num_tags`

# Shared layer: the same Embedding instance encodes both text inputs
shared_embedding = layers.Embedding(num_words, 16)
title_features = shared_embedding(title_input)
body_features = shared_embedding(body_input)

# Reduce sequence of embedded words in the title into a single 16-dimensional vector
title_features = layers.LSTM(16)(title_features)
# Reduce sequence of embedded words in the body into a single 8-dimensional vector
body_features = layers.LSTM(8)(body_features)

# Merge all available features into a single large vector via concatenation
x = layers.concatenate([title_features, body_features, tags_input])
assert tuple(x.shape) == (None, 16 + 8 + num_tags)

priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)

model = keras.Model(
    inputs=[title_input, body_input, tags_input],
    outputs=[priority_pred, department_pred],
)
model.summary()
# embedding (1) + 2 LSTMs (3 each) + 2 heads (4); the shared embedding counts once
assert len(model.trainable_weights) == 11

model.compile(
    optimizer=keras.optimizers.RMSprop(1e-2),
    loss=[
        keras.losses.BinaryCrossentropy(from_logits=True),
        keras.losses.CategoricalCrossentropy(from_logits=True),
    ],
    loss_weights=[1.0, 0.2],
)
model.compile(
    optimizer=keras.optimizers.RMSprop(1e-2),
    loss={
        "priority": keras.losses.BinaryCrossentropy(from_logits=True),
        "department": keras.losses.CategoricalCrossentropy(from_logits=True),
    },
    loss_weights={"priority": 1.0, "department": 0.2},
)

# Dummy input data (targets depend on the tags so they are learnable)
n = 640
title_data = rng.integers(0, num_words, size=(n, 10))
body_data = rng.integers(0, num_words, size=(n, 30))
tags_data = rng.integers(0, 2, size=(n, num_tags)).astype("float32")
priority_targets = tags_data[:, :1].copy()
dept_targets = np.eye(num_departments, dtype="float32")[
    np.argmax(tags_data[:, :4] * [1, 2, 3, 4], axis=1)
]
inputs = {"title": title_data, "body": body_data, "tags": tags_data}
targets = {"priority": priority_targets, "department": dept_targets}

before = model.evaluate(inputs, targets, return_dict=True, verbose=0)
history = model.fit(inputs, targets, epochs=8, batch_size=32, verbose=0)
after = model.evaluate(inputs, targets, return_dict=True, verbose=0)
print(before, after)

# ---- checks ----
assert {"loss", "priority_loss", "department_loss"} <= set(after)
assert after["loss"] < before["loss"]
assert after["priority_loss"] < before["priority_loss"]
assert after["department_loss"] < before["department_loss"]
# loss_weights are applied: total = 1.0 * priority + 0.2 * department
np.testing.assert_allclose(
    after["loss"], after["priority_loss"] + 0.2 * after["department_loss"], rtol=1e-3
)
prio, dept = model.predict(inputs, verbose=0)
assert prio.shape == (n, 1) and dept.shape == (n, num_departments)
prio_acc = np.mean((prio[:, 0] > 0) == (priority_targets[:, 0] > 0.5))
print("priority accuracy", prio_acc)
assert prio_acc > 0.8
# variable-length text inputs: other sequence lengths work with the same weights
p2, d2 = model([title_data[:4, :3], body_data[:4, :50], tags_data[:4]])
assert tuple(p2.shape) == (4, 1) and tuple(d2.shape) == (4, num_departments)
print("OK multi_io_shared")
