"""The graph of a functional model: nodes from its inputs to its outputs,
in an order that runs each node after the nodes it reads from."""
from ..engine import KerasTensor
from ..layers.base import InputLayer, flatten, map_structure, _shape_str


def _node_of(t):
    layer, index, _ = t._keras_history
    return layer._inbound_nodes[index]


class Graph:
    """``run`` evaluates the recorded layer calls on real tensors. Errors in
    the graph (an output that does not come from the inputs, an input that is
    not an ``Input``) are raised here, when the model is built."""

    def __init__(self, inputs, outputs, model_name):
        self.inputs_struct = inputs
        self.outputs_struct = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        for t in self.inputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model '{model_name}': every input must be a symbolic tensor from "
                                f"keras.Input(). Received: {t!r}"[:300])
            if not isinstance(t._keras_history[0], InputLayer):
                raise ValueError(f"Model '{model_name}': input {t.name!r} is not an Input(): a model's "
                                 "inputs must be the tensors returned by keras.Input().")
        for t in self.outputs:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"Model '{model_name}': every output must be a symbolic tensor made by "
                                f"calling layers on Input() tensors. Received: {t!r}"[:300])
        input_ids = {id(t) for t in self.inputs}
        # Depth-first from the outputs, stopping at the model's inputs: the
        # nodes in post-order (each after the nodes it reads from), and each
        # layer's index in visiting order.
        order, state, layer_index = [], {}, {}
        for out in self.outputs:
            stack = [(_node_of(out), False, out)]
            while stack:
                node, done, via = stack.pop()
                if done:
                    if state.get(id(node)) != 2:
                        state[id(node)] = 2
                        order.append(node)
                    continue
                if state.get(id(node)):
                    continue
                state[id(node)] = 1
                layer_index.setdefault(id(node.layer), len(layer_index))
                stack.append((node, True, via))
                if id(via) in input_ids:
                    continue
                for t in reversed(node.inputs):
                    parent = _node_of(t)
                    if isinstance(parent.layer, InputLayer) and id(t) not in input_ids:
                        raise ValueError(
                            f"Model '{model_name}': output {_names(self.outputs)} depends on the input "
                            f"{t.name!r}, which is not among the model's inputs {_names(self.inputs)} "
                            "(the graph is disconnected).")
                    if state.get(id(parent)) != 2:
                        stack.append((parent, False, t))
        # Layers ordered as Keras orders them (so that weights line up with a
        # Keras model's): by depth from the outputs, deepest first, then by
        # visiting order. A layer's depth is the largest of its nodes'.
        depth, layer_depth = {}, {}
        for node in reversed(order):
            d = max(depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
            layer_depth[id(node.layer)] = depth[id(node)] = d
            if isinstance(node.layer, InputLayer):
                continue
            for t in node.inputs:
                parent = _node_of(t)
                if state.get(id(parent)) == 2:
                    depth[id(parent)] = max(d + 1, depth.get(id(parent), 0))
        self.nodes = [n for n in order if not isinstance(n.layer, InputLayer)]
        layers, seen = [], set()
        for node in self.nodes:
            if id(node.layer) not in seen:
                seen.add(id(node.layer))
                layers.append(node.layer)
        layers.sort(key=lambda l: (-layer_depth[id(l)], layer_index[id(l)]))
        self.layers = layers

    def run(self, inputs, call_layer):
        """Evaluates the graph: ``inputs`` in the structure of the model's
        inputs (or a flat list); ``call_layer(layer, args, kwargs)`` calls one
        layer."""
        if isinstance(inputs, dict) and not isinstance(self.inputs_struct, dict):
            inputs = [inputs[t.name] for t in self.inputs]
        flat = flatten(inputs) if isinstance(inputs, (list, tuple, dict)) else [inputs]
        if len(flat) != len(self.inputs):
            raise ValueError(f"The model expects {len(self.inputs)} input(s) "
                             f"{[_shape_str(t.shape) for t in self.inputs]}. Received: {len(flat)} input(s)")
        values = {}
        for t, v in zip(self.inputs, flat):
            shape = tuple(v.shape)
            if len(shape) != len(t.shape) or any(a is not None and a != b for a, b in zip(t.shape, shape)):
                raise ValueError(f"Input {t.name!r} of the model expects shape {_shape_str(t.shape)}. "
                                 f"Received: {_shape_str(shape)}")
            values[id(t)] = v
        for node in self.nodes:
            def fetch(x):
                return values[id(x)] if isinstance(x, KerasTensor) else x
            args = map_structure(fetch, node.args)
            kwargs = map_structure(fetch, node.kwargs)
            out = call_layer(node.layer, args, kwargs)
            for t, v in zip(node.flat_outputs, flatten(out)):
                values[id(t)] = v
        return map_structure(lambda t: values[id(t)], self.outputs_struct)


def _names(ts):
    return [t.name for t in ts]
