"""Turning 28x28 MNIST-style images into the network's input and its predictions."""

from __future__ import annotations

import numpy as np

#: Mean and standard deviation of MNIST training pixels scaled to [0, 1].
MNIST_NORMALIZATION = {"mean": 0.1307, "std": 0.3081}


def to_network_input(images: np.ndarray, normalization: dict[str, float]) -> np.ndarray:
    """MNIST-style images -> normalised float32 network input.

    images: (N, 28, 28) or (N, 1, 28, 28), uint8 in [0, 255] or float in [0, 1], white
    digit on black. Returns (N, 1, 28, 28) float32 ``(x - mean) / std``.
    """
    x = np.asarray(images)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise ValueError(f"expected (N, 28, 28) or (N, 1, 28, 28) images, got {x.shape}")
    return (x - np.float32(normalization["mean"])) / np.float32(normalization["std"])
