"""Not losing work, and the keyboard: undo and redo over strokes, Clear and pictures
(Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y), Esc that clears only from the drawing, focus that never falls
to the page, a dot that is not sent, and the hint for drawings too small to read well."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.browser_env import (
    focused_id,
    has_picture,
    shown_digit,
    state,
    stroke_count,
    upload,
    wait_answer_to_image,
    wait_settled,
)
from tests.browser_helpers import (
    DIGIT_PATHS,
    GLYPHS,
    SEVEN_TWO_STROKES,
    digit_png,
    draw_with_mouse,
    ink_pixels,
    place,
)

pytestmark = pytest.mark.browser


def reads(page, digit: str) -> None:
    wait_settled(page)
    page.wait_for_function(
        f"() => document.getElementById('digit').textContent.trim() === '{digit}'"
        " && document.getElementById('results').dataset.settled === 'true'")


def test_undo_redo_and_shortcuts(page) -> None:
    draw_with_mouse(page, SEVEN_TWO_STROKES)
    assert stroke_count(page) == 2
    full = ink_pixels(page)
    wait_settled(page)
    page.click("#undo")
    assert stroke_count(page) == 1
    assert 0 < ink_pixels(page) < full
    page.keyboard.press("Control+z")
    assert stroke_count(page) == 0 and ink_pixels(page) == 0
    assert state(page) == "empty"
    assert page.is_disabled("#undo") and page.is_enabled("#redo")
    page.keyboard.press("Control+Shift+Z")
    assert stroke_count(page) == 1
    page.keyboard.press("Control+y")
    assert stroke_count(page) == 2 and ink_pixels(page) == full
    assert page.is_disabled("#redo")
    reads(page, "7")
    page.click("#undo")
    page.click("#redo")
    reads(page, "7")


def test_clear_can_be_undone(page) -> None:
    draw_with_mouse(page, SEVEN_TWO_STROKES)
    reads(page, "7")
    full = ink_pixels(page)
    page.click("#clear")
    assert ink_pixels(page) == 0 and state(page) == "empty" and shown_digit(page) == "?"
    assert "Undo brings the drawing back" in page.inner_text("#announcer")
    page.click("#undo")
    assert stroke_count(page) == 2 and ink_pixels(page) == full
    reads(page, "7")
    page.keyboard.press("Escape")  # focus is on the drawing card's buttons
    assert ink_pixels(page) == 0
    page.keyboard.press("Control+z")
    assert ink_pixels(page) == full


def test_answer_for_a_cleared_drawing_is_dropped(page) -> None:
    draw_with_mouse(page, DIGIT_PATHS[1])
    page.click("#clear")
    assert ink_pixels(page) == 0 and state(page) == "empty"
    page.wait_for_timeout(400)  # an answer still in flight for the cleared drawing is dropped
    assert state(page) == "empty" and shown_digit(page) == "?"


def test_a_stray_stroke_on_a_picture_can_be_undone(page) -> None:
    upload(page, "seven.png", digit_png(DIGIT_PATHS[7]))
    wait_answer_to_image(page)
    assert shown_digit(page) == "7" and has_picture(page)
    box = page.locator("#canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1)  # a tap
    assert not has_picture(page) and stroke_count(page) == 1
    page.keyboard.press("Control+z")
    assert has_picture(page) and stroke_count(page) == 0
    assert ink_pixels(page) > 1000
    reads(page, "7")


def test_a_replaced_upload_can_be_undone(page) -> None:
    upload(page, "seven.png", digit_png(DIGIT_PATHS[7]))
    wait_answer_to_image(page)
    upload(page, "zero.png", digit_png(DIGIT_PATHS[0]))
    reads(page, "0")
    page.click("#undo")
    assert has_picture(page)
    reads(page, "7")


def test_escape_clears_only_from_the_drawing(page) -> None:
    draw_with_mouse(page, DIGIT_PATHS[1])
    wait_settled(page)
    page.focus("#model-select")
    page.keyboard.press("Escape")
    assert stroke_count(page) == 1, "Esc in another control cleared the drawing"
    page.focus("#upload-button")
    page.keyboard.press("Escape")
    assert stroke_count(page) == 0


def test_focus_never_falls_to_the_page(page) -> None:
    draw_with_mouse(page, DIGIT_PATHS[1])
    wait_settled(page)
    page.focus("#clear")
    page.keyboard.press("Enter")  # Clear: it is now disabled, so focus moves on
    assert stroke_count(page) == 0 and page.is_disabled("#clear")
    assert focused_id(page) == "undo"
    page.keyboard.press("Enter")  # Undo the Clear
    assert stroke_count(page) == 1 and focused_id(page) == "undo"
    page.keyboard.press("Enter")  # Undo the stroke: nothing is left to undo
    assert stroke_count(page) == 0 and page.is_disabled("#undo")
    assert focused_id(page) == "redo"
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # Redo twice: the stroke, then the Clear
    assert stroke_count(page) == 0 and page.is_disabled("#redo")
    assert focused_id(page) not in ("BODY", "redo")


def test_a_dot_is_not_read(page) -> None:
    readings = []
    page.on("request", lambda r: readings.append(r.url) if "/predict" in r.url else None)
    box = page.locator("#canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#results[data-state='dot']")
    assert "only a dot" in page.inner_text("#status")
    assert "only a dot" in page.inner_text("#announcer")
    page.wait_for_timeout(300)
    assert readings == [], "a dot was sent to be read"
    draw_with_mouse(page, DIGIT_PATHS[1])  # the dot and a 1: read as usual
    wait_settled(page)
    assert state(page) == "ok" and readings


def sent_fill(requests) -> float:
    """How much of its ink's bounding box the last drawing sent is ink (stroke width over
    size: the same for a digit drawn big or small when the pen scales with it)."""
    url = json.loads(requests[-1].post_data)["image"]
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",")[1]))).convert("L")
    ink = np.asarray(image) < 128
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    box = (rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1)
    return float(ink.sum() / box)


def test_a_small_drawing_gets_a_hint_and_is_not_sent_as_a_blob(page) -> None:
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/predict?model=default")
            else None)
    draw_with_mouse(page, place(GLYPHS[7], size=0.8))
    wait_settled(page)
    assert not page.is_visible("#size-hint")
    big = sent_fill(sent)
    page.click("#clear")
    draw_with_mouse(page, place(GLYPHS[7], size=0.22))
    wait_settled(page)
    assert page.is_visible("#size-hint")
    assert "draw your digits about as tall" in page.inner_text("#size-hint")
    # Its strokes are sent thinner (in proportion to its size), not as a blob of ink; on the
    # pad it stays as drawn.
    small = sent_fill(sent)
    assert small < 1.4 * big, (small, big)
