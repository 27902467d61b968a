"""How the shard threads of one data-parallel training step talk to each other.

A batch of N examples is split into contiguous row ranges, one per thread. Layers whose
result depends on the whole batch (batch norm's statistics, dropout's mask) reach the other
shards through their :class:`Shard`: ``allreduce`` sums an array over the shards, in rank
order, so every shard gets the same, reproducible total; ``broadcast`` hands every shard
what rank 0 computed. Every shard must make the same sequence of calls (they run the same
layers), and each call waits for all of them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


class ShardGroup:
    """The rendezvous of ``size`` shard threads: a barrier and two sets of mailboxes.

    Calls alternate between the two sets, so a fast thread that has passed the barrier of
    call k and posts call k + 1 never overwrites what a slow thread is still reading from
    call k (it cannot pass call k + 1's barrier, let alone post call k + 2, before the slow
    one arrives there).
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"a shard group needs at least one shard: {size}")
        self.size = size
        self._barrier = threading.Barrier(size)
        self._boxes: list[list[Any]] = [[None] * size, [None] * size]
        self._calls = [0] * size

    def gather(self, rank: int, value: Any) -> list[Any]:
        """Post ``value`` from shard ``rank``; returns every shard's value, in rank order."""
        if self.size == 1:
            return [value]
        boxes = self._boxes[self._calls[rank] % 2]
        self._calls[rank] += 1
        boxes[rank] = value
        self._barrier.wait()
        return list(boxes)

    def abort(self) -> None:
        """Release every waiting shard with ``threading.BrokenBarrierError`` (one failed)."""
        self._barrier.abort()


@dataclass(frozen=True)
class Shard:
    """One shard's view of a step: its ``rows`` of a ``batch``-example batch."""

    group: ShardGroup
    rank: int
    rows: slice
    batch: int

    @property
    def is_root(self) -> bool:
        """Rank 0 does what must happen once per step (e.g. update running statistics)."""
        return self.rank == 0

    def allreduce(self, value: np.ndarray) -> np.ndarray:
        """Sum of ``value`` over every shard, added in rank order (same result on each)."""
        parts = self.group.gather(self.rank, value)
        total = parts[0].copy()
        for part in parts[1:]:
            total += part
        return total

    def broadcast(self, make: Callable[[], Any]) -> Any:
        """What ``make()`` returns on rank 0, handed to every shard (called once)."""
        return self.group.gather(self.rank, make() if self.is_root else None)[0]


def split_rows(n: int, shards: int) -> list[slice]:
    """``shards`` contiguous, nearly equal row ranges covering ``range(n)`` (first ones larger)."""
    size, extra = divmod(n, shards)
    bounds = [0]
    for rank in range(shards):
        bounds.append(bounds[-1] + size + (rank < extra))
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]
