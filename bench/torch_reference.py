"""A PyTorch twin of a NumPy-engine network, built from ``net.spec()``, for benchmarking.

PyTorch is not a project dependency: only ``bench_model.py`` imports this module, and only
when ``import torch`` works. The twin is an ``nn.Sequential`` with exactly one block per
layer of ours (block ``i`` <-> layer ``i``), so parameters copy across by index:

- conv2d W (F, C, KH, KW) is torch's layout; dense W is (in, out), torch Linear wants W.T;
- BatchNorm: ours keeps ``running = m * running + (1 - m) * batch``, torch's momentum is the
  weight of the *batch* statistic, so torch momentum = 1 - m; both track the unbiased
  variance and normalise with the biased one;
- "same" padding may be asymmetric (even kernels, strides): an explicit ZeroPad2d then.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from torch import nn

from model.conv_ops import output_size, same_padding
from model.losses import softmax_cross_entropy


def configure_threads(threads: int) -> tuple[int, int]:
    """Pin intra-op threads to ``threads`` and inter-op threads to 1; returns both counts."""
    torch.set_num_threads(threads)
    with suppress(RuntimeError):  # only allowed before the first inter-op parallel work
        torch.set_num_interop_threads(1)
    return torch.get_num_threads(), torch.get_num_interop_threads()


def version() -> str:
    return torch.__version__


def _conv_block(spec: dict[str, Any], shape: tuple[int, ...]) -> tuple[nn.Module, tuple]:
    c, h, w = shape
    k, s, padding = int(spec["kernel"]), int(spec.get("stride", 1)), spec.get("padding", "valid")
    if padding == "valid":
        ph = pw = (0, 0)
    elif padding == "same":
        ph, pw = same_padding(h, k, s), same_padding(w, k, s)
    else:
        ph = pw = (int(padding), int(padding))
    filters = int(spec["filters"])
    if ph[0] == ph[1] and pw[0] == pw[1]:
        block: nn.Module = nn.Conv2d(c, filters, k, s, padding=(ph[0], pw[0]))
    else:
        block = nn.Sequential(
            nn.ZeroPad2d((pw[0], pw[1], ph[0], ph[1])), nn.Conv2d(c, filters, k, s)
        )
    return block, (filters, output_size(h, k, s, *ph), output_size(w, k, s, *pw))


def build_twin(spec: list[dict[str, Any]], input_shape: Sequence[int] = (1, 28, 28)):
    """nn.Sequential with one block per layer spec. Raises ValueError on unknown layers."""
    blocks: list[nn.Module] = []
    shape = tuple(input_shape)
    for layer in spec:
        kind = layer.get("type")
        if kind == "conv2d":
            block, shape = _conv_block(layer, shape)
        elif kind in ("batchnorm2d", "batchnorm1d"):
            bn = nn.BatchNorm2d if kind == "batchnorm2d" else nn.BatchNorm1d
            m, eps = float(layer.get("momentum", 0.9)), float(layer.get("eps", 1e-5))
            block = bn(shape[0], eps=eps, momentum=1.0 - m)
        elif kind == "relu":
            block = nn.ReLU()
        elif kind == "maxpool2d":
            k = int(layer.get("kernel", 2))
            s = int(layer.get("stride") or k)
            block = nn.MaxPool2d(k, s)
            shape = (shape[0], output_size(shape[1], k, s), output_size(shape[2], k, s))
        elif kind == "flatten":
            block = nn.Flatten()
            shape = (int(np.prod(shape)),)
        elif kind == "dense":
            block = nn.Linear(shape[0], int(layer["units"]))
            shape = (int(layer["units"]),)
        elif kind == "dropout":
            block = nn.Dropout(float(layer.get("rate", 0.5)))
        else:
            raise ValueError(f"no PyTorch equivalent for layer type {kind!r}")
        blocks.append(block)
    return nn.Sequential(*blocks)


def _core(block: nn.Module) -> nn.Module:
    """The module holding a block's parameters (the conv inside a pad + conv block)."""
    for module in block.modules():
        if isinstance(module, nn.Conv2d | nn.Linear | nn.BatchNorm1d | nn.BatchNorm2d):
            return module
    return block


def _torch_name(module: nn.Module, ours: str) -> str:
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        return {"gamma": "weight", "beta": "bias"}.get(ours, ours)
    return {"W": "weight", "b": "bias"}.get(ours, ours)


def _to_torch_layout(module: nn.Module, name: str, value: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32))
    return tensor.T.contiguous() if isinstance(module, nn.Linear) and name == "W" else tensor


def _to_our_layout(module: nn.Module, name: str, tensor: torch.Tensor) -> np.ndarray:
    array = tensor.detach().numpy()
    return array.T if isinstance(module, nn.Linear) and name == "W" else array


def copy_state(net: Any, twin: nn.Sequential) -> None:
    """Copy our parameters and BatchNorm buffers into the twin (keys ``"<index>.<name>"``)."""
    state = dict(net.parameters())
    buffers = getattr(net, "buffers", None)
    if callable(buffers):
        state.update(buffers())
    with torch.no_grad():
        for key, value in state.items():
            index, name = key.split(".", 1)
            module = _core(twin[int(index)])
            target = getattr(module, _torch_name(module, name))
            source = _to_torch_layout(module, name, value)
            if tuple(target.shape) != tuple(source.shape):
                ours_shape, torch_shape = tuple(source.shape), tuple(target.shape)
                raise ValueError(f"{key}: ours {ours_shape} vs torch {torch_shape}")
            target.copy_(source)


def twin_gradients(twin: nn.Sequential, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """The twin's parameter gradients in our names and layouts."""
    out = {}
    for key in keys:
        index, name = key.split(".", 1)
        module = _core(twin[int(index)])
        grad = getattr(module, _torch_name(module, name)).grad
        if grad is not None:
            out[key] = _to_our_layout(module, name, grad)
    return out


def twin_buffers(twin: nn.Sequential, keys: Sequence[str]) -> dict[str, np.ndarray]:
    out = {}
    for key in keys:
        index, name = key.split(".", 1)
        out[key] = getattr(_core(twin[int(index)]), name).detach().numpy().copy()
    return out


# the timed callables ------------------------------------------------------------------
def to_torch(batches: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[tuple[Any, Any]]:
    """Zero-copy tensors over the very same NumPy batches."""
    return [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches]


def train_step(twin: nn.Sequential, lr: float) -> Callable[[Any, Any], Any]:
    """forward + cross-entropy + backward + SGD momentum 0.9 (what our "momentum" does)."""
    twin.train()
    optimizer = torch.optim.SGD(twin.parameters(), lr=lr, momentum=0.9)

    def step(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(twin(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def eval_forward(twin: nn.Sequential) -> Callable[[Any], Any]:
    twin.eval()

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return twin(x)

    return forward


# correctness --------------------------------------------------------------------------
@contextmanager
def _dropout_off(net: Any, twin: nn.Sequential) -> Iterator[None]:
    """Rate 0 on both sides' dropout layers, so training-mode passes are deterministic."""
    saved = [(layer, layer.rate) for layer in net.layers if layer.spec()["type"] == "dropout"]
    saved_t = [(m, m.p) for m in twin.modules() if isinstance(m, nn.Dropout)]
    try:
        for layer, _ in saved:
            layer.rate = 0.0
        for module, _ in saved_t:
            module.p = 0.0
        yield
    finally:
        for layer, rate in saved:
            layer.rate = rate
        for module, p in saved_t:
            module.p = p


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def cross_check(net: Any, twin: nn.Sequential, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Not timed: do ours and the twin compute the same function from the same weights?

    1. eval-mode logits after copying weights (and BN running statistics);
    2. one training-mode pass with dropout off: logits, loss, every parameter gradient
       (worst relative difference) and the updated BN running statistics;
    3. eval-mode logits again, now with non-trivial running statistics.
    ``net`` is modified (running statistics, gradients): pass a throwaway copy.
    """
    copy_state(net, twin)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    result: dict[str, Any] = {"batch": len(x)}

    def eval_diff() -> tuple[float, float]:
        net.eval()
        twin.eval()
        ours = net.forward(x)
        with torch.inference_mode():
            theirs = twin(tx).numpy()
        return _max_abs(ours, theirs), float(np.max(np.abs(theirs)))

    result["eval_logits_max_abs_diff"], result["logit_scale"] = eval_diff()

    with _dropout_off(net, twin):
        net.train()
        twin.train()
        logits = net.forward(x)
        loss, dlogits = softmax_cross_entropy(logits, y)
        net.backward(dlogits)
        twin.zero_grad(set_to_none=True)
        t_logits = twin(tx)
        t_loss = F.cross_entropy(t_logits, ty)
        t_loss.backward()
    result["train_logits_max_abs_diff"] = _max_abs(logits, t_logits.detach().numpy())
    result["loss_abs_diff"] = abs(float(loss) - t_loss.detach().item())

    # Each gradient's error relative to its own scale (floored at 1/1000 of the largest
    # gradient). A bias feeding straight into BatchNorm has an analytically zero gradient:
    # both sides hold rounding noise there, so it is only checked to be ~0 on both sides.
    ours_g = net.gradients()
    theirs_g = twin_gradients(twin, list(ours_g))
    spec = net.spec()
    zero_keys = {
        f"{i}.b"
        for i, layer in enumerate(spec[:-1])
        if layer["type"] in ("conv2d", "dense") and spec[i + 1]["type"].startswith("batchnorm")
    }
    top = max((float(np.max(np.abs(t))) for t in theirs_g.values()), default=0.0)
    worst, worst_key, zero_max = 0.0, "", 0.0
    for key, g in ours_g.items():
        t = theirs_g.get(key)
        if t is None or t.shape != g.shape:
            worst, worst_key = float("inf"), key
            break
        if key in zero_keys:
            zero_max = max(zero_max, float(np.max(np.abs(g))), float(np.max(np.abs(t))))
            continue
        rel = _max_abs(g, t) / max(float(np.max(np.abs(t))), 1e-3 * top, 1e-12)
        if rel > worst:
            worst, worst_key = rel, key
    result["grad_max_rel_diff"], result["grad_worst_param"] = worst, worst_key
    if zero_keys:
        result["bias_before_bn_grad_max_abs"] = zero_max  # analytically 0

    buffers = net.buffers() if callable(getattr(net, "buffers", None)) else {}
    if buffers:
        theirs_b = twin_buffers(twin, list(buffers))
        result["bn_running_stats_max_abs_diff"] = max(
            _max_abs(v, theirs_b[k]) for k, v in buffers.items()
        )
        diff, _ = eval_diff()
        result["eval_logits_after_update_max_abs_diff"] = diff
    scale = max(1.0, result["logit_scale"])
    result["ok"] = bool(
        result["eval_logits_max_abs_diff"] <= 1e-3 * scale
        and result["train_logits_max_abs_diff"] <= 1e-3 * scale
        and worst <= 1e-2
        and result.get("bias_before_bn_grad_max_abs", 0.0) <= 1e-3 * max(top, 1e-12)
        and result.get("eval_logits_after_update_max_abs_diff", 0.0) <= 1e-3 * scale
    )
    return result


# per-layer profile --------------------------------------------------------------------
def profile_forward(
    twin: nn.Sequential,
    batches: Sequence[tuple[Any, Any]],
    training: bool,
    warmup: int,
    repeats: int,
) -> list[float]:
    """Median ms per block of one forward pass (training mode records the autograd graph)."""
    twin.train(training)
    times: list[list[float]] = [[] for _ in twin]
    context = torch.enable_grad() if training else torch.inference_mode()
    with context:
        for r in range(warmup + repeats):
            x = batches[r % len(batches)][0]
            for i, block in enumerate(twin):
                t0 = time.perf_counter()
                x = block(x)
                if r >= warmup:
                    times[i].append((time.perf_counter() - t0) * 1e3)
    return [statistics.median(t) for t in times]


def profile_step(
    twin: nn.Sequential, batches: Sequence[tuple[Any, Any]], lr: float, warmup: int, repeats: int
) -> dict[str, float]:
    """Median ms of a training step's phases: forward, loss, backward, optimizer step."""
    twin.train()
    optimizer = torch.optim.SGD(twin.parameters(), lr=lr, momentum=0.9)
    phases: dict[str, list[float]] = {"forward": [], "loss": [], "backward": [], "optimizer": []}
    clock = time.perf_counter
    for r in range(warmup + repeats):
        x, y = batches[r % len(batches)]
        optimizer.zero_grad(set_to_none=True)
        t0 = clock()
        logits = twin(x)
        t1 = clock()
        loss = F.cross_entropy(logits, y)
        t2 = clock()
        loss.backward()
        t3 = clock()
        optimizer.step()
        t4 = clock()
        if r >= warmup:
            for name, value in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                phases[name].append(value * 1e3)
    return {name: statistics.median(values) for name, values in phases.items()}
