"""Splitting the ink into digits, line by line, left to right.

1. **Marks to elements.** The connected marks of one digit that do not touch (a 5's flag, a
   4 in two strokes, the bar across a 7) overlap in their columns and lie close above or
   below each other: such marks are merged. An element wide enough to be digits side by
   side is split where a path runs down through it crossing no clearly inked pixel, with
   parts tall enough to be digits on both sides: digits set close, joined only by their
   faint edges (a blurry scan, a photo). The parts are elements of their own (each a band
   of the marks), so the whole is read only as their pair.
2. **Lines.** Elements whose rows overlap form a line; lines are read top to bottom.
3. **Candidates.** An element wide for its height may be digits that touch: the cheapest
   paths through its ink (top to bottom, crossing strokes where they are thinnest; once
   winding freely round strokes, once straighter, cutting across strokes that overlap) are
   candidate cuts, and so are the valleys of its ink profile along columns upright or
   slanted like the handwriting (the slant with the deepest valleys). Each element whole,
   each run of up to three consecutive slices, and each pair of neighbouring elements close
   together is a candidate digit.
4. **Recognition decides.** Every candidate is framed as MNIST (28x28) and all are read by
   the network in one batch; each element is read the best way (whole, or the best cover
   of one of its slicings), then a line the best way over its elements, pairs included
   (dynamic programming, maximising the total score). A candidate scores the
   log-probability of the digit it most likely is, plus log-priors: cutting an element
   (weighed by the network's own log p(several digits), and a little more for each piece
   beyond two) and joining two cost something (most marks are one digit each; joining a
   small fragment to a digit costs little), and so does reading a whole element as "not a
   digit" (people write digits here), a fragment much shorter than its line as a digit of
   its own, or a shape too wide to be one digit. A broken 0 reads better whole; two
   touching digits read better cut; a dash beside a digit stays a dash.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from app.reading.components import bounding_box, label
from app.reading.errors import ImageError
from app.reading.ink import Ink
from app.reading.normalize import BOX, FRINGE, Frame, mnist_framed

#: The most digits one image may hold (and twice that many separate marks).
MAX_DIGITS = 12
#: Marks whose column ranges overlap by this much of the narrower one, with at most
#: STACK_GAP of a digit's height between them vertically, belong to one digit.
OVERLAP = 0.5
STACK_GAP = 0.35
#: Elements wider than WIDE times their height may be touching digits (two 1s side by side
#: are barely wider than half their height); cuts are tried at
#: most CUTS per element, no nearer than MIN_PIECE of the height to each other, leaving
#: at least PIECE_INK of the ink on either side, where the ink across the cut is at most
#: CUT_DEPTH of a typical column's, along columns slanted by each of SHEARS (horizontal
#: shift per row: handwriting leans). The slant with the deepest valleys is tried, and so
#: are the cheapest curved cuts through the ink: the network chooses.
WIDE = 0.5
CUTS = 5
MIN_PIECE = 0.15
CUT_DEPTH = 0.7
PIECE_INK = 0.04
SHEARS = (0.0, 0.15, -0.15, 0.3, -0.3, 0.6, -0.6, 1.0, -1.0)
#: Cut paths, found for each (cost of crossing a clearly inked pixel, cost of a diagonal
#: step) here (a blank pixel costs 1): cheap diagonals let a path wind through the gaps
#: between digits; cheaper ink with dearer diagonals gives straighter paths that cut across
#: the strokes of digits that overlap, where the winding path would slip round one of them.
PATH_COSTS = ((8.0, 0.4), (3.0, 1.0))
#: Neighbouring elements at most PAIR_GAP of a height apart are also tried as one digit.
PAIR_GAP = 0.25
#: An element shorter than FRAGMENT of the line's tallest is a fragment (a broken-off piece
#: of a stroke, a speck of ink) more likely than a digit on its own.
FRAGMENT = 0.45
#: Log-priors of the segmentation: each slice of a cut element, each pair of elements read
#: as one digit, each whole element read as "not a digit", and a candidate wider than
#: TOO_WIDE times its height (WIDTH_COST per unit of width/height beyond it: digits are
#: seldom wider than tall, two side by side are).
CUT_COST = math.log(0.7)
PAIR_COST = math.log(0.3)
FRAGMENT_COST = math.log(0.05)
NOT_A_DIGIT_COST = math.log(0.3)
TOO_WIDE = 0.95
WIDTH_COST = 1.0
#: An element is split along a clean gap (see the module docstring, step 1) when the parts
#: on both sides are at least CLEAN_PART of its height.
CLEAN_PART = 0.6
#: How much the network's own log p(several digits) weighs as the prior of a cut: the
#: network saw few squeezed-together pairs in training and doubts them more than it should
#: (at 1, most touching pairs it misses were never even tried cut). Lower weights read more
#: numbers but cut more letters and doodles into digits (at 0.5, 2 points more of the font
#: glyphs; at 0.15, 3.5 points more of the doodles). Chosen on the development seeds of
#: bench/bench_reading.py (see README).
SEVERAL_WEIGHT = 0.7
#: Each piece beyond two of a cut element (touching digits are most often a pair: a third
#: piece is more often a digit cut in two than a third digit).
EXTRA_PIECE_COST = math.log(0.5)


class Reading(Protocol):
    """What the network says of a candidate: ``probabilities`` (10,) of the digits,
    ``not_digit`` the probability that it is not one digit (``several`` of it: that it is
    several digits squeezed together, when the network knows), ``rejected`` whether that is
    high enough to say so, and ``digit``, ``confidence`` the most likely digit and its
    probability (e.g. :class:`app.predictor.Prediction`)."""

    probabilities: np.ndarray
    not_digit: float
    rejected: bool
    several: float | None  # of not_digit: several digits squeezed together (None: unknown)

    @property
    def digit(self) -> int: ...

    @property
    def confidence(self) -> float: ...


Classify = Callable[[np.ndarray], Sequence[Reading]]


@dataclass(frozen=True, eq=False)
class Slice:
    """Pixels (y, x) with ``left[y - top] <= x < right[y - top]``: the band between two
    cuts running down an element (rows above or below take the nearest row's bounds)."""

    top: int
    left: np.ndarray  # (rows,) float
    right: np.ndarray  # (rows,) float

    def holds(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        rows = np.clip(ys - self.top, 0, len(self.left) - 1)
        return (xs >= self.left[rows]) & (xs < self.right[rows])


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
    #: Log-prior cost of this reading: for a pair, PAIR_COST scaled by how big the smaller
    #: of the two is (adding a fragment to a digit is cheap); for a fragment alone read as
    #: a digit, FRAGMENT_COST.
    cost: float = 0.0


@dataclass
class _Element:
    marks: list[int]
    box: list[int]  # y0, y1, x0, x1 of its clearly inked pixels
    band: Slice | None = None  # a part of its marks split off along clean gaps

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
    def around(cls, ink: Ink, elements: list[_Element], box: list[int], margin: int
               ) -> _Region:
        """The crop of ``box`` widened by ``margin``, owning the pixels of ``elements``."""
        height, width = ink.ink.shape
        top, left = max(0, box[0] - margin), max(0, box[2] - margin)
        bottom, right = min(height, box[1] + margin), min(width, box[3] + margin)
        labels = ink.marks.labels[top:bottom, left:right]
        own = np.zeros(labels.shape, bool)
        for element in elements:
            marks = element.marks
            mine = labels == marks[0] if len(marks) == 1 else np.isin(labels, marks)
            if element.band is not None:
                ys, xs = np.indices(labels.shape)
                mine &= element.band.holds(ys + top, xs + left)
            own |= mine
        return cls(own, own & ink.strong[top:bottom, left:right],
                   ink.ink[top:bottom, left:right], top, left)


def segment(ink: Ink, classify: Classify) -> list[list[tuple[Candidate, Reading]]]:
    """The digits of the ink, as lines (top to bottom) of candidates (left to right) with
    the network's reading of each. ``classify(images (N, 28, 28))`` reads N images in one
    batch (at most two batches per image). Raises :class:`ImageError` (422) when the image
    holds too many marks."""
    elements = _elements(ink)
    if len(elements) > 2 * MAX_DIGITS:
        raise _too_many(len(elements))
    plans = [_plan(ink, line) for line in _lines(elements)]
    readings: list[list[Reading]] = [[] for _ in plans]
    _read_new(plans, readings, classify)  # every element whole, every close pair
    for plan, read in zip(plans, readings, strict=True):
        plan.add_slicings(read)  # the elements that may be digits touching
    _read_new(plans, readings, classify)
    chosen = []
    for plan, read in zip(plans, readings, strict=True):
        scores = [_score(c, r) for c, r in zip(plan.candidates, read, strict=True)]
        chosen.append([(plan.candidates[i], read[i]) for i in plan.read(scores, read)])
    found = sum(len(line) for line in chosen)
    if found > MAX_DIGITS:
        raise _too_many(found)
    return chosen


def _read_new(plans: list[_Plan], readings: list[list[Reading]], classify: Classify) -> None:
    """Read, in one batch, the candidates of every plan that have no reading yet."""
    new = [c for plan, read in zip(plans, readings, strict=True)
           for c in plan.candidates[len(read):]]
    if not new:
        return
    batch = iter(classify(np.stack([c.image for c in new])))
    for plan, read in zip(plans, readings, strict=True):
        read.extend(next(batch) for _ in range(len(plan.candidates) - len(read)))


@dataclass
class _Plan:
    """The candidates of one line and how they may cover it.

    ``ways[e]`` lists the ways element ``e`` may be read alone: each a list of candidate
    indices and, for a slicing, the number of its slices (a candidate's ``atoms`` then
    index those slices); ``pairs`` maps (e, e + 1) to the candidate reading both as one."""

    candidates: list[Candidate]
    ways: list[list[tuple[list[int], int]]]
    pairs: dict[tuple[int, int], int]
    elements: list[_Element]
    regions: list[_Region]

    def add(self, candidate: Candidate | None) -> list[int]:
        """Append a candidate; its index in a list (empty for None)."""
        if candidate is None:
            return []
        self.candidates.append(candidate)
        return [len(self.candidates) - 1]

    def whole(self, element: int) -> int | None:
        """The index of the candidate reading element ``element`` whole (None when it was
        too thin to frame)."""
        return next((way[0] for way, slices in self.ways[element] if slices == 0 and way),
                    None)

    def add_slicings(self, readings: list[Reading]) -> None:
        """Add the ways to cut each element that might read better cut, given the readings
        of the candidates so far (each element whole).

        Only worth it when the cut could win: every candidate scores at most 0 (a
        log-probability plus log-priors), so a cut reading scores at most its cut's weight
        (log p(several digits) of the whole, or CUT_COST), and it can only beat the whole
        when that weight is above the whole's score. A digit read clearly whole is not cut
        (most of what people send: it halves the cost of reading one digit)."""
        for index, element in enumerate(self.elements):
            whole = self.whole(index)
            if whole is not None:
                reading = readings[whole]
                weight = _cut_weight(reading.several, 2)
                if weight <= _score(self.candidates[whole], reading):
                    continue
            region = self.regions[index]
            for cuts in _slicings(region, element):
                rows = element.box[1] - element.box[0]
                bounds = [np.full(rows, -np.inf), *cuts, np.full(rows, np.inf)]
                slices = len(bounds) - 1
                runs = [(first, last) for first in range(slices)
                        for last in range(first + 1, min(slices, first + 3) + 1)
                        if (first, last) != (0, slices)]
                way = [i for first, last in runs for i in self.add(_candidate(
                    region, element.marks, (first, last),
                    Slice(element.box[0], bounds[first], bounds[last])))]
                self.ways[index].append((way, slices))

    def read(self, scores: list[float], readings: list[Reading]) -> list[int]:
        """The best candidates (indices into ``candidates``), left to right: for each
        element its best way alone, then a dynamic programme over elements with pairs.

        Cutting an element into pieces is weighed by :func:`_cut_weight`."""
        alone = []
        for index, ways in enumerate(self.ways):
            whole = self.whole(index)
            several = readings[whole].several if whole is not None else None
            options = []
            for way, slices in ways:
                score, chosen = _cover_score(self.candidates, way, slices, scores,
                                             _cut_weight(several, 3) - _cut_weight(several, 2))
                if len(chosen) > 1:
                    score += _cut_weight(several, len(chosen))
                options.append((score, chosen))
            alone.append(max(options, key=lambda option: option[0]))
        count = len(alone)
        best = [0.0] + [-math.inf] * count
        back: list[list[int]] = [[] for _ in range(count + 1)]
        for end in range(1, count + 1):
            options = [(best[end - 1] + alone[end - 1][0], back[end - 1] + alone[end - 1][1])]
            pair = self.pairs.get((end - 2, end - 1))
            if pair is not None:
                options.append((best[end - 2] + scores[pair], back[end - 2] + [pair]))
            best[end], back[end] = max(options, key=lambda option: option[0])
        return back[count]


def _cover_score(candidates: list[Candidate], way: list[int], slices: int,
                 scores: list[float], piece_cost: float) -> tuple[float, list[int]]:
    """The best reading of one element in one way: its whole candidate, or the cover of a
    slicing's slices by its runs with the highest total score, each piece costing
    ``piece_cost`` more (what the cut's weight asks of each further piece); the score
    returned leaves that cost to the caller."""
    if not way:  # a sliver too thin to frame: it adds nothing
        return 0.0, []
    if slices == 0:
        return scores[way[0]], way
    chosen = _best_cover(slices, [candidates[i] for i in way],
                         [scores[i] + piece_cost for i in way])
    if not chosen:
        return -math.inf, []
    return sum(scores[way[i]] for i in chosen), [way[i] for i in chosen]


def _cut_weight(several: float | None, pieces: int) -> float:
    """The log-prior of reading an element as ``pieces`` (>= 2) digits: the network's own
    log-probability that the whole is several digits squeezed together (times
    SEVERAL_WEIGHT), with EXTRA_PIECE_COST for each piece beyond two; CUT_COST per cut for
    a network without that output (``several`` None)."""
    if several is None:
        return CUT_COST * (pieces - 1)
    return SEVERAL_WEIGHT * math.log(max(several, 1e-12)) + EXTRA_PIECE_COST * (pieces - 2)


def _score(candidate: Candidate, reading: Reading) -> float:
    """The candidate's log-probability as the digit it most likely is (or, for a whole
    element, as "not a digit", if that is likelier) plus the log-priors of the module
    docstring."""
    score = math.log(max(float(reading.probabilities.max()), 1e-12)) + candidate.cost
    if candidate.band is None and candidate.elements == 1:
        scribble = reading.not_digit - (reading.several or 0.0)
        score = max(score, math.log(max(scribble, 1e-12)) + NOT_A_DIGIT_COST)
    y0, y1, x0, x1 = candidate.box
    return score - WIDTH_COST * max(0.0, (x1 - x0) / (y1 - y0) - TOO_WIDE)


def _too_many(count: int) -> ImageError:
    return ImageError(
        422, "too_many_digits",
        f"The image holds about {count} separate marks; at most {MAX_DIGITS} digits are read "
        "in one image. Crop it to the number you want read.",
    )


def _strong_boxes(ink: Ink) -> dict[int, list[int]]:
    """Label (1-based) -> [y0, y1, x0, x1] of its clearly inked pixels, for kept marks."""
    y0, y1, x0, x1 = bounding_box(ink.strong)
    ys, xs = np.nonzero(ink.strong[y0:y1, x0:x1])
    ys, xs = ys + y0, xs + x0
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
    return [part for element in elements for part in _split_at_gaps(ink, element)]


def _split_at_gaps(ink: Ink, element: _Element) -> list[_Element]:
    """The element as its parts between clean gaps (see :func:`_clean_cuts`), left to right;
    [element] when it has none (always when it is narrower than WIDE times its height)."""
    if element.width <= WIDE * element.height:
        return [element]
    region = _Region.around(ink, [element], element.box, 0)
    cuts = _clean_cuts(region, element)
    if not cuts:
        return [element]
    rows = element.height
    bounds = [np.full(rows, -np.inf), *cuts, np.full(rows, np.inf)]
    ys, xs = np.nonzero(region.strong)
    ys, xs = ys + region.top, xs + region.left
    parts = []
    for left, right in itertools.pairwise(bounds):
        band = Slice(element.box[0], left, right)
        inside = band.holds(ys, xs)
        if inside.any():
            box = [int(ys[inside].min()), int(ys[inside].max()) + 1, int(xs[inside].min()),
                   int(xs[inside].max()) + 1]
            parts.append(_Element(list(element.marks), box, band))
    return parts


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


def _slicings(region: _Region, element: _Element) -> list[list[np.ndarray]]:
    """Ways to cut an element that may be touching digits, each a list of cuts running down
    it (x per row, rows of the element's box): the cheapest paths through the ink (see
    :func:`_cut_paths`), and the straight cuts, upright or slanted like the handwriting,
    across the deepest valleys of its ink profile. None when the element is narrow."""
    if element.width <= WIDE * element.height:
        return []
    ys, xs = np.nonzero(region.strong)
    ys, xs = ys + region.top, xs + region.left
    gap = max(2, int(MIN_PIECE * element.height))
    rows = np.arange(element.box[0], element.box[1])
    middle = (element.box[0] + element.box[1]) / 2
    found: list[tuple[float, list[np.ndarray]]] = []
    for shear in SHEARS:
        position = xs - (ys - middle) * shear
        low = float(position.min())
        profile = np.bincount((position - low).astype(int)).astype(float)
        profile = np.convolve(profile, np.ones(3) / 3, mode="same")
        cuts = _valleys(profile, gap)
        if cuts:
            depth = min(profile[c] for c in cuts) / float(profile[profile > 0].mean())
            found.append((depth, [low + c + (rows - middle) * shear for c in cuts]))
    straight = [cuts for _, cuts in sorted(found, key=lambda item: item[0])[:1]]
    return _cut_paths(region, element, gap) + straight


def _cut_paths(region: _Region, element: _Element, gap: int) -> list[list[np.ndarray]]:
    """For each of PATH_COSTS, the cheapest top-to-bottom paths through the element (see
    :func:`_cheapest_paths`): such a path runs through gaps and crosses a stroke where it is
    thinnest, the way touching digits are pulled apart. Of each setting's paths (one per
    column where it ends, cheapest first), those at least ``gap`` apart on average and
    leaving PIECE_INK of the ink on either side, at most CUTS, left to right; x per row.
    Settings that find none are left out."""
    y0, y1 = element.box[0] - region.top, element.box[1] - region.top
    strong = region.strong[y0:y1]
    height = strong.shape[0]
    totals, paths = _cheapest_paths(strong)
    before = np.concatenate([np.zeros((height, 1)), np.cumsum(strong, axis=1)], axis=1)
    ink = float(strong.sum())
    found = []
    for total, ends in zip(totals, paths, strict=True):
        left_ink = before[np.arange(height), ends].sum(axis=1)  # (width,) ink left of each
        chosen: list[np.ndarray] = []
        for end in np.argsort(total, kind="stable"):
            if min(left_ink[end], ink - left_ink[end]) < PIECE_INK * ink:
                continue
            if all(np.abs(ends[end] - other).mean() >= gap for other in chosen):
                chosen.append(ends[end])
                if len(chosen) == CUTS:
                    break
        if chosen:
            found.append([path.astype(float) + region.left
                          for path in sorted(chosen, key=np.mean)])
    return found


def _cheapest_paths(strong: np.ndarray, costs: Sequence[tuple[float, float]] = PATH_COSTS
                    ) -> tuple[np.ndarray, np.ndarray]:
    """strong (H, W) bool -> for each of the K ``costs`` settings and each column, the cost
    (K, W) and the columns (K, W, H) of the cheapest path from the top row to that column of
    the bottom row, each row one step left, right or straight down (a blank pixel costs 1,
    a clearly inked one the setting's ink cost, a diagonal step its diagonal cost more). All
    settings in one pass over the rows."""
    settings = np.array(costs)
    ink_cost, diagonal_cost = settings[:, :1, None], settings[:, 1:]
    cost = 1.0 + ink_cost * strong  # (K, H, W)
    count, height, width = cost.shape
    total = cost[:, 0]
    step = np.zeros((count, height, width), np.int8)  # -1, 0, +1: where the path came from
    blocked = np.full((count, 1), np.inf)
    for row in range(1, height):
        left = np.concatenate([blocked, total[:, :-1]], axis=1) + diagonal_cost
        right = np.concatenate([total[:, 1:], blocked], axis=1) + diagonal_cost
        options = np.stack([left, total, right])
        choice = options.argmin(axis=0)
        total = cost[:, row] + np.take_along_axis(options, choice[None], axis=0)[0]
        step[:, row] = choice - 1
    # every column's cheapest path at once: trace them all back together
    paths = np.empty((count, width, height), np.int64)
    paths[:, :, -1] = np.arange(width)
    settings_index = np.arange(count)[:, None]
    for row in range(height - 1, 0, -1):
        paths[:, :, row - 1] = paths[:, :, row] + step[settings_index, row, paths[:, :, row]]
    return total, paths


def _clean_cuts(region: _Region, element: _Element) -> list[np.ndarray]:
    """Cuts running down a wide element through none of its clearly inked pixels, each with
    parts at least CLEAN_PART of its height on both sides: x per row of its box (image
    columns), left to right, at most CUTS. Empty for most elements: those whose clearly
    inked pixels hold one such part only."""
    y0, y1 = element.box[0] - region.top, element.box[1] - region.top
    strong = region.strong[y0:y1]
    # Two parts each in CLEAN_PART of the rows share 2 * CLEAN_PART - 1 of them, where a row
    # holds two separate runs of ink: most elements fail this cheap test.
    starts = np.count_nonzero(np.diff(strong.astype(np.int8), axis=1, prepend=0) == 1, axis=1)
    if np.count_nonzero(starts >= 2) < (2 * CLEAN_PART - 1) * element.height - 1:
        return []
    parts = label(strong)
    if np.count_nonzero(parts.boxes[:, 1] - parts.boxes[:, 0] >= CLEAN_PART * element.height) < 2:
        return []
    height, width = strong.shape
    totals, paths = _cheapest_paths(strong, ((1e6, 0.4),))  # no ink crossed, if it can be
    rows, columns = np.arange(height), np.arange(width)
    chosen: list[np.ndarray] = []
    for end in np.argsort(totals[0], kind="stable"):
        path = paths[0, end]
        if strong[rows, path].any():
            break  # sorted by cost: every later path crosses ink too
        left = np.count_nonzero((strong & (columns < path[:, None])).any(axis=1))
        right = np.count_nonzero((strong & (columns > path[:, None])).any(axis=1))
        if min(left, right) >= CLEAN_PART * height and all(
                np.abs(path - other).mean() >= MIN_PIECE * height for other in chosen):
            chosen.append(path)
            if len(chosen) == CUTS:
                break
    return [path.astype(float) + region.left for path in sorted(chosen, key=np.mean)]


def _valleys(profile: np.ndarray, gap: int) -> list[int]:
    """Up to CUTS positions (sorted) where a column profile dips between higher ground on
    both sides: local minima at most CUT_DEPTH of the typical column, at least ``gap``
    apart and with at least PIECE_INK of the ink on either side of each."""
    total = profile.sum()
    before = np.cumsum(profile)
    typical = float(profile[profile > 0].mean())
    found = []
    for i in range(1, len(profile) - 1):
        if not (profile[i] <= profile[i - 1] and profile[i] <= profile[i + 1]):
            continue
        if profile[i] > CUT_DEPTH * typical:
            continue
        if min(before[i], total - before[i]) < PIECE_INK * total:
            continue
        rise = min(profile[:i].max(), profile[i + 1 :].max()) - profile[i]
        if rise >= 0.3 * typical:
            found.append((rise, i))
    chosen: list[int] = []
    for _, i in sorted(found, reverse=True):
        if len(chosen) == CUTS:
            break
        if all(abs(i - c) >= gap for c in chosen):
            chosen.append(i)
    return sorted(chosen)


def _plan(ink: Ink, line: list[_Element]) -> _Plan:
    """The first candidates of a line: each element whole and each pair of neighbouring
    elements close together (the slicings of elements come after their first reading, see
    :meth:`_Plan.add_slicings`)."""
    plan = _Plan([], [], {}, line, [])
    tallest = max(element.height for element in line)
    for index, element in enumerate(line):
        region = _Region.around(ink, [element], element.box, _margin(element.box))
        plan.regions.append(region)
        whole = _candidate(region, element.marks, (0, 1), None)
        if whole is not None and element.height < FRAGMENT * tallest:
            whole.cost = FRAGMENT_COST
        plan.ways.append([(plan.add(whole), 0)] if whole is not None else [([], 0)])
        if index and element.box[2] - line[index - 1].box[3] <= PAIR_GAP * max(
                element.height, line[index - 1].height):
            before = line[index - 1]
            box = [min(before.box[0], element.box[0]), max(before.box[1], element.box[1]),
                   before.box[2], max(before.box[3], element.box[3])]
            marks = before.marks + element.marks
            pair = _candidate(_Region.around(ink, [before, element], box, _margin(box)), marks,
                              (0, 1), None)
            if pair is not None:
                pair.elements = 2
                pair.cost = PAIR_COST * min(before.height, element.height) / max(
                    before.height, element.height)
                plan.pairs[(index - 1, index)] = plan.add(pair)[0]
    return plan


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
