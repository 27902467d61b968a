"""What the browser tests share: the app served on a free port (one that can be stopped and
started again), Debian's Chromium through Playwright, a fresh page per test that fails the
test on any script error, CSP violation or request leaving the app's origin, and the small
questions every test asks the page (its state, the digit shown...).

tests/conftest.py re-exports the fixtures, so every test_browser_*.py file can use them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

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
    keep the same port, as a restarted server would."""

    def __init__(self) -> None:
        from app import create_app

        self.app = create_app()
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


@pytest.fixture(scope="module")
def app_server() -> Iterator[AppServer]:
    server = AppServer()
    server.start()
    try:
        yield server
    finally:
        if server.thread and server.thread.is_alive():
            server.stop()


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


# Note for page.wait_for_function: pass a function ("() => ..."), never a bare expression.
# Playwright polls an expression with eval, which the page's Content-Security-Policy refuses.
