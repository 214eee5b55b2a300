"""The training loop shared by every recipe (METHOD.md A and B both run through it).

:class:`Trainer` takes a :class:`~depthduet.engine.recipe.Recipe` (named networks, optimisers,
schedulers, a step function) and datasets, and does everything that is not the method:

* seeds (python, numpy, torch; per-worker seeds through ``worker_init_fn`` + a loader generator
  re-seeded from ``seed``/epoch/rank each epoch), deterministic epoch-seeded shuffling
  (:mod:`.determinism`, :mod:`.batches`);
* devices: CPU single process; CUDA with bf16 autocast and channels-last; several processes
  under ``torchrun`` with DistributedDataParallel (each network with trainable parameters wrapped
  separately; recipes call them through ``recipe.net(name)``);
* the step: zero all optimisers, autocast forward (``recipe.training_step``), backward, gradient
  clipping per optimiser (``engine.grad_clip``), step all optimisers; non-finite losses and
  gradients skip the step or stop training (:mod:`.nonfinite`);
* rounds: one per epoch, or every ``engine.round_every`` steps; ``on_round_start/end`` results go
  to ``rounds.csv``, ``train.log`` and TensorBoard;
* validation every ``engine.val_every`` epochs (metrics averaged over samples and processes),
  best-checkpoint tracking on ``recipe.monitor``;
* logs: tqdm bar with running losses, ``train.csv``, ``val.csv``, ``rounds.csv``, ``train.log``,
  optional TensorBoard; ``config.yaml``; ``summary.json`` (:mod:`.run_files`);
* checkpoints (``checkpoints/last`` and ``checkpoints/best``, see :mod:`.checkpoint`) and resume
  at epoch boundaries with bitwise-identical results to an uninterrupted run (same device, same
  number of processes; :mod:`.resume`).

Numbering: ``epoch`` and ``round`` are 0-based in the loop state, CSV files, ``state.pt`` and
``model.json``; ``step`` counts optimiser steps done so far (the first step is logged as 1).
Human-readable log lines say "epoch 1/N". ``time_s`` in ``train.csv`` counts the training time
of the whole run, a resumed run continuing from the time recorded at its checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, IterableDataset

from depthduet.engine import checkpoint as ckpt
from depthduet.engine.batches import ShardSampler, batch_size, make_loaders, to_device
from depthduet.engine.config import EngineConfig
from depthduet.engine.determinism import (
    get_rng_state,
    loader_seed,
    seed_everything,
    seed_worker,
    set_rng_state,
    torch_settings,
)
from depthduet.engine.distributed import (
    all_gather_objects,
    barrier,
    dist_info,
    init_distributed,
    resolve_device,
)
from depthduet.engine.logs import RunLog
from depthduet.engine.networks import place_networks, release_ddp
from depthduet.engine.nonfinite import (
    NonFiniteError,
    SkippedSteps,
    nonfinite_grad,
    nonfinite_metrics,
    nonfinite_networks,
    stop,
)
from depthduet.engine.recipe import Recipe
from depthduet.engine.resume import (
    FROZEN_ON_RESUME,
    check_resume_config,
    model_info,
    restore_first,
    resume_dir,
    training_state,
)
from depthduet.engine.run_files import SUMMARY_SHOWN, config_yaml, run_config, run_summary
from depthduet.engine.values import digest, format_values, loggable, loggable_values
from depthduet.errors import UserError
from depthduet.paths import first_missing_parent

__all__ = [
    "Trainer",
    "NonFiniteError",
    "ShardSampler",
    "get_rng_state",
    "loader_seed",
    "seed_everything",
    "seed_worker",
    "set_rng_state",
]

_PLATEAU = torch.optim.lr_scheduler.ReduceLROnPlateau


class Trainer:
    """Runs a recipe: epochs, rounds, validation, logs, checkpoints, resume.

    Args:
        recipe: the method (networks, optimisers, schedulers, steps).
        train_set: map-style dataset of sample dicts (docs/DEVELOPING.md).
        val_set: optional validation dataset.
        cfg: engine settings; default ``config.engine`` (or :class:`EngineConfig` defaults).
        config: the whole resolved recipe configuration (a dataclass or dict); written to
            ``config.yaml`` and into every checkpoint (``model.json`` + safetensors metadata).

    Example::

        cfg = load_config(Recipe.config_class, "configs/dsr/world_x4.yaml")
        train, val = Recipe.build_datasets(cfg)
        summary = Trainer(Recipe.from_config(cfg), train, val, config=cfg).fit()
    """

    #: config sections that a resumed run cannot change (see :func:`.resume.check_resume_config`)
    FROZEN_ON_RESUME = FROZEN_ON_RESUME

    def __init__(
        self,
        recipe: Recipe,
        train_set: Dataset,
        val_set: Dataset | None = None,
        cfg: EngineConfig | None = None,
        *,
        config: Any = None,
    ) -> None:
        if cfg is None:
            cfg = getattr(config, "engine", None) or EngineConfig()
        if not isinstance(cfg, EngineConfig):
            raise TypeError(f"cfg: expected EngineConfig, got {type(cfg).__name__}")
        cfg.validate()
        if isinstance(train_set, IterableDataset) or not hasattr(train_set, "__len__"):
            raise UserError("training dataset: must be a map-style dataset with a length")
        if not recipe.networks:
            raise ValueError(f"recipe {recipe.name!r}: has no networks")
        if recipe.scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"recipe {recipe.name!r}: scheduler_interval must be 'epoch' or 'step'"
            )
        self.recipe = recipe
        self.train_set = train_set
        self.val_set = val_set
        self.cfg = cfg
        self.out_dir = Path(cfg.out_dir)
        self.device = resolve_device(cfg.device, dist_info().local_rank)
        self.dist = init_distributed(cfg.dist_backend, self.device)
        self.config_dict = run_config(config, recipe.name, cfg)
        self.use_bf16 = cfg.precision == "bf16" and self.device.type == "cuda"
        self.channels_last = bool(cfg.channels_last)
        #: the loop state handed to the recipe (``epoch``, ``step``, ``round`` ...)
        self.state: dict[str, Any] = {
            "epoch": 0,
            "step": 0,
            "epoch_step": 0,
            "round": 0,
            "rank": self.dist.rank,
            "world_size": self.dist.world_size,
        }
        self.round_open = False
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.last_val: dict[str, float] = {}
        self.log = RunLog(self.out_dir, enabled=False)
        #: samples trained on by this process, and seconds spent training, in this call
        self.samples = 0
        self.train_time = 0.0
        #: seconds of training before the checkpoint this run resumed from
        self.train_time_before = 0.0
        self.skipped = SkippedSteps(cfg.skip_nonfinite)
        self._ddp: dict[str, nn.Module] = {}
        self._warned_state = False
        self.start_epoch = 0

    # -- main loop ---------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Train for ``engine.epochs`` epochs (or ``engine.max_steps`` steps).

        Returns:
            The run summary (also written to ``out_dir/summary.json``): ``best_metric``,
            ``best_epoch``, ``epochs``, ``steps``, ``wall_time_s``, ``samples_per_s`` ...
        """
        cfg = self.cfg
        t_start = time.perf_counter()
        resuming = resume_dir(cfg.resume, self.out_dir)
        if resuming is not None:
            check_resume_config(resuming, self.config_dict, self.FROZEN_ON_RESUME)
        self.git = ckpt.git_revision()
        self.versions = ckpt.environment_versions()
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise UserError(f"{self.out_dir}: exists and is not a folder (the run folder)")
        # a run folder this call creates is removed again if setting up fails (bad checkpoint
        # or weights): nothing half-written is left behind
        created = first_missing_parent(self.out_dir) if self.dist.is_main else None
        started = setup_failed = False
        self.log = RunLog(
            self.out_dir,
            enabled=self.dist.is_main,
            append=resuming is not None,
            tensorboard=cfg.tensorboard,
        )
        # process-wide torch settings for this run, restored when fit() returns
        with torch_settings(cfg, self.device):
            try:
                resuming = self._set_up(resuming)
                started = True
                stopped = self._loop()
                summary = run_summary(self, stopped, resuming, time.perf_counter() - t_start)
                if self.dist.is_main:
                    ckpt.atomic_write_text(
                        self.out_dir / "summary.json", json.dumps(summary, indent=2) + "\n"
                    )
                shown = {k: summary[k] for k in SUMMARY_SHOWN}
                self.log.info(f"done ({stopped}): {format_values(shown)}")
                return summary
            except BaseException:
                setup_failed = created is not None and not started
                raise
            finally:
                release_ddp(self.recipe, self._ddp)  # while the process group is joined
                self.log.close()
                if setup_failed:
                    shutil.rmtree(created, ignore_errors=True)

    def _set_up(self, resuming: Path | None) -> Path | None:
        """Seeds, ``config.yaml``, networks (DDP-wrapped), loaders, the restored checkpoint.

        Returns:
            The checkpoint folder actually restored (``resuming`` or a fallback), or ``None``.
        """
        cfg, r = self.cfg, self.recipe
        seed_everything(cfg.seed + self.dist.rank)
        if self.dist.is_main:
            ckpt.atomic_write_text(self.out_dir / "config.yaml", config_yaml(self, resuming))
        self._ddp = place_networks(
            r, self.device, self.channels_last, self.dist, cfg.find_unused_parameters
        )
        pin = self.device.type == "cuda"
        self.loaders = make_loaders(self.train_set, self.val_set, cfg, self.dist, r.collate, pin)
        self.start_epoch = 0
        if resuming is not None:
            resuming = restore_first(self, resuming)
        self.log.open_tensorboard(self.state["step"] + 1 if resuming is not None else None)
        if cfg.precision == "bf16" and not self.use_bf16:
            self.log.info("precision bf16 applies to CUDA only: training in fp32 on CPU")
        n_params = sum(p.numel() for m in r.networks.values() for p in m.parameters())
        self.log.info(
            f"recipe {r.name}: networks {', '.join(r.networks)} ({n_params:,} parameters), "
            f"{len(self.train_set)} training samples, device {self.device}, "
            f"{self.dist.world_size} process(es), out {self.out_dir}"
        )
        return resuming

    def _loop(self) -> str:
        cfg = self.cfg
        max_steps = cfg.max_steps
        if self.start_epoch >= cfg.epochs:
            return "epochs"
        if max_steps and self.state["step"] >= max_steps:
            return "max_steps"
        stopped = "epochs"
        for epoch in range(self.start_epoch, cfg.epochs):
            self.state["epoch"] = epoch
            self.state["epoch_step"] = 0
            last_epoch = epoch == cfg.epochs - 1
            self._run_epoch(epoch)
            if max_steps and self.state["step"] >= max_steps:
                stopped, last_epoch = "max_steps", True
            self._end_epoch(epoch, last_epoch)
            if last_epoch:
                break
        return stopped

    def _run_epoch(self, epoch: int) -> None:
        cfg, r = self.cfg, self.recipe
        self.loaders.train_sampler.set_epoch(epoch)
        self.loaders.train_gen.manual_seed(loader_seed(cfg.seed, epoch, self.dist.rank))
        n_batches = len(self.loaders.train)
        if cfg.steps_per_epoch:
            n_batches = min(n_batches, cfg.steps_per_epoch)
        if cfg.max_steps:
            n_batches = min(n_batches, cfg.max_steps - self.state["step"])
        r.train(True)
        if not cfg.round_every:
            self._round_event("start")
        from tqdm import tqdm

        bar = tqdm(
            total=n_batches,
            desc=f"epoch {epoch + 1}/{cfg.epochs}",
            disable=not (cfg.progress and self.dist.is_main),
            leave=False,
            dynamic_ncols=True,
        )
        window: dict[str, list[float]] = {}
        epoch_acc: dict[str, list[float]] = {}
        t_epoch = time.perf_counter()
        try:
            it = iter(self.loaders.train)
            for i in range(n_batches):
                batch = next(it)
                if cfg.round_every and not self.round_open:
                    self._round_event("start")
                n = batch_size(batch, cfg.batch_size)
                batch = to_device(batch, self.device, self.channels_last)
                logged = self._train_step(batch)
                self.state["step"] += 1
                self.state["epoch_step"] = i + 1
                self.samples += n
                for k, v in logged.items():
                    if isinstance(v, float | int):
                        for acc in (window, epoch_acc):
                            a = acc.setdefault(k, [0.0, 0])
                            a[0] += v
                            a[1] += 1
                bar.update(1)
                if self.state["step"] % cfg.log_every == 0 or i == n_batches - 1:
                    self._log_steps(window, bar, time.perf_counter() - t_epoch)
                    window = {}
                if cfg.round_every and self.state["step"] % cfg.round_every == 0:
                    self._round_event("end")
        finally:
            bar.close()
            self.train_time += time.perf_counter() - t_epoch
        if not cfg.round_every:
            self._round_event("end")
        self.epoch_means = {k: s / c for k, (s, c) in epoch_acc.items()}
        self.log.info(
            f"epoch {epoch + 1}/{cfg.epochs} ({n_batches} steps, "
            f"{time.perf_counter() - t_epoch:.1f} s): {format_values(self.epoch_means)}"
        )

    def _log_steps(self, window: dict[str, list[float]], bar: Any, epoch_time: float) -> None:
        """One ``train.csv`` row (and TensorBoard scalars, the bar's postfix) with the means of
        the values logged since the last row, the learning rates and the training time."""
        means = {k: s / c for k, (s, c) in window.items()}
        bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:4]})
        lrs = {
            f"lr/{name}": float(o.param_groups[0]["lr"])
            for name, o in self.recipe.optimizers.items()
        }
        step = self.state["step"]
        time_s = round(self.train_time_before + self.train_time + epoch_time, 3)
        row = {"epoch": self.state["epoch"], "step": step, "time_s": time_s, **means, **lrs}
        self.log.row("train", row)
        self.log.scalars("train", {**means, **lrs}, step)

    def _train_step(self, batch: dict[str, Any]) -> dict[str, Any]:
        r, cfg = self.recipe, self.cfg
        auto = r.automatic_optimization
        if auto:
            for opt in r.optimizers.values():
                opt.zero_grad(set_to_none=True)
        with self._autocast():
            out = r.training_step(batch, self.state)
        if "loss" not in out:
            raise KeyError(f"recipe {r.name!r}: training_step returned no 'loss'")
        loss = out["loss"]
        logged = loggable_values(out)
        loss_value = float(logged["loss"])
        logged = {"loss": loss_value, **{k: v for k, v in logged.items() if k != "loss"}}
        if auto:
            if not math.isfinite(loss_value):
                self._skip_or_stop(f"loss {loss_value}")
                logged["skipped"] = 1.0
                return logged
            if not (torch.is_tensor(loss) and loss.requires_grad):
                raise RuntimeError(f"recipe {r.name!r}: loss does not require grad")
            loss.backward()
            bad = nonfinite_grad(r.optimizers)
            if bad:
                for opt in r.optimizers.values():
                    opt.zero_grad(set_to_none=True)
                self._skip_or_stop(f"gradient of {bad}")
                logged["skipped"] = 1.0
                return logged
            if cfg.grad_clip > 0:
                for name, opt in r.optimizers.items():
                    params = [
                        p for g in opt.param_groups for p in g["params"] if p.grad is not None
                    ]
                    if params:
                        norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
                        logged[f"grad_norm/{name}"] = float(norm)
            for opt in r.optimizers.values():
                opt.step()
        if r.scheduler_interval == "step":
            for s in r.schedulers.values():
                s.step()
        return logged

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.use_bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _skip_or_stop(self, what: str) -> None:
        """A step produced a non-finite value: skip it or stop (:class:`.SkippedSteps`)."""
        where = f"epoch {self.state['epoch'] + 1}, step {self.state['step'] + 1}"
        self.skipped.skip_or_stop(what, where, self.log)

    # -- rounds ----------------------------------------------------------------
    def _round_event(self, event: str) -> None:
        r = self.recipe
        if event == "start":
            out = r.on_round_start(self.state) or {}
            self.round_open = True
        else:
            out = r.on_round_end(self.state) or {}
        values = {k: loggable(v) for k, v in out.items()}
        row = {
            "round": self.state["round"],
            "event": event,
            "epoch": self.state["epoch"],
            "step": self.state["step"],
            **values,
        }
        self.log.row("rounds", row)
        self.log.scalars(f"round_{event}", values, self.state["step"])
        self.log.info(
            f"round {self.state['round']} {event} (epoch {self.state['epoch'] + 1}, "
            f"step {self.state['step']})" + (f": {format_values(values)}" if values else "")
        )
        if event == "end":
            if self.dist.distributed:
                self._check_recipe_state_agrees()
            self.round_open = False
            self.state["round"] += 1

    def _check_recipe_state_agrees(self) -> None:
        """Under DDP, warn when ``recipe.state_dict()`` differs between processes after a round
        (decisions such as the next teacher should come from :meth:`Recipe.reduce_mean`)."""
        digests = all_gather_objects(digest(self.recipe.state_dict()))
        if len(set(digests)) > 1 and not self._warned_state:
            self._warned_state = True
            self.log.info(
                f"warning: recipe {self.recipe.name!r} state differs between processes after "
                f"round {self.state['round']}; reduce round statistics with recipe.reduce_mean "
                "so that every process takes the same decisions (only rank 0's state is saved)"
            )

    # -- end of an epoch: schedulers, validation, checkpoints --------------------
    def _end_epoch(self, epoch: int, last_epoch: bool) -> None:
        cfg, r = self.cfg, self.recipe
        if r.scheduler_interval == "epoch":
            for s in r.schedulers.values():
                if not isinstance(s, _PLATEAU):
                    s.step()
        if self.loaders.val is not None and ((epoch + 1) % cfg.val_every == 0 or last_epoch):
            self._validate_epoch(epoch)
        if last_epoch or (cfg.save_every and (epoch + 1) % cfg.save_every == 0):
            self.save("last")

    def _validate_epoch(self, epoch: int) -> None:
        """Validate, stop on a non-finite metric, step plateau schedulers, track and save the
        best checkpoint, log ``val.csv``."""
        r = self.recipe
        val = self.validate()
        self.last_val = val
        if val and r.monitor not in val:
            raise KeyError(
                f"recipe {r.name!r}: monitor {r.monitor!r} not among validation metrics "
                f"{sorted(val)}"
            )
        if not val:  # e.g. no valid ground truth in the validation set
            self.log.info(f"validation epoch {epoch + 1}: no metrics returned")
        bad = nonfinite_metrics(val)
        if bad:
            stop(
                self.log,
                f"non-finite validation {', '.join(f'{k}={val[k]}' for k in bad)} at epoch "
                f"{epoch + 1}: training stopped; the last checkpoint holds the last finite "
                "weights",
            )
        monitored = val.get(r.monitor, math.nan)
        for s in r.schedulers.values():
            if isinstance(s, _PLATEAU) and val:
                s.step(monitored)
        improved = self._improved(monitored)
        if improved:
            self.best_value, self.best_epoch = monitored, epoch
        self.log.row("val", {"epoch": epoch, "step": self.state["step"], **val, "best": improved})
        self.log.scalars("val", val, self.state["step"])
        self.log.info(
            f"validation epoch {epoch + 1}: {format_values(val)}" + ("  (best)" if improved else "")
        )
        if improved:
            self.save("best")

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Run ``recipe.validation_step`` over the validation set (``engine.val_batches`` cap).

        Returns:
            metric -> mean over samples (batch values weighted by batch size) and processes.
        """
        if self.loaders.val is None:
            return {}
        r = self.recipe
        r.train(False)
        r.set_wrapped({})  # no DDP collectives in validation: shards may differ in length
        sums: dict[str, list[float]] = {}
        assert self.loaders.val_gen is not None
        self.loaders.val_gen.manual_seed(loader_seed(self.cfg.seed, -1, self.dist.rank))
        try:
            for i, batch in enumerate(self.loaders.val):
                if self.cfg.val_batches and i >= self.cfg.val_batches:
                    break
                n = batch_size(batch, self.cfg.batch_size)
                batch = to_device(batch, self.device, self.channels_last)
                with self._autocast():
                    metrics = r.validation_step(batch)
                for k, v in metrics.items():
                    acc = sums.setdefault(k, [0.0, 0.0])
                    acc[0] += float(loggable(v)) * n
                    acc[1] += n
        finally:
            r.set_wrapped(self._ddp)
            r.train(True)
        total: dict[str, list[float]] = {}
        for part in all_gather_objects(sums):
            for k, (s, n) in part.items():
                acc = total.setdefault(k, [0.0, 0.0])
                acc[0] += s
                acc[1] += n
        return {k: s / n for k, (s, n) in sorted(total.items()) if n > 0}

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        if self.recipe.monitor_mode == "max":
            return value > self.best_value
        return value < self.best_value

    # -- checkpoints ------------------------------------------------------------
    def save(self, which: str = "last") -> Path:
        """Write ``checkpoints/<which>`` (collective under DDP: every process must call it)."""
        rng = all_gather_objects(get_rng_state())
        path = self.out_dir / "checkpoints" / which
        bad = nonfinite_networks(self.recipe.networks)
        if bad:  # never replace a finite checkpoint by a non-finite one
            stop(
                self.log,
                f"non-finite weights in {', '.join(bad)} at epoch {self.state['epoch'] + 1}: "
                f"checkpoints/{which} not written; training stopped",
            )
        if self.dist.is_main:
            weights = {n: m.state_dict() for n, m in self.recipe.networks.items()}
            ckpt.save_checkpoint(path, weights, training_state(self, rng), model_info(self))
        barrier()
        return path


#: the names these helpers had here before they moved to :mod:`.values` (tests import them)
_scalars, _digest = loggable_values, digest
