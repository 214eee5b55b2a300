"""Reproducible runs: seeds (python, numpy, torch; per DataLoader worker and epoch), the global
RNG states a checkpoint stores and restores, and the process-wide torch settings of a run."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from depthduet.engine.config import EngineConfig

__all__ = [
    "seed_everything",
    "loader_seed",
    "seed_worker",
    "get_rng_state",
    "set_rng_state",
    "torch_settings",
]


def seed_everything(seed: int) -> None:
    """Seed python's ``random``, numpy's global generator and torch (CPU and all GPUs)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def loader_seed(seed: int, epoch: int, rank: int = 0) -> int:
    """The seed of the loader generator for one epoch on one process (a fixed mixing of the
    three numbers; worker ``i`` then gets torch seed ``base + i`` from the DataLoader)."""
    return (seed * 1_000_003 + epoch * 10_007 + rank * 101 + 12_345) % (2**63 - 1)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed python and numpy from the worker's torch seed (which
    the DataLoader derives from the loader generator), so augmentations that use ``random`` or
    ``numpy.random`` are reproducible too."""
    s = torch.initial_seed() % 2**32
    random.seed(s)
    np.random.seed(s)


def get_rng_state() -> dict[str, Any]:
    """The global RNG states (python, numpy, torch CPU, CUDA) as plain types / tensors, so that
    ``torch.load(weights_only=True)`` accepts them."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [
            str(name),
            torch.from_numpy(keys.astype(np.int64)),
            int(pos),
            int(has_gauss),
            float(cached),
        ],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`get_rng_state` returned."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


@contextlib.contextmanager
def torch_settings(cfg: EngineConfig, device: torch.device) -> Iterator[None]:
    """Apply the run's process-wide torch settings (``engine.threads``, deterministic
    algorithms, cuDNN autotuning off when deterministic on CUDA) and restore the previous ones
    on exit."""
    saved = (
        torch.get_num_threads(),
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.benchmark,
    )
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if cfg.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = not cfg.deterministic
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])
        torch.backends.cudnn.benchmark = saved[3]
