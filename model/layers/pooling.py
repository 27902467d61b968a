"""Max pooling over square windows."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.conv_ops import col2im, window_view
from model.layers.base import Layer, Shape


class MaxPool2D(Layer):
    """Max over ``kernel x kernel`` windows every ``stride`` cells; no padding (floor).

    x: (N, C, H, W) -> (N, C, OH, OW). The gradient flows to exactly one input per window
    (the first maximum), so ties never double-count.
    """

    type_name = "maxpool2d"

    def __init__(self, kernel: int = 2, stride: int | None = None) -> None:
        super().__init__()
        self.kernel = kernel
        self.stride = stride or kernel
        if self.kernel < 1 or self.stride < 1:
            raise ValueError("maxpool2d: kernel and stride must be >= 1")

    def output_shape(self, input_shape: Shape) -> Shape:
        c, h, w = input_shape
        oh = (h - self.kernel) // self.stride + 1
        ow = (w - self.kernel) // self.stride + 1
        if oh < 1 or ow < 1:
            raise ValueError(f"maxpool2d: input {input_shape} is smaller than the window")
        return c, oh, ow

    def _windows(self, x: np.ndarray) -> np.ndarray:
        """x (N, C, H, W) -> contiguous windows (N, C, K*K, OH, OW)."""
        k, s = self.kernel, self.stride
        if k == s and x.shape[2] % k == 0 and x.shape[3] % k == 0:
            n, c, h, w = x.shape  # non-overlapping tiling: a reshape, no strided gather
            tiles = x.reshape(n, c, h // k, k, w // k, k).transpose(0, 1, 3, 5, 2, 4)
            return tiles.reshape(n, c, k * k, h // k, w // k)
        view = window_view(x, k, k, s)
        n, c, _, _, oh, ow = view.shape
        return np.ascontiguousarray(view).reshape(n, c, k * k, oh, ow)

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        windows = self._windows(x)
        argmax = windows.argmax(axis=2)[:, :, None]  # (N, C, 1, OH, OW)
        out = np.take_along_axis(windows, argmax, axis=2)[:, :, 0]
        return out, (argmax, x.shape)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        argmax, x_shape = cache
        n, c, oh, ow = dout.shape
        k, s = self.kernel, self.stride
        dwindows = np.zeros((n, c, k * k, oh, ow), dtype=dout.dtype)
        np.put_along_axis(dwindows, argmax, dout[:, :, None], axis=2)
        h, w = x_shape[2], x_shape[3]
        if k == s and h % k == 0 and w % k == 0:
            tiles = dwindows.reshape(n, c, k, k, oh, ow).transpose(0, 1, 4, 2, 5, 3)
            return tiles.reshape(x_shape)
        return col2im(dwindows.reshape(n, c * k * k, oh * ow), x_shape, k, k, s)

    def spec(self) -> dict[str, Any]:
        return {"type": self.type_name, "kernel": self.kernel, "stride": self.stride}
