# Sources: github.com/keras-team/keras examples/demo_custom_layer_backend_agnostic.py (part 1)
#          github.com/keras-team/keras examples/demo_custom_tf_workflow.py (part 2)
#   (examples/demo_subclass.py is the same MyModel pattern with built-in Dense: subsumed here.)
# Adaptations: imports swapped; hidden 256->32, features 128->24, 50000->512 samples; SGD lr in part 1
# 0.001->0.05 (far fewer steps); part 2: tf.GradientTape -> keras.GradientTape, @tf.function dropped,
# tf.nn.relu -> ops.relu, backend.Variable -> keras.Variable, generator dataset -> one repeated batch
# (so the loss must fall); verbose=0; assertions added.
# Keras APIs used:
# - layers.Layer subclass: super().__init__(name=name), build(input_shape), call(inputs)
# - self.add_weight(shape=, initializer=initializers.GlorotNormal()|initializers.Zeros(), name=, trainable=True)
# - keras.Variable(initial_value, name=) assigned in build(); initializers.GlorotUniform()(shape),
#   initializers.Zeros()(shape) (initializer objects called directly)
# - keras.Model subclass: super().__init__(), sublayers as attributes, call(self, x)
# - keras.random.SeedGenerator(1337), keras.random.dropout(x, rate, seed=seed_generator)
# - ops.matmul, ops.concatenate([..], axis=-1), ops.relu, ops.sum, ops.ones, ops.convert_to_numpy;
#   tensor + variable, tensor ** 2
# - compile(optimizer=optimizers.SGD(learning_rate=), loss=losses.MeanSquaredError(),
#   metrics=[metrics.MeanSquaredError()]); fit(x, y, batch_size=, epochs=, verbose=0); evaluate -> [loss, mse]
# - model.summary(), model.trainable_weights / trainable_variables, layer.weights, variable.name / .shape
# - keras.GradientTape(): tape.gradient(loss, model.trainable_variables); optimizer.apply_gradients(zip(...))
import numpy as np

import ember as keras
from ember import Model
from ember import initializers
from ember import layers
from ember import losses
from ember import metrics
from ember import ops
from ember import optimizers

keras.utils.set_random_seed(0)  # added for the test: a fixed initialisation

rng = np.random.default_rng(0)
x = rng.random((512, 24)).astype("float32")
y = rng.random((512, 4)).astype("float32")
batch_size = 32


# ---------------- part 1: demo_custom_layer_backend_agnostic.py ----------------
class MyDense(layers.Layer):
    def __init__(self, units, name=None):
        super().__init__(name=name)
        self.units = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.w = self.add_weight(shape=(input_dim, self.units),
                                 initializer=initializers.GlorotNormal(), name="kernel", trainable=True)
        self.b = self.add_weight(shape=(self.units,),
                                 initializer=initializers.Zeros(), name="bias", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class MyDropout(layers.Layer):
    def __init__(self, rate, name=None):
        super().__init__(name=name)
        self.rate = rate
        self.seed_generator = keras.random.SeedGenerator(1337)

    def call(self, inputs):
        return keras.random.dropout(inputs, self.rate, seed=self.seed_generator)


class MyModel(Model):
    def __init__(self, hidden_dim, output_dim):
        super().__init__()
        self.dense1 = MyDense(hidden_dim)
        self.dense2 = MyDense(hidden_dim)
        self.dense3 = MyDense(output_dim)
        self.dp = MyDropout(0.5)

    def call(self, x):
        x1 = self.dense1(x)
        x2 = self.dense2(x)
        x = ops.concatenate([x1, x2], axis=-1)
        x = self.dp(x)
        return self.dense3(x)


model = MyModel(hidden_dim=32, output_dim=4)
model.compile(
    optimizer=optimizers.SGD(learning_rate=0.05),
    loss=losses.MeanSquaredError(),
    metrics=[metrics.MeanSquaredError()],
)
loss_before = model.evaluate(x, y, verbose=0)[0]
assert [w.name for w in model.dense1.weights] == ["kernel", "bias"]
assert model.dense1.w.shape == (24, 32) and model.dense3.w.shape == (64, 4)
assert np.all(ops.convert_to_numpy(model.dense1.b) == 0.0)
std = ops.convert_to_numpy(model.dense1.w).std()
assert 0.75 * np.sqrt(2 / (24 + 32)) < std < 1.25 * np.sqrt(2 / (24 + 32)), std
history = model.fit(x, y, batch_size=batch_size, epochs=5, verbose=0)
model.summary()

assert len(model.trainable_weights) == 6
assert model.evaluate(x, y, verbose=0)[0] < 0.5 * loss_before
d1 = ops.convert_to_numpy(model.dp(ops.ones((100, 64))))
d2 = ops.convert_to_numpy(model.dp(ops.ones((100, 64))))
assert set(np.unique(d1)) <= {0.0, 2.0}  # kept units are scaled by 1 / (1 - rate)
assert 0.4 < (d1 == 0).mean() < 0.6
assert not np.array_equal(d1, d2)  # seed generator state advances between calls


# ---------------- part 2: demo_custom_tf_workflow.py ----------------
class MyDense(layers.Layer):
    def __init__(self, units, name=None):
        super().__init__(name=name)
        self.units = units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        w_shape = (input_dim, self.units)
        w_value = initializers.GlorotUniform()(w_shape)
        self.w = keras.Variable(w_value, name="kernel")
        b_shape = (self.units,)
        b_value = initializers.Zeros()(b_shape)
        self.b = keras.Variable(b_value, name="bias")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class MyModel(Model):
    def __init__(self, hidden_dim, output_dim):
        super().__init__()
        self.dense1 = MyDense(hidden_dim)
        self.dense2 = MyDense(hidden_dim)
        self.dense3 = MyDense(output_dim)

    def call(self, x):
        x = ops.relu(self.dense1(x))
        x = ops.relu(self.dense2(x))
        return self.dense3(x)


def loss_fn(y_true, y_pred):
    return ops.sum((y_true - y_pred) ** 2)


model = MyModel(hidden_dim=32, output_dim=4)
optimizer = optimizers.SGD(learning_rate=0.001)
dataset = [(rng.random((32, 24)).astype("float32"), rng.random((32, 4)).astype("float32"))] * 20


def train_step(data):  # was @tf.function(jit_compile=True) with tf.GradientTape
    x, y = data
    with keras.GradientTape() as tape:
        y_pred = model(x)
        loss = loss_fn(y, y_pred)
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return loss


loss_history = []
for data in dataset:
    loss = train_step(data)
    loss_history.append(float(loss))
assert len(model.trainable_variables) == 6  # keras.Variable attributes are tracked
assert loss_history[-1] < 0.5 * loss_history[0], loss_history
print("OK custom_layer_demos")
