"""Why this reading, and corrections, on the page (issue 10).

- The picked mark's saliency map is laid over its 28x28 preview and, through the mark's
  `frame`, over the drawing on the pad; a choice switches between integrated gradients and
  occlusion or turns the map off; the map lets the pen through and goes while drawing.
- "Not right? It's a…" sends a correction that reaches the app's own database (a SQLite file
  of this module's, tests/browser_env.py): by mouse and by keyboard, once for a double click
  or a retry, with plain words when the store cannot be written, is full, the rate is
  exceeded or the server cannot be reached.

Screenshots go to test-artifacts/why-*.png (docs/page-why.png is a copy of why-desktop.png
that was looked at).
"""

from __future__ import annotations

import base64
import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.browser_env import (
    ARTIFACTS,
    DESKTOP,
    PHONE_OPTIONS,
    made_up_answer,
    made_up_mark,
    open_page,
    serve_reading,
    serving,
    shown_digit,
    state,
    stroke_count,
    tiny_png_url,
    wait_answer_to_image,
    wait_settled,
)
from tests.browser_helpers import DIGIT_PATHS, draw_with_mouse, number_strokes

pytestmark = pytest.mark.browser

EXPLAINED = "#why:not([hidden])[data-stale='false']"
#: The drawing's exported size (static/js/drawing.js): the frames are in its pixels.
EXPORT_WIDTH, EXPORT_HEIGHT = 420, 280


# ---------------------------------------------------------------------------- helpers


class Answers:
    """The app's answers to the page's latest requests: the reading of the drawing, and look
    inside's (the picked mark's 28x28 sent again with ?explain=1). By request, not by arrival:
    an answer to an older request may arrive last, and the page drops it."""

    def __init__(self, page) -> None:
        self.requests: list = []
        page.on("request", lambda r: self.requests.append(r) if "/predict" in r.url else None)

    def _latest(self, explained: bool):
        return [r for r in self.requests if ("explain=1" in r.url) == explained][-1]

    def reading(self) -> dict:
        """The answer to the latest reading of the drawing (the settled one, once settled)."""
        return self._latest(explained=False).response().json()

    def looked_at(self) -> tuple[str, dict]:
        """Look inside's latest request: the 28x28 it sent, and the one mark it got back."""
        request = self._latest(explained=True)
        (mark,) = request.response().json()["digits"]
        return request.post_data_json["image"], mark

    def explanation(self) -> dict:
        """The saliency maps of look inside's latest answer."""
        return self.looked_at()[1]["explanation"]


def draw_and_explain(page, strokes) -> None:
    draw_with_mouse(page, strokes)
    wait_settled(page)
    page.wait_for_selector(EXPLAINED)
    page.wait_for_function("() => document.getElementById('pad-why').complete"
                           " && document.getElementById('why-preview').complete")


def red_pixels(page, selector: str) -> int:
    """Pixels of the element, as shown, that are clearly red (the map's "towards" colour)."""
    png = page.locator(selector).screenshot(animations="disabled")
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int(((rgb[..., 0] > 150) & (rgb[..., 1] < 120) & (rgb[..., 2] < 120)).sum())


def fractions_of_canvas(page, selector: str) -> dict:
    """The element's box as fractions of the drawing area (the canvas)."""
    canvas = page.locator("#canvas").bounding_box()
    box = page.locator(selector).bounding_box()
    return {"left": (box["x"] - canvas["x"]) / canvas["width"],
            "top": (box["y"] - canvas["y"]) / canvas["height"],
            "width": box["width"] / canvas["width"],
            "height": box["height"] / canvas["height"]}


def square_of(frame: dict) -> dict:
    """Where a mark's 28x28 lies on the drawing, as fractions (its frame, over 420x280)."""
    side = 28 / frame["scale"]
    return {"left": frame["x0"] / EXPORT_WIDTH, "top": frame["y0"] / EXPORT_HEIGHT,
            "width": side / EXPORT_WIDTH, "height": side / EXPORT_HEIGHT}


def assert_near(actual: dict, expected: dict, tolerance: float = 0.006) -> None:
    for key, value in expected.items():
        assert abs(actual[key] - value) < tolerance, (key, actual, expected)


def choice(page, label: str):
    """The correction button for ``label`` ("0"-"9" or "not_a_digit")."""
    return page.locator(f"#correct-row button[data-label='{label}']")


def focused_label(page) -> str | None:
    return page.evaluate("document.activeElement.dataset.label ?? null")


def wait_note(page, kind: str) -> str:
    page.wait_for_selector(f"#correct-note[data-kind='{kind}']")
    return page.inner_text("#correct-note")


def rows(app_server) -> list[dict]:
    """Every correction the app stored."""
    path = Path(app_server.app.config["FEEDBACK_DB"])
    if not path.exists():
        return []
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM corrections")]


def stored(app_server, correction_id: str) -> list[dict]:
    return [row for row in rows(app_server) if row["id"] == correction_id]


def pixels_of(data_url: str) -> bytes:
    """The 784 bytes of a 28x28 grayscale PNG data URL, as the store keeps them."""
    png = base64.b64decode(data_url.split(",", 1)[1])
    image = Image.open(io.BytesIO(png))
    assert image.size == (28, 28)
    return np.asarray(image.convert("L"), np.uint8).tobytes()


def largest_difference(a: str, b: str) -> int:
    """The largest difference, in grey levels, between two 28x28 PNG data URLs."""
    return int(np.abs(np.frombuffer(pixels_of(a), np.uint8).astype(int)
                      - np.frombuffer(pixels_of(b), np.uint8)).max())


# ---------------------------------------------------------------------------- why


def test_heatmap_over_the_preview_and_the_drawing(page) -> None:
    answers = Answers(page)
    draw_and_explain(page, DIGIT_PATHS[7])
    assert shown_digit(page) == "7"
    maps = answers.explanation()
    assert maps["target"] == 7
    # The same map over the 28x28 preview and over the drawing.
    for overlay in ("#why-preview", "#pad-why"):
        assert page.get_attribute(overlay, "src") == maps["integrated_gradients"]["png"]
        assert page.locator(overlay).is_visible()
    assert_near(fractions_of_canvas(page, "#why-preview"),
                fractions_of_canvas(page, "#input-preview"), tolerance=0.001)
    # On the pad, exactly where the mark's 28x28 came from (its frame in the sent image).
    frame = answers.reading()["digits"][0]["frame"]
    assert_near(fractions_of_canvas(page, "#pad-why"), square_of(frame))
    assert red_pixels(page, "#pad") > 200, "no red on the drawing"
    # Said in words, with a real control to choose the map.
    caption = page.inner_text("#why-caption")
    assert "Red: what made the network think 7." in caption
    assert "Blue: what argued against it." in caption
    assert page.inner_text("#why-method").startswith("Integrated gradients:")
    assert page.get_by_role("radio", name="Integrated gradients").is_checked()
    # The pen goes through the map: the canvas is what is under it.
    box = page.locator("#pad-why").bounding_box()
    centre = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
    assert page.evaluate("([x, y]) => document.elementFromPoint(x, y).id", centre) == "canvas"


def test_the_choice_switches_maps_and_turns_them_off(page) -> None:
    answers = Answers(page)
    draw_and_explain(page, DIGIT_PATHS[3])
    maps = answers.explanation()
    page.get_by_role("radio", name="Occlusion").check()
    for overlay in ("#why-preview", "#pad-why"):
        assert page.get_attribute(overlay, "src") == maps["occlusion"]["png"]
    assert page.inner_text("#why-method").startswith("Occlusion:")
    assert maps["occlusion"]["png"] != maps["integrated_gradients"]["png"]
    # Arrow keys, as in any radio group: Occlusion -> Off.
    page.get_by_role("radio", name="Occlusion").focus()
    page.keyboard.press("ArrowRight")
    assert page.get_by_role("radio", name="Off").is_checked()
    assert page.locator("#pad-why").is_hidden() and page.locator("#why-preview").is_hidden()
    assert red_pixels(page, "#pad") == 0, "the map is off but still drawn"
    assert "The heatmap is off" in page.inner_text("#why-caption")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.get_by_role("radio", name="Integrated gradients").is_checked()
    assert page.get_attribute("#pad-why", "src") == maps["integrated_gradients"]["png"]
    page.wait_for_function("() => document.getElementById('pad-why').complete")
    assert red_pixels(page, "#pad") > 0


def test_the_map_goes_while_drawing_and_comes_back_for_the_new_reading(page) -> None:
    draw_and_explain(page, DIGIT_PATHS[7])
    before = page.get_attribute("#pad-why", "src")
    # Start a stroke right on the map: it does not get in the way.
    box = page.locator("#pad-why").bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.55
    page.mouse.move(x, y)
    page.mouse.down()
    for step in range(1, 13):  # about half a second, so provisional readings come in
        page.mouse.move(x + step * 6, y + step, steps=2)
        page.wait_for_timeout(40)
    assert page.get_attribute("#results", "data-settled") == "false"
    assert page.locator("#pad-why").is_hidden(), "a map of the old drawing over the new one"
    assert page.locator("#why-preview").is_hidden()
    assert page.get_attribute("#why", "data-stale") == "true"
    assert red_pixels(page, "#pad") == 0
    page.mouse.up()
    wait_settled(page)
    assert stroke_count(page) == 2
    page.wait_for_selector(EXPLAINED)
    page.wait_for_selector("#pad-why:not([hidden])")
    assert page.get_attribute("#pad-why", "src") != before


def test_each_digit_of_a_number_gets_its_own_map(page) -> None:
    answers = Answers(page)
    draw_and_explain(page, number_strokes("206"))
    assert shown_digit(page) == "206"
    reading = answers.reading()
    page.locator("#mark-list [role='radio']").nth(2).click()
    page.wait_for_selector(EXPLAINED)
    page.wait_for_function("() => document.getElementById('pad-why').complete")
    third = reading["digits"][2]
    # Look inside sent that digit's 28x28 and read it again, as it was (within a grey level or
    # two), so the map it got is that digit's; the map lies over the third digit on the pad.
    sent, seen = answers.looked_at()
    assert sent == third["input_image"]
    assert largest_difference(seen["input_image"], sent) <= 3
    assert seen["digit"] == third["digit"] == 6
    maps = answers.explanation()
    assert page.get_attribute("#pad-why", "src") == maps["integrated_gradients"]["png"]
    assert_near(fractions_of_canvas(page, "#pad-why"), square_of(third["frame"]))
    assert "think 6" in page.inner_text("#why-caption")


# ---------------------------------------------------------------------------- corrections


def test_a_correction_by_mouse_is_stored(page, app_server) -> None:
    answers = Answers(page)
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    assert page.get_by_role("toolbar", name="Not right? It's a…").is_visible()
    read = choice(page, "7")
    assert read.get_attribute("aria-disabled") == "true", "the network's own reading is not offered"
    with page.expect_request("**/api/feedback") as sent:
        choice(page, "3").click()
    assert wait_note(page, "saved") == "Thanks, saved: it's a 3."
    assert page.get_attribute("#correct-note", "role") == "status"
    assert focused_label(page) == "3", "the focus stays on the button"
    assert choice(page, "3").get_attribute("aria-pressed") == "true"
    body = sent.value.post_data_json
    reading = answers.reading()
    mark = reading["digits"][0]
    (row,) = stored(app_server, body["id"])
    assert row["label"] == 3
    assert (row["predicted_status"], row["predicted_digit"]) == ("ok", 7)
    assert row["confidence"] == pytest.approx(mark["confidence"])
    assert (row["model_name"], row["model_version"]) == (reading["model"]["name"],
                                                         reading["model"]["version"])
    assert json.loads(row["box"]) == mark["box"]
    # The 28x28 the network saw (and the page shows), not the drawing.
    assert len(row["image"]) == 28 * 28
    assert bytes(row["image"]) == pixels_of(page.get_attribute("#input-preview", "src"))
    # The drawing changes: the control resets, and waits for the new reading.
    draw_with_mouse(page, [[(0.8, 0.3), (0.8, 0.35)]])
    assert page.inner_text("#correct-note") == ""
    assert choice(page, "3").get_attribute("aria-pressed") == "false"
    wait_settled(page)
    assert page.get_attribute("#correct", "data-state") == "ready"
    page.click("#clear")
    assert page.locator("#correct").is_hidden()


def test_a_correction_by_keyboard(page, app_server) -> None:
    """Keyboard only: Tab to an example, Enter reads it, Tab reaches the corrections (one Tab
    stop), arrow keys move, Enter or Space picks."""
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('example')"):
            break
    page.keyboard.press("Enter")
    wait_answer_to_image(page)
    read = shown_digit(page)
    assert state(page) == "ok" and read.isdigit()
    page.keyboard.press("Tab")
    assert focused_label(page) == "0"
    # Down goes to the button under this one, as laid out, and Up comes back.
    page.keyboard.press("ArrowDown")
    below = focused_label(page)
    assert below not in ("0", None)
    box, top = choice(page, below).bounding_box(), choice(page, "0").bounding_box()
    assert abs(box["x"] - top["x"]) < 2 and box["y"] > top["y"] + top["height"], (below, box, top)
    page.keyboard.press("ArrowUp")
    assert focused_label(page) == "0"
    for _ in range(int(read)):
        page.keyboard.press("ArrowRight")
    assert focused_label(page) == read
    page.keyboard.press("Enter")  # the network's own reading: nothing is sent
    page.wait_for_timeout(300)
    assert page.inner_text("#correct-note") == ""
    answer = "1" if read != "1" else "2"
    page.keyboard.press("Home")
    for _ in range(int(answer)):
        page.keyboard.press("ArrowRight")
    assert focused_label(page) == answer
    with page.expect_request("**/api/feedback") as sent:
        page.keyboard.press("Space")
    assert wait_note(page, "saved") == f"Thanks, saved: it's a {answer}."
    assert focused_label(page) == answer, "the focus stays on the button"
    (row,) = stored(app_server, sent.value.post_data_json["id"])
    assert (row["label"], row["predicted_digit"]) == (int(answer), int(read))
    page.keyboard.press("End")
    with page.expect_request("**/api/feedback") as sent:
        page.keyboard.press("Enter")
    assert wait_note(page, "saved") == "Thanks, saved: not a digit."
    (row,) = stored(app_server, sent.value.post_data_json["id"])
    assert row["label"] == 10  # not a digit


def test_a_double_click_and_a_retry_are_stored_once(page, app_server) -> None:
    posted: list[dict] = []
    page.on("request",
            lambda r: posted.append(r.post_data_json) if "/api/feedback" in r.url else None)
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    before = len(rows(app_server))
    choice(page, "5").dblclick()
    wait_note(page, "saved")
    with page.expect_response("**/api/feedback") as again:
        choice(page, "5").click()  # again: the same correction, the same id
    assert (again.value.status, again.value.json()["status"]) == (200, "already_saved")
    assert wait_note(page, "saved") == "Thanks, saved: it's a 5."
    assert len(posted) == 2 and len({p["id"] for p in posted}) == 1, posted
    assert len(rows(app_server)) == before + 1
    # The connection drops on the first try: the page sends the same id again by itself.
    failures = []

    def flaky(route):
        if not failures:
            failures.append(route.request.post_data_json["id"])
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/feedback", flaky)
    posted.clear()
    choice(page, "8").click()
    assert wait_note(page, "saved") == "Thanks, saved: it's a 8."
    assert len(posted) == 2 and posted[0]["id"] == posted[1]["id"] == failures[0]
    assert [row["label"] for row in stored(app_server, failures[0])] == [8]
    assert len(rows(app_server)) == before + 2


def test_an_unwritable_store_is_said_plainly_and_the_reading_stays(browser) -> None:
    with serving({"FEEDBACK_DB": "/proc/nowhere/feedback.sqlite3"}) as broken:
        context, page, problems = open_page(browser, broken.url)
        try:
            draw_with_mouse(page, DIGIT_PATHS[7])
            wait_settled(page)
            choice(page, "2").click()
            note = wait_note(page, "error")
            assert note.startswith("Couldn't save it right now; the reading is unaffected"), note
            assert shown_digit(page) == "7" and state(page) == "ok"
            assert page.get_attribute("#results", "data-settled") == "true"
            assert page.locator("#input-preview").is_visible()
            assert page.get_attribute("#correct", "data-state") == "ready"
            assert choice(page, "2").get_attribute("aria-pressed") == "false"
        finally:
            context.close()
        problems.check()


def refuse(status: int, code: str, headers: dict | None = None):
    """A route handler answering every correction with this JSON error."""
    body = json.dumps({"error": {"code": code, "message": "Made up for the test."}})
    return lambda route: route.fulfill(status=status, headers=headers or {},
                                       content_type="application/json", body=body)


@pytest.mark.parametrize(
    ("handler", "said", "tries"),
    [
        (refuse(429, "too_many_corrections", {"Retry-After": "12"}),
         "Too many corrections in the last minute: try again in 12 s.", 1),
        (refuse(507, "feedback_store_full"),
         "The store of corrections is full, so this one wasn't saved; the reading is unaffected.",
         1),
        # No answer at all: the page tries twice more by itself (the same id), then says so.
        (lambda route: route.abort("connectionrefused"),
         "Couldn't reach the server, so it wasn't saved. Pick it again in a moment.", 3),
    ],
    ids=["429", "507", "network"],
)
def test_a_refused_or_lost_correction_is_said_plainly(page, handler, said: str,
                                                       tries: int) -> None:
    posted: list[dict] = []
    page.on("request",
            lambda r: posted.append(r.post_data_json) if "/api/feedback" in r.url else None)
    page.route("**/api/feedback", handler)
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    choice(page, "1").click()
    assert wait_note(page, "error") == said
    assert len(posted) == tries and len({p["id"] for p in posted}) == 1, posted
    assert choice(page, "1").get_attribute("aria-pressed") == "false"
    assert shown_digit(page) == "7" and state(page) == "ok"


def test_a_mark_that_is_not_a_digit_can_be_given_its_digit(page, app_server) -> None:
    image = tiny_png_url(page)
    serve_reading(page, made_up_answer([made_up_mark(None, [120, 60, 300, 220], image)]))
    draw_with_mouse(page, DIGIT_PATHS[0])
    wait_settled(page)
    assert state(page) == "not_a_digit"
    assert page.text_content("#correct-heading") == "It's a…"
    assert choice(page, "not_a_digit").get_attribute("aria-disabled") == "true"
    # A reading without frames: the map is shown over the 28x28 only.
    page.wait_for_selector(EXPLAINED)
    assert page.locator("#why-preview").is_visible() and page.locator("#pad-why").is_hidden()
    assert "its best guess" in page.inner_text("#why-caption")
    with page.expect_request("**/api/feedback") as sent:
        choice(page, "4").click()
    wait_note(page, "saved")
    (row,) = stored(app_server, sent.value.post_data_json["id"])
    assert (row["predicted_status"], row["predicted_digit"]) == ("not_a_digit", None)
    assert row["label"] == 4
    assert row["model_version"] == "test"
    assert bytes(row["image"]) == pixels_of(image)


# ---------------------------------------------------------------------------- screenshots


@pytest.mark.parametrize(
    ("name", "options", "strokes"),
    [
        ("why-desktop", {"viewport": {**DESKTOP, "height": 1400}}, number_strokes("27")),
        # The narrowest phone, dark, tall enough for the whole result card.
        ("why-narrow-dark", {**PHONE_OPTIONS, "viewport": {"width": 320, "height": 1900},
                             "color_scheme": "dark"}, DIGIT_PATHS[3]),
    ],
)
def test_screenshots(browser, base_url, name: str, options: dict, strokes) -> None:
    """The map over a drawing and the correction control, for people to look at: on a
    desktop, the pad and the result side by side; on a 320 px phone, the result card, with
    nothing wider than the screen."""
    context, page, problems = open_page(browser, base_url, **options)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        draw_and_explain(page, strokes)
        page.mouse.move(0, 0)  # no button hovered in the picture
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the {name} screen"
        width = page.viewport_size["width"]
        for part in ("#correct", "#why", "#why-preview"):
            box = page.locator(part).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (part, box)
        phone = options.get("is_mobile")
        first = page.locator("#results" if phone else "#draw-card")
        first.evaluate("el => el.scrollIntoView()")
        left, top = first.bounding_box()["x"] - 8, first.bounding_box()["y"] - 8
        right = page.locator("#results").bounding_box()
        why = page.locator("#why").bounding_box()
        clip = {"x": 0, "y": max(0, top), "width": width} if phone else {
            "x": max(0, left), "y": max(0, top),
            "width": min(width, right["x"] + right["width"] + 8) - max(0, left)}
        clip["height"] = why["y"] + why["height"] + 10 - clip["y"]
        assert clip["y"] + clip["height"] <= page.viewport_size["height"], clip
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), clip=clip, animations="disabled")
    finally:
        context.close()
    problems.check()
