"""Network layers and the registry that rebuilds them from plain-dict specs."""

from __future__ import annotations

from typing import Any

import numpy as np

from model.layers.activations import Dropout, ReLU
from model.layers.base import Layer, Shape
from model.layers.conv import Conv2D
from model.layers.dense import Dense, Flatten
from model.layers.normalization import BatchNorm1D, BatchNorm2D
from model.layers.pooling import MaxPool2D

__all__ = [
    "BatchNorm1D",
    "BatchNorm2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "ReLU",
    "build_layer",
]


def build_layer(spec: dict[str, Any], input_shape: Shape, rng: np.random.Generator) -> Layer:
    """Make the layer a spec describes, sized for a per-example ``input_shape``.

    Specs are what :meth:`Layer.spec` returns, e.g. ``{"type": "conv2d", "filters": 8,
    "kernel": 5}``; sizes that follow from the input (channels, features) are inferred.
    """
    options = {k: v for k, v in spec.items() if k != "type"}
    kind = spec.get("type")
    try:
        if kind == "conv2d":
            if len(input_shape) != 3:
                raise ValueError(f"conv2d needs a (C, H, W) input, got {input_shape}")
            return Conv2D(input_shape[0], rng=rng, **options)
        if kind == "dense":
            if len(input_shape) != 1:
                raise ValueError(f"dense needs a flat input, got {input_shape}: add a flatten")
            return Dense(input_shape[0], rng=rng, **options)
        if kind == "dropout":
            return Dropout(rng=np.random.default_rng(rng.integers(2**63)), **options)
        if kind == "batchnorm1d":
            return BatchNorm1D(input_shape[0], **options)
        if kind == "batchnorm2d":
            return BatchNorm2D(input_shape[0], **options)
        simple = {"maxpool2d": MaxPool2D, "relu": ReLU, "flatten": Flatten}
        if kind in simple:
            return simple[kind](**options)
    except TypeError as exc:  # unknown or missing option names
        raise ValueError(f"bad options for layer {kind!r}: {exc}") from exc
    raise ValueError(f"unknown layer type: {kind!r}")
