"""The loaded model: read once per worker, then used for predictions and feature maps."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from app.explain import feature_maps
from app.report import first_layer_kernels, report_card
from model import saliency
from model.fuse import fold_batchnorm
from model.inference import to_network_input
from model.params_io import LoadedParams, load_params

log = logging.getLogger(__name__)


#: The digit classes; a network may have an eleventh output, "not a digit".
DIGITS = 10


@dataclass
class Prediction:
    """What the network says about one 28x28 image.

    probabilities (10,) float64: the probability of each digit; with a network that has a
    "not a digit" output they sum to 1 - ``not_digit``, the probability that the mark is
    not one digit. ``several``: of that, the probability that it is several digits squeezed
    together (None for a network without that output). ``rejected``: ``not_digit`` is above
    the model's calibrated threshold. digit and confidence: the most probable digit and its
    probability (the best guess, even when rejected).
    """

    probabilities: np.ndarray
    not_digit: float = 0.0
    rejected: bool = False
    several: float | None = None

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())


@dataclass
class Explanation:
    """Which pixels of a 28x28 image pushed the network towards ``target``:
    integrated_gradients (28, 28), each pixel's share of log p(target) gained from a blank
    image (positive: towards ``target``), and occlusion (28, 28), how much p(target) drops
    when a square around the pixel is blanked."""

    target: int
    integrated_gradients: np.ndarray
    occlusion: np.ndarray


#: Occlusion: squares of this side, every this many pixels (6 x 6 = 36 occluded copies;
#: more faithful in the deletion test than 7-pixel squares every 3, at half the cost).
OCCLUSION_PATCH = 8
OCCLUSION_STRIDE = 4
#: Integrated gradients: points along the path from the blank image (one batch).
IG_STEPS = 8


class Predictor:
    """A parameter file's network with its name, version, accuracy and hash."""

    def __init__(self, loaded: LoadedParams) -> None:
        self.loaded = loaded
        self.network = loaded.network
        # Predictions use a copy with batch norm folded into the convs (same function,
        # fewer layers); feature maps use the original so layer indices match /api/model.
        self.inference_network = fold_batchnorm(loaded.network)
        self.name = loaded.name or Path(loaded.path).stem
        self.version = str(loaded.meta.get("version") or f"sha256:{loaded.sha256[:12]}")
        self.test_accuracy = _test_accuracy(loaded)
        self.classes = int(self.network.output_shape[0])
        #: Above this probability of "not a digit" a mark is not read as a digit (networks
        #: without that output never reject).
        self.reject_above = loaded.calibration.get("not_a_digit_threshold", 0.5)
        self._blank = to_network_input(np.zeros((1, 28, 28), np.float32), loaded.normalization)
        self._lock = threading.Lock()  # layers keep no per-call state, but be safe with threads

    @classmethod
    def from_file(cls, path: str | Path) -> Predictor:
        """Load a parameter file; raises model.params_io.ParamsError when it is unusable."""
        predictor = cls(load_params(path))
        log.info("loaded model %s (%s) from %s", predictor.name, predictor.version, path)
        return predictor

    def _input(self, image: np.ndarray) -> np.ndarray:
        """image (28, 28) float in [0, 1] -> (1, 1, 28, 28) normalised float32."""
        return to_network_input(image[None], self.loaded.normalization)

    def predict(self, image: np.ndarray) -> Prediction:
        """image (28, 28) float in [0, 1], white on black -> :class:`Prediction`."""
        return self.predict_many(image[None])[0]

    def predict_many(self, images: np.ndarray) -> list[Prediction]:
        """images (N, 28, 28) float in [0, 1], white on black -> N predictions, one pass."""
        if len(images) == 0:
            return []
        with self._lock:
            proba = self.inference_network.predict_proba(
                to_network_input(images, self.loaded.normalization)
            ).astype(np.float64)
        if self.classes <= DIGITS:
            return [Prediction(row) for row in proba]
        not_one = proba[:, DIGITS:].sum(axis=1)
        several = proba[:, DIGITS + 1] if self.classes > DIGITS + 1 else [None] * len(proba)
        return [Prediction(row[:DIGITS], float(rest), bool(rest > self.reject_above),
                           None if more is None else float(more))
                for row, rest, more in zip(proba, not_one, several, strict=True)]

    def explain(self, image: np.ndarray, target: int) -> Explanation:
        """Why the network reads ``image`` (28, 28) as ``target``: integrated gradients
        (from a blank image) and occlusion maps, each (28, 28) (see model.saliency)."""
        x = self._input(image)
        with self._lock:
            network = self.inference_network
            return Explanation(
                target,
                saliency.integrated_gradients(network, x, target, self._blank, steps=IG_STEPS),
                saliency.occlusion(network, x, target, self._blank, patch=OCCLUSION_PATCH,
                                   stride=OCCLUSION_STRIDE),
            )

    def feature_maps(self, image: np.ndarray) -> list[dict[str, Any]]:
        """One entry per conv layer: its activation after the following ReLU, as PNGs on
        one scale per layer, computed with a margin of blank paper (see app.explain).

        image (28, 28) float in [0, 1]. Each entry: layer, index, description, channels,
        height, width, scale {min, max}, peaks (each map's largest value) and maps (one
        grayscale PNG data URL per channel, scale.min black to scale.max white).
        """
        with self._lock:
            return feature_maps(self.network, self._input(image)[0], self._background())

    def _background(self) -> float:
        """Blank paper (0) as the network sees it, after normalising."""
        return float(self._blank[0, 0, 0, 0])

    @cached_property
    def report(self) -> dict[str, Any]:
        """The report card (app.report), read once."""
        return report_card(self.name, self.loaded.path)

    @cached_property
    def kernels(self) -> dict[str, Any]:
        """The first convolution's learned weights (app.report)."""
        return first_layer_kernels(self.network)

    def summary(self) -> dict[str, Any]:
        """What GET /api/models lists for this model."""
        return {
            "name": self.name,
            "version": self.version,
            "parameters": self.network.num_parameters(),
            "test_accuracy": self.test_accuracy,
        }

    def describe(self) -> dict[str, Any]:
        """What GET /api/model answers."""
        return {
            **self.summary(),
            "architecture": _plain(self.network.spec()),
            "input_shape": [int(d) for d in self.network.input_shape],
            "sha256": self.loaded.sha256,
            "layers": [repr(layer) for layer in self.network.layers],
        }


def _test_accuracy(loaded: LoadedParams) -> float | None:
    """meta["test_accuracy"], else "test_accuracy" in <params stem>.metrics.json, else None."""
    value = loaded.meta.get("test_accuracy")
    if value is None and loaded.path:
        metrics = Path(loaded.path).with_suffix(".metrics.json")
        try:
            value = json.loads(metrics.read_text()).get("test_accuracy")
        except (OSError, ValueError, AttributeError):
            value = None
    try:
        value = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and 0.0 <= value <= 1.0 else None


def _plain(value: Any) -> Any:
    """Layer specs with NumPy scalars turned into JSON-ready Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
