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
