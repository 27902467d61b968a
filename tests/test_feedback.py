"""POST /api/feedback and the corrections store, against SQLite and a real PostgreSQL."""

from __future__ import annotations

import contextlib
import multiprocessing
import time
import uuid

import numpy as np
import pytest

from app.factory import StartupError, create_app, default_config
from app.feedback.__main__ import main as feedback_cli
from app.feedback.schema import MIGRATIONS, VERSION
from app.feedback.store import open_store
from tests.images import data_url, draw_digit, encode
from tests.servers import create_database, postgres

DIGIT = draw_digit("7", size=(28, 28), box=(0.25, 0.15, 0.75, 0.85), ink=255, background=0)
IMAGE = data_url(encode(DIGIT))


def correction(**overrides) -> dict:
    body = {
        "id": str(uuid.uuid4()), "image": IMAGE, "label": 7,
        "predicted": {"status": "ok", "digit": 1, "confidence": 0.62},
        "model": {"name": "default", "version": "2.0.0"}, "box": [10, 12, 90, 140],
    }
    body.update(overrides)
    return body


@pytest.fixture(params=["sqlite", "postgresql"])
def store_config(request, tmp_path) -> dict:
    """The config of a fresh, empty store of each kind."""
    if request.param == "sqlite":
        return {"FEEDBACK_DB": str(tmp_path / "feedback.sqlite3")}
    return {"DATABASE_URL": create_database(request.getfixturevalue("postgres_url"))}


def make_app(config: dict, **more):
    return create_app({**config, **more})


def stored(app) -> list:
    return app.extensions["feedback"].store().corrections()


def test_a_correction_is_saved_once_with_what_was_said(store_config):
    app = make_app(store_config)
    client = app.test_client()
    body = correction()
    first = client.post("/api/feedback", json=body)
    assert first.status_code == 201 and first.get_json() == {"status": "saved", "id": body["id"]}
    again = client.post("/api/feedback", json=body)
    assert again.status_code == 200 and again.get_json()["status"] == "already_saved"
    [row] = stored(app)
    assert row.id == body["id"] and row.label == 7 and row.predicted_digit == 1
    assert row.predicted_status == "ok" and row.confidence == pytest.approx(0.62)
    assert (row.model_name, row.model_version, row.box) == ("default", "2.0.0", "[10, 12, 90, 140]")
    assert np.array_equal(np.frombuffer(row.image, np.uint8).reshape(28, 28), np.asarray(DIGIT))
    assert row.created_at.endswith("+00:00")


def test_not_a_digit_label_and_no_box(store_config):
    app = make_app(store_config)
    body = correction(label="not_a_digit", predicted={"status": "ok", "digit": 4,
                                                       "confidence": 0.9})
    del body["box"]
    assert app.test_client().post("/api/feedback", json=body).status_code == 201
    [row] = stored(app)
    assert row.label == 10 and row.box is None


@pytest.mark.parametrize(("change", "field"), [
    ({"id": "short"}, "id"), ({"id": "has spaces in it"}, "id"), ({"label": 10}, "label"),
    ({"label": "7"}, "label"), ({"label": True}, "label"), ({"predicted": None}, "predicted"),
    ({"predicted": {"status": "maybe"}}, "predicted"),
    ({"predicted": {"status": "ok", "digit": 12}}, "predicted.digit"),
    ({"predicted": {"status": "ok", "digit": 1, "confidence": 1.5}}, "predicted.confidence"),
    ({"model": {"name": "x"}}, "model"), ({"box": [1, 2, 3]}, "box"),
    ({"box": [1, 2, 3, -4]}, "box"),
    ({"image": 5}, "image"), ({"image": data_url(encode(draw_digit("7")))}, "image"),
    ({"image": "bm90IGFuIGltYWdl"}, "image"),
])
def test_bad_corrections_get_a_clear_400(tmp_path, change, field):
    app = make_app({"FEEDBACK_DB": str(tmp_path / "f.sqlite3")})
    response = app.test_client().post("/api/feedback", json=correction(**change))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] in ("invalid_feedback", "invalid_base64") and field.split(".")[0] in (
        error["message"] + " image")


@pytest.mark.parametrize(("data", "content_type", "status"), [
    (b"", "application/json", 400), (b"[1, 2]", "application/json", 400),
    (b"{bad json", "application/json", 400), (b"id=1", "text/plain", 415),
])
def test_bad_bodies(tmp_path, data, content_type, status):
    app = make_app({"FEEDBACK_DB": str(tmp_path / "f.sqlite3")})
    response = app.test_client().post("/api/feedback", data=data, content_type=content_type)
    assert response.status_code == status and "error" in response.get_json()


def test_rate_limit_per_worker(tmp_path):
    client = make_app({"FEEDBACK_DB": str(tmp_path / "f.sqlite3"),
                       "FEEDBACK_PER_MINUTE": 3}).test_client()
    codes = [client.post("/api/feedback", json=correction()).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = client.post("/api/feedback", json=correction())
    assert limited.get_json()["error"]["code"] == "too_many_corrections"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


def test_a_full_store_says_so(store_config):
    client = make_app(store_config, FEEDBACK_MAX_ROWS=2).test_client()
    codes = [client.post("/api/feedback", json=correction()).status_code for _ in range(3)]
    assert codes == [201, 201, 507]


def test_an_unwritable_store_is_a_503_and_predictions_go_on():
    client = create_app({"FEEDBACK_DB": "/proc/digits-nowhere/feedback.sqlite3"}).test_client()
    response = client.post("/api/feedback", json=correction())
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "feedback_unavailable"
    prediction = client.post("/predict", data=encode(draw_digit("7")), content_type="image/png")
    assert prediction.status_code == 200 and prediction.get_json()["status"] == "ok"


def test_a_database_that_is_down_is_a_503_and_predictions_go_on():
    with postgres() as url:
        pass  # started and stopped: nothing listens there any more
    client = create_app({"DATABASE_URL": url}).test_client()
    assert client.post("/api/feedback", json=correction()).status_code == 503
    assert client.post("/predict", data=encode(draw_digit("7")),
                       content_type="image/png").status_code == 200


def old_schema(store) -> None:
    """Put a version-1 schema (as first shipped) with one row into an empty store."""
    def work(execute):
        execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        execute("INSERT INTO schema_version (version) VALUES (1)")
        for statement in MIGRATIONS[0]:
            execute(statement)
        execute("INSERT INTO corrections (id, created_at, image, predicted_status, "
                "predicted_digit, confidence, label, model_name, model_version) VALUES "
                "('old-row-0001', '2026-01-01T00:00:00+00:00', :image, 'ok', 3, 0.5, 8, "
                "'default', '1.0.0')", {"image": bytes(784)})
    store._run(work, write=True)


def test_schema_migrates_from_version_one(store_config):
    store = open_store(store_config.get("DATABASE_URL"), store_config.get("FEEDBACK_DB", ""),
                       100)
    old_schema(store)
    app = make_app(store_config)
    assert app.test_client().post("/api/feedback", json=correction()).status_code == 201
    rows = stored(app)
    assert rows[0].id == "old-row-0001" and rows[0].box is None and len(rows) == 2
    assert store.migrate() == VERSION  # already current: nothing more to do
    store.close()


def _post_many(args) -> list[int]:
    config, ids = args
    client = create_app(config).test_client()
    answers = [client.post("/api/feedback", json=correction(id=i)) for i in ids]
    return [(answer.status_code, answer.get_json()) for answer in answers]


def test_concurrent_workers_lose_and_double_nothing(store_config):
    """Four processes post 25 corrections each at once, half of the ids also posted by
    another process: every id is stored exactly once and every post is acknowledged."""
    ids = [f"parallel-{n:04d}" for n in range(60)]
    shares = [ids[0:25], ids[15:40], ids[30:55], ids[35:60]]
    config = {**store_config, "FEEDBACK_PER_MINUTE": 1000}
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        codes = pool.map(_post_many, [(config, share) for share in shares])
    answers = [answer for batch in codes for answer in batch]
    assert all(code in (200, 201) for code, _ in answers), [a for a in answers if a[0] > 201]
    assert sum(code == 201 for code, _ in answers) == len(ids)
    assert sorted(r.id for r in stored(make_app(store_config))) == ids


def test_export_writes_arrays_for_training(tmp_path):
    database = tmp_path / "f.sqlite3"
    client = make_app({"FEEDBACK_DB": str(database)}).test_client()
    for label in (7, "not_a_digit", 3):
        assert client.post("/api/feedback", json=correction(label=label)).status_code == 201
    out = tmp_path / "corrections.npz"
    assert feedback_cli(["--db", str(database), "export", str(out)]) == 0
    with np.load(out, allow_pickle=False) as arrays:
        assert arrays["images"].shape == (3, 28, 28) and arrays["images"].dtype == np.uint8
        assert sorted(arrays["labels"].tolist()) == [3, 7, 10]
        assert np.array_equal(arrays["images"][0], np.asarray(DIGIT))
        assert arrays["predicted"].tolist() == [1, 1, 1]


# PostgreSQL: pool limits, lost connections, a database that is down ------------------------

@pytest.fixture
def postgres_app(postgres_url):
    """An app whose corrections go to a fresh PostgreSQL database; closed at the end."""
    app = make_app({"DATABASE_URL": create_database(postgres_url), "FEEDBACK_PER_MINUTE": 1000})
    yield app
    app.extensions["feedback"].close()


def backends(url: str) -> list[int]:
    """The server process ids of the app's connections (application_name digits)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        return [row[0] for row in connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'digits' "
            "AND datname = current_database()")]


def test_the_pool_opens_at_most_its_size(postgres_url):
    """Eight threads at once through one store of pool size 2: all saved, and the database
    never sees more than 2 of the worker's connections."""
    from concurrent.futures import ThreadPoolExecutor

    url = create_database(postgres_url)
    app = make_app({"DATABASE_URL": url, "DATABASE_POOL_SIZE": 2, "FEEDBACK_PER_MINUTE": 1000})
    store = app.extensions["feedback"].store()
    assert store.pool.max_size == 2
    seen: list[int] = []

    def post(_):
        with app.test_client() as client:
            code = client.post("/api/feedback", json=correction()).status_code
        seen.append(len(backends(url)))
        return code

    with ThreadPoolExecutor(8) as threads:
        codes = list(threads.map(post, range(40)))
    assert codes == [201] * 40 and store.count() == 40
    assert 1 <= max(seen) <= 2
    app.extensions["feedback"].close()


def test_a_connection_closed_by_the_server_is_replaced(postgres_app):
    """Between requests the server ends the pooled connection (a restart, an idle timeout):
    the next correction is saved all the same."""
    import psycopg

    client = postgres_app.test_client()
    assert client.post("/api/feedback", json=correction()).status_code == 201
    url = postgres_app.config["DATABASE_URL"]
    before = backends(url)
    assert before
    with psycopg.connect(url, autocommit=True) as connection:
        for pid in before:
            connection.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert client.post("/api/feedback", json=correction()).status_code == 201
    assert len(stored(postgres_app)) == 2 and not set(backends(url)) & set(before)


def test_a_connection_lost_mid_transaction_is_retried(postgres_app):
    """The connection dies inside the transaction (before the commit): the store retries on a
    fresh one; the correction is saved once."""
    store = postgres_app.extensions["feedback"].store()
    store.ready()
    calls = []

    def work(execute):
        calls.append(1)
        if len(calls) == 1:
            execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return execute("INSERT INTO corrections (id, created_at, image, predicted_status, label, "
                       "model_name, model_version) VALUES ('lost-once-01', 'now', :image, 'ok', "
                       "3, 'default', 'x') ON CONFLICT (id) DO NOTHING",
                       {"image": bytes(784)}).rowcount

    assert store._run(work, write=True) == 1
    assert len(calls) == 2 and [c.id for c in store.corrections()] == ["lost-once-01"]


def test_an_answer_lost_after_the_commit_is_not_stored_twice(postgres_app, monkeypatch):
    """The commit reaches the database but the connection fails before the worker hears
    back: the retry finds the row, the API still acknowledges (200 already_saved), and the
    correction is stored once."""
    import psycopg

    store = postgres_app.extensions["feedback"].store()
    store.ready()
    real_connection = store.pool.connection
    failures = []

    @contextlib.contextmanager
    def connection_that_fails_after_commit(*args, **kwargs):
        with real_connection(*args, **kwargs) as connection:
            yield connection
        if not failures:  # the transaction has committed by now
            failures.append(1)
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(store.pool, "connection", connection_that_fails_after_commit)
    body = correction()
    response = postgres_app.test_client().post("/api/feedback", json=body)
    assert failures and response.status_code == 200
    assert response.get_json() == {"status": "already_saved", "id": body["id"]}
    assert [c.id for c in stored(postgres_app)] == [body["id"]]


def test_a_database_that_is_down_fails_fast_after_the_first_wait():
    """With nothing listening, the first correction waits at most DATABASE_TIMEOUT (1 s
    here) and is refused with 503; the next ones are refused at once, so a worker is not
    held by a dead database."""
    with postgres() as url:
        pass  # started and stopped
    app = create_app({"DATABASE_URL": url, "DATABASE_TIMEOUT": 1})
    client = app.test_client()
    started = time.monotonic()
    first = client.post("/api/feedback", json=correction())
    waited = time.monotonic() - started
    assert first.status_code == 503 and first.get_json()["error"]["code"] == "feedback_unavailable"
    assert 0.9 <= waited < 3.0, waited
    started = time.monotonic()
    codes = [client.post("/api/feedback", json=correction()).status_code for _ in range(5)]
    assert codes == [503] * 5 and time.monotonic() - started < 0.5
    app.extensions["feedback"].close()


@pytest.mark.parametrize("url", ["mysql://db/digits", "sqlite:///x.db", "localhost:5432"])
def test_a_database_url_that_is_not_postgresql_stops_startup(monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(StartupError, match="DATABASE_URL must be a postgresql:// URL"):
        default_config()
