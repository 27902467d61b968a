"""Evaluate a parameter file on the MNIST test set: ``python -m model.evaluate PARAMS``.

Prints test accuracy, per-class precision and recall, the confusion matrix and the digits
it gets wrong; writes ``<params stem>.metrics.json`` beside the file, and PNG plots of the
training curves, the confusion matrix and the misread digits (matplotlib, a training-only
dependency, imported only here).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from model.calibration import expected_calibration_error, nll, reliability
from model.inference import to_network_input
from model.losses import softmax
from model.mnist import load_mnist
from model.params_io import LoadedParams, atomic_write_bytes, load_params

#: The digit classes; a network may have one more output, "not a digit".
DIGITS = 10


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """(classes, classes) counts; row = true class, column = predicted class."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return matrix


def per_class_scores(matrix: np.ndarray) -> list[dict[str, float]]:
    """Precision, recall and support per class from a confusion matrix."""
    correct = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    return [
        {
            "digit": digit,
            "precision": float(correct[digit] / predicted[digit]) if predicted[digit] else 0.0,
            "recall": float(correct[digit] / actual[digit]) if actual[digit] else 0.0,
            "support": int(actual[digit]),
        }
        for digit in range(len(matrix))
    ]


def logits_of(loaded: LoadedParams, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The network's raw logits (N, classes) for MNIST-style images (N, 28, 28)."""
    network = loaded.network.eval()
    x = to_network_input(images, loaded.normalization)
    return np.concatenate([network.forward(x[i : i + batch_size])
                           for i in range(0, len(x), batch_size)])


def evaluate(loaded: LoadedParams, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Accuracy, per-class scores, confusion matrix, the misclassified examples, calibration
    (before and after the temperature) and, for a network with a "not a digit" output, how
    many digits it would call not a digit.

    The digit read is the most probable of the ten digits, its confidence that probability
    (as the service reports them)."""
    started = time.perf_counter()
    logits = logits_of(loaded, images)
    elapsed = time.perf_counter() - started
    temperature = loaded.network.temperature
    probs = softmax(logits / np.float32(temperature))
    predictions = probs[:, :DIGITS].argmax(axis=1)
    matrix = confusion_matrix(labels, predictions)
    wrong = np.flatnonzero(predictions != labels)
    results = {
        "test_accuracy": float((predictions == labels).mean()),
        "test_errors": len(wrong),
        "test_images": len(labels),
        "per_class": per_class_scores(matrix),
        "confusion_matrix": matrix.tolist(),
        "misclassified": [
            {"index": int(i), "label": int(labels[i]), "predicted": int(predictions[i]),
             "confidence": round(float(probs[i, predictions[i]]), 4)}
            for i in wrong
        ],
        "inference_images_per_s": round(len(labels) / elapsed, 1),
        "calibration": calibration_report(logits, labels, temperature),
    }
    threshold = loaded.calibration.get("not_a_digit_threshold")
    if logits.shape[1] > DIGITS and threshold is not None:
        rejected = probs[:, DIGITS:].sum(axis=1) > threshold  # not one digit
        results["not_a_digit"] = {
            "threshold": threshold,
            "test_digits_rejected": int(rejected.sum()),
            "test_digits_rejected_share": float(rejected.mean()),
        }
    return results


def calibration_report(logits: np.ndarray, labels: np.ndarray, temperature: float,
                       bins: int = 15) -> dict[str, Any]:
    """NLL and ECE of the digit read at temperature 1 (raw) and at the fitted temperature,
    with the reliability bins of both."""
    report: dict[str, Any] = {"temperature": temperature, "bins": bins}
    for name, t in (("before", 1.0), ("after", temperature)):
        probs = softmax(logits / np.float32(t))
        confidence = probs[:, :DIGITS].max(axis=1)
        correct = probs[:, :DIGITS].argmax(axis=1) == labels
        report[name] = {
            "nll": nll(logits, labels, t),
            "ece": expected_calibration_error(confidence, correct, bins),
            "mean_confidence": float(confidence.mean()),
            "reliability": reliability(confidence, correct, bins),
        }
    return report


def metrics_document(loaded: LoadedParams, results: dict[str, Any]) -> dict[str, Any]:
    """The metrics JSON: how the weights were made and how well they do."""
    meta = loaded.meta
    return {
        "name": loaded.name,
        "params_file": Path(loaded.path).name,
        "params_sha256": loaded.sha256,
        "architecture": loaded.network.spec(),
        "parameters": loaded.network.num_parameters(),
        "command": meta.get("command"),
        "seed": meta.get("seed"),
        "epochs": meta.get("epochs"),
        "best_epoch": meta.get("best_epoch"),
        "train_wall_time_s": meta.get("wall_time_s"),
        "val_accuracy": meta.get("val_accuracy"),
        "trained_with": meta.get("versions"),
        "trained_on": meta.get("machine"),
        "evaluated_with": {"python": platform.python_version(), "numpy": np.__version__},
        **results,
        "history": meta.get("history", []),
    }


def write_plots(doc: dict[str, Any], images: np.ndarray, out_stem: Path) -> list[Path]:
    """Training curves, confusion matrix and misread digits as PNGs; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    history = doc["history"]
    if history:
        epochs = [h["epoch"] for h in history]
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
        ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train (augmented)")
        ax_loss.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
        ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="Loss")
        ax_loss.legend()
        ax_acc.plot(epochs, [100 * h["val_accuracy"] for h in history], "o-", color="tab:green")
        ax_acc.axhline(100 * doc["test_accuracy"], ls="--", color="gray",
                       label=f"test {100 * doc['test_accuracy']:.2f}%")
        ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Validation accuracy")
        ax_acc.legend()
        fig.suptitle(f"{doc['name']}: training curves")
        fig.tight_layout()
        written.append(_save(fig, out_stem.with_name(out_stem.name + ".curves.png")))

    matrix = np.array(doc["confusion_matrix"])
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    shown = np.log1p(matrix)
    ax.imshow(shown, cmap="Blues")
    for (r, c), count in np.ndenumerate(matrix):
        if count:
            ax.text(c, r, str(count), ha="center", va="center", fontsize=7,
                    color="white" if shown[r, c] > shown.max() / 2 else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title=f"{doc['name']}: confusion matrix ({doc['test_errors']} errors)")
    fig.tight_layout()
    written.append(_save(fig, out_stem.with_name(out_stem.name + ".confusion.png")))
    written.append(_save(reliability_figure(plt, doc), out_stem.with_name(
        out_stem.name + ".reliability.png")))

    wrong = doc["misclassified"][:48]
    if wrong:
        cols = 12
        rows = -(-len(wrong) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.05))
        for ax, item in zip(np.ravel(axes), wrong + [None] * (rows * cols - len(wrong)),
                            strict=True):
            ax.axis("off")
            if item is not None:
                ax.imshow(images[item["index"]], cmap="gray_r")
                ax.set_title(f"{item['label']}→{item['predicted']}", fontsize=8)
        fig.suptitle("Misread test digits (true→predicted)", fontsize=9)
        fig.tight_layout()
        written.append(_save(fig, out_stem.with_name(out_stem.name + ".errors.png")))
    plt.close("all")
    return written


def reliability_figure(plt, doc: dict[str, Any]):
    """Reliability diagram: accuracy against confidence per bin, raw and calibrated."""
    report = doc["calibration"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for ax, name in zip(axes, ("before", "after"), strict=True):
        rows = [r for r in report[name]["reliability"] if r["count"]]
        centres = [(r["low"] + r["high"]) / 2 for r in rows]
        width = 1.0 / report["bins"]
        ax.bar(centres, [r["accuracy"] for r in rows], width=width * 0.9, color="tab:blue",
               label="accuracy")
        ax.plot(centres, [r["confidence"] for r in rows], linestyle="none", marker="_",
                markersize=14, markeredgewidth=2.5, color="tab:red",
                label="mean confidence (the gap to the bar is the error)")
        ax.plot([0, 1], [0, 1], "--", color="gray", lw=1)
        title = ("raw (T = 1)" if name == "before"
                 else f"calibrated (T = {report['temperature']:.3f})")
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", title=(
            f"{title}: ECE {100 * report[name]['ece']:.2f}%, NLL {report[name]['nll']:.4f}"))
        ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel("accuracy")
    fig.suptitle(f"{doc['name']}: reliability on the MNIST test set", fontsize=10)
    fig.tight_layout()
    return fig


def _save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path


def print_report(doc: dict[str, Any]) -> None:
    print(f"{doc['name']}: test accuracy {doc['test_accuracy']:.2%} "
          f"({doc['test_errors']} of {doc['test_images']} wrong)")
    report = doc["calibration"]
    print(f"calibration: temperature {report['temperature']:.4f}; ECE "
          f"{report['before']['ece']:.2%} -> {report['after']['ece']:.2%}, NLL "
          f"{report['before']['nll']:.4f} -> {report['after']['nll']:.4f}, mean confidence "
          f"{report['before']['mean_confidence']:.2%} -> {report['after']['mean_confidence']:.2%}")
    if "not_a_digit" in doc:
        rejected = doc["not_a_digit"]
        print(f"not a digit above p = {rejected['threshold']:.3f}: "
              f"{rejected['test_digits_rejected']} test digits would be refused "
              f"({rejected['test_digits_rejected_share']:.2%})")
    print("digit  precision  recall  support")
    for row in doc["per_class"]:
        print(f"{row['digit']:>5}  {row['precision']:9.4f}  {row['recall']:6.4f}  "
              f"{row['support']:7}")
    print("confusion matrix (rows: true digit, columns: predicted):")
    print("      " + "".join(f"{d:>6}" for d in range(10)))
    for digit, row in enumerate(doc["confusion_matrix"]):
        print(f"{digit:>6}" + "".join(f"{v:>6}" for v in row))
    shown = doc["misclassified"][:20]
    print("misread (index: true -> predicted @ confidence): " + ", ".join(
        f"{m['index']}: {m['label']}->{m['predicted']} @{m['confidence']:.2f}" for m in shown
    ) + (" ..." if len(doc["misclassified"]) > len(shown) else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.evaluate", description=__doc__)
    parser.add_argument("params", help="parameter file, e.g. params/default.pkl")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (see model.train)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    args = parser.parse_args(argv)
    loaded = load_params(args.params)
    data = load_mnist(args.data_dir)
    doc = metrics_document(loaded, evaluate(loaded, data.test_images, data.test_labels))
    print_report(doc)
    stem = Path(args.params).with_suffix("")
    metrics_path = stem.with_name(stem.name + ".metrics.json")
    atomic_write_bytes(metrics_path, (json.dumps(doc, indent=1) + "\n").encode())
    print(f"wrote {metrics_path}")
    if not args.no_plots:
        for path in write_plots(doc, data.test_images, stem):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
