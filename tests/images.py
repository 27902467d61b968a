"""Test images for the API and preprocessing tests: digits drawn with Pillow, and MNIST."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from tests.availability import real_mnist

#: Stroke paths of a few digits on a unit square (x, y in [0, 1], y down).
STROKES: dict[str, list[list[tuple[float, float]]]] = {
    "1": [[(0.35, 0.2), (0.55, 0.0), (0.55, 1.0)]],
    "7": [[(0.0, 0.0), (1.0, 0.0), (0.35, 1.0)]],
    "4": [[(0.7, 1.0), (0.7, 0.0), (0.0, 0.7), (1.0, 0.7)]],
    "L": [[(0.0, 0.0), (0.0, 1.0), (0.6, 1.0)]],
}


def draw_digit(
    digit: str = "7",
    size: tuple[int, int] = (280, 280),
    box: tuple[float, float, float, float] = (0.25, 0.2, 0.75, 0.8),
    stroke: float = 0.06,
    ink: Any = 0,
    background: Any = 255,
    mode: str = "L",
) -> Image.Image:
    """A digit drawn with lines. box: (left, top, right, bottom) as fractions of the image;
    stroke: line width as a fraction of the box height; ink/background: colours in ``mode``.
    """
    width, height = size
    image = Image.new(mode, size, background)
    draw = ImageDraw.Draw(image)
    left, top = box[0] * width, box[1] * height
    box_w, box_h = (box[2] - box[0]) * width, (box[3] - box[1]) * height
    line = max(1, round(stroke * box_h))
    for path in STROKES[digit]:
        points = [(left + x * box_w, top + y * box_h) for x, y in path]
        draw.line(points, fill=ink, width=line, joint="curve")
        for x, y in points:
            draw.ellipse([x - line / 2, y - line / 2, x + line / 2, y + line / 2], fill=ink)
    if digit == "0":
        raise ValueError("use draw_ring for a zero")
    return image


def draw_ring(size: int = 200, ink: Any = 255, background: Any = 0, mode: str = "L"):
    """A zero: an ellipse outline in the middle of a square image."""
    image = Image.new(mode, (size, size), background)
    ImageDraw.Draw(image).ellipse(
        [0.3 * size, 0.2 * size, 0.7 * size, 0.8 * size], outline=ink, width=max(1, size // 14)
    )
    return image


def encode(image: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64," + base64.b64encode(data).decode("ascii")


def decode_data_url(url: str) -> Image.Image:
    header, _, payload = url.partition(",")
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    image.load()
    return image


def mnist_test_set() -> tuple[np.ndarray, np.ndarray]:
    """MNIST's test images (N, 28, 28) uint8 and labels (N,), or skip the test."""
    data = real_mnist()
    return data.test_images, data.test_labels
