"""Temperature scaling and calibration measures, and the calibration a parameter file holds."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from model.calibration import expected_calibration_error, fit_temperature, nll, reliability
from model.losses import softmax
from model.params_io import ParamsError, load_params, params_dict, save_params
from model.presets import build_preset


def sampled(temperature: float, n: int = 20000, classes: int = 10, seed: int = 0):
    """Logits and labels drawn from softmax(logits / temperature): that T is the truth."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, (n, classes)).astype(np.float32)
    probs = softmax(logits / temperature)
    labels = (probs.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, labels


@pytest.mark.parametrize("truth", [0.5, 1.0, 2.5])
def test_fitted_temperature_recovers_the_true_one(truth):
    logits, labels = sampled(truth)
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(truth, rel=0.05)
    assert nll(logits, labels, fitted) <= min(nll(logits, labels, t) for t in (0.8 * fitted,
                                                                                1.25 * fitted))


def test_calibrated_probabilities_have_small_ece_and_overconfident_ones_do_not():
    logits, labels = sampled(1.0)
    probs = softmax(logits)
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    assert expected_calibration_error(confidence, correct) < 0.02
    sharp = softmax(logits * 3)
    assert expected_calibration_error(sharp.max(axis=1), correct) > 0.1


def test_reliability_bins_count_everything_once():
    confidence = np.array([0.0, 0.05, 0.5, 0.99, 1.0])
    rows = reliability(confidence, np.array([1, 0, 1, 1, 1], bool), bins=10)
    assert sum(row["count"] for row in rows) == 5
    assert rows[0]["count"] == 2 and rows[-1]["count"] == 2 and rows[-1]["accuracy"] == 1.0


def test_temperature_is_saved_applied_and_never_changes_the_answer(tmp_path):
    network = build_preset("seed", seed=0)
    x = np.random.default_rng(1).normal(size=(8, 1, 28, 28)).astype(np.float32)
    raw = network.predict_proba(x)
    network.temperature = 0.5
    path = tmp_path / "calibrated.pkl"
    save_params(path, network, "seed", {"mean": 0.0, "std": 1.0},
                calibration={"not_a_digit_threshold": 0.7})
    loaded = load_params(path)
    assert loaded.network.temperature == 0.5
    assert loaded.calibration == {"temperature": 0.5, "not_a_digit_threshold": 0.7}
    sharper = loaded.network.predict_proba(x)
    assert np.array_equal(sharper.argmax(axis=1), raw.argmax(axis=1))
    assert (sharper.max(axis=1) >= raw.max(axis=1) - 1e-6).all()


@pytest.mark.parametrize("bad", [{"temperature": 0.0}, {"temperature": float("nan")},
                                 {"temperature": "1"}, {"temperature": True}, [1.0]])
def test_bad_calibration_is_refused(tmp_path, bad):
    document = params_dict(build_preset("seed"), "seed", {"mean": 0.0, "std": 1.0})
    document["calibration"] = bad
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(document))
    with pytest.raises(ParamsError, match="calibration"):
        load_params(path)


def test_files_without_calibration_load_at_temperature_one(tmp_path):
    document = params_dict(build_preset("seed"), "seed", {"mean": 0.0, "std": 1.0})
    del document["calibration"]
    path = tmp_path / "old.pkl"
    path.write_bytes(pickle.dumps(document))
    assert load_params(path).network.temperature == 1.0
