"""Batch normalisation for dense features (N, D) and conv feature maps (N, C, H, W)."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.layers.base import Layer, Shape


class _BatchNorm(Layer):
    """Normalise each feature over the batch (and spatial axes), then scale and shift.

    Parameters gamma, beta (F,); buffers running_mean, running_var (F,). Training uses the
    batch statistics and updates the running ones; inference uses the running ones.
    """

    reduce_axes: tuple[int, ...] = ()

    def __init__(self, features: int, momentum: float = 0.9, eps: float = 1e-5) -> None:
        super().__init__()
        self.features, self.momentum, self.eps = features, momentum, eps
        self.params["gamma"] = np.ones(features, dtype=np.float32)
        self.params["beta"] = np.zeros(features, dtype=np.float32)
        self.buffers["running_mean"] = np.zeros(features, dtype=np.float32)
        self.buffers["running_var"] = np.ones(features, dtype=np.float32)

    def _broadcast(self, v: np.ndarray) -> np.ndarray:
        """(F,) -> a shape that broadcasts against the layer's input."""
        raise NotImplementedError

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        axes = self.reduce_axes
        if training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            count = x.size // self.features
            m = self.momentum
            unbiased = var * (count / max(count - 1, 1))
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm *= m
            rm += (1 - m) * mean.astype(rm.dtype)
            rv *= m
            rv += (1 - m) * unbiased.astype(rv.dtype)
        else:
            mean, var = self.buffers["running_mean"], self.buffers["running_var"]
        inv_std = 1.0 / np.sqrt(var.astype(x.dtype) + x.dtype.type(self.eps))
        x_hat = (x - self._broadcast(mean.astype(x.dtype))) * self._broadcast(inv_std)
        out = x_hat * self._broadcast(self.params["gamma"]) + self._broadcast(self.params["beta"])
        return out, (x_hat, inv_std, training)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        x_hat, inv_std, training = cache
        axes = self.reduce_axes
        self.grads["gamma"] = (dout * x_hat).sum(axis=axes)
        self.grads["beta"] = dout.sum(axis=axes)
        scale = self._broadcast(self.params["gamma"] * inv_std)
        if not training:
            return dout * scale
        count = dout.size // self.features
        mean_dout = self._broadcast(self.grads["beta"] / count)
        mean_dout_xhat = self._broadcast(self.grads["gamma"] / count)
        return scale * (dout - mean_dout - x_hat * mean_dout_xhat)

    def spec(self) -> dict[str, Any]:
        return {"type": self.type_name, "momentum": self.momentum, "eps": self.eps}


class BatchNorm1D(_BatchNorm):
    """Batch norm of dense features: x (N, D) -> (N, D)."""

    type_name = "batchnorm1d"
    reduce_axes = (0,)

    def _broadcast(self, v: np.ndarray) -> np.ndarray:
        return v

    def output_shape(self, input_shape: Shape) -> Shape:
        if input_shape != (self.features,):
            raise ValueError(f"batchnorm1d: expected ({self.features},), got {input_shape}")
        return input_shape


class BatchNorm2D(_BatchNorm):
    """Per-channel batch norm of conv maps: x (N, C, H, W) -> (N, C, H, W)."""

    type_name = "batchnorm2d"
    reduce_axes = (0, 2, 3)

    def _broadcast(self, v: np.ndarray) -> np.ndarray:
        return v[:, None, None]

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3 or input_shape[0] != self.features:
            raise ValueError(f"batchnorm2d: expected ({self.features}, H, W), got {input_shape}")
        return input_shape
