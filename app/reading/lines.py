"""Ruled lines, grid lines and form borders: long, thin, straight marks that are not writing.

A row of the ink mask that is inked across most of the image's width belongs to a
horizontal line (likewise a column, for a vertical one). Consecutive such rows form a band;
a band counts as a ruled line when it is thin, and when it either spans nearly the whole
image or has company (ruled paper has many lines). Its pixels are dropped except where
writing crosses or touches it: in columns that are inked just outside the band.
"""

from __future__ import annotations

import numpy as np

#: A row inked across at least this fraction of the width is part of a horizontal line.
COVERAGE = 0.7
#: A lone line must span at least this fraction (ruled paper's lines have company).
LONE_COVERAGE = 0.9
#: A line is at most this thick: a fraction of the image's height (and at least 3 px).
THICKNESS = 0.02
#: Rows this far outside a band tell whether writing crosses it (past its blurred edge).
GAP = 2


def ruled_lines(mask: np.ndarray, image_shape: tuple[int, int] | None = None) -> np.ndarray:
    """(h, w) bool ink mask -> (h, w) bool: pixels of ruled lines, writing excluded. The mask
    may be a crop, holding all the ink, of an image of ``image_shape`` (H, W): lines are
    judged against the image's width and height."""
    height, width = image_shape or mask.shape
    return _horizontal(mask, height, width) | _horizontal(mask.T, width, height).T


def _horizontal(mask: np.ndarray, image_height: int, image_width: int) -> np.ndarray:
    height, width = mask.shape
    lines = np.zeros_like(mask)
    if image_height < 8 or image_width < 8:
        return lines
    coverage = np.count_nonzero(mask, axis=1) / image_width
    bands = _bands(coverage >= COVERAGE, max(3, round(THICKNESS * image_height)))
    if len(bands) == 1 and coverage[bands[0][0] : bands[0][1]].max() < LONE_COVERAGE:
        return lines
    for top, bottom in bands:
        # take in the line's blurred edge rows too
        top -= int(top > 0 and coverage[top - 1] >= COVERAGE / 2)
        bottom += int(bottom < height and coverage[bottom] >= COVERAGE / 2)
        above = mask[top - GAP] if top - GAP >= 0 else np.zeros(width, bool)
        below = mask[bottom - 1 + GAP] if bottom - 1 + GAP < height else np.zeros(width, bool)
        lines[top:bottom] = mask[top:bottom] & ~(above | below)
    return lines


def _bands(rows: np.ndarray, thickest: int) -> list[tuple[int, int]]:
    """Runs [top, bottom) of true entries of rows (n,) bool no longer than ``thickest``."""
    edges = np.diff(np.concatenate([[0], rows.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b - a <= thickest]
