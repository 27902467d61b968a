"""Offline trainer: ``python -m model.train`` (defaults produce the shipped model).

Per epoch a tqdm bar shows the running loss and images/s; after it, validation loss and
accuracy. The best weights (by validation accuracy) are written atomically after every
improvement, so Ctrl-C or a crash never loses them and never leaves a half-written file.
After the last epoch the best weights are calibrated on the validation split (a softmax
temperature, and the probability above which a mark is "not a digit") and saved with the
whole run's history.
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
from model.calibration import fit_temperature
from model.inference import MNIST_NORMALIZATION, to_network_input
from model.losses import softmax
from model.network import Sequential
from model.optim import CosineSchedule, Optimizer, Schedule, StepSchedule, make_optimizer
from model.parallel import DataParallel
from model.params_io import load_params, save_params
from model.presets import PRESETS, build_preset
from model.training_data import NOT_A_DIGIT, Split, batches, steps_per_epoch, training_splits

#: Weight of the newest batch in the running loss the progress bar shows (an exponential
#: moving average over about 50 batches), and how often the bar is refreshed.
RUNNING_LOSS_WEIGHT = 0.02
BAR_EVERY = 20
#: At most this share of validation digits may be called "not a digit" at the threshold
#: the calibration picks (it is never below one half: the network must lean that way).
DIGITS_REJECTED = 0.001


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
    negatives: float = 0.1
    several: float = 0.06
    extra_data: list[str] = field(default_factory=list)
    extra_repeat: int = 4
    init: str | None = None
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
    calibration: dict[str, float] = field(default_factory=dict)


def make_schedule(cfg: TrainConfig, steps: int) -> Schedule:
    total = cfg.epochs * steps
    warmup = int(cfg.warmup_epochs * steps)
    if cfg.schedule == "cosine":
        return CosineSchedule(cfg.lr, total, min_lr=cfg.lr * 0.002, warmup_steps=warmup)
    if cfg.schedule == "step":
        step_size = max(steps * max(cfg.epochs // 3, 1), 1)
        return StepSchedule(cfg.lr, total, step_size, gamma=0.1, warmup_steps=warmup)
    if cfg.schedule == "constant":
        return Schedule(cfg.lr, total, warmup_steps=warmup)
    raise ValueError(f"unknown schedule {cfg.schedule!r}: use cosine, step or constant")


def evaluate_loss_accuracy(
    network: Sequential, x: np.ndarray, y: np.ndarray, batch_size: int = 500
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``network`` on normalised inputs x (N, 1, 28, 28)."""
    if len(x) == 0:
        return float("nan"), float("nan")
    probs = network.predict_proba(x, batch_size)
    loss = float(-np.log(np.maximum(probs[np.arange(len(y)), y], 1e-12)).mean())
    return loss, float((probs.argmax(axis=1) == y).mean())


class Progress:
    """The per-epoch tqdm bar: running loss, images/s and learning rate."""

    def __init__(self, epoch: int, epochs: int, steps: int, show: bool) -> None:
        self.bar = tqdm(range(steps), desc=f"epoch {epoch}/{epochs}", unit="batch",
                        disable=not show, leave=True, dynamic_ncols=True)
        self.started = time.perf_counter()
        self.running, self.seen, self.steps = 0.0, 0, steps

    def update(self, batch: int, loss: float, size: int, lr: float) -> None:
        self.seen += size
        weight = 1.0 if batch == 0 else RUNNING_LOSS_WEIGHT
        self.running += weight * (loss - self.running)
        self.bar.update(1)
        if batch % BAR_EVERY == 0 or batch == self.steps - 1:
            rate = self.seen / max(self.elapsed, 1e-9)
            self.bar.set_postfix(loss=f"{self.running:.4f}", img_s=f"{rate:.0f}", lr=f"{lr:.4f}")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def close(self) -> None:
        self.bar.close()


def train_epoch(trainer: DataParallel, optimizer: Optimizer, schedule: Schedule,
                first_step: int, data: Split, cfg: TrainConfig, rng: np.random.Generator,
                progress: Progress) -> None:
    """One pass over ``data``: a training step (forward, loss, backward, optimizer update,
    on every core) per batch."""
    trainer.network.train()
    for b, (x, y) in enumerate(batches(data, cfg.batch_size, rng, cfg.augment)):
        optimizer.lr = schedule(first_step + b)
        loss = trainer.step(x, y, optimizer, cfg.label_smoothing)
        progress.update(b, loss, len(y), optimizer.lr)


def calibrate(network: Sequential, val: Split) -> dict[str, float]:
    """A temperature fitted on the validation split and, for a network with a "not a digit"
    output (and "several digits"), the probability of those above which a mark is not read
    as one digit: the smallest that refuses at most DIGITS_REJECTED of the validation
    digits, and at least one half."""
    x = to_network_input(val.images, MNIST_NORMALIZATION)
    network.eval()
    logits = np.concatenate([network.forward(x[i : i + 500]) for i in range(0, len(x), 500)])
    temperature = fit_temperature(logits, val.labels)
    calibration = {"temperature": temperature}
    if logits.shape[1] > NOT_A_DIGIT:
        not_digit = softmax(logits / np.float32(temperature))[:, NOT_A_DIGIT:].sum(axis=1)
        digits = not_digit[val.labels < NOT_A_DIGIT]
        calibration["not_a_digit_threshold"] = float(max(
            0.5, np.quantile(digits, 1.0 - DIGITS_REJECTED) if digits.size else 0.5))
    return calibration


def train(cfg: TrainConfig, command: str = "", show_progress: bool = True) -> TrainResult:
    """Train ``cfg.preset`` and write the best, calibrated weights to ``cfg.output``."""
    started = time.perf_counter()
    network = build_preset(cfg.preset, seed=cfg.seed)
    if cfg.init:  # fine-tune: start from trained weights of the same architecture
        start = load_params(cfg.init).network
        network.load_state(start.parameters(), start.buffers())
    data, val = training_splits(
        classes=network.output_shape[0], val_size=cfg.val_size, seed=cfg.seed, limit=cfg.limit,
        data_dir=cfg.data_dir, negatives=cfg.negatives, several=cfg.several,
        extra=cfg.extra_data,
        extra_repeat=cfg.extra_repeat,
    )
    x_val = to_network_input(val.images, MNIST_NORMALIZATION)
    optimizer = make_optimizer(
        cfg.optimizer, network.parameters(), cfg.lr,
        weight_decay=cfg.weight_decay, decayed=network.decayed_parameters(),
    )
    steps = steps_per_epoch(data, cfg.batch_size)
    schedule = make_schedule(cfg, steps)
    rng = np.random.default_rng(cfg.seed + 1)
    trainer = DataParallel(network, cfg.threads)
    result = TrainResult(best_val_accuracy=-1.0, best_epoch=0, wall_time_s=0.0)
    try:
        for epoch in range(1, cfg.epochs + 1):
            progress = Progress(epoch, cfg.epochs, steps, show_progress)
            train_epoch(trainer, optimizer, schedule, (epoch - 1) * steps, data, cfg, rng,
                        progress)
            progress.close()
            val_loss, val_acc = evaluate_loss_accuracy(network, x_val, val.labels)
            result.history.append({
                "epoch": epoch, "train_loss": float(progress.running), "val_loss": val_loss,
                "val_accuracy": val_acc, "epoch_time_s": progress.elapsed,
                "images_per_s": progress.seen / progress.elapsed, "lr_end": float(optimizer.lr),
            })
            improved = val_acc > result.best_val_accuracy or len(x_val) == 0
            if improved:
                result.best_val_accuracy, result.best_epoch = val_acc, epoch
                save(cfg, command, result, network, time.perf_counter() - started)
            if show_progress:
                print(f"epoch {epoch}: train loss {progress.running:.4f}  val loss "
                      f"{val_loss:.4f}  val acc {val_acc:.4%}  ({progress.elapsed:.0f} s, "
                      f"{progress.seen / progress.elapsed:.0f} img/s)"
                      f"{'  * saved' if improved else ''}", flush=True)
    except KeyboardInterrupt:
        result.interrupted = True
        print("\ninterrupted: keeping the best weights so far "
              f"(epoch {result.best_epoch}) in {cfg.output}", file=sys.stderr)
    finally:
        trainer.close()
    if result.best_epoch and not result.interrupted:
        best = load_params(cfg.output).network
        result.calibration = calibrate(best, val)
        best.temperature = result.calibration["temperature"]
        result.wall_time_s = time.perf_counter() - started
        save(cfg, command, result, best, result.wall_time_s)
    result.wall_time_s = time.perf_counter() - started
    return result


def save(cfg: TrainConfig, command: str, result: TrainResult, network: Sequential,
         wall: float) -> None:
    """Write ``network`` with the run's metadata and calibration to ``cfg.output``."""
    save_params(cfg.output, network, cfg.preset, MNIST_NORMALIZATION,
                run_metadata(cfg, command, result, wall), result.calibration)


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
                   help="random warps, elastic distortion, stroke width, low resolution, blur")
    p.add_argument("--val-size", type=int, default=d.val_size,
                   help="training images held out for validation, best-epoch selection and "
                        "calibration")
    p.add_argument("--negatives", type=float, default=d.negatives,
                   help="drawn non-digits (class 10) per MNIST training image, for presets "
                        "with a 'not a digit' output")
    p.add_argument("--several", type=float, default=d.several,
                   help="squeezed groups of two or three digits (class 11: several digits) per "
                        "MNIST training image, for presets with that output")
    p.add_argument("--extra-data", action="append", default=[], metavar="NPZ",
                   help="more examples (arrays 'images' (N, 28, 28), 'labels' (N,), 10 = not "
                        "a digit), e.g. from 'python -m model.feedback export'; repeatable")
    p.add_argument("--extra-repeat", type=int, default=d.extra_repeat,
                   help="how many times each extra example is seen per epoch")
    p.add_argument("--init", default=None, metavar="PARAMS",
                   help="start from these weights (same preset) instead of random ones: "
                        "fine-tuning, e.g. on corrections with --extra-data")
    p.add_argument("--limit", type=int, default=None, help="train on a subset (for tests)")
    p.add_argument("--data-dir", default=None,
                   help="MNIST folder (default: $MNIST_DIR, ./data/mnist or ../shared/data/mnist;"
                        " missing files are downloaded and verified)")
    p.add_argument("--output", default=d.output)
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        p.error("epochs, batch size and learning rate must be positive")
    if args.negatives < 0 or args.several < 0 or args.extra_repeat < 1:
        p.error("--negatives and --several must be >= 0 and --extra-repeat >= 1")
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
          f"{result.wall_time_s:.0f} s; calibration {result.calibration}; wrote {cfg.output}")
    return 130 if result.interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
