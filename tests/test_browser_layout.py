"""Layouts and what every page must be: usable from a 320 px phone to a desktop and on a
phone on its side (844x390: the pad and the reading on one screen), light and dark, no
inline script or style (the real Content-Security-Policy forbids them), controls that
assistive technology sees once each. `test_screenshots` writes PNGs to test-artifacts/ for
people to look at (docs/ holds the ones the README shows)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.browser_env import ARTIFACTS, DESKTOP, PHONE_OPTIONS, open_page, wait_settled
from tests.browser_helpers import DIGIT_PATHS, draw_with_mouse, draw_with_touch, number_strokes

pytestmark = pytest.mark.browser

LANDSCAPE = {"viewport": {"width": 844, "height": 390}, "has_touch": True, "is_mobile": True,
             "device_scale_factor": 2}


def rect(page, selector: str) -> dict:
    return page.locator(selector).evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; }")


def test_landscape_phone_shows_pad_tools_and_reading_together(browser, base_url) -> None:
    context, page, problems = open_page(browser, base_url, **LANDSCAPE)
    try:
        page.evaluate("document.getElementById('draw-card').scrollIntoView()")
        draw_with_touch(page, number_strokes("17"))
        wait_settled(page)
        height, width = 390, 844
        for selector in ("#pad", "#undo", "#clear", "#digit", "#confidence"):
            box = rect(page, selector)
            assert box["top"] >= 0 and box["bottom"] <= height, (selector, box)
            assert box["left"] >= 0 and box["right"] <= width, (selector, box)
        assert page.inner_text("#digit") == "17"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
    problems.check()


class _InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        if "style" in names or any(name.startswith("on") for name in names):
            self.inline.append(f"<{tag}> with {sorted(names)}")


def test_no_inline_script_or_style_under_the_real_policy(page, base_url) -> None:
    response = page.request.get(base_url + "/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    finder = _InlineFinder()
    finder.feed(response.text())
    assert finder.inline == []
    # The page's own scripts ran under that policy without a violation (the fixture checks
    # the console for CSP reports after the test).
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)


def test_controls_are_seen_once_and_look_inside_is_a_few_tab_stops(page) -> None:
    assert page.get_by_role("button", name=re.compile("upload", re.I)).count() == 1
    assert page.locator("#upload").is_hidden()
    for name in ("Undo", "Redo", "Clear"):
        assert page.get_by_role("button", name=name, exact=True).count() == 1
    draw_with_mouse(page, DIGIT_PATHS[7])
    wait_settled(page)
    page.wait_for_selector("#feature-maps[data-state='ready']")
    layers = page.locator("#feature-maps .layer").count()
    tiles = page.locator("#feature-maps .map-tile").count()
    stops = page.locator("#feature-maps .map-tile[tabindex='0']").count()
    assert tiles > 100 and stops == layers, (tiles, stops)
    for grid in page.locator("#feature-maps .layer-maps").all():
        assert re.match(r"\d+ feature maps of layer \d", grid.get_attribute("aria-label"))


@pytest.mark.parametrize(
    ("name", "options", "what"),
    [
        ("desktop-1280x800", {"viewport": DESKTOP}, "number"),
        ("desktop-dark-1280x800", {"viewport": DESKTOP, "color_scheme": "dark"}, "digit"),
        ("phone-390x844", PHONE_OPTIONS, "number"),
        ("narrow-320x640", {"viewport": {"width": 320, "height": 640}}, "digit"),
        ("landscape-844x390", LANDSCAPE, "number"),
    ],
)
def test_screenshots(browser, base_url, name: str, options: dict, what: str) -> None:
    """Screenshots for people to look at; the page must not overflow sideways at any size."""
    context, page, problems = open_page(browser, base_url, **options)
    try:
        ARTIFACTS.mkdir(exist_ok=True)
        page.wait_for_selector("#model-info[data-state='ready']")
        page.screenshot(path=str(ARTIFACTS / f"{name}-empty.png"))
        strokes = number_strokes("2026") if what == "number" else DIGIT_PATHS[3]
        if options.get("has_touch"):
            page.evaluate("document.getElementById('draw-card').scrollIntoView()")
            draw_with_touch(page, strokes)
        else:
            draw_with_mouse(page, strokes)
        wait_settled(page)
        page.wait_for_selector("#feature-maps[data-state='ready']")
        page.wait_for_function("() => document.getElementById('input-preview').complete")
        assert page.inner_text("#digit") == ("2026" if what == "number" else "3")
        overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the {name} screen"
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
        page.screenshot(path=str(ARTIFACTS / f"{name}-full.png"), full_page=True)
    finally:
        context.close()
    problems.check()
