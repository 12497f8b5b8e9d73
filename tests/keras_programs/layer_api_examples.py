# Source: the code examples of the Keras 3 API reference (keras.io/api/layers/, the docstrings of
#   keras-team/keras keras/src/layers/*): Masking, Permute, ZeroPadding1D/2D, Cropping1D/2D, UpSampling1D/2D,
#   Conv1DTranspose, DepthwiseConv2D, MaxPooling1D, AveragePooling1D, GlobalMaxPooling2D, LayerNormalization,
#   LeakyReLU, Softmax, RandomZoom, and the RepeatVector example.
# Adaptations: imports swapped; each example's printed result turned into an assertion (the values the docs
#   show); LayerNormalization's example gets float data (Keras 3 on JAX returns zeros for the int array); sizes of the random inputs shrunk (e.g. 224x224 images -> 24x24); added at the end: two small models
#   trained with fit that use the layers the reference describes without a code example (PReLU, ELU,
#   GaussianNoise, GaussianDropout, AlphaDropout, SpatialDropout1D/2D, ActivityRegularization,
#   RandomTranslation, RandomContrast, Resizing, CenterCrop); seeded.
# Keras APIs used: the layers above, called on NumPy arrays and on keras.Input; Sequential.add; model(x);
#   layer.output shapes; compile/fit/evaluate.
import numpy as np

import ember as keras

keras.utils.set_random_seed(0)  # added for the test
np.random.seed(0)

# Masking
samples, timesteps, features = 32, 10, 8
inputs = np.random.random([samples, timesteps, features]).astype(np.float32)
inputs[:, 3, :] = 0.
inputs[:, 5, :] = 0.
model = keras.models.Sequential()
model.add(keras.layers.Masking(mask_value=0.0))
model.add(keras.layers.LSTM(32))
output = model(inputs)
# The time steps 3 and 5 will be skipped from LSTM calculation.
assert tuple(output.shape) == (32, 32)
# (added) the same as running the LSTM on the sequence without those steps
assert np.allclose(np.asarray(model(np.delete(inputs, [3, 5], axis=1))), np.asarray(output), atol=1e-5)

# Permute
x = keras.Input(shape=(10, 64))
y = keras.layers.Permute((2, 1))(x)
assert tuple(y.shape) == (None, 64, 10)

# ZeroPadding1D
input_shape = (2, 2, 3)
x = np.arange(np.prod(input_shape)).reshape(input_shape)
y = keras.layers.ZeroPadding1D(padding=2)(x)
assert tuple(y.shape) == (2, 6, 3) and np.asarray(y)[0, 2, 1] == 1 and np.asarray(y)[0, 0].sum() == 0

# ZeroPadding2D
input_shape = (1, 1, 2, 2)
x = np.arange(np.prod(input_shape)).reshape(input_shape)
y = keras.layers.ZeroPadding2D(padding=1)(x)
assert tuple(y.shape) == (1, 3, 4, 2) and np.asarray(y)[0, 1, 1:3].tolist() == [[0, 1], [2, 3]]

# Cropping1D
input_shape = (2, 3, 2)
x = np.arange(np.prod(input_shape)).reshape(input_shape)
y = keras.layers.Cropping1D(cropping=1)(x)
assert np.asarray(y).tolist() == [[[2, 3]], [[8, 9]]]

# Cropping2D
input_shape = (2, 28, 28, 3)
x = np.arange(np.prod(input_shape)).reshape(input_shape)
y = keras.layers.Cropping2D(cropping=((2, 2), (4, 4)))(x)
assert tuple(y.shape) == (2, 24, 20, 3)

# UpSampling1D
input_shape = (2, 2, 3)
x = np.arange(np.prod(input_shape)).reshape(input_shape)
y = keras.layers.UpSampling1D(size=2)(x)
assert np.asarray(y)[0].tolist() == [[0, 1, 2], [0, 1, 2], [3, 4, 5], [3, 4, 5]]

# UpSampling2D
input_shape = (2, 2, 1, 3)
x = np.arange(np.prod(input_shape)).reshape(input_shape)
y = keras.layers.UpSampling2D(size=(1, 2))(x)
assert np.asarray(y)[0].tolist() == [[[0, 1, 2], [0, 1, 2]], [[3, 4, 5], [3, 4, 5]]]

# Conv1DTranspose
x = np.random.rand(4, 10, 128)
y = keras.layers.Conv1DTranspose(32, 3, 2, activation='relu')(x)
assert tuple(y.shape) == (4, 21, 32)

# DepthwiseConv2D
x = np.random.rand(4, 10, 10, 12)
y = keras.layers.DepthwiseConv2D(kernel_size=3, activation='relu')(x)
assert tuple(y.shape) == (4, 8, 8, 12)

# MaxPooling1D and AveragePooling1D
x = np.array([1., 2., 3., 4., 5.])
x = np.reshape(x, [1, 5, 1])
max_pool_1d = keras.layers.MaxPooling1D(pool_size=2, strides=1, padding="valid")
assert np.asarray(max_pool_1d(x)).ravel().tolist() == [2., 3., 4., 5.]
avg_pool_1d = keras.layers.AveragePooling1D(pool_size=2, strides=1, padding="valid")
assert np.asarray(avg_pool_1d(x)).ravel().tolist() == [1.5, 2.5, 3.5, 4.5]

# GlobalMaxPooling2D
x = np.random.rand(2, 4, 5, 3)
y = keras.layers.GlobalMaxPooling2D()(x)
assert tuple(y.shape) == (2, 3) and np.allclose(np.asarray(y), x.max(axis=(1, 2)))

# LayerNormalization
data = np.arange(10).reshape(5, 2) * 10.0  # float: Keras 3 on JAX gives zeros for the docs' int array
layer = keras.layers.LayerNormalization(axis=1)
output = layer(data)
assert np.allclose(np.asarray(output), [[-1., 1.]] * 5, atol=1e-3)

# LeakyReLU
leaky_relu_layer = keras.layers.LeakyReLU(negative_slope=0.5)
input = np.array([-10, -5, 0.0, 5, 10])
result = leaky_relu_layer(input)
assert np.asarray(result).tolist() == [-5., -2.5, 0., 5., 10.]

# Softmax
softmax_layer = keras.layers.Softmax()
input = np.array([1.0, 2.0, 1.0])
result = softmax_layer(input)
assert np.allclose(np.asarray(result), [0.21194157, 0.5761169, 0.21194157], atol=1e-6)

# RandomZoom
input_img = np.random.random((4, 24, 24, 3))
layer = keras.layers.RandomZoom(.5, .2)
out_img = layer(input_img)
assert tuple(out_img.shape) == (4, 24, 24, 3)

# RepeatVector
model = keras.models.Sequential()
model.add(keras.Input(shape=(32,)))
model.add(keras.layers.Dense(32))
model.add(keras.layers.RepeatVector(3))
assert model.output_shape == (None, 3, 32)

# ---- added: the layers without a code example, trained in two small models
rng = np.random.default_rng(0)
seq = rng.normal(size=(256, 12, 4)).astype("float32")
seq_y = (seq[:, :, 0].sum(axis=1) > 0).astype("float32")
model = keras.Sequential([
    keras.Input((12, 4)),
    keras.layers.GaussianNoise(0.05),
    keras.layers.Conv1D(8, 3, padding="same"),
    keras.layers.PReLU(),
    keras.layers.SpatialDropout1D(0.1),
    keras.layers.LayerNormalization(),
    keras.layers.GlobalAveragePooling1D(),
    keras.layers.Dense(8),
    keras.layers.ELU(),
    keras.layers.GaussianDropout(0.1),
    keras.layers.AlphaDropout(0.05),
    keras.layers.ActivityRegularization(l2=1e-4),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
h = model.fit(seq, seq_y, batch_size=32, epochs=12, verbose=0).history
print("sequence model", [round(v, 3) for v in h["accuracy"]])
assert h["loss"][-1] < h["loss"][0] and model.evaluate(seq, seq_y, verbose=0)[1] > 0.8

images = rng.uniform(0, 0.3, (192, 20, 20, 3)).astype("float32")
labels = rng.integers(0, 2, 192)
images[labels == 1, 6:14, 6:14, 0] = 1.0  # a red square in the middle for class 1
model = keras.Sequential([
    keras.Input((20, 20, 3)),
    keras.layers.Resizing(24, 24),
    keras.layers.CenterCrop(20, 20),
    keras.layers.RandomTranslation(0.05, 0.05),
    keras.layers.RandomContrast(0.1),
    keras.layers.Conv2D(8, 3, activation="relu"),
    keras.layers.SpatialDropout2D(0.1),
    keras.layers.GlobalMaxPooling2D(),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
h = model.fit(images, labels, batch_size=32, epochs=8, verbose=0).history
print("image model", [round(v, 3) for v in h["accuracy"]])
assert h["loss"][-1] < h["loss"][0] and model.evaluate(images, labels, verbose=0)[1] > 0.9
print("OK layer_api_examples")
