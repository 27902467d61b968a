"""The whole reading, without the web: a decoded image -> the digits in it, read.

decode (:mod:`app.reading.decode`) -> ink (:mod:`app.reading.ink`) -> digits
(:mod:`app.reading.segment`, which asks the network to choose between ways of splitting)
-> 28x28 (:mod:`app.reading.normalize`) -> the network's reading of each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.reading.decode import Decoded
from app.reading.normalize import Frame
from app.reading.prepare import inked, uploaded_box
from app.reading.segment import Reading as NetworkReading
from app.reading.segment import segment


@dataclass
class DigitRead:
    """One mark read: box (x0, y0, x1, y1) in the uploaded image's pixels; image (28, 28)
    float32, what the network saw; prediction, what it said (its ``rejected`` is True when
    the mark is not a digit); frame, where the 28x28 lies over the uploaded image."""

    box: tuple[int, int, int, int]
    image: np.ndarray
    prediction: NetworkReading
    frame: Frame


@dataclass
class Reading:
    """The marks of an image read line by line, left to right, or why there are none."""

    marks: list[DigitRead] = field(default_factory=list)
    blank_reason: str | None = None

    @property
    def digits(self) -> list[DigitRead]:
        """The marks read as digits (not rejected)."""
        return [mark for mark in self.marks if not mark.prediction.rejected]

    @property
    def number(self) -> str:
        """The digits read, as a string ("" when none)."""
        return "".join(str(mark.prediction.digit) for mark in self.digits)

    @property
    def status(self) -> str:
        """"ok" (at least one digit), "not_a_digit" (marks, none a digit) or "no_digit"."""
        if not self.marks:
            return "no_digit"
        return "ok" if self.digits else "not_a_digit"


def read(decoded: Decoded, classify: Callable[[np.ndarray], Sequence[NetworkReading]]):
    """A decoded image -> :class:`Reading`. ``classify(images (N, 28, 28))`` is the network
    (e.g. :meth:`app.predictor.Predictor.predict_many`)."""
    ink = inked(decoded)
    if ink.blank_reason is not None:
        return Reading(blank_reason=ink.blank_reason)
    marks = [
        DigitRead(uploaded_box(candidate.box, decoded), candidate.image, prediction,
                  candidate.frame.shrunk(decoded.scale))
        for line in segment(ink, classify)
        for candidate, prediction in line
    ]
    return Reading(marks)
