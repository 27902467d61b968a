"""Splitting the ink into digits, line by line, left to right.

1. **Marks to elements.** The connected marks of one digit that do not touch (a 5's flag, a
   4 in two strokes, the bar across a 7) overlap in their columns and lie close above or
   below each other: such marks are merged.
2. **Lines.** Elements whose rows overlap form a line; lines are read top to bottom.
3. **Candidates.** An element much wider than it is tall may be digits that touch: the
   columns where it holds least ink are candidate cuts. Each run of consecutive slices of
   one element, and each pair of neighbouring elements close together, is a candidate digit.
4. **Recognition decides.** Every candidate is framed as MNIST (28x28) and read by the
   network in one batch; a line's segmentation is the sequence of candidates covering it
   with the best total score (dynamic programming). A candidate scores the log-probability
   of the digit it most likely is; a whole element may instead score as "not a digit" (a
   pair or a slice must be a digit to be worth merging or cutting); shapes too wide to be
   one digit pay a penalty. A broken 0 reads better whole; two touching digits read better
   cut; a dash beside a digit stays a dash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.reading.errors import ImageError
from app.reading.ink import Ink
from app.reading.normalize import BOX, FRINGE, bounding_box, mnist_image

#: The most digits one image may hold (and twice that many separate marks).
MAX_DIGITS = 12
#: Marks whose column ranges overlap by this much of the narrower one, with at most
#: STACK_GAP of a digit's height between them vertically, belong to one digit.
OVERLAP = 0.5
STACK_GAP = 0.35
#: Elements wider than WIDE times their height may be touching digits; cuts are tried at
#: most CUTS per element, no nearer than MIN_PIECE of the height to each other or an end.
WIDE = 1.1
CUTS = 4
MIN_PIECE = 0.3
#: Neighbouring elements at most PAIR_GAP of a height apart are also tried as one digit.
PAIR_GAP = 0.25
#: A candidate wider than TOO_WIDE times its height is unlikely to be one digit.
TOO_WIDE = 1.3
TOO_WIDE_PENALTY = math.log(0.1)


@dataclass
class Candidate:
    """A possible digit: the marks (1-based labels) it holds, restricted to the columns
    [x0, x1) when it is a slice of touching digits; box (y0, y1, x0, x1) of its clearly
    inked pixels; image its 28x28 framing; atoms the slice indices [first, last) it covers;
    elements how many elements it joins (2 for a pair of neighbours)."""

    marks: tuple[int, ...]
    box: tuple[int, int, int, int]
    image: np.ndarray
    atoms: tuple[int, int]
    columns: tuple[int, int] | None = None
    elements: int = 1


@dataclass
class _Element:
    marks: list[int]
    box: list[int]  # y0, y1, x0, x1 of strong pixels

    @property
    def height(self) -> int:
        return self.box[1] - self.box[0]

    @property
    def width(self) -> int:
        return self.box[3] - self.box[2]


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


def segment(ink: Ink, classify: Classify) -> list[list[tuple[Candidate, Reading]]]:
    """The digits of the ink, as lines (top to bottom) of candidates (left to right) with
    the network's reading of each. ``classify(images (N, 28, 28))`` reads N images in one
    batch. Raises :class:`ImageError` (422) when the image holds too many marks."""
    elements = _elements(ink)
    if len(elements) > 2 * MAX_DIGITS:
        raise _too_many(len(elements))
    lines = []
    for line in _lines(elements):
        atoms, candidates = _candidates(ink, line)
        readings = classify(np.stack([c.image for c in candidates]))
        chosen = _best_cover(atoms, candidates, [_score(c, r) for c, r in
                                                 zip(candidates, readings, strict=True)])
        lines.append([(candidates[i], readings[i]) for i in chosen])
    found = sum(len(line) for line in lines)
    if found > MAX_DIGITS:
        raise _too_many(found)
    return lines


def _score(candidate: Candidate, reading: Reading) -> float:
    """Log-probability of the candidate's most likely digit; a whole element may score as
    "not a digit" instead; too wide a shape pays a penalty."""
    score = math.log(max(float(reading.probabilities.max()), 1e-12))
    whole = candidate.columns is None and candidate.elements == 1
    if whole:
        score = max(score, math.log(max(reading.not_digit, 1e-12)))
    y0, y1, x0, x1 = candidate.box
    if x1 - x0 > TOO_WIDE * (y1 - y0):
        score += TOO_WIDE_PENALTY
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
    boxes = {}
    for label in ink.kept + 1:
        chosen = labels == label
        if chosen.any():
            y, x = ys[chosen], xs[chosen]
            boxes[int(label)] = [int(y.min()), int(y.max()) + 1, int(x.min()), int(x.max()) + 1]
    return boxes


def _elements(ink: Ink) -> list[_Element]:
    """Kept marks merged into elements (see the module docstring, step 1)."""
    boxes = _strong_boxes(ink)
    elements = [_Element([label], list(box)) for label, box in boxes.items()]
    if not elements:
        return []
    reference = float(np.median([e.height for e in elements if e.height >= 0.5 * max(
        x.height for x in elements)]))
    merged = True
    while merged:
        merged = False
        for i, a in enumerate(elements):
            for b in elements[i + 1 :]:
                if _belong_together(a, b, reference):
                    a.marks += b.marks
                    a.box = [min(a.box[0], b.box[0]), max(a.box[1], b.box[1]),
                             min(a.box[2], b.box[2]), max(a.box[3], b.box[3])]
                    elements.remove(b)
                    merged = True
                    break
            if merged:
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


def _cuts(ink: Ink, element: _Element) -> list[int]:
    """Candidate columns to cut a wide element at: where it holds least clear ink."""
    if element.width <= WIDE * element.height:
        return []
    y0, y1, x0, x1 = element.box
    own = np.isin(ink.marks.labels[y0:y1, x0:x1], element.marks) & ink.strong[y0:y1, x0:x1]
    profile = np.convolve(own.sum(axis=0).astype(float), np.ones(3) / 3, mode="same")
    margin = max(1, int(MIN_PIECE * element.height))
    order = np.argsort(profile[margin:-margin], kind="stable") + margin if (
        element.width > 2 * margin) else []
    cuts: list[int] = []
    for column in order:
        if len(cuts) == CUTS or profile[column] > 0.6 * np.median(profile[profile > 0]):
            break
        if all(abs(column - c) >= margin for c in cuts):
            cuts.append(int(column))
    return sorted(x0 + c for c in cuts)


def _candidates(ink: Ink, line: list[_Element]) -> tuple[int, list[Candidate]]:
    """The atoms of a line (whole elements, or slices of wide ones) and every candidate
    digit over them: runs of slices of one element, single elements, neighbouring pairs."""
    candidates: list[Candidate] = []
    atom = 0
    previous: tuple[_Element, int] | None = None
    for element in line:
        edges = [element.box[2], *_cuts(ink, element), element.box[3]]
        slices = len(edges) - 1
        for first in range(slices):
            for last in range(first + 1, min(slices, first + 3) + 1):
                columns = None if (first, last) == (0, slices) else (edges[first], edges[last])
                candidate = _candidate(ink, element.marks, (atom + first, atom + last), columns)
                if candidate is not None:
                    candidates.append(candidate)
        if previous is not None and slices == 1 and previous[1] == 1:
            before = previous[0]
            gap = element.box[2] - before.box[3]
            if gap <= PAIR_GAP * max(element.height, before.height):
                pair = _candidate(ink, before.marks + element.marks, (atom - 1, atom + 1), None)
                if pair is not None:
                    pair.elements = 2
                    candidates.append(pair)
        previous = (element, slices)
        atom += slices
    return atom, candidates


def _candidate(ink: Ink, marks: list[int], atoms: tuple[int, int],
               columns: tuple[int, int] | None) -> Candidate | None:
    """Frame the chosen marks (within ``columns``) as MNIST; None when too little remains."""
    strong_rows = np.isin(ink.marks.labels, marks) & ink.strong
    if columns is not None:
        strong_rows[:, : columns[0]] = False
        strong_rows[:, columns[1] :] = False
    box = bounding_box(strong_rows)
    if box is None or np.count_nonzero(strong_rows) < 4:
        return None
    y0, y1, x0, x1 = box
    margin = math.ceil((FRINGE + 1) * max(y1 - y0, x1 - x0) / BOX)
    top, left = max(0, y0 - margin), max(0, x0 - margin)
    bottom, right = min(ink.ink.shape[0], y1 + margin), min(ink.ink.shape[1], x1 + margin)
    region = ink.ink[top:bottom, left:right].copy()
    region[~np.isin(ink.marks.labels[top:bottom, left:right], marks)] = 0.0
    if columns is not None:
        region[:, : max(0, columns[0] - left)] = 0.0
        region[:, max(0, columns[1] - left) :] = 0.0
    image = mnist_image(region, (y0 - top, y1 - top, x0 - left, x1 - left))
    return Candidate(tuple(marks), box, image, atoms, columns)


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
