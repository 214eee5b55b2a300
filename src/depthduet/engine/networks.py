"""The recipe's networks on the training device: moved there (channels-last when asked), and
under several processes each network with trainable parameters wrapped in
DistributedDataParallel separately (recipes call them through ``recipe.net(name)``); the
wrappers are released again before the process group is left."""

from __future__ import annotations

import gc

import torch
from torch import nn

from depthduet.engine.distributed import DistInfo, wrap_ddp
from depthduet.engine.recipe import Recipe

__all__ = ["place_networks", "release_ddp"]


def place_networks(
    recipe: Recipe,
    device: torch.device,
    channels_last: bool,
    dist: DistInfo,
    find_unused_parameters: bool,
) -> dict[str, nn.Module]:
    """Move the recipe's networks to ``device`` and hand the recipe its DDP wrappers.

    Returns:
        The wrappers by network name (empty in a single process).
    """
    for module in recipe.networks.values():
        module.to(device)
        if channels_last:
            module.to(memory_format=torch.channels_last)
    recipe.device = device
    if not dist.distributed:
        recipe.set_wrapped({})
        return {}
    wrapped: dict[str, nn.Module] = {}
    for name, module in recipe.networks.items():
        if any(p.requires_grad for p in module.parameters()):
            wrapped[name] = wrap_ddp(module, device, find_unused_parameters)
    recipe.set_wrapped(wrapped)
    return wrapped


def release_ddp(recipe: Recipe, wrapped: dict[str, nn.Module]) -> None:
    """Drop the DDP wrappers (the recipe gets its plain networks back) while the process group
    is still joined: ``wrapped`` is emptied, then collected (they can sit in reference cycles).

    Why: a DDP wrapper's C++ ``Reducer`` holds a reference to the process group. If it is the
    last one (wrappers outliving ``destroy_process_group``), gloo's destructor joins its
    worker threads while holding the GIL, and a worker that is still destroying a finished
    collective's work object waits for the GIL forever: the run is done but the process
    never exits (about 1 ``torchrun`` run in 10 on a loaded 2-core machine). Released here,
    the group's last reference is torch's own, whose destructor lets go of the GIL.
    """
    if not wrapped:
        return
    recipe.set_wrapped({})
    wrapped.clear()
    gc.collect()
