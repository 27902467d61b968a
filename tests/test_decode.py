"""Decoding large and unusual images: reduced before any float work, bounded in memory, boxes
reported in the uploaded image's own pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.reading.decode import ANALYSIS_PIXELS, MAX_DECODED_BYTES, decode_image
from app.reading.errors import ImageError
from app.reading.prepare import prepare
from tests.images import draw_digit, encode

BOX = (0.3, 0.2, 0.6, 0.8)  # where draw_digit puts the digit, as fractions of the image


def expected_box(width: int, height: int) -> np.ndarray:
    return np.array([BOX[0] * width, BOX[1] * height, BOX[2] * width, BOX[3] * height])


@pytest.mark.parametrize(
    ("fmt", "mode", "width", "height"),
    [("JPEG", "L", 4000, 3000), ("JPEG", "RGB", 4000, 3000), ("PNG", "L", 4000, 3000),
     ("WEBP", "RGB", 1000, 800), ("GIF", "P", 4000, 3000)],
)
def test_large_images_are_decoded_reduced_and_boxes_come_back_in_their_pixels(
    fmt, mode, width, height
):
    image = draw_digit("7", size=(width, height), box=BOX, stroke=0.08).convert(mode)
    decoded = decode_image(encode(image, fmt))
    assert decoded.gray.size <= ANALYSIS_PIXELS and decoded.size == (width, height)
    assert decoded.scale == pytest.approx(decoded.gray.shape[0] / height)
    box = np.array(prepare(decoded).digits[0].box)
    stroke = 0.08 * (BOX[3] - BOX[1]) * height  # the pen's width: caps reach past the box
    assert np.abs(box - expected_box(width, height)).max() <= stroke


def test_exif_rotation_of_a_reduced_photo_gives_upright_size_and_boxes():
    upright = draw_digit("7", size=(1200, 1600), box=BOX).convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone stores it
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(encode(stored, "JPEG", quality=90, exif=exif.tobytes()))
    assert decoded.size == (1200, 1600) and decoded.gray.shape[0] > decoded.gray.shape[1]
    box = np.array(prepare(decoded).digits[0].box)
    assert np.abs(box - expected_box(1200, 1600)).max() <= 0.06 * 960


@pytest.mark.parametrize(
    ("mode", "size"),
    [("RGBA", (4096, 4096)), ("RGB", (3000, 2500)), ("I;16", (2600, 2600))],
)
def test_formats_decoded_at_full_size_are_refused_beyond_the_memory_limit(mode, size):
    image = Image.new(mode, size)
    with pytest.raises(ImageError) as error:
        decode_image(encode(image, "PNG"))
    assert error.value.status == 413 and error.value.code == "image_too_large"
    assert f"{MAX_DECODED_BYTES // 2**20} MiB" in error.value.message


def test_the_same_size_as_jpeg_is_accepted():
    image = Image.new("RGB", (4096, 4096), (250, 250, 250))
    assert decode_image(encode(image, "JPEG")).size == (4096, 4096)


def test_a_progressive_jpeg_is_refused_when_its_coefficients_exceed_the_limit():
    """libjpeg holds every coefficient of a progressive JPEG (draft mode or not): 2 bytes per
    sample, 3 per pixel for 4:2:0 colour, so 2400x2400 needs 16.5 MiB."""
    image = Image.new("RGB", (2400, 2400), (250, 250, 250))
    with pytest.raises(ImageError) as error:
        decode_image(encode(image, "JPEG", progressive=True))
    assert error.value.status == 413 and "progressive" in error.value.message
    assert decode_image(encode(image, "JPEG")).size == (2400, 2400)  # baseline: fine
    smaller = Image.new("RGB", (2300, 2300), (250, 250, 250))
    assert decode_image(encode(smaller, "JPEG", progressive=True)).size == (2300, 2300)
    gray = Image.new("L", (2800, 2800), 250)  # one component: 2 bytes per pixel
    assert decode_image(encode(gray, "JPEG", progressive=True)).size == (2800, 2800)


def test_transparent_palette_is_reduced_with_its_transparency():
    image = draw_digit("7", size=(1600, 1600), ink=1, background=0, mode="P")
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    decoded = decode_image(encode(image, "PNG", transparency=0))
    assert decoded.alpha is not None and decoded.scale < 1
    assert prepare(decoded).digits
