"""Numbers and "not a digit" through /predict: ``bench/bench_reading.py``.

Every image goes through Flask's test client to POST /predict (the real code path), and the
answers are scored:

- numbers of 2-5 MNIST **test** digits (``bench/handwritten_numbers.py``): read exactly (every digit
  right, none missing or extra), overall and by how neighbours were joined;
- numbers of 2-5 digits drawn on the page's 420x280 pad from stroke templates
  (``bench/drawn.py``), a third of them with neighbours touching: read exactly;
- single digits: MNIST test digits, and digits drawn on the page's canvas from stroke
  templates (``bench/drawn.py``): read right, and wrongly refused as "not a digit";
- marks that are not digits: stroke-drawn letters, symbols and doodles (seeds that training
  never uses), and letters and symbols set in DejaVu fonts (never used in training; glyphs
  written like digits, such as O, l or S, are reported apart): refused (not_a_digit or
  no_digit);
- latency: median time of /predict for one canvas digit and for a 5-digit number.

    .venv/bin/python bench/bench_reading.py [--count 500]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.drawn import (
    FONT_GLYPHS,
    LOOKALIKES,
    drawn_digit,
    drawn_non_digit,
    drawn_number,
    font_files,
    font_glyph,
)
from bench.handwritten_numbers import compose
from bench.variants import encode

REFUSED = ("not_a_digit", "no_digit")


def post(client, data: bytes) -> tuple[dict, float]:
    started = time.perf_counter()
    response = client.post("/predict", data=data, content_type="image/png")
    elapsed = (time.perf_counter() - started) * 1000.0
    if response.status_code != 200:
        raise RuntimeError(f"HTTP {response.status_code}: {response.get_data(as_text=True)}")
    return response.get_json(), elapsed


def numbers(client, images, labels, count: int, rng) -> dict[str, list[bool]]:
    """Exact reads of composed numbers, by the worst join in each number."""
    results: dict[str, list[bool]] = defaultdict(list)
    for _ in range(count):
        length = int(rng.integers(2, 6))
        chosen = rng.integers(0, len(labels), length)
        number = compose(images[chosen], labels[chosen], rng)
        body, _ = post(client, number.png)
        exact = body["number"] == number.text and all(
            mark["status"] == "ok" for mark in body["digits"])
        kind = next((j for j in ("overlapping", "touching") if j in number.joins), "apart")
        results[kind].append(exact)
        results["all"].append(exact)
        results[f"{length} digits"].append(exact)
    return results


def drawn_numbers(client, count: int, rng) -> dict[str, list[bool]]:
    """Exact reads of numbers drawn on the page's pad, apart or (a third) touching."""
    results: dict[str, list[bool]] = defaultdict(list)
    for i in range(count):
        digits = [int(d) for d in rng.integers(0, 10, int(rng.integers(2, 6)))]
        close = i % 3 == 2
        body, _ = post(client, drawn_number(digits, rng, close))
        exact = body["number"] == "".join(map(str, digits)) and all(
            mark["status"] == "ok" for mark in body["digits"])
        results["touching" if close else "apart"].append(exact)
        results["all"].append(exact)
    return results


def singles(client, make: Callable[[int], tuple[bytes, int | None]], count: int) -> dict:
    """Read-right and refused shares of ``count`` images from ``make(i) -> (png, label)``."""
    right = refused = 0
    for i in range(count):
        data, label = make(i)
        body, _ = post(client, data)
        refused += body["status"] in REFUSED
        right += body["status"] == "ok" and body["digit"] == label
    return {"n": count, "read right": right / count, "refused": refused / count}


def timings(client, images: Iterable[bytes], repeat: int = 3) -> float:
    samples = [post(client, data)[1] for data in images for _ in range(repeat)]
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="images per set")
    parser.add_argument("--params", default=None, help="parameter file (default: the shipped)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    from app.blas import pin_blas_threads

    pin_blas_threads()
    from app.factory import create_app
    from model.mnist import load_mnist

    app = create_app({"PARAMS_PATH": args.params} if args.params else None)
    client = app.test_client()
    data = load_mnist(download_missing=False)
    images, labels = data.test_images, data.test_labels
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()

    number_rows = numbers(client, images, labels, args.count, rng)
    fonts = font_files()
    lookalikes = sorted(LOOKALIKES - {"|", "!"})
    sets = {  # name -> image maker; a label of None: not a digit
        "MNIST test digits (28x28 PNG)": lambda i: (encode_digit(images[i]), int(labels[i])),
        "digits drawn on the canvas (stroke templates)": lambda i: (
            drawn_digit(i % 10, rng), i % 10),
        "stroke-drawn letters, symbols, doodles": lambda i: (drawn_non_digit(rng), None),
    }
    if fonts:
        sets["letters and symbols in DejaVu fonts"] = lambda i: (font_glyph(
            FONT_GLYPHS[i % len(FONT_GLYPHS)], fonts[i % len(fonts)], rng), None)
        sets["lookalikes in DejaVu fonts (" + "".join(lookalikes) + ")"] = lambda i: (
            font_glyph(lookalikes[i % len(lookalikes)], fonts[i % len(fonts)], rng), None)
    single_rows = {name: singles(client, make, args.count) for name, make in sets.items()}
    digit_sets = {name for name, make in sets.items() if make(0)[1] is not None}
    # its own generator, so the sets above are drawn as they were before it was added
    pad_rows = drawn_numbers(client, args.count, np.random.default_rng([args.seed, 1]))

    one = [drawn_digit(d, rng) for d in range(10)]
    five = [compose(images[c], labels[c], rng).png
            for c in (rng.integers(0, len(labels), 5) for _ in range(20))]
    model = app.extensions["digits_predictor"]
    print(f"model {model.name} ({model.version}); {args.count} images per set, seed "
          f"{args.seed}; {time.perf_counter() - started:.0f} s\n")
    print("| numbers of 2-5 MNIST test digits | n | read exactly |\n| --- | --- | --- |")
    for name in ("all", "apart", "touching", "overlapping", *(f"{k} digits" for k in range(2, 6))):
        rows = number_rows.get(name, [])
        if rows:
            print(f"| {name} | {len(rows)} | {np.mean(rows):.1%} |")
    print("\n| numbers of 2-5 digits drawn on the page's pad | n | read exactly |\n"
          "| --- | --- | --- |")
    for name in ("all", "apart", "touching"):
        print(f"| {name} | {len(pad_rows[name])} | {np.mean(pad_rows[name]):.1%} |")
    print("\n| set | n | read right | refused (not a digit / blank) |\n| --- | --- | --- | --- |")
    for name, row in single_rows.items():
        right = f"{row['read right']:.1%}" if name in digit_sets else "–"
        print(f"| {name} | {row['n']} | {right} | {row['refused']:.1%} |")
    print(f"\n/predict median time (in-process, one thread): one canvas digit "
          f"{timings(client, one):.1f} ms; a 5-digit number {timings(client, five):.1f} ms")
    return 0


def encode_digit(digit: np.ndarray) -> bytes:
    from PIL import Image

    return encode(Image.fromarray(digit))


if __name__ == "__main__":
    sys.exit(main())
