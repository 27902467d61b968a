"""Vectorised building blocks for 2-D convolution and pooling (NCHW, batch first).

``im2col`` turns every receptive field of a batch into a column with one strided view and
one copy; ``col2im`` scatters columns back, summing overlaps, with one vectorised add per
kernel offset (KH * KW slices, never a loop over pixels).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


def output_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int) -> int:
    """Spatial output length of a sliding window over ``size`` padded input cells."""
    return (size + pad_before + pad_after - kernel) // stride + 1


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """(before, after) zero padding that gives ``ceil(size / stride)`` outputs ("same")."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_spatial(x: np.ndarray, pad_h: tuple[int, int], pad_w: tuple[int, int]) -> np.ndarray:
    """Zero-pad the last two axes of ``x`` (N, C, H, W); returns ``x`` itself when no padding."""
    if not any(pad_h) and not any(pad_w):
        return x
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + pad_h[0] + pad_h[1], w + pad_w[0] + pad_w[1]), dtype=x.dtype)
    out[:, :, pad_h[0] : pad_h[0] + h, pad_w[0] : pad_w[0] + w] = x  # np.pad is far slower
    return out


def window_view(x: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """Read-only strided view of all ``kh x kw`` windows of an already padded input.

    x: (N, C, H, W) -> view (N, C, kh, kw, OH, OW) where
    ``view[n, c, i, j, oy, ox] == x[n, c, oy * stride + i, ox * stride + j]``.
    """
    n, c, h, w = x.shape
    oh = (h - kh) // stride + 1
    ow = (w - kw) // stride + 1
    sn, sc, sh, sw = x.strides
    return as_strided(
        x,
        shape=(n, c, kh, kw, oh, ow),
        strides=(sn, sc, sh, sw, sh * stride, sw * stride),
        writeable=False,
    )


def im2col(x_padded: np.ndarray, kh: int, kw: int, stride: int) -> np.ndarray:
    """Receptive fields as the columns of one matrix, one contiguous copy.

    x_padded: (N, C, H, W) -> cols (C * kh * kw, N * OH * OW), so that a whole batch's
    convolution is a single (F, C*kh*kw) @ cols matrix multiply.
    """
    view = window_view(x_padded, kh, kw, stride)  # (N, C, kh, kw, OH, OW)
    c = view.shape[1]
    return np.ascontiguousarray(view.transpose(1, 2, 3, 0, 4, 5)).reshape(c * kh * kw, -1)


def col2im(
    cols: np.ndarray, padded_shape: tuple[int, int, int, int], kh: int, kw: int, stride: int
) -> np.ndarray:
    """Adjoint of :func:`im2col`: scatter-add columns back into a padded input.

    cols: (C * kh * kw, N * OH * OW) -> (N, C, H, W) with ``padded_shape`` = (N, C, H, W).
    """
    n, c, h, w = padded_shape
    oh = (h - kh) // stride + 1
    ow = (w - kw) // stride + 1
    cols6 = cols.reshape(c, kh, kw, n, oh, ow)
    out = np.zeros(padded_shape, dtype=cols.dtype)
    for i in range(kh):
        rows = slice(i, i + stride * (oh - 1) + 1, stride)
        for j in range(kw):
            cells = (slice(None), slice(None), rows, slice(j, j + stride * (ow - 1) + 1, stride))
            out[cells] += cols6[:, i, j].transpose(1, 0, 2, 3)
    return out


def channels_first(a: np.ndarray) -> np.ndarray:
    """(N, C, H, W) -> (C, N * H * W) matrix; free when ``a`` is already laid out that way."""
    return a.transpose(1, 0, 2, 3).reshape(a.shape[1], -1)


def batch_first(a: np.ndarray, n: int, h: int, w: int) -> np.ndarray:
    """(C, N * H * W) matrix -> (N, C, H, W) view (no copy)."""
    return a.reshape(a.shape[0], n, h, w).transpose(1, 0, 2, 3)
