"""MNIST-style framing: the ink of one digit -> the 28x28 image the network expects.

The steps follow how MNIST itself was made: the bounding box of the digit's clearly inked
pixels is scaled so that its longer side is 20 px, keeping the aspect ratio (Lanczos when
shrinking, so it is properly anti-aliased), together with the faint fringe just around it;
the result is placed in 28x28 and shifted by whole pixels so that its centre of mass sits at
(14, 14), where it sits, on average, in MNIST's training images. NumPy and Pillow only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from app.reading.components import bounding_box
from app.reading.ink import CORE
from app.reading.morphology import dilate, erode

SIZE = 28
BOX = 20
#: MNIST's mean centre of mass in (row, column) index coordinates (measured: 14.00, 14.01).
CENTRE = 14.0
#: Pixels of the 28x28 image kept around the box for the ink's anti-aliased fringe.
FRINGE = 2
#: Stroke widths (pixels, once framed in 28x28) left as they are, and the widths a thicker
#: or a thinner pen is brought to (see even_strokes).
THIN, THICK = 1.0, 3.8
WIDTH_TARGET = (2.6, 1.6)


@dataclass(frozen=True)
class Frame:
    """Where a 28x28 image lies over the image it was cut from: the edge of its pixel
    column u (0..28) falls at x = x0 + u / scale there, and row v at y = y0 + v / scale
    (``scale``: 28x28 pixels per source pixel)."""

    scale: float
    x0: float
    y0: float

    def moved(self, dx: float, dy: float) -> Frame:
        return Frame(self.scale, self.x0 + dx, self.y0 + dy)

    def shrunk(self, factor: float) -> Frame:
        """The same frame over a copy of the source scaled by 1 / factor."""
        return Frame(self.scale * factor, self.x0 / factor, self.y0 / factor)


def mnist_image(ink: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The digit whose clearly inked pixels fill ``box`` (y0, y1, x0, x1) of ink (H, W)
    float32 in [0, 1] -> (28, 28) float32 in [0, 1], white on black, MNIST's geometry."""
    return mnist_framed(ink, box)[0]


def mnist_framed(ink: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, Frame]:
    """:func:`mnist_image`, and the :class:`Frame` that places it over ``ink``.

    The box is scaled to exactly 20 px on its longer side, with FRINGE pixels around it; the
    source region is given to Pillow in fractional pixels, so the box's edges fall on the
    output's pixel edges whatever the scale. A pen far thicker or thinner than MNIST's for
    the digit's size is first brought back into MNIST's range (:func:`even_strokes`)."""
    ink, box, (offset_y, offset_x) = even_strokes(ink, box)
    image, frame = _framed(ink, box)
    return image, frame.moved(offset_x, offset_y)


def stroke_width(mask: np.ndarray) -> float:
    """Mean width of the strokes of mask (h, w) bool, in pixels: twice the area over the
    boundary length (edges between inked and empty pixels, rows and columns)."""
    padded = np.pad(mask, 1).astype(np.int8)
    boundary = np.count_nonzero(np.diff(padded, axis=0)) + np.count_nonzero(np.diff(padded, axis=1))
    return 2.0 * np.count_nonzero(mask) / max(boundary, 1)


def even_strokes(ink: np.ndarray, box: tuple[int, int, int, int]):
    """Thin a pen much thicker than MNIST's for the digit's size (a small digit drawn with a
    broad brush) by a grey erosion, or thicken a hairline by a dilation, so that its strokes
    measure WIDTH_TARGET pixels once framed in 28x28 (MNIST's measure: 1.2 to 3.5 for 96%
    of its digits, median 2.0). Strokes within [THIN, THICK] are left as they are.

    ink (H, W), box (y0, y1, x0, x1) -> (ink', box', (dy, dx)): ink' is a crop of the
    adjusted ink whose (0, 0) lies at (dy, dx) of ``ink``; box' is in ink' coordinates."""
    y0, y1, x0, x1 = box
    extent = max(y1 - y0, x1 - x0)
    width = stroke_width(ink[y0:y1, x0:x1] >= CORE)  # source pixels
    if THIN <= width * BOX / extent <= THICK:
        return ink, box, (0, 0)
    target = WIDTH_TARGET[0] if width * BOX / extent > THICK else WIDTH_TARGET[1]
    # eroding by r takes 2r from the strokes and from the extent alike, so the framed
    # width (width - 2r) * BOX / (extent - 2r) is the target for this r (negative: dilate)
    radius = round(abs(BOX * width - target * extent) / (2 * (BOX - target)))
    if radius < 1:
        return ink, box, (0, 0)
    pad = radius + 1
    top, left = max(0, y0 - pad), max(0, x0 - pad)
    crop = ink[top : y1 + pad, left : x1 + pad]
    changed = (erode if target == WIDTH_TARGET[0] else dilate)(crop, 2 * radius + 1)
    inked = bounding_box(changed >= CORE)
    if inked is None:  # thinned away entirely: keep the original
        return ink, box, (0, 0)
    return changed, inked, (top, left)


def _framed(ink: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, Frame]:
    """:func:`mnist_framed` without the stroke adjustment."""
    y0, y1, x0, x1 = box
    height, width = y1 - y0, x1 - x0
    scale = BOX / max(height, width)
    out_h, out_w = max(1, round(height * scale)), max(1, round(width * scale))
    margin = math.ceil((FRINGE + 1) / scale)  # covers the fringe and rounding to out_h, out_w
    crop = np.zeros((height + 2 * margin, width + 2 * margin), np.float32)
    top, left = max(0, y0 - margin), max(0, x0 - margin)
    part = ink[top : y1 + margin, left : x1 + margin]
    crop[top - (y0 - margin) :][: part.shape[0], left - (x0 - margin) :][:, : part.shape[1]] = part
    # the region that maps onto out_h x out_w (centred on the box) plus the fringe
    half_h = (out_h / 2 + FRINGE) / scale
    half_w = (out_w / 2 + FRINGE) / scale
    cy, cx = margin + height / 2, margin + width / 2
    region = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
    small = resize(crop, (out_w + 2 * FRINGE, out_h + 2 * FRINGE), region)
    trimmed_top = trimmed_left = 0
    inked = bounding_box(small > 0)  # the fringe, less its empty rows and columns
    if inked is not None:
        small = small[inked[0] : inked[1], inked[2] : inked[3]]
        trimmed_top, trimmed_left = inked[0], inked[2]
    top, left = placement(small)
    field = np.zeros((SIZE, SIZE), np.float32)
    field[top : top + small.shape[0], left : left + small.shape[1]] = small
    origin_x = x0 - margin + region[0] + (trimmed_left - left) / scale
    origin_y = y0 - margin + region[1] + (trimmed_top - top) / scale
    return field, Frame(scale, origin_x, origin_y)


def resize(values: np.ndarray, size: tuple[int, int], region: tuple[float, ...]) -> np.ndarray:
    """``region`` (left, top, right, bottom, fractional pixels) of values (h, w) float ->
    (size[1], size[0]) float32 in [0, 1]: area-averaged when shrinking (anti-aliased, no
    ringing), bilinear when enlarging."""
    shrinking = size[0] < region[2] - region[0]
    method = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = Image.fromarray(values.astype(np.float32)).resize(size, method, box=region)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def centre(small: np.ndarray) -> np.ndarray:
    """Place small (h, w), h and w <= 28, in a 28x28 field with its centre of mass at CENTRE."""
    top, left = placement(small)
    field = np.zeros((SIZE, SIZE), np.float32)
    field[top : top + small.shape[0], left : left + small.shape[1]] = small
    return field


def placement(small: np.ndarray) -> tuple[int, int]:
    """(top, left) that puts small's centre of mass (h, w, both <= 28) at CENTRE in 28x28,
    whole pixels, never past the edge."""
    height, width = small.shape
    mass = float(small.sum())
    if mass > 0:
        cy = float(small.sum(axis=1) @ np.arange(height)) / mass
        cx = float(small.sum(axis=0) @ np.arange(width)) / mass
    else:
        cy, cx = (height - 1) / 2, (width - 1) / 2
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - height))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - width))
    return top, left
