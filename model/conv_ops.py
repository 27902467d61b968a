"""Vectorised building blocks for 2-D convolution and pooling.

``im2col`` turns every receptive field of a batch into a column with one strided view and
one copy; ``col2im`` scatters columns back, summing overlaps, with one vectorised add per
kernel offset (KH * KW slices, never a loop over pixels). Both work on *batch-last* memory,
(C, H, W, N): a row of the image holds every image's pixels side by side, so each copy and
add runs over W * N contiguous values at a time (in (N, C, H, W) order, only W: 7 to 28
values, and NumPy's per-row overhead then costs as much as the arithmetic).

The "flat grid" functions are the other algorithm for stride-1 convolutions, cheaper when
there are few channels (no K*K-times larger column matrix): each channel's zero-padded
images are laid end to end in one row, so moving a kernel by (i, j) is moving along the row
by ``i * grid_width + j``. The K column shifts are stacked once (K copies of the input),
and a convolution is then K matrix products, one per kernel row i, of that row's weights
with the stack moved by ``i * grid_width``. Outputs are computed at every grid cell; the
cells past the last valid window are cropped (outputs) or held at zero (output gradients).

Layout words used throughout: *batch first* is (N, C, H, W), the shape every layer hands
on; *batch-last* is memory laid out as (C, H, W, N) (im2col convs and batch norm produce
it); *channel-major* is memory laid out as (C, N, H, W) (the flat grid produces it). Both
are handed on as (N, C, H, W) views.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter

import numpy as np
from numpy.lib.stride_tricks import as_strided


def output_size(
    size: int, kernel: int, stride: int, pad_before: int = 0, pad_after: int = 0
) -> int:
    """Windows of ``kernel`` cells every ``stride`` cells along ``size`` cells plus padding.

    The one place the conv and pooling output-size formula lives (floor: a last partial
    window is dropped). Can be < 1 when the kernel is larger than the padded input.
    """
    return (size + pad_before + pad_after - kernel) // stride + 1


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding that gives ``ceil(size / stride)`` outputs ("same")."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


@dataclass(frozen=True)
class Layout:
    """A memory order for a batch of (N, C, H, W) maps: ``order`` lists those axes from the
    outermost in memory to the innermost. Layers hand each other (N, C, H, W) *views*; a
    layout says which memory lies under one."""

    name: str
    order: tuple[int, int, int, int]

    @cached_property
    def h_axis(self) -> int:
        """Where H is in the memory-ordered array (W follows it)."""
        return self.order.index(2)

    @cached_property
    def arrange(self) -> Callable[[Sequence[int]], tuple[int, ...]]:
        """Sizes given as (N, C, H, W) -> the same sizes in memory order."""
        return itemgetter(*self.order)

    @cached_property
    def inverse(self) -> tuple[int, ...]:
        """The transpose from the memory-ordered array back to (N, C, H, W)."""
        return tuple(self.order.index(axis) for axis in range(4))

    def store(self, a: np.ndarray) -> np.ndarray:
        """(N, C, H, W) -> the memory-ordered array; free when ``a`` is laid out so."""
        return np.ascontiguousarray(a.transpose(self.order))

    def view(self, m: np.ndarray) -> np.ndarray:
        """Memory-ordered array -> its (N, C, H, W) view (no copy)."""
        return m.transpose(self.inverse)

    def matrix(self, a: np.ndarray) -> np.ndarray:
        """(N, C, H, W) -> (C, N*H*W) matrix, columns in this memory order; free when ``a``
        is a view of such memory."""
        return a.transpose(self.order).reshape(a.shape[1], -1)

    def holds(self, a: np.ndarray) -> bool:
        """Whether (N, C, H, W) ``a`` is a view of contiguous memory in this order."""
        return a.transpose(self.order).flags.c_contiguous


#: (C, H, W, N): what convolutions and batch norm hand on by default.
BATCH_LAST = Layout("batch-last", (1, 2, 3, 0))
#: (C, N, H, W): what the flat grid works on.
CHANNEL_MAJOR = Layout("channel-major", (1, 0, 2, 3))


def pad_spatial(
    x: np.ndarray, pad_h: tuple[int, int], pad_w: tuple[int, int], layout: Layout = BATCH_LAST
) -> np.ndarray:
    """Zero-pad the H and W axes of a memory-ordered ``x`` (e.g. batch-last (C, H, W, N));
    returns ``x`` itself when there is no padding."""
    if not any(pad_h) and not any(pad_w):
        return x
    axis = layout.h_axis
    shape = list(x.shape)
    shape[axis] += sum(pad_h)
    shape[axis + 1] += sum(pad_w)
    out = np.zeros(shape, dtype=x.dtype)
    inside = [slice(None)] * 4
    inside[axis] = slice(pad_h[0], pad_h[0] + x.shape[axis])
    inside[axis + 1] = slice(pad_w[0], pad_w[0] + x.shape[axis + 1])
    out[tuple(inside)] = x  # np.pad is far slower
    return out


def window_view(
    x: np.ndarray, kh: int, kw: int, stride: int, layout: Layout = BATCH_LAST
) -> np.ndarray:
    """Read-only strided view of all ``kh x kw`` windows of an already padded input.

    x memory-ordered, e.g. batch-last (C, H, W, N) -> view (C, kh, kw, OH, OW, N) where
    ``view[c, i, j, oy, ox, n] == x[c, oy * stride + i, ox * stride + j, n]`` (channel-major
    (C, N, H, W) -> (C, kh, kw, N, OH, OW)).
    """
    axis = layout.h_axis
    shape, strides = list(x.shape), list(x.strides)
    sh, sw = strides[axis], strides[axis + 1]
    shape[axis] = output_size(shape[axis], kh, stride)
    shape[axis + 1] = output_size(shape[axis + 1], kw, stride)
    strides[axis], strides[axis + 1] = sh * stride, sw * stride
    return as_strided(x, shape=(shape[0], kh, kw, *shape[1:]),
                      strides=(strides[0], sh, sw, *strides[1:]), writeable=False)


def im2col(
    x_padded: np.ndarray, kh: int, kw: int, stride: int, layout: Layout = BATCH_LAST
) -> np.ndarray:
    """Receptive fields as the columns of one matrix, one contiguous copy.

    x_padded: memory-ordered, e.g. batch-last (C, H, W, N) -> cols (C * kh * kw,
    OH * OW * N), so that a whole batch's convolution is a single (F, C*kh*kw) @ cols matrix
    multiply, whose (F, OH*OW*N) result is the output in the same memory order.
    """
    view = window_view(x_padded, kh, kw, stride, layout)  # e.g. (C, kh, kw, OH, OW, N)
    return np.ascontiguousarray(view).reshape(view.shape[0] * kh * kw, -1)


def col2im(
    cols: np.ndarray, padded_shape: tuple[int, int, int, int], kh: int, kw: int, stride: int,
    layout: Layout = BATCH_LAST,
) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add columns back into a padded input.

    cols: (C * kh * kw, OH * OW * N) -> the memory-ordered ``padded_shape``, e.g. batch-last
    (C, H, W, N).
    """
    axis = layout.h_axis
    oh = output_size(padded_shape[axis], kh, stride)
    ow = output_size(padded_shape[axis + 1], kw, stride)
    out_shape = list(padded_shape[1:])
    out_shape[axis - 1], out_shape[axis] = oh, ow
    cols6 = cols.reshape(padded_shape[0], kh, kw, *out_shape)
    out = np.zeros(padded_shape, dtype=cols.dtype)
    window = [slice(None)] * 4
    for i in range(kh):
        window[axis] = slice(i, i + stride * (oh - 1) + 1, stride)
        for j in range(kw):
            window[axis + 1] = slice(j, j + stride * (ow - 1) + 1, stride)
            out[tuple(window)] += cols6[:, i, j]
    return out


# flat-grid convolution (stride 1) --------------------------------------------------------
def grid_rows(
    x: np.ndarray, pad_h: tuple[int, int], pad_w: tuple[int, int], kernel: int,
    images: int | None = None,
) -> np.ndarray:
    """x (N, C, H, W) -> (C, images * HP * WP + tail): each channel's padded images in one
    row, followed by ``images - N`` blank ones (default: none) that round the batch up to
    whole chunks.

    HP, WP are the padded sizes; the ``tail`` = (kernel - 1) * (WP + 1) zeros let the
    largest kernel offset read a full-length slice.
    """
    n, c, h, w = x.shape
    images = n if images is None else images
    hp, wp = h + sum(pad_h), w + sum(pad_w)
    cells = images * hp * wp
    rows = np.zeros((c, cells + (kernel - 1) * (wp + 1)), dtype=x.dtype)
    grid = rows[:, :cells].reshape(c, images, hp, wp)[:, :n]
    grid[:, :, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w] = x.transpose(1, 0, 2, 3)
    return rows


def stack_column_shifts(rows: np.ndarray, kernel: int) -> np.ndarray:
    """(C, cells + tail) grid rows -> (K * C, cells + (K - 1) * WP), one copy: row (j, c) is
    channel c moved by j cells, so a whole kernel row i is one product with a slice of it
    (K products of depth K * C, instead of K * K of depth C, or im2col's K * K copy)."""
    c, total = rows.shape
    step = rows.strides[1]
    shifted = as_strided(
        rows, shape=(kernel, c, total - kernel + 1), strides=(step, rows.strides[0], step)
    )
    return shifted.reshape(kernel * c, -1)


def kernel_rows(weights: np.ndarray) -> np.ndarray:
    """Weights (F, C, K, K) -> (K, F, K * C): for each kernel row i, its weights with
    columns ordered (j, c) like :func:`stack_column_shifts`' rows (made once per pass)."""
    f, c, k, _ = weights.shape
    return np.ascontiguousarray(weights.transpose(2, 0, 3, 1)).reshape(k, f, k * c)


def from_kernel_rows(rows: np.ndarray, channels: int) -> np.ndarray:
    """(K, F, K*C) kernel rows -> weights-shaped (F, C, K, K); inverse of kernel_rows."""
    k, f, _ = rows.shape
    return np.ascontiguousarray(rows.reshape(k, f, k, channels).transpose(1, 3, 0, 2))


def chunk_shifts(
    stacked: np.ndarray, kernel: int, chunk_cells: int, chunks: int, grid_width: int
) -> np.ndarray:
    """(K*C, total) stacked rows -> read-only view (chunks, K, K*C, chunk_cells): slice
    [q, i] is chunk q's cells of the stack moved by i grid rows. Every slice is an ordinary
    strided matrix, so one batched matmul runs all the chunks' K products in C (the chunks
    keep each product's operands cache-sized; the batching keeps Python out of the loop)."""
    step, row = stacked.strides[1], stacked.strides[0]
    return as_strided(
        stacked, shape=(chunks, kernel, stacked.shape[0], chunk_cells),
        strides=(chunk_cells * step, grid_width * step, row, step), writeable=False,
    )


def grid_correlate(
    rows: np.ndarray, stacked: np.ndarray, chunk_cells: int, chunks: int, grid_width: int
) -> np.ndarray:
    """Cross-correlation at every grid cell: ``rows`` (K, F, K*C) from :func:`kernel_rows`,
    ``stacked`` from :func:`stack_column_shifts`. Returns (chunks, F, chunk_cells); cell p
    of the grid holds the window whose top-left input cell is p."""
    shifts = chunk_shifts(stacked, len(rows), chunk_cells, chunks, grid_width)
    return np.matmul(rows, shifts).sum(axis=1)  # (chunks, K, F, cells) -> (chunks, F, cells)


def grid_weight_grad(
    dgrid: np.ndarray, stacked: np.ndarray, kernel: int, chunk_cells: int, grid_width: int
) -> np.ndarray:
    """d(loss)/d(weights) as (K, F, K*C) kernel rows (see :func:`from_kernel_rows`).

    dgrid (F, chunks * chunk_cells): the output gradient at every grid cell, zero where no
    window starts.
    """
    f, cells = dgrid.shape
    chunks = cells // chunk_cells
    per_chunk = dgrid.reshape(f, chunks, chunk_cells).transpose(1, 0, 2)[:, None]
    shifts = chunk_shifts(stacked, kernel, chunk_cells, chunks, grid_width)
    return np.matmul(per_chunk, shifts.transpose(0, 1, 3, 2)).sum(axis=0)
