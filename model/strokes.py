"""Pen strokes rendered as MNIST-style 28x28 images, in NumPy.

A drawing is a list of strokes; a stroke is a polyline (k, 2) of (x, y) points in a unit box
(y down). :func:`handwritten` makes a template look hand-drawn (a random slant, aspect and
rotation, a slow wobble along each stroke, jittered ends); :func:`render` frames it as
MNIST's digits are framed (longer side of the ink's box 20 px, centre of mass at the
centre) and draws it with an anti-aliased round pen: each pixel's ink is how far it lies
inside the pen's half-width from the nearest segment.
"""

from __future__ import annotations

import numpy as np

Stroke = np.ndarray  # (k, 2) float: x, y
Drawing = list[Stroke]

SIZE = 28
BOX = 20.0
CENTRE = 14.0
_PIXELS = np.stack(np.mgrid[0:SIZE, 0:SIZE][::-1], axis=-1).reshape(-1, 2) + 0.0  # (784, 2) x, y


def densified(stroke: Stroke, step: float) -> Stroke:
    """Points every ``step`` (unit-box units) along the polyline (k, 2) -> (m, 2)."""
    if len(stroke) < 2:
        return stroke
    lengths = np.hypot(*np.diff(stroke, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    samples = np.linspace(0.0, along[-1], max(2, int(np.ceil(along[-1] / step)) + 1))
    return np.stack([np.interp(samples, along, stroke[:, 0]),
                     np.interp(samples, along, stroke[:, 1])], axis=1)


def handwritten(drawing: Drawing, rng: np.random.Generator, wobble: float = 0.03) -> Drawing:
    """A randomly slanted, stretched, rotated and wobbly copy of a drawing in the unit box."""
    slant = rng.uniform(-0.35, 0.35)
    aspect = np.exp(rng.uniform(-0.35, 0.35))
    angle = np.deg2rad(rng.uniform(-15, 15))
    cos, sin = np.cos(angle), np.sin(angle)
    transform = np.array([[cos, -sin], [sin, cos]]) @ np.array([[aspect, -slant], [0.0, 1.0]])
    out = []
    for stroke in drawing:
        points = densified(np.asarray(stroke, float), 0.05)
        points = points + rng.normal(0.0, 0.015, 2)  # each stroke lands a little off
        if len(points) > 2:  # a slow wobble: a few random bumps, smoothed along the stroke
            knots = rng.normal(0.0, wobble, (4, 2))
            position = np.linspace(0.0, 3.0, len(points))
            points = points + np.stack([np.interp(position, np.arange(4), knots[:, i])
                                        for i in range(2)], axis=1)
        out.append((points - 0.5) @ transform.T)
    return out


def render(drawing: Drawing, pen: float) -> np.ndarray:
    """A drawing in any coordinates -> (28, 28) float32 in [0, 1], white on black, framed as
    MNIST: the ink's box scaled to 20 px on its longer side, centre of mass at (14, 14).
    ``pen`` is the pen's width in pixels of the 28x28 image."""
    points = np.concatenate(drawing)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = (BOX - pen) / max(float((high - low).max()), 1e-6)
    centre = (low + high) / 2
    ink = _draw([(stroke - centre) * scale + CENTRE for stroke in drawing], pen)
    mass = ink.sum()
    if mass <= 0:
        return ink
    rows, cols = np.indices(ink.shape)
    return shifted(ink, round(CENTRE - float((ink * rows).sum() / mass)),
                   round(CENTRE - float((ink * cols).sum() / mass)))


def shifted(image: np.ndarray, down: int, right: int) -> np.ndarray:
    """image (H, W) moved by whole pixels, zeros coming in (H, W)."""
    height, width = image.shape
    out = np.zeros_like(image)
    out[max(0, down) : height + min(0, down), max(0, right) : width + min(0, right)] = image[
        max(0, -down) : height - max(0, down), max(0, -right) : width - max(0, right)
    ]
    return out


def _draw(strokes: Drawing, pen: float) -> np.ndarray:
    """Strokes in pixel coordinates -> (28, 28): 1 within pen/2 of a segment, anti-aliased."""
    starts = np.concatenate([s[:-1] if len(s) > 1 else s for s in strokes])
    ends = np.concatenate([s[1:] if len(s) > 1 else s for s in strokes])
    direction = ends - starts  # (S, 2)
    length2 = np.maximum((direction**2).sum(axis=1), 1e-12)
    relative = _PIXELS[None, :, :] - starts[:, None, :]  # (S, 784, 2)
    t = np.clip(np.einsum("spk,sk->sp", relative, direction) / length2[:, None], 0.0, 1.0)
    nearest = relative - t[:, :, None] * direction[:, None, :]
    distance = np.sqrt((nearest**2).sum(axis=2).min(axis=0))  # (784,)
    return np.clip(pen / 2 + 0.5 - distance, 0.0, 1.0).reshape(SIZE, SIZE).astype(np.float32)
