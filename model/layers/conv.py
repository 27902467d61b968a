"""2-D convolution: im2col plus one matrix multiply, or flat-grid products for few channels."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.conv_ops import (
    BATCH_LAST,
    CHANNEL_MAJOR,
    Layout,
    col2im,
    from_kernel_rows,
    grid_correlate,
    grid_rows,
    grid_weight_grad,
    im2col,
    kernel_rows,
    output_size,
    pad_spatial,
    same_padding,
    stack_column_shifts,
)
from model.layers.base import Layer, Shape, he_normal

#: Working-set budget of one chunk of images in the flat-grid passes, so that the products
#: over it stay in the core's L2 cache. Measured on the seed net's 8 -> 8 conv (one core):
#: fastest on ~4 images per chunk (2x faster than 16 or 64).
GRID_CHUNK_BYTES = 640 << 10


class Conv2D(Layer):
    """Cross-correlation of an (N, C, H, W) batch with F filters of shape (C, KH, KW).

    ``padding`` is "valid", "same", or a non-negative int applied to every side.
    Parameters: W (F, C, KH, KW), b (F,). Output: (N, F, OH, OW), a view of batch-last
    (F, OH, OW, N) memory ("im2col") or of channel-major (F, N, OH, OW) memory ("grid"):
    later layers must not assume it is C-contiguous. Input may be in any layout.

    Two ways to compute the forward pass (``algorithm``; "auto" picks by the layer's and the
    batch's shape, never by timing, so a run is reproducible): "im2col" (one
    (F, C*K*K) @ (C*K*K, N*OH*OW) product; the column matrix is kept for the weight
    gradient) and "grid" (stride 1 only: K products of (F, K*C) weights with shifted rows
    of the zero-padded input laid flat, see :mod:`model.conv_ops`), which wins when there
    are few channels: its copy is K times the input where the column matrix is K*K times
    it and falls out of cache.
    Each has its own backward pass: im2col's weight gradient uses the kept columns and its
    input gradient is col2im of W.T @ dout; the grid's weight gradient reuses the stacked
    rows, and its input gradient is the grid correlation of dout with the flipped kernels.
    Grid passes run over chunks of images sized to stay in cache (``GRID_CHUNK_BYTES``).
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
        #: "auto", "im2col" or "grid" (stride 1 only); not part of the spec.
        self.algorithm = "auto"
        #: The memory under the im2col pass's output (a speed hint, not part of the spec:
        #: any layout gives the same numbers). Sequential sets it to channel-major for a
        #: conv whose output feeds a flat-grid conv; batch-last otherwise.
        self.output_layout: Layout = BATCH_LAST

    def forward_algorithm(self, batch: int) -> str:
        """The algorithm the forward pass uses for a batch of ``batch`` images.

        "auto" means "grid" for stride-1 convs with few channels on 4 or more images, else
        "im2col". Measured (bench/bench_model.py --profile, one core): the seed net's
        8 -> 8 channel 5x5 conv is 2-3x faster as a grid; with 1 input channel each grid
        product is a rank-1 update (far slower); from 32 -> 64 channels on, im2col's one
        large product wins; and on 1 image the K*K calls cost more than they save.
        """
        if self.algorithm != "auto":
            return self.algorithm
        return "grid" if self.suits_grid and batch >= 4 else "im2col"

    @property
    def suits_grid(self) -> bool:
        """Stride 1 and few channels: what the flat grid is faster for (see above)."""
        few_channels = self.in_channels >= 4 and self.in_channels * self.filters <= 256
        return self.stride == 1 and few_channels

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

    @staticmethod
    def _chunk_images(per_image: int) -> int:
        """Images per chunk of the flat-grid passes: as many as fit the budget."""
        return max(1, GRID_CHUNK_BYTES // per_image)

    def forward(self, x: np.ndarray, training: bool = False) -> tuple[np.ndarray, Any]:
        n, _, h, w = x.shape
        pads = (self._pads(h), self._pads(w))
        _, oh, ow = self.output_shape(x.shape[1:])
        if self.forward_algorithm(n) == "grid":
            return self._forward_grid(x, pads, oh, ow)
        layout = self.output_layout
        x_padded = pad_spatial(layout.store(x), *pads, layout)  # e.g. (C, HP, WP, N)
        cols = im2col(x_padded, self.kernel, self.kernel, self.stride, layout)  # (C*K*K, P*N)
        out = self.params["W"].reshape(self.filters, -1) @ cols  # (F, P*N): one GEMM
        out += self.params["b"][:, None]
        out = out.reshape(layout.arrange((n, self.filters, oh, ow)))
        return layout.view(out), ("cols", cols, x.shape, pads, layout)

    def _forward_grid(self, x: np.ndarray, pads, oh: int, ow: int) -> tuple[np.ndarray, Any]:
        bias = self.params["b"].astype(x.dtype)[:, None, None, None]
        out, grid = self._grid_correlation(x, self.params["W"], pads, (oh, ow), bias)
        # The output is channel-major; the input's gradient goes back in the input's layout
        # (a ReLU between two convs then runs over matching layouts).
        x_layout = BATCH_LAST if BATCH_LAST.holds(x) else CHANNEL_MAJOR
        return CHANNEL_MAJOR.view(out), ("grid", (*grid, x_layout), x.shape, pads, CHANNEL_MAJOR)

    def _grid_correlation(self, x, weights, pads, out_size, bias=None):
        """Stride-1 cross-correlation of x (N, C, H, W) with weights (F, C, K, K) (+ bias)
        over the flat grid, in chunks of images (the batch rounded up to whole chunks with
        blank images). Returns the (F, N, OH, OW) channel-major output and what the weight
        gradient reuses: (stacked grid rows, cells per chunk, images with the blank ones).
        """
        n, c, h, w = x.shape
        f, _, k, _ = weights.shape
        hp, wp = h + sum(pads[0]), w + sum(pads[1])
        oh, ow = out_size
        # Per image: grid rows, their K column shifts, the output and one product.
        per_image = ((k + 1) * c + 2 * f) * hp * wp * x.itemsize
        size = min(self._chunk_images(per_image), n)
        chunks = -(-n // size)
        stacked = stack_column_shifts(grid_rows(x, *pads, k, chunks * size), k)
        full = grid_correlate(kernel_rows(weights), stacked, size * hp * wp, chunks, wp)
        # (chunks, F, size * HP * WP) -> (F, N, OH, OW), the blank images and cells dropped
        grid = full.reshape(chunks, f, size, hp, wp).transpose(1, 0, 2, 3, 4)
        valid = grid.reshape(f, chunks * size, hp, wp)[:, :n, :oh, :ow]
        out = np.empty((f, n, oh, ow), dtype=x.dtype)
        if bias is None:
            out[...] = valid
        else:
            np.add(valid, bias, out=out)
        return out, (stacked, size * hp * wp, chunks * size)

    def backward(self, dout: np.ndarray, cache: Any) -> np.ndarray | None:
        kind, saved, x_shape, pads, layout = cache  # layout: the output's memory
        dout_mat = layout.matrix(dout)  # (F, P*N) in the columns' order, free for such dout
        if self.needs_param_grads:
            self.grads["b"] = dout_mat.sum(axis=1)
        if kind == "grid":
            return self._backward_grid(dout, saved, x_shape, pads)
        if self.needs_param_grads:
            self.grads["W"] = (dout_mat @ saved.T).reshape(self.params["W"].shape)
        return self._input_grad_by_col2im(dout_mat, x_shape, pads, layout)

    def _backward_grid(self, dout, grid, x_shape, pads) -> np.ndarray | None:
        """Weight gradient over the forward pass's stacked rows, chunk by chunk; input
        gradient as the grid correlation of dout with the flipped kernels (a "full"
        correlation: dout padded by K - 1 minus the forward padding)."""
        stacked, chunk_cells, images, x_layout = grid
        n, _, h, w = x_shape
        hp, wp = h + sum(pads[0]), w + sum(pads[1])
        cells = hp * wp
        _, _, oh, ow = dout.shape
        if self.needs_param_grads:
            dgrid = np.zeros((self.filters, images, hp, wp), dtype=dout.dtype)
            dgrid[:, :n, :oh, :ow] = dout.transpose(1, 0, 2, 3)
            rows = grid_weight_grad(dgrid.reshape(self.filters, images * cells), stacked,
                                    self.kernel, chunk_cells, wp)
            self.grads["W"] = from_kernel_rows(rows, self.in_channels)
        if not self.needs_input_grad:
            return None
        k = self.kernel
        # Padding beyond K - 1 only ever met zeros: those dout cells touch no input cell.
        full = [(k - 1 - before, k - 1 - after) for before, after in pads]
        (top, bottom), (left, right) = ((max(-a, 0), max(-b, 0)) for a, b in full)
        dout = dout[:, :, top : oh - bottom, left : ow - right]
        full_pads = tuple((max(a, 0), max(b, 0)) for a, b in full)
        flipped = self.params["W"][:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, F, K, K)
        dx, _ = self._grid_correlation(dout, flipped, full_pads, (h, w))
        return x_layout.view(x_layout.store(CHANNEL_MAJOR.view(dx)))  # free if channel-major

    def _input_grad_by_col2im(self, dout_mat, x_shape, pads, layout) -> np.ndarray | None:
        """Input gradient of an im2col pass: its columns, scattered back by col2im, in the
        pass's memory layout."""
        if not self.needs_input_grad:
            return None
        (pad_h, pad_w), k = pads, self.kernel
        n, c, h, w = x_shape
        padded_shape = layout.arrange((n, c, h + sum(pad_h), w + sum(pad_w)))
        dcols = self.params["W"].reshape(self.filters, -1).T @ dout_mat  # (C*K*K, P*N)
        dx_padded = col2im(dcols, padded_shape, k, k, self.stride, layout)
        inside = [slice(None)] * 4
        inside[layout.h_axis] = slice(pad_h[0], pad_h[0] + h)
        inside[layout.h_axis + 1] = slice(pad_w[0], pad_w[0] + w)
        return layout.view(dx_padded[tuple(inside)])

    def spec(self) -> dict[str, Any]:
        return {
            "type": self.type_name,
            "filters": self.filters,
            "kernel": self.kernel,
            "stride": self.stride,
            "padding": self.padding,
        }
