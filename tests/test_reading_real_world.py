"""Images as people send them, through the whole reading pipeline and, where it matters,
the network: cases a review found the old preprocessing got wrong."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from app.factory import create_app
from app.reading.decode import decode_image
from app.reading.prepare import prepare
from tests.browser_helpers import DIGIT_PATHS, line
from tests.images import draw_digit, encode


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


def read(client, image: Image.Image, fmt: str = "PNG", **options) -> dict:
    content_type = "image/jpeg" if fmt == "JPEG" else "image/png"
    response = client.post("/predict", data=encode(image, fmt, **options),
                           content_type=content_type)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def reading(client, image: Image.Image, fmt: str = "PNG", **options) -> int | None:
    body = read(client, image, fmt, **options)
    return body["digit"] if body["status"] == "ok" else None


def canvas(strokes, width: int = 24, size: int = 280) -> Image.Image:
    """Black strokes on a white canvas, as the page exports them (round caps and joins)."""
    image = Image.new("L", (size, size), 255)
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        points = [(x * size, y * size) for x, y in stroke]
        pen.line(points, fill=0, width=width, joint="curve")
        for px, py in points:
            pen.ellipse((px - width / 2, py - width / 2, px + width / 2, py + width / 2), fill=0)
    return image


def photo(paper_ink: np.ndarray, lighting: np.ndarray, depth: float, seed: int = 0):
    """A phone photo of paper_ink (H, W) in [0, 1], 1 = paper: shading, noise, blur."""
    rng = np.random.default_rng(seed)
    values = lighting - (1 - paper_ink) * depth + rng.normal(0, 0.02, paper_ink.shape)
    return Image.fromarray(np.uint8(np.clip(values, 0, 1) * 255)).filter(ImageFilter.BLUR)


# --- strokes that reach the edge of the drawing pad ------------------------------------------
def test_a_one_drawn_from_the_top_edge_to_the_bottom_edge(client):
    assert reading(client, canvas([line((0.52, -0.05), (0.47, 1.05), 12)])) == 1


def test_a_seven_whose_tail_runs_off_the_bottom(client):
    seven = [line((0.25, 0.2), (0.75, 0.2), 8) + line((0.75, 0.2), (0.45, 1.05), 12)[1:]]
    assert reading(client, canvas(seven)) == 7


def test_a_stray_dot_at_the_edge_beside_a_clean_digit(client):
    clean = canvas(DIGIT_PATHS[3])
    dotted = canvas(DIGIT_PATHS[3] + [[(0.99, 0.5)]])
    assert reading(client, dotted) == reading(client, clean) == 3


# --- framing, polarity and transparency -------------------------------------------------------
def test_tight_crop_with_ink_on_every_edge(client):
    seven = draw_digit("7", size=(90, 120), box=(0.0, 0.0, 1.0, 1.0), stroke=0.12)
    assert reading(client, seven) == 7


def test_dark_ink_on_grey_paper(client):
    image = draw_digit("7", ink=26, background=102)  # 0.1 on 0.4: both below one half
    assert reading(client, image) == 7


def test_white_card_with_a_digit_inside_a_transparent_margin(client):
    card = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    card.paste(draw_digit("7", size=(200, 200)).convert("RGBA"), (50, 50))
    assert reading(client, card) == 7


def test_long_thin_strip_holding_one_digit(client):
    strip = Image.new("L", (4000, 120), 255)
    strip.paste(draw_digit("1", size=(80, 100), box=(0.2, 0.05, 0.8, 0.95)), (1900, 10))
    body = read(client, strip)
    assert body["status"] == "ok" and body["digit"] == 1


# --- photos ----------------------------------------------------------------------------------
def test_photo_written_with_a_two_pixel_pen(client):
    ink = np.asarray(draw_digit("4", size=(640, 480), box=(0.35, 0.25, 0.65, 0.75),
                                stroke=2 / 240), np.float32) / 255
    lighting = np.linspace(0.7, 0.92, 640)[None, :] * np.ones((480, 1))
    assert reading(client, photo(ink, lighting, 0.5).convert("RGB"), "JPEG", quality=85) == 4


def test_photo_with_a_dark_desk_along_two_edges_and_specks(client):
    height, width = 480, 640
    ink = np.asarray(draw_digit("7", size=(width, height), box=(0.4, 0.25, 0.65, 0.7),
                                stroke=0.07), np.float32) / 255
    rng = np.random.default_rng(3)
    for y, x in rng.integers([20, 120], [400, 620], (30, 2)):  # dust: 2x2 specks
        ink[y : y + 2, x : x + 2] = 0.0
    ys, xs = np.mgrid[0:height, 0:width]
    lighting = 0.7 + 0.2 * xs / width
    desk = (xs < 70 + 0.03 * ys) | (ys > 430)
    image = np.asarray(photo(ink, lighting, 0.55), np.float32)
    image[desk] = 40 + 25 * np.sin(xs[desk] / 6.0)
    assert reading(client, Image.fromarray(np.uint8(image)).convert("RGB"), "JPEG",
                   quality=80) == 7


def test_photo_of_a_desk_and_blank_paper_has_no_digit(client):
    height, width = 480, 640
    ys, xs = np.mgrid[0:height, 0:width]
    values = 0.75 + 0.15 * ys / height + np.random.default_rng(4).normal(0, 0.02, ys.shape)
    values[(xs > 560 - 0.05 * ys) | (ys < 50)] = 0.2
    image = Image.fromarray(np.uint8(np.clip(values, 0, 1) * 255)).filter(ImageFilter.BLUR)
    body = read(client, image.convert("RGB"), "JPEG", quality=80)
    assert body["status"] == "no_digit" and body["digit"] is None


def test_digit_on_graph_paper(client):
    paper = Image.new("L", (300, 300), 250)
    pen = ImageDraw.Draw(paper)
    for position in range(5, 300, 15):
        pen.line([(position, 0), (position, 299)], fill=170)
        pen.line([(0, position), (299, position)], fill=170)
    digit = draw_digit("4", size=(300, 300), box=(0.3, 0.2, 0.7, 0.8))
    paper = Image.fromarray(np.minimum(np.asarray(paper), np.asarray(digit)))
    assert reading(client, paper) == 4


def test_speck_and_line_filters_change_what_the_network_sees():
    """Without the filters the 28x28 would hold the ruled lines; with them it matches the
    same digit on blank paper (the opening of the old preprocessing is gone: specks are
    judged by size against the writing instead)."""
    plain = draw_digit("7", size=(240, 240), box=(0.3, 0.2, 0.7, 0.8))
    ruled = np.asarray(plain).copy()
    ruled[8::24] = np.minimum(ruled[8::24], 150)
    expected = prepare(decode_image(encode(plain))).digits[0].image
    seen = prepare(decode_image(encode(Image.fromarray(ruled)))).digits[0].image
    assert float(np.abs(seen - expected).mean()) < 0.01
