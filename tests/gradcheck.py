"""Numerical gradient checking helpers (float64, central differences)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, perturbing ``x`` in place element by element."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(|a| + |b|).

    The denominator has a floor of 1e-3 so that a gradient that is truly zero (a conv bias
    in front of batch norm) is judged by its absolute error, not by 0/0 round-off noise.
    """
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(a) + np.abs(b)), 1e-3))


def check_layer(layer, x: np.ndarray, training: bool = True, seed: int = 0) -> dict[str, float]:
    """Compare a layer's analytic gradients (input and every parameter) with numerical ones.

    The scalar checked is sum(forward(x) * R) for a fixed random R, so every output element
    matters. Returns {"x": err, "<param>": err, ...}. ``layer`` must be float64 already.
    """
    rng = np.random.default_rng(seed)
    out, cache = layer.forward(x, training)
    weights = rng.standard_normal(out.shape)
    dx = layer.backward(weights, cache)
    analytic = {"x": dx, **{k: g.copy() for k, g in layer.grads.items()}}

    def loss() -> float:
        return float(np.sum(layer.forward(x, training)[0] * weights))

    errors = {"x": relative_error(analytic["x"], numerical_gradient(loss, x))}
    for name, param in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, param))
    return errors
