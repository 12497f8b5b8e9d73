"""``plot_model`` / ``model_to_dot``: a model's graph of layers drawn with
Graphviz through ``pydot`` (both optional: ``pip install pydot`` and the
Graphviz ``dot`` program, e.g. ``apt-get install graphviz``)."""
import os
import shutil


def _require_pydot():
    try:
        import pydot
    except ImportError:
        raise ImportError("Drawing a model needs the `pydot` package and Graphviz: install them with "
                          "`pip install pydot` and Graphviz's `dot` program (`apt-get install graphviz`, "
                          "`brew install graphviz`, or https://graphviz.org/download/).") from None
    return pydot


def _require_graphviz():
    if shutil.which("dot") is None:
        raise ImportError("Writing a model plot needs Graphviz's `dot` program, which is not on PATH: install "
                          "Graphviz (`apt-get install graphviz`, `brew install graphviz`, or "
                          "https://graphviz.org/download/); `pip install pydot` alone does not provide it.")


def _layer_label(layer, node, show_shapes, show_dtype, show_layer_names, show_layer_activations,
                 show_trainable):
    from .layers.base import InputLayer, _shape_str
    kind = "InputLayer" if isinstance(layer, InputLayer) else type(layer).__name__
    lines = [f"{layer.name} ({kind})" if show_layer_names else kind]
    if show_layer_activations:
        activation = getattr(layer, "activation", None)
        if activation is not None:
            name = activation if isinstance(activation, str) else getattr(activation, "__name__", str(activation))
            lines.append(f"Activation: {name}")
    if show_dtype:
        lines.append(f"dtype: {getattr(layer, 'dtype', None) or 'float32'}")
    if show_shapes:
        if isinstance(layer, InputLayer):
            out = [tuple(layer.output.shape)] if getattr(layer, "output", None) is not None else []
            ins = out
        else:
            ins = [tuple(t.shape) for t in node.inputs]
            out = [tuple(t.shape) for t in node.flat_outputs]

        def fmt(shapes):
            return _shape_str(shapes[0]) if len(shapes) == 1 else _shape_str(list(shapes))
        lines.append(f"Input shape: {fmt(ins)}")
        lines.append(f"Output shape: {fmt(out)}")
    if show_trainable:
        lines.append("Trainable" if layer.trainable else "Non-trainable")
    return "\n".join(lines)


def _check_args(model, rankdir, dpi, expand_nested):
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"`rankdir` must be 'TB', 'LR', 'BT' or 'RL'. Received: rankdir={rankdir!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"`dpi` must be a positive number. Received: dpi={dpi!r}")
    if expand_nested:
        raise ValueError("ember's plot_model draws a nested model as one box; expand_nested=True is not "
                         "supported. Received: expand_nested=True")
    graph = getattr(model, "_graph", None)
    if graph is None:
        if not hasattr(model, "_graph"):
            raise TypeError(f"plot_model expects an ember Model. Received: {model!r}"[:300])
        raise ValueError(f"Model '{model.name}' has no graph of layers to draw: build it first (an Input, "
                         "input_shape= on the first layer, or a call on data); a subclassed model "
                         "cannot be drawn.")
    return graph


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=200, subgraph=False, show_layer_activations=False,
                 show_trainable=False, **kwargs):
    """The model's graph as a ``pydot.Dot``: one box per layer (its name and
    class; with ``show_shapes`` its input and output shapes) and an arrow
    from each layer to each layer that reads its output. Needs ``pydot``."""
    unknown = sorted(set(kwargs) - {"splines"})
    if unknown:
        raise TypeError(f"model_to_dot got unexpected keyword arguments: {unknown}")
    graph = _check_args(model, rankdir, dpi, expand_nested)
    pydot = _require_pydot()
    dot = pydot.Cluster(style="dashed", graph_name=model.name) if subgraph else pydot.Dot()
    dot.set("rankdir", rankdir)
    dot.set("dpi", dpi)
    if kwargs.get("splines"):
        dot.set("splines", kwargs["splines"])
    dot.set_node_defaults(shape="box", fontname="Helvetica")
    options = (show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
    drawn = set()

    def add(layer, node):
        if id(layer) in drawn:
            return
        drawn.add(id(layer))
        dot.add_node(pydot.Node(str(id(layer)), label=_layer_label(layer, node, *options)))

    for t in graph.inputs:
        add(t._keras_history[0], None)
    edges = set()
    for node in graph.nodes:
        add(node.layer, node)
        for t in node.inputs:
            edge = (str(id(t._keras_history[0])), str(id(node.layer)))
            if edge not in edges:
                edges.add(edge)
                dot.add_edge(pydot.Edge(*edge))
    return dot


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=False,
               rankdir="TB", expand_nested=False, dpi=200, show_layer_activations=False,
               show_trainable=False, **kwargs):
    """Draws the model's graph into ``to_file``; the format follows its
    extension (``.png``, ``.svg``, ``.pdf``, ``.dot``, ...; PNG when there is
    none). Needs ``pydot`` and Graphviz's ``dot`` program; raises ImportError
    naming them when either is missing. Returns None."""
    if not isinstance(to_file, (str, os.PathLike)):
        raise TypeError(f"`to_file` must be a file path. Received: to_file={to_file!r}"[:300])
    to_file = os.fspath(to_file)
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir, expand_nested=expand_nested,
                       dpi=dpi, show_layer_activations=show_layer_activations, show_trainable=show_trainable,
                       **kwargs)
    _require_graphviz()
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    folder = os.path.dirname(to_file)
    if folder:
        os.makedirs(folder, exist_ok=True)
    dot.write(to_file, format="raw" if extension == "dot" else extension)


__all__ = ["plot_model", "model_to_dot"]
