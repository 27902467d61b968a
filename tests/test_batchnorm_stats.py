"""BatchNorm's running statistics against a hand computation.

Training updates ``running = m * running + (1 - m) * batch`` with the batch mean and the
*unbiased* batch variance (divided by count - 1, as PyTorch does), while it normalises with
the biased one. Inference then normalises with the running statistics.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.layers import BatchNorm1D, BatchNorm2D


def by_hand(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and unbiased variance, written out: sum / n, sum of squares / (n - 1)."""
    x = x.astype(np.float64)
    count = x.size // x.shape[1]
    mean = x.sum(axis=axes) / count
    centred = x - np.expand_dims(mean, axes)
    return mean, (centred**2).sum(axis=axes) / (count - 1)


@pytest.mark.parametrize(
    ("layer_cls", "shape", "axes"),
    [(BatchNorm1D, (5, 3), (0,)), (BatchNorm2D, (2, 3, 2, 2), (0, 2, 3))],
)
def test_running_statistics_follow_the_formula_over_two_steps(layer_cls, shape, axes):
    rng = np.random.default_rng(11)
    momentum = 0.8
    layer = layer_cls(shape[1], momentum=momentum)
    running_mean = rng.standard_normal(shape[1])
    running_var = rng.uniform(0.5, 2.0, shape[1])
    layer.buffers["running_mean"][:] = running_mean
    layer.buffers["running_var"][:] = running_var
    for step in range(2):
        x = (rng.standard_normal(shape) * (2 + step) + 1).astype(np.float32)
        layer.forward(x, training=True)
        mean, var = by_hand(x, axes)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
        np.testing.assert_allclose(layer.buffers["running_mean"], running_mean, rtol=1e-5)
        np.testing.assert_allclose(layer.buffers["running_var"], running_var, rtol=1e-5)


def test_small_batches_make_biased_and_unbiased_variance_differ_clearly():
    """With 5 samples the unbiased variance is 25% larger: a biased update cannot pass."""
    x = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]], dtype=np.float32)  # variance 2 / 2.5
    layer = BatchNorm1D(1, momentum=0.0)
    out, _ = layer.forward(x, training=True)
    assert layer.buffers["running_var"][0] == pytest.approx(2.5)
    np.testing.assert_allclose(out[:, 0], (x[:, 0] - 2) / np.sqrt(2 + 1e-5), rtol=1e-6)


def test_inference_normalises_with_the_running_statistics():
    layer = BatchNorm2D(2)
    layer.buffers["running_mean"][:] = [1.0, -2.0]
    layer.buffers["running_var"][:] = [4.0, 0.25]
    layer.params["gamma"][:] = [2.0, 1.0]
    layer.params["beta"][:] = [0.5, 0.0]
    x = np.full((1, 2, 1, 1), 3.0, dtype=np.float32)
    out, _ = layer.forward(x, training=False)
    expected = [2.0 * (3 - 1) / np.sqrt(4 + 1e-5) + 0.5, (3 + 2) / np.sqrt(0.25 + 1e-5)]
    np.testing.assert_allclose(out.reshape(2), expected, rtol=1e-6)
