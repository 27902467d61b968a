"""What the trainer learns from: MNIST's training split, drawn non-digits, and corrections.

- MNIST: a seeded shuffle of the 60,000 training images, the last ``val_size`` held out.
- Not a digit (class 10, for networks with an eleventh output): stroke-drawn letters,
  symbols and doodles (:mod:`model.negatives`), ``negatives`` of them per MNIST training
  image, and a separate validation set drawn from another seed.
- Several digits (class 11, for networks with a twelfth output): two or three training
  digits squeezed into one image side by side, touching or overlapping, so that touching
  digits read as "cut me" rather than as one digit or a scribble: the number reader
  weighs cutting an element by this class. ``several`` of them per MNIST training image
  (for an eleven-output network they count as not a digit).
- Extra data (``.npz`` files of ``images`` (N, 28, 28) and ``labels`` (N,), e.g. the
  corrections users gave): a tenth held out for validation, the rest repeated
  ``extra_repeat`` times in every epoch so that a few hundred corrections count.

Every batch is augmented on the fly (:mod:`model.augment`) and normalised for the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.augment import area_matrix, augment_batch
from model.inference import MNIST_NORMALIZATION, to_network_input
from model.mnist import load_mnist
from model.negatives import negative_images

NOT_A_DIGIT = 10
SEVERAL_DIGITS = 11


@dataclass
class Split:
    """Images (N, 28, 28) float32 in [0, 1], white on black, and labels (N,) int64."""

    images: np.ndarray
    labels: np.ndarray
    #: Named parts (e.g. "mnist", "negatives", "extra") -> index arrays, for reporting.
    parts: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)


def concatenate(pieces: dict[str, tuple[np.ndarray, np.ndarray]]) -> Split:
    """Named (images, labels) pieces -> one Split remembering where each piece went."""
    images, labels, parts, start = [], [], {}, 0
    for name, (x, y) in pieces.items():
        images.append(x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32))
        labels.append(y.astype(np.int64))
        parts[name] = np.arange(start, start + len(y))
        start += len(y)
    return Split(np.concatenate(images), np.concatenate(labels), parts)


def split_train_val(
    images: np.ndarray, labels: np.ndarray, val_size: int, seed: int, limit: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded shuffle, optional subset of ``limit`` examples, last ``val_size`` held out."""
    order = np.random.default_rng(seed).permutation(len(images))
    if limit is not None:
        order = order[:limit]
    val_size = min(val_size, len(order) // 5) if limit is not None else val_size
    train, val = order[: len(order) - val_size], order[len(order) - val_size :]
    return images[train], labels[train], images[val], labels[val]


def tight(image: np.ndarray) -> np.ndarray:
    """An image (28, 28) float cut to its ink (h, w)."""
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def shrunk(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-average (h, w) -> (height, width), each no larger than the original side."""
    return area_matrix(height, image.shape[0]) @ image @ area_matrix(width, image.shape[1]).T


def squeezed_digits(images: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` images (count, 28, 28) float32 of two (or, a fifth of the time, three)
    random digits from ``images`` (N, 28, 28) side by side, each gap -3 to 2 px (overlapping
    or touching), framed as MNIST frames one digit: longer side 20 px, centre of mass at the
    centre."""
    out = np.zeros((count, 28, 28), np.float32)
    scale_of = 255.0 if images.dtype == np.uint8 else 1.0
    for i in range(count):
        parts = [tight(np.asarray(images[j], np.float32) / scale_of)
                 for j in rng.integers(0, len(images), 3 if rng.random() < 0.2 else 2)]
        height = int(rng.integers(17, 21))
        parts = [shrunk(part, height, max(1, round(part.shape[1] * height / part.shape[0])))
                 for part in parts]
        gaps = rng.integers(-3, 3, len(parts) - 1)
        width = sum(p.shape[1] for p in parts) + int(gaps.sum())
        canvas = np.zeros((height, max(width, max(p.shape[1] for p in parts))), np.float32)
        start = 0
        for part, gap in zip(parts, [0, *gaps], strict=True):
            start = max(0, start + int(gap))
            window = canvas[:, start : start + part.shape[1]]
            np.maximum(window, part[:, : window.shape[1]], out=window)
            start += part.shape[1]
        scale = 20.0 / max(canvas.shape)
        framed = shrunk(canvas, max(1, round(canvas.shape[0] * scale)),
                        max(1, round(canvas.shape[1] * scale)))
        out[i] = centred(framed)
    return out


def centred(small: np.ndarray) -> np.ndarray:
    """small (h, w), both <= 28, placed in 28x28 with its centre of mass at the centre."""
    height, width = small.shape
    mass = float(small.sum()) or 1.0
    cy = float(small.sum(axis=1) @ np.arange(height)) / mass
    cx = float(small.sum(axis=0) @ np.arange(width)) / mass
    top = int(np.clip(round(14 - cy), 0, 28 - height))
    left = int(np.clip(round(14 - cx), 0, 28 - width))
    field = np.zeros((28, 28), np.float32)
    field[top : top + height, left : left + width] = small
    return field


def load_extra(paths: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) and labels (N,) from .npz files (arrays "images" and "labels")."""
    images, labels = [], []
    for path in paths:
        with np.load(Path(path), allow_pickle=False) as data:
            x, y = np.asarray(data["images"]), np.asarray(data["labels"]).astype(np.int64)
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
            raise ValueError(f"{path}: expected images (N, 28, 28) and labels (N,)")
        if y.size and (y.min() < 0 or y.max() > SEVERAL_DIGITS):
            raise ValueError(f"{path}: labels must be digits 0-9, {NOT_A_DIGIT} (not a digit) "
                             f"or {SEVERAL_DIGITS} (several digits)")
        images.append(x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32))
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


def training_splits(
    *, classes: int, val_size: int, seed: int, limit: int | None, data_dir: str | None,
    negatives: float, several: float, extra: list[str], extra_repeat: int,
) -> tuple[Split, Split]:
    """The training and validation splits (see the module docstring)."""
    data = load_mnist(data_dir)
    x_train, y_train, x_val, y_val = split_train_val(
        data.train_images, data.train_labels, val_size, seed, limit
    )
    train = {"mnist": (x_train, y_train)}
    val = {"mnist": (x_val, y_val)}
    for part, pool, key in ((train, x_train, 10), (val, x_val, 11)):
        if classes > NOT_A_DIGIT and negatives > 0:
            count = max(2, round(negatives * len(pool)))
            part["negatives"] = (negative_images(count, np.random.default_rng([seed, key])),
                                 np.full(count, NOT_A_DIGIT))
        if classes > NOT_A_DIGIT and several > 0:
            count = max(2, round(several * len(pool)))
            label = SEVERAL_DIGITS if classes > SEVERAL_DIGITS else NOT_A_DIGIT
            part["several"] = (squeezed_digits(pool, count, np.random.default_rng([seed, key, 1])),
                               np.full(count, label))
    if extra:
        x_extra, y_extra = load_extra(extra)
        if y_extra.max(initial=0) >= classes:
            raise ValueError(f"extra data holds class {int(y_extra.max())} but the network has "
                             f"{classes} outputs")
        order = np.random.default_rng([seed, 12]).permutation(len(y_extra))
        cut = len(order) // 10
        held, kept = order[:cut], order[cut:]
        train["extra"] = (np.tile(x_extra[kept], (extra_repeat, 1, 1)),
                          np.tile(y_extra[kept], extra_repeat))
        val["extra"] = (x_extra[held], y_extra[held])
    return concatenate(train), concatenate(val)


def batches(
    split: Split, batch_size: int, rng: np.random.Generator, augment: bool
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch: shuffled batches of normalised network inputs (B, 1, 28, 28) and labels."""
    order = rng.permutation(len(split))
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        images = split.images[idx]
        if augment:
            images = augment_batch(images, rng)
        yield to_network_input(images, MNIST_NORMALIZATION), split.labels[idx]


def steps_per_epoch(split: Split, batch_size: int) -> int:
    return -(-len(split) // batch_size)
