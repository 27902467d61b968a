"""The training augmentations: shapes, ranges, rates, reproducibility, and the small matrices
behind low resolution and blur."""

from __future__ import annotations

import numpy as np
import pytest

from model.augment import (
    AugmentConfig,
    area_matrix,
    augment_batch,
    blur,
    elastic_displacements,
    gaussian_matrix,
    low_resolution,
    upscale_matrix,
    warp,
)


@pytest.fixture
def digits():
    images = np.zeros((16, 28, 28), np.float32)
    images[:, 6:22, 12:16] = 1.0  # a one
    images[::2, 6:9, 8:20] = 1.0  # half of them get a bar: sevens
    return images


def test_augmented_batch_keeps_shape_range_and_is_reproducible(digits):
    a = augment_batch(digits, np.random.default_rng(3))
    b = augment_batch(digits, np.random.default_rng(3))
    assert a.shape == digits.shape and a.dtype == np.float32
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert np.array_equal(a, b)
    assert not np.array_equal(a, augment_batch(digits, np.random.default_rng(4)))


def test_identity_warp_changes_nothing(digits):
    identity = np.tile(np.array([[1.0, 0, 0], [0, 1.0, 0]]), (len(digits), 1, 1))
    assert np.allclose(warp(digits, identity), digits, atol=1e-6)
    shift = np.zeros((len(digits), 2, 28, 28), np.float32)
    shift[:, 0] = 1.0  # sample one pixel to the right: the image moves left
    assert np.allclose(warp(digits, identity, shift)[:, :, 11:15], digits[:, :, 12:16])


def test_elastic_fields_are_smooth_and_sized():
    cfg = AugmentConfig(elastic_px=(1.0, 1.0))
    field = elastic_displacements(4, (28, 28), np.random.default_rng(0), cfg)
    rms = np.sqrt((field**2).mean(axis=(1, 2, 3)))
    assert np.allclose(rms, 1.0, atol=1e-3)
    neighbour_step = np.abs(np.diff(field, axis=3)).mean()
    assert neighbour_step < 0.25 * np.abs(field).mean()  # smooth, not pixel noise


@pytest.mark.parametrize("small", [7, 8, 12, 16])
def test_low_resolution_matrices_keep_ink(small):
    down = area_matrix(small, 28)
    assert np.allclose(down.sum(axis=1), 1.0)
    for blocky in (True, False):
        up = upscale_matrix(28, small, blocky)
        assert np.allclose(up.sum(axis=1), 1.0)
    flat = np.full((28, 28), 0.5, np.float32)
    rows = upscale_matrix(28, small, False) @ down
    assert np.allclose(rows @ flat @ rows.T, 0.5, atol=1e-5)


def test_low_resolution_and_blur_soften_edges(digits):
    cfg = AugmentConfig(lowres_sides=(8, 8), blocky_prob=0.0)
    rng = np.random.default_rng(0)
    for soft in (low_resolution(digits, rng, cfg), blur(digits, rng, cfg)):
        assert soft.shape == digits.shape
        assert abs(soft.sum() - digits.sum()) < 0.05 * digits.sum()  # ink is kept
        between = (soft > 0.05) & (soft < 0.95)
        assert between.sum() > 3 * ((digits > 0.05) & (digits < 0.95)).sum()


def test_gaussian_matrices_are_row_normalised():
    matrices = gaussian_matrix(28, np.array([0.5, 1.0, 3.0]))
    assert matrices.shape == (3, 28, 28) and np.allclose(matrices.sum(axis=2), 1.0)


def test_rates_are_respected(digits):
    cfg = AugmentConfig(elastic_prob=0.0, thicken_prob=0.0, thin_prob=0.0, lowres_prob=0.0,
                        blur_prob=0.0, max_rotation_deg=0.0, wide_rotation_prob=0.0,
                        scale_range=(1.0, 1.0), max_shear=0.0, max_shift_px=0.0)
    assert np.allclose(augment_batch(digits, np.random.default_rng(0), cfg), digits, atol=1e-6)
