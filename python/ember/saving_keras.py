"""Keras's own files: Keras 3 ``.keras`` archives and ``.weights.h5`` files,
and the legacy (Keras 2 style) ``.h5`` files. Needs ``h5py``
(``pip install "ember[keras]"``).

A ``.keras`` file is a zip archive holding ``config.json`` (the model's
config as Keras serialises it, with its compile settings),
``metadata.json`` and ``model.weights.h5``. In that HDF5 file each object
keeps its own variables under ``<path>/vars/0..n``, where the path follows
Keras's object tree: ``layers/<snake_case class name>[_k]`` for the layers of
a model, then each sublayer under the attribute that holds it (sorted by
name), and ``optimizer/vars`` for the optimizer (iterations, learning rate,
then its slots). ember walks its own objects the same way, so a layer class
added to ember with Keras's attribute names and weight order reads and writes
without changes here.

Files are untrusted input: only the three named members of an archive are
read (never extracted), HDF5 links must stay inside the file, every array is
checked for shape and dtype against the model before anything is assigned,
and any fault is a ValueError naming the file and the layer or weight.
Lambda layers carry Python code: they load only with ``safe_mode=False``.
"""
import base64
import inspect
import io
import json
import marshal
import re
import types
import warnings
import zipfile

import numpy as np

from . import saving

KERAS_VERSION = "3.15.1"
# Members read from an archive; anything larger than this is refused before
# reading (the weights file can be large: 64 GiB bounds it, not memory).
_MAX_JSON_BYTES = 64 << 20
_MAX_WEIGHTS_BYTES = 64 << 30
# Keras keeps a recurrent layer's weights in its cell, a sublayer.
_OWN_WEIGHTS_UNDER = {"SimpleRNN": "cell", "LSTM": "cell", "GRU": "cell", "ConvLSTM1D": "cell",
                      "ConvLSTM2D": "cell", "ConvLSTM3D": "cell"}


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError('Reading and writing Keras files (.keras, .h5) needs h5py: '
                          'pip install "ember[keras]"') from None
    return h5py


def _snake(name):
    # Keras's to_snake_case: CamelCase -> camel_case.
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class FileError(ValueError):
    """A Keras file that ember cannot read (damaged, crafted or unsupported)."""


def _fail(path, message):
    raise FileError(f"'{path}': {message}")


# ================================================================ the object tree
def _name_key(name):
    return "~" + name if name.startswith("_") else name


def _model_layers(obj):
    from .models.model import Model
    if isinstance(obj, Model) and (obj._graph is not None or type(obj).__name__ == "Sequential"):
        return obj.layers
    return None


def variable_paths(root):
    """[(path, [variables])] for ``root`` (a model or layer) and every object
    below it, in the order and with the paths of Keras's weights files. An
    object's variables are its trainable ones, then its non-trainable ones."""
    from .layers.base import Layer
    out, visited = [], set()

    def walk(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        own = [w for w in obj._weights if w.trainable] + [w for w in obj._weights if not w.trainable]
        under = _OWN_WEIGHTS_UNDER.get(type(obj).__name__)
        out.append((path, [] if under else own))
        if under:
            out.append((_join(path, under), own))
        layers = _model_layers(obj)
        if layers is not None:
            children = [("layers", layers)]
        else:
            children = [(k, v) for k, v in sorted(vars(obj).items(), key=lambda kv: _name_key(kv[0]))
                        if not k.startswith("__")]
        for name, value in children:
            if isinstance(value, Layer):
                walk(value, _join(path, name))
            elif isinstance(value, (list, tuple, dict)):
                items = list(value.values()) if isinstance(value, dict) else list(value)
                used = {}
                for item in items:
                    if isinstance(item, Layer):
                        walk(item, _join(path, name, _unique(_snake(type(item).__name__), used)))

    walk(root, "")
    return out


def _join(*parts):
    return "/".join(p for p in parts if p)


def _unique(name, used):
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


# ================================================================ optimizer variables in Keras's order
def _optimizer_layout(opt):
    """(slot names in Keras's order, interleaved per variable?) or None for an
    optimizer whose state ember cannot map to Keras's."""
    kind = type(opt).__name__
    if opt._state_size() != len(opt._slot_names()):  # EMA or gradient accumulation: no Keras layout here
        return None
    if kind in ("Adam", "AdamW") and not opt.amsgrad:
        return ["m", "v"], True
    if kind == "SGD":
        return (["velocity"] if opt.momentum != 0 else []), False
    if kind == "RMSprop":
        return (["velocity"] + (["momentum"] if opt.momentum > 0 else [])
                + (["average_gradient"] if opt.centered else [])), False
    return None


def _slot_order(opt, n_vars):
    """[(variable index, ember slot index)] in Keras's order of slot arrays."""
    layout = _optimizer_layout(opt)
    if layout is None:
        return None
    names, interleaved = layout
    slots = [list(opt._slot_names()).index(n) for n in names]
    if interleaved:
        return [(i, s) for i in range(n_vars) for s in slots]
    return [(i, s) for s in slots for i in range(n_vars)]


def _keras_slots(model, unmapped):
    """(optimizer, trainable weights, ``_slot_order``), or None after warning
    ``unmapped(optimizer class name)`` when ember cannot map the optimizer's
    state to Keras's layout."""
    opt = model.optimizer
    variables = model.trainable_weights
    order = _slot_order(opt, len(variables))
    if order is None:
        warnings.warn(unmapped(type(opt).__name__))
        return None
    return opt, variables, order


def optimizer_arrays(model):
    """The optimizer's variables as Keras lays them out (iterations, learning
    rate, slots), or None when its state cannot be written in Keras's layout."""
    slots = _keras_slots(model, lambda kind: f"The state of optimizer {kind} is not written in Keras's layout; "
                                             "training resumed from this file starts the optimizer afresh.")
    if slots is None:
        return None
    opt, variables, order = slots
    state = opt.get_state(variables)
    k = opt._state_size()
    return [np.array(opt.iterations, np.int64), np.array(opt.learning_rate, np.float32)] + \
        [state[i * k + s] for i, s in order]


def set_optimizer_arrays(model, arrays, path):
    """Restores optimizer state from Keras's layout (validated first)."""
    slots = _keras_slots(model, lambda kind: f"'{path}': ember cannot map the state of optimizer {kind}; "
                                             "it starts afresh.")
    if slots is None:
        return
    opt, variables, order = slots
    if len(arrays) != 2 + len(order):
        _fail(path, f"the optimizer state holds {len(arrays)} arrays; {type(opt).__name__} with "
                    f"this model's {len(variables)} trainable weights needs {2 + len(order)}")
    iterations, lr = arrays[0], arrays[1]
    for name, a in (("iterations", iterations), ("learning_rate", lr)):
        if a.shape != () or not np.isfinite(a):
            _fail(path, f"the optimizer's {name} must be a finite scalar. Received: shape {a.shape}")
    k = opt._state_size()
    state = [np.zeros(v.shape, np.float32) for v in variables for _ in range(k)]
    for (i, s), a in zip(order, arrays[2:]):
        if a.shape != variables[i].shape:
            _fail(path, f"optimizer state for weight '{variables[i].path}' has shape {a.shape}; "
                        f"expected {variables[i].shape}")
        state[i * k + s] = a
    if int(iterations) < 0:
        _fail(path, f"the optimizer's iterations must be >= 0. Received: {int(iterations)}")
    opt.set_state(variables, state, int(iterations))
    opt.learning_rate = float(lr)


# ================================================================ HDF5 reading (checked)
def _check_dataset(path, ds, where):
    h5py = _h5py()
    if not isinstance(ds, h5py.Dataset):
        _fail(path, f"{where} is not an array")
    if ds.is_virtual or ds.external:
        _fail(path, f"{where} refers to data outside the file, which ember does not read")
    if ds.dtype.kind not in "fiub" or ds.dtype.itemsize > 8:
        _fail(path, f"{where} has dtype {ds.dtype}; expected a numeric array")


def _get(path, group, name, where):
    """``group[name]`` through hard links only (no external or soft links)."""
    h5py = _h5py()
    node = group
    for part in name.split("/"):
        if not part:
            continue
        try:
            link = node.get(part, getlink=True)
        except (KeyError, ValueError, OSError, RuntimeError) as e:
            _fail(path, f"cannot read {where}: {e}")
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            _fail(path, f"{where} is a link to another place ({type(link).__name__}); ember follows none")
        try:
            node = node[part]
        except (KeyError, ValueError, OSError, RuntimeError) as e:
            _fail(path, f"cannot read {where}: {e}")
    return node


def _read_array(path, ds, shape, where):
    """The dataset as float32 after checking it has ``shape`` (before reading)."""
    _check_dataset(path, ds, where)
    if tuple(ds.shape) != tuple(shape):
        _fail(path, f"{where} has shape {tuple(ds.shape)}; the model expects {tuple(shape)}")
    try:
        value = ds[()]
    except (OSError, ValueError, RuntimeError, TypeError) as e:
        _fail(path, f"{where} cannot be read (damaged file?): {e}")
    value = np.asarray(value)
    if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
        warnings.warn(f"'{path}': {where} holds non-finite values")
    return np.ascontiguousarray(value, dtype=np.float32)


def _read_scalar(path, ds, where):
    _check_dataset(path, ds, where)
    if tuple(ds.shape) != ():
        _fail(path, f"{where} must be a scalar. Received: shape {tuple(ds.shape)}")
    return np.asarray(ds[()], dtype=np.float64)


def _vars_group(path, f, obj_path):
    return _get(path, f, _join(obj_path, "vars"), f"group '{_join(obj_path, 'vars')}'")


def read_variable_tree(path, f, root, skip_mismatch=False):
    """Reads every variable of ``root`` from an open Keras-3 weights file
    ``f``: all are checked before any is assigned."""
    assignments = []
    for obj_path, variables in variable_paths(root):
        group = _vars_group(path, f, obj_path)
        where = f"'{obj_path or '(model)'}'"
        keys = [] if group is None else list(group.keys())
        if sorted(keys, key=lambda k: (len(k), k)) != [str(i) for i in range(len(keys))]:
            _fail(path, f"the variables of {where} are named {keys[:8]}; expected '0'..'{len(keys) - 1}'")
        if len(keys) != len(variables):
            if skip_mismatch:
                warnings.warn(f"'{path}': skipping {where}: the file holds {len(keys)} variables, "
                              f"the layer has {len(variables)}")
                continue
            _fail(path, f"layer {where} has {len(variables)} variables but the file holds {len(keys)}")
        values = []
        for i, var in enumerate(variables):
            wherev = f"variable {i} of {where} ('{var.path}')"
            ds = _get(path, group, str(i), wherev)
            if skip_mismatch and tuple(getattr(ds, "shape", ())) != var.shape:
                warnings.warn(f"'{path}': skipping {where}: {wherev} has shape "
                              f"{tuple(ds.shape)}, the layer {var.shape}")
                values = None
                break
            values.append(_read_array(path, ds, var.shape, wherev))
        if values:
            assignments.extend(zip(variables, values))
    return assignments


def read_optimizer_arrays(path, f):
    group = _vars_group(path, f, "optimizer")
    if group is None:
        return None
    keys = list(group.keys())
    if sorted(keys, key=lambda k: (len(k), k)) != [str(i) for i in range(len(keys))]:
        _fail(path, f"the optimizer variables are named {keys[:8]}; expected '0'..'{len(keys) - 1}'")
    return [_read_opt_array(path, _get(path, group, str(i), f"optimizer variable {i}"), f"optimizer variable {i}")
            for i in range(len(keys))]


def _read_opt_array(path, ds, where):
    _check_dataset(path, ds, where)
    n = int(np.prod(ds.shape, dtype=np.float64)) if ds.shape else 1
    if n > (1 << 34):
        _fail(path, f"{where} claims {n} elements")
    return _read_array(path, ds, ds.shape, where) if ds.shape else np.asarray(ds[()], np.float64)


def write_variable_tree(f, root, optimizer_arrays=None):
    for obj_path, variables in variable_paths(root):
        group = f.create_group(_join(obj_path, "vars")) if obj_path else f.create_group("vars")
        name = getattr(root, "name", None) if not obj_path else None
        group.attrs["name"] = name or obj_path.rsplit("/", 1)[-1]
        for i, var in enumerate(variables):
            group.create_dataset(str(i), data=np.asarray(var.numpy(), np.float32))
    if optimizer_arrays is not None:
        group = f.create_group("optimizer/vars")
        group.attrs["name"] = "optimizer"
        for i, a in enumerate(optimizer_arrays):
            group.create_dataset(str(i), data=a)


def _open_h5(path, source):
    h5py = _h5py()
    try:
        return h5py.File(source, "r")
    except (OSError, ValueError) as e:
        _fail(path, f"not a readable HDF5 file (damaged or truncated?): {e}")


def _assign(assignments):
    for var, value in assignments:
        var.assign(value)


# ================================================================ configs: Keras -> ember
# Keras arguments ember does not take, and the values at which leaving them
# out changes nothing.
_NEUTRAL = {"data_format": ("channels_last", None), "groups": (1,), "sparse": (False,), "ragged": (False,),
            "optional": (False,), "synchronized": (False,), "renorm": (False,),
            "renorm_clipping": (None,), "renorm_momentum": None, "quantization_config": (None,),
            "lora_rank": (None,), "lora_alpha": (None,), "seed": (None,), "noise_shape": (None,),
            "kernel_constraint": (None,), "bias_constraint": (None,), "beta_constraint": (None,),
            "gamma_constraint": (None,), "recurrent_constraint": (None,), "embeddings_constraint": (None,),
            "depthwise_constraint": (None,), "pointwise_constraint": (None,), "alpha_constraint": (None,),
            "activity_regularizer": (None,), "kernel_regularizer": (None,), "bias_regularizer": (None,),
            "beta_regularizer": (None,), "gamma_regularizer": (None,), "build_config": None,
            "rms_scaling": (False,), "shared_axes": (None,), "dtype": None}


def _accepted(cls):
    """The keyword arguments ``cls(...)`` accepts (following **kwargs up
    the class hierarchy to Layer.__init__)."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters
        names.update(p for p, v in params.items() if v.kind not in (v.VAR_KEYWORD, v.VAR_POSITIONAL))
        if not any(v.kind == v.VAR_KEYWORD for v in params.values()):
            break
    names.discard("self")
    return names


def _dtype_name(value):
    if isinstance(value, dict):
        return (value.get("config") or {}).get("name", "float32")
    return value


def _plain(value, path, where):
    """A serialised Keras object (initializer, regularizer) as ember takes it."""
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    name, cfg = value["class_name"], value.get("config") or {}
    if not isinstance(cfg, dict):
        _fail(path, f"{where}: malformed serialised object {value!r}"[:300])
    from . import constraints, initializers, regularizers
    if name in ("L1", "L2", "L1L2", "L1L2Regularizer", "OrthogonalRegularizer"):
        return regularizers.get({"class_name": name, "config": cfg})
    if name in ("MaxNorm", "NonNeg", "UnitNorm", "MinMaxNorm"):
        return constraints.get({"class_name": name, "config": cfg})
    init = getattr(initializers, name, None)
    if isinstance(init, type) and issubclass(init, initializers.Initializer):
        kwargs = {k: v for k, v in cfg.items() if v is not None}
        if not kwargs:
            return _snake(name)  # "GlorotUniform" -> "glorot_uniform", the form every layer takes
        try:
            return init(**kwargs)
        except TypeError as e:
            _fail(path, f"{where}: initializer {name} with {kwargs} is not supported by ember ({e})")
    _fail(path, f"{where}: ember does not support {name!r} here")


def _lambda_function(value, path, where, custom_objects, safe_mode):
    if safe_mode:
        _fail(path, f"{where} is a Lambda layer, whose Python code loading would run; pass "
                    "safe_mode=False (and the function in custom_objects) only for a file you trust")
    if isinstance(value, dict) and value.get("class_name") == "__lambda__":
        cfg = value.get("config") or {}
        try:
            code = marshal.loads(base64.b64decode(cfg["code"].encode("ascii")))
        except Exception as e:
            _fail(path, f"{where}: the Lambda's code cannot be decoded: {e}")
        if not isinstance(code, types.CodeType):
            _fail(path, f"{where}: the Lambda's code is not Python code")
        from . import ops
        return types.FunctionType(code, {"keras": _KerasShim(), "ops": ops, "np": np})
    name = value.get("config") if isinstance(value, dict) else value
    if custom_objects and isinstance(name, str) and name in custom_objects:
        return custom_objects[name]
    _fail(path, f"{where}: the Lambda's function {name!r} must be given in custom_objects")


class _KerasShim:
    """``keras`` as seen by a Lambda's decoded code: its ``ops``."""

    @property
    def ops(self):
        from . import ops
        return ops


def layer_from_keras(spec, path, custom_objects=None, safe_mode=True):
    """An ember layer (or nested model) from Keras's serialised layer."""
    from . import layers as layers_module
    if not isinstance(spec, dict) or not isinstance(spec.get("class_name"), str):
        _fail(path, f"a layer entry is malformed: {str(spec)[:200]}")
    class_name = spec["class_name"]
    config = spec.get("config")
    if not isinstance(config, dict):
        _fail(path, f"layer {class_name}: its config is not a mapping")
    where = f"layer '{config.get('name', '?')}' ({class_name})"
    if class_name in ("Sequential", "Functional", "Model"):
        return model_from_keras(spec, path, custom_objects, safe_mode)
    module = spec.get("module")
    registered = spec.get("registered_name")
    custom = custom_objects or {}
    if (registered and registered != class_name and registered not in custom) or (
            module and not str(module).startswith("keras") and class_name not in custom):
        _fail(path, f"{where} is a custom object ({registered or module}); ember loads it only when "
                    "it is given in custom_objects")
    try:
        cls = layers_module.Lambda if class_name == "Lambda" else layers_module.get(class_name, custom_objects)
    except ValueError:
        _fail(path, f"{where}: ember has no layer class {class_name!r}")
    cfg = {}
    accepted = _accepted(cls)
    for key, value in config.items():
        if key == "dtype":
            if _dtype_name(value) not in (None, "float32"):
                _fail(path, f"{where}: argument dtype={_dtype_name(value)!r} is not supported (ember "
                            "computes in float32)")
            continue
        if class_name == "Lambda" and key == "function":
            cfg[key] = _lambda_function(value, path, where, custom_objects, safe_mode)
            continue
        if key == "batch_input_shape" and "batch_shape" in accepted:
            key = "batch_shape"
        if key not in accepted:
            neutral = _NEUTRAL.get(key, ())
            if key in _NEUTRAL and (neutral is None or value in neutral):
                continue
            if key == "renorm_momentum" or (key.endswith("_regularizer") and value is None):
                continue
            if value is None:
                continue
            _fail(path, f"{where}: argument {key}={value!r} is not supported by ember"[:400])
        if class_name in ("Bidirectional", "TimeDistributed") and key in ("layer", "backward_layer"):
            cfg[key] = value  # a serialised layer, rebuilt below
            continue
        cfg[key] = _plain(value, path, f"{where}, argument {key}")
    if class_name in ("Bidirectional", "TimeDistributed") and isinstance(cfg.get("layer"), dict):
        cfg["layer"] = layer_from_keras(cfg["layer"], path, custom_objects, safe_mode)
        if isinstance(cfg.get("backward_layer"), dict):
            cfg["backward_layer"] = layer_from_keras(cfg["backward_layer"], path, custom_objects, safe_mode)
    try:
        if cls is layers_module.InputLayer:
            return cls(**cfg)
        layer = cls(**cfg) if class_name in ("Bidirectional", "TimeDistributed", "Lambda") else cls.from_config(cfg)
    except (TypeError, ValueError, KeyError) as e:
        _fail(path, f"{where}: ember cannot build it from the file's config: {e}"[:600])
    return layer


def _keras_tensor_ref(value):
    """Keras 3's {"class_name": "__keras_tensor__", ...} or Keras 2's
    [name, node, tensor, kwargs] as ember's {"__keras_tensor__": [...]}."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        history = (value.get("config") or {}).get("keras_history")
        return {"__keras_tensor__": list(history)}
    if isinstance(value, dict):
        return {k: _keras_tensor_ref(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_keras_tensor_ref(v) for v in value]
    return value


def _check_ref(path, ref):
    if not (isinstance(ref, list) and len(ref) == 3 and isinstance(ref[0], str)
            and all(isinstance(i, int) and 0 <= i < 1 << 20 for i in ref[1:])):
        _fail(path, f"malformed tensor reference {str(ref)[:100]}")
    return ref


def _inbound(path, entry):
    nodes = entry.get("inbound_nodes") or []
    if not isinstance(nodes, list):
        _fail(path, f"layer '{entry.get('name')}': inbound_nodes is not a list")
    out = []
    for node in nodes:
        if isinstance(node, dict):  # Keras 3
            args = _keras_tensor_ref(node.get("args", []))
            kwargs = _keras_tensor_ref(node.get("kwargs", {}))
        elif isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
            refs, kwargs = [], {}
            for item in node:
                if not isinstance(item, list) or len(item) < 3:
                    _fail(path, f"layer '{entry.get('name')}': malformed inbound node {str(item)[:100]}")
                refs.append({"__keras_tensor__": _check_ref(path, list(item[:3]))})
                if len(item) > 3 and isinstance(item[3], dict):
                    kwargs.update(_keras_tensor_ref(item[3]))
            args = [refs[0] if len(refs) == 1 else refs]
        else:
            _fail(path, f"layer '{entry.get('name')}': malformed inbound node")
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            _fail(path, f"layer '{entry.get('name')}': malformed inbound node")
        # Keras records defaults such as mask=None; ember's calls take them implicitly.
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        out.append({"node_index": len(out), "args": args, "kwargs": kwargs})
    return out


def _io_refs(path, value):
    # Keras 2 wraps a single input as [[name, 0, 0]]; Keras 3 writes [name, 0, 0].
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        return _check_ref(path, value)
    if isinstance(value, list):
        return [_io_refs(path, v) for v in value]
    if isinstance(value, dict):
        return {k: _io_refs(path, v) for k, v in value.items()}
    _fail(path, f"malformed model inputs/outputs {str(value)[:100]}")


def model_from_keras(spec, path, custom_objects=None, safe_mode=True):
    """An ember Sequential or functional model from Keras's serialised one."""
    from .layers.base import InputLayer
    from .models import Functional, Sequential
    from .models.model import _functional_from_config
    config = spec.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        _fail(path, f"model {spec.get('class_name')}: its config has no list of layers")
    if spec["class_name"] == "Sequential":
        model = Sequential(name=config.get("name"))
        for entry in config["layers"]:
            layer = _sequential_layer(entry, path, custom_objects, safe_mode, model)
            if layer is not None:
                model.add(layer, rebuild=False)
        shape = config.get("build_input_shape") or (spec.get("build_config") or {}).get("input_shape")
        if model._input_layer is None and isinstance(shape, list) and len(shape) >= 2:
            model._input_layer = InputLayer(shape=tuple(shape[1:]))
        if model._input_layer is not None:
            _rebuild(path, model._build_graph)
        return model
    if "input_layers" not in config or "output_layers" not in config:
        _fail(path, f"model {spec['class_name']}: its config has no input_layers/output_layers "
                    "(a subclassed model, which ember rebuilds only from code)")
    layers_cfg, created = [], {}
    for entry in config["layers"]:
        if not isinstance(entry, dict):
            _fail(path, "a layer entry of the functional model is malformed")
        layer = layer_from_keras(entry, path, custom_objects, safe_mode)
        name = entry.get("name") or (entry.get("config") or {}).get("name")
        if not isinstance(name, str):
            _fail(path, f"a {entry.get('class_name')} layer has no name")
        created[name] = layer
        layer.name = name
        layers_cfg.append({"class_name": entry["class_name"], "name": name, "__layer__": layer,
                           "inbound_nodes": _inbound(path, entry)})
    ember_cfg = {"name": config.get("name"), "layers": layers_cfg,
                 "input_layers": _io_refs(path, config["input_layers"]),
                 "output_layers": _io_refs(path, config["output_layers"])}
    # Single inputs/outputs given as [[name, 0, 0]] become the tensor itself.
    for key in ("input_layers", "output_layers"):
        v = ember_cfg[key]
        if isinstance(v, list) and len(v) == 1 and isinstance(v[0], list) and isinstance(v[0][0], str):
            ember_cfg[key] = v[0]
    return _rebuild(path, lambda: _functional_from_config(ember_cfg))


def _rebuild(path, fn):
    try:
        return fn()
    except FileError:
        raise
    except (TypeError, ValueError, KeyError, IndexError) as e:
        _fail(path, f"the model's layers cannot be connected as the file describes: {e}"[:600])


def _sequential_layer(entry, path, custom_objects, safe_mode, model):
    from .layers.base import InputLayer
    if isinstance(entry, dict) and entry.get("class_name") == "InputLayer":
        cfg = entry.get("config") or {}
        shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
        if not isinstance(shape, list) or len(shape) < 2:
            _fail(path, f"InputLayer {cfg.get('name')!r} has no batch_shape")
        model._input_layer = InputLayer(shape=tuple(shape[1:]), name=cfg.get("name"))
        return None
    cfg = (entry.get("config") or {}) if isinstance(entry, dict) else {}
    shape = cfg.get("batch_input_shape") if isinstance(cfg, dict) else None
    if shape and model._input_layer is None and not model._layers_list:  # Keras 2 style
        model._input_layer = InputLayer(shape=tuple(shape[1:]))
    return layer_from_keras(entry, path, custom_objects, safe_mode)


# ================================================================ configs: ember -> Keras
def _keras_value(value):
    if isinstance(value, tuple):
        return [_keras_value(v) for v in value]
    if isinstance(value, list):
        return [_keras_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _keras_value(v) for k, v in value.items()}
    if hasattr(value, "get_config") and not isinstance(value, type):
        kind = "regularizers" if "regulariz" in type(value).__module__ else "initializers"
        return {"module": f"keras.{kind}", "class_name": type(value).__name__,
                "config": _keras_value(value.get_config()), "registered_name": None}
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    return value


def layer_to_keras(layer):
    from .layers.base import InputLayer
    from .models.model import Model
    if isinstance(layer, Model):
        return model_to_keras(layer)
    if isinstance(layer, InputLayer):
        return {"module": "keras.layers", "class_name": "InputLayer",
                "config": {"batch_shape": list(layer.shape), "dtype": layer.input_dtype, "sparse": False,
                           "ragged": False, "name": layer.name}, "registered_name": None}
    config = dict(layer.get_config())
    config.pop("input_shape", None)
    config = _keras_value(config)
    # Wrappers (TimeDistributed, Bidirectional): the wrapped layers in Keras's form.
    inner = {"layer": getattr(layer, "forward_layer", None) or getattr(layer, "layer", None),
             "backward_layer": getattr(layer, "backward_layer", None)}
    for key, sub in inner.items():
        if isinstance(config.get(key), dict) and "class_name" in config[key] and sub is not None:
            config[key] = layer_to_keras(sub)
    spec = {"module": "keras.layers", "class_name": type(layer).__name__, "config": config,
            "registered_name": None}
    if getattr(layer, "_build_shape", None) is not None and layer._weights:
        spec["build_config"] = {"input_shape": _keras_value(list(layer._build_shape))}
    return spec


def model_to_keras(model):
    """Keras's serialised form of an ember Sequential or functional model."""
    from .models.model import _functional_config
    if type(model).__name__ == "Sequential":
        layers = ([layer_to_keras(model._input_layer)] if model._input_layer is not None else []) + \
            [layer_to_keras(l) for l in model.layers]
        config = {"name": model.name, "trainable": model.trainable, "dtype": "float32", "layers": layers}
        if model._input_layer is not None:
            config["build_input_shape"] = list(model._input_layer.shape)
        spec = {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None}
        if model._input_layer is not None:
            spec["build_config"] = {"input_shape": list(model._input_layer.shape)}
        return spec
    if model._graph is None:
        raise ValueError(f"Model '{model.name}' is a subclassed model: its architecture is Python code, "
                         "which a Keras file cannot hold. Save it with save_weights, or as .ember.")
    ember_cfg = _functional_config(model)
    by_name = {l.name: l for l in model.layers}
    shapes = {}
    for layer in model.layers:
        for node in layer._inbound_nodes:
            for t in node.flat_outputs:
                l, i, j = t._keras_history
                shapes[(l.name, i, j)] = (list(t.shape), t.dtype or "float32")
    layers = []
    for entry in ember_cfg["layers"]:
        spec = layer_to_keras(by_name[entry["name"]])
        spec["name"] = entry["name"]
        spec["inbound_nodes"] = [{"args": _to_keras_refs(n["args"], shapes),
                                  "kwargs": _to_keras_refs(n["kwargs"], shapes)}
                                 for n in entry["inbound_nodes"]]
        layers.append(spec)
    config = {"name": model.name, "trainable": model.trainable, "layers": layers,
              "input_layers": ember_cfg["input_layers"], "output_layers": ember_cfg["output_layers"]}
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": config,
            "registered_name": "Functional"}


def _to_keras_refs(value, shapes):
    if isinstance(value, dict) and "__keras_tensor__" in value:
        name, node, index = value["__keras_tensor__"]
        shape, dtype = shapes.get((name, node, index), (None, "float32"))
        return {"class_name": "__keras_tensor__",
                "config": {"shape": shape, "dtype": dtype, "keras_history": [name, node, index]}}
    if isinstance(value, dict):
        return {k: _to_keras_refs(v, shapes) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_keras_refs(v, shapes) for v in value]
    return value


# ================================================================ compile settings
def compile_to_keras(model):
    from . import losses as losses_module

    def loss_spec(loss):
        if isinstance(loss, str) or loss is None:
            return loss
        if isinstance(loss, (list, tuple)):
            return [loss_spec(l) for l in loss]
        if isinstance(loss, dict):
            return {k: loss_spec(v) for k, v in loss.items()}
        if isinstance(loss, losses_module.Loss):
            return {"module": "keras.losses", "class_name": type(loss).__name__,
                    "config": _keras_value(loss.get_config()), "registered_name": None}
        raise ValueError(f"The loss {loss!r} is a Python function, which a Keras file cannot hold.")

    def metric_spec(m):
        if isinstance(m, str):
            return m
        if isinstance(m, (list, tuple)):
            return [metric_spec(x) for x in m]
        if isinstance(m, dict):
            return {k: metric_spec(v) for k, v in m.items()}
        name = getattr(m, "name", None) or getattr(m, "__name__", None)
        if not isinstance(name, str):
            raise ValueError(f"The metric {m!r} cannot be written to a Keras file.")
        return name

    opt = model.optimizer
    return {"optimizer": {"module": "keras.optimizers", "class_name": type(opt).__name__,
                          "config": _keras_value(opt.get_config()), "registered_name": None},
            "loss": loss_spec(model.loss if isinstance(model.loss, str) else model._loss_fns),
            "loss_weights": model._loss_weights, "metrics": metric_spec(list(model._metric_specs))
            if isinstance(model._metric_specs, (list, tuple)) else metric_spec(model._metric_specs),
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1,
            "jit_compile": False}


_OPT_NEUTRAL = {"clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
                "ema_momentum": "any", "ema_overwrite_frequency": None, "loss_scale_factor": None,
                "gradient_accumulation_steps": None, "amsgrad": False, "weight_decay": None,
                "is_legacy_optimizer": "any", "decay": 0.0, "jit_compile": "any"}


def _optimizer_from_keras(spec, path):
    from . import optimizers
    if isinstance(spec, str):
        try:
            return optimizers.get(spec)
        except ValueError as e:
            _fail(path, f"compile settings: {e}")
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        _fail(path, f"compile settings: malformed optimizer {str(spec)[:200]}")
    name = spec.get("class_name")
    classes = {cls.__name__: cls for cls in optimizers._BY_NAME.values()}
    cls = classes.get(name)
    if cls is None:
        _fail(path, f"compile settings: ember has no optimizer {name!r} (it has {', '.join(classes)})")
    accepted = _accepted(cls) | {"name", "weight_decay"}
    kwargs = {}
    for key, value in spec["config"].items():
        if key == "learning_rate" and isinstance(value, dict):
            _fail(path, f"compile settings: optimizer {name}: learning-rate schedules are not supported")
        if key in accepted and not (key == "weight_decay" and value is None):
            kwargs[key] = value
        elif key in _OPT_NEUTRAL and (_OPT_NEUTRAL[key] == "any" or value == _OPT_NEUTRAL[key]):
            continue
        else:
            _fail(path, f"compile settings: optimizer {name}: argument {key}={value!r} is not supported")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as e:
        _fail(path, f"compile settings: optimizer {name}: {e}")


def _loss_from_keras(spec, path):
    from . import losses
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        return [_loss_from_keras(s, path) for s in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _loss_from_keras(v, path) for k, v in spec.items()}
    if isinstance(spec, dict):
        name, cfg = spec["class_name"], spec.get("config")
        if name == "function" and isinstance(cfg, str):
            return cfg
        cls = losses._CLASSES.get(name)
        if cls is None or not isinstance(cfg, dict):
            _fail(path, f"compile settings: ember has no loss {name!r}")
        kwargs = {k: v for k, v in cfg.items() if not (k == "dtype" and v in (None, "float32"))}
        try:  # ember's losses take Keras's config keys
            return cls.from_config(kwargs)
        except (TypeError, ValueError) as e:
            _fail(path, f"compile settings: loss {name}: {e}"[:400])
    _fail(path, f"compile settings: malformed loss {str(spec)[:200]}")


def _metrics_from_keras(spec, path):
    if spec is None:
        return None
    if isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        return [_metrics_from_keras(s, path) for s in spec]
    if isinstance(spec, dict) and "class_name" not in spec:
        return {k: _metrics_from_keras(v, path) for k, v in spec.items()}
    if isinstance(spec, dict):
        cfg = spec.get("config")
        if spec["class_name"] == "function" and isinstance(cfg, str):
            return cfg
        if isinstance(cfg, dict) and isinstance(cfg.get("name"), str):
            return cfg["name"]
        return _snake(spec["class_name"])
    _fail(path, f"compile settings: malformed metrics {str(spec)[:200]}")


def compile_from_keras(model, spec, path):
    if not isinstance(spec, dict):
        _fail(path, "compile settings are malformed")
    optimizer = _optimizer_from_keras(spec.get("optimizer", "rmsprop"), path)
    loss = _loss_from_keras(spec.get("loss"), path)
    metrics = _metrics_from_keras(spec.get("metrics"), path)
    try:
        model.compile(optimizer=optimizer, loss=loss, loss_weights=spec.get("loss_weights"),
                      metrics=metrics)
    except (TypeError, ValueError) as e:
        _fail(path, f"compile settings cannot be applied: {e}")


# ================================================================ .keras archives
def _read_member(path, archive, name, limit):
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > limit:
        _fail(path, f"member {name} claims {info.file_size} bytes, more than ember reads ({limit})")
    try:
        with archive.open(info) as f:
            data = f.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
        _fail(path, f"member {name} is damaged: {e}")
    if len(data) > limit:
        _fail(path, f"member {name} is larger than ember reads ({limit} bytes)")
    return data


def _check_members(path, archive):
    for name in archive.namelist():
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
            _fail(path, f"the archive holds a member with an unsafe path {name!r}; ember refuses it")


def _open_archive(path):
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        _fail(path, f"not a readable .keras (zip) file (damaged or truncated?): {e}")
    _check_members(path, archive)
    return archive


def _json(path, data, name):
    try:
        value = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        _fail(path, f"{name} is not valid JSON: {e}")
    if not isinstance(value, dict):
        _fail(path, f"{name} is not a JSON object")
    return value


def load_keras(path, custom_objects=None, compile=True, safe_mode=True):
    """Reads a Keras 3 ``.keras`` archive (or ember's own written one)."""
    _h5py()
    with _open_archive(path) as archive:
        config_bytes = _read_member(path, archive, "config.json", _MAX_JSON_BYTES)
        if config_bytes is None:
            _fail(path, "the archive has no config.json: not a .keras model file")
        weights = _read_member(path, archive, "model.weights.h5", _MAX_WEIGHTS_BYTES)
        if weights is None:
            _fail(path, "the archive has no model.weights.h5")
    spec = _json(path, config_bytes, "config.json")
    model = _build_model(path, spec, custom_objects, safe_mode)
    with _open_h5(path, io.BytesIO(weights)) as f:
        assignments = read_variable_tree(path, f, model)
        opt_arrays = read_optimizer_arrays(path, f)
    _assign(assignments)
    if compile and spec.get("compile_config"):
        compile_from_keras(model, spec["compile_config"], path)
        if opt_arrays:
            set_optimizer_arrays(model, opt_arrays, path)
    return model


def _build_model(path, spec, custom_objects, safe_mode):
    if spec.get("class_name") not in ("Sequential", "Functional", "Model"):
        _fail(path, f"the file holds a {spec.get('class_name')!r}; ember reads Sequential and "
                    "functional models")
    try:
        return model_from_keras(spec, path, custom_objects, safe_mode)
    except RecursionError:
        _fail(path, "the model config is nested too deeply")


def _h5_bytes(write):
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write(f)
    return buffer.getvalue()


def _model_config_json(model):
    spec = model_to_keras(model)
    if model.compiled:
        spec["compile_config"] = compile_to_keras(model)
    return spec


def save_keras(model, path):
    """Writes ``model`` as a Keras 3 ``.keras`` archive, atomically."""
    import datetime
    spec = _model_config_json(model)
    opt = optimizer_arrays(model) if model.compiled else None
    weights = _h5_bytes(lambda f: write_variable_tree(f, model, opt))
    metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "ember": True}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("metadata.json", json.dumps(metadata))
        z.writestr("config.json", json.dumps(spec))
        z.writestr("model.weights.h5", weights)
    saving.atomic_write(path, [buffer.getvalue()], prefix=".keras-")


# ================================================================ weights files
def save_weights_h5(model, path):
    """Keras 3's ``.weights.h5``: the variable tree, with the optimizer when compiled."""
    opt = optimizer_arrays(model) if model.compiled else None
    saving.atomic_write(path, [_h5_bytes(lambda f: write_variable_tree(f, model, opt))], prefix=".weights-")


def load_weights(model, path, skip_mismatch=False, by_name=False):
    """Weights from a ``.weights.h5``, a ``.keras`` archive or a legacy ``.h5``."""
    _h5py()
    if zipfile.is_zipfile(path):
        with _open_archive(path) as archive:
            data = _read_member(path, archive, "model.weights.h5", _MAX_WEIGHTS_BYTES)
        if data is None:
            _fail(path, "the archive has no model.weights.h5")
        source = io.BytesIO(data)
    else:
        source = path
    with _open_h5(path, source) as f:
        if "model_weights" in f or "layer_names" in f.attrs:
            group = _get(path, f, "model_weights", "group 'model_weights'") if "model_weights" in f else f
            assignments = read_legacy_weights(path, group, model, by_name, skip_mismatch)
        else:
            if by_name:
                _fail(path, "by_name loading needs a legacy .h5 file; this is a Keras 3 weights file")
            assignments = read_variable_tree(path, f, model, skip_mismatch)
            opt_arrays = read_optimizer_arrays(path, f) if model.compiled else None
            if opt_arrays and model.optimizer is not None:
                set_optimizer_arrays(model, opt_arrays, path)
    _assign(assignments)


# ================================================================ legacy .h5
def _attr_strings(path, obj, name):
    if name not in obj.attrs:
        return []
    try:
        value = obj.attrs[name]
    except (OSError, ValueError, TypeError) as e:
        _fail(path, f"attribute {name} cannot be read: {e}")
    if isinstance(value, (bytes, str)):
        value = [value]
    out = []
    for v in np.asarray(value).reshape(-1).tolist() if np.asarray(value).size else []:
        out.append(v.decode("utf-8") if isinstance(v, bytes) else str(v))
    return out


def _legacy_layers(model):
    """The layers that carry weights, in model order."""
    return [l for l in model.layers if l.weights]


def read_legacy_weights(path, group, model, by_name=False, skip_mismatch=False):
    names = _attr_strings(path, group, "layer_names")
    stored = []
    for name in names:
        g = _get(path, group, name, f"layer group '{name}'")
        if g is None:
            _fail(path, f"layer '{name}' is listed but has no group")
        weight_names = _attr_strings(path, g, "weight_names")
        stored.append((name, g, weight_names))
    assignments = []

    def take(layer, name, g, weight_names):
        variables = layer.weights
        if len(weight_names) != len(variables):
            if skip_mismatch:
                warnings.warn(f"'{path}': skipping layer '{layer.name}': the file holds "
                              f"{len(weight_names)} weights, the layer {len(variables)}")
                return
            _fail(path, f"layer '{layer.name}' has {len(variables)} weights but the file's layer "
                        f"'{name}' holds {len(weight_names)}")
        values = []
        for var, wname in zip(variables, weight_names):
            ds = _get(path, g, wname, f"weight '{name}/{wname}'")
            if ds is None:
                _fail(path, f"weight '{name}/{wname}' is listed but missing")
            if skip_mismatch and tuple(getattr(ds, "shape", ())) != var.shape:
                warnings.warn(f"'{path}': skipping layer '{layer.name}': weight '{wname}' has shape "
                              f"{tuple(ds.shape)}, the layer {var.shape}")
                return
            values.append(_read_array(path, ds, var.shape, f"weight '{name}/{wname}'"))
        assignments.extend(zip(variables, values))

    if by_name:
        mine = {}
        for layer in model.layers:
            mine.setdefault(layer.name, layer)
        for name, g, weight_names in stored:
            if name in mine and (weight_names or mine[name].weights):
                take(mine[name], name, g, weight_names)
        return assignments
    with_weights = [s for s in stored if s[2]]
    layers = _legacy_layers(model)
    if len(with_weights) != len(layers):
        _fail(path, f"the file holds weights for {len(with_weights)} layers "
                    f"({[s[0] for s in with_weights][:10]}); the model has {len(layers)} layers with "
                    f"weights ({[l.name for l in layers][:10]})")
    for layer, (name, g, weight_names) in zip(layers, with_weights):
        take(layer, name, g, weight_names)
    return assignments


def _write_legacy_weights(group, model):
    layers = model.layers
    group.attrs["layer_names"] = np.array([l.name.encode("utf-8") for l in layers], dtype="S")
    group.attrs["backend"] = "ember"
    group.attrs["keras_version"] = KERAS_VERSION
    for layer in layers:
        g = group.create_group(layer.name)
        names = []
        for i, var in enumerate(layer.weights):
            name = f"{layer.name}/{var.path}"
            if name in names or name in g:
                name = f"{name}_{i}"
            names.append(name)
            g.create_dataset(name, data=np.asarray(var.numpy(), np.float32))
        g.attrs["weight_names"] = np.array([n.encode("utf-8") for n in names], dtype="S")


def save_legacy_h5(model, path):
    """The legacy ``.h5`` layout: model_config and training_config as JSON
    attributes, weights under model_weights/<layer>/, optimizer state under
    optimizer_weights."""
    spec = model_to_keras(model)

    def write(f):
        f.attrs["keras_version"] = KERAS_VERSION
        f.attrs["backend"] = "ember"
        f.attrs["model_config"] = json.dumps({"class_name": spec["class_name"], "config": spec["config"]})
        _write_legacy_weights(f.create_group("model_weights"), model)
        if model.compiled:
            training = compile_to_keras(model)
            training["optimizer_config"] = training.pop("optimizer")
            f.attrs["training_config"] = json.dumps(training)
            arrays = optimizer_arrays(model)
            if arrays is not None:
                g = f.create_group("optimizer_weights")
                opt_name = model.optimizer.name
                names = [f"{opt_name}/iteration", f"{opt_name}/learning_rate"] + \
                    [f"{opt_name}/state_{i}" for i in range(len(arrays) - 2)]
                for n, a in zip(names, arrays):
                    g.create_dataset(n, data=a)
                g.attrs["weight_names"] = np.array([n.encode("utf-8") for n in names], dtype="S")
    saving.atomic_write(path, [_h5_bytes(write)], prefix=".h5-")


def load_legacy_h5(path, custom_objects=None, compile=True, safe_mode=True):
    with _open_h5(path, path) as f:
        if "model_config" not in f.attrs:
            _fail(path, "the HDF5 file has no model_config: it holds weights only (use load_weights)")
        raw = f.attrs["model_config"]
        raw = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        if len(raw) > _MAX_JSON_BYTES:
            _fail(path, "model_config is larger than ember reads")
        spec = _json(path, raw, "model_config")
        model = _build_model(path, spec, custom_objects, safe_mode)
        group = _get(path, f, "model_weights", "group 'model_weights'")
        if group is None:
            _fail(path, "the file has no model_weights group")
        assignments = read_legacy_weights(path, group, model)
        training = None
        if "training_config" in f.attrs:
            raw = f.attrs["training_config"]
            training = _json(path, raw.encode("utf-8") if isinstance(raw, str) else bytes(raw),
                             "training_config")
        opt_arrays = None
        if compile and training and "optimizer_weights" in f:
            g = _get(path, f, "optimizer_weights", "group 'optimizer_weights'")
            names = _attr_strings(path, g, "weight_names")
            opt_arrays = []
            for n in names:
                ds = _get(path, g, n, f"optimizer weight '{n}'")
                if ds is None:
                    _fail(path, f"optimizer weight '{n}' is listed but missing")
                opt_arrays.append(_read_opt_array(path, ds, f"optimizer weight '{n}'"))
    _assign(assignments)
    if compile and training:
        training = dict(training)
        training["optimizer"] = training.pop("optimizer_config", "rmsprop")
        compile_from_keras(model, training, path)
        if opt_arrays:
            try:
                set_optimizer_arrays(model, opt_arrays, path)
            except FileError as e:
                # Keras 2 laid out optimizer state differently: keep the weights, start it afresh.
                warnings.warn(f"{e}; the optimizer starts afresh")
    return model


def save_legacy_weights(model, path):
    """``save_weights("x.h5")``: the legacy weights-only layout (layer groups at the root)."""
    saving.atomic_write(path, [_h5_bytes(lambda f: _write_legacy_weights(f, model))], prefix=".h5-")
