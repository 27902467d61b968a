"""Nothing of a request outlives it in a worker, so any replica answers any request alike:
the model is read-only, answers do not depend on what came before, and no response sets a
cookie. (The one thing a worker keeps between requests is its count of recent corrections,
the per-worker rate limit: protection, not state a client depends on.)"""

from __future__ import annotations

import hashlib

import numpy as np

from app.factory import create_app
from tests.images import draw_digit, encode
from tests.test_feedback import correction

SEVEN = encode(draw_digit("7"))


def model_state(app) -> str:
    """A hash of everything the served networks compute with: every parameter and buffer,
    the mode and the layers' flags."""
    digest = hashlib.sha256()
    predictor = app.extensions["digits_predictor"]
    for network in (predictor.network, predictor.inference_network):
        for name, array in sorted({**network.parameters(), **network.buffers()}.items()):
            digest.update(name.encode() + np.ascontiguousarray(array).tobytes())
        digest.update(repr((network.training, [vars(layer).get("needs_input_grad")
                                               for layer in network.layers])).encode())
    return digest.hexdigest()


def answer(client, body: bytes = SEVEN, query: str = "") -> dict:
    response = client.post(f"/predict{query}", data=body, content_type="image/png")
    assert response.status_code in (200, 422)
    assert "Set-Cookie" not in response.headers
    document = response.get_json()
    document.pop("time_ms", None)
    return document


def test_a_worker_answers_the_same_whatever_came_before(tmp_path):
    config = {"FEEDBACK_DB": str(tmp_path / "f.sqlite3")}
    app = create_app(config)
    client = app.test_client()
    extensions, state = set(app.extensions), model_state(app)
    first = answer(client)
    # other requests in between: other digits, explanations, a correction, errors
    answer(client, encode(draw_digit("1")), "?explain=1")
    answer(client, encode(draw_digit("4")))
    answer(client, b"not an image")
    saved = client.post("/api/feedback", json=correction())
    assert saved.status_code == 201 and "Set-Cookie" not in saved.headers
    for path in ("/", "/api/model", "/readyz", "/healthz", "/openapi.json"):
        assert "Set-Cookie" not in client.get(path).headers
    assert answer(client) == first
    assert model_state(app) == state  # the model is read-only
    assert set(app.extensions) == extensions
    # another replica, fresh, answers the same
    assert answer(create_app(config).test_client()) == first
