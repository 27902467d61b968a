"""Numbers and marks that are not digits on the page (issue 9): a number drawn with the mouse
or a finger is read, each digit gets a box and a small reading on the pad, the person picks
which digit the bars, the preview and "look inside" are about, and "not a digit" is said as
such, with the best guess in small type.

Whether the served network ever answers "not a digit" depends on the parameter file, so those
tests answer /predict with a made-up reading (the page is under test, not the network).
"""

from __future__ import annotations

import json

import pytest

from tests.browser_env import (
    SETTLED,
    made_up_answer,
    made_up_mark,
    serve_reading,
    shown_digit,
    state,
    tiny_png_url,
    upload,
    wait_answer_to_image,
    wait_settled,
)
from tests.browser_helpers import (
    DIGIT_PATHS,
    GLYPHS,
    digit_png,
    draw_with_mouse,
    draw_with_touch,
    number_strokes,
)

pytestmark = pytest.mark.browser


def boxes_on_pad(page) -> list[dict]:
    """Each mark's box on the pad: its position as fractions of the pad, and its label."""
    return page.evaluate("""() => {
        const pad = document.getElementById('pad').getBoundingClientRect();
        return [...document.querySelectorAll('#pad-marks .mark-box')].map((box) => {
            const r = box.getBoundingClientRect();
            return {left: (r.left - pad.left) / pad.width, right: (r.right - pad.left) / pad.width,
                    top: (r.top - pad.top) / pad.height, bottom: (r.bottom - pad.top) / pad.height,
                    label: box.textContent, status: box.dataset.status};
        });
    }""")


def ink_columns(strokes) -> list[tuple[float, float]]:
    return [(min(x for x, _ in s), max(x for x, _ in s)) for s in strokes]


def test_number_drawn_with_mouse_is_read_with_a_box_per_digit(page) -> None:
    strokes = number_strokes("2026")
    draw_with_mouse(page, strokes)
    wait_settled(page)
    assert state(page) == "ok" and shown_digit(page) == "2026", page.inner_text("#results")
    boxes = boxes_on_pad(page)
    assert [b["label"].split()[0] for b in boxes] == list("2026")
    for box, (left, right) in zip(boxes, ink_columns(strokes), strict=True):
        # The box is around the digit's ink (plus the pen's width), not elsewhere.
        assert box["left"] - 0.04 <= left and right <= box["right"] + 0.04, (box, left, right)
        assert box["label"].endswith("%")
    choices = page.locator("#mark-list [role='radio']")
    assert choices.count() == 4
    assert choices.first.get_attribute("aria-checked") == "true"
    assert "2026" in page.inner_text("#announcer")
    assert "mark 1 of 4" in page.text_content("#probabilities-heading")


def test_number_drawn_with_a_finger_is_read(touch_page) -> None:
    page = touch_page
    draw_with_touch(page, number_strokes("2026"))
    wait_settled(page)
    assert shown_digit(page) == "2026"
    assert page.inner_text("#quick-digit") == "2026", "the phone layout repeats it under the pad"
    assert len(boxes_on_pad(page)) == 4


def test_picking_a_digit_shows_its_reading_and_looks_inside_it(page) -> None:
    explained = []
    page.on("request", lambda r: explained.append(r) if "explain=1" in r.url else None)
    draw_with_mouse(page, number_strokes("206"))
    wait_settled(page)
    page.wait_for_selector("#feature-maps[data-state='ready']")
    choices = page.locator("#mark-list [role='radio']")
    third = choices.nth(2)
    third.click()
    assert third.get_attribute("aria-checked") == "true"
    assert page.evaluate("document.activeElement.getAttribute('aria-checked')") == "true", \
        "the picked choice lost focus"
    assert choices.first.get_attribute("aria-checked") == "false"
    assert "mark 3 of 3" in page.text_content("#probabilities-heading")
    assert page.get_attribute("#probabilities .bar[data-top='true']", "data-digit") == "6"
    mark_image = third.locator("img").get_attribute("src")
    assert page.get_attribute("#input-preview", "src") == mark_image
    page.wait_for_selector("#feature-maps[data-state='ready'] .maps-subject:has-text('of 3')")
    assert 'mark 3 of 3' in page.inner_text('#feature-maps .maps-subject')
    # Look inside sent that digit's own 28x28 image.
    assert json.loads(explained[-1].post_data)["image"] == mark_image
    # The selected box is marked on the pad.
    assert page.locator("#pad-marks .mark-box[data-selected='true']").count() == 1
    # Arrow keys move the choice, as in any radio group; focus follows.
    third.focus()
    page.keyboard.press("ArrowLeft")
    assert choices.nth(1).get_attribute("aria-checked") == "true"
    assert page.evaluate("document.activeElement.getAttribute('aria-checked')") == "true"
    assert "mark 2 of 3" in page.text_content("#probabilities-heading")


def test_live_reading_of_a_number_while_drawing(page) -> None:
    """The digits already drawn are read while the next one is being drawn."""
    strokes = number_strokes("2026")
    draw_with_mouse(page, strokes[:3])
    wait_settled(page)
    assert shown_digit(page) == "202"
    box = page.locator("#canvas").bounding_box()
    last = strokes[3]
    page.mouse.move(box["x"] + last[0][0] * box["width"], box["y"] + last[0][1] * box["height"])
    page.mouse.down()
    for x, y in last[1:len(last) // 2]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.wait_for_timeout(30)
    page.wait_for_function(
        "() => document.getElementById('results').dataset.settled === 'false'"
        " && document.getElementById('digit').textContent.startsWith('202')"
        " && document.getElementById('digit').textContent.length === 4")
    for x, y in last[len(last) // 2:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
    page.mouse.up()
    wait_settled(page)
    assert shown_digit(page) == "2026"


def test_boxes_follow_an_uploaded_picture(page) -> None:
    """Boxes are in the uploaded image's pixels: scaled to where the picture is on the pad."""
    # A square picture: shown centred on the 3:2 pad, its full height, with margins beside.
    upload(page, "seven.png", digit_png(GLYPHS[7], size=280, aspect=1))
    wait_answer_to_image(page)
    assert shown_digit(page) == "7"
    (box,) = boxes_on_pad(page)
    xs = [x for stroke in GLYPHS[7] for x, _ in stroke]
    ys = [y for stroke in GLYPHS[7] for _, y in stroke]
    expected_left, expected_right = (0.5 + (x - 0.5) / 1.5 for x in (min(xs), max(xs)))
    pen = 0.05  # the pen's half width, and rounding
    assert abs(box["left"] - expected_left) < pen and abs(box["right"] - expected_right) < pen
    assert abs(box["top"] - min(ys)) < 2 * pen and abs(box["bottom"] - max(ys)) < 2 * pen, box


# --- not a digit (made-up answers) ------------------------------------------------------------


def test_not_a_digit_says_so_with_the_best_guess_in_small_type(page) -> None:
    image = tiny_png_url(page)
    serve_reading(page, made_up_answer([made_up_mark(None, [120, 60, 300, 220], image)]))
    draw_with_mouse(page, DIGIT_PATHS[0])
    wait_settled(page)
    assert state(page) == "not_a_digit"
    assert "That doesn't look like a digit" in page.inner_text("#confidence")
    guess = page.locator("#guess")
    assert guess.inner_text() == "Best guess: 4 (23.0%)"
    sizes = [float(page.locator(sel).evaluate("el => parseFloat(getComputedStyle(el).fontSize)"))
             for sel in ("#guess", "#confidence")]
    assert sizes[0] < sizes[1], "the guess is in small type"
    assert page.locator("#probabilities .bar[data-top='true']").count() == 0
    (box,) = boxes_on_pad(page)
    assert box["status"] == "not_a_digit" and box["label"] == "not a digit"
    assert "doesn't look like a digit" in page.inner_text("#announcer")
    assert "4" in page.inner_text("#announcer")


def test_a_mark_in_a_number_that_is_not_a_digit(page) -> None:
    image = tiny_png_url(page)
    serve_reading(page, made_up_answer([made_up_mark(1, [20, 60, 80, 220], image),
                                        made_up_mark(None, [150, 100, 250, 150], image, guess=7),
                                        made_up_mark(2, [300, 60, 400, 220], image)]))
    draw_with_mouse(page, number_strokes("102"))
    wait_settled(page)
    assert shown_digit(page) == "12"
    assert [b["status"] for b in boxes_on_pad(page)] == ["ok", "not_a_digit", "ok"]
    middle = page.locator("#mark-list [role='radio']").nth(1)
    assert middle.locator(".mark-digit").inner_text() == "?"
    assert "not a digit" in middle.get_attribute("aria-label")
    assert "best guess 7" in middle.get_attribute("aria-label")
    assert "1 of the marks is not a digit" in page.inner_text("#announcer")
    page.wait_for_selector(SETTLED)


def test_one_digit_beside_a_mark_that_is_not_a_digit(page) -> None:
    image = tiny_png_url(page)
    serve_reading(page, made_up_answer([made_up_mark(7, [20, 60, 120, 220], image),
                                        made_up_mark(None, [250, 120, 330, 140], image, guess=1)]))
    draw_with_mouse(page, number_strokes("71"))
    wait_settled(page)
    assert shown_digit(page) == "7" and state(page) == "ok"
    assert "82.0% sure" in page.inner_text("#confidence")
    assert "1 of the marks is not a digit" in page.inner_text("#status")
    assert page.locator("#mark-list [role='radio']").count() == 2
