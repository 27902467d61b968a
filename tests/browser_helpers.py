"""Helpers for the browser tests: handwritten-looking digit paths, drawing them, test images.

Paths are lists of strokes; a stroke is a list of (x, y) points in the drawing pad's own
coordinates, 0..1 of its width and height from its top-left corner. Glyphs (one digit each)
are drawn in a unit square and placed on the 3:2 pad with :func:`place`, so they keep their
proportions. They are shaped like a person's handwriting (slightly slanted, uneven), not
like a font.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from contextlib import contextmanager

from PIL import Image, ImageDraw

Point = tuple[float, float]
Stroke = list[Point]

#: Chromium flags for a headless run on a small, offline machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def arc(
    cx: float, cy: float, rx: float, ry: float, start: float, end: float, n: int = 24
) -> Stroke:
    """Points along an ellipse, angles in degrees on screen (0 = right, 90 = down)."""
    points = []
    for i in range(n + 1):
        a = math.radians(start + (end - start) * i / n)
        points.append((cx + rx * math.cos(a), cy + ry * math.sin(a)))
    return points


def line(a: Point, b: Point, n: int = 8) -> Stroke:
    """n + 1 evenly spaced points from a to b."""
    return [(a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n) for i in range(n + 1)]


def slant(stroke: Stroke, amount: float, pivot_y: float = 0.5) -> Stroke:
    """Lean a stroke to the right like most handwriting (x shifts as y goes up)."""
    return [(x + (pivot_y - y) * amount, y) for x, y in stroke]


#: The drawing pad's width over its height.
PAD_ASPECT = 1.5


def place(glyph: list[Stroke], cx: float = 0.5, size: float = 1.0) -> list[Stroke]:
    """A glyph drawn in a unit square, centred at ``cx`` (fraction of the pad's width), its
    square ``size`` times the pad's height."""
    return [[(cx + (x - 0.5) * size / PAD_ASPECT, 0.5 + (y - 0.5) * size) for x, y in stroke]
            for stroke in glyph]


#: One glyph per digit (in a unit square), drawn the way people usually draw it.
GLYPHS: dict[int, list[Stroke]] = {
    # An oval started at the top and closed with a small overlap.
    0: [slant(arc(0.5, 0.5, 0.18, 0.29, -95, 275, 40), 0.12)],
    # A single, slightly leaning down-stroke.
    1: [slant(line((0.5, 0.2), (0.5, 0.8), 12), 0.15)],
    # Top bar, then the long diagonal, in one stroke.
    7: [line((0.28, 0.24), (0.72, 0.23), 8) + line((0.72, 0.23), (0.46, 0.8), 12)[1:]],
    # Two bowls open to the left, in one stroke.
    3: [
        slant(
            arc(0.47, 0.35, 0.16, 0.14, 200, 450, 22)
            + arc(0.47, 0.64, 0.18, 0.15, 270, 510, 24)[1:],
            0.08,
        )
    ],
}

GLYPHS[2] = [slant(arc(0.5, 0.36, 0.19, 0.15, 190, 370, 18)
                   + line((0.69, 0.37), (0.3, 0.8), 10)[1:]
                   + line((0.3, 0.8), (0.74, 0.79), 8)[1:], 0.06)]
GLYPHS[6] = [slant(arc(0.64, 0.62, 0.28, 0.42, 270, 180, 12)
                   + arc(0.5, 0.64, 0.15, 0.16, 180, -180, 28)[1:], 0.06)]

#: Each digit on its own, centred on the pad.
DIGIT_PATHS: dict[int, list[Stroke]] = {digit: place(glyph) for digit, glyph in GLYPHS.items()}

#: The seven again, as two strokes (bar, then diagonal): for undo tests.
SEVEN_TWO_STROKES: list[Stroke] = place([
    line((0.28, 0.24), (0.72, 0.23), 8),
    line((0.72, 0.23), (0.46, 0.8), 12),
])


def number_strokes(number: str, size: float = 0.7) -> list[Stroke]:
    """The digits of ``number`` written side by side across the pad, each in its own strokes
    (separate, not touching), as a person writes a number."""
    step = 1 / len(number)
    strokes: list[Stroke] = []
    for i, char in enumerate(number):
        strokes += place(GLYPHS[int(char)], cx=step * (i + 0.5), size=size)
    return strokes


def draw_with_mouse(page, strokes: Iterable[Stroke], selector: str = "#canvas") -> None:
    """Draw strokes on the element with the mouse, moving through every point."""
    box = page.locator(selector).bounding_box()
    assert box, f"{selector} is not visible"
    for stroke in strokes:
        x, y = to_page(box, stroke[0])
        page.mouse.move(x, y)
        page.mouse.down()
        for point in stroke[1:]:
            x, y = to_page(box, point)
            page.mouse.move(x, y, steps=3)
        page.mouse.up()


@contextmanager
def _devtools_on(page, selector: str):
    """A DevTools session on ``page`` and the bounding box of ``selector``, detached after."""
    cdp = page.context.new_cdp_session(page)
    try:
        box = page.locator(selector).bounding_box()
        assert box, f"{selector} is not visible"
        yield cdp, box
    finally:
        cdp.detach()


def draw_with_touch(page, strokes: Iterable[Stroke], selector: str = "#canvas") -> None:
    """Draw strokes with a finger: real touch input through the DevTools protocol.

    Chromium turns these into touch events and pointer events of pointerType "touch",
    exactly as for a finger on a phone screen (the context needs has_touch=True).
    """
    with _devtools_on(page, selector) as (cdp, box):
        for stroke in strokes:
            x, y = to_page(box, stroke[0])
            touch(cdp, "touchStart", x, y)
            for point in stroke[1:]:
                x, y = to_page(box, point)
                touch(cdp, "touchMove", x, y)
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def draw_with_pen(page, strokes: Iterable[Stroke], selector: str = "#canvas") -> None:
    """Draw strokes with a stylus: mouse input that Chromium reports as pointerType "pen"."""
    with _devtools_on(page, selector) as (cdp, box):
        for stroke in strokes:
            x, y = to_page(box, stroke[0])
            pen(cdp, "mouseMoved", x, y, buttons=0)
            pen(cdp, "mousePressed", x, y)
            for point in stroke[1:]:
                x, y = to_page(box, point)
                pen(cdp, "mouseMoved", x, y)
            pen(cdp, "mouseReleased", x, y, buttons=0)


def pen(cdp, kind: str, x: float, y: float, buttons: int = 1) -> None:
    event = {
        "type": kind, "x": x, "y": y, "pointerType": "pen", "force": 0.6,
        "button": "left" if kind != "mouseMoved" else "none", "buttons": buttons,
        "clickCount": 1 if kind in ("mousePressed", "mouseReleased") else 0,
    }
    cdp.send("Input.dispatchMouseEvent", event)


def touch(cdp, kind: str, x: float, y: float, *more: tuple[float, float]) -> None:
    """One touch event; `more` are the positions of further fingers (ids 2, 3...)."""
    points = [{"x": x, "y": y, "radiusX": 4, "radiusY": 4, "force": 0.5, "id": 1}]
    for i, (mx, my) in enumerate(more, start=2):
        points.append({"x": mx, "y": my, "radiusX": 4, "radiusY": 4, "force": 0.5, "id": i})
    cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})


def to_page(box: dict, point: Point) -> tuple[float, float]:
    return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]


def ink_pixels(page, selector: str = "#canvas") -> int:
    """How many of the canvas's pixels hold ink (opaque, dark), after the next frame."""
    return page.evaluate(
        """async (selector) => {
            await new Promise((resolve) => requestAnimationFrame(() => resolve()));
            const c = document.querySelector(selector);
            const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < data.length; i += 4) {
                if (data[i + 3] > 128 && data[i] < 100) n += 1;
            }
            return n;
        }""",
        selector,
    )


def digit_png(
    strokes: Sequence[Stroke],
    size: int = 280,
    width: int = 22,
    ink: int = 0,
    paper: int = 255,
    aspect: float = PAD_ASPECT,
) -> bytes:
    """A PNG of strokes drawn with Pillow on an image ``size`` px tall and ``aspect`` times
    as wide (pad strokes on a 3:2 image by default), like a scanned or exported drawing."""
    image = Image.new("L", (round(size * aspect), size), paper)
    pen = ImageDraw.Draw(image)
    r = width / 2
    for stroke in strokes:
        points = [(x * size * aspect, y * size) for x, y in stroke]
        pen.line(points, fill=ink, width=width, joint="curve")
        for px, py in (points[0], points[-1]):
            pen.ellipse((px - r, py - r, px + r, py + r), fill=ink)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def blank_png(size: int = 200, paper: int = 255) -> bytes:
    out = io.BytesIO()
    Image.new("L", (size, size), paper).save(out, format="PNG")
    return out.getvalue()
