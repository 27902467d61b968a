"""Unit tests of the reading pipeline's preprocessing (app.reading: decode, ink, normalize)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from app.reading.decode import decode_image
from app.reading.normalize import BOX, CENTRE, SIZE
from app.reading.prepare import prepare
from tests.images import draw_digit, encode, mnist_test_set


def prepared(image: Image.Image, fmt: str = "PNG", **options) -> np.ndarray:
    """Encode, decode and preprocess like the API does; returns the 28x28 (or its reason)."""
    result = prepare(decode_image(encode(image, fmt, **options)))
    assert result.blank_reason is None, result.blank_reason
    assert len(result.digits) == 1
    return result.digits[0].image


def blank_reason(image: Image.Image) -> str | None:
    return prepare(decode_image(encode(image))).blank_reason


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    return float((image * rows).sum() / image.sum()), float((image * cols).sum() / image.sum())


def extent(image: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(image.any(1)), np.flatnonzero(image.any(0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def close(a: np.ndarray, b: np.ndarray, tolerance: float = 0.02) -> bool:
    """Mean absolute difference below ``tolerance``: a blank 28x28 and a digit differ by
    about 0.13, two different digits by about 0.1 (see the test below)."""
    return float(np.abs(a - b).mean()) < tolerance


REFERENCE = draw_digit("7", size=(280, 280), ink=255, background=0)


def test_the_closeness_measure_tells_digits_apart():
    one = prepared(draw_digit("1", size=(280, 280), ink=255, background=0))
    blank = np.zeros_like(one)
    assert close(prepared(REFERENCE), prepared(REFERENCE), 0.001)
    assert not close(prepared(REFERENCE), one, 0.05) and not close(prepared(REFERENCE), blank, 0.05)


def test_output_is_28x28_float_in_unit_range_with_mnist_geometry():
    image = prepared(REFERENCE)
    assert image.shape == (SIZE, SIZE) and image.dtype == np.float32
    assert image.min() >= 0.0 and 0.95 < image.max() <= 1.0
    assert max(extent(image)) == BOX
    cy, cx = centre_of_mass(image)
    assert abs(cy - CENTRE) <= 0.5 and abs(cx - CENTRE) <= 0.5


def test_small_off_centre_digit_matches_big_centred_digit():
    big = prepared(draw_digit("7", size=(400, 400), box=(0.1, 0.1, 0.9, 0.9), stroke=0.07,
                              ink=255, background=0))
    small = prepared(draw_digit("7", size=(400, 400), box=(0.68, 0.05, 0.83, 0.2), stroke=0.07,
                                ink=255, background=0))
    assert close(big, small, 0.03), np.abs(big - small).mean()


def test_aspect_ratio_is_kept():
    one = prepared(draw_digit("1", size=(300, 300), box=(0.45, 0.1, 0.55, 0.9), ink=255,
                              background=0))
    height, width = extent(one)
    assert height == BOX and width < 10


def test_large_photo_sized_image_is_antialiased_not_aliased():
    huge = draw_digit("4", size=(2000, 2000), box=(0.3, 0.3, 0.7, 0.7), stroke=0.08, ink=255,
                      background=0)
    small = draw_digit("4", size=(200, 200), box=(0.3, 0.3, 0.7, 0.7), stroke=0.08, ink=255,
                       background=0)
    assert close(prepared(huge), prepared(small), 0.03)


@pytest.mark.parametrize(
    ("ink", "background", "mode"),
    [(0, 255, "L"), ((20, 30, 120), (250, 250, 240), "RGB"), ((0, 0, 0, 255), (0, 0, 0, 0), "RGBA"),
     ((255, 255, 255, 255), (0, 0, 0, 0), "RGBA"), ((0, 255), (0, 0), "LA"), (1, 0, "1")],
    ids=["dark-on-white", "blue-on-cream", "dark-on-transparent", "white-on-transparent",
         "LA-transparent", "1-bit"],
)
def test_polarity_and_transparency_give_the_same_digit(ink, background, mode):
    image = draw_digit("7", ink=ink, background=background, mode=mode)
    assert close(prepared(REFERENCE), prepared(image), 0.005)


def test_transparent_canvas_with_opaque_white_fill_reads_as_dark_on_light():
    canvas = draw_digit("7", ink=(0, 0, 0, 255), background=(255, 255, 255, 255), mode="RGBA")
    assert close(prepared(REFERENCE), prepared(canvas), 0.005)


def test_palette_with_transparency_index():
    image = draw_digit("7", ink=1, background=0, mode="P")
    image.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    image.info["transparency"] = 0
    assert close(prepared(REFERENCE), prepared(image, transparency=0), 0.005)


def test_sixteen_bit_grayscale():
    image = Image.fromarray(np.asarray(REFERENCE, np.uint16) * 257)
    assert image.mode.startswith("I")
    assert close(prepared(REFERENCE), prepared(image), 0.005)


def test_cmyk_jpeg():
    image = draw_digit("7", ink=255, background=0).convert("RGB")
    cmyk = Image.eval(image, lambda v: 255 - v).convert("CMYK")
    assert close(prepared(REFERENCE), prepared(cmyk, "JPEG", quality=95), 0.005)


@pytest.mark.parametrize(
    ("darkest_paper", "lightest_paper", "ink_depth"),
    [(0.75, 0.95, 0.55), (0.45, 0.95, 0.35), (0.3, 0.9, 0.25)],
    ids=["even-light", "shaded", "dim-pencil"],
)
def test_photo_of_paper_with_shading_noise_and_jpeg(darkest_paper, lightest_paper, ink_depth):
    """A phone photo: uneven lighting across the page, sensor noise, blur, JPEG."""
    rng = np.random.default_rng(0)
    size, box = (640, 480), (0.35, 0.25, 0.65, 0.75)
    paper_ink = np.asarray(draw_digit("4", size=size, box=box), np.float32) / 255
    lighting = (np.linspace(darkest_paper, lightest_paper, size[0])[None, :]
                * np.linspace(0.85, 1.0, size[1])[:, None])
    photo = lighting - (1 - paper_ink) * ink_depth + rng.normal(0, 0.02, paper_ink.shape)
    image = Image.fromarray(np.uint8(np.clip(photo, 0, 1) * 255)).filter(ImageFilter.BLUR)
    reference = draw_digit("4", size=size, box=box, ink=255, background=0)
    assert close(prepared(reference), prepared(image.convert("RGB"), "JPEG", quality=80), 0.015)


def test_noisy_photo_of_blank_paper_is_not_a_digit():
    rng = np.random.default_rng(2)
    lighting = np.linspace(0.5, 0.9, 640)[None, :] * np.ones((480, 1))
    photo = lighting + rng.normal(0, 0.03, lighting.shape)
    image = Image.fromarray(np.uint8(np.clip(photo, 0, 1) * 255)).convert("RGB")
    assert prepare(decode_image(encode(image, "JPEG", quality=80))).blank_reason is not None


@pytest.mark.parametrize(
    "image",
    [Image.new("L", (280, 280), 255), Image.new("L", (280, 280), 0),
     Image.new("RGBA", (280, 280), (0, 0, 0, 0)), Image.new("RGB", (50, 50), (120, 130, 140))],
    ids=["white", "black", "transparent", "grey"],
)
def test_blank_images_have_no_digit(image):
    assert blank_reason(image) == "No digit found: the image is blank."


def test_faint_noise_is_not_a_digit():
    rng = np.random.default_rng(1)
    noise = np.uint8(np.clip(rng.normal(235, 4, (280, 280)), 0, 255))
    assert blank_reason(Image.fromarray(noise)) is not None


def test_a_speck_is_not_a_digit():
    image = Image.new("L", (280, 280), 255)
    image.putpixel((100, 100), 0)
    image.putpixel((101, 100), 0)
    assert blank_reason(image) is not None


def test_blank_result_has_no_digits():
    result = prepare(decode_image(encode(Image.new("L", (28, 28), 0))))
    assert result.digits == [] and result.blank_reason is not None


def test_mnist_digits_pass_through_unchanged():
    """MNIST digits are already preprocessed, so nearly all come out as they went in (a few
    move by a pixel: MNIST's own centring rounded some half-pixel cases the other way)."""
    images, _ = mnist_test_set()
    unchanged = sum(
        float(np.abs(prepared(Image.fromarray(digit)) - digit / 255.0).max()) < 0.02
        for digit in images[:200]
    )
    assert unchanged >= 190


def test_exif_orientation_is_applied():
    upright = draw_digit("7", ink=0, background=255).convert("RGB")
    stored_sideways = upright.transpose(Image.Transpose.ROTATE_90)  # as a phone would store it
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    assert close(prepared(upright, "JPEG", quality=95),
                 prepared(stored_sideways, "JPEG", quality=95, exif=exif.tobytes()), 0.005)


@pytest.mark.parametrize(("pen", "low", "high"), [(0.45, 2.0, 3.4), (0.004, 1.0, 2.4)],
                         ids=["broad-brush", "hairline"])
def test_pens_far_from_mnists_are_brought_into_its_range(pen, low, high):
    """A small digit drawn with a broad brush is thinned, a hairline thickened, so the
    framed strokes measure what MNIST's do; ordinary pens are left alone."""
    from app.reading.normalize import stroke_width

    image = draw_digit("7", size=(400, 400), box=(0.3, 0.3, 0.6, 0.7), stroke=pen,
                       ink=255, background=0)
    framed = prepared(image)
    assert low <= stroke_width(framed >= 0.45) <= high
    ordinary = prepared(REFERENCE)
    assert 1.2 <= stroke_width(ordinary >= 0.45) <= 3.5
