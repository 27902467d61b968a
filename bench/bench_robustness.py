"""How well /predict reads the images people actually send: ``bench/bench_robustness.py``.

Builds real-world variants (``bench/variants.py``) of MNIST **test** digits — tight crops,
old low-resolution scans, JPEG, thick and thin pens, rotations, photos on a desk, pencil,
ruled paper, a digit in the corner of a page — and blank images, POSTs each one to
/predict through Flask's test client (the same code path as a real request: body parsing,
decoding, preprocessing, the network, the JSON answer), and prints a table: the variant,
how often the digit was read right, and how often the answer was "no digit".

    .venv/bin/python bench/bench_robustness.py [--count 500] [--variants plain,tight]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.variants import VARIANTS, Variant


@dataclass
class Row:
    """One variant's outcome over ``total`` images."""

    variant: Variant
    total: int = 0
    correct: int = 0
    statuses: Counter = field(default_factory=Counter)
    milliseconds: list[float] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else float("nan")

    def rate(self, status: str) -> float:
        return self.statuses[status] / self.total if self.total else float("nan")


def content_type(data: bytes) -> str:
    return "image/jpeg" if data[:2] == b"\xff\xd8" else "image/png"


def run(client, images: np.ndarray, labels: np.ndarray, variants, seed: int = 0) -> list[Row]:
    """POST every variant of every digit; images (N, 28, 28) uint8, labels (N,)."""
    rows = []
    for index, variant in enumerate(variants):
        rng = np.random.default_rng([seed, index])
        row = Row(variant)
        for digit, label in zip(images, labels, strict=True):
            data = variant.build(digit, rng)
            started = time.perf_counter()
            response = client.post("/predict", data=data, content_type=content_type(data))
            row.milliseconds.append((time.perf_counter() - started) * 1000.0)
            if response.status_code != 200:
                raise RuntimeError(f"{variant.name}: HTTP {response.status_code} "
                                   f"{response.get_data(as_text=True)[:200]}")
            body = response.get_json()
            row.total += 1
            row.statuses[body["status"]] += 1
            row.correct += int(body["status"] == "ok" and body.get("digit") == int(label))
        rows.append(row)
    return rows


def format_table(rows: list[Row]) -> str:
    lines = [
        "| variant | what | read right | answered \"no digit\" | answered \"not a digit\" "
        "| ms per request (median) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        read = "–" if row.variant.blank else f"{row.accuracy:.1%}"
        lines.append(
            f"| {row.variant.name} | {row.variant.description} | {read} "
            f"| {row.rate('no_digit'):.1%} | {row.rate('not_a_digit'):.1%} "
            f"| {float(np.median(row.milliseconds)):.1f} |"
        )
    return "\n".join(lines)


def pick_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` MNIST test digits, a seeded random sample (the whole set when count >= 10k)."""
    from model.mnist import load_mnist

    data = load_mnist(download_missing=False)
    order = np.random.default_rng(seed).permutation(len(data.test_labels))[:count]
    return data.test_images[order], data.test_labels[order]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="MNIST test digits per variant")
    parser.add_argument("--variants", default="", help="comma-separated names (default: all)")
    parser.add_argument("--params", default=None, help="parameter file (default: the shipped)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from app.blas import pin_blas_threads

    pin_blas_threads()
    from app.factory import create_app

    config = {"PARAMS_PATH": args.params} if args.params else None
    app = create_app(config)
    wanted = [v for v in VARIANTS if not args.variants or v.name in args.variants.split(",")]
    images, labels = pick_digits(args.count, args.seed)
    started = time.perf_counter()
    rows = run(app.test_client(), images, labels, wanted, args.seed)
    model = app.extensions["digits_predictor"]
    print(f"model {model.name} ({model.version}); {len(images)} MNIST test digits per variant, "
          f"seed {args.seed}; {time.perf_counter() - started:.0f} s\n")
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
