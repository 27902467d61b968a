"""Saliency maps: the input gradient through the engine's backward pass is the true gradient,
integrated gradients add up, and the maps are faithful to what the shipped network uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.predictor import IG_STEPS, OCCLUSION_PATCH, OCCLUSION_STRIDE
from model import saliency
from model.fuse import fold_batchnorm
from model.inference import to_network_input
from model.losses import log_softmax
from model.network import Sequential
from model.params_io import load_params
from tests.gradcheck import numerical_gradient, relative_error

ROOT = Path(__file__).resolve().parent.parent
ARCH = [
    {"type": "conv2d", "filters": 3, "kernel": 3, "stride": 1, "padding": "same"},
    {"type": "batchnorm2d"},
    {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2, "stride": 2},
    {"type": "conv2d", "filters": 4, "kernel": 3, "stride": 1, "padding": "valid"},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "dense", "units": 6},
    {"type": "batchnorm1d"},
    {"type": "relu"},
    {"type": "dropout", "rate": 0.3},
    {"type": "dense", "units": 4},
]


def small_network_in_float64() -> Sequential:
    network = Sequential.from_spec(ARCH, (1, 10, 10), seed=3)
    rng = np.random.default_rng(4)
    for layer in network.layers:
        layer.astype(np.float64)
        for key in layer.buffers:  # non-trivial running statistics
            layer.buffers[key] = rng.uniform(0.5, 1.5, layer.buffers[key].shape)
    return network.eval()


def test_input_gradient_matches_a_float64_numerical_gradient():
    network = small_network_in_float64()
    x = np.random.default_rng(5).normal(size=(2, 1, 10, 10))
    targets = np.array([1, 3])

    def score() -> float:
        log_probs = log_softmax(network.logits(x))
        return float(log_probs[np.arange(2), targets].sum())

    analytic = saliency.gradient(network, x, targets)
    numeric = numerical_gradient(score, x)[:, 0]
    assert relative_error(analytic, numeric) < 1e-6
    assert network.layers[0].needs_input_grad is False  # put back after the pass


def test_the_input_gradient_computes_no_parameter_gradient_and_restores_the_layers():
    network = small_network_in_float64()
    rng = np.random.default_rng(9)
    x = rng.normal(size=(2, 1, 10, 10))
    for layer in network.layers:
        layer.grads = {name: np.full_like(value, 7.0) for name, value in layer.params.items()}
    network.input_gradient(x, saliency.log_probability_gradient(np.array([1, 2])))
    for layer in network.layers:
        assert all(np.all(g == 7.0) for g in layer.grads.values()), layer.spec()["type"]
        assert layer.needs_param_grads
    assert not network.layers[0].needs_input_grad  # as the container set it
    caches = []
    out = x
    for layer in network.layers:  # an ordinary backward pass fills them again
        out, cache = layer.forward(out, False)
        caches.append(cache)
    grad = np.ones_like(out)
    for layer, cache in zip(reversed(network.layers), reversed(caches), strict=True):
        grad = layer.backward(grad, cache)
    assert not np.all(network.layers[0].grads["W"] == 7.0)


def test_integrated_gradients_add_up_to_the_change_in_log_probability():
    network = small_network_in_float64()
    rng = np.random.default_rng(6)
    x, baseline = rng.normal(size=(1, 1, 10, 10)), np.zeros((1, 1, 10, 10))
    attributions = saliency.integrated_gradients(network, x, 2, baseline, steps=256)
    change = log_softmax(network.logits(x))[0, 2] - log_softmax(network.logits(baseline))[0, 2]
    assert attributions.sum() == pytest.approx(change, rel=0.02, abs=1e-3)


def occlusion_by_hand(network, x, target, baseline, patch, stride) -> np.ndarray:
    """Every square occluded, one image at a time, averaged per pixel: the definition."""
    height, width = x.shape[2:]
    p = np.exp(log_softmax(network.logits(x)))[0, target]
    total, count = np.zeros((height, width)), np.zeros((height, width))
    for y in range(0, height - patch + 1, stride):
        for x0 in range(0, width - patch + 1, stride):
            covered = x.copy()
            covered[..., y : y + patch, x0 : x0 + patch] = baseline[..., y : y + patch,
                                                                    x0 : x0 + patch]
            drop = p - np.exp(log_softmax(network.logits(covered)))[0, target]
            total[y : y + patch, x0 : x0 + patch] += drop
            count[y : y + patch, x0 : x0 + patch] += 1
    return total / np.maximum(count, 1)


def test_occlusion_matches_its_definition_with_blank_squares_skipped():
    """The batched occlusion, which does not ask the network about squares that are blank
    already, gives the map of the definition (ink only in the middle, so many are skipped)."""
    network = small_network_in_float64()
    rng = np.random.default_rng(8)
    baseline = np.full((1, 1, 10, 10), -0.4)
    x = baseline.copy()
    x[..., 3:7, 2:8] = rng.normal(0.0, 2.0, (4, 6))
    for patch, stride in ((3, 1), (4, 2)):
        fast = saliency.occlusion(network, x, 2, baseline, patch=patch, stride=stride)
        assert np.allclose(fast, occlusion_by_hand(network, x, 2, baseline, patch, stride),
                           atol=1e-7)
    assert np.abs(fast).max() > 1e-4  # the ink matters: not a map of zeros


@pytest.fixture(scope="module")
def shipped():
    loaded = load_params(ROOT / "params" / "default.pkl")
    return loaded, fold_batchnorm(loaded.network)


def remove_pixels(images: np.ndarray, order: np.ndarray, share: float) -> np.ndarray:
    """Blank the first ``share`` of each image's ink pixels in ``order`` (N, k) flat indices."""
    out = images.copy().reshape(len(images), -1)
    for row, ranked in zip(out, order, strict=True):
        ink = ranked[row[ranked] > 0]
        row[ink[: max(1, round(share * len(ink)))]] = 0
    return out.reshape(images.shape)


@pytest.mark.slow
def test_deletion_removing_salient_ink_hurts_more_than_removing_random_ink(shipped, mnist):
    """Faithfulness of both served maps (the served settings): on 200 MNIST test digits,
    blanking the 10% of ink pixels a map ranks highest lowers the read digit's probability
    far more than blanking 10% at random."""
    loaded, network = shipped
    images = mnist.test_images[:200].astype(np.float32) / 255.0
    x = to_network_input(images, loaded.normalization)
    blank = to_network_input(np.zeros((1, 28, 28), np.float32), loaded.normalization)
    targets = network.logits(x)[:, :10].argmax(axis=1)
    rng = np.random.default_rng(0)
    randomly = np.stack([rng.permutation(28 * 28) for _ in range(len(images))])

    def probability(images_: np.ndarray) -> np.ndarray:
        logits = network.logits(to_network_input(images_, loaded.normalization))
        return np.exp(log_softmax(logits))[np.arange(len(targets)), targets]

    before = probability(images)
    random_drop = float((before - probability(remove_pixels(images, randomly, 0.1))).mean())
    served = {
        "integrated gradients": lambda xi, t: saliency.integrated_gradients(
            network, xi, t, blank, steps=IG_STEPS),
        "occlusion": lambda xi, t: saliency.occlusion(
            network, xi, t, blank, patch=OCCLUSION_PATCH, stride=OCCLUSION_STRIDE),
    }
    for name, explain in served.items():
        maps = np.stack([explain(x[i : i + 1], int(t)) for i, t in enumerate(targets)])
        salient = np.argsort(-maps.reshape(len(maps), -1), axis=1)
        salient_drop = float((before - probability(remove_pixels(images, salient, 0.1))).mean())
        assert salient_drop > 0.1 and salient_drop > 5 * max(random_drop, 0.005), (
            name, salient_drop, random_drop)


def test_served_integrated_gradients_add_up_on_the_shipped_network(shipped, mnist):
    """With the served few steps, the maps of real digits still add up to most of the change
    in log-probability from the blank image (evenly spaced steps give about 1% of it: the
    network decides in the first few percent of the path)."""
    loaded, network = shipped
    images = mnist.test_images[:40].astype(np.float32) / 255.0
    x = to_network_input(images, loaded.normalization)
    blank = to_network_input(np.zeros((1, 28, 28), np.float32), loaded.normalization)
    targets = network.logits(x)[:, :10].argmax(axis=1)
    ratios = []
    for i, target in enumerate(targets):
        attributions = saliency.integrated_gradients(network, x[i : i + 1], int(target), blank,
                                                     steps=IG_STEPS)
        logp = log_softmax(network.logits(np.concatenate([x[i : i + 1], blank])))[:, target]
        ratios.append(attributions.sum() / (logp[0] - logp[1]))
    assert 0.8 < np.median(ratios) < 1.2 and min(ratios) > 0.3, ratios
