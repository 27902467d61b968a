"""Named architectures. Each is a list of layer specs for :meth:`Sequential.from_spec`."""

from __future__ import annotations

from typing import Any

from model.network import Sequential

MNIST_SHAPE = (1, 28, 28)


def _conv_bn_relu(filters: int, kernel: int = 3) -> list[dict[str, Any]]:
    return [
        {"type": "conv2d", "filters": filters, "kernel": kernel, "stride": 1, "padding": "same"},
        {"type": "batchnorm2d"},
        {"type": "relu"},
    ]


PRESETS: dict[str, list[dict[str, Any]]] = {
    # The seed articles' network, layer for layer: 28 -> 24 -> 20 -> pool 10 -> 800 -> 128 -> 10.
    "seed": [
        {"type": "conv2d", "filters": 8, "kernel": 5, "stride": 1, "padding": "valid"},
        {"type": "relu"},
        {"type": "conv2d", "filters": 8, "kernel": 5, "stride": 1, "padding": "valid"},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2, "stride": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 128},
        {"type": "relu"},
        {"type": "dense", "units": 10},
    ],
    # The shipped model: three conv-BN-ReLU-pool blocks (28 -> 14 -> 7 -> 3), then a small
    # dense head with twelve outputs: the ten digits, "not a digit" (class 10) and "several
    # digits" (class 11, touching digits to be cut apart). Sized so the default trainer
    # reaches >= 99.6% within 20 minutes on 2 cores.
    "default": [
        *_conv_bn_relu(32, kernel=5),
        {"type": "maxpool2d", "kernel": 2, "stride": 2},
        *_conv_bn_relu(64),
        {"type": "maxpool2d", "kernel": 2, "stride": 2},
        *_conv_bn_relu(128),
        {"type": "maxpool2d", "kernel": 2, "stride": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 128},
        {"type": "batchnorm1d"},
        {"type": "relu"},
        {"type": "dropout", "rate": 0.3},
        {"type": "dense", "units": 12},
    ],
}


def build_preset(name: str, seed: int = 0) -> Sequential:
    """A freshly initialised network for a preset name ("seed" or "default")."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose from {', '.join(PRESETS)}")
    return Sequential.from_spec(PRESETS[name], MNIST_SHAPE, seed=seed)
