"""MNIST-style preprocessing: any decoded digit image -> the 28x28 the network expects.

The steps follow how MNIST itself was made: find the ink (working out the polarity from the
image's border, or from transparency), crop to the ink's bounding box at full resolution,
scale the longer side to 20 px keeping the aspect ratio (Lanczos, so downscaling is properly
anti-aliased), place in 28x28 and shift by whole pixels so the centre of mass sits at (14, 14)
— where it sits, on average, in MNIST's training images. A photo (a noisy or shaded border)
first has its uneven paper background subtracted and its specks opened away. NumPy and
Pillow only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

SIZE = 28
BOX = 20
#: MNIST's mean centre of mass in (row, column) index coordinates (measured: 14.00, 14.01).
CENTRE = 14.0
#: Width of the border band that tells the background, as a fraction of the shorter side.
BORDER_FRACTION = 0.04
#: Below this difference between ink and background the image counts as blank.
MIN_CONTRAST = 0.2
#: Fewer pixels than this with ink above one half: nearly blank.
MIN_INK_PIXELS = 4
#: A border whose values spread more than this (half the 10th-90th percentile range) is
#: noisy or shaded: a photo, not a drawing. Images smaller than PHOTO_MIN_SIDE never are.
PHOTO_SPREAD = 0.02
PHOTO_MIN_SIDE = 64
#: An ink bounding box whose longer side is below this fraction of the image's is a speck.
MIN_EXTENT = 0.04


@dataclass
class Prepared:
    """The result: ``image`` (28, 28) float32 in [0, 1], white digit on black.

    ``blank_reason`` is None when a digit was found, else a sentence saying why not (and
    ``image`` is all zeros).
    """

    image: np.ndarray
    blank_reason: str | None = None
    polarity: str = ""


def prepare(gray: np.ndarray, alpha: np.ndarray | None = None) -> Prepared:
    """gray (H, W) float in [0, 1], alpha (H, W) or None -> :class:`Prepared`."""
    values, polarity = oriented(gray, alpha)
    box_and_ink = find_ink(values)
    if box_and_ink is None:
        return _blank("No digit found: the image is blank.", polarity)
    (y0, y1, x0, x1), ink = box_and_ink
    if np.count_nonzero(ink > 0.5) < MIN_INK_PIXELS:
        return _blank("No digit found: the image is nearly blank.", polarity)
    if max(y1 - y0, x1 - x0) < MIN_EXTENT * max(values.shape):
        return _blank("No digit found: the marks are too small to be a digit.", polarity)
    return Prepared(centre(fit_box(ink)), None, polarity)


def _blank(reason: str, polarity: str) -> Prepared:
    return Prepared(np.zeros((SIZE, SIZE), np.float32), reason, polarity)


def border(values: np.ndarray) -> np.ndarray:
    """The pixels of a band around the edge of values (H, W), as a flat array."""
    height, width = values.shape
    band = max(1, round(BORDER_FRACTION * min(height, width)))
    if 2 * band >= min(height, width):
        return values.ravel()
    return np.concatenate([
        values[:band].ravel(), values[-band:].ravel(),
        values[band:-band, :band].ravel(), values[band:-band, -band:].ravel(),
    ])


def quantiles(values: np.ndarray, *qs: float) -> list[float]:
    """The qs-quantiles (nearest rank) of a non-empty flat array, by one partial sort."""
    ranks = [min(values.size - 1, round(q * (values.size - 1))) for q in qs]
    ordered = np.partition(values, sorted(set(ranks)))
    return [float(ordered[k]) for k in ranks]


def quantile(values: np.ndarray, q: float) -> float:
    return quantiles(values, q)[0]


def oriented(gray: np.ndarray, alpha: np.ndarray | None) -> tuple[np.ndarray, str]:
    """Pixel values (H, W) float32 where larger means more ink, and the polarity found.

    A transparent border means a canvas: the ink is the opacity, whatever its colour.
    Otherwise semi-transparent pixels are composited over the border's colour, and a light
    border means dark ink on light paper (inverted), a dark one light ink on dark.
    Polarity is "transparent", "dark-on-light" or "light-on-dark".
    """
    if alpha is not None:
        if quantile(border(alpha), 0.5) < 0.5:
            return alpha, "transparent"
        background = np.float32(quantile(border(gray), 0.5))
        gray = gray * alpha + background * (np.float32(1) - alpha)
    if quantile(border(gray), 0.5) > 0.5:
        return np.float32(1) - gray, "dark-on-light"
    return gray, "light-on-dark"


def find_ink(values: np.ndarray) -> tuple[tuple[int, int, int, int], np.ndarray] | None:
    """Locate the ink in values (H, W) (larger = more ink) and measure it on [0, 1].

    The border gives the background level. A clean image (a canvas, a scan, MNIST) has a
    flat border: everything above it is ink. A photo has a noisy or shaded border: its
    uneven background is subtracted first, the threshold sits well above the noise, and
    isolated specks are opened away before the bounding box is taken. The ink is then
    scaled so its own level (99th percentile of clearly inked pixels) becomes 1.

    Returns ((y0, y1, x0, x1) end-exclusive, ink (y1-y0, x1-x0) float32), or None when
    nothing stands out from the background by at least MIN_CONTRAST.
    """
    low, background, high, highest = quantiles(border(values), 0.1, 0.5, 0.9, 0.98)
    if (high - low) / 2 <= PHOTO_SPREAD or min(values.shape) < PHOTO_MIN_SIDE:
        # clean: the faintest trace of ink counts (MNIST's anti-aliased fringes do); the
        # spread ignores the tails, so ink that touches the edge does not make a photo
        floor = max(background, highest)
        box = bounding_box(values > floor)
    else:
        values = values - smooth_background(values)
        background, highest = quantiles(border(values), 0.5, 0.98)
        floor = background + max(3.0 * (highest - background), 0.5 * MIN_CONTRAST)
        box = bounding_box(opened(values > floor))
    if box is None:
        return None
    y0, y1, x0, x1 = box
    crop = values[y0:y1, x0:x1]
    inked = crop[crop > floor + 0.5 * MIN_CONTRAST]
    if inked.size == 0:
        return None
    top = quantile(inked, 0.99)
    if top - background < MIN_CONTRAST:
        return None
    ink = crop - np.float32(floor)
    ink *= np.float32(1.0 / (top - floor))
    return box, np.clip(ink, 0.0, 1.0, out=ink)


def smooth_background(values: np.ndarray) -> np.ndarray:
    """The slowly varying background under values (H, W): lighting across a photographed page.

    Minimum over blocks of about 1/16 of the shorter side (a pen stroke is thinner than a
    block, so a block's minimum is paper), a 3x3 median over the block grid (to drop blocks
    that a thick stroke fills), then bilinear interpolation back to (H, W) float32.
    """
    height, width = values.shape
    block = max(2, min(height, width) // 16)
    rows, cols = max(1, height // block), max(1, width // block)
    trimmed = values[: rows * block, : cols * block]
    grid = trimmed.reshape(rows, block, cols, block).min(axis=(1, 3))
    padded = np.pad(grid, 1, mode="edge")
    neighbours = [padded[dy : dy + rows, dx : dx + cols] for dy in range(3) for dx in range(3)]
    grid = np.median(np.stack(neighbours), axis=0).astype(np.float32)
    resized = Image.fromarray(grid).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def opened(mask: np.ndarray) -> np.ndarray:
    """Morphological opening of mask (H, W) by a 3x3 square: removes specks and hairlines
    narrower than 3 px, keeps the shape of anything thicker."""
    padded = np.pad(mask, 1)
    height, width = mask.shape
    eroded = np.ones_like(mask)
    for dy in range(3):
        for dx in range(3):
            eroded &= padded[dy : dy + height, dx : dx + width]
    padded = np.pad(eroded, 1)
    dilated = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            dilated |= padded[dy : dy + height, dx : dx + width]
    return dilated


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1), end-exclusive, of the true pixels of mask (H, W); None if none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def fit_box(crop: np.ndarray) -> np.ndarray:
    """crop (h, w) -> (h', w') with the longer side BOX px and the aspect ratio kept."""
    height, width = crop.shape
    scale = BOX / max(height, width)
    new_h = min(BOX, max(1, round(height * scale)))
    new_w = min(BOX, max(1, round(width * scale)))
    if (new_h, new_w) == (height, width):
        small = crop.astype(np.float32)
    else:
        resized = Image.fromarray(crop.astype(np.float32)).resize(
            (new_w, new_h), Image.Resampling.LANCZOS
        )
        small = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    return small


def centre(small: np.ndarray) -> np.ndarray:
    """Place small (h, w), h and w <= 28, in a 28x28 field with its centre of mass at CENTRE."""
    height, width = small.shape
    mass = float(small.sum())
    if mass > 0:
        cy = float(small.sum(axis=1) @ np.arange(height)) / mass
        cx = float(small.sum(axis=0) @ np.arange(width)) / mass
    else:
        cy, cx = (height - 1) / 2, (width - 1) / 2
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - height))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - width))
    field = np.zeros((SIZE, SIZE), np.float32)
    field[top : top + height, left : left + width] = small
    return field
