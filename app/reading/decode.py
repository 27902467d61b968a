"""Decoding untrusted image bytes with Pillow, safely and cheaply, into float arrays.

:func:`decode_image` accepts PNG, JPEG, GIF (first frame), BMP and WebP in any mode (1, L,
LA, P, PA, RGB, RGBA, CMYK, YCbCr, I;16...). Dimensions are checked from the header before a
single pixel is decoded; Pillow's decompression-bomb checks are errors, not warnings. The
EXIF orientation is applied, so a phone photo stored sideways is read upright.

The cost of a request is bounded before any float conversion: a large image is decoded
*reduced* to at most :data:`ANALYSIS_PIXELS` pixels (JPEG by libjpeg itself at 1/2, 1/4 or
1/8 scale, in draft mode, so a 4096x4096 photo is never held at full size; other formats by
an integer box reduction right after decoding). Those other formats must fit in
:data:`MAX_DECODED_BYTES` when decoded, which bounds a worker's memory.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.reading.errors import ImageError

#: Formats we decode; Pillow is not asked to try any other plugin.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
#: Largest accepted width or height, and largest accepted pixel count.
MAX_SIDE = 4096
MAX_PIXELS = MAX_SIDE * MAX_SIDE
#: Largest decoded size (Pillow's in-memory bytes) of a format that cannot be decoded reduced.
MAX_DECODED_BYTES = 16 * 1024 * 1024
#: Images are reduced (by a whole factor, keeping the aspect ratio) to at most this many
#: pixels: about 640x512, several times more than a digit needs to be read.
ANALYSIS_PIXELS = 640 * 512

#: Magic numbers of image formats we recognise but do not accept (answered with 415).
_OTHER_FORMATS = {
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"\x00\x00\x01\x00": "ICO",
    b"%PDF": "PDF",
    b"8BPS": "PSD",
    b"qoif": "QOI",
}
ORIENTATION_TAG = 0x0112
#: EXIF orientation -> the transpose that makes the image upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = frozenset({
    Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270, Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
})


@dataclass
class Decoded:
    """A decoded image, upright, possibly reduced.

    gray (h, w) float32 in [0, 1]; alpha (h, w) float32 or None (no transparency);
    ``size`` (width, height) of the uploaded image, upright; ``scale`` = h / height, the
    decoded pixels per uploaded pixel (1.0 unless the image was reduced).
    """

    gray: np.ndarray
    alpha: np.ndarray | None
    size: tuple[int, int]
    scale: float


def decode_image(data: bytes, max_pixels: int = ANALYSIS_PIXELS) -> Decoded:
    """Image file bytes -> :class:`Decoded`; raises :class:`ImageError` (400/413/415/422)."""
    if not data:
        raise ImageError(400, "empty_image", "The image is empty (0 bytes).")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open(data)
            _check_dimensions(image)
            image.seek(0)  # first frame of an animation
            width, height = image.size
            factor = reduction_factor(image.size, max_pixels)
            if image.format == "JPEG":
                _check_progressive_size(image)
            if image.format == "JPEG" and factor > 1:
                gray_ok = image.mode in ("RGB", "YCbCr", "L")
                image.draft("L" if gray_ok else image.mode, (width // factor, height // factor))
            else:
                _check_decoded_size(image)
            image.load()
            transpose = _TRANSPOSE.get(exif_orientation(image))  # (PNG reads it after load)
            image = reduced(workable(image), max_pixels)
            scale = image.height / height
            if transpose is not None:
                image = image.transpose(transpose)
                if transpose in _SWAPS_AXES:
                    width, height = height, width
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(
                422, "decompression_bomb",
                f"The image was refused as a decompression bomb: {exc}",
            ) from exc
        except Exception as exc:  # malformed files make Pillow's plugins raise many types
            raise ImageError(422, *_decode_failure(exc)) from exc
        gray, alpha = to_gray_alpha(image)
    return Decoded(gray, alpha, (width, height), scale)


def reduction_factor(size: tuple[int, int], max_pixels: int) -> int:
    """The smallest whole factor that brings width x height down to ``max_pixels``."""
    width, height = size
    return max(1, math.ceil(math.sqrt(width * height / max_pixels)))


def workable(image: Image.Image) -> Image.Image:
    """A mode that box reduction and gray conversion handle: palettes, 1-bit and colour-keyed
    transparency are expanded (to L, or RGBA when transparent); 16-bit goes to 32-bit."""
    transparent = "transparency" in image.info
    if image.mode in ("P", "PA") or (transparent and image.mode in ("L", "RGB", "1")):
        return image.convert("RGBA" if transparent or image.mode == "PA" else "L")
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I;16"):
        return image.convert("I")
    return image


def reduced(image: Image.Image, max_pixels: int) -> Image.Image:
    """Box-reduce by a whole factor to at most ``max_pixels`` (Pillow's Image.reduce)."""
    factor = reduction_factor(image.size, max_pixels)
    return image.reduce(factor) if factor > 1 else image


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError as exc:
        other = next((n for magic, n in _OTHER_FORMATS.items() if data.startswith(magic)), None)
        if other is not None:
            raise ImageError(
                415, "unsupported_image_format",
                f"{other} images are not supported: send PNG, JPEG, GIF, BMP or WebP.",
            ) from exc
        raise ImageError(
            422, "not_an_image",
            "The data is not an image in a supported format (PNG, JPEG, GIF, BMP or WebP).",
        ) from exc


def exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8; phone photos are often stored sideways), 1 when there is
    none; a broken EXIF block is ignored rather than refused."""
    try:
        orientation = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # malformed EXIF data: Pillow raises several types
        return 1
    return orientation if isinstance(orientation, int) else 1


def _check_dimensions(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(422, "corrupt_image", f"The image has no pixels ({width}x{height}).")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ImageError(
            413, "image_too_large",
            f"The image is {width}x{height} pixels; the limit is {MAX_SIDE} pixels a side.",
        )


#: What decoding a multi-band image at full size costs a worker in memory, per byte of
#: Pillow's storage (measured with bench/bench_limits.py: the decoders keep buffers of their
#: own, libwebp a whole second RGBA copy).
_DECODER_OVERHEAD = {"WEBP": 4, "PNG": 2}


def decoded_bytes_per_pixel(image: Image.Image) -> int:
    """Memory per pixel while decoding at full size: Pillow's storage (one byte for 1, L
    and P; two for 16-bit; four for every multi-band mode), what :func:`workable` expands
    it to before it can be reduced, and the decoder's own buffers for multi-band images."""
    mode = image.mode
    if mode.startswith("I;16"):
        return 2 + 4
    if mode == "PA":
        return 4 + 4
    if mode in ("P", "1"):
        return 1 + (4 if "transparency" in image.info else 1)
    if mode == "L":
        return 1
    return 4 * _DECODER_OVERHEAD.get(image.format or "", 1)


def _check_decoded_size(image: Image.Image) -> None:
    """Refuse (413) an image whose full-size decoding would take too much memory."""
    per_pixel = decoded_bytes_per_pixel(image)
    needed = image.width * image.height * per_pixel
    if needed > MAX_DECODED_BYTES:
        largest = int(math.sqrt(MAX_DECODED_BYTES / per_pixel))
        raise ImageError(
            413, "image_too_large",
            f"The image is {image.width}x{image.height} pixels in mode {image.mode}: decoded, "
            f"that is {needed / 2**20:.0f} MiB, over the {MAX_DECODED_BYTES // 2**20} MiB "
            f"limit. Send it smaller (about {largest}x{largest} pixels at most), or as JPEG.",
        )


def progressive_coefficient_bytes(image: Image.Image) -> int:
    """What libjpeg holds to decode a progressive JPEG, whatever the draft scale: every DCT
    coefficient of the whole image (2 bytes each, per component at its own sampling); 0 for
    a baseline JPEG, which is decoded a row of blocks at a time."""
    if not image.info.get("progressive") and not image.info.get("progression"):
        return 0
    layers = getattr(image, "layer", None) or [(0, 1, 1, 0)] * len(image.getbands())
    widest = max(h for _, h, _, _ in layers)
    tallest = max(v for _, _, v, _ in layers)
    samples = sum(math.ceil(image.width * h / widest) * math.ceil(image.height * v / tallest)
                  for _, h, v, _ in layers)
    return 2 * samples


def _check_progressive_size(image: Image.Image) -> None:
    """Refuse (413) a progressive JPEG whose coefficients would not fit in
    :data:`MAX_DECODED_BYTES` (a 4096x4096 one holds about 48 MiB)."""
    needed = progressive_coefficient_bytes(image)
    if needed > MAX_DECODED_BYTES:
        raise ImageError(
            413, "image_too_large",
            f"The image is a progressive JPEG of {image.width}x{image.height} pixels: decoding "
            f"it takes {needed / 2**20:.0f} MiB, over the {MAX_DECODED_BYTES // 2**20} MiB "
            "limit. Send it smaller (about 2300x2300 pixels at most), or as a baseline "
            "(non-progressive) JPEG, which any size up to 4096x4096 may be.",
        )


def _decode_failure(exc: BaseException) -> tuple[str, str]:
    text = str(exc)
    if "Decompressed" in text and "too large" in text.lower():
        return "decompression_bomb", f"The image was refused as a decompression bomb: {text}"
    if "truncated" in text.lower():
        return "truncated_image", "The image file is truncated: its data ends too early."
    return "corrupt_image", f"The image data is corrupt and cannot be decoded ({text or 'error'})."


def to_gray_alpha(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """A loaded Pillow image -> gray (H, W) float32 in [0, 1] and alpha (H, W) or None.

    Gray is the ITU-R 601 luma of the colour channels (alpha ignored); alpha is None for an
    image without transparency or whose alpha is fully opaque.
    """
    mode = image.mode
    if mode.startswith("I;16"):
        return _scaled(np.asarray(image), 65535.0), None
    if mode == "I":
        values = np.asarray(image)
        return _scaled(values, 65535.0 if values.max(initial=0) > 255 else 255.0), None
    if mode == "F":
        values = np.asarray(image, dtype=np.float32)
        return _scaled(values, 255.0 if values.max(initial=0) > 1 else 1.0), None
    if mode in ("RGBa", "La", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")  # premultiplied, palette or colour-keyed transparency
    if image.mode not in ("RGBA", "LA"):
        return _scaled(np.asarray(image.convert("L")), 255.0), None
    alpha = np.asarray(image.getchannel("A"))
    gray = _scaled(np.asarray(image.convert("L")), 255.0)
    if alpha.min(initial=255) == 255:
        return gray, None
    return gray, _scaled(alpha, 255.0)


def _scaled(values: np.ndarray, full_scale: float) -> np.ndarray:
    """Integer or float values -> float32 in [0, 1], ``full_scale`` mapping to 1."""
    out = values.astype(np.float32)
    out *= np.float32(1.0 / full_scale)
    if values.dtype == np.uint8:
        return out
    return np.clip(out, 0.0, 1.0, out=out)
