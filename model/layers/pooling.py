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
    Both passes loop over the K*K window offsets, each a vectorised strided slice.
    Cache: the input and output (N, C, OH, OW).
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

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        _, oh, ow = self.output_shape(x.shape[1:])
        windows = [x[window] for _, window in self._offset_slices(oh, ow)]
        # The first maximum writes a new array (in x's memory order, e.g. channel-major).
        out = np.maximum(windows[0], windows[1]) if len(windows) > 1 else windows[0].copy()
        for candidate in windows[2:]:
            np.maximum(out, candidate, out=out)
        return out, (x, out)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray:
        """Route each window's gradient to its first maximum, found again from (x, out):
        cheaper than tracking argmax in the forward pass (measured: recording it costs the
        forward pass more than it saves here), which inference never needs."""
        x, out = cache
        k, s = self.kernel, self.stride
        overlapping = s < k
        covered = k == s and x.shape[2] % k == 0 and x.shape[3] % k == 0
        # Same memory order as x (the conv above may hand over a channel-major view), and
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
