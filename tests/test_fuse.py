"""Folding batch norm into the layer before it keeps the network's function."""

from __future__ import annotations

import numpy as np

from model.fuse import fold_batchnorm
from model.presets import build_preset


def test_folded_default_network_computes_the_same_function():
    net = build_preset("default", seed=1)
    rng = np.random.default_rng(0)
    for key, value in net.buffers().items():  # non-trivial running statistics
        scale = rng.uniform(0.5, 2.0, value.shape)
        random = scale if "var" in key else rng.normal(size=value.shape)
        value[...] = random
    for key, value in net.parameters().items():
        if key.endswith(("gamma", "beta")):
            value[...] = rng.uniform(0.5, 1.5, value.shape)
    original = {k: v.copy() for k, v in net.parameters().items()}
    folded = fold_batchnorm(net)
    kinds = [layer.type_name for layer in folded.layers]
    assert "batchnorm2d" not in kinds and "batchnorm1d" not in kinds and "dropout" not in kinds
    assert len(folded.layers) == len(net.layers) - 5
    x = rng.standard_normal((6, 1, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(folded.predict_proba(x), net.predict_proba(x), atol=2e-6)
    for key, value in net.parameters().items():  # the original is untouched
        np.testing.assert_array_equal(value, original[key])


def test_network_without_batchnorm_is_copied_unchanged():
    net = build_preset("seed")
    folded = fold_batchnorm(net)
    assert folded.spec() == net.spec()
    assert folded.layers[0] is not net.layers[0]
