"""Softmax and categorical cross-entropy, numerically stable, with the fused gradient."""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax via the log-sum-exp trick. logits (N, K) -> (N, K)."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise probabilities. logits (N, K) -> (N, K), rows sum to 1, never NaN."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(
    logits: np.ndarray,
    labels: np.ndarray,
    label_smoothing: float = 0.0,
    batch_size: int | None = None,
) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient.

    logits (N, K), labels (N,) ints in [0, K) -> (loss, dlogits (N, K)). With label
    smoothing ``s`` the target is (1 - s) * one_hot + s / K. The gradient is the fused
    ``(softmax - target) / N``, which never overflows. ``batch_size`` (default N) is the
    number the sums are divided by: a data-parallel shard passes the whole batch's size, so
    the shards' losses and gradients add up to those of the whole batch.
    """
    n, k = logits.shape
    target = np.full((n, k), label_smoothing / k, dtype=logits.dtype)
    target[np.arange(n), labels] += 1.0 - label_smoothing
    log_probs = log_softmax(logits)
    count = n if batch_size is None else batch_size
    loss = float(-(target * log_probs).sum() / count)
    dlogits = (np.exp(log_probs) - target) / count
    return loss, dlogits
