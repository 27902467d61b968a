"""Why the network read what it read: which input pixels pushed it towards a class.

Computed with the network's own backward pass (:meth:`Sequential.input_gradient`): the
gradient of the class's log-probability with respect to the input image.

- **SmoothGrad** averages that gradient over copies of the image with a little noise added
  (one batched pass), which removes the speckle of a single gradient;
- **integrated gradients** integrate it along the straight path from a blank image to the
  image and multiply by the difference: each pixel's share of the change in the score (blank
  pixels get none); the shares add up to that change (the steps are packed near the blank
  end, where a trained network makes up its mind);
- **occlusion** needs no gradient at all: how much the class's probability drops when a
  small square of the image is blanked out, averaged over the squares covering each pixel.

All take the network's normalised input x (1, 1, H, W) and return (H, W) float32 maps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from model.losses import softmax
from model.network import Sequential

#: Occluded copies read per forward pass: bounds the activations held at once (a worker
#: stays under its memory budget) at no cost in speed.
CHUNK = 16


def log_probability_gradient(targets: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """d log softmax(logits)[n, targets[n]] / d logits: one-hot minus the probabilities."""

    def dlogits(logits: np.ndarray) -> np.ndarray:
        grad = -softmax(logits)
        grad[np.arange(len(targets)), targets] += 1.0
        return grad

    return dlogits


def gradient(network: Sequential, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """d log p(target) / d input for each image: x (N, 1, H, W), targets (N,) -> (N, H, W)."""
    _, grad = network.input_gradient(x, log_probability_gradient(np.asarray(targets)))
    return grad[:, 0]


def smoothgrad(network: Sequential, x: np.ndarray, target: int, samples: int = 16,
               noise: float = 0.15, seed: int = 0) -> np.ndarray:
    """The gradient averaged over ``samples`` noisy copies of x (1, 1, H, W) -> (H, W); the
    noise's standard deviation is ``noise`` times the input's range."""
    rng = np.random.default_rng(seed)
    spread = noise * float(x.max() - x.min() or 1.0)
    noisy = x + rng.normal(0.0, spread, (samples, *x.shape[1:])).astype(np.float32)
    return gradient(network, noisy, np.full(samples, target)).mean(axis=0)


def integrated_gradients(network: Sequential, x: np.ndarray, target: int,
                         baseline: np.ndarray, steps: int = 16,
                         first: float = 3e-3) -> np.ndarray:
    """(x - baseline) times the gradient integrated along the path baseline -> x.

    x and baseline (1, 1, H, W) -> (H, W); the map sums to about
    log p(target | x) - log p(target | baseline) (completeness). The integral is a midpoint
    sum over ``steps`` intervals whose ends grow geometrically from ``first`` to 1 (the
    first interval is [0, first]): a trained network decides within the first few percent
    of the path and is flat after it, so evenly spaced points would all land where the
    gradient has nothing left to say and the map would not add up (8 even steps give
    about 1% of the change on MNIST digits, 8 geometric ones about 95%)."""
    ends = np.concatenate([[0.0], np.geomspace(first, 1.0, steps)])
    alphas = ((ends[:-1] + ends[1:]) / 2).astype(np.float32)[:, None, None, None]
    widths = np.diff(ends).astype(np.float32)[:, None, None]
    path = baseline + alphas * (x - baseline)
    gradients = gradient(network, path, np.full(steps, target))
    return ((x - baseline)[0, 0] * (gradients * widths).sum(axis=0)).astype(np.float32)


def occlusion(network: Sequential, x: np.ndarray, target: int, baseline: np.ndarray,
              patch: int = 6, stride: int = 2) -> np.ndarray:
    """Drop in p(target) when a patch x patch square is set to the baseline, averaged over
    the squares covering each pixel: x, baseline (1, 1, H, W) -> (H, W). A square already
    at the baseline everywhere (blank paper) changes nothing, so its drop is 0 without
    asking the network; the others are read CHUNK at a time."""
    _, _, height, width = x.shape
    corners = [(y, x0) for y in range(0, height - patch + 1, stride)
               for x0 in range(0, width - patch + 1, stride)]
    differs = np.any(x != baseline, axis=(0, 1))  # (H, W): pixels a square can change
    changing = [i for i, (y, x0) in enumerate(corners)
                if differs[y : y + patch, x0 : x0 + patch].any()]
    covered = np.repeat(x, len(changing), axis=0)
    for row, i in enumerate(changing):
        y, x0 = corners[i]
        covered[row, :, y : y + patch, x0 : x0 + patch] = baseline[0, :, y : y + patch,
                                                                   x0 : x0 + patch]
    everything = np.concatenate([x, covered])
    read = np.concatenate([softmax(network.logits(everything[start : start + CHUNK]))[:, target]
                           for start in range(0, len(everything), CHUNK)])
    probs = np.full(len(corners) + 1, read[0])
    probs[[i + 1 for i in changing]] = read[1:]
    drops = probs[0] - probs[1:]
    total = np.zeros((height, width), np.float32)
    count = np.zeros((height, width), np.float32)
    for drop, (y, x0) in zip(drops, corners, strict=True):
        total[y : y + patch, x0 : x0 + patch] += drop
        count[y : y + patch, x0 : x0 + patch] += 1
    return total / np.maximum(count, 1)
