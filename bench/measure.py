"""Timing helpers and the NumPy-engine side of the benchmark.

Imported by ``bench_model.py`` only after it has pinned the BLAS thread count in the
environment, because OpenBLAS reads ``OPENBLAS_NUM_THREADS`` once, when NumPy is imported.
The timing helpers take plain callables, so the PyTorch twin is timed by the same code.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from model.blas_threads import get_threads
from model.inference import MNIST_NORMALIZATION, to_network_input
from model.losses import softmax_cross_entropy
from model.network import Sequential
from model.optim import make_optimizer
from model.parallel import DataParallel

Batch = tuple[Any, Any]

#: The seed articles' per-example Python loop: ~0.1 s per training example.
SEED_ARTICLE_IMAGES_PER_SECOND = 10.0


# data ---------------------------------------------------------------------------------
def load_data(source: str, pool: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """``pool`` normalised images (pool, 1, 28, 28) float32, int64 labels, and a description.

    source: "mnist" (fail if the files are missing), "random", or "auto" (MNIST when its
    files are on disk, else random data). Never downloads anything.
    """
    if source in ("auto", "mnist"):
        try:
            from model.mnist import load_mnist

            data = load_mnist(download_missing=False)
        except (OSError, ValueError) as exc:
            if source == "mnist":
                raise
            reason = str(exc).splitlines()[0]
        else:
            x = to_network_input(data.train_images[:pool], MNIST_NORMALIZATION)
            y = data.train_labels[:pool].astype(np.int64)
            return x, y, f"real MNIST training images (first {len(x)}, normalised)"
    else:
        reason = "--data random"
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((pool, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, pool).astype(np.int64)
    return x, y, f"random normal images ({pool}; {reason})"


def make_batches(x: np.ndarray, y: np.ndarray, batch: int, limit: int = 32) -> list[Batch]:
    """Up to ``limit`` distinct contiguous batches cut from the pool (cycled when short)."""
    count = max(1, min(limit, len(x) // batch))
    out = []
    for i in range(count):
        idx = np.arange(i * batch, (i + 1) * batch) % len(x)
        out.append((np.ascontiguousarray(x[idx]), np.ascontiguousarray(y[idx])))
    return out


# timing -------------------------------------------------------------------------------
def _median_and_spread(values: Sequence[float]) -> tuple[float, float]:
    """Median and half the relative range, ``(max - min) / 2 / median``."""
    med = statistics.median(values)
    return med, (max(values) - min(values)) / 2 / med if med else 0.0


def time_throughput(
    step: Callable[[Any, Any], Any],
    batches: Sequence[Batch],
    batch_size: int,
    warmup: int,
    repeats: int,
    min_time: float,
    warmup_time: float = 0.0,
) -> dict[str, Any]:
    """Images/s of ``step(x, y)``: warm-up, then ``repeats`` timed runs of ``k`` steps each.

    ``k`` is calibrated on the warm-up so that one run lasts at least ``min_time`` seconds.
    Returns the median images/s, every run's figure and the spread.
    """
    i = 0
    start = time.perf_counter()
    last = 0.0
    done = 0
    while done < max(warmup, 1) or time.perf_counter() - start < warmup_time:
        t0 = time.perf_counter()
        step(*batches[i % len(batches)])
        last = time.perf_counter() - t0
        i, done = i + 1, done + 1
    steps = max(1, math.ceil(min_time / max(last, 1e-9)))
    runs = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(steps):
                step(*batches[i % len(batches)])
                i += 1
            runs.append(steps * batch_size / (time.perf_counter() - t0))
    finally:
        gc.enable()
    median, spread = _median_and_spread(runs)
    return {
        "images_per_s": median,
        "spread": spread,
        "runs": runs,
        "steps_per_run": steps,
        "batch": batch_size,
    }


def time_latency(
    call: Callable[[Any], Any], inputs: Sequence[Any], warmup: int, calls: int
) -> dict[str, Any]:
    """Per-call wall time of ``call(x)`` over ``calls`` calls after ``warmup`` calls, in ms."""
    for i in range(warmup):
        call(inputs[i % len(inputs)])
    times = []
    gc.collect()
    gc.disable()
    try:
        for i in range(calls):
            x = inputs[i % len(inputs)]
            t0 = time.perf_counter()
            call(x)
            times.append((time.perf_counter() - t0) * 1e3)
    finally:
        gc.enable()
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p90_ms": times[min(len(times) - 1, math.ceil(0.9 * len(times)) - 1)],
        "min_ms": times[0],
        "calls": calls,
    }


# our engine ---------------------------------------------------------------------------
def train_step(
    net: Sequential, lr: float, threads: int = 1
) -> Callable[[np.ndarray, np.ndarray], float]:
    """One SGD-momentum step: forward (training mode), loss, backward, optimizer update,
    as the trainer runs it (:class:`model.parallel.DataParallel` on ``threads`` threads)."""
    net.train()
    optimizer = make_optimizer("momentum", net.parameters(), lr)
    trainer = DataParallel(net, threads)

    def step(x: np.ndarray, y: np.ndarray) -> float:
        return trainer.step(x, y, optimizer)

    return step


def eval_forward(net: Sequential, threads: int = 1) -> Callable[[np.ndarray], np.ndarray]:
    """Inference-mode forward to logits, the batch split across ``threads`` threads."""
    net.eval()
    return DataParallel(net, threads).logits


def openblas_threads() -> int | None:
    """The thread count OpenBLAS reports in this process, or None when it cannot be asked."""
    return get_threads()


def blas_description() -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '?')}"
    except Exception:  # describing the build is best-effort
        return "unknown BLAS"


# per-layer profile --------------------------------------------------------------------
def layer_label(index: int, spec: dict[str, Any]) -> str:
    """Short human name of a layer spec, e.g. ``3 conv2d 32@3x3 same``."""
    kind = spec.get("type", "?")
    if kind == "conv2d":
        detail = f"{spec['filters']}@{spec['kernel']}x{spec['kernel']}"
        detail += f" s{spec['stride']}" if spec.get("stride", 1) != 1 else ""
        detail += f" {spec.get('padding', 'valid')}"
    elif kind == "dense":
        detail = str(spec["units"])
    elif kind == "maxpool2d":
        detail = f"{spec['kernel']}/{spec['stride']}"
    elif kind == "dropout":
        detail = str(spec["rate"])
    else:
        detail = ""
    return f"{index:>2} {kind} {detail}".rstrip()


def profile_layers(
    net: Sequential,
    train_batches: Sequence[Batch],
    eval_batches: Sequence[Batch],
    single_images: Sequence[np.ndarray],
    warmup: int,
    repeats: int,
    lr: float,
) -> dict[str, Any]:
    """Median ms per layer: training forward and backward, inference forward (two sizes).

    Calls each layer's ``forward(x, training)`` / ``backward(dout, cache)`` in turn, in the
    network's ``execution_order`` (what :class:`Sequential` does), timing each call; the
    loss and the optimizer step are timed as rows of their own. Rows stay in the spec's
    order; a ReLU run after its max pool shows the pooled shape.
    """
    layers, order = net.layers, net.execution_order
    spec = net.spec()
    optimizer = make_optimizer("momentum", net.parameters(), lr)
    n = len(layers)
    fwd: list[list[float]] = [[] for _ in range(n)]
    bwd: list[list[float]] = [[] for _ in range(n)]
    ev_big: list[list[float]] = [[] for _ in range(n)]
    ev_one: list[list[float]] = [[] for _ in range(n)]
    loss_t: list[float] = []
    opt_t: list[float] = []
    shapes: list[tuple[int, ...]] = [()] * n
    clock = time.perf_counter

    def forward_pass(x: np.ndarray, training: bool, sink: list[list[float]] | None) -> Any:
        caches = {}
        for i in order:
            t0 = clock()
            x, cache = layers[i].forward(x, training)
            if sink is not None:
                sink[i].append((clock() - t0) * 1e3)
            shapes[i] = tuple(x.shape[1:])
            caches[i] = cache
        return x, caches

    gc.collect()
    gc.disable()
    try:
        for r in range(warmup + repeats):
            keep = r >= warmup
            x, y = train_batches[r % len(train_batches)]
            logits, caches = forward_pass(x, True, fwd if keep else None)
            t0 = clock()
            _, grad = softmax_cross_entropy(logits, y)
            t1 = clock()
            for i in reversed(order):
                t2 = clock()
                grad = layers[i].backward(grad, caches[i])
                if keep:
                    bwd[i].append((clock() - t2) * 1e3)
            t3 = clock()
            optimizer.step(net.gradients())
            t4 = clock()
            if keep:
                loss_t.append((t1 - t0) * 1e3)
                opt_t.append((t4 - t3) * 1e3)
            del caches, grad
            forward_pass(eval_batches[r % len(eval_batches)][0], False, ev_big if keep else None)
            for k in range(5):  # single images are fast: average a few per repeat
                image = single_images[(5 * r + k) % len(single_images)]
                forward_pass(image, False, ev_one if keep else None)
    finally:
        gc.enable()

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else 0.0

    rows = [
        {
            "index": i,
            "label": layer_label(i, spec[i]),
            "type": spec[i].get("type"),
            "out_shape": list(shapes[i]),
            "train_fwd_ms": med(fwd[i]),
            "train_bwd_ms": med(bwd[i]),
            "eval_fwd_ms": med(ev_big[i]),
            "eval_fwd_one_ms": med(ev_one[i]),
        }
        for i in range(n)
    ]
    return {
        "train_batch": len(train_batches[0][0]),
        "eval_batch": len(eval_batches[0][0]),
        "repeats": repeats,
        "layers": rows,
        "loss_ms": med(loss_t),
        "optimizer_ms": med(opt_t),
    }
