"""An inference-only copy of a network with batch norm folded into the layer before it.

At inference a BatchNorm is an affine map per feature, ``y = x * scale + shift`` with
``scale = gamma / sqrt(running_var + eps)`` and ``shift = beta - running_mean * scale``, so
it can be merged into the weights of the Conv2D or Dense that feeds it. Dropout is the
identity at inference and is dropped. The copy computes the same function in eval mode with
fewer layers (and fewer passes over memory); the original is left untouched.
"""

from __future__ import annotations

import copy

import numpy as np

from model.layers import BatchNorm1D, BatchNorm2D, Conv2D, Dense, Dropout, Layer
from model.network import Sequential


def _fold_into(layer: Conv2D | Dense, norm: BatchNorm1D | BatchNorm2D) -> None:
    """Scale ``layer``'s output features in place by ``norm``'s inference-time affine map."""
    stats = norm.buffers
    scale = norm.params["gamma"] / np.sqrt(stats["running_var"] + norm.eps)
    shift = norm.params["beta"] - stats["running_mean"] * scale
    weights = layer.params["W"]
    # Conv2D W is (F, C, KH, KW): features on axis 0. Dense W is (D_in, D_out): on axis 1.
    layer.params["W"] = (
        weights * scale[:, None, None, None] if isinstance(layer, Conv2D) else weights * scale
    ).astype(weights.dtype)
    layer.params["b"] = (layer.params["b"] * scale + shift).astype(weights.dtype)


def _folds(previous: Layer | None, layer: Layer) -> bool:
    return (isinstance(layer, BatchNorm2D) and isinstance(previous, Conv2D)) or (
        isinstance(layer, BatchNorm1D) and isinstance(previous, Dense)
    )


def fold_batchnorm(network: Sequential) -> Sequential:
    """Eval-mode copy of ``network`` with BatchNorms folded and Dropouts removed."""
    layers: list[Layer] = []
    for layer in network.layers:
        if isinstance(layer, Dropout):
            continue
        if _folds(layers[-1] if layers else None, layer):
            _fold_into(layers[-1], layer)
            continue
        layers.append(copy.deepcopy(layer))
    folded = Sequential(layers, network.input_shape).eval()
    folded.temperature = network.temperature
    return folded
