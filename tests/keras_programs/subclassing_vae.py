# Source: keras.io guide "Making new layers and models via subclassing", section
#   "Putting it all together: an end-to-end example" (Variational AutoEncoder)
#   https://keras.io/guides/making_new_layers_and_models_via_subclassing/
#   (keras-team/keras-io guides/keras_core/making_new_layers_and_models_via_subclassing.py, Keras 3)
# Adaptations: MNIST (784-dim) -> 512 synthetic vectors in [0,1] near a 3-dim subspace (dim 32);
# VAE(784, 64, 32) -> VAE(32, 16, 4); epochs 2 -> 4; verbose=0; docstrings dropped; assertions added.
# Keras APIs used:
# - layers.Layer subclass without build (Sampling) called on a tuple, unpacking it in call
# - layers.Layer subclass with super().__init__(name=name, **kwargs), returning a 3-tuple from call
# - layers.Dense(units, activation="relu"|"sigmoid"), nested-layer weight tracking
# - keras.random.normal(shape=(batch, dim)) (unseeded), ops.shape(x)[i], ops.exp, ops.square, ops.mean
# - keras.Model subclass with name= kwarg; self.add_loss(kl_loss) inside Model.call
# - vae.compile(optimizer, loss=keras.losses.MeanSquaredError()) (optimizer passed positionally),
#   keras.optimizers.Adam(learning_rate=1e-3)
# - vae.fit(x, x, epochs=, batch_size=, verbose=0) (compiled loss + add_loss), history.history
# - vae(x) eager call, vae.losses, vae.trainable_weights, layer.name
import numpy as np

import ember as keras
from ember import ops
from ember import layers

keras.utils.set_random_seed(0)  # added for the test: a fixed initialisation

rng = np.random.default_rng(0)


class Sampling(layers.Layer):
    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch = ops.shape(z_mean)[0]
        dim = ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim))
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(layers.Layer):
    def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean = self.dense_mean(x)
        z_log_var = self.dense_log_var(x)
        z = self.sampling((z_mean, z_log_var))
        return z_mean, z_log_var, z


class Decoder(layers.Layer):
    def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        x = self.dense_proj(inputs)
        return self.dense_output(x)


class VariationalAutoEncoder(keras.Model):
    def __init__(self, original_dim, intermediate_dim=64, latent_dim=32, name="autoencoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.original_dim = original_dim
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        # Add KL divergence regularization loss.
        kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl_loss)
        return reconstructed


# MNIST stand-in: 512 vectors in [0, 1] lying near a 3-dim subspace
basis = rng.random((3, 32))
x_train = np.clip(rng.random((512, 3)) @ basis / 1.5, 0, 1).astype("float32")
vae = VariationalAutoEncoder(32, 16, 4)
optimizer = keras.optimizers.Adam(learning_rate=1e-3)
vae.compile(optimizer, loss=keras.losses.MeanSquaredError())
hist = vae.fit(x_train, x_train, epochs=4, batch_size=32, verbose=0)
print(hist.history)
assert hist.history["loss"][-1] < hist.history["loss"][0]
recon = vae(x_train[:8])
assert tuple(recon.shape) == (8, 32) and len(vae.losses) == 1  # the KL term of the last call
assert len(vae.trainable_weights) == 10 and vae.encoder.name == "encoder"
print("OK subclassing_vae")
