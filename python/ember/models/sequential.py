"""Sequential: a linear stack of layers, the simplest functional graph."""
from ..engine import KerasTensor
from ..layers.base import Input, InputLayer, Layer, _shape_str
from .model import Model


class Sequential(Model):
    """A linear stack of layers, built from a list or with ``add``. Once its
    input shape is known (an ``Input`` first, ``input_shape=`` on the first
    layer, ``build``, or the first data it sees) it holds the same graph as
    ``Model(inputs, outputs)`` would."""

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._layers_list = []
        self._input_layer = None
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------ structure
    def add(self, layer, rebuild=True):
        if isinstance(layer, KerasTensor) and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer. Received: {layer!r}"[:300])
        if isinstance(layer, InputLayer):
            if self._layers_list or self._input_layer is not None:
                raise ValueError("An Input must come first in a Sequential model.")
            self._input_layer = layer
        else:
            if not self._layers_list and self._input_layer is None and layer._declared_input_shape is not None:
                self._input_layer = Input(shape=layer._declared_input_shape)._keras_history[0]
            self._layers_list.append(layer)
        self._graph = None
        self.built = False
        if rebuild and self._input_layer is not None:
            self._build_graph()

    def pop(self, rebuild=True):
        if not self._layers_list:
            raise ValueError("There are no layers to pop.")
        layer = self._layers_list.pop()
        self._graph = None
        self.built = False
        if rebuild and self._input_layer is not None:
            self._build_graph()
        return layer

    @property
    def layers(self):
        return list(self._layers_list)

    def _sublayers_for_weights(self):
        return self._layers_list

    def build(self, input_shape=None):
        if input_shape is not None:
            shape = tuple(input_shape)
            if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (tuple, list)):
                shape = tuple(input_shape[0])
            self._input_layer = Input(shape=shape[1:])._keras_history[0]
        if self._input_layer is None:
            raise ValueError("The model's input shape is unknown: give the first layer `input_shape=`, "
                             "start with Input(shape=...), or call build((None, ...)).")
        self._build_graph()

    def _maybe_build(self, args):
        # Called on data before its input shape was known: build the graph
        # from the data's shape, as Keras does.
        if not self.built and args and not isinstance(args[0], KerasTensor) and hasattr(args[0], "shape"):
            self.build((None,) + tuple(args[0].shape[1:]))
        elif not self.built:
            Model._maybe_build(self, args)

    def _build_graph(self):
        x = self._input_layer.output
        inputs = x
        for layer in self._layers_list:
            x = layer(x)
        self._init_graph(inputs, x)
        if self._device != "cpu":
            self._to(self._device)

    def call(self, inputs, training=None, mask=None):
        x = inputs
        for layer in self._layers_list:
            x = layer(x, training=training)
        return x

    def _summary_rows(self):
        if self._graph is None:  # not built yet: Keras lists the layers with unknown shapes
            return [(layer, "?", []) for layer in self._layers_list]
        return [(node.layer, node.flat_outputs[0].shape, []) for node in self._graph.nodes]

    # ------------------------------------------------------------ config
    def get_config(self):
        input_shape = None if self._input_layer is None else list(self._input_layer.shape[1:])
        return {"name": self.name, "input_shape": input_shape,
                "layers": [{"class_name": type(l).__name__, "config": l.get_config()} for l in self._layers_list]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .. import layers as layers_module
        model = cls(name=config.get("name"))
        if config.get("input_shape") is not None:
            model._input_layer = Input(shape=tuple(config["input_shape"]))._keras_history[0]
        for spec in config["layers"]:
            layer_cfg = dict(spec["config"])
            layer_cfg.pop("name", None)
            layer = layers_module.get(spec["class_name"], custom_objects).from_config(layer_cfg)
            model.add(layer, rebuild=False)
        if model._input_layer is not None:
            model._build_graph()
        return model

    def __repr__(self):
        shape = "?" if self._input_layer is None else _shape_str(self._input_layer.shape)
        return f"<Sequential name={self.name}, input={shape}, layers={len(self._layers_list)}>"
