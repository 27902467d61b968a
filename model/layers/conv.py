"""2-D convolution as im2col plus one batched matrix multiply."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.conv_ops import (
    batch_first,
    channels_first,
    col2im,
    im2col,
    output_size,
    pad_spatial,
    same_padding,
)
from model.layers.base import Layer, Shape, he_normal


class Conv2D(Layer):
    """Cross-correlation of an (N, C, H, W) batch with F filters of shape (C, KH, KW).

    ``padding`` is "valid", "same", or a non-negative int applied to every side.
    Parameters: W (F, C, KH, KW), b (F,). Output: (N, F, OH, OW).
    """

    type_name = "conv2d"
    decayed = frozenset({"W"})

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel: int,
        stride: int = 1,
        padding: str | int = "valid",
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        if kernel < 1 or stride < 1 or filters < 1 or in_channels < 1:
            raise ValueError("conv2d: kernel, stride, filters and in_channels must be >= 1")
        if not (padding in ("valid", "same") or (isinstance(padding, int) and padding >= 0)):
            raise ValueError(f"conv2d: padding must be 'valid', 'same' or an int >= 0: {padding!r}")
        self.in_channels, self.filters = in_channels, filters
        self.kernel, self.stride, self.padding = kernel, stride, padding
        rng = rng or np.random.default_rng(0)
        fan_in = in_channels * kernel * kernel
        self.params["W"] = he_normal(rng, (filters, in_channels, kernel, kernel), fan_in)
        self.params["b"] = np.zeros(filters, dtype=np.float32)

    def _pads(self, size: int) -> tuple[int, int]:
        if self.padding == "valid":
            return 0, 0
        if self.padding == "same":
            return same_padding(size, self.kernel, self.stride)
        return self.padding, self.padding

    def output_shape(self, input_shape: Shape) -> Shape:
        _, h, w = input_shape
        oh = output_size(h, self.kernel, self.stride, *self._pads(h))
        ow = output_size(w, self.kernel, self.stride, *self._pads(w))
        if oh < 1 or ow < 1:
            raise ValueError(f"conv2d: input {input_shape} is smaller than the kernel")
        return self.filters, oh, ow

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        n, _, h, w = x.shape
        pads = (self._pads(h), self._pads(w))
        x_padded = pad_spatial(x, *pads)
        cols = im2col(x_padded, self.kernel, self.kernel, self.stride)  # (C*K*K, N*P)
        out = self.params["W"].reshape(self.filters, -1) @ cols  # (F, N*P): one GEMM
        out += self.params["b"][:, None]
        _, oh, ow = self.output_shape(x.shape[1:])
        # An (N, F, OH, OW) view of channel-major memory; the next layer reads it as is.
        return batch_first(out, n, oh, ow), (cols, x_padded.shape, pads)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray | None:
        cols, padded_shape, (pad_h, pad_w) = cache
        dout_mat = channels_first(dout)  # (F, N*P)
        self.grads["W"] = (dout_mat @ cols.T).reshape(self.params["W"].shape)
        self.grads["b"] = dout_mat.sum(axis=1)
        if not self.needs_input_grad:
            return None
        k = self.kernel
        if self.stride == 1 and max(*pad_h, *pad_w) <= k - 1:
            return self._input_grad_by_full_correlation(dout, pad_h, pad_w)
        dcols = self.params["W"].reshape(self.filters, -1).T @ dout_mat  # (C*K*K, N*P)
        dx_padded = col2im(dcols, padded_shape, k, k, self.stride)
        h, w = padded_shape[2], padded_shape[3]
        return dx_padded[:, :, pad_h[0] : h - pad_h[1], pad_w[0] : w - pad_w[1]]

    def _input_grad_by_full_correlation(
        self, dout: np.ndarray, pad_h: tuple[int, int], pad_w: tuple[int, int]
    ) -> np.ndarray:
        """Stride-1 input gradient as a convolution of dout with the flipped kernels.

        dout (N, F, OH, OW) -> dx (N, C, H, W). Padding dout by K-1 minus the forward
        padding lands exactly on the unpadded input, so nothing is scattered or cropped.
        """
        k = self.kernel
        dout_padded = pad_spatial(
            dout, (k - 1 - pad_h[0], k - 1 - pad_h[1]), (k - 1 - pad_w[0], k - 1 - pad_w[1])
        )
        cols = im2col(dout_padded, k, k, 1)  # (F*K*K, N*H*W)
        flipped = self.params["W"][:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, F, K, K)
        dx = flipped.reshape(self.in_channels, -1) @ cols  # (C, N*H*W)
        n, _, h, w = dout_padded.shape
        return batch_first(dx, n, h - k + 1, w - k + 1)

    def spec(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "filters": self.filters,
            "kernel": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
        }
