"""Real-MNIST round trip through the API: proves the preprocessing matches training.

200 MNIST test digits go through POST /predict as white-on-black PNGs, as inverted
black-on-white PNGs and as transparent-canvas RGBA PNGs (dark strokes, ink in alpha), each
upscaled to a canvas-like 140x140 as well. The API must agree with the labels about as often
as the network does on the raw MNIST arrays, and call hardly any of them "not a digit".
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.factory import create_app
from model.inference import to_network_input
from tests.images import encode, mnist_test_set

COUNT = 200
TOLERANCE = 0.02  # of the network's own accuracy on the same digits
#: Real MNIST digits the service may call "not a digit" (0.1% of the test set is refused).
MAX_REFUSED = 2


@pytest.fixture(scope="module")
def app():
    return create_app()


@pytest.fixture(scope="module")
def digits():
    images, labels = mnist_test_set()
    return images[:COUNT], labels[:COUNT].astype(int)


@pytest.fixture(scope="module")
def own_accuracy(app, digits):
    images, labels = digits
    predictor = app.extensions["digits_predictor"]
    x = to_network_input(images, predictor.loaded.normalization)
    return float((predictor.network.predict(x) == labels).mean())


def white_on_black(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(digit)


def black_on_white(digit: np.ndarray) -> Image.Image:
    return Image.fromarray(255 - digit)


def transparent_canvas(digit: np.ndarray) -> Image.Image:
    rgba = np.zeros((*digit.shape, 4), np.uint8)
    rgba[..., :3] = 20  # dark strokes
    rgba[..., 3] = digit  # the ink is the opacity
    return Image.fromarray(rgba)


def upscaled(make):
    def build(digit: np.ndarray) -> Image.Image:
        return make(digit).resize((140, 140), Image.Resampling.BICUBIC)

    return build


ENCODINGS = {
    "white-on-black": white_on_black,
    "black-on-white": black_on_white,
    "transparent-canvas": transparent_canvas,
    "black-on-white-140px": upscaled(black_on_white),
    "transparent-canvas-140px": upscaled(transparent_canvas),
}


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_round_trip_accuracy_matches_the_network(app, digits, own_accuracy, encoding):
    images, labels = digits
    client = app.test_client()
    predicted = []
    for digit in images:
        response = client.post("/predict", data=encode(ENCODINGS[encoding](digit)),
                               content_type="image/png")
        assert response.status_code == 200
        body = response.get_json()
        assert body["status"] in ("ok", "not_a_digit"), body["message"]
        predicted.append(body["digit"] if body["status"] == "ok" else -1)  # a refusal is a miss
    refused = predicted.count(-1)
    assert refused <= MAX_REFUSED, (encoding, refused)
    accuracy = float((np.array(predicted) == labels).mean())
    assert accuracy >= own_accuracy - TOLERANCE, (encoding, accuracy, own_accuracy)
    test_accuracy = app.extensions["digits_predictor"].test_accuracy
    if test_accuracy is not None:
        assert accuracy >= test_accuracy - 0.04, (encoding, accuracy, test_accuracy)
