"""Encoding small grayscale arrays as PNG data URLs for the page."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import numpy as np
from PIL import Image

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_data_url(image: np.ndarray) -> str:
    """image (H, W) float in [0, 1] -> "data:image/png;base64,..." of an 8-bit grayscale PNG."""
    return png_data_urls(np.asarray(image)[None])[0]


def png_data_urls(images: np.ndarray) -> list[str]:
    """images (N, H, W) float in [0, 1] -> N grayscale PNG data URLs (one conversion to
    8 bits and one PNG header for all: a layer's feature maps are encoded together)."""
    pixels = np.clip(np.rint(np.asarray(images, np.float32) * 255), 0, 255).astype(np.uint8)
    return ["data:image/png;base64," + base64.b64encode(png).decode("ascii")
            for png in gray_pngs(pixels)]


def gray_pngs(pixels: np.ndarray) -> list[bytes]:
    """pixels (N, H, W) uint8 -> N grayscale PNGs' bytes (no filtering, zlib level 1).

    The answers carry hundreds of tiny images (a 3x3 feature map, a 28x28 input), where
    Pillow's per-image set-up costs more than the encoding itself: the PNG container is
    three chunks around zlib's output, written here directly (the header and end chunks
    are the same for every image of one shape; Pillow still decodes every image the
    service receives, and the tests decode these with Pillow)."""
    count, height, width = pixels.shape
    rows = np.zeros((count, height, width + 1), np.uint8)  # each row: filter type 0, pixels
    rows[:, :, 1:] = pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    head = _PNG_SIGNATURE + _chunk(b"IHDR", header)
    tail = _chunk(b"IEND", b"")
    return [head + _chunk(b"IDAT", zlib.compress(image.tobytes(), 1)) + tail for image in rows]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


#: Heatmap colours: towards the class (red) and against it (blue).
_TOWARDS = np.array([230, 50, 30], np.uint8)
_AGAINST = np.array([30, 100, 235], np.uint8)


def heatmap_data_url(values: np.ndarray) -> str:
    """values (H, W), signed -> an RGBA PNG data URL to lay over the image: red where
    positive, blue where negative, more opaque the larger |value| (scaled to the largest)."""
    values = np.asarray(values, np.float32)
    largest = float(np.abs(values).max()) or 1.0
    strength = np.clip(np.abs(values) / largest, 0.0, 1.0)
    rgba = np.zeros((*values.shape, 4), np.uint8)
    rgba[..., :3] = np.where((values >= 0)[..., None], _TOWARDS, _AGAINST)
    rgba[..., 3] = np.rint(235 * np.sqrt(strength)).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
