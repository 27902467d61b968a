"""Data-parallel training steps: the batch split across threads, one BLAS thread each.

:meth:`DataParallel.step` is one whole training step (forward, loss, backward, optimizer
update) for a :class:`~model.network.Sequential`. With ``threads`` > 1 the batch is cut into
``threads`` contiguous shards; each runs on its own thread through shallow copies of the
layers (the same parameter arrays, their own gradients), while OpenBLAS is set to one
thread, so each core multiplies its own matrices instead of two cores sharing every small
one (NumPy releases the GIL inside its kernels). :meth:`DataParallel.logits` does the same
for inference. The maths is that of one step on the whole batch:

- batch norm adds its per-shard sums across shards before using them (mean, variance, and
  in backward the sums of dout and dout * x_hat), so every shard normalises with the
  whole batch's statistics, and only rank 0 updates the running statistics;
- dropout draws the whole batch's mask once, from the layer's own generator;
- each shard's loss and dlogits are divided by the whole batch's size, and the parameter
  gradients are the shards' gradients added in rank order.

Results are bit-for-bit reproducible for a fixed seed and thread count. A different count
changes the order of float32 sums (relative differences ~1e-6, see tests/test_parallel.py).
With one shard (``threads == 1``, or a batch too small to share, see
:meth:`DataParallel.shard_count`) the step is exactly ``Sequential.forward``/``backward``.
"""

from __future__ import annotations

import copy
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from model.allocator import keep_freed_memory
from model.blas_threads import blas_threads
from model.layers import Conv2D, Dense, Layer
from model.losses import softmax_cross_entropy
from model.network import Sequential
from model.optim import Optimizer
from model.shards import Shard, ShardGroup, split_rows

#: Least multiply-adds (forward pass) one shard must carry for another thread to pay off.
#: Measured (bench/bench_model.py): the seed net at batch 32 (two shards of 14 M) ran 5,400
#: images/s on two threads against 7,000 on one when its flat-grid conv made a dozen NumPy
#: calls per chunk of 4 images (Python's per-call overhead, under the GIL, as long as the
#: work); since its chunks run as one batched matmul, two threads win: 6,700 -> 7,250-7,500.
#: Below that (the seed net at batch 16, two shards of 7 M) one thread is left alone.
MIN_SHARD_MULTIPLY_ADDS = 12e6


def multiply_adds(network: Sequential) -> int:
    """Multiply-adds of one example's forward pass through the convs and dense layers."""
    total, shape = 0, network.input_shape
    for layer in network.layers:
        out = layer.output_shape(shape)
        if isinstance(layer, Conv2D):
            total += int(np.prod(out)) * shape[0] * layer.kernel * layer.kernel
        elif isinstance(layer, Dense):
            total += layer.in_features * layer.units
        shape = out
    return total


def available_cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _shard_copy(layer: Layer, shard: Shard) -> Layer:
    """The layer for one shard's thread: shared params and buffers, own grads."""
    replica = copy.copy(layer)
    replica.grads = {}
    replica.shard = shard
    return replica


class DataParallel:
    """Training steps of ``network`` on ``threads`` threads (default: every available CPU).

    ``network`` is trained in place: after :meth:`gradients_of` its layers' ``grads`` hold
    the whole batch's gradients, exactly where ``Sequential.backward`` puts them. A batch
    gets as many shards as threads, but fewer when a shard would carry less than
    ``min_shard_work`` multiply-adds (one shard: the plain single-threaded step). The count
    depends only on the batch size and the network, so results stay reproducible.

    Creating one also makes the process keep freed memory for the next step
    (:func:`model.allocator.keep_freed_memory`), so each step's large arrays reuse the
    last one's pages instead of faulting in fresh ones.
    """

    def __init__(
        self,
        network: Sequential,
        threads: int | None = None,
        min_shard_work: float = MIN_SHARD_MULTIPLY_ADDS,
    ) -> None:
        self.network = network
        self.threads = available_cpus() if threads is None else threads
        if self.threads < 1:
            raise ValueError(f"threads must be >= 1: {self.threads}")
        self.min_shard_work = min_shard_work
        self._work_per_example = multiply_adds(network)
        self._pool: ThreadPoolExecutor | None = None
        self._workers = 0
        keep_freed_memory()

    def step(
        self, x: np.ndarray, y: np.ndarray, optimizer: Optimizer, label_smoothing: float = 0.0
    ) -> float:
        """One optimizer step on a batch x (N, *input_shape), labels y (N,); returns the loss.

        ``optimizer`` must hold the network's parameters (``network.parameters()``).
        """
        loss = self.gradients_of(x, y, label_smoothing)
        optimizer.step(self.network.gradients())
        return loss

    def gradients_of(self, x: np.ndarray, y: np.ndarray, label_smoothing: float = 0.0) -> float:
        """Forward and backward in training mode: fills the layers' ``grads``; returns the loss."""
        shards = self.shard_count(len(x))
        if shards <= 1:
            with self._blas_for_one_shard():
                return self._whole_batch(x, y, label_smoothing)
        group = ShardGroup(shards)
        layers = self.network.layers
        nets = [
            Sequential(
                [_shard_copy(layer, Shard(group, rank, rows, len(x))) for layer in layers],
                self.network.input_shape,
            ).train()
            for rank, rows in enumerate(split_rows(len(x), shards))
        ]

        def run(net: Sequential) -> float:
            try:
                rows = net.layers[0].shard.rows
                logits = net.forward(x[rows])
                loss, dlogits = softmax_cross_entropy(logits, y[rows], label_smoothing, len(x))
                net.backward(dlogits)
                return loss
            except BaseException:
                group.abort()  # release the other shards waiting on this one
                raise

        with blas_threads(1):
            pool = self._executor(shards - 1)
            others = [pool.submit(run, net) for net in nets[1:]]
            errors, losses = [], []
            try:
                losses.append(run(nets[0]))
            except BaseException as exc:  # re-raised below, after the others
                errors.append(exc)
            for future in others:
                try:
                    losses.append(future.result())
                except BaseException as exc:
                    errors.append(exc)
        if errors:
            first = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
            raise (first or errors)[0]
        self._add_shard_gradients(nets)
        return float(sum(losses))

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Inference-mode logits (N, classes) of x (N, *input_shape), shards on the threads.

        No shard needs another's rows at inference, so this is exactly
        ``network.logits(x)`` computed piecewise (one BLAS thread per shard).
        """
        shards = self.shard_count(len(x))
        if shards <= 1:
            with self._blas_for_one_shard():
                return self.network.logits(x)
        parts = split_rows(len(x), shards)
        with blas_threads(1):
            pool = self._executor(shards - 1)
            others = [pool.submit(self.network.logits, x[rows]) for rows in parts[1:]]
            first = self.network.logits(x[parts[0]])
            return np.concatenate([first, *(future.result() for future in others)])

    def shard_count(self, batch: int) -> int:
        """Shards for a batch of ``batch`` examples: up to one per thread, each carrying at
        least ``min_shard_work`` multiply-adds."""
        worth = int(batch * self._work_per_example // max(self.min_shard_work, 1))
        return max(1, min(self.threads, batch, worth))

    def _blas_for_one_shard(self) -> AbstractContextManager[None]:
        """BLAS threads for a batch too small to shard: one when several threads were asked
        for (its products are too small to split, and OpenBLAS's threads spin and collapse
        when another process holds a core); untouched with ``threads == 1``, the caller's
        choice."""
        return blas_threads(1) if self.threads > 1 else nullcontext()

    def _whole_batch(self, x: np.ndarray, y: np.ndarray, label_smoothing: float) -> float:
        was_training = self.network.training
        self.network.train()
        try:
            loss, dlogits = softmax_cross_entropy(self.network.forward(x), y, label_smoothing)
            self.network.backward(dlogits)
        finally:
            self.network.training = was_training
        return loss

    def _add_shard_gradients(self, nets: list[Sequential]) -> None:
        """Each layer's grads = the sum of its shard copies' grads, in rank order."""
        for index, layer in enumerate(self.network.layers):
            for name in layer.params:
                total = nets[0].layers[index].grads[name].copy()
                for net in nets[1:]:
                    total += net.layers[index].grads[name]
                layer.grads[name] = total

    def _executor(self, workers: int) -> ThreadPoolExecutor:
        if self._pool is None or self._workers < workers:
            self.close()
            self._pool = ThreadPoolExecutor(workers, thread_name_prefix="shard")
            self._workers = workers
        return self._pool

    def close(self) -> None:
        """Stop the worker threads (a later step starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> DataParallel:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
