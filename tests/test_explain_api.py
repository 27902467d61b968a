"""/predict?explain=1: saliency maps for every mark, and frames that place them on the upload."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.factory import create_app
from tests.images import decode_data_url, draw_digit, encode


@pytest.fixture(scope="module")
def client():
    return create_app().test_client()


def test_every_mark_gets_both_maps_for_the_digit_read(client):
    image = draw_digit("7", size=(300, 200), box=(0.3, 0.2, 0.6, 0.8))
    body = client.post("/predict?explain=1", data=encode(image),
                       content_type="image/png").get_json()
    [mark] = body["digits"]
    explanation = mark["explanation"]
    assert explanation["target"] == mark["digit"] == body["digit"]
    seen = np.asarray(decode_data_url(mark["input_image"]), np.float32) / 255
    for name in ("integrated_gradients", "occlusion"):
        values = np.array(explanation[name]["values"])
        assert values.shape == (28, 28)
        overlay = decode_data_url(explanation[name]["png"])
        assert overlay.size == (28, 28) and overlay.mode == "RGBA"
    attributions = np.array(explanation["integrated_gradients"]["values"])
    assert np.abs(attributions[seen == 0]).max() == 0  # blank pixels get no share
    assert attributions[seen > 0.5].sum() > 0  # the ink pushed towards the digit read


def test_the_frame_places_the_28x28_over_the_upload(client):
    image = draw_digit("1", size=(400, 300), box=(0.45, 0.2, 0.55, 0.8), ink=0, background=255)
    body = client.post("/predict", data=encode(image), content_type="image/png").get_json()
    [mark] = body["digits"]
    frame = mark["frame"]
    seen = np.asarray(decode_data_url(mark["input_image"]))
    rows, cols = np.nonzero(seen > 128)
    left = frame["x0"] + cols.min() / frame["scale"]
    right = frame["x0"] + (cols.max() + 1) / frame["scale"]
    top = frame["y0"] + rows.min() / frame["scale"]
    bottom = frame["y0"] + (rows.max() + 1) / frame["scale"]
    x0, y0, x1, y1 = mark["box"]
    step = 1 / frame["scale"]  # one 28x28 pixel, in upload pixels
    assert abs(left - x0) <= 1.5 * step and abs(right - x1) <= 1.5 * step
    assert abs(top - y0) <= 1.5 * step and abs(bottom - y1) <= 1.5 * step


def test_without_explain_there_is_no_explanation(client):
    body = client.post("/predict", data=encode(Image.new("L", (50, 50), 255)),
                       content_type="image/png").get_json()
    assert body["status"] == "no_digit" and body["digits"] == []
    body = client.post("/predict", data=encode(draw_digit("7")), content_type="image/png")
    assert "explanation" not in body.get_json()["digits"][0]
