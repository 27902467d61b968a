"""The NumPy image operations of the reading pipeline against slow, obvious references."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from app.reading.components import label
from app.reading.lines import ruled_lines
from app.reading.morphology import dilate, erode, grow_mask, opening, running_extreme


def flood_fill_labels(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """8-connected labels in raster order of first pixel, by breadth-first search."""
    height, width = mask.shape
    labels = np.zeros(mask.shape, int)
    count = 0
    for y in range(height):
        for x in range(width):
            if not mask[y, x] or labels[y, x]:
                continue
            count += 1
            labels[y, x] = count
            queue = deque([(y, x)])
            while queue:
                cy, cx = queue.popleft()
                for ny in range(max(0, cy - 1), min(height, cy + 2)):
                    for nx in range(max(0, cx - 1), min(width, cx + 2)):
                        if mask[ny, nx] and not labels[ny, nx]:
                            labels[ny, nx] = count
                            queue.append((ny, nx))
    return labels, count


@pytest.mark.parametrize("seed", range(40))
def test_components_match_flood_fill(seed):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(1, 48, 2)
    mask = rng.random((height, width)) < rng.uniform(0.05, 0.75)
    components = label(mask)
    expected, count = flood_fill_labels(mask)
    assert components.count == count
    assert np.array_equal(components.labels, expected)
    for index in range(count):
        ys, xs = np.nonzero(expected == index + 1)
        assert tuple(components.boxes[index]) == (ys.min(), ys.max() + 1, xs.min(), xs.max() + 1)
        assert components.areas[index] == len(ys)


def test_components_join_diagonally_and_long_chains():
    staircase = np.eye(30, dtype=bool)  # touches only at corners: one component
    spiral = np.zeros((40, 40), bool)
    spiral[0, :], spiral[:, 39], spiral[39, 1:], spiral[2:, 1] = True, True, True, True
    spiral[2, 1:38], spiral[2:37, 37], spiral[36, 3:38] = True, True, True
    assert label(staircase).count == 1
    assert label(spiral).count == flood_fill_labels(spiral)[1] == 1
    assert label(np.zeros((5, 7), bool)).count == 0


def naive_extreme(values, size, axis, op):
    moved = np.moveaxis(values, axis, -1)
    n = moved.shape[-1]
    before = size // 2
    out = np.empty_like(moved)
    for i in range(n):
        window = moved[..., max(0, i - before) : min(n, i - before + size)]
        out[..., i] = op.reduce(window, axis=-1)
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 31])
@pytest.mark.parametrize("op", [np.minimum, np.maximum])
def test_running_extreme_matches_a_sliding_window(size, op):
    values = np.random.default_rng(size).random((9, 23)).astype(np.float32)
    for axis in (0, 1):
        assert np.array_equal(running_extreme(values, size, axis, op),
                              naive_extreme(values, size, axis, op))


def test_opening_removes_thin_bright_features_and_keeps_wide_ones():
    image = np.zeros((60, 60), np.float32)
    image[:, 40:] = 0.8  # a wide bright region (a desk)
    image[10:50, 10:13] = 1.0  # a thin stroke
    background = opening(image, 9)
    assert background[:, 10:13].max() == 0.0
    assert np.array_equal(background[:, 40:], image[:, 40:])
    assert np.array_equal(erode(dilate(image, 1), 1), image)


def test_grow_mask_is_a_chessboard_dilation():
    mask = np.zeros((9, 9), bool)
    mask[4, 4] = True
    grown = grow_mask(mask, 2)
    assert grown.sum() == 25 and grown[2:7, 2:7].all()


def test_ruled_lines_are_removed_but_writing_across_them_stays():
    page = np.zeros((100, 120), bool)
    for y in range(10, 100, 20):
        page[y : y + 2] = True  # ruled lines, full width
    page[20:80, 60:64] = True  # a stroke crossing three of them
    lines = ruled_lines(page)
    assert not (lines & ~page).any()
    assert lines[10:12, :50].all() and lines[90:92].all()
    assert not lines[20:80, 60:64].any()  # the crossings belong to the writing


def test_a_thick_bar_is_not_a_ruled_line():
    seven = np.zeros((80, 60), bool)
    seven[0:12, :] = True  # a tight crop's top bar, as wide as the image
    seven[12:, 40:50] = True
    assert not ruled_lines(seven).any()
