"""Batch normalisation for dense features (N, D) and conv feature maps (N, C, H, W)."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.conv_ops import BATCH_LAST
from model.layers.base import Layer, Shape


class _BatchNorm(Layer):
    """Normalise each feature over the batch (and spatial axes), then scale and shift.

    Parameters gamma, beta (F,); buffers running_mean, running_var (F,). Training uses the
    batch statistics and updates the running ones (unbiased variance, as is usual);
    inference uses the running ones. Both passes work on a feature-major (F, M) matrix of the
    input (M = every value of one feature), which is free for a conv's channel-major output.
    In a data-parallel step the sums behind the statistics and behind the input gradient are
    added across shards (:mod:`model.shards`), so each shard normalises with whole-batch
    statistics; only rank 0 updates the running ones.
    Subclasses say how an input maps to its (F, M) matrix and back.
    """

    def __init__(self, features: int, momentum: float = 0.9, eps: float = 1e-5) -> None:
        super().__init__()
        if not 0.0 <= momentum < 1.0 or eps <= 0:
            raise ValueError("batchnorm: momentum must be in [0, 1) and eps > 0")
        self.features, self.momentum, self.eps = features, momentum, eps
        self.params["gamma"] = np.ones(features, dtype=np.float32)
        self.params["beta"] = np.zeros(features, dtype=np.float32)
        self.buffers["running_mean"] = np.zeros(features, dtype=np.float32)
        self.buffers["running_var"] = np.ones(features, dtype=np.float32)

    @staticmethod
    def _matrix(a: np.ndarray) -> np.ndarray:
        """Input-shaped array -> (F, M) feature-major matrix (a view when possible)."""
        raise NotImplementedError

    @staticmethod
    def _unmatrix(m: np.ndarray, like: np.ndarray) -> np.ndarray:
        """(F, M) matrix -> an array shaped like ``like`` (a view)."""
        raise NotImplementedError

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        m = self._matrix(x)
        gamma, beta = self.params["gamma"], self.params["beta"]
        if not training:  # an affine map per feature: two passes
            inv_std = (1.0 / np.sqrt(self.buffers["running_var"] + self.eps)).astype(x.dtype)
            scale = gamma * inv_std
            shift = beta - self.buffers["running_mean"].astype(x.dtype) * scale
            out = m * scale[:, None]
            out += shift[:, None]
            return self._unmatrix(out, x), (m, inv_std, training)
        count = self._batch_rows(x) * (m.shape[1] // max(len(x), 1))
        mean = self._batch_sum(m.sum(axis=1)) / count
        centred = m - mean[:, None]
        var = self._batch_sum(np.einsum("fm,fm->f", centred, centred)) / count
        if self.shard is None or self.shard.is_root:
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            rm[:] = self.momentum * rm + (1 - self.momentum) * mean
            rv[:] = self.momentum * rv + (1 - self.momentum) * var * (count / max(count - 1, 1))
        inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        out = centred * (gamma * inv_std)[:, None]
        out += beta[:, None]
        return self._unmatrix(out, x), (centred, inv_std, training)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        """Cache: the (F, M) input minus the batch mean (training) or the raw (F, M) input
        (inference), and 1 / std."""
        centred, inv_std, training = cache
        d = self._matrix(dout)
        if not training:  # inference statistics: the cache holds the raw input
            if self.needs_param_grads:
                centred = centred - self.buffers["running_mean"].astype(d.dtype)[:, None]
                dgamma = np.einsum("fm,fm->f", d, centred) * inv_std
                self.grads["gamma"], self.grads["beta"] = dgamma, d.sum(axis=1)
            return self._unmatrix(d * (self.params["gamma"] * inv_std)[:, None], dout)
        # dgamma = sum(dout * x_hat) with x_hat = centred * inv_std; dbeta = sum(dout).
        dgamma = np.einsum("fm,fm->f", d, centred) * inv_std
        dbeta = d.sum(axis=1)
        # This shard's share; a data-parallel step adds the shards' gradients afterwards.
        self.grads["gamma"], self.grads["beta"] = dgamma, dbeta
        count = self._batch_rows(dout) * (d.shape[1] // max(len(dout), 1))
        dgamma, dbeta = self._batch_sum(np.stack([dgamma, dbeta]))
        # dx = gamma * inv_std * (dout - dbeta / count - x_hat * dgamma / count)
        dx = centred * (-dgamma * inv_std / count)[:, None]
        dx += d
        dx -= (dbeta / count)[:, None]
        dx *= (self.params["gamma"] * inv_std)[:, None]
        return self._unmatrix(dx, dout)

    def spec(self) -> dict[str, Any]:
        return {"type": self.type_name, "momentum": self.momentum, "eps": self.eps}


class BatchNorm1D(_BatchNorm):
    """Batch norm of dense features: x (N, D) -> (N, D)."""

    type_name = "batchnorm1d"

    @staticmethod
    def _matrix(a: np.ndarray) -> np.ndarray:
        return a.T

    @staticmethod
    def _unmatrix(m: np.ndarray, like: np.ndarray) -> np.ndarray:
        return m.T

    def output_shape(self, input_shape: Shape) -> Shape:
        if input_shape != (self.features,):
            raise ValueError(f"batchnorm1d: expected ({self.features},), got {input_shape}")
        return input_shape


class BatchNorm2D(_BatchNorm):
    """Per-channel batch norm of conv maps: x (N, C, H, W) -> (N, C, H, W).

    Works on the (C, H*W*N) matrix of batch-last memory (free for an im2col conv's
    output); the output is an (N, C, H, W) view of batch-last (C, H, W, N) memory.
    """

    type_name = "batchnorm2d"

    @staticmethod
    def _matrix(a: np.ndarray) -> np.ndarray:
        return BATCH_LAST.matrix(a)

    @staticmethod
    def _unmatrix(m: np.ndarray, like: np.ndarray) -> np.ndarray:
        return BATCH_LAST.view(m.reshape(BATCH_LAST.arrange(like.shape)))

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 3 or input_shape[0] != self.features:
            raise ValueError(f"batchnorm2d: expected ({self.features}, H, W), got {input_shape}")
        return input_shape
