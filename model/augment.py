"""On-the-fly augmentation of MNIST-style digits, in NumPy.

What users send differs from MNIST's scans in known ways, and each gets a transform, at a
rate that keeps most of every batch close to MNIST:

- the hand: random affine warps (rotation, mostly small but sometimes up to 30 degrees,
  scale, shear, shift) and elastic distortion (a smooth random displacement field), both in
  one inverse-mapped bilinear warp;
- the pen: stroke thickening (one or two 3x3 grey dilations, in part) or thinning;
- the scan: low resolution (area-downsampled to 7-16 px and back, blocky or smooth) and
  blur (Gaussian), both as small matrix products;
- the neighbours: a sliver of another digit of the batch touching the left or right edge of
  the ink, as when touching digits are cut apart a little off the join (the label stays
  the digit's own).

Every image keeps the MNIST framing the server's preprocessing produces: digit roughly
centred in 28x28, its box about 20 px.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges (uniform in [-x, x] unless said otherwise) and rates of the random transforms."""

    max_rotation_deg: float = 12.0
    wide_rotation_prob: float = 0.2
    max_wide_rotation_deg: float = 30.0
    scale_range: tuple[float, float] = (0.85, 1.12)
    max_shear: float = 0.2
    max_shift_px: float = 2.5
    elastic_prob: float = 0.4
    elastic_px: tuple[float, float] = (0.4, 1.3)  # RMS displacement
    elastic_smoothness_px: float = 3.0  # Gaussian sigma of the displacement field
    thicken_prob: float = 0.25
    thin_prob: float = 0.12
    lowres_prob: float = 0.15
    lowres_sides: tuple[int, int] = (7, 16)
    blocky_prob: float = 0.35  # of low-resolution images: upscaled by nearest neighbour
    blur_prob: float = 0.12
    blur_sigma_px: tuple[float, float] = (0.5, 1.1)
    sliver_prob: float = 0.04
    sliver_share: tuple[float, float] = (0.12, 0.3)  # of the neighbour's ink width


def random_affine_matrices(n: int, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """(n, 2, 3) matrices mapping OUTPUT (x, y) pixel coords to INPUT coords, about the centre."""
    wide = rng.random(n) < cfg.wide_rotation_prob
    limit = np.where(wide, cfg.max_wide_rotation_deg, cfg.max_rotation_deg)
    angle = np.deg2rad(rng.uniform(-1.0, 1.0, n) * limit)
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


def gaussian_matrix(size: int, sigma: np.ndarray) -> np.ndarray:
    """(n, size, size) row-normalised Gaussian smoothing matrices, one per sigma (n,): for
    an image X (size, size), G @ X @ G.T is X blurred (edges lose no ink)."""
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    weights = np.exp(-(offsets[None] ** 2) / (2.0 * sigma[:, None, None] ** 2))
    return (weights / weights.sum(axis=2, keepdims=True)).astype(np.float32)


def elastic_displacements(n: int, shape: tuple[int, int], rng: np.random.Generator,
                          cfg: AugmentConfig) -> np.ndarray:
    """(n, 2, H, W) smooth random displacement fields (x, y) with a random RMS size in px."""
    height, width = shape
    noise = rng.uniform(-1.0, 1.0, (n, 2, height, width)).astype(np.float32)
    smooth_h = gaussian_matrix(height, np.full(1, cfg.elastic_smoothness_px))[0]
    smooth_w = gaussian_matrix(width, np.full(1, cfg.elastic_smoothness_px))[0]
    field = smooth_h @ noise @ smooth_w.T
    rms = np.sqrt((field**2).mean(axis=(1, 2, 3), keepdims=True)) + 1e-6
    size = rng.uniform(*cfg.elastic_px, (n, 1, 1, 1)).astype(np.float32)
    return field * (size / rms)


def warp(images: np.ndarray, matrices: np.ndarray,
         displacement: np.ndarray | None = None) -> np.ndarray:
    """Bilinear inverse warp about the image centre, zero outside.

    images (N, H, W) float32, matrices (N, 2, 3) output->input (centred coords), optional
    displacement (N, 2, H, W) added to the input coords (x, y) -> (N, H, W).
    """
    n, h, w = images.shape
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    grid = np.stack([xs.ravel() - cx, ys.ravel() - cy, np.ones(h * w, np.float32)])  # (3, HW)
    src = np.einsum("nij,jp->nip", matrices.astype(np.float32), grid)  # (N, 2, HW)
    if displacement is not None:
        src += displacement.reshape(n, 2, h * w)
    sx, sy = src[:, 0] + cx, src[:, 1] + cy
    x0, y0 = np.floor(sx).astype(np.int32), np.floor(sy).astype(np.int32)
    fx, fy = sx - x0, sy - y0
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))  # zero border absorbs out-of-range taps
    flat = padded.ravel()
    row = w + 2
    base = np.arange(n)[:, None] * (h + 2) * row
    # A tap outside the image is clipped onto the zero border: it reads 0.
    columns = [np.clip(x0 + step, -1, w) + 1 for step in (0, 1)]
    rows = [base + (np.clip(y0 + step, -1, h) + 1) * row for step in (0, 1)]

    def tap(dy: int, dx: int) -> np.ndarray:
        return flat[rows[dy] + columns[dx]]

    out = (
        tap(0, 0) * (1 - fx) * (1 - fy)
        + tap(0, 1) * fx * (1 - fy)
        + tap(1, 0) * (1 - fx) * fy
        + tap(1, 1) * fx * fy
    )
    return out.reshape(n, h, w).astype(np.float32)


def neighbourhood(images: np.ndarray, reduce: np.ufunc) -> np.ndarray:
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
    """Thicken a random subset of strokes by 0.3 to 2 pixels, or thin another by up to one.

    images (N, H, W) float32 in [0, 1] -> same shape.
    """
    n = len(images)
    draw = rng.random(n)
    amount = rng.uniform(0.3, 2.0, n).astype(np.float32)[:, None, None]
    out = images.copy()
    thick = draw < cfg.thicken_prob
    thin = (draw >= cfg.thicken_prob) & (draw < cfg.thicken_prob + cfg.thin_prob)
    if thick.any():
        once = neighbourhood(images[thick], np.maximum)
        twice = neighbourhood(once, np.maximum)
        grow = amount[thick]
        out[thick] = np.where(grow <= 1, images[thick] + grow * (once - images[thick]),
                              once + (grow - 1) * (twice - once))
    if thin.any():
        shrunk = neighbourhood(images[thin], np.minimum)
        out[thin] += np.minimum(amount[thin], 1.0) * (shrunk - images[thin])
    return out


@functools.cache
def area_matrix(small: int, size: int) -> np.ndarray:
    """(small, size): row i averages input cells [i, i + 1) * size / small (area weights)."""
    edges = np.arange(small + 1) * size / small
    cells = np.arange(size)
    overlap = np.clip(np.minimum(edges[1:, None], cells + 1) - np.maximum(edges[:-1, None], cells),
                      0.0, None)
    return (overlap / overlap.sum(axis=1, keepdims=True)).astype(np.float32)


@functools.cache
def upscale_matrix(size: int, small: int, blocky: bool) -> np.ndarray:
    """(size, small): nearest-neighbour or bilinear upsampling of ``small`` cells to ``size``."""
    centres = (np.arange(size) + 0.5) * small / size - 0.5
    matrix = np.zeros((size, small), np.float32)
    if blocky:
        matrix[np.arange(size), np.clip(np.rint(centres), 0, small - 1).astype(int)] = 1.0
        return matrix
    low = np.clip(np.floor(centres), 0, small - 1).astype(int)
    high = np.clip(low + 1, 0, small - 1)
    weight = np.clip(centres - low, 0.0, 1.0).astype(np.float32)
    np.add.at(matrix, (np.arange(size), low), 1.0 - weight)
    np.add.at(matrix, (np.arange(size), high), weight)
    return matrix


def low_resolution(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig):
    """Each image (N, H, W) seen through an old scanner: down to a random side, back up."""
    n, h, w = images.shape
    out = np.empty_like(images)
    sides = rng.integers(cfg.lowres_sides[0], cfg.lowres_sides[1] + 1, n)
    blocky = rng.random(n) < cfg.blocky_prob
    for i in range(n):
        side = int(sides[i])
        rows = upscale_matrix(h, side, bool(blocky[i])) @ area_matrix(side, h)
        cols = upscale_matrix(w, side, bool(blocky[i])) @ area_matrix(side, w)
        out[i] = rows @ images[i] @ cols.T
    return out


def blur(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Gaussian blur of each image (N, H, W) with its own random sigma."""
    n, h, w = images.shape
    sigma = rng.uniform(*cfg.blur_sigma_px, n)
    rows, cols = gaussian_matrix(h, sigma), gaussian_matrix(w, sigma)
    return rows @ images @ cols.transpose(0, 2, 1)


def neighbour_slivers(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig):
    """Give a random subset a sliver (a few columns from one side) of another image of the
    batch, touching or slightly overlapping its ink on the opposite side. (N, H, W) -> same."""
    n, width = len(images), images.shape[2]
    out = images.copy()
    for i in np.flatnonzero(rng.random(n) < cfg.sliver_prob):
        donor = images[(i + 1 + int(rng.integers(max(1, n - 1)))) % n]
        donor_cols = np.flatnonzero(donor.max(axis=0) > 0.2)
        own_cols = np.flatnonzero(out[i].max(axis=0) > 0.2)
        if donor_cols.size < 6 or own_cols.size == 0:
            continue
        k = max(2, int(rng.uniform(*cfg.sliver_share) * donor_cols.size))
        overlap = int(rng.integers(0, 3))
        if rng.random() < 0.5:  # the neighbour's left edge, at the right of the digit
            piece = donor[:, donor_cols[0] : donor_cols[0] + k]
            start = own_cols[-1] + 1 - overlap
        else:  # the neighbour's right edge, at the left of the digit
            piece = donor[:, donor_cols[-1] + 1 - k : donor_cols[-1] + 1]
            start = own_cols[0] - k + overlap
        piece = np.roll(piece, int(rng.integers(-2, 3)), axis=0)
        lo, hi = max(0, start), min(width, start + piece.shape[1])
        if hi > lo:
            np.maximum(out[i, :, lo:hi], piece[:, lo - start : hi - start], out=out[i, :, lo:hi])
    return out


def augment_batch(
    images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig | None = None
) -> np.ndarray:
    """Randomly warp, re-stroke and degrade a batch. images (N, 28, 28) float32 in [0, 1]."""
    cfg = cfg or AugmentConfig()
    n = len(images)
    elastic = rng.random(n) < cfg.elastic_prob
    displacement = np.zeros((n, 2, *images.shape[1:]), np.float32)
    if elastic.any():
        displacement[elastic] = elastic_displacements(int(elastic.sum()), images.shape[1:], rng,
                                                      cfg)
    out = warp(images, random_affine_matrices(n, rng, cfg), displacement)
    out = neighbour_slivers(out, rng, cfg)
    out = change_thickness(out, rng, cfg)
    for transform, rate in ((low_resolution, cfg.lowres_prob), (blur, cfg.blur_prob)):
        chosen = rng.random(n) < rate
        if chosen.any():
            out[chosen] = transform(out[chosen], rng, cfg)
    return np.clip(out, 0.0, 1.0)
