"""From a decoded image to the ink worth reading, and (without the network) its 28x28.

:func:`inked` finds the ink (:mod:`app.reading.ink`) and says why there is none to read
when the image is blank or holds only specks. :func:`prepare` frames all of it as one digit
(:mod:`app.reading.normalize`): what the preprocessing tests and benchmarks look at; the
service itself splits the ink into digits first (:mod:`app.reading.reader`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from app.reading.components import bounding_box
from app.reading.decode import Decoded
from app.reading.ink import Ink, find_ink
from app.reading.normalize import mnist_image

#: Ink whose extent is below this fraction of the image's size (the geometric mean of its
#: sides, so a long thin strip is judged fairly) is a speck, not a digit.
MIN_EXTENT = 0.04
TOO_SMALL = "No digit found: the marks are too small to be a digit."


@dataclass
class PreparedDigit:
    """One digit: image (28, 28) float32 in [0, 1], white on black; box (x0, y0, x1, y1),
    end-exclusive, in the uploaded image's pixels."""

    image: np.ndarray
    box: tuple[int, int, int, int]


@dataclass
class Prepared:
    """The digits of an image, left to right, or ``blank_reason`` saying why there are none."""

    digits: list[PreparedDigit] = field(default_factory=list)
    blank_reason: str | None = None


def inked(decoded: Decoded) -> Ink:
    """The image's ink; its ``blank_reason`` is set when there is nothing worth reading."""
    ink = find_ink(decoded.gray, decoded.alpha)
    if ink.blank_reason is None:
        y0, y1, x0, x1 = bounding_box(ink.strong)
        if max(y1 - y0, x1 - x0) < MIN_EXTENT * math.sqrt(ink.ink.size):
            ink.blank_reason = TOO_SMALL
    return ink


def prepare(decoded: Decoded) -> Prepared:
    """A decoded image -> all its ink framed as one digit (28x28) with its box."""
    ink = inked(decoded)
    if ink.blank_reason is not None:
        return Prepared(blank_reason=ink.blank_reason)
    box = bounding_box(ink.strong)
    return Prepared([PreparedDigit(mnist_image(ink.ink, box), uploaded_box(box, decoded))])


def uploaded_box(box: tuple[int, int, int, int], decoded: Decoded) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) in decoded pixels -> (x0, y0, x1, y1) in the uploaded image's."""
    y0, y1, x0, x1 = box
    width, height = decoded.size
    scale = decoded.scale
    return (
        max(0, math.floor(x0 / scale)), max(0, math.floor(y0 / scale)),
        min(width, math.ceil(x1 / scale)), min(height, math.ceil(y1 / scale)),
    )
