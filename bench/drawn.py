"""Digits, numbers and non-digits as they are drawn on the page: pen strokes on a canvas.

Digits come from templates of the ways people write each digit (a 1 with or without a flag
and a base, a 4 open or closed or in two strokes, a 7 with a bar...), made hand-drawn by
:func:`model.strokes.handwritten` (slant, aspect, wobble); non-digits come from the training
generator's templates and procedures (:mod:`model.negatives`) drawn with seeds training never
uses, and from letters and symbols set in DejaVu fonts (no font is used in training). Each is
drawn on the canvas as the page does: black round-capped strokes on white, at a random size
and place, with a brush of the page's widths. Numbers are several digits written side by
side on the page's 3:2 pad. Evaluation only: nothing here trains.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from model.negatives import random_drawing
from model.strokes import Drawing, handwritten

CANVAS = 280
#: The page's pad as exported (static/js/drawing.js EXPORT_WIDTH x EXPORT_HEIGHT).
PAD = (420, 280)
FONTS = Path("/usr/share/fonts/truetype/dejavu")


def _arc(cx, cy, rx, ry, start, end, n=20):
    angles = np.deg2rad(np.linspace(start, end, n))
    return np.stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)], axis=1)


def _line(*points) -> np.ndarray:
    return np.array(points, float)


#: Ways of writing each digit, as strokes in a unit box (x right, y down).
DIGIT_STYLES: dict[int, list[list[np.ndarray]]] = {
    0: [[_arc(0.5, 0.5, 0.35, 0.5, -90, 275)], [_arc(0.5, 0.5, 0.22, 0.5, -100, 265)]],
    1: [[_line((0.5, 0), (0.5, 1))],
        [_line((0.25, 0.25), (0.55, 0), (0.55, 1))],
        [_line((0.25, 0.25), (0.55, 0), (0.55, 1)), _line((0.25, 1), (0.85, 1))]],
    2: [[np.concatenate([_arc(0.5, 0.3, 0.4, 0.3, 200, 380), _line((0.85, 0.4), (0.1, 1),
                                                                   (0.95, 1))])],
        [np.concatenate([_arc(0.5, 0.28, 0.38, 0.28, 190, 390), _line((0.8, 0.45), (0.15, 0.9)),
                         _arc(0.25, 0.88, 0.12, 0.1, 270, -270),
                         _line((0.25, 1), (0.95, 1))])]],
    3: [[np.concatenate([_arc(0.45, 0.25, 0.38, 0.25, 200, 450), _arc(0.45, 0.73, 0.42, 0.27,
                                                                      270, 520)])],
        [np.concatenate([_line((0.1, 0), (0.85, 0), (0.4, 0.4)),
                         _arc(0.45, 0.7, 0.42, 0.3, 270, 520)])]],
    4: [[_line((0.65, 1), (0.65, 0), (0.05, 0.68), (0.95, 0.68))],
        [_line((0.3, 0), (0.1, 0.6), (0.9, 0.6)), _line((0.7, 0.1), (0.7, 1))],
        [_line((0.7, 1), (0.7, 0), (0.1, 0.65), (0.95, 0.65))]],
    5: [[np.concatenate([_line((0.2, 0.05), (0.15, 0.45)), _arc(0.45, 0.68, 0.4, 0.32,
                                                                 220, 500)]),
         _line((0.2, 0.05), (0.85, 0.05))],
        [np.concatenate([_line((0.85, 0), (0.2, 0), (0.15, 0.45)),
                         _arc(0.45, 0.68, 0.4, 0.32, 220, 500)])]],
    6: [[np.concatenate([_arc(0.75, 0.55, 0.6, 0.55, 240, 180), _arc(0.5, 0.72, 0.35, 0.28,
                                                                      180, 540)])]],
    7: [[_line((0.05, 0), (0.95, 0), (0.35, 1))],
        [_line((0.05, 0), (0.95, 0), (0.35, 1)), _line((0.3, 0.5), (0.85, 0.5))]],
    8: [[np.concatenate([_arc(0.5, 0.25, 0.3, 0.25, 90, 450), _arc(0.5, 0.75, 0.38, 0.25,
                                                                   -90, -450)])],
        [_arc(0.5, 0.26, 0.3, 0.26, 0, 360), _arc(0.5, 0.74, 0.38, 0.26, 0, 360)]],
    9: [[np.concatenate([_arc(0.5, 0.3, 0.38, 0.3, 0, 360), _line((0.88, 0.3), (0.8, 1))])],
        [np.concatenate([_arc(0.45, 0.3, 0.38, 0.3, 10, 360), _arc(0.4, 0.55, 0.43, 0.45,
                                                                    0, 100)])]],
}


def canvas_png(drawing: Drawing, rng: np.random.Generator) -> bytes:
    """A drawing (any coordinates) on the page's canvas: scaled to a random 40-85% of its
    height at a random place, black strokes of a random page brush (14-34 px) on white."""
    points = np.concatenate(drawing)
    low, high = points.min(axis=0), points.max(axis=0)
    size = rng.uniform(0.4, 0.85) * CANVAS
    scale = size / max(float((high - low).max()), 1e-6)
    extent = (high - low) * scale
    origin = np.array([rng.uniform(20, CANVAS - 20 - extent[0]),
                       rng.uniform(20, CANVAS - 20 - extent[1])])
    brush = float(rng.uniform(14, 34))
    image = Image.new("L", (CANVAS, CANVAS), 255)
    pen = ImageDraw.Draw(image)
    for stroke in drawing:
        _stroke(pen, (stroke - low) * scale + origin, brush)
    return _png(image)


def _stroke(pen: ImageDraw.ImageDraw, points: np.ndarray, brush: float) -> None:
    """One stroke (k, 2) drawn as the page draws it: black, ``brush`` px wide, round caps."""
    xy = [tuple(p) for p in points]
    if len(xy) > 1:
        pen.line(xy, fill=0, width=max(1, round(brush)), joint="curve")
    for x, y in (xy[0], xy[-1]):
        pen.ellipse((x - brush / 2, y - brush / 2, x + brush / 2, y + brush / 2), fill=0)


def drawn_number(digits: list[int], rng: np.random.Generator, close: bool = False) -> bytes:
    """A number written on the page's pad (PAD): each digit a hand-drawn template, all at one
    height (35-60% of the pad's, each a little up or down), with a brush of 8-20% of that
    height (the page caps it at a fifth); neighbours 15-40% of the height apart or, when
    ``close``, so near that their strokes touch or nearly (-5% to 5%). A number too wide for
    the pad is drawn smaller."""
    width, height = PAD
    tall = rng.uniform(0.35, 0.6) * height
    brush = rng.uniform(0.08, 0.2) * tall
    shapes = []
    for digit in digits:
        styles = DIGIT_STYLES[digit]
        drawing = handwritten(styles[int(rng.integers(len(styles)))], rng)
        points = np.concatenate(drawing)
        low, high = points.min(axis=0), points.max(axis=0)
        shapes.append([(stroke - low) * (tall / max(float(high[1] - low[1]), 1e-6))
                       for stroke in drawing])
    widths = [float(np.concatenate(shape)[:, 0].max()) + brush for shape in shapes]
    gaps = rng.uniform(-0.05, 0.05, len(digits)) if close else rng.uniform(0.15, 0.4, len(digits))
    steps = [w + g * tall for w, g in zip(widths, gaps, strict=True)]
    scale = min(1.0, (width - 30) / (sum(steps[:-1]) + widths[-1]))
    x = (width - scale * (sum(steps[:-1]) + widths[-1])) / 2 + scale * brush / 2
    top = (height - scale * tall) / 2
    image = Image.new("L", PAD, 255)
    pen = ImageDraw.Draw(image)
    for shape, step in zip(shapes, steps, strict=True):
        origin = np.array([x, top + rng.uniform(-0.05, 0.05) * tall * scale])
        for stroke in shape:
            _stroke(pen, stroke * scale + origin, brush * scale)
        x += step * scale
    return _png(image)


def drawn_digit(digit: int, rng: np.random.Generator) -> bytes:
    styles = DIGIT_STYLES[digit]
    style = styles[int(rng.integers(len(styles)))]
    return canvas_png(handwritten(style, rng), rng)


def drawn_non_digit(rng: np.random.Generator) -> bytes:
    return canvas_png(random_drawing(rng), rng)


#: Glyphs that are written like a digit: a reader cannot tell them apart without context.
LOOKALIKES = frozenset("OoIlSsZzBbGgqDQ|!")
FONT_GLYPHS = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+=#*?%&@$!"
               if c not in LOOKALIKES]


def font_files() -> list[Path]:
    return sorted(p for p in FONTS.glob("DejaVu*.ttf") if "Math" not in p.name)


def font_glyph(glyph: str, font: Path, rng: np.random.Generator) -> bytes:
    """A glyph set in a font, black on white, at a random size and place on the canvas."""
    size = int(rng.integers(110, 220))
    face = ImageFont.truetype(str(font), size)
    image = Image.new("L", (CANVAS, CANVAS), 255)
    left, top, right, bottom = face.getbbox(glyph)
    x = rng.uniform(10, max(11, CANVAS - 10 - (right - left))) - left
    y = rng.uniform(10, max(11, CANVAS - 10 - (bottom - top))) - top
    ImageDraw.Draw(image).text((x, y), glyph, fill=0, font=face)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
