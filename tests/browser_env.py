"""What the browser tests share: the app served on a free port (one that can be stopped and
started again; its corrections kept in a database of its own, never in instance/), Debian's
Chromium through Playwright, a fresh page per test that fails the
test on any script error, CSP violation or request leaving the app's origin, and the small
questions every test asks the page (its state, the digit shown...).

tests/conftest.py re-exports the fixtures, so every test_browser_*.py file can use them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.availability import REQUIRE_BROWSER, unavailable
from tests.browser_helpers import CHROMIUM_ARGS

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PHONE_OPTIONS = {"viewport": PHONE, "has_touch": True, "is_mobile": True, "device_scale_factor": 2}
#: How long to wait for the page to react (ms): generous for a busy 2-core CI machine.
TIMEOUT = 15_000

SETTLED = "#results[data-settled='true'][aria-busy='false']"


class AppServer:
    """The app served by Werkzeug in a thread on 127.0.0.1; ``stop()`` and ``start()`` again
    keep the same port, as a restarted server would. ``config`` overrides the app's settings
    (FEEDBACK_DB, say)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        from app import create_app

        self.app = create_app(config)
        self.port = 0
        self.server = None
        self.thread = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, name="browser-test-server")
        self.thread.daemon = True
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


@contextmanager
def serving(config: dict[str, Any] | None = None) -> Iterator[AppServer]:
    """An app server with these settings, started, and stopped after."""
    server = AppServer(config)
    server.start()
    try:
        yield server
    finally:
        if server.thread and server.thread.is_alive():
            server.stop()


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[AppServer]:
    """The app, its corrections in a SQLite file of this module's own
    (``app_server.app.config["FEEDBACK_DB"]``)."""
    database = tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"
    with serving({"FEEDBACK_DB": str(database)}) as server:
        yield server


@pytest.fixture(scope="module")
def base_url(app_server) -> str:
    return app_server.url


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        unavailable("Debian's Chromium is not installed at /usr/bin/chromium "
                    "(apt-get install -y chromium)", REQUIRE_BROWSER)
    try:
        from playwright import sync_api
    except ImportError:
        unavailable("the playwright package is not installed (pip install playwright)",
                    REQUIRE_BROWSER)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageProblems:
    """Uncaught script errors, CSP violations and requests that leave the app's origin."""

    def __init__(self, page, base_url: str) -> None:
        self.errors: list[str] = []
        self.foreign: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)
        page.on("request", lambda req: self._request(req.url, base_url))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.errors.append(f"CSP: {message.text}")

    def _request(self, url: str, base_url: str) -> None:
        if not url.startswith((base_url, "data:", "blob:")):
            self.foreign.append(url)

    def check(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], f"the page loaded something from elsewhere: {self.foreign}"


def open_page(browser, base_url: str, **context_options):
    """A fresh context and the app's page in it, ready (its scripts have run)."""
    context = browser.new_context(**{"viewport": DESKTOP, **context_options})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    problems = PageProblems(page, base_url)
    page.goto(base_url + "/")
    page.wait_for_selector("html[data-ready='true']")
    return context, page, problems


@pytest.fixture
def page(browser, base_url):
    context, page, problems = open_page(browser, base_url)
    yield page
    context.close()
    problems.check()


@pytest.fixture
def touch_page(browser, base_url):
    context, page, problems = open_page(browser, base_url, **PHONE_OPTIONS)
    yield page
    context.close()
    problems.check()


# ---------------------------------------------------------------------------- questions


def wait_settled(page) -> None:
    """Wait until the answer for the finished drawing is on screen."""
    page.wait_for_selector(SETTLED)


def wait_answer_to_image(page) -> None:
    """Wait for the settled answer to an uploaded, dropped or example image on a fresh page.

    The initial "empty" state already counts as settled, so waiting for SETTLED alone could
    return before the image's request has even started.
    """
    page.wait_for_selector(f"{SETTLED}:not([data-state='empty'])")


def shown_digit(page) -> str:
    return page.inner_text("#digit").strip()


def top_bar_digit(page) -> str | None:
    return page.get_attribute("#probabilities .bar[data-top='true']", "data-digit")


def state(page) -> str | None:
    return page.get_attribute("#results", "data-state")


def stroke_count(page) -> int:
    return int(page.get_attribute("#canvas", "data-strokes") or 0)


def has_picture(page) -> bool:
    return page.get_attribute("#canvas", "data-picture") == "true"


def upload(page, name: str, data: bytes, mime: str = "image/png") -> None:
    page.set_input_files("#upload", files=[{"name": name, "mimeType": mime, "buffer": data}])


def focused_id(page) -> str:
    """The focused element's id, or its tag name when it has none ("BODY": focus was lost)."""
    return page.evaluate("document.activeElement.id || document.activeElement.tagName")


# ---------------------------------------------------------------------------- made-up readings
# Whether the served network ever answers "not a digit" depends on the parameter file, so tests
# of how the page shows such answers serve a made-up reading (the page is under test, not the
# network).


def made_up_mark(digit: int | None, box: list[int], image: str, guess: int = 4) -> dict:
    """One mark of /predict's ``digits``: ``digit`` read at 82%, or (None) not a digit."""
    probabilities = [0.02] * 10
    if digit is None:
        probabilities[guess] = 0.23
        return {"status": "not_a_digit", "digit": None, "confidence": None,
                "probabilities": probabilities, "not_digit_probability": 0.59,
                "guess": {"digit": guess, "confidence": 0.23}, "box": box, "input_image": image}
    probabilities[digit] = 0.82
    return {"status": "ok", "digit": digit, "confidence": 0.82, "probabilities": probabilities,
            "not_digit_probability": 0.0, "box": box, "input_image": image}


def made_up_answer(marks: list[dict]) -> dict:
    """A whole /predict answer made of these marks."""
    digits = [m for m in marks if m["status"] == "ok"]
    single = marks[0] if len(marks) == 1 else None
    return {
        "status": "ok" if digits else "not_a_digit",
        "number": "".join(str(m["digit"]) for m in digits),
        "digits": marks,
        "digit": single["digit"] if single else None,
        "confidence": single["confidence"] if single else None,
        "probabilities": single["probabilities"] if single else None,
        "not_digit_probability": single["not_digit_probability"] if single else None,
        "input_image": single["input_image"] if single else None,
        **({"guess": single["guess"]} if single and "guess" in single else {}),
        "message": "made up for the test",
        "model": {"name": "default", "version": "test"},
        "time_ms": 1.0,
    }


def serve_reading(page, body: dict) -> None:
    """Answer every reading of the drawing with ``body`` (look inside still reaches the app)."""
    def handle(route):
        if "explain=1" in route.request.url:
            route.continue_()
        else:
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
    page.route("**/predict*", handle)


def tiny_png_url(page) -> str:
    """A 28x28 PNG data URL (a white square on black), made by the page."""
    return page.evaluate("""() => {
        const c = document.createElement('canvas'); c.width = 28; c.height = 28;
        const x = c.getContext('2d'); x.fillStyle = '#000'; x.fillRect(0, 0, 28, 28);
        x.fillStyle = '#fff'; x.fillRect(8, 8, 12, 12);
        return c.toDataURL('image/png');
    }""")


# Note for page.wait_for_function: pass a function ("() => ..."), never a bare expression.
# Playwright polls an expression with eval, which the page's Content-Security-Policy refuses.
