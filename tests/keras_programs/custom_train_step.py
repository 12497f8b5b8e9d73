# Source: keras.io guide "Customizing what happens in fit() with TensorFlow"
#   https://keras.io/guides/custom_train_step_in_tensorflow/
#   (keras-team/keras-io guides/custom_train_step_in_tensorflow.py, Keras 3 version)
# Adaptations: tf.GradientTape -> keras.GradientTape; the guide's self.optimizer.apply(grads, vars)
# kept in variant 1, apply_gradients(zip(...)) in variant 2; 1000 -> 512 samples with learnable
# targets; verbose=0; GAN section dropped; assertions added.
# Keras APIs used:
# - keras.Model subclass overriding train_step(self, data) / test_step(self, data), instantiated
#   functionally: CustomModel(inputs, outputs); also subclass with __init__(*args, **kwargs) + extra state
# - self(x, training=True); self.compute_loss(y=, y_pred=, sample_weight=) (uses compile()'s loss)
# - self.trainable_variables; self.optimizer.apply(grads, vars); self.optimizer.apply_gradients(zip(...))
# - self.metrics (compiled: "loss" tracker + compiled metrics), metric.name, metric.update_state(loss) /
#   update_state(y, y_pred[, sample_weight=]), metric.result(); returning {name: result} from train_step
# - overriding the `metrics` property so fit()/evaluate() reset those metrics each epoch
# - keras.metrics.Mean(name=), keras.metrics.MeanAbsoluteError(name=), keras.losses.MeanSquaredError()
# - keras.GradientTape(), tape.gradient(loss, vars)
# - keras.Input(shape=), keras.layers.Dense(1)
# - compile(optimizer="adam", loss="mse", metrics=["mae"]), compile(optimizer="adam") (no loss),
#   compile(loss="mse", metrics=["mae"]) (no optimizer, evaluate only)
# - fit(x, y, epochs=, verbose=0), fit(x, y, sample_weight=sw, ...), evaluate(x, y, verbose=0), predict
import numpy as np

import ember as keras

keras.utils.set_random_seed(0)  # added for the test: a fixed initialisation

rng = np.random.default_rng(0)
x = rng.random((512, 32)).astype("float32")
y = (x @ rng.random((32, 1)) / 8.0).astype("float32")


class CustomModel(keras.Model):
    def train_step(self, data):
        # Unpack the data. Its structure depends on your model and on what you pass to `fit()`.
        if len(data) == 3:
            x, y, sample_weight = data
        else:
            sample_weight = None
            x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)  # Forward pass
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply(gradients, trainable_vars)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred, sample_weight=sample_weight)
        # Return a dict mapping metric names to current value (includes the loss)
        return {m.name: m.result() for m in self.metrics}


inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = CustomModel(inputs, outputs)
model.compile(optimizer="adam", loss="mse", metrics=["mae"])
hist = model.fit(x, y, epochs=3, verbose=0)
print(hist.history)
assert "loss" in hist.history and hist.history["loss"][-1] < hist.history["loss"][0]
sw = rng.random((512, 1)).astype("float32")
hist = model.fit(x, y, sample_weight=sw, epochs=2, verbose=0)  # 3-tuple data path
assert hist.history["loss"][-1] < hist.history["loss"][0]


class CustomModel(keras.Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
        self.loss_fn = keras.losses.MeanSquaredError()

    def train_step(self, data):
        x, y = data
        with keras.GradientTape() as tape:
            y_pred = self(x, training=True)  # Forward pass
            loss = self.loss_fn(y, y_pred)  # Compute our own loss
        trainable_vars = self.trainable_variables
        gradients = tape.gradient(loss, trainable_vars)
        self.optimizer.apply_gradients(zip(gradients, trainable_vars))
        self.loss_tracker.update_state(loss)
        self.mae_metric.update_state(y, y_pred)
        return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

    @property
    def metrics(self):
        # listed here so that `reset_state()` is called automatically at the start of each epoch
        return [self.loss_tracker, self.mae_metric]


inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = CustomModel(inputs, outputs)
model.compile(optimizer="adam")  # We don't pass a loss or metrics here.
hist = model.fit(x, y, epochs=5, verbose=0)
print(hist.history)
assert set(hist.history) == {"loss", "mae"}
assert hist.history["loss"][-1] < hist.history["loss"][0]
# trackers are reset each epoch: their final state is the last epoch's average only
np.testing.assert_allclose(float(model.loss_tracker.result()), hist.history["loss"][-1], rtol=1e-5)
assert float(model.mae_metric.result()) < hist.history["mae"][0]


class CustomModel(keras.Model):
    def test_step(self, data):
        x, y = data
        y_pred = self(x, training=False)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


inputs = keras.Input(shape=(32,))
outputs = keras.layers.Dense(1)(inputs)
model = CustomModel(inputs, outputs)
model.compile(loss="mse", metrics=["mae"])
result = model.evaluate(x, y, verbose=0)  # Evaluate with our custom test_step
pred = model.predict(x, verbose=0)
print(result)
np.testing.assert_allclose(result[0], np.mean((pred - y) ** 2), rtol=1e-3)  # loss == mse
np.testing.assert_allclose(result[1], np.mean(np.abs(pred - y)), rtol=1e-3)  # mae
print("OK custom_train_step")
