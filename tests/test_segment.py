"""Segmentation (app/reading/segment.py) with a stand-in network, so each rule is tested on
its own: which marks belong together, the reading order, when an element is cut, and the
limit on digits. The real network reading real numbers is in tests/test_api_numbers.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from app.predictor import Prediction
from app.reading.errors import ImageError
from app.reading.ink import find_ink
from app.reading.normalize import Frame
from app.reading.segment import (
    EXTRA_PIECE_COST,
    MAX_DIGITS,
    SEVERAL_WEIGHT,
    Candidate,
    _cheapest_paths,
    _elements,
    _Plan,
    segment,
)


def page(draw, size=(600, 300)) -> np.ndarray:
    """Black strokes on white paper, drawn by ``draw(pen)``; gray (H, W) float32 in [0, 1]."""
    image = Image.new("L", size, 255)
    draw(ImageDraw.Draw(image))
    return np.asarray(image, np.float32) / 255.0


def ring(pen, x, y, width=60, height=90):
    pen.ellipse((x, y, x + width, y + height), outline=0, width=9)


def bar(pen, x, y, height=90):
    pen.line((x, y, x, y + height), fill=0, width=9)


class Network:
    """A stand-in for the network: every image is ``digit`` with ``confidence``, unless its
    ink is wider than ``wide`` times its height, which is read as several digits with
    probability ``several``. Records the batch sizes it was asked to read."""

    def __init__(self, digit=0, confidence=0.98, several=0.9, wide=1.15):
        self.digit, self.confidence, self.several, self.wide = digit, confidence, several, wide
        self.batches: list[int] = []

    def __call__(self, images: np.ndarray) -> list[Prediction]:
        self.batches.append(len(images))
        return [self.read(image) for image in images]

    def read(self, image: np.ndarray) -> Prediction:
        rows, cols = np.nonzero(image > 0.3)
        is_wide = np.ptp(cols) + 1 > self.wide * (np.ptp(rows) + 1)
        probabilities = np.full(10, 0.001)
        if is_wide:
            probabilities[self.digit] = 1.0 - self.several - 0.009
            return Prediction(probabilities, not_digit=self.several, several=self.several,
                              rejected=self.several > 0.5)
        probabilities[self.digit] = self.confidence
        return Prediction(probabilities / probabilities.sum() * 0.999, not_digit=0.001,
                          several=0.0005)


def read(gray: np.ndarray, network: Network):
    return segment(find_ink(gray), network)


def boxes(lines) -> list[list[tuple[int, int, int, int]]]:
    return [[candidate.box for candidate, _ in line] for line in lines]


def test_separate_digits_read_left_to_right_and_lines_top_to_bottom():
    def draw(pen):
        for x in (400, 60, 230):  # drawn out of order
            bar(pen, x, 20)
        for x in (300, 120):
            ring(pen, x, 170, height=100)

    lines = read(page(draw, (600, 300)), Network())
    found = boxes(lines)
    assert [len(line) for line in found] == [3, 2]
    assert [box[2] for box in found[0]] == sorted(box[2] for box in found[0])
    assert [box[2] for box in found[1]] == sorted(box[2] for box in found[1])
    assert all(box[1] < 150 for box in found[0]) and all(box[0] > 150 for box in found[1])


@pytest.mark.parametrize("strokes", ["five", "four", "seven-with-bar"])
def test_strokes_of_one_digit_that_do_not_touch_are_one_digit(strokes):
    def draw(pen):
        if strokes == "five":  # the flag floats above the body
            pen.line((100, 40, 160, 40), fill=0, width=8)
            pen.line((100, 58, 100, 110), fill=0, width=8)
            pen.arc((90, 95, 170, 175), -120, 150, fill=0, width=8)
        elif strokes == "four":  # the pen lifted: the stem's top stops short of the bar
            pen.line((100, 40, 85, 120, 165, 120), fill=0, width=8)
            pen.line((145, 120, 145, 180), fill=0, width=8)
            pen.line((145, 55, 145, 105), fill=0, width=8)
        else:  # a 7 with a bar across that misses the stem
            pen.line((90, 40, 170, 40, 120, 180), fill=0, width=8)
            pen.line((100, 115, 130, 115), fill=0, width=8)

    ink = find_ink(page(draw, (300, 220)))
    assert ink.marks.count >= 2  # really separate marks
    [[(candidate, _)]] = segment(ink, Network())
    assert len(candidate.marks) >= 2


def two_touching_rings(pen):
    ring(pen, 100, 60)
    ring(pen, 155, 60)  # overlaps the first ring's right side


def test_touching_digits_are_cut_when_the_network_sees_several():
    network = Network(several=0.95)
    [line] = read(page(two_touching_rings), network)
    assert len(line) == 2
    (left, _), (right, _) = line
    assert left.box[3] <= right.box[3] and left.box[2] < right.box[2]
    assert len(network.batches) == 2  # the wholes first, then the cuts


def test_an_element_read_clearly_whole_is_not_cut():
    """The same touching shape, but the network is sure it is one digit: no cut, and the
    cuts are never even framed (one batch)."""
    network = Network(several=0.0005, wide=100.0)  # nothing counts as wide
    [line] = read(page(two_touching_rings), network)
    assert len(line) == 1
    assert network.batches == [1]


def test_a_weak_whole_reading_is_cut_only_if_several_outweighs_it():
    """Cutting costs log p(several): with p(several) tiny the whole stays whole even when
    the network is unsure of it."""
    unsure = Network(confidence=0.3, several=0.0001, wide=100.0)
    [line] = read(page(two_touching_rings), unsure)
    assert len(line) == 1


def blurred(gray: np.ndarray, radius: float) -> np.ndarray:
    image = Image.fromarray(np.uint8(np.round(gray * 255))).filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(image, np.float32) / 255.0


def test_digits_joined_only_by_their_faint_edges_are_two_digits():
    """Two rings 8 px apart, blurred as a scan blurs: their faint edges join them into one
    mark, but a path runs down between them through no clearly inked pixel. They are read
    as two digits even by a network sure the whole is one (the whole is read as a pair,
    at PAIR_COST); without the blur, as two separate marks, the same."""
    def draw(pen):
        ring(pen, 100, 60)
        ring(pen, 168, 60)

    sure = Network(several=0.0005, wide=100.0)
    ink = find_ink(blurred(page(draw, (400, 220)), 2))
    assert ink.marks.count == 1
    [line] = segment(ink, sure)
    assert len(line) == 2
    assert line[0][0].box[3] <= 168 <= line[1][0].box[2]
    [apart] = read(page(draw, (400, 220)), sure)
    assert len(apart) == 2


def test_a_blurred_digit_with_gaps_inside_is_not_split():
    """A 0 whose ring is broken top and bottom, blurred: its faint edges join it into one
    mark, and its halves, tall with a clean path between them, are parts of their own; but
    the whole is read as their pair, and wins when the network reads it surely and the
    halves poorly."""
    def draw(pen):
        pen.arc((100, 40, 180, 180), 95, 265, fill=0, width=9)
        pen.arc((100, 40, 180, 180), -85, 85, fill=0, width=9)

    class HalvesPoorly(Network):
        def read(self, image):
            rows, cols = np.nonzero(image > 0.3)
            if np.ptp(cols) + 1 < 0.6 * (np.ptp(rows) + 1):  # a half: a narrow arc
                return Prediction(np.full(10, 0.1) * 0.999, not_digit=0.001, several=0.0005)
            return super().read(image)

    ink = find_ink(blurred(page(draw, (300, 220)), 2))
    assert ink.marks.count == 1
    assert [element.band is not None for element in _elements(ink)] == [True, True]
    [line] = segment(ink, HalvesPoorly(several=0.0005, wide=100.0))
    assert len(line) == 1 and line[0][0].elements == 2


@pytest.mark.parametrize("weight", [SEVERAL_WEIGHT, 1.0])
def test_the_networks_doubt_about_several_digits_weighs_less_than_its_log(weight, monkeypatch):
    """Touching rings the network reads as one digit at p 0.59 and as several at 0.4 (the
    whole scores about -0.86 with its width's cost): the cut's prior SEVERAL_WEIGHT * log 0.4
    = -0.64 lets the two rings (read at 0.98 each) win; at the network's own log 0.4 = -0.92
    they would stay whole."""
    monkeypatch.setattr("app.reading.segment.SEVERAL_WEIGHT", weight)
    [line] = read(page(two_touching_rings), Network(several=0.4))
    assert len(line) == (2 if weight == SEVERAL_WEIGHT else 1)
    assert SEVERAL_WEIGHT < 1.0


def test_too_many_marks_is_a_422():
    def draw(pen):
        for row in range(2):
            for column in range(MAX_DIGITS + 2):
                bar(pen, 20 + 40 * column, 20 + 130 * row)

    with pytest.raises(ImageError) as raised:
        read(page(draw, (40 * (MAX_DIGITS + 2) + 40, 280)), Network())
    assert raised.value.status == 422 and raised.value.code == "too_many_digits"


def test_twelve_digits_are_read():
    def draw(pen):
        for column in range(MAX_DIGITS):
            bar(pen, 20 + 40 * column, 20)

    [line] = read(page(draw, (40 * MAX_DIGITS + 40, 140)), Network(digit=1))
    assert len(line) == MAX_DIGITS


def test_a_third_piece_must_earn_its_cost():
    """An element whose three slices each read as a digit a little more surely than the
    best pair of pieces is still read as two digits: each piece beyond two costs
    EXTRA_PIECE_COST (a third piece is more often a digit cut in two)."""
    runs = [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]
    pieces = [Candidate((1,), (0, 10, 0, 10), np.zeros((28, 28)), Frame(1.0, 0.0, 0.0), run)
              for run in runs]
    whole = Candidate((1,), (0, 10, 0, 30), np.zeros((28, 28)), Frame(1.0, 0.0, 0.0), (0, 1))
    plan = _Plan([whole, *pieces], [[([0], 0), ([1, 2, 3, 4, 5], 3)]], {}, [], [])
    several = Prediction(np.full(10, 0.01), not_digit=0.9, several=0.9, rejected=True)
    scores = [-5.0, -0.01, -0.01, -0.01, -0.5, -0.3]  # three pieces: -0.03; two: -0.31
    readings = [several] + [Prediction(np.full(10, 0.1))] * len(runs)
    chosen = plan.read(scores, readings)
    assert [plan.candidates[i].atoms for i in chosen] == [(0, 1), (1, 3)]
    assert -0.03 + EXTRA_PIECE_COST < -0.31  # what it weighs


def test_cut_paths_wind_round_a_stroke_and_cut_straight_across_it():
    """A bar across the middle with open paper to its left: the winding setting of
    PATH_COSTS goes round the bar's end to reach the column below it, the straighter one
    cuts straight across (what separates digits whose strokes overlap)."""
    strong = np.zeros((40, 40), bool)
    strong[18:22, 10:] = True  # the bar: 4 rows thick, from column 10 rightwards
    totals, paths = _cheapest_paths(strong)
    assert totals.shape == (2, 40) and paths.shape == (2, 40, 40)
    winding, straight = paths[0, 26], paths[1, 26]  # the paths ending in column 26
    assert not strong[np.arange(40), winding].any()
    assert strong[np.arange(40), straight].sum() == 4
    assert np.ptp(straight) < np.ptp(winding)


def test_two_ones_touching_are_cut_though_narrow():
    """Two upright bars touching at the top are narrower than tall (0.6 of their height),
    yet cut when the network sees several digits: elements from WIDE (0.5) of their height
    are tried."""
    def draw(pen):
        bar(pen, 100, 40, height=100)
        bar(pen, 145, 40, height=100)
        pen.line((100, 44, 145, 44), fill=0, width=5)  # joined at the top

    network = Network(digit=1, several=0.95, wide=0.5)
    [line] = read(page(draw, (300, 200)), network)
    assert len(line) == 2
    (left, _), (right, _) = line
    assert left.box[3] <= right.box[2] + 5
