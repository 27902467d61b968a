"""Liveness (/healthz) and readiness (/readyz), with SQLite and with a real PostgreSQL that
goes down and comes back."""

from __future__ import annotations

import time

import pytest

from app.factory import create_app
from tests.images import draw_digit, encode
from tests.servers import postgres_server
from tests.test_feedback import correction


def readiness(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    assert response.mimetype == "application/json"
    return response.status_code, response.get_json()


def test_healthz_touches_nothing(tmp_path):
    """Alive even when the store cannot be opened at all."""
    client = create_app({"FEEDBACK_DB": "/proc/digits-nowhere/f.sqlite3"}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_with_a_sqlite_file(tmp_path):
    database = tmp_path / "instance" / "feedback.sqlite3"
    status, body = readiness(create_app({"FEEDBACK_DB": str(database)}).test_client())
    assert status == 200
    assert body == {"status": "ready", "database": "sqlite",
                    "checks": {"model": "ok", "database": "ok"}}
    assert database.exists()  # opened, and its schema made


def test_not_ready_when_the_sqlite_file_cannot_be_opened():
    status, body = readiness(create_app(
        {"FEEDBACK_DB": "/proc/digits-nowhere/f.sqlite3"}).test_client())
    assert status == 503
    assert body["status"] == "not_ready" and body["checks"] == {"model": "ok",
                                                                "database": "unavailable"}
    assert body["error"]["code"] == "not_ready" and "database" in body["error"]["message"]
    assert "/proc" not in str(body)  # the reason is logged, not shown


def test_not_ready_when_the_model_fails(tmp_path, monkeypatch):
    app = create_app({"FEEDBACK_DB": str(tmp_path / "f.sqlite3")})
    predictor = app.extensions["digits_predictor"]

    def broken(images):
        raise RuntimeError("weights gone")

    monkeypatch.setattr(predictor, "predict_many", broken)
    status, body = readiness(app.test_client())
    assert status == 503 and body["checks"] == {"model": "failing", "database": "ok"}


def wait_for(client, wanted: int, seconds: float) -> tuple[int, dict, float]:
    """Poll /readyz until it answers ``wanted``; (status, body, seconds it took)."""
    started = time.monotonic()
    while True:
        status, body = readiness(client)
        waited = time.monotonic() - started
        if status == wanted or waited > seconds:
            return status, body, waited
        time.sleep(0.2)


@pytest.mark.timeout(120)
def test_readiness_follows_the_database_down_and_back():
    """PostgreSQL stops: /readyz turns 503 within the database timeout, corrections get 503
    and predictions go on. It starts again: /readyz is 200 again within seconds, and
    corrections are saved."""
    with postgres_server() as server:
        app = create_app({"DATABASE_URL": server.url, "DATABASE_TIMEOUT": 1})
        client = app.test_client()
        status, body = readiness(client)
        assert status == 200 and body["database"] == "postgresql", body
        assert client.post("/api/feedback", json=correction()).status_code == 201

        server.stop()
        status, body, waited = wait_for(client, 503, 10)
        assert status == 503 and body["checks"]["database"] == "unavailable", body
        assert waited < 5, waited
        assert client.post("/api/feedback", json=correction()).status_code == 503
        prediction = client.post("/predict", data=encode(draw_digit("7")),
                                 content_type="image/png")
        assert prediction.status_code == 200 and prediction.get_json()["digit"] == 7
        assert client.get("/healthz").status_code == 200

        server.start()
        status, body, waited = wait_for(client, 200, 40)
        assert status == 200, body
        assert waited < 25, waited
        assert client.post("/api/feedback", json=correction()).status_code == 201
        assert app.extensions["feedback"].store().count() == 2
        app.extensions["feedback"].close()
