"""The trainer end to end on a small subset, its reproducibility, and the shipped weights."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from model.evaluate import confusion_matrix, evaluate, per_class_scores
from model.evaluate import main as evaluate_main
from model.params_io import load_params
from model.train import TrainConfig, parse_args, train

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["default", "seed"]


def small_config(tmp_path, mnist_dir, **overrides) -> TrainConfig:
    options = dict(preset="seed", epochs=2, batch_size=32, lr=0.02, optimizer="momentum",
                   limit=1500, data_dir=str(mnist_dir), output=str(tmp_path / "small.pkl"))
    options.update(overrides)
    return TrainConfig(**options)


def test_trainer_runs_end_to_end_and_learns(tmp_path, mnist_dir):
    cfg = small_config(tmp_path, mnist_dir, augment=False)  # 1,200 images: learn them plainly
    result = train(cfg, command="test", show_progress=False)
    history = result.history
    assert len(history) == 2 and not result.interrupted
    first, last = history
    assert last["train_loss"] < first["train_loss"] and last["val_loss"] < first["val_loss"]
    assert last["val_loss"] < 0.5 * math.log(10)  # half the loss of a uniform guess
    assert last["val_accuracy"] > max(0.8, first["val_accuracy"])
    assert result.best_val_accuracy == last["val_accuracy"]
    loaded = load_params(cfg.output)
    assert loaded.name == "seed" and loaded.meta["epochs"] == 2
    assert loaded.meta["history"] == history
    assert [p.name for p in tmp_path.iterdir()] == ["small.pkl"]  # no temporary files left


def test_same_seed_same_weights_and_augmentation_on(tmp_path, mnist_dir):
    a = small_config(tmp_path, mnist_dir, epochs=1, limit=600, output=str(tmp_path / "a.pkl"),
                     preset="default", batch_size=50)
    b = small_config(tmp_path, mnist_dir, epochs=1, limit=600, output=str(tmp_path / "b.pkl"),
                     preset="default", batch_size=50)
    c = small_config(tmp_path, mnist_dir, epochs=1, limit=600, output=str(tmp_path / "c.pkl"),
                     preset="default", batch_size=50, seed=1)
    for cfg in (a, b, c):
        assert cfg.augment
        train(cfg, show_progress=False)
    pa, pb, pc = (load_params(cfg.output).network.parameters() for cfg in (a, b, c))
    for key in pa:
        np.testing.assert_array_equal(pa[key], pb[key])
    assert any(not np.array_equal(pa[k], pc[k]) for k in pa)


def test_interrupt_keeps_the_best_weights(tmp_path, mnist_dir, monkeypatch):
    import model.train as train_module

    cfg = small_config(tmp_path, mnist_dir, epochs=3, limit=500)
    real_evaluate = train_module.evaluate_loss_accuracy
    calls = []

    def evaluate_then_interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(train_module, "evaluate_loss_accuracy", evaluate_then_interrupt)
    result = train(cfg, show_progress=False)
    assert result.interrupted and result.best_epoch == 1
    assert load_params(cfg.output).meta["best_epoch"] == 1


def test_cli_defaults_are_the_shipped_recipe():
    cfg = parse_args([])
    assert (cfg.preset, cfg.output, cfg.augment) == ("default", "params/default.pkl", True)
    assert parse_args(["--no-augment", "--epochs", "3"]).augment is False
    with pytest.raises(SystemExit):
        parse_args(["--epochs", "0"])


def test_confusion_matrix_and_scores():
    labels = np.array([0, 0, 1, 1, 2])
    preds = np.array([0, 1, 1, 1, 0])
    matrix = confusion_matrix(labels, preds, classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    scores = per_class_scores(matrix)
    assert scores[1]["precision"] == pytest.approx(2 / 3)
    assert scores[0]["recall"] == pytest.approx(0.5)
    assert scores[2] == {"digit": 2, "precision": 0.0, "recall": 0.0, "support": 1}


def test_evaluate_cli_writes_metrics_and_plots(tmp_path, mnist_dir):
    cfg = small_config(tmp_path, mnist_dir, epochs=1, limit=2500, warmup_epochs=0.1)
    train(cfg, show_progress=False)
    assert evaluate_main([cfg.output, "--data-dir", str(mnist_dir)]) == 0
    doc = json.loads((tmp_path / "small.metrics.json").read_text())
    assert doc["params_sha256"] == load_params(cfg.output).sha256
    assert 0.5 < doc["test_accuracy"] <= 1 and doc["test_images"] == 10000
    assert sum(map(sum, doc["confusion_matrix"])) == 10000
    assert len(doc["misclassified"]) == doc["test_errors"]
    for kind in ("curves", "confusion", "errors"):
        assert (tmp_path / f"small.{kind}.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_params_reach_their_recorded_accuracy(name, mnist):
    path = ROOT / "params" / f"{name}.pkl"
    metrics = json.loads((ROOT / "params" / f"{name}.metrics.json").read_text())
    loaded = load_params(path)
    assert metrics["params_sha256"] == loaded.sha256, "metrics file is stale: re-run evaluate"
    result = evaluate(loaded, mnist.test_images, mnist.test_labels)
    assert result["test_accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-4)
    assert result["test_accuracy"] >= (0.995 if name == "default" else 0.97)
