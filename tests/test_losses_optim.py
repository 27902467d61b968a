"""Softmax cross-entropy, optimizers and learning-rate schedules."""

from __future__ import annotations

import numpy as np
import pytest

from model.losses import log_softmax, softmax, softmax_cross_entropy
from model.optim import SGD, Adam, CosineSchedule, StepSchedule, make_optimizer
from tests.gradcheck import numerical_gradient, relative_error


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_gradient(smoothing):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 10)) * 3
    labels = rng.integers(0, 10, 5)
    _, dlogits = softmax_cross_entropy(logits, labels, smoothing)
    numeric = numerical_gradient(
        lambda: softmax_cross_entropy(logits, labels, smoothing)[0], logits
    )
    assert relative_error(dlogits, numeric) < 1e-7


def test_cross_entropy_value_matches_definition():
    logits = np.array([[2.0, 1.0, 0.1]])
    p = np.exp(logits) / np.exp(logits).sum()
    loss, _ = softmax_cross_entropy(logits, np.array([0]))
    assert loss == pytest.approx(-np.log(p[0, 0]))


def test_softmax_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]], dtype=np.float32)
    probs = softmax(logits)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(probs[0], [1, 0, 0])
    loss, grad = softmax_cross_entropy(logits, np.array([2, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert np.all(np.isfinite(log_softmax(logits)))


def quadratic_steps(optimizer_factory, steps=200):
    """Minimise 0.5 * |p - target|^2 and return the final distance to the target."""
    target = np.array([3.0, -2.0])
    params = {"p": np.zeros(2)}
    opt = optimizer_factory(params)
    for _ in range(steps):
        opt.step({"p": params["p"] - target})
    return float(np.abs(params["p"] - target).max())


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_optimizers_converge_on_a_quadratic(name):
    lr = 0.1
    assert quadratic_steps(lambda p: make_optimizer(name, p, lr)) < 1e-3


def test_sgd_momentum_matches_hand_computation():
    params = {"p": np.array([1.0])}
    opt = SGD(params, lr=0.1, momentum=0.9)
    opt.step({"p": np.array([1.0])})  # v = 1, p = 1 - 0.1
    opt.step({"p": np.array([1.0])})  # v = 1.9, p = 0.9 - 0.19
    assert params["p"][0] == pytest.approx(0.71)
    nesterov = {"p": np.array([1.0])}
    opt = SGD(nesterov, lr=0.1, momentum=0.9, nesterov=True)
    opt.step({"p": np.array([1.0])})  # v = 1, step = 1 + 0.9 = 1.9
    assert nesterov["p"][0] == pytest.approx(0.81)


def test_adam_bias_correction_and_state_persist():
    params = {"p": np.array([0.0])}
    opt = Adam(params, lr=0.01)
    opt.step({"p": np.array([5.0])})
    # With bias correction the first step is lr * sign(g), whatever |g| is.
    assert params["p"][0] == pytest.approx(-0.01, rel=1e-6)
    opt.step({"p": np.array([5.0])})
    assert params["p"][0] == pytest.approx(-0.02, rel=1e-5)
    assert opt.steps == 2 and opt.m["p"][0] != 0


def test_weight_decay_applies_only_to_named_parameters():
    params = {"W": np.array([1.0]), "b": np.array([1.0])}
    opt = SGD(params, lr=0.1, weight_decay=0.5, decayed={"W"})
    opt.step({"W": np.array([0.0]), "b": np.array([0.0])})
    assert params["W"][0] == pytest.approx(0.95)
    assert params["b"][0] == 1.0


def test_schedules():
    cosine = CosineSchedule(1.0, total_steps=110, min_lr=0.0, warmup_steps=10)
    assert cosine(0) == pytest.approx(0.1)
    assert cosine(9) == pytest.approx(1.0)
    assert cosine(60) == pytest.approx(0.5)
    assert cosine(110) == pytest.approx(0.0)
    step = StepSchedule(1.0, total_steps=100, step_size=30, gamma=0.1)
    assert [step(0), step(29), step(30), step(95)] == pytest.approx([1, 1, 0.1, 0.001])
    with pytest.raises(ValueError):
        make_optimizer("rmsprop", {}, 0.1)
