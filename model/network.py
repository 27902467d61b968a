"""Sequential: a stack of layers with forward, backward, prediction and introspection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.conv_ops import BATCH_LAST, CHANNEL_MAJOR
from model.layers import Layer, build_layer
from model.layers.base import Shape
from model.losses import softmax


@dataclass(frozen=True)
class FeatureMaps:
    """What one conv layer picks out in an input: ``maps`` (C, H, W) is the output of layer
    ``shown_index``: the first ReLU after conv ``conv_index`` (before any other conv), or the
    conv's own output when no ReLU follows it."""

    conv_index: int
    shown_index: int
    maps: np.ndarray

    @property
    def after_relu(self) -> bool:
        return self.shown_index != self.conv_index


def execution_order(layers: list[Layer]) -> list[int]:
    """Indices of ``layers`` in the order the passes run them: each ReLU that directly
    precedes a max pool (and is not the first layer) swapped with it.

    The swap changes no number. Forward: max and ReLU commute exactly. Backward: when the
    window's maximum is positive, its first maximum is the same cell either way and the
    ReLU passes the gradient; when it is not, the ReLU stops it either way.
    """
    order = list(range(len(layers)))
    index = 1
    while index < len(layers) - 1:
        if layers[index].type_name == "relu" and layers[index + 1].type_name == "maxpool2d":
            order[index], order[index + 1] = index + 1, index
            index += 2
        else:
            index += 1
    return order


#: Layers that keep their input's memory layout and look at each value alone.
ELEMENTWISE = frozenset({"relu", "dropout"})


def plan_layouts(layers: list[Layer]) -> None:
    """Have each conv write its output in the memory layout its reader reads fastest:
    channel-major when, past element-wise layers only, the next layer is a conv suited to
    the flat grid (which works on channel-major memory), batch-last otherwise. Only speed
    depends on it (measured: the seed net's first conv, batch-last, cost its grid conv two
    transposing copies, about 5% of a step)."""
    for index, layer in enumerate(layers):
        if layer.type_name != "conv2d":
            continue
        reader = next((later for later in layers[index + 1 :]
                       if later.type_name not in ELEMENTWISE), None)
        feeds_grid = reader is not None and reader.type_name == "conv2d" and reader.suits_grid
        layer.output_layout = CHANNEL_MAJOR if feeds_grid else BATCH_LAST


class Sequential:
    """Layers applied in order to a batch (N, *input_shape) -> logits (N, classes).

    ``forward`` in training mode keeps each layer's cache for ``backward``; parameters and
    gradients are exposed as flat ``"<index>.<name>"`` dicts that optimizers update in place.

    Contracts between the layers it chains:

    - The first layer gets ``needs_input_grad = False`` (nobody needs d(loss)/d(input)), so
      its backward fills its parameter gradients and returns None; ``backward`` stops there.
      A layer moved out of first place must have the flag set back to True.
    - Arrays handed from layer to layer are (N, C, H, W) or (N, D) *shapes*, not a memory
      layout: a conv returns an (N, C, H, W) view of batch-last (C, H, W, N) memory (or,
      the flat grid, of channel-major (C, N, H, W) memory), and so does the batch norm
      after it, so every layer must accept any strides (NumPy operations do) and use
      ``conv_ops.BATCH_LAST.matrix`` where it wants the (C, H*W*N) matrix (free for such
      a view). Nothing may assume C-contiguity; layers that can hand gradients back in
      their input's layout (mismatched layouts make NumPy's loops several times slower).

    The passes run the layers in ``execution_order``: the spec's order, except that a ReLU
    directly followed by a max pool runs after it. max(relu(a), relu(b)) is relu(max(a, b))
    exactly, and the gradients are the same too (see :func:`execution_order`), but the ReLU
    then touches a quarter of the values. ``activations`` keeps the spec's order.
    """

    def __init__(self, layers: list[Layer], input_shape: Shape) -> None:
        self.layers = layers
        self.input_shape = tuple(input_shape)
        self.training = False
        #: Logits are divided by this before the softmax of predict_proba (1.0: raw); a
        #: temperature fitted on held-out data makes the probabilities honest.
        self.temperature = 1.0
        self._caches: list[Any] | None = None
        self.execution_order = execution_order(layers)
        plan_layouts(layers)
        if layers:
            layers[0].needs_input_grad = False
        self.output_shape = self.layer_shapes()[-1]

    @classmethod
    def from_spec(
        cls, arch: list[dict[str, Any]], input_shape: Shape = (1, 28, 28), seed: int = 0
    ) -> Sequential:
        """Build from plain-dict layer specs (see :func:`model.layers.build_layer`)."""
        rng = np.random.default_rng(seed)
        layers, shape = [], tuple(input_shape)
        for spec in arch:
            layer = build_layer(spec, shape, rng)
            shape = layer.output_shape(shape)
            layers.append(layer)
        return cls(layers, input_shape)

    def spec(self) -> list[dict[str, Any]]:
        return [layer.spec() for layer in self.layers]

    def layer_shapes(self) -> list[Shape]:
        """The input's shape, then each layer's output shape (without the batch axis)."""
        shapes = [self.input_shape]
        for layer in self.layers:
            shapes.append(layer.output_shape(shapes[-1]))
        return shapes

    # modes ----------------------------------------------------------------------------
    def train(self) -> Sequential:
        self.training = True
        return self

    def eval(self) -> Sequential:
        self.training = False
        self._caches = None
        return self

    # passes ---------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        """x (N, *input_shape) -> logits (N, classes); keeps caches when training."""
        caches = []
        for layer in self._in_order():
            x, cache = layer.forward(x, self.training)
            caches.append(cache)
        self._caches = caches if self.training else None
        return x

    def _in_order(self) -> list[Layer]:
        """The layers in ``execution_order``."""
        return [self.layers[index] for index in self.execution_order]

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Inference-mode x (N, *input_shape) -> logits (N, classes); mode and caches untouched."""
        for layer in self._in_order():
            x, _ = layer.forward(x, False)
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        """Back-propagate d(loss)/d(logits) (N, classes); fills every layer's ``grads``."""
        if self._caches is None:
            raise RuntimeError("backward needs a forward pass in training mode first")
        grad = dlogits
        for layer, cache in zip(reversed(self._in_order()), reversed(self._caches), strict=True):
            grad = layer.backward(grad, cache)
        self._caches = None

    def input_gradient(self, x: np.ndarray, dlogits_of: Callable[[np.ndarray], np.ndarray]):
        """d(score)/d(input) in inference mode, through every layer's backward pass.

        x (N, *input_shape); ``dlogits_of(logits (N, classes))`` gives d(score)/d(logits)
        (N, classes) for whatever score is explained (e.g. a class's log-probability).
        Returns (logits (N, classes), gradient (N, *input_shape)). No parameter gradient
        is computed (those from an earlier backward pass stay as they were); the network's
        mode is untouched.
        """
        caches, layers = [], self._in_order()
        for layer in layers:
            x, cache = layer.forward(x, False)
            caches.append(cache)
        logits = x
        grad = dlogits_of(logits)
        first = self.layers[0]
        needed = first.needs_input_grad
        first.needs_input_grad = True  # this once, the input's gradient is the point
        for layer in self.layers:
            layer.needs_param_grads = False
        try:
            for layer, cache in zip(reversed(layers), reversed(caches), strict=True):
                grad = layer.backward(grad, cache)
        finally:
            first.needs_input_grad = needed
            for layer in self.layers:
                layer.needs_param_grads = True
        return logits, grad

    def predict_proba(self, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Class probabilities (N, classes) in inference mode, in batches, at the network's
        calibrated ``temperature``."""
        was_training, self.training = self.training, False
        scale = np.float32(1.0 / self.temperature)
        try:
            chunks = [
                softmax(self.forward(x[i : i + batch_size]) * scale)
                for i in range(0, len(x), batch_size)
            ]
        finally:
            self.training = was_training
        return np.concatenate(chunks) if chunks else np.zeros((0, self.output_shape[0]))

    def predict(self, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Predicted class indices (N,)."""
        return self.predict_proba(x, batch_size).argmax(axis=1)

    def activations(self, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
        """Every layer's output for ONE input x (*input_shape), in inference mode.

        Returns [(name, activation without batch axis)], e.g. ("0:conv2d", (8, 24, 24)).
        """
        out, result = x[None], []
        for i, layer in enumerate(self.layers):
            out, _ = layer.forward(out, False)
            result.append((f"{i}:{layer.type_name}", out[0]))
        return result

    def feature_map_sources(self) -> list[tuple[int, int]]:
        """(conv index, index of the layer whose output shows that conv's features) for every
        conv: the first ReLU after it before the next conv, else the conv itself."""
        sources = []
        for index, layer in enumerate(self.layers):
            if layer.type_name != "conv2d":
                continue
            shown = index
            for later in range(index + 1, len(self.layers)):
                kind = self.layers[later].type_name
                if kind == "conv2d":
                    break
                if kind == "relu":
                    shown = later
                    break
            sources.append((index, shown))
        return sources

    def feature_maps(self, x: np.ndarray) -> list[FeatureMaps]:
        """For ONE input x (*input_shape): each conv's feature maps, in inference mode."""
        outputs = [activation for _, activation in self.activations(x)]
        return [
            FeatureMaps(conv, shown, outputs[shown]) for conv, shown in self.feature_map_sources()
        ]

    # parameters -----------------------------------------------------------------------
    def _flat(self, attribute: str) -> dict[str, np.ndarray]:
        return {
            f"{i}.{name}": value
            for i, layer in enumerate(self.layers)
            for name, value in getattr(layer, attribute).items()
        }

    def parameters(self) -> dict[str, np.ndarray]:
        """Trainable arrays by ``"<layer index>.<name>"`` (the live arrays, not copies)."""
        return self._flat("params")

    def gradients(self) -> dict[str, np.ndarray]:
        """Gradients from the last backward pass, same keys as :meth:`parameters`."""
        return self._flat("grads")

    def buffers(self) -> dict[str, np.ndarray]:
        """Saved non-trained state (BatchNorm running statistics)."""
        return self._flat("buffers")

    def decayed_parameters(self) -> set[str]:
        """Keys of the parameters that should take L2 weight decay (weights only)."""
        return {f"{i}.{n}" for i, layer in enumerate(self.layers) for n in layer.decayed}

    def load_state(self, params: dict[str, np.ndarray], buffers: dict[str, np.ndarray]) -> None:
        """Copy arrays into the network; keys and shapes must match exactly."""
        for attribute, values in (("params", params), ("buffers", buffers)):
            expected = self._flat(attribute)
            if set(values) != set(expected):
                missing, extra = set(expected) - set(values), set(values) - set(expected)
                raise ValueError(f"{attribute} do not fit: missing {missing}, unexpected {extra}")
            for key, value in values.items():
                if value.shape != expected[key].shape:
                    raise ValueError(f"{key}: shape {value.shape} != {expected[key].shape}")
                index, name = key.split(".", 1)
                getattr(self.layers[int(index)], attribute)[name] = value.astype(np.float32)

    def num_parameters(self) -> int:
        return int(sum(p.size for p in self.parameters().values()))

    def __repr__(self) -> str:
        lines = [f"Sequential(input {self.input_shape}, {self.num_parameters()} parameters)"]
        lines += [f"  {i}: {layer!r}" for i, layer in enumerate(self.layers)]
        return "\n".join(lines)
