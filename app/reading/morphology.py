"""Grey-level morphology with square windows, in NumPy, in time independent of the window.

A running minimum or maximum over ``size`` cells along one axis uses the van Herk /
Gil-Werman scheme: cut the padded axis into blocks of ``size``, take the running extreme
forwards and backwards inside each block, and every window is then the extreme of one
backward and one forward value. A square window is two such passes (rows, then columns).
"""

from __future__ import annotations

import numpy as np


def running_extreme(values: np.ndarray, size: int, axis: int, op: np.ufunc) -> np.ndarray:
    """Centred running ``op`` (np.minimum or np.maximum) over ``size`` cells along ``axis``.

    values (..., n, ...) float -> same shape; out[i] = op(values[i - size//2 : i + size//2 + 1])
    with the image's edge extended by the identity of ``op`` (so the edge never wins).
    """
    if size <= 1:
        return values
    moved = np.moveaxis(values, axis, -1)
    n = moved.shape[-1]
    before = size // 2
    after = size - 1 - before
    blocks = -(-(n + before + after) // size)
    fill = np.inf if op is np.minimum else -np.inf
    padded = np.full((*moved.shape[:-1], blocks * size), fill, dtype=values.dtype)
    padded[..., before : before + n] = moved
    grouped = padded.reshape(*moved.shape[:-1], blocks, size)
    forward = op.accumulate(grouped, axis=-1).reshape(padded.shape)
    backward = op.accumulate(grouped[..., ::-1], axis=-1)[..., ::-1].reshape(padded.shape)
    out = op(backward[..., :n], forward[..., size - 1 : size - 1 + n])
    return np.moveaxis(out, -1, axis)


def erode(values: np.ndarray, size: int) -> np.ndarray:
    """Minimum over a ``size`` x ``size`` square around each pixel. (H, W) -> (H, W)."""
    return running_extreme(running_extreme(values, size, 0, np.minimum), size, 1, np.minimum)


def dilate(values: np.ndarray, size: int) -> np.ndarray:
    """Maximum over a ``size`` x ``size`` square around each pixel. (H, W) -> (H, W)."""
    return running_extreme(running_extreme(values, size, 0, np.maximum), size, 1, np.maximum)


def opening(values: np.ndarray, size: int) -> np.ndarray:
    """Erosion then dilation: removes bright features narrower than ``size``, keeps larger
    ones (and any slow variation) exactly. (H, W) float -> (H, W)."""
    return dilate(erode(values, size), size)


def grow_mask(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` (chessboard distance) of a true pixel of mask (H, W) bool."""
    if radius <= 0:
        return mask
    return dilate(mask.astype(np.float32), 2 * radius + 1) > 0
