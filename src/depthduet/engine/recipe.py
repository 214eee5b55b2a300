"""The contract between the training engine and a method ("recipe").

The engine knows nothing about depth. A recipe hands it named networks, optimisers, schedulers
and a step function; the engine runs epochs and rounds, moves batches to the device, handles
mixed precision, DistributedDataParallel, logging, validation, checkpoints and resume.

Both methods of METHOD.md implement :class:`Recipe`: ``depthduet.recipes.ctkt`` (A, two networks
DSRNet/DENet plus SPNet, teacher chosen per round) and ``depthduet.recipes.mutual`` (B, two
branches N_u/N_s plus a pose network).
"""

from __future__ import annotations

import abc
from typing import Any

import torch
from torch import nn

__all__ = ["Recipe", "StepOutput"]


class StepOutput(dict):
    """What :meth:`Recipe.training_step` returns: ``loss`` (a scalar tensor, to backpropagate)
    plus named floats or 0-d tensors to log (e.g. ``"l1_sr"``, ``"teacher"``)."""


class Recipe(abc.ABC):
    """A training method. Subclasses fill :attr:`networks` and :attr:`optimizers` in ``__init__``.

    Attributes:
        networks: name -> module; all are trained, checkpointed and (under DDP) wrapped. Use
            :meth:`net` to call them so the engine's wrapped copies are used.
        optimizers: name -> optimiser. ``training_step`` returns one total loss; the engine
            zeroes all optimisers, backpropagates, clips and steps all of them.
        schedulers: name -> LR scheduler, stepped once per epoch by the engine.
        inference_networks: the names needed at test time (e.g. ``["dsr"]``); only these are
            exported for inference.
    """

    name: str = "recipe"
    #: the dataclass of this recipe's whole configuration; it has an ``engine: EngineConfig``
    #: field and a top-level ``recipe: str`` field equal to :attr:`name`.
    config_class: type = object

    def __init__(self) -> None:
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        self.inference_networks: list[str] = []
        self._wrapped: dict[str, nn.Module] = {}

    # -- networks as the engine wraps them (DDP / compiled); recipes call through this
    def net(self, name: str) -> nn.Module:
        """The module to call in a step (the DDP-wrapped one under distributed training)."""
        return self._wrapped.get(name, self.networks[name])

    def set_wrapped(self, wrapped: dict[str, nn.Module]) -> None:
        self._wrapped = dict(wrapped)

    # -- construction from configuration (used by ``depthduet train``)
    @classmethod
    def from_config(cls, cfg: Any) -> Recipe:
        """Build networks, optimisers and schedulers from a ``config_class`` instance."""
        raise NotImplementedError(f"{cls.__name__}.from_config")

    @classmethod
    def build_datasets(
        cls, cfg: Any
    ) -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset | None]:
        """The training and validation datasets (samples as in docs/DEVELOPING.md)."""
        raise NotImplementedError(f"{cls.__name__}.build_datasets")

    # -- per-step work
    @abc.abstractmethod
    def training_step(self, batch: dict[str, Any], state: dict[str, Any]) -> StepOutput:
        """One step on a batch already on the device.

        ``state`` holds ``epoch``, ``step`` (global), ``round`` and anything the recipe put there
        in :meth:`on_round_start`. Returns a :class:`StepOutput` with ``loss``.
        """

    @abc.abstractmethod
    def validation_step(self, batch: dict[str, Any]) -> dict[str, float]:
        """Metrics for one validation batch (averaged over batches by the engine); run under
        ``torch.no_grad`` with networks in eval mode."""

    #: the validation metric that picks the best checkpoint, and whether lower is better
    monitor: str = "loss"
    monitor_mode: str = "min"

    # -- rounds (METHOD.md A.3 teacher selection; a round is an epoch by default)
    def on_round_start(self, state: dict[str, Any]) -> dict[str, Any]:
        """Called before each round; returns values to log (e.g. which network teaches)."""
        return {}

    def on_round_end(self, state: dict[str, Any]) -> dict[str, Any]:
        """Called after each round; returns values to log."""
        return {}

    # -- extra state (round statistics, teacher history) saved with every checkpoint
    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None
