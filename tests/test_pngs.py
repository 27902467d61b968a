"""The PNGs the answers carry decode, with Pillow, to exactly the pixels they were made of."""

from __future__ import annotations

import numpy as np
import pytest

from app.pngs import png_data_url
from tests.images import decode_data_url


@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (7, 13), (28, 28), (64, 5)])
def test_grayscale_png_round_trips_through_pillow(shape):
    rng = np.random.default_rng(sum(shape))
    values = rng.random(shape, dtype=np.float32)
    values[0, 0] = 0.0
    values[-1, -1] = 1.0
    image = decode_data_url(png_data_url(values))
    assert image.mode == "L" and image.size == (shape[1], shape[0])
    expected = np.rint(values * 255).astype(np.uint8)
    assert np.array_equal(np.asarray(image), expected)


def test_values_outside_0_1_are_clipped():
    image = decode_data_url(png_data_url(np.array([[-0.5, 0.5, 1.5]], np.float32)))
    assert np.asarray(image).tolist() == [[0, 128, 255]]
