"""Make static/examples/mnist-test-digits.json: the MNIST test digits the page shows.

- "Try an example": for each digit 0-9, the first test image of it that every shipped model
  reads right (listed in ``examples``, in digit order);
- the report card's misread digits: every test image that a model in params/ gets wrong
  (its ``<name>.metrics.json`` lists them), so the page can show them without MNIST.

Each digit is a 28x28 grayscale PNG data URL (white on black, as in MNIST) with its index in
the test set and its label. Run it again after evaluating a model (``make train`` does):

    .venv/bin/python scripts/make_examples.py [--data-dir DIR] [--params-dir params]

MNIST is found as the trainer finds it ($MNIST_DIR, ./data/mnist, ../shared/data/mnist); this
script never downloads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.pngs import png_data_url  # noqa: E402 (the project root is on the path now)
from model.mnist import default_data_dir, load_mnist  # noqa: E402

OUTPUT = ROOT / "static" / "examples" / "mnist-test-digits.json"


def misread_indices(params_dir: Path) -> set[int]:
    found: set[int] = set()
    for path in sorted(params_dir.glob("*.metrics.json")):
        found |= {int(m["index"]) for m in json.loads(path.read_text()).get("misclassified", [])}
    return found


def examples_row(labels: np.ndarray, avoid: set[int]) -> list[int]:
    """The first test image of each digit that no model misreads."""
    row = []
    for digit in range(10):
        row.append(next(int(i) for i in np.flatnonzero(labels == digit) if int(i) not in avoid))
    return row


def build(images: np.ndarray, labels: np.ndarray, params_dir: Path) -> dict:
    misread = misread_indices(params_dir)
    row = examples_row(labels, misread)
    indices = sorted(set(row) | misread)
    return {
        "source": "MNIST test set (t10k-images-idx3-ubyte)",
        "made_by": "scripts/make_examples.py",
        "examples": row,
        "digits": [{"index": i, "label": int(labels[i]),
                    "image": png_data_url(images[i].astype(np.float32) / 255.0)}
                   for i in indices],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--params-dir", type=Path, default=ROOT / "params")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    mnist = load_mnist(args.data_dir or default_data_dir(), download_missing=False)
    document = build(mnist.test_images, mnist.test_labels, args.params_dir)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, separators=(",", ":")) + "\n")
    print(f"{args.output}: {len(document['digits'])} digits, "
          f"{args.output.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
