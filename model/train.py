"""Offline trainer: ``python -m model.train`` (defaults produce the shipped model).

Per epoch a tqdm bar shows the running loss and images/s; after it, validation loss and
accuracy. The best weights (by validation accuracy) are written atomically after every
improvement, so Ctrl-C or a crash never loses them and never leaves a half-written file.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from model import __version__
from model.augment import augment_batch
from model.inference import MNIST_NORMALIZATION, to_network_input
from model.mnist import load_mnist
from model.network import Sequential
from model.optim import CosineSchedule, Schedule, StepSchedule, make_optimizer
from model.parallel import DataParallel
from model.params_io import load_params, save_params
from model.presets import PRESETS, build_preset


@dataclass
class TrainConfig:
    """Everything that determines a training run (the defaults make params/default.pkl)."""

    preset: str = "default"
    epochs: int = 15
    batch_size: int = 64
    lr: float = 0.05
    schedule: str = "cosine"
    warmup_epochs: float = 0.5
    optimizer: str = "nesterov"
    weight_decay: float = 5e-4
    label_smoothing: float = 0.05
    seed: int = 0
    threads: int | None = None
    augment: bool = True
    val_size: int = 5000
    limit: int | None = None
    data_dir: str | None = None
    output: str = "params/default.pkl"


@dataclass
class TrainResult:
    best_val_accuracy: float
    best_epoch: int
    wall_time_s: float
    history: list[dict[str, float]] = field(default_factory=list)
    interrupted: bool = False


def make_schedule(cfg: TrainConfig, steps_per_epoch: int) -> Schedule:
    total = cfg.epochs * steps_per_epoch
    warmup = int(cfg.warmup_epochs * steps_per_epoch)
    if cfg.schedule == "cosine":
        return CosineSchedule(cfg.lr, total, min_lr=cfg.lr * 0.002, warmup_steps=warmup)
    if cfg.schedule == "step":
        step_size = max(steps_per_epoch * max(cfg.epochs // 3, 1), 1)
        return StepSchedule(cfg.lr, total, step_size, gamma=0.1, warmup_steps=warmup)
    if cfg.schedule == "constant":
        return Schedule(cfg.lr, total, warmup_steps=warmup)
    raise ValueError(f"unknown schedule {cfg.schedule!r}: use cosine, step or constant")


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


def evaluate_loss_accuracy(
    network: Sequential, x: np.ndarray, y: np.ndarray, batch_size: int = 500
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``network`` on normalised inputs x (N, 1, 28, 28)."""
    if len(x) == 0:
        return float("nan"), float("nan")
    probs = network.predict_proba(x, batch_size)
    loss = float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)).mean())
    return loss, float((probs.argmax(axis=1) == y).mean())


def train(cfg: TrainConfig, command: str = "", show_progress: bool = True) -> TrainResult:
    """Train ``cfg.preset`` on MNIST and write the best weights to ``cfg.output``."""
    started = time.perf_counter()
    data = load_mnist(cfg.data_dir)
    x_train, y_train, x_val, y_val = split_train_val(
        data.train_images, data.train_labels, cfg.val_size, cfg.seed, cfg.limit
    )
    x_train = x_train.astype(np.float32) / 255.0
    x_val_in = to_network_input(x_val, MNIST_NORMALIZATION)
    y_train, y_val = y_train.astype(np.int64), y_val.astype(np.int64)

    network = build_preset(cfg.preset, seed=cfg.seed)
    optimizer = make_optimizer(
        cfg.optimizer, network.parameters(), cfg.lr,
        weight_decay=cfg.weight_decay, decayed=network.decayed_parameters(),
    )
    steps_per_epoch = -(-len(x_train) // cfg.batch_size)
    schedule = make_schedule(cfg, steps_per_epoch)
    rng = np.random.default_rng(cfg.seed + 1)
    trainer = DataParallel(network, cfg.threads)
    result = TrainResult(best_val_accuracy=-1.0, best_epoch=0, wall_time_s=0.0)

    def save_best() -> None:
        meta = run_metadata(cfg, command, result, time.perf_counter() - started)
        save_params(cfg.output, network, cfg.preset, MNIST_NORMALIZATION, meta)

    step = 0
    try:
        for epoch in range(1, cfg.epochs + 1):
            network.train()
            order = rng.permutation(len(x_train))
            bar = tqdm(
                range(steps_per_epoch), desc=f"epoch {epoch}/{cfg.epochs}", unit="batch",
                disable=not show_progress, leave=True, dynamic_ncols=True,
            )
            epoch_start, running, seen = time.perf_counter(), 0.0, 0
            for b in bar:
                idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
                batch = x_train[idx]
                if cfg.augment:
                    batch = augment_batch(batch, rng)
                optimizer.lr = schedule(step)
                loss = trainer.step(to_network_input(batch, MNIST_NORMALIZATION), y_train[idx],
                                    optimizer, cfg.label_smoothing)
                step += 1
                seen += len(idx)
                running = loss if b == 0 else 0.98 * running + 0.02 * loss
                if b % 20 == 0 or b == steps_per_epoch - 1:
                    rate = seen / max(time.perf_counter() - epoch_start, 1e-9)
                    bar.set_postfix(
                        loss=f"{running:.4f}", img_s=f"{rate:.0f}", lr=f"{optimizer.lr:.4f}"
                    )
            bar.close()
            epoch_time = time.perf_counter() - epoch_start
            val_loss, val_acc = evaluate_loss_accuracy(network, x_val_in, y_val)
            result.history.append({
                "epoch": epoch, "train_loss": float(running), "val_loss": val_loss,
                "val_accuracy": val_acc, "epoch_time_s": epoch_time,
                "images_per_s": seen / epoch_time, "lr_end": float(optimizer.lr),
            })
            improved = val_acc > result.best_val_accuracy or len(x_val_in) == 0
            if improved:
                result.best_val_accuracy, result.best_epoch = val_acc, epoch
                save_best()
            if show_progress:
                print(f"epoch {epoch}: train loss {running:.4f}  val loss {val_loss:.4f}  "
                      f"val acc {val_acc:.4%}  ({epoch_time:.0f} s, {seen / epoch_time:.0f} img/s)"
                      f"{'  * saved' if improved else ''}", flush=True)
    except KeyboardInterrupt:
        result.interrupted = True
        print("\ninterrupted: keeping the best weights so far "
              f"(epoch {result.best_epoch}) in {cfg.output}", file=sys.stderr)
    trainer.close()
    result.wall_time_s = time.perf_counter() - started
    if result.best_epoch and not result.interrupted:
        _rewrite_final_meta(cfg, command, result)
    return result


def _rewrite_final_meta(cfg: TrainConfig, command: str, result: TrainResult) -> None:
    """Re-save the best file with the full history and total wall time in its metadata."""
    best = load_params(cfg.output)
    meta = run_metadata(cfg, command, result, result.wall_time_s)
    save_params(cfg.output, best.network, best.name, best.normalization, meta)


def run_metadata(
    cfg: TrainConfig, command: str, result: TrainResult, wall: float
) -> dict[str, Any]:
    return {
        "version": __version__,
        "preset": cfg.preset,
        "command": command,
        "config": {k: v for k, v in vars(cfg).items()},
        "seed": cfg.seed,
        "epochs": cfg.epochs,
        "best_epoch": result.best_epoch,
        "val_accuracy": result.best_val_accuracy,
        "wall_time_s": round(wall, 1),
        "history": list(result.history),
        "versions": {"python": platform.python_version(), "numpy": np.__version__},
        "machine": f"{platform.machine()}, {_cpu_count()} CPUs",
    }


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m model.train", description=__doc__,
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", default=d.preset, choices=sorted(PRESETS))
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="peak learning rate")
    p.add_argument("--schedule", default=d.schedule, choices=["cosine", "step", "constant"])
    p.add_argument("--warmup-epochs", type=float, default=d.warmup_epochs)
    p.add_argument("--optimizer", default=d.optimizer,
                   choices=["sgd", "momentum", "nesterov", "adam"])
    p.add_argument("--weight-decay", type=float, default=d.weight_decay, help="L2, weights only")
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--threads", type=int, default=d.threads,
                   help="training threads, each on a shard of every batch (default: every CPU);"
                        " a run is bit-for-bit reproducible for a given seed and thread count")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=d.augment,
                   help="random shifts, rotations, scaling and stroke thickness")
    p.add_argument("--val-size", type=int, default=d.val_size,
                   help="training images held out for validation and best-epoch selection")
    p.add_argument("--limit", type=int, default=None, help="train on a subset (for tests)")
    p.add_argument("--data-dir", default=None,
                   help="MNIST folder (default: $MNIST_DIR, ./data/mnist or ../shared/data/mnist;"
                        " missing files are downloaded and verified)")
    p.add_argument("--output", default=d.output)
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        p.error("epochs, batch size and learning rate must be positive")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return TrainConfig(**{k.replace("-", "_"): v for k, v in vars(args).items()})


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cfg = parse_args(argv)
    command = shlex.join(["python", "-m", "model.train", *argv])
    result = train(cfg, command)
    if not result.best_epoch:
        print("no epoch finished: nothing written", file=sys.stderr)
        return 130 if result.interrupted else 1
    print(f"best val accuracy {result.best_val_accuracy:.4%} at epoch {result.best_epoch}; "
          f"{result.wall_time_s:.0f} s; wrote {cfg.output}")
    return 130 if result.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
