"""Honest confidence: temperature scaling fitted on held-out data, and how to measure it.

A network trained with label smoothing says "93% sure" of digits it never gets wrong: its
probabilities are too soft. Temperature scaling divides the logits by one number T, fitted
by minimising the negative log-likelihood on the validation split (Guo et al., 2017); the
predicted class never changes, only how sure the network says it is. The measures:
negative log-likelihood and the expected calibration error (ECE: over bins of confidence,
the gap between confidence and accuracy, weighted by how many predictions fall in the bin).
"""

from __future__ import annotations

import math

import numpy as np

from model.losses import log_softmax

#: Bounds of the temperature search (log-spaced golden-section search).
T_RANGE = (0.05, 20.0)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of integer labels (N,) under softmax(logits / T) (N, K)."""
    log_probs = log_softmax(logits.astype(np.float64) / temperature)
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, iterations: int = 60) -> float:
    """The T minimising :func:`nll`; the NLL is unimodal in log T, so a golden-section search
    over [T_RANGE] finds it. logits (N, K), labels (N,) -> T."""
    low, high = math.log(T_RANGE[0]), math.log(T_RANGE[1])
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(logits, labels, math.exp(a)), nll(logits, labels, math.exp(b))
    for _ in range(iterations):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(logits, labels, math.exp(a))
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(logits, labels, math.exp(b))
    return float(math.exp((low + high) / 2))


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> list[dict]:
    """Per equal-width confidence bin: its range, count, mean confidence and accuracy.

    confidence (N,) in [0, 1] (the probability of the predicted class), correct (N,) bool.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, bins - 1)
    rows = []
    for b in range(bins):
        chosen = index == b
        count = int(chosen.sum())
        rows.append({
            "low": float(edges[b]), "high": float(edges[b + 1]), "count": count,
            "confidence": float(confidence[chosen].mean()) if count else None,
            "accuracy": float(correct[chosen].mean()) if count else None,
        })
    return rows


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray,
                               bins: int = 15) -> float:
    """ECE: sum over bins of |accuracy - confidence| weighted by the bin's share of samples."""
    total = len(confidence)
    return float(sum(
        row["count"] / total * abs(row["accuracy"] - row["confidence"])
        for row in reliability(confidence, correct, bins) if row["count"]
    ))
