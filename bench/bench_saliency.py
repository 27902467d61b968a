"""Are the saliency maps faithful, and what do they cost? ``bench/bench_saliency.py``.

Deletion test: for MNIST **test** digits, the ink pixels are blanked in the order a map ranks
them (most salient first) and the probability of the digit the network read is measured
after each step; the same with the ink in random order. A faithful map makes the probability
fall much faster than random. Prints the curves' values at 5, 10, 20 and 50% of the ink, draws
them into ``docs/saliency-deletion.png`` (matplotlib, a training-time dependency), and times
``POST /predict?explain=1`` on a canvas digit (median of a few dozen, in-process).

    .venv/bin/python bench/bench_saliency.py [--count 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARES = np.linspace(0.0, 0.5, 11)


def saliency_maps(network, x, targets, blank) -> dict[str, list[np.ndarray]]:
    """The served maps (and SmoothGrad, and random ones) of x (N, 1, 28, 28) for targets (N,)."""
    from app.predictor import IG_STEPS, OCCLUSION_PATCH, OCCLUSION_STRIDE
    from model import saliency

    rng = np.random.default_rng(0)
    return {
        "integrated gradients": [saliency.integrated_gradients(network, x[i : i + 1], int(t),
                                                               blank, steps=IG_STEPS)
                                 for i, t in enumerate(targets)],
        "occlusion": [saliency.occlusion(network, x[i : i + 1], int(t), blank,
                                         patch=OCCLUSION_PATCH, stride=OCCLUSION_STRIDE)
                      for i, t in enumerate(targets)],
        "SmoothGrad": [saliency.smoothgrad(network, x[i : i + 1], int(t))
                       for i, t in enumerate(targets)],
        "random": [rng.random((28, 28)) for _ in targets],
    }


def deletion_curves(network, images, normalization, targets,
                    maps: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    """Mean probability of the digit read after blanking each share of the ink, per method."""
    from model.inference import to_network_input
    from model.losses import softmax

    count = len(images)
    curves = {}
    for name, method_maps in maps.items():
        ranked = np.argsort(-np.stack(method_maps).reshape(count, -1), axis=1)
        values = []
        for share in SHARES:
            blanked = images.reshape(count, -1).copy()
            for row, order in zip(blanked, ranked, strict=True):
                ink = order[row[order] > 0]
                row[ink[: round(share * len(ink))]] = 0
            probs = softmax(network.logits(to_network_input(blanked.reshape(images.shape),
                                                            normalization)))
            values.append(float(probs[np.arange(count), targets].mean()))
        curves[name] = np.array(values)
    return curves


def completeness(network, x, blank, targets, shares: list[np.ndarray]) -> float:
    """Median over images of (sum of an integrated-gradients map in ``shares``) / (change in
    the read digit's log-probability from the blank image): 1 when the shares add up."""
    from model.losses import log_softmax

    gained = (log_softmax(network.logits(x))[np.arange(len(targets)), targets]
              - log_softmax(network.logits(blank))[0, targets])
    return float(np.median([m.sum() / g for m, g in zip(shares, gained, strict=True)]))


def plot(curves: dict[str, np.ndarray], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, values in curves.items():
        ax.plot(100 * SHARES, values, "o-" if name != "random" else "s--", label=name)
    ax.set(xlabel="ink pixels blanked (%), most salient first", ylabel="p(digit read)",
           title="Deletion test on MNIST test digits", ylim=(0, 1.02))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def explained_time(repeat: int = 40) -> float:
    from app.factory import create_app
    from tests.browser_helpers import DIGIT_PATHS, digit_png

    client = create_app().test_client()
    data = digit_png(DIGIT_PATHS[3])
    client.post("/predict?explain=1", data=data, content_type="image/png")
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.post("/predict?explain=1", data=data, content_type="image/png")
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--output", default=str(ROOT / "docs" / "saliency-deletion.png"))
    args = parser.parse_args(argv)
    from app.blas import pin_blas_threads

    pin_blas_threads()
    from model.fuse import fold_batchnorm
    from model.inference import to_network_input
    from model.mnist import load_mnist
    from model.params_io import load_params

    loaded = load_params(ROOT / "params" / "default.pkl")
    network = fold_batchnorm(loaded.network)
    images = load_mnist(download_missing=False).test_images[: args.count].astype(np.float32)
    images /= 255.0
    x = to_network_input(images, loaded.normalization)
    blank = to_network_input(np.zeros((1, 28, 28), np.float32), loaded.normalization)
    targets = network.logits(x)[:, :10].argmax(axis=1)
    maps = saliency_maps(network, x, targets, blank)
    curves = deletion_curves(network, images, loaded.normalization, targets, maps)
    print(f"{args.count} MNIST test digits; mean p(digit read) after blanking the ink:\n")
    print("| method | " + " | ".join(f"{100 * s:.0f}%" for s in SHARES[[1, 2, 4, 10]]) + " |")
    print("| --- |" + " --- |" * 4)
    for name, values in curves.items():
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values[[1, 2, 4, 10]]) + " |")
    ratio = completeness(network, x, blank, targets, maps["integrated gradients"])
    print(f"\nintegrated gradients add up to {100 * ratio:.1f}% of the change in log p "
          "from the blank image (median)")
    plot(curves, Path(args.output))
    print(f"\nwrote {args.output}")
    print(f"POST /predict?explain=1, one canvas digit: {explained_time():.1f} ms (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
