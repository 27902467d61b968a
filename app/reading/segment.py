"""Splitting the ink into digits, line by line, left to right.

1. **Marks to elements.** The connected marks of one digit that do not touch (a 5's flag, a
   4 in two strokes, the bar across a 7) overlap in their columns and lie close above or
   below each other: such marks are merged.
2. **Lines.** Elements whose rows overlap form a line; lines are read top to bottom.
3. **Candidates.** An element wide for its height may be digits that touch: the columns
   (upright or slanted like the handwriting) where it holds least ink are candidate cuts.
   Each run of consecutive slices of one element, and each pair of neighbouring elements
   close together, is a candidate digit.
4. **Recognition decides.** Every candidate is framed as MNIST (28x28) and all are read by
   the network in one batch; a line's segmentation is the sequence of candidates covering
   it with the best total score (dynamic programming). A candidate scores the
   log-probability of the digit it most likely is, plus log-priors: cutting an element and
   joining two cost something (most marks are one digit each), and so does reading a whole
   element as "not a digit" (people write digits here) or a shape too wide to be one
   digit. A broken 0 reads better whole; two touching digits read better cut; a dash beside
   a digit stays a dash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Protocol

import numpy as np

from app.reading.errors import ImageError
from app.reading.ink import Ink
from app.reading.normalize import BOX, FRINGE, Frame, bounding_box, mnist_framed

#: The most digits one image may hold (and twice that many separate marks).
MAX_DIGITS = 12
#: Marks whose column ranges overlap by this much of the narrower one, with at most
#: STACK_GAP of a digit's height between them vertically, belong to one digit.
OVERLAP = 0.5
STACK_GAP = 0.35
#: Elements wider than WIDE times their height may be touching digits; cuts are tried at
#: most CUTS per element, no nearer than MIN_PIECE of the height to each other or an end,
#: where the ink across the cut is at most CUT_DEPTH of a typical column's, along columns
#: slanted by each of SHEARS (horizontal shift per row: handwriting leans).
WIDE = 0.75
CUTS = 4
MIN_PIECE = 0.15
CUT_DEPTH = 0.7
SHEARS = (0.0, 0.15, -0.15, 0.3, -0.3, 0.6, -0.6, 1.0, -1.0)
#: Neighbouring elements at most PAIR_GAP of a height apart are also tried as one digit.
PAIR_GAP = 0.25
#: Log-priors of the segmentation: each slice of a cut element, each pair of elements read
#: as one digit, each whole element read as "not a digit", and a candidate wider than
#: TOO_WIDE times its height.
CUT_COST = math.log(0.7)
PAIR_COST = math.log(0.3)
NOT_A_DIGIT_COST = math.log(0.3)
TOO_WIDE = 1.3
TOO_WIDE_COST = math.log(0.1)


class Reading(Protocol):
    """What the network says of a candidate: ``probabilities`` (10,) of the digits,
    ``not_digit`` the probability that it is not a digit, ``rejected`` whether that is high
    enough to say so, and ``digit``, ``confidence`` the most likely digit and its
    probability (e.g. :class:`app.predictor.Prediction`)."""

    probabilities: np.ndarray
    not_digit: float
    rejected: bool

    @property
    def digit(self) -> int: ...

    @property
    def confidence(self) -> float: ...


Classify = Callable[[np.ndarray], Sequence[Reading]]


@dataclass(frozen=True)
class Slice:
    """Pixels (y, x) with ``low <= x - (y - middle) * shear < high``: a band between two
    parallel cuts, slanted like the handwriting (shear = horizontal shift per row)."""

    shear: float
    middle: float
    low: float
    high: float

    def holds(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        position = xs - (ys - self.middle) * self.shear
        return (position >= self.low) & (position < self.high)


@dataclass
class Candidate:
    """A possible digit: the marks (1-based labels) it holds, restricted to a ``band`` when
    it is a slice of touching digits; box (y0, y1, x0, x1) of its clearly inked pixels;
    image its 28x28 framing, placed over the ink by ``frame``; atoms the slice indices
    [first, last) of its line it covers;
    elements how many elements it joins (2 for a pair of neighbours)."""

    marks: tuple[int, ...]
    box: tuple[int, int, int, int]
    image: np.ndarray
    frame: Frame
    atoms: tuple[int, int]
    band: Slice | None = None
    elements: int = 1


@dataclass
class _Element:
    marks: list[int]
    box: list[int]  # y0, y1, x0, x1 of its clearly inked pixels

    @property
    def height(self) -> int:
        return self.box[1] - self.box[0]

    @property
    def width(self) -> int:
        return self.box[3] - self.box[2]


@dataclass
class _Region:
    """A crop of the ink around some marks: their pixels (``own``), clearly inked ones
    (``strong``) and the ink values, with the crop's top-left corner in the image."""

    own: np.ndarray
    strong: np.ndarray
    ink: np.ndarray
    top: int
    left: int

    @classmethod
    def around(cls, ink: Ink, marks: list[int], box: list[int], margin: int) -> _Region:
        height, width = ink.ink.shape
        top, left = max(0, box[0] - margin), max(0, box[2] - margin)
        bottom, right = min(height, box[1] + margin), min(width, box[3] + margin)
        labels = ink.marks.labels[top:bottom, left:right]
        own = np.isin(labels, marks)
        return cls(own, own & ink.strong[top:bottom, left:right],
                   ink.ink[top:bottom, left:right], top, left)


def segment(ink: Ink, classify: Classify) -> list[list[tuple[Candidate, Reading]]]:
    """The digits of the ink, as lines (top to bottom) of candidates (left to right) with
    the network's reading of each. ``classify(images (N, 28, 28))`` reads N images in one
    batch. Raises :class:`ImageError` (422) when the image holds too many marks."""
    elements = _elements(ink)
    if len(elements) > 2 * MAX_DIGITS:
        raise _too_many(len(elements))
    lines = [_candidates(ink, line) for line in _lines(elements)]
    everything = [candidate for _, candidates in lines for candidate in candidates]
    readings = list(classify(np.stack([c.image for c in everything])))
    chosen, start = [], 0
    for atoms, candidates in lines:
        mine = readings[start : start + len(candidates)]
        start += len(candidates)
        best = _best_cover(atoms, candidates, [_score(c, r) for c, r in
                                               zip(candidates, mine, strict=True)])
        chosen.append([(candidates[i], mine[i]) for i in best])
    found = sum(len(line) for line in chosen)
    if found > MAX_DIGITS:
        raise _too_many(found)
    return chosen


def _score(candidate: Candidate, reading: Reading) -> float:
    """The candidate's log-probability as the digit it most likely is (or, for a whole
    element, as "not a digit", if that is likelier) plus the log-priors of the module
    docstring."""
    score = math.log(max(float(reading.probabilities.max()), 1e-12))
    if candidate.band is None and candidate.elements == 1:
        score = max(score, math.log(max(reading.not_digit, 1e-12)) + NOT_A_DIGIT_COST)
    if candidate.band is not None:
        score += CUT_COST
    if candidate.elements > 1:
        score += PAIR_COST
    y0, y1, x0, x1 = candidate.box
    if x1 - x0 > TOO_WIDE * (y1 - y0):
        score += TOO_WIDE_COST
    return score


def _too_many(count: int) -> ImageError:
    return ImageError(
        422, "too_many_digits",
        f"The image holds about {count} separate marks; at most {MAX_DIGITS} digits are read "
        "in one image. Crop it to the number you want read.",
    )


def _strong_boxes(ink: Ink) -> dict[int, list[int]]:
    """Label (1-based) -> [y0, y1, x0, x1] of its clearly inked pixels, for kept marks."""
    ys, xs = np.nonzero(ink.strong)
    labels = ink.marks.labels[ys, xs]
    count = ink.marks.count + 1
    low_y, low_x = np.full(count, 1 << 30), np.full(count, 1 << 30)
    high_y, high_x = np.full(count, -1), np.full(count, -1)
    np.minimum.at(low_y, labels, ys)
    np.minimum.at(low_x, labels, xs)
    np.maximum.at(high_y, labels, ys)
    np.maximum.at(high_x, labels, xs)
    return {int(label): [int(low_y[label]), int(high_y[label]) + 1, int(low_x[label]),
                         int(high_x[label]) + 1]
            for label in ink.kept + 1 if high_y[label] >= 0}


def _elements(ink: Ink) -> list[_Element]:
    """Kept marks merged into elements (see the module docstring, step 1)."""
    elements = [_Element([label], box) for label, box in _strong_boxes(ink).items()]
    if not elements:
        return []
    tallest = max(e.height for e in elements)
    reference = float(np.median([e.height for e in elements if e.height >= 0.5 * tallest]))
    merged = True
    while merged:
        merged = False
        for a in elements:
            partner = next((b for b in elements if b is not a and _belong_together(a, b,
                                                                                 reference)), None)
            if partner is not None:
                a.marks += partner.marks
                a.box = [min(a.box[0], partner.box[0]), max(a.box[1], partner.box[1]),
                         min(a.box[2], partner.box[2]), max(a.box[3], partner.box[3])]
                elements.remove(partner)
                merged = True
                break
    return elements


def _belong_together(a: _Element, b: _Element, reference: float) -> bool:
    """Columns shared by most of the narrower one, and little room between them vertically."""
    overlap = min(a.box[3], b.box[3]) - max(a.box[2], b.box[2])
    vertical_gap = max(a.box[0], b.box[0]) - min(a.box[1], b.box[1])
    return overlap >= OVERLAP * min(a.width, b.width) and vertical_gap <= STACK_GAP * reference


def _lines(elements: list[_Element]) -> list[list[_Element]]:
    """Elements grouped into lines by overlapping rows; lines top to bottom, each left to
    right."""
    lines: list[list[_Element]] = []
    for element in sorted(elements, key=lambda e: (e.box[0] + e.box[1]) / 2):
        for line in lines:
            top = min(e.box[0] for e in line)
            bottom = max(e.box[1] for e in line)
            shared = min(bottom, element.box[1]) - max(top, element.box[0])
            if shared >= 0.3 * min(element.height, bottom - top):
                line.append(element)
                break
        else:
            lines.append([element])
    return [sorted(line, key=lambda e: (e.box[2] + e.box[3]) / 2) for line in lines]


def _margin(box: list[int] | tuple[int, ...]) -> int:
    """Pixels kept around a box for the fringe MNIST framing takes in (see normalize)."""
    return math.ceil((FRINGE + 1) * max(box[1] - box[0], box[3] - box[2]) / BOX) + 1


def _cuts(region: _Region, element: _Element) -> list[Slice]:
    """The slices of an element that may be touching digits, between the cuts crossing
    least ink along the best of the slants tried (one slice, the whole, when narrow)."""
    if element.width <= WIDE * element.height:
        return []
    ys, xs = np.nonzero(region.strong)
    ys, xs = ys + region.top, xs + region.left
    middle = (element.box[0] + element.box[1]) / 2
    margin = max(2, int(MIN_PIECE * element.height))
    best: tuple[float, list[Slice]] | None = None
    for shear in SHEARS:
        position = xs - (ys - middle) * shear
        low = float(position.min())
        profile = np.bincount((position - low).astype(int)).astype(float)
        profile = np.convolve(profile, np.ones(3) / 3, mode="same")
        inner = np.arange(margin, len(profile) - margin)
        if inner.size == 0:
            continue
        typical = float(profile[profile > 0].mean())
        cuts: list[int] = []
        for column in inner[np.argsort(profile[inner], kind="stable")]:
            if len(cuts) == CUTS or profile[column] > CUT_DEPTH * typical:
                break
            if all(abs(column - c) >= margin for c in cuts):
                cuts.append(int(column))
        if not cuts:
            continue
        depth = min(profile[c] for c in cuts) / typical
        if best is None or depth < best[0]:
            edges = [low, *sorted(low + c for c in cuts), low + len(profile) + 1.0]
            best = (depth, [Slice(shear, middle, a, b) for a, b in pairwise(edges)])
    return best[1] if best is not None else []


def _candidates(ink: Ink, line: list[_Element]) -> tuple[int, list[Candidate]]:
    """The atoms of a line (whole elements, or slices of wide ones) and every candidate
    digit over them: runs of slices of one element, single elements, neighbouring pairs."""
    candidates: list[Candidate] = []
    atom = 0
    previous: tuple[_Element, int] | None = None
    for element in line:
        region = _Region.around(ink, element.marks, element.box, _margin(element.box))
        slices = _cuts(region, element)
        pieces = max(1, len(slices))
        for first in range(pieces):
            for last in range(first + 1, min(pieces, first + 3) + 1):
                band = None if (first, last) == (0, pieces) else Slice(
                    slices[first].shear, slices[first].middle, slices[first].low,
                    slices[last - 1].high)
                candidate = _candidate(region, element.marks, (atom + first, atom + last), band)
                if candidate is not None:
                    candidates.append(candidate)
        if previous is not None and pieces == 1 and previous[1] == 1:
            before = previous[0]
            if element.box[2] - before.box[3] <= PAIR_GAP * max(element.height, before.height):
                box = [min(before.box[0], element.box[0]), max(before.box[1], element.box[1]),
                       before.box[2], max(before.box[3], element.box[3])]
                marks = before.marks + element.marks
                pair = _candidate(_Region.around(ink, marks, box, _margin(box)), marks,
                                  (atom - 1, atom + 1), None)
                if pair is not None:
                    pair.elements = 2
                    candidates.append(pair)
        previous = (element, pieces)
        atom += pieces
    return atom, candidates


def _candidate(region: _Region, marks: list[int], atoms: tuple[int, int],
               band: Slice | None) -> Candidate | None:
    """Frame the region's marks (within ``band``) as MNIST; None when too little remains."""
    own, strong = region.own, region.strong
    if band is not None:
        ys, xs = np.indices(own.shape)
        inside = band.holds(ys + region.top, xs + region.left)
        own, strong = own & inside, strong & inside
    box = bounding_box(strong)
    if box is None or np.count_nonzero(strong) < 4:
        return None
    values = np.where(own, region.ink, np.float32(0.0))
    image, frame = mnist_framed(values, box)
    y0, y1, x0, x1 = box
    return Candidate(tuple(marks), (y0 + region.top, y1 + region.top, x0 + region.left,
                                    x1 + region.left), image,
                     frame.moved(region.left, region.top), atoms, band)


def _best_cover(atoms: int, candidates: list[Candidate], scores: list[float]) -> list[int]:
    """Indices of the candidates covering atoms 0..atoms-1 exactly once, left to right, with
    the highest total score (candidates sorted by their last atom: each best prefix is final
    before it is extended)."""
    best = [-math.inf] * (atoms + 1)
    choice: list[tuple[int, int] | None] = [None] * (atoms + 1)
    best[0] = 0.0
    for index in sorted(range(len(candidates)), key=lambda i: candidates[i].atoms[1]):
        first, last = candidates[index].atoms
        total = best[first] + scores[index]
        if total > best[last]:
            best[last], choice[last] = total, (first, index)
    chosen = []
    position = atoms
    while position > 0:
        step = choice[position]
        if step is None:  # nothing covers this atom (a sliver too thin to frame): skip it
            position -= 1
            continue
        chosen.append(step[1])
        position = step[0]
    return chosen[::-1]
