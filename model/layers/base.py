"""The layer interface every building block of the network implements."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.shards import Shard

Shape = tuple[int, ...]


class Layer:
    """A differentiable function with optional trainable parameters.

    ``forward(x, training) -> (out, cache)`` computes the output and whatever the backward
    pass needs; ``backward(dout, cache) -> dx`` stores parameter gradients in ``grads`` (same
    keys and shapes as ``params``) and returns the gradient with respect to the input.
    ``buffers`` hold state that is saved but not trained (e.g. BatchNorm running statistics).
    Shapes exclude nothing: every array is batch first.

    In a data-parallel step (:mod:`model.parallel`) each thread runs a shallow copy of the
    layer (same ``params`` and ``buffers`` arrays, its own ``grads``) whose ``shard`` says
    which rows of the batch it holds; layers that need the whole batch (batch norm, dropout)
    use it to combine with the other shards. ``shard`` is None in an ordinary pass.
    """

    type_name: str = ""
    #: Names of parameters that take L2 weight decay (weights, not biases or BN scales).
    decayed: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        #: The container sets this to False on the first layer: no one needs d(input).
        self.needs_input_grad = True
        #: False while only the input's gradient is wanted (saliency): layers may then skip
        #: their parameter gradients.
        self.needs_param_grads = True
        #: Set on the per-thread copies of a data-parallel step; None otherwise.
        self.shard: Shard | None = None

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        raise NotImplementedError

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray | None:
        raise NotImplementedError

    def _batch_sum(self, partial: np.ndarray) -> np.ndarray:
        """A per-feature sum over this shard's rows -> the same sum over the whole batch."""
        return partial if self.shard is None else self.shard.allreduce(partial)

    def _batch_rows(self, x: np.ndarray) -> int:
        """Examples in the whole batch that ``x`` (this shard's rows) belongs to."""
        return len(x) if self.shard is None else self.shard.batch

    def output_shape(self, input_shape: Shape) -> Shape:
        """Per-example output shape for a per-example ``input_shape`` (no batch axis)."""
        return input_shape

    def spec(self) -> dict[str, Any]:
        """Plain-dict description from which :func:`model.layers.build_layer` rebuilds it."""
        return {"type": self.type_name}

    def astype(self, dtype: np.dtype | type) -> Layer:
        """Cast parameters and buffers in place (float64 for gradient checks); returns self."""
        for store in (self.params, self.buffers):
            for key, value in store.items():
                store[key] = value.astype(dtype)
        return self

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self.spec().items() if k != "type")
        return f"{type(self).__name__}({fields})"


def he_normal(rng: np.random.Generator, shape: Shape, fan_in: int) -> np.ndarray:
    """He (Kaiming) normal initialisation for ReLU networks, float32."""
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
