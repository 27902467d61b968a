"""A model's report card for the page (GET /api/report) and its first layer's learned kernels
(GET /api/kernels).

The report card is the part of ``<params stem>.metrics.json`` (written by model.evaluate
beside the parameter file) that the page draws: training curves, the confusion matrix on
the MNIST test set, per-class precision and recall, and the misread test digits (their
indices in the MNIST test set; their images are in static/examples/mnist-test-digits.json,
made by scripts/make_examples.py, since a server has no MNIST). It is read once, when the
model loads. A model without that file answers ``evaluated: false`` and empty lists.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: At most this many misread digits are listed (the shipped models have 37 and 123).
MAX_MISREAD = 300
_HISTORY_KEYS = ("epoch", "train_loss", "val_loss", "val_accuracy")


def metrics_path(params_path: str) -> Path:
    return Path(params_path).with_suffix(".metrics.json")


def report_card(name: str, params_path: str) -> dict[str, Any]:
    """What GET /api/report answers for the model ``name`` loaded from ``params_path``."""
    card: dict[str, Any] = {
        "name": name, "evaluated": False, "test_accuracy": None, "test_images": None,
        "test_errors": None, "epochs": None, "best_epoch": None, "train_wall_time_s": None,
        "history": [], "classes": [], "confusion_matrix": [], "per_class": [],
        "misread": [],
    }
    try:
        metrics = json.loads(metrics_path(params_path).read_text()) if params_path else None
    except (OSError, ValueError) as exc:
        log.info("no report card for %s: %s", name, exc)
        metrics = None
    if not isinstance(metrics, dict):
        return card
    try:
        card.update(_from_metrics(metrics))
    except (TypeError, ValueError, KeyError) as exc:
        log.warning("report card of %s left empty: %s is malformed (%s)", name,
                    metrics_path(params_path), exc)
    return card


def _from_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    matrix = [[int(v) for v in row] for row in metrics.get("confusion_matrix") or []]
    if any(len(row) != len(matrix) for row in matrix):
        raise ValueError("the confusion matrix is not square")
    classes = [str(i) for i in range(min(10, len(matrix)))]
    classes += ["not a digit"] * (len(matrix) - len(classes))
    return {
        "evaluated": "test_accuracy" in metrics,
        "test_accuracy": _number(metrics.get("test_accuracy")),
        "test_images": _integer(metrics.get("test_images")),
        "test_errors": _integer(metrics.get("test_errors")),
        "epochs": _integer(metrics.get("epochs")),
        "best_epoch": _integer(metrics.get("best_epoch")),
        "train_wall_time_s": _number(metrics.get("train_wall_time_s")),
        "history": [{key: _number(epoch.get(key)) for key in _HISTORY_KEYS}
                    for epoch in metrics.get("history") or []],
        "classes": classes,
        "confusion_matrix": matrix,
        "per_class": [{"digit": int(c["digit"]), "precision": _number(c.get("precision")),
                       "recall": _number(c.get("recall")), "support": _integer(c.get("support"))}
                      for c in metrics.get("per_class") or []],
        "misread": [{"index": int(m["index"]), "label": int(m["label"]),
                     "predicted": int(m["predicted"]), "confidence": _number(m.get("confidence"))}
                    for m in (metrics.get("misclassified") or [])[:MAX_MISREAD]],
    }


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _integer(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None


def first_layer_kernels(network: Any) -> dict[str, Any]:
    """The first convolution's learned weights: (filters, channels, k, k), as numbers.

    ``scale`` is the largest absolute weight: the page draws every kernel on that one scale
    (negative and positive weights in two colours), so kernels can be compared.
    """
    for index, layer in enumerate(network.layers):
        if layer.type_name != "conv2d":
            continue
        weights = np.asarray(layer.params["W"], np.float64)
        filters, channels, height, width = weights.shape
        return {
            "layer": f"{index}:conv2d", "index": index, "filters": int(filters),
            "channels": int(channels), "height": int(height), "width": int(width),
            "scale": round(float(np.abs(weights).max()), 6),
            "weights": np.round(weights, 5).tolist(),
        }
    raise ValueError("the network has no convolution layer")
