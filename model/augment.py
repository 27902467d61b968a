"""On-the-fly augmentation of MNIST-style digits, in NumPy.

Random affine warps (rotation, scale, shear, shift) by inverse mapping with bilinear
sampling, and stroke thickness changes by grey-level dilation or erosion, so the network
reads digits drawn on a canvas with any pen, not only MNIST's scans. Every image keeps the
MNIST framing the server's preprocessing produces: digit roughly centred in 28x28.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random transforms (uniform in [-x, x] unless said otherwise)."""

    max_rotation_deg: float = 12.0
    scale_range: tuple[float, float] = (0.85, 1.12)
    max_shear: float = 0.15
    max_shift_px: float = 2.5
    thicken_prob: float = 0.2
    thin_prob: float = 0.15


def random_affine_matrices(n: int, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """(n, 2, 3) matrices mapping OUTPUT (x, y) pixel coords to INPUT coords, about the centre."""
    angle = np.deg2rad(rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg, n))
    scale = rng.uniform(*cfg.scale_range, n)
    shear = rng.uniform(-cfg.max_shear, cfg.max_shear, n)
    shift = rng.uniform(-cfg.max_shift_px, cfg.max_shift_px, (n, 2))
    cos, sin = np.cos(angle), np.sin(angle)
    # forward map: rotate . shear . scale; we need its inverse for sampling.
    forward = np.empty((n, 2, 2))
    forward[:, 0, 0] = scale * cos
    forward[:, 0, 1] = scale * (cos * shear - sin)
    forward[:, 1, 0] = scale * sin
    forward[:, 1, 1] = scale * (sin * shear + cos)
    inverse = np.linalg.inv(forward)
    matrices = np.empty((n, 2, 3))
    matrices[:, :, :2] = inverse
    matrices[:, :, 2] = -np.einsum("nij,nj->ni", inverse, shift)
    return matrices


def warp_affine(images: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Bilinear inverse warp about the image centre, zero outside.

    images (N, H, W) float32, matrices (N, 2, 3) output->input (centred coords) -> (N, H, W).
    """
    n, h, w = images.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.stack([xs.ravel() - cx, ys.ravel() - cy, np.ones(h * w, np.float32)])  # (3, HW)
    src = np.einsum("nij,jp->nip", matrices.astype(np.float32), grid)  # (N, 2, HW)
    sx, sy = src[:, 0] + cx, src[:, 1] + cy
    x0, y0 = np.floor(sx).astype(np.int32), np.floor(sy).astype(np.int32)
    fx, fy = sx - x0, sy - y0
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))  # zero border absorbs out-of-range taps
    flat = padded.reshape(n, -1)
    row = w + 2
    base = np.arange(n)[:, None] * flat.shape[1]

    def tap(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        inside = (yy >= -1) & (yy <= h) & (xx >= -1) & (xx <= w)
        idx = (np.clip(yy, -1, h) + 1) * row + np.clip(xx, -1, w) + 1
        return np.where(inside, flat.ravel()[base + idx], 0.0)

    out = (
        tap(y0, x0) * (1 - fx) * (1 - fy)
        + tap(y0, x0 + 1) * fx * (1 - fy)
        + tap(y0 + 1, x0) * (1 - fx) * fy
        + tap(y0 + 1, x0 + 1) * fx * fy
    )
    return out.reshape(n, h, w).astype(np.float32)


def _neighbourhood(images: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """3x3 grey-level dilation (np.maximum) or erosion (np.minimum). (N, H, W) -> same."""
    fill = 0.0 if reduce is np.maximum else 1.0
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), constant_values=fill)
    h, w = images.shape[1:]
    out = images.copy()
    for dy in range(3):
        for dx in range(3):
            reduce(out, padded[:, dy : dy + h, dx : dx + w], out=out)
    return out


def change_thickness(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig):
    """Thicken or thin a random subset of strokes by a random fraction of one pixel.

    images (N, H, W) float32 in [0, 1] -> same shape.
    """
    n = len(images)
    draw = rng.random(n)
    amount = rng.uniform(0.3, 1.0, n).astype(np.float32)[:, None, None]
    out = images.copy()
    thick = draw < cfg.thicken_prob
    thin = (draw >= cfg.thicken_prob) & (draw < cfg.thicken_prob + cfg.thin_prob)
    if thick.any():
        grown = _neighbourhood(images[thick], np.maximum)
        out[thick] += amount[thick] * (grown - images[thick])
    if thin.any():
        shrunk = _neighbourhood(images[thin], np.minimum)
        out[thin] += amount[thin] * (shrunk - images[thin])
    return out


def augment_batch(
    images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig | None = None
) -> np.ndarray:
    """Randomly warp and re-stroke a batch. images (N, 28, 28) float32 in [0, 1] -> same."""
    cfg = cfg or AugmentConfig()
    warped = warp_affine(images, random_affine_matrices(len(images), rng, cfg))
    return np.clip(change_thickness(warped, rng, cfg), 0.0, 1.0)
