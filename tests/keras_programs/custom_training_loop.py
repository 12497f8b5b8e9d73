# Sources: keras.io guide "Writing a training loop from scratch in TensorFlow"
#   https://keras.io/guides/writing_a_custom_training_loop_in_tensorflow/
#   (keras-team/keras-io guides/keras_core/writing_a_custom_training_loop_in_tensorflow.py)
# Adaptations: tf.GradientTape -> keras.GradientTape; optimizer.apply(grads, vars) ->
# optimizer.apply_gradients(zip(grads, vars)); tf.data pipelines -> NumPy batching; @tf.function,
# timing/logging, and the GAN section dropped; MNIST -> 10 Gaussian blobs
# (784 -> 32 features); assertions added.
# Keras APIs used:
# - keras.Input(shape=, name=), keras.layers.Dense(units, activation=, name=), keras.Model(inputs=, outputs=)
# - keras.optimizers.Adam(learning_rate=)
# - keras.losses.SparseCategoricalCrossentropy(from_logits=True) called as loss_fn(y_true, logits)
# - keras.GradientTape() context manager (TF semantics): tape.gradient(loss, model.trainable_weights)
# - optimizer.apply_gradients(zip(grads, model.trainable_weights))
# - model(x, training=True|False); model.trainable_weights; model.losses
# - keras.metrics.SparseCategoricalAccuracy(): update_state(y, logits), result(), reset_state()
# - keras.layers.Layer subclass with self.add_loss(...) inside call; `loss_value += sum(model.losses)`
# - float(tensor) on a scalar loss / metric result; ops.sum; Python sum() over a list of loss tensors
import numpy as np

import ember as keras
from ember import ops

keras.utils.set_random_seed(0)  # added for the test: a fixed initialisation

rng = np.random.default_rng(0)


def get_model():
    inputs = keras.Input(shape=(32,), name="digits")
    x1 = keras.layers.Dense(64, activation="relu")(inputs)
    x2 = keras.layers.Dense(64, activation="relu")(x1)
    outputs = keras.layers.Dense(10, name="predictions")(x2)
    model = keras.Model(inputs=inputs, outputs=outputs)
    return model


centers = rng.normal(size=(10, 32))
y_all = rng.integers(0, 10, size=1200)
x_all = (centers[y_all] + rng.normal(size=(1200, 32))).astype("float32")
# Reserve 200 samples for validation.
x_train, y_train, x_val, y_val = x_all[:-200], y_all[:-200], x_all[-200:], y_all[-200:]
batch_size = 32


def batches(x, y, shuffle):  # stands in for tf.data.Dataset(...).shuffle(1024).batch(batch_size)
    idx = rng.permutation(len(x)) if shuffle else np.arange(len(x))
    for i in range(0, len(x), batch_size):
        yield x[idx[i : i + batch_size]], y[idx[i : i + batch_size]]


model = get_model()
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
train_acc_metric = keras.metrics.SparseCategoricalAccuracy()
val_acc_metric = keras.metrics.SparseCategoricalAccuracy()

initial_loss = float(loss_fn(y_train, model(x_train, training=False)))
epochs = 3
for epoch in range(epochs):
    for step, (x_batch_train, y_batch_train) in enumerate(batches(x_train, y_train, True)):
        with keras.GradientTape() as tape:
            logits = model(x_batch_train, training=True)  # Logits for this minibatch
            loss_value = loss_fn(y_batch_train, logits)
        grads = tape.gradient(loss_value, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        train_acc_metric.update_state(y_batch_train, logits)
        if step % 10 == 0:
            print(f"Training loss (for 1 batch) at step {step}: {float(loss_value):.4f}")
    train_acc = float(train_acc_metric.result())
    train_acc_metric.reset_state()
    for x_batch_val, y_batch_val in batches(x_val, y_val, False):
        val_logits = model(x_batch_val, training=False)
        val_acc_metric.update_state(y_batch_val, val_logits)
    val_acc = float(val_acc_metric.result())
    val_acc_metric.reset_state()
    print(f"epoch {epoch}: train acc {train_acc:.4f}, val acc {val_acc:.4f}")

assert len(grads) == 6 and all(g is not None for g in grads)
assert float(train_acc_metric.result()) == 0.0  # reset_state() cleared the metric
assert float(loss_fn(y_train, model(x_train, training=False))) < 0.5 * initial_loss
assert val_acc > 0.8, val_acc


# ---- Low-level handling of losses tracked by the model ----
class ActivityRegularizationLayer(keras.layers.Layer):
    def call(self, inputs):
        self.add_loss(1e-2 * ops.sum(inputs))
        return inputs


inputs = keras.Input(shape=(32,), name="digits")
x = keras.layers.Dense(64, activation="relu")(inputs)
x = ActivityRegularizationLayer()(x)  # Insert activity regularization as a layer
x = keras.layers.Dense(64, activation="relu")(x)
outputs = keras.layers.Dense(10, name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)

reg_losses = []
for x_batch_train, y_batch_train in batches(x_train, y_train, True):
    with keras.GradientTape() as tape:
        logits = model(x_batch_train, training=True)
        loss_value = loss_fn(y_batch_train, logits)
        loss_value += sum(model.losses)  # Add any extra losses created during the forward pass.
    grads = tape.gradient(loss_value, model.trainable_weights)
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    reg_losses.append(float(sum(model.losses)))
assert len(model.losses) == 1 and reg_losses[0] > 0
assert np.mean(reg_losses[-5:]) < reg_losses[0]  # the activity penalty is being minimized too
print("OK custom_training_loop")
