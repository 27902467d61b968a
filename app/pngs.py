"""Encoding small grayscale arrays as PNG data URLs for the page."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def png_data_url(image: np.ndarray) -> str:
    """image (H, W) float in [0, 1] -> "data:image/png;base64,..." of an 8-bit grayscale PNG."""
    pixels = np.clip(np.rint(np.asarray(image, np.float32) * 255), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")

