"""Element-wise layers: ReLU and inverted dropout."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.layers.base import Layer


class ReLU(Layer):
    """max(x, 0), any shape."""

    type_name = "relu"

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        out = np.maximum(x, 0)
        return out, out > 0

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        return dout * cache


class Dropout(Layer):
    """Inverted dropout: zero each unit with probability ``rate`` and scale the rest by
    1 / (1 - rate) while training; the identity at inference. Any shape.

    The mask is drawn for the whole batch from the layer's own generator, so a data-parallel
    step (rank 0 draws it, each shard takes its rows) uses the very same random numbers.
    """

    type_name = "dropout"

    def __init__(self, rate: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout: rate must be in [0, 1): {rate}")
        self.rate = rate
        self.rng = rng or np.random.default_rng(0)

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        if not training or self.rate == 0.0:
            return x, None
        if self.shard is None:
            mask = self._mask(x.shape, x.dtype)
        else:
            whole = (self.shard.batch, *x.shape[1:])
            mask = self.shard.broadcast(lambda: self._mask(whole, x.dtype))[self.shard.rows]
        return x * mask, mask

    def _mask(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Kept units scaled by 1 / (1 - rate), dropped ones 0; ``shape`` and ``dtype``."""
        keep = self.rng.random(shape, dtype=np.float32) >= self.rate
        return keep.astype(dtype) / dtype.type(1.0 - self.rate)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        return dout if cache is None else dout * cache

    def spec(self) -> dict[str, Any]:
        return {"type": self.type_name, "rate": self.rate}
