"""Security headers as the browser receives them, on every kind of response.

The Content-Security-Policy is read from each real response and parsed into directives; the
checks are on what was sent, not on the constant in app/security.py.
"""

from __future__ import annotations

import pytest

from app.factory import create_app

#: Every kind of response the app gives: page, JSON, static files, the API, and errors.
REQUESTS = {
    "page": ("GET", "/", {}),
    "healthz": ("GET", "/healthz", {}),
    "model": ("GET", "/api/model", {}),
    "openapi": ("GET", "/openapi.json", {}),
    "static-css": ("GET", "/static/css/app.css", {}),
    "static-js": ("GET", "/static/js/main.js", {}),
    "static-svg": ("GET", "/static/icons/favicon.svg", {}),
    "predict-400": ("POST", "/predict", {"data": b"", "content_type": "application/json"}),
    "predict-415": ("POST", "/predict", {"data": b"x", "content_type": "text/plain"}),
    "predict-422": ("POST", "/predict", {"data": b"junk", "content_type": "image/png"}),
    "predict-413": ("POST", "/predict", {"data": bytes(3 << 20), "content_type": "image/png"}),
    "not-found-404": ("GET", "/nope", {}),
    "static-404": ("GET", "/static/nope.js", {}),
    "method-405": ("GET", "/predict", {}),
}
UNSAFE_SOURCES = ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "http:", "https:")


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header value -> {directive: [sources]}."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            assert words[0].lower() not in directives, f"{words[0]} appears twice"
            directives[words[0].lower()] = words[1:]
    return directives


@pytest.fixture(scope="module", params=list(REQUESTS))
def response(request, client):
    method, path, options = REQUESTS[request.param]
    return client.open(path, method=method, **options)


def test_every_response_carries_one_strict_policy(response):
    values = response.headers.getlist("Content-Security-Policy")
    assert len(values) == 1, values
    policy = csp_directives(values[0])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no CDN
    assert policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert sorted(policy["img-src"]) == sorted(["'self'", "data:", "blob:"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    for directive, sources in policy.items():
        assert not set(sources) & set(UNSAFE_SOURCES), (directive, sources)


def test_every_response_carries_the_other_headers(response):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    if response.mimetype == "application/json":
        assert headers["Cache-Control"] == "no-store"


def test_the_requests_cover_pages_json_static_files_and_errors(client):
    statuses = set()
    kinds = set()
    for method, path, options in REQUESTS.values():
        response = client.open(path, method=method, **options)
        statuses.add(response.status_code)
        kinds.add(response.mimetype)
    assert {200, 400, 404, 405, 413, 415, 422} <= statuses
    assert {"text/html", "application/json", "text/css"} <= kinds
    assert kinds & {"text/javascript", "application/javascript"}
