"""Optional: our engine and PyTorch compute the same function from the same weights.

Runs when ``torch`` is importable (it is not a project dependency; see the README's
benchmark section for a venv with it) and is skipped otherwise. The machinery is the
benchmark's: :mod:`bench.torch_reference` builds a PyTorch twin of a network from its spec,
copies the weights and BatchNorm statistics across, and compares eval-mode logits, one
training-mode pass (logits, loss, every parameter gradient, updated running statistics) and
eval-mode logits again.
"""

from __future__ import annotations

import numpy as np
import pytest

from model.presets import PRESETS, build_preset

pytest.importorskip(
    "torch", reason="PyTorch is not installed: the optional cross-check against it is skipped"
)
from bench import torch_reference  # imports torch: only once it is known to be there

BATCH = 16


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    previous = torch_reference.configure_threads(1)[0]
    yield
    torch_reference.configure_threads(previous)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_same_logits_loss_and_gradients_as_pytorch(preset):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    net = build_preset(preset, seed=4)
    result = torch_reference.cross_check(net, torch_reference.build_twin(net.spec()), x, y)
    scale = max(1.0, result["logit_scale"])
    assert result["eval_logits_max_abs_diff"] <= 1e-3 * scale, result
    assert result["train_logits_max_abs_diff"] <= 1e-3 * scale, result
    assert result["loss_abs_diff"] <= 1e-4, result
    assert result["grad_max_rel_diff"] <= 1e-2, result
    assert result.get("bn_running_stats_max_abs_diff", 0.0) <= 1e-4, result
    assert result["ok"], result
