"""The data side of a run: the training and validation loaders (epoch-seeded shuffling over
processes, seeded workers, validation sharded without padding) and batches moved to the
device."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from depthduet.engine.config import EngineConfig
from depthduet.engine.determinism import seed_worker
from depthduet.engine.distributed import DistInfo
from depthduet.errors import UserError

__all__ = ["ShardSampler", "Loaders", "make_loaders", "to_device", "batch_size"]


class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...`` in order, without padding (validation under DDP:
    every sample is seen exactly once over all processes).

    Args:
        n: dataset length.
        rank: this process's rank.
        world_size: number of processes.
    """

    def __init__(self, n: int, rank: int = 0, world_size: int = 1) -> None:
        self.indices = list(range(rank, n, world_size))

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


@dataclass
class Loaders:
    """The loaders of a run with the generators the engine re-seeds.

    Attributes:
        train: training loader (``train_sampler`` shuffles per epoch, ``train_gen`` seeds
            the workers per epoch).
        val: validation loader, or ``None`` (no set, or ``engine.val_every=0``).
        val_gen: its generator (``None`` without ``val``).
    """

    train: DataLoader
    train_sampler: DistributedSampler
    train_gen: torch.Generator
    val: DataLoader | None = None
    val_gen: torch.Generator | None = None


def make_loaders(
    train_set: Dataset,
    val_set: Dataset | None,
    cfg: EngineConfig,
    dist: DistInfo,
    collate: Callable[[list[Any]], Any],
    pin: bool,
) -> Loaders:
    """The training and validation loaders of this process.

    Raises:
        UserError: a training set too small for one batch, or an empty validation set.
    """
    train_sampler = DistributedSampler(
        train_set,
        num_replicas=dist.world_size,
        rank=dist.rank,
        shuffle=True,
        seed=cfg.seed,
        drop_last=False,
    )
    train_gen = torch.Generator()
    train = DataLoader(
        train_set,
        batch_size=cfg.batch_size,
        sampler=train_sampler,
        num_workers=cfg.num_workers,
        collate_fn=collate,
        pin_memory=pin,
        drop_last=cfg.drop_last,
        worker_init_fn=seed_worker,
        generator=train_gen,
    )
    if len(train) == 0:
        raise UserError(
            f"training set: {len(train_set)} sample(s) give no batch of "
            f"engine.batch_size={cfg.batch_size} per process (world size {dist.world_size}); "
            "lower batch_size or set engine.drop_last=false"
        )
    loaders = Loaders(train, train_sampler, train_gen)
    if val_set is not None and cfg.val_every > 0:
        if len(val_set) == 0:
            raise UserError("validation set: empty (give samples, or set engine.val_every=0)")
        loaders.val_gen = torch.Generator()
        loaders.val = DataLoader(
            val_set,
            batch_size=cfg.batch_size,
            sampler=ShardSampler(len(val_set), dist.rank, dist.world_size),
            num_workers=cfg.num_workers,
            collate_fn=collate,
            pin_memory=pin,
            drop_last=False,
            worker_init_fn=seed_worker,
            generator=loaders.val_gen,
        )
    return loaders


def to_device(x: Any, device: torch.device, channels_last: bool) -> Any:
    """``x`` (a tensor, or dicts / lists / tuples of them) on ``device``; 4-D float tensors
    ``(B, C, H, W)`` in channels-last memory format when ``channels_last`` (same shapes)."""
    if isinstance(x, torch.Tensor):
        x = x.to(device, non_blocking=device.type == "cuda")
        if channels_last and x.ndim == 4 and x.is_floating_point():
            x = x.contiguous(memory_format=torch.channels_last)
        return x
    if isinstance(x, dict):
        return {k: to_device(v, device, channels_last) for k, v in x.items()}
    if isinstance(x, list):
        return [to_device(v, device, channels_last) for v in x]
    if isinstance(x, tuple):
        return tuple(to_device(v, device, channels_last) for v in x)
    return x


def batch_size(batch: Any, default: int) -> int:
    """The leading size of the first tensor with a dimension in ``batch`` (a tensor, dict, list
    or tuple), else ``default``."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.ndim else default
    if isinstance(batch, dict):
        batch = list(batch.values())
    if isinstance(batch, list | tuple):
        for v in batch:
            if isinstance(v, torch.Tensor) and v.ndim > 0:
                return int(v.shape[0])
    return default
