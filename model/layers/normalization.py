"""Batch normalisation for dense features (N, D) and conv feature maps (N, C, H, W)."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.layers.base import Layer, Shape


class _BatchNorm(Layer):
    """Normalise each feature over the batch (and spatial axes), then scale and shift.

    Parameters gamma, beta (F,); buffers running_mean, running_var (F,). Training uses the
    batch statistics and updates the running ones (unbiased variance, as is usual);
    inference uses the running ones. Subclasses give the einsum subscripts that reduce an
    input to its (F,) per-feature sums and the shape that broadcasts (F,) back.
    """

    reduce_subscripts = ""
    broadcast_shape: tuple[int, ...] = ()

    def __init__(self, features: int, momentum: float = 0.9, eps: float = 1e-5) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0 or eps <= 0:
            raise ValueError("batchnorm: momentum must be in [0, 1) and eps > 0")
        self.features, self.momentum, self.eps = features, momentum, eps
        self.params["gamma"] = np.ones(features, dtype=np.float32)
        self.params["beta"] = np.zeros(features, dtype=np.float32)
        self.buffers["running_mean"] = np.zeros(features, dtype=np.float32)
        self.buffers["running_var"] = np.ones(features, dtype=np.float32)

    def _sum(self, a: np.ndarray) -> np.ndarray:
        """Per-feature sum of an input-shaped array -> (F,)."""
        return np.einsum(self.reduce_subscripts, a)

    def _dot(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per-feature sum of a * b -> (F,), without the temporary product."""
        inputs, output = self.reduce_subscripts.split("->")
        return np.einsum(f"{inputs},{inputs}->{output}", a, b)

    def _b(self, v: np.ndarray) -> np.ndarray:
        return v.reshape(self.broadcast_shape)

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        count = x.size // self.features
        if training:
            mean = self._sum(x) / count
            x_hat = x - self._b(mean)
            var = self._dot(x_hat, x_hat) / count
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm[:] = self.momentum * rm + (1 - self.momentum) * mean
            rv[:] = self.momentum * rv + (1 - self.momentum) * var * (count / max(count - 1, 1))
        else:
            mean = self.buffers["running_mean"].astype(x.dtype)
            var = self.buffers["running_var"].astype(x.dtype)
            x_hat = x - self._b(mean)
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        x_hat *= self._b(inv_std)
        out = x_hat * self._b(self.params["gamma"])
        out += self._b(self.params["beta"])
        return out, (x_hat, inv_std, training)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        x_hat, inv_std, training = cache
        self.grads["gamma"] = dgamma = self._dot(dout, x_hat)
        self.grads["beta"] = dbeta = self._sum(dout)
        scale = self._b(self.params["gamma"] * inv_std)
        if not training:
            return dout * scale
        count = dout.size // self.features
        dx = x_hat * self._b(-dgamma / count)
        dx += dout
        dx -= self._b(dbeta / count)
        dx *= scale
        return dx

    def spec(self) -> dict[str, Any]:
        return {"type": self.type_name, "momentum": self.momentum, "eps": self.eps}


class BatchNorm1D(_BatchNorm):
    """Batch norm of dense features: x (N, D) -> (N, D)."""

    type_name = "batchnorm1d"
    reduce_subscripts = "nd->d"
    broadcast_shape = (-1,)

    def output_shape(self, input_shape: Shape) -> Shape:
        if input_shape != (self.features,):
            raise ValueError(f"batchnorm1d: expected ({self.features},), got {input_shape}")
        return input_shape


class BatchNorm2D(_BatchNorm):
    """Per-channel batch norm of conv maps: x (N, C, H, W) -> (N, C, H, W)."""

    type_name = "batchnorm2d"
    reduce_subscripts = "nchw->c"
    broadcast_shape = (-1, 1, 1)

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3 or input_shape[0] != self.features:
            raise ValueError(f"batchnorm2d: expected ({self.features}, H, W), got {input_shape}")
        return input_shape
