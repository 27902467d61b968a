"""Graceful shutdown: gunicorn (gunicorn.conf.py) that gets SIGTERM, as a container or a
pod being stopped does, finishes the requests in flight before it exits."""

from __future__ import annotations

import runpy
import signal
import threading
import time

from tests.servers import ROOT, Gunicorn, free_port, http_get

SLOW_SECONDS = 3.0


def test_the_grace_period_outlasts_a_slow_request():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["graceful_timeout"] >= SLOW_SECONDS + 2


def test_sigterm_lets_the_request_in_flight_finish(tmp_path):
    marker = tmp_path / "started"
    port = free_port()
    server = Gunicorn(port, tmp_path / "gunicorn.log", app="tests.slow_app:app",
                      SLOW_MARKER=str(marker), SLOW_SECONDS=str(SLOW_SECONDS),
                      DIGITS_FEEDBACK_DB=str(tmp_path / "f.sqlite3"))
    server.start()
    try:
        server.wait_ready(path="/healthz")
        answer: dict = {}

        def slow_request():
            answer["status"], answer["body"] = http_get(port, "/test/slow", timeout=30)
            answer["at"] = time.monotonic()

        client = threading.Thread(target=slow_request)
        client.start()
        deadline = time.monotonic() + 20
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the slow request never started"
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        client.join(30)
        exit_code = server.process.wait(timeout=30)
    finally:
        server.kill()
    log = server.log.read_text()
    assert answer.get("status") == 200, log[-2000:]
    assert b'"finished"' in answer["body"]
    assert answer["at"] > signalled  # it was still in flight when SIGTERM came
    assert exit_code == 0 and "Handling signal: term" in log


def test_a_worker_that_exits_closes_its_store(tmp_path):
    """gunicorn's worker_exit hook closes the app's corrections store (its connections)."""
    from types import SimpleNamespace

    from app.factory import create_app

    app = create_app({"FEEDBACK_DB": str(tmp_path / "f.sqlite3")})
    feedback = app.extensions["feedback"]
    feedback.store().ping()
    assert feedback._store is not None
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    settings["worker_exit"](None, SimpleNamespace(wsgi=app))
    assert feedback._store is None
    settings["worker_exit"](None, SimpleNamespace())  # a worker that never loaded the app
