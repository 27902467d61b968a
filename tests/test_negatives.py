"""Drawn non-digits (class 10) and the training data that mixes them in."""

from __future__ import annotations

import numpy as np
import pytest

from model.negatives import TEMPLATES, negative_images
from model.strokes import render
from model.training_data import (
    NOT_A_DIGIT,
    SEVERAL_DIGITS,
    load_extra,
    squeezed_digits,
    training_splits,
)


def test_negatives_are_framed_like_mnist_digits():
    images = negative_images(40, np.random.default_rng(0))
    assert images.shape == (40, 28, 28) and images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    for image in images:
        rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
        extent = max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1
        assert 17 <= extent <= 23
        mass = image.sum()
        cy = (image.sum(1) @ np.arange(28)) / mass
        cx = (image.sum(0) @ np.arange(28)) / mass
        assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0


def test_letters_that_are_written_like_digits_are_not_negatives():
    for lookalike in ("O", "o", "I", "l", "S", "s", "Z", "z", "B", "b", "G", "g", "q", "0", "1"):
        assert lookalike not in TEMPLATES


def test_a_straight_stroke_renders_as_a_line_of_the_pen_width():
    image = render([np.array([[0.0, 0.0], [0.0, 1.0]])], pen=2.0)
    column = image[14]
    assert 1.5 <= column.sum() <= 2.5  # about two pixels of ink across the line


def test_training_splits_add_the_classes_the_network_has(mnist_dir):
    options = dict(val_size=50, seed=0, limit=300, data_dir=str(mnist_dir), negatives=0.1,
                   several=0.05, extra=[], extra_repeat=1)
    train, val = training_splits(classes=12, **options)
    assert set(train.parts) == set(val.parts) == {"mnist", "negatives", "several"}
    assert (train.labels[train.parts["negatives"]] == NOT_A_DIGIT).all()
    assert (train.labels[train.parts["several"]] == SEVERAL_DIGITS).all()
    assert len(train.parts["negatives"]) == round(0.1 * len(train.parts["mnist"]))
    eleven, _ = training_splits(classes=11, **options)  # several digits: not one digit
    assert eleven.labels.max() == NOT_A_DIGIT
    ten, _ = training_splits(classes=10, **options)
    assert set(ten.parts) == {"mnist"} and ten.labels.max() < NOT_A_DIGIT


def test_squeezed_digits_are_framed_like_one_wide_digit(mnist):
    images = squeezed_digits(mnist.train_images[:200], 30, np.random.default_rng(1))
    assert images.shape == (30, 28, 28) and images.max() <= 1.0
    widths = [np.ptp(np.flatnonzero(image.max(axis=0) > 0.3)) + 1 for image in images]
    heights = [np.ptp(np.flatnonzero(image.max(axis=1) > 0.3)) + 1 for image in images]
    assert np.median(widths) >= 18 and np.median(heights) < np.median(widths)


def test_extra_data_is_held_out_in_part_and_repeated(tmp_path, mnist_dir):
    path = tmp_path / "corrections.npz"
    np.savez(path, images=np.zeros((20, 28, 28), np.uint8), labels=np.full(20, 7))
    train, val = training_splits(classes=10, val_size=50, seed=0, limit=300,
                                 data_dir=str(mnist_dir), negatives=0.0, several=0.0,
                                 extra=[str(path)], extra_repeat=3)
    assert len(val.parts["extra"]) == 2 and len(train.parts["extra"]) == 3 * 18


@pytest.mark.parametrize(("images", "labels", "message"), [
    (np.zeros((3, 28, 27)), np.zeros(3), "expected images"),
    (np.zeros((3, 28, 28)), np.zeros(2), "expected images"),
    (np.zeros((2, 28, 28)), np.array([3, 12]), "labels must be"),
])
def test_bad_extra_data_is_refused(tmp_path, images, labels, message):
    path = tmp_path / "bad.npz"
    np.savez(path, images=images, labels=labels)
    with pytest.raises(ValueError, match=message):
        load_extra([str(path)])
