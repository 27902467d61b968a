"""deploy/nginx/digits.conf at work: Debian's nginx in front of the service under gunicorn.

What it must do: JSON compressed, the page's static files served from disk with cache
headers, bodies over the app's limit and bursts of corrections refused with JSON, a replica
that cannot be reached skipped, and one that dies with a request in it retried for
predictions, corrections and GETs, but not for other POSTs. (tests/test_scaleout.py puts it
under load with replicas killed.)
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import socket
import threading
import time

import pytest

from tests.images import data_url, draw_digit, encode
from tests.servers import Gunicorn, free_port, nginx
from tests.test_feedback import correction

PREDICTION = json.dumps({"image": data_url(encode(draw_digit("7")))}).encode()


def send(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body, headers={
        **({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.fixture(scope="module")
def app_port(tmp_path_factory):
    """One instance of the service (SQLite store, no per-worker limit on corrections)."""
    folder = tmp_path_factory.mktemp("app")
    server = Gunicorn(free_port(), folder / "gunicorn.log", DIGITS_FEEDBACK_PER_MINUTE="10000",
                      DIGITS_FEEDBACK_DB=str(folder / "f.sqlite3"))
    server.start()
    try:
        server.wait_ready()
        yield server.port
    finally:
        server.kill()


@pytest.fixture(scope="module")
def proxy(app_port):
    with nginx([app_port]) as running:
        yield running


def test_json_is_compressed_and_says_so(proxy):
    response = send(proxy.port, "POST", "/predict", PREDICTION, {"Accept-Encoding": "gzip"})
    assert response.status == 200 and response.getheader("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in response.getheader("Vary")
    answer = json.loads(gzip.decompress(response.body))
    assert answer["digit"] == 7 and len(response.body) < len(json.dumps(answer))
    plain = send(proxy.port, "POST", "/predict", PREDICTION)
    assert plain.getheader("Content-Encoding") is None and json.loads(plain.body)["digit"] == 7


def test_static_files_come_from_disk_with_cache_headers(proxy, app_port):
    response = send(proxy.port, "GET", "/static/css/app.css")
    assert response.status == 200 and response.getheader("Content-Type") == "text/css"
    assert response.getheader("Cache-Control") == "public, max-age=600"
    assert response.getheader("ETag") and response.getheader("Last-Modified")
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.body == send(app_port, "GET", "/static/css/app.css").body
    again = send(proxy.port, "GET", "/static/css/app.css",
                 headers={"If-None-Match": response.getheader("ETag")})
    assert again.status == 304
    assert send(proxy.port, "GET", "/static/../gunicorn.conf.py").status in (400, 404)


def test_a_body_over_the_apps_limit_stops_at_nginx_as_json(proxy):
    response = send(proxy.port, "POST", "/predict", b"x" * (2 * 1024 * 1024 + 1))
    assert response.status == 413 and response.getheader("Content-Type") == "application/json"
    assert json.loads(response.body)["error"]["code"] == "payload_too_large"
    assert send(proxy.port, "POST", "/predict", b"x" * (2 * 1024 * 1024)).status == 400  # app's


def test_a_burst_of_corrections_is_limited_as_json(proxy):
    """20 in a burst, then 10 a second, per address: 40 at once get some 429s."""
    codes, limited = [], None
    for _ in range(40):
        response = send(proxy.port, "POST", "/api/feedback", b"{}")
        codes.append(response.status)
        if response.status == 429:
            limited = response
    assert codes[:20] == [400] * 20  # reached the app (which refuses an empty correction)
    assert limited is not None and json.loads(limited.body)["error"]["code"] == "too_many_requests"
    assert limited.getheader("Retry-After") == "1"
    time.sleep(1.2)  # leave the next test its own budget
    assert send(proxy.port, "POST", "/predict", PREDICTION).status == 200  # not limited


def logged_upstreams(proxy, uri: str) -> list[list[str]]:
    """The upstream addresses nginx tried for each request to ``uri`` (stops nginx first,
    so that its log is complete)."""
    proxy.stop()
    return [upstreams for _, _, _, logged, upstreams in proxy.entries() if logged == uri]


@contextlib.contextmanager
def replica_that_dies_mid_request():
    """A port where a 'replica' takes each request and closes the connection without an
    answer, as one killed while working would; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(5)
                with contextlib.suppress(OSError):
                    connection.recv(65536)  # the request has been sent: now die

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize(("method", "path", "body", "status", "retried"), [
    ("POST", "/predict", PREDICTION, 200, True),
    ("POST", "/api/feedback", json.dumps(correction()).encode(), 201, True),
    ("GET", "/readyz", None, 200, True),
    ("POST", "/api/model", b"{}", 502, False),
])
def test_retries_after_a_replica_died_mid_request(app_port, method, path, body, status,
                                                  retried):
    """nginx sends the first request to the first replica, which dies with the request:
    predictions, corrections and GETs are retried on the other replica; any other POST is
    not (nginx cannot know it is safe to send twice), and gets nginx's 502 as JSON."""
    with replica_that_dies_mid_request() as dying, nginx([dying, app_port]) as proxy:
        response = send(proxy.port, method, path, body)
        [tried] = logged_upstreams(proxy, path)
    assert response.status == status, response.body
    assert tried == [f"127.0.0.1:{dying}", f"127.0.0.1:{app_port}"][:2 if retried else 1]
    if not retried:
        assert json.loads(response.body)["error"]["code"] == "service_unavailable"


def test_a_replica_that_cannot_be_reached_is_skipped_for_any_request(app_port):
    """Nothing listens on the first replica: the request was never sent, so even a POST
    nginx knows nothing about is safely sent to the other one."""
    dead = free_port()
    with nginx([dead, app_port]) as proxy:
        assert send(proxy.port, "POST", "/api/model", b"{}").status == 405  # the app's answer
        [tried] = logged_upstreams(proxy, "/api/model")
    assert tried == [f"127.0.0.1:{dead}", f"127.0.0.1:{app_port}"]
