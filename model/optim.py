"""Optimizers (SGD, momentum/Nesterov, Adam) and learning-rate schedules.

An optimizer holds references to the network's parameter arrays (``name -> array``) and
updates them in place from a matching dict of gradients, so the layers see the new values.
"""

from __future__ import annotations

import math

import numpy as np


class Optimizer:
    """Base class: L2 weight decay on the named ``decayed`` parameters, then ``_update``."""

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float,
        weight_decay: float = 0.0,
        decayed: set[str] | None = None,
    ) -> None:
        self.params = params
        self.lr = lr
        self.weight_decay = weight_decay
        self.decayed = set(params) if decayed is None else set(decayed)
        self.steps = 0

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """Apply one update from ``grads`` (same keys and shapes as ``params``)."""
        self.steps += 1
        for name, param in self.params.items():
            grad = grads[name]
            if self.weight_decay and name in self.decayed:
                grad = grad + self.weight_decay * param
            self._update(name, param, grad)

    def _update(self, name: str, param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Plain SGD, or with (optionally Nesterov) momentum: v = mu * v + g."""

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, **kwargs) -> None:
        super().__init__(params, lr, **kwargs)
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = momentum, nesterov
        self.velocity = {k: np.zeros_like(v) for k, v in params.items()} if momentum else {}

    def _update(self, name, param, grad) -> None:
        if not self.momentum:
            param -= self.lr * grad
            return
        v = self.velocity[name]
        v *= self.momentum
        v += grad
        step = grad + self.momentum * v if self.nesterov else v
        param -= self.lr * step


class Adam(Optimizer):
    """Adam with bias correction; moment estimates persist across steps."""

    def __init__(self, params, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, **kwargs) -> None:
        super().__init__(params, lr, **kwargs)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def _update(self, name, param, grad) -> None:
        m, v = self.m[name], self.v[name]
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        m_hat_scale = 1.0 / (1 - self.beta1**self.steps)
        v_hat_scale = 1.0 / (1 - self.beta2**self.steps)
        param -= self.lr * (m * m_hat_scale) / (np.sqrt(v * v_hat_scale) + self.eps)


def make_optimizer(name: str, params: dict[str, np.ndarray], lr: float, **kwargs) -> Optimizer:
    """``sgd`` | ``momentum`` | ``nesterov`` | ``adam`` -> an optimizer over ``params``."""
    if name == "sgd":
        return SGD(params, lr, **kwargs)
    if name == "momentum":
        return SGD(params, lr, momentum=0.9, **kwargs)
    if name == "nesterov":
        return SGD(params, lr, momentum=0.9, nesterov=True, **kwargs)
    if name == "adam":
        return Adam(params, lr, **kwargs)
    raise ValueError(f"unknown optimizer {name!r}: use sgd, momentum, nesterov or adam")


class Schedule:
    """Learning rate as a function of the step index (0-based), with linear warm-up."""

    def __init__(self, base_lr: float, total_steps: int, warmup_steps: int = 0) -> None:
        self.base_lr, self.total_steps, self.warmup_steps = base_lr, total_steps, warmup_steps

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        return self._after_warmup(step)

    def _after_warmup(self, step: int) -> float:
        return self.base_lr


class StepSchedule(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` steps."""

    def __init__(self, base_lr, total_steps, step_size, gamma=0.1, warmup_steps=0) -> None:
        super().__init__(base_lr, total_steps, warmup_steps)
        self.step_size, self.gamma = step_size, gamma

    def _after_warmup(self, step: int) -> float:
        return self.base_lr * self.gamma ** (step // self.step_size)


class CosineSchedule(Schedule):
    """Cosine decay from ``base_lr`` after warm-up to ``min_lr`` at ``total_steps``."""

    def __init__(self, base_lr, total_steps, min_lr=0.0, warmup_steps=0) -> None:
        super().__init__(base_lr, total_steps, warmup_steps)
        self.min_lr = min_lr

    def _after_warmup(self, step: int) -> float:
        span = max(self.total_steps - self.warmup_steps, 1)
        progress = min((step - self.warmup_steps) / span, 1.0)
        return self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * progress))
