"""Numbers written by hand, made from MNIST **test** digits: what /predict must read whole.

:func:`compose` puts 2-5 digits side by side on white paper as one image, the way people
write a year or a phone number: each digit at its own size (within 25%) and height, the whole
number sometimes slanted, and between neighbours a gap; in about a third of the numbers one
pair of neighbours touches or overlaps a little, as in fast handwriting.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

GAPS = ("apart", "touching", "overlapping")


@dataclass
class Number:
    """An image of a number: the PNG bytes, the digits as a string, and how each pair of
    neighbours was joined (one of GAPS per gap)."""

    png: bytes
    text: str
    joins: tuple[str, ...]


def tight(digit: np.ndarray) -> np.ndarray:
    """A (28, 28) uint8 digit cut to its ink, as float32 in [0, 1]."""
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    return digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32) / 255.0


def scaled(ink: np.ndarray, height: int) -> np.ndarray:
    width = max(1, round(ink.shape[1] * height / ink.shape[0]))
    image = Image.fromarray(ink).resize((width, height), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(image, np.float32), 0.0, 1.0)


def first_touch(canvas: np.ndarray, piece: np.ndarray, top: int) -> int:
    """The left position at which ``piece`` (placed at row ``top``) first touches the ink
    already on ``canvas`` when slid in from the right."""
    height = piece.shape[0]
    rows = canvas[top : top + height] > 0.3
    inked_rows = np.flatnonzero(rows.any(axis=1) & (piece > 0.3).any(axis=1))
    if inked_rows.size == 0:
        return int(np.flatnonzero(canvas.any(axis=0)).max(initial=0)) + 1
    right = np.array([np.flatnonzero(rows[r]).max() for r in inked_rows])
    left = np.array([np.flatnonzero(piece[r] > 0.3).min() for r in inked_rows])
    return int((right - left).max()) + 1


def compose(digits: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
            joins: tuple[str, ...] | None = None) -> Number:
    """digits (k, 28, 28) uint8 MNIST, labels (k,) -> the number as a dark-on-white PNG."""
    count = len(digits)
    if joins is None:
        joins = ["apart"] * (count - 1)
        if rng.random() < 1 / 3:
            joins[int(rng.integers(count - 1))] = str(rng.choice(GAPS[1:]))
        joins = tuple(joins)
    height = int(rng.integers(44, 72))
    canvas = np.zeros((3 * height, 2 * height * count + 40), np.float32)
    x = 20
    for i, (digit, join) in enumerate(zip(digits, ("apart", *joins), strict=True)):
        piece = scaled(tight(digit), max(8, round(height * rng.uniform(0.8, 1.05))))
        top = height + int(rng.integers(-height // 8, height // 8 + 1))
        if i > 0:
            touch = first_touch(canvas, piece, top)
            if join == "apart":
                x = touch + int(rng.integers(round(0.1 * height), round(0.45 * height)))
            elif join == "touching":
                x = touch - 1
            else:
                x = touch - int(rng.integers(2, max(3, round(0.06 * height))))
        window = canvas[top : top + piece.shape[0], x : x + piece.shape[1]]
        np.maximum(window, piece[:, : window.shape[1]], out=window)
        x += piece.shape[1]
    slant = rng.uniform(-0.25, 0.25) if rng.random() < 0.5 else 0.0
    image = Image.fromarray(np.uint8(255 - 255 * canvas))
    if slant:
        image = image.transform(image.size, Image.Transform.AFFINE,
                                (1, slant, -slant * image.height / 2, 0, 1, 0),
                                Image.Resampling.BILINEAR, fillcolor=255)
    rows, cols = np.nonzero(np.asarray(image) < 250)
    margin = height // 3
    image = image.crop((max(0, cols.min() - margin), max(0, rows.min() - margin),
                        cols.max() + margin, rows.max() + margin))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Number(buffer.getvalue(), "".join(str(int(d)) for d in labels), joins)
