"""Real-world variants of MNIST digits: what people upload instead of clean 28x28 arrays.

Each variant turns one MNIST digit, (28, 28) uint8 white on black, into the encoded bytes of
an image file (PNG or JPEG) as a person might send it: a tight cut-out from a form, an old
low-resolution scan, a phone photo of paper on a desk, a digit in the corner of a page...
Random choices come from the ``rng`` passed in, so a benchmark run is reproducible.

Used by ``bench/bench_robustness.py`` (the full table) and by the quick robustness test.
Built from the MNIST **test** split only; nothing here is used for training.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

Builder = Callable[[np.ndarray, np.random.Generator], bytes]


@dataclass(frozen=True)
class Variant:
    """A named way of turning a digit into an uploaded file; ``blank`` variants hold no digit."""

    name: str
    description: str
    build: Builder
    blank: bool = False


# -------------------------------------------------------------------------- encoding helpers
def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def to_image(values: np.ndarray) -> Image.Image:
    """values (H, W) float in [0, 1] -> 8-bit grayscale image."""
    return Image.fromarray(np.uint8(np.clip(np.rint(values * 255), 0, 255)))


def ink_of(digit: np.ndarray) -> np.ndarray:
    """(28, 28) uint8 -> (28, 28) float32 ink in [0, 1]."""
    return digit.astype(np.float32) / 255.0


def resized(ink: np.ndarray, size: tuple[int, int], resample=Image.Resampling.BILINEAR):
    """ink (h, w) float -> (height, width) float32 with Pillow; size is (width, height)."""
    return np.asarray(Image.fromarray(ink.astype(np.float32)).resize(size, resample), np.float32)


def ink_box(ink: np.ndarray, margin: int = 0) -> np.ndarray:
    """The digit cropped to its inked pixels, plus ``margin`` px of background each side."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.pad(crop, margin)


def longer_side_to(ink: np.ndarray, side: int, resample=Image.Resampling.BILINEAR):
    height, width = ink.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return resized(ink, size, resample)


def on_paper(ink: np.ndarray, paper: float = 1.0, depth: float = 1.0) -> np.ndarray:
    """Dark ink on light paper: paper - depth * ink."""
    return paper - depth * ink


# -------------------------------------------------------------------------- digit variants
def plain(digit, rng):
    return encode(Image.fromarray(digit))


def tight_crop(margin: int) -> Builder:
    def build(digit, rng):
        cut = longer_side_to(ink_box(ink_of(digit), margin), 80)
        return encode(to_image(on_paper(cut)))

    return build


def low_resolution(side: int, upscale=Image.Resampling.BILINEAR, to: int = 64) -> Builder:
    """Box-downsample the whole 28x28 to side x side, then upscale to ``to`` px (an old
    scan, or a small dataset's image blown up to be seen)."""

    def build(digit, rng):
        small = resized(ink_of(digit), (side, side), Image.Resampling.BOX)
        return encode(to_image(on_paper(resized(small, (to, to), upscale))))

    return build


def jpeg_dark_on_light(digit, rng):
    big = resized(ink_of(digit), (112, 112))
    return encode(to_image(on_paper(big)).convert("RGB"), "JPEG", quality=20)


def stroke_width(filter_size: int, thicker: bool) -> Builder:
    """Upscale to 112 px and grow (max filter) or shrink (min filter) the white strokes."""

    def build(digit, rng):
        big = to_image(resized(ink_of(digit), (112, 112)))
        rank = ImageFilter.MaxFilter if thicker else ImageFilter.MinFilter
        return encode(big.filter(rank(filter_size)))

    return build


def rotated(max_degrees: float) -> Builder:
    def build(digit, rng):
        angle = rng.choice([-1, 1]) * rng.uniform(0.6, 1.0) * max_degrees
        big = to_image(resized(np.pad(ink_of(digit), 8), (176, 176)))
        turned = big.rotate(angle, Image.Resampling.BILINEAR, fillcolor=0)
        return encode(turned)

    return build


def perspective(digit, rng):
    """A page photographed at an angle: each corner moved by up to 15% of the side."""
    side = 168
    big = to_image(on_paper(resized(np.pad(ink_of(digit), 6), (side, side))))
    corners = np.array([[0, 0], [side, 0], [side, side], [0, side]], float)
    moved = corners + rng.uniform(-0.15, 0.15, (4, 2)) * side
    coefficients = _perspective_coefficients(moved, corners)
    warped = big.transform((side, side), Image.Transform.PERSPECTIVE, coefficients,
                           Image.Resampling.BILINEAR, fillcolor=255)
    return encode(warped)


def _perspective_coefficients(source: np.ndarray, target: np.ndarray) -> list[float]:
    """The 8 coefficients Pillow's PERSPECTIVE transform takes to map target -> source."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    solution = np.linalg.solve(np.array(rows), source.reshape(-1))
    return solution.tolist()


def noisy(digit, rng):
    """Dark on light with strong sensor-like noise (sigma 0.12) and a slight blur."""
    big = on_paper(resized(np.pad(ink_of(digit), 4), (144, 144)), 0.92, 0.8)
    grainy = big + rng.normal(0.0, 0.12, big.shape)
    return encode(to_image(np.clip(grainy, 0, 1)).filter(ImageFilter.GaussianBlur(0.6)))


def pencil(digit, rng):
    """Light grey pencil (only 0.3-0.4 darker than the paper), a little texture."""
    big = resized(np.pad(ink_of(digit), 4), (144, 144))
    depth = rng.uniform(0.3, 0.4)
    paper = on_paper(big, 0.95, depth) + rng.normal(0.0, 0.015, big.shape)
    return encode(to_image(np.clip(paper, 0, 1)).convert("RGB"), "JPEG", quality=85)


def ruled_paper(digit, rng):
    """A notebook page: blue-grey ruled lines every 28 px, the digit written across them."""
    height, width = 200, 240
    rgb = np.ones((height, width, 3), np.float32) * np.array([0.97, 0.96, 0.92], np.float32)
    offset = int(rng.integers(6, 28))
    for y in range(offset, height, 28):
        rgb[y : y + 2] = np.array([0.62, 0.72, 0.88], np.float32)
    rgb[:, 30:32] = np.array([0.9, 0.55, 0.55], np.float32)  # the red margin line
    ink = resized(ink_of(digit), (120, 120))
    top, left = int(rng.integers(30, 60)), int(rng.integers(60, 100))
    window = rgb[top : top + 120, left : left + 120]
    window *= (1.0 - 0.85 * ink)[:, :, None]
    return encode(Image.fromarray(np.uint8(rgb * 255)), "JPEG", quality=90)


def corner_of_page(digit, rng):
    """A small digit (about 60 px) near a corner of a big, white 1200x1600 page."""
    height, width = 1600, 1200
    page = np.full((height, width), 0.97, np.float32)
    small = resized(ink_of(digit), (84, 84))
    top = int(rng.choice([rng.integers(40, 120), rng.integers(height - 200, height - 100)]))
    left = int(rng.choice([rng.integers(40, 120), rng.integers(width - 200, width - 100)]))
    page[top : top + 84, left : left + 84] -= 0.9 * small
    return encode(to_image(page).convert("RGB"), "JPEG", quality=85)


def desk_photo(digit: np.ndarray | None, rng: np.random.Generator) -> bytes:
    """A phone photo: shaded paper with a dark, textured desk along two edges (one side and
    the bottom, the paper's edges slightly tilted); the digit written on the paper."""
    height, width = 480, 640
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(direction) * xs / width + np.sin(direction) * ys / height)
    light = rng.uniform(0.72, 0.8) + rng.uniform(0.1, 0.18) * (ramp - ramp.min()) / np.ptp(ramp)
    side_band = rng.uniform(0.06, 0.16) * width
    bottom_band = rng.uniform(0.06, 0.14) * height
    side_edge = side_band + (ys - height / 2) * rng.uniform(-0.06, 0.06)
    bottom_edge = height - bottom_band + (xs - width / 2) * rng.uniform(-0.04, 0.04)
    desk_on_right = rng.random() < 0.5
    on_desk = ((width - xs if desk_on_right else xs) < side_edge) | (ys > bottom_edge)
    photo = light.copy()
    if digit is not None:  # on the paper, at least 20 px from its edges
        side = int(rng.integers(150, 240))
        ink = resized(ink_of(digit), (side, side))
        top = int(rng.integers(20, height - bottom_band - 0.06 * width - side - 20))
        paper_left = 20 + (0 if desk_on_right else side_band + 0.03 * height)
        paper_right = width - 20 - (side_band + 0.03 * height if desk_on_right else 0)
        left = int(rng.integers(paper_left, paper_right - side))
        photo[top : top + side, left : left + side] -= rng.uniform(0.45, 0.6) * ink
    desk = 0.18 + 0.06 * np.sin(xs / rng.uniform(5, 11) + 3 * np.sin(ys / 37.0))
    photo = np.where(on_desk, desk, photo) + rng.normal(0.0, 0.02, photo.shape)
    image = to_image(np.clip(photo, 0, 1)).filter(ImageFilter.GaussianBlur(1.0))
    return encode(image.convert("RGB"), "JPEG", quality=80)


# -------------------------------------------------------------------------- blank variants
def blank_white(digit, rng):
    return encode(Image.new("L", (280, 280), 255))


def blank_transparent(digit, rng):
    return encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))


def blank_noisy_paper(digit, rng):
    lighting = np.linspace(0.55, 0.9, 640)[None, :] * np.ones((480, 1), np.float32)
    photo = lighting + rng.normal(0, 0.03, lighting.shape)
    return encode(to_image(np.clip(photo, 0, 1)).convert("RGB"), "JPEG", quality=80)


def blank_desk_photo(digit, rng):
    return desk_photo(None, rng)


VARIANTS: tuple[Variant, ...] = (
    Variant("plain", "plain 28x28 (white on black)", plain),
    Variant("tight", "cropped to the ink, no margin, upscaled to 80 px", tight_crop(0)),
    Variant("tight+1", "cropped to the ink with a 1 px margin, upscaled", tight_crop(1)),
    Variant("scan8", "box-downsampled to 8x8, upscaled (bilinear)", low_resolution(8)),
    Variant("scan8-blocky", "8x8, upscaled with nearest neighbour",
            low_resolution(8, Image.Resampling.NEAREST)),
    Variant("scan8-28", "8x8, upscaled to only 28x28 (bilinear)",
            low_resolution(8, to=28)),
    Variant("scan12", "12x12, upscaled (bilinear)", low_resolution(12)),
    Variant("scan16", "16x16, upscaled (bilinear)", low_resolution(16)),
    Variant("jpeg20", "dark on light, JPEG quality 20", jpeg_dark_on_light),
    Variant("thick", "very thick strokes (112 px, 9x9 max filter)", stroke_width(9, True)),
    Variant("thin", "thin strokes (112 px, 5x5 min filter)", stroke_width(5, False)),
    Variant("rotated25", "rotated 15-25 degrees either way", rotated(25.0)),
    Variant("perspective", "photographed at an angle (perspective)", perspective),
    Variant("noisy", "strong noise (sigma 0.12), slight blur", noisy),
    Variant("pencil", "light grey pencil on white, JPEG", pencil),
    Variant("ruled", "on ruled notebook paper, JPEG", ruled_paper),
    Variant("corner", "small, in a corner of a 1200x1600 page", corner_of_page),
    Variant("desk-photo", "photo: shaded paper, dark desk along two edges", desk_photo),
    Variant("blank-white", "blank white canvas", blank_white, blank=True),
    Variant("blank-transparent", "blank transparent canvas", blank_transparent, blank=True),
    Variant("blank-paper", "photo of blank, shaded paper", blank_noisy_paper, blank=True),
    Variant("blank-desk", "photo of blank paper on a desk", blank_desk_photo, blank=True),
)
BY_NAME = {variant.name: variant for variant in VARIANTS}
