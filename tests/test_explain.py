"""Feature maps for "look inside": one scale per layer, and no bright frame from padding."""

from __future__ import annotations

import numpy as np
import pytest

from app.factory import ROOT
from app.predictor import Predictor
from tests.images import decode_data_url, draw_digit


@pytest.fixture(scope="module", params=["default", "seed"])
def predictor(request):
    return Predictor.from_file(ROOT / "params" / f"{request.param}.pkl")


def digit_image() -> np.ndarray:
    """A 7, white on black, 28x28 in [0, 1]."""
    image = draw_digit("7", ink=255, background=0).convert("L").resize((28, 28))
    return np.asarray(image, np.float32) / 255.0


def pixels(data_url: str) -> np.ndarray:
    return np.asarray(decode_data_url(data_url), np.float32) / 255.0


def test_one_scale_per_layer(predictor):
    for entry in predictor.feature_maps(digit_image()):
        low, high = entry["scale"]["min"], entry["scale"]["max"]
        assert high > low and max(entry["peaks"]) == pytest.approx(high, abs=1e-4)
        for peak, url in zip(entry["peaks"], entry["maps"], strict=True):
            # A map is as bright as its strongest value on the layer's scale, not stretched.
            brightest = pixels(url).max() * (high - low) + low
            assert brightest == pytest.approx(peak, abs=(high - low) / 255 + 1e-4)


def test_blank_paper_shows_no_frame(predictor):
    """With nothing drawn, every map is uniform: the border is not lit by zero padding."""
    for entry in predictor.feature_maps(np.zeros((28, 28), np.float32)):
        for url in entry["maps"]:
            values = pixels(url)
            assert values.max() - values.min() <= 1 / 255 + 1e-6, entry["layer"]


def test_maps_are_the_networks_own_away_from_the_border(predictor):
    image = digit_image()
    own = predictor.network.feature_maps(predictor._input(image)[0])
    for entry, real in zip(predictor.feature_maps(image), own, strict=True):
        assert (entry["channels"], entry["height"], entry["width"]) == real.maps.shape
        low, high = entry["scale"]["min"], entry["scale"]["max"]
        shown = np.stack([pixels(url) for url in entry["maps"]]) * (high - low) + low
        inner = slice(3, -3) if real.maps.shape[1] > 8 else slice(2, -2)  # past the padding
        if all(spec.get("padding") != "same" for spec in predictor.network.spec()):
            inner = slice(None)  # no padding: exactly the network's maps
        np.testing.assert_allclose(shown[:, inner, inner], real.maps[:, inner, inner],
                                   atol=(high - low) / 255 + 1e-3)
