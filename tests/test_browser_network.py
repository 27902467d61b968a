"""The page while it waits, and when the server fails: a slow network (DevTools network
emulation) shows a clear "Reading…" state and, once the pen lifts, only the finished
drawing's answer, with honest timing; errors replace what was shown before; after the server
is stopped and started again the page reads again by itself."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser_env import (
    focused_id,
    shown_digit,
    state,
    upload,
    wait_settled,
)
from tests.browser_helpers import DIGIT_PATHS, draw_with_mouse, to_page

pytestmark = pytest.mark.browser

LATENCY_MS = 800


def slow_network(page, latency_ms: int = LATENCY_MS):
    """Every request takes ``latency_ms`` longer, as on a poor mobile connection."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": latency_ms, "downloadThroughput": -1,
        "uploadThroughput": -1})
    return cdp


def record_after_pen_up(page) -> None:
    """From now on, note every digit the panel shows and whether it is settled."""
    page.evaluate("""() => {
        window.shownAfterPenUp = [];
        const note = () => window.shownAfterPenUp.push({
            digit: document.getElementById('digit').textContent,
            settled: document.getElementById('results').dataset.settled,
            badge: getComputedStyle(document.getElementById('reading-badge')).visibility});
        note();
        new MutationObserver(note).observe(document.getElementById('results'),
            {subtree: true, childList: true, characterData: true, attributes: true,
             attributeFilter: ['data-settled', 'data-state']});
    }""")


def test_slow_network_shows_reading_and_only_the_final_answer(page) -> None:
    cdp = slow_network(page)
    try:
        box = page.locator("#canvas").bounding_box()
        (stroke,) = DIGIT_PATHS[0]
        page.mouse.move(*to_page(box, stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*to_page(box, point))
            page.wait_for_timeout(25)  # about a second of drawing: answers are still on their way
        assert page.get_attribute("#results", "data-settled") == "false"
        record_after_pen_up(page)
        page.mouse.up()
        assert page.is_visible("#reading-badge"), "nothing says the page is reading"
        wait_settled(page)
        shown = page.evaluate("window.shownAfterPenUp")
        assert shown_digit(page) == "0"
        # After the pen lifted, the panel never showed another digit than the final one, and
        # said "Reading…" until the final answer came.
        digits = [s["digit"] for s in shown]
        changes = [d for i, d in enumerate(digits) if i == 0 or d != digits[i - 1]]
        assert changes[-1] == "0" and len(changes) <= 2, shown  # what was there, then the 0
        assert all(s["badge"] == "visible" for s in shown if s["settled"] == "false"), shown
        assert shown[-1]["settled"] == "true" and shown[-1]["badge"] == "hidden"
        # Timing is honest: the server's own time and the round trip the person waited.
        timing = page.inner_text("#timing")
        server = re.search(r"([\d.]+) (ms|s) on the server", timing)
        trip = re.search(r"([\d.]+) (ms|s) round trip", timing)
        assert server and trip, timing
        seconds = float(trip.group(1)) / (1000 if trip.group(2) == "ms" else 1)
        assert seconds >= LATENCY_MS / 1000, timing
    finally:
        cdp.detach()


def test_error_replaces_what_was_shown(page) -> None:
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    assert page.is_visible("#input-preview") and page.inner_text("#timing")
    heights = page.evaluate("""() => ['.verdict', '.result-details'].map(
        (s) => document.querySelector(s).getBoundingClientRect().height)""")
    body = {"error": {"code": "internal_error", "message": "The server failed."}}
    page.route("**/predict*", lambda route: route.fulfill(
        status=500, content_type="application/json", body=json.dumps(body)))
    draw_with_mouse(page, DIGIT_PATHS[1])
    page.wait_for_selector("#results[data-state='error'][data-settled='true']")
    assert not page.is_visible("#input-preview"), "the old preview sits beside the error"
    assert page.inner_text("#timing") == "", "an old timing sits beside the error"
    assert page.locator("#probabilities .bar[data-top='true']").count() == 0
    assert page.locator("#pad-marks .mark-box").count() == 0
    assert not page.is_visible("#share")
    after = page.evaluate("""() => ['.verdict', '.result-details'].map(
        (s) => document.querySelector(s).getBoundingClientRect().height)""")
    assert after == pytest.approx(heights, abs=2), "the panel jumped in height"


def test_a_bad_upload_replaces_the_reading_and_offers_another_file(page) -> None:
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    upload(page, "notes.png", b"these are not the pixels you are looking for")
    page.wait_for_selector("#results[data-state='error']")
    assert "isn't an image" in page.inner_text("#status")
    assert not page.is_visible("#input-preview")
    assert page.inner_text("#retry") == "Choose another file"
    with page.expect_file_chooser() as chooser:
        page.click("#retry")
    assert chooser.value is not None  # "Try again" no longer re-reads the old drawing


def test_server_stop_and_restart(page, app_server) -> None:
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    app_server.stop()
    try:
        page.click("#clear")
        draw_with_mouse(page, DIGIT_PATHS[1])
        page.wait_for_selector("#results[data-state='error'][data-settled='true']")
        status = page.inner_text("#status")
        assert "can't reach the server" in status.lower() and "when the server is back" in status
        assert not page.is_visible("#input-preview") and page.inner_text("#timing") == ""
        assert page.is_visible("#retry") and focused_id(page) != "BODY"
    finally:
        app_server.start()
    # Back without anyone touching the page: /healthz answers, the drawing is read again.
    page.wait_for_selector("#results[data-state='ok'][data-settled='true']", timeout=20_000)
    assert shown_digit(page) == "1" and state(page) == "ok"
    assert not page.is_visible("#retry")
