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

from depthduet.config import validate_config

__all__ = ["Recipe", "StepOutput"]


class StepOutput(dict):
    """What :meth:`Recipe.training_step` returns: ``loss`` (a scalar tensor, to backpropagate)
    plus named floats or 0-d tensors to log (e.g. ``"l1_sr"``, ``"teacher"``)."""


class Recipe(abc.ABC):
    """A training method. Subclasses fill :attr:`networks` and :attr:`optimizers` in ``__init__``.

    Attributes:
        cfg: the recipe's configuration (a :attr:`config_class` instance, or ``None``). One
            built in Python gets the checks of a loaded file: a bad value is refused with the
            same one-line ``ConfigError`` naming its key.
        networks: name -> module; all are trained, checkpointed and (under DDP) wrapped. Use
            :meth:`net` to call them so the engine's wrapped copies are used.
        optimizers: name -> optimiser. ``training_step`` returns one total loss; the engine
            zeroes all optimisers, backpropagates, clips and steps all of them.
        schedulers: name -> LR scheduler, stepped once per epoch by the engine (after the
            epoch's round ends, before validation; ``ReduceLROnPlateau`` gets the monitored
            validation metric), or once per step with ``scheduler_interval = "step"``.
        inference_networks: the names needed at test time (e.g. ``["dsr"]``); only these are
            exported for inference.
        device: the device the engine trains on (set by the engine before the first step;
            batches arrive already there).

    Optional switches (class attributes, all with backward-compatible defaults):
        automatic_optimization: when False the engine does not zero, backpropagate, clip or
            step; ``training_step`` does it itself (``loss`` is then only logged).
        scheduler_interval: ``"epoch"`` (default) or ``"step"``: when the engine steps
            :attr:`schedulers`.
    """

    name: str = "recipe"
    #: the dataclass of this recipe's whole configuration; it has an ``engine: EngineConfig``
    #: field and a top-level ``recipe: str`` field equal to :attr:`name`.
    config_class: type = object
    automatic_optimization: bool = True
    scheduler_interval: str = "epoch"
    device: torch.device = torch.device("cpu")

    def __init__(self, cfg: Any = None) -> None:
        """Keep ``cfg`` (see :attr:`cfg`) after checking it as a loaded file is checked."""
        if cfg is not None:
            if self.config_class is not object and not isinstance(cfg, self.config_class):
                raise TypeError(
                    f"{type(self).__name__}: expected {self.config_class.__name__}, "
                    f"got {type(cfg).__name__}"
                )
            validate_config(cfg)
        self.cfg = cfg
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        self.inference_networks: list[str] = []
        self._wrapped: dict[str, nn.Module] = {}

    # -- networks as the engine wraps them (DDP / compiled); recipes call through this
    def net(self, name: str) -> nn.Module:
        """The module to call in a step (the DDP-wrapped one under distributed training).

        Under DDP, any method of the network works through the wrapper too
        (``self.net("dsr").forward_features(x)`` runs through DDP's forward, so gradients are
        synchronised); do not call ``self.networks[name]`` directly in a training step. In
        validation the engine unwraps, so both are the same there."""
        return self._wrapped.get(name, self.networks[name])

    def set_wrapped(self, wrapped: dict[str, nn.Module]) -> None:
        """Called by the engine with the wrapped modules (e.g. DDP); an empty dict unwraps."""
        self._wrapped = dict(wrapped)

    def train(self, mode: bool = True) -> None:
        """Put the networks in training (``mode=True``) or evaluation mode. The engine calls
        this before training epochs and validation; override to keep e.g. a frozen network in
        eval mode."""
        for module in self.networks.values():
            module.train(mode)

    @staticmethod
    def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
        """Batch a list of samples (DataLoader ``collate_fn``); default: torch's default_collate.
        Override as a ``@staticmethod`` (it is sent to loader worker processes)."""
        return torch.utils.data.default_collate(samples)

    def reduce_mean(self, value: float | torch.Tensor) -> float | torch.Tensor:
        """Mean of ``value`` over all training processes (identity for one process).

        Use it for round statistics so that every process makes the same decision (e.g. the
        teacher of the next round, METHOD.md A.3) from the errors over the whole dataset.

        Args:
            value: a number, or a tensor of any shape (same shape on every process).

        Returns:
            a float, or a tensor of the same shape as ``value``.
        """

        from depthduet.engine.distributed import all_reduce_mean

        return all_reduce_mean(value)

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

        ``state`` holds ``epoch`` (0-based), ``step`` (global count of steps done before this
        one), ``epoch_step``, ``round`` (0-based), ``rank``, ``world_size`` and anything the
        recipe put there in :meth:`on_round_start` (such entries are saved in checkpoints, so
        keep them plain: numbers, strings, tensors). Returns a :class:`StepOutput` with ``loss``
        (and, optionally, floats to log).
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
        """Called before each round; returns values to log (e.g. which network teaches).

        With ``engine.round_every = 0`` a round is an epoch (start before its first step, end
        after its last one, before validation); with ``round_every = K`` round ``r`` covers
        global steps ``r*K+1 .. (r+1)*K`` and may span epochs. A round still open when
        training stops is not ended (resuming continues it). The returned values go to
        ``rounds.csv``, ``train.log`` and TensorBoard."""
        return {}

    def on_round_end(self, state: dict[str, Any]) -> dict[str, Any]:
        """Called after each round; returns values to log.

        Under DDP every process runs this with its own shard's statistics: reduce them with
        :meth:`reduce_mean` before deciding anything (e.g. the next teacher), so that all
        processes decide the same."""
        return {}

    # -- extra state (round statistics, teacher history) saved with every checkpoint
    def model_info(self) -> dict[str, Any]:
        """Entries this recipe adds to a checkpoint's ``model.json`` (e.g. an ``inference``
        block: what inference needs beyond the weights). Default: none."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        return None
