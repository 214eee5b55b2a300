"""Processes and devices: single process, or several through ``torchrun`` + DDP.

``torchrun`` (or any launcher) sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`init_distributed` reads them and joins the process group when
``WORLD_SIZE > 1``. Without them everything here is a no-op for one process, so the engine code
path is the same on a laptop and on a cluster.
"""

from __future__ import annotations

import functools
import gc
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from depthduet.depth import default_device
from depthduet.errors import UserError

__all__ = [
    "DistInfo",
    "all_gather_objects",
    "all_reduce_mean",
    "all_reduce_sum",
    "barrier",
    "cleanup_distributed",
    "dist_info",
    "init_distributed",
    "resolve_device",
    "wrap_ddp",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands.

    Attributes:
        rank: global rank (0 = the process that writes files).
        world_size: number of processes.
        local_rank: rank on this node (selects the GPU).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        """True when more than one process takes part."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes logs and checkpoints."""
        return self.rank == 0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise UserError(f"environment variable {name}={raw!r}: expected an integer") from None


def dist_info() -> DistInfo:
    """The current process's rank / world size (from the process group if joined, else env)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(
            dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", dist.get_rank())
        )
    return DistInfo(_env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0))


def resolve_device(spec: str, local_rank: int = 0) -> torch.device:
    """Turn ``engine.device`` into a device.

    ``auto`` -> ``cuda:<local_rank>`` when CUDA is available, else ``cpu``; ``cuda`` ->
    ``cuda:<local_rank>``; explicit ``cuda:N`` / ``cpu`` are kept.

    Raises:
        UserError: CUDA requested but not available, or an unknown device string.
    """
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        spec = default_device()
    try:
        dev = torch.device(spec)
    except RuntimeError:
        raise UserError(
            f"engine.device: unknown device {spec!r} (use auto, cpu, cuda, cuda:N)"
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"engine.device: {spec!r} requested but CUDA is not available")
        if dev.index is None:
            dev = torch.device("cuda", local_rank)
        if dev.index >= torch.cuda.device_count():
            raise UserError(
                f"engine.device: {dev} does not exist ({torch.cuda.device_count()} GPU(s))"
            )
    elif dev.type != "cpu":
        raise UserError(f"engine.device: unsupported device type {dev.type!r}")
    return dev


def init_distributed(backend: str = "", device: torch.device | None = None) -> DistInfo:
    """Join the process group described by the environment, if there is one.

    Args:
        backend: ``nccl`` / ``gloo``; empty = ``nccl`` for CUDA devices, ``gloo`` otherwise.
        device: the device this process trains on (for the backend choice and
            ``torch.cuda.set_device``).

    Returns:
        The process's :class:`DistInfo` (world size 1 when no launcher set ``WORLD_SIZE``).
    """
    info = dist_info()
    if not info.distributed or dist.is_initialized():
        return info
    if not dist.is_available():
        raise UserError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    for var in ("MASTER_ADDR", "MASTER_PORT"):
        if not os.environ.get(var):
            raise UserError(
                f"WORLD_SIZE={info.world_size} but {var} is not set (launch with torchrun)"
            )
    if not backend:
        backend = "nccl" if device is not None and device.type == "cuda" else "gloo"
    if device is not None and device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend=backend, rank=info.rank, world_size=info.world_size, timeout=_timeout()
    )
    return dist_info()


def _timeout() -> timedelta | None:
    """``DEPTHDUET_DIST_TIMEOUT`` (seconds): how long joining the group and each collective may
    wait for the other processes before failing; unset = torch's default (30 minutes for gloo,
    10 for NCCL). Tests set it so that a lost peer ends in an error, not a hang."""
    raw = os.environ.get("DEPTHDUET_DIST_TIMEOUT", "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise UserError(f"DEPTHDUET_DIST_TIMEOUT={raw!r}: expected a positive number of seconds")
    return timedelta(seconds=seconds)


def cleanup_distributed() -> None:
    """Leave the process group (safe to call when none was joined).

    Release every DDP wrapper first (:meth:`~depthduet.engine.trainer.Trainer.fit` does so when it
    returns or fails): a wrapper that outlives the group can deadlock the process at exit (see
    ``depthduet.engine.networks.release_ddp``). Unreachable wrappers in reference cycles are collected here.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def barrier() -> None:
    """Wait for every process (no-op for one process)."""
    if _active():
        dist.barrier()


def _reduce_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Element-wise sum of a tensor over processes.

    Args:
        values: tensor of any shape (same shape on every process).

    Returns:
        float64 CPU tensor, same shape as ``values``.
    """
    t = values.detach().to(torch.float64)
    if not _active():
        return t
    t = t.to(_reduce_device())
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.cpu()


def all_reduce_mean(value: float | torch.Tensor) -> float | torch.Tensor:
    """Mean of a number (or tensor) over processes; returns the input's kind (float or tensor).

    Recipes use it in :meth:`Recipe.on_round_end` so that every process takes the same decision
    (e.g. which network teaches next, METHOD.md A.3) from statistics over all the data.

    Args:
        value: a number, or a tensor of any shape (same shape on every process).

    Returns:
        a float, or a tensor of the same shape, dtype and device as ``value``.
    """

    if isinstance(value, torch.Tensor):
        if not _active():
            return value
        return (all_reduce_sum(value) / dist.get_world_size()).to(value.dtype).to(value.device)
    if not _active():
        return float(value)
    t = all_reduce_sum(torch.tensor([float(value)]))
    return float(t[0]) / dist.get_world_size()


def all_gather_objects(obj: Any) -> list[Any]:
    """Every process's ``obj`` (picklable), indexed by rank; ``[obj]`` for one process."""
    if not _active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


class _MethodRouter(nn.Module):
    """Calls ``module.<method>(...)`` from ``forward`` so that DDP's forward machinery (gradient
    synchronisation hooks) also runs for methods other than ``forward``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *args: Any, _method: str = "forward", **kwargs: Any) -> Any:
        if _method == "forward":
            return self.module(*args, **kwargs)
        return getattr(self.module, _method)(*args, **kwargs)


class RoutedDDP(DistributedDataParallel):
    """DistributedDataParallel that forwards attribute access to the wrapped network.

    ``ddp(x)`` is the usual synchronised forward; ``ddp.forward_features(x)`` (any method of the
    network) runs that method *through* DDP's forward, so its gradients are synchronised too;
    other attributes (``ddp.scale``, submodules) are the network's own. Recipes can therefore
    call ``recipe.net(name).any_method(...)`` the same way with and without DDP.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            modules = self.__dict__.get("_modules") or {}
            router = modules.get("module")
            if not isinstance(router, _MethodRouter):
                raise
        inner = router.module
        attr = getattr(inner, name)
        if callable(attr) and callable(getattr(type(inner), name, None)):
            return functools.partial(self, _method=name)
        return attr


def wrap_ddp(
    module: nn.Module, device: torch.device, find_unused_parameters: bool = False
) -> RoutedDDP:
    """Wrap a network for data-parallel training (parameters broadcast from rank 0 here).

    Args:
        module: the network (already on ``device``); it stays reachable as ``.module.module``
            and its state_dict keys are unchanged when saved from the original object.
        device: this process's device (``device_ids`` for CUDA).
        find_unused_parameters: see :class:`~depthduet.engine.config.EngineConfig`.
    """
    return RoutedDDP(
        _MethodRouter(module),
        device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=find_unused_parameters,
    )
