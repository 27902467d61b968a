"""Data-parallel training steps compute the single-threaded step's maths."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from model.blas_threads import blas_threads, get_threads
from model.network import Sequential
from model.optim import make_optimizer
from model.parallel import DataParallel, multiply_adds
from model.presets import build_preset
from model.shards import Shard, ShardGroup, split_rows


def batch(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, n)


def bias_feeding_batchnorm(net: Sequential) -> set[str]:
    """Keys of biases right before a BatchNorm: their gradient is 0 up to rounding noise."""
    spec = net.spec()
    return {
        f"{i}.b"
        for i, layer in enumerate(spec[:-1])
        if layer["type"] in ("conv2d", "dense") and spec[i + 1]["type"].startswith("batchnorm")
    }


@pytest.mark.parametrize("name", ["default", "seed"])
@pytest.mark.parametrize(("threads", "n"), [(2, 32), (2, 37), (3, 37)])
def test_shards_give_the_whole_batch_gradients(name, threads, n):
    x, y = batch(n)
    whole, sharded = build_preset(name), build_preset(name)
    loss = DataParallel(whole, 1).gradients_of(x, y, label_smoothing=0.05)
    trainer = DataParallel(sharded, threads, min_shard_work=0)
    loss_sharded = trainer.gradients_of(x, y, label_smoothing=0.05)
    assert loss_sharded == pytest.approx(loss, rel=1e-5)
    expected, got = whole.gradients(), sharded.gradients()
    assert set(got) == set(expected) == set(whole.parameters())
    noise_only = bias_feeding_batchnorm(whole)
    for key, value in expected.items():
        scale = float(np.abs(value).max())
        error = float(np.abs(got[key] - value).max())
        if key in noise_only:  # analytically zero: compare with the other gradients' scale
            assert error < 1e-5, key
        else:
            assert error <= 1e-4 * scale, (key, error, scale)
    # Batch norm used (and tracked) the whole batch's statistics, updated once.
    for key, value in whole.buffers().items():
        np.testing.assert_allclose(sharded.buffers()[key], value, rtol=1e-5, atol=1e-6)


def test_dropout_mask_is_drawn_for_the_whole_batch():
    """With dropout on, shards use the very rows of the mask a whole-batch pass draws."""
    x, y = batch(16, seed=3)
    whole, sharded = build_preset("default", seed=5), build_preset("default", seed=5)
    DataParallel(whole, 1).gradients_of(x, y)
    DataParallel(sharded, 2, min_shard_work=0).gradients_of(x, y)
    dense = "13.W"  # the dense layer before dropout: its gradient sees the mask
    np.testing.assert_allclose(sharded.gradients()[dense], whole.gradients()[dense], atol=1e-5)
    dropout = next(layer for layer in whole.layers if layer.type_name == "dropout")
    twin = next(layer for layer in sharded.layers if layer.type_name == "dropout")
    assert dropout.rng.random() == twin.rng.random()  # both generators advanced alike


def test_fixed_thread_count_is_bit_for_bit_reproducible():
    def train(threads: int) -> dict[str, np.ndarray]:
        net = build_preset("default", seed=2).train()
        optimizer = make_optimizer("nesterov", net.parameters(), 0.05)
        trainer = DataParallel(net, threads, min_shard_work=0)
        for step in range(3):
            trainer.step(*batch(24, seed=step), optimizer, label_smoothing=0.05)
        trainer.close()
        return {**net.parameters(), **net.buffers()}

    first, second = train(2), train(2)
    for key, value in first.items():
        np.testing.assert_array_equal(second[key], value)


def test_a_failing_shard_raises_instead_of_hanging():
    net = build_preset("default")
    x, y = batch(8)
    y[6] = 99  # only the second shard meets the bad label
    with pytest.raises(IndexError):
        DataParallel(net, 2, min_shard_work=0).gradients_of(x, y)


def test_step_updates_parameters_and_restores_blas_threads():
    net = build_preset("seed").train()
    before = {k: v.copy() for k, v in net.parameters().items()}
    optimizer = make_optimizer("momentum", net.parameters(), 0.01)
    threads = get_threads()
    with DataParallel(net, 2, min_shard_work=0) as trainer:
        loss = trainer.step(*batch(8), optimizer)
    assert np.isfinite(loss)
    assert get_threads() == threads
    assert any(not np.array_equal(v, before[k]) for k, v in net.parameters().items())


def test_shard_count_follows_threads_batch_and_work_per_shard():
    seed, default = build_preset("seed"), build_preset("default")
    assert multiply_adds(seed) == 8 * 24 * 24 * 25 + 8 * 20 * 20 * 200 + 800 * 128 + 128 * 10
    assert DataParallel(seed, 2).shard_count(16) == 1  # 7 M multiply-adds a shard: too few
    assert DataParallel(seed, 2).shard_count(32) == 2  # 14 M each
    assert DataParallel(seed, 2).shard_count(128) == 2
    assert DataParallel(default, 2).shard_count(16) == 2
    assert DataParallel(default, 3, min_shard_work=0).shard_count(2) == 2  # one per example at most
    assert DataParallel(seed, 4, min_shard_work=0).shard_count(3) == 3
    assert DataParallel(default, 1).shard_count(256) == 1


def test_blas_threads_context_sets_and_restores():
    start = get_threads()
    if start is None:
        pytest.skip("no OpenBLAS loaded")
    with blas_threads(1):
        assert get_threads() == 1
    assert get_threads() == start


def test_split_rows_and_group_collectives():
    assert split_rows(7, 3) == [slice(0, 3), slice(3, 5), slice(5, 7)]
    assert split_rows(2, 2) == [slice(0, 1), slice(1, 2)]
    group = ShardGroup(3)
    results: dict[int, tuple] = {}

    def shard(rank: int) -> None:
        view = Shard(group, rank, slice(rank, rank + 1), 3)
        total = view.allreduce(np.array([rank + 1.0]))
        again = view.allreduce(np.array([10.0 * rank]))
        made = view.broadcast(lambda: f"made by {rank}")
        results[rank] = (float(total[0]), float(again[0]), made)

    threads = [threading.Thread(target=shard, args=(r,)) for r in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert results == {r: (6.0, 30.0, "made by 0") for r in range(3)}


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_sharded_inference_equals_the_whole_batch(threads):
    net = build_preset("default", seed=4)
    x, _ = batch(11, seed=4)
    expected = net.eval().forward(x)
    with DataParallel(net, threads, min_shard_work=0) as parallel:
        np.testing.assert_allclose(parallel.logits(x), expected, rtol=1e-5, atol=1e-5)
    assert not net.training  # the network's mode is left alone
