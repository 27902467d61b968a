"""Max pooling over square windows."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.conv_ops import output_size
from model.layers.base import Layer, Shape


class MaxPool2D(Layer):
    """Max over ``kernel x kernel`` windows every ``stride`` cells; no padding (floor).

    x: (N, C, H, W) -> (N, C, OH, OW). The gradient flows to exactly one input per window
    (the first maximum in row-major window order), so ties never double-count.
    2x2 windows every 2 cells (every pool of the presets) take a path of their own, in two
    steps: the larger of each horizontal pair, then of each vertical pair of those (two
    passes instead of three; the backward pass routes the gradient back the same way, in
    six passes at a half or a quarter of the input's size instead of sixteen).
    Other windows loop over the K*K window offsets, each a vectorised strided slice.
    Cache: the input and the output (N, C, OH, OW), or for 2x2 the input and the
    horizontal maxima (N, C, 2*OH, OW).
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
        oh, ow = output_size(h, self.kernel, self.stride), output_size(w, self.kernel, self.stride)
        if oh < 1 or ow < 1:
            raise ValueError(f"maxpool2d: input {input_shape} is smaller than the window")
        return c, oh, ow

    def _offset_slices(self, oh: int, ow: int):
        """Yield (window offset index, slice of the input read at that offset)."""
        s = self.stride
        for offset in range(self.kernel * self.kernel):
            i, j = divmod(offset, self.kernel)
            rows = slice(i, i + s * (oh - 1) + 1, s)
            yield offset, (..., rows, slice(j, j + s * (ow - 1) + 1, s))

    @property
    def _pairs(self) -> bool:
        """2x2 windows every 2 cells: the two-step path."""
        return self.kernel == 2 and self.stride == 2

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        _, oh, ow = self.output_shape(x.shape[1:])
        if self._pairs:
            return self._forward_pairs(x, oh, ow)
        windows = [x[window] for _, window in self._offset_slices(oh, ow)]
        # The first maximum writes a new array (in x's memory order, e.g. channel-major).
        out = np.maximum(windows[0], windows[1]) if len(windows) > 1 else windows[0].copy()
        for candidate in windows[2:]:
            np.maximum(out, candidate, out=out)
        return out, (x, out)

    @staticmethod
    def _forward_pairs(x: np.ndarray, oh: int, ow: int) -> tuple[np.ndarray, Any]:
        inside = x[..., : 2 * oh, : 2 * ow]  # an odd last row or column is never read
        across = np.maximum(inside[..., 0::2], inside[..., 1::2])  # (N, C, 2*OH, OW)
        out = np.maximum(across[..., 0::2, :], across[..., 1::2, :])
        return out, (x, across)

    @staticmethod
    def _backward_pairs(dout: np.ndarray, cache: Any) -> np.ndarray:
        """The first maximum in row-major order: the upper of the two horizontal maxima
        when it is at least the lower, and within that row the left cell when it is at
        least the right one. Each pair's second cell gets ``d - d * first`` (exact)."""
        x, across = cache
        rows, cols = across.shape[2], 2 * across.shape[3]
        # Same memory order as x (the conv above hands over e.g. a batch-last view), and
        # no zero-fill when the windows tile the input exactly.
        covered = x.shape[2:] == (rows, cols)
        dx = (np.empty_like if covered else np.zeros_like)(x, dtype=dout.dtype)
        d_across = np.empty_like(across, dtype=dout.dtype)
        upper, lower = d_across[..., 0::2, :], d_across[..., 1::2, :]
        np.multiply(dout, across[..., 0::2, :] >= across[..., 1::2, :], out=upper)
        np.subtract(dout, upper, out=lower)
        inside, d_inside = x[..., :rows, :cols], dx[..., :rows, :cols]
        left, right = d_inside[..., 0::2], d_inside[..., 1::2]
        np.multiply(d_across, inside[..., 0::2] >= inside[..., 1::2], out=left)
        np.subtract(d_across, left, out=right)
        return dx

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        """Route each window's gradient to its first maximum, found again from (x, out):
        cheaper than tracking argmax in the forward pass (measured: recording it costs the
        forward pass more than it saves here), which inference never needs."""
        if self._pairs:
            return self._backward_pairs(dout, cache)
        x, out = cache
        k, s = self.kernel, self.stride
        overlapping = s < k
        covered = k == s and x.shape[2] % k == 0 and x.shape[3] % k == 0
        # Same memory order as x (the conv above hands over e.g. a batch-last view), and
        # no zero-fill when the windows tile the input exactly.
        dx = (np.empty_like if covered else np.zeros_like)(x, dtype=dout.dtype)
        hit = np.empty(out.shape, dtype=bool)
        unclaimed = None  # windows whose maximum no earlier offset has taken
        last = k * k - 1
        for offset, window in self._offset_slices(*out.shape[2:]):
            np.equal(x[window], out, out=hit)
            if unclaimed is None:
                unclaimed = ~hit if last else None
            else:
                hit &= unclaimed
                if offset < last:
                    unclaimed ^= hit  # hit is a subset of unclaimed
            if overlapping:
                dx[window] += dout * hit
            else:
                np.multiply(dout, hit, out=dx[window])
        return dx

    def spec(self) -> dict[str, Any]:
        return {"type": self.type_name, "kernel": self.kernel, "stride": self.stride}
