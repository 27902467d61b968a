"""Marks that are not digits, drawn as pen strokes: the training examples of "not a digit".

Letters and symbols come from this project's own stroke templates (drawn by hand in a unit
box, y down), shapes and doodles from small procedures (stars, spirals, zigzags, scribbles,
hatching, smileys...). Each example is a random hand-drawn variation (:func:`model.strokes.
handwritten`) rendered with a random pen, framed as MNIST digits are. Letters that are
drawn the same way as a digit (O, I, l, S, Z, B, b, G, g, q...) are left out: a network
cannot tell them apart and should not be taught to refuse the digit. No font is used.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.strokes import Drawing, handwritten, render


def _arc(cx, cy, rx, ry, start, end, n=16):
    """Points on an ellipse, angles in degrees (0 = right, 90 = down)."""
    angles = np.deg2rad(np.linspace(start, end, n))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles), strict=True))


#: Letters and symbols: strokes of (x, y) points in the unit box.
TEMPLATES: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.62), (0.78, 0.62)]],
    "C": [_arc(0.55, 0.5, 0.45, 0.5, 300, 60, 18)],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.75, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.48), (0.7, 0.48)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(0.9, 0), (0, 0.58)], [(0.3, 0.4), (1, 1)]],
    "L": [[(0, 0), (0, 1), (0.75, 1)]],
    "M": [[(0, 1), (0.08, 0), (0.5, 0.75), (0.92, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "P": [[(0, 1), (0, 0), (0.7, 0), (0.95, 0.2), (0.92, 0.38), (0.7, 0.5), (0, 0.5)]],
    "R": [[(0, 1), (0, 0), (0.7, 0), (0.95, 0.2), (0.92, 0.38), (0.7, 0.5), (0, 0.5)],
          [(0.45, 0.5), (1, 1)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0, 0), (0, 0.65), (0.15, 0.92), (0.5, 1), (0.85, 0.92), (1, 0.65), (1, 0)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "d": [_arc(0.4, 0.7, 0.4, 0.3, -20, 340, 18), [(0.85, 0), (0.85, 1)]],
    "e": [[(0.1, 0.55), (0.9, 0.55), (0.85, 0.3), (0.55, 0.12), (0.2, 0.25), (0.08, 0.6),
           (0.3, 0.92), (0.62, 1), (0.92, 0.85)]],
    "f": [[(0.85, 0.1), (0.6, 0), (0.4, 0.15), (0.4, 1)], [(0.1, 0.4), (0.75, 0.4)]],
    "h": [[(0, 0), (0, 1)], [(0, 0.6), (0.3, 0.42), (0.7, 0.42), (0.9, 0.6), (0.9, 1)]],
    "k": [[(0, 0), (0, 1)], [(0.75, 0.35), (0, 0.72)], [(0.3, 0.6), (0.8, 1)]],
    "m": [[(0, 1), (0, 0.3), (0.1, 0.25), (0.25, 0.3), (0.5, 0.45), (0.5, 1)],
          [(0.5, 0.45), (0.7, 0.28), (0.9, 0.32), (1, 0.5), (1, 1)]],
    "n": [[(0, 1), (0, 0.3)], [(0, 0.45), (0.3, 0.28), (0.7, 0.3), (0.9, 0.5), (0.9, 1)]],
    "r": [[(0, 1), (0, 0.3)], [(0, 0.55), (0.3, 0.35), (0.65, 0.3), (0.9, 0.4)]],
    "t": [[(0.4, 0), (0.4, 0.85), (0.6, 1), (0.85, 0.9)], [(0.05, 0.32), (0.85, 0.32)]],
    "u": [[(0, 0.3), (0, 0.8), (0.2, 1), (0.6, 1), (0.9, 0.8)], [(0.9, 0.3), (0.9, 1)]],
    "w": [[(0, 0.3), (0.2, 1), (0.5, 0.5), (0.8, 1), (1, 0.3)]],
    "x": [[(0, 0.3), (1, 1)], [(1, 0.3), (0, 1)]],
    "+": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "-": [[(0, 0.5), (1, 0.5)]],
    "=": [[(0, 0.3), (1, 0.3)], [(0, 0.7), (1, 0.7)]],
    "#": [[(0.35, 0), (0.25, 1)], [(0.75, 0), (0.65, 1)], [(0, 0.33), (1, 0.33)],
          [(0, 0.67), (1, 0.67)]],
    "*": [[(0.5, 0), (0.5, 1)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "?": [[*_arc(0.5, 0.28, 0.35, 0.28, 200, 450, 12), (0.5, 0.56), (0.5, 0.75)],
          [(0.5, 0.95), (0.52, 1.0)]],
    "%": [[(0.95, 0), (0.05, 1)], _arc(0.22, 0.2, 0.18, 0.18, 0, 360, 12),
          _arc(0.78, 0.8, 0.18, 0.18, 0, 360, 12)],
    "&": [[(1, 1), (0.3, 0.35), (0.3, 0.1), (0.5, 0), (0.68, 0.12), (0.6, 0.35), (0.1, 0.65),
           (0.12, 0.92), (0.45, 1), (0.8, 0.75), (0.95, 0.55)]],
    "@": [[*_arc(0.55, 0.55, 0.2, 0.2, 0, 360, 12), (0.8, 0.75), (0.95, 0.7),
           *_arc(0.5, 0.5, 0.5, 0.5, 0, -300, 16)]],
    "heart": [[(0.5, 1), (0.05, 0.45), (0.05, 0.2), (0.25, 0), (0.45, 0.1), (0.5, 0.25),
               (0.55, 0.1), (0.75, 0), (0.95, 0.2), (0.95, 0.45), (0.5, 1)]],
    "triangle": [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]],
    "square": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)]],
    "diamond": [[(0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5), (0.5, 0)]],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.65, 0.2), (1, 0.5), (0.65, 0.8)]],
    "up-arrow": [[(0.5, 1), (0.5, 0)], [(0.2, 0.35), (0.5, 0), (0.8, 0.35)]],
    "check": [[(0, 0.55), (0.35, 1), (1, 0)]],
    "smiley": [_arc(0.5, 0.5, 0.5, 0.5, 0, 360, 24), [(0.33, 0.35), (0.34, 0.38)],
               [(0.67, 0.35), (0.68, 0.38)], _arc(0.5, 0.55, 0.25, 0.2, 20, 160, 10)],
    "sad": [_arc(0.5, 0.5, 0.5, 0.5, 0, 360, 24), [(0.33, 0.35), (0.34, 0.38)],
            [(0.67, 0.35), (0.68, 0.38)], _arc(0.5, 0.85, 0.25, 0.18, 200, 340, 10)],
    "house": [[(0, 1), (0, 0.45), (0.5, 0), (1, 0.45), (1, 1), (0, 1)],
              [(0.4, 1), (0.4, 0.7), (0.6, 0.7), (0.6, 1)]],
    "sun": [_arc(0.5, 0.5, 0.22, 0.22, 0, 360, 14)]
    + [[(0.5 + 0.3 * np.cos(a), 0.5 + 0.3 * np.sin(a)),
        (0.5 + 0.5 * np.cos(a), 0.5 + 0.5 * np.sin(a))] for a in np.linspace(0, 2 * np.pi, 9)[:-1]],
    "cloud": [_arc(0.25, 0.6, 0.22, 0.22, 90, 270, 8) + _arc(0.45, 0.35, 0.22, 0.25, 180, 340, 8)
              + _arc(0.75, 0.45, 0.22, 0.22, 250, 450, 8) + [(0.25, 0.82)]],
    "infinity": [_arc(0.27, 0.5, 0.25, 0.22, 0, 360, 14)
                 + _arc(0.73, 0.5, 0.25, 0.22, 180, 540, 14)],
}


def star(rng: np.random.Generator) -> Drawing:
    points = int(rng.integers(5, 8))
    angles = np.linspace(0, 2 * np.pi, points + 1)[:-1] - np.pi / 2
    order = (np.arange(points + 1) * 2) % points if points % 2 else np.arange(points + 1) % points
    outer = np.stack([np.cos(angles), np.sin(angles)], axis=1) * 0.5 + 0.5
    if points % 2:
        return [outer[order]]
    inner = np.stack([np.cos(angles + np.pi / points), np.sin(angles + np.pi / points)], 1)
    zigzag = np.empty((2 * points + 1, 2))
    zigzag[0:-1:2], zigzag[1::2] = outer, inner * 0.22 + 0.5
    zigzag[-1] = outer[0]
    return [zigzag]


def spiral(rng: np.random.Generator) -> Drawing:
    turns = rng.uniform(2.0, 4.0)
    t = np.linspace(0, turns * 2 * np.pi, int(40 * turns))
    radius = 0.5 * t / t[-1]
    return [np.stack([0.5 + radius * np.cos(t), 0.5 + radius * np.sin(t)], axis=1)]


def zigzag(rng: np.random.Generator) -> Drawing:
    teeth = int(rng.integers(3, 8))
    xs = np.linspace(0, 1, 2 * teeth + 1)
    ys = np.where(np.arange(len(xs)) % 2 == 0, 0.3, 0.7) + rng.normal(0, 0.04, len(xs))
    return [np.stack([xs, ys], axis=1)]


def wave(rng: np.random.Generator) -> Drawing:
    xs = np.linspace(0, 1, 60)
    return [np.stack([xs, 0.5 + 0.25 * np.sin(xs * rng.uniform(2.5, 6) * np.pi)], axis=1)]


def loops(rng: np.random.Generator) -> Drawing:
    """Cursive loops, like "llll" or "eeee" written fast."""
    count = int(rng.integers(3, 6))
    t = np.linspace(0, count * 2 * np.pi, 40 * count)
    return [np.stack([t / t[-1] + 0.12 * np.cos(t), 0.5 + 0.4 * np.sin(t)], axis=1)]


def scribble(rng: np.random.Generator) -> Drawing:
    """A smoothed random walk: what a toddler, or a tired user, draws."""
    steps = rng.normal(0, 1, (int(rng.integers(25, 45)), 2))
    path = np.cumsum(steps, axis=0)
    smooth = np.stack([np.convolve(path[:, i], np.ones(3) / 3, mode="valid") for i in (0, 1)], 1)
    return [smooth]


def hatching(rng: np.random.Generator) -> Drawing:
    """Parallel strokes (shading), sometimes crossed by a second set."""
    count = int(rng.integers(4, 9))
    angle = rng.uniform(0, np.pi)
    strokes = []
    for angle_of_set in (angle, angle + np.pi / 2)[: 1 + int(rng.random() < 0.4)]:
        direction = np.array([np.cos(angle_of_set), np.sin(angle_of_set)])
        normal = np.array([-direction[1], direction[0]])
        for offset in np.linspace(-0.45, 0.45, count):
            centre = 0.5 + offset * normal
            strokes.append(np.stack([centre - 0.45 * direction, centre + 0.45 * direction]))
    return strokes


def blob(rng: np.random.Generator) -> Drawing:
    """A filled-in patch: concentric rings close enough to merge under the pen."""
    rings = []
    for radius in np.linspace(0.5, 0.05, 7):
        t = np.linspace(0, 2 * np.pi, 24)
        rings.append(np.stack([0.5 + radius * np.cos(t), 0.5 + 0.8 * radius * np.sin(t)], 1))
    return rings


PROCEDURES: tuple[Callable[[np.random.Generator], Drawing], ...] = (
    star, spiral, zigzag, wave, loops, scribble, hatching, blob,
)


def random_drawing(rng: np.random.Generator) -> Drawing:
    """One non-digit: a template (letter, symbol, shape) 60% of the time, else a procedure."""
    if rng.random() < 0.6:
        name = list(TEMPLATES)[int(rng.integers(len(TEMPLATES)))]
        drawing = [np.asarray(stroke, float) for stroke in TEMPLATES[name]]
    else:
        drawing = PROCEDURES[int(rng.integers(len(PROCEDURES)))](rng)
    return handwritten(drawing, rng)


def negative_images(count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` not-a-digit images (count, 28, 28) float32 in [0, 1], white on black."""
    images = np.empty((count, 28, 28), np.float32)
    for i in range(count):
        images[i] = render(random_drawing(rng), pen=float(rng.uniform(1.4, 3.2)))
    return images
