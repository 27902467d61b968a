"""Request bodies that attack the JSON parser itself: nesting deep enough to exhaust Python's
recursion limit must be a 400 JSON answer, not a crash (500)."""

from __future__ import annotations

import pytest

from app.factory import create_app

DEPTH = 100_000  # far past Python's recursion limit; 200 KB, well under the body limit


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


@pytest.mark.parametrize(
    "body",
    [
        "[" * DEPTH + "]" * DEPTH,
        '{"image": ' + "[" * DEPTH + "]" * DEPTH + "}",
        '{"a": ' * DEPTH + "1" + "}" * DEPTH,
    ],
    ids=["arrays", "inside-the-image-field", "objects"],
)
def test_deeply_nested_json_is_a_400_json_error(client, body):
    response = client.post("/predict", data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["code"] == "invalid_json"
