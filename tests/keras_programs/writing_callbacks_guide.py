# Source: keras.io guides "Writing your own callbacks" (keras-io guides/writing_your_own_callbacks.py,
#   Keras 3 version, Rick Chao and Francois Chollet).
# Adaptations: imports swapped; MNIST (as flat 784-vectors regressed onto the digit) -> synthetic 784-d
#   inputs whose target is a fixed linear function of them plus noise, 1000/1000 samples as the guide
#   takes; the learning-rate schedule's epochs kept, epochs 30/15 -> 8/14; the printing kept; counts of
#   the callback calls and assertions added; seeded.
# Keras APIs used: keras.callbacks.Callback with every hook (on_train_begin/end, on_epoch_begin/end,
#   on_test_begin/end, on_predict_begin/end, on_{train,test,predict}_batch_begin/end) and the logs dict;
#   compile(optimizer=RMSprop(learning_rate=0.1), loss="mean_squared_error",
#   metrics=["mean_absolute_error"]); logs["mean_absolute_error"]; fit/evaluate/predict(callbacks=);
#   self.model.get_weights/set_weights; self.model.stop_training; reading and setting
#   self.model.optimizer.learning_rate.
import numpy as np

import ember as keras

keras.utils.set_random_seed(0)  # added for the test


# Define the Keras model to add callbacks to
def get_model():
    model = keras.Sequential()
    model.add(keras.layers.Dense(1))
    model.compile(
        optimizer=keras.optimizers.RMSprop(learning_rate=0.1),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model


# Load example data (stands in for MNIST: 784 features in [0, 1], a linear target)
rng = np.random.default_rng(0)
w = rng.normal(size=(784,)) / 28.0
x_train = rng.uniform(size=(1000, 784)).astype("float32")
x_test = rng.uniform(size=(1000, 784)).astype("float32")
y_train = (x_train - 0.5) @ w + 4.5 + 0.1 * rng.normal(size=1000)
y_test = (x_test - 0.5) @ w + 4.5 + 0.1 * rng.normal(size=1000)

calls = {}


class CustomCallback(keras.callbacks.Callback):
    def _count(self, name, logs):
        calls[name] = calls.get(name, 0) + 1
        return list(logs.keys()) if logs else []

    def on_train_begin(self, logs=None):
        keys = self._count("train_begin", logs)
        print("Starting training; got log keys: {}".format(keys))

    def on_train_end(self, logs=None):
        keys = self._count("train_end", logs)
        print("Stop training; got log keys: {}".format(keys))

    def on_epoch_begin(self, epoch, logs=None):
        keys = self._count("epoch_begin", logs)
        print("Start epoch {} of training; got log keys: {}".format(epoch, keys))

    def on_epoch_end(self, epoch, logs=None):
        keys = self._count("epoch_end", logs)
        calls["epoch_end_keys"] = sorted(keys)
        print("End epoch {} of training; got log keys: {}".format(epoch, keys))

    def on_test_begin(self, logs=None):
        keys = self._count("test_begin", logs)
        print("Start testing; got log keys: {}".format(keys))

    def on_test_end(self, logs=None):
        keys = self._count("test_end", logs)
        print("Stop testing; got log keys: {}".format(keys))

    def on_predict_begin(self, logs=None):
        keys = self._count("predict_begin", logs)
        print("Start predicting; got log keys: {}".format(keys))

    def on_predict_end(self, logs=None):
        keys = self._count("predict_end", logs)
        print("Stop predicting; got log keys: {}".format(keys))

    def on_train_batch_begin(self, batch, logs=None):
        keys = self._count("train_batch_begin", logs)
        print("...Training: start of batch {}; got log keys: {}".format(batch, keys))

    def on_train_batch_end(self, batch, logs=None):
        keys = self._count("train_batch_end", logs)
        print("...Training: end of batch {}; got log keys: {}".format(batch, keys))

    def on_test_batch_begin(self, batch, logs=None):
        keys = self._count("test_batch_begin", logs)
        print("...Evaluating: start of batch {}; got log keys: {}".format(batch, keys))

    def on_test_batch_end(self, batch, logs=None):
        keys = self._count("test_batch_end", logs)
        print("...Evaluating: end of batch {}; got log keys: {}".format(batch, keys))

    def on_predict_batch_begin(self, batch, logs=None):
        keys = self._count("predict_batch_begin", logs)
        print("...Predicting: start of batch {}; got log keys: {}".format(batch, keys))

    def on_predict_batch_end(self, batch, logs=None):
        keys = self._count("predict_batch_end", logs)
        print("...Predicting: end of batch {}; got log keys: {}".format(batch, keys))


model = get_model()
model.fit(
    x_train,
    y_train,
    batch_size=128,
    epochs=1,
    verbose=0,
    validation_split=0.5,
    callbacks=[CustomCallback()],
)

res = model.evaluate(x_test, y_test, batch_size=128, verbose=0, callbacks=[CustomCallback()])

res = model.predict(x_test, batch_size=128, callbacks=[CustomCallback()])
# 500 training samples in batches of 128: 4 batches; 500 validation samples: 4 test batches, then
# the evaluate call's 8; predict's 8.
assert calls["train_batch_begin"] == calls["train_batch_end"] == 4, calls
assert calls["test_batch_end"] == 4 + 8 and calls["predict_batch_end"] == 8, calls
assert calls["test_begin"] == 2 and calls["epoch_end"] == 1 and calls["train_end"] == 1, calls
assert calls["epoch_end_keys"] == ["loss", "mean_absolute_error", "val_loss", "val_mean_absolute_error"], calls
assert res.shape == (1000, 1)

losses_seen = []


class LossAndErrorPrintingCallback(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        print("Up to batch {}, the average loss is {:7.2f}.".format(batch, logs["loss"]))

    def on_test_batch_end(self, batch, logs=None):
        print("Up to batch {}, the average loss is {:7.2f}.".format(batch, logs["loss"]))

    def on_epoch_end(self, epoch, logs=None):
        losses_seen.append(logs["loss"])
        print(
            "The average loss for epoch {} is {:7.2f} "
            "and mean absolute error is {:7.2f}.".format(epoch, logs["loss"], logs["mean_absolute_error"])
        )


model = get_model()
model.fit(
    x_train,
    y_train,
    batch_size=128,
    epochs=2,
    verbose=0,
    callbacks=[LossAndErrorPrintingCallback()],
)

res = model.evaluate(
    x_test,
    y_test,
    batch_size=128,
    verbose=0,
    callbacks=[LossAndErrorPrintingCallback()],
)


class EarlyStoppingAtMinLoss(keras.callbacks.Callback):
    """Stop training when the loss is at its min, i.e. the loss stops decreasing.

    Arguments:
        patience: Number of epochs to wait after min has been hit. After this
        number of no improvement, training stops.
    """

    def __init__(self, patience=0):
        super().__init__()
        self.patience = patience
        # best_weights to store the weights at which the minimum loss occurs.
        self.best_weights = None

    def on_train_begin(self, logs=None):
        # The number of epoch it has waited when loss is no longer minimum.
        self.wait = 0
        # The epoch the training stops at.
        self.stopped_epoch = 0
        # Initialize the best as infinity.
        self.best = np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = logs.get("loss")
        if np.less(current, self.best):
            self.best = current
            self.wait = 0
            # Record the best weights if current results is better (less).
            self.best_weights = self.model.get_weights()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                self.model.stop_training = True
                print("Restoring model weights from the end of the best epoch.")
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


model = get_model()
stopper = EarlyStoppingAtMinLoss()
history = model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=8,
    verbose=0,
    callbacks=[LossAndErrorPrintingCallback(), stopper],
)
assert stopper.best <= min(history.history["loss"]) + 1e-6


class CustomLearningRateScheduler(keras.callbacks.Callback):
    """Learning rate scheduler which sets the learning rate according to schedule.

    Arguments:
        schedule: a function that takes an epoch index
            (integer, indexed from 0) and current learning rate
            as inputs and returns a new learning rate as output (float).
    """

    def __init__(self, schedule):
        super().__init__()
        self.schedule = schedule

    def on_epoch_begin(self, epoch, logs=None):
        if not hasattr(self.model.optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        # Get the current learning rate from model's optimizer.
        lr = self.model.optimizer.learning_rate
        # Call schedule function to get the scheduled learning rate.
        scheduled_lr = self.schedule(epoch, lr)
        # Set the value back to the optimizer before this epoch starts
        self.model.optimizer.learning_rate = scheduled_lr
        rates.append(float(np.array(scheduled_lr)))
        print(f"\nEpoch {epoch}: Learning rate is {float(np.array(scheduled_lr))}.")


LR_SCHEDULE = [
    # (epoch to start, learning rate) tuples
    (3, 0.05),
    (6, 0.01),
    (9, 0.005),
    (12, 0.001),
]


def lr_schedule(epoch, lr):
    """Helper function to retrieve the scheduled learning rate based on epoch."""
    if epoch < LR_SCHEDULE[0][0] or epoch > LR_SCHEDULE[-1][0]:
        return lr
    for i in range(len(LR_SCHEDULE)):
        if epoch == LR_SCHEDULE[i][0]:
            return LR_SCHEDULE[i][1]
    return lr


rates = []
model = get_model()
history = model.fit(
    x_train,
    y_train,
    batch_size=64,
    epochs=14,
    verbose=0,
    callbacks=[
        LossAndErrorPrintingCallback(),
        CustomLearningRateScheduler(lr_schedule),
    ],
)
np.testing.assert_allclose(rates, [0.1] * 3 + [0.05] * 3 + [0.01] * 3 + [0.005] * 3 + [0.001] * 2, rtol=1e-6)
loss = history.history["loss"]
assert loss[-1] < loss[0] * 0.2, loss
assert model.evaluate(x_test, y_test, verbose=0)[1] < 1.0
print("OK writing_callbacks_guide")
