"""Connected components (8-connectivity) of a binary image, in vectorised NumPy.

The mask is cut into horizontal runs of true pixels. Two runs in neighbouring rows touch
when their column ranges overlap or meet diagonally; for every run, the runs it touches in
the next row form one contiguous slice of the sorted run list, found with two binary
searches. The runs are then merged into components by min-label propagation with pointer
jumping (a few vectorised rounds), and painted back into a label image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Components:
    """The components of an (H, W) mask.

    labels (H, W) int32: 0 for background, 1..count for the components; boxes (count, 4)
    int [y0, y1, x0, x1) end-exclusive; areas (count,) pixel counts. Component ``i`` (0-based
    in boxes and areas) has label ``i + 1``.
    """

    labels: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray

    @property
    def count(self) -> int:
        return len(self.areas)

    def placed(self, top: int, left: int, shape: tuple[int, int]) -> Components:
        """These components of a crop whose top-left corner is (top, left), as components
        of the whole (H, W) image it was cut from."""
        labels = np.zeros(shape, np.int32)
        height, width = self.labels.shape
        labels[top : top + height, left : left + width] = self.labels
        return Components(labels, self.boxes + np.array([top, top, left, left]), self.areas)


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1), end-exclusive, of the true pixels of mask (H, W); None if none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Horizontal runs of mask (H, W) in row-major order: rows, starts, ends (exclusive)."""
    height, width = mask.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded, axis=1)
    rows, starts = np.nonzero(steps == 1)
    _, ends = np.nonzero(steps == -1)
    return rows, starts, ends


def touching_pairs(rows: np.ndarray, starts: np.ndarray, ends: np.ndarray, width: int):
    """Index pairs (a, b) of runs where b, in the row below a, touches a (8-connectivity)."""
    stride = width + 2  # larger than any column, so (row, column) sorts as one number
    start_keys = rows * stride + starts
    end_keys = rows * stride + ends
    below = (rows + 1) * stride
    first = np.searchsorted(end_keys, below + starts, side="left")  # b ends at/after a starts
    stop = np.searchsorted(start_keys, below + ends, side="right")  # b starts by a's end
    counts = np.maximum(stop - first, 0)
    a = np.repeat(np.arange(len(rows)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    return a, np.repeat(first, counts) + offsets


def merge(count: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union of the pairs (a, b) over nodes 0..count-1 -> each node's smallest member."""
    parent = np.arange(count)
    while True:
        pa, pb = parent[a], parent[b]
        differ = pa != pb
        if not differ.any():
            return parent
        pa, pb = pa[differ], pb[differ]
        np.minimum.at(parent, np.maximum(pa, pb), np.minimum(pa, pb))  # hook larger root
        while True:  # pointer jumping until every node points at its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def label(mask: np.ndarray) -> Components:
    """Label the 8-connected components of mask (H, W) bool, numbered in raster order."""
    height, width = mask.shape
    rows, starts, ends = runs(mask)
    labels = np.zeros((height, width), np.int32)
    if len(rows) == 0:
        return Components(labels, np.zeros((0, 4), np.int64), np.zeros(0, np.int64))
    roots = merge(len(rows), *touching_pairs(rows, starts, ends, width))
    _, component = np.unique(roots, return_inverse=True)  # roots are increasing: raster order
    count = int(component.max()) + 1
    lengths = ends - starts
    areas = np.bincount(component, weights=lengths, minlength=count).astype(np.int64)
    boxes = np.empty((count, 4), np.int64)
    boxes[:, 0] = _reduce(np.minimum, component, rows, count, height)
    boxes[:, 1] = _reduce(np.maximum, component, rows, count, -1) + 1
    boxes[:, 2] = _reduce(np.minimum, component, starts, count, width)
    boxes[:, 3] = _reduce(np.maximum, component, ends, count, -1)
    pixel = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    flat = np.repeat(rows * width + starts, lengths) + pixel
    labels.ravel()[flat] = np.repeat(component + 1, lengths)
    return Components(labels, boxes, areas)


def _reduce(op: np.ufunc, groups: np.ndarray, values: np.ndarray, count: int, initial: int):
    out = np.full(count, initial, np.int64)
    op.at(out, groups, values)
    return out
