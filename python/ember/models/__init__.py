"""Models: ``Model`` (functional or subclassed), ``Sequential``, and
``load_model``."""
from .. import losses, optimizers, saving
from .model import Model
from .sequential import Sequential


class Functional(Model):
    """What ``Model(inputs, outputs)`` returns: a model that runs the graph
    recorded from its inputs to its outputs."""


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Restores a model written by ``model.save`` or by Keras (``.keras``
    archives and legacy ``.h5`` files, told apart by their content):
    architecture, weights and, when compiled, the optimizer with its state,
    so training resumes. Keras files that hold Python code (Lambda layers)
    load only with ``safe_mode=False``."""
    kind = saving.sniff(filepath)
    if kind in ("zip", "hdf5"):
        from .. import saving_keras
        load = saving_keras.load_keras if kind == "zip" else saving_keras.load_legacy_h5
        return load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)
    header, arrays = saving.read_file(filepath, expected_kind="model")
    cls = Functional if header.get("class_name") in ("Functional", "Model") else Sequential
    try:
        model = cls.from_config(header["config"], custom_objects=custom_objects) if cls is Sequential \
            else Model.from_config(header["config"], custom_objects=custom_objects)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"'{filepath}' holds a model config that ember cannot rebuild: {e}") from None
    n = int(header["n_weights"])
    model._check_architecture(arrays[:n], filepath)
    model.set_weights(arrays[:n])
    spec = header.get("compile")
    if compile and spec:
        model.compile(optimizer=optimizers.deserialize(spec["optimizer"]),
                      loss=losses.deserialize(spec["loss"]), metrics=spec["metrics"])
        model.optimizer.set_state(model.trainable_weights, arrays[n:], spec["iterations"])
    return model


__all__ = ["Model", "Functional", "Sequential", "load_model"]
