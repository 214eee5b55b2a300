"""Non-finite values in training: nothing non-finite is stepped into the weights or written to a
checkpoint. A non-finite loss or gradient skips its step (``engine.skip_nonfinite`` times in
all) or stops training; non-finite weights or validation metrics stop it. Every stop is one
line, in ``train.log`` too, and the last checkpoint keeps the last finite weights."""

from __future__ import annotations

import math
from typing import NoReturn

import torch
from torch import nn

from depthduet.engine.logs import RunLog
from depthduet.errors import UserError

__all__ = [
    "NonFiniteError",
    "SkippedSteps",
    "nonfinite_grad",
    "nonfinite_networks",
    "nonfinite_metrics",
    "stop",
]


class NonFiniteError(UserError, FloatingPointError):
    """Training met a non-finite loss, gradient, weight or validation metric and stopped."""


def stop(log: RunLog, msg: str) -> NoReturn:
    """Log ``msg`` and stop training with it (:class:`NonFiniteError`)."""
    log.info(msg)
    raise NonFiniteError(msg)


class SkippedSteps:
    """The steps skipped for a non-finite loss or gradient, against a budget.

    Args:
        allowed: ``engine.skip_nonfinite``, the number of steps that may be skipped in all.
    """

    def __init__(self, allowed: int) -> None:
        self.allowed = allowed
        self.count = 0

    def skip_or_stop(self, what: str, where: str, log: RunLog) -> None:
        """Count one more skipped step (a warning line) or, past the budget, stop training."""
        self.count += 1
        if self.count <= self.allowed:
            log.info(
                f"warning: non-finite {what} at {where}: step skipped "
                f"({self.count} of engine.skip_nonfinite={self.allowed})"
            )
            return
        stop(
            log,
            f"non-finite {what} at {where}: training stopped; the last checkpoint holds the "
            "last finite weights (lower optim.lr, set engine.grad_clip, or allow "
            "engine.skip_nonfinite=N skipped steps, then --resume)",
        )


def nonfinite_grad(optimizers: dict[str, torch.optim.Optimizer]) -> str:
    """The name of the first optimiser with a non-finite gradient, or ``""``."""
    for name, opt in optimizers.items():
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if grads and not bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()):
            return name
    return ""


def nonfinite_networks(networks: dict[str, nn.Module]) -> list[str]:
    """The names of the networks with a non-finite floating-point weight or buffer."""
    return [
        n
        for n, m in networks.items()
        if not all(
            bool(torch.isfinite(t).all()) for t in m.state_dict().values() if t.is_floating_point()
        )
    ]


def nonfinite_metrics(values: dict[str, float]) -> list[str]:
    """The names of the non-finite entries of ``values``, sorted."""
    return sorted(k for k, v in values.items() if not math.isfinite(v))
