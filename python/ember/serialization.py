"""The ``get`` / ``serialize`` rules that initializers, regularizers and
constraints share (Keras 3's): an identifier is None, an object of the kind,
a name, a config dict ``{"class_name": ..., "config": {...}}``, a class, or a
callable; a config is Keras's dict with ``module`` and ``class_name``."""
import inspect
import math

import numpy as np


def lookup(identifier, table, kind, base, custom_objects=None):
    """The object ``identifier`` names. ``table`` maps the accepted names
    (class names and Keras's snake-case aliases) to classes."""
    if identifier is None or isinstance(identifier, base):
        return identifier
    custom = dict(custom_objects or {})
    if isinstance(identifier, dict):
        if "class_name" not in identifier:
            raise ValueError(f"A {kind} config must be a dict with 'class_name' and 'config'. "
                             f"Received: {identifier!r}")
        cls = _find(identifier["class_name"], table, kind, custom)
        config = dict(identifier.get("config") or {})
        return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
    if isinstance(identifier, str):
        return _find(identifier, table, kind, custom)()
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret {kind} identifier: expected a name, a config dict, "
                    f"a {base.__name__} or a callable. Received: {identifier!r}"[:400])


def _find(name, table, kind, custom):
    cls = custom.get(name) or table.get(name)
    if cls is None:
        raise ValueError(f"Unknown {kind}: {name!r}. Expected one of {sorted(table)}. "
                         f"Received: {name!r}")
    return cls


def from_class_table(spec, table, kind):
    """The object a ``{"class_name": ..., "config": {...}}`` dict describes,
    its class looked up in ``table`` by name (losses' and metrics' rule)."""
    name = spec.get("class_name")
    if name not in table:
        raise ValueError(f"Unknown {kind} class: {name!r}. Expected one of {sorted(table)}")
    return table[name].from_config(spec.get("config", {}))


def serialize_object(obj, module):
    """Keras's config dict for an object (None and names pass through)."""
    if obj is None or isinstance(obj, str):
        return obj
    if not hasattr(obj, "get_config"):
        raise ValueError(f"ember cannot serialise {obj!r}: it is a plain callable. Pass a name or an "
                         f"object of {module} (with get_config), or save the weights only."[:400])
    return {"module": module, "class_name": type(obj).__name__, "config": obj.get_config(),
            "registered_name": None}


def check_number(value, name, non_negative=True):
    """A finite number (kept as the int or float given), else TypeError /
    ValueError naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    value = value.item() if isinstance(value, np.generic) else value
    if not math.isfinite(value) or (non_negative and value < 0):
        raise ValueError(f"Invalid value for argument `{name}`: expected a non-negative finite number. "
                         f"Received: {name}={value!r}")
    return value
