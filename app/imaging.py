"""Decoding untrusted image bytes with Pillow, safely, into float arrays.

:func:`decode_image` accepts PNG, JPEG, GIF (first frame), BMP and WebP in any mode (1, L,
LA, P, PA, RGB, RGBA, CMYK, YCbCr, I;16...). Dimensions are checked from the header before a
single pixel is decoded; Pillow's decompression-bomb checks are errors, not warnings. The
EXIF orientation is applied, so a phone photo stored sideways is read upright.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from app.errors import ApiError

#: Formats we decode; Pillow is not asked to try any other plugin.
FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
#: Largest accepted width or height, and largest accepted pixel count.
MAX_SIDE = 4096
MAX_PIXELS = MAX_SIDE * MAX_SIDE

#: Magic numbers of image formats we recognise but do not accept (answered with 415).
_OTHER_FORMATS = {
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"\x00\x00\x01\x00": "ICO",
    b"%PDF": "PDF",
    b"8BPS": "PSD",
    b"qoif": "QOI",
}
_MODES_WITH_ALPHA = {"RGBA", "RGBa", "LA", "La", "PA"}
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


@dataclass
class Decoded:
    """A decoded image: gray (H, W) float32 in [0, 1]; alpha (H, W) float32 or None."""

    gray: np.ndarray
    alpha: np.ndarray | None
    format: str
    mode: str


def decode_image(data: bytes) -> Decoded:
    """Image file bytes -> :class:`Decoded`; raises :class:`ApiError` (413/415/422)."""
    if not data:
        raise ApiError(400, "empty_image", "The image is empty (0 bytes).")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = _open(data)
            _check_dimensions(image)
            image.seek(0)  # first frame of an animation
            image.load()
            image = upright(image)
        except ApiError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ApiError(
                422, "decompression_bomb",
                f"The image was refused as a decompression bomb: {exc}",
            ) from exc
        except Exception as exc:  # malformed files make Pillow's plugins raise many types
            raise ApiError(422, *_decode_failure(exc)) from exc
        gray, alpha = to_gray_alpha(image)
    return Decoded(gray, alpha, image.format or "", image.mode)


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=FORMATS)
    except UnidentifiedImageError as exc:
        other = next((n for magic, n in _OTHER_FORMATS.items() if data.startswith(magic)), None)
        if other is not None:
            raise ApiError(
                415, "unsupported_image_format",
                f"{other} images are not supported: send PNG, JPEG, GIF, BMP or WebP.",
            ) from exc
        raise ApiError(
            422, "not_an_image",
            "The data is not an image in a supported format (PNG, JPEG, GIF, BMP or WebP).",
        ) from exc


def upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation (phone photos are often stored sideways); a broken EXIF
    block is ignored rather than refused."""
    try:
        orientation = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # malformed EXIF data: Pillow raises several types
        return image
    if orientation in (1, None) or orientation not in _TRANSPOSE:
        return image
    return image.transpose(_TRANSPOSE[orientation])


def _check_dimensions(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ApiError(422, "corrupt_image", f"The image has no pixels ({width}x{height}).")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise ApiError(
            413, "image_too_large",
            f"The image is {width}x{height} pixels; the limit is {MAX_SIDE} pixels a side.",
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
