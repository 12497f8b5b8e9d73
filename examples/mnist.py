"""The classic Keras MNIST convnet, written for ember.

    python examples/mnist.py                       # MNIST (downloads once)
    python examples/mnist.py --dataset fashion_mnist   # uses Debian's package offline

Only the imports differ from the Keras program.
"""
import argparse
import time

import numpy as np

import ember
from ember import layers, models
from ember.datasets import fashion_mnist, mnist
from ember.utils import to_categorical


def build_model():
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


class EpochTimer(ember.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self._t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self._t0)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default="mnist")
    p.add_argument("--data-dir", default=None, help="folder holding the four IDX files (.gz or raw)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=None, help="kernel threads (default: all cores)")
    p.add_argument("--seed", type=int, default=None, help="seed for bitwise-reproducible training")
    p.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    p.add_argument("--save", default=None, metavar="PATH", help="save the trained model here")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: train on the GPU (ember built with -Ccmake.define.EMBER_CUDA=ON)")
    args = p.parse_args(argv)

    if args.threads:
        ember.set_num_threads(args.threads)
    if args.seed is not None:
        ember.set_random_seed(args.seed)
    loader = mnist if args.dataset == "mnist" else fashion_mnist
    (train_images, train_labels), (test_images, test_labels) = loader.load_data(path=args.data_dir)
    if args.limit:
        train_images, train_labels = train_images[:args.limit], train_labels[:args.limit]

    train_images = train_images.reshape((-1, 28, 28, 1)).astype("float32") / 255
    test_images = test_images.reshape((-1, 28, 28, 1)).astype("float32") / 255
    train_labels = to_categorical(train_labels)
    test_labels = to_categorical(test_labels)

    model = build_model()
    model.summary()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"],
                  device=args.device)
    timer = EpochTimer()
    print(f"Training on {len(train_images)} {args.dataset} images with {ember.get_num_threads()} thread(s)")
    model.fit(train_images, train_labels, epochs=args.epochs, batch_size=args.batch_size, callbacks=[timer])
    t0 = time.perf_counter()
    test_loss, test_acc = model.evaluate(test_images, test_labels)
    eval_s = time.perf_counter() - t0
    per_epoch = float(np.median(timer.times)) if timer.times else 0.0
    print(f"Test accuracy: {test_acc:.4f} (loss {test_loss:.4f})")
    print(f"Time per epoch: {per_epoch:.1f} s ({len(train_images) / max(per_epoch, 1e-9):.0f} images/s); "
          f"evaluation: {eval_s:.1f} s")
    if args.save:
        model.save(args.save)
        print(f"Saved the model to {args.save}")
    return test_acc


if __name__ == "__main__":
    main()
