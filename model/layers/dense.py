"""Fully connected layer and the flattening that feeds it."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.layers.base import Layer, Shape, he_normal


class Dense(Layer):
    """Affine map x @ W + b. x: (N, D_in) -> (N, D_out); W (D_in, D_out), b (D_out,)."""

    type_name = "dense"
    decayed = frozenset({"W"})

    def __init__(self, in_features: int, units: int, rng: np.random.Generator | None = None):
        super().__init__()
        if in_features < 1 or units < 1:
            raise ValueError("dense: in_features and units must be >= 1")
        self.in_features, self.units = in_features, units
        rng = rng or np.random.default_rng(0)
        self.params["W"] = he_normal(rng, (in_features, units), in_features)
        self.params["b"] = np.zeros(units, dtype=np.float32)

    def output_shape(self, input_shape: Shape) -> Shape:
        if input_shape != (self.in_features,):
            raise ValueError(f"dense: expected input ({self.in_features},), got {input_shape}")
        return (self.units,)

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        return x @ self.params["W"] + self.params["b"], x

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray | None:
        x = cache
        if self.needs_param_grads:
            self.grads["W"] = x.T @ dout
            self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T if self.needs_input_grad else None

    def spec(self) -> dict[str, Any]:
        return {"type": self.type_name, "units": self.units}


class Flatten(Layer):
    """(N, C, H, W) -> (N, C * H * W).

    The backward pass hands the gradient back in the input's memory layout (e.g.
    batch-last), so the layers below run over matching layouts (measured: a max pool's
    backward pass took 3.5x longer with its input and gradient laid out differently).
    """

    type_name = "flatten"

    def output_shape(self, input_shape: Shape) -> Shape:
        return (int(np.prod(input_shape)),)

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        return x.reshape(x.shape[0], -1), x  # cache: x, for its shape and layout

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        if cache.flags.c_contiguous:
            return dout.reshape(cache.shape)
        dx = np.empty_like(cache, dtype=dout.dtype)
        dx[...] = dout.reshape(cache.shape)
        return dx
